//! Arrow cells as dsr [`Value`]s, and column paths into nested data.
//!
//! A column path names a top-level column (`email`) or a field inside structs
//! (`address.tax_id`). Scalars become scalars (timestamps and dates as ISO text, decimals as
//! text); structs, lists and maps become JSON text, from which any field named in `withheld`
//! is replaced by `"[withheld]"`, so a sensitive field nested inside a struct is withheld like
//! a top-level one.

use arrow_array::{Array, ArrayRef, RecordBatch, StructArray, cast::AsArray, types};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use dsr_core::value::Value;

/// Which columns a find returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Columns {
    /// Every leaf path of the schema ([`leaf_paths`]).
    All,
    /// These paths.
    Paths(Vec<String>),
}

/// Marker that replaces a withheld nested value.
pub const WITHHELD: &str = "[withheld]";

/// Every path a find can report: top-level columns, struct fields (recursively, dotted);
/// lists and maps are one path each.
pub fn leaf_paths(fields: &Fields) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(prefix: &str, f: &Field, out: &mut Vec<String>) {
        let path = if prefix.is_empty() {
            f.name().clone()
        } else {
            format!("{prefix}.{}", f.name())
        };
        match f.data_type() {
            DataType::Struct(children) => {
                for c in children {
                    walk(&path, c, out);
                }
            }
            _ => out.push(path),
        }
    }
    for f in fields {
        walk("", f, &mut out);
    }
    out
}

/// The type at `path` (struct fields by dot), if the schema has it.
pub fn type_at<'a>(fields: &'a Fields, path: &str) -> Option<&'a DataType> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut dt = fields.iter().find(|f| f.name() == first)?.data_type();
    for p in parts {
        let DataType::Struct(children) = dt else {
            return None;
        };
        dt = children.iter().find(|f| f.name() == p)?.data_type();
    }
    Some(dt)
}

/// The array at `path` in `batch`; a NULL struct makes its fields NULL.
pub fn leaf_array(batch: &RecordBatch, path: &str) -> Option<ArrayRef> {
    let mut parts = path.split('.');
    let mut array = batch.column_by_name(parts.next()?)?.clone();
    for p in parts {
        let s: &StructArray = array.as_struct_opt()?;
        let child = s.column_by_name(p)?.clone();
        array = match s.nulls() {
            Some(n) if n.null_count() > 0 => {
                let merged = arrow_buffer::NullBuffer::union(Some(n), child.nulls());
                let data = child.to_data().into_builder().nulls(merged).build().ok()?;
                arrow_array::make_array(data)
            }
            _ => child,
        };
    }
    Some(array)
}

/// The cell at `row` as a [`Value`] (nested values as JSON text, nothing withheld).
pub fn cell(array: &dyn Array, row: usize) -> Value {
    cell_withholding(array, row, "", &[])
}

/// The cell at `row` of the array at `path`; nested fields whose full path is in `withheld`
/// are replaced by [`WITHHELD`].
pub fn cell_withholding(array: &dyn Array, row: usize, path: &str, withheld: &[String]) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    macro_rules! int {
        ($t:ty) => {
            match i64::try_from(array.as_primitive::<$t>().value(row)) {
                Ok(v) => Value::Int(v),
                Err(_) => Value::Text(array.as_primitive::<$t>().value(row).to_string()),
            }
        };
    }
    match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => int!(types::Int8Type),
        DataType::Int16 => int!(types::Int16Type),
        DataType::Int32 => int!(types::Int32Type),
        DataType::Int64 => int!(types::Int64Type),
        DataType::UInt8 => int!(types::UInt8Type),
        DataType::UInt16 => int!(types::UInt16Type),
        DataType::UInt32 => int!(types::UInt32Type),
        DataType::UInt64 => int!(types::UInt64Type),
        DataType::Float16 => Value::Float(f64::from(
            array.as_primitive::<types::Float16Type>().value(row),
        )),
        DataType::Float32 => Value::Float(f64::from(
            array.as_primitive::<types::Float32Type>().value(row),
        )),
        DataType::Float64 => Value::Float(array.as_primitive::<types::Float64Type>().value(row)),
        DataType::Utf8 => Value::Text(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::Text(array.as_string::<i64>().value(row).to_owned()),
        DataType::Utf8View => Value::Text(array.as_string_view().value(row).to_owned()),
        DataType::Binary => Value::Bytes(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Value::Bytes(array.as_binary::<i64>().value(row).to_vec()),
        DataType::BinaryView => Value::Bytes(array.as_binary_view().value(row).to_vec()),
        DataType::FixedSizeBinary(_) => {
            Value::Bytes(array.as_fixed_size_binary().value(row).to_vec())
        }
        DataType::Date32 => {
            let days = array.as_primitive::<types::Date32Type>().value(row);
            date_text(i64::from(days) * 86_400_000)
        }
        DataType::Date64 => date_text(array.as_primitive::<types::Date64Type>().value(row)),
        DataType::Timestamp(unit, _) => {
            let v = match unit {
                TimeUnit::Second => array
                    .as_primitive::<types::TimestampSecondType>()
                    .value(row),
                TimeUnit::Millisecond => array
                    .as_primitive::<types::TimestampMillisecondType>()
                    .value(row),
                TimeUnit::Microsecond => array
                    .as_primitive::<types::TimestampMicrosecondType>()
                    .value(row),
                TimeUnit::Nanosecond => array
                    .as_primitive::<types::TimestampNanosecondType>()
                    .value(row),
            };
            timestamp_text(v, *unit)
        }
        DataType::Decimal128(_, scale) => Value::Text(decimal_text(
            array.as_primitive::<types::Decimal128Type>().value(row),
            *scale,
        )),
        DataType::Dictionary(_, _) => {
            let d = array.as_any_dictionary();
            let key = d.normalized_keys().get(row).copied().unwrap_or(0);
            cell_withholding(d.values().as_ref(), key, path, withheld)
        }
        DataType::Struct(_) | DataType::List(_) | DataType::LargeList(_) | DataType::Map(_, _) => {
            Value::Text(json(array, row, path, withheld).to_string())
        }
        other => Value::Text(format!("<{other}>")),
    }
}

