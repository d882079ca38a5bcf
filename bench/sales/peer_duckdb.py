#!/usr/bin/env python3
"""DuckDB peer for bench/sales: the same per-vendor feedback_count aggregation
over the same CSV files dragnet imports.

    peer_duckdb.py import DB FILE...   CSV -> tables `listings` and `feedback` in DB
    peer_duckdb.py query DB OUT.csv    per-vendor sales and revenue from the tables
    peer_duckdb.py oneshot OUT.csv FILE...   the same answer straight from the CSVs

Each mode prints one JSON line ({"mode", "seconds", ...}); run each as its
own process so /usr/bin/time measures its peak memory alone.

What it computes is dragnet's `sales --by vendor` feedback_count on these
files: every feedback entry is one sale priced at its listing's `usd_shown` price
(the generator writes no duplicate feedback, and dragnet never merges
entries of one row, so no deduplication step is needed), grouped by
(market, vendor); the market is `agora` for every row, as the agora-2014
importer files them. Feedback entries are found in the `feedback` cell with
the agora-2014 importer's own pattern (crates/datasets/src/agora.rs):
rating, text, relative date, buyer mark. Revenue is summed in DECIMAL
(cents), so it is exact.
"""
import json
import sys
import time

import duckdb

# One whole entry: "<rating> <text> <N units ago> <buyer mark>". The date and
# buyer parts are the agora-2014 importer's anchor regex verbatim.
DATE = r"\d+\s+(?:second|minute|hour|day|week|month|year)s?\s+ago"
BUYER = r"\S+\s+(?:\[\d+\s+deals?\]|~?\d+(?:\.\d+)?/5,\s*[\d~+]+\s+deals?|[\d~+]+\s+deals?)"
ENTRY = rf"(\d+(?:\.\d+)?/5)\s+(.*?)\s*({DATE})\s+({BUYER})"


def read_csv_sql(files):
    lst = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return (
        f"read_csv([{lst}], header = true, quote = '\"', escape = '\"', "
        "columns = {'list': 'VARCHAR', 'date': 'DATE', 'vendor': 'VARCHAR', 'product': 'VARCHAR', "
        "'price': 'DECIMAL(18,8)', 'usd_shown': 'DECIMAL(18,2)', 'rate': 'DECIMAL(18,2)', 'cat': 'VARCHAR', "
        "'subcat': 'VARCHAR', 'subsubcat': 'VARCHAR', 'feedback': 'VARCHAR', 'from': 'VARCHAR', 'to': 'VARCHAR'})"
    )


QUERY = """
SELECT 'agora' AS market, l.vendor, count(*) AS sales, sum(l.usd_shown) AS revenue
FROM feedback f JOIN listings l ON f.list = l.list
GROUP BY l.vendor
"""


def main():
    mode = sys.argv[1]
    t0 = time.perf_counter()
    if mode == "import":
        db, files = sys.argv[2], sys.argv[3:]
        con = duckdb.connect(db)
        con.execute(f"CREATE TABLE raw AS SELECT * FROM {read_csv_sql(files)}")
        con.execute(
            "CREATE TABLE listings AS SELECT list, date, vendor, product, price, usd_shown, rate, cat, subcat, "
            'subsubcat, "from", "to" FROM raw'
        )
        con.execute(
            f"""CREATE TABLE feedback AS
            SELECT list, date AS observed, vendor, product AS listing,
                   e.rating, e.text, e.ago, e.buyer
            FROM (SELECT list, date, vendor, product,
                         regexp_extract(unnest(regexp_extract_all(feedback, '{ENTRY}')), '{ENTRY}',
                                        ['rating', 'text', 'ago', 'buyer']) AS e
                  FROM raw)"""
        )
        con.execute("DROP TABLE raw")
        con.execute("CHECKPOINT")
        n_l = con.execute("SELECT count(*) FROM listings").fetchone()[0]
        n_f = con.execute("SELECT count(*) FROM feedback").fetchone()[0]
        con.close()
        out = {"mode": mode, "seconds": time.perf_counter() - t0, "listings": n_l, "feedback": n_f}
    elif mode == "query":
        db, dest = sys.argv[2], sys.argv[3]
        con = duckdb.connect(db, read_only=True)
        rows = con.execute(QUERY).fetchall()
        secs = time.perf_counter() - t0
        write(dest, rows)
        out = {"mode": mode, "seconds": secs, "groups": len(rows)}
    elif mode == "oneshot":
        dest, files = sys.argv[2], sys.argv[3:]
        con = duckdb.connect()
        rows = con.execute(
            f"""SELECT 'agora' AS market, vendor,
                       sum(n) AS sales, sum(n * usd_shown) AS revenue
                FROM (SELECT vendor, usd_shown, len(regexp_extract_all(feedback, '{ENTRY}')) AS n
                      FROM {read_csv_sql(files)})
                WHERE n > 0
                GROUP BY vendor"""
        ).fetchall()
        secs = time.perf_counter() - t0
        write(dest, rows)
        out = {"mode": mode, "seconds": secs, "groups": len(rows)}
    else:
        sys.exit(f"unknown mode {mode}")
    print(json.dumps(out))


def write(dest, rows):
    with open(dest, "w") as f:
        f.write("market,vendor,sales,revenue\n")
        for m, v, s, r in sorted(rows, key=lambda r: r[1]):
            f.write(f"{m},{v},{s},{r}\n")


if __name__ == "__main__":
    main()
