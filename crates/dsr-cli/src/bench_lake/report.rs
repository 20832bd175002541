//! The lake benchmark's figures: the stats each side reports, the verdict on a cell against
//! the targets, and the table and JSON they are printed as.

use super::LakeBench;
use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Target: dsr's time over DuckDB's time below this.
pub const RATIO_TARGET: f64 = 1.0;
/// Target: dsr's peak resident memory below this (256 MiB).
pub const RSS_TARGET_BYTES: u64 = 256 << 20;

/// What `dsr lake find --stats-json` writes.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct FindStats {
    /// Seconds the find took, measured by dsr.
    pub elapsed_s: f64,
    /// Peak resident memory of the process.
    pub peak_rss_bytes: u64,
    /// Rows found.
    pub rows: u64,
    /// Files read.
    pub files_scanned: u64,
    /// Row groups read.
    pub row_groups_scanned: u64,
    /// Row groups skipped (statistics, bloom filters).
    pub row_groups_pruned: u64,
}

/// What `dsr lake erase --stats-json` writes.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct EraseStats {
    /// Seconds the erase took, measured by dsr.
    pub elapsed_s: f64,
    /// Peak resident memory of the process.
    pub peak_rss_bytes: u64,
    /// Rows removed.
    pub removed: u64,
    /// Files rewritten.
    pub files_rewritten: u64,
}

/// What `scripts/bench_lake_duckdb.py` prints.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct DuckStats {
    /// Seconds, measured inside Python (start-up and import excluded).
    pub elapsed_s: f64,
    /// Peak resident memory of the Python process.
    pub peak_rss_bytes: u64,
    /// Rows found (find).
    #[serde(default)]
    pub rows: Option<u64>,
    /// Rows removed (erase).
    #[serde(default)]
    pub removed: Option<u64>,
    /// Files rewritten (erase).
    #[serde(default)]
    pub files_rewritten: Option<u64>,
}

/// Parses a stats JSON document; the error names `what` and says what is wrong.
pub fn parse_stats<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("malformed stats JSON in {what}: {e}"))
}

/// Reads and parses the stats file at `path`.
pub(super) fn read_stats<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("no stats JSON at {}", path.display()))?;
    parse_stats(&text, &path.display().to_string())
}

/// Find or erase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Find every row of the subjects.
    Find,
    /// Remove every row of the subjects.
    Erase,
}

impl Op {
    pub(super) fn name(self) -> &'static str {
        match self {
            Op::Find => "find",
            Op::Erase => "erase",
        }
    }
}

/// One side (dsr or DuckDB) of a cell, best of its runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    /// Best time.
    pub elapsed_s: f64,
    /// Highest peak resident memory.
    pub peak_rss_bytes: u64,
    /// Rows found (find) or removed (erase), as reported.
    pub count: u64,
    /// Files rewritten, as reported (erase).
    pub files_rewritten: Option<u64>,
    /// Files of the copy that changed or vanished (erase), as observed.
    pub observed_files_rewritten: Option<u64>,
    /// Rows gone from the copy's footers (erase), as observed.
    pub observed_removed: Option<u64>,
    /// Other figures the side reported (dsr find: files and row groups scanned, pruned).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The verdict on one cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// dsr time / DuckDB time.
    pub ratio: Option<f64>,
    /// Ratio below [`RATIO_TARGET`].
    pub ratio_met: Option<bool>,
    /// dsr peak memory below [`RSS_TARGET_BYTES`].
    pub rss_met: Option<bool>,
    /// Files an erase should rewrite: 1 for one subject, else as many as DuckDB rewrote
    /// (the files holding a match).
    pub files_target: Option<u64>,
    /// dsr rewrote exactly `files_target` files.
    pub files_met: Option<bool>,
    /// Disagreements between dsr, DuckDB and what the copies show.
    pub mismatches: Vec<String>,
}

/// Judges a cell of `k` subjects from its two sides.
pub fn evaluate(op: Op, k: usize, dsr: Option<&Side>, duck: Option<&Side>) -> Verdict {
    let mut v = Verdict::default();
    if let Some(d) = dsr {
        v.rss_met = Some(d.peak_rss_bytes < RSS_TARGET_BYTES);
        if let Some(o) = d.observed_removed
            && o != d.count
        {
            v.mismatches.push(format!(
                "dsr reports {} rows removed, the files lost {o}",
                d.count
            ));
        }
        if let (Some(r), Some(o)) = (d.files_rewritten, d.observed_files_rewritten)
            && r != o
        {
            v.mismatches.push(format!(
                "dsr reports {r} files rewritten, {o} files changed"
            ));
        }
    }
    if let (Some(d), Some(q)) = (dsr, duck) {
        if q.elapsed_s > 0.0 {
            let r = d.elapsed_s / q.elapsed_s;
            v.ratio = Some(r);
            v.ratio_met = Some(r < RATIO_TARGET);
        }
        if d.count != q.count {
            let what = match op {
                Op::Find => "rows found",
                Op::Erase => "rows removed",
            };
            v.mismatches
                .push(format!("{what}: dsr {}, DuckDB {}", d.count, q.count));
        }
    }
    if op == Op::Erase {
        v.files_target = if k == 1 {
            Some(1)
        } else {
            duck.and_then(|q| q.files_rewritten)
        };
        if let (Some(t), Some(f)) = (v.files_target, dsr.and_then(|d| d.files_rewritten)) {
            v.files_met = Some(f == t);
        }
    }
    v
}

