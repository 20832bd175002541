//! The end of a request in a run: its answer (report, opt-out, hold or denial), its final
//! status, and the manifest that seals its evidence chain.

use super::{Ctx, RequestOutcome, RunSummary, Work};
use crate::admission;
use crate::control::Status;
use crate::deliver;
use crate::error::{Error, Result};
use crate::plan::Action;
use crate::resolve::{Resolution, RowId};
use crate::suppression::Source;
use crate::verify;
use chrono::{DateTime, Utc};
use dsr_core::config::Config;
use dsr_core::jurisdiction::{regime_for, rules};
use dsr_core::request::{Request, RequestKind};
use dsr_evidence::Evidence;
use dsr_report::{Count, DeletionSummary, RetainedCount, Scope};
use serde_json::json;
use std::collections::BTreeMap;

/// Records the denials decided at admission: an entry and a sealed manifest each.
pub(super) async fn record_denials(
    cx: &Ctx<'_>,
    evidence: &Evidence,
    denied: &[(Request, &'static str)],
    summary: &mut RunSummary,
) -> Result<()> {
    for (req, reason) in denied {
        let mut w = Work::new(req.clone(), false);
        let r = evidence
            .chain(&req.id, req.received_at)
            .await
            .map_err(Error::from);
        w.chain = w.settle(r)?;
        // Sealed by an earlier lease that stopped before the control DB heard of it?
        if sealed_status(evidence, &w).await?.is_none() {
            w.record("denied", json!({"reason": reason})).await?;
            if !w.lost {
                let manifest =
                    manifest_for(cx, &w.req, None, "denied", Some(reason), &[], None).await?;
                seal(&mut w, manifest).await?;
            }
        }
        close(cx, &mut w, Status::Denied, Some(reason)).await?;
        let mut o = RequestOutcome::new(&req.id, req.kind);
        o.status = if w.lost {
            "taken_over".into()
        } else {
            Status::Denied.key().into()
        };
        o.reason = Some((*reason).into());
        summary.requests.push(o);
        cx.progress.step(&req.id);
    }
    Ok(())
}

/// Moves a sealed request to its final status (nothing once the request is lost).
pub(super) async fn close(
    cx: &Ctx<'_>,
    w: &mut Work,
    status: Status,
    reason: Option<&str>,
) -> Result<()> {
    let denial = if status == Status::Denied {
        reason
    } else {
        None
    };
    w.transition(cx, status, denial, json!({"reason": reason}))
        .await?;
    if w.lost {
        w.outcome.status = "taken_over".into();
    }
    Ok(())
}

/// The final status a request's chain was sealed with by an earlier lease, if the chain ends
/// with a manifest (that lease stopped before the control DB heard of it).
pub(super) async fn sealed_status(evidence: &Evidence, w: &Work) -> Result<Option<Status>> {
    let Some(last) = w.chain.as_ref().and_then(|c| c.entries().last()) else {
        return Ok(None);
    };
    if last.kind != dsr_evidence::MANIFEST_KIND {
        return Ok(None);
    }
    let Some(object) = last.data["object"].as_str() else {
        return Ok(None);
    };
    let bytes = evidence.sink().get(object).await?;
    let manifest: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Control(format!("manifest {object} unreadable: {e}")))?;
    Ok(manifest["status"].as_str().and_then(Status::parse))
}

/// Seals the request's chain with its manifest (nothing once the request is lost).
async fn seal(w: &mut Work, manifest: serde_json::Value) -> Result<()> {
    if w.lost {
        return Ok(());
    }
    let Some(chain) = w.chain.as_mut() else {
        return Ok(());
    };
    let r = chain.seal(manifest).await.map(|_| ()).map_err(Error::from);
    w.settle(r).map(|_| ())
}

/// Answers a request (report, opt-out, hold or denial), moves it to its final status and
/// seals its chain with the manifest.
pub(super) async fn finish_request(
    cx: &Ctx<'_>,
    resolution: &Resolution,
    w: &mut Work,
    sensitive: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    let config = cx.config;
    let control = cx.control;
    let hasher = cx.hasher;
    let id = w.req.id.clone();
    let mut artifacts = Vec::new();
    let resolved = w.resolved.clone();
    // An earlier lease (crashed, or taken over) may have erased everything already: finding
    // nothing now is then the end of that work, not "no match".
    let erased_before = w
        .chain
        .as_ref()
        .is_some_and(|c| c.entries().iter().any(|e| e.kind == "erase_intent"));
    // A minor (under 16 by their own records) is treated as not opted in to sale.
    if let Some(r) = resolved
        .as_ref()
        .filter(|r| w.minor && r.held.is_none() && w.req.kind != RequestKind::OptIn)
    {
        let hashes = verify::subject_hashes(config, hasher, resolution, r, &w.req);
        control
            .suppress_from(&id, &hashes, Source::MinorNotOptedIn)
            .await?;
        let entry = json!({"identities": hashes.len(), "source": Source::MinorNotOptedIn.key()});
        w.record("suppressed", entry).await?;
    }
    let (status, reason): (Status, Option<String>) = match (w.req.kind, &resolved) {
        (RequestKind::OptOut, _) => {
            let hashes = admission::identity_hashes(hasher, &w.req);
            control.suppress_from(&id, &hashes, Source::OptOut).await?;
            let entry = json!({"identities": hashes.len(), "source": Source::OptOut.key()});
            w.record("suppressed", entry).await?;
            super::stay::tell_recipients(cx, w, "opt_out", &hashes).await?;
            (Status::Fulfilled, None)
        }
        (RequestKind::OptIn, r)
            if !w.insufficient && r.as_ref().is_none_or(|r| r.held.is_none()) =>
        {
            super::stay::opt_in(cx, resolution, r.as_ref(), w).await?
        }
        (_, None) => (Status::Denied, Some("no_match".to_string())),
        (_, Some(r)) if r.held.is_some() => {
            let subjects = r.keys.len();
            w.record("held_for_review", json!({"subjects": subjects}))
                .await?;
            (Status::HeldForReview, r.held.clone())
        }
        // Found, but the requester was verified to no level: nothing is disclosed or deleted.
        (_, Some(_)) if w.insufficient => {
            w.record("denied", json!({"reason": "insuf_verification"}))
                .await?;
            (Status::Denied, Some("insuf_verification".to_string()))
        }
        (_, Some(r))
            if r.own.is_empty()
                && r.shared.is_empty()
                && r.clients.is_empty()
                && !erased_before =>
        {
            (Status::Denied, Some("no_match".to_string()))
        }
        (kind, Some(r)) => {
            let clients: Vec<String> = r.clients.iter().cloned().collect();
            let rows: Vec<RowId> = r.own.iter().chain(r.shared.iter()).copied().collect();
            let (scope, deletion) = if kind == RequestKind::Deletion {
                let mut s = deletion_summary(config, resolution, w);
                let hashes = verify::subject_hashes(config, hasher, resolution, r, &w.req);
                s.recipients_told =
                    super::stay::tell_recipients(cx, w, "deletion", &hashes).await?;
                (
                    Scope::CategoriesOnly { reason: "This is the answer to a deletion request: it says what was deleted, de-identified and kept.".into() },
                    Some(s),
                )
            } else if kind == RequestKind::Correction {
                let mut s = deletion_summary(config, resolution, w);
                s.corrected_fields = w.req.corrections.iter().map(|c| c.field.clone()).collect();
                // A record that already held the accurate value was not changed.
                s.masked.retain(|c| c.count > 0);
                s.opt_out_offer = None;
                (
                    Scope::CategoriesOnly { reason: "This is the answer to a correction request: it says what was corrected, where, and what was not changed.".into() },
                    Some(s),
                )
            } else if w.categories_only {
                let reason = if kind == RequestKind::AccessCategories {
                    "You asked for the categories of personal information we hold.".to_string()
                } else {
                    "Your identity was verified to a reasonable degree, not the reasonably high degree needed to disclose specific pieces of information (11 CCR §7062: three matching data points and a signed declaration); we disclose the categories.".to_string()
                };
                (Scope::CategoriesOnly { reason }, None)
            } else {
                (Scope::SpecificPieces, None)
            };
            let input = deliver::report_input(
                config,
                &w.req,
                resolution,
                &rows,
                scope,
                clients,
                deletion,
                sensitive.to_vec(),
                w.minor,
                now,
            );
            let rendered = dsr_report::render(&input).map_err(|e| Error::Report(e.to_string()))?;
            let d = cx
                .delivery
                .deliver(&id, &rendered.json, &rendered.html)
                .await?;
            artifacts.push(json!({"name": "report.json", "sha256": d.json_sha256}));
            artifacts.push(json!({"name": "report.html", "sha256": d.html_sha256}));
            // The link itself is a bearer credential: evidence keeps only its expiry.
            let entry = json!({"artifacts": artifacts, "link_expires_at": d.link_expires_at});
            w.record("report_delivered", entry).await?;
            // The portal shows the link once the request is fulfilled (`GET /v1/requests/{id}`).
            control.set_report(&id, &d.location).await?;
            w.outcome.report = Some(d.location);
            if w.failed_stores.is_empty() {
                (Status::Fulfilled, None)
            } else {
                (
                    Status::PartiallyFulfilled,
                    Some(format!(
                        "stores failed and will be retried: {}",
                        w.failed_stores.join(", ")
                    )),
                )
            }
        }
    };
    w.outcome.status = status.key().to_string();
    w.outcome.reason = reason.clone();
    if let Some(p) = &w.plan {
        w.outcome.retained = p
            .decisions
            .values()
            .filter(|a| matches!(a, Action::Retain(_)))
            .count();
        for (r, a) in &p.decisions {
            let n = w.affected.get(r).copied().unwrap_or(0);
            match a {
                Action::Delete => w.outcome.deleted += n,
                Action::Mask(_) => w.outcome.masked += n,
                Action::Retain(_) => {}
            }
        }
    }
    super::stay::after_deletion(
        cx,
        resolution,
        resolved.as_ref(),
        w,
        status,
        reason.as_deref(),
        erased_before,
    )
    .await?;
    // Evidence first: the chain is sealed, then the control DB hears of the end. A crash in
    // between leaves the request open; the next lease finds the seal and only closes it.
    let req = w.req.clone();
    let manifest = manifest_for(
        cx,
        &req,
        Some(w),
        status.key(),
        reason.as_deref(),
        &artifacts,
        Some(resolution),
    )
    .await?;
    seal(w, manifest).await?;
    dsr_connector_sql::failpoint::hit("after_seal");
    close(cx, w, status, reason.as_deref()).await?;
    if w.lost {
        return Ok(());
    }
    tracing::info!(request = %id, status = status.key(), found = w.outcome.found, deleted = w.outcome.deleted, masked = w.outcome.masked, retained = w.outcome.retained, "request finished");
    Ok(())
}

fn deletion_summary(config: &Config, resolution: &Resolution, w: &Work) -> DeletionSummary {
    let mut s = DeletionSummary::default();
    let Some(p) = &w.plan else { return s };
    let mut deleted: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut masked: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut failed: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut retained: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    for (&r, a) in &p.decisions {
        let row = &resolution.rows[r];
        let label = config
            .data_map
            .table(&row.table)
            .map(|t| t.label.clone())
            .unwrap_or_default();
        let k = (label.clone(), row.table.store.clone());
        let failed_store = w.failed_stores.contains(&row.table.store);
        match a {
            Action::Retain(x) => {
                *retained
                    .entry((
                        label,
                        row.table.store.clone(),
                        x.name.clone(),
                        x.basis.clone(),
                    ))
                    .or_default() += 1
            }
            _ if failed_store || !w.affected.contains_key(&r) => *failed.entry(k).or_default() += 1,
            Action::Delete => {
                *deleted.entry(k).or_default() += w.affected.get(&r).copied().unwrap_or(0)
            }
            Action::Mask(_) => {
                *masked.entry(k).or_default() += w.affected.get(&r).copied().unwrap_or(0)
            }
        }
    }
    let counts = |m: BTreeMap<(String, String), u64>| {
        m.into_iter()
            .map(|((record_label, source), count)| Count {
                record_label,
                source,
                count,
            })
            .collect()
    };
    s.deleted = counts(deleted);
    s.masked = counts(masked);
    s.failed = counts(failed);
    s.retained = retained
        .into_iter()
        .map(
            |((record_label, source, reason, basis), count)| RetainedCount {
                record_label,
                source,
                count,
                reason,
                basis,
            },
        )
        .collect();
    if config.settings.business.sells {
        s.opt_out_offer = Some(match &config.settings.business.opt_out_url {
            Some(u) => format!("We sell or share personal information. You can opt out of the sale or sharing of your personal information at {u}."),
            None => "We sell or share personal information. You can opt out of the sale or sharing of your personal information by contacting us.".into(),
        });
    }
    s
}

/// The manifest of a request: what was asked, decided, found, erased and kept (keyed hashes
/// and counts only).
async fn manifest_for(
    cx: &Ctx<'_>,
    req: &Request,
    w: Option<&Work>,
    status: &str,
    reason: Option<&str>,
    artifacts: &[serde_json::Value],
    resolution: Option<&Resolution>,
) -> Result<serde_json::Value> {
    let (control, config, hasher) = (cx.control, cx.config, cx.hasher);
    let id = &req.id;
    let req = Some(req);
    let timeline: Vec<serde_json::Value> = control
        .events(id)
        .await?
        .into_iter()
        .map(|(at, event, _)| json!({"at": at, "event": event}))
        .collect();
    let mut stores: BTreeMap<String, BTreeMap<String, BTreeMap<&str, u64>>> = BTreeMap::new();
    let mut retained: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    if let (Some(w), Some(res)) = (w, resolution) {
        if let Some(r) = &w.resolved {
            for &row in r.own.iter().chain(r.shared.iter()) {
                let t = &res.rows[row].table;
                *stores
                    .entry(t.store.clone())
                    .or_default()
                    .entry(t.table.clone())
                    .or_default()
                    .entry("found")
                    .or_default() += 1;
            }
        }
        if let Some(p) = &w.plan {
            for (&row, a) in &p.decisions {
                let t = &res.rows[row].table;
                let n = w.affected.get(&row).copied().unwrap_or(0);
                let e = stores
                    .entry(t.store.clone())
                    .or_default()
                    .entry(t.table.clone())
                    .or_default();
                match a {
                    Action::Delete => *e.entry("deleted").or_default() += n,
                    Action::Mask(_) => *e.entry("masked").or_default() += n,
                    Action::Retain(x) => {
                        *e.entry("retained").or_default() += 1;
                        *retained
                            .entry((t.to_string(), x.name.clone(), x.basis.clone()))
                            .or_default() += 1;
                    }
                }
            }
        }
    }
    let req_json = req.as_ref().map(|r| {
        let regime = regime_for(&r.jurisdiction);
        json!({
            "id": r.id,
            "kind": r.kind.key(),
            "jurisdiction": r.jurisdiction,
            "regime": regime,
            "received_at": r.received_at,
            "due_at": regime.map(|g| rules(g).due(r.received_at)),
            "client": r.client,
            "subject": admission::identity_hashes(hasher, r),
        })
    });
    let verification = match (w.and_then(|w| w.verified.as_ref()), req) {
        (Some(v), Some(r)) => Some(v.to_json(r)),
        _ => req.and_then(|r| r.verification.as_ref()).map(|v| json!({"level": v.level, "method": v.method, "provider": v.provider, "verified_at": v.verified_at})),
    };
    Ok(json!({
        "request_detail": req_json,
        "verification": verification,
        "minor_under_16": w.is_some_and(|w| w.minor),
        "gpc": req.is_some_and(|r| r.gpc),
        "status": status,
        "reason": reason,
        "timeline": timeline,
        "stores": stores,
        "retained": retained.into_iter().map(|((table, name, basis), count)| json!({"table": table, "count": count, "reason": name, "basis": basis})).collect::<Vec<_>>(),
        "failed_stores": w.map(|w| w.failed_stores.clone()).unwrap_or_default(),
        "ledger": w.map(|w| w.ledgers.iter().map(|(s, l)| (s.clone(), json!({"deleted": l.deleted, "masked": l.masked}))).collect::<serde_json::Map<_, _>>()).unwrap_or_default(),
        "deleted_with_co_owner": w.map(|w| w.co_deleted.len()).unwrap_or_default(),
        "clients_to_contact": w.map(|w| w.outcome.clients.clone()).unwrap_or_default(),
        "artifacts": artifacts,
        "disclosures_version": config.disclosures.version,
    }))
}
