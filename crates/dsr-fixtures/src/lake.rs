//! A synthetic Parquet data lake for the lake connector's tests and benchmarks.
//!
//! [`generate`] writes `part-00000.parquet`, `part-00001.parquet`, … under a prefix of any
//! [`ObjectStore`] (a local directory now, S3 later), one row group's batch at a time, so
//! memory stays bounded whatever the size of the lake. Unlike the rest of this crate it does
//! IO, but what it writes is still a pure function of the [`LakeSpec`]:
//!
//! * Row `i` (its `id`) depends only on `i`, `rows` and `seed` — never on `files` or
//!   `row_group_rows` — so a lake of one file and a lake of 100 files with the same `rows` and
//!   `seed` hold exactly the same rows, in the same order.
//! * Emails are in random order across the whole lake: row `i` sits at position `perm(i)` of a
//!   seeded Feistel permutation of `0..rows`, and consecutive positions are dealt to subjects
//!   in blocks of 23 positions for 20 subjects — 18 subjects with one row, one with two, one
//!   with three — so about 1 subject in 10 has 2–3 rows, scattered over the lake.
//! * A subject's rows share its email, name, SSN, customer id and address; amount, time stamp
//!   and tags vary per row.
//!
//! Files are zstd-compressed, with page-level statistics, a bloom filter on `email` (unless
//! turned off) and the key-value metadata entry `("dsr.fixture", "lake-v1")`.

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StructArray, TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use object_store::ObjectStore;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;

/// Key of the key-value metadata entry every generated file carries.
pub const FIXTURE_KEY: &str = "dsr.fixture";
/// Value of the [`FIXTURE_KEY`] entry: the version of this generator's layout.
pub const FIXTURE_VERSION: &str = "lake-v1";
/// Default rows per row group (DuckDB's default row group size).
pub const DEFAULT_ROW_GROUP_ROWS: usize = 122_880;
/// Largest lake [`generate`] accepts (2^40 rows).
pub const MAX_ROWS: u64 = 1 << 40;

/// Positions per block of subjects, and subjects per block (see the module docs).
const BLOCK_POSITIONS: u64 = 23;
const BLOCK_SUBJECTS: u64 = 20;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeSpec {
    /// Rows in the whole lake (`id` runs over `0..rows`).
    pub rows: u64,
    /// Files; rows are split evenly, in `id` order.
    pub files: usize,
    /// Maximum rows per row group.
    pub row_group_rows: usize,
    /// Seed of every generated value.
    pub seed: u64,
    /// Write a bloom filter on the `email` column.
    pub bloom_filters: bool,
    /// How many subject emails (present in the lake) [`LakeSummary::subjects`] returns.
    pub subjects: usize,
}

impl Default for LakeSpec {
    fn default() -> Self {
        LakeSpec {
            rows: 1_000_000,
            files: 1,
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
            seed: 42,
            bloom_filters: true,
            subjects: 1_000,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeSummary {
    /// Object paths of the files, in order (`<prefix>/part-00000.parquet`, …).
    pub files: Vec<String>,
    /// Rows written.
    pub rows: u64,
    /// `spec.subjects` distinct emails present in the lake (fewer only if the lake has fewer
    /// subjects); deterministic, independent of `files`.
    pub subjects: Vec<String>,
    /// An email all of whose rows are in exactly one file (a subject with several rows when
    /// one is found quickly); `None` only for an empty lake.
    pub single_file_subject: Option<String>,
}

/// Failures of [`generate`]. Each names the object path; none carries row values.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec cannot be generated.
    #[error("invalid lake spec: {0}")]
    Spec(String),
    /// Building a record batch failed.
    #[error("{path}: building a record batch: {source}")]
    Arrow {
        /// Object path of the file being written.
        path: String,
        /// The Arrow error.
        source: ArrowError,
    },
    /// Encoding or storing the file failed.
    #[error("{path}: writing Parquet: {source}")]
    Parquet {
        /// Object path of the file being written.
        path: String,
        /// The Parquet (or wrapped object store) error.
        source: ParquetError,
    },
}

/// The Arrow schema of every generated file.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("email", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("ssn", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("customer_id", DataType::Int64, false),
        Field::new_struct("address", address_fields(), false),
        Field::new("tags", DataType::List(tag_field()), false),
    ]))
}

