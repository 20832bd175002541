//! The report model (its `Serialize` form is the JSON schema) and [`compile`], which applies
//! the withholding rules to a [`ReportInput`].
//!
//! Withholding happens here, once, so every format renders the same already-safe model:
//! sensitive values are replaced by their §7024(d) notice, every other value passes
//! [`redact_free_text`], and with [`Scope::CategoriesOnly`] no piece enters the model at all.

use crate::error::Error;
use crate::input::{Count, DeletionSummary, RecordInput, ReportInput, RetainedCount, Scope};
use crate::redact::redact_free_text;
use chrono::{DateTime, Utc};
use dsr_core::category::{Category, SensitiveKind};
use dsr_core::config::{Business, CategoryDisclosure};
use dsr_core::jurisdiction::{Regime, rules};
use dsr_core::request::{RequestKind, validate_request_id};
use dsr_core::value::Value;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Identifier of the report's JSON schema, written into every report.
pub const SCHEMA: &str = "dsr.report/v1";

/// Citation of the opt-out offer made with a deletion answer.
pub const OPT_OUT_OFFER_CITATION: &str = "11 CCR §7022(f)";

/// The compiled report: what the consumer receives, with sensitive values already withheld.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Schema identifier ([`SCHEMA`]).
    pub schema: &'static str,
    /// Plain-language title.
    pub title: String,
    /// The request answered.
    pub request: RequestInfo,
    /// The business answering, with its privacy contact.
    pub business: Business,
    /// The disclosures chart the categories part comes from.
    pub disclosures: DisclosuresInfo,
    /// The period covered, when limited.
    pub lookback: Option<Lookback>,
    /// Whether specific pieces are disclosed, and if not, why.
    pub scope: ScopeInfo,
    /// The categories part: one entry per category found, in chart order.
    pub categories: Vec<CategoryReport>,
    /// Specific pieces grouped by category (chart order; uncategorised sensitive fields last).
    /// Always empty when `scope.kind` is `categories_only`.
    pub pieces: Vec<PieceGroup>,
    /// How many shown values had numbers redacted by the free-text rules.
    pub free_text_redactions: u64,
    /// Each sensitive kind held about the subject whose values are withheld, once.
    pub withheld: Vec<Withheld>,
    /// Clients (we are their service provider) to contact directly, when any.
    pub clients_to_contact: Option<ClientsToContact>,
    /// The outcome of a deletion request.
    pub deletion: Option<DeletionReport>,
    /// The outcome of a correction request.
    pub correction: Option<CorrectionReport>,
    /// The subject's records show them under 16.
    pub minor_under_16: bool,
    /// What that means for them, when they are.
    pub minor_statement: Option<String>,
}

/// What a report tells a subject under 16 (Cal. Civ. Code §1798.120(c)).
pub const MINOR_STATEMENT: &str = "Our records show that you are under 16. We do not sell or      share your personal information unless you (or, under 13, a parent or guardian) opt in,      and we have recorded that you have not.";

/// The request a report answers.
#[derive(Debug, Clone, Serialize)]
pub struct RequestInfo {
    /// Request id.
    pub id: String,
    /// Request kind.
    pub kind: RequestKind,
    /// Plain-language name of the kind.
    pub kind_label: String,
    /// Jurisdiction code.
    pub jurisdiction: String,
    /// Regime handled under, when any.
    pub regime: Option<Regime>,
    /// The regime's citation for the response, when any.
    pub legal_basis: Option<String>,
    /// When the request was received.
    pub received_at: DateTime<Utc>,
    /// When the report was generated.
    pub generated_at: DateTime<Utc>,
}

/// Which version of the disclosures chart was used.
#[derive(Debug, Clone, Serialize)]
pub struct DisclosuresInfo {
    /// Chart version.
    pub version: String,
    /// Where the chart comes from.
    pub source: String,
}

/// The period a report covers.
#[derive(Debug, Clone, Serialize)]
pub struct Lookback {
    /// Start of the window.
    pub start: DateTime<Utc>,
    /// The window in words.
    pub statement: String,
}

