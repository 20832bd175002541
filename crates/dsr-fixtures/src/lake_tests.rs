//! Tests of the Parquet lake generator: layout, file properties, determinism.

use crate::lake::{self, LakeSpec, LakeSummary, Layout, Permutation};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::ReaderProperties;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::{ReadOptionsBuilder, SerializedFileReader};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

async fn generate_into(dir: &std::path::Path, spec: &LakeSpec) -> LakeSummary {
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(dir).unwrap());
    lake::generate(store, &Path::from(""), spec).await.unwrap()
}

fn batches(file: &std::path::Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(file).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn emails(batches: &[RecordBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name("email").unwrap().as_string::<i32>();
            (0..c.len())
                .map(|i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn permutation_is_a_bijection_with_an_inverse() {
    for n in (1..70).chain([1_000, 4_097, 100_003]) {
        let p = Permutation::new(n, 7);
        let mut seen = vec![false; n as usize];
        for i in 0..n {
            let x = p.forward(i);
            assert!(x < n, "n={n} i={i}");
            assert!(!seen[x as usize], "n={n}: {x} twice");
            seen[x as usize] = true;
            assert_eq!(p.inverse(x), i, "n={n}");
        }
    }
    // Not the identity, and seeded.
    let (a, b) = (Permutation::new(1_000, 1), Permutation::new(1_000, 2));
    assert!((0..1_000).filter(|&i| a.forward(i) == i).count() < 20);
    assert!((0..1_000).filter(|&i| a.forward(i) != b.forward(i)).count() > 900);
}

#[test]
fn about_one_subject_in_ten_has_two_or_three_rows() {
    let rows = 100_000;
    let layout = Layout::new(rows, 3);
    let mut per_subject: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for i in 0..rows {
        per_subject.entry(layout.subject_of(i)).or_default().push(i);
    }
    assert_eq!(per_subject.len() as u64, layout.subject_count());
    assert_eq!(
        *per_subject.keys().last().unwrap() + 1,
        layout.subject_count()
    );
    let multi = per_subject.values().filter(|r| r.len() > 1).count();
    assert!(per_subject.values().all(|r| (1..=3).contains(&r.len())));
    let share = multi as f64 / per_subject.len() as f64;
    assert!((0.09..0.11).contains(&share), "{share}");
    for (s, r) in &per_subject {
        let mut got = layout.rows_of(*s);
        got.sort_unstable();
        assert_eq!(&got, r, "subject {s}");
    }
    // Repeats are scattered, not adjacent.
    let spread: Vec<u64> = per_subject
        .values()
        .filter(|r| r.len() > 1)
        .map(|r| r[r.len() - 1] - r[0])
        .collect();
    let mean = spread.iter().sum::<u64>() / spread.len() as u64;
    assert!(mean > rows / 10, "{mean}");
}

#[test]
fn invalid_specs_are_errors() {
    let bad = [
        LakeSpec {
            files: 0,
            ..LakeSpec::default()
        },
        LakeSpec {
            row_group_rows: 0,
            ..LakeSpec::default()
        },
    ];
    for spec in bad {
        let e = lake::summary(&Path::from("x"), &spec).unwrap_err();
        assert!(e.to_string().starts_with("invalid lake spec"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_file_lake_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let spec = LakeSpec {
        rows: 300_000,
        files: 3,
        row_group_rows: 30_000,
        seed: 11,
        bloom_filters: true,
        subjects: 50,
    };
    let summary = generate_into(dir.path(), &spec).await;
    assert_eq!(summary.rows, 300_000);
    assert_eq!(
        summary.files,
        [
            "part-00000.parquet",
            "part-00001.parquet",
            "part-00002.parquet"
        ]
    );
    assert_eq!(summary.subjects.len(), 50);
    assert_eq!(summary, lake::summary(&Path::from(""), &spec).unwrap());

    let mut total = 0;
    let mut ids = BTreeSet::new();
    let mut by_file: Vec<Vec<String>> = Vec::new();
    for name in &summary.files {
        let file = dir.path().join(name);
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap()).unwrap();
        let md = builder.metadata().clone();
        // 100,000 rows at 30,000 per row group.
        assert_eq!(md.file_metadata().num_rows(), 100_000);
        let sizes: Vec<i64> = md.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(sizes, [30_000, 30_000, 30_000, 10_000], "{name}");
        for g in md.row_groups() {
            for c in g.columns() {
                assert!(
                    matches!(c.compression(), Compression::ZSTD(_)),
                    "{name} {}",
                    c.column_path()
                );
            }
            // Page-level statistics: a column index and an offset index.
            assert!(g.column(1).column_index_offset().is_some());
            assert!(g.column(1).offset_index_offset().is_some());
        }
        let kv = md.file_metadata().key_value_metadata().unwrap();
        assert!(
            kv.iter()
                .any(|e| e.key == "dsr.fixture" && e.value.as_deref() == Some("lake-v1")),
            "{kv:?}"
        );
        let b = batches(&file);
        total += b.iter().map(RecordBatch::num_rows).sum::<usize>();
        for batch in &b {
            let c = batch
                .column_by_name("id")
                .unwrap()
                .as_primitive::<arrow_array::types::Int64Type>();
            ids.extend(c.values().iter().copied());
        }
        let e = emails(&b);
        assert!(e.iter().all(|x| *x == x.to_lowercase() && x.contains('@')));
        // Random order: far from sorted.
        let ascending = e.windows(2).filter(|w| w[0] <= w[1]).count();
        assert!(ascending < e.len() * 6 / 10, "{ascending}");

        // The bloom filter on email knows this file's emails.
        let opts = ReadOptionsBuilder::new()
            .with_reader_properties(
                ReaderProperties::builder()
                    .set_read_bloom_filter(true)
                    .build(),
            )
            .build();
        let reader =
            SerializedFileReader::new_with_options(std::fs::File::open(&file).unwrap(), opts)
                .unwrap();
        let g = reader.get_row_group(0).unwrap();
        let sbbf = g.get_column_bloom_filter(1).expect("bloom filter on email");
        let first_group = &e[..30_000];
        assert!(first_group.iter().all(|x| sbbf.check(x.as_str())));
        assert!(
            g.get_column_bloom_filter(0).is_none(),
            "no bloom filter on id"
        );
        by_file.push(e);
    }
    assert_eq!(total, 300_000);
    assert_eq!(ids, (0..300_000).collect());

    // Every sampled subject is present; the single-file subject's rows are in one file.
    let all: BTreeSet<&String> = by_file.iter().flatten().collect();
    for s in &summary.subjects {
        assert!(all.contains(s), "{s}");
    }
    assert_eq!(summary.subjects.iter().collect::<BTreeSet<_>>().len(), 50);
    let single = summary.single_file_subject.unwrap();
    let files_with: Vec<usize> = by_file
        .iter()
        .enumerate()
        .filter(|(_, e)| e.contains(&single))
        .map(|(f, _)| f)
        .collect();
    assert_eq!(files_with.len(), 1, "{single}");
    let count = by_file[files_with[0]]
        .iter()
        .filter(|e| **e == single)
        .count();
    assert!(count > 1, "prefers a subject with several rows: {count}");
    // About one subject in ten has more than one row.
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for e in by_file.iter().flatten() {
        *counts.entry(e).or_default() += 1;
    }
    let multi = counts.values().filter(|&&c| c > 1).count() as f64 / counts.len() as f64;
    assert!((0.09..0.11).contains(&multi), "{multi}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_bytes_and_same_rows_whatever_the_split() {
    let spec = LakeSpec {
        rows: 20_000,
        files: 2,
        row_group_rows: 4_096,
        seed: 5,
        bloom_filters: true,
        subjects: 10,
    };
    let (a, b, c, one) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let sa = generate_into(a.path(), &spec).await;
    let sb = generate_into(b.path(), &spec).await;
    let other = LakeSpec {
        seed: 6,
        ..spec.clone()
    };
    let sc = generate_into(c.path(), &other).await;
    let read = |d: &tempfile::TempDir| std::fs::read(d.path().join("part-00000.parquet")).unwrap();
    assert_eq!(read(&a), read(&b));
    assert_ne!(read(&a), read(&c));
    assert_eq!(sa, sb);
    assert_ne!(sa.subjects, sc.subjects);

    // One file of the same rows and seed: the same rows in the same order, and the same
    // sampled subjects.
    let whole = LakeSpec {
        files: 1,
        ..spec.clone()
    };
    let sw = generate_into(one.path(), &whole).await;
    assert_eq!(sw.subjects, sa.subjects);
    let split: Vec<RecordBatch> = sa
        .files
        .iter()
        .flat_map(|f| batches(&a.path().join(f)))
        .collect();
    let joined = batches(&one.path().join("part-00000.parquet"));
    let schema = lake::schema();
    let concat = |b: &[RecordBatch]| rows_text(&schema, b);
    assert_eq!(concat(&split), concat(&joined));
}

/// Every row of `batches` as text (the debug text of each cell, which is enough to compare
/// these types).
fn rows_text(schema: &arrow_schema::SchemaRef, batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        assert_eq!(b.schema().fields(), schema.fields());
        for row in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| format!("{:?}", c.slice(row, 1)))
                .collect();
            out.push(cells.join("|"));
        }
    }
    out
}

#[tokio::test]
async fn no_bloom_filter_when_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let spec = LakeSpec {
        rows: 1_000,
        files: 1,
        bloom_filters: false,
        subjects: 3,
        ..LakeSpec::default()
    };
    generate_into(dir.path(), &spec).await;
    let opts = ReadOptionsBuilder::new()
        .with_reader_properties(
            ReaderProperties::builder()
                .set_read_bloom_filter(true)
                .build(),
        )
        .build();
    let f = std::fs::File::open(dir.path().join("part-00000.parquet")).unwrap();
    let reader = SerializedFileReader::new_with_options(f, opts).unwrap();
    assert!(
        reader
            .get_row_group(0)
            .unwrap()
            .get_column_bloom_filter(1)
            .is_none()
    );
}
