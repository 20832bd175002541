//! Test support: a throwaway database on the local PostgreSQL or MariaDB server, created with a
//! unique name and dropped when the handle goes out of scope.
//!
//! Admin URLs come from `DSR_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and `DSR_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`).

use crate::SqlConnector;
use dsr_core::StoreError;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// PostgreSQL.
    Postgres,
    /// MySQL / MariaDB.
    MySql,
}

/// A database that exists until dropped.
#[derive(Debug)]
pub struct TempDb {
    /// URL of the new database.
    pub url: String,
    admin: String,
    name: String,
    server: Server,
}

/// The admin URL of a server (from the environment or the local default).
pub fn admin_url(server: Server) -> String {
    match server {
        Server::Postgres => std::env::var("DSR_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        Server::MySql => std::env::var("DSR_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
    }
}

fn with_db(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > base.find("//").map(|j| j + 1).unwrap_or(0) => &base[..i],
        _ => base,
    };
    format!("{prefix}/{name}{query}")
}

impl TempDb {
    /// Creates a fresh, empty database on `server`.
    pub async fn new(server: Server) -> Result<TempDb, StoreError> {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "dsr_t_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let admin = admin_url(server);
        let create = match server {
            Server::Postgres => format!("CREATE DATABASE \"{name}\""),
            // The server's usual case- and accent-insensitive collation, on purpose.
            Server::MySql => {
                format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            }
        };
        SqlConnector::run_script(&admin, &create).await?;
        Ok(TempDb {
            url: with_db(&admin, &name),
            admin,
            name,
            server,
        })
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let drop_sql = match self.server {
            Server::Postgres => format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            Server::MySql => format!("DROP DATABASE IF EXISTS `{}`", self.name),
        };
        let admin = self.admin.clone();
        // Drop may run inside an async runtime: do the blocking work on a thread of its own.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = rt.block_on(SqlConnector::run_script(&admin, &drop_sql));
            }
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_db;

    #[test]
    fn replaces_the_database_in_a_url() {
        assert_eq!(
            with_db("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_db("mysql://root@h:3306/test?ssl-mode=disabled", "x"),
            "mysql://root@h:3306/x?ssl-mode=disabled"
        );
        assert_eq!(with_db("mysql://root@h:3306", "x"), "mysql://root@h:3306/x");
    }
}
