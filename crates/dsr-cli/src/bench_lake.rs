//! `dsr fixtures lake` and `dsr bench lake`: a generated Parquet data lake, and `dsr lake`'s
//! find and erase measured against DuckDB doing the same — figures, not a test.
//!
//! Layout under `--dir` (default `var/bench/lake`), as `make fixtures-lake` makes it:
//!
//! ```text
//! var/bench/lake/one/part-00000.parquet          10M rows in one file
//! var/bench/lake/hundred/part-000NN.parquet      the same rows (same seed) in 100 files
//! var/bench/lake/subjects.txt                    sampled subject emails, one per line
//! var/bench/lake/{one,hundred}.single-subject.txt  a subject whose rows are all in one file
//!                                                of that lake (the K=1 subject: `hundred`'s)
//! var/bench/lake/{one,hundred}.lake.json         what was generated (the "done" marker)
//! ```
//!
//! The subject lists and markers sit beside the lakes, never inside them, so a lake is only
//! its `*.parquet` files whatever glob reads it.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

mod fixtures;
mod report;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

use fixtures::write_lines;
pub use fixtures::{LakeFixtures, fixtures_lake};
use report::{
    Cell, DuckStats, EraseStats, FindStats, Op, Side, best, evaluate, parse_stats, read_stats,
    render_table, to_json,
};

/// Options of `dsr bench lake`.
#[derive(clap::Args)]
pub struct LakeBench {
    /// Directory of the lakes (`one/`, `hundred/`) and subject lists (`make fixtures-lake`).
    #[arg(long, default_value = "var/bench/lake")]
    pub dir: PathBuf,
    /// Print one JSON document on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Runs per cell; the best time and the highest peak memory are reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Python with the duckdb package (default: what `scripts/duckdb.sh` prints).
    #[arg(long, env = "DSR_DUCKDB_PYTHON")]
    pub duckdb_python: Option<PathBuf>,
    /// DuckDB's side of the benchmark.
    #[arg(long, default_value = "scripts/bench_lake_duckdb.py")]
    pub duckdb_script: PathBuf,
    /// The dsr executable whose `lake find` / `lake erase` is measured (default: this one).
    #[arg(long)]
    pub dsr: Option<PathBuf>,
    /// Scratch directory for the copies erase works on (default `<dir>/scratch`; removed at
    /// the end).
    #[arg(long)]
    pub scratch: Option<PathBuf>,
}