/// Whether specific pieces are disclosed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// Categories and specific pieces.
    SpecificPieces,
    /// Categories only.
    CategoriesOnly,
}

/// The scope of a report, stated for the consumer.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeInfo {
    /// The scope.
    pub kind: ScopeKind,
    /// Why only categories are disclosed (`categories_only`).
    pub reason: Option<String>,
    /// What the report contains, in words.
    pub statement: String,
}

/// A decision taken where the policy's chart is silent.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// The decision.
    pub text: String,
    /// Who took it / where it is recorded.
    pub source: String,
}

/// One category found, as the chart describes it.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryReport {
    /// The category.
    pub category: Category,
    /// Its label.
    pub label: String,
    /// Examples from the chart.
    pub examples: Vec<String>,
    /// Categories of sources.
    pub sources: Vec<String>,
    /// Business or commercial purposes.
    pub purposes: Vec<String>,
    /// Whether it is sold or shared.
    pub sold_or_shared: bool,
    /// Categories of third parties it is disclosed to.
    pub disclosed_to: Vec<String>,
    /// Categories of third parties it is sold or shared to (empty when not sold).
    pub sold_or_shared_to: Vec<String>,
    /// Retention period, when the chart gives one.
    pub retention: Option<String>,
    /// The decision taken where the chart is silent.
    pub decision: Option<Decision>,
}

/// The specific pieces of one category.
#[derive(Debug, Clone, Serialize)]
pub struct PieceGroup {
    /// The category (`None`: sensitive fields without a category).
    pub category: Option<Category>,
    /// Its label.
    pub label: String,
    /// The pieces.
    pub pieces: Vec<Piece>,
}

/// One specific piece of personal information.
#[derive(Clone, Serialize)]
pub struct Piece {
    /// Store it was found in.
    pub source: String,
    /// Record label.
    pub record: String,
    /// Field label.
    pub field: String,
    /// The value as text (`None` for an empty value); for a withheld field, the notice.
    pub value: Option<String>,
    /// The sensitive kind when the value is withheld.
    pub withheld: Option<SensitiveKind>,
    /// Whether numbers in the value were redacted by the free-text rules.
    pub redacted: bool,
}

impl fmt::Debug for Piece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Piece")
            .field("source", &self.source)
            .field("record", &self.record)
            .field("field", &self.field)
            .field("value", &self.value.as_ref().map(|_| "<not shown>"))
            .field("withheld", &self.withheld)
            .field("redacted", &self.redacted)
            .finish()
    }
}

/// A sensitive kind whose values are withheld.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Withheld {
    /// The kind.
    pub kind: SensitiveKind,
    /// Its label.
    pub label: String,
    /// The notice that replaces its values.
    pub notice: String,
}

/// Clients holding data about the subject, to be contacted directly.
#[derive(Debug, Clone, Serialize)]
pub struct ClientsToContact {
    /// Client names, sorted and deduplicated.
    pub clients: Vec<String>,
    /// What the consumer should do, in words.
    pub statement: String,
}

/// Totals of a deletion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeletionTotals {
    /// Records deleted.
    pub deleted: u64,
    /// Records de-identified.
    pub deidentified: u64,
    /// Records kept.
    pub retained: u64,
    /// Records whose deletion failed and will be retried.
    pub failed: u64,
}

/// The outcome of a correction request: what changed where.
#[derive(Debug, Clone, Serialize)]
pub struct CorrectionReport {
    /// The outcome in words.
    pub statement: String,
    /// The fields corrected (their names).
    pub fields: Vec<String>,
    /// Records corrected, per record kind and store.
    pub corrected: Vec<Count>,
    /// Records left as they were, with reason and legal basis.
    pub kept: Vec<RetainedCount>,
    /// Records whose correction failed and will be retried.
    pub failed: Vec<Count>,
}

/// The opt-out offer made with a deletion answer.
#[derive(Debug, Clone, Serialize)]
pub struct OptOutOffer {
    /// The offer.
    pub text: String,
    /// Its citation ([`OPT_OUT_OFFER_CITATION`]).
    pub citation: &'static str,
}

