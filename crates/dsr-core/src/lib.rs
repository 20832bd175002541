//! dsr-core
