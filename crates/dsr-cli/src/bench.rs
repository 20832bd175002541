//! `dsr fixtures sql` and `dsr bench sql`: a generated two-server estate, and the batched find
//! measured against the per-subject shape and against the raw driver — figures, not a test.

use anyhow::{Context, Result};
use dsr_connector_sql::SqlConnector;
use dsr_core::config::{Config, SourceFile};
use dsr_core::identity::Normalizer;
use dsr_core::request::Request;
use sqlx::{Connection, Row};
use std::path::Path;
use std::time::Instant;

/// Subject `i` of `n` customers (deterministic, spread over the table).
fn subject_email(i: u64, customers: u64) -> String {
    format!("user{}@example.com", 1 + (i * 7_919 + 13) % customers)
}

/// Generates the estate: PostgreSQL `customers` (+ expression index on the normalised email)
/// and `orders` (index on the customer id); MariaDB `contacts` keyed by email; and the subject
/// list.
pub async fn fixtures_sql(
    pg: &str,
    my: &str,
    customers: u64,
    orders_per: u64,
    subjects: u64,
    out: &Path,
) -> Result<()> {
    let t = Instant::now();
    let orders = customers * orders_per;
    let pg_sql = format!(
        "DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS customers;
         CREATE TABLE customers (id BIGINT PRIMARY KEY, email TEXT NOT NULL, full_name TEXT, created_at TIMESTAMPTZ NOT NULL);
         INSERT INTO customers SELECT g, 'user' || g || '@example.com', 'Customer ' || g, now() - (g % 700) * interval '1 day'
           FROM generate_series(1, {customers}) g;
         CREATE INDEX customers_email_norm ON customers (lower(btrim(email)));
         CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, total_cents INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL);
         INSERT INTO orders SELECT g, 1 + (g % {customers}), (g * 7) % 10000, now() - (g % 900) * interval '1 day'
           FROM generate_series(1, {orders}) g;
         CREATE INDEX orders_customer_id ON orders (customer_id);
         ANALYZE customers; ANALYZE orders;"
    );
    SqlConnector::run_script(pg, &pg_sql)
        .await
        .context("generating the PostgreSQL estate")?;
    println!(
        "postgres: {customers} customers, {orders} orders ({:.1}s)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let my_sql = format!(
        "DROP TABLE IF EXISTS contacts;
         CREATE TABLE contacts (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, segment VARCHAR(40), KEY contacts_email (email))
           ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
         INSERT INTO contacts SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('seg', seq % 17) FROM seq_1_to_{customers};
         ANALYZE TABLE contacts;"
    );
    SqlConnector::run_script(my, &my_sql)
        .await
        .context("generating the MariaDB estate")?;
    println!(
        "mariadb: {customers} contacts ({:.1}s)",
        t.elapsed().as_secs_f64()
    );
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let list: Vec<String> = (0..subjects).map(|i| subject_email(i, customers)).collect();
    std::fs::write(out, list.join("\n") + "\n")?;
    println!("subjects: {} in {}", subjects, out.display());
    Ok(())
}

const PG_STORE: &str = r#"
kind = "postgres"
url = "${BENCH_PG}"
[tables.customers]
erase = "delete"
columns.id        = { identity = "customer_id", unique = true }
columns.email     = { category = "contact", identity = "email" }
columns.full_name = { category = "contact" }
[tables.orders]
erase = "delete"
columns.id          = {}
columns.customer_id = { owned_by = "customers.id" }
columns.total_cents = { category = "commercial" }
"#;

const MY_STORE: &str = r#"
kind = "mysql"
url = "${BENCH_MY}"
[tables.contacts]
erase = "delete"
columns.email   = { category = "contact", identity = "email" }
columns.segment = { category = "contact" }
"#;

fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Best of three timings of `f` (seconds) and its last result.
async fn best_of<T, F, Fut>(mut f: F) -> Result<(f64, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        let r = f().await?;
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    last.map(|r| (best, r)).context("no run")
}

