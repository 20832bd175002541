//! California's Delete Request and Opt-out Platform (DROP): the list types, the one table of
//! canonicalisation rules, the hash, and the list files' format. No IO.
//!
//! DROP sends a data broker, per list type, rows of `(work item id, hash)`. A hash is
//! `Base64(SHA-256(UTF-8(canonical value)))`, 44 characters. A list of several fields
//! (name + date of birth + ZIP, name + VIN) carries a *composite* hash: each field is hashed
//! alone, the field hashes are concatenated in the list's field order, and that string is
//! hashed again. The broker canonicalises its own records by exactly the same rules
//! ([`canonical`], the table [`FIELDS`]), hashes them ([`list_hash`]) and compares.
//!
//! The rules, field by field (each is tested against worked examples in `tests/drop.rs`):
//!
//! | field | rule |
//! |---|---|
//! | email | trim, lower-case; dots and `+tags` kept |
//! | phone | digits only; the last 10 when there are more |
//! | first/last name | accented Latin to ASCII, Greek and Cyrillic transliterated, lower-case; spaces, hyphens, apostrophes and dots removed; other scripts kept as they are |
//! | date of birth | `YYYYMMDD` |
//! | ZIP | the first 5 digits |
//! | VIN | upper-case, spaces and hyphens removed, 17 characters |
//! | mobile advertising id | trim, lower-case (a UUID keeps its hyphens) |
//! | connected-TV id | trim, lower-case |
//!
//! A value a rule cannot canonicalise (an email without `@`, a date that is not a date, a
//! VIN of the wrong length) has no hash: it matches nothing, and is never guessed at.

use base64::Engine as _;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// One of the six DROP consumer deletion lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListType {
    /// Email address.
    Email,
    /// Phone number.
    Phone,
    /// First name, last name, date of birth, ZIP code (composite).
    Ndz,
    /// First name, last name, vehicle identification number (composite).
    NameVin,
    /// Mobile advertising id.
    Maid,
    /// Connected-TV id.
    CtvId,
}

impl ListType {
    /// Every list type.
    pub const ALL: [ListType; 6] = [
        ListType::Email,
        ListType::Phone,
        ListType::Ndz,
        ListType::NameVin,
        ListType::Maid,
        ListType::CtvId,
    ];

    /// The DataType of DROP file names (`<YYYYMMDD>_<DataBrokerId>_<DataType>.csv`).
    pub fn data_type(self) -> &'static str {
        match self {
            ListType::Email => "Email",
            ListType::Phone => "Phone",
            ListType::Ndz => "NDZ",
            ListType::NameVin => "NameVIN",
            ListType::Maid => "MAID",
            ListType::CtvId => "CTVID",
        }
    }

    /// Config spelling (`email`, `phone`, `ndz`, `name_vin`, `maid`, `ctv_id`).
    pub fn key(self) -> &'static str {
        match self {
            ListType::Email => "email",
            ListType::Phone => "phone",
            ListType::Ndz => "ndz",
            ListType::NameVin => "name_vin",
            ListType::Maid => "maid",
            ListType::CtvId => "ctv_id",
        }
    }

    /// Parses a config spelling or a file DataType (case-insensitive).
    pub fn parse(s: &str) -> Option<ListType> {
        ListType::ALL
            .into_iter()
            .find(|l| l.key().eq_ignore_ascii_case(s) || l.data_type().eq_ignore_ascii_case(s))
    }

    /// The fields hashed for this list, in the order their hashes are concatenated.
    pub fn fields(self) -> &'static [Field] {
        FIELDS
            .iter()
            .find(|(l, _)| *l == self)
            .map(|(_, f)| *f)
            .unwrap_or(&[])
    }
}

/// One identifier field of a DROP list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// Email address.
    Email,
    /// Phone number.
    Phone,
    /// Given name.
    FirstName,
    /// Family name.
    LastName,
    /// Date of birth.
    BirthDate,
    /// ZIP code.
    Zip,
    /// Vehicle identification number.
    Vin,
    /// Mobile advertising id.
    Maid,
    /// Connected-TV id.
    CtvId,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 9] = [
        Field::Email,
        Field::Phone,
        Field::FirstName,
        Field::LastName,
        Field::BirthDate,
        Field::Zip,
        Field::Vin,
        Field::Maid,
        Field::CtvId,
    ];

    /// Config spelling.
    pub fn key(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Phone => "phone",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::BirthDate => "birth_date",
            Field::Zip => "zip",
            Field::Vin => "vin",
            Field::Maid => "maid",
            Field::CtvId => "ctv_id",
        }
    }

    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.key() == s)
    }
}

/// The canonicalisation table: which fields each list hashes, in order.
pub const FIELDS: &[(ListType, &[Field])] = &[
    (ListType::Email, &[Field::Email]),
    (ListType::Phone, &[Field::Phone]),
    (
        ListType::Ndz,
        &[
            Field::FirstName,
            Field::LastName,
            Field::BirthDate,
            Field::Zip,
        ],
    ),
    (
        ListType::NameVin,
        &[Field::FirstName, Field::LastName, Field::Vin],
    ),
    (ListType::Maid, &[Field::Maid]),
    (ListType::CtvId, &[Field::CtvId]),
];

