//! [`S3Backend`]: objects in a bucket under a prefix. Deleting a key removes every version and
//! delete marker of exactly that key, so nothing of the subject survives in the bucket's
//! history.

use crate::backend::{ObjectBackend, ObjectMeta};
use dsr_core::StoreError;
use dsr_s3::S3Url;

/// Objects under `s3://bucket/prefix`.
#[derive(Clone)]
pub struct S3Backend {
    store: String,
    client: aws_sdk_s3::Client,
    url: S3Url,
}

impl S3Backend {
    /// The backend of store `store` at `url`.
    pub fn new(store: &str, client: aws_sdk_s3::Client, url: S3Url) -> S3Backend {
        S3Backend {
            store: store.to_string(),
            client,
            url,
        }
    }

    /// Checks that the bucket answers (a one-key listing).
    pub async fn ping(&self) -> Result<(), StoreError> {
        dsr_s3::list_objects(&self.client, &self.url, "dsr-ping-")
            .await
            .map(|_| ())
            .map_err(|e| self.err("connect", &e))
    }

    fn err(&self, op: &str, e: &dsr_s3::Error) -> StoreError {
        // The code and status only: S3 messages may quote keys, which hold identities.
        let code = e
            .code()
            .map(str::to_string)
            .or_else(|| e.status().map(|s| format!("http_{s}")))
            .unwrap_or_else(|| "s3".into());
        StoreError {
            store: self.store.clone(),
            table: None,
            code,
            message: op.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl ObjectBackend for S3Backend {
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let found = dsr_s3::list_objects(&self.client, &self.url, prefix)
            .await
            .map_err(|e| self.err("list", &e))?;
        Ok(found
            .into_iter()
            .map(|o| ObjectMeta {
                key: o.key,
                size: o.size,
                content_type: o.content_type,
            })
            .collect())
    }

    async fn delete(&self, key: &str) -> Result<u64, StoreError> {
        dsr_s3::delete_all_versions(&self.client, &self.url, key)
            .await
            .map_err(|e| self.err("delete", &e))
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let found = dsr_s3::list_objects(&self.client, &self.url, key)
            .await
            .map_err(|e| self.err("verify", &e))?;
        Ok(found.iter().any(|o| o.key == key))
    }
}
