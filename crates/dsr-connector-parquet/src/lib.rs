//! `dsr-connector-parquet`: Parquet data lakes on a local directory or S3, behind the
//! [`Connector`](dsr_core::connector::Connector) trait, and the [`Lake`] API the `dsr lake`
//! tools use.
//!
//! A lake is a set of Parquet files under a root (`/data/lake`, `s3://bucket/prefix`); a mapped
//! table is the files matching a glob under it (`events/**/*.parquet`). Files are read through
//! `object_store` and the `parquet` crate's async reader, so one code path serves disk and S3.
//!
//! * **Find** ([`scan`]) is one pass per file for the whole batch of subjects: only the identity
//!   column is read first, row groups are skipped by min/max statistics and bloom filters where
//!   the column is stored normalised, then only the matching rows of the other columns are
//!   decoded. Row groups run in parallel, bounded by a memory budget.
//! * **Erase** ([`rewrite`], [`replace`]) rewrites only files holding matches, without those
//!   rows, keeping schema, key-value metadata, compression and row-group boundaries; row groups
//!   without matches are copied byte for byte. The new file is checked (row count = old −
//!   removed), an intent is journalled beside the lake (`_dsr/journal/`), and the file replaces
//!   the old one under the same name: a rename on disk; on S3 a conditional overwrite
//!   (`If-Match` on the old ETag) followed by deletion of every other version, so the removed
//!   rows survive in no noncurrent version. A crash leaves the old file or the new one, and the
//!   journal lets the next run finish.
//! * Files that cannot be read (not Parquet, truncated, mapped column missing) are reported by
//!   name and skipped; nothing is rewritten from a file that could not be fully read.

mod connector;
mod error;
mod lake;
mod local;
mod location;
mod matcher;
mod reader;
pub mod replace;
pub mod rewrite;
pub mod scan;
pub mod testing;
mod values;

pub use connector::ParquetConnector;
pub use error::Error;
pub use lake::{EraseSummary, FileChange, FileFailure, FindSummary, Lake, LakeOptions, LakeRow};
pub use local::LocalFile;
pub use location::{LakeLocation, LakeObject, LakeRoot, open_root, open_s3};
pub use matcher::{KeySet, Matcher, RowTest, Targets};
pub use reader::LakeReader;
pub use values::{Columns, leaf_paths};

/// Objects under this prefix of a lake are dsr's own (journal, staging) and never data.
pub const RESERVED_PREFIX: &str = "_dsr/";
