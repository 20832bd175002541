//! Copy-on-write of one Parquet file without some of its rows (synchronous; run it on a
//! blocking thread).
//!
//! [`plan`] reads only the test's columns, row group by row group (skipping groups that
//! statistics or bloom filters rule out), and says which rows go. [`write`] then writes the new
//! file: a row group without removals is copied byte for byte (column chunks, bloom filters and
//! page indexes); a row group with removals is decoded, filtered and re-encoded into one row
//! group (its columns encoded in parallel), with the old file's schema, key-value metadata,
//! per-column compression, dictionary, statistics and bloom-filter settings, and writer
//! version. The written row count is checked against old − removed before the caller may use
//! the file.

use crate::Error;
use crate::local::LocalFile;
use crate::matcher::{RowTest, Targets};
use crate::scan::leaves_of;
use arrow_array::{BooleanArray, RecordBatch};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::Type as PhysicalType;
use parquet::bloom_filter::Sbbf;
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{ColumnChunkMetaData, PageIndexPolicy};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::statistics::Statistics;
use parquet::file::writer::SerializedFileWriter;
use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Arc;

/// Rows decoded, filtered and fed to the column writers at a time when a row group is
/// re-encoded: memory holds one such batch plus the row group's encoded pages, not the whole
/// decoded row group.
const REWRITE_BATCH_ROWS: usize = 16_384;

/// Which rows of a file go.
#[derive(Debug, Clone)]
pub struct Plan {
    meta: ArrowReaderMetadata,
    /// Per row group: the rows removed with their owner (test target), sorted.
    removals: Vec<Vec<(usize, u32)>>,
}

impl Plan {
    /// Rows in the old file.
    pub fn rows_before(&self) -> u64 {
        u64::try_from(self.meta.metadata().file_metadata().num_rows()).unwrap_or(0)
    }

    /// Rows removed.
    pub fn removed(&self) -> u64 {
        self.removals.iter().map(|r| r.len() as u64).sum()
    }

    /// Rows removed per owner.
    pub fn removed_by_owner(&self) -> BTreeMap<u32, u64> {
        let mut out = BTreeMap::new();
        for (_, owner) in self.removals.iter().flatten() {
            *out.entry(*owner).or_insert(0) += 1;
        }
        out
    }

    /// Row groups that are rewritten (the others are copied).
    pub fn groups_rewritten(&self) -> usize {
        self.removals.iter().filter(|r| !r.is_empty()).count()
    }
}

/// What [`write`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Rows in the new file.
    pub rows: u64,
    /// Row groups copied byte for byte.
    pub copied: usize,
    /// Row groups re-encoded.
    pub rewritten: usize,
}

fn perr(object: &str) -> impl Fn(parquet::errors::ParquetError) -> Error + '_ {
    move |e| Error::parquet(object, e)
}

fn werr(object: &str) -> impl Fn(parquet::errors::ParquetError) -> Error + '_ {
    move |e| Error::io(object, "rewrite", e)
}

/// Whether a column chunk's min/max statistics leave room for a target.
pub(crate) fn stats_may_contain(chunk: &ColumnChunkMetaData, targets: &Targets) -> bool {
    let Some(stats) = chunk.statistics() else {
        return true;
    };
    match (targets, stats) {
        (Targets::Bytes(t), s)
            if chunk.column_descr().physical_type() == PhysicalType::BYTE_ARRAY =>
        {
            match (s.min_bytes_opt(), s.max_bytes_opt()) {
                (Some(min), Some(max)) => {
                    t.iter().any(|v| v.as_slice() >= min && v.as_slice() <= max)
                }
                _ => true,
            }
        }
        (Targets::Ints(t), Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
            (Some(min), Some(max)) => t.iter().any(|v| v >= min && v <= max),
            _ => true,
        },
        (Targets::Ints(t), Statistics::Int32(s)) => match (s.min_opt(), s.max_opt()) {
            (Some(min), Some(max)) => t
                .iter()
                .any(|v| *v >= i64::from(*min) && *v <= i64::from(*max)),
            _ => true,
        },
        _ => true,
    }
}

