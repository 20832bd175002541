#!/usr/bin/env python3
"""DuckDB's side of `dsr bench lake`: the same find and erase as `dsr lake`, timed in-process.

    bench_lake_duckdb.py find  --lake DIR --subjects FILE [--threads 2]
    bench_lake_duckdb.py erase --lake DIR --subjects FILE [--threads 2]

The timing excludes interpreter start-up, `import duckdb`, connecting and loading the subject
list into a temporary table. It prints one JSON line on stdout:

    find:  {"op": "find", "elapsed_s", "rows", "files", "peak_rss_bytes", "duckdb_version"}
    erase: {"op": "erase", "elapsed_s", "removed", "files_rewritten", "peak_rss_bytes", ...}

`find` fetches every column of every matching row. `erase` rewrites, in place, each file of
DIR that holds a match (COPY … TO a temporary file, zstd, 122,880-row row groups, then a
rename over the original): run it on a scratch copy. Only `DIR/*.parquet` is read.
"""

import argparse
import glob
import json
import os
import resource
import sys
import time

import duckdb


def sql_string(s):
    """A SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def connect(threads, subjects):
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("CREATE TEMP TABLE subjects (email VARCHAR NOT NULL)")
    with open(subjects, encoding="utf-8") as f:
        emails = [line.strip() for line in f if line.strip()]
    if not emails:
        sys.exit(f"{subjects}: no subjects")
    con.executemany("INSERT INTO subjects VALUES (?)", [(e,) for e in emails])
    return con


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def find(con, lake):
    files = sorted(glob.glob(os.path.join(lake, "*.parquet")))
    if not files:
        sys.exit(f"{lake}: no *.parquet files")
    pattern = sql_string(os.path.join(lake, "*.parquet"))
    t = time.perf_counter()
    rows = con.execute(
        f"SELECT * FROM read_parquet({pattern}) WHERE email IN (SELECT email FROM subjects)"
    ).fetchall()
    elapsed = time.perf_counter() - t
    return {"op": "find", "elapsed_s": elapsed, "rows": len(rows), "files": len(files)}


def erase(con, lake):
    files = sorted(glob.glob(os.path.join(lake, "*.parquet")))
    if not files:
        sys.exit(f"{lake}: no *.parquet files")
    pattern = sql_string(os.path.join(lake, "*.parquet"))
    t = time.perf_counter()
    matched = con.execute(
        f"SELECT filename, count(*) FROM read_parquet({pattern}, filename = true) "
        "WHERE email IN (SELECT email FROM subjects) GROUP BY filename ORDER BY filename"
    ).fetchall()
    removed = 0
    for path, count in matched:
        tmp = path + ".duckdb-tmp"
        con.execute(
            f"COPY (SELECT * FROM read_parquet({sql_string(path)}) "
            "WHERE email NOT IN (SELECT email FROM subjects)) "
            f"TO {sql_string(tmp)} (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE 122880)"
        )
        os.replace(tmp, path)
        removed += count
    elapsed = time.perf_counter() - t
    return {
        "op": "erase",
        "elapsed_s": elapsed,
        "removed": removed,
        "files_rewritten": len(matched),
        "files": len(files),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("op", choices=["find", "erase"])
    p.add_argument("--lake", required=True, help="directory of *.parquet files")
    p.add_argument("--subjects", required=True, help="emails, one per line")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    con = connect(a.threads, a.subjects)
    out = find(con, a.lake) if a.op == "find" else erase(con, a.lake)
    out["peak_rss_bytes"] = peak_rss_bytes()
    out["duckdb_version"] = duckdb.__version__
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
