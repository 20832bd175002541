//! The validated configuration: data map, disclosures chart, settings.

use crate::category::{Category, SensitiveKind};
use crate::exemption::Exemptions;
use crate::identity::Normalizer;
use crate::mask::MaskStrategy;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Kind of store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// SQLite database file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL / MariaDB.
    Mysql,
    /// Parquet lake.
    Parquet,
    /// Whole objects on S3 or disk.
    Objects,
}

impl StoreKind {
    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<StoreKind> {
        Some(match s {
            "sqlite" => StoreKind::Sqlite,
            "postgres" => StoreKind::Postgres,
            "mysql" => StoreKind::Mysql,
            "parquet" => StoreKind::Parquet,
            "objects" => StoreKind::Objects,
            _ => return None,
        })
    }

    /// Whether the store is SQL.
    pub fn is_sql(self) -> bool {
        matches!(
            self,
            StoreKind::Sqlite | StoreKind::Postgres | StoreKind::Mysql
        )
    }
}

/// `store.table`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TableRef {
    /// Store name.
    pub store: String,
    /// Table name.
    pub table: String,
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.store, self.table)
    }
}

/// `store.table.column`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ColumnRef {
    /// The table.
    pub table: TableRef,
    /// Column name.
    pub column: String,
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

/// What deletion does to a table's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EraseAction {
    /// Delete the record.
    Delete,
    /// Overwrite these columns.
    Mask(Vec<(String, MaskStrategy)>),
    /// Keep every record, on this basis.
    Retain(String),
}

/// Kind of relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// This record belongs to the owner of the target.
    OwnedBy,
    /// The target record belongs (also) to this record's owner.
    Owns,
    /// A plain link; not followed.
    References,
}

/// A relation from a column to a column of another table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// Kind.
    pub kind: EdgeKind,
    /// Target column.
    pub target: ColumnRef,
}

/// Identity role of a column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityRole {
    /// Identity type.
    pub kind: String,
    /// Normaliser of the type.
    pub normalizer: Normalizer,
    /// Unique to one subject: found values re-seed the search.
    pub unique: bool,
}

/// One mapped column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnMap {
    /// Column name.
    pub name: String,
    /// Label in reports.
    pub label: String,
    /// PI category (reported when set).
    pub category: Option<Category>,
    /// Sensitive kind (withheld when set).
    pub sensitive: Option<SensitiveKind>,
    /// Identity role.
    pub identity: Option<IdentityRole>,
    /// Relation.
    pub edge: Option<Edge>,
}

/// One mapped table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableMap {
    /// Which table.
    pub id: TableRef,
    /// Label in reports.
    pub label: String,
    /// Erase action.
    pub erase: EraseAction,
    /// Key columns (config, else the live primary key; filled in before a run).
    pub key: Vec<String>,
    /// Column naming the Client a row is held for.
    pub client_column: Option<String>,
    /// Column giving the collection time.
    pub collected_at: Option<String>,
    /// Mapped columns.
    pub columns: Vec<ColumnMap>,
    /// Declared type of every live column (filled from the live schema before a run).
    pub column_types: BTreeMap<String, String>,
    /// Objects stores: the key prefix template (`recordings/{customer_id}/`).
    pub objects: Option<ObjectsTemplate>,
    /// Parquet stores: which files hold the table.
    pub lake: Option<LakeTable>,
}

/// How hard a Parquet store may work the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LakeLimits {
    /// Row groups decoded at once.
    pub threads: Option<usize>,
    /// Memory budget of a find, in MiB.
    pub memory_mb: Option<usize>,
}

/// The files of a Parquet table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LakeTable {
    /// Glob relative to the lake URL.
    pub files: String,
    /// Identity columns the lake stores already normalised (pruning by statistics and bloom
    /// filters is safe on them).
    pub normalized: Vec<String>,
}

/// Where a subject's objects are: `prefix` + the identity value + `suffix` (a key prefix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectsTemplate {
    /// Text before the placeholder.
    pub prefix: String,
    /// The mapped identity column whose value fills the placeholder.
    pub column: String,
    /// Text after it.
    pub suffix: String,
}

