//! Command-line front end: clap definitions and thin wrappers around the library.
//!
//! Exit codes: 0 success; 1 an error (bad input, I/O); 2 a usage error (from clap);
//! 3 a quality-control check failed (`mixstage qc`, `mixstage deliver`).

pub mod adm;
pub mod binaural;
pub mod convert;
pub mod deliver;
pub mod layouts;
pub mod plot;
pub mod qc;
pub mod render;

use clap::{Parser, Subcommand};

/// Exit code for errors.
pub const EXIT_ERROR: i32 = 1;

/// Exit code for a usage error (as clap gives for a bad argument).
pub const EXIT_USAGE: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "mixstage",
    version,
    about = "Render object-based immersive mixes onto speaker layouts, convert and check them",
    long_about = "mixstage renders scenes of moving audio objects and channel beds onto speaker layouts \
(stereo to 22.2) with VBAP, converts mixes between layouts, renders binaural checks and measures loudness.\n\n\
Coordinates everywhere follow ITU-R BS.2051 / ADM: azimuth in degrees, 0 straight ahead, POSITIVE TO THE LEFT; \
elevation in degrees, positive up.",
    after_help = "Examples:\n  mixstage layouts\n  mixstage layout show 7.1.4\n  mixstage gains --layout 5.1 --az 15 --el 0\n"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the built-in speaker layouts, their aliases and channel counts.
    Layouts(layouts::LayoutsArgs),
    /// Inspect a layout.
    #[command(subcommand)]
    Layout(layouts::LayoutCommand),
    /// Print the gains the renderer gives every channel for a direction (VBAP; BS.2127 0+2+0 on stereo).
    Gains(layouts::GainsArgs),
    /// Render a scene (objects and beds) onto a speaker layout as a WAV file.
    Render(render::RenderArgs),
    /// Draw a scene's object trajectories and the layout's speakers (SVG or PNG).
    Plot(plot::PlotArgs),
    /// Render a speaker mix to two-channel headphone audio (binaural, virtual loudspeakers).
    Binaural(binaural::BinauralArgs),
    /// Convert a channel-based mix to another speaker layout (VBAP or ITU fold-down matrix).
    Convert(convert::ConvertArgs),
    /// Measure a mix (loudness, true peak, levels, fold-downs) and check a delivery spec.
    Qc(qc::QcArgs),
    /// Render every deliverable of a sheet (printmasters, stems, M&E, headphones, ADM), check
    /// each against its spec, and write manifest.json and an HTML QC report.
    Deliver(deliver::DeliverArgs),
    /// ADM BWF masters (BS.2076 metadata in BW64 files): `adm info`, `adm xml`, `adm export`, `adm validate`.
    #[command(subcommand)]
    Adm(adm::AdmCommand),
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Layouts(a) => layouts::list(a),
        Command::Layout(c) => layouts::layout(c),
        Command::Gains(a) => layouts::gains(a),
        Command::Render(a) => render::run(a),
        Command::Plot(a) => plot::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Qc(a) => qc::run(a),
        Command::Binaural(a) => binaural::run(a),
        Command::Adm(c) => adm::run(c),
        Command::Deliver(a) => deliver::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_ERROR
        }
    }
}

/// A progress bar over `total` units, hidden when stderr is not a terminal or `quiet` is set.
#[allow(dead_code)]
pub fn progress(total: u64, quiet: bool, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// `--screen`: a reproduction screen as RON text (`Polar(...)` / `Cartesian(...)`) or the path
/// of a RON file holding one.
pub fn parse_screen(s: &str) -> anyhow::Result<mixstage::panner::screen::Screen> {
    use anyhow::Context;
    let t = s.trim();
    let (text, what) = if t.starts_with("Polar") || t.starts_with("Cartesian") {
        (t.to_string(), "--screen".to_string())
    } else {
        (
            std::fs::read_to_string(t).with_context(|| {
                format!(
                    "--screen {t}: not RON text (Polar(...) or Cartesian(...)) and no such file"
                )
            })?,
            format!("--screen file {t}"),
        )
    };
    let screen: mixstage::panner::screen::Screen = ron::from_str(&text).with_context(|| {
        format!(
            "{what}: expected Polar(aspect_ratio: A, azimuth: AZ, elevation: EL, distance: D, width_azimuth: W) \
             or Cartesian(aspect_ratio: A, x: X, y: Y, z: Z, width_x: W)"
        )
    })?;
    mixstage::panner::screen::Edges::of(&screen).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    Ok(screen)
}
