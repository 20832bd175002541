//! Find: one pruned pass over each file for a whole batch of subjects.
//!
//! Per file the footer is read once. Per row group: when the test has exact targets
//! ([`Targets`]), the group is skipped if no target lies within the identity column's min/max
//! statistics or if its bloom filter rules every target out. Otherwise only the test's
//! columns are decoded and tested; the other selected columns are then decoded for the
//! matching rows alone (a row selection). Row groups run as parallel tasks, at most
//! `threads` at once and within a memory budget estimated from the column chunks' decoded
//! sizes, so memory follows the budget, not the file size.

use crate::Error;
use crate::location::{LakeObject, LakeRoot};
use crate::matcher::{RowTest, Targets};
use crate::reader::LakeReader;
use crate::values::{Columns, cell_withholding, leaf_array, leaf_paths};
use arrow_array::RecordBatch;
use dsr_core::value::Value;
use futures::{StreamExt, TryStreamExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, RowSelection};
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::file::metadata::PageIndexPolicy;
use parquet::schema::types::SchemaDescriptor;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// How a scan uses the machine.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Row groups decoded at once.
    pub threads: usize,
    /// Bytes of decoded column data in flight at once (an estimate from the footer).
    pub memory_budget: usize,
    /// Rows per decoded batch.
    pub batch_rows: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            memory_budget: 128 << 20,
            batch_rows: 8192,
        }
    }
}

/// What to return of each matching row.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Columns returned.
    pub columns: Columns,
    /// Nested paths replaced by a marker inside JSON-rendered values (sensitive fields).
    pub withheld: Vec<String>,
}

/// One matching row of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Row index in the file.
    pub row: u64,
    /// The target the row matched ([`RowTest`]).
    pub target: u32,
    /// Selected column → value.
    pub values: BTreeMap<String, Value>,
}

/// The outcome of scanning one file.
#[derive(Debug, Clone, Default)]
pub struct FileScan {
    /// Object name.
    pub object: String,
    /// Matching rows, in file order.
    pub hits: Vec<Hit>,
    /// Rows in the file.
    pub rows: u64,
    /// Row groups in the file.
    pub row_groups: usize,
    /// Row groups skipped by statistics or bloom filters.
    pub pruned: usize,
}

/// A file's footer, loaded once.
pub(crate) struct OpenFile {
    pub(crate) reader: LakeReader,
    pub(crate) meta: ArrowReaderMetadata,
}

/// Opens an object and reads its footer.
pub(crate) async fn open_file(root: &LakeRoot, obj: &LakeObject) -> Result<OpenFile, Error> {
    let mut reader = LakeReader::new(root.store.clone(), root.path(&obj.name), obj.size);
    // Row groups are pruned by their chunk statistics and bloom filters; the page index would
    // cost another read per file and is not used by a find.
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Skip);
    let meta = ArrowReaderMetadata::load_async(&mut reader, options)
        .await
        .map_err(|e| Error::parquet(&obj.name, e))?;
    Ok(OpenFile { reader, meta })
}