/// `dsr bench lake`.
pub fn bench_lake(a: &LakeBench) -> Result<ExitCode> {
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let lakes: Vec<(String, PathBuf)> = ["one", "hundred"]
        .iter()
        .map(|n| (n.to_string(), a.dir.join(n)))
        .collect();
    for (_, d) in &lakes {
        if parquet_files(d).map(|f| f.is_empty()).unwrap_or(true) {
            bail!(
                "no lake at {} (run `make fixtures-lake` first)",
                d.display()
            );
        }
    }
    let scratch = a.scratch.clone().unwrap_or_else(|| a.dir.join("scratch"));
    let _cleanup = RemoveOnDrop(scratch.clone());
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let subject_files = [
        // One subject whose rows all lie in one file of the 100-file lake (so of both lakes).
        (
            1,
            subject_list(&a.dir.join("hundred.single-subject.txt"), 1, &scratch)?,
        ),
        (
            1_000,
            subject_list(&a.dir.join("subjects.txt"), 1_000, &scratch)?,
        ),
    ];
    let python = duckdb_python(a);
    let exe = match &a.dsr {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("locating the dsr executable")?,
    };
    let mut cells = Vec::new();
    for (name, dir) in &lakes {
        for (k, subjects) in &subject_files {
            for op in [Op::Find, Op::Erase] {
                eprintln!("bench lake: {name} K={k} {}", op.name());
                let mut dsr = Vec::new();
                let mut duck = Vec::new();
                for run in 0..a.runs {
                    dsr.push(run_dsr(&exe, op, dir, subjects, &scratch, run));
                    duck.push(match &python {
                        Ok(py) => run_duckdb(py, &a.duckdb_script, op, dir, subjects, &scratch),
                        Err(e) => Err(e.clone()),
                    });
                }
                let dsr = best(dsr);
                let duck = best(duck);
                let verdict = evaluate(op, *k, dsr.as_ref().ok(), duck.as_ref().ok());
                cells.push(Cell {
                    lake: name.clone(),
                    k: *k,
                    op,
                    dsr,
                    duck,
                    verdict,
                });
            }
        }
    }
    let table = render_table(&cells);
    if a.json {
        eprint!("{table}");
        println!("{}", serde_json::to_string_pretty(&to_json(a, &cells))?);
    } else {
        print!("{table}");
    }
    let mismatches: usize = cells.iter().map(|c| c.verdict.mismatches.len()).sum();
    let errors = cells
        .iter()
        .filter(|c| c.dsr.is_err() || c.duck.is_err())
        .count();
    if mismatches > 0 || errors > 0 {
        bail!("{mismatches} mismatch(es), {errors} cell(s) with errors (see above)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes a directory tree when dropped (best effort).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first `k` subjects of `src`, written to a file in `scratch`.
fn subject_list(src: &Path, k: usize, scratch: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string(src)
        .with_context(|| format!("reading {} (run `make fixtures-lake` first)", src.display()))?;
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(k)
        .map(String::from)
        .collect();
    if lines.len() < k {
        bail!("{}: {} subjects, need {k}", src.display(), lines.len());
    }
    let out = scratch.join(format!("subjects-{k}.txt"));
    write_lines(&out, &lines)?;
    Ok(out)
}

/// The Python to run DuckDB with: the option, or what `scripts/duckdb.sh` prints.
fn duckdb_python(a: &LakeBench) -> Result<PathBuf, String> {
    if let Some(p) = &a.duckdb_python {
        return Ok(p.clone());
    }
    let out = Command::new("scripts/duckdb.sh")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            format!("running scripts/duckdb.sh (run from the repository root, or set DSR_DUCKDB_PYTHON): {e}")
        })?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || path.is_empty() {
        return Err(format!("scripts/duckdb.sh failed ({})", out.status));
    }
    Ok(PathBuf::from(path))
}

/// Runs `dsr lake <op>` once (erase on a fresh copy of the lake).
fn run_dsr(
    exe: &Path,
    op: Op,
    lake: &Path,
    subjects: &Path,
    scratch: &Path,
    run: usize,
) -> Result<Side, String> {
    let stats = scratch.join(format!("dsr-{}-{run}.json", op.name()));
    let _ = std::fs::remove_file(&stats);
    let copy = scratch.join("dsr-lake");
    let (target, before) = target_for(op, lake, &copy)?;
    let out = Command::new(exe)
        .arg("lake")
        .arg(op.name())
        .arg("--lake")
        .arg(&target)
        .args(["--column", "email", "--subjects"])
        .arg(subjects)
        // The generated emails are stored lower-case, as DuckDB's exact `IN` assumes; dsr is
        // told so, which lets it prune by statistics and bloom filters.
        .args(["--normalized", "--threads", "2", "--stats-json"])
        .arg(&stats)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("spawning {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`dsr lake {}` failed ({}): {}",
            op.name(),
            out.status,
            error_line(&String::from_utf8_lossy(&out.stderr))
        ));
    }
    let side = match op {
        Op::Find => {
            let s: FindStats = read_stats(&stats).map_err(|e| format!("{e:#}"))?;
            let mut extra = serde_json::Map::new();
            extra.insert("files_scanned".into(), s.files_scanned.into());
            extra.insert("row_groups_scanned".into(), s.row_groups_scanned.into());
            extra.insert("row_groups_pruned".into(), s.row_groups_pruned.into());
            Side {
                elapsed_s: s.elapsed_s,
                peak_rss_bytes: s.peak_rss_bytes,
                count: s.rows,
                extra,
                ..Side::default()
            }
        }
        Op::Erase => {
            let s: EraseStats = read_stats(&stats).map_err(|e| format!("{e:#}"))?;
            let mut side = Side {
                elapsed_s: s.elapsed_s,
                peak_rss_bytes: s.peak_rss_bytes,
                count: s.removed,
                files_rewritten: Some(s.files_rewritten),
                ..Side::default()
            };
            observe(&mut side, before.as_ref(), &target)?;
            side
        }
    };
    let _ = std::fs::remove_dir_all(&copy);
    Ok(side)
}

