//! Tests of the lake benchmark's pure logic: verdicts, stats parsing, best-of runs.

use super::report::*;
use super::*;

fn side(elapsed_s: f64, rss_mib: u64, count: u64) -> Side {
    Side {
        elapsed_s,
        peak_rss_bytes: rss_mib << 20,
        count,
        ..Side::default()
    }
}

#[test]
fn find_cell_targets() {
    let v = evaluate(
        Op::Find,
        1_000,
        Some(&side(0.5, 100, 1_100)),
        Some(&side(1.0, 300, 1_100)),
    );
    assert_eq!(v.ratio, Some(0.5));
    assert_eq!((v.ratio_met, v.rss_met), (Some(true), Some(true)));
    assert!(v.mismatches.is_empty());
    assert_eq!(v.files_target, None);

    let v = evaluate(
        Op::Find,
        1,
        Some(&side(2.0, 300, 1)),
        Some(&side(1.0, 50, 2)),
    );
    assert_eq!((v.ratio_met, v.rss_met), (Some(false), Some(false)));
    assert_eq!(v.mismatches, ["rows found: dsr 1, DuckDB 2"]);

    // Exactly at the targets is a miss.
    let v = evaluate(
        Op::Find,
        1,
        Some(&side(1.0, 256, 1)),
        Some(&side(1.0, 1, 1)),
    );
    assert_eq!((v.ratio_met, v.rss_met), (Some(false), Some(false)));
}

#[test]
fn missing_sides_give_no_ratio() {
    let v = evaluate(Op::Find, 1, None, Some(&side(1.0, 1, 1)));
    assert_eq!((v.ratio, v.ratio_met, v.rss_met), (None, None, None));
    let v = evaluate(Op::Find, 1, Some(&side(1.0, 1, 1)), None);
    assert_eq!((v.ratio, v.rss_met), (None, Some(true)));
    let v = evaluate(Op::Find, 1, Some(&side(1.0, 1, 1)), Some(&side(0.0, 1, 1)));
    assert_eq!(v.ratio, None);
}

#[test]
fn erase_cell_files_and_observations() {
    let mut d = side(1.0, 10, 3);
    d.files_rewritten = Some(1);
    d.observed_files_rewritten = Some(1);
    d.observed_removed = Some(3);
    let mut q = side(2.0, 10, 3);
    q.files_rewritten = Some(1);
    let v = evaluate(Op::Erase, 1, Some(&d), Some(&q));
    assert_eq!((v.files_target, v.files_met), (Some(1), Some(true)));
    assert!(v.mismatches.is_empty(), "{:?}", v.mismatches);

    // K=1000: the target is the files DuckDB had to rewrite.
    d.files_rewritten = Some(100);
    d.observed_files_rewritten = Some(99);
    d.observed_removed = Some(2);
    q.files_rewritten = Some(63);
    let v = evaluate(Op::Erase, 1_000, Some(&d), Some(&q));
    assert_eq!((v.files_target, v.files_met), (Some(63), Some(false)));
    assert_eq!(
        v.mismatches,
        [
            "dsr reports 3 rows removed, the files lost 2",
            "dsr reports 100 files rewritten, 99 files changed"
        ]
    );
    // Without DuckDB, K=1000 has no files target.
    let v = evaluate(Op::Erase, 1_000, Some(&d), None);
    assert_eq!((v.files_target, v.files_met), (None, None));
}

#[test]
fn stats_json_parses_and_malformed_is_a_clear_error() {
    let f: FindStats = parse_stats(
        r#"{"elapsed_s": 0.25, "peak_rss_bytes": 1048576, "rows": 3, "files_scanned": 1,
            "row_groups_scanned": 2, "row_groups_pruned": 80}"#,
        "x.json",
    )
    .unwrap();
    assert_eq!((f.rows, f.row_groups_pruned), (3, 80));
    let e: EraseStats = parse_stats(
        r#"{"elapsed_s": 1, "peak_rss_bytes": 1, "removed": 3, "files_rewritten": 1}"#,
        "x.json",
    )
    .unwrap();
    assert_eq!(e.files_rewritten, 1);

    let err = parse_stats::<FindStats>(r#"{"elapsed_s": 0.25}"#, "stats.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("malformed stats JSON in stats.json"), "{err}");
    assert!(err.contains("missing field `peak_rss_bytes`"), "{err}");
    let err = parse_stats::<EraseStats>("not json", "e.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("malformed stats JSON in e.json"), "{err}");
    let err = parse_stats::<EraseStats>(
        r#"{"elapsed_s": 1, "peak_rss_bytes": -1, "removed": 3, "files_rewritten": 1}"#,
        "e.json",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("peak_rss_bytes") || err.contains("invalid value"),
        "{err}"
    );

    let d: DuckStats = parse_stats(
        r#"{"op": "erase", "elapsed_s": 1.5, "removed": 4, "files_rewritten": 2, "peak_rss_bytes": 9, "files": 100}"#,
        "duck",
    )
    .unwrap();
    assert_eq!(
        (d.removed, d.rows, d.files_rewritten),
        (Some(4), None, Some(2))
    );
}

#[test]
fn best_keeps_the_fastest_time_and_the_highest_memory() {
    let b = best(vec![
        Ok(side(2.0, 10, 5)),
        Ok(side(1.0, 5, 5)),
        Ok(side(3.0, 20, 5)),
    ])
    .unwrap();
    assert_eq!((b.elapsed_s, b.peak_rss_bytes), (1.0, 20 << 20));
    assert_eq!(
        best(vec![Ok(side(1.0, 1, 1)), Err("boom".into())]).unwrap_err(),
        "boom"
    );
}

#[test]
fn error_line_prefers_the_error() {
    let clap = "error: unrecognized subcommand 'lake'\n\nUsage: dsr [OPTIONS] <COMMAND>\n";
    assert_eq!(error_line(clap), "error: unrecognized subcommand 'lake'");
    assert_eq!(error_line("a\nb\n"), "b");
    assert_eq!(error_line(""), "(no output)");
}
