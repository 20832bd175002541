//! The sample requests: one per scenario the demo walks through.
//!
//! `fixtures/requests/*.json` are these requests for [`crate::sample_now`]; a test keeps the
//! checked-in files equal to [`requests`](fn@requests)`(sample_now())` (run it with `DSR_FIXTURES_BLESS=1`
//! to rewrite them after a change here).

use crate::subjects::*;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

/// A provider's attestation on a sample request: level, method, provider.
type Attested = Option<(&'static str, &'static str, &'static str)>;

/// A data point given with a sample request: its type and how its value is found.
#[derive(Clone, Copy)]
enum Point {
    /// A fixed value.
    Value(&'static str, &'static str),
    /// The last four digits of a card.
    Last4(&'static str),
    /// The minor's date of birth, relative to `now`.
    MinorBirthDate,
}

/// One sample request before dating: file name, kind, identities (type, value), the
/// attestation, the data points and declaration dsr verifies itself, and a GPC signal.
struct Sample {
    file: &'static str,
    kind: &'static str,
    identities: &'static [(&'static str, &'static str)],
    attested: Attested,
    points: &'static [Point],
    declaration: bool,
    gpc: bool,
}

const HIGH: Attested = Some(("reasonably_high", "document+selfie", "acme-idv"));

const SAMPLES: &[Sample] = &[
    // Email + phone + card + postcode match, declaration signed: reasonably high.
    Sample {
        file: "01-access-ana.json",
        kind: "access",
        identities: &[("email", ANA_EMAIL)],
        attested: None,
        points: &[
            Point::Value("phone", ANA_PHONE),
            Point::Last4(ANA_CARD_NUMBER),
            Point::Value("postcode", ANA_POSTCODE),
        ],
        declaration: true,
        gpc: false,
    },
    Sample {
        file: "02-deletion-ben.json",
        kind: "deletion",
        identities: &[("email", BEN_EMAIL)],
        attested: HIGH,
        points: &[],
        declaration: false,
        gpc: false,
    },
    // Email + phone + card + birth date (her address is shared, so no postcode).
    Sample {
        file: "03-deletion-cara.json",
        kind: "deletion",
        identities: &[("email", CARA_EMAIL)],
        attested: None,
        points: &[
            Point::Value("phone", CARA_PHONE),
            Point::Last4(CARA_CARD_NUMBER),
            Point::Value("birth_date", CARA_BIRTH_DATE),
        ],
        declaration: true,
        gpc: false,
    },
    // Email + phone: a reasonable degree, enough for categories.
    Sample {
        file: "04-access-categories-eve.json",
        kind: "access_categories",
        identities: &[("email", EVE_EMAIL)],
        attested: None,
        points: &[Point::Value("phone", EVE_PHONE)],
        declaration: false,
        gpc: false,
    },
    // Three matches but no signed declaration: reasonable only, categories.
    Sample {
        file: "05-access-finn-reasonable.json",
        kind: "access",
        identities: &[("email", FINN_EMAIL)],
        attested: None,
        points: &[
            Point::Value("phone", FINN_PHONE),
            Point::Value("postcode", FINN_POSTCODE),
        ],
        declaration: false,
        gpc: false,
    },
    // Email + phone match, but the card and postcode are someone else's: denied.
    Sample {
        file: "06-access-gus-unverified.json",
        kind: "access",
        identities: &[("email", GUS_EMAIL)],
        attested: None,
        points: &[
            Point::Value("phone", GUS_PHONE),
            Point::Last4(ANA_CARD_NUMBER),
            Point::Value("postcode", ANA_POSTCODE),
        ],
        declaration: true,
        gpc: false,
    },
    Sample {
        file: "07-access-nobody.json",
        kind: "access",
        identities: &[("email", NOBODY_EMAIL)],
        attested: HIGH,
        points: &[],
        declaration: false,
        gpc: false,
    },
    Sample {
        file: "08-deletion-mixed-hal-ivy.json",
        kind: "deletion",
        identities: &[("email", HAL_EMAIL), ("phone", IVY_PHONE)],
        attested: HIGH,
        points: &[],
        declaration: false,
        gpc: false,
    },
    Sample {
        file: "09-deletion-lou-legal-hold.json",
        kind: "deletion",
        identities: &[("email", LOU_EMAIL), ("customer_id", "7")],
        attested: HIGH,
        points: &[],
        declaration: false,
        gpc: false,
    },
    // An opt-out needs no verification; the portal also passed a GPC signal.
    Sample {
        file: "10-opt-out-eve.json",
        kind: "opt_out",
        identities: &[("email", EVE_EMAIL)],
        attested: None,
        points: &[],
        declaration: false,
        gpc: true,
    },
    // A minor: flagged in her report and kept off every sale.
    Sample {
        file: "11-access-mia-minor.json",
        kind: "access",
        identities: &[("email", MIA_EMAIL)],
        attested: None,
        points: &[
            Point::Value("phone", MIA_PHONE),
            Point::MinorBirthDate,
            Point::Value("postcode", MIA_POSTCODE),
        ],
        declaration: true,
        gpc: false,
    },
];

/// The sample requests as (file name, request JSON), dated relative to `now`: request
/// `req-2026-00NN` is received `2 days` before `now` plus `NN - 1` times 10 minutes; an
/// attestation is dated 5 minutes after receipt. All are for jurisdiction `CA`.
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
            if let Some(obj) = req.as_object_mut() {
                if let Some((level, method, provider)) = s.attested {
                    obj.insert(
                        "verification".into(),
                        json!({ "level": level, "method": method, "provider": provider, "verified_at": stamp(verified) }),
                    );
                }
                if !s.points.is_empty() {
                    let points: Vec<Value> = s
                        .points
                        .iter()
                        .map(|p| match *p {
                            Point::Value(kind, value) => json!({ "type": kind, "value": value }),
                            Point::Last4(card) => json!({ "type": "card_last4", "value": last4(card) }),
                            Point::MinorBirthDate => {
                                json!({ "type": "birth_date", "value": minor_birth_date(now) })
                            }
                        })
                        .collect();
                    obj.insert("data_points".into(), json!(points));
                }
                if s.declaration {
                    obj.insert("signed_declaration".into(), json!(true));
                }
                if s.gpc {
                    obj.insert("gpc".into(), json!(true));
                }
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
