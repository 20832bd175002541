//! Validation of the real configuration under `config/`: the shipped files validate, and each
//! invalid variant (built by editing the real text) yields its own issue, located at the right
//! file and key, without follow-on noise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dsr_core::config::{Config, SourceFile};
use dsr_core::{ConfigIssue, Error};
use std::path::{Path, PathBuf};

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// `*.toml` in `dir`, as `(relative path, text)` with `prefix` in front of the file name.
fn read_tomls(dir: &Path, prefix: &str) -> Vec<SourceFile> {
    let mut out: Vec<SourceFile> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .map(|p| SourceFile {
            path: format!("{prefix}{}", p.file_name().unwrap().to_str().unwrap()),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The configuration files, editable.
struct Files(Vec<SourceFile>);

impl Files {
    /// The shipped configuration directory.
    fn shipped() -> Files {
        let dir = config_dir();
        let mut files = read_tomls(&dir, "");
        files.extend(read_tomls(&dir.join("stores"), "stores/"));
        for needed in [
            "dsr.toml",
            "disclosures.toml",
            "exemptions.toml",
            "stores/crm.toml",
            "stores/support.toml",
        ] {
            assert!(
                files.iter().any(|f| f.path == needed),
                "config/{needed} not found"
            );
        }
        Files(files)
    }

    fn text(&self, path: &str) -> &str {
        &self
            .0
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no file {path}"))
            .text
    }

    fn text_mut(&mut self, path: &str) -> &mut String {
        &mut self
            .0
            .iter_mut()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no file {path}"))
            .text
    }

    /// Replaces the one occurrence of `from` in `path` (the edit must hit exactly one place,
    /// so a change to the real config cannot silently turn a variant into a no-op).
    fn replace(mut self, path: &str, from: &str, to: &str) -> Files {
        let text = self.text_mut(path);
        let n = text.matches(from).count();
        assert_eq!(n, 1, "`{from}` occurs {n} times in {path}, expected once");
        *text = text.replacen(from, to, 1);
        self
    }

    /// Appends TOML to `path`.
    fn append(mut self, path: &str, toml: &str) -> Files {
        let text = self.text_mut(path);
        text.push('\n');
        text.push_str(toml);
        self
    }

    /// Removes the section starting at `header` up to the next line starting with `[`.
    fn remove_section(mut self, path: &str, header: &str) -> Files {
        let text = self.text_mut(path);
        let start = text
            .find(header)
            .unwrap_or_else(|| panic!("no `{header}` in {path}"));
        let body = start + header.len();
        let end = text[body..]
            .find("\n[")
            .map_or(text.len(), |i| body + i + 1);
        text.replace_range(start..end, "");
        self
    }

    fn load(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Error> {
        Config::from_sources(&self.0, env)
    }

    /// The issues of an invalid configuration (environment empty: defaults apply).
    fn issues(&self) -> Vec<ConfigIssue> {
        match self.load(&|_| None) {
            Ok(_) => panic!("configuration validated, expected issues"),
            Err(Error::Config(issues)) => issues,
            Err(e) => panic!("expected Error::Config, got {e}"),
        }
    }
}

fn show(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("\n  {} | {} | {}", i.file, i.key, i.message))
        .collect()
}

fn matches(i: &ConfigIssue, file: &str, key: &str, message_part: &str) -> bool {
    i.file == file && i.key == key && i.message.contains(message_part)
}

/// `issues` holds an issue at `file` / `key` whose message contains `message_part`.
fn assert_has(issues: &[ConfigIssue], file: &str, key: &str, message_part: &str) {
    assert!(
        issues.iter().any(|i| matches(i, file, key, message_part)),
        "expected {file} | {key} | …{message_part}…, got:{}",
        show(issues)
    );
}

/// `issues` is exactly that one issue (no follow-on noise).
fn assert_only(issues: &[ConfigIssue], file: &str, key: &str, message_part: &str) {
    assert_has(issues, file, key, message_part);
    assert_eq!(issues.len(), 1, "expected one issue, got:{}", show(issues));
}

/// 1-based line of `needle` inside the one occurrence of `edited` in `text`.
fn line_of(text: &str, edited: &str, needle: &str) -> usize {
    assert_eq!(text.matches(edited).count(), 1, "`{edited}` not once");
    let at = text.find(edited).unwrap() + edited.find(needle).unwrap();
    text[..at].matches('\n').count() + 1
}

// ---- The shipped configuration ----

#[test]
fn shipped_config_validates() {
    let files = Files::shipped();
    let config = match files.load(&|_| None) {
        Ok(c) => c,
        Err(e) => panic!("shipped config does not validate: {e}"),
    };
    let stores: Vec<&str> = config
        .data_map
        .stores
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let store_files = files
        .0
        .iter()
        .filter(|f| f.path.starts_with("stores/"))
        .count();
    assert_eq!(stores.len(), store_files, "every store file is a store");
    assert!(
        stores.contains(&"crm") && stores.contains(&"support"),
        "{stores:?}"
    );
    // Defaults of `${VAR:-default}` applied.
    let crm = config.data_map.store("crm").unwrap();
    assert_eq!(crm.url, "sqlite://var/demo/crm.db");
    assert_eq!(config.settings.control_db, "sqlite://var/demo/control.db");
    // Relations resolved to real columns.
    let orders = config
        .data_map
        .tables()
        .find(|t| t.id.store == "crm" && t.id.table == "orders")
        .unwrap();
    let owner = orders.column("customer_id").unwrap().edge.as_ref().unwrap();
    assert_eq!(owner.target.to_string(), "crm.customers.id");
    assert_eq!(config.exemptions.rules.len(), 2);
    assert_eq!(config.exemptions.legal_holds.len(), 1);
}

// ---- Categories ----

#[test]
fn unknown_category_in_store_column() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"columns.state       = { category = "geolocation","#,
            r#"columns.state       = { category = "geo_location","#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.addresses.columns.state.category",
        "unknown category `geo_location`",
    );
}

#[test]
fn unknown_category_in_disclosures() {
    let issues = Files::shipped()
        .append(
            "disclosures.toml",
            r#"[category.health]
label = "Health information"
sources = ["Consumers"]
purposes = ["Our internal purposes"]
sold = false
third_parties = []
"#,
        )
        .issues();
    assert_only(
        &issues,
        "disclosures.toml",
        "category.health",
        "unknown category `health`",
    );
}

#[test]
fn category_without_disclosure_row() {
    let files = Files::shipped().remove_section("disclosures.toml", "[category.geolocation]");
    assert!(!files.text("disclosures.toml").contains("geolocation"));
    assert_only(
        &files.issues(),
        "stores/crm.toml",
        "tables.addresses.columns.state.category",
        "category `geolocation` has no row in disclosures.toml",
    );
}

// ---- Relations ----

#[test]
fn owned_by_missing_table() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            "columns.customer_id = { owned_by = \"customers.id\" }\ncolumns.card_id",
            "columns.customer_id = { owned_by = \"customer.id\" }\ncolumns.card_id",
        )
        .issues();
    // Only the relation: the table it was meant to reach is not reported as unreachable too.
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.orders.columns.customer_id.owned_by",
        "table `customer` is not mapped",
    );
}