/// The outcome of a deletion request.
#[derive(Debug, Clone, Serialize)]
pub struct DeletionReport {
    /// Totals.
    pub totals: DeletionTotals,
    /// The outcome in words.
    pub statement: String,
    /// Deleted, per record kind.
    pub deleted: Vec<Count>,
    /// De-identified (masked), per record kind.
    pub deidentified: Vec<Count>,
    /// Kept, with reason and legal basis.
    pub retained: Vec<RetainedCount>,
    /// Failed, to be retried.
    pub failed: Vec<Count>,
    /// The opt-out offer, when made.
    pub opt_out_offer: Option<OptOutOffer>,
    /// Who we passed the deletion on to (service providers, contractors, third parties that
    /// received the information).
    pub recipients_told: Vec<String>,
}

/// Compiles the report for `input`, applying every withholding rule.
pub fn compile(input: &ReportInput) -> Result<Report, Error> {
    validate_request_id(&input.request_id).map_err(|m| Error::Input {
        field: "request_id",
        message: m,
    })?;
    let scope = effective_scope(input)?;
    let chart = chart_rows(&input.categories);
    let (pieces, withheld, redactions) = pieces(&input.records, &chart);
    let (scope_info, pieces, free_text_redactions) = match scope {
        Scope::SpecificPieces => (
            ScopeInfo {
                kind: ScopeKind::SpecificPieces,
                reason: None,
                statement: "This report lists the categories of personal information we hold \
                            about you and the specific pieces of it. Sensitive values (such as \
                            government identification numbers, account numbers and passwords) \
                            are described but never shown."
                    .to_string(),
            },
            pieces,
            redactions,
        ),
        Scope::CategoriesOnly { reason } => (
            ScopeInfo {
                kind: ScopeKind::CategoriesOnly,
                statement: format!(
                    "This report lists only the categories of personal information we hold \
                     about you, not the specific pieces. Reason: {reason}"
                ),
                reason: Some(reason),
            },
            Vec::new(),
            0,
        ),
    };
    let regime_rules = input.regime.map(rules);
    Ok(Report {
        schema: SCHEMA,
        title: title(input.kind).to_string(),
        request: RequestInfo {
            id: input.request_id.clone(),
            kind: input.kind,
            kind_label: kind_label(input.kind).to_string(),
            jurisdiction: input.jurisdiction.clone(),
            regime: input.regime,
            legal_basis: regime_rules.map(|r| r.citation.to_string()),
            received_at: input.received_at,
            generated_at: input.generated_at,
        },
        business: input.business.clone(),
        disclosures: DisclosuresInfo {
            version: input.disclosures_version.clone(),
            source: input.disclosures_source.clone(),
        },
        lookback: input.lookback_start.map(|start| Lookback {
            start,
            statement: format!(
                "This report covers personal information collected on or after {}.",
                start.format("%-d %B %Y")
            ),
        }),
        scope: scope_info,
        categories: chart.values().map(category_report).collect(),
        pieces,
        free_text_redactions,
        withheld,
        clients_to_contact: clients(&input.clients_to_contact),
        deletion: input
            .deletion
            .as_ref()
            .filter(|_| input.kind != RequestKind::Correction)
            .map(deletion),
        correction: input
            .deletion
            .as_ref()
            .filter(|_| input.kind == RequestKind::Correction)
            .map(correction),
        minor_under_16: input.minor_under_16,
        minor_statement: input.minor_under_16.then(|| MINOR_STATEMENT.to_string()),
    })
}

