//! The on-disk shape of the configuration: serde structs, one per file kind.
//!
//! Every struct denies unknown fields, so a typo is an error rather than a silently ignored
//! setting. The doc comment of each field is its user documentation.

use serde::Deserialize;
use std::collections::BTreeMap;

/// `dsr.toml`: where things live and deployment-wide settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    /// Control database URL (`sqlite://path` now; `postgres://…` for many workers).
    /// `${VAR}` and `${VAR:-default}` are taken from the environment.
    pub control_db: String,
    /// Evidence location: a directory (S3 URLs come with the S3 sink).
    pub evidence: String,
    /// Delivery location for reports: a directory.
    pub delivery: String,
    /// Secret key of the keyed hashes in evidence; give it through the environment.
    pub hash_key: String,
    /// Months evidence is kept (11 CCR §7101: at least 24).
    #[serde(default = "default_record_keeping")]
    pub record_keeping_months: u32,
    /// The business answering the requests.
    pub business: BusinessFile,
    /// Identity types requests may carry and how each is normalised.
    pub identities: BTreeMap<String, IdentityTypeFile>,
    /// Signing of evidence manifests (Ed25519). Without it manifests are unsigned.
    #[serde(default)]
    pub signing: Option<SigningFile>,
    /// Access to S3 and S3-compatible servers, for `s3://` evidence and delivery locations.
    #[serde(default)]
    pub s3: Option<S3File>,
    /// Days a delivered report's link stays valid (a presigned URL on S3). Default 5.
    #[serde(default = "default_link_days")]
    pub report_link_days: u32,
    /// Data-point types a request may carry for dsr to verify the requester (matched against
    /// columns declared `verify = "<type>"`), and how each is normalised.
    #[serde(default)]
    pub data_points: BTreeMap<String, DataPointTypeFile>,
    /// Intake of requests.
    #[serde(default)]
    pub requests: Option<RequestsFile>,
    /// California's DROP deletion lists (data brokers): which lists, and where their fields
    /// are. Without it `dsr drop` refuses to run.
    #[serde(default)]
    pub drop: Option<super::drop::DropFile>,
    /// Who receives subjects' personal information and how each is told of deletions and
    /// opt-outs (see [`super::recipients::RecipientFile`]).
    #[serde(default)]
    pub recipients: Vec<super::recipients::RecipientFile>,
    /// The Data Rights Protocol: our business id and the authorized agents we accept
    /// (see [`super::agents::DrpFile`]). Without it the DRP endpoints refuse every request.
    #[serde(default)]
    pub drp: Option<super::agents::DrpFile>,
}

/// `[data_points.<type>]` in `dsr.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataPointTypeFile {
    /// `email`, `phone`, `exact`, `case_insensitive`, `last4` (the last four digits of a card
    /// or account number), `postcode` (letters and digits, upper-cased) or `date`
    /// (`YYYY-MM-DD`).
    pub normalize: crate::verification::PointRule,
}

/// `[requests]` in `dsr.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsFile {
    /// A request of the same kind about the same subject (the same identities) as an open
    /// request, or one answered, received within this many days is a duplicate: it is linked
    /// to that request and not run again. Default 7; 0 turns the check off.
    #[serde(default = "default_duplicate_window")]
    pub duplicate_window_days: u32,
}

/// Default `[requests] duplicate_window_days`.
pub fn default_duplicate_window() -> u32 {
    7
}

fn default_link_days() -> u32 {
    5
}

/// `[signing]` in `dsr.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningFile {
    /// Id of the key manifests are signed with (named in each manifest); 1–64 of
    /// `A-Z a-z 0-9 . _ -`.
    pub key_id: String,
    /// The Ed25519 private key as 64 hex digits (its 32-byte seed). Give it through the
    /// environment (`"${DSR_SIGNING_KEY}"`); empty means this process does not sign.
    #[serde(default)]
    pub private_key: Option<String>,
    /// Public keys (64 hex digits) by key id: what `dsr audit verify` accepts. Keep retired
    /// keys here so old manifests still verify.
    #[serde(default)]
    pub public_keys: BTreeMap<String, String>,
}

/// `[s3]` in `dsr.toml`. Credentials come from the standard AWS environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …), never from this file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3File {
    /// Endpoint URL of an S3-compatible server; default the SDK's (`AWS_ENDPOINT_URL`, AWS).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region; default the SDK's (`AWS_REGION`).
    #[serde(default)]
    pub region: Option<String>,
    /// Path-style addressing (`http://host/bucket/key`), which most S3-compatible servers need.
    #[serde(default)]
    pub path_style: bool,
}

fn default_record_keeping() -> u32 {
    24
}

