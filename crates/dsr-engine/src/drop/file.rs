//! Reading a DROP download: a ZIP holding one CSV per consumer deletion list
//! (`<YYYYMMDD>_<DataBrokerId>_<DataType>.csv`, columns `ID` and `Hash`) and, when DROP
//! withdrew identifiers, a `…_Removed.csv` of the withdrawn work item ids.
//!
//! The whole download is checked before anything is stored: a file that is not a ZIP, an
//! entry that is not a list file, an unknown list type, a missing column, an id of the wrong
//! form, a hash that is not 44 characters of Base64 for 32 bytes, or a work item twice, is an
//! [`Error::Drop`] naming the file and line (never the hash).

use crate::error::{Error, Result};
use dsr_core::drop::{FileKind, ListType, WorkItem, file_kind, is_hash, valid_work_item_id};
use std::collections::BTreeSet;
use std::io::Read;

/// Most bytes one CSV in the download may expand to (a ZIP bomb is refused).
const MAX_ENTRY_BYTES: u64 = 512 * 1024 * 1024;

/// A checked DROP download.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Download {
    /// Work items per list, in file order.
    pub lists: Vec<(ListType, Vec<WorkItem>)>,
    /// Work item ids DROP withdrew.
    pub removed: Vec<String>,
}

impl Download {
    /// Work items over every list.
    pub fn items(&self) -> usize {
        self.lists.iter().map(|(_, i)| i.len()).sum()
    }
}

fn bad(file: &str, what: impl Into<String>) -> Error {
    Error::Drop(format!("{file}: {}", what.into()))
}

/// Reads and checks a download from the ZIP's bytes.
pub fn read_zip(bytes: &[u8]) -> Result<Download> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::Drop(format!("not a readable ZIP file: {e}")))?;
    let mut out = Download::default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| Error::Drop(format!("ZIP entry {i} cannot be read: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let kind = file_kind(&name).map_err(|m| bad(&name, m))?;
        let mut text = String::new();
        (&mut entry)
            .take(MAX_ENTRY_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| bad(&name, format!("cannot be read as UTF-8 text: {e}")))?;
        if text.len() as u64 >= MAX_ENTRY_BYTES {
            return Err(bad(&name, "is larger than 512 MiB"));
        }
        let rows = read_csv(&name, &text, kind)?;
        match kind {
            FileKind::List(list) => {
                for w in &rows {
                    if !seen.insert(w.id.clone()) {
                        return Err(bad(&name, format!("work item {} appears twice", w.id)));
                    }
                }
                match out.lists.iter_mut().find(|(l, _)| *l == list) {
                    Some((_, items)) => items.extend(rows),
                    None => out.lists.push((list, rows)),
                }
            }
            FileKind::Removed => out.removed.extend(rows.into_iter().map(|w| w.id)),
        }
    }
    if out.lists.is_empty() && out.removed.is_empty() {
        return Err(Error::Drop(
            "the ZIP holds no DROP list file (<YYYYMMDD>_<DataBrokerId>_<DataType>.csv)".into(),
        ));
    }
    Ok(out)
}

/// Reads one list file: a header with `ID` and `Hash` (any case, any order, other columns
/// ignored; a removed-identifiers file needs only `ID`), then one work item per row.
fn read_csv(name: &str, text: &str, kind: FileKind) -> Result<Vec<WorkItem>> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rd
        .headers()
        .map_err(|e| bad(name, format!("header cannot be read: {}", csv_error(&e))))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(n));
    let id_col = col("ID").ok_or_else(|| bad(name, "has no ID column"))?;
    let hash_col = col("Hash");
    if hash_col.is_none() && matches!(kind, FileKind::List(_)) {
        return Err(bad(name, "has no Hash column"));
    }
    let mut out = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        // Line 1 is the header.
        let line = i + 2;
        let rec = rec.map_err(|e| bad(name, format!("line {line}: {}", csv_error(&e))))?;
        let id = rec.get(id_col).unwrap_or("");
        if !valid_work_item_id(id) {
            return Err(bad(
                name,
                format!("line {line}: ID must be 1-64 characters of A-Z a-z 0-9 . _ -"),
            ));
        }
        let hash = hash_col.and_then(|c| rec.get(c)).unwrap_or("").to_string();
        if matches!(kind, FileKind::List(_)) && !is_hash(&hash) {
            return Err(bad(
                name,
                format!(
                    "line {line}: Hash must be 44 characters of Base64 (a SHA-256), got {} characters",
                    hash.len()
                ),
            ));
        }
        out.push(WorkItem {
            id: id.to_string(),
            hash,
        });
    }
    Ok(out)
}

/// A CSV error without the field contents it may quote.
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8".into(),
        _ => "malformed CSV".into(),
    }
}
