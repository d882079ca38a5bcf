//! The embedded SQLite backend.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row};

use model::{
    CategoryEntry, ExternalRating, Feedback, Identifier, IdentifierKind, Listing, Money, PageType,
    PgpKeyInfo, Provenance, Sha256, Vendor,
};

use crate::chunks::{self, RawChunk, Table};
use crate::ids::{RowId, RowKind};
use crate::migrations;
use crate::{sort_feedback, AnyRecord, CaseStore, Counts, DeferredFeedback, EncodedRows, Filter, KeepDates, PageRecords, PageRow, Result, Stored, StoreError};

/// A case database in one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    /// The checkpoint after the last large transaction, while it runs
    /// (see [`SqliteStore::in_transaction`]).
    checkpoint: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // The connection's close would checkpoint what is left, racing the
        // thread; and the process should not end with the copy half done.
        self.wait_for_checkpoint();
    }
}

/// The page size of a new database, in bytes (see [`SqliteStore::open`]).
const PAGE_SIZE: i64 = 16 * 1024;

/// Pages past which a transaction's commit is followed by a checkpoint in
/// the background (SQLite's own automatic checkpoint threshold, in frames
/// of the write-ahead log, which are pages).
const CHECKPOINT_FRAMES: i64 = 1000;

fn db(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Db { context, source }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serializing plain data structures to a String cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

fn from_json<T: serde::de::DeserializeOwned + Default>(s: Option<String>, context: &str) -> Result<T> {
    match s {
        None => Ok(T::default()),
        Some(s) => serde_json::from_str(&s)
            .map_err(|source| StoreError::Json { context: context.to_owned(), source }),
    }
}

impl SqliteStore {

    /// [`CaseStore::feedback_dates`] of the rows `keep` accepts (all
    /// without one); the limit counts the rows kept.
    fn dates_kept(&self, f: &Filter, mut keep: Option<&mut KeepDates<'_>>) -> Result<Vec<Stored<Feedback>>> {
        // Table rows are read whole when some may be refused: a limit in the
        // query would count rows `keep` then drops.
        let table = match keep {
            Some(_) => Filter { limit: None, ..f.clone() },
            None => f.clone(),
        };
        let order = order_by_if_limited(&table, "market, vendor, id");
        let mut rows = self.query(
            &format!("SELECT id, market, vendor, date FROM feedback {} {order} LIMIT ?3", where_market_vendor(&table)),
            &[&table.market, &table.vendor, &limit(&table)],
            |r| {
                let id: String = r.get("id")?;
                Ok(Ok(Stored {
                    id: RowId::parse_stored(&id),
                    record: Feedback { market: r.get("market")?, vendor: r.get("vendor")?, date: r.get("date")?, ..Feedback::default() },
                }))
            },
        )?;
        if let Some(keep) = keep.as_mut() {
            rows.retain(|s| keep(&s.record.market, s.record.vendor.as_deref(), s.record.date.as_deref()));
        }
        // A chunk's rows are read in place and only the rows kept, and of
        // them only these fields, copied: built whole first, the rows of a
        // 10M-row case took gigabytes more.
        for c in chunks::read(&self.conn, Table::Feedback, f, where_market_vendor(f))? {
            let mut read = Vec::new();
            c.borrow_feedback_into(&mut read)?;
            let prefix = RowId::page_prefix(RowKind::Feedback, &c.evidence()?);
            for r in &read {
                let (market, vendor, date) = (r.record.market, r.record.vendor, r.record.date);
                if keep.as_mut().is_some_and(|keep| !keep(market, vendor, date)) {
                    continue;
                }
                rows.push(Stored {
                    id: match r.id {
                        crate::FeedbackRefId::InPage { ordinal, .. } => RowId::in_page(&prefix, ordinal as usize),
                        crate::FeedbackRefId::Whole(id) => id.clone(),
                    },
                    record: Feedback { market: market.to_owned(), vendor: vendor.map(str::to_owned), date: date.map(str::to_owned), ..Feedback::default() },
                });
            }
        }
        sort_feedback(&mut rows);
        rows.truncate(f.limit.unwrap_or(usize::MAX));
        Ok(rows)
    }
    /// [`CaseStore::listings_unordered`] of what `make` makes of each
    /// listing, as it is read: a reader that keeps listings as rows of its
    /// own (the sales observations) does not copy a million of them after
    /// they are read.
    pub fn listings_unordered_as<U: Send>(&self, f: &Filter, make: impl Fn(Stored<Listing>) -> U + Sync) -> Result<Vec<U>> {
        let rows = self.query(&format!("SELECT * FROM listings {}", where_market_vendor(f)), &[&f.market, &f.vendor], listing_row)?;
        let chunks = chunks::read(&self.conn, Table::Listings, f, where_market_vendor(f))?;
        let decoded = decoded_listings_as(chunks, &make, None)?;
        // A case of datasets has no table listings: a million decoded ones
        // are handed over, not copied after none.
        if rows.is_empty() {
            return Ok(decoded);
        }
        let mut rows: Vec<U> = rows.into_iter().map(make).collect();
        rows.extend(decoded);
        Ok(rows)
    }

    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path).map_err(db(format!("opening {}", path.display())))?;
        // A new database takes 16 KiB pages (set before WAL mode writes the
        // header; an existing one keeps its own). Imports store row chunks
        // of a few KiB to hundreds as blobs: on 4 KiB pages most of their
        // bytes went through overflow pages, each a log frame with its own
        // header and checkpoint copy. Measured on the 10M-feedback bench
        // case: 16.7-19.5 s -> 15.6-16.4 s per import, 12 % smaller file;
        // `dragnet extract` of the shared pages no slower (BENCHMARKS.md).
        conn.pragma_update(None, "page_size", PAGE_SIZE).map_err(db("setting page_size"))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db("enabling WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(db("setting synchronous"))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db("enabling foreign keys"))?;
        // Whole-table reads (estimates, linking, reports) sort every row for
        // their ORDER BY and look rows up through indexes: with SQLite's
        // defaults (2 MiB page cache, temporary b-trees spilled to files)
        // most of that is read and write calls. Keep up to 256 MiB of
        // pages, sort in memory, and map the file.
        conn.pragma_update(None, "cache_size", -262_144i64).map_err(db("setting cache_size"))?;
        conn.pragma_update(None, "temp_store", "MEMORY").map_err(db("setting temp_store"))?;
        conn.pragma_update(None, "mmap_size", 1i64 << 30).map_err(db("setting mmap_size"))?;
        migrations::migrate(&mut conn)?;
        Ok(SqliteStore { conn, checkpoint: None })
    }

    /// An in-memory store, for tests.
    pub fn in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory().map_err(db("opening in-memory database"))?;
        migrations::migrate(&mut conn)?;
        Ok(SqliteStore { conn, checkpoint: None })
    }

    /// Runs `f` inside one transaction (bulk imports are much faster so).
    ///
    /// The commit of a large transaction (one that grew the file by more
    /// than [`CHECKPOINT_FRAMES`] pages: an import of millions of rows) does
    /// not wait for the checkpoint that copies the write-ahead log into the
    /// database file (1.5 s of a 10M-row import, most of it waiting for the
    /// disk): that runs on another thread and connection while this one
    /// goes on, and readers see the committed rows either way. The store
    /// waits for it when dropped. Smaller commits checkpoint as SQLite does.
    pub fn in_transaction<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN").map_err(db("starting transaction"))?;
        let pages_before = self.page_count();
        match f(self) {
            Ok(v) => {
                if self.page_count() - pages_before <= CHECKPOINT_FRAMES {
                    self.conn.execute_batch("COMMIT").map_err(db("committing"))?;
                    return Ok(v);
                }
                // Set back to SQLite's default after the commit: writes
                // outside such transactions checkpoint as they always did.
                self.conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(db("deferring the checkpoint"))?;
                let committed = self.conn.execute_batch("COMMIT").map_err(db("committing"));
                self.conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_FRAMES).map_err(db("restoring checkpoints"))?;
                committed?;
                self.checkpoint_in_background();
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Pages in the database, counting those of the open transaction.
    fn page_count(&self) -> i64 {
        self.conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap_or(0)
    }

    /// Starts a PASSIVE checkpoint on another thread and connection (after
    /// waiting for the one before). A checkpoint that cannot run (no second
    /// connection, a busy lock) is left to the next one or to the last
    /// connection's close, which SQLite always checkpoints: nothing is lost.
    fn checkpoint_in_background(&mut self) {
        self.wait_for_checkpoint();
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from) else { return };
        self.checkpoint = Some(std::thread::spawn(move || {
            if let Ok(conn) = Connection::open(&path) {
                let _ = conn.busy_timeout(std::time::Duration::from_secs(5));
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        }));
    }

    /// Waits for a checkpoint started by [`SqliteStore::in_transaction`].
    fn wait_for_checkpoint(&mut self) {
        if let Some(t) = self.checkpoint.take() {
            let _ = t.join();
        }
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(db("reading schema version"))
    }

    fn query<T>(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
        map: impl Fn(&NamedRow<'_, '_>) -> rusqlite::Result<Result<T>>,
    ) -> Result<Vec<T>> {
        query_on(&self.conn, sql, args, map)
    }

    /// Every listing row in [`listing_order`], read in two halves (split at
    /// the middle rowid) by this connection and a second, read-only one on
    /// another thread, each half sorted on its thread, then merged: the
    /// sales units of an import read a million listings before any vendor
    /// can be estimated, and turning rows into records and sorting them is
    /// most of that. None (read on one connection) for a store in memory, a
    /// table of fewer than [`SPLIT_READ_MIN_ROWS`] rows, or inside an open
    /// transaction, whose rows another connection would not see.
    fn listings_split(&self) -> Result<Option<Vec<Stored<Listing>>>> {
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from) else { return Ok(None) };
        if !self.conn.is_autocommit() {
            return Ok(None);
        }
        let (lo, hi): (Option<i64>, Option<i64>) = self
            .conn
            .query_row("SELECT MIN(rowid), MAX(rowid) FROM listings", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db("finding the listings' rowids"))?;
        let (Some(lo), Some(hi)) = (lo, hi) else { return Ok(None) };
        if hi - lo < SPLIT_READ_MIN_ROWS {
            return Ok(None);
        }
        let mid = lo + (hi - lo) / 2;
        const HIGH: &str = "SELECT * FROM listings WHERE rowid > ?1";
        let sorted = |mut rows: Vec<Stored<Listing>>| {
            sort_through_indexes(&mut rows, listing_order);
            rows
        };
        std::thread::scope(|s| {
            // None when the second connection cannot be opened (a read-only
            // directory, say): this one then reads that half too.
            let high = s.spawn(|| -> Option<Result<Vec<Stored<Listing>>>> {
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&path, flags).ok()?;
                conn.pragma_update(None, "mmap_size", 1i64 << 30).ok()?;
                Some(query_on(&conn, HIGH, &[&mid], listing_row).map(sorted))
            });
            let low = sorted(self.query("SELECT * FROM listings WHERE rowid <= ?1", &[&mid], listing_row)?);
            // A panic reading the other half is this thread's.
            let high = match high.join().unwrap_or_else(|e| std::panic::resume_unwind(e)) {
                Some(high) => high?,
                None => sorted(self.query(HIGH, &[&mid], listing_row)?),
            };
            Ok(Some(merge_sorted(low, high, listing_order)))
        })
    }
}

