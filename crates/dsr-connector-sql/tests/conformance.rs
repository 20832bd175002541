//! Every dialect runs the same conformance suite against a real server (or file).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use dsr_connector_sql::conformance;
use dsr_connector_sql::testing::{Server, TempDb};

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(&format!("sqlite://{}", dir.path().join("c.db").display())).await;
}

#[tokio::test]
async fn postgres() {
    let db = TempDb::new(Server::Postgres)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    conformance::run(&db.url).await;
}

#[tokio::test]
async fn mariadb() {
    let db = TempDb::new(Server::MySql)
        .await
        .expect("MariaDB on 127.0.0.1:3306");
    conformance::run(&db.url).await;
}
