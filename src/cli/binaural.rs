//! `mixstage binaural`: a speaker mix to headphones through virtual loudspeakers.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use mixstage::binaural::room::Mode;
use mixstage::binaural::{BinauralOptions, BinauralRenderer, Hrtf, Lfe, LFE_GAIN_DB};
use mixstage::io::{open_audio, read_frames, SampleFormat, WavWriter};
use mixstage::Layout;

/// WAVE channel mask of the output: front left + front right.
const STEREO_MASK: u32 = 0x3;

#[derive(Args, Debug)]
#[command(
    after_help = "Every speaker feed plays through a virtual loudspeaker at its direction: the head-related \
impulse responses (HRIRs) interpolated there from the three measurements around it (onsets aligned), \
in --mode mid (default) or far with a room's reflections and reverberation, summed at the two ears. Without --hrtf the built-in \
MIT KEMAR set (Gardner & Martin, MIT Media Lab, 1994) is used.\n\n\
Examples:\n  mixstage binaural mix-714.wav --layout 7.1.4 -o phones.wav\n  \
mixstage binaural mix-51.wav --layout 5.1 -o phones.wav --hrtf /usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa\n  \
mixstage binaural mix-51.wav --layout 5.1 -o phones.wav --no-lfe\n  \
mixstage binaural mix-714.wav --layout 7.1.4 -o phones.wav --match-loudness"
)]
pub struct BinauralArgs {
    /// The speaker mix (WAV, FLAC, ...), channels in the layout's order.
    input: PathBuf,
    /// The mix's layout: a built-in name or alias (e.g. 7.1.4), or the path of a RON layout file.
    #[arg(long)]
    layout: String,
    /// The two-channel headphone file to write (WAV).
    #[arg(short, long)]
    output: PathBuf,
    /// A SOFA file (AES69, SimpleFreeFieldHRIR) with the HRIRs to use instead of the built-in set.
    #[arg(long, value_name = "FILE.sofa")]
    hrtf: Option<PathBuf>,
    /// Level of LFE channels relative to a main channel, in dB (sent to both ears like a
    /// speaker straight ahead).
    #[arg(long, value_name = "DB", default_value_t = LFE_GAIN_DB, allow_negative_numbers = true, conflicts_with = "no_lfe")]
    lfe_db: f64,
    /// Drop LFE channels.
    #[arg(long)]
    no_lfe: bool,
    /// Use the HRIRs as measured, without the diffuse-field equalisation (which removes what
    /// all directions share, e.g. the ear-canal resonance, so headphones do not add it twice).
    #[arg(long)]
    raw_hrtf: bool,
    /// Sample format of the output.
    #[arg(long, value_enum, default_value_t = SampleFormat::F32)]
    format: SampleFormat,
    /// Frames per processing block (also the convolution partition length).
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(16..=65536))]
    block: u32,
    /// Match the loudness of the speaker mix exactly: a first pass measures the mix and its
    /// binaural render (BS.1770 integrated loudness) and the output is scaled by the difference.
    /// Without it, the fixed calibration applies (equal loudness for uncorrelated signals).
    #[arg(long)]
    match_loudness: bool,
    /// Headphone mode: off (no HRTF: the speakers panned onto stereo), near (dry HRTFs, as
    /// sofalizer), mid (a small control room, sources at about 1.5 m) or far (a larger room).
    #[arg(long, default_value = "mid", value_parser = parse_mode)]
    mode: Mode,
    #[command(flatten)]
    head: HeadArgs,
    /// No progress bar and no per-speaker table.
    #[arg(short, long)]
    quiet: bool,
}

/// Parses a headphone mode (off, near, mid, far) for clap.
pub fn parse_mode(s: &str) -> std::result::Result<Mode, String> {
    s.parse::<Mode>().map_err(|e| e.to_string())
}

/// The listener's head orientation, shared by every headphone render.
#[derive(Args, Debug, Clone, Default)]
pub struct HeadArgs {
    /// Head turned by this many degrees, positive to the left (ADM convention): with --yaw 90
    /// a source straight ahead is heard on the right.
    #[arg(
        long,
        value_name = "DEG",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub yaw: f64,
    /// Head tilted up by this many degrees (after the yaw): with --pitch 30 a source straight
    /// ahead is heard 30 degrees below.
    #[arg(
        long,
        value_name = "DEG",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub pitch: f64,
    /// Head rolled towards the right shoulder by this many degrees (after yaw and pitch).
    #[arg(
        long,
        value_name = "DEG",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub roll: f64,
}

impl HeadArgs {
    /// `[yaw, pitch, roll]`, checked.
    pub fn angles(&self) -> Result<[f64; 3]> {
        for (name, v, lim) in [
            ("--yaw", self.yaw, 180.0),
            ("--pitch", self.pitch, 90.0),
            ("--roll", self.roll, 180.0),
        ] {
            if !v.is_finite() || v.abs() > lim {
                bail!("{name} {v}: expected degrees from -{lim} to {lim}");
            }
        }
        Ok([self.yaw, self.pitch, self.roll])
    }
}

