//! `dsr-s3`: S3 locations, the S3 evidence sink, report delivery and object operations.
//!
//! - [`S3Url`]: `s3://bucket/prefix` locations and the keys under them.
//! - [`client()`] / [`S3Options`]: a client from the SDK's standard environment
//!   (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …),
//!   overridden by options, with path-style addressing for moto or MinIO; one TLS stack
//!   (rustls with `ring`).
//! - [`S3Sink`]: [`dsr_evidence::EvidenceSink`] on a bucket: conditional write-once puts
//!   (`If-None-Match: *`) with a SHA-256 checksum and optional COMPLIANCE Object Lock retention;
//!   listings and version history (delete markers included).
//! - Delivery: [`put_private`] (SSE-S3) and [`presign_get`] (time-limited link).
//! - Objects: [`list_objects`] and [`delete_all_versions`] (every version and delete marker of
//!   one exact key), for an objects connector.
//! - [`create_bucket`] for tests and demos; [`testing`] finds the local test server (moto,
//!   `scripts/moto.sh start`) and makes a bucket per test.
//!
//! Errors ([`Error`], or [`dsr_evidence::Error`] from the sink) name the bucket and key and
//! what the server answered, never object contents.

pub mod bucket;
pub mod client;
pub mod delivery;
pub mod error;
pub mod objects;
pub mod sink;
pub mod testing;
pub mod url;

pub use bucket::create_bucket;
pub(crate) use client::build_client;
pub use client::{S3Options, client, client_with_config};
pub use delivery::{presign_get, put_private};
pub use error::Error;
pub use objects::{ObjectInfo, delete_all_versions, list_objects};
pub use sink::S3Sink;
pub use url::{MAX_KEY_LEN, S3Url};
