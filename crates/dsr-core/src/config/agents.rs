//! `[drp]` in `dsr.toml`: the Data Rights Protocol (DRP v1.0) — who we are in the DRP network
//! and which authorized agents may send us requests, each with the Ed25519 key its requests
//! are signed with.
//!
//! The file shape ([`DrpFile`], [`AgentFile`]) documents each key; [`build`] validates it into
//! [`DrpSettings`], naming the agent in every issue (never echoing a key).

use super::build::Issues;
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[drp]` in `dsr.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrpFile {
    /// Our id in the DRP service directory: a signed request's `business-id` claim must be
    /// exactly this, so a request made for another business is refused. 1-64 of
    /// `A-Z a-z 0-9 _ -`.
    pub business_id: String,
    /// Clock skew tolerated on a request's `issued-at`, in seconds (0-300, default 60): a
    /// request issued further in the future is refused.
    #[serde(default = "default_skew")]
    pub max_clock_skew_secs: u32,
    /// Longest validity window (`expires-at` minus `issued-at`) accepted, in minutes (1-1440,
    /// default 60; the protocol recommends at most 15). Bounds how long a captured request
    /// could be replayed and how long its signature is kept to refuse replays.
    #[serde(default = "default_validity")]
    pub max_validity_mins: u32,
    /// The authorized agents we accept requests from (`[[drp.agents]]`).
    #[serde(default)]
    pub agents: Vec<AgentFile>,
}

/// `[[drp.agents]]` in `dsr.toml`: one authorized agent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    /// The agent's id in the DRP service directory (`agent-id` in its requests and in
    /// `/v1/agent/{agent-id}`): 1-64 of `A-Z a-z 0-9 _ -`.
    pub id: String,
    /// A name to recognise the agent by (logs, listings); not a secret.
    #[serde(default)]
    pub name: String,
    /// The agent's Ed25519 verify (public) key, base64 of its 32 bytes: every request and
    /// pairwise setup the agent sends must be signed with the matching signing key.
    pub verify_key: String,
}

fn default_skew() -> u32 {
    60
}

fn default_validity() -> u32 {
    60
}

/// One authorized agent, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Agent id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Ed25519 verify key (a valid curve point).
    pub verify_key: [u8; 32],
}

/// The validated `[drp]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrpSettings {
    /// Our `business-id`.
    pub business_id: String,
    /// Tolerated skew on `issued-at`, seconds.
    pub max_clock_skew_secs: u32,
    /// Longest accepted validity window, minutes.
    pub max_validity_mins: u32,
    /// Agents by id.
    pub agents: BTreeMap<String, Agent>,
}

impl DrpSettings {
    /// The agent with this id.
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.get(id)
    }
}

/// Whether `s` is a DRP id we accept: 1-64 of `A-Z a-z 0-9 _ -` (ids end up in URL paths).
pub fn valid_drp_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Validates `[drp]` of `file`, adding every problem to `issues`.
pub(super) fn build(file: &str, d: DrpFile, issues: &mut Issues) -> Option<DrpSettings> {
    let mut ok = true;
    if !valid_drp_id(&d.business_id) {
        issues.add(file, "drp.business_id", "must be 1-64 of A-Z a-z 0-9 _ -");
        ok = false;
    }
    if d.max_clock_skew_secs > 300 {
        issues.add(file, "drp.max_clock_skew_secs", "must be 0 to 300");
        ok = false;
    }
    if !(1..=1440).contains(&d.max_validity_mins) {
        issues.add(file, "drp.max_validity_mins", "must be 1 to 1440");
        ok = false;
    }
    let mut agents = BTreeMap::new();
    for (i, a) in d.agents.into_iter().enumerate() {
        let key = format!("drp.agents[{i}]");
        if !valid_drp_id(&a.id) {
            issues.add(
                file,
                format!("{key}.id"),
                "agent id must be 1-64 of A-Z a-z 0-9 _ -",
            );
            ok = false;
            continue;
        }
        let who = &a.id;
        if agents.contains_key(&a.id) {
            issues.add(
                file,
                format!("{key}.id"),
                format!("agent {who} is listed twice"),
            );
            ok = false;
            continue;
        }
        match verify_key(&a.verify_key) {
            Ok(verify_key) => {
                agents.insert(
                    a.id.clone(),
                    Agent {
                        id: a.id,
                        name: a.name,
                        verify_key,
                    },
                );
            }
            Err(why) => {
                // Never echo the key: name the agent and what is wrong.
                issues.add(
                    file,
                    format!("{key}.verify_key"),
                    format!("agent {who}: {why}"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(DrpSettings {
        business_id: d.business_id,
        max_clock_skew_secs: d.max_clock_skew_secs,
        max_validity_mins: d.max_validity_mins,
        agents,
    })
}

/// Decodes a base64 Ed25519 verify key and checks it is a point on the curve.
fn verify_key(text: &str) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| "verify_key is not base64".to_string())?;
    let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "verify_key must be 32 bytes (an Ed25519 public key), got {}",
            b.len()
        )
    })?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| "verify_key is not a valid Ed25519 public key".to_string())?;
    Ok(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const KEY: &str = "zwbd7fAb+dEWPB8KeaB6HwG+TlfQXdxJMz1wGe52FZg=";

    fn issues_of(toml_text: &str) -> (Option<DrpSettings>, Vec<String>) {
        let d: DrpFile = toml::from_str(toml_text).expect("toml");
        let mut issues = Issues(Vec::new());
        let s = build("dsr.toml", d, &mut issues);
        (s, issues.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn agents_are_validated_naming_the_agent() {
        let (s, issues) = issues_of(&format!(
            "business_id = \"NORTHWIND\"\n[[agents]]\nid = \"AA\"\nverify_key = \"{KEY}\"\n"
        ));
        assert!(issues.is_empty(), "{issues:?}");
        let s = s.expect("valid");
        assert_eq!(s.agent("AA").map(|a| a.verify_key.len()), Some(32));
        assert_eq!((s.max_clock_skew_secs, s.max_validity_mins), (60, 60));

        let (s, issues) = issues_of(&format!(
            "business_id = \"NORTHWIND\"\n\
             [[agents]]\nid = \"AA\"\nverify_key = \"{KEY}\"\n\
             [[agents]]\nid = \"AA\"\nverify_key = \"{KEY}\"\n\
             [[agents]]\nid = \"BAD_B64\"\nverify_key = \"not base64!\"\n\
             [[agents]]\nid = \"SHORT\"\nverify_key = \"AAAA\"\n"
        ));
        assert!(s.is_none());
        let all = issues.join("\n");
        assert!(all.contains("agent AA is listed twice"), "{all}");
        assert!(
            all.contains("agent BAD_B64: verify_key is not base64"),
            "{all}"
        );
        assert!(
            all.contains("agent SHORT: verify_key must be 32 bytes") && all.contains("got 3"),
            "{all}"
        );
        assert!(!all.contains("not base64!"), "the key is never echoed");
    }

    #[test]
    fn business_id_and_limits_are_checked() {
        let (s, issues) =
            issues_of("business_id = \"a b\"\nmax_clock_skew_secs = 900\nmax_validity_mins = 0\n");
        assert!(s.is_none());
        let all = issues.join("\n");
        assert!(all.contains("drp.business_id"), "{all}");
        assert!(all.contains("drp.max_clock_skew_secs"), "{all}");
        assert!(all.contains("drp.max_validity_mins"), "{all}");
        assert!(toml::from_str::<DrpFile>("business_id = \"X\"\ntypo = 1\n").is_err());
    }
}