pub fn run(a: BinauralArgs) -> Result<i32> {
    let layout = Layout::resolve(&a.layout)?;
    if same_file(&a.input, &a.output) {
        bail!(
            "{}: the output would overwrite the input mix",
            a.output.display()
        );
    }
    let mut src = open_audio(&a.input)?;
    let info = src.info().clone();
    let name = a.input.display().to_string();
    if info.channels != layout.channels() {
        bail!(
            "{name}: the file has {} channels but layout {} has {} ({})",
            info.channels,
            layout.name,
            layout.channels(),
            layout.labels().join(" ")
        );
    }
    if info.frames == Some(0) {
        bail!("{name}: the file holds no audio frames");
    }
    if !a.lfe_db.is_finite() || !(-120.0..=24.0).contains(&a.lfe_db) {
        bail!(
            "--lfe-db {}: expected a level between -120 and +24 dB (default +10)",
            a.lfe_db
        );
    }
    let hrtf = Hrtf::load(a.hrtf.as_deref(), info.sample_rate)?.with_diffuse_field_eq(!a.raw_hrtf);
    let options = BinauralOptions {
        lfe: if a.no_lfe {
            Lfe::Off
        } else {
            Lfe::GainDb(a.lfe_db)
        },
        head: a.head.angles()?,
        mode: a.mode,
        ..Default::default()
    };
    let block = a.block as usize;
    let mut renderer =
        BinauralRenderer::with_options(&layout, &hrtf, info.sample_rate, block, &options)?;
    if !a.quiet {
        print_table(&renderer, &hrtf, &layout, a.mode);
    }
    let gain = if a.match_loudness {
        let mut first = open_audio(&a.input)?;
        match mixstage::binaural::loudness_match_gain_db(first.as_mut(), &layout, &mut renderer)
            .with_context(|| format!("measuring {name}"))?
        {
            Some(db) => {
                if !a.quiet {
                    eprintln!("loudness match: {db:+.2} dB applied to the headphone render");
                }
                10f64.powf(db / 20.0) as f32
            }
            None => {
                eprintln!(
                    "note: {name} is silent (below the -70 LUFS gate); no loudness match applied"
                );
                1.0
            }
        }
    } else {
        1.0
    };
    let ch = info.channels;
    let mut writer = WavWriter::create(&a.output, info.sample_rate, 2, a.format, STEREO_MASK)?;
    let bar = super::progress(info.frames.unwrap_or(0), a.quiet, "binaural");
    let mut input = vec![0f32; block * ch];
    let mut output = vec![0f32; block * 2];
    let mut done: u64 = 0;
    loop {
        let frames =
            read_frames(src.as_mut(), &mut input).with_context(|| format!("reading {name}"))?;
        if frames == 0 {
            break;
        }
        let samples = &input[..frames * ch];
        if let Some(i) = samples.iter().position(|v| !v.is_finite()) {
            bail!(
                "{name}: non-finite sample (NaN or infinity) in channel {} ({}) at frame {}",
                i % ch + 1,
                layout.speakers[i % ch].label,
                done + (i / ch) as u64
            );
        }
        renderer.process_interleaved(samples, &mut output)?;
        if gain != 1.0 {
            output[..2 * frames].iter_mut().for_each(|v| *v *= gain);
        }
        writer.write(&output[..2 * frames])?;
        done += frames as u64;
        bar.set_position(done);
        if frames < block {
            break;
        }
    }
    bar.finish_and_clear();
    if done == 0 {
        bail!("{name}: the file holds no audio frames");
    }
    let stats = writer.finalize(info.sample_rate, STEREO_MASK)?;
    if !a.quiet {
        let peak = stats.peak.iter().fold(0f32, |p, v| p.max(*v));
        eprintln!(
            "wrote {}: {} frames, 2 channels at {} Hz, peak {:.1} dBFS",
            a.output.display(),
            stats.frames,
            info.sample_rate,
            20.0 * (peak as f64).max(1e-10).log10()
        );
    }
    let clipped: u64 = stats.clipped.iter().sum();
    if clipped > 0 {
        eprintln!(
            "warning: {clipped} samples clipped at full scale in {} (write --format f32 to keep them)",
            a.output.display()
        );
    }
    Ok(0)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn print_table(r: &BinauralRenderer, hrtf: &Hrtf, layout: &Layout, mode: Mode) {
    eprintln!(
        "binaural: layout {} in mode {mode} with {} ({} measurements interpolated, {}, {} taps at {} Hz); normalisation gain {:+.2} dB",
        layout.name,
        hrtf.origin(),
        hrtf.measurements().len(),
        if hrtf.diffuse_field_eq() { "diffuse-field equalised" } else { "raw" },
        hrtf.len(),
        hrtf.sample_rate(),
        20.0 * r.gain().log10()
    );
    eprintln!(
        "{:<8} {:>8} {:>8}   {:>8} {:>8} {:>7} {:>9}",
        "speaker", "az", "el", "near az", "near el", "off by", "gain dB"
    );
    for c in r.channel_info() {
        let gain = if c.gain > 0.0 {
            format!("{:+.2}", 20.0 * c.gain.log10())
        } else {
            "off".to_string()
        };
        eprintln!(
            "{:<8} {:>8.1} {:>8.1}   {:>8.1} {:>8.1} {:>6.1}° {:>9}{}",
            c.label,
            c.azimuth,
            c.elevation,
            c.measured_azimuth,
            c.measured_elevation,
            c.error_deg,
            gain,
            if c.lfe { "  (LFE, frontal HRIR)" } else { "" }
        );
    }
}
