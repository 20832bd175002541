//! The `Connector` trait: what every store (SQL, Parquet lake, objects) answers.
//!
//! # Contract
//! * **Find** is batched: one call per (table, identity column) carries the values of every
//!   subject in the batch; the store answers with one query per chunk, comparing the
//!   normalised column with exact equality under a binary collation (never `LIKE`). Every value
//!   is bound as a parameter. Each found record carries the normalised value it matched on, so
//!   the engine attributes it to requests without re-interpreting the store's comparison.
//! * **Erase** applies all requests of one store in one transaction, each request under its own
//!   savepoint: a failing request is rolled back alone and reported; the others commit.
//!   Operations arrive in deletion order (children before parents).
//! * **Erase is fenced.** Each group carries the lease token under which its request is being
//!   processed. The store keeps, per request and inside the same transaction as the changes, the
//!   highest token that has written (the *fence*) and the running totals of records deleted and
//!   masked (the *ledger*). A group whose token is lower than the fence is refused with the code
//!   [`FENCED`] and changes nothing, so a worker that stalled past its lease cannot write after
//!   another took over; the ledger makes the counts exact even when a crash falls between the
//!   commit and the evidence entry that reports it.
//! * **Count** re-queries by key to prove deleted records are gone.
//! * **Describe** reports the live schema of mapped tables for `dsr check`.
//! * Errors are [`StoreError`]s: codes and constraint names only, never values.

use crate::config::TableMap;
use crate::error::StoreError;
use crate::identity::Normalizer;
use crate::value::{Record, Value};
use std::collections::BTreeMap;

/// A batched lookup: every record of `table` whose `column`, normalised by `normalizer`,
/// equals one of `values` (already normalised).
#[derive(Debug, Clone, Copy)]
pub struct FindQuery<'a> {
    /// Table to search (its mapped columns are what is selected).
    pub table: &'a TableMap,
    /// Column compared.
    pub column: &'a str,
    /// How the column is normalised before comparison.
    pub normalizer: Normalizer,
    /// Normalised values to look for (the whole batch).
    pub values: &'a [String],
}

/// A record found by a [`FindQuery`], with the normalised value it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The normalised value of the searched column.
    pub matched: String,
    /// The record.
    pub record: Record,
}

/// One change to one record.
#[derive(Debug, Clone, PartialEq)]
pub enum EraseOp {
    /// Delete the record with this key.
    Delete {
        /// Table.
        table: String,
        /// Key columns.
        key_columns: Vec<String>,
        /// Key values.
        key: Vec<Value>,
    },
    /// Overwrite columns of the record with this key.
    Mask {
        /// Table.
        table: String,
        /// Key columns.
        key_columns: Vec<String>,
        /// Key values.
        key: Vec<Value>,
        /// Column → new value.
        set: Vec<(String, Value)>,
    },
}

/// [`StoreError::code`] of a group refused because a later lease has written for its request.
pub const FENCED: &str = "fenced";

/// [`StoreError::code`] of an operation this kind of store does not offer.
pub const UNSUPPORTED: &str = "unsupported";

/// All operations of one request in one store, applied under one savepoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EraseGroup {
    /// Request id (not PI).
    pub request_id: String,
    /// Lease token the request is processed under (see the fencing contract above).
    pub lease: u64,
    /// Operations in order.
    pub ops: Vec<EraseOp>,
}

/// What the store has recorded for a request over every lease: records deleted and masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ledger {
    /// Records deleted in this store for the request, over all committed groups.
    pub deleted: u64,
    /// Records masked.
    pub masked: u64,
}

/// The outcome of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupOutcome {
    /// Request id.
    pub request_id: String,
    /// Rows affected per operation, in order, or the error that rolled the group back.
    pub result: Result<Vec<u64>, StoreError>,
    /// The request's ledger after this group committed (zero when it did not).
    pub ledger: Ledger,
    /// Files a lake store replaced to remove this request's rows (empty for other stores).
    pub rewrites: Vec<FileRewrite>,
}

/// One lake file replaced by a copy without some rows: what evidence records of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRewrite {
    /// Object name relative to the lake (file names, not subject data).
    pub object: String,
    /// SHA-256 of the old file.
    pub old_sha256: String,
    /// SHA-256 of the new file.
    pub new_sha256: String,
    /// Rows of this request removed from the file.
    pub removed: u64,
}

/// Live description of one table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveTable {
    /// Column name → declared type.
    pub columns: BTreeMap<String, String>,
    /// Columns declared NOT NULL.
    pub not_null: Vec<String>,
    /// Primary key columns, in order (empty when none).
    pub primary_key: Vec<String>,
    /// Column name → collation, where the server reports one (MySQL/MariaDB).
    pub collations: BTreeMap<String, String>,
}

/// A store.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// Store name from the data map.
    fn store(&self) -> &str;

    /// Most values one lookup statement carries (a find of more values takes several).
    fn max_batch(&self) -> usize {
        900
    }

    /// Live schema of `tables`; a table that does not exist is absent from the answer.
    async fn describe(&self, tables: &[&str]) -> Result<BTreeMap<String, LiveTable>, StoreError>;

    /// Records matching a batched lookup.
    async fn find(&self, query: FindQuery<'_>) -> Result<Vec<Found>, StoreError>;

    /// Applies groups in one transaction, one savepoint per group. A failure to begin or
    /// commit the transaction is the outer error (then nothing changed).
    async fn erase(&self, groups: &[EraseGroup]) -> Result<Vec<GroupOutcome>, StoreError>;

    /// Up to `limit` records of `table` (its selected columns), for rehearsing masks.
    async fn sample(&self, table: &TableMap, limit: usize) -> Result<Vec<Record>, StoreError>;

    /// One page of the records of `table` (its selected columns) in key order: at most
    /// `limit` records whose key is greater than `after` (from the first when `None`). Keyset
    /// paging: a record deleted or added elsewhere in the table while a scan goes on never
    /// makes it skip another. For sweeps over whole tables (DROP matching, the tombstone
    /// sweep), which hash values the store cannot compare itself. A store that cannot scan,
    /// or a table without key columns, answers with the code [`UNSUPPORTED`]; config refuses
    /// such a store as a DROP source.
    async fn scan(
        &self,
        table: &TableMap,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let _ = (after, limit);
        Err(StoreError {
            store: self.store().to_owned(),
            table: Some(table.id.table.clone()),
            code: UNSUPPORTED.into(),
            message: "this kind of store cannot be scanned".into(),
        })
    }

    /// As [`Connector::erase`], but the transaction is always rolled back: tells whether the
    /// store would accept the groups (types, NOT NULL, UNIQUE, CHECK, foreign keys).
    async fn rehearse(&self, groups: &[EraseGroup]) -> Result<Vec<GroupOutcome>, StoreError>;

    /// How many of `keys` still exist in `table`.
    async fn count_present(
        &self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<u64, StoreError>;
}