/// The order of whole listing reads: market, title, id (ids are unique, so
/// the order is total: halves sorted apart and merged are the whole sorted).
fn listing_order(a: &Stored<Listing>, b: &Stored<Listing>) -> std::cmp::Ordering {
    (&a.record.market, &a.record.title, a.id.as_str()).cmp(&(&b.record.market, &b.record.title, b.id.as_str()))
}

/// Sorts `rows` by `order` through a vector of their indexes, then moves
/// each row once into its place: a listing is some 400 bytes, and sorting a
/// million of them in place moved each a dozen times (the copies were a
/// tenth of a vendor report at 10M). Rows that `order` ties keep their order
/// (as a stable sort), so the result does not depend on the sort's choices
/// even where the rows are not all distinct (a damaged case file's).
fn sort_through_indexes<T>(rows: &mut [T], order: impl Fn(&T, &T) -> std::cmp::Ordering) {
    let Ok(n) = u32::try_from(rows.len()) else {
        return rows.sort_unstable_by(order);
    };
    // at[k]: the row that belongs at k.
    let mut at: Vec<u32> = (0..n).collect();
    at.sort_unstable_by(|&a, &b| order(&rows[a as usize], &rows[b as usize]).then(a.cmp(&b)));
    // Each cycle of the permutation followed once, its rows swapped along
    // it; a place whose row has come is marked by pointing at itself (so a
    // start already placed, or in place, ends its cycle at once).
    for start in 0..rows.len() {
        let mut k = start;
        loop {
            let from = at[k] as usize;
            at[k] = k as u32;
            if from == start {
                break;
            }
            rows.swap(k, from);
            k = from;
        }
    }
}

