//! `dragnet demo`: the whole pipeline on a synthetic case, offline.
//!
//! Glue only: `sim` writes two fictional markets' pages, then the same
//! library calls as `case init`, `import`, `extract` and the report run.

use std::path::Path;

use anyhow::{Context, Result};

use case::{Case, ExtractOptions, ImportOptions};
use store::CaseStore;

const MARKER: &str = ".dragnet-demo";
/// 2021-06-01T00:00:00Z, the simulated capture time of the demo pages.
pub(crate) const SIMULATED_CAPTURE: u64 = 1_622_505_600;

fn set_mtimes(dir: &Path, unix: u64) -> Result<()> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            set_mtimes(&path, unix)?;
        } else {
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(t))
                .with_context(|| format!("setting capture time of {}", path.display()))?;
        }
    }
    Ok(())
}

pub fn run(out: &Path, seed: u64, operator: &str, json: bool, progress: &dyn case::Progress) -> Result<()> {
    if out.exists() {
        let is_old_demo = out.join(MARKER).is_file();
        let empty = std::fs::read_dir(out).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !is_old_demo && !empty {
            anyhow::bail!("{} exists and is not a previous demo output; choose another --out", out.display());
        }
        if is_old_demo {
            std::fs::remove_dir_all(out).with_context(|| format!("removing old demo {}", out.display()))?;
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join(MARKER), "written by `dragnet demo`; safe to delete\n")?;

    let cfg = sim::MarketSimConfig { seed, ..Default::default() };
    let generated = sim::generate_markets(&cfg);
    generated.write_to(out).with_context(|| format!("writing synthetic pages under {}", out.display()))?;

    // Saved pages get their capture time from the file's mtime; the synthetic
    // pages were "captured" at one simulated moment, so the demo (and its
    // report) is the same on every run, but for the time the custody log
    // gives the linking model's entry (the clock's).
    set_mtimes(&out.join("pages"), SIMULATED_CAPTURE)?;

    let case_dir = out.join("case");
    let mut case = Case::init(&case_dir, operator)?;
    let imported = case.import(&[out.join("pages")], &ImportOptions::default(), progress)?;
    let extracted = case.extract(&ExtractOptions::default(), progress)?;
    // The default linking model (as `dragnet links` trains on first use), so
    // that the report lists the links, the hard ones (a shared PGP key) too.
    let model = crate::link_cmd::train_on_sim(&mut case, 1)?;
    let accounts = case.link_accounts()?;
    let links = case::scored_links(&model, &accounts, &Default::default());
    let hard = links.iter().filter(|l| l.hard).count();
    let html = case.report_html("dragnet demo: two synthetic markets", &sales::Rates::default())?;
    let report_path = out.join("report.html");
    std::fs::write(&report_path, html).with_context(|| format!("writing {}", report_path.display()))?;
    let verify = case.verify();
    let counts = case.store().counts()?;

    if json {
        crate::output::print_json(&serde_json::json!({
            "case": case_dir.display().to_string(),
            "report": report_path.display().to_string(),
            "evidence_records": imported.added,
            "pages": counts.pages,
            "listings": counts.listings,
            "vendors": counts.vendors,
            "feedback": counts.feedback,
            "identifiers": counts.identifiers,
            "verify_intact": verify.is_intact(),
            "links": links.len(),
            "hard_links": hard,
        }));
    } else {
        println!("dragnet demo (seed {seed})");
        println!("  synthetic pages  {}", out.join("pages").display());
        println!("  case             {}", case_dir.display());
        println!("  imported         {} evidence records ({} problems)", imported.added, imported.problems.len());
        print!("{}", crate::output::extract_summary(&extracted).replace("extracted", "  extracted"));
        println!("  verify           {}", if verify.is_intact() { "intact" } else { "DAMAGED" });
        println!("  sales            by vendor and month in the report; try: dragnet --case {} sales --by month", case_dir.display());
        println!("  links            {} ({hard} hard: a shared PGP key), in the report; try: dragnet --case {} links", links.len(), case_dir.display());
        println!("  report           {}", report_path.display());
        println!("try: dragnet --case {} vendors", case_dir.display());
    }
    Ok(())
}
