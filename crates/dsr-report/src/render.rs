//! Rendering: pretty JSON, self-contained HTML, and the final guard on both.
//!
//! The HTML template is `templates/report.html`, compiled in; every value is HTML-escaped
//! by minijinja's auto-escaping (the template never marks a value safe), and the page loads
//! nothing from elsewhere.

use crate::error::Error;
use crate::input::ReportInput;
use crate::report::{Report, compile};
use chrono::DateTime;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use std::fmt;

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("../templates/report.html");

/// Minimum length (in characters) of a forbidden value the guard looks for; shorter ones
/// would match ordinary text.
pub const GUARD_MIN_CHARS: usize = 4;

/// Both renderings of one report, checked by the guard.
#[derive(Clone)]
pub struct Rendered {
    /// Pretty-printed JSON (UTF-8).
    pub json: Vec<u8>,
    /// Self-contained HTML page.
    pub html: String,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("json_bytes", &self.json.len())
            .field("html_bytes", &self.html.len())
            .finish()
    }
}

/// The report as pretty-printed JSON.
pub fn render_json(report: &Report) -> Result<Vec<u8>, Error> {
    let mut out = serde_json::to_vec_pretty(report)?;
    out.push(b'\n');
    Ok(out)
}

/// The report as a self-contained HTML page (inline CSS, no external assets).
pub fn render_html(report: &Report) -> Result<String, Error> {
    let mut env = Environment::new();
    // Every template is HTML whatever its name: values are always escaped.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("when", when);
    env.add_filter("day", day);
    env.add_template(TEMPLATE_NAME, TEMPLATE)?;
    let template = env.get_template(TEMPLATE_NAME)?;
    let html = template.render(minijinja::context! {
        r => minijinja::Value::from_serialize(report),
    })?;
    Ok(html)
}

/// Compiles the report, renders JSON and HTML, and refuses both when either contains one of
/// `input.forbidden` (values of at least [`GUARD_MIN_CHARS`] characters, case-insensitive,
/// also in their JSON- and HTML-escaped forms).
pub fn render(input: &ReportInput) -> Result<Rendered, Error> {
    let report = compile(input)?;
    let json = render_json(&report)?;
    let html = render_html(&report)?;
    guard(&input.forbidden, "json", &String::from_utf8_lossy(&json))?;
    guard(&input.forbidden, "html", &html)?;
    Ok(Rendered { json, html })
}

/// Refuses `output` when it contains a forbidden value; the error never names the value.
fn guard(forbidden: &[String], format: &'static str, output: &str) -> Result<(), Error> {
    let haystack = output.to_lowercase();
    for value in forbidden {
        let value = value.trim();
        if value.chars().count() < GUARD_MIN_CHARS {
            continue;
        }
        let mut forms = vec![value.to_string(), html_escape(value)];
        if let Ok(quoted) = serde_json::to_string(value) {
            let inner = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or(&quoted);
            forms.push(inner.to_string());
        }
        if forms
            .iter()
            .any(|f| haystack.contains(f.to_lowercase().as_str()))
        {
            return Err(Error::Guard { format });
        }
    }
    Ok(())
}

/// The escaping minijinja applies to HTML output.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}

/// Template filter: an RFC 3339 timestamp as `2 November 2026, 10:00 UTC`.
fn when(value: String) -> String {
    DateTime::parse_from_rfc3339(&value)
        .map(|d| d.to_utc().format("%-d %B %Y, %H:%M UTC").to_string())
        .unwrap_or(value)
}

/// Template filter: an RFC 3339 timestamp as `2 November 2026`.
fn day(value: String) -> String {
    DateTime::parse_from_rfc3339(&value)
        .map(|d| d.to_utc().format("%-d %B %Y").to_string())
        .unwrap_or(value)
}