/// Two vectors sorted by `order`, merged into one sorted by it (on ties,
/// `a`'s first).
fn merge_sorted<T>(a: Vec<T>, b: Vec<T>, order: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => order(x, y) != std::cmp::Ordering::Greater,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// The listings of `chunks`, in [`listing_order`] when `sorted`, else in
/// chunk and row order. With many rows, half the chunks are decoded (and
/// sorted) on another thread, and the halves merged: the sales units of an
/// import read a million listings before any vendor can be estimated.
fn decoded_listings(chunks: Vec<RawChunk>, sorted: bool) -> Result<Vec<Stored<Listing>>> {
    decoded_listings_as(chunks, &|s| s, sorted.then_some(listing_order))
}

/// [`decoded_listings`] of what `make` makes of each listing as it is
/// decoded, in `order` if given (a reader's own rows are not built after a
/// million listings, a copy of them all).
fn decoded_listings_as<U: Send>(
    mut chunks: Vec<RawChunk>,
    make: &(impl Fn(Stored<Listing>) -> U + Sync),
    order: Option<fn(&U, &U) -> std::cmp::Ordering>,
) -> Result<Vec<U>> {
    // `room`: rows to make room for (the other half's too, for the half that
    // is appended to: growing a vector of a million listings copied it).
    let decoded = |chunks: Vec<RawChunk>, room: usize| -> Result<Vec<U>> {
        let mut rows = Vec::new();
        let _ = rows.try_reserve(room);
        for c in chunks {
            c.listings_into_as(make, &mut rows)?;
        }
        if let Some(order) = order {
            sort_through_indexes(&mut rows, order);
        }
        Ok(rows)
    };
    let bytes: usize = chunks.iter().map(RawChunk::stored_len).sum();
    if bytes < SPLIT_DECODE_MIN_BYTES {
        let room = chunks::room_for_rows(&chunks);
        return decoded(chunks, room);
    }
    // Split where half the stored bytes lie before.
    let mut before = 0;
    let mid = chunks.iter().position(|c| {
        before += c.stored_len();
        before * 2 >= bytes
    });
    let high = chunks.split_off(mid.map_or(0, |m| m + 1));
    let high_room = chunks::room_for_rows(&high);
    // Merged in order, the halves go to a new vector: room for its own only.
    let low_room = chunks::room_for_rows(&chunks).saturating_add(if order.is_none() { high_room } else { 0 });
    std::thread::scope(|s| {
        let high = s.spawn(move || decoded(high, high_room));
        let mut low = decoded(chunks, low_room)?;
        // A panic decoding the other half is this thread's.
        let mut high = high.join().unwrap_or_else(|e| std::panic::resume_unwind(e))?;
        Ok(if let Some(order) = order {
            merge_sorted(low, high, order)
        } else {
            low.append(&mut high);
            low
        })
    })
}

/// Below this many stored bytes, listing chunks are decoded on one thread.
const SPLIT_DECODE_MIN_BYTES: usize = 1 << 20;

/// Below this many rowids a whole-table listing read stays on one connection.
const SPLIT_READ_MIN_ROWS: i64 = 50_000;

fn query_on<T>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
    map: impl Fn(&NamedRow<'_, '_>) -> rusqlite::Result<Result<T>>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db(format!("preparing {sql}")))?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let rows = stmt.query_map(args, |row| map(&NamedRow { row, names: &names })).map_err(db("running query"))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r.map_err(db("reading row"))??);
    }
    Ok(out)
}

/// A result row whose columns are found by name in the statement's column
/// names, read once per query: rusqlite's by-name `get` asks SQLite for
/// every column's name on every call, which was a sixth of the time of
/// reading a case's rows.
struct NamedRow<'a, 'r> {
    row: &'a Row<'r>,
    names: &'a [String],
}

impl NamedRow<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, name: &str) -> rusqlite::Result<T> {
        match self.names.iter().position(|n| n == name) {
            Some(i) => self.row.get(i),
            // rusqlite's own lookup: case-insensitive, or InvalidColumnName.
            None => self.row.get(name),
        }
    }
}