/// The canonical form of `raw` for `field`, or `None` when the value cannot be one.
pub fn canonical(field: Field, raw: &str) -> Option<String> {
    let v = raw.trim();
    let out = match field {
        Field::Email => {
            let e = v.to_lowercase();
            let (local, domain) = e.rsplit_once('@')?;
            if local.is_empty() || domain.is_empty() || e.chars().any(char::is_whitespace) {
                return None;
            }
            e
        }
        Field::Phone => {
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            let skip = digits.len().saturating_sub(10);
            digits[skip..].to_string()
        }
        Field::FirstName | Field::LastName => name(v),
        Field::BirthDate => birth_date(v)?,
        Field::Zip => {
            let digits: String = v.chars().filter(char::is_ascii_digit).take(5).collect();
            if digits.len() < 5 {
                return None;
            }
            digits
        }
        Field::Vin => {
            let vin: String = v
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect();
            if vin.len() != 17 || !vin.chars().all(|c| c.is_ascii_alphanumeric()) {
                return None;
            }
            vin
        }
        Field::Maid | Field::CtvId => v.to_lowercase(),
    };
    (!out.is_empty()).then_some(out)
}

/// A name: Latin, Greek and Cyrillic letters to lower-case ASCII; separators dropped.
fn name(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if c.is_whitespace() || matches!(c, '-' | '\'' | '’' | '.') {
            continue;
        }
        if transliterated(c) {
            out.push_str(&deunicode::deunicode_char(c).unwrap_or("").to_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out.retain(|c| !c.is_whitespace() && !matches!(c, '-' | '\'' | '.'));
    out
}

/// Whether `c` is in a script DROP transliterates (Latin with accents, Greek, Cyrillic).
fn transliterated(c: char) -> bool {
    matches!(c as u32,
        0x00C0..=0x024F      // Latin-1 Supplement letters, Latin Extended-A/B
        | 0x1E00..=0x1EFF    // Latin Extended Additional
        | 0x0370..=0x03FF    // Greek and Coptic
        | 0x1F00..=0x1FFF    // Greek Extended
        | 0x0400..=0x052F) // Cyrillic and Cyrillic Supplement
}

/// A date of birth as `YYYYMMDD`, from `YYYY-MM-DD`, `YYYYMMDD`, `MM/DD/YYYY` or an
/// RFC 3339 timestamp's date.
fn birth_date(v: &str) -> Option<String> {
    let date = NaiveDate::parse_from_str(v.get(..10).unwrap_or(v), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%Y%m%d"))
        .or_else(|_| NaiveDate::parse_from_str(v, "%m/%d/%Y"))
        .ok()?;
    Some(date.format("%Y%m%d").to_string())
}

/// `Base64(SHA-256(UTF-8(s)))`.
pub fn hash(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
}

/// The DROP hash of one record for `list`, from its raw field values in the list's field
/// order ([`ListType::fields`]); `None` when a field is missing or cannot be canonicalised.
pub fn list_hash(list: ListType, raw: &[Option<&str>]) -> Option<String> {
    let fields = list.fields();
    if raw.len() != fields.len() {
        return None;
    }
    let mut parts = Vec::with_capacity(fields.len());
    for (f, v) in fields.iter().zip(raw) {
        parts.push(canonical(*f, (*v)?)?);
    }
    if let [one] = parts.as_slice() {
        return Some(hash(one));
    }
    let joined: String = parts.iter().map(|p| hash(p)).collect();
    Some(hash(&joined))
}

/// Whether `s` has the shape of a DROP hash: 44 characters of Base64 decoding to 32 bytes.
pub fn is_hash(s: &str) -> bool {
    s.len() == 44
        && base64::engine::general_purpose::STANDARD
            .decode(s)
            .is_ok_and(|b| b.len() == 32)
}

/// The status a broker reports for a work item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusCode {
    /// A match; all of the consumer's personal information is exempt from deletion.
    Exempted = 2,
    /// A match; the non-exempt personal information was deleted.
    Deleted = 3,
    /// Several consumers share the identifier; all were opted out of sale and sharing.
    OptedOut = 4,
    /// No match in the broker's records.
    NotFound = 5,
}

impl StatusCode {
    /// The code written to the status file.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Parses a stored code.
    pub fn from_code(c: i64) -> Option<StatusCode> {
        match c {
            2 => Some(StatusCode::Exempted),
            3 => Some(StatusCode::Deleted),
            4 => Some(StatusCode::OptedOut),
            5 => Some(StatusCode::NotFound),
            _ => None,
        }
    }
}

/// Which DROP file a CSV in the download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A consumer deletion list.
    List(ListType),
    /// Identifiers DROP withdrew (a consumer cancelled), across every list.
    Removed,
}

/// Reads the kind from a file name `<YYYYMMDD>_<DataBrokerId>_<DataType>[_<Suffix>].csv`
/// (the directory part ignored); the error says what is wrong with the name.
pub fn file_kind(path: &str) -> Result<FileKind, String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name
        .strip_suffix(".csv")
        .or_else(|| name.strip_suffix(".CSV"))
        .ok_or_else(|| "is not a .csv file".to_string())?;
    let parts: Vec<&str> = stem.split('_').collect();
    let [date, _broker, data_type, ..] = parts.as_slice() else {
        return Err("is not named <YYYYMMDD>_<DataBrokerId>_<DataType>.csv".into());
    };
    if date.len() != 8 || !date.chars().all(|c| c.is_ascii_digit()) {
        return Err("does not start with a YYYYMMDD date".into());
    }
    if data_type.eq_ignore_ascii_case("removed") {
        return Ok(FileKind::Removed);
    }
    ListType::parse(data_type)
        .map(FileKind::List)
        .ok_or_else(|| {
            format!(
                "has unknown list type; expected one of {} or Removed",
                ListType::ALL.map(|l| l.data_type()).join(", ")
            )
        })
}

/// One row of a DROP list file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    /// DROP's work item id (not PI).
    pub id: String,
    /// The hashed identifier.
    pub hash: String,
}

/// Checks a work item id: 1–64 characters of `A-Z a-z 0-9 . _ -`.
pub fn valid_work_item_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
#[path = "tests/drop.rs"]
mod tests;
