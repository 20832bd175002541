//! dsr-fixtures
