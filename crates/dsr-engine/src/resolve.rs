//! Identity resolution: which records belong to which request, for a whole batch at once.
//!
//! Each request is resolved from its own root. Its identities, normalised per type, find rows
//! by identity columns; relations are followed only along ownership edges (`owned_by`, `owns`);
//! a value found in the data re-seeds the search only where the data map declares it a unique
//! identity (a customer id). Lookups of all requests are pooled into one batched query per
//! (table, column) per round, but every request reads only the answers to its own lookups, so
//! batching shares queries, never results.
//!
//! Every row gets an *owner set*: the subject keys (values of unique identity types) it belongs
//! to, from its own identity columns, its `owned_by` parent, or — for a row others point to with
//! `owns` (an address) — every row pointing to it. Relative to a request with subject keys K:
//! owners ⊆ K (or no owner information) → its own; owners meeting K and others → shared (kept
//! while another owner remains); owners outside K → another subject's (never disclosed or
//! touched). A request whose identities reach two values of one key type is held for review.

use crate::error::Result;
use crate::load::Connectors;
use dsr_core::config::{DataMap, EdgeKind, TableMap, TableRef};
use dsr_core::connector::FindQuery;
use dsr_core::identity::Normalizer;
use dsr_core::request::{Identity, Request};
use dsr_core::value::{Record, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Index of a fetched row in [`Resolution::rows`].
pub type RowId = usize;

/// A fetched row.
#[derive(Debug, Clone)]
pub struct FetchedRow {
    /// Its table.
    pub table: TableRef,
    /// Its values.
    pub record: Record,
}

/// How a request relates to a row it reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// The request's subject's own record.
    Own,
    /// Also another subject's (kept while another owner remains).
    Shared,
    /// Another subject's record, reached through a link: not this request's.
    Other,
    /// Held for a Client (we are its service provider): not touched by a direct request.
    Client(String),
}

/// The resolution of one request.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Request id.
    pub request_id: String,
    /// Subject keys reached (values of unique identity types).
    pub keys: BTreeSet<Identity>,
    /// Why the request is held for review, if it is.
    pub held: Option<String>,
    /// Own rows.
    pub own: Vec<RowId>,
    /// Shared rows.
    pub shared: Vec<RowId>,
    /// Clients holding data about the subject.
    pub clients: BTreeSet<String>,
}

/// The resolution of a batch.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// Every fetched row.
    pub rows: Vec<FetchedRow>,
    /// Per request, in input order.
    pub requests: Vec<Resolved>,
    /// Store queries issued.
    pub queries: usize,
    /// Owner sets of the rows some request shares with another subject.
    pub shared_owners: BTreeMap<RowId, BTreeSet<Identity>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Identity,
    Edge,
}

type LookupKey = (TableRef, String, String);

/// Rows indexed so far, and column text → rows.
type ColumnIndex = (usize, HashMap<String, Vec<RowId>>);

struct Walker<'a> {
    map: &'a DataMap,
    connectors: &'a Connectors,
    rows: Vec<FetchedRow>,
    /// Per table, key text → row.
    index: HashMap<TableRef, HashMap<String, RowId>>,
    cache: HashMap<LookupKey, Vec<RowId>>,
    key_types: BTreeSet<String>,
    owners_memo: HashMap<RowId, Option<BTreeSet<Identity>>>,
    /// (table, column) → (rows indexed so far, value → rows): parent lookups without scans.
    col_index: HashMap<(TableRef, String), ColumnIndex>,
    queries: usize,
}