/// `[business]` in `dsr.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessFile {
    /// Legal name shown on reports.
    pub name: String,
    /// Contact for privacy questions, shown on reports.
    pub privacy_contact: String,
    /// Whether the business sells or shares PI (then deletion answers offer the opt-out).
    pub sells: bool,
    /// Where the consumer opts out (shown when `sells`).
    #[serde(default)]
    pub opt_out_url: Option<String>,
    /// The company's IANA time zone (e.g. `America/Los_Angeles`): business days on legal
    /// clocks are its days, and `dsr schedule` jobs default to it. Default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Days that are not business days on legal clocks besides weekends (`YYYY-MM-DD`).
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// `[identities.<type>]` in `dsr.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityTypeFile {
    /// `email`, `phone`, `exact` or `case_insensitive`.
    pub normalize: crate::identity::Normalizer,
    /// Values of this type may belong to several people (a household's phone): the tombstone
    /// sweep and the ingestion check never take one for a deleted person's. Default false.
    #[serde(default)]
    pub shared: bool,
}

/// `stores/<name>.toml`: one data store.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreFile {
    /// `sqlite` (now); `postgres`, `mysql`, `parquet`, `objects` follow.
    pub kind: String,
    /// Connection URL; secrets only through `${ENV}`.
    pub url: String,
    /// Store name; defaults to the file name without `.toml`.
    #[serde(default)]
    pub name: Option<String>,
    /// The whole store is held for this Client (we are its service provider): direct
    /// requests never touch it, and their reports name the Client to contact.
    #[serde(default)]
    pub client: Option<String>,
    /// What the store is, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// Table dsr keeps in the store to fence erasures and count them per request (created on
    /// the first erasure; `schema.table` allowed). Default `dsr_fence`.
    #[serde(default)]
    pub fence_table: Option<String>,
    /// Parquet stores only: row groups decoded at once (default: the number of cores).
    #[serde(default)]
    pub threads: Option<usize>,
    /// Parquet stores only: memory budget, in MiB, for column data being decoded during a find
    /// (16–65536; default 128). Memory follows this budget, not the size of the files.
    #[serde(default)]
    pub memory_mb: Option<usize>,
    /// The verification a deletion request must reach for this store's records to be deleted:
    /// `reasonable` (default) or `reasonably_high` (stores holding sensitive data). Records of
    /// a store requiring more than the request reached are kept, and the answer says why.
    #[serde(default)]
    pub deletion_verification: Option<String>,
    /// Mapped tables by name (`schema.table` allowed).
    #[serde(default)]
    pub tables: BTreeMap<String, TableFile>,
}

/// `[tables.<name>]` in a store file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableFile {
    /// What deletion does to this table's records: `delete`, `mask` or `retain`.
    pub erase: String,
    /// With `erase = "mask"`: column → `null` | `fixed:VALUE` | `random[:N]` | `truncate:year|month|day|N`.
    #[serde(default)]
    pub mask: BTreeMap<String, String>,
    /// With `erase = "retain"`: the legal basis for keeping every record.
    #[serde(default)]
    pub retain_basis: Option<String>,
    /// Key columns; defaults to the live primary key.
    #[serde(default)]
    pub key: Option<Vec<String>>,
    /// Column holding the Client a row is held for (NULL = our own data).
    #[serde(default)]
    pub client_column: Option<String>,
    /// Human name of the table in reports.
    #[serde(default)]
    pub label: Option<String>,
    /// Objects stores only: where a subject's objects are, as a key prefix with one
    /// `{column}` placeholder naming a mapped identity column, e.g. `recordings/{customer_id}/`.
    /// Such a "table" has the columns `key`, `size` and `content_type` plus that column.
    #[serde(default)]
    pub objects: Option<String>,
    /// Parquet stores only: the table's files, as a glob relative to the lake URL
    /// (`events/**/*.parquet`; `*` stays within one directory, `**` crosses them). Default
    /// `**/*.parquet`. dsr's own objects under `_dsr/` never count.
    #[serde(default)]
    pub files: Option<String>,
    /// Mapped columns.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnFile>,
}

