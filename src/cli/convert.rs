//! `mixstage convert`: re-render a channel-based mix for another speaker layout.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use mixstage::convert::{
    channel_order_warning, conversion_matrix, convert_stream, input_layout, mono_downmix, LfeMode,
    Matrix, Method, ITU_PAIRS, MONO_LABEL,
};
use mixstage::io::{open_audio, AudioSource, SampleFormat};
use mixstage::Layout;

fn itu_pairs_help() -> String {
    ITU_PAIRS
        .iter()
        .map(|(a, b)| format!("{a}->{b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Args, Debug)]
#[command(after_long_help = after_help())]
pub struct ConvertArgs {
    /// The input mix (WAV). Optional with --print-matrix when --from is given.
    #[arg(value_name = "IN", required_unless_present = "print_matrix")]
    input: Option<PathBuf>,
    /// The input layout: a built-in name or alias, or the path of a RON layout file.
    /// Leave it out when the WAV's channel mask names the layout.
    #[arg(long, value_name = "NAME|PATH")]
    from: Option<String>,
    /// The output layout: a built-in name or alias, a RON layout file, or `mono`
    /// (a one-channel fold-down, e.g. for QC).
    #[arg(long, value_name = "NAME|PATH|mono")]
    to: String,
    /// The output WAV file (written to a temporary file and renamed when complete).
    #[arg(
        short,
        long,
        value_name = "OUT.wav",
        required_unless_present = "print_matrix"
    )]
    output: Option<PathBuf>,
    /// How the matrix is built.
    #[arg(long, value_enum, default_value_t = Method::Vbap)]
    method: Method,
    /// keep: LFE to the target's LFE (dropped, with a note, when the target has none);
    /// drop: discard it; mix=DB: add it to the front left and right at DB each (e.g. mix=-10).
    #[arg(long, value_name = "keep|drop|mix=DB", default_value = "keep", value_parser = parse_lfe, allow_hyphen_values = true)]
    lfe: LfeMode,
    /// Print the conversion matrix (rows: outputs, columns: inputs). Converts as well when
    /// -o is given.
    #[arg(long)]
    print_matrix: bool,
    /// With --print-matrix: print {"from": [...], "to": [...], "matrix": [[...]]} as JSON.
    #[arg(long, requires = "print_matrix")]
    json: bool,
    /// Output sample format.
    #[arg(long, value_enum, default_value_t = SampleFormat::F32)]
    format: SampleFormat,
    /// No progress bar and no summary (warnings are still printed).
    #[arg(short, long)]
    quiet: bool,
}

fn after_help() -> String {
    format!(
        "Matrix rules (vbap): a speaker present in both layouts (same BS.2051 label or alias) goes straight \
through at gain 1; every other channel is panned with VBAP at its own speaker direction, power-normalised. \
Upmixing only places channels at their speakers (no height signal is invented).\n\n\
--method itu supports any layout to itself and: {}.\n\
  5.1->stereo is ITU-R BS.775 Lo/Ro: Lo = L + 0.7071 C + 0.7071 Ls, Ro = R + 0.7071 C + 0.7071 Rs;\n\
  stereo->mono: M = 0.7071 (L + R); 7.1->5.1: Ls = Lss + Lrs, Rs = Rss + Rrs;\n\
  7.1.4->5.1.4: the same surround sums, top front and top rear to 5.1.4's tops at unity;\n\
  heights fold into the ear-level speaker below them at -3 dB (7.1.4: Ltf->L, Ltr->Lrs; 5.1.4: Ltr->Ls).\n\
  Longer pairs chain these steps.\n\n\
Azimuths are positive to the LEFT (ADM / BS.2051).\n\n\
Examples:\n  mixstage convert mix714.wav --from 7.1.4 --to 5.1 -o mix51.wav\n  \
mixstage convert mix51.wav --to stereo --method itu -o loro.wav\n  \
mixstage convert mix51.wav --to stereo --lfe mix=-10 -o stereo.wav\n  \
mixstage convert --from 7.1.4 --to 5.1 --print-matrix --json",
        itu_pairs_help()
    )
}

fn parse_lfe(s: &str) -> std::result::Result<LfeMode, String> {
    s.parse()
}

/// The output side: a layout or the mono fold-down.
enum Target {
    Layout(Layout),
    Mono,
}

impl Target {
    fn resolve(name: &str) -> Result<Target> {
        if name.eq_ignore_ascii_case("mono") || name == "1.0" {
            return Ok(Target::Mono);
        }
        Ok(Target::Layout(Layout::resolve(name).context("--to")?))
    }

    fn name(&self) -> String {
        match self {
            Target::Layout(l) => l.name.clone(),
            Target::Mono => "mono".into(),
        }
    }

    fn matrix(&self, from: &Layout, method: Method, lfe: LfeMode) -> Result<Matrix> {
        Ok(match self {
            Target::Layout(l) => conversion_matrix(from, l, method, lfe)?,
            Target::Mono => mono_downmix(from, method, lfe)?,
        })
    }

    /// The WAVE channel mask of the output: true masks only.
    fn mask(&self) -> u32 {
        match self {
            Target::Layout(l) => l.wave_channel_mask().unwrap_or(0),
            Target::Mono => 0x4, // FRONT_CENTER
        }
    }
}

pub fn run(a: ConvertArgs) -> Result<i32> {
    let target = Target::resolve(&a.to)?;
    let from = match &a.from {
        Some(f) if f.eq_ignore_ascii_case("mono") => {
            bail!("--from mono: mono is a fold-down target only; a mono input has no layout to convert from")
        }
        Some(f) => Some(Layout::resolve(f).context("--from")?),
        None => None,
    };
    let mut source: Option<Box<dyn AudioSource>> = match &a.input {
        Some(p) => Some(open_audio(p)?),
        None => None,
    };
    let from = match (&source, &a.input) {
        (Some(src), Some(path)) => {
            let l = input_layout(path, src.info(), from.as_ref())?;
            if from.is_some() {
                if let Some(w) = channel_order_warning(path, &l, src.info().channel_mask) {
                    eprintln!("warning: {w}");
                }
            }
            l
        }
        _ => from.context("--print-matrix without an input file needs --from NAME")?,
    };
    let matrix = target.matrix(&from, a.method, a.lfe)?;
    if a.print_matrix {
        if a.json {
            println!("{}", matrix.to_json());
        } else {
            println!(
                "# {} -> {} (method {}, lfe {}); rows: outputs, columns: inputs",
                from.name,
                target.name(),
                a.method,
                a.lfe
            );
            print!("{}", matrix.to_table());
        }
        std::io::stdout().flush()?;
    }
    for label in matrix.unrouted_inputs() {
        let is_lfe = from.speakers.iter().any(|s| s.label == label && s.lfe);
        let why = if is_lfe && a.lfe == LfeMode::Drop {
            "--lfe drop".to_string()
        } else if is_lfe {
            format!(
                "the target {} has no LFE channel (BS.775 practice); use --lfe mix=DB to fold it into the front left/right",
                target.name()
            )
        } else {
            "it reaches no output speaker".to_string()
        };
        eprintln!("note: input channel {label} is dropped: {why}");
    }
    let (Some(output), Some(src), Some(input)) = (&a.output, source.as_mut(), &a.input) else {
        if a.output.is_some() {
            bail!("an output file needs an input file");
        }
        return Ok(0);
    };
    let total = src.info().frames.unwrap_or(0);
    let rate = src.info().sample_rate;
    let pb = crate::cli::progress(total, a.quiet, "converting");
    let stats = convert_stream(
        src.as_mut(),
        input,
        &matrix,
        output,
        a.format,
        target.mask(),
        &mut |done| pb.set_position(done),
    )?;
    pb.finish_and_clear();
    let labels: Vec<String> = match &target {
        Target::Layout(l) => l.labels(),
        Target::Mono => vec![MONO_LABEL.to_string()],
    };
    for (c, &n) in stats.clipped.iter().enumerate() {
        if n > 0 {
            eprintln!(
                "warning: {}: channel {} clipped {n} sample(s) (peak {:+.2} dBFS); use --format f32 to keep the overs",
                output.display(),
                labels[c],
                20.0 * (stats.peak[c] as f64).log10()
            );
        }
    }
    if !a.quiet {
        eprintln!(
            "{} ({}, {} ch) -> {} ({}, {} ch, {:?}): {} frames, {:.3} s at {} Hz, method {}, lfe {}",
            input.display(),
            from.name,
            from.channels(),
            output.display(),
            target.name(),
            labels.len(),
            a.format,
            stats.frames,
            stats.frames as f64 / rate as f64,
            rate,
            a.method,
            a.lfe
        );
    }
    Ok(0)
}