/// Indices of the leaf columns under `paths` (a path selects itself and everything below it).
pub(crate) fn leaves_of(
    schema: &SchemaDescriptor,
    object: &str,
    paths: &[String],
) -> Result<Vec<usize>, Error> {
    let mut out = Vec::new();
    for p in paths {
        let parts: Vec<&str> = p.split('.').collect();
        let mut found = false;
        for (i, col) in schema.columns().iter().enumerate() {
            let lp = col.path().parts();
            if lp.len() >= parts.len() && parts.iter().zip(lp).all(|(a, b)| *a == b.as_str()) {
                out.push(i);
                found = true;
            }
        }
        if !found {
            return Err(Error::MissingColumn {
                object: object.to_owned(),
                column: p.clone(),
            });
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Whether statistics and the bloom filter leave row group `rg` possibly holding a target.
async fn may_contain(
    file: &OpenFile,
    rg: usize,
    leaf: usize,
    targets: &Targets,
) -> Result<bool, parquet::errors::ParquetError> {
    let md = file.meta.metadata();
    let chunk = md.row_group(rg).column(leaf);
    if !crate::rewrite::stats_may_contain(chunk, targets) {
        return Ok(false);
    }
    if chunk.bloom_filter_offset().is_none() {
        return Ok(true);
    }
    let mut builder =
        ParquetRecordBatchStreamBuilder::new_with_metadata(file.reader.clone(), file.meta.clone());
    let Some(bloom) = builder.get_row_group_column_bloom_filter(rg, leaf).await? else {
        return Ok(true);
    };
    Ok(crate::rewrite::bloom_may_contain(
        &bloom,
        chunk.column_descr().physical_type(),
        targets,
    ))
}

/// Rows of row group `rg` that pass `test`: `(row in group, target)`.
pub(crate) async fn test_row_group(
    file: &OpenFile,
    object: &str,
    rg: usize,
    test: &dyn RowTest,
    batch_rows: usize,
) -> Result<Vec<(usize, u32)>, Error> {
    let schema = file.meta.parquet_schema();
    let mask = ProjectionMask::leaves(schema, leaves_of(schema, object, &test.columns())?);
    let mut stream =
        ParquetRecordBatchStreamBuilder::new_with_metadata(file.reader.clone(), file.meta.clone())
            .with_projection(mask)
            .with_row_groups(vec![rg])
            .with_batch_size(batch_rows)
            .build()
            .map_err(|e| Error::parquet(object, e))?;
    let mut out = Vec::new();
    let mut base = 0usize;
    let mut hits = Vec::new();
    while let Some(batch) = stream
        .try_next()
        .await
        .map_err(|e| Error::parquet(object, e))?
    {
        base += test_batch(test, object, &batch, base, &mut hits, &mut out)?;
    }
    Ok(out)
}

/// Tests one batch of a row group whose first row is row `base` of the group, appending
/// `(row in group, target)` to `out` (`scratch` is reused between batches); returns the
/// batch's row count.
pub(crate) fn test_batch(
    test: &dyn RowTest,
    object: &str,
    batch: &RecordBatch,
    base: usize,
    scratch: &mut Vec<(usize, u32)>,
    out: &mut Vec<(usize, u32)>,
) -> Result<usize, Error> {
    scratch.clear();
    test.test(batch, scratch)
        .map_err(|reason| Error::Unsupported {
            object: object.to_owned(),
            column: test.columns().join(","),
            data_type: reason,
        })?;
    out.extend(scratch.iter().map(|(r, t)| (base + r, *t)));
    Ok(batch.num_rows())
}

/// Decodes the selected columns of the given rows of row group `rg`.
async fn read_rows(
    file: &OpenFile,
    object: &str,
    rg: usize,
    rows: &[(usize, u32)],
    paths: &[String],
    withheld: &[String],
    batch_rows: usize,
) -> Result<Vec<BTreeMap<String, Value>>, Error> {
    let md = file.meta.metadata();
    let total = usize::try_from(md.row_group(rg).num_rows()).unwrap_or(0);
    let schema = file.meta.parquet_schema();
    let mask = ProjectionMask::leaves(schema, leaves_of(schema, object, paths)?);
    let selection =
        RowSelection::from_consecutive_ranges(rows.iter().map(|(r, _)| *r..*r + 1), total);
    let batches: Vec<RecordBatch> =
        ParquetRecordBatchStreamBuilder::new_with_metadata(file.reader.clone(), file.meta.clone())
            .with_projection(mask)
            .with_row_groups(vec![rg])
            .with_row_selection(selection)
            .with_batch_size(batch_rows)
            .build()
            .map_err(|e| Error::parquet(object, e))?
            .try_collect()
            .await
            .map_err(|e| Error::parquet(object, e))?;
    let mut out = Vec::with_capacity(rows.len());
    for batch in &batches {
        let arrays: Vec<_> = paths.iter().map(|p| leaf_array(batch, p)).collect();
        for row in 0..batch.num_rows() {
            let mut values = BTreeMap::new();
            for (p, a) in paths.iter().zip(&arrays) {
                let v = a.as_ref().map_or(Value::Null, |a| {
                    cell_withholding(a.as_ref(), row, p, withheld)
                });
                values.insert(p.clone(), v);
            }
            out.push(values);
        }
    }
    if out.len() != rows.len() {
        return Err(Error::Parquet {
            object: object.to_owned(),
            reason: format!(
                "row selection returned {} rows instead of {}",
                out.len(),
                rows.len()
            ),
        });
    }
    Ok(out)
}

/// Scans one file: prunes, tests and reads each row group in parallel tasks.
pub async fn scan_file(
    root: &LakeRoot,
    obj: &LakeObject,
    test: Arc<dyn RowTest>,
    selection: Arc<Selection>,
    opts: ScanOptions,
    limits: Arc<Limits>,
) -> Result<FileScan, Error> {
    let file = Arc::new(open_file(root, obj).await?);
    let md = file.meta.metadata().clone();
    let schema = file.meta.parquet_schema();
    let test_leaves = leaves_of(schema, &obj.name, &test.columns())?;
    let paths: Arc<Vec<String>> = Arc::new(match &selection.columns {
        Columns::All => leaf_paths(file.meta.schema().fields()),
        Columns::Paths(p) => {
            leaves_of(schema, &obj.name, p)?;
            p.clone()
        }
    });
    let first_leaf = test_leaves.first().copied();
    let groups = md.num_row_groups();
    let object: Arc<str> = Arc::from(obj.name.as_str());
    let mut tasks = Vec::with_capacity(groups);
    for rg in 0..groups {
        let rgm = md.row_group(rg);
        let cost: usize = test_leaves
            .iter()
            .map(|l| usize::try_from(rgm.column(*l).uncompressed_size()).unwrap_or(0))
            .sum();
        let (file, test, selection, paths, limits, object) = (
            file.clone(),
            test.clone(),
            selection.clone(),
            paths.clone(),
            limits.clone(),
            object.clone(),
        );
        let multi_leaf = test_leaves.len() > 1;
        tasks.push(async move {
            let permit = limits.acquire(cost).await;
            // Decoding is CPU work: each row group is its own task, so groups use every core.
            let name = object.clone();
            let job = tokio::spawn(async move {
                let _permit = permit;
                let prune_leaf = first_leaf.filter(|_| !multi_leaf);
                row_group_job(
                    &file,
                    &object,
                    rg,
                    test.as_ref(),
                    &selection,
                    &paths,
                    prune_leaf,
                    opts,
                    &limits,
                )
                .await
            });
            job.await.map_err(|e| Error::io(&name, "decode task", e))?
        });
    }
    let results: Vec<Option<RowGroupHits>> = futures::stream::iter(tasks)
        .buffered(opts.threads.max(1) * 4)
        .try_collect()
        .await?;
    let mut out = FileScan {
        object: obj.name.clone(),
        rows: u64::try_from(md.file_metadata().num_rows()).unwrap_or(0),
        row_groups: groups,
        ..FileScan::default()
    };
    let mut base = 0u64;
    for (rg, r) in results.into_iter().enumerate() {
        match r {
            None => out.pruned += 1,
            Some((rows, values)) => {
                for ((row, target), values) in rows.into_iter().zip(values) {
                    out.hits.push(Hit {
                        row: base + row as u64,
                        target,
                        values,
                    });
                }
            }
        }
        base += u64::try_from(md.row_group(rg).num_rows()).unwrap_or(0);
    }
    Ok(out)
}

/// One row group: prune, test, then read the matching rows (`None` when pruned).
#[allow(clippy::too_many_arguments)]
async fn row_group_job(
    file: &OpenFile,
    object: &str,
    rg: usize,
    test: &dyn RowTest,
    selection: &Selection,
    paths: &[String],
    prune_leaf: Option<usize>,
    opts: ScanOptions,
    limits: &Limits,
) -> Result<Option<RowGroupHits>, Error> {
    // Pruning reads a few bytes (statistics are in the footer, bloom filters are small): it
    // runs outside the CPU bound, so many row groups can be ruled out at once.
    if let (Some(t), Some(leaf)) = (test.targets(), prune_leaf)
        && !may_contain(file, rg, leaf, t)
            .await
            .map_err(|e| Error::parquet(object, e))?
    {
        return Ok(None);
    }
    let _cpu = limits.cpu().await;
    let rows = test_row_group(file, object, rg, test, opts.batch_rows).await?;
    let values = if rows.is_empty() {
        Vec::new()
    } else {
        read_rows(
            file,
            object,
            rg,
            &rows,
            paths,
            &selection.withheld,
            opts.batch_rows,
        )
        .await?
    };
    Ok(Some((rows, values)))
}

/// Matching rows of a row group and their selected values.
type RowGroupHits = (Vec<(usize, u32)>, Vec<BTreeMap<String, Value>>);

/// Shared limits of a scan over all its files: the memory budget (in KiB permits) and the
/// row groups decoded at once (`threads`), so files can be opened many at a time (their
/// footers are I/O) while decoding stays within the cores and the budget.
#[derive(Debug)]
pub struct Limits {
    budget_kib: u32,
    memory: Arc<Semaphore>,
    cpu: Arc<Semaphore>,
}

impl Limits {
    /// Limits for `opts`.
    pub fn new(opts: &ScanOptions) -> Limits {
        let budget_kib = u32::try_from((opts.memory_budget >> 10).max(1024)).unwrap_or(u32::MAX);
        Limits {
            budget_kib,
            memory: Arc::new(Semaphore::new(budget_kib as usize)),
            cpu: Arc::new(Semaphore::new(opts.threads.max(1))),
        }
    }

    /// Waits for `bytes` of the budget (a task larger than the whole budget takes all of it).
    async fn acquire(&self, bytes: usize) -> Permits {
        let kib = u32::try_from(bytes >> 10)
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget_kib);
        self.memory.clone().acquire_many_owned(kib).await.ok()
    }

    /// Waits for one of the `threads` decoding slots.
    async fn cpu(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.cpu.clone().acquire_owned().await.ok()
    }
}

/// The memory permits of one row-group task, released when it ends.
type Permits = Option<tokio::sync::OwnedSemaphorePermit>;