fn address_fields() -> Fields {
    Fields::from(vec![
        Field::new("street", DataType::Utf8, false),
        Field::new("city", DataType::Utf8, false),
        Field::new("zip", DataType::Utf8, false),
        Field::new("tax_id", DataType::Utf8, false),
    ])
}

fn tag_field() -> Arc<Field> {
    Arc::new(Field::new_list_field(DataType::Utf8, false))
}

/// The writer settings for `spec`: zstd, page statistics, the row group size, the bloom
/// filter on `email`, and the fixture's key-value entry.
pub fn writer_properties(spec: &LakeSpec) -> WriterProperties {
    let email = ColumnPath::from("email");
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(spec.row_group_rows.max(1)))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            FIXTURE_KEY.to_string(),
            FIXTURE_VERSION.to_string(),
        )]));
    // Near-unique columns: a dictionary would only be built to be abandoned.
    for col in [
        vec!["id"],
        vec!["email"],
        vec!["ssn"],
        vec!["amount"],
        vec!["ts"],
        vec!["address", "street"],
        vec!["address", "tax_id"],
    ] {
        let path = ColumnPath::new(col.into_iter().map(String::from).collect());
        b = b.set_column_dictionary_enabled(path, false);
    }
    if spec.bloom_filters {
        b = b
            .set_column_bloom_filter_enabled(email.clone(), true)
            .set_column_bloom_filter_fpp(email.clone(), 0.01)
            .set_column_bloom_filter_max_ndv(email, spec.row_group_rows.max(1) as u64);
    }
    b.build()
}

/// Writes the lake of `spec` under `prefix` of `store` and returns what it wrote.
pub async fn generate(
    store: Arc<dyn ObjectStore>,
    prefix: &Path,
    spec: &LakeSpec,
) -> Result<LakeSummary, Error> {
    validate(spec)?;
    let rows = Rows::new(spec);
    let schema = schema();
    let props = writer_properties(spec);
    let mut written = 0;
    for f in 0..spec.files {
        let path = file_path(prefix, f);
        let (start, end) = file_range(spec.rows, spec.files, f);
        let buf = BufWriter::new(Arc::clone(&store), path.clone());
        let mut w = AsyncArrowWriter::try_new(buf, Arc::clone(&schema), Some(props.clone()))
            .map_err(|source| Error::Parquet {
                path: path.to_string(),
                source,
            })?;
        match write_rows(&mut w, &rows, &schema, start, end, spec.row_group_rows).await {
            Ok(()) => {}
            Err(e) => {
                // Best effort: drop the half-written upload; the write error is the one to report.
                let _ = w.into_inner().abort().await;
                return Err(e.at(&path));
            }
        }
        w.close().await.map_err(|source| Error::Parquet {
            path: path.to_string(),
            source,
        })?;
        written += end - start;
    }
    let mut summary = summary(prefix, spec)?;
    summary.rows = written;
    Ok(summary)
}

/// What [`generate`] writes (or wrote) for `spec` under `prefix`, computed without any IO.
pub fn summary(prefix: &Path, spec: &LakeSpec) -> Result<LakeSummary, Error> {
    validate(spec)?;
    let layout = Layout::new(spec.rows, spec.seed);
    Ok(LakeSummary {
        files: (0..spec.files)
            .map(|f| file_path(prefix, f).to_string())
            .collect(),
        rows: spec.rows,
        subjects: sample_subjects(&layout, spec.seed, spec.subjects)
            .into_iter()
            .map(|s| email(spec.seed, s))
            .collect(),
        single_file_subject: single_file_subject(&layout, spec.rows, spec.files)
            .map(|s| email(spec.seed, s)),
    })
}