#[test]
fn owned_by_missing_column() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            "columns.customer_id = { owned_by = \"customers.id\" }\ncolumns.card_id",
            "columns.customer_id = { owned_by = \"customers.customer_id\" }\ncolumns.card_id",
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.orders.columns.customer_id.owned_by",
        "column `customer_id` is not mapped in `crm.customers`",
    );
}

#[test]
fn owned_by_missing_table_in_other_store() {
    let issues = Files::shipped()
        .replace(
            "stores/support.toml",
            r#"columns.customer_id = { identity = "customer_id" }"#,
            r#"columns.customer_id = { identity = "customer_id", owned_by = "crm.clients.id" }"#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/support.toml",
        "tables.tickets.columns.customer_id.owned_by",
        "table `crm.clients` is not mapped",
    );
}

#[test]
fn owns_missing_table() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"columns.address_id = { owns = "addresses.id" }"#,
            r#"columns.address_id = { owns = "address.id" }"#,
        )
        .issues();
    assert_has(
        &issues,
        "stores/crm.toml",
        "tables.customers.columns.address_id.owns",
        "table `address` is not mapped",
    );
    // Without the relation, addresses really has no path; nothing else may be reported.
    assert_has(
        &issues,
        "stores/crm.toml",
        "tables.addresses",
        "no path from any identity",
    );
    assert_eq!(issues.len(), 2, "{}", show(&issues));
}

