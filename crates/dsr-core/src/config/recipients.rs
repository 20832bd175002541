//! `[[recipients]]` in `dsr.toml`: who receives subjects' personal information (service
//! providers, contractors, buyers) and how each is told of a deletion or an opt-out
//! (11 CCR §7022(b), §7026(f)): a signed webhook, or by hand (`dsr notifications export`).

use super::build::Issues;
use serde::Deserialize;

/// `[[recipients]]` in `dsr.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientFile {
    /// Id used in the sale/share logs and the ledger (1–64 of `a-z 0-9 _ -`).
    pub id: String,
    /// Name, shown to the consumer in the answer ("we told …").
    pub name: String,
    /// `service_provider`, `contractor` or `third_party` (a buyer, or one we share with).
    pub role: String,
    /// HTTPS (or loopback HTTP) URL notifications are POSTed to. Empty or absent: the
    /// recipient is told by hand, from `dsr notifications export`.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Environment variable holding the secret the webhook body is signed with
    /// (HMAC-SHA-256, `X-DSR-Signature: sha256=<hex>`). Required with a webhook.
    #[serde(default)]
    pub secret_env: Option<String>,
}

/// A recipient's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// A service provider.
    ServiceProvider,
    /// A contractor.
    Contractor,
    /// A third party (a buyer, or one we share with).
    ThirdParty,
}

/// How a recipient is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// POSTed to this URL, signed with the secret in this environment variable.
    Webhook {
        /// URL.
        url: String,
        /// Environment variable of the signing secret.
        secret_env: String,
    },
    /// By hand.
    Manual,
}

/// A validated recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: RecipientRole,
    /// Channel.
    pub channel: Channel,
}

/// Validates `[[recipients]]` (webhook URLs already interpolated).
pub(super) fn build(files: Vec<RecipientFile>, issues: &mut Issues) -> Vec<Recipient> {
    const FILE: &str = "dsr.toml";
    let mut out: Vec<Recipient> = Vec::new();
    for (i, f) in files.into_iter().enumerate() {
        let key = format!("recipients[{i}]");
        let id_ok = !f.id.is_empty()
            && f.id.len() <= 64
            && f.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !id_ok {
            issues.add(
                FILE,
                format!("{key}.id"),
                "must be 1-64 characters of a-z 0-9 _ -",
            );
            continue;
        }
        if out.iter().any(|r| r.id == f.id) {
            issues.add(
                FILE,
                format!("{key}.id"),
                format!("recipient `{}` is listed twice", f.id),
            );
            continue;
        }
        let role = match f.role.as_str() {
            "service_provider" => RecipientRole::ServiceProvider,
            "contractor" => RecipientRole::Contractor,
            "third_party" => RecipientRole::ThirdParty,
            _ => {
                issues.add(
                    FILE,
                    format!("{key}.role"),
                    "must be service_provider, contractor or third_party",
                );
                continue;
            }
        };
        let channel = match f.webhook.filter(|u| !u.trim().is_empty()) {
            None => Channel::Manual,
            Some(url) => {
                let loopback = url.starts_with("http://127.0.0.1")
                    || url.starts_with("http://localhost")
                    || url.starts_with("http://[::1]");
                if !url.starts_with("https://") && !loopback {
                    issues.add(
                        FILE,
                        format!("{key}.webhook"),
                        "must be an https:// URL (plain http only on loopback)",
                    );
                    continue;
                }
                let Some(secret_env) = f.secret_env.filter(|s| !s.is_empty()) else {
                    issues.add(
                        FILE,
                        format!("{key}.secret_env"),
                        "is required with a webhook: notifications are signed",
                    );
                    continue;
                };
                Channel::Webhook { url, secret_env }
            }
        };
        out.push(Recipient {
            id: f.id,
            name: f.name,
            role,
            channel,
        });
    }
    out
}