fn validate(spec: &LakeSpec) -> Result<(), Error> {
    if spec.files == 0 {
        return Err(Error::Spec("files must be at least 1".into()));
    }
    if spec.row_group_rows == 0 {
        return Err(Error::Spec("row_group_rows must be at least 1".into()));
    }
    if spec.rows > MAX_ROWS {
        return Err(Error::Spec(format!("rows must be at most {MAX_ROWS}")));
    }
    Ok(())
}

/// `<prefix>/part-NNNNN.parquet`.
fn file_path(prefix: &Path, f: usize) -> Path {
    prefix.clone().join(format!("part-{f:05}.parquet"))
}

/// Rows `[start, end)` of file `f` of `files`.
fn file_range(rows: u64, files: usize, f: usize) -> (u64, u64) {
    let files = files as u128;
    let at = |f: u128| (rows as u128 * f / files) as u64;
    (at(f as u128), at(f as u128 + 1))
}

/// A failure inside one file, before its path is attached.
enum WriteError {
    Arrow(ArrowError),
    Parquet(ParquetError),
}

impl WriteError {
    fn at(self, path: &Path) -> Error {
        let path = path.to_string();
        match self {
            WriteError::Arrow(source) => Error::Arrow { path, source },
            WriteError::Parquet(source) => Error::Parquet { path, source },
        }
    }
}

async fn write_rows(
    w: &mut AsyncArrowWriter<BufWriter>,
    rows: &Rows,
    schema: &SchemaRef,
    start: u64,
    end: u64,
    row_group_rows: usize,
) -> Result<(), WriteError> {
    let mut at = start;
    while at < end {
        let n = (end - at).min(row_group_rows as u64);
        let batch = rows
            .batch(schema, at, n as usize)
            .map_err(WriteError::Arrow)?;
        w.write(&batch).await.map_err(WriteError::Parquet)?;
        at += n;
    }
    Ok(())
}

/// SplitMix64's finaliser: a good 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seeded hash of `(x, field)`.
fn hash(seed: u64, x: u64, field: u64) -> u64 {
    mix(seed ^ mix(x ^ field.wrapping_mul(0xD1B5_4A32_D192_ED03)))
}

/// A seeded bijection of `0..n`: a balanced 4-round Feistel network over the smallest
/// even-bit power of two covering `n`, with cycle walking back into `0..n`.
#[derive(Debug, Clone)]
pub(crate) struct Permutation {
    n: u64,
    half: u32,
    mask: u64,
    keys: [u64; 4],
}

impl Permutation {
    pub(crate) fn new(n: u64, seed: u64) -> Self {
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(2);
        let half = bits.div_ceil(2);
        Permutation {
            n,
            half,
            mask: (1u64 << half) - 1,
            keys: [1, 2, 3, 4].map(|k| hash(seed, k, 0x5045_524d)),
        }
    }

    fn round(&self, x: u64, key: u64) -> u64 {
        mix(x ^ key) & self.mask
    }

    fn encrypt(&self, x: u64) -> u64 {
        let (mut l, mut r) = (x >> self.half, x & self.mask);
        for &k in &self.keys {
            (l, r) = (r, l ^ self.round(r, k));
        }
        (l << self.half) | r
    }

    fn decrypt(&self, y: u64) -> u64 {
        let (mut l, mut r) = (y >> self.half, y & self.mask);
        for &k in self.keys.iter().rev() {
            (l, r) = (r ^ self.round(l, k), l);
        }
        (l << self.half) | r
    }

    /// The position of `i` (`i < n`).
    pub(crate) fn forward(&self, i: u64) -> u64 {
        let mut x = self.encrypt(i);
        while x >= self.n {
            x = self.encrypt(x);
        }
        x
    }