fn provenance(r: &NamedRow<'_, '_>) -> rusqlite::Result<Option<Provenance>> {
    let evidence: String = r.get("evidence")?;
    Ok(evidence.parse::<Sha256>().ok().map(|evidence| Provenance {
        evidence,
        profile: r.get("profile").unwrap_or_default(),
        rule: r.get("rule").unwrap_or_default(),
    }))
}

fn money(r: &NamedRow<'_, '_>) -> rusqlite::Result<Option<Money>> {
    let amount: Option<String> = r.get("price_amount")?;
    let currency: Option<String> = r.get("price_currency")?;
    Ok(amount.map(|amount| Money { amount, currency: currency.unwrap_or_default() }))
}

fn u64_col(r: &NamedRow<'_, '_>, name: &str) -> rusqlite::Result<Option<u64>> {
    Ok(r.get::<Option<i64>>(name)?.and_then(|v| u64::try_from(v).ok()))
}

fn i64_of(v: Option<u64>) -> Option<i64> {
    v.and_then(|v| i64::try_from(v).ok())
}

fn listing_row(r: &NamedRow<'_, '_>) -> rusqlite::Result<Result<Stored<Listing>>> {
    let id: String = r.get("id")?;
    let ctx = format!("listing {id}");
    let category = from_json(r.get("category")?, &ctx);
    let ships_to = from_json(r.get("ships_to")?, &ctx);
    let methods = from_json(r.get("shipping_methods")?, &ctx);
    let photos: Result<Vec<String>> = from_json(r.get("photos")?, &ctx);
    let rec = Listing {
        market: r.get("market")?,
        market_listing_id: r.get("market_listing_id")?,
        title: r.get("title")?,
        vendor: r.get("vendor")?,
        category: Vec::new(),
        price: money(r)?,
        price_usd: r.get("price_usd")?,
        price_btc: r.get("price_btc")?,
        ships_from: r.get("ships_from")?,
        ships_to: Vec::new(),
        shipping_methods: Vec::new(),
        stock: r.get("stock")?,
        sold: u64_col(r, "sold")?,
        url: r.get("url")?,
        sold_since: r.get("sold_since")?,
        rating: r.get("rating")?,
        observed_at: r.get("observed_at")?,
        photos: Vec::new(),
        provenance: provenance(r)?,
    };
    Ok((|| {
        Ok(Stored {
            id: RowId::parse_stored(&id),
            record: Listing { category: category?, ships_to: ships_to?, shipping_methods: methods?, photos: photos?, ..rec },
        })
    })())
}

fn vendor_row(r: &NamedRow<'_, '_>) -> rusqlite::Result<Result<Stored<Vendor>>> {
    let id: String = r.get("id")?;
    let ctx = format!("vendor {id}");
    let contacts = from_json(r.get("contacts")?, &ctx);
    let external: Result<Vec<ExternalRating>> = from_json(r.get("external_ratings")?, &ctx);
    let rec = Vendor {
        market: r.get("market")?,
        name: r.get("name")?,
        registered: r.get("registered")?,
        last_seen: r.get("last_seen")?,
        sales: u64_col(r, "sales")?,
        feedback_positive: u64_col(r, "feedback_positive")?,
        feedback_neutral: u64_col(r, "feedback_neutral")?,
        feedback_negative: u64_col(r, "feedback_negative")?,
        positive_percent: r.get("positive_percent")?,
        rating: r.get("rating")?,
        level: r.get("level")?,
        trust: r.get("trust")?,
        pgp_fingerprint: r.get("pgp_fingerprint")?,
        contacts: Vec::new(),
        external_ratings: Vec::new(),
        observed_at: r.get("observed_at")?,
        provenance: provenance(r)?,
    };
    Ok((|| {
        Ok(Stored {
            id: RowId::parse_stored(&id),
            record: Vendor { contacts: contacts?, external_ratings: external?, ..rec },
        })
    })())
}

fn feedback_row(r: &NamedRow<'_, '_>) -> rusqlite::Result<Result<Stored<Feedback>>> {
    let id: String = r.get("id")?;
    Ok(Ok(Stored {
        id: RowId::parse_stored(&id),
        record: Feedback {
            market: r.get("market")?,
            vendor: r.get("vendor")?,
            listing: r.get("listing")?,
            date: r.get("date")?,
            rating: r.get("rating")?,
            text: r.get("text")?,
            buyer: r.get("buyer")?,
            price: money(r)?,
            observed_at: r.get("observed_at")?,
            provenance: provenance(r)?,
        },
    }))
}

fn category_row(r: &NamedRow<'_, '_>) -> rusqlite::Result<Result<Stored<CategoryEntry>>> {
    let id: String = r.get("id")?;
    Ok(Ok(Stored {
        id: RowId::parse_stored(&id),
        record: CategoryEntry {
            market: r.get("market")?,
            name: r.get("name")?,
            count: u64_col(r, "count")?,
            link: r.get("link")?,
            provenance: provenance(r)?,
        },
    }))
}

fn identifier_row(r: &NamedRow<'_, '_>) -> rusqlite::Result<Result<Stored<Identifier>>> {
    let id: String = r.get("id")?;
    let kind: String = r.get("kind")?;
    let pgp: Result<Option<PgpKeyInfo>> = from_json(r.get("pgp")?, &format!("identifier {id}"));
    let value: String = r.get("value")?;
    let detail: Option<String> = r.get("detail")?;
    let prov = provenance(r)?;
    Ok((|| {
        Ok(Stored {
            id: RowId::parse_stored(&id),
            record: Identifier {
                kind: IdentifierKind::parse(&kind).unwrap_or(IdentifierKind::Email),
                value,
                detail,
                pgp: pgp?,
                provenance: prov,
            },
        })
    })())
}

