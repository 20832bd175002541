//! dsr-engine
