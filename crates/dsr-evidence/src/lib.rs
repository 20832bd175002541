//! dsr-evidence