/// The scope actually applied: an `access_categories` request never gets specific pieces.
fn effective_scope(input: &ReportInput) -> Result<Scope, Error> {
    match &input.scope {
        Scope::CategoriesOnly { reason } if reason.trim().is_empty() => Err(Error::Input {
            field: "scope",
            message: "categories-only needs the reason stated to the consumer".to_string(),
        }),
        Scope::CategoriesOnly { reason } => Ok(Scope::CategoriesOnly {
            reason: reason.trim().to_string(),
        }),
        Scope::SpecificPieces if input.kind == RequestKind::AccessCategories => {
            Ok(Scope::CategoriesOnly {
                reason: "You asked to know the categories of personal information we hold \
                         about you."
                    .to_string(),
            })
        }
        Scope::SpecificPieces => Ok(Scope::SpecificPieces),
    }
}

fn title(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Access => "Your personal information: access report",
        RequestKind::AccessCategories => "Categories of your personal information",
        RequestKind::Deletion => "Your deletion request: what we did",
        RequestKind::OptOut => "Your request to opt out of sale or sharing",
        RequestKind::OptIn => "Your request to opt in to sale or sharing",
        RequestKind::Correction => "Your correction request: what we changed",
    }
}

fn kind_label(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Access => "Access to your personal information (right to know)",
        RequestKind::AccessCategories => "Categories of your personal information (right to know)",
        RequestKind::Deletion => "Deletion of your personal information",
        RequestKind::OptOut => "Opt-out of sale or sharing",
        RequestKind::OptIn => "Opt-in to sale or sharing",
        RequestKind::Correction => "Correction of inaccurate personal information",
    }
}

fn chart_index(c: Category) -> usize {
    Category::ALL
        .iter()
        .position(|x| *x == c)
        .unwrap_or(Category::ALL.len())
}

/// The chart rows, one per category (first wins), in chart order.
fn chart_rows(rows: &[CategoryDisclosure]) -> BTreeMap<usize, &CategoryDisclosure> {
    let mut out = BTreeMap::new();
    for row in rows {
        out.entry(chart_index(row.category)).or_insert(row);
    }
    out
}

fn category_report(row: &&CategoryDisclosure) -> CategoryReport {
    let label = if row.label.trim().is_empty() {
        row.category.default_label().to_string()
    } else {
        row.label.clone()
    };
    CategoryReport {
        category: row.category,
        label,
        examples: row.examples.clone(),
        sources: row.sources.clone(),
        purposes: row.purposes.clone(),
        sold_or_shared: row.sold,
        disclosed_to: row.third_parties.clone(),
        sold_or_shared_to: if row.sold {
            row.third_parties.clone()
        } else {
            Vec::new()
        },
        retention: row.retention.clone(),
        decision: row.decision.as_ref().map(|(text, source)| Decision {
            text: text.clone(),
            source: source.clone(),
        }),
    }
}

/// Label used for sensitive fields that carry no category.
const SENSITIVE_GROUP_LABEL: &str = "Sensitive personal information";

/// Builds the piece groups, the withheld list and the number of redacted values.
fn pieces(
    records: &[RecordInput],
    chart: &BTreeMap<usize, &CategoryDisclosure>,
) -> (Vec<PieceGroup>, Vec<Withheld>, u64) {
    let mut groups: BTreeMap<usize, PieceGroup> = BTreeMap::new();
    let mut withheld: BTreeMap<SensitiveKind, Withheld> = BTreeMap::new();
    let mut redactions = 0u64;
    for record in records {
        let source = label(&record.source);
        let record_label = label(&record.record_label);
        for field in &record.fields {
            let (value, kind, redacted) = match field.sensitive {
                // An empty sensitive field holds nothing: nothing to withhold or describe.
                Some(_) if field.value.is_null() => continue,
                Some(kind) => {
                    withheld.entry(kind).or_insert_with(|| Withheld {
                        kind,
                        label: kind.label().to_string(),
                        notice: kind.notice(),
                    });
                    (Some(kind.notice()), Some(kind), false)
                }
                None if field.category.is_none() => continue,
                None => match value_text(&field.value) {
                    Some(text) => {
                        let (text, changed) = redact_free_text(&text);
                        (Some(text), None, changed)
                    }
                    None => (None, None, false),
                },
            };
            if redacted {
                redactions += 1;
            }
            let key = field.category.map_or(Category::ALL.len(), chart_index);
            let group = groups.entry(key).or_insert_with(|| PieceGroup {
                category: field.category,
                label: match field.category {
                    Some(c) => chart
                        .get(&key)
                        .map(|row| row.label.clone())
                        .filter(|l| !l.trim().is_empty())
                        .unwrap_or_else(|| c.default_label().to_string()),
                    None => SENSITIVE_GROUP_LABEL.to_string(),
                },
                pieces: Vec::new(),
            });
            group.pieces.push(Piece {
                source: source.clone(),
                record: record_label.clone(),
                field: label(&field.label),
                value,
                withheld: kind,
                redacted,
            });
        }
    }
    (
        groups.into_values().collect(),
        withheld.into_values().collect(),
        redactions,
    )
}