/// A nested cell as JSON, withholding the listed paths (list items share their list's path).
fn json(array: &dyn Array, row: usize, path: &str, withheld: &[String]) -> serde_json::Value {
    use serde_json::Value as J;
    if withheld.iter().any(|w| w == path) {
        return J::String(WITHHELD.into());
    }
    if array.is_null(row) {
        return J::Null;
    }
    match array.data_type() {
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut m = serde_json::Map::new();
            for (i, f) in fields.iter().enumerate() {
                let p = join(path, f.name());
                m.insert(
                    f.name().clone(),
                    json(s.column(i).as_ref(), row, &p, withheld),
                );
            }
            J::Object(m)
        }
        DataType::List(_) => {
            let l = array.as_list::<i32>().value(row);
            J::Array(
                (0..l.len())
                    .map(|i| json(l.as_ref(), i, path, withheld))
                    .collect(),
            )
        }
        DataType::LargeList(_) => {
            let l = array.as_list::<i64>().value(row);
            J::Array(
                (0..l.len())
                    .map(|i| json(l.as_ref(), i, path, withheld))
                    .collect(),
            )
        }
        DataType::Map(_, _) => {
            let m = array.as_map();
            let entries = m.value(row);
            let keys = entries.column(0);
            let values = entries.column(1);
            let mut out = serde_json::Map::new();
            for i in 0..entries.len() {
                let k = cell(keys.as_ref(), i).as_text().unwrap_or_default();
                let p = join(path, &k);
                out.insert(k, json(values.as_ref(), i, &p, withheld));
            }
            J::Object(out)
        }
        _ => match cell(array, row) {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(b),
            Value::Int(i) => J::from(i),
            Value::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
            Value::Text(t) => J::String(t),
            Value::Bytes(b) => J::String(hex::encode(b)),
        },
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn date_text(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or(Value::Int(ms), |d| Value::Text(d.date_naive().to_string()))
}

fn timestamp_text(v: i64, unit: TimeUnit) -> Value {
    let d = match unit {
        TimeUnit::Second => chrono::DateTime::from_timestamp(v, 0),
        TimeUnit::Millisecond => chrono::DateTime::from_timestamp_millis(v),
        TimeUnit::Microsecond => chrono::DateTime::from_timestamp_micros(v),
        TimeUnit::Nanosecond => Some(chrono::DateTime::from_timestamp_nanos(v)),
    };
    d.map_or(Value::Int(v), |d| {
        Value::Text(d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    })
}

fn decimal_text(v: i128, scale: i8) -> String {
    if scale <= 0 {
        return (v * 10i128.pow(u32::from(scale.unsigned_abs()))).to_string();
    }
    let s = v.unsigned_abs().to_string();
    let scale = usize::from(scale.unsigned_abs());
    let padded = format!("{s:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if v < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_render_with_their_scale() {
        assert_eq!(decimal_text(12345, 2), "123.45");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(decimal_text(7, -2), "700");
    }
}
