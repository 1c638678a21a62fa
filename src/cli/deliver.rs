//! `mixstage deliver`: every deliverable of a sheet from one master.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use mixstage::deliver::{deliver, sheet::Sheet, DeliverOptions};

#[derive(Args, Debug)]
#[command(after_long_help = "A sheet is a RON file:\n\n\
Deliver(\n    master: \"scenes/demo.ron\",   // a RON scene or an ADM BWF master\n    out_dir: \"deliverables\",\n    spec: \"ebu-r128\",\n    outputs: [\n        (name: \"pm-714\", layout: \"7.1.4\", format: S24),\n        (name: \"pm-51\", layout: \"5.1\", normalize: true),\n        (name: \"phones\", binaural: true),\n        (name: \"me-51\", layout: \"5.1\", without: [\"dialogue\"]),\n        (name: \"stems-714\", layout: \"7.1.4\", stems: true),\n        (name: \"pm-51-mm\", layout: \"5.1\", split: true, order: [\"L\", \"C\", \"R\", \"Ls\", \"Rs\", \"LFE\"]),\n        (name: \"adm\", adm: true),\n    ],\n)\n\n\
Output fields: name, layout | binaural | adm, format (S16, S24, F32; default S24), only, without, stems, spec, normalize, \
start, end (seconds or timecode), split, order, rate, profile (adm). Sheet fields: master, out_dir, spec, start_tc, fps, hrtf.\n\n\
Writes OUT_DIR/NAME.wav (stems NAME.GROUP.wav, split NAME.LABEL.wav), OUT_DIR/manifest.json and OUT_DIR/report.html. \
A second run with nothing changed rewrites nothing; --force redoes.\n\n\
Exit codes: 0 every deliverable passed, 1 error, 2 usage error, 3 a QC check failed.\n\n\
Examples:\n  mixstage deliver scenes/deliver.ron\n  mixstage deliver scenes/deliver.ron --only pm-51,phones --force\n  \
mixstage deliver scenes/deliver.ron --only \"$NAME\" --jobs 1   # one deliverable per render-farm task")]
pub struct DeliverArgs {
    /// The deliverables sheet (RON).
    sheet: PathBuf,
    /// Only these outputs (comma separated names from the sheet).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Redo outputs even when nothing has changed.
    #[arg(long)]
    force: bool,
    /// Outputs rendered at once (default: the number of cores).
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
    /// No progress bars and no summary.
    #[arg(long, short)]
    quiet: bool,
    /// Print the outcome as JSON: {"passed", "manifest", "report", "deliverables": [{"name", "passed", "cached", "files"}]}.
    #[arg(long)]
    json: bool,
}

pub fn run(a: DeliverArgs) -> Result<i32> {
    if a.jobs == Some(0) {
        anyhow::bail!("--jobs 0: expected at least 1 (leave --jobs out for one per core)");
    }
    let sheet = Sheet::load(&a.sheet)?;
    let started = Instant::now();
    let multi = indicatif::MultiProgress::new();
    let bars: Mutex<Vec<(String, indicatif::ProgressBar)>> = Mutex::new(Vec::new());
    let quiet = a.quiet || a.json;
    let progress = |name: &str, done: u64, total: u64| {
        let mut b = bars.lock().expect("bars");
        let pb = match b.iter().find(|(n, _)| n == name) {
            Some((_, pb)) => pb.clone(),
            None => {
                let pb = multi.add(super::progress(total, quiet, name));
                b.push((name.to_string(), pb.clone()));
                pb
            }
        };
        pb.set_length(total);
        pb.set_position(done);
    };
    let outcome = deliver(
        &sheet,
        &DeliverOptions {
            only: a.only.clone(),
            force: a.force,
            jobs: a.jobs.unwrap_or(0),
        },
        &progress,
    )?;
    for (_, pb) in bars.lock().expect("bars").iter() {
        pb.finish_and_clear();
    }
    let wall = started.elapsed().as_secs_f64();
    if a.json {
        let d: Vec<_> = outcome
            .delivered
            .iter()
            .map(|d| serde_json::json!({"name": d.name, "passed": d.passed, "cached": d.cached, "files": d.files}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "passed": outcome.passed(), "manifest": outcome.manifest, "report": outcome.report,
                "wall_s": wall, "deliverables": d,
            }))?
        );
    } else if !a.quiet {
        for d in &outcome.delivered {
            eprintln!(
                "{:<6} {:<20} {}{}",
                if d.passed { "pass" } else { "FAIL" },
                d.name,
                d.files.join(", "),
                if d.cached { " (unchanged)" } else { "" }
            );
        }
        let seconds: f64 = outcome.delivered.iter().map(|d| d.seconds).sum();
        eprintln!(
            "{} deliverable(s) in {wall:.2} s ({seconds:.1} s of audio rendered); wrote {} and {}",
            outcome.delivered.len(),
            outcome.manifest.display(),
            outcome.report.display()
        );
    }
    Ok(if outcome.passed() {
        0
    } else {
        super::qc::EXIT_CHECK_FAILED
    })
}