#[test]
fn owns_missing_column() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"columns.address_id = { owns = "addresses.id" }"#,
            r#"columns.address_id = { owns = "addresses.address_id" }"#,
        )
        .issues();
    assert_has(
        &issues,
        "stores/crm.toml",
        "tables.customers.columns.address_id.owns",
        "column `address_id` is not mapped in `crm.addresses`",
    );
    assert_has(
        &issues,
        "stores/crm.toml",
        "tables.addresses",
        "no path from any identity",
    );
    assert_eq!(issues.len(), 2, "{}", show(&issues));
}

#[test]
fn references_missing_table() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"columns.card_id     = { references = "payment_cards.id" }"#,
            r#"columns.card_id     = { references = "cards.id" }"#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.orders.columns.card_id.references",
        "table `cards` is not mapped",
    );
}

#[test]
fn references_missing_column() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"columns.card_id     = { references = "payment_cards.id" }"#,
            r#"columns.card_id     = { references = "payment_cards.card_id" }"#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.orders.columns.card_id.references",
        "column `card_id` is not mapped in `crm.payment_cards`",
    );
}

#[test]
fn table_without_path_from_identity() {
    let issues = Files::shipped()
        .append(
            "stores/crm.toml",
            r#"[tables.newsletter_signups]
erase = "delete"
columns.topic = { category = "inferences", label = "Topic" }
"#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.newsletter_signups",
        "mapped table has no path from any identity",
    );
}

#[test]
fn relation_cycle_between_two_tables() {
    // A card pointing back at an order: orders -> payment_cards -> orders.
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            "columns.fraud_flag  = {}",
            "columns.fraud_flag  = {}\ncolumns.last_order_id = { references = \"orders.id\" }",
        )
        .issues();
    assert_eq!(issues.len(), 1, "{}", show(&issues));
    let i = &issues[0];
    assert_eq!(i.file, "stores/crm.toml");
    // Located at a table on the cycle (not at a table that merely leads into it).
    assert!(
        i.key == "tables.orders" || i.key == "tables.payment_cards",
        "cycle located at {}",
        i.key
    );
    assert!(
        i.message.contains("relations form a cycle"),
        "{}",
        i.message
    );
    assert!(
        i.message.contains("crm.orders") && i.message.contains("crm.payment_cards"),
        "{}",
        i.message
    );
    assert!(!i.message.contains("order_items"), "{}", i.message);
}

#[test]
fn relation_cycle_owns_and_owned_by() {
    // customers owns addresses; addresses owned_by customers.
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            "columns.id          = {}\ncolumns.line1",
            "columns.id          = {}\ncolumns.customer_id = { owned_by = \"customers.id\" }\ncolumns.line1",
        )
        .issues();
    assert_eq!(issues.len(), 1, "{}", show(&issues));
    let i = &issues[0];
    assert_eq!(i.file, "stores/crm.toml");
    assert!(
        i.key == "tables.addresses" || i.key == "tables.customers",
        "cycle located at {}",
        i.key
    );
    assert!(
        i.message.contains("relations form a cycle"),
        "{}",
        i.message
    );
    assert!(
        i.message.contains("crm.addresses") && i.message.contains("crm.customers"),
        "{}",
        i.message
    );
}

// ---- Names ----

#[test]
fn duplicate_store_name() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            "kind = \"sqlite\"\n",
            "kind = \"sqlite\"\nname = \"crm\"\n",
        )
        .replace(
            "stores/support.toml",
            "kind = \"sqlite\"\n",
            "kind = \"sqlite\"\nname = \"crm\"\n",
        )
        .issues();
    // One issue, at the second file; the first keeps the name (its tables are not
    // re-attributed to the second file).
    assert_only(
        &issues,
        "stores/support.toml",
        "name",
        "duplicate store name `crm` (also stores/crm.toml)",
    );
}

#[test]
fn duplicate_exemption_name() {
    let issues = Files::shipped()
        .append(
            "exemptions.toml",
            r#"[[exemption]]
name = "complete_transaction"
basis = "Cal. Civ. Code §1798.105(d)(1)"
tables = ["support.tickets"]
when = { column = "status", in = ["open"] }
"#,
        )
        .issues();
    assert_only(
        &issues,
        "exemptions.toml",
        "exemption[2].name",
        "duplicate exemption name `complete_transaction`",
    );
}

