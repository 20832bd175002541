//! `dsr fixtures lake`: generates a local Parquet lake, its subject lists and its marker.

use anyhow::{Context, Result, bail};
use dsr_fixtures::lake::{self, LakeSpec, LakeSummary};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Options of `dsr fixtures lake`.
#[derive(clap::Args)]
pub struct LakeFixtures {
    /// Rows in the lake.
    #[arg(long)]
    pub rows: u64,
    /// Files (rows split evenly, in id order).
    #[arg(long, default_value_t = 1)]
    pub files: usize,
    /// Directory to write `part-NNNNN.parquet` into (`s3://…` is not supported yet). Stale
    /// `part-*.parquet` files there are removed first.
    #[arg(long)]
    pub out: String,
    /// Rows per row group.
    #[arg(long, default_value_t = lake::DEFAULT_ROW_GROUP_ROWS)]
    pub row_group_rows: usize,
    /// Seed: the same rows and seed give the same rows whatever the number of files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Subject emails to write to `<subjects-out>/subjects.txt`.
    #[arg(long, default_value_t = 1_000)]
    pub subjects: usize,
    /// No bloom filter on the email column.
    #[arg(long)]
    pub no_bloom: bool,
    /// Directory for `subjects.txt`, `<name>.single-subject.txt` and the `<name>.lake.json`
    /// marker, where `<name>` is the last component of `--out` (kept outside the lake).
    #[arg(long, default_value = "var/bench/lake")]
    pub subjects_out: PathBuf,
    /// Do nothing but rewrite the subject lists when the marker records this very spec and
    /// every file exists.
    #[arg(long)]
    pub keep_existing: bool,
}

/// The marker `dsr fixtures lake` writes once a lake is complete.
fn marker(spec: &LakeSpec, out: &str, summary: &LakeSummary) -> serde_json::Value {
    serde_json::json!({
        "fixture": lake::FIXTURE_VERSION,
        "out": out,
        "rows": spec.rows,
        "files": spec.files,
        "row_group_rows": spec.row_group_rows,
        "seed": spec.seed,
        "bloom_filters": spec.bloom_filters,
        "single_file_subject": summary.single_file_subject,
    })
}

/// `dsr fixtures lake`: generates the lake, then writes the subject lists and the marker.
pub async fn fixtures_lake(a: &LakeFixtures) -> Result<()> {
    if a.out.starts_with("s3://") {
        bail!(
            "{}: S3 lakes are not yet supported by `dsr fixtures lake`; give a local directory",
            a.out
        );
    }
    let spec = LakeSpec {
        rows: a.rows,
        files: a.files,
        row_group_rows: a.row_group_rows,
        seed: a.seed,
        bloom_filters: !a.no_bloom,
        subjects: a.subjects,
    };
    let out = Path::new(&a.out);
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: needs a directory name", a.out))?;
    let marker_path = a.subjects_out.join(format!("{name}.lake.json"));
    if out == a.subjects_out {
        bail!("--out and --subjects-out must differ");
    }
    let summary = lake::summary(&object_store::path::Path::from(""), &spec)?;
    let want = marker(&spec, &a.out, &summary);
    let kept = a.keep_existing
        && std::fs::read_to_string(&marker_path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|m| m == want)
        && summary.files.iter().all(|f| out.join(f).is_file());
    if kept {
        println!(
            "lake {}: already generated ({} rows, {} file(s)); kept",
            a.out, a.rows, a.files
        );
    } else {
        let _ = std::fs::remove_file(&marker_path);
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", a.out))?;
        remove_stale_parts(out)?;
        let t = Instant::now();
        let store: Arc<dyn ObjectStore> = Arc::new(
            LocalFileSystem::new_with_prefix(out).with_context(|| format!("opening {}", a.out))?,
        );
        let written = lake::generate(store, &object_store::path::Path::from(""), &spec).await?;
        let bytes: u64 = written
            .files
            .iter()
            .filter_map(|f| std::fs::metadata(out.join(f)).ok())
            .map(|m| m.len())
            .sum();
        println!(
            "lake {}: {} rows in {} file(s), {} MiB ({:.1}s)",
            a.out,
            written.rows,
            written.files.len(),
            bytes >> 20,
            t.elapsed().as_secs_f64()
        );
    }
    std::fs::create_dir_all(&a.subjects_out)
        .with_context(|| format!("creating {}", a.subjects_out.display()))?;
    let subjects = a.subjects_out.join("subjects.txt");
    write_lines(&subjects, &summary.subjects)?;
    let single = a.subjects_out.join(format!("{name}.single-subject.txt"));
    write_lines(&single, summary.single_file_subject.as_slice())?;
    if !kept {
        std::fs::write(&marker_path, serde_json::to_string_pretty(&want)? + "\n")
            .with_context(|| format!("writing {}", marker_path.display()))?;
    }
    println!(
        "subjects: {} in {}; single-file subject in {}",
        summary.subjects.len(),
        subjects.display(),
        single.display()
    );
    Ok(())
}

/// Writes `lines`, one per line.
pub(super) fn write_lines(path: &Path, lines: &[String]) -> Result<()> {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Removes `part-*.parquet` left in `dir` by an earlier lake (perhaps of more files).
fn remove_stale_parts(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        let stale = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("part-") && n.ends_with(".parquet"));
        if stale {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(())
}
