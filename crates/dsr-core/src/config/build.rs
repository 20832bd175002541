//! Validation: turns the file structs into the data map, collecting every issue.

use super::SourceFile;
use super::files::*;
use super::model::*;
use super::verify::VerificationMap;
use crate::category::{Category, SensitiveKind};
use crate::error::{ConfigIssue, Error};
use crate::exemption::Exemptions;
use crate::identity::Normalizer;
use crate::mask::MaskStrategy;
use crate::verification::PointRule;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};

pub(super) struct Issues(pub(super) Vec<ConfigIssue>);

impl Issues {
    pub(super) fn add(&mut self, file: &str, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigIssue {
            file: file.to_string(),
            key: key.into(),
            message: message.into(),
        });
    }
}

/// Replaces `${VAR}` and `${VAR:-default}` in `text` using `env`. A variable that is unset
/// and has no default is an error naming the variable.
pub fn interpolate(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unterminated ${…}".to_string())?;
        let expr = &after[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad variable name in ${{{expr}}}"));
        }
        match env(name).filter(|v| !v.is_empty()) {
            Some(v) => out.push_str(&v),
            None => match default {
                Some(d) => out.push_str(d),
                None => return Err(format!("environment variable {name} is not set")),
            },
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse<T: DeserializeOwned>(file: &SourceFile, issues: &mut Issues) -> Option<T> {
    match toml::from_str::<T>(&file.text) {
        Ok(v) => Some(v),
        Err(e) => {
            // toml's message names the key and position; config holds no subject data.
            let msg = e.message().to_string();
            let pos = e
                .span()
                .map(|s| {
                    let line = file.text[..s.start.min(file.text.len())]
                        .matches('\n')
                        .count()
                        + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            issues.add(&file.path, "", format!("{msg}{pos}"));
            None
        }
    }
}

/// Builds and validates the configuration.
pub(super) fn build(
    files: &[SourceFile],
    env: &dyn Fn(&str) -> Option<String>,
) -> crate::error::Result<Config> {
    let mut issues = Issues(Vec::new());
    let find = |p: &str| files.iter().find(|f| f.path == p);

    let settings_file = match find("dsr.toml") {
        None => {
            issues.add("dsr.toml", "", "file is missing");
            None
        }
        Some(f) => parse::<SettingsFile>(f, &mut issues),
    };
    // The declared identity types, known whenever dsr.toml parsed (even if one of its
    // `${VAR}`s failed); `None` when it did not, so that identity columns are not reported
    // as undeclared on top of that one issue.
    let identity_types: Option<BTreeMap<String, Normalizer>> = settings_file.as_ref().map(|s| {
        s.identities
            .iter()
            .map(|(k, v)| (k.clone(), v.normalize))
            .collect()
    });
    let identity_types = identity_types.as_ref();
    let point_types: Option<BTreeMap<String, PointRule>> = settings_file.as_ref().map(|s| {
        s.data_points
            .iter()
            .map(|(k, v)| (k.clone(), v.normalize))
            .collect()
    });
    let point_types = point_types.as_ref();
    let mut verification = VerificationMap::default();
    let mut corrections = super::correct::CorrectionMap::default();
    let mut settings_file = settings_file;
    let drop_file = settings_file.as_mut().and_then(|s| s.drop.take());
    let recipient_files = settings_file
        .as_mut()
        .map(|s| std::mem::take(&mut s.recipients))
        .unwrap_or_default();
    let settings = settings_file.and_then(|s| settings(s, env, &mut issues));

    // Stores.
    let mut stores = Vec::new();
    let mut store_files: BTreeMap<String, String> = BTreeMap::new();
    // Stores whose file did not parse (by file stem): references to them are not reported again.
    let mut unparsed: BTreeSet<String> = BTreeSet::new();
    let mut store_paths: Vec<&SourceFile> = files
        .iter()
        .filter(|f| f.path.starts_with("stores/"))
        .collect();
    store_paths.sort_by(|a, b| a.path.cmp(&b.path));
    if store_paths.is_empty() {
        issues.add("stores/", "", "no store files (stores/<name>.toml)");
    }
    for f in store_paths {
        let stem = f
            .path
            .trim_start_matches("stores/")
            .trim_end_matches(".toml")
            .to_string();
        let Some(sf) = parse::<StoreFile>(f, &mut issues) else {
            unparsed.insert(stem);
            continue;
        };
        let name = sf.name.clone().unwrap_or(stem);
        if !valid_name(&name) {
            issues.add(
                &f.path,
                "name",
                "store name must be 1-64 characters of a-z 0-9 _ -",
            );
        }
        // The first file keeps the name: the map must go on pointing at it.
        if let Some(prev) = store_files.get(&name) {
            issues.add(
                &f.path,
                "name",
                format!("duplicate store name `{name}` (also {prev})"),
            );
            continue;
        }
        store_files.insert(name.clone(), f.path.clone());
        super::verify::collect(
            &f.path,
            &name,
            &sf,
            point_types,
            &mut verification,
            &mut issues,
        );
        super::correct::collect(&f.path, &name, &sf, &mut corrections, &mut issues);
        stores.push(store(&f.path, name, sf, identity_types, env, &mut issues));
    }
    // A store file that did not parse may hold the missing `verify` columns: no follow-on noise.
    if unparsed.is_empty() {
        super::verify::check_types_used(point_types, &verification, &mut issues);
    }
    let mut data_map = DataMap { stores };
    resolve_edges(&mut data_map, files, &store_files, &unparsed, &mut issues);
    check_reachability(&data_map, &store_files, &mut issues);
    check_cycles(&data_map, &store_files, &mut issues);

    let disclosures = match find("disclosures.toml") {
        None => {
            issues.add("disclosures.toml", "", "file is missing");
            None
        }
        Some(f) => parse::<DisclosuresFile>(f, &mut issues).map(|d| disclosures(d, &mut issues)),
    };
    if let Some(d) = &disclosures {
        for t in data_map.tables() {
            for c in &t.columns {
                if let Some(cat) = c.category
                    && !d.categories.contains_key(&cat)
                {
                    let file = store_files.get(&t.id.store).cloned().unwrap_or_default();
                    issues.add(
                        &file,
                        format!("tables.{}.columns.{}.category", t.id.table, c.name),
                        format!("category `{}` has no row in disclosures.toml", cat.key()),
                    );
                }
            }
        }
    }

    let exemptions = match find("exemptions.toml") {
        None => Exemptions::default(),
        Some(f) => parse::<ExemptionsFile>(f, &mut issues)
            .map(|e| {
                super::exemptions::exemptions(e, &data_map, identity_types, &unparsed, &mut issues)
            })
            .unwrap_or_default(),
    };

    let drop = drop_file.and_then(|mut d| {
        let mut interp = |key: &str, v: &str| match interpolate(v, env) {
            Ok(v) => Some(v),
            Err(e) => {
                issues.add("dsr.toml", key, e);
                None
            }
        };
        d.broker_id = interp("drop.broker_id", &d.broker_id)?;
        let api_url = match d.api_url.take() {
            None => None,
            Some(u) => Some(interp("drop.api_url", &u)?),
        }
        .filter(|u| !u.is_empty());
        super::drop::build(d, api_url, &data_map, unparsed.is_empty(), &mut issues)
    });

    let mut recipient_files = recipient_files;
    for (i, r) in recipient_files.iter_mut().enumerate() {
        if let Some(w) = r.webhook.take() {
            match interpolate(&w, env) {
                Ok(v) => r.webhook = Some(v),
                Err(e) => issues.add("dsr.toml", format!("recipients[{i}].webhook"), e),
            }
        }
    }
    let recipients = super::recipients::build(recipient_files, &mut issues);

    match (settings, disclosures) {
        (Some(settings), Some(disclosures)) if issues.0.is_empty() => {
            let mut data_map = data_map;
            for s in &mut data_map.stores {
                s.s3 = settings.s3.clone();
            }
            Ok(Config {
                settings,
                data_map,
                disclosures,
                exemptions,
                verification,
                drop,
                corrections,
                recipients,
            })
        }
        _ => Err(Error::Config(issues.0)),
    }
}

pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn settings(
    s: SettingsFile,
    env: &dyn Fn(&str) -> Option<String>,
    issues: &mut Issues,
) -> Option<Settings> {
    let f = "dsr.toml";
    let interp = |issues: &mut Issues, key: &str, v: &str| match interpolate(v, env) {
        Ok(v) => Some(v),
        Err(e) => {
            issues.add(f, key, e);
            None
        }
    };
    let control_db = interp(issues, "control_db", &s.control_db);
    let evidence = interp(issues, "evidence", &s.evidence);
    let delivery = interp(issues, "delivery", &s.delivery);
    let hash_key = interp(issues, "hash_key", &s.hash_key);
    if let Some(k) = &hash_key
        && k.len() < 16
    {
        issues.add(f, "hash_key", "must be at least 16 characters");
    }
    if s.record_keeping_months < 24 {
        issues.add(
            f,
            "record_keeping_months",
            "must be at least 24 (11 CCR §7101)",
        );
    }
    if s.identities.is_empty() {
        issues.add(f, "identities", "declare at least one identity type");
    }
    if !(1..=7).contains(&s.report_link_days) {
        issues.add(
            f,
            "report_link_days",
            "must be 1 to 7 (a presigned S3 link lasts at most 7 days)",
        );
    }
    let hex64 = |v: &str| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit());
    let key_id_ok = |k: &str| {
        !k.is_empty()
            && k.len() <= 64
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    let signing = match s.signing {
        None => None,
        Some(sf) => {
            if !key_id_ok(&sf.key_id) {
                issues.add(f, "signing.key_id", "must be 1-64 of A-Z a-z 0-9 . _ -");
            }
            let private_key = match sf
                .private_key
                .as_deref()
                .map(|v| interp(issues, "signing.private_key", v))
            {
                None | Some(None) => None,
                Some(Some(v)) if v.is_empty() => None,
                Some(Some(v)) => {
                    if !hex64(&v) {
                        // Never echo the value: it is a secret.
                        issues.add(
                            f,
                            "signing.private_key",
                            "must be 64 hex digits (an Ed25519 seed)",
                        );
                    }
                    Some(Secret(v))
                }
            };
            for (k, v) in &sf.public_keys {
                if !key_id_ok(k) {
                    issues.add(
                        f,
                        format!("signing.public_keys.{k}"),
                        "key id must be 1-64 of A-Z a-z 0-9 . _ -",
                    );
                }
                if !hex64(v) {
                    issues.add(
                        f,
                        format!("signing.public_keys.{k}"),
                        "must be 64 hex digits (an Ed25519 public key)",
                    );
                }
            }
            if private_key.is_some() && !sf.public_keys.contains_key(&sf.key_id) {
                issues.add(
                    f,
                    "signing.public_keys",
                    format!(
                        "lists no key `{}` (the signing key); verification would fail",
                        sf.key_id
                    ),
                );
            }
            Some(Signing {
                key_id: sf.key_id,
                private_key,
                public_keys: sf.public_keys,
            })
        }
    };
    let s3 = match s.s3 {
        None => S3Settings::default(),
        Some(x) => S3Settings {
            endpoint: x
                .endpoint
                .and_then(|v| interp(issues, "s3.endpoint", &v))
                .filter(|v| !v.is_empty()),
            region: x
                .region
                .and_then(|v| interp(issues, "s3.region", &v))
                .filter(|v| !v.is_empty()),
            path_style: x.path_style,
        },
    };
    for k in s.identities.keys() {
        if !valid_name(k) {
            issues.add(
                f,
                format!("identities.{k}"),
                "identity type must be a-z 0-9 _ -",
            );
        }
    }
    let tz = match s.business.timezone.as_deref() {
        None => Some(chrono_tz::Tz::UTC),
        Some(name) => name.parse::<chrono_tz::Tz>().ok().or_else(|| {
            issues.add(
                f,
                "business.timezone",
                "unknown time zone; use an IANA name such as America/Los_Angeles",
            );
            None
        }),
    };
    let mut holidays = Vec::new();
    for (i, h) in s.business.holidays.iter().enumerate() {
        match chrono::NaiveDate::parse_from_str(h, "%Y-%m-%d") {
            Ok(d) => holidays.push(d),
            Err(_) => issues.add(
                f,
                format!("business.holidays[{i}]"),
                "must be a date YYYY-MM-DD",
            ),
        }
    }
    Some(Settings {
        control_db: control_db?,
        evidence: evidence?,
        delivery: delivery?,
        hash_key: hash_key?,
        record_keeping_months: s.record_keeping_months,
        business: Business {
            name: s.business.name,
            privacy_contact: s.business.privacy_contact,
            sells: s.business.sells,
            opt_out_url: s.business.opt_out_url,
            calendar: crate::jurisdiction::Calendar::new(tz?, holidays),
        },
        shared_identity_types: s
            .identities
            .iter()
            .filter(|(_, v)| v.shared)
            .map(|(k, _)| k.clone())
            .collect(),
        identity_types: s
            .identities
            .into_iter()
            .map(|(k, v)| (k, v.normalize))
            .collect(),
        signing,
        s3,
        report_link_days: s.report_link_days,
        data_point_types: s
            .data_points
            .into_iter()
            .map(|(k, v)| (k, v.normalize))
            .collect(),
        duplicate_window_days: s
            .requests
            .map_or_else(default_duplicate_window, |r| r.duplicate_window_days),
        drp: s.drp.and_then(|d| super::agents::build(f, d, issues)),
    })
}

fn store(
    file: &str,
    name: String,
    sf: StoreFile,
    identity_types: Option<&BTreeMap<String, Normalizer>>,
    env: &dyn Fn(&str) -> Option<String>,
    issues: &mut Issues,
) -> StoreMap {
    let kind = StoreKind::parse(&sf.kind);
    if kind.is_none() {
        issues.add(
            file,
            "kind",
            format!(
                "unknown store kind `{}`; expected sqlite, postgres, mysql, parquet or objects",
                sf.kind
            ),
        );
    }
    let url = match interpolate(&sf.url, env) {
        Ok(u) => Some(u),
        Err(e) => {
            issues.add(file, "url", e);
            None
        }
    };
    if sf.tables.is_empty() {
        issues.add(file, "tables", "a store needs at least one mapped table");
    }
    let fence_table = sf.fence_table.unwrap_or_else(|| "dsr_fence".to_string());
    let fence_ok = fence_table.split('.').count() <= 2
        && fence_table.split('.').all(|p| {
            !p.is_empty()
                && p.len() <= 64
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if !fence_ok {
        issues.add(
            file,
            "fence_table",
            "must be `table` or `schema.table` of A-Z a-z 0-9 _",
        );
    }
    if sf.tables.contains_key(&fence_table) {
        issues.add(
            file,
            "fence_table",
            "names a mapped table; dsr needs a table of its own",
        );
    }
    let lake_limits = super::lake::limits(file, kind, sf.threads, sf.memory_mb, issues);
    let mut tables = Vec::new();
    for (tname, tf) in sf.tables {
        let tkey = format!("tables.{tname}");
        let id = TableRef {
            store: name.clone(),
            table: tname.clone(),
        };
        let mut columns = Vec::new();
        let mut collected_at = None;
        for (cname, cf) in &tf.columns {
            let ckey = format!("{tkey}.columns.{cname}");
            let category = cf.category.as_deref().and_then(|c| {
                let parsed = Category::parse(c);
                if parsed.is_none() {
                    issues.add(
                        file,
                        format!("{ckey}.category"),
                        format!(
                            "unknown category `{c}`; expected one of {}",
                            Category::ALL.map(|c| c.key()).join(", ")
                        ),
                    );
                }
                parsed
            });
            let sensitive = match &cf.sensitive {
                None => None,
                Some(toml::Value::String(s)) => {
                    let k = SensitiveKind::parse(s);
                    if k.is_none() {
                        issues.add(
                            file,
                            format!("{ckey}.sensitive"),
                            format!(
                                "unknown sensitive kind `{s}`; expected one of {}",
                                SensitiveKind::ALL.map(|k| k.key()).join(", ")
                            ),
                        );
                    }
                    k
                }
                Some(_) => {
                    issues.add(
                        file,
                        format!("{ckey}.sensitive"),
                        format!(
                            "a sensitive column needs its sensitive kind, one of {}",
                            SensitiveKind::ALL.map(|k| k.key()).join(", ")
                        ),
                    );
                    None
                }
            };
            if sensitive.is_some() && cf.identity.is_some() {
                issues.add(
                    file,
                    format!("{ckey}.identity"),
                    "a sensitive column cannot be an identity",
                );
            }
            let identity =
                cf.identity
                    .as_ref()
                    .and_then(|k| match identity_types.map(|m| m.get(k)) {
                        Some(Some(n)) => Some(IdentityRole {
                            kind: k.clone(),
                            normalizer: *n,
                            unique: cf.unique,
                        }),
                        // dsr.toml did not parse (reported there): the type cannot be checked.
                        None => Some(IdentityRole {
                            kind: k.clone(),
                            normalizer: Normalizer::Exact,
                            unique: cf.unique,
                        }),
                        Some(None) => {
                            issues.add(
                                file,
                                format!("{ckey}.identity"),
                                format!(
                                    "identity type `{k}` is not declared in dsr.toml [identities]"
                                ),
                            );
                            None
                        }
                    });
            if cf.unique && cf.identity.is_none() {
                issues.add(file, format!("{ckey}.unique"), "`unique` needs `identity`");
            }
            let edges: Vec<(EdgeKind, &String)> = [
                (EdgeKind::OwnedBy, &cf.owned_by),
                (EdgeKind::Owns, &cf.owns),
                (EdgeKind::References, &cf.references),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect();
            if edges.len() > 1 {
                issues.add(
                    file,
                    ckey.clone(),
                    "give only one of owned_by, owns, references",
                );
            }
            // Targets are resolved once every store is known (see `resolve_edges`).
            let edge = edges.first().map(|(k, _)| Edge {
                kind: *k,
                target: ColumnRef {
                    table: TableRef {
                        store: String::new(),
                        table: String::new(),
                    },
                    column: String::new(),
                },
            });
            match cf.role.as_deref() {
                None => {}
                Some("collected_at") => collected_at = Some(cname.clone()),
                // Collected with the verification keys (`super::verify`).
                Some("birth_date") => {}
                Some(r) => issues.add(
                    file,
                    format!("{ckey}.role"),
                    format!("unknown role `{r}`; expected collected_at or birth_date"),
                ),
            }
            columns.push(ColumnMap {
                name: cname.clone(),
                label: cf.label.clone().unwrap_or_else(|| cname.replace('_', " ")),
                category,
                sensitive,
                identity,
                edge,
            });
        }
        let erase = match tf.erase.as_str() {
            "delete" => Some(EraseAction::Delete),
            "mask" => {
                if tf.mask.is_empty() {
                    issues.add(
                        file,
                        format!("{tkey}.mask"),
                        "erase = \"mask\" needs at least one column strategy",
                    );
                }
                let mut ms = Vec::new();
                for (col, strat) in &tf.mask {
                    match MaskStrategy::parse(strat) {
                        Ok(s) => ms.push((col.clone(), s)),
                        Err(e) => issues.add(file, format!("{tkey}.mask.{col}"), e),
                    }
                }
                Some(EraseAction::Mask(ms))
            }
            "retain" => match &tf.retain_basis {
                Some(b) if !b.trim().is_empty() => Some(EraseAction::Retain(b.clone())),
                _ => {
                    issues.add(
                        file,
                        format!("{tkey}.retain_basis"),
                        "erase = \"retain\" needs retain_basis",
                    );
                    None
                }
            },
            other => {
                issues.add(
                    file,
                    format!("{tkey}.erase"),
                    format!("unknown erase action `{other}`; expected delete, mask or retain"),
                );
                None
            }
        };
        if !tf.mask.is_empty() && tf.erase != "mask" {
            issues.add(
                file,
                format!("{tkey}.mask"),
                "mask strategies given but erase is not \"mask\"",
            );
        }
        if let Some(key) = &tf.key
            && key.is_empty()
        {
            issues.add(file, format!("{tkey}.key"), "key needs at least one column");
        }
        let objects = objects_template(file, &tkey, kind, &tf, &columns, issues);
        let lake = super::lake::lake_table(file, &tkey, kind, &tf, &columns, issues);
        tables.push(TableMap {
            label: tf.label.clone().unwrap_or_else(|| tname.replace('_', " ")),
            id,
            erase: erase.unwrap_or(EraseAction::Retain(String::new())),
            key: tf.key.clone().unwrap_or_else(|| {
                if objects.is_some() {
                    vec!["key".to_string()]
                } else if lake.is_some() {
                    super::lake::default_key(&columns)
                } else {
                    Vec::new()
                }
            }),
            client_column: tf.client_column.clone(),
            collected_at,
            column_types: BTreeMap::new(),
            columns,
            objects,
            lake,
        });
    }
    // A wrong kind or url is reported above and the configuration is refused; the store stays
    // in the map (with placeholders) so that its tables are still checked and still known to
    // relations and exemptions pointing at them.
    StoreMap {
        name,
        kind: kind.unwrap_or(StoreKind::Sqlite),
        url: url.unwrap_or_default(),
        client: sf.client,
        fence_table,
        lake_limits,
        s3: S3Settings::default(),
        tables,
    }
}

/// The `objects` template of a table: required in an objects store (naming a mapped identity
/// column, with a mapped `key` column; deletion or retention only), refused elsewhere.
fn objects_template(
    file: &str,
    tkey: &str,
    kind: Option<StoreKind>,
    tf: &TableFile,
    columns: &[ColumnMap],
    issues: &mut Issues,
) -> Option<ObjectsTemplate> {
    let key = format!("{tkey}.objects");
    if kind != Some(StoreKind::Objects) {
        if tf.objects.is_some() {
            issues.add(file, key, "only tables of an objects store have `objects`");
        }
        return None;
    }
    let Some(text) = &tf.objects else {
        issues.add(file, key, "an objects store's table needs `objects`, the key prefix of a subject's objects (e.g. \"recordings/{customer_id}/\")");
        return None;
    };
    let Some(t) = ObjectsTemplate::parse(text) else {
        issues.add(file, key, "must hold exactly one `{column}` placeholder");
        return None;
    };
    match columns.iter().find(|c| c.name == t.column) {
        Some(c) if c.identity.is_some() => {}
        _ => issues.add(
            file,
            key,
            format!("`{{{}}}` must name a mapped identity column", t.column),
        ),
    }
    if !columns.iter().any(|c| c.name == "key") {
        issues.add(
            file,
            format!("{tkey}.columns"),
            "an objects table maps the column `key` (the object key)",
        );
    }
    for c in columns {
        if !matches!(c.name.as_str(), "key" | "size" | "content_type") && c.name != t.column {
            issues.add(
                file,
                format!("{tkey}.columns.{}", c.name),
                format!(
                    "an objects table has only the columns key, size, content_type and {}",
                    t.column
                ),
            );
        }
    }
    if tf.erase == "mask" {
        issues.add(
            file,
            format!("{tkey}.erase"),
            "objects are deleted or retained, not masked",
        );
    }
    Some(t)
}

/// Resolves `table.column` / `store.table.column` targets of every relation.
fn resolve_edges(
    map: &mut DataMap,
    files: &[SourceFile],
    store_files: &BTreeMap<String, String>,
    unparsed: &BTreeSet<String>,
    issues: &mut Issues,
) {
    // Re-read the raw targets (kept out of the model until resolved).
    let mut raw: Vec<(TableRef, String, &str, String)> = Vec::new();
    for (store, path) in store_files {
        let Some(f) = files.iter().find(|f| &f.path == path) else {
            continue;
        };
        let Ok(sf) = toml::from_str::<StoreFile>(&f.text) else {
            continue;
        };
        for (t, tf) in sf.tables {
            for (c, cf) in tf.columns {
                let target = [
                    ("owned_by", cf.owned_by),
                    ("owns", cf.owns),
                    ("references", cf.references),
                ]
                .into_iter()
                .find_map(|(field, v)| v.map(|v| (field, v)));
                if let Some((field, target)) = target {
                    raw.push((
                        TableRef {
                            store: store.clone(),
                            table: t.clone(),
                        },
                        c,
                        field,
                        target,
                    ));
                }
            }
        }
    }
    let known: Vec<(TableRef, Vec<String>)> = map
        .tables()
        .map(|t| {
            (
                t.id.clone(),
                t.columns.iter().map(|c| c.name.clone()).collect(),
            )
        })
        .collect();
    for (from, col, field, target) in raw {
        let file = store_files.get(&from.store).cloned().unwrap_or_default();
        let key = format!("tables.{}.columns.{col}.{field}", from.table);
        let resolved = resolve_target(&from.store, &target, &known);
        let Some(edge_target) = (match resolved {
            Ok(r) => Some(r),
            // A target in a store whose file did not parse: that file's issue says it all.
            Err(_)
                if target
                    .split_once('.')
                    .is_some_and(|(s, _)| s != from.store && unparsed.contains(s)) =>
            {
                None
            }
            Err(msg) => {
                issues.add(&file, &key, format!("relation to `{target}`: {msg}"));
                None
            }
        }) else {
            continue;
        };
        if let Some(t) = map.table_mut(&from)
            && let Some(c) = t.columns.iter_mut().find(|c| c.name == col)
            && let Some(e) = c.edge.as_mut()
        {
            e.target = edge_target;
        }
    }
}

fn resolve_target(
    from_store: &str,
    target: &str,
    known: &[(TableRef, Vec<String>)],
) -> Result<ColumnRef, String> {
    let (table_part, column) = target
        .rsplit_once('.')
        .ok_or_else(|| "expected table.column or store.table.column".to_string())?;
    // Candidates: `table` in this store (table names may contain a schema dot), or
    // `store.table` in another store.
    let mut candidates = vec![TableRef {
        store: from_store.to_string(),
        table: table_part.to_string(),
    }];
    if let Some((s, t)) = table_part.split_once('.') {
        candidates.push(TableRef {
            store: s.to_string(),
            table: t.to_string(),
        });
    }
    for cand in candidates {
        if let Some((_, cols)) = known.iter().find(|(t, _)| *t == cand) {
            if cols.iter().any(|c| c == column) {
                return Ok(ColumnRef {
                    table: cand,
                    column: column.to_string(),
                });
            }
            return Err(format!("column `{column}` is not mapped in `{cand}`"));
        }
    }
    Err(format!("table `{table_part}` is not mapped"))
}

fn check_reachability(map: &DataMap, store_files: &BTreeMap<String, String>, issues: &mut Issues) {
    // Seeds: tables with an identity column, and tables owned_by a target that did not resolve
    // (already reported at that relation; saying "no path" as well would mislead).
    let unresolved_owner = |t: &TableMap| {
        t.columns
            .iter()
            .filter_map(|c| c.edge.as_ref())
            .any(|e| e.kind == EdgeKind::OwnedBy && e.target.table.store.is_empty())
    };
    let mut reach: BTreeSet<TableRef> = map
        .tables()
        .filter(|t| t.identity_columns().next().is_some() || unresolved_owner(t))
        .map(|t| t.id.clone())
        .collect();
    loop {
        let before = reach.len();
        for t in map.tables() {
            for c in &t.columns {
                let Some(e) = &c.edge else { continue };
                match e.kind {
                    EdgeKind::OwnedBy if reach.contains(&e.target.table) => {
                        reach.insert(t.id.clone());
                    }
                    EdgeKind::Owns if reach.contains(&t.id) => {
                        reach.insert(e.target.table.clone());
                    }
                    _ => {}
                }
            }
        }
        if reach.len() == before {
            break;
        }
    }
    for t in map.tables() {
        if !reach.contains(&t.id) {
            let file = store_files.get(&t.id.store).cloned().unwrap_or_default();
            issues.add(
                &file,
                format!("tables.{}", t.id.table),
                "mapped table has no path from any identity (add an identity column, owned_by, or an owns relation to it)",
            );
        }
    }
}

fn check_cycles(map: &DataMap, store_files: &BTreeMap<String, String>, issues: &mut Issues) {
    // Depth-first search over table → target-table edges (self references are allowed).
    fn visit(
        map: &DataMap,
        t: &TableRef,
        stack: &mut Vec<TableRef>,
        done: &mut BTreeSet<TableRef>,
    ) -> Option<Vec<TableRef>> {
        if let Some(pos) = stack.iter().position(|s| s == t) {
            return Some(stack[pos..].to_vec());
        }
        if done.contains(t) {
            return None;
        }
        stack.push(t.clone());
        if let Some(tm) = map.table(t) {
            for e in tm.columns.iter().filter_map(|c| c.edge.as_ref()) {
                if e.target.table != *t
                    && let Some(cycle) = visit(map, &e.target.table, stack, done)
                {
                    return Some(cycle);
                }
            }
        }
        stack.pop();
        done.insert(t.clone());
        None
    }
    let mut done = BTreeSet::new();
    for t in map.tables() {
        if let Some(cycle) = visit(map, &t.id, &mut Vec::new(), &mut done) {
            // Located at the first table on the cycle (the search may have started from a
            // table that only leads into it).
            let at = &cycle[0];
            let file = store_files.get(&at.store).cloned().unwrap_or_default();
            let path: Vec<String> = cycle.iter().chain([at]).map(|t| t.to_string()).collect();
            issues.add(
                &file,
                format!("tables.{}", at.table),
                format!("relations form a cycle: {}", path.join(" -> ")),
            );
            return;
        }
    }
}

fn disclosures(d: DisclosuresFile, issues: &mut Issues) -> Disclosures {
    let f = "disclosures.toml";
    let mut categories = BTreeMap::new();
    for (k, c) in d.category {
        let Some(cat) = Category::parse(&k) else {
            issues.add(
                f,
                format!("category.{k}"),
                format!(
                    "unknown category `{k}`; expected one of {}",
                    Category::ALL.map(|c| c.key()).join(", ")
                ),
            );
            continue;
        };
        if c.decision.is_some() != c.decision_source.is_some() {
            issues.add(
                f,
                format!("category.{k}.decision_source"),
                "a decision needs its decision_source (and vice versa)",
            );
        }
        categories.insert(
            cat,
            CategoryDisclosure {
                category: cat,
                label: c.label,
                examples: c.examples,
                sources: c.sources,
                purposes: c.purposes,
                sold: c.sold,
                third_parties: c.third_parties,
                retention: c.retention,
                decision: c.decision.zip(c.decision_source),
            },
        );
    }
    if d.version.trim().is_empty() {
        issues.add(f, "version", "must not be empty");
    }
    Disclosures {
        version: d.version,
        source: d.source,
        categories,
        decisions: d.decisions,
    }
}