// ---- Sensitive columns ----

#[test]
fn sensitive_without_kind() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"sensitive = "ssn""#,
            r#"sensitive = true"#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.identity_documents.columns.ssn.sensitive",
        "needs its sensitive kind",
    );
}

#[test]
fn unknown_sensitive_kind() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"sensitive = "ssn""#,
            r#"sensitive = "social_security""#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.identity_documents.columns.ssn.sensitive",
        "unknown sensitive kind `social_security`",
    );
}

// ---- Erase actions ----

#[test]
fn mask_hash_refused_as_pseudonymisation() {
    for strategy in ["hash", "keyed_hash", "hmac", "sha256"] {
        let issues = Files::shipped()
            .replace(
                "stores/crm.toml",
                r#"ip = "null""#,
                &format!(r#"ip = "{strategy}""#),
            )
            .issues();
        assert_only(
            &issues,
            "stores/crm.toml",
            "tables.page_views.mask.ip",
            "pseudonymisation, not deletion",
        );
    }
}

#[test]
fn unknown_erase_action() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            "[tables.orders]\nerase = \"delete\"",
            "[tables.orders]\nerase = \"anonymise\"",
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.orders.erase",
        "unknown erase action `anonymise`",
    );
}

#[test]
fn retain_without_basis() {
    let retain = |extra: &str| {
        Files::shipped().replace(
            "stores/crm.toml",
            "[tables.orders]\nerase = \"delete\"",
            &format!("[tables.orders]\nerase = \"retain\"{extra}"),
        )
    };
    assert_only(
        &retain("").issues(),
        "stores/crm.toml",
        "tables.orders.retain_basis",
        "erase = \"retain\" needs retain_basis",
    );
    assert_only(
        &retain("\nretain_basis = \"  \"").issues(),
        "stores/crm.toml",
        "tables.orders.retain_basis",
        "needs retain_basis",
    );
    // With a basis the same edit validates.
    let ok = retain("\nretain_basis = \"Tax law: 7 years\"").load(&|_| None);
    assert!(ok.is_ok(), "{:?}", ok.err());
}

// ---- Identities ----

#[test]
fn identity_type_not_declared() {
    let issues = Files::shipped()
        .replace(
            "stores/support.toml",
            r#"{ identity = "customer_id" }"#,
            r#"{ identity = "account_id" }"#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/support.toml",
        "tables.tickets.columns.customer_id.identity",
        "identity type `account_id` is not declared in dsr.toml",
    );
}

#[test]
fn legal_hold_identity_type_not_declared() {
    let issues = Files::shipped()
        .replace(
            "exemptions.toml",
            r#"{ type = "customer_id", value = "7" }"#,
            r#"{ type = "account_id", value = "7" }"#,
        )
        .issues();
    assert_only(
        &issues,
        "exemptions.toml",
        "legal_hold[0].identities[0].type",
        "identity type `account_id` is not declared",
    );
}

// ---- Exemptions ----

#[test]
fn exemption_on_unmapped_table() {
    let issues = Files::shipped()
        .replace(
            "exemptions.toml",
            r#"tables = ["crm.orders"]"#,
            r#"tables = ["crm.order"]"#,
        )
        .issues();
    assert_only(
        &issues,
        "exemptions.toml",
        "exemption[0].tables",
        "table `crm.order` is not mapped",
    );
}

#[test]
fn exemption_on_unknown_store() {
    let issues = Files::shipped()
        .replace(
            "exemptions.toml",
            r#"tables = ["crm.orders"]"#,
            r#"tables = ["billing.orders"]"#,
        )
        .issues();
    assert_only(
        &issues,
        "exemptions.toml",
        "exemption[0].tables",
        "table `billing.orders` is not mapped",
    );
}

#[test]
fn exemption_condition_on_unmapped_column() {
    let issues = Files::shipped()
        .replace(
            "exemptions.toml",
            r#"{ column = "fraud_flag", is_true = true }"#,
            r#"{ column = "is_fraud", is_true = true }"#,
        )
        .issues();
    // Both tables of the rule lack the column.
    assert_has(
        &issues,
        "exemptions.toml",
        "exemption[1].when",
        "column `is_fraud` is not mapped in `crm.logins`",
    );
    assert_has(
        &issues,
        "exemptions.toml",
        "exemption[1].when",
        "column `is_fraud` is not mapped in `crm.payment_cards`",
    );
    assert_eq!(issues.len(), 2, "{}", show(&issues));
}