impl RowId {
    /// Ids read back from our own tables are well-formed by construction.
    fn parse_stored(s: &str) -> RowId {
        s.parse().unwrap_or_else(|_| RowId::new(RowKind::Identifier, &Sha256::of(s.as_bytes()), 0))
    }
}

/// The filter on `market` (?1) and `vendor` (?2), written for the filter at
/// hand: SQLite plans a statement before it sees the values, so a generic
/// `(?1 IS NULL OR market = ?1)` never uses the `(market, vendor)` indexes
/// and scans the whole table for one vendor's rows. (Both parameters are
/// always referenced, so every variant binds the same parameters.)
fn where_market_vendor(f: &Filter) -> &'static str {
    match (&f.market, &f.vendor) {
        (Some(_), Some(_)) => "WHERE market = ?1 AND vendor = ?2",
        (Some(_), None) => "WHERE market = ?1 AND ?2 IS NULL",
        (None, Some(_)) => "WHERE ?1 IS NULL AND vendor = ?2",
        (None, None) => "WHERE ?1 IS NULL AND ?2 IS NULL",
    }
}

fn limit(f: &Filter) -> i64 {
    f.limit.and_then(|l| i64::try_from(l).ok()).unwrap_or(-1)
}

/// `ORDER BY {order}` when `f` has a limit (the order decides which rows
/// come back), else nothing: then the caller sorts the rows itself. For a
/// whole table SQLite's plan walks the (market, vendor) index, fetches each
/// row by rowid and sorts the rest in a temporary b-tree, which took a third
/// of the time of reading a case of 100k listings and 300k feedback; a table
/// scan and a sort in memory take a fraction of it. (Text compares as bytes
/// in both, and NULL sorts first as `None` does.)
fn order_by_if_limited(f: &Filter, order: &str) -> String {
    if f.limit.is_some() { format!("ORDER BY {order}") } else { String::new() }
}



impl SqliteStore {
    /// [`CaseStore::put_page`] with a dataset page's listings and feedback
    /// `encoded` (kept as chunks; `rec.listings` and `rec.feedback` then go
    /// unread), else its listing and feedback rows as table rows.
    fn put_records(&mut self, rec: &PageRecords, encoded: Option<&EncodedRows>) -> Result<()> {
        let ev = rec.page.evidence.to_hex();
        // A savepoint, so a page can be stored inside a caller's bulk transaction.
        let tx = self.conn.savepoint().map_err(db("starting page savepoint"))?;
        let kinds = [RowKind::Listing, RowKind::Vendor, RowKind::Feedback, RowKind::Category, RowKind::Identifier];
        let [listing_prefix, vendor_prefix, feedback_prefix, category_prefix, identifier_prefix] =
            kinds.map(|kind| RowId::page_prefix(kind, &rec.page.evidence));
        for (kind, from) in kinds.iter().zip([&listing_prefix, &vendor_prefix, &feedback_prefix, &category_prefix, &identifier_prefix]) {
            // The page's ids are the range [prefix, prefix with '-' raised to '.'); the
            // evidence test keeps another page whose digest starts the same out of it.
            let table = kind.table();
            let to = format!("{}.", &from[..from.len() - 1]);
            tx.execute(&format!("DELETE FROM {table} WHERE id >= ?1 AND id < ?2 AND evidence = ?3"), [from, &to, &ev])
                .map_err(db(format!("clearing old {table} of page {ev}")))?;
        }
        chunks::delete(&tx, Table::Feedback, &ev)?;
        chunks::delete(&tx, Table::Listings, &ev)?;
        let p = &rec.page;
        tx.execute(
            "INSERT OR REPLACE INTO pages (evidence, source, url, captured_at, market, profile, page_type, encoding, diagnostics, extracted_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![ev, p.source, p.url, p.captured_at, p.market, p.profile, p.page_type.as_str(), p.encoding, to_json(&p.diagnostics), p.extracted_by],
        )
        .map_err(db(format!("storing page {ev}")))?;
        fn prov(pr: &Option<Provenance>) -> (&str, &str) {
            pr.as_ref().map_or(("", ""), |p| (p.profile.as_str(), p.rule.as_str()))
        }
        // One prepared statement per table and page, not a cache lookup per row.
        let mut st = tx
            .prepare_cached(
                "INSERT INTO listings (id, evidence, ordinal, profile, rule, market, market_listing_id, title, vendor,
                   category, price_amount, price_currency, price_usd, price_btc, ships_from, ships_to,
                   shipping_methods, stock, sold, url, sold_since, rating, observed_at, photos)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24)",
            )
            .map_err(db("preparing listings insert"))?;
        let table_listings: &[Listing] = match encoded {
            Some(e) => {
                chunks::insert(&tx, Table::Listings, &rec.page.evidence, &e.listings.chunks)?;
                &[]
            }
            None => &rec.listings,
        };
        for (i, l) in table_listings.iter().enumerate() {
            let (profile, rule) = prov(&l.provenance);
            st.execute(params![
                    RowId::in_page(&listing_prefix, i).as_str(), ev, i as i64, profile, rule,
                    l.market, l.market_listing_id, l.title, l.vendor, to_json(&l.category),
                    l.price.as_ref().map(|m| &m.amount), l.price.as_ref().map(|m| &m.currency),
                    l.price_usd, l.price_btc, l.ships_from, to_json(&l.ships_to),
                    to_json(&l.shipping_methods), l.stock, i64_of(l.sold), l.url,
                    l.sold_since, l.rating, l.observed_at,
                    (!l.photos.is_empty()).then(|| to_json(&l.photos))
                ])
            .map_err(|e| db(format!("storing listing {i} of page {ev}"))(e))?;
        }
        drop(st);
        let mut st = tx
            .prepare_cached(
                "INSERT INTO vendors (id, evidence, ordinal, profile, rule, market, name, registered, last_seen,
                   sales, feedback_positive, feedback_neutral, feedback_negative, positive_percent, rating,
                   level, trust, pgp_fingerprint, contacts, external_ratings, observed_at)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)",
            )
            .map_err(db("preparing vendors insert"))?;
        for (i, v) in rec.vendors.iter().enumerate() {
            let (profile, rule) = prov(&v.provenance);
            st.execute(params![
                    RowId::in_page(&vendor_prefix, i).as_str(), ev, i as i64, profile, rule,
                    v.market, v.name, v.registered, v.last_seen, i64_of(v.sales),
                    i64_of(v.feedback_positive), i64_of(v.feedback_neutral), i64_of(v.feedback_negative),
                    v.positive_percent, v.rating, v.level, v.trust, v.pgp_fingerprint,
                    to_json(&v.contacts), to_json(&v.external_ratings), v.observed_at
                ])
            .map_err(|e| db(format!("storing vendor {i} of page {ev}"))(e))?;
        }
        drop(st);
        let table_feedback: &[Feedback] = match encoded {
            Some(e) => {
                chunks::insert(&tx, Table::Feedback, &rec.page.evidence, &e.feedback.chunks)?;
                &[]
            }
            None => &rec.feedback,
        };
        let mut st = tx
            .prepare_cached(
                "INSERT INTO feedback (id, evidence, ordinal, profile, rule, market, vendor, listing, date,
                   rating, text, buyer, price_amount, price_currency, observed_at)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
            )
            .map_err(db("preparing feedback insert"))?;
        for (i, f) in table_feedback.iter().enumerate() {
            let (profile, rule) = prov(&f.provenance);
            st.execute(params![
                    RowId::in_page(&feedback_prefix, i).as_str(), ev, i as i64, profile, rule,
                    f.market, f.vendor, f.listing, f.date, f.rating, f.text, f.buyer,
                    f.price.as_ref().map(|m| &m.amount), f.price.as_ref().map(|m| &m.currency),
                    f.observed_at
                ])
            .map_err(|e| db(format!("storing feedback {i} of page {ev}"))(e))?;
        }
        drop(st);
        for (i, c) in rec.categories.iter().enumerate() {
            let (profile, rule) = prov(&c.provenance);
            tx.execute(
                "INSERT INTO categories VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                params![
                    RowId::in_page(&category_prefix, i).as_str(), ev, i as i64, profile, rule,
                    c.market, c.name, i64_of(c.count), c.link
                ],
            )
            .map_err(db(format!("storing category {i} of page {ev}")))?;
        }
        for (i, id) in rec.identifiers.iter().enumerate() {
            let (profile, rule) = prov(&id.provenance);
            tx.execute(
                "INSERT INTO identifiers VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                params![
                    RowId::in_page(&identifier_prefix, i).as_str(), ev, i as i64, profile, rule,
                    id.kind.as_str(), id.value, id.detail, id.pgp.as_ref().map(to_json)
                ],
            )
            .map_err(db(format!("storing identifier {i} of page {ev}")))?;
        }
        tx.execute("UPDATE generation SET n = n + 1", []).map_err(db(format!("counting the change of page {ev}")))?;
        tx.commit().map_err(db(format!("committing page {ev}")))
    }
}