/// A label from the data map, passed through the free-text rules as well (defence in depth).
fn label(text: &str) -> String {
    redact_free_text(text).0
}

/// The text form of a value; `None` for NULL.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Bytes(b) => Some(format!("binary data ({} bytes)", b.len())),
        other => other.as_text(),
    }
}

fn clients(names: &[String]) -> Option<ClientsToContact> {
    let mut clients: Vec<String> = names
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    clients.sort();
    clients.dedup();
    if clients.is_empty() {
        return None;
    }
    Some(ClientsToContact {
        clients,
        statement: "These businesses (our Clients) also hold personal information about you. \
                    We process it only on their behalf, as their service provider, so this \
                    request did not cover it: please contact them directly to exercise your \
                    rights over that information."
            .to_string(),
    })
}

fn sum<'a>(counts: impl Iterator<Item = &'a u64>) -> u64 {
    counts.fold(0u64, |a, b| a.saturating_add(*b))
}

fn correction(d: &DeletionSummary) -> CorrectionReport {
    let corrected = sum(d.masked.iter().map(|c| &c.count));
    let kept = sum(d.retained.iter().map(|c| &c.count));
    let mut statement = format!(
        "We corrected {} in {corrected} record(s); records that already held the accurate \
         information were left as they were.",
        d.corrected_fields.join(", ")
    );
    if kept > 0 {
        statement.push_str(&format!(
            " We did not change {kept} record(s); the reasons are listed below."
        ));
    }
    let failed = sum(d.failed.iter().map(|c| &c.count));
    if failed > 0 {
        statement.push_str(&format!(
            " {failed} record(s) could not be corrected yet; we will retry."
        ));
    }
    CorrectionReport {
        statement,
        fields: d.corrected_fields.clone(),
        corrected: d.masked.clone(),
        kept: d.retained.clone(),
        failed: d.failed.clone(),
    }
}

fn deletion(d: &DeletionSummary) -> DeletionReport {
    let totals = DeletionTotals {
        deleted: sum(d.deleted.iter().map(|c| &c.count)),
        deidentified: sum(d.masked.iter().map(|c| &c.count)),
        retained: sum(d.retained.iter().map(|c| &c.count)),
        failed: sum(d.failed.iter().map(|c| &c.count)),
    };
    let mut statement = format!(
        "We deleted {} record(s) and de-identified {} record(s) so they can no longer be linked \
         to you.",
        totals.deleted, totals.deidentified
    );
    if totals.retained > 0 {
        statement.push_str(&format!(
            " We kept {} record(s) because the law allows or requires us to; the reasons are \
             listed below.",
            totals.retained
        ));
    }
    if totals.failed > 0 {
        statement.push_str(&format!(
            " {} record(s) could not be deleted yet; we will retry.",
            totals.failed
        ));
    }
    DeletionReport {
        totals,
        statement,
        deleted: d.deleted.clone(),
        deidentified: d.masked.clone(),
        retained: d.retained.clone(),
        failed: d.failed.clone(),
        recipients_told: d.recipients_told.clone(),
        opt_out_offer: d
            .opt_out_offer
            .as_ref()
            .filter(|t| !t.trim().is_empty())
            .map(|text| OptOutOffer {
                text: text.clone(),
                citation: OPT_OUT_OFFER_CITATION,
            }),
    }
}
