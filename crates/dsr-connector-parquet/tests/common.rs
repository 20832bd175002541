//! Small lakes for the tests: a schema with a struct holding a sensitive field and a list.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, StructArray};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::path::Path;
use std::sync::Arc;

/// One row of a test lake.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub ssn: String,
    pub city: String,
    pub tax_id: String,
    pub amount: f64,
    pub tags: Vec<String>,
}

pub fn row(id: i64, email: &str) -> Row {
    Row {
        id,
        email: email.to_owned(),
        name: format!("Name {id}"),
        ssn: format!("{:03}-00-{:04}", id % 1000, id % 10000),
        city: format!("City {}", id % 7),
        tax_id: format!("TX{id:06}"),
        amount: id as f64 * 1.5,
        tags: (0..(id % 3)).map(|t| format!("t{t}")).collect(),
    }
}

pub fn schema() -> Arc<Schema> {
    let address = Fields::from(vec![
        Field::new("city", DataType::Utf8, false),
        Field::new("tax_id", DataType::Utf8, false),
    ]);
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("email", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("ssn", DataType::Utf8, false),
        Field::new("address", DataType::Struct(address), false),
        Field::new("amount", DataType::Float64, false),
        Field::new(
            "tags",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
    ]))
}

pub fn batch(rows: &[Row]) -> RecordBatch {
    let schema = schema();
    let DataType::Struct(address_fields) = schema.field(4).data_type().clone() else {
        unreachable!()
    };
    let address = StructArray::new(
        address_fields,
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.city.clone()),
            )) as ArrayRef,
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.tax_id.clone()),
            )),
        ],
        None,
    );
    let mut tags = ListBuilder::new(StringBuilder::new());
    for r in rows {
        for t in &r.tags {
            tags.values().append_value(t);
        }
        tags.append(true);
    }
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.email.clone()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.name.clone()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.ssn.clone()),
            )),
            Arc::new(address),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.amount),
            )),
            Arc::new(tags.finish()),
        ],
    )
    .unwrap()
}

/// Writes `rows` as one zstd Parquet file with row groups of `group_rows` and a bloom filter on
/// `email` when asked.
pub fn write_file(path: &Path, rows: &[Row], group_rows: usize, bloom: bool) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap()))
        .set_max_row_group_row_count(Some(group_rows))
        .set_column_bloom_filter_enabled("email".into(), bloom)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "origin".into(),
            "test".to_owned(),
        )]))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, schema(), Some(props)).unwrap();
    w.write(&batch(rows)).unwrap();
    w.close().unwrap();
}

/// Every row of a local Parquet file as (id, email).
pub fn read_ids(path: &Path) -> Vec<(i64, String)> {
    let f = std::fs::File::open(path).unwrap();
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for b in r {
        let b = b.unwrap();
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let emails = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            out.push((ids.value(i), emails.value(i).to_owned()));
        }
    }
    out
}

/// The standard three-file lake: 300 rows per file, groups of 100, emails `user{n}@example.com`
/// with a few mixed-case and padded variants of subject 7 and 8.
pub fn three_files(dir: &Path, bloom: bool) -> Vec<Row> {
    let mut all = Vec::new();
    for f in 0..3 {
        let rows: Vec<Row> = (0..300)
            .map(|i| {
                let id = f * 1000 + i;
                row(id, &format!("user{}@example.com", (id * 7) % 500))
            })
            .collect();
        write_file(
            &dir.join(format!("events/part-{f}.parquet")),
            &rows,
            100,
            bloom,
        );
        all.extend(rows);
    }
    all
}