impl CaseStore for SqliteStore {
    fn put_page(&mut self, rec: &PageRecords) -> Result<()> {
        let encoded = (rec.page.page_type == PageType::Dataset)
            .then(|| EncodedRows::encode(&rec.page.evidence, &rec.listings, &rec.feedback))
            .transpose()?;
        self.put_records(rec, encoded.as_ref())
    }

    fn put_page_encoded(&mut self, rec: &PageRecords, encoded: EncodedRows) -> Result<()> {
        if encoded.evidence() != &rec.page.evidence
            || rec.page.page_type != PageType::Dataset
            || !rec.feedback.is_empty()
            || !rec.listings.is_empty()
        {
            return Err(StoreError::Chunk {
                context: format!(
                    "page {}: encoded rows are for a dataset page's records without their listing and feedback rows (got {}, {} listings, {} feedback rows, page type {})",
                    rec.page.evidence,
                    encoded.evidence(),
                    rec.listings.len(),
                    rec.feedback.len(),
                    rec.page.page_type.as_str()
                ),
            });
        }
        self.put_records(rec, Some(&encoded))
    }

    fn page(&self, evidence: &Sha256) -> Result<Option<PageRow>> {
        let mut stmt = self.conn.prepare_cached("SELECT * FROM pages WHERE evidence = ?1").map_err(db("preparing page query"))?;
        let names: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let row = stmt.query_row([evidence.to_hex()], |row| page_row(&NamedRow { row, names: &names })).optional().map_err(db("reading page"))?;
        row.transpose()
    }

    fn pages(&self) -> Result<Vec<PageRow>> {
        self.query("SELECT * FROM pages ORDER BY evidence", &[], page_row)
    }

