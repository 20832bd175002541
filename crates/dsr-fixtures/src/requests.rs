//! The sample requests: one per scenario the demo walks through.
//!
//! `fixtures/requests/*.json` are these requests for [`crate::sample_now`]; a test keeps the
//! checked-in files equal to [`requests`](fn@requests)`(sample_now())` (run it with `DSR_FIXTURES_BLESS=1`
//! to rewrite them after a change here).

use crate::subjects::*;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

/// Verification of a sample request: level and method.
type Verified = Option<(&'static str, &'static str)>;

/// One sample request before dating: file name, kind, identities (type, value), verification.
struct Sample {
    file: &'static str,
    kind: &'static str,
    identities: &'static [(&'static str, &'static str)],
    verification: Verified,
}

const HIGH: Verified = Some(("reasonably_high", "email+phone+last4+signed_declaration"));
const REASONABLE: Verified = Some(("reasonable", "email+phone"));

const SAMPLES: &[Sample] = &[
    Sample {
        file: "01-access-ana.json",
        kind: "access",
        identities: &[("email", ANA_EMAIL)],
        verification: HIGH,
    },
    Sample {
        file: "02-deletion-ben.json",
        kind: "deletion",
        identities: &[("email", BEN_EMAIL)],
        verification: HIGH,
    },
    Sample {
        file: "03-deletion-cara.json",
        kind: "deletion",
        identities: &[("email", CARA_EMAIL)],
        verification: HIGH,
    },
    Sample {
        file: "04-access-categories-eve.json",
        kind: "access_categories",
        identities: &[("email", EVE_EMAIL)],
        verification: REASONABLE,
    },
    Sample {
        file: "05-access-finn-reasonable.json",
        kind: "access",
        identities: &[("email", FINN_EMAIL)],
        verification: REASONABLE,
    },
    Sample {
        file: "06-access-gus-unverified.json",
        kind: "access",
        identities: &[("email", GUS_EMAIL)],
        verification: Some(("none", "email_link_not_confirmed")),
    },
    Sample {
        file: "07-access-nobody.json",
        kind: "access",
        identities: &[("email", NOBODY_EMAIL)],
        verification: HIGH,
    },
    Sample {
        file: "08-deletion-mixed-hal-ivy.json",
        kind: "deletion",
        identities: &[("email", HAL_EMAIL), ("phone", IVY_PHONE)],
        verification: HIGH,
    },
    Sample {
        file: "09-deletion-lou-legal-hold.json",
        kind: "deletion",
        identities: &[("email", LOU_EMAIL), ("customer_id", "7")],
        verification: HIGH,
    },
    Sample {
        file: "10-opt-out-eve.json",
        kind: "opt_out",
        identities: &[("email", EVE_EMAIL)],
        verification: None,
    },
];

/// The sample requests as (file name, request JSON), dated relative to `now`: request
/// `req-2026-00NN` is received `2 days` before `now` plus `NN - 1` times 10 minutes and
/// verified 5 minutes after receipt. All are for jurisdiction `CA`.
pub fn requests(now: DateTime<Utc>) -> Vec<(String, Value)> {
    SAMPLES
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n = i as i64 + 1;
            let received = shift(now, -2 * 24 * 60 + (n - 1) * 10);
            let verified = shift(received, 5);
            let identities: Vec<Value> = s
                .identities
                .iter()
                .map(|(kind, value)| json!({ "type": kind, "value": value }))
                .collect();
            let mut req = json!({
                "id": format!("req-2026-{n:04}"),
                "kind": s.kind,
                "jurisdiction": "CA",
                "received_at": stamp(received),
                "subject": { "identities": identities },
            });
            if let (Some((level, method)), Some(obj)) = (s.verification, req.as_object_mut()) {
                obj.insert(
                    "verification".into(),
                    json!({ "level": level, "method": method, "verified_at": stamp(verified) }),
                );
            }
            (s.file.to_string(), req)
        })
        .collect()
}

/// `base` shifted by `minutes` (unchanged if that is not representable).
fn shift(base: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    TimeDelta::try_minutes(minutes)
        .and_then(|d| base.checked_add_signed(d))
        .unwrap_or(base)
}

/// RFC 3339 UTC text with whole seconds and a `Z`.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
