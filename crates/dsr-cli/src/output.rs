//! Terminal output: the run summary table and the progress bar.

use dsr_engine::run::{Progress, RunSummary};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn step(&self, what: &str) {
        self.0.set_message(what.to_string());
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A progress bar on a terminal, nothing otherwise.
pub fn progress_bar() -> Box<dyn Progress> {
    if !std::io::stderr().is_terminal() {
        return Box::new(dsr_engine::run::NoProgress);
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    Box::new(Bar(bar))
}

/// Prints one line per request.
pub fn print_summary(s: &RunSummary) {
    println!(
        "run {}  job {}{}  ({} store queries)",
        s.run_id,
        s.job,
        if s.dry_run {
            "  DRY RUN: nothing changed"
        } else {
            ""
        },
        s.queries
    );
    println!(
        "{:<16} {:<18} {:<20} {:>5} {:>7} {:>6} {:>8}  note",
        "request", "kind", "status", "found", "deleted", "masked", "retained"
    );
    for r in &s.requests {
        let mut note = r.reason.clone().unwrap_or_default();
        if !r.clients.is_empty() {
            if !note.is_empty() {
                note.push_str("; ");
            }
            note.push_str(&format!("contact Client(s): {}", r.clients.join(", ")));
        }
        println!(
            "{:<16} {:<18} {:<20} {:>5} {:>7} {:>6} {:>8}  {}",
            r.id, r.kind, r.status, r.found, r.deleted, r.masked, r.retained, note
        );
        if s.dry_run {
            for p in &r.plan {
                println!(
                    "    {:<28} {:<7} {:>4}  {}",
                    p.table,
                    p.action,
                    p.count,
                    p.reason.clone().unwrap_or_default()
                );
            }
        }
    }
}