/// Whether a bloom filter leaves room for a target of a column of this physical type.
pub(crate) fn bloom_may_contain(bloom: &Sbbf, physical: PhysicalType, targets: &Targets) -> bool {
    match (targets, physical) {
        (Targets::Bytes(t), PhysicalType::BYTE_ARRAY) => {
            t.iter().any(|v| bloom.check(v.as_slice()))
        }
        (Targets::Ints(t), PhysicalType::INT64) => t.iter().any(|v| bloom.check(v)),
        (Targets::Ints(t), PhysicalType::INT32) => t
            .iter()
            .any(|v| i32::try_from(*v).is_ok_and(|v| bloom.check(&v))),
        _ => true,
    }
}

/// Reads the footer (with page indexes where present) of a local file.
pub fn footer(file: &LocalFile, object: &str) -> Result<ArrowReaderMetadata, Error> {
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    ArrowReaderMetadata::load(file, options).map_err(perr(object))
}

/// A row group's index and its removed rows with their owners.
type GroupRemovals = (usize, Vec<(usize, u32)>);

/// Which rows of `file` the test removes; `None` when none. Row groups are tested on up to
/// `threads` threads.
pub fn plan(
    file: &LocalFile,
    object: &str,
    test: &dyn RowTest,
    threads: usize,
) -> Result<Option<Plan>, Error> {
    let meta = footer(file, object)?;
    let md = meta.metadata().clone();
    let schema = meta.parquet_schema();
    let leaves = leaves_of(schema, object, &test.columns())?;
    let mask = ProjectionMask::leaves(schema, leaves.iter().copied());
    let groups = md.num_row_groups();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<Vec<GroupRemovals>, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.clamp(1, groups.max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let rg = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if rg >= groups {
                            return Ok(mine);
                        }
                        if let (Some(t), [leaf]) = (test.targets(), leaves.as_slice()) {
                            let chunk = md.row_group(rg).column(*leaf);
                            if !stats_may_contain(chunk, t) {
                                continue;
                            }
                            if let Some(bloom) =
                                Sbbf::read_from_column_chunk(chunk, file).map_err(perr(object))?
                                && !bloom_may_contain(
                                    &bloom,
                                    chunk.column_descr().physical_type(),
                                    t,
                                )
                            {
                                continue;
                            }
                        }
                        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                            file.clone(),
                            meta.clone(),
                        )
                        .with_projection(mask.clone())
                        .with_row_groups(vec![rg])
                        .with_batch_size(8192)
                        .build()
                        .map_err(perr(object))?;
                        let mut rows = Vec::new();
                        let mut base = 0;
                        let mut hits = Vec::new();
                        for batch in reader {
                            let batch = batch.map_err(|e| Error::parquet(object, e))?;
                            base += crate::scan::test_batch(
                                test, object, &batch, base, &mut hits, &mut rows,
                            )?;
                        }
                        if !rows.is_empty() {
                            mine.push((rg, rows));
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::io(object, "plan", "a worker thread panicked")))
            })
            .collect()
    });
    let mut removals = vec![Vec::new(); groups];
    for r in results {
        for (rg, rows) in r? {
            removals[rg] = rows;
        }
    }
    if removals.iter().all(Vec::is_empty) {
        return Ok(None);
    }
    Ok(Some(Plan { meta, removals }))
}

