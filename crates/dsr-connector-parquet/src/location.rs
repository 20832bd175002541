//! Where a lake is: a local directory or an S3 prefix, opened as an `object_store` plus the
//! S3 client used for conditional overwrites and version clean-up; and which of its objects
//! a glob selects.

use crate::{Error, RESERVED_PREFIX};
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

/// The kind of storage under a lake.
#[derive(Debug, Clone)]
pub enum LakeLocation {
    /// A local directory.
    Dir(PathBuf),
    /// An S3 bucket and key prefix, with the SDK client for conditional writes and versions.
    S3 {
        /// Bucket and prefix.
        url: dsr_s3::S3Url,
        /// Client.
        client: aws_sdk_s3::Client,
    },
}

/// An opened lake root.
#[derive(Debug, Clone)]
pub struct LakeRoot {
    /// The URL as configured.
    pub url: String,
    /// Object store reading and writing the lake (rooted at the directory for local lakes).
    pub store: Arc<dyn ObjectStore>,
    /// Prefix of the lake inside `store` (empty for local lakes).
    pub prefix: Path,
    /// Storage kind.
    pub location: LakeLocation,
}

/// One data object of the lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeObject {
    /// Name relative to the lake root (`events/part-0.parquet`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag where the store gives one.
    pub e_tag: Option<String>,
}

/// Installs the `ring` TLS provider for clients that need a process default (once).
fn install_tls_provider() {
    // Fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Opens `url`: `s3://bucket/prefix` (endpoint, region and path style from `s3`, credentials
/// from the AWS environment) or a directory path (`file://` optional), which must exist.
pub async fn open_root(url: &str, s3: &dsr_s3::S3Options) -> Result<LakeRoot, Error> {
    if url.starts_with("s3://") {
        let (client, sdk) = dsr_s3::client_with_config(s3)
            .await
            .map_err(|e| Error::Config {
                lake: url.into(),
                reason: e.to_string(),
            })?;
        return open_s3(url, s3, client, &sdk);
    }
    let dir = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
    if !dir.is_dir() {
        return Err(Error::Config {
            lake: url.into(),
            reason: "is not a directory".into(),
        });
    }
    let store =
        object_store::local::LocalFileSystem::new_with_prefix(&dir).map_err(|e| Error::Config {
            lake: url.into(),
            reason: e.to_string(),
        })?;
    Ok(LakeRoot {
        url: url.into(),
        store: Arc::new(store),
        prefix: Path::from(""),
        location: LakeLocation::Dir(dir),
    })
}

/// Opens the `s3://bucket/prefix` lake `url` with `client` and its SDK configuration, whose
/// credentials provider, region and endpoint object_store uses too, so both resolve them the
/// same way (`s3.endpoint` still overrides).
pub fn open_s3(
    url: &str,
    s3: &dsr_s3::S3Options,
    client: aws_sdk_s3::Client,
    sdk: &aws_config::SdkConfig,
) -> Result<LakeRoot, Error> {
    install_tls_provider();
    let config_error = |reason: String| Error::Config {
        lake: url.into(),
        reason,
    };
    let parsed = dsr_s3::S3Url::parse(url).map_err(|e| config_error(e.to_string()))?;
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let endpoint = s3
        .endpoint
        .clone()
        .or_else(|| sdk.endpoint_url().map(str::to_owned))
        .filter(|e| !e.is_empty());
    let credentials = sdk
        .credentials_provider()
        .ok_or_else(|| config_error("no AWS credentials are configured".into()))?;
    let mut b = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(parsed.bucket())
        .with_region(region)
        .with_credentials(Arc::new(SdkCredentials(credentials)))
        .with_virtual_hosted_style_request(!s3.path_style);
    if let Some(ep) = endpoint {
        b = b
            .with_allow_http(ep.starts_with("http://"))
            .with_endpoint(ep);
    }
    let store = b.build().map_err(|e| config_error(e.to_string()))?;
    let prefix = Path::from(parsed.prefix().trim_end_matches('/'));
    Ok(LakeRoot {
        url: url.into(),
        store: Arc::new(store),
        prefix,
        location: LakeLocation::S3 {
            url: parsed,
            client,
        },
    })
}

/// object_store credentials from the AWS SDK's provider chain.
#[derive(Debug)]
struct SdkCredentials(aws_sdk_s3::config::SharedCredentialsProvider);

#[async_trait::async_trait]
impl object_store::CredentialProvider for SdkCredentials {
    type Credential = object_store::aws::AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<Self::Credential>> {
        use aws_sdk_s3::config::ProvideCredentials;
        let c = self
            .0
            .provide_credentials()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        Ok(Arc::new(object_store::aws::AwsCredential {
            key_id: c.access_key_id().to_owned(),
            secret_key: c.secret_access_key().to_owned(),
            token: c.session_token().map(str::to_owned),
        }))
    }
}

impl LakeRoot {
    /// The store path of an object name.
    pub fn path(&self, name: &str) -> Path {
        if self.prefix.as_ref().is_empty() {
            Path::from(name)
        } else {
            Path::from(format!("{}/{name}", self.prefix))
        }
    }

    /// The object name of a store path (`None` outside the lake).
    fn name_of(&self, path: &Path) -> Option<String> {
        let p = path.as_ref();
        if self.prefix.as_ref().is_empty() {
            return Some(p.to_owned());
        }
        p.strip_prefix(self.prefix.as_ref())
            .and_then(|r| r.strip_prefix('/'))
            .map(str::to_owned)
    }

    /// Data objects matching `glob` (relative to the root), sorted by name; dsr's own objects
    /// under [`RESERVED_PREFIX`] are never included.
    pub async fn list(&self, glob: &str) -> Result<Vec<LakeObject>, Error> {
        let matcher = globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::Config {
                lake: self.url.clone(),
                reason: format!("glob `{glob}`: {e}"),
            })?
            .compile_matcher();
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(prefix)
            .try_collect()
            .await
            .map_err(|e| Error::io(&self.url, "list", e))?;
        let mut out: Vec<LakeObject> = metas
            .into_iter()
            .filter_map(|m| {
                let name = self.name_of(&m.location)?;
                (!name.starts_with(RESERVED_PREFIX) && matcher.is_match(&name)).then_some(
                    LakeObject {
                        name,
                        size: m.size,
                        e_tag: m.e_tag,
                    },
                )
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
