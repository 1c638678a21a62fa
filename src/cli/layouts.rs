//! `mixstage layouts`, `mixstage layout show` and `mixstage gains`.

use std::io::BufRead;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use mixstage::geometry::{cartesian_to_polar, Vec3};
use mixstage::panner::gain_calc::PointGains;
use mixstage::render::timeline::BlockGains;
use mixstage::Layout;
use serde_json::json;

#[derive(Args, Debug)]
pub struct LayoutsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
pub enum LayoutCommand {
    /// Show each speaker's label, aliases, azimuth, elevation, LFE flag and channel index.
    Show {
        /// A built-in layout name or alias (e.g. 7.1.4 or 4+7+0), or the path of a RON layout file.
        layout: String,
        /// Print JSON: {"name", "speakers": [{"label", "azimuth", "elevation", "lfe", ...}]} in channel order.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
#[command(
    after_help = "Azimuth is positive to the LEFT (ADM / BS.2051), elevation positive up.\n\
Examples:\n  mixstage gains --layout 7.1.4 --az 30 --el 15\n  mixstage gains --layout 5.1 --xyz -1 1 0 --json\n  \
printf '0 0\\n90 0\\n' | mixstage gains --layout 7.1.4 --stdin\n  \
mixstage gains --layout 7.1.4 --block '{\"position\": {\"azimuth\": 30, \"elevation\": 0}, \"width\": 40, \"diffuse\": 0.3}'\n\n\
--block takes one ADM Objects audioBlockFormat as JSON, named as BS.2076 and the EBU ADM Renderer name it:\n  \
position {azimuth, elevation, distance} or {X, Y, Z}, optionally with screenEdgeLock {horizontal: \"left\"|\"right\",\n  \
vertical: \"top\"|\"bottom\"}; cartesian (true: the allocentric panner, whatever the position's form); width, height,\n  \
depth, gain, diffuse; channelLock {} or {maxDistance}; objectDivergence {value, azimuthRange} or {value, positionRange};\n  \
zoneExclusion [{minAzimuth, maxAzimuth, minElevation, maxElevation}] or [{minX, maxX, minY, maxY, minZ, maxZ}];\n  \
screenRef; referenceScreen {aspectRatio, screenCentrePosition {azimuth, elevation, distance} or {X, Y, Z},\n  \
screenWidth {azimuth} or {X}}. Omitted fields take ADM's defaults. It prints\n  \
{\"layout\", \"channels\": [...], \"direct\": [...], \"diffuse\": [...]} in channel order (BS.2127's gains,\n  \
block gain included). With --stdin, every line that starts with '{' is such a block."
)]
pub struct GainsArgs {
    /// A built-in layout name or alias, or the path of a RON layout file.
    #[arg(long)]
    layout: String,
    /// Azimuth in degrees (positive to the left).
    #[arg(long, allow_negative_numbers = true, conflicts_with_all = ["xyz", "stdin"])]
    az: Option<f64>,
    /// Elevation in degrees (positive up).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.0)]
    el: f64,
    /// A Cartesian direction instead: x to the right, y to the front, z up.
    #[arg(long, num_args = 3, value_names = ["X", "Y", "Z"], allow_negative_numbers = true, conflicts_with = "stdin")]
    xyz: Option<Vec<f64>>,
    /// Read one "az el" pair, or one JSON block (a line starting with '{'), per line from
    /// standard input; print one JSON line per input line.
    #[arg(long)]
    stdin: bool,
    /// One ADM Objects audioBlockFormat as JSON (see below): print its direct and diffuse gains.
    #[arg(long, value_name = "JSON", conflicts_with_all = ["az", "xyz", "stdin"])]
    block: Option<String>,
    /// The reproduction screen (for screenRef and screenEdgeLock), replacing the layout's:
    /// a RON file or RON text, e.g. 'Polar(aspect_ratio: 1.78, azimuth: 0, elevation: 0,
    /// distance: 1, width_azimuth: 58)'.
    #[arg(long, value_name = "RON|FILE")]
    screen: Option<String>,
    /// Print JSON: {"channels": [...], "gains": [...]} in channel order.
    #[arg(long)]
    json: bool,
}

