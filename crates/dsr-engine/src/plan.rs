//! The erasure plan: for every record of a deletion request, delete, mask or retain — and why.
//!
//! Order of decisions for an own record: legal hold on the subject → the table's `retain`
//! action → the first exemption rule that holds → the table's erase action. Shared records are
//! retained while another owner remains. Then retention propagates so the kept data stays
//! whole and consistent: records owned by an exempt record are kept with it (an open order's
//! items), and a record that a kept record still points to in the same store is kept too (the
//! customer row of an open order), so no deletion breaks a reference.

use crate::resolve::{Resolution, Resolved, RowId};
use chrono::{DateTime, Utc};
use dsr_core::config::{DataMap, EdgeKind, EraseAction, TableMap, TableRef};
use dsr_core::exemption::{Exemptions, Retention};
use dsr_core::mask::MaskStrategy;
use dsr_core::request::{Identity, Request};
use dsr_core::value::{Record, Value};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What happens to one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Deleted.
    Delete,
    /// These columns overwritten.
    Mask(Vec<(String, MaskStrategy)>),
    /// Kept, and why.
    Retain(Retention),
}

/// The plan of one deletion request.
#[derive(Debug, Clone, Default)]
pub struct RequestPlan {
    /// Decision per own or shared row.
    pub decisions: BTreeMap<RowId, Action>,
}

/// Reason name for records shared with another subject.
pub const SHARED: &str = "shared_with_another_subject";
/// Reason name for records a kept record still needs.
pub const NEEDED: &str = "needed_by_retained_record";

