//! dsr-report
