//! SQLite schemas of the demo databases and rendering of rows as SQL text.
//!
//! Values are written as SQL literals (text quoted with single quotes doubled), never
//! interpolated any other way; the estate holds only values this crate generated.

use std::fmt::{self, Write as _};

/// Schema of the `crm` database (tables, then indexes), as in `config/stores/crm.toml`.
///
/// `orders.card_id` deliberately has no foreign-key constraint: it is a plain link to a card
/// that may belong to another customer.
pub const CRM_SCHEMA: &str = "\
CREATE TABLE addresses (id INTEGER PRIMARY KEY, line1 TEXT NOT NULL, city TEXT NOT NULL, postal_code TEXT NOT NULL, state TEXT NOT NULL);
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, phone TEXT, full_name TEXT NOT NULL, birth_date TEXT, address_id INTEGER REFERENCES addresses(id), created_at TEXT NOT NULL);
CREATE TABLE payment_cards (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), card_number TEXT NOT NULL, brand TEXT, fraud_flag INTEGER NOT NULL DEFAULT 0);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), card_id INTEGER, status TEXT NOT NULL, total_cents INTEGER NOT NULL, ship_to TEXT, created_at TEXT NOT NULL);
CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id), sku TEXT NOT NULL, quantity INTEGER NOT NULL, price_cents INTEGER NOT NULL);
CREATE TABLE identity_documents (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), ssn TEXT, drivers_license TEXT, issuing_state TEXT, created_at TEXT NOT NULL);
CREATE TABLE logins (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), username TEXT NOT NULL, password_hash TEXT NOT NULL, security_question TEXT, security_answer TEXT, last_login_ip TEXT, fraud_flag INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE page_views (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), url TEXT NOT NULL, ip TEXT, viewed_at TEXT NOT NULL);
CREATE TABLE marketing_contacts (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, full_name TEXT, interests TEXT, client_id TEXT, created_at TEXT NOT NULL);
CREATE INDEX customers_email ON customers(email);
CREATE INDEX customers_phone ON customers(phone);
CREATE INDEX customers_address_id ON customers(address_id);
CREATE INDEX payment_cards_customer_id ON payment_cards(customer_id);
CREATE INDEX orders_customer_id ON orders(customer_id);
CREATE INDEX orders_card_id ON orders(card_id);
CREATE INDEX order_items_order_id ON order_items(order_id);
CREATE INDEX identity_documents_customer_id ON identity_documents(customer_id);
CREATE INDEX logins_customer_id ON logins(customer_id);
CREATE INDEX page_views_customer_id ON page_views(customer_id);
CREATE INDEX marketing_contacts_email ON marketing_contacts(email);
CREATE INDEX marketing_contacts_phone ON marketing_contacts(phone);
";

/// Schema of the `support` database, as in `config/stores/support.toml`.
pub const SUPPORT_SCHEMA: &str = "\
CREATE TABLE tickets (id INTEGER PRIMARY KEY, customer_id INTEGER, email TEXT, subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX tickets_customer_id ON tickets(customer_id);
CREATE INDEX tickets_email ON tickets(email);
";

/// [`CRM_SCHEMA`] for MySQL/MariaDB: indexed text is `VARCHAR`, foreign keys are table
/// constraints (an inline `REFERENCES` is ignored there).
pub const CRM_SCHEMA_MYSQL: &str = "\
CREATE TABLE addresses (id INTEGER PRIMARY KEY, line1 VARCHAR(255) NOT NULL, city VARCHAR(255) NOT NULL, postal_code VARCHAR(40) NOT NULL, state VARCHAR(40) NOT NULL);
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, phone VARCHAR(40), full_name VARCHAR(255) NOT NULL, birth_date VARCHAR(40), address_id INTEGER, created_at VARCHAR(40) NOT NULL, FOREIGN KEY (address_id) REFERENCES addresses(id));
CREATE TABLE payment_cards (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, card_number VARCHAR(40) NOT NULL, brand VARCHAR(40), fraud_flag INTEGER NOT NULL DEFAULT 0, FOREIGN KEY (customer_id) REFERENCES customers(id));
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, card_id INTEGER, status VARCHAR(40) NOT NULL, total_cents INTEGER NOT NULL, ship_to VARCHAR(255), created_at VARCHAR(40) NOT NULL, FOREIGN KEY (customer_id) REFERENCES customers(id));
CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, sku VARCHAR(80) NOT NULL, quantity INTEGER NOT NULL, price_cents INTEGER NOT NULL, FOREIGN KEY (order_id) REFERENCES orders(id));
CREATE TABLE identity_documents (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, ssn VARCHAR(40), drivers_license VARCHAR(40), issuing_state VARCHAR(40), created_at VARCHAR(40) NOT NULL, FOREIGN KEY (customer_id) REFERENCES customers(id));
CREATE TABLE logins (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, username VARCHAR(255) NOT NULL, password_hash VARCHAR(255) NOT NULL, security_question VARCHAR(255), security_answer VARCHAR(255), last_login_ip VARCHAR(64), fraud_flag INTEGER NOT NULL DEFAULT 0, created_at VARCHAR(40) NOT NULL, FOREIGN KEY (customer_id) REFERENCES customers(id));
CREATE TABLE page_views (id INTEGER PRIMARY KEY, customer_id INTEGER, url VARCHAR(500) NOT NULL, ip VARCHAR(64), viewed_at VARCHAR(40) NOT NULL, FOREIGN KEY (customer_id) REFERENCES customers(id));
CREATE TABLE marketing_contacts (id INTEGER PRIMARY KEY, email VARCHAR(255), phone VARCHAR(40), full_name VARCHAR(255), interests VARCHAR(1000), client_id VARCHAR(64), created_at VARCHAR(40) NOT NULL);
CREATE INDEX customers_email ON customers(email);
CREATE INDEX customers_phone ON customers(phone);
CREATE INDEX orders_card_id ON orders(card_id);
CREATE INDEX marketing_contacts_email ON marketing_contacts(email);
CREATE INDEX marketing_contacts_phone ON marketing_contacts(phone);
";

