//! Small lakes for tests (this crate's and the end-to-end ones): a schema with a struct
//! holding a sensitive field (`address.tax_id`) and a list, written with zstd, small row
//! groups and optionally a bloom filter on `email`.

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, StructArray};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::path::Path;
use std::sync::Arc;

/// Errors of the test helpers.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// One row of a test lake.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Unique id.
    pub id: i64,
    /// Identity.
    pub email: String,
    /// Name.
    pub name: String,
    /// A sensitive column.
    pub ssn: String,
    /// `address.city`.
    pub city: String,
    /// `address.tax_id`: a sensitive nested field.
    pub tax_id: String,
    /// Amount.
    pub amount: f64,
    /// `tags`: a list.
    pub tags: Vec<String>,
}

/// A row with values derived from `id`.
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

/// The schema of the test lakes.
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

/// `rows` as one record batch.
pub fn batch(rows: &[Row]) -> Result<RecordBatch> {
    let schema = schema();
    let DataType::Struct(address_fields) = schema.field(4).data_type().clone() else {
        return Err("address is not a struct".into());
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
    Ok(RecordBatch::try_new(
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
    )?)
}

/// Writes `rows` as one zstd Parquet file with row groups of `group_rows` and a bloom filter on
/// `email` when asked.
pub fn write_file(path: &Path, rows: &[Row], group_rows: usize, bloom: bool) -> Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_row_count(Some(group_rows))
        .set_column_bloom_filter_enabled("email".into(), bloom)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "origin".into(),
            "test".to_owned(),
        )]))
        .build();
    let file = std::fs::File::create(path)?;
    let mut w = ArrowWriter::try_new(file, schema(), Some(props))?;
    w.write(&batch(rows)?)?;
    w.close()?;
    Ok(())
}

/// Every row of a local Parquet file as (id, email).
pub fn read_ids(path: &Path) -> Result<Vec<(i64, String)>> {
    read_ids_from(std::fs::File::open(path)?)
}

/// Every row of Parquet bytes (a local file or downloaded object) as (id, email).
pub fn read_ids_from<R: parquet::file::reader::ChunkReader + 'static>(
    reader: R,
) -> Result<Vec<(i64, String)>> {
    let r =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader)?.build()?;
    let mut out = Vec::new();
    for b in r {
        let b = b?;
        let ids = b
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("id is not Int64")?;
        let emails = b
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or("email is not Utf8")?;
        for i in 0..b.num_rows() {
            out.push((ids.value(i), emails.value(i).to_owned()));
        }
    }
    Ok(out)
}

/// The standard three-file lake: 300 rows per file, groups of 100, emails `user{n}@example.com`
/// with a few mixed-case and padded variants of subject 7 and 8.
pub fn three_files(dir: &Path, bloom: bool) -> Result<Vec<Row>> {
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
        )?;
        all.extend(rows);
    }
    Ok(all)
}
