//! Object names of an evidence bundle (see the crate documentation for the layout).
//!
//! ```text
//! requests/<request_id>/000001.json           chain entry 1
//! requests/<request_id>/manifest-000007.json  manifest sealed by entry 7
//! runs/<run_id>.json                          run summary
//! ```
//!
//! Sequence numbers are written with at least six digits (`{:06}`) and no other leading zeros;
//! past 999999 they simply grow a digit, so order entries by number, not by name.

/// Directory of one request's chain, with its trailing `/`: `requests/<request_id>/`.
pub fn request_prefix(request_id: &str) -> String {
    format!("requests/{request_id}/")
}

/// Name of chain entry `seq` of a request: `requests/<request_id>/<seq:06>.json`.
pub fn entry_name(request_id: &str, seq: u64) -> String {
    format!("requests/{request_id}/{seq:06}.json")
}

/// Name of the manifest sealed by entry `seq`: `requests/<request_id>/manifest-<seq:06>.json`.
pub fn manifest_name(request_id: &str, seq: u64) -> String {
    format!("requests/{request_id}/manifest-{seq:06}.json")
}

/// Name of a run's summary: `runs/<run_id>.json`.
pub fn run_name(run_id: &str) -> String {
    format!("runs/{run_id}.json")
}

/// What an object name is in the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind<'a> {
    /// `requests/<request>/<seq>.json`.
    Entry {
        /// Request id (the directory).
        request: &'a str,
        /// Sequence number from the name.
        seq: u64,
    },
    /// `requests/<request>/manifest-<seq>.json`.
    Manifest {
        /// Request id (the directory).
        request: &'a str,
        /// Sequence number of the sealing entry, from the name.
        seq: u64,
    },
    /// `runs/<run>.json`.
    Run {
        /// Run id.
        run: &'a str,
    },
}

/// Classifies `name`; `None` if it fits no layout name (ids must also be valid ids).
pub fn classify(name: &str) -> Option<ObjectKind<'_>> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["requests", request, file] if valid_id(request) => {
            let stem = file.strip_suffix(".json")?;
            match stem.strip_prefix("manifest-") {
                Some(digits) => Some(ObjectKind::Manifest {
                    request,
                    seq: parse_seq(digits)?,
                }),
                None => Some(ObjectKind::Entry {
                    request,
                    seq: parse_seq(stem)?,
                }),
            }
        }
        ["runs", file] => {
            let run = file.strip_suffix(".json")?;
            valid_id(run).then_some(ObjectKind::Run { run })
        }
        _ => None,
    }
}

fn valid_id(id: &str) -> bool {
    dsr_core::request::validate_request_id(id).is_ok()
}

/// A sequence number as written in names: `{:06}` of a number ≥ 1, nothing else.
fn parse_seq(digits: &str) -> Option<u64> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    (n >= 1 && format!("{n:06}") == digits).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(entry_name("req-1", 7), "requests/req-1/000007.json");
        assert_eq!(
            manifest_name("req-1", 7),
            "requests/req-1/manifest-000007.json"
        );
        assert_eq!(run_name("r1"), "runs/r1.json");
        assert_eq!(request_prefix("req-1"), "requests/req-1/");
        assert_eq!(
            classify(&entry_name("req-1", 1_234_567)),
            Some(ObjectKind::Entry {
                request: "req-1",
                seq: 1_234_567
            })
        );
        assert_eq!(
            classify(&manifest_name("q", 3)),
            Some(ObjectKind::Manifest {
                request: "q",
                seq: 3
            })
        );
        assert_eq!(
            classify("runs/r1.json"),
            Some(ObjectKind::Run { run: "r1" })
        );
    }

    #[test]
    fn other_names_fit_no_layout() {
        for name in [
            "requests/q/000000.json",
            "requests/q/00001.json",
            "requests/q/0000001.json",
            "requests/q/+00001.json",
            "requests/q/000001.txt",
            "requests/q/manifest-1.json",
            "requests/q/x/000001.json",
            "requests/q/notes.json",
            "requests/000001.json",
            "runs/r1/log.jsonl",
            "runs/.json",
            "README.md",
        ] {
            assert_eq!(classify(name), None, "{name}");
        }
    }
}
