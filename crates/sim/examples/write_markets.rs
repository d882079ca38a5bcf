//! Writes the default simulated markets to a directory, for a look at the
//! pages: `cargo run -p sim --example write_markets -- /tmp/sim [seed]`.

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "sim-out".to_owned());
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    let case = sim::generate_markets(&sim::MarketSimConfig {
        seed,
        ..Default::default()
    });
    case.write_to(std::path::Path::new(&dir))?;
    println!("{} files and truth.json written to {dir}", case.files.len());
    Ok(())
}