    /// The `i` whose position is `p` (`p < n`).
    pub(crate) fn inverse(&self, p: u64) -> u64 {
        let mut x = self.decrypt(p);
        while x >= self.n {
            x = self.decrypt(x);
        }
        x
    }
}

/// Where subjects sit: row `i` → position `perm(i)` → subject.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    rows: u64,
    perm: Permutation,
}

/// First position of subject `k` of a block, and how many positions it has.
fn block_slot(k: u64) -> (u64, u64) {
    match k {
        0..18 => (k, 1),
        18 => (18, 2),
        _ => (20, 3),
    }
}

impl Layout {
    pub(crate) fn new(rows: u64, seed: u64) -> Self {
        Layout {
            rows,
            perm: Permutation::new(rows, seed),
        }
    }

    /// The subject of row `i`.
    pub(crate) fn subject_of(&self, i: u64) -> u64 {
        let p = self.perm.forward(i);
        let (b, o) = (p / BLOCK_POSITIONS, p % BLOCK_POSITIONS);
        let k = match o {
            0..18 => o,
            18..20 => 18,
            _ => 19,
        };
        b * BLOCK_SUBJECTS + k
    }

    /// The rows of subject `s` (empty when it has none in this lake).
    pub(crate) fn rows_of(&self, s: u64) -> Vec<u64> {
        let (b, k) = (s / BLOCK_SUBJECTS, s % BLOCK_SUBJECTS);
        let (first, len) = block_slot(k);
        let start = b * BLOCK_POSITIONS + first;
        (start..start + len)
            .filter(|&p| p < self.rows)
            .map(|p| self.perm.inverse(p))
            .collect()
    }

    /// Subjects with at least one row (they are `0..count`).
    pub(crate) fn subject_count(&self) -> u64 {
        let (full, rem) = (self.rows / BLOCK_POSITIONS, self.rows % BLOCK_POSITIONS);
        let partial = (0..BLOCK_SUBJECTS)
            .filter(|&k| block_slot(k).0 < rem)
            .count() as u64;
        full * BLOCK_SUBJECTS + partial
    }
}

/// `k` distinct subjects, deterministic in `seed` (all of them if there are no more).
fn sample_subjects(layout: &Layout, seed: u64, k: usize) -> Vec<u64> {
    let n = layout.subject_count();
    if k as u64 >= n {
        return (0..n).collect();
    }
    let mut seen = HashSet::with_capacity(k);
    let mut out = Vec::with_capacity(k);
    let mut j = 0u64;
    while out.len() < k {
        let s = hash(seed, j, 0x5355_424a) % n;
        j += 1;
        if seen.insert(s) {
            out.push(s);
        }
    }
    out
}

/// A subject whose rows all lie in one file: the first subject with several rows that does,
/// else subject 0.
fn single_file_subject(layout: &Layout, rows: u64, files: usize) -> Option<u64> {
    if layout.subject_count() == 0 {
        return None;
    }
    let file_of = |i: u64| (((i as u128 + 1) * files as u128).div_ceil(rows as u128) - 1) as u64;
    let blocks = (rows / BLOCK_POSITIONS).min(1_000_000);
    for b in 0..blocks {
        for k in [19, 18] {
            let r = layout.rows_of(b * BLOCK_SUBJECTS + k);
            if r.len() > 1 && r.iter().all(|&i| file_of(i) == file_of(r[0])) {
                return Some(b * BLOCK_SUBJECTS + k);
            }
        }
    }
    Some(0)
}