/// Plans a correction: every own record of a table holding a field the request corrects gets
/// those columns overwritten with the accurate value (applied like a mask, so an erase group
/// carries it, evidence first; a record already holding the value is not touched or
/// counted). A record shared with another person is left as it is (correcting it would change
/// their data too), and so is every record of a subject on a legal hold.
pub fn plan_correction(
    config: &dsr_core::config::Config,
    resolution: &Resolution,
    resolved: &Resolved,
    request: &Request,
) -> RequestPlan {
    let rows = &resolution.rows;
    let mut ids: Vec<&Identity> = resolved.keys.iter().collect();
    ids.extend(request.subject.identities.iter());
    let regime = dsr_core::jurisdiction::regime_for(&request.jurisdiction);
    let hold = config.exemptions.legal_hold(ids.iter().copied(), regime);
    let set_for = |table: &TableRef| -> Vec<(String, MaskStrategy)> {
        request
            .corrections
            .iter()
            .flat_map(|c| {
                config
                    .corrections
                    .columns(&c.field, table)
                    .map(|col| (col.to_string(), MaskStrategy::Fixed(c.value.clone())))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut decisions = BTreeMap::new();
    for &r in &resolved.own {
        let set = set_for(&rows[r].table);
        if set.is_empty() {
            continue;
        }
        let action = match &hold {
            Some(h) => Action::Retain(h.clone()),
            None => Action::Mask(set),
        };
        decisions.insert(r, action);
    }
    for &r in &resolved.shared {
        if !set_for(&rows[r].table).is_empty() {
            decisions.insert(
                r,
                Action::Retain(Retention {
                    name: SHARED.into(),
                    basis: "The record also belongs to another person; it is not changed for one of them.".into(),
                }),
            );
        }
    }
    RequestPlan { decisions }
}

/// Plans the deletion of one resolved request.
pub fn plan(
    map: &DataMap,
    exemptions: &Exemptions,
    resolution: &Resolution,
    resolved: &Resolved,
    request: &Request,
    now: DateTime<Utc>,
) -> RequestPlan {
    let rows = &resolution.rows;
    let mut ids: Vec<&dsr_core::request::Identity> = resolved.keys.iter().collect();
    ids.extend(request.subject.identities.iter());
    let regime = dsr_core::jurisdiction::regime_for(&request.jurisdiction);
    let hold = exemptions.legal_hold(ids.iter().copied(), regime);
    let mut decisions: BTreeMap<RowId, Action> = BTreeMap::new();
    let mut direct_exempt: Vec<RowId> = Vec::new();
    for &r in &resolved.own {
        let row = &rows[r];
        let Some(tm) = map.table(&row.table) else {
            continue;
        };
        let action = if let Some(h) = &hold {
            direct_exempt.push(r);
            Action::Retain(h.clone())
        } else if let EraseAction::Retain(basis) = &tm.erase {
            Action::Retain(Retention {
                name: "table_retained".into(),
                basis: basis.clone(),
            })
        } else if let Some(ex) = exemptions.record_exemption(&row.table, &row.record, now, regime) {
            direct_exempt.push(r);
            Action::Retain(ex)
        } else {
            match &tm.erase {
                EraseAction::Delete => Action::Delete,
                EraseAction::Mask(ms) => Action::Mask(ms.clone()),
                EraseAction::Retain(_) => Action::Delete, // handled above
            }
        };
        decisions.insert(r, action);
    }
    for &r in &resolved.shared {
        decisions.insert(
            r,
            Action::Retain(Retention {
                name: SHARED.into(),
                basis: "The record also belongs to another person; it is kept while another owner remains.".into(),
            }),
        );
    }
    // Down: records owned by an exempt record are kept with it.
    let mut changed = true;
    while changed {
        changed = false;
        for (&r, action) in decisions.clone().iter() {
            if !matches!(action, Action::Delete | Action::Mask(_)) {
                continue;
            }
            if let Some(reason) = owned_by_exempt(map, resolution, r, &decisions, &direct_exempt) {
                decisions.insert(r, Action::Retain(reason));
                direct_exempt.push(r);
                changed = true;
            }
        }
    }
    // Up: a record a kept record still points to (same store) is kept.
    changed = true;
    while changed {
        changed = false;
        for (&r, action) in decisions.clone().iter() {
            let stays = match action {
                Action::Retain(_) => true,
                Action::Mask(_) => true,
                Action::Delete => false,
            };
            if !stays {
                continue;
            }
            let row = &rows[r];
            let Some(tm) = map.table(&row.table) else {
                continue;
            };
            let masked_null: Vec<&str> = match action {
                Action::Mask(ms) => ms
                    .iter()
                    .filter(|(_, s)| *s == MaskStrategy::Null)
                    .map(|(c, _)| c.as_str())
                    .collect(),
                _ => Vec::new(),
            };
            for c in &tm.columns {
                let Some(e) = &c.edge else { continue };
                if e.target.table.store != row.table.store || masked_null.contains(&c.name.as_str())
                {
                    continue;
                }
                let v = row.record.get(&c.name);
                if v.is_null() {
                    continue;
                }
                for (&t, ta) in decisions.clone().iter() {
                    if *ta == Action::Delete
                        && rows[t].table == e.target.table
                        && same(rows[t].record.get(&e.target.column), v)
                    {
                        decisions.insert(
                            t,
                            Action::Retain(Retention {
                                name: NEEDED.into(),
                                basis: format!(
                                    "Still referenced by a kept {} record; deleting it would break that record.",
                                    tm.label
                                ),
                            }),
                        );
                        changed = true;
                    }
                }
            }
        }
    }
    RequestPlan { decisions }
}

fn same(a: &Value, b: &Value) -> bool {
    a.as_text().is_some() && a.as_text() == b.as_text()
}

fn owned_by_exempt(
    map: &DataMap,
    resolution: &Resolution,
    r: RowId,
    decisions: &BTreeMap<RowId, Action>,
    exempt: &[RowId],
) -> Option<Retention> {
    let row = &resolution.rows[r];
    let tm = map.table(&row.table)?;
    for c in &tm.columns {
        let Some(e) = &c.edge else { continue };
        if e.kind != EdgeKind::OwnedBy {
            continue;
        }
        let v = row.record.get(&c.name);
        for &p in exempt {
            let prow = &resolution.rows[p];
            if prow.table == e.target.table
                && same(prow.record.get(&e.target.column), v)
                && let Some(Action::Retain(reason)) = decisions.get(&p)
            {
                return Some(reason.clone());
            }
        }
    }
    None
}

/// Rows of a plan grouped per store, in erase order (children first).
pub fn ops_in_order<'a>(
    map: &DataMap,
    plan: &'a RequestPlan,
    resolution: &Resolution,
) -> BTreeMap<String, Vec<(RowId, &'a Action)>> {
    let order: Vec<TableRef> = map.erase_order();
    let pos = |t: &TableRef| order.iter().position(|o| o == t).unwrap_or(usize::MAX);
    let mut per_store: BTreeMap<String, Vec<(RowId, &Action)>> = BTreeMap::new();
    for (&r, a) in &plan.decisions {
        if matches!(a, Action::Retain(_)) {
            continue;
        }
        per_store
            .entry(resolution.rows[r].table.store.clone())
            .or_default()
            .push((r, a));
    }
    for ops in per_store.values_mut() {
        ops.sort_by_key(|(r, _)| (pos(&resolution.rows[*r].table), *r));
    }
    per_store
}

/// Shared records whose every owner is erased in this same batch: without this pass they
/// would be kept "while another owner remains" by each request and outlive all their owners.
///
/// `plans` holds, per deletion request in run order, its subject keys and plan. A shared
/// record is deleted when the union of the keys of the requests sharing it covers its whole
/// owner set and, in each of those plans, every record pointing to it is deleted. The op goes
/// to the *last* such request, so within one store transaction the other owners' pointing
/// records are already gone when it runs. Returns `(row, deleting plan index)` per plan for
/// the rows another plan deletes on its behalf.
pub fn settle_shared(
    map: &DataMap,
    resolution: &Resolution,
    plans: &mut [(BTreeSet<Identity>, RequestPlan)],
) -> Vec<Vec<(RowId, usize)>> {
    let mut by_other: Vec<Vec<(RowId, usize)>> = vec![Vec::new(); plans.len()];
    let mut to_delete: Vec<(usize, RowId)> = Vec::new();
    let mut seen: BTreeSet<RowId> = BTreeSet::new();
    for (_, plan) in plans.iter() {
        for (&r, a) in &plan.decisions {
            let Action::Retain(x) = a else { continue };
            if x.name != SHARED || !seen.insert(r) {
                continue;
            }
            let Some(owners) = resolution.shared_owners.get(&r) else {
                continue;
            };
            let co: Vec<usize> = (0..plans.len())
                .filter(|&j| plans[j].0.iter().any(|k| owners.contains(k)))
                .collect();
            let covered: BTreeSet<&Identity> = co.iter().flat_map(|&j| plans[j].0.iter()).collect();
            if co.is_empty() || !owners.iter().all(|o| covered.contains(o)) {
                continue;
            }
            let all_pointers_deleted = co.iter().all(|&j| {
                pointers(map, resolution, &plans[j].1, r)
                    .iter()
                    .all(|a| **a == Action::Delete)
            });
            if !all_pointers_deleted {
                continue;
            }
            let last = co[co.len() - 1];
            to_delete.push((last, r));
            for &j in &co {
                if j != last {
                    by_other[j].push((r, last));
                }
            }
        }
    }
    for (j, r) in to_delete {
        plans[j].1.decisions.insert(r, Action::Delete);
    }
    by_other
}

/// Actions of the records in `plan` that point to row `target` through a relation.
fn pointers<'a>(
    map: &DataMap,
    resolution: &Resolution,
    plan: &'a RequestPlan,
    target: RowId,
) -> Vec<&'a Action> {
    let t = &resolution.rows[target];
    plan.decisions
        .iter()
        .filter(|(q, _)| {
            let row = &resolution.rows[**q];
            map.table(&row.table).is_some_and(|tm| {
                tm.columns.iter().any(|c| {
                    c.edge.as_ref().is_some_and(|e| {
                        e.target.table == t.table
                            && same(row.record.get(&c.name), t.record.get(&e.target.column))
                    })
                })
            })
        })
        .map(|(_, a)| a)
        .collect()
}

/// The values a mask writes over `record`: each strategy applied to the current value, a
/// random string never longer than the column holds.
pub fn masked_values(
    tm: &TableMap,
    record: &Record,
    strategies: &[(String, MaskStrategy)],
) -> Vec<(String, Value)> {
    let mut random = |n: usize| -> String {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..n)
            .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
            .collect()
    };
    strategies
        .iter()
        .map(|(c, s)| {
            let s = match (s, tm.max_text_len(c)) {
                (MaskStrategy::Random(n), Some(max)) if *n > max => {
                    MaskStrategy::Random(max.max(1))
                }
                _ => s.clone(),
            };
            (c.clone(), s.apply(record.get(c), &mut random))
        })
        .collect()
}