/// Measures (a) dsr's batched find, (b) one query per subject per table on one connection with
/// prepared statements, (c) the raw batched queries through the drivers; prints JSON or text.
pub async fn bench_sql(pg: &str, my: &str, subjects_file: &Path, json: bool) -> Result<()> {
    let emails: Vec<String> = std::fs::read_to_string(subjects_file)
        .with_context(|| {
            format!(
                "reading {} (run `dsr fixtures sql` first)",
                subjects_file.display()
            )
        })?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let files = [
        ("dsr.toml", dsr_fixtures::minimal::SETTINGS),
        ("disclosures.toml", dsr_fixtures::minimal::DISCLOSURES),
        ("stores/pg.toml", PG_STORE),
        ("stores/my.toml", MY_STORE),
    ]
    .map(|(p, t)| SourceFile {
        path: p.into(),
        text: t.into(),
    });
    let (pg_s, my_s) = (pg.to_string(), my.to_string());
    let env = move |k: &str| match k {
        "BENCH_PG" => Some(pg_s.clone()),
        "BENCH_MY" => Some(my_s.clone()),
        _ => None,
    };
    let config = Config::from_sources(&files, &env)?;
    let types = [("email".to_string(), Normalizer::Email)]
        .into_iter()
        .collect();
    let requests: Vec<Request> = emails
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let j = format!(
                r#"{{"id":"b{i}","kind":"access","jurisdiction":"CA","received_at":"2026-11-01T00:00:00Z",
                "subject":{{"identities":[{{"type":"email","value":"{e}"}}]}},
                "verification":{{"level":"reasonably_high","method":"bench","verified_at":"2026-11-01T00:00:00Z"}}}}"#
            );
            Request::from_json(&j, &types)
        })
        .collect::<Result<_, _>>()?;
    let mut map = config.data_map.clone();
    let conns = dsr_engine::load::connect(&map).await?;
    let problems = dsr_engine::load::check_live(&mut map, &conns).await?;
    anyhow::ensure!(
        problems.is_empty(),
        "bench estate does not match: {problems:?}"
    );

    // (a) dsr's batched find (whole identity walk across both stores).
    let (batched_s, res) =
        best_of(|| async { Ok(dsr_engine::resolve::resolve(&map, &conns, &requests).await?) })
            .await?;
    let rows = res.rows.len();

    // The connector's share of (a): the same three lookups through `Connector::find` alone.
    let customers = map
        .tables()
        .find(|t| t.id.table == "customers")
        .context("customers")?
        .clone();
    let orders = map
        .tables()
        .find(|t| t.id.table == "orders")
        .context("orders")?
        .clone();
    let contacts = map
        .tables()
        .find(|t| t.id.table == "contacts")
        .context("contacts")?
        .clone();
    let (pg_conn, my_conn) = (
        conns.get("pg").context("pg")?.clone(),
        conns.get("my").context("my")?.clone(),
    );
    let (connector_s, _) = best_of(|| async {
        use dsr_core::connector::FindQuery;
        let (c, m) = futures_lite_join(
            pg_conn.find(FindQuery {
                table: &customers,
                column: "email",
                normalizer: Normalizer::Email,
                values: &emails,
            }),
            my_conn.find(FindQuery {
                table: &contacts,
                column: "email",
                normalizer: Normalizer::Email,
                values: &emails,
            }),
        )
        .await;
        let ids: Vec<String> = c?.iter().map(|f| f.record.key_text()).collect();
        let o = pg_conn
            .find(FindQuery {
                table: &orders,
                column: "customer_id",
                normalizer: Normalizer::Exact,
                values: &ids,
            })
            .await?;
        Ok(o.len() + m?.len())
    })
    .await?;

    // (c) the same batched queries straight through the drivers.
    let pgp = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(pg)
        .await?;
    let myp = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(2)
        .connect(my)
        .await?;

    // Diagnostics: each lookup alone (best of three), through the connector and the driver.
    let mut diag = serde_json::Map::new();
    if std::env::var("DSR_BENCH_DIAG").is_ok() {
        use dsr_core::connector::FindQuery;
        let (t, c) = best_of(|| async {
            Ok(pg_conn
                .find(FindQuery {
                    table: &customers,
                    column: "email",
                    normalizer: Normalizer::Email,
                    values: &emails,
                })
                .await?)
        })
        .await?;
        diag.insert("conn_customers_s".into(), t.into());
        let ids: Vec<String> = c.iter().map(|f| f.record.key_text()).collect();
        let (t, _) = best_of(|| async {
            Ok(pg_conn
                .find(FindQuery {
                    table: &orders,
                    column: "customer_id",
                    normalizer: Normalizer::Exact,
                    values: &ids,
                })
                .await?)
        })
        .await?;
        diag.insert("conn_orders_s".into(), t.into());
        let (t, _) = best_of(|| async {
            Ok(my_conn
                .find(FindQuery {
                    table: &contacts,
                    column: "email",
                    normalizer: Normalizer::Email,
                    values: &emails,
                })
                .await?)
        })
        .await?;
        diag.insert("conn_contacts_s".into(), t.into());
        let (t, _) = best_of(|| raw_customers(&pgp, &emails)).await?;
        diag.insert("raw_customers_s".into(), t.into());
        let int_ids: Vec<i64> = ids.iter().filter_map(|i| i.parse().ok()).collect();
        let (t, _) = best_of(|| raw_orders(&pgp, &int_ids)).await?;
        diag.insert("raw_orders_s".into(), t.into());
        let (t, _) = best_of(|| raw_contacts(&myp, &emails)).await?;
        diag.insert("raw_contacts_s".into(), t.into());
    }

    let (raw_s, raw_rows) = best_of(|| async {
        let c = raw_customers(&pgp, &emails).await?;
        let ids: Vec<i64> = c
            .iter()
            .map(|r| r.get::<String, _>(0).parse::<i64>().unwrap_or(0))
            .collect();
        let o = raw_orders(&pgp, &ids).await?;
        let m = raw_contacts(&myp, &emails).await?;
        Ok(c.len() + o.len() + m.len())
    })
    .await?;

    // (b) one query per subject per table, sequentially, one connection per server, prepared.
    let mut pgc = sqlx::PgConnection::connect(pg).await?;
    let mut myc = sqlx::MySqlConnection::connect(my).await?;
    let mut per_subject_s = f64::MAX;
    let mut per_rows = 0;
    for _ in 0..3 {
        let t = Instant::now();
        per_rows = per_subject(&mut pgc, &mut myc, &emails).await?;
        per_subject_s = per_subject_s.min(t.elapsed().as_secs_f64());
    }

    let out = serde_json::json!({
        "subjects": emails.len(),
        "rows": rows,
        "rows_raw": raw_rows,
        "rows_per_subject": per_rows,
        "queries": res.queries,
        "batched_s": batched_s,
        "per_subject_s": per_subject_s,
        "raw_s": raw_s,
        "connector_s": connector_s,
        "diagnostics": diag,
        "batched_vs_per_subject": per_subject_s / batched_s,
        "batched_vs_raw": batched_s / raw_s,
        "peak_rss_bytes": peak_rss(),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{} subjects, {rows} rows, {} queries\n(a) dsr batched   {batched_s:.3}s\n(b) per subject   {per_subject_s:.3}s  ({:.1}x slower than a)\n(c) raw batched   {raw_s:.3}s  (a is {:.2}x of c)\npeak RSS {} MiB",
            emails.len(),
            res.queries,
            per_subject_s / batched_s,
            batched_s / raw_s,
            peak_rss() / (1 << 20)
        );
    }
    Ok(())
}

