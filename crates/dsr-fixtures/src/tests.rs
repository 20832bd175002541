//! Tests of the estate and the sample requests.

use crate::estate::Tables;
use crate::sql::{Table, V};
use crate::subjects::*;
use crate::{DEFAULT_FILLER, estate, luhn, requests, sample_now};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn now() -> DateTime<Utc> {
    sample_now()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Text values of column `col` in `t`, with the row's id.
fn texts<'a>(t: &'a Table, col: &str) -> Vec<(i64, &'a str)> {
    let id = t.col("id").expect("id column");
    let c = t.col(col).expect("column");
    t.rows
        .iter()
        .filter_map(|r| Some((r[id].as_int()?, r[c].as_text()?)))
        .collect()
}

fn row_by_id(t: &Table, id: i64) -> &[V] {
    let c = t.col("id").expect("id column");
    t.rows
        .iter()
        .find(|r| r[c] == V::Int(id))
        .map(Vec::as_slice)
        .expect("row exists")
}

fn get<'a>(t: &Table, row: &'a [V], col: &str) -> &'a V {
    &row[t.col(col).expect("column")]
}

fn parse_ts(v: &V) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_text().expect("text"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

#[test]
fn every_card_number_is_luhn_valid() {
    for card in SPECIAL_CARD_NUMBERS {
        assert!(luhn::is_valid(card), "special card {card}");
    }
    let t = Tables::build(now(), DEFAULT_FILLER);
    let cards = texts(&t.payment_cards, "card_number");
    assert_eq!(cards.len(), SPECIAL_IDS.len() + DEFAULT_FILLER);
    for (id, card) in cards {
        assert!(luhn::is_valid(card), "card {id}");
        assert_eq!(digits(card).len(), 16, "card {id}");
    }
    // The card numbers typed into Ana's ticket are real ones.
    assert!(ANA_TICKET_BODY.contains(ANA_CARD_NUMBER));
    assert!(ANA_TICKET_BODY.contains(ANA_SSN));
}

#[test]
fn estate_is_deterministic() {
    let a = estate(now(), 50);
    assert_eq!(a, estate(now(), 50));
    assert_ne!(a, estate(now() - TimeDelta::days(1), 50));
    // Sub-second precision of `now` does not change the text.
    assert_eq!(a, estate(now() + TimeDelta::milliseconds(250), 50));
    // A larger estate extends a smaller one: filler rows depend only on their customer's id.
    let small = Tables::build(now(), 20);
    let large = Tables::build(now(), 40);
    for (s, l) in small.all().into_iter().zip(large.all()) {
        assert!(s.rows.len() <= l.rows.len(), "{}", s.name);
        assert_eq!(s.rows[..], l.rows[..s.rows.len()], "{}", s.name);
    }
}

#[test]
fn scripts_are_wrapped_and_sized() {
    let e = estate(now(), 10);
    for sql in [&e.crm_sql, &e.support_sql] {
        assert!(sql.contains("\nBEGIN;\n"));
        assert!(sql.ends_with("COMMIT;\n"));
    }
    assert!(e.crm_sql.contains("CREATE TABLE marketing_contacts"));
    assert!(e.support_sql.contains("CREATE TABLE tickets"));
    let t = Tables::build(now(), 10);
    let ids: Vec<i64> = texts(&t.customers, "email")
        .iter()
        .map(|(id, _)| *id)
        .collect();
    let mut want = SPECIAL_IDS.to_vec();
    want.extend(FILLER_FIRST_ID..FILLER_FIRST_ID + 10);
    assert_eq!(ids, want);
}

#[test]
fn rows_match_columns_and_ids_are_unique() {
    let t = Tables::build(now(), DEFAULT_FILLER);
    for table in t.all() {
        let mut ids = BTreeSet::new();
        for r in &table.rows {
            assert_eq!(r.len(), table.columns.len(), "{}", table.name);
            assert!(ids.insert(r[0].as_int()), "{} id", table.name);
        }
    }
}

#[test]
fn special_values_are_unique() {
    let norm: BTreeSet<String> = SPECIAL_EMAILS
        .iter()
        .map(|e| e.trim().to_lowercase())
        .collect();
    assert_eq!(norm.len(), SPECIAL_EMAILS.len(), "special emails");
    assert!(!norm.contains(NOBODY_EMAIL));
    assert_ne!(ANA_EMAIL, NEAR_DOMAIN_EMAIL.to_lowercase());
    assert_ne!(ANA_EMAIL, NEAR_ACCENT_EMAIL);
    let ids: BTreeSet<i64> = SPECIAL_IDS.into_iter().collect();
    assert_eq!(ids.len(), SPECIAL_IDS.len());
    assert!(SPECIAL_IDS.iter().all(|&id| id < 100));
    let phones: BTreeSet<String> = SPECIAL_PHONES.iter().map(|p| digits(p)).collect();
    assert_eq!(
        phones.len(),
        SPECIAL_PHONES.len() - 1,
        "only Jon and Kim share a phone"
    );
    let sensitive: BTreeSet<&str> = SENSITIVE_VALUES.iter().copied().collect();
    assert_eq!(sensitive.len(), SENSITIVE_VALUES.len(), "sensitive values");
}

/// Distinctive values of the special customers, lower-cased, for the collision check.
fn special_needles() -> Vec<String> {
    let names = [
        ANA_NAME,
        BEN_NAME,
        CARA_NAME,
        DAN_NAME,
        EVE_NAME,
        FINN_NAME,
        LOU_NAME,
        GUS_NAME,
        HAL_NAME,
        IVY_NAME,
        JON_NAME,
        KIM_NAME,
        NEAR_DOMAIN_NAME,
        NEAR_ACCENT_NAME,
    ];
    let mut v: Vec<String> = SENSITIVE_VALUES
        .iter()
        .chain(SPECIAL_EMAILS.iter())
        .chain(names.iter())
        .chain([NOBODY_EMAIL, ANA_TICKET_BODY].iter())
        .map(|s| s.to_lowercase())
        .collect();
    // Card numbers and SSNs also as bare digits, as they may be typed into free text.
    v.extend(SPECIAL_CARD_NUMBERS.iter().map(|c| digits(c)));
    v.extend([ANA_SSN, LOU_SSN].map(digits));
    v
}

#[test]
fn filler_never_collides_with_special_values() {
    let t = Tables::build(now(), DEFAULT_FILLER);
    let needles = special_needles();
    let special_phones: BTreeSet<String> = SPECIAL_PHONES.iter().map(|p| digits(p)).collect();
    let mut filler_phones = BTreeSet::new();
    for table in t.all() {
        for r in &table.rows {
            if r[0].as_int().unwrap_or(0) < FILLER_FIRST_ID {
                continue;
            }
            for v in r {
                let Some(text) = v.as_text() else { continue };
                let lower = text.to_lowercase();
                for n in &needles {
                    assert!(!lower.contains(n.as_str()), "{} row {:?}", table.name, r[0]);
                }
            }
        }
    }
    for (id, phone) in texts(&t.customers, "phone") {
        if id >= FILLER_FIRST_ID {
            assert!(!special_phones.contains(&digits(phone)), "customer {id}");
            assert!(
                filler_phones.insert(digits(phone)),
                "filler phone of {id} is unique"
            );
        }
    }
    let emails = texts(&t.customers, "email");
    let unique: BTreeSet<&str> = emails.iter().map(|(_, e)| *e).collect();
    assert_eq!(unique.len(), emails.len());
}

#[test]
fn special_subjects_have_their_scenarios() {
    let t = Tables::build(now(), 0);
    let n = now();
    // Ben: open order 10 days old (inside 90 days), closed one 200 days old, fraud-flagged login.
    let open = row_by_id(&t.orders, BEN_OPEN_ORDER_ID);
    assert_eq!(get(&t.orders, open, "status").as_text(), Some("open"));
    assert_eq!(
        n - parse_ts(get(&t.orders, open, "created_at")),
        TimeDelta::days(10)
    );
    let closed = row_by_id(&t.orders, BEN_CLOSED_ORDER_ID);
    assert_eq!(get(&t.orders, closed, "status").as_text(), Some("closed"));
    assert!(n - parse_ts(get(&t.orders, closed, "created_at")) > TimeDelta::days(90));
    let login = row_by_id(&t.logins, BEN_ID);
    assert_eq!(get(&t.logins, login, "fraud_flag"), &V::Int(1));
    let card = row_by_id(&t.payment_cards, BEN_ID);
    assert_eq!(get(&t.payment_cards, card, "fraud_flag"), &V::Int(0));
    let acme = row_by_id(&t.marketing_contacts, BEN_ACME_MARKETING_ID);
    assert_eq!(
        get(&t.marketing_contacts, acme, "client_id").as_text(),
        Some(CLIENT_ACME)
    );
    // Ana's orders are all older than 90 days; one is outside a 12-month lookback.
    for id in ANA_ORDER_IDS {
        let o = row_by_id(&t.orders, id);
        assert!(n - parse_ts(get(&t.orders, o, "created_at")) > TimeDelta::days(90));
    }
    let ana_ticket = row_by_id(&t.tickets, ANA_ID);
    assert_eq!(
        get(&t.tickets, ana_ticket, "body").as_text(),
        Some(ANA_TICKET_BODY)
    );
    assert_eq!(
        get(&t.tickets, ana_ticket, "email").as_text(),
        Some(ANA_EMAIL)
    );
    // Cara and Dan share an address; Cara used Dan's card.
    for id in [CARA_ID, DAN_ID] {
        let c = row_by_id(&t.customers, id);
        assert_eq!(
            get(&t.customers, c, "address_id"),
            &V::Int(SHARED_ADDRESS_ID)
        );
    }
    let o = row_by_id(&t.orders, CARA_ORDER_WITH_DANS_CARD_ID);
    assert_eq!(get(&t.orders, o, "customer_id"), &V::Int(CARA_ID));
    assert_eq!(get(&t.orders, o, "card_id"), &V::Int(DAN_CARD_ID));
    let dans = row_by_id(&t.payment_cards, DAN_CARD_ID);
    assert_eq!(get(&t.payment_cards, dans, "customer_id"), &V::Int(DAN_ID));
    assert_eq!(
        get(&t.payment_cards, dans, "card_number").as_text(),
        Some(DAN_CARD_NUMBER)
    );
    let caras = row_by_id(&t.payment_cards, CARA_CARD_ID);
    assert_eq!(
        get(&t.payment_cards, caras, "card_number").as_text(),
        Some(CARA_CARD_NUMBER)
    );
    // Nobody is nowhere.
    let e = estate(n, 0);
    assert!(!e.crm_sql.contains(NOBODY_EMAIL) && !e.support_sql.contains(NOBODY_EMAIL));
}

fn requests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/requests")
}

