//! `mixstage qc`: measure a mix on several playback systems and check a delivery spec.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use mixstage::convert::layout_for_channel_mask;
use mixstage::io::{open_audio, AudioInfo, AudioSource};
use mixstage::qc::spec::Spec;
use mixstage::qc::system::{default_system_names, systems_by_name, System};
use mixstage::qc::{plot, Analyzer, QcOptions};
use mixstage::render::{RenderOptions, Renderer, BLOCK};
use mixstage::scene::Scene;
use mixstage::Layout;

/// Exit code when a spec check fails.
pub const EXIT_CHECK_FAILED: i32 = 3;

#[derive(Args, Debug)]
#[command(
    after_long_help = "Systems: the mix's own layout, fold-downs (any layout name: 5.1, stereo = ITU-R BS.775 Lo/Ro \
where the convert module has ITU coefficients, VBAP otherwise) and mono = (Lo + Ro) / 2 measured as dual mono on a \
stereo pair; binaural = the mix on headphones (virtual loudspeakers, built-in KEMAR set or --hrtf). Default: own, 5.1 (from layouts with more than five main channels), stereo, mono, binaural.\n\n\
Built-in specs: ebu-r128 (-23 LUFS +-0.5, -1 dBTP), atsc-a85 (-24 LKFS +-2, -2 dBTP), streaming (-27 LKFS \
dialogue-gated +-2, -2 dBTP; dialogue gate = centre-channel activity). Or a RON file of your own (see specs/).\n\n\
Exit codes: 0 measured (and every check passed), 1 error, 3 a check failed.\n\n\
Examples:\n  mixstage qc mix.wav --layout 7.1.4 --spec ebu-r128\n  \
mixstage qc mix.wav --layout 5.1 --systems own,stereo,mono --json\n  \
mixstage qc mix.wav --layout 7.1.4 --spec my-spec.ron --plots qc-plots/\n  \
mixstage qc scenes/demo.ron --layout 7.1.4 --spec ebu-r128"
)]
pub struct QcArgs {
    /// The mix to measure (WAV, or any format the decoder reads), or a scene (.ron) to render
    /// onto --layout and measure on the fly (streaming; nothing is written).
    #[arg(value_name = "INPUT")]
    input: PathBuf,
    /// The mix's layout: a built-in name or alias, or a RON layout file. Optional when the
    /// WAV's channel mask names a layout, for two-channel files (stereo) and for one-channel
    /// files (measured as a single channel, BS.1770 weight 1).
    #[arg(long, value_name = "NAME|PATH")]
    layout: Option<String>,
    /// Comma-separated systems to measure: own, mono, binaural (or headphones), or layout names,
    /// aliases or RON layout files (e.g. own,5.1,stereo,mono,binaural).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    systems: Option<Vec<String>>,
    /// A delivery spec to check: ebu-r128, atsc-a85, streaming, or a RON spec file.
    #[arg(long, value_name = "NAME|PATH")]
    spec: Option<String>,
    /// Print the report as JSON: {"systems": [{"system", "integrated_lufs", "loudness_range_lu",
    /// "true_peak_dbtp", "sample_peak_dbfs", "channels": [...], "checks": [...], ...}], ...}.
    /// Levels of silence (minus infinity) are null.
    #[arg(long)]
    json: bool,
    /// Write SVG plots into this directory: loudness over time and channel levels per system.
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Report runs of digital silence inside the programme from this length on (seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    min_silence: f64,
    /// SOFA file (SimpleFreeFieldHRIR) for the binaural (headphone) system; default: the
    /// built-in MIT KEMAR set.
    #[arg(long, value_name = "FILE.sofa")]
    hrtf: Option<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// The mix's layout from the argument, the channel mask, or the channel count.
fn mix_layout(a: &QcArgs, channels: usize, mask: Option<u32>) -> Result<Layout> {
    let layout = match (&a.layout, mask.and_then(layout_for_channel_mask)) {
        (Some(name), _) => Layout::resolve(name)?,
        (None, Some(l)) => l,
        (None, None) if channels == 2 => Layout::resolve("stereo")?,
        (None, None) => bail!(
            "{}: {channels} channels and no channel mask naming a layout; pass --layout NAME (e.g. 5.1, 7.1.4)",
            a.input.display()
        ),
    };
    if layout.channels() != channels {
        bail!(
            "{}: the file has {channels} channel(s) but layout '{}' has {} ({})",
            a.input.display(),
            layout.name,
            layout.channels(),
            layout.labels().join(" ")
        );
    }
    Ok(layout)
}

/// A scene rendered on the fly, block by block, as an audio stream.
struct SceneStream {
    renderer: Renderer,
    info: AudioInfo,
}

impl AudioSource for SceneStream {
    fn info(&self) -> &AudioInfo {
        &self.info
    }

    fn read(&mut self, buf: &mut [f32]) -> mixstage::Result<usize> {
        let ch = self.info.channels;
        // The renderer's blocks are BLOCK frames; callers pass at least that much room.
        assert!(
            buf.len() >= BLOCK * ch,
            "scene stream needs room for a whole block"
        );
        let n = self.renderer.next_block()?;
        for (c, chan) in self.renderer.mix().iter().enumerate() {
            for (f, &x) in chan[..n].iter().enumerate() {
                buf[f * ch + c] = x;
            }
        }
        Ok(n)
    }
}

/// Opens the input: a mix file, or a scene (`.ron`) rendered on the fly onto `--layout`.
fn open_input(a: &QcArgs) -> Result<Box<dyn AudioSource>> {
    let is_scene = a
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ron"));
    if !is_scene {
        return Ok(open_audio(&a.input)?);
    }
    let Some(name) = &a.layout else {
        bail!(
            "{}: a scene is rendered before it is measured; pass --layout NAME (e.g. 7.1.4)",
            a.input.display()
        );
    };
    let scene = Scene::load(&a.input)?;
    let layout = Layout::resolve(name)?;
    let renderer = Renderer::new(&scene, &layout, &RenderOptions::default())?;
    let info = AudioInfo {
        sample_rate: renderer.sample_rate(),
        channels: layout.channels(),
        frames: Some(renderer.remaining()),
        channel_mask: None,
        encoding: "scene rendered on the fly".into(),
    };
    Ok(Box::new(SceneStream { renderer, info }))
}

/// Runs `mixstage qc` and returns the exit code (0 measured and passed, 3 a check failed).
pub fn run(a: QcArgs) -> Result<i32> {
    if !a.min_silence.is_finite() || a.min_silence <= 0.0 {
        bail!(
            "--min-silence {}: expected a positive number of seconds",
            a.min_silence
        );
    }
    if let Some(dir) = &a.plots {
        plot::check_plot_dir(dir)?;
    }
    let spec = a.spec.as_deref().map(Spec::resolve).transpose()?;
    let headphones =
        |n: &String| n.eq_ignore_ascii_case("binaural") || n.eq_ignore_ascii_case("headphones");
    if a.hrtf.is_some()
        && a.systems
            .as_ref()
            .is_some_and(|names| !names.iter().any(headphones))
    {
        bail!("--hrtf applies to the binaural system; add binaural to --systems (or leave --systems out)");
    }
    let mut src = open_input(&a)?;
    let info = src.info().clone();
    let (layout_name, systems) = if info.channels == 1 && a.layout.is_none() {
        // A mono file or stem: measured as it is (no fold-downs exist for one channel).
        let other = |n: &String| !n.eq_ignore_ascii_case("own") && !n.eq_ignore_ascii_case("mono");
        if let Some(names) = a.systems.as_ref().filter(|n| n.iter().any(other)) {
            bail!(
                "{}: a one-channel file is measured on its own only; --systems {} cannot apply",
                a.input.display(),
                names.join(",")
            );
        }
        ("mono".to_string(), vec![System::own_mono()])
    } else {
        let layout = mix_layout(&a, info.channels, info.channel_mask)?;
        let names = a
            .systems
            .clone()
            .unwrap_or_else(|| default_system_names(&layout));
        (
            layout.name.clone(),
            systems_by_name(&layout, &names, info.sample_rate, a.hrtf.as_deref())?,
        )
    };
    let options = QcOptions {
        min_silence_s: a.min_silence,
        ..QcOptions::default()
    };
    let mut analyzer = Analyzer::new(info.sample_rate, info.channels, systems, options)
        .with_context(|| format!("{}", a.input.display()))?;
    let pb = super::progress(info.frames.unwrap_or(0), a.quiet, "measuring");
    let mut buf = vec![0f32; BLOCK.max(8192) * info.channels];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        analyzer
            .push(&buf[..n * info.channels])
            .with_context(|| format!("{}", a.input.display()))?;
        pb.inc(n as u64);
    }
    pb.finish_and_clear();
    if analyzer.frames() == 0 {
        bail!("{}: the file holds no audio (0 frames)", a.input.display());
    }
    let mut report = analyzer.finish();
    report.input = Some(a.input.display().to_string());
    report.layout = layout_name;
    if let Some(spec) = &spec {
        report.check(spec);
    }
    if let Some(dir) = &a.plots {
        let files = plot::write_plots(&report, dir)?;
        if !a.quiet && !a.json {
            eprintln!("wrote {} plots into {}", files.len(), dir.display());
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(if report.passed { 0 } else { EXIT_CHECK_FAILED })
}