/// Resolves a batch of requests against the stores.
pub async fn resolve(
    map: &DataMap,
    connectors: &Connectors,
    requests: &[Request],
) -> Result<Resolution> {
    let key_types: BTreeSet<String> = map
        .tables()
        .flat_map(|t| t.identity_columns())
        .filter(|(_, r)| r.unique)
        .map(|(_, r)| r.kind.clone())
        .collect();
    let mut w = Walker {
        map,
        connectors,
        rows: Vec::new(),
        index: HashMap::new(),
        cache: HashMap::new(),
        key_types,
        owners_memo: HashMap::new(),
        col_index: HashMap::new(),
        queries: 0,
    };
    let mut reached: Vec<BTreeMap<RowId, Via>> = vec![BTreeMap::new(); requests.len()];
    let mut keys: Vec<BTreeSet<Identity>> = vec![BTreeSet::new(); requests.len()];
    let mut wanted: Vec<Vec<(LookupKey, Via)>> = requests
        .iter()
        .map(|r| {
            r.subject
                .identities
                .iter()
                .flat_map(|i| w.identity_lookups(&i.kind, &i.value))
                .map(|k| (k, Via::Identity))
                .collect()
        })
        .collect();
    let mut extra: Vec<LookupKey> = Vec::new();
    loop {
        let all: Vec<LookupKey> = wanted
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .chain(extra.drain(..))
            .collect();
        if all.is_empty() {
            break;
        }
        w.fetch(all).await?;
        let mut next: Vec<Vec<(LookupKey, Via)>> = vec![Vec::new(); requests.len()];
        for (ri, lookups) in wanted.iter().enumerate() {
            let mut new_rows: Vec<(RowId, Via)> = Vec::new();
            for (lk, via) in lookups {
                for &row in w.cache.get(lk).map(Vec::as_slice).unwrap_or(&[]) {
                    if let std::collections::btree_map::Entry::Vacant(e) = reached[ri].entry(row) {
                        e.insert(*via);
                        new_rows.push((row, *via));
                    }
                }
            }
            let scope = requests[ri].client.as_deref();
            for (row, via) in &new_rows {
                if *via == Via::Identity
                    && w.client_of(*row).as_deref() == scope
                    && let Some(o) = w.owners(*row, 0)
                {
                    keys[ri].extend(o.iter().cloned());
                }
            }
            for (row, _) in &new_rows {
                if w.class(*row, &keys[ri], scope) == Class::Own {
                    let (lookups, co) = w.expand(*row);
                    next[ri].extend(lookups);
                    extra.extend(co);
                }
            }
        }
        wanted = next;
    }
    let mut out = Vec::new();
    let mut shared_owners = BTreeMap::new();
    for (ri, req) in requests.iter().enumerate() {
        let mut res = Resolved {
            request_id: req.id.clone(),
            keys: keys[ri].clone(),
            ..Resolved::default()
        };
        let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
        for k in &keys[ri] {
            *per_type.entry(k.kind.as_str()).or_default() += 1;
        }
        if let Some((kind, n)) = per_type.iter().find(|(_, n)| **n > 1) {
            res.held = Some(format!(
                "the request's identities lead to {n} distinct subjects ({kind}); held for review, nothing deleted"
            ));
        }
        for &row in reached[ri].keys() {
            match w.class(row, &keys[ri], req.client.as_deref()) {
                Class::Own => res.own.push(row),
                Class::Shared => {
                    res.shared.push(row);
                    if let Some(o) = w.owners(row, 0) {
                        shared_owners.insert(row, o.clone());
                    }
                }
                Class::Client(c) => {
                    res.clients.insert(c);
                }
                Class::Other => {}
            }
        }
        out.push(res);
    }
    Ok(Resolution {
        rows: w.rows,
        requests: out,
        queries: w.queries,
        shared_owners,
    })
}