/// `columns.<name>` in a table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnFile {
    /// PI category of the values (reported); absent for structural columns.
    #[serde(default)]
    pub category: Option<String>,
    /// Sensitive kind: the value is withheld from every report.
    #[serde(default)]
    pub sensitive: Option<toml::Value>,
    /// The column holds identities of this type.
    #[serde(default)]
    pub identity: Option<String>,
    /// The identity is unique to one subject (a customer id): found values re-seed the search.
    #[serde(default)]
    pub unique: bool,
    /// Ownership: the record belongs to the owner of `table.column` (or `store.table.column`)
    /// with the same value. Followed when searching.
    #[serde(default)]
    pub owned_by: Option<String>,
    /// Ownership the other way: the record at `table.column` with this value belongs to this
    /// record's owner (a customer's address). Followed when searching; kept while another
    /// owner remains.
    #[serde(default)]
    pub owns: Option<String>,
    /// A plain link to `table.column` (a card used on an order): never followed, never
    /// disclosed beyond the link; orders deletion (this table before the target).
    #[serde(default)]
    pub references: Option<String>,
    /// `collected_at`: the record's collection time, which drives the lookback window;
    /// `birth_date`: the subject's date of birth (`YYYY-MM-DD`), which shows a minor under 16.
    #[serde(default)]
    pub role: Option<String>,
    /// The column holds a verification data point of this type (declared in `dsr.toml`
    /// `[data_points]`): a requester's data point of the type is matched against it, in the
    /// subject's own records only, e.g. `verify = "card_last4"` on a card number.
    #[serde(default)]
    pub verify: Option<String>,
    /// Human name of the field in reports.
    #[serde(default)]
    pub label: Option<String>,
    /// The column holds this correctable field (`full_name`, `phone`, …): a `correction`
    /// request naming the field overwrites it, in the subject's own records, with the accurate
    /// value. SQL stores only; never a key or a unique identity.
    #[serde(default)]
    pub correct: Option<String>,
    /// Parquet stores, identity columns only: the lake stores this column already normalised
    /// (emails trimmed and lower-cased …), so dsr may skip row groups by min/max statistics and
    /// bloom filters. Leave it off when unsure: matching stays correct, only slower.
    #[serde(default)]
    pub normalized: bool,
}

/// `disclosures.toml`: the chart of the privacy policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosuresFile {
    /// Version of the chart, named on every report.
    pub version: String,
    /// Where the chart comes from (policy name and date).
    pub source: String,
    /// Per category key (`contact`, …).
    pub category: BTreeMap<String, CategoryFile>,
    /// Decisions taken where the chart is silent (e.g. retention).
    #[serde(default)]
    pub decisions: Vec<DecisionFile>,
}

/// `[category.<key>]` in `disclosures.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryFile {
    /// Label shown to consumers.
    pub label: String,
    /// Examples the policy gives.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Categories of sources.
    pub sources: Vec<String>,
    /// Business or commercial purposes.
    pub purposes: Vec<String>,
    /// Sold or shared.
    pub sold: bool,
    /// Categories of third parties disclosed to (and, when `sold`, sold/shared to).
    pub third_parties: Vec<String>,
    /// How long the category is kept.
    #[serde(default)]
    pub retention: Option<String>,
    /// Where the chart is silent: the decision taken for this row.
    #[serde(default)]
    pub decision: Option<String>,
    /// Who took the decision / where it comes from.
    #[serde(default)]
    pub decision_source: Option<String>,
}

/// `[[decisions]]` in `disclosures.toml`.
#[derive(Debug, Deserialize, serde::Serialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DecisionFile {
    /// Topic (`retention`, …).
    pub topic: String,
    /// The decision.
    pub decision: String,
    /// Source / owner of the decision.
    pub source: String,
}

/// `exemptions.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemptionsFile {
    /// Per-record rules.
    #[serde(default)]
    pub exemption: Vec<ExemptionFile>,
    /// Legal holds.
    #[serde(default)]
    pub legal_hold: Vec<LegalHoldFile>,
}

/// `[[exemption]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemptionFile {
    /// Unique name.
    pub name: String,
    /// Legal basis: a citation (its regime is known by its prefix, e.g. `Cal. Civ. Code
    /// §1798.105(d)(1): …` is CCPA, `GDPR Art. 17(3)(b): …` is GDPR), or one per regime,
    /// `{ ccpa = "…", gdpr = "…" }`. The rule keeps records only for requests under a regime it
    /// has a basis for; a citation no regime knows is refused.
    pub basis: BasisFile,
    /// `store.table` names covered.
    pub tables: Vec<String>,
    /// Condition: `{ column = "c", in = [..] | equals = v | is_true = b | younger_than_days = n |
    /// older_than_days = n }`, or `{ all = [..] }` / `{ any = [..] }`.
    pub when: toml::Value,
}

/// A legal basis: one citation, or one per regime (`ccpa`, `gdpr`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum BasisFile {
    /// One citation.
    One(String),
    /// Regime key → citation.
    PerRegime(std::collections::BTreeMap<String, String>),
}

/// `[[legal_hold]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldFile {
    /// Matter name / case number.
    pub name: String,
    /// Legal basis, as for `[[exemption]]`. A hold keeps the subjects' records under every
    /// regime; it cites its basis under the request's regime, or its first one.
    pub basis: BasisFile,
    /// Subjects held: `{ type = "customer_id", value = "1042" }`.
    pub identities: Vec<HoldIdentityFile>,
}

/// One identity on a legal hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldIdentityFile {
    /// Identity type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Value (normalised on load).
    pub value: String,
}
