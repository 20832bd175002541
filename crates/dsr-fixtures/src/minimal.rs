//! The smallest valid `dsr.toml` and `disclosures.toml`, for benchmarks and tests that write
//! their own store files: identity types `email` and `customer_id`, chart rows for `contact`
//! and `commercial`. Nothing here is for production.

/// A `dsr.toml` with no real locations (the callers never write evidence or reports).
pub const SETTINGS: &str = r#"
control_db = "sqlite::memory:"
evidence = "/nonexistent"
delivery = "/nonexistent"
hash_key = "test-only-hash-key-0123456789"
[business]
name = "Test"
privacy_contact = "privacy@example.com"
sells = false
[identities.email]
normalize = "email"
[identities.customer_id]
normalize = "exact"
"#;

/// A `disclosures.toml` with the `contact` and `commercial` rows.
pub const DISCLOSURES: &str = r#"
version = "test"
source = "test"
[category.contact]
label = "Contact"
sources = ["Consumers"]
purposes = ["Internal"]
sold = false
third_parties = []
[category.commercial]
label = "Commercial"
sources = ["Consumers"]
purposes = ["Internal"]
sold = false
third_parties = []
"#;
