//! Row tests: which rows of a file a find or an erase wants.
//!
//! A [`Matcher`] compares one identity column, normalised per the identity type's rules
//! (emails trimmed and lower-cased, phones reduced to digits …), with a batch of normalised
//! values. A [`KeySet`] compares key columns exactly with the keys of found records, each
//! key owned by one request. Both also give the exact values that statistics and bloom
//! filters can rule out ([`Targets`]) — for a matcher only when the lake stores the column
//! already normalised, since a stored `Ana@X.com` would hash differently from `ana@x.com`.

use crate::values::{cell, leaf_array};
use arrow_array::{Array, ArrayRef, RecordBatch, cast::AsArray, types};
use arrow_schema::DataType;
use dsr_core::identity::Normalizer;
use dsr_core::value::Value;
/// Hash maps of the hot loops: foldhash is several times faster than SipHash on short keys,
/// and these keys are not attacker-chosen bucket counts (a batch's own values).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Exact values a row group must contain for any row to match.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Byte strings, sorted.
    Bytes(Vec<Vec<u8>>),
    /// Integers, sorted.
    Ints(Vec<i64>),
}

/// A test of rows: which target (by index) each row matches.
pub trait RowTest: Send + Sync {
    /// Column paths the test reads, in the order `test` receives them.
    fn columns(&self) -> Vec<String>;
    /// For every matching row of `batch` (holding at least [`RowTest::columns`]), pushes
    /// `(row, target)`. An error names the unsupported column type.
    fn test(&self, batch: &RecordBatch, out: &mut Vec<(usize, u32)>) -> Result<(), String>;
    /// Exact values for pruning by the first column's statistics and bloom filter, or `None`
    /// when pruning would be unsafe.
    fn targets(&self) -> Option<&Targets>;
}

/// Matches one identity column against normalised values.
#[derive(Debug, Clone)]
pub struct Matcher {
    column: String,
    normalizer: Normalizer,
    ids: HashMap<String, u32>,
    ints: HashMap<i64, u32>,
    values: Vec<String>,
    targets: Option<Targets>,
}

impl Matcher {
    /// A matcher of `column` (a path; `address.email` inside a struct) for `values`, which are
    /// already normalised. With `stored_normalized` the lake promises the column holds
    /// normalised values, which enables pruning by statistics and bloom filters.
    pub fn new(
        column: &str,
        normalizer: Normalizer,
        values: &[String],
        stored_normalized: bool,
    ) -> Matcher {
        let mut ids = HashMap::with_capacity_and_hasher(values.len(), Default::default());
        let mut ints = HashMap::default();
        let mut kept = Vec::with_capacity(values.len());
        for v in values {
            if ids.contains_key(v) {
                continue;
            }
            let id = kept.len() as u32;
            ids.insert(v.clone(), id);
            if let Ok(i) = v.parse::<i64>()
                && i.to_string() == *v
            {
                ints.insert(i, id);
            }
            kept.push(v.clone());
        }
        let targets = stored_normalized.then(|| {
            let mut b: Vec<Vec<u8>> = kept.iter().map(|v| v.as_bytes().to_vec()).collect();
            b.sort();
            Targets::Bytes(b)
        });
        Matcher {
            column: column.to_owned(),
            normalizer,
            ids,
            ints,
            values: kept,
            targets,
        }
    }

    /// The normalised value of target `id`.
    pub fn value(&self, id: u32) -> &str {
        self.values.get(id as usize).map_or("", String::as_str)
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The target a stored text matches, normalising it like the identity type does; the
    /// ASCII cases of the common normalisers avoid allocating per row.
    fn lookup_text(&self, raw: &str, buf: &mut String) -> Option<u32> {
        if self.targets.is_some() {
            // The lake stores the column normalised: compare as stored.
            return self.ids.get(raw).copied();
        }
        let ascii_lower = matches!(
            self.normalizer,
            Normalizer::Email | Normalizer::CaseInsensitive
        );
        if ascii_lower && raw.is_ascii() {
            let t = raw.trim();
            if t.bytes().any(|b| b.is_ascii_uppercase()) {
                buf.clear();
                buf.extend(t.chars().map(|c| c.to_ascii_lowercase()));
                return self.ids.get(buf.as_str()).copied();
            }
            return self.ids.get(t).copied();
        }
        if matches!(self.normalizer, Normalizer::Exact) {
            return self.ids.get(raw.trim()).copied();
        }
        let n = self.normalizer.normalize_stored(raw)?;
        self.ids.get(&n).copied()
    }
}

/// Pushes the matching rows of a string-like array.
fn test_strings<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    mut lookup: impl FnMut(&str) -> Option<u32>,
    out: &mut Vec<(usize, u32)>,
) {
    for (row, v) in values.enumerate() {
        if let Some(v) = v
            && let Some(id) = lookup(v)
        {
            out.push((row, id));
        }
    }
}