    fn listings(&self, f: &Filter) -> Result<Vec<Stored<Listing>>> {
        let order = order_by_if_limited(f, "market, title, id");
        let whole = f.market.is_none() && f.vendor.is_none() && f.limit.is_none();
        let table = match whole.then(|| self.listings_split()).transpose()?.flatten() {
            Some(rows) => rows, // in listing_order already
            None => {
                let mut rows = self.query(
                    &format!("SELECT * FROM listings {} {order} LIMIT ?3", where_market_vendor(f)),
                    &[&f.market, &f.vendor, &limit(f)],
                    listing_row,
                )?;
                if order.is_empty() {
                    sort_through_indexes(&mut rows, listing_order);
                }
                rows
            }
        };
        let chunks = chunks::read(&self.conn, Table::Listings, f, where_market_vendor(f))?;
        if chunks.is_empty() {
            return Ok(table);
        }
        let mut rows = merge_sorted(table, decoded_listings(chunks, true)?, listing_order);
        rows.truncate(f.limit.unwrap_or(usize::MAX));
        Ok(rows)
    }

    fn listings_unordered(&self, f: &Filter) -> Result<Vec<Stored<Listing>>> {
        self.listings_unordered_as(f, |s| s)
    }

    fn vendors(&self, f: &Filter) -> Result<Vec<Stored<Vendor>>> {
        self.query(
            "SELECT * FROM vendors WHERE (?1 IS NULL OR market = ?1) AND (?2 IS NULL OR name = ?2) ORDER BY market, name, id LIMIT ?3",
            &[&f.market, &f.vendor, &limit(f)],
            vendor_row,
        )
    }

    fn feedback(&self, f: &Filter) -> Result<Vec<Stored<Feedback>>> {
        self.feedback_deferred(f)?.decode()
    }

    fn feedback_deferred(&self, f: &Filter) -> Result<DeferredFeedback> {
        let order = order_by_if_limited(f, "market, vendor, id");
        let rows = self.query(&format!("SELECT * FROM feedback {} {order} LIMIT ?3", where_market_vendor(f)), &[&f.market, &f.vendor, &limit(f)], feedback_row)?;
        let chunks = chunks::read(&self.conn, Table::Feedback, f, where_market_vendor(f))?;
        Ok(DeferredFeedback::new(rows, chunks, f.limit))
    }

    fn feedback_dates(&self, f: &Filter) -> Result<Vec<Stored<Feedback>>> {
        self.dates_kept(f, None)
    }

    fn feedback_dates_where(&self, f: &Filter, keep: &mut KeepDates<'_>) -> Result<Vec<Stored<Feedback>>> {
        self.dates_kept(f, Some(keep))
    }

    fn vendors_on_page(&self, evidence: &Sha256) -> Result<Vec<Vendor>> {
        let rows = self.query(
            "SELECT * FROM vendors WHERE evidence = ?1 ORDER BY ordinal",
            &[&evidence.to_hex()],
            vendor_row,
        )?;
        Ok(rows.into_iter().map(|s| s.record).collect())
    }

    fn categories(&self, f: &Filter) -> Result<Vec<Stored<CategoryEntry>>> {
        self.query(
            "SELECT * FROM categories WHERE (?1 IS NULL OR market = ?1) ORDER BY market, name, id LIMIT ?2",
            &[&f.market, &limit(f)],
            category_row,
        )
    }

    fn identifiers(&self, f: &Filter) -> Result<Vec<Stored<Identifier>>> {
        self.query(
            "SELECT * FROM identifiers WHERE (?1 IS NULL OR kind = ?1) ORDER BY kind, value, id LIMIT ?2",
            &[&f.kind, &limit(f)],
            identifier_row,
        )
    }

    fn row(&self, id: &RowId) -> Result<Option<AnyRecord>> {
        let sql = format!("SELECT * FROM {} WHERE id = ?1", id.kind().table());
        let args: &[&dyn rusqlite::ToSql] = &[&id.as_str()];
        Ok(match id.kind() {
            RowKind::Listing => match self.query(&sql, args, listing_row)?.pop() {
                Some(s) => Some(AnyRecord::Listing(s.record)),
                None => chunks::row(&self.conn, Table::Listings, id, |c, o, out| c.listings_where(|x| x == o, out))?.map(AnyRecord::Listing),
            },
            RowKind::Vendor => self.query(&sql, args, vendor_row)?.pop().map(|s| AnyRecord::Vendor(s.record)),
            RowKind::Feedback => match self.query(&sql, args, feedback_row)?.pop() {
                Some(s) => Some(AnyRecord::Feedback(s.record)),
                None => chunks::row(&self.conn, Table::Feedback, id, |c, o, out| c.feedback_where(|x| x == o, out))?.map(AnyRecord::Feedback),
            },
            RowKind::Category => self.query(&sql, args, category_row)?.pop().map(|s| AnyRecord::Category(s.record)),
            RowKind::Identifier => {
                self.query(&sql, args, identifier_row)?.pop().map(|s| AnyRecord::Identifier(s.record))
            }
        })
    }

    fn counts(&self) -> Result<Counts> {
        let n = |table: &str| -> Result<u64> {
            self.conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
                .map(|v| v.max(0) as u64)
                .map_err(db(format!("counting {table}")))
        };
        Ok(Counts {
            pages: n("pages")?,
            listings: n("listings")? + chunks::count(&self.conn, Table::Listings)?,
            vendors: n("vendors")?,
            feedback: n("feedback")? + chunks::count(&self.conn, Table::Feedback)?,
            categories: n("categories")?,
            identifiers: n("identifiers")?,
        })
    }

