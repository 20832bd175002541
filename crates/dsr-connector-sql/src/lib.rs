//! dsr-connector-sql
