//! Failpoints: a test-only way to crash the process at a named point, to prove that a crash
//! anywhere resumes to the same end state.
//!
//! When the environment variable `DSR_FAILPOINT` names the point reached, the process exits at
//! once with status [`EXIT_CODE`], as a `kill -9` would: no cleanup, no further writes. The
//! points: `after_find`, `after_intent`, `in_store_tx` (inside a store transaction, before its
//! commit), `after_commit`, `before_outcome`, `after_seal` (the request's chain is sealed, the
//! control DB not yet told).
//!
//! Reading one environment variable is the only thing this module does; it never writes. It
//! lives here, not in `dsr-core`, because reading the environment is IO.

/// Exit status of a process stopped at a failpoint.
pub const EXIT_CODE: i32 = 86;

/// Crashes the process if `DSR_FAILPOINT` names `point`.
pub fn hit(point: &str) {
    if std::env::var("DSR_FAILPOINT").is_ok_and(|p| p == point) {
        eprintln!("failpoint {point}: exiting");
        std::process::exit(EXIT_CODE);
    }
}