#[test]
fn exemption_condition_inside_all_on_unmapped_column() {
    let issues = Files::shipped()
        .replace(
            "exemptions.toml",
            r#"{ column = "status", in = ["open", "shipped"] }"#,
            r#"{ column = "state", in = ["open", "shipped"] }"#,
        )
        .issues();
    assert_only(
        &issues,
        "exemptions.toml",
        "exemption[0].when",
        "column `state` is not mapped in `crm.orders`",
    );
}

// ---- Unknown fields (deny_unknown_fields) ----

#[test]
fn unknown_field_anywhere_names_file_and_line() {
    // (file, real text, typo'd text, misspelt field)
    let cases = [
        (
            "dsr.toml",
            "record_keeping_months = 24",
            "record_keeping_month = 24",
            "record_keeping_month",
        ),
        (
            "dsr.toml",
            "opt_out_url = ",
            "opt_out_link = ",
            "opt_out_link",
        ),
        (
            "dsr.toml",
            "[identities.email]\nnormalize = \"email\"",
            "[identities.email]\nnormalise = \"email\"",
            "normalise",
        ),
        (
            "stores/crm.toml",
            "description = \"Customer records",
            "descripton = \"Customer records",
            "descripton",
        ),
        (
            "stores/crm.toml",
            "label = \"Order\"\n",
            "lable = \"Order\"\n",
            "lable",
        ),
        (
            "stores/crm.toml",
            r#"columns.status      = { category = "commercial","#,
            r#"columns.status      = { categroy = "commercial","#,
            "categroy",
        ),
        (
            "stores/support.toml",
            r#"columns.customer_id = { identity = "customer_id" }"#,
            r#"columns.customer_id = { identity = "customer_id", uniqe = true }"#,
            "uniqe",
        ),
        (
            "disclosures.toml",
            "[category.financial]\nlabel",
            "[category.financial]\nlabell",
            "labell",
        ),
        (
            "disclosures.toml",
            "topic = \"retention\"",
            "topics = \"retention\"",
            "topics",
        ),
        (
            "exemptions.toml",
            "name = \"security_integrity\"\nbasis",
            "name = \"security_integrity\"\nbasis_ = \"x\"\nbasis",
            "basis_",
        ),
        (
            "exemptions.toml",
            "[[legal_hold]]",
            "[[legal_holds]]",
            "legal_holds",
        ),
    ];
    for (file, from, to, field) in cases {
        let files = Files::shipped().replace(file, from, to);
        let line = line_of(files.text(file), to, field);
        let issues = files.issues();
        // The file's own issue, naming the field and its line; the stores, relations and
        // exemptions that depend on the file are not reported as broken on top of it.
        assert_only(&issues, file, "", &format!("unknown field `{field}`"));
        assert!(
            issues[0].message.contains(&format!("(line {line})")),
            "{file}: expected line {line}:{}",
            show(&issues)
        );
    }
}

// ---- Environment ----

#[test]
fn missing_env_var_in_store_url() {
    let files = Files::shipped().replace(
        "stores/crm.toml",
        "${DSR_CRM_URL:-sqlite://var/demo/crm.db}",
        "${DSR_CRM_URL}",
    );
    // Only the url: the store's tables stay known to relations and exemptions.
    assert_only(
        &files.issues(),
        "stores/crm.toml",
        "url",
        "environment variable DSR_CRM_URL is not set",
    );
    // The same file with the variable set validates and uses it.
    let env = |k: &str| (k == "DSR_CRM_URL").then(|| "sqlite://elsewhere/crm.db".to_string());
    let config = files.load(&env).unwrap();
    assert_eq!(
        config.data_map.store("crm").unwrap().url,
        "sqlite://elsewhere/crm.db"
    );
}