/// [`SUPPORT_SCHEMA`] for MySQL/MariaDB.
pub const SUPPORT_SCHEMA_MYSQL: &str = "\
CREATE TABLE tickets (id INTEGER PRIMARY KEY, customer_id INTEGER, email VARCHAR(255), subject VARCHAR(1000) NOT NULL, body TEXT NOT NULL, status VARCHAR(40) NOT NULL, created_at VARCHAR(40) NOT NULL);
CREATE INDEX tickets_customer_id ON tickets(customer_id);
CREATE INDEX tickets_email ON tickets(email);
";

/// Rows per `INSERT` statement.
const ROWS_PER_INSERT: usize = 200;

/// One SQL value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum V {
    /// An integer.
    Int(i64),
    /// A text value.
    Text(String),
    /// SQL `NULL`.
    Null,
}

impl V {
    /// The text, when this is a text value.
    #[cfg(test)]
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            V::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, when this is an integer value.
    #[cfg(test)]
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            V::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl fmt::Display for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V::Int(i) => write!(f, "{i}"),
            V::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            V::Null => f.write_str("NULL"),
        }
    }
}

impl From<i64> for V {
    fn from(i: i64) -> V {
        V::Int(i)
    }
}

impl From<&str> for V {
    fn from(s: &str) -> V {
        V::Text(s.to_string())
    }
}

impl From<String> for V {
    fn from(s: String) -> V {
        V::Text(s)
    }
}

impl<T: Into<V>> From<Option<T>> for V {
    fn from(o: Option<T>) -> V {
        o.map_or(V::Null, Into::into)
    }
}

/// Builds a row of [`V`]s from heterogeneous values.
macro_rules! row {
    ($($v:expr),* $(,)?) => { vec![$($crate::sql::V::from($v)),*] };
}
pub(crate) use row;

/// The rows of one table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Table name.
    pub(crate) name: &'static str,
    /// Column names, in row order.
    pub(crate) columns: &'static [&'static str],
    /// Rows, in insertion order.
    pub(crate) rows: Vec<Vec<V>>,
}

impl Table {
    /// An empty table.
    pub(crate) fn new(name: &'static str, columns: &'static [&'static str]) -> Table {
        Table {
            name,
            columns,
            rows: Vec::new(),
        }
    }

    /// Appends a row (its width must match the columns; the tests check every table).
    pub(crate) fn push(&mut self, row: Vec<V>) {
        self.rows.push(row);
    }

    /// Index of a column.
    #[cfg(test)]
    pub(crate) fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == name)
    }

    /// Writes the rows as multi-row `INSERT` statements.
    fn write_inserts(&self, out: &mut String) {
        let cols = self.columns.join(", ");
        for chunk in self.rows.chunks(ROWS_PER_INSERT) {
            let _ = writeln!(out, "INSERT INTO {} ({cols}) VALUES", self.name);
            for (i, row) in chunk.iter().enumerate() {
                out.push_str("  (");
                for (j, v) in row.iter().enumerate() {
                    if j > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{v}");
                }
                out.push(')');
                out.push_str(if i + 1 == chunk.len() { ";\n" } else { ",\n" });
            }
        }
    }
}

/// A whole database script: the schema, then every table's rows in one transaction.
pub(crate) fn script(header: &str, schema: &str, tables: &[&Table]) -> String {
    let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    let mut out = String::with_capacity(schema.len() + rows * 160);
    out.push_str(header);
    out.push_str(schema);
    out.push_str("BEGIN;\n");
    for t in tables {
        t.write_inserts(&mut out);
    }
    out.push_str("COMMIT;\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped() {
        assert_eq!(V::from("O'Neil").to_string(), "'O''Neil'");
        assert_eq!(V::from(None::<&str>).to_string(), "NULL");
        assert_eq!(V::from(Some(7_i64)).to_string(), "7");
    }

    #[test]
    fn inserts_are_chunked() {
        let mut t = Table::new("t", &["a", "b"]);
        for i in 0..(ROWS_PER_INSERT as i64 + 1) {
            t.push(row![i, "x"]);
        }
        let s = script("", "", &[&t]);
        assert_eq!(s.matches("INSERT INTO t (a, b) VALUES").count(), 2);
        assert!(s.starts_with("BEGIN;\n") && s.ends_with("COMMIT;\n"));
    }
}
