//! `mixstage qc`: measure a mix on several playback systems and check a delivery spec.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use mixstage::adm::AdmMaster;
use mixstage::convert::layout_for_channel_mask;
use mixstage::io::{open_audio, AudioInfo, AudioSource};
use mixstage::qc::loudness::LoudnessMeter;
use mixstage::qc::spec::Spec;
use mixstage::qc::system::{default_system_names, systems_by_name_in_mode, System};
use mixstage::qc::{plot, Analyzer, QcOptions};
use mixstage::render::{RenderOptions, Renderer, BLOCK};
use mixstage::Layout;
use std::sync::{Arc, Mutex};

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
mixstage qc scenes/demo.ron --layout 7.1.4 --spec ebu-r128\n  \
mixstage qc mix.wav --layout 5.1 --spec ebu-r128 --report qc.html   # a report a client can open"
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
    /// Write the report as one self-contained HTML page (inline CSS and SVG, no scripts; prints
    /// to a clean PDF from a browser), as `mixstage deliver` writes for a whole job.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Report runs of digital silence inside the programme from this length on (seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    min_silence: f64,
    /// SOFA file (SimpleFreeFieldHRIR) for the binaural (headphone) system; default: the
    /// built-in MIT KEMAR set.
    #[arg(long, value_name = "FILE.sofa")]
    hrtf: Option<PathBuf>,
    /// Headphone mode of the binaural system: off, near, mid (default, as `mixstage binaural`)
    /// or far.
    #[arg(long, default_value = "mid", value_parser = super::binaural::parse_mode)]
    mode: mixstage::binaural::room::Mode,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    adm: super::adm::AdmArgs,
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
    /// For an ADM master with dialogue contents: the stems that are dialogue and a meter
    /// fed with the mix (first half of its channels) and the dialogue stems (second half,
    /// which gate it).
    dialogue: Option<(Vec<usize>, Arc<Mutex<LoudnessMeter>>)>,
    scratch: Vec<f32>,
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
        if let Some((stems, meter)) = &self.dialogue {
            // Interleaved: the mix's channels, then the dialogue stems' sum.
            self.scratch.clear();
            self.scratch.resize(n * 2 * ch, 0.0);
            for f in 0..n {
                self.scratch[f * 2 * ch..f * 2 * ch + ch]
                    .copy_from_slice(&buf[f * ch..(f + 1) * ch]);
            }
            for &g in stems {
                for (c, chan) in self.renderer.stem(g).iter().enumerate() {
                    for (f, &x) in chan[..n].iter().enumerate() {
                        self.scratch[f * 2 * ch + ch + c] += x;
                    }
                }
            }
            meter.lock().expect("meter").push(&self.scratch);
        }
        Ok(n)
    }
}

/// True if `path` is an ADM BWF master (a WAV with a `chna` chunk).
fn is_adm_master(path: &std::path::Path) -> bool {
    mixstage::adm::is_wav(path) && mixstage::adm::bw64::scan(path).is_ok_and(|c| c.chna.is_some())
}

/// What the input was, beyond its audio.
#[derive(Default)]
struct Opened {
    master: Option<AdmMaster>,
    dialogue_meter: Option<Arc<Mutex<LoudnessMeter>>>,
    dialogue_groups: Vec<String>,
}

