//! `dsr-report`: the report a consumer receives for an access, access-categories or deletion
//! request.
//!
//! * [`compile`] turns a [`ReportInput`] into a [`Report`], applying every withholding rule:
//!   sensitive values (11 CCR §7024(d)) are replaced by their notice and listed in
//!   [`Report::withheld`]; every other value passes [`redact_free_text`] (SSN patterns and
//!   Luhn-valid card numbers); a categories-only report carries no specific piece at all.
//! * [`render_json`] and [`render_html`] render the compiled report; the HTML is
//!   self-contained and every value in it is escaped.
//! * [`render`] does all of it and applies the final guard: an output containing any of the
//!   batch's forbidden values is refused with [`Error::Guard`].

mod error;
mod input;
mod redact;
mod render;
mod report;

pub use error::Error;
pub use input::{
    Count, DeletionSummary, FieldInput, RecordInput, ReportInput, RetainedCount, Scope,
};
pub use redact::{CARD_REDACTION, SSN_REDACTION, redact_free_text};
pub use render::{GUARD_MIN_CHARS, Rendered, render, render_html, render_json};
pub use report::{
    CategoryReport, ClientsToContact, Decision, DeletionReport, DeletionTotals, DisclosuresInfo,
    Lookback, OPT_OUT_OFFER_CITATION, OptOutOffer, Piece, PieceGroup, Report, RequestInfo, SCHEMA,
    ScopeInfo, ScopeKind, Withheld, compile,
};