const FIRST: [&str; 48] = [
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "daniel",
    "nancy",
    "matthew",
    "lisa",
    "anthony",
    "betty",
    "mark",
    "margaret",
    "paul",
    "sandra",
    "steven",
    "ashley",
    "andrew",
    "emily",
    "kenneth",
    "donna",
    "joshua",
    "michelle",
    "kevin",
    "carol",
    "brian",
    "amanda",
    "george",
    "melissa",
    "maria",
    "ana",
    "wei",
    "fatima",
];
const LAST: [&str; 48] = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "chen",
];
const DOMAINS: [&str; 8] = [
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
    "corp.example",
    "inbox.example",
    "post.example.net",
    "customers.example.org",
];
const STREETS: [&str; 16] = [
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "Mission",
    "Market",
    "Valencia",
    "Broadway",
    "Church",
];
const SUFFIXES: [&str; 6] = ["St", "Ave", "Blvd", "Rd", "Way", "Ln"];
const CITIES: [(&str, u32); 12] = [
    ("San Francisco", 94),
    ("Los Angeles", 90),
    ("San Diego", 92),
    ("Sacramento", 95),
    ("Oakland", 94),
    ("Fresno", 93),
    ("Seattle", 98),
    ("Portland", 97),
    ("Austin", 78),
    ("Denver", 80),
    ("Chicago", 60),
    ("Boston", 2),
];
const TAGS: [&str; 8] = [
    "vip",
    "newsletter",
    "churn-risk",
    "b2b",
    "loyalty",
    "trial",
    "wholesale",
    "refund",
];

/// Field tags of [`hash`].
mod field {
    pub const FIRST: u64 = 1;
    pub const LAST: u64 = 2;
    pub const FORMAT: u64 = 3;
    pub const DOMAIN: u64 = 4;
    pub const SSN: u64 = 5;
    pub const CUSTOMER: u64 = 6;
    pub const STREET: u64 = 7;
    pub const CITY: u64 = 8;
    pub const TAX: u64 = 9;
    pub const AMOUNT: u64 = 10;
    pub const TS: u64 = 11;
    pub const TAGS: u64 = 12;
}

fn pick<T: Copy, const N: usize>(xs: &[T; N], h: u64) -> T {
    xs[(h % N as u64) as usize]
}

/// Writes subject `s`'s email into `out`. The local part ends with `s` in decimal after a
/// non-digit, and names hold no digits, so distinct subjects have distinct emails.
fn write_email(out: &mut String, seed: u64, s: u64) {
    let first = pick(&FIRST, hash(seed, s, field::FIRST));
    let last = pick(&LAST, hash(seed, s, field::LAST));
    let domain = pick(&DOMAINS, hash(seed, s, field::DOMAIN));
    let _ = match hash(seed, s, field::FORMAT) % 3 {
        0 => write!(out, "{first}.{last}.{s}@{domain}"),
        1 => write!(out, "{first}_{last}{s}@{domain}"),
        _ => write!(out, "{}{last}{s}@{domain}", &first[..1]),
    };
}

/// Subject `s`'s email.
fn email(seed: u64, s: u64) -> String {
    let mut e = String::new();
    write_email(&mut e, seed, s);
    e
}

/// Capitalises an ASCII word into `out`.
fn push_capitalised(out: &mut String, w: &str) {
    let mut chars = w.chars();
    if let Some(c) = chars.next() {
        out.push(c.to_ascii_uppercase());
        out.push_str(chars.as_str());
    }
}

/// 2023-01-01T00:00:00Z in microseconds, and three years of them.
const TS_BASE_US: i64 = 1_672_531_200_000_000;
const TS_SPAN_US: u64 = 3 * 365 * 86_400 * 1_000_000;

/// The row generator of one lake.
struct Rows {
    seed: u64,
    layout: Layout,
}

impl Rows {
    fn new(spec: &LakeSpec) -> Self {
        Rows {
            seed: spec.seed,
            layout: Layout::new(spec.rows, spec.seed),
        }
    }