/// One measured cell.
pub(super) struct Cell {
    pub(super) lake: String,
    pub(super) k: usize,
    pub(super) op: Op,
    pub(super) dsr: Result<Side, String>,
    pub(super) duck: Result<Side, String>,
    pub(super) verdict: Verdict,
}

/// The best of a cell's runs (lowest time, highest memory), or the first error.
pub(super) fn best(runs: Vec<Result<Side, String>>) -> Result<Side, String> {
    let mut out: Option<Side> = None;
    for r in runs {
        let s = r?;
        out = Some(match out {
            None => s,
            Some(b) => {
                let rss = b.peak_rss_bytes.max(s.peak_rss_bytes);
                let mut keep = if s.elapsed_s < b.elapsed_s { s } else { b };
                keep.peak_rss_bytes = rss;
                keep
            }
        });
    }
    out.ok_or_else(|| "no run".to_string())
}

fn mark(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "ok",
        Some(false) => "MISSED",
        None => "-",
    }
}

/// The human table: one line per cell, then the errors and mismatches.
pub(super) fn render_table(cells: &[Cell]) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<8} {:>5} {:<6} {:>9} {:>9} {:>13} {:>14} {:>11} {:>15}",
        "lake",
        "K",
        "op",
        "dsr s",
        "duckdb s",
        "dsr/duckdb",
        "dsr RSS MiB",
        "files rewr",
        "rows dsr/duckdb"
    );
    let mut notes = Vec::new();
    for c in cells {
        let secs = |s: &Result<Side, String>| match s {
            Ok(s) => format!("{:.3}", s.elapsed_s),
            Err(_) => "error".into(),
        };
        let v = &c.verdict;
        let ratio = v
            .ratio
            .map(|r| format!("{r:.2} {}", mark(v.ratio_met)))
            .unwrap_or_else(|| "-".into());
        let rss = c
            .dsr
            .as_ref()
            .map(|d| format!("{} {}", d.peak_rss_bytes >> 20, mark(v.rss_met)))
            .unwrap_or_else(|_| "-".into());
        let files = match (
            c.dsr.as_ref().ok().and_then(|d| d.files_rewritten),
            v.files_target,
        ) {
            (Some(f), Some(t)) => format!("{f}/{t} {}", mark(v.files_met)),
            (Some(f), None) => f.to_string(),
            _ => "-".into(),
        };
        let count = |s: &Result<Side, String>| {
            s.as_ref()
                .map(|s| s.count.to_string())
                .unwrap_or_else(|_| "?".into())
        };
        let _ = writeln!(
            t,
            "{:<8} {:>5} {:<6} {:>9} {:>9} {:>13} {:>14} {:>11} {:>15}",
            c.lake,
            c.k,
            c.op.name(),
            secs(&c.dsr),
            secs(&c.duck),
            ratio,
            rss,
            files,
            format!("{}/{}", count(&c.dsr), count(&c.duck))
        );
        let at = format!("{} K={} {}", c.lake, c.k, c.op.name());
        if let Err(e) = &c.dsr {
            notes.push(format!("ERROR {at} dsr: {e}"));
        }
        if let Err(e) = &c.duck {
            notes.push(format!("ERROR {at} DuckDB: {e}"));
        }
        for m in &v.mismatches {
            notes.push(format!("MISMATCH {at}: {m}"));
        }
    }
    let _ = writeln!(
        t,
        "targets: dsr/duckdb < {RATIO_TARGET}, dsr peak RSS < {} MiB, erase rewrites only the files holding a match (1 for K=1)",
        RSS_TARGET_BYTES >> 20
    );
    for n in notes {
        let _ = writeln!(t, "{n}");
    }
    t
}

fn side_json(s: &Result<Side, String>) -> serde_json::Value {
    match s {
        Err(e) => serde_json::json!({ "error": e }),
        Ok(s) => {
            let mut m = serde_json::Map::new();
            m.insert("elapsed_s".into(), s.elapsed_s.into());
            m.insert("peak_rss_bytes".into(), s.peak_rss_bytes.into());
            m.insert("count".into(), s.count.into());
            m.insert("files_rewritten".into(), s.files_rewritten.into());
            m.insert(
                "observed_files_rewritten".into(),
                s.observed_files_rewritten.into(),
            );
            m.insert("observed_removed".into(), s.observed_removed.into());
            m.extend(s.extra.clone());
            serde_json::Value::Object(m)
        }
    }
}

pub(super) fn to_json(a: &LakeBench, cells: &[Cell]) -> serde_json::Value {
    let cells: Vec<serde_json::Value> = cells
        .iter()
        .map(|c| {
            let v = &c.verdict;
            serde_json::json!({
                "lake": c.lake,
                "k": c.k,
                "op": c.op.name(),
                "dsr": side_json(&c.dsr),
                "duckdb": side_json(&c.duck),
                "ratio": v.ratio,
                "ratio_met": v.ratio_met,
                "rss_met": v.rss_met,
                "files_rewritten_target": v.files_target,
                "files_met": v.files_met,
                "mismatches": v.mismatches,
            })
        })
        .collect();
    serde_json::json!({
        "dir": a.dir.display().to_string(),
        "runs": a.runs,
        "targets": {
            "ratio_below": RATIO_TARGET,
            "peak_rss_below_bytes": RSS_TARGET_BYTES,
        },
        "cells": cells,
    })
}
