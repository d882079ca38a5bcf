//! `bench/crawl`: a frontier of N URLs (default 1,000,000) queued in
//! batches, then 10,000 of them taken and marked done with 5 new links each
//! (most already queued), as a crawl does. Prints one JSON object; peak
//! memory is measured by the caller (`/usr/bin/time -v`).
//!
//! ```text
//! frontier_1m DIR [N]
//! ```

use std::time::Instant;

use crawl::frontier::Next;
use crawl::Frontier;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: frontier_1m DIR [N]");
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let path = std::path::Path::new(&dir).join("frontier.sqlite");
    let mut f = Frontier::open(&path).expect("open");
    let url = |i: u64| format!("http://placebomarketabcdefghijklmnopqrstuvwxyz234567abcdefghijklmn.onion/listing/{i}.html");
    let t = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        batch.push(url(i));
        if batch.len() == 10_000 {
            f.add_all("m", &batch, 1).expect("add");
            batch.clear();
        }
    }
    f.add_all("m", &batch, 1).expect("add");
    let queue_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut taken = 0u64;
    for k in 0..10_000u64 {
        let Next::Entry(e) = f.take_next("m", 0).expect("next") else { break };
        let links: Vec<String> = (0..5).map(|j| url((k * 7 + j * 131) % (n + 1000))).collect();
        f.done(&e, 200, "00", &links).expect("done");
        taken += 1;
    }
    let step_s = t.elapsed().as_secs_f64();
    let c = f.counts("m").expect("counts");
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "urls": n,
            "queue_s": queue_s,
            "taken": taken,
            "take_done_s": step_s,
            "per_page_ms": step_s * 1000.0 / taken.max(1) as f64,
            "frontier": c,
            "db_bytes": bytes,
        })
    );
}
