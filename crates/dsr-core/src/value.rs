//! Values read from stores, and records (one row or object).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A scalar read from or written to a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// SQL NULL / absent.
    Null,
    /// Boolean.
    Bool(bool),
    /// Integer.
    Int(i64),
    /// Floating point.
    Float(f64),
    /// Text (dates and decimals arrive as text in their ISO / canonical form).
    Text(String),
    /// Binary, hex-encoded when rendered.
    Bytes(Vec<u8>),
}

impl Value {
    /// Canonical text of the value, used for identity comparison and rendering;
    /// `None` for NULL.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Text(s) => Some(s.clone()),
            Value::Bytes(b) => Some(b.iter().map(|x| format!("{x:02x}")).collect()),
        }
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Truthiness for flag columns: non-zero numbers (also as text), `true`, and the texts
    /// `true`/`t`/`yes`/`y`.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null | Value::Bytes(_) => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Text(s) => {
                let t = s.trim().to_ascii_lowercase();
                matches!(t.as_str(), "true" | "t" | "yes" | "y")
                    || t.parse::<f64>().is_ok_and(|x| x != 0.0)
            }
        }
    }
}

/// One record found in a store: its key and the values of the columns dsr asked for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Record {
    /// Values of the table's key columns, in key order (the primary key, or the identity
    /// column for tables without one).
    pub key: Vec<Value>,
    /// Column name → value, for every selected column.
    pub values: BTreeMap<String, Value>,
}

impl Record {
    /// Value of `column`, `Value::Null` when absent.
    pub fn get(&self, column: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.values.get(column).unwrap_or(&NULL)
    }

    /// Stable text form of the key, for maps and evidence hashing.
    pub fn key_text(&self) -> String {
        self.key
            .iter()
            .map(|v| v.as_text().unwrap_or_else(|| "\u{2400}".into()))
            .collect::<Vec<_>>()
            .join("\u{1f}")
    }
}
