//! Unit tests of signed DRP messages: signature verification, envelope claims, mapping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use ed25519_dalek::{Signer, SigningKey};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn agent(k: &SigningKey) -> Agent {
    Agent {
        id: "AA".into(),
        name: String::new(),
        verify_key: k.verifying_key().to_bytes(),
    }
}

fn sign(k: &SigningKey, msg: &[u8]) -> Vec<u8> {
    let mut out = k.sign(msg).to_bytes().to_vec();
    out.extend_from_slice(msg);
    base64::engine::general_purpose::STANDARD
        .encode(out)
        .into_bytes()
}

fn drp() -> DrpSettings {
    DrpSettings {
        business_id: "NORTHWIND".into(),
        max_clock_skew_secs: 60,
        max_validity_mins: 60,
        agents: BTreeMap::new(),
    }
}

#[test]
fn signatures_verify_only_with_the_agents_key_and_unaltered() {
    let k = key(7);
    let body = sign(&k, br#"{"a":1}"#);
    let s = decode(&body).expect("decodes");
    assert_eq!(s.message, br#"{"a":1}"#);
    assert!(verifies(&s, &agent(&k)));
    // Another key.
    assert!(!verifies(&s, &agent(&key(8))));
    // An altered message under the same signature.
    let mut raw = base64::engine::general_purpose::STANDARD
        .decode(&body)
        .unwrap();
    let last = raw.len() - 2;
    raw[last] = b'2';
    let altered = base64::engine::general_purpose::STANDARD.encode(raw);
    assert!(!verifies(&decode(altered.as_bytes()).unwrap(), &agent(&k)));
    // Not base64, or too short for a signature.
    assert!(decode(b"{\"a\":1}").is_none());
    assert!(
        decode(
            base64::engine::general_purpose::STANDARD
                .encode([0u8; 64])
                .as_bytes()
        )
        .is_none()
    );
    // Whitespace (line-wrapped base64) is fine.
    let mut wrapped = body.clone();
    wrapped.insert(10, b'\n');
    assert!(verifies(&decode(&wrapped).unwrap(), &agent(&k)));
}

fn envelope(issued: DateTime<Utc>, expires: DateTime<Utc>) -> Value {
    json!({"agent-id": "AA", "business-id": "NORTHWIND",
           "issued-at": issued.to_rfc3339(), "expires-at": expires.to_rfc3339()})
}

#[test]
fn envelope_claims_are_checked() {
    let now = Utc::now();
    let m = chrono::Duration::minutes;
    let ok = envelope(now - m(1), now + m(14));
    assert!(check_envelope(&ok, "AA", &drp(), now, true).is_ok());
    assert!(check_envelope(&ok, "BB", &drp(), now, true).is_err());
    let mut other = ok.clone();
    other["business-id"] = json!("ACME");
    assert_eq!(
        check_envelope(&other, "AA", &drp(), now, true).unwrap_err(),
        "business-id is not this business"
    );
    let expired = envelope(now - m(20), now - m(5));
    assert!(
        check_envelope(&expired, "AA", &drp(), now, true)
            .unwrap_err()
            .contains("expired")
    );
    let future = envelope(now + m(5), now + m(15));
    assert_eq!(
        check_envelope(&future, "AA", &drp(), now, true).unwrap_err(),
        "issued-at is in the future"
    );
    // Within the skew is fine.
    let skewed = envelope(now + chrono::Duration::seconds(30), now + m(15));
    assert!(check_envelope(&skewed, "AA", &drp(), now, true).is_ok());
    let too_long = envelope(now, now + m(61));
    assert!(check_envelope(&too_long, "AA", &drp(), now, true).is_err());
    // Older drafts' names.
    let old = json!({"issuer": "AA", "audience": "NORTHWIND",
                     "issued-at": now.to_rfc3339(), "expires-at": (now + m(5)).to_rfc3339()});
    assert!(check_envelope(&old, "AA", &drp(), now, true).is_ok());
    // The revoke body may come without an envelope.
    assert!(matches!(
        check_envelope(&json!({"reason": "x"}), "AA", &drp(), now, false),
        Ok(None)
    ));
    assert!(check_envelope(&json!({"reason": "x"}), "AA", &drp(), now, true).is_err());
}

fn types() -> (BTreeMap<String, Normalizer>, BTreeMap<String, PointRule>) {
    let ids = [("email", Normalizer::Email), ("phone", Normalizer::Phone)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let points = [
        ("email", PointRule::Email),
        ("phone", PointRule::Phone),
        ("postcode", PointRule::Postcode),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    (ids, points)
}

fn mapped(claims: Value) -> Result<Mapped, Malformed> {
    let (ids, points) = types();
    let e = exercise(&claims)?;
    map(&e, "drp-1", "AA", Utc::now(), &ids, &points)
}

#[test]
fn exercises_map_to_requests_with_claims_as_data_points() {
    let base = json!({"drp.version": "1.0", "exercise": "deletion", "regime": "ccpa",
        "email": "Ana@Example.com", "email_verified": true,
        "phone_number": "+14155550101", "phone_number_verified": false,
        "address": {"postal_code": "94110"}, "address_verified": true});
    let Mapped::Submit(r) = mapped(base.clone()).unwrap() else {
        panic!("submitted")
    };
    assert_eq!(r["kind"], "deletion");
    assert_eq!(r["jurisdiction"], "CA");
    assert_eq!(r["agent"], "AA");
    assert_eq!(r["subject"]["identities"].as_array().unwrap().len(), 2);
    let types: Vec<&str> = r["data_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    // The unverified phone is an identity to look up by, not a data point.
    assert_eq!(types, ["email", "postcode"]);
    assert!(r.get("verification").is_none(), "never an attestation");

    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        mapped(c)
    };
    for (action, kind) in [
        ("sale:opt-out", "opt_out"),
        ("sale:opt_out", "opt_out"),
        ("access", "access"),
        ("access:categories", "access_categories"),
    ] {
        let Mapped::Submit(r) = with("exercise", json!(action)).unwrap() else {
            panic!("{action}")
        };
        assert_eq!(r["kind"], kind);
    }
    // Opt-in: an `opt_in` request whose confirmation is the agent's signed request.
    let Mapped::Submit(r) = with("exercise", json!("sale:opt-in")).unwrap() else {
        panic!("sale:opt-in")
    };
    assert_eq!(r["kind"], "opt_in");
    assert_eq!(r["opt_in"]["confirmed_at"], r["received_at"]);
    assert!(matches!(
        with("regime", json!("gdpr")).unwrap(),
        Mapped::Deny("outside_jurisdiction")
    ));
    assert!(matches!(
        with("regime", Value::Null).unwrap(),
        Mapped::Deny("outside_jurisdiction")
    ));
    let mut unverified = base.clone();
    unverified["email_verified"] = json!(false);
    unverified["address_verified"] = json!(false);
    assert!(matches!(
        mapped(unverified.clone()).unwrap(),
        Mapped::Deny("insuf_verification")
    ));
    unverified["exercise"] = json!("sale:opt-out");
    assert!(matches!(mapped(unverified).unwrap(), Mapped::Submit(_)));
    let mut nobody = base.clone();
    nobody.as_object_mut().unwrap().remove("email");
    nobody.as_object_mut().unwrap().remove("phone_number");
    assert!(matches!(mapped(nobody).unwrap(), Mapped::Deny("no_match")));

    let bad = with("exercise", json!("erase-everything")).unwrap_err();
    assert!(bad.0.contains("unsupported rights action"));
    let bad = with("email", json!("not-an-email-secret")).unwrap_err();
    assert_eq!(bad.0, "claim email is malformed");
    assert!(with("drp.version", json!("0.5")).is_err());
    assert!(with("email_verified", json!("yes")).is_err());
}