/// Writer properties reproducing the old file's settings.
fn properties(meta: &ArrowReaderMetadata) -> Arc<WriterProperties> {
    let md = meta.metadata();
    let fmd = md.file_metadata();
    let max_rows = md
        .row_groups()
        .iter()
        .map(|g| usize::try_from(g.num_rows()).unwrap_or(0))
        .max()
        .unwrap_or(1)
        .max(1);
    let page_index = md.page_index().is_some();
    let mut b = WriterProperties::builder()
        .set_writer_version(if fmd.version() >= 2 {
            WriterVersion::PARQUET_2_0
        } else {
            WriterVersion::PARQUET_1_0
        })
        .set_max_row_group_row_count(Some(max_rows))
        .set_key_value_metadata(fmd.key_value_metadata().cloned())
        .set_statistics_enabled(if page_index {
            EnabledStatistics::Page
        } else {
            EnabledStatistics::Chunk
        });
    if let Some(created_by) = fmd.created_by() {
        b = b.set_created_by(created_by.to_owned());
    }
    if let Some(first) = md.row_groups().first() {
        for chunk in first.columns() {
            let path = chunk.column_path().clone();
            b = b
                .set_column_compression(path.clone(), chunk.compression())
                .set_column_dictionary_enabled(
                    path.clone(),
                    chunk.dictionary_page_offset().is_some(),
                )
                .set_column_bloom_filter_enabled(
                    path.clone(),
                    chunk.bloom_filter_offset().is_some(),
                );
            if chunk.bloom_filter_offset().is_some() {
                b = b.set_column_bloom_filter_max_ndv(path, max_rows as u64);
            }
        }
    }
    Arc::new(b.build())
}

/// Writes the new file to `dst` per `plan`, re-encoding columns on up to `threads` threads,
/// and checks its row count.
pub fn write(
    src: &LocalFile,
    object: &str,
    plan: &Plan,
    dst: File,
    threads: usize,
) -> Result<Written, Error> {
    let meta = &plan.meta;
    let md = meta.metadata();
    let props = properties(meta);
    let root = meta.parquet_schema().root_schema_ptr();
    let mut writer = SerializedFileWriter::new(dst, root, props).map_err(werr(object))?;
    let factory = ArrowRowGroupWriterFactory::new(&writer, meta.schema().clone());
    let mut written = Written {
        rows: 0,
        copied: 0,
        rewritten: 0,
    };
    for (rg, removals) in plan.removals.iter().enumerate() {
        let rgm = md.row_group(rg);
        if removals.is_empty() {
            let page_index = md.page_index_for_row_group(rg);
            let mut out = writer.next_row_group().map_err(werr(object))?;
            for (j, chunk) in rgm.columns().iter().enumerate() {
                let bloom = Sbbf::read_from_column_chunk(chunk, src).map_err(perr(object))?;
                let close = ColumnCloseResult {
                    bytes_written: u64::try_from(chunk.compressed_size()).unwrap_or(0),
                    rows_written: u64::try_from(rgm.num_rows()).unwrap_or(0),
                    metadata: chunk.clone(),
                    bloom_filter: bloom,
                    column_index: page_index.column_index(j).cloned(),
                    offset_index: page_index.offset_index(j).cloned(),
                };
                out.append_column(src, close).map_err(werr(object))?;
            }
            out.close().map_err(werr(object))?;
            written.copied += 1;
            written.rows += u64::try_from(rgm.num_rows()).unwrap_or(0);
            continue;
        }
        let total = usize::try_from(rgm.num_rows()).unwrap_or(0);
        let mut keep = vec![true; total];
        for (row, _) in removals {
            if let Some(k) = keep.get_mut(*row) {
                *k = false;
            }
        }
        let kept = keep.iter().filter(|k| **k).count();
        if kept == 0 {
            written.rewritten += 1;
            continue;
        }
        let mut writers = factory.create_column_writers(rg).map_err(werr(object))?;
        // Decoding and filtering (one thread) overlaps with encoding (the others): batches
        // pass through a channel of two.
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<RecordBatch, Error>>(2);
            let keep = &keep;
            s.spawn(move || {
                for batch in decode_filtered(src, meta, rg, keep, object) {
                    let stop = batch.is_err();
                    if tx.send(batch).is_err() || stop {
                        return;
                    }
                }
            });
            for batch in rx {
                encode(&batch?, &mut writers, threads).map_err(werr(object))?;
            }
            Ok::<_, Error>(())
        })?;
        let chunks = close_all(writers, threads).map_err(werr(object))?;
        let mut out = writer.next_row_group().map_err(werr(object))?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut out).map_err(werr(object))?;
        }
        out.close().map_err(werr(object))?;
        written.rewritten += 1;
        written.rows += kept as u64;
    }
    let file = writer.into_inner_checked(object)?;
    file.sync_all().map_err(|e| Error::io(object, "fsync", e))?;
    let expected = plan.rows_before() - plan.removed();
    if written.rows != expected {
        return Err(Error::RowCount {
            object: object.to_owned(),
            expected,
            actual: written.rows,
        });
    }
    Ok(written)
}