    /// Rows `start..start + n` as one record batch.
    fn batch(&self, schema: &SchemaRef, start: u64, n: usize) -> Result<RecordBatch, ArrowError> {
        let seed = self.seed;
        let mut ids = Vec::with_capacity(n);
        let mut amounts = Vec::with_capacity(n);
        let mut tss = Vec::with_capacity(n);
        let mut customers = Vec::with_capacity(n);
        let mut emails = StringBuilder::with_capacity(n, n * 32);
        let mut names = StringBuilder::with_capacity(n, n * 14);
        let mut ssns = StringBuilder::with_capacity(n, n * 11);
        let mut streets = StringBuilder::with_capacity(n, n * 20);
        let mut cities = StringBuilder::with_capacity(n, n * 10);
        let mut zips = StringBuilder::with_capacity(n, n * 5);
        let mut taxes = StringBuilder::with_capacity(n, n * 10);
        let mut tags = ListBuilder::with_capacity(StringBuilder::new(), n).with_field(tag_field());
        let mut buf = String::with_capacity(64);
        for i in start..start + n as u64 {
            let s = self.layout.subject_of(i);
            ids.push(i as i64);
            buf.clear();
            write_email(&mut buf, seed, s);
            emails.append_value(&buf);

            buf.clear();
            push_capitalised(&mut buf, pick(&FIRST, hash(seed, s, field::FIRST)));
            buf.push(' ');
            push_capitalised(&mut buf, pick(&LAST, hash(seed, s, field::LAST)));
            names.append_value(&buf);

            let h = hash(seed, s, field::SSN);
            let area = 1 + h % 899; // 001–899 …
            let area = if area == 666 { 667 } else { area }; // … never 666
            let (group, serial) = (1 + (h >> 10) % 99, 1 + (h >> 20) % 9_999);
            buf.clear();
            let _ = write!(buf, "{area:03}-{group:02}-{serial:04}");
            ssns.append_value(&buf);

            amounts.push((hash(seed, i, field::AMOUNT) % 1_000_000) as f64 / 100.0);
            tss.push(TS_BASE_US + (hash(seed, i, field::TS) % TS_SPAN_US) as i64);
            customers.push(1 + (hash(seed, s, field::CUSTOMER) % 1_000_000) as i64);

            let h = hash(seed, s, field::STREET);
            buf.clear();
            let _ = write!(
                buf,
                "{} {} {}",
                1 + h % 9_999,
                pick(&STREETS, h >> 16),
                pick(&SUFFIXES, h >> 24)
            );
            streets.append_value(&buf);
            let h = hash(seed, s, field::CITY);
            let (city, zip_prefix) = pick(&CITIES, h);
            cities.append_value(city);
            buf.clear();
            let _ = write!(buf, "{:05}", zip_prefix * 1_000 + (h >> 8) as u32 % 1_000);
            zips.append_value(&buf);
            let h = hash(seed, s, field::TAX);
            buf.clear();
            let _ = write!(buf, "{:02}-{:07}", 10 + h % 90, (h >> 8) % 10_000_000);
            taxes.append_value(&buf);

            let h = hash(seed, i, field::TAGS);
            for t in 0..h % 4 {
                tags.values()
                    .append_value(pick(&TAGS, (h >> (8 + 8 * t)) % 8));
            }
            tags.append(true);
        }
        let address = StructArray::try_new(
            address_fields(),
            vec![
                Arc::new(streets.finish()) as ArrayRef,
                Arc::new(cities.finish()),
                Arc::new(zips.finish()),
                Arc::new(taxes.finish()),
            ],
            None,
        )?;
        RecordBatch::try_new(
            Arc::clone(schema),
            vec![
                Arc::new(Int64Array::from(ids)) as ArrayRef,
                Arc::new(emails.finish()),
                Arc::new(names.finish()),
                Arc::new(ssns.finish()),
                Arc::new(Float64Array::from(amounts)),
                Arc::new(TimestampMicrosecondArray::from(tss).with_timezone("UTC")),
                Arc::new(Int64Array::from(customers)),
                Arc::new(address),
                Arc::new(tags.finish()),
            ],
        )
    }
}