pub fn list(a: LayoutsArgs) -> Result<i32> {
    let all = Layout::builtin();
    if a.json {
        let v: Vec<_> = all
            .iter()
            .map(|l| json!({"name": l.name, "aliases": l.aliases, "channels": l.channels(), "description": l.description}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    println!(
        "{:<8} {:<8} {:>8}  description",
        "name", "alias", "channels"
    );
    for l in &all {
        println!(
            "{:<8} {:<8} {:>8}  {}",
            l.name,
            l.aliases.join(", "),
            l.channels(),
            l.description
        );
    }
    Ok(0)
}

pub fn layout(c: LayoutCommand) -> Result<i32> {
    match c {
        LayoutCommand::Show { layout, json } => {
            let l = Layout::resolve(&layout)?;
            if json {
                let speakers: Vec<_> = l
                    .speakers
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        json!({"label": s.label, "aliases": s.aliases, "azimuth": s.azimuth,
                               "elevation": s.elevation, "lfe": s.lfe, "channel": i})
                    })
                    .collect();
                let mask = l.wave_channel_mask();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"name": l.name, "aliases": l.aliases, "speakers": speakers, "wave_channel_mask": mask})
                    )?
                );
            } else {
                println!("{} ({}) - {}", l.name, l.aliases.join(", "), l.description);
                println!(
                    "{:>3}  {:<6} {:<14} {:>8} {:>9}  lfe",
                    "ch", "label", "aliases", "azimuth", "elevation"
                );
                for (i, s) in l.speakers.iter().enumerate() {
                    println!(
                        "{:>3}  {:<6} {:<14} {:>8.1} {:>9.1}  {}",
                        i,
                        s.label,
                        s.aliases.join(" "),
                        s.azimuth,
                        s.elevation,
                        if s.lfe { "yes" } else { "" }
                    );
                }
                match l.wave_channel_mask() {
                    Some(m) => println!("WAV channel mask: 0x{m:X}"),
                    None => println!("WAV channel mask: none (this channel order has no true WAVE_FORMAT_EXTENSIBLE mask)"),
                }
            }
            Ok(0)
        }
    }
}

/// The direct and diffuse gains of one JSON block, as a JSON line.
fn block_gains(
    calc: &BlockGains,
    layout: &Layout,
    text: &str,
    origin: &str,
) -> Result<serde_json::Value> {
    let b = mixstage::adm::block_json::parse(text, origin)?;
    let g = calc
        .gains(&b)
        .with_context(|| format!("{origin}: computing the gains"))?;
    let n = layout.channels();
    Ok(
        json!({"layout": layout.name, "channels": layout.labels(), "direct": &g[..n], "diffuse": &g[n..]}),
    )
}

pub fn gains(a: GainsArgs) -> Result<i32> {
    let mut layout = Layout::resolve(&a.layout)?;
    if let Some(s) = &a.screen {
        layout.screen = Some(super::parse_screen(s)?);
    }
    let panner = PointGains::new(&layout)?;
    let labels = layout.labels();
    let calc = BlockGains::new(&layout, false, true)?;
    if let Some(text) = &a.block {
        println!("{}", block_gains(&calc, &layout, text, "--block")?);
        return Ok(0);
    }
    if a.stdin {
        let stdin = std::io::stdin();
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for (n, line) in stdin.lock().lines().enumerate() {
            let line = line.context("reading standard input")?;
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if t.starts_with('{') {
                let v = block_gains(&calc, &layout, t, &format!("standard input line {}", n + 1))?;
                use std::io::Write;
                writeln!(out, "{v}")?;
                continue;
            }
            let parts: Vec<&str> = t
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|s| !s.is_empty())
                .collect();
            let parse = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
            let (az, el) = match parts.as_slice() {
                [az, el] => match (parse(az), parse(el)) {
                    (Some(az), Some(el)) => (az, el),
                    _ => bail!(
                        "standard input line {}: '{t}' is not two finite numbers \"az el\"",
                        n + 1
                    ),
                },
                _ => bail!(
                    "standard input line {}: expected \"az el\" (two numbers), got '{t}'",
                    n + 1
                ),
            };
            let g = panner.polar(az, el);
            use std::io::Write;
            writeln!(
                out,
                "{}",
                json!({"layout": layout.name, "azimuth": az, "elevation": el, "channels": labels, "gains": g})
            )?;
        }
        return Ok(0);
    }
    let (az, el) = match (&a.xyz, a.az) {
        (Some(v), _) => {
            let p = Vec3::new(v[0], v[1], v[2]);
            if !p.iter().all(|x| x.is_finite()) || p.norm() == 0.0 {
                bail!(
                    "--xyz {} {} {}: expected a finite, non-zero vector",
                    v[0],
                    v[1],
                    v[2]
                );
            }
            let (az, el, _) = cartesian_to_polar(p);
            (az, el)
        }
        (None, Some(az)) => (az, a.el),
        (None, None) => {
            bail!("give a direction: --az A [--el E], --xyz X Y Z, --block JSON, or --stdin")
        }
    };
    if !az.is_finite() || !el.is_finite() {
        bail!("the direction must be finite (got az {az}, el {el})");
    }
    if !(-90.0..=90.0).contains(&el) {
        bail!("--el {el}: elevation must be in [-90, 90] degrees");
    }
    let g = panner.polar(az, el);
    if a.json {
        println!(
            "{}",
            json!({"layout": layout.name, "azimuth": az, "elevation": el, "channels": labels, "gains": g})
        );
    } else {
        println!(
            "{} at azimuth {az:.2}, elevation {el:.2} (azimuth positive to the left)",
            layout.name
        );
        for (l, g) in labels.iter().zip(&g) {
            let db = if *g > 0.0 {
                format!("{:7.2} dB", 20.0 * g.log10())
            } else {
                "   -inf dB".into()
            };
            println!("  {l:<6} {g:.6}  {db}");
        }
    }
    Ok(0)
}