#[test]
fn missing_env_var_in_settings() {
    let issues = Files::shipped()
        .replace(
            "dsr.toml",
            "${DSR_HASH_KEY:-demo-only-hash-key-do-not-use-in-production}",
            "${DSR_HASH_KEY}",
        )
        .issues();
    // Only the key: the identity types of dsr.toml are still known to the stores.
    assert_only(
        &issues,
        "dsr.toml",
        "hash_key",
        "environment variable DSR_HASH_KEY is not set",
    );
}

#[test]
fn a_bad_signing_key_is_named_and_never_echoed() {
    let secret = "not-a-key-but-a-secret-value";
    let files = Files::shipped();
    let issues = match files.load(&|k| (k == "DSR_SIGNING_KEY").then(|| secret.to_string())) {
        Err(Error::Config(issues)) => issues,
        other => panic!("expected issues, got {other:?}"),
    };
    assert_only(&issues, "dsr.toml", "signing.private_key", "64 hex digits");
    assert!(!show(&issues).contains(secret), "{}", show(&issues));
}

#[test]
fn a_signing_key_without_its_public_key_is_refused() {
    let issues = Files::shipped()
        .replace("dsr.toml", "demo-2026 = \"c027", "retired-2025 = \"c027")
        .issues();
    assert_only(
        &issues,
        "dsr.toml",
        "signing.public_keys",
        "lists no key `demo-2026`",
    );
}

#[test]
fn report_links_last_at_most_seven_days() {
    let issues = Files::shipped()
        .replace("dsr.toml", "report_link_days = 5", "report_link_days = 30")
        .issues();
    assert_only(&issues, "dsr.toml", "report_link_days", "1 to 7");
}

#[test]
fn a_mapped_table_cannot_be_the_fence_table() {
    let issues = Files::shipped()
        .append("stores/support.toml", "")
        .replace(
            "stores/support.toml",
            "kind = \"sqlite\"",
            "kind = \"sqlite\"\nfence_table = \"tickets\"",
        )
        .issues();
    assert_only(
        &issues,
        "stores/support.toml",
        "fence_table",
        "mapped table",
    );
}

// ---- Parquet stores ----

#[test]
fn a_lake_table_with_a_bad_glob_is_refused() {
    let issues = Files::shipped()
        .replace(
            "stores/analytics.toml",
            r#"files = "events/*.parquet""#,
            r#"files = "../events/*.parquet""#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/analytics.toml",
        "tables.web_events.files",
        "relative to the lake URL",
    );
}

#[test]
fn lake_rows_are_not_masked_and_normalized_needs_an_identity() {
    let issues = Files::shipped()
        .replace(
            "stores/analytics.toml",
            r#"columns.page        = { category = "internet_activity", label = "Page visited" }"#,
            r#"columns.page        = { category = "internet_activity", label = "Page visited", normalized = true }"#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/analytics.toml",
        "tables.web_events.columns.page.normalized",
        "identity columns only",
    );
    let issues = Files::shipped()
        .replace(
            "stores/analytics.toml",
            r#"erase = "delete""#,
            "erase = \"mask\"\nmask.page = \"null\"",
        )
        .issues();
    assert_only(
        &issues,
        "stores/analytics.toml",
        "tables.web_events.erase",
        "not masked",
    );
}

#[test]
fn lake_settings_belong_to_parquet_stores_and_stay_in_bounds() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"kind = "sqlite""#,
            "kind = \"sqlite\"\nmemory_mb = 64",
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "memory_mb",
        "only a parquet store",
    );
    let issues = Files::shipped()
        .replace(
            "stores/analytics.toml",
            r#"kind = "parquet""#,
            "kind = \"parquet\"\nmemory_mb = 4",
        )
        .issues();
    assert_only(
        &issues,
        "stores/analytics.toml",
        "memory_mb",
        "between 16 and 65536",
    );
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"[tables.customers]"#,
            "[tables.customers]\nfiles = \"x/*.parquet\"",
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.customers.files",
        "only tables of a parquet store",
    );
}

// ---- Exemption bases per regime ----

#[test]
fn exemption_basis_no_regime_knows() {
    let issues = Files::shipped()
        .append(
            "exemptions.toml",
            r#"[[exemption]]
name = "because_we_want_to"
basis = "Company policy 12"
tables = ["support.tickets"]
when = { column = "status", in = ["open"] }
"#,
        )
        .issues();
    assert_only(
        &issues,
        "exemptions.toml",
        "exemption[2].basis",
        "not an exemption basis of any regime",
    );
}

