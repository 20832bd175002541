//! The one error type of `dsr-s3`, and the reduction of SDK errors to what may be shown.
//!
//! Every variant names *where* the problem is (bucket and key, or the URL) and what the server
//! answered (HTTP status, S3 error code, the server's message). Object contents never appear:
//! S3 error responses describe the request, not the stored bytes, and nothing here formats a
//! body.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Errors of S3 locations, clients and object operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An `s3://bucket/prefix` location is not acceptable.
    #[error("invalid S3 URL {url:?}: {reason}")]
    InvalidUrl {
        /// The refused URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key (relative to a location's prefix) is not acceptable.
    #[error("invalid S3 key {key:?}: {reason}")]
    InvalidKey {
        /// The refused key.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The client could not be configured (endpoint, region, presigning settings).
    #[error("S3 configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A request to S3 failed.
    #[error("{op} s3://{bucket}/{key}: {}", failure_text(*.status, .code.as_deref(), .detail))]
    Request {
        /// The S3 operation (`PutObject`, `ListObjectVersions`, …).
        op: &'static str,
        /// Bucket.
        bucket: String,
        /// Full object key, or the listing prefix.
        key: String,
        /// HTTP status of the answer, if one came.
        status: Option<u16>,
        /// S3 error code (`AccessDenied`, `NoSuchKey`, …), if the answer had one.
        code: Option<String>,
        /// The server's message, or why no answer came.
        detail: String,
    },
    /// No S3 server for tests (see [`crate::testing`]).
    #[error("S3 test server: {reason}")]
    TestServer {
        /// What is missing, and what to run.
        reason: String,
    },
}

impl Error {
    /// HTTP status of a failed request, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Request { status, .. } => *status,
            _ => None,
        }
    }

    /// S3 error code of a failed request (`AccessDenied`, `NoSuchKey`, …), if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Request { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The error of a failed SDK call `op` on `bucket`/`key` (status, code and the server's
    /// message; never a body).
    pub fn from_sdk<E>(
        op: &'static str,
        bucket: &str,
        key: &str,
        err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        Error::request(op, bucket, key, Failure::from_sdk(err))
    }

    pub(crate) fn request(op: &'static str, bucket: &str, key: &str, failure: Failure) -> Self {
        Error::Request {
            op,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            status: failure.status,
            code: failure.code,
            detail: failure.detail,
        }
    }
}

fn failure_text(status: Option<u16>, code: Option<&str>, detail: &str) -> String {
    match (status, code) {
        (Some(s), Some(c)) => format!("HTTP {s} {c}: {detail}"),
        (Some(s), None) => format!("HTTP {s}: {detail}"),
        (None, Some(c)) => format!("{c}: {detail}"),
        (None, None) => detail.to_owned(),
    }
}

/// What a failed SDK call amounts to: status, code and a message, without the request or
/// response bodies.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub status: Option<u16>,
    pub code: Option<String>,
    pub detail: String,
}

impl Failure {
    /// Reduces an SDK error. Service errors keep the status, code and the server's message;
    /// anything else (no connection, timeout, unreadable answer) its error chain.
    pub fn from_sdk<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + HasStatus,
    {
        let status = err.raw_response().map(HasStatus::status_code);
        match err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                Failure {
                    status,
                    code: e.code().map(str::to_owned),
                    detail: e
                        .message()
                        .map(str::to_owned)
                        .unwrap_or_else(|| "no message".to_owned()),
                }
            }
            other => Failure {
                status,
                code: None,
                detail: DisplayErrorContext(other).to_string(),
            },
        }
    }

    /// A write-once conflict: `412 PreconditionFailed`, or `409 ConditionalRequestConflict`
    /// (a concurrent conditional write to the same key).
    pub fn is_conflict(&self) -> bool {
        self.status == Some(412)
            || matches!(
                self.code.as_deref(),
                Some("PreconditionFailed" | "ConditionalRequestConflict")
            )
    }

    /// The object (or version) does not exist; a missing *bucket* is not this.
    pub fn is_not_found(&self) -> bool {
        match self.code.as_deref() {
            Some(code) => matches!(code, "NoSuchKey" | "NoSuchVersion" | "NotFound"),
            // HEAD answers carry no body, so no code.
            None => self.status == Some(404),
        }
    }

    /// The error as an [`std::io::Error`] of a fitting kind, for `dsr_evidence::Error::Io`.
    pub fn to_io(&self, location: &str) -> std::io::Error {
        use std::io::ErrorKind;
        let kind = match self.status {
            Some(401 | 403) => ErrorKind::PermissionDenied,
            Some(404) => ErrorKind::NotFound,
            Some(408) => ErrorKind::TimedOut,
            _ => ErrorKind::Other,
        };
        std::io::Error::new(
            kind,
            format!(
                "{location}: {}",
                failure_text(self.status, self.code.as_deref(), &self.detail)
            ),
        )
    }
}

/// Access to the HTTP status of a raw response.
pub(crate) trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn failure(status: Option<u16>, code: Option<&str>) -> Failure {
        Failure {
            status,
            code: code.map(str::to_owned),
            detail: "d".into(),
        }
    }

    #[test]
    fn conflicts_and_absence_are_recognised() {
        assert!(failure(Some(412), Some("PreconditionFailed")).is_conflict());
        assert!(failure(Some(409), Some("ConditionalRequestConflict")).is_conflict());
        assert!(!failure(Some(409), Some("BucketNotEmpty")).is_conflict());
        assert!(failure(Some(404), Some("NoSuchKey")).is_not_found());
        assert!(failure(Some(404), None).is_not_found());
        assert!(!failure(Some(404), Some("NoSuchBucket")).is_not_found());
        assert!(!failure(Some(403), Some("AccessDenied")).is_not_found());
        let io = failure(Some(403), Some("AccessDenied")).to_io("s3://b/k");
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(io.to_string(), "s3://b/k: HTTP 403 AccessDenied: d");
    }

    #[test]
    fn request_errors_name_the_object() {
        let e = Error::request(
            "GetObject",
            "bkt",
            "p/k.json",
            failure(Some(500), Some("InternalError")),
        );
        assert_eq!(
            e.to_string(),
            "GetObject s3://bkt/p/k.json: HTTP 500 InternalError: d"
        );
        assert_eq!(e.status(), Some(500));
        assert_eq!(e.code(), Some("InternalError"));
    }
}
