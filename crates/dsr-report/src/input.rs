//! What the engine hands over for one request's report.
//!
//! These types carry subject data, so their `Debug` output shows structure and counts only,
//! never a value.

use chrono::{DateTime, Utc};
use dsr_core::category::{Category, SensitiveKind};
use dsr_core::config::{Business, CategoryDisclosure};
use dsr_core::jurisdiction::Regime;
use dsr_core::request::RequestKind;
use dsr_core::value::Value;
use serde::Serialize;
use std::fmt;

/// Everything one report is compiled from.
#[derive(Clone)]
pub struct ReportInput {
    /// The request id (never PI).
    pub request_id: String,
    /// What the subject asked for.
    pub kind: RequestKind,
    /// Jurisdiction code (`CA`, `EU`, …).
    pub jurisdiction: String,
    /// The regime the request was handled under, when dsr serves one there.
    pub regime: Option<Regime>,
    /// When the business received the request.
    pub received_at: DateTime<Utc>,
    /// When this report was generated.
    pub generated_at: DateTime<Utc>,
    /// The business answering.
    pub business: Business,
    /// Version of the disclosures chart the categories part comes from.
    pub disclosures_version: String,
    /// Source of that chart (the privacy policy it mirrors).
    pub disclosures_source: String,
    /// Specific pieces, or categories only with the reason (access_categories request, or
    /// access verified only to a reasonable degree).
    pub scope: Scope,
    /// Start of the window the report covers, when the regime limits it.
    pub lookback_start: Option<DateTime<Utc>>,
    /// Chart rows of the categories actually found for this subject.
    pub categories: Vec<CategoryDisclosure>,
    /// The records found, one per row/object.
    pub records: Vec<RecordInput>,
    /// Clients (we are their service provider) holding data about the subject that this
    /// direct request did not touch.
    pub clients_to_contact: Vec<String>,
    /// For deletion requests (and correction requests: see
    /// [`DeletionSummary::corrected_fields`]).
    pub deletion: Option<DeletionSummary>,
    /// Sensitive values (and identity values) seen in this batch: a final guard refuses to
    /// emit any rendered output that contains one of them.
    pub forbidden: Vec<String>,
    /// The subject's records show them under 16: their personal information is not sold or
    /// shared without an opt-in, and the report says so.
    pub minor_under_16: bool,
}

impl fmt::Debug for ReportInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportInput")
            .field("request_id", &self.request_id)
            .field("kind", &self.kind)
            .field("jurisdiction", &self.jurisdiction)
            .field("regime", &self.regime)
            .field("received_at", &self.received_at)
            .field("generated_at", &self.generated_at)
            .field("disclosures_version", &self.disclosures_version)
            .field("scope", &self.scope)
            .field("lookback_start", &self.lookback_start)
            .field("categories", &self.categories.len())
            .field("records", &self.records)
            .field("clients_to_contact", &self.clients_to_contact)
            .field("deletion", &self.deletion)
            .field("forbidden", &self.forbidden.len())
            .field("minor_under_16", &self.minor_under_16)
            .finish_non_exhaustive()
    }
}

/// How much the report may disclose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// Categories and the specific pieces of personal information.
    SpecificPieces,
    /// Categories only; no specific piece is disclosed.
    CategoriesOnly {
        /// Why only categories are disclosed, in words the consumer understands.
        reason: String,
    },
}

/// One record found (a row or an object).
#[derive(Clone)]
pub struct RecordInput {
    /// Store name, e.g. `crm`.
    pub source: String,
    /// Human label of the record, e.g. `Customer profile`.
    pub record_label: String,
    /// The record's fields.
    pub fields: Vec<FieldInput>,
}

impl fmt::Debug for RecordInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordInput")
            .field("source", &self.source)
            .field("record_label", &self.record_label)
            .field("fields", &self.fields)
            .finish()
    }
}

/// One field of a record.
#[derive(Clone)]
pub struct FieldInput {
    /// Human label of the field, e.g. `Email address`.
    pub label: String,
    /// The PI category; fields with neither category nor sensitive kind are not shown.
    pub category: Option<Category>,
    /// The sensitive kind: the value is then never shown, only the kind's notice.
    pub sensitive: Option<SensitiveKind>,
    /// The value.
    pub value: Value,
}

impl fmt::Debug for FieldInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldInput")
            .field("label", &self.label)
            .field("category", &self.category)
            .field("sensitive", &self.sensitive)
            .field("value", &"<not shown>")
            .finish()
    }
}

/// The outcome of a deletion request, in counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeletionSummary {
    /// Records deleted.
    pub deleted: Vec<Count>,
    /// Records de-identified (masked).
    pub masked: Vec<Count>,
    /// Records kept, with the reason and legal basis.
    pub retained: Vec<RetainedCount>,
    /// Records whose deletion failed and will be retried.
    pub failed: Vec<Count>,
    /// The offer to opt out of sale/sharing (11 CCR §7022(f)), when made.
    pub opt_out_offer: Option<String>,
    /// Correction requests: the fields corrected (names, never values). For a correction,
    /// `masked` counts the records corrected and `retained` those left as they were.
    pub corrected_fields: Vec<String>,
    /// Recipients of the subject's information told of the deletion (names), and those to be
    /// told by hand or whose notification failed and is followed up.
    pub recipients_told: Vec<String>,
}

/// A number of records of one kind in one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// Human label of the records, e.g. `Orders`.
    pub record_label: String,
    /// Store name.
    pub source: String,
    /// How many.
    pub count: u64,
}

/// A number of records kept, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetainedCount {
    /// Human label of the records.
    pub record_label: String,
    /// Store name.
    pub source: String,
    /// How many.
    pub count: u64,
    /// Why they are kept, in plain language.
    pub reason: String,
    /// The legal basis (statute / regulation).
    pub basis: String,
}