#[test]
fn exemption_basis_of_the_wrong_regime() {
    let issues = Files::shipped()
        .replace(
            "exemptions.toml",
            r#"gdpr = "GDPR Art. 17(3)(b)"#,
            r#"gdpr = "Cal. Civ. Code §1798.105(d)(1)"#,
        )
        .issues();
    assert_only(
        &issues,
        "exemptions.toml",
        "exemption[0].basis.gdpr",
        "not a gdpr exemption basis",
    );
    let issues = Files::shipped()
        .replace(
            "exemptions.toml",
            "name = \"complete_transaction\"\nbasis = { ccpa = ",
            "name = \"complete_transaction\"\nbasis = { lgpd = ",
        )
        .issues();
    assert_only(
        &issues,
        "exemptions.toml",
        "exemption[0].basis.lgpd",
        "unknown regime; expected ccpa or gdpr",
    );
}

#[test]
fn exemption_bases_apply_by_the_regime_of_the_request() {
    use dsr_core::jurisdiction::Regime;
    let config = Files::shipped().load(&|_| None).unwrap();
    let rule = &config.exemptions.rules[0];
    assert!(
        rule.basis
            .under(Some(Regime::Ccpa))
            .unwrap()
            .starts_with("Cal. Civ. Code §1798.105(d)(1)")
    );
    assert!(
        rule.basis
            .under(Some(Regime::Gdpr))
            .unwrap()
            .starts_with("GDPR Art. 17(3)(b)")
    );
}

// ---- Verification data points, deletion levels, birth dates ----

#[test]
fn shipped_verification_map() {
    use dsr_core::request::VerificationLevel;
    let config = Files::shipped().load(&|_| None).unwrap();
    let v = &config.verification;
    assert_eq!(v.deletion_level("crm"), VerificationLevel::ReasonablyHigh);
    assert_eq!(
        v.deletion_level("analytics"),
        VerificationLevel::ReasonablyHigh
    );
    assert_eq!(v.deletion_level("support"), VerificationLevel::Reasonable);
    let customers = config
        .data_map
        .tables()
        .find(|t| t.id.store == "crm" && t.id.table == "customers")
        .unwrap();
    assert_eq!(
        v.birth_dates.get(&customers.id).map(String::as_str),
        Some("birth_date")
    );
    assert!(
        v.columns[&customers.id].contains(&("phone".to_string(), "phone".to_string())),
        "{:?}",
        v.columns
    );
    assert_eq!(config.settings.duplicate_window_days, 7);
    assert_eq!(config.settings.data_point_types.len(), 5);
}

#[test]
fn unknown_deletion_verification_level() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"deletion_verification = "reasonably_high""#,
            r#"deletion_verification = "high""#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "deletion_verification",
        "unknown level `high`",
    );
}

#[test]
fn verify_names_an_undeclared_data_point_type() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"verify = "postcode""#,
            r#"verify = "zip""#,
        )
        .issues();
    // The column names the unknown type; `postcode` is then verified by no column.
    assert_has(
        &issues,
        "stores/crm.toml",
        "tables.addresses.columns.postal_code.verify",
        "data point type `zip` is not declared",
    );
    assert_has(
        &issues,
        "dsr.toml",
        "data_points.postcode",
        "no column verifies",
    );
    assert_eq!(issues.len(), 2, "{}", show(&issues));
}

#[test]
fn data_point_type_with_an_unknown_rule() {
    let issues = Files::shipped()
        .replace(
            "dsr.toml",
            r#"normalize = "last4""#,
            r#"normalize = "last_four""#,
        )
        .issues();
    assert_eq!(issues.len(), 1, "{}", show(&issues));
    assert_eq!(issues[0].file, "dsr.toml");
    assert!(issues[0].message.contains("last_four"), "{}", show(&issues));
}

#[test]
fn unknown_role_lists_birth_date() {
    let issues = Files::shipped()
        .replace(
            "stores/crm.toml",
            r#"role = "birth_date", verify"#,
            r#"role = "born_on", verify"#,
        )
        .issues();
    assert_only(
        &issues,
        "stores/crm.toml",
        "tables.customers.columns.birth_date.role",
        "expected collected_at or birth_date",
    );
}