    fn feedback_accounts(&self) -> Result<Vec<(String, Option<String>)>> {
        let mut st = self
            .conn
            .prepare("SELECT market, vendor FROM feedback UNION SELECT market, vendor FROM feedback_chunks ORDER BY market, vendor")
            .map_err(db("preparing the feedback accounts query"))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))
            .map_err(db("reading the feedback accounts"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db("reading the feedback accounts"))
    }

    fn markets(&self) -> Result<Vec<String>> {
        // Each table's markets by seeking its (market, ...) index from one
        // market to the next, rather than reading every row: a case holds a
        // few markets and may hold millions of rows.
        let mut markets = std::collections::BTreeSet::new();
        for table in ["listings", "listing_chunks", "vendors", "feedback", "feedback_chunks"] {
            let sql = format!(
                "WITH RECURSIVE m(x) AS (SELECT MIN(market) FROM {table} \
                 UNION ALL SELECT (SELECT MIN(market) FROM {table} WHERE market > x) FROM m WHERE x IS NOT NULL) \
                 SELECT x FROM m WHERE x IS NOT NULL"
            );
            let mut st = self.conn.prepare(&sql).map_err(db(format!("preparing the markets query of {table}")))?;
            let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(db(format!("reading the markets of {table}")))?;
            for m in rows {
                markets.insert(m.map_err(db(format!("reading the markets of {table}")))?);
            }
        }
        Ok(markets.into_iter().collect())
    }

    fn generation(&self) -> Result<u64> {
        self.conn.query_row("SELECT n FROM generation", [], |r| r.get::<_, i64>(0)).map(|v| v.max(0) as u64).map_err(db("reading the generation"))
    }
}

fn page_row(r: &NamedRow<'_, '_>) -> rusqlite::Result<Result<PageRow>> {
    let ev: String = r.get("evidence")?;
    let diagnostics: Result<Vec<String>> = from_json(r.get("diagnostics")?, &format!("page {ev}"));
    let page_type: String = r.get("page_type")?;
    let evidence = match ev.parse::<Sha256>() {
        Ok(e) => e,
        Err(_) => return Ok(Err(StoreError::Json {
            context: format!("page row {ev:?}"),
            source: serde::de::Error::custom("evidence is not a SHA-256 digest"),
        })),
    };
    let row = PageRow {
        evidence,
        source: r.get("source")?,
        url: r.get("url")?,
        captured_at: r.get("captured_at")?,
        market: r.get("market")?,
        profile: r.get("profile")?,
        page_type: PageType::parse(&page_type).unwrap_or(PageType::Unknown),
        encoding: r.get("encoding")?,
        diagnostics: Vec::new(),
        extracted_by: r.get("extracted_by")?,
    };
    Ok(diagnostics.map(|diagnostics| PageRow { diagnostics, ..row }))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Sorting through indexes gives the order a stable sort gives, for
        /// any rows (keys repeating, so that the order ties rows): every
        /// cycle of the permutation is followed, fixed points and rows
        /// already placed left alone, ties kept in their order.
        #[test]
        fn sorting_through_indexes_is_sorting(keys in proptest::collection::vec(0u8..6, 0..300)) {
            let mut rows: Vec<(u8, String)> = keys.iter().enumerate().map(|(i, &k)| (k, format!("row {i}"))).collect();
            let mut want = rows.clone();
            want.sort_by_key(|r| r.0);
            sort_through_indexes(&mut rows, |a, b| a.0.cmp(&b.0));
            proptest::prop_assert_eq!(rows, want);
        }
    }

    fn count(path: &Path) -> i64 {
        let conn = Connection::open(path).unwrap();
        conn.query_row("SELECT COUNT(*) FROM bulk", [], |r| r.get(0)).unwrap()
    }

    /// A large transaction's log is copied into the database file by the
    /// checkpoint started after its commit (the file alone, without the log,
    /// holds its rows); a small one starts none; and SQLite's automatic
    /// checkpoints are on again after either.
    #[test]
    fn a_large_transaction_is_checkpointed_after_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.sqlite");
        let mut s = SqliteStore::open(&path).unwrap();
        s.conn.execute_batch("CREATE TABLE bulk (b BLOB)").unwrap();
        s.in_transaction(|s| {
            // 24 MB: past CHECKPOINT_FRAMES pages of PAGE_SIZE.
            for _ in 0..3000 {
                s.conn.execute("INSERT INTO bulk VALUES (zeroblob(8000))", []).unwrap();
            }
            Ok(())
        })
        .unwrap();
        assert!(s.checkpoint.is_some(), "no checkpoint started after a large commit");
        s.wait_for_checkpoint();
        let alone = dir.path().join("alone.sqlite");
        std::fs::copy(&path, &alone).unwrap();
        assert_eq!(count(&alone), 3000, "the database file does not hold the committed rows");
        let autocheckpoint: i64 = s.conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!(autocheckpoint, CHECKPOINT_FRAMES);

        s.in_transaction(|s| {
            s.conn.execute("INSERT INTO bulk VALUES (zeroblob(10))", []).unwrap();
            Ok(())
        })
        .unwrap();
        assert!(s.checkpoint.is_none(), "a checkpoint started after a small commit");
        assert_eq!(count(&path), 3001);
    }

    /// A new database takes [`PAGE_SIZE`] pages; one made before keeps its
    /// own page size, and opens and takes rows as before.
    #[test]
    fn new_databases_take_the_page_size_and_old_ones_keep_theirs() {
        let page_size = |s: &SqliteStore| -> i64 { s.conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap() };
        let dir = tempfile::tempdir().unwrap();
        let new = SqliteStore::open(&dir.path().join("new.sqlite")).unwrap();
        assert_eq!(page_size(&new), PAGE_SIZE);
        let old_path = dir.path().join("old.sqlite");
        {
            let conn = Connection::open(&old_path).unwrap();
            conn.pragma_update(None, "page_size", 4096).unwrap();
            conn.execute_batch("CREATE TABLE before (x)").unwrap();
        }
        let mut old = SqliteStore::open(&old_path).unwrap();
        assert_eq!(page_size(&old), 4096);
        old.in_transaction(|s| {
            s.conn.execute("INSERT INTO before VALUES (1)", []).unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(old.conn.query_row("SELECT COUNT(*) FROM before", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
    }
}
