//! Worked examples of the DROP canonicalisation and hash rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

#[test]
fn phone_examples_of_the_published_rules() {
    // The two test vectors of the published phone rule.
    assert_eq!(
        canonical(Field::Phone, "+1(415)555-9317").as_deref(),
        Some("4155559317")
    );
    assert_eq!(
        list_hash(ListType::Phone, &[Some("+1(415)555-9317")]).as_deref(),
        Some("vGM7y5n+hBXRSEAklhHDPCbysyNgYTmXdMcagGUOY8E=")
    );
    assert_eq!(
        list_hash(ListType::Phone, &[Some("+84(90)123 4567")]).as_deref(),
        Some("ptzVkgbv9DonwvPCHmXmJ2SEOaolSh37z3ZzY/Gmm+U=")
    );
    // Fewer than 10 digits: all of them.
    assert_eq!(
        canonical(Field::Phone, "555-0100").as_deref(),
        Some("5550100")
    );
    assert_eq!(canonical(Field::Phone, "n/a"), None);
}

#[test]
fn email_is_trimmed_and_lower_cased_only() {
    assert_eq!(
        canonical(Field::Email, "  Alice@Co.COM ").as_deref(),
        Some("alice@co.com")
    );
    assert_eq!(
        canonical(Field::Email, "a.lice+tag@co.com").as_deref(),
        Some("a.lice+tag@co.com")
    );
    assert_eq!(
        list_hash(ListType::Email, &[Some(" Alice@Co.COM")]).as_deref(),
        Some("Vq+cMxlYylNez5+9kgWt1TcL1sYzvRDfj3wPgyhusHM=")
    );
    assert_eq!(canonical(Field::Email, "not-an-email"), None);
}

#[test]
fn names_are_transliterated_and_stripped() {
    assert_eq!(canonical(Field::FirstName, "José").as_deref(), Some("jose"));
    assert_eq!(canonical(Field::FirstName, "Иван").as_deref(), Some("ivan"));
    assert_eq!(
        canonical(Field::LastName, "O'Brien-Smith").as_deref(),
        Some("obriensmith")
    );
    assert_eq!(
        canonical(Field::LastName, "Ωmega").as_deref(),
        Some("omega")
    );
    // CJK is kept as it is.
    assert_eq!(canonical(Field::LastName, "山田").as_deref(), Some("山田"));
}

#[test]
fn dates_zips_and_vins() {
    for d in [
        "1985-07-04",
        "19850704",
        "07/04/1985",
        "1985-07-04T00:00:00Z",
    ] {
        assert_eq!(
            canonical(Field::BirthDate, d).as_deref(),
            Some("19850704"),
            "{d}"
        );
    }
    assert_eq!(canonical(Field::BirthDate, "1985-13-04"), None);
    assert_eq!(
        canonical(Field::Zip, "94110-1234").as_deref(),
        Some("94110")
    );
    assert_eq!(canonical(Field::Zip, "941"), None);
    assert_eq!(
        canonical(Field::Vin, "1hgcm8263 3a004352").as_deref(),
        Some("1HGCM82633A004352")
    );
    assert_eq!(canonical(Field::Vin, "1HGCM82633A00435"), None);
    assert_eq!(
        canonical(Field::Maid, " 6D92078A-8246-4BA4-AE5B-76104861E7DC ").as_deref(),
        Some("6d92078a-8246-4ba4-ae5b-76104861e7dc")
    );
}

#[test]
fn composite_hashes_concatenate_the_field_hashes() {
    // hash(hash("jose") + hash("ivan") + hash("19850704") + hash("94110")), computed apart.
    assert_eq!(
        list_hash(
            ListType::Ndz,
            &[
                Some("José"),
                Some("Иван"),
                Some("1985-07-04"),
                Some("94110-1234")
            ]
        )
        .as_deref(),
        Some("siVvqdAEnb6Nj1TT5s9M/oYXSYscm5QfUwFt8bH74vQ=")
    );
    assert_eq!(
        list_hash(
            ListType::NameVin,
            &[Some("Ana"), Some("Ng"), Some("1HGCM82633A004352")]
        )
        .as_deref(),
        Some("tNmeIsC/MUUEaU4wHx807RAGuiwn4m3Q6y/Z/wTRzHc=")
    );
    // A missing or unusable field: no hash.
    assert_eq!(
        list_hash(
            ListType::Ndz,
            &[Some("Ana"), None, Some("1985-07-04"), Some("94110")]
        ),
        None
    );
    assert_eq!(list_hash(ListType::Ndz, &[Some("Ana")]), None);
}

#[test]
fn hashes_file_names_and_codes() {
    assert!(is_hash("vGM7y5n+hBXRSEAklhHDPCbysyNgYTmXdMcagGUOY8E="));
    assert!(!is_hash("vGM7y5n+hBXRSEAklhHDPCbysyNgYTmXdMcagGUOY8E"));
    assert!(!is_hash(&"a".repeat(44)));
    assert_eq!(
        file_kind("x/20260801_DB123_Email.csv"),
        Ok(FileKind::List(ListType::Email))
    );
    assert_eq!(
        file_kind("20260801_DB123_NameVIN_part2.csv"),
        Ok(FileKind::List(ListType::NameVin))
    );
    assert_eq!(
        file_kind("20260801_DB123_Removed.csv"),
        Ok(FileKind::Removed)
    );
    assert!(
        file_kind("20260801_DB123_Fax.csv")
            .unwrap_err()
            .contains("unknown list type")
    );
    assert!(file_kind("Email.csv").is_err());
    assert!(file_kind("20260801_DB123_Email.txt").is_err());
    assert_eq!(StatusCode::from_code(4), Some(StatusCode::OptedOut));
    assert_eq!(StatusCode::NotFound.code(), 5);
    assert!(valid_work_item_id("wi-000123"));
    assert!(!valid_work_item_id("wi 1"));
}
