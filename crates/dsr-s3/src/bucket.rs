//! Creating buckets, for tests and demos (production buckets are provisioned elsewhere).

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    VersioningConfiguration,
};

use crate::error::Failure;
use crate::{Error, S3Url};

/// Creates bucket `name` in the client's region. With `object_lock`, Object Lock is enabled
/// at creation (it cannot be enabled later on every server) and versioning is enabled, as
/// Object Lock requires. Fails if the bucket exists, even if it is already ours.
pub async fn create_bucket(client: &Client, name: &str, object_lock: bool) -> Result<(), Error> {
    S3Url::new(name, "")?;
    let mut create = client.create_bucket().bucket(name);
    // us-east-1 is the default location and must not be named.
    if let Some(region) = client.config().region().map(|r| r.as_ref().to_owned())
        && region != "us-east-1"
    {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    if object_lock {
        create = create.object_lock_enabled_for_bucket(true);
    }
    create
        .send()
        .await
        .map_err(|e| Error::request("CreateBucket", name, "", Failure::from_sdk(&e)))?;
    if object_lock {
        enable_versioning(client, name).await?;
    }
    Ok(())
}

/// Turns versioning on for bucket `name`.
pub async fn enable_versioning(client: &Client, name: &str) -> Result<(), Error> {
    client
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| Error::request("PutBucketVersioning", name, "", Failure::from_sdk(&e)))?;
    Ok(())
}