impl<'a> Walker<'a> {
    fn table(&self, id: &TableRef) -> Option<&'a TableMap> {
        self.map.table(id)
    }

    fn normalizer(&self, t: &TableRef, col: &str) -> Normalizer {
        self.table(t)
            .and_then(|tm| tm.column(col))
            .and_then(|c| c.identity.as_ref())
            .map(|i| i.normalizer)
            .unwrap_or(Normalizer::Exact)
    }

    fn value_key(&self, t: &TableRef, col: &str, row: RowId) -> Option<String> {
        self.stored_key(row, col, self.normalizer(t, col))
    }

    /// The value of `col` in `row` normalised by `normalizer`, without copying the text first.
    fn stored_key(&self, row: RowId, col: &str, normalizer: Normalizer) -> Option<String> {
        match self.rows[row].record.get(col) {
            Value::Text(t) => normalizer.normalize_stored(t),
            v => normalizer.normalize_stored(&v.as_text()?),
        }
    }

    fn identity_lookups(&self, kind: &str, value: &str) -> Vec<LookupKey> {
        self.map
            .tables()
            .flat_map(|t| {
                t.identity_columns()
                    .filter(|(_, r)| r.kind == kind)
                    .map(|(c, _)| (t.id.clone(), c.name.clone(), value.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Runs every lookup not yet answered: one batched query per (table, column).
    async fn fetch(&mut self, lookups: Vec<LookupKey>) -> Result<()> {
        let mut groups: BTreeMap<(TableRef, String), BTreeSet<String>> = BTreeMap::new();
        for lk in lookups {
            if self.cache.contains_key(&lk) {
                continue;
            }
            groups.entry((lk.0, lk.1)).or_default().insert(lk.2);
        }
        // Every query of the round runs at once (stores and tables are independent); the
        // answers are then taken in a fixed order, so the result does not depend on timing.
        let (map, connectors) = (self.map, self.connectors);
        let mut queries = Vec::new();
        for ((tref, col), values) in groups {
            let (Some(tm), Some(conn)) = (map.table(&tref), connectors.get(&tref.store)) else {
                continue;
            };
            let values: Vec<String> = values.into_iter().collect();
            let normalizer = self.normalizer(&tref, &col);
            self.queries += values.len().div_ceil(conn.max_batch().max(1)).max(1);
            queries.push((tref, col, values, normalizer, tm, conn));
        }
        let answers = futures::future::try_join_all(queries.iter().map(
            |(_, col, values, normalizer, tm, conn)| {
                conn.find(FindQuery {
                    table: tm,
                    column: col,
                    normalizer: *normalizer,
                    values,
                })
            },
        ))
        .await?;
        for ((tref, col, values, _, tm, _), found) in queries.into_iter().zip(answers) {
            for v in values {
                self.cache
                    .entry((tref.clone(), col.clone(), v))
                    .or_default();
            }
            let index = self.index.entry(tref.clone()).or_default();
            for f in found {
                let key = f.record.key_text();
                let id = match index.get(&key) {
                    Some(&id) => id,
                    None => {
                        let id = self.rows.len();
                        index.insert(key, id);
                        self.rows.push(FetchedRow {
                            table: tref.clone(),
                            record: f.record,
                        });
                        id
                    }
                };
                let slot = self
                    .cache
                    .entry((tref.clone(), col.clone(), f.matched))
                    .or_default();
                if !slot.contains(&id) {
                    slot.push(id);
                }
                // A unique identity that is also the table's primary key names this row alone:
                // record the answer to that lookup now, so re-seeding by it costs no query.
                for (c, role) in tm.identity_columns() {
                    // Only a single-column primary key guarantees one row per value.
                    let sole_key = tm.key.len() == 1 && tm.key[0] == c.name;
                    if !role.unique || !sole_key || c.name == col {
                        continue;
                    }
                    if let Some(v) = self.rows[id].record.get(&c.name).as_text()
                        && let Some(v) = role.normalizer.normalize_stored(&v)
                    {
                        let slot = self
                            .cache
                            .entry((tref.clone(), c.name.clone(), v))
                            .or_default();
                        if !slot.contains(&id) {
                            slot.push(id);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Fetched rows of `table` whose `column` has the text `value`.
    fn rows_with(&mut self, table: &TableRef, column: &str, value: &str) -> Vec<RowId> {
        let (done, index) = self
            .col_index
            .entry((table.clone(), column.to_string()))
            .or_insert_with(|| (0, HashMap::new()));
        for id in *done..self.rows.len() {
            if self.rows[id].table == *table
                && let Some(v) = self.rows[id].record.get(column).as_text()
            {
                index.entry(v).or_default().push(id);
            }
        }
        *done = self.rows.len();
        index.get(value).cloned().unwrap_or_default()
    }

    fn client_of(&self, row: RowId) -> Option<String> {
        let r = &self.rows[row];
        let store = self.map.store(&r.table.store)?;
        if let Some(c) = &store.client {
            return Some(c.clone());
        }
        let tm = self.table(&r.table)?;
        let col = tm.client_column.as_ref()?;
        r.record.get(col).as_text().filter(|s| !s.trim().is_empty())
    }

    /// Owner set of a row; `None` when it cannot be known (a parent was never fetched).
    /// Computed once per row and lent from the memo.
    fn owners(&mut self, row: RowId, depth: usize) -> Option<&BTreeSet<Identity>> {
        if !self.owners_memo.contains_key(&row) {
            if depth > 16 {
                return None;
            }
            let result = self.compute_owners(row, depth);
            self.owners_memo.insert(row, result);
        }
        self.owners_memo.get(&row)?.as_ref()
    }

    fn compute_owners(&mut self, row: RowId, depth: usize) -> Option<BTreeSet<Identity>> {
        let map: &'a DataMap = self.map;
        let tm = map.table(&self.rows[row].table)?;
        let tref = &tm.id;
        let mut set = BTreeSet::new();
        for c in &tm.columns {
            if let Some(role) = &c.identity
                && self.key_types.contains(&role.kind)
                && let Some(v) = self.stored_key(row, &c.name, role.normalizer)
            {
                set.insert(Identity {
                    kind: role.kind.clone(),
                    value: v,
                });
            }
            let Some(edge) = &c.edge else { continue };
            if edge.kind != EdgeKind::OwnedBy {
                continue;
            }
            let target_role = map
                .table(&edge.target.table)
                .and_then(|p| p.column(&edge.target.column))
                .and_then(|pc| pc.identity.as_ref())
                .filter(|r| r.unique);
            if let Some(role) = target_role {
                if let Some(n) = self.stored_key(row, &c.name, role.normalizer) {
                    set.insert(Identity {
                        kind: role.kind.clone(),
                        value: n,
                    });
                }
                continue;
            }
            let Some(v) = self.rows[row].record.get(&c.name).as_text() else {
                continue;
            };
            let parents = self.rows_with(&edge.target.table, &edge.target.column, &v);
            if parents.is_empty() {
                return None;
            }
            for p in parents {
                set.extend(self.owners(p, depth + 1)?.iter().cloned());
            }
        }
        // Rows others point to with `owns`: every pointing row is an owner.
        for s in map.tables() {
            for c in &s.columns {
                let Some(e) = &c.edge else { continue };
                if e.kind != EdgeKind::Owns || e.target.table != *tref {
                    continue;
                }
                let Some(v) = self.value_key(tref, &e.target.column, row) else {
                    continue;
                };
                let co = self.cache.get(&(s.id.clone(), c.name.clone(), v))?.clone();
                for r in co {
                    set.extend(self.owners(r, depth + 1)?.iter().cloned());
                }
            }
        }
        Some(set)
    }

    /// How a row relates to a request: `scope` is the Client that forwarded the request
    /// (`None`: a direct request). A direct request's scope is our own data: a Client's rows
    /// are named for contact, not touched. A forwarded request's scope is that Client's data
    /// only: our rows and other Clients' rows are out of it (and not named to the Client).
    fn class(&mut self, row: RowId, keys: &BTreeSet<Identity>, scope: Option<&str>) -> Class {
        match (self.client_of(row), scope) {
            (Some(c), None) => return Class::Client(c),
            (Some(c), Some(s)) if c != s => return Class::Other,
            (None, Some(_)) => return Class::Other,
            _ => {}
        }
        match self.owners(row, 0) {
            None => Class::Other,
            Some(o) if o.is_empty() || o.is_subset(keys) => Class::Own,
            Some(o) if o.iter().any(|k| keys.contains(k)) => Class::Shared,
            Some(_) => Class::Other,
        }
    }

    /// Lookups that follow an own row: unique identities re-seed, ownership edges are
    /// followed; the second list holds co-owner lookups (fetched, never attributed).
    fn expand(&self, row: RowId) -> (Vec<(LookupKey, Via)>, Vec<LookupKey>) {
        let tref = &self.rows[row].table;
        let Some(tm) = self.table(tref) else {
            return (Vec::new(), Vec::new());
        };
        let mut out = Vec::new();
        let mut co = Vec::new();
        for c in &tm.columns {
            if let Some(role) = &c.identity
                && role.unique
                && let Some(v) = self.value_key(tref, &c.name, row)
            {
                out.extend(
                    self.identity_lookups(&role.kind, &v)
                        .into_iter()
                        .map(|k| (k, Via::Identity)),
                );
            }
            if let Some(e) = &c.edge
                && e.kind == EdgeKind::Owns
                && let Some(v) = self.value_key(tref, &c.name, row)
            {
                out.push((
                    (e.target.table.clone(), e.target.column.clone(), v.clone()),
                    Via::Edge,
                ));
                for s in self.map.tables() {
                    for sc in &s.columns {
                        if let Some(se) = &sc.edge
                            && se.kind == EdgeKind::Owns
                            && se.target == e.target
                        {
                            co.push((s.id.clone(), sc.name.clone(), v.clone()));
                        }
                    }
                }
            }
        }
        // Children owned by this row.
        for child in self.map.tables() {
            for cc in &child.columns {
                if let Some(e) = &cc.edge
                    && e.kind == EdgeKind::OwnedBy
                    && &e.target.table == tref
                    && let Some(v) = self.value_key(tref, &e.target.column, row)
                {
                    out.push(((child.id.clone(), cc.name.clone(), v), Via::Edge));
                }
            }
        }
        (out, co)
    }
}
