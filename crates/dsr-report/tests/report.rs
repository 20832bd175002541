//! Behaviour of the access/deletion report: withholding, free-text redaction, escaping,
//! categories-only scope, the final guard and the deletion section.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use dsr_core::category::{Category, SensitiveKind};
use dsr_core::config::{Business, CategoryDisclosure};
use dsr_core::jurisdiction::Regime;
use dsr_core::request::RequestKind;
use dsr_core::value::Value;
use dsr_report::{
    CARD_REDACTION, Count, DeletionSummary, Error, FieldInput, RecordInput, ReportInput,
    RetainedCount, SSN_REDACTION, Scope, ScopeKind, compile, render, render_html, render_json,
};

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

fn field(label: &str, category: Option<Category>, value: Value) -> FieldInput {
    FieldInput {
        label: label.into(),
        category,
        sensitive: None,
        value,
    }
}

fn sensitive(label: &str, category: Option<Category>, kind: SensitiveKind, v: &str) -> FieldInput {
    FieldInput {
        label: label.into(),
        category,
        sensitive: Some(kind),
        value: Value::Text(v.into()),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn chart(category: Category, sold: bool) -> CategoryDisclosure {
    CategoryDisclosure {
        category,
        label: category.default_label().to_string(),
        examples: vec![format!("examples of {}", category.key())],
        sources: vec!["Consumers".into()],
        purposes: vec![format!("purpose of {}", category.key())],
        sold,
        third_parties: vec![format!("recipients of {}", category.key())],
        retention: None,
        decision: None,
    }
}

const SSN: &str = "123-45-6789";
const LICENCE: &str = "D7654321";
const CARD: &str = "4111111111111111";
const PASSWORD_HASH: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
const SECURITY_ANSWER: &str = "Fluffy the hamster";
const EMAIL: &str = "ana.lima@example.com";

fn input() -> ReportInput {
    let mut commercial = chart(Category::Commercial, false);
    commercial.decision = Some((
        "Treated as not sold until the policy adds a row.".into(),
        "Privacy office decision PO-2026-11".into(),
    ));
    ReportInput {
        request_id: "req-2026-0001".into(),
        kind: RequestKind::Access,
        jurisdiction: "CA".into(),
        regime: Some(Regime::Ccpa),
        received_at: ts("2026-11-02T10:00:00Z"),
        generated_at: ts("2026-11-03T08:30:00Z"),
        business: Business {
            name: "Acme Data Co.".into(),
            privacy_contact: "privacy@acme.example".into(),
            sells: true,
            opt_out_url: Some("https://acme.example/do-not-sell".into()),
            calendar: Default::default(),
        },
        disclosures_version: "policy-2026-07-01/chart-v1".into(),
        disclosures_source: "Privacy Policy, effective 2026-07-01".into(),
        scope: Scope::SpecificPieces,
        lookback_start: Some(ts("2025-11-02T10:00:00Z")),
        // Deliberately out of chart order.
        categories: vec![
            commercial,
            chart(Category::Financial, false),
            chart(Category::Contact, true),
            chart(Category::UniqueIdentifiers, true),
        ],
        records: vec![
            RecordInput {
                source: "crm".into(),
                record_label: "Customer profile".into(),
                fields: vec![
                    field("Name", Some(Category::UniqueIdentifiers), text("Ana Lima")),
                    field("Email address", Some(Category::Contact), text(EMAIL)),
                    sensitive(
                        "SSN",
                        Some(Category::UniqueIdentifiers),
                        SensitiveKind::Ssn,
                        SSN,
                    ),
                    sensitive(
                        "Driver's licence",
                        Some(Category::UniqueIdentifiers),
                        SensitiveKind::GovernmentId,
                        LICENCE,
                    ),
                    sensitive(
                        "Password",
                        None,
                        SensitiveKind::AccountPassword,
                        PASSWORD_HASH,
                    ),
                    sensitive(
                        "Security answer",
                        None,
                        SensitiveKind::SecurityQa,
                        SECURITY_ANSWER,
                    ),
                    // Internal column: neither category nor sensitive kind, never shown.
                    field("Internal shard", None, text("shard-zz-9")),
                    field(
                        "Photo",
                        Some(Category::AudioVisual),
                        Value::Bytes(vec![1, 2, 3]),
                    ),
                    field(
                        "Middle name",
                        Some(Category::UniqueIdentifiers),
                        Value::Null,
                    ),
                ],
            },
            RecordInput {
                source: "billing".into(),
                record_label: "Payment card".into(),
                fields: vec![
                    field("Card brand", Some(Category::Financial), text("Visa")),
                    sensitive(
                        "Card number",
                        Some(Category::Financial),
                        SensitiveKind::FinancialAccount,
                        CARD,
                    ),
                    // Empty sensitive field: nothing collected, nothing to withhold.
                    FieldInput {
                        label: "Bank account".into(),
                        category: Some(Category::Financial),
                        sensitive: Some(SensitiveKind::HealthInsuranceId),
                        value: Value::Null,
                    },
                ],
            },
            RecordInput {
                source: "crm".into(),
                record_label: "Order".into(),
                fields: vec![
                    field("Total", Some(Category::Commercial), Value::Float(42.5)),
                    field("Items", Some(Category::Commercial), Value::Int(3)),
                ],
            },
        ],
        clients_to_contact: vec![
            "Globex Retail".into(),
            "Initech".into(),
            "Globex Retail".into(),
        ],
        deletion: None,
        forbidden: vec![
            SSN.into(),
            LICENCE.into(),
            CARD.into(),
            PASSWORD_HASH.into(),
            SECURITY_ANSWER.into(),
        ],
        minor_under_16: false,
    }
}

fn json_value(json: &[u8]) -> serde_json::Value {
    serde_json::from_slice(json).expect("valid JSON")
}

#[test]
fn sensitive_values_never_appear_and_each_kind_is_named() {
    let out = render(&input()).expect("renders");
    let json = String::from_utf8(out.json.clone()).unwrap();
    let html = out.html.clone();
    for secret in [
        SSN,
        LICENCE,
        CARD,
        PASSWORD_HASH,
        SECURITY_ANSWER,
        "R9h/cIPz0gi",
        "Fluffy",
    ] {
        for (name, doc) in [("json", &json), ("html", &html)] {
            let lower = doc.to_lowercase();
            assert!(
                !lower.contains(&secret.to_lowercase()),
                "{secret} in {name}"
            );
            assert!(
                !lower.contains(&html_escape(secret).to_lowercase()),
                "{secret} in {name}"
            );
        }
    }
    let expected = [
        SensitiveKind::Ssn,
        SensitiveKind::GovernmentId,
        SensitiveKind::FinancialAccount,
        SensitiveKind::AccountPassword,
        SensitiveKind::SecurityQa,
    ];
    let v = json_value(&out.json);
    let withheld: Vec<&str> = v["withheld"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        withheld,
        expected.map(|k| k.key()).to_vec(),
        "deduplicated, named once each"
    );
    for kind in expected {
        assert!(json.contains(&kind.notice()), "{kind:?} notice in JSON");
        assert!(
            html.contains(&html_escape(&kind.notice())),
            "{kind:?} notice in HTML"
        );
    }
    // The empty sensitive field is not claimed as collected.
    assert!(!json.contains(&SensitiveKind::HealthInsuranceId.notice()));

    // Each withheld field is listed with its notice in place of the value.
    let report = compile(&input()).unwrap();
    let ssn_piece = report
        .pieces
        .iter()
        .flat_map(|g| &g.pieces)
        .find(|p| p.field == "SSN")
        .unwrap();
    assert_eq!(ssn_piece.withheld, Some(SensitiveKind::Ssn));
    assert_eq!(
        ssn_piece.value.as_deref(),
        Some(SensitiveKind::Ssn.notice().as_str())
    );
}

#[test]
fn pieces_grouped_in_chart_order_with_values_as_text() {
    let report = compile(&input()).unwrap();
    let groups: Vec<Option<Category>> = report.pieces.iter().map(|g| g.category).collect();
    assert_eq!(
        groups,
        vec![
            Some(Category::UniqueIdentifiers),
            Some(Category::Contact),
            Some(Category::Financial),
            Some(Category::Commercial),
            Some(Category::AudioVisual),
            None,
        ]
    );
    let all: Vec<_> = report.pieces.iter().flat_map(|g| &g.pieces).collect();
    assert!(all.iter().all(|p| p.field != "Internal shard"));
    let find = |f: &str| all.iter().find(|p| p.field == f).unwrap();
    assert_eq!(find("Email address").value.as_deref(), Some(EMAIL));
    assert_eq!(find("Email address").source, "crm");
    assert_eq!(find("Email address").record, "Customer profile");
    assert_eq!(
        find("Photo").value.as_deref(),
        Some("binary data (3 bytes)")
    );
    assert_eq!(find("Middle name").value, None);
    assert_eq!(find("Total").value.as_deref(), Some("42.5"));
    assert_eq!(find("Items").value.as_deref(), Some("3"));
    // Uncategorised sensitive fields form their own group.
    let last = report.pieces.last().unwrap();
    assert_eq!(last.label, "Sensitive personal information");
    assert_eq!(last.pieces.len(), 2);

    let html = render_html(&report).unwrap();
    assert!(html.contains("binary data (3 bytes)"));
    assert!(!html.contains("shard-zz-9"));
    assert!(html.contains(&html_escape(EMAIL)));
}

#[test]
fn categories_part_names_chart_version_business_window_and_clients() {
    let out = render(&input()).unwrap();
    let v = json_value(&out.json);
    let cats: Vec<&str> = v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        cats,
        ["unique_identifiers", "contact", "financial", "commercial"]
    );
    let contact = &v["categories"][1];
    assert_eq!(contact["sold_or_shared"], true);
    assert_eq!(contact["sold_or_shared_to"][0], "recipients of contact");
    assert_eq!(contact["disclosed_to"][0], "recipients of contact");
    assert_eq!(contact["purposes"][0], "purpose of contact");
    assert_eq!(contact["sources"][0], "Consumers");
    let financial = &v["categories"][2];
    assert_eq!(financial["sold_or_shared"], false);
    assert_eq!(financial["sold_or_shared_to"].as_array().unwrap().len(), 0);
    assert_eq!(
        v["categories"][3]["decision"]["source"],
        "Privacy office decision PO-2026-11"
    );
    assert_eq!(v["disclosures"]["version"], "policy-2026-07-01/chart-v1");
    assert_eq!(v["business"]["privacy_contact"], "privacy@acme.example");
    assert_eq!(v["request"]["id"], "req-2026-0001");
    assert_eq!(v["request"]["kind"], "access");
    assert_eq!(v["request"]["received_at"], "2026-11-02T10:00:00Z");
    assert_eq!(v["request"]["generated_at"], "2026-11-03T08:30:00Z");
    assert_eq!(v["lookback"]["start"], "2025-11-02T10:00:00Z");
    assert_eq!(
        v["clients_to_contact"]["clients"],
        serde_json::json!(["Globex Retail", "Initech"])
    );
    assert_eq!(v["scope"]["kind"], "specific_pieces");

    let html = &out.html;
    for needle in [
        "Acme Data Co.",
        "privacy@acme.example",
        "req-2026-0001",
        "2 November 2026, 10:00 UTC",
        "3 November 2026, 08:30 UTC",
        "collected on or after 2 November 2025",
        "Globex Retail",
        "Initech",
        "service provider",
        "contact them directly",
        "Treated as not sold until the policy adds a row.",
        "recipients of contact",
        "Who we sell or share it to",
    ] {
        assert!(html.contains(needle), "HTML lacks {needle}");
    }
    assert!(html.contains(&html_escape("policy-2026-07-01/chart-v1")));
}

#[test]
fn free_text_ssn_and_card_redacted_order_and_phone_survive() {
    let note = "Called from 415-555-0123 about order 1000234567. Gave SSN 123-45-6789, \
                tax id 078051120 and card 4111 1111 1111 1111 by mistake.";
    let mut inp = input();
    inp.forbidden.clear();
    inp.records = vec![RecordInput {
        source: "helpdesk".into(),
        record_label: "Support ticket".into(),
        fields: vec![field("Agent note", Some(Category::Commercial), text(note))],
    }];
    let out = render(&inp).unwrap();
    let json = String::from_utf8(out.json.clone()).unwrap();
    for doc in [&json, &out.html] {
        assert!(doc.contains("415-555-0123"), "phone survives");
        assert!(doc.contains("order 1000234567"), "order number survives");
        assert!(!doc.contains("123-45-6789"));
        assert!(!doc.contains("078051120"));
        assert!(!doc.contains("4111"));
        assert!(doc.contains(SSN_REDACTION));
        assert!(doc.contains(CARD_REDACTION));
    }
    let report = compile(&inp).unwrap();
    assert_eq!(report.free_text_redactions, 1);
    let piece = &report.pieces[0].pieces[0];
    assert!(piece.redacted);
    assert_eq!(
        piece.value.as_deref(),
        Some(
            "Called from 415-555-0123 about order 1000234567. Gave SSN [redacted: Social Security number], \
             tax id [redacted: Social Security number] and card [redacted: financial account number] by mistake."
        )
    );
}

#[test]
fn every_value_is_html_escaped_and_page_is_self_contained() {
    let mut inp = input();
    inp.business.name = "Acme <b>Data</b> & Co".into();
    inp.records = vec![RecordInput {
        source: "crm".into(),
        record_label: "Profile <i>".into(),
        fields: vec![
            field(
                "Nickname",
                Some(Category::UniqueIdentifiers),
                text("<script>alert(\"pwned\")</script>"),
            ),
            field(
                "Quote",
                Some(Category::UniqueIdentifiers),
                text("O'Brien said \"hi\" & left"),
            ),
            field(
                "Attr",
                Some(Category::UniqueIdentifiers),
                text("\" onmouseover=\"x"),
            ),
        ],
    }];
    let out = render(&inp).unwrap();
    let html = &out.html;
    assert!(!html.contains("<script"), "no script tag");
    assert!(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;&#x2f;script&gt;"));
    assert!(html.contains("O&#x27;Brien said &quot;hi&quot; &amp; left"));
    assert!(!html.contains("O'Brien"));
    assert!(!html.contains("\" onmouseover"));
    assert!(html.contains("Acme &lt;b&gt;Data&lt;&#x2f;b&gt; &amp; Co"));
    assert!(!html.contains("<b>") && !html.contains("<i>"));
    assert!(html.contains("Profile &lt;i&gt;"));
    // Self-contained: inline CSS, nothing loaded or linked.
    assert!(html.contains("<style>"));
    for banned in [
        "<link", "src=", "href=", "@import", "url(", "<script", "<img", "<iframe",
    ] {
        assert!(
            !html.to_lowercase().contains(banned),
            "HTML contains {banned}"
        );
    }
    // The opt-out URL appears as text only.
    assert!(html.contains(&html_escape("https://acme.example/do-not-sell")));
    // JSON carries the value verbatim, JSON-escaped.
    let v = json_value(&out.json);
    assert_eq!(
        v["pieces"][0]["pieces"][0]["value"],
        "<script>alert(\"pwned\")</script>"
    );
}

#[test]
fn categories_only_has_no_pieces_and_states_the_reason() {
    let reason = "We could verify your identity only to a reasonable degree of certainty.";
    let mut inp = input();
    inp.scope = Scope::CategoriesOnly {
        reason: reason.into(),
    };
    inp.forbidden.push(EMAIL.into());
    inp.forbidden.push("Ana Lima".into());
    let out = render(&inp).expect("no piece, so no identity value leaks");
    let v = json_value(&out.json);
    assert_eq!(v["scope"]["kind"], "categories_only");
    assert_eq!(v["scope"]["reason"], reason);
    assert_eq!(v["pieces"], serde_json::json!([]));
    assert_eq!(v["free_text_redactions"], 0);
    assert_eq!(v["categories"].as_array().unwrap().len(), 4);
    let json = String::from_utf8(out.json).unwrap();
    for doc in [&json, &out.html] {
        assert!(!doc.contains(EMAIL) && !doc.contains("Ana Lima") && !doc.contains("Visa"));
        assert!(!doc.contains("Email address"), "not even the field labels");
    }
    let html = &out.html;
    assert!(html.contains("This report shows categories only"));
    assert!(html.contains(reason));
    assert!(!html.contains("The specific pieces of personal information"));
    assert!(html.contains("Contact information"));
    assert!(html.contains("recipients of contact"));

    // An access_categories request never gets pieces, whatever scope the caller passed.
    let mut inp = input();
    inp.kind = RequestKind::AccessCategories;
    let report = compile(&inp).unwrap();
    assert_eq!(report.scope.kind, ScopeKind::CategoriesOnly);
    assert!(report.pieces.is_empty());
    assert!(report.scope.reason.is_some());

    // A categories-only scope without a reason is refused.
    let mut inp = input();
    inp.scope = Scope::CategoriesOnly {
        reason: "  ".into(),
    };
    assert!(matches!(
        compile(&inp),
        Err(Error::Input { field: "scope", .. })
    ));
}

#[test]
fn guard_refuses_a_forbidden_value_in_a_non_sensitive_field() {
    // The SSN stored (wrongly) in a field without a sensitive kind, in a form the free-text
    // rules do not catch; and an identity value in a shown field, differently cased.
    let leaked = "SSN-123.45.6789";
    let mut inp = input();
    inp.records[0].fields.push(field(
        "Legacy id",
        Some(Category::UniqueIdentifiers),
        text(leaked),
    ));
    inp.forbidden.push(leaked.to_lowercase());
    let err = render(&inp).expect_err("guard refuses");
    assert!(matches!(err, Error::Guard { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(!msg.to_lowercase().contains("123.45.6789"), "{msg}");

    let mut inp = input();
    inp.forbidden.push(EMAIL.to_uppercase());
    assert!(matches!(render(&inp), Err(Error::Guard { format: "json" })));

    // Found in the HTML even though escaping changed its form there.
    let mut inp = input();
    inp.records[0].fields.push(field(
        "Homepage",
        Some(Category::InternetActivity),
        text("ana.example/x'y"),
    ));
    let report = compile(&inp).unwrap();
    assert!(!render_html(&report).unwrap().contains("ana.example/x'y"));
    inp.forbidden.push("ana.example/x'y".into());
    assert!(matches!(render(&inp), Err(Error::Guard { .. })));

    // Values shorter than four characters are not looked for.
    let mut inp = input();
    inp.forbidden = vec!["Ana".into(), "3".into()];
    assert!(render(&inp).is_ok());
}

#[test]
fn deletion_summary_renders_counts_and_reasons() {
    let mut inp = input();
    inp.kind = RequestKind::Deletion;
    inp.records.clear();
    inp.deletion = Some(DeletionSummary {
        deleted: vec![
            Count {
                record_label: "Customer profile".into(),
                source: "crm".into(),
                count: 1,
            },
            Count {
                record_label: "Page views".into(),
                source: "lake".into(),
                count: 1234,
            },
        ],
        masked: vec![Count {
            record_label: "Orders".into(),
            source: "crm".into(),
            count: 3,
        }],
        retained: vec![RetainedCount {
            record_label: "Orders".into(),
            source: "crm".into(),
            count: 2,
            reason: "Order not yet delivered".into(),
            basis: "Cal. Civ. Code §1798.105(d)(1)".into(),
        }],
        failed: vec![Count {
            record_label: "Call recordings".into(),
            source: "recordings".into(),
            count: 5,
        }],
        opt_out_offer: Some(
            "You may also opt out of the sale or sharing of your personal information.".into(),
        ),
        corrected_fields: Vec::new(),
        recipients_told: vec!["AdNet Inc.".into()],
    });
    let out = render(&inp).unwrap();
    let v = json_value(&out.json);
    let d = &v["deletion"];
    assert_eq!(d["totals"]["deleted"], 1235);
    assert_eq!(d["totals"]["deidentified"], 3);
    assert_eq!(d["totals"]["retained"], 2);
    assert_eq!(d["totals"]["failed"], 5);
    assert_eq!(d["retained"][0]["reason"], "Order not yet delivered");
    assert_eq!(d["retained"][0]["basis"], "Cal. Civ. Code §1798.105(d)(1)");
    assert_eq!(d["deidentified"][0]["record_label"], "Orders");
    assert_eq!(d["failed"][0]["record_label"], "Call recordings");
    assert_eq!(d["opt_out_offer"]["citation"], "11 CCR §7022(f)");
    assert_eq!(d["recipients_told"][0], "AdNet Inc.");
    assert!(out.html.contains("Who we told") && out.html.contains("AdNet Inc."));
    assert_eq!(v["request"]["kind"], "deletion");
    assert_eq!(v["pieces"], serde_json::json!([]));

    let html = &out.html;
    for needle in [
        "What we did with your personal information",
        "We deleted 1235 record(s) and de-identified 3 record(s)",
        "We kept 2 record(s)",
        "5 record(s) could not be deleted yet; we will retry.",
        "<td class=\"num\">1234</td>",
        "Page views",
        "Order not yet delivered",
        "Cal. Civ. Code §1798.105(d)(1)",
        "Call recordings",
        "You may also opt out of the sale or sharing of your personal information.",
        "11 CCR §7022(f)",
    ] {
        assert!(html.contains(needle), "HTML lacks {needle}");
    }
    // No empty "specific pieces" section on a deletion answer without records.
    assert!(!html.contains("The specific pieces of personal information"));
}

#[test]
fn json_is_pretty_and_round_trips_and_invalid_ids_are_refused() {
    let report = compile(&input()).unwrap();
    let json = render_json(&report).unwrap();
    let text = String::from_utf8(json.clone()).unwrap();
    assert!(text.starts_with("{\n  \"schema\": \"dsr.report/v1\""));
    assert_eq!(json_value(&json)["schema"], "dsr.report/v1");

    let mut inp = input();
    inp.request_id = "../../etc".into();
    assert!(matches!(
        compile(&inp),
        Err(Error::Input {
            field: "request_id",
            ..
        })
    ));

    // Debug output never shows values.
    let dbg = format!("{:?} {:?}", input(), report);
    for secret in [EMAIL, SSN, CARD, "Ana Lima"] {
        assert!(!dbg.contains(secret), "{secret} in Debug");
    }
}

#[test]
fn template_never_marks_a_value_safe() {
    let template = include_str!("../templates/report.html");
    let squashed: String = template.chars().filter(|c| !c.is_whitespace()).collect();
    for banned in ["|safe", "autoescape", "|urlize", "href=", "src="] {
        assert!(!squashed.contains(banned), "template contains {banned}");
    }
}

#[test]
fn correction_summary_says_what_changed_where() {
    let mut inp = input();
    inp.kind = RequestKind::Correction;
    inp.records.clear();
    inp.deletion = Some(DeletionSummary {
        masked: vec![Count {
            record_label: "Customer profile".into(),
            source: "crm".into(),
            count: 1,
        }],
        corrected_fields: vec!["full_name".into()],
        ..DeletionSummary::default()
    });
    let out = render(&inp).unwrap();
    let v = json_value(&out.json);
    assert!(
        v["deletion"].is_null(),
        "a correction is not reported as a deletion"
    );
    let c = &v["correction"];
    assert_eq!(c["fields"][0], "full_name");
    assert_eq!(c["corrected"][0]["count"], 1);
    assert!(
        c["statement"]
            .as_str()
            .unwrap()
            .contains("We corrected full_name in 1 record(s)")
    );
    assert!(out.html.contains("What we corrected"));
    assert!(!out.html.contains("De-identified"));
}