/// The checked-in `fixtures/requests/*.json` equal `requests(sample_now())`.
/// `DSR_FIXTURES_BLESS=1 cargo test -p dsr-fixtures` rewrites them.
#[test]
fn request_files_are_in_sync() {
    let dir = requests_dir();
    let want = requests(sample_now());
    if std::env::var_os("DSR_FIXTURES_BLESS").is_some() {
        std::fs::create_dir_all(&dir).expect("create fixtures/requests");
        for (name, value) in &want {
            let text = serde_json::to_string_pretty(value).expect("json") + "\n";
            std::fs::write(dir.join(name), text).expect("write request file");
        }
    }
    let mut on_disk = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures/requests exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("read");
            on_disk.insert(name, text);
        }
    }
    let want: BTreeMap<String, String> = want
        .into_iter()
        .map(|(n, v)| (n, serde_json::to_string_pretty(&v).expect("json") + "\n"))
        .collect();
    assert_eq!(
        on_disk.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "file set; run with DSR_FIXTURES_BLESS=1 to regenerate"
    );
    for (name, text) in &want {
        assert_eq!(
            &on_disk[name], text,
            "{name}; run with DSR_FIXTURES_BLESS=1 to regenerate"
        );
    }
}

#[test]
fn requests_are_valid_and_relative_to_now() {
    use dsr_core::identity::Normalizer;
    use dsr_core::request::{Request, RequestKind, VerificationLevel};
    use dsr_core::verification::PointRule;
    let types: BTreeMap<String, Normalizer> = [
        ("email", Normalizer::Email),
        ("phone", Normalizer::Phone),
        ("customer_id", Normalizer::Exact),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let points: BTreeMap<String, PointRule> = [
        ("email", PointRule::Email),
        ("phone", PointRule::Phone),
        ("card_last4", PointRule::Last4),
        ("postcode", PointRule::Postcode),
        ("birth_date", PointRule::Date),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let n = now();
    let all = requests(n);
    assert_eq!(all.len(), 11);
    let mut parsed = Vec::new();
    for (i, (name, value)) in all.into_iter().enumerate() {
        assert!(name.starts_with(&format!("{:02}-", i + 1)) && name.ends_with(".json"));
        let r = Request::from_value_with(value, &types, &points)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.id, format!("req-2026-{:04}", i + 1));
        assert!(r.received_at < n && n - r.received_at <= TimeDelta::days(2));
        if let Some(v) = &r.verification {
            assert_eq!(v.verified_at - r.received_at, TimeDelta::minutes(5));
        }
        parsed.push(r);
    }
    let kind = |i: usize| parsed[i].kind;
    let level = |i: usize| parsed[i].verification_level();
    assert_eq!(kind(0), RequestKind::Access);
    // Data points, verified by dsr in the run; some requests keep a provider's attestation.
    assert!(parsed[0].verification_computed() && parsed[0].signed_declaration);
    assert_eq!(parsed[0].data_points.len(), 3);
    assert_eq!(level(1), VerificationLevel::ReasonablyHigh);
    assert_eq!(kind(3), RequestKind::AccessCategories);
    assert!(parsed[4].verification_computed() && !parsed[4].signed_declaration);
    assert_eq!(parsed[5].data_points.len(), 3);
    assert_eq!(parsed[7].subject.identities.len(), 2);
    assert_eq!(kind(9), RequestKind::OptOut);
    assert!(parsed[9].verification.is_none() && parsed[9].gpc);
    assert_eq!(parsed[10].data_points[1].value, minor_birth_date(n));
    assert_eq!(
        parsed[0].received_at.to_rfc3339(),
        "2026-11-20T10:00:00+00:00",
        "sample requests are received on 2026-11-20"
    );
}

#[test]
fn data_point_constants_match_the_estate() {
    assert_eq!(last4(ANA_CARD_NUMBER), "6467");
    let e = estate(now(), 0);
    for v in [
        ANA_POSTCODE,
        FINN_POSTCODE,
        GUS_POSTCODE,
        MIA_POSTCODE,
        CARA_BIRTH_DATE,
    ] {
        assert!(
            e.crm_sql.contains(&format!("'{v}'")),
            "{v} not in the estate"
        );
    }
    assert!(
        e.crm_sql
            .contains(&format!("'{}'", minor_birth_date(now())))
    );
}

/// Runs both scripts in in-memory SQLite with foreign keys enforced.
#[tokio::test]
async fn scripts_run_in_sqlite() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::str::FromStr;
    let e = estate(now(), DEFAULT_FILLER);
    let connect = || async {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")
            .expect("options")
            .foreign_keys(true);
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .expect("in-memory sqlite")
    };
    let crm = connect().await;
    sqlx::raw_sql(&e.crm_sql)
        .execute(&crm)
        .await
        .expect("crm script");
    let support = connect().await;
    sqlx::raw_sql(&e.support_sql)
        .execute(&support)
        .await
        .expect("support script");

    let count = |pool: &sqlx::SqlitePool, sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect(sql)
        }
    };
    let violations = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&crm)
        .await
        .expect("fk check");
    assert!(violations.is_empty(), "foreign key violations");
    assert_eq!(
        count(&crm, "SELECT count(*) FROM customers").await,
        (SPECIAL_IDS.len() + DEFAULT_FILLER) as i64
    );
    assert_eq!(
        count(&crm, "SELECT count(*) FROM customers WHERE address_id = 3").await,
        2
    );
    assert_eq!(
        count(
            &crm,
            "SELECT count(*) FROM customers WHERE email = 'ana.alvarez@example.com'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &crm,
            "SELECT count(*) FROM identity_documents WHERE ssn = '521-44-7788'"
        )
        .await,
        1
    );
    assert!(
        count(
            &crm,
            "SELECT count(*) FROM marketing_contacts WHERE client_id = 'globex'"
        )
        .await
            > 0
    );
    assert!(
        count(&crm, "SELECT count(*) FROM order_items").await
            > count(&crm, "SELECT count(*) FROM orders").await
    );
    assert!(
        count(
            &crm,
            "SELECT count(*) FROM customers WHERE full_name LIKE '%''%'"
        )
        .await
            > 0
    );
    assert_eq!(
        count(
            &support,
            "SELECT count(*) FROM tickets WHERE customer_id = 1 AND body LIKE '%521-44-7788%'"
        )
        .await,
        1
    );
    assert!(
        count(
            &support,
            "SELECT count(*) FROM tickets WHERE customer_id IS NULL"
        )
        .await
            > 0
    );
}