impl ObjectsTemplate {
    /// Parses `before{column}after` with exactly one placeholder.
    pub fn parse(t: &str) -> Option<ObjectsTemplate> {
        let (prefix, rest) = t.split_once('{')?;
        let (column, suffix) = rest.split_once('}')?;
        if column.is_empty() || suffix.contains(['{', '}']) || prefix.contains('}') {
            return None;
        }
        Some(ObjectsTemplate {
            prefix: prefix.into(),
            column: column.into(),
            suffix: suffix.into(),
        })
    }

    /// The key prefix of one identity value, or `None` for a value that could reach outside
    /// it (empty, `/`, `\\`, `..`, control characters).
    pub fn key_prefix(&self, value: &str) -> Option<String> {
        let unsafe_value = value.is_empty()
            || value.contains(['/', '\\'])
            || value.contains("..")
            || value.chars().any(char::is_control);
        (!unsafe_value).then(|| format!("{}{value}{}", self.prefix, self.suffix))
    }
}

impl TableMap {
    /// A mapped column by name.
    pub fn column(&self, name: &str) -> Option<&ColumnMap> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The longest text the column holds, from a declared `varchar(n)`/`char(n)`.
    pub fn max_text_len(&self, column: &str) -> Option<usize> {
        let t = self.column_types.get(column)?.to_ascii_lowercase();
        if !t.contains("char") {
            return None;
        }
        let inner = t.split_once('(')?.1.split_once(')')?.0;
        inner.trim().parse().ok()
    }

    /// Every column dsr reads from this table: key, mapped, client and collection columns
    /// (sorted, without duplicates).
    pub fn select_columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = self.key.clone();
        cols.extend(self.columns.iter().map(|c| c.name.clone()));
        cols.extend(self.client_column.iter().cloned());
        cols.extend(self.collected_at.iter().cloned());
        cols.sort();
        cols.dedup();
        cols
    }

    /// Columns with an identity role.
    pub fn identity_columns(&self) -> impl Iterator<Item = (&ColumnMap, &IdentityRole)> {
        self.columns
            .iter()
            .filter_map(|c| c.identity.as_ref().map(|i| (c, i)))
    }
}

/// One store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreMap {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: StoreKind,
    /// Connection URL (after `${ENV}` interpolation). Not serialised: it may hold secrets.
    #[serde(skip)]
    pub url: String,
    /// Whole store held for this Client.
    pub client: Option<String>,
    /// Table fencing erasures per request (SQL stores).
    pub fence_table: String,
    /// Parquet stores: threads and memory budget (`None`: the defaults).
    pub lake_limits: LakeLimits,
    /// S3 access for `s3://` URLs (the `[s3]` of `dsr.toml`).
    #[serde(skip)]
    pub s3: S3Settings,
    /// Tables.
    pub tables: Vec<TableMap>,
}

/// The data map: every store, table and column dsr knows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DataMap {
    /// Stores by name order.
    pub stores: Vec<StoreMap>,
}

impl DataMap {
    /// A table by reference.
    pub fn table(&self, id: &TableRef) -> Option<&TableMap> {
        self.store(&id.store)
            .and_then(|s| s.tables.iter().find(|t| t.id.table == id.table))
    }

    /// Mutable table by reference.
    pub fn table_mut(&mut self, id: &TableRef) -> Option<&mut TableMap> {
        self.stores
            .iter_mut()
            .find(|s| s.name == id.store)
            .and_then(|s| s.tables.iter_mut().find(|t| t.id.table == id.table))
    }

    /// A store by name.
    pub fn store(&self, name: &str) -> Option<&StoreMap> {
        self.stores.iter().find(|s| s.name == name)
    }

    /// Every table.
    pub fn tables(&self) -> impl Iterator<Item = &TableMap> {
        self.stores.iter().flat_map(|s| s.tables.iter())
    }

    /// Tables in erase order: a table comes before every table its relations point to
    /// (children before parents). Relations are validated acyclic, so this is total.
    pub fn erase_order(&self) -> Vec<TableRef> {
        let tables: Vec<&TableMap> = self.tables().collect();
        let mut done: Vec<TableRef> = Vec::new();
        // Repeatedly emit tables that no remaining table points to.
        let mut remaining: Vec<&TableMap> = tables.clone();
        while !remaining.is_empty() {
            let before = remaining.len();
            let mut next = Vec::new();
            for t in &remaining {
                let pointed_to = remaining.iter().any(|other| {
                    other.id != t.id
                        && other
                            .columns
                            .iter()
                            .filter_map(|c| c.edge.as_ref())
                            .any(|e| e.target.table == t.id)
                });
                if pointed_to {
                    next.push(*t);
                } else {
                    done.push(t.id.clone());
                }
            }
            remaining = next;
            if remaining.len() == before {
                // A cycle (rejected by validation); emit the rest in name order.
                done.extend(remaining.iter().map(|t| t.id.clone()));
                break;
            }
        }
        done
    }
}