/// Pushes the matching rows of an integer array.
fn test_ints(array: &dyn Array, ints: &HashMap<i64, u32>, out: &mut Vec<(usize, u32)>) -> bool {
    macro_rules! scan {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            for (row, v) in a.iter().enumerate() {
                if let Some(v) = v
                    && let Ok(v) = i64::try_from(v)
                    && let Some(id) = ints.get(&v)
                {
                    out.push((row, *id));
                }
            }
            true
        }};
    }
    match array.data_type() {
        DataType::Int8 => scan!(types::Int8Type),
        DataType::Int16 => scan!(types::Int16Type),
        DataType::Int32 => scan!(types::Int32Type),
        DataType::Int64 => scan!(types::Int64Type),
        DataType::UInt8 => scan!(types::UInt8Type),
        DataType::UInt16 => scan!(types::UInt16Type),
        DataType::UInt32 => scan!(types::UInt32Type),
        DataType::UInt64 => scan!(types::UInt64Type),
        _ => false,
    }
}

/// Pushes matches of any string-like array through `lookup`; false for other types.
fn test_any_string(
    array: &dyn Array,
    lookup: impl FnMut(&str) -> Option<u32>,
    out: &mut Vec<(usize, u32)>,
) -> bool {
    match array.data_type() {
        DataType::Utf8 => test_strings(array.as_string::<i32>().iter(), lookup, out),
        DataType::LargeUtf8 => test_strings(array.as_string::<i64>().iter(), lookup, out),
        DataType::Utf8View => test_strings(array.as_string_view().iter(), lookup, out),
        _ => return false,
    }
    true
}

impl RowTest for Matcher {
    fn columns(&self) -> Vec<String> {
        vec![self.column.clone()]
    }

    fn test(&self, batch: &RecordBatch, out: &mut Vec<(usize, u32)>) -> Result<(), String> {
        let array = column_of(batch, &self.column)?;
        let mut buf = String::new();
        if test_any_string(array.as_ref(), |v| self.lookup_text(v, &mut buf), out)
            || test_ints(array.as_ref(), &self.ints, out)
        {
            return Ok(());
        }
        // Anything else is compared through its canonical text.
        for row in 0..array.len() {
            if let Some(t) = cell(array.as_ref(), row).as_text()
                && let Some(id) = self.lookup_text(&t, &mut buf)
            {
                out.push((row, id));
            }
        }
        Ok(())
    }

    fn targets(&self) -> Option<&Targets> {
        self.targets.as_ref()
    }
}

/// The array at `path` in `batch` (struct fields by dotted path).
pub(crate) fn column_of(batch: &RecordBatch, path: &str) -> Result<ArrayRef, String> {
    leaf_array(batch, path).ok_or_else(|| format!("no column `{path}`"))
}

/// Keys of found records, each owned by one request (by index): the rows an erase removes.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    columns: Vec<String>,
    by_text: HashMap<String, u32>,
    ints: HashMap<i64, u32>,
    targets: Option<Targets>,
}

/// Joins key texts the way [`dsr_core::value::Record::key_text`] does.
fn joined(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.as_text().unwrap_or_else(|| "\u{2400}".into()))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

impl KeySet {
    /// Keys over `columns`; the first owner of a key keeps it.
    pub fn new(columns: &[String], keys: impl IntoIterator<Item = (u32, Vec<Value>)>) -> KeySet {
        let mut by_text = HashMap::default();
        let mut ints = HashMap::default();
        let mut all_int = true;
        for (owner, key) in keys {
            if key.len() != columns.len() {
                continue;
            }
            if let [Value::Int(i)] = key.as_slice() {
                ints.entry(*i).or_insert(owner);
            } else {
                all_int = false;
            }
            by_text.entry(joined(&key)).or_insert(owner);
        }
        let targets = if columns.len() == 1 {
            if all_int && !ints.is_empty() {
                let mut v: Vec<i64> = ints.keys().copied().collect();
                v.sort_unstable();
                Some(Targets::Ints(v))
            } else {
                let mut v: Vec<Vec<u8>> = by_text.keys().map(|k| k.as_bytes().to_vec()).collect();
                v.sort();
                Some(Targets::Bytes(v))
            }
        } else {
            None
        };
        KeySet {
            columns: columns.to_vec(),
            by_text,
            ints,
            targets,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.by_text.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.by_text.is_empty()
    }
}

impl RowTest for KeySet {
    fn columns(&self) -> Vec<String> {
        self.columns.clone()
    }

    fn test(&self, batch: &RecordBatch, out: &mut Vec<(usize, u32)>) -> Result<(), String> {
        let arrays = self
            .columns
            .iter()
            .map(|c| column_of(batch, c))
            .collect::<Result<Vec<_>, _>>()?;
        if let [array] = arrays.as_slice() {
            if test_any_string(array.as_ref(), |v| self.by_text.get(v).copied(), out) {
                return Ok(());
            }
            if !self.ints.is_empty() && test_ints(array.as_ref(), &self.ints, out) {
                return Ok(());
            }
        }
        for row in 0..batch.num_rows() {
            let key: Vec<Value> = arrays.iter().map(|a| cell(a.as_ref(), row)).collect();
            if let Some(owner) = self.by_text.get(&joined(&key)) {
                out.push((row, *owner));
            }
        }
        Ok(())
    }

    fn targets(&self) -> Option<&Targets> {
        self.targets.as_ref()
    }
}
