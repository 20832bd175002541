//! The one error type of the crate.
//!
//! Messages never carry subject data: template and serialisation failures are reduced to
//! their kind, and the guard names only the format it refused.

/// Why a report could not be compiled or rendered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is inconsistent (names the field; never quotes a value).
    #[error("invalid report input: {field} {message}")]
    Input {
        /// The `ReportInput` field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The HTML template failed to load or render.
    #[error("HTML report rendering failed: {0}")]
    Template(String),
    /// The JSON report could not be serialised.
    #[error("JSON report serialisation failed ({0})")]
    Json(String),
    /// The final guard found a forbidden value (a sensitive or identity value of the batch) in
    /// a rendered output; nothing is emitted.
    #[error(
        "report guard: the rendered {format} report contains one of the batch's forbidden values; nothing was emitted"
    )]
    Guard {
        /// The output format that leaked (`json` or `html`).
        format: &'static str,
    },
}

impl From<minijinja::Error> for Error {
    fn from(e: minijinja::Error) -> Self {
        // The kind only: a detailed message could quote a rendered value.
        Error::Template(format!("{:?}", e.kind()))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        let class = match e.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        };
        Error::Json(class.to_string())
    }
}
