//! Versioned schema migrations. The version lives in SQLite's `user_version`;
//! each migration runs once, in order, inside a transaction. Never edit a
//! released migration: add a new one.

use rusqlite::Connection;

use crate::{Result, StoreError};

/// Migrations in order; index + 1 is the schema version they produce.
const MIGRATIONS: &[&str] = &[
    // 1: pages and the records extracted from them.
    r#"
    CREATE TABLE pages (
        evidence TEXT PRIMARY KEY,
        source TEXT, url TEXT, captured_at TEXT,
        market TEXT, profile TEXT NOT NULL, page_type TEXT NOT NULL,
        encoding TEXT NOT NULL, diagnostics TEXT NOT NULL, extracted_by TEXT NOT NULL
    );
    CREATE TABLE listings (
        id TEXT PRIMARY KEY, evidence TEXT NOT NULL, ordinal INTEGER NOT NULL,
        profile TEXT NOT NULL, rule TEXT NOT NULL,
        market TEXT NOT NULL, market_listing_id TEXT, title TEXT NOT NULL, vendor TEXT,
        category TEXT NOT NULL, price_amount TEXT, price_currency TEXT,
        price_usd TEXT, price_btc TEXT, ships_from TEXT, ships_to TEXT NOT NULL,
        shipping_methods TEXT NOT NULL, stock TEXT, sold INTEGER, url TEXT
    );
    CREATE INDEX listings_vendor ON listings(market, vendor);
    CREATE INDEX listings_evidence ON listings(evidence);
    CREATE TABLE vendors (
        id TEXT PRIMARY KEY, evidence TEXT NOT NULL, ordinal INTEGER NOT NULL,
        profile TEXT NOT NULL, rule TEXT NOT NULL,
        market TEXT NOT NULL, name TEXT NOT NULL, registered TEXT, last_seen TEXT,
        sales INTEGER, feedback_positive INTEGER, feedback_neutral INTEGER,
        feedback_negative INTEGER, positive_percent TEXT, rating TEXT, level TEXT, trust TEXT,
        pgp_fingerprint TEXT, contacts TEXT NOT NULL, external_ratings TEXT NOT NULL
    );
    CREATE INDEX vendors_name ON vendors(market, name);
    CREATE INDEX vendors_evidence ON vendors(evidence);
    CREATE INDEX vendors_pgp ON vendors(pgp_fingerprint);
    CREATE TABLE feedback (
        id TEXT PRIMARY KEY, evidence TEXT NOT NULL, ordinal INTEGER NOT NULL,
        profile TEXT NOT NULL, rule TEXT NOT NULL,
        market TEXT NOT NULL, vendor TEXT, listing TEXT, date TEXT, rating TEXT, text TEXT,
        buyer TEXT, price_amount TEXT, price_currency TEXT
    );
    CREATE INDEX feedback_vendor ON feedback(market, vendor);
    CREATE INDEX feedback_evidence ON feedback(evidence);
    CREATE TABLE categories (
        id TEXT PRIMARY KEY, evidence TEXT NOT NULL, ordinal INTEGER NOT NULL,
        profile TEXT NOT NULL, rule TEXT NOT NULL,
        market TEXT NOT NULL, name TEXT NOT NULL, count INTEGER, link TEXT
    );
    CREATE INDEX categories_evidence ON categories(evidence);
    CREATE TABLE identifiers (
        id TEXT PRIMARY KEY, evidence TEXT NOT NULL, ordinal INTEGER NOT NULL,
        profile TEXT NOT NULL, rule TEXT NOT NULL,
        kind TEXT NOT NULL, value TEXT NOT NULL, detail TEXT, pgp TEXT
    );
    CREATE INDEX identifiers_value ON identifiers(kind, value);
    CREATE INDEX identifiers_evidence ON identifiers(evidence);
    "#,
    // 2: observations. Dataset rows carry their own observation time (a crawl
    // date per row); listings gain the "sold since" date and a rating.
    r#"
    ALTER TABLE listings ADD COLUMN sold_since TEXT;
    ALTER TABLE listings ADD COLUMN rating TEXT;
    ALTER TABLE listings ADD COLUMN observed_at TEXT;
    ALTER TABLE vendors ADD COLUMN observed_at TEXT;
    ALTER TABLE feedback ADD COLUMN observed_at TEXT;
    "#,
    // 3: perceptual hashes of the product photos a page embeds per listing
    // (JSON list; NULL when there are none).
    r#"
    ALTER TABLE listings ADD COLUMN photos TEXT;
    "#,
    // 4: a count of changes to the records (one per stored page), so data
    // derived from them and kept beside the store (the sales units) knows
    // when it is stale.
    r#"
    CREATE TABLE generation (n INTEGER NOT NULL);
    INSERT INTO generation (n) VALUES (0);
    "#,
    // 5: a page's rows are found through the id index (their ids share the
    // page's prefix), not an index of 64-digit evidence strings that every
    // stored row paid for and only replacing a page read.
    r#"
    DROP INDEX listings_evidence;
    DROP INDEX feedback_evidence;
    DROP INDEX categories_evidence;
    DROP INDEX identifiers_evidence;
    "#,
    // 6: the feedback of dataset files (millions of rows from one evidence
    // record) is kept in chunks, one per account and window of row ordinals
    // (see `feedback_chunks`), not a table row each.
    r#"
    CREATE TABLE feedback_chunks (
        evidence TEXT NOT NULL, market TEXT NOT NULL, vendor TEXT,
        ordinal_window INTEGER NOT NULL, rows INTEGER NOT NULL, data BLOB NOT NULL
    );
    CREATE INDEX feedback_chunks_account ON feedback_chunks(market, vendor);
    CREATE INDEX feedback_chunks_evidence ON feedback_chunks(evidence, ordinal_window);
    "#,
    // 7: chunks are compressed (`lz4`: an LZ4 block after its plain length);
    // NULL: a chunk written before, plain.
    r#"
    ALTER TABLE feedback_chunks ADD COLUMN compression TEXT;
    "#,
    // 8: the listings of dataset files are kept in chunks too (see
    // `listing_chunks`), in the shape of `feedback_chunks`.
    r#"
    CREATE TABLE listing_chunks (
        evidence TEXT NOT NULL, market TEXT NOT NULL, vendor TEXT,
        ordinal_window INTEGER NOT NULL, rows INTEGER NOT NULL, data BLOB NOT NULL,
        compression TEXT
    );
    CREATE INDEX listing_chunks_account ON listing_chunks(market, vendor);
    CREATE INDEX listing_chunks_evidence ON listing_chunks(evidence, ordinal_window);
    "#,
    // 9: the format of a chunk's rows (see `feedback_chunks::FORMAT`):
    // chunks written before are format 1, bincode's.
    r#"
    ALTER TABLE feedback_chunks ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE listing_chunks ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
    "#,
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`CURRENT`], refusing files from a newer dragnet.
pub fn migrate(conn: &mut Connection) -> Result<i64> {
    let db = |context: &str| {
        let context = context.to_owned();
        move |source| StoreError::Db { context, source }
    };
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db("reading schema version"))?;
    if found > CURRENT {
        return Err(StoreError::TooNew { found, supported: CURRENT });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i64 + 1;
        let tx = conn.transaction().map_err(db("starting migration"))?;
        tx.execute_batch(sql).map_err(db(&format!("applying migration {version}")))?;
        tx.pragma_update(None, "user_version", version)
            .map_err(db(&format!("recording schema version {version}")))?;
        tx.commit().map_err(db(&format!("committing migration {version}")))?;
    }
    Ok(CURRENT)
}