/// (c) customers: the normalised-email lookup.
async fn raw_customers(
    pgp: &sqlx::PgPool,
    emails: &[String],
) -> Result<Vec<sqlx::postgres::PgRow>> {
    Ok(sqlx::query(
        "SELECT id::text, email, full_name, lower(btrim(email)) FROM customers WHERE lower(btrim(email)) = ANY($1::text[])",
    )
    .bind(emails)
    .fetch_all(pgp)
    .await?)
}

/// (c) orders: the relation lookup by customer id.
async fn raw_orders(pgp: &sqlx::PgPool, ids: &[i64]) -> Result<Vec<sqlx::postgres::PgRow>> {
    Ok(sqlx::query(
        "SELECT id::text, customer_id::text, total_cents::text FROM orders WHERE customer_id = ANY($1::bigint[])",
    )
    .bind(ids)
    .fetch_all(pgp)
    .await?)
}

/// (c) contacts: the case-insensitive pre-filter and the byte re-check.
async fn raw_contacts(
    myp: &sqlx::MySqlPool,
    emails: &[String],
) -> Result<Vec<sqlx::mysql::MySqlRow>> {
    let ph = vec!["?"; emails.len()].join(", ");
    let phb = vec!["CAST(? AS BINARY)"; emails.len()].join(", ");
    let sql = format!(
        "SELECT CAST(email AS CHAR), CAST(segment AS CHAR) FROM contacts WHERE email IN ({ph}) AND CAST(lower(trim(email)) AS BINARY) IN ({phb})"
    );
    let mut q = sqlx::query(&sql);
    for e in emails.iter().chain(emails.iter()) {
        q = q.bind(e);
    }
    Ok(q.fetch_all(myp).await?)
}

/// (b): one prepared query per subject per table, sequentially.
async fn per_subject(
    pgc: &mut sqlx::PgConnection,
    myc: &mut sqlx::MySqlConnection,
    emails: &[String],
) -> Result<usize> {
    let mut n = 0usize;
    for e in emails {
        let c = sqlx::query(
            "SELECT id::text, email, full_name FROM customers WHERE lower(btrim(email)) = $1",
        )
        .bind(e)
        .fetch_all(&mut *pgc)
        .await?;
        n += c.len();
        for r in &c {
            let id: i64 = r.get::<String, _>(0).parse().unwrap_or(0);
            n += sqlx::query("SELECT id::text, customer_id::text, total_cents::text FROM orders WHERE customer_id = $1")
                .bind(id)
                .fetch_all(&mut *pgc)
                .await?
                .len();
        }
        n += sqlx::query(
            "SELECT CAST(email AS CHAR), CAST(segment AS CHAR) FROM contacts WHERE email = ? AND CAST(lower(trim(email)) AS BINARY) = CAST(? AS BINARY)",
        )
        .bind(e)
        .bind(e)
        .fetch_all(&mut *myc)
        .await?
        .len();
    }
    Ok(n)
}

/// Runs two futures concurrently.
async fn futures_lite_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}