/// Runs DuckDB's side once (erase on a fresh copy of the lake).
fn run_duckdb(
    python: &Path,
    script: &Path,
    op: Op,
    lake: &Path,
    subjects: &Path,
    scratch: &Path,
) -> Result<Side, String> {
    let copy = scratch.join("duckdb-lake");
    let (target, before) = target_for(op, lake, &copy)?;
    let out = Command::new(python)
        .arg(script)
        .arg(op.name())
        .arg("--lake")
        .arg(&target)
        .arg("--subjects")
        .arg(subjects)
        .args(["--threads", "2"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("spawning {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "DuckDB {} failed ({}): {}",
            op.name(),
            out.status,
            error_line(&String::from_utf8_lossy(&out.stderr))
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let s: DuckStats =
        parse_stats(line, &script.display().to_string()).map_err(|e| format!("{e:#}"))?;
    let mut side = Side {
        elapsed_s: s.elapsed_s,
        peak_rss_bytes: s.peak_rss_bytes,
        count: match op {
            Op::Find => s.rows,
            Op::Erase => s.removed,
        }
        .ok_or_else(|| format!("{}: no row count in {line}", script.display()))?,
        files_rewritten: s.files_rewritten,
        ..Side::default()
    };
    if op == Op::Erase {
        observe(&mut side, before.as_ref(), &target)?;
    }
    let _ = std::fs::remove_dir_all(&copy);
    Ok(side)
}

/// The line of a failed command's stderr worth showing.
fn error_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .find(|l| l.starts_with("error"))
        .or(lines.last())
        .copied()
        .unwrap_or("(no output)");
    line.chars().take(300).collect()
}

/// The `*.parquet` files of `dir`, sorted.
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "parquet") && p.is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// `dst` replaced by a copy of the regular files of `src` (not timed).
/// Where an operation runs: the lake itself for a find; for an erase a fresh copy at `copy`,
/// with a snapshot of it taken before.
fn target_for(op: Op, lake: &Path, copy: &Path) -> Result<(PathBuf, Option<Snapshot>), String> {
    let target = match op {
        Op::Find => lake.to_path_buf(),
        Op::Erase => {
            fresh_copy(lake, copy).map_err(|e| format!("{e:#}"))?;
            copy.to_path_buf()
        }
    };
    let before = (op == Op::Erase)
        .then(|| snapshot(&target))
        .transpose()
        .map_err(|e| format!("{e:#}"))?;
    Ok((target, before))
}

fn fresh_copy(src: &Path, dst: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dst);
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    for e in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let e = e?;
        if e.file_type()?.is_file() {
            std::fs::copy(e.path(), dst.join(e.file_name()))
                .with_context(|| format!("copying {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// Per file of a lake: (inode, length, modification time, rows in the footer).
type Snapshot = std::collections::BTreeMap<PathBuf, (u64, u64, std::time::SystemTime, u64)>;

fn snapshot(dir: &Path) -> Result<Snapshot> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Snapshot::new();
    for p in parquet_files(dir)? {
        let m = std::fs::metadata(&p)?;
        let f = std::fs::File::open(&p)?;
        let reader = parquet::file::serialized_reader::SerializedFileReader::new(f)
            .with_context(|| format!("reading the footer of {}", p.display()))?;
        use parquet::file::reader::FileReader;
        let rows = reader.metadata().file_metadata().num_rows().max(0) as u64;
        out.insert(p, (m.ino(), m.len(), m.modified()?, rows));
    }
    Ok(out)
}

/// Fills the observed figures of an erase from the lake before and after.
fn observe(side: &mut Side, before: Option<&Snapshot>, dir: &Path) -> Result<(), String> {
    let Some(before) = before else {
        return Ok(());
    };
    let after = snapshot(dir).map_err(|e| format!("after the erase: {e:#}"))?;
    let changed = before
        .iter()
        .filter(|(p, b)| {
            after
                .get(*p)
                .is_none_or(|a| a.0 != b.0 || a.1 != b.1 || a.2 != b.2)
        })
        .count() as u64;
    let rows = |s: &Snapshot| s.values().map(|v| v.3).sum::<u64>();
    side.observed_files_rewritten = Some(changed);
    side.observed_removed = Some(rows(before).saturating_sub(rows(&after)));
    Ok(())
}
