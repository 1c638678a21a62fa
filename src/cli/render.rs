//! `mixstage render`: a scene onto a speaker layout.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use mixstage::binaural::Hrtf;
use mixstage::io::SampleFormat;
use mixstage::render::{
    binaural_virtual_layout, render_binaural_to_file, render_to_files, RenderOptions,
};
use mixstage::timecode::Clock;
use mixstage::Layout;
use serde_json::json;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  mixstage render scenes/demo.ron --layout 7.1.4 -o demo.wav\n  \
mixstage render scenes/demo.ron --layout 5.1 -o demo51.wav --format s24 --stems\n  \
mixstage render scenes/demo.ron --layout stereo -o me.wav --without dialogue   # an M&E mix\n  \
mixstage render scenes/speaker-walk.ron --layout 7.1.4 -o walk.wav --start 2 --end 6\n  \
mixstage render scenes/demo.ron --binaural -o phones.wav   # headphones\n  \
mixstage render master.wav --layout 7.1.4 -o pm714.wav --stems   # an ADM BWF master\n  \
mixstage render master.wav --layout 5.1 -o me51.wav --without dialogue --programme APR_1002\n\n\
The output has the layout's channels in the layout's order (see `mixstage layout show NAME`).\n\
Exit codes: 0 ok, 1 error (nothing is written under the output name), 2 usage error."
)]
pub struct RenderArgs {
    /// The scene: a RON scene file (see the README), or an ADM BWF master (a WAV/BW64/RF64
    /// file with chna and axml chunks, e.g. from Pro Tools / Dolby Atmos Renderer, Nuendo or
    /// the EAR Production Suite), rendered as ITU-R BS.2127 specifies.
    scene: PathBuf,
    /// Output layout: a built-in name or alias (7.1.4, 4+7+0, 5.1, stereo, ...) or a RON file.
    #[arg(long, short, required_unless_present = "binaural")]
    layout: Option<String>,
    /// Render for headphones instead (a two-channel WAV): point objects from their own
    /// directions through interpolated HRTFs, beds and the rest through 55 virtual
    /// loudspeakers; see --mode and the README's binaural section.
    #[arg(long, conflicts_with_all = ["layout", "stems"])]
    binaural: bool,
    /// With --binaural: a SOFA file (SimpleFreeFieldHRIR) instead of the built-in MIT KEMAR set.
    #[arg(long, value_name = "FILE.sofa", requires = "binaural")]
    hrtf: Option<PathBuf>,
    /// With --binaural: the headphone mode of objects and beds that set none (off, near, mid,
    /// far; see the README's listening guide).
    #[arg(long, default_value = "mid", value_parser = super::binaural::parse_mode, requires = "binaural")]
    mode: mixstage::binaural::room::Mode,
    /// With --binaural: the listener's head orientation.
    #[command(flatten)]
    head: super::binaural::HeadArgs,
    /// Output WAV file (written to a temporary file and renamed when complete).
    #[arg(long, short)]
    output: PathBuf,
    /// Sample format of the output.
    #[arg(long, value_enum, default_value_t = SampleFormat::F32)]
    format: SampleFormat,
    /// Start: seconds from the programme's start (2.5), or a timecode on the programme's
    /// clock (01:00:10:00 is 10 s into a programme starting at 01:00:00:00; see --start-tc).
    #[arg(long, value_name = "SECONDS|TIMECODE", default_value = "0")]
    start: String,
    /// End, as --start (default: the end of the scene).
    #[arg(long, value_name = "SECONDS|TIMECODE")]
    end: Option<String>,
    /// The programme's start timecode (default: an ADM master's bext TimeReference, else
    /// 00:00:00:00). Written, plus --start, as the output's bext TimeReference.
    #[arg(long, value_name = "HH:MM:SS:FF")]
    start_tc: Option<String>,
    /// Frame rate of the timecodes: 23.976, 24, 25, 29.97, 29.97df, 30, 47.952, 48, 50,
    /// 59.94, 59.94df, 60 (23.976 and 29.97 run 1000/1001 slow; df = drop-frame numbering).
    #[arg(long, value_name = "RATE", default_value = "25")]
    fps: String,
    /// Also write one file per group (stem) beside the mix: OUT.<group>.wav.
    #[arg(long)]
    stems: bool,
    /// Render only these groups (comma separated), e.g. --only dialogue,music.
    #[arg(long, value_delimiter = ',', conflicts_with = "without")]
    only: Vec<String>,
    /// Render everything except these groups, e.g. --without dialogue for an M&E.
    #[arg(long, value_delimiter = ',')]
    without: Vec<String>,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    adm: super::adm::AdmArgs,
}