/// Opens the input: a mix file, or a scene (`.ron`) or an ADM master rendered on the fly
/// onto `--layout`.
fn open_input(a: &QcArgs) -> Result<(Box<dyn AudioSource>, Opened)> {
    let is_scene = a
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ron"));
    let is_master = !is_scene && is_adm_master(&a.input);
    if !is_scene && !is_master {
        let adm_flags = a.adm.programme.is_some()
            || !a.adm.comp_object.is_empty()
            || a.adm.strict
            || a.adm.skip_unsupported;
        if adm_flags {
            bail!("{}: --programme, --comp-object, --strict and --skip-unsupported apply to ADM masters and scenes", a.input.display());
        }
        return Ok((open_audio(&a.input)?, Opened::default()));
    }
    let Some(name) = &a.layout else {
        bail!(
            "{}: {} is rendered before it is measured; pass --layout NAME (e.g. 7.1.4)",
            a.input.display(),
            if is_master {
                "an ADM master"
            } else {
                "a scene"
            }
        );
    };
    let (scene, master) = super::adm::open(&a.input, &a.adm, a.quiet || a.json)?;
    let layout = a.adm.with_screen(Layout::resolve(name)?)?;
    let renderer = Renderer::new(&scene, &layout, &RenderOptions::default())?;
    let info = AudioInfo {
        sample_rate: renderer.sample_rate(),
        channels: layout.channels(),
        frames: Some(renderer.remaining()),
        channel_mask: None,
        encoding: if is_master {
            "ADM master rendered on the fly (BS.2127)"
        } else {
            "scene rendered on the fly"
        }
        .into(),
    };
    let mut opened = Opened {
        master,
        ..Default::default()
    };
    let stems: Vec<usize> = renderer
        .groups()
        .iter()
        .enumerate()
        .filter(|(_, g)| scene.dialogue_groups.contains(g))
        .map(|(i, _)| i)
        .collect();
    let dialogue = if stems.is_empty() {
        None
    } else {
        let w: Vec<f64> = layout
            .speakers
            .iter()
            .map(mixstage::qc::system::bs1770_weight)
            .collect();
        let n = w.len();
        let weights: Vec<f64> = w
            .iter()
            .copied()
            .chain(std::iter::repeat_n(0.0, n))
            .collect();
        let gate: Vec<f64> = std::iter::repeat_n(0.0, n)
            .chain(w.iter().copied())
            .collect();
        let meter = Arc::new(Mutex::new(LoudnessMeter::new(
            info.sample_rate,
            weights,
            Some(gate),
        )));
        opened.dialogue_meter = Some(meter.clone());
        opened.dialogue_groups = scene.dialogue_groups.clone();
        Some((stems, meter))
    };
    Ok((
        Box::new(SceneStream {
            renderer,
            info,
            dialogue,
            scratch: Vec::new(),
        }),
        opened,
    ))
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
    if let Some(r) = &a.report {
        mixstage::io::check_output_path(r)?;
        if matches!((r.canonicalize(), a.input.canonicalize()), (Ok(x), Ok(y)) if x == y) {
            bail!("--report {}: is the input", r.display());
        }
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
    let (mut src, opened) = open_input(&a)?;
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
            systems_by_name_in_mode(&layout, &names, info.sample_rate, a.hrtf.as_deref(), a.mode)?,
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
    let analyzer_frames = analyzer.frames();
    let mut report = analyzer.finish();
    report.input = Some(a.input.display().to_string());
    report.layout = layout_name;
    // An ADM master gates dialogue on the audioContents marked as dialogue, not on the
    // centre channel: the mix's own system gets that measurement.
    let adm_dialogue = opened.dialogue_meter.as_ref().map(|m| {
        let meter = std::mem::replace(
            &mut *m.lock().expect("meter"),
            LoudnessMeter::new(info.sample_rate, vec![1.0], None),
        );
        meter.finish().dialogue_gated
    });
    if opened.master.is_some() {
        if let Some(own) = report.systems.first_mut() {
            own.dialogue_gated_lufs = adm_dialogue.flatten();
            if adm_dialogue.is_some() {
                own.dialogue_gate = "dialogue contents";
            }
        }
    }
    if let Some(spec) = &spec {
        report.check(spec);
    }
    if let Some(dir) = &a.plots {
        let files = plot::write_plots(&report, dir)?;
        if !a.quiet && !a.json {
            eprintln!("wrote {} plots into {}", files.len(), dir.display());
        }
    }
    if let Some(path) = &a.report {
        let sha = if a.input.is_file() {
            mixstage::deliver::sha256_file(&a.input)?
        } else {
            String::new()
        };
        let html =
            mixstage::qc::html::single_report(&report, &sha, &info.encoding, analyzer_frames)?;
        mixstage::io::check_output_path(path)?;
        mixstage::io::write_file_atomic(path, html.as_bytes())?;
        if !a.quiet && !a.json {
            eprintln!("wrote {}", path.display());
        }
    }
    let adm_json = opened
        .master
        .as_ref()
        .map(|m| adm_summary(m, &opened.dialogue_groups));
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        if let (Some(obj), Some(adm)) = (v.as_object_mut(), adm_json) {
            obj.insert("adm".into(), adm);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", report.to_table());
        if let Some(m) = &opened.master {
            print!("{}", adm_table(m, &opened.dialogue_groups, &report));
        }
    }
    Ok(if report.passed { 0 } else { EXIT_CHECK_FAILED })
}

/// The ADM facts a QC report gives beside its own measurement: the programme, the
/// dialogue gate and the axml's loudnessMetadata.
fn adm_summary(m: &AdmMaster, dialogue: &[String]) -> serde_json::Value {
    let loud = |l: &mixstage::adm::model::Loudness| {
        serde_json::json!({"method": l.method, "integrated_lufs": l.integrated, "loudness_range_lu": l.range,
               "max_true_peak_dbtp": l.max_true_peak, "dialogue_lufs": l.dialogue})
    };
    let programme = m.programme.as_deref().and_then(|p| m.adm.programme(p));
    serde_json::json!({
        "programme": m.programme,
        "dialogue_gate": if dialogue.is_empty() { "none: no audioContent is marked as dialogue" } else { "audioContents marked as dialogue" },
        "dialogue_stems": dialogue,
        "loudness_metadata": programme.map(|p| p.loudness.iter().map(loud).collect::<Vec<_>>()).unwrap_or_default(),
        "content_loudness_metadata": m.adm.contents.iter().filter(|c| !c.loudness.is_empty())
            .map(|c| serde_json::json!({"content": c.id, "loudness": c.loudness.iter().map(loud).collect::<Vec<_>>()})).collect::<Vec<_>>(),
    })
}

fn adm_table(m: &AdmMaster, dialogue: &[String], report: &mixstage::qc::report::Report) -> String {
    let mut t = String::new();
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
    t.push_str(&format!(
        "\nADM master: programme {}; dialogue gate: {}\n",
        m.programme.as_deref().unwrap_or("(none)"),
        if dialogue.is_empty() {
            "no audioContent is marked as dialogue".to_string()
        } else {
            format!("the dialogue contents ({})", dialogue.join(", "))
        }
    ));
    let own = report.systems.first();
    if let Some(p) = m.programme.as_deref().and_then(|p| m.adm.programme(p)) {
        for l in &p.loudness {
            t.push_str(&format!(
                "  loudnessMetadata: integrated {} LUFS (measured {}), range {} LU (measured {}), true peak {} dBTP (measured {}), dialogue {} LUFS (measured {})\n",
                f(l.integrated), f(own.and_then(|o| o.integrated_lufs)),
                f(l.range), f(own.and_then(|o| o.loudness_range_lu)),
                f(l.max_true_peak), f(own.and_then(|o| o.true_peak_dbtp)),
                f(l.dialogue), f(own.and_then(|o| o.dialogue_gated_lufs)),
            ));
        }
        if p.loudness.is_empty() {
            t.push_str("  the programme carries no loudnessMetadata\n");
        }
    }
    t
}
