//! The demo's analytics lake: web events as Parquet files for the `analytics` store
//! (`events/*.parquet`). Rows carry an email, a customer id or both, so relations run both
//! ways between the lake and the CRM:
//!
//! * Ana's events: one under her email in other letter case (matched case-insensitively), one
//!   under her customer id alone (found through the id the CRM gives).
//! * Ben's events: two under his email, one under an old address the CRM does not know but
//!   with his customer id ([`BEN_OLD_EMAIL`]): a request naming only that address finds his
//!   CRM records through the lake. One event holds a card number inside the `checkout`
//!   struct — a sensitive nested field, withheld from every report.
//! * Every tenth filler customer has one event under its customer id.
//!
//! Pure: returns the files' bytes; the CLI writes them.

use crate::subjects::{ANA_EMAIL, ANA_ID, BEN_CARD_NUMBER, BEN_EMAIL, BEN_ID, FILLER_FIRST_ID};
use arrow_array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use std::sync::Arc;

/// An old address of Ben's that only the lake knows.
pub const BEN_OLD_EMAIL: &str = "ben.b.old@example.net";

/// Ben's events in the lake (by event id), all erased with him.
pub const BEN_EVENT_IDS: [i64; 3] = [20, 21, 22];

/// Ana's events.
pub const ANA_EVENT_IDS: [i64; 2] = [10, 11];

/// One event.
struct Event {
    id: i64,
    email: Option<String>,
    customer_id: Option<i64>,
    page: &'static str,
    ip: &'static str,
    card: Option<&'static str>,
    ts_micros: i64,
}

/// The schema of the events files.
pub fn schema() -> SchemaRef {
    let checkout = Fields::from(vec![
        Field::new("card_number", DataType::Utf8, true),
        Field::new("amount_cents", DataType::Int64, true),
    ]);
    let device = Fields::from(vec![Field::new("ip", DataType::Utf8, true)]);
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Int64, false),
        Field::new("email", DataType::Utf8, true),
        Field::new("customer_id", DataType::Int64, true),
        Field::new("page", DataType::Utf8, false),
        Field::new("device", DataType::Struct(device), true),
        Field::new("checkout", DataType::Struct(checkout), true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

// 2026-10-01T00:00:00Z.
const T0: i64 = 1_790_812_800_000_000;
const HOUR: i64 = 3_600_000_000;

fn events(filler: usize) -> Vec<Event> {
    let mut out = vec![
        Event {
            id: ANA_EVENT_IDS[0],
            email: Some(ANA_EMAIL.to_uppercase()),
            customer_id: None,
            page: "/account",
            ip: "203.0.113.11",
            card: None,
            ts_micros: T0 + HOUR,
        },
        Event {
            id: ANA_EVENT_IDS[1],
            email: None,
            customer_id: Some(ANA_ID),
            page: "/orders",
            ip: "203.0.113.11",
            card: None,
            ts_micros: T0 + 2 * HOUR,
        },
        Event {
            id: BEN_EVENT_IDS[0],
            email: Some(BEN_EMAIL.to_owned()),
            customer_id: Some(BEN_ID),
            page: "/checkout",
            ip: "198.51.100.7",
            card: Some(BEN_CARD_NUMBER),
            ts_micros: T0 + 3 * HOUR,
        },
        Event {
            id: BEN_EVENT_IDS[1],
            email: Some(BEN_EMAIL.to_owned()),
            customer_id: None,
            page: "/help",
            ip: "198.51.100.7",
            card: None,
            ts_micros: T0 + 4 * HOUR,
        },
        Event {
            id: BEN_EVENT_IDS[2],
            email: Some(BEN_OLD_EMAIL.to_owned()),
            customer_id: Some(BEN_ID),
            page: "/newsletter",
            ip: "198.51.100.8",
            card: None,
            ts_micros: T0 + 5 * HOUR,
        },
    ];
    for i in (0..filler).step_by(10) {
        let id = FILLER_FIRST_ID + i as i64;
        out.push(Event {
            id: 100_000 + id,
            email: None,
            customer_id: Some(id),
            page: "/",
            ip: "192.0.2.1",
            card: None,
            ts_micros: T0 + (i as i64) * HOUR,
        });
    }
    out
}

fn batch(events: &[Event]) -> Result<RecordBatch, ParquetError> {
    let schema = schema();
    let field = |i: usize| match schema.field(i).data_type() {
        DataType::Struct(f) => Ok(f.clone()),
        _ => Err(ParquetError::General("not a struct".into())),
    };
    let device = StructArray::try_new(
        field(4)?,
        vec![Arc::new(StringArray::from_iter(events.iter().map(|e| Some(e.ip)))) as ArrayRef],
        None,
    )?;
    let checkout = StructArray::try_new(
        field(5)?,
        vec![
            Arc::new(StringArray::from_iter(events.iter().map(|e| e.card))) as ArrayRef,
            Arc::new(Int64Array::from_iter(
                events.iter().map(|e| e.card.map(|_| 4_999)),
            )),
        ],
        None,
    )?;
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(events.iter().map(|e| e.id))),
            Arc::new(StringArray::from_iter(
                events.iter().map(|e| e.email.as_deref()),
            )),
            Arc::new(Int64Array::from_iter(events.iter().map(|e| e.customer_id))),
            Arc::new(StringArray::from_iter_values(events.iter().map(|e| e.page))),
            Arc::new(device),
            Arc::new(checkout),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(events.iter().map(|e| e.ts_micros))
                    .with_timezone("UTC"),
            ),
        ],
    )?)
}

/// The lake's files for a demo estate with `filler` filler customers: (object name, bytes).
/// The special subjects' events are in `events/part-0.parquet`, the fillers' in
/// `events/part-1.parquet`.
pub fn web_events(filler: usize) -> Result<Vec<(String, Vec<u8>)>, ParquetError> {
    let all = events(filler);
    let (special, rest): (Vec<Event>, Vec<Event>) = all.into_iter().partition(|e| e.id < 1000);
    let mut out = Vec::new();
    for (i, part) in [special, rest].iter().enumerate() {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_max_row_group_row_count(Some(64))
            .build();
        let mut bytes = Vec::new();
        let mut w = ArrowWriter::try_new(&mut bytes, schema(), Some(props))?;
        w.write(&batch(part)?)?;
        w.close()?;
        out.push((format!("events/part-{i}.parquet"), bytes));
    }
    Ok(out)
}