/// The policy chart for one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryDisclosure {
    /// Category.
    pub category: Category,
    /// Label.
    pub label: String,
    /// Examples.
    pub examples: Vec<String>,
    /// Sources.
    pub sources: Vec<String>,
    /// Purposes.
    pub purposes: Vec<String>,
    /// Sold or shared.
    pub sold: bool,
    /// Third parties.
    pub third_parties: Vec<String>,
    /// Retention.
    pub retention: Option<String>,
    /// Decision where the chart is silent, with its source.
    pub decision: Option<(String, String)>,
}

/// The chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disclosures {
    /// Version named on every report.
    pub version: String,
    /// Source of the chart.
    pub source: String,
    /// Per category.
    pub categories: BTreeMap<Category, CategoryDisclosure>,
    /// Decisions where the chart is silent.
    pub decisions: Vec<super::files::DecisionFile>,
}

/// The business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Business {
    /// Legal name.
    pub name: String,
    /// Privacy contact.
    pub privacy_contact: String,
    /// Sells or shares PI.
    pub sells: bool,
    /// Opt-out link.
    pub opt_out_url: Option<String>,
    /// Business days on legal clocks: the company's time zone and holidays.
    #[serde(skip)]
    pub calendar: crate::jurisdiction::Calendar,
}

/// Deployment settings from `dsr.toml`, after interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Control DB URL.
    pub control_db: String,
    /// Evidence location.
    pub evidence: String,
    /// Delivery location.
    pub delivery: String,
    /// Keyed-hash secret.
    pub hash_key: String,
    /// Months evidence is kept.
    pub record_keeping_months: u32,
    /// The business.
    pub business: Business,
    /// Identity type → normaliser.
    pub identity_types: BTreeMap<String, Normalizer>,
    /// Identity types whose values several people may share (`shared = true`).
    pub shared_identity_types: std::collections::BTreeSet<String>,
    /// Manifest signing.
    pub signing: Option<Signing>,
    /// S3 access.
    pub s3: S3Settings,
    /// Days a delivered report's link stays valid.
    pub report_link_days: u32,
    /// Data-point type → its rule (`[data_points]`).
    pub data_point_types: BTreeMap<String, crate::verification::PointRule>,
    /// Days within which a request repeating another is a duplicate (0: never).
    pub duplicate_window_days: u32,
    /// The Data Rights Protocol (`[drp]`), when configured.
    pub drp: Option<super::agents::DrpSettings>,
}

/// A secret string whose `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Manifest signing: the key to sign with and the keys to accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    /// Key id named in each manifest.
    pub key_id: String,
    /// Private key (64 hex digits), when this process signs.
    pub private_key: Option<Secret>,
    /// Public keys (64 hex digits) by key id.
    pub public_keys: BTreeMap<String, String>,
}

/// S3 access settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Settings {
    /// Endpoint URL override.
    pub endpoint: Option<String>,
    /// Region override.
    pub region: Option<String>,
    /// Path-style addressing.
    pub path_style: bool,
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Settings.
    pub settings: Settings,
    /// Data map.
    pub data_map: DataMap,
    /// Chart.
    pub disclosures: Disclosures,
    /// Exemption rules and holds.
    pub exemptions: Exemptions,
    /// Verification data-point columns, per-store deletion levels, birth-date columns.
    pub verification: super::verify::VerificationMap,
    /// DROP lists and their sources (`[drop]`), when the business processes them.
    pub drop: Option<super::drop::DropSettings>,
    /// Correctable fields and the columns holding them.
    pub corrections: super::correct::CorrectionMap,
    /// Recipients of subjects' personal information (`[[recipients]]`).
    pub recipients: Vec<super::recipients::Recipient>,
}
