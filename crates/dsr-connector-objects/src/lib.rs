//! `dsr-connector-objects`: stores of whole objects keyed by subject — call recordings,
//! photos, documents — on a local directory or (with an S3 backend) a bucket.
//!
//! A mapped "table" of an objects store is a key prefix template with one identity
//! placeholder (`objects = "recordings/{customer_id}/"`). Its records are the objects under the
//! prefix of a subject's identity value, with the columns `key`, `size`, `content_type` and
//! the identity column; the key is `key`. Finding lists them (never reads their bytes);
//! erasing deletes each object — every version, where the backend keeps versions.
//!
//! An identity value that could reach outside its prefix (empty, `/`, `\`, `..`, control
//! characters) matches nothing. Erasure is idempotent (deleting an absent object changes
//! nothing and counts 0), so it needs no fence: a stalled worker that deletes after a takeover
//! deletes what the new lease deletes anyway. Masking is refused: objects are deleted or
//! retained.

mod backend;
mod connector;
mod s3;

pub use backend::{DirBackend, ObjectBackend, ObjectMeta, content_type_of};
pub use connector::ObjectsConnector;
pub use s3::S3Backend;