/// The batches of row group `rg` without the rows `keep` marks false, in order.
fn decode_filtered<'a>(
    src: &LocalFile,
    meta: &ArrowReaderMetadata,
    rg: usize,
    keep: &'a [bool],
    object: &'a str,
) -> Box<dyn Iterator<Item = Result<RecordBatch, Error>> + 'a> {
    let reader = match ParquetRecordBatchReaderBuilder::new_with_metadata(src.clone(), meta.clone())
        .with_row_groups(vec![rg])
        .with_batch_size(REWRITE_BATCH_ROWS)
        .build()
    {
        Ok(r) => r,
        Err(e) => return Box::new(std::iter::once(Err(Error::parquet(object, e)))),
    };
    let mut offset = 0;
    Box::new(reader.map(move |batch| {
        let batch = batch.map_err(|e| Error::parquet(object, e))?;
        let n = batch.num_rows();
        let mask = keep.get(offset..offset + n).ok_or_else(|| {
            Error::parquet(object, "row group holds more rows than its footer says")
        })?;
        offset += n;
        arrow_select::filter::filter_record_batch(&batch, &BooleanArray::from(mask.to_vec()))
            .map_err(|e| Error::parquet(object, e))
    }))
}

/// Closing the file writer (footer) and getting the file back.
trait IntoInnerChecked {
    fn into_inner_checked(self, object: &str) -> Result<File, Error>;
}

impl IntoInnerChecked for SerializedFileWriter<File> {
    fn into_inner_checked(self, object: &str) -> Result<File, Error> {
        self.into_inner().map_err(werr(object))
    }
}

/// Feeds a batch's leaves to the column writers, split over up to `threads` threads.
fn encode(
    batch: &RecordBatch,
    writers: &mut [parquet::arrow::arrow_writer::ArrowColumnWriter],
    threads: usize,
) -> parquet::errors::Result<()> {
    let mut leaves = Vec::with_capacity(writers.len());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        leaves.extend(compute_leaves(field, column)?);
    }
    if leaves.len() != writers.len() {
        return Err(parquet::errors::ParquetError::General(format!(
            "{} leaves for {} column writers",
            leaves.len(),
            writers.len()
        )));
    }
    let per = writers.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (ws, ls) in writers.chunks_mut(per).zip(leaves.chunks(per)) {
            handles.push(s.spawn(move || {
                for (w, l) in ws.iter_mut().zip(ls) {
                    w.write(l)?;
                }
                Ok::<_, parquet::errors::ParquetError>(())
            }));
        }
        for h in handles {
            h.join().map_err(|_| {
                parquet::errors::ParquetError::General("an encoder thread panicked".into())
            })??;
        }
        Ok(())
    })
}

/// Closes the column writers (flushing their last pages), in parallel.
fn close_all(
    writers: Vec<parquet::arrow::arrow_writer::ArrowColumnWriter>,
    threads: usize,
) -> parquet::errors::Result<Vec<ArrowColumnChunk>> {
    let per = writers.len().div_ceil(threads.max(1)).max(1);
    let mut groups: Vec<Vec<_>> = Vec::new();
    let mut it = writers.into_iter().peekable();
    while it.peek().is_some() {
        groups.push(it.by_ref().take(per).collect());
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|g| {
                s.spawn(move || {
                    g.into_iter()
                        .map(|w| w.close())
                        .collect::<parquet::errors::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.extend(h.join().map_err(|_| {
                parquet::errors::ParquetError::General("an encoder thread panicked".into())
            })??);
        }
        Ok(out)
    })
}