pub fn run(a: RenderArgs) -> Result<i32> {
    let layout = a.adm.with_screen(match &a.layout {
        Some(l) => Layout::resolve(l)?,
        None => binaural_virtual_layout(),
    })?;
    let (scene, master) = super::adm::open(&a.scene, &a.adm, a.quiet || a.json)?;
    let groups = super::adm::group_filter(&a.only, &a.without, &scene);
    let clock = Clock::for_programme(
        a.start_tc.as_deref(),
        Some(&a.fps),
        master.as_ref().and_then(|m| m.time_reference()),
        scene.sample_rate,
    )?;
    let opts = RenderOptions {
        start: clock.position(&a.start, "--start")?,
        end: a
            .end
            .as_deref()
            .map(|e| clock.position(e, "--end"))
            .transpose()?,
        groups,
        time_reference: clock.time_reference(scene.sample_rate),
        head: a.head.angles()?,
        binaural_mode: a.mode,
        ..Default::default()
    };
    if !a.binaural && opts.head != [0.0; 3] {
        anyhow::bail!("--yaw, --pitch and --roll turn the listener's head: they need --binaural");
    }
    let started = Instant::now();
    let pb = super::progress(0, a.quiet, "rendering");
    let tick = |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    };
    let summary = if a.binaural {
        let hrtf = Hrtf::load(a.hrtf.as_deref(), scene.sample_rate)?;
        render_binaural_to_file(&scene, &opts, &hrtf, &a.output, a.format, tick)?
    } else {
        render_to_files(&scene, &layout, &opts, &a.output, a.format, a.stems, tick)?
    };
    pb.finish_and_clear();
    let secs = summary.frames as f64 / summary.sample_rate as f64;
    let wall = started.elapsed().as_secs_f64();
    let rtf = secs / wall.max(1e-9);
    // Silent channels have no level: null in JSON, "silent" in the summary.
    let peak_db: Vec<Option<f64>> = summary
        .peak
        .iter()
        .map(|p| (*p > 0.0).then(|| 20.0 * (*p as f64).log10()))
        .collect();
    let clipped: u64 = summary.clipped.iter().sum();
    if a.json {
        println!(
            "{}",
            json!({"files": summary.files, "layout": if a.binaural { "binaural" } else { layout.name.as_str() }, "channels": summary.channels, "sample_rate": summary.sample_rate,
                   "duration_s": secs, "wall_s": wall, "realtime_factor": rtf,
                   "peak_dbfs": peak_db, "clipped_samples": summary.clipped})
        );
    } else if !a.quiet {
        eprintln!(
            "rendered {:.3} s of '{}' to {} ({} channels, {} Hz) in {:.2} s: {:.1}x realtime",
            secs,
            a.scene.display(),
            if a.binaural {
                "headphones (binaural)"
            } else {
                layout.name.as_str()
            },
            summary.channels.len(),
            summary.sample_rate,
            wall,
            rtf
        );
        for f in &summary.files {
            eprintln!("  wrote {}", f.display());
        }
        let peaks: Vec<String> = summary
            .channels
            .iter()
            .zip(&peak_db)
            .map(|(l, p)| match p {
                Some(p) => format!("{l} {p:.1}"),
                None => format!("{l} silent"),
            })
            .collect();
        eprintln!("  peak dBFS: {}", peaks.join(", "));
    }
    if clipped > 0 {
        eprintln!(
            "warning: {clipped} samples clipped in the {:?} output (peak above full scale); lower the master gain or write f32",
            a.format
        );
    }
    Ok(0)
}
