//! [`LakeReader`]: the parquet crate's async file reader over an `object_store` object
//! (ranged reads; the footer and page indexes through `ParquetMetaDataReader`).
//!
//! The footer is fetched with the file's last [`TAIL_BYTES`], which are kept: whatever else
//! lies there (a small bloom filter or page index next to the footer) is then read without
//! another request. Bloom filters sized for a million values (~1 MiB) do not fit; reading only
//! the block a value hashes to would avoid reading them whole (not done yet).

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use std::ops::Range;
use std::sync::Arc;

/// Bytes read from the end of a file with its footer, and kept.
pub const TAIL_BYTES: u64 = 64 << 10;

/// One object of a lake, read by ranges.
#[derive(Debug, Clone)]
pub struct LakeReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    /// The file's last bytes (offset of the first, bytes), once read.
    tail: Option<(u64, Bytes)>,
}

impl LakeReader {
    /// A reader of `path` (of `size` bytes, from the listing) in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, size: u64) -> LakeReader {
        LakeReader {
            store,
            path,
            size,
            tail: None,
        }
    }

    /// `range` from the kept tail, if it lies within it.
    fn cached(&self, range: &Range<u64>) -> Option<Bytes> {
        let (start, bytes) = self.tail.as_ref()?;
        let end = start + bytes.len() as u64;
        (range.start >= *start && range.end <= end).then(|| {
            let from = usize::try_from(range.start - start).unwrap_or(0);
            let to = usize::try_from(range.end - start).unwrap_or(0);
            bytes.slice(from..to)
        })
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for LakeReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes>> {
        async move {
            if let Some(b) = self.cached(&range) {
                return Ok(b);
            }
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        async move {
            let cached: Option<Vec<Bytes>> = ranges.iter().map(|r| self.cached(r)).collect();
            if let Some(all) = cached {
                return Ok(all);
            }
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, Result<Arc<ParquetMetaData>>> {
        async move {
            let mut reader =
                ParquetMetaDataReader::new().with_prefetch_hint(Some(TAIL_BYTES as usize));
            if let Some(o) = options {
                reader = reader
                    .with_column_index_policy(o.column_index_policy())
                    .with_offset_index_policy(o.offset_index_policy());
            }
            let size = self.size;
            if self.tail.is_none() {
                let start = size.saturating_sub(TAIL_BYTES);
                let bytes = self
                    .store
                    .get_range(&self.path, start..size)
                    .await
                    .map_err(external)?;
                self.tail = Some((start, bytes));
            }
            Ok(Arc::new(reader.load_and_finish(self, size).await?))
        }
        .boxed()
    }
}
