//! `mixstage adm`: inspect, export and validate ADM BWF masters; and the ADM options shared by render and qc.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use mixstage::adm::model::{Dialogue, TypeDef};
use mixstage::adm::{self, AdmMaster, AdmOptions};
use mixstage::render::GroupFilter;
use mixstage::scene::Scene;
use serde_json::json;

/// Options for reading an ADM master (render and qc).
#[derive(Args, Debug, Clone, Default)]
pub struct AdmArgs {
    /// ADM master: the audioProgramme to render (default: the lowest ID, as BS.2127 does).
    #[arg(long, value_name = "ID")]
    pub programme: Option<String>,
    /// ADM master: select this complementary audioObject (repeat for several groups).
    #[arg(long = "comp-object", value_name = "ID")]
    pub comp_object: Vec<String>,
    /// ADM master: treat every repair of the file (rounded times, Dolby quirks, ...) as an error.
    #[arg(long)]
    pub strict: bool,
    /// ADM master: leave out objects whose type mixstage cannot render (Matrix, Binaural)
    /// with a warning instead of stopping.
    #[arg(long)]
    pub skip_unsupported: bool,
    /// ADM master: BS.2127's importance filter. Objects and packs whose importance (0-10, the
    /// lowest along the object path) is below N are not rendered; Objects blocks below N play
    /// silent (their gain ramps to 0 and back as any gain does). Default: everything plays.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=10))]
    pub importance: Option<u8>,
    /// The reproduction screen objects with screenRef / screenEdgeLock are placed against,
    /// replacing the layout's (default: BS.2127's, 58 degrees wide, 1.78:1, ahead): RON text
    /// or a RON file, e.g. 'Polar(aspect_ratio: 1.78, azimuth: 0, elevation: 0, distance: 1,
    /// width_azimuth: 90)'.
    #[arg(long, value_name = "RON|FILE")]
    pub screen: Option<String>,
}

impl AdmArgs {
    /// `layout` with the --screen override applied.
    pub fn with_screen(&self, mut layout: mixstage::Layout) -> Result<mixstage::Layout> {
        if let Some(s) = &self.screen {
            layout.screen = Some(super::parse_screen(s)?);
        }
        Ok(layout)
    }
}

impl AdmArgs {
    /// The library's options.
    pub fn options(&self) -> AdmOptions {
        AdmOptions {
            programme: self.programme.clone(),
            comp_objects: self.comp_object.clone(),
            strict: self.strict,
            skip_unsupported: self.skip_unsupported,
            importance: self.importance,
        }
    }
}

/// Opens a RON scene or an ADM master; prints the master's warnings unless quiet.
pub fn open(
    path: &std::path::Path,
    a: &AdmArgs,
    quiet: bool,
) -> Result<(Scene, Option<AdmMaster>)> {
    if !adm::is_wav(path)
        && (a.programme.is_some()
            || !a.comp_object.is_empty()
            || a.strict
            || a.skip_unsupported
            || a.importance.is_some())
    {
        bail!(
            "{}: --programme, --comp-object, --strict, --skip-unsupported and --importance apply to ADM masters (WAV/BW64 files)",
            path.display()
        );
    }
    let (scene, master) = adm::open_scene(path, &a.options())?;
    if let (Some(m), false) = (&master, quiet) {
        for w in m.all_warnings() {
            eprintln!("warning: {w}");
        }
        for n in &m.left_out {
            eprintln!("note: {n}");
        }
    }
    Ok((scene, master))
}

/// The group filter of --only / --without.
pub fn group_filter(only: &[String], without: &[String], scene: &Scene) -> GroupFilter {
    GroupFilter::from_lists(only, without, scene)
}

#[derive(Subcommand, Debug)]
pub enum AdmCommand {
    /// Summarise an ADM BWF master: programmes, contents, objects, tracks, timing, the
    /// repairs it needs and what BS.2127 ignores (Dolby dbmd trims, binaural render modes).
    #[command(
        after_help = "Examples:\n  mixstage adm info master.wav\n  mixstage adm info master.wav --json | jq '.objects[].name'\n\n\
Exit codes: 0 ok, 1 error (the file is not a readable ADM master)."
    )]
    Info(InfoArgs),
    /// Print the master's axml chunk (the BS.2076 XML) on stdout.
    #[command(after_help = "Example:\n  mixstage adm xml master.wav > master.xml")]
    Xml(XmlArgs),
    /// Write a RON scene as an ADM BWF master (EBU Tech 3392 or Dolby Atmos profile): one mono
    /// track per object with its EQ applied, position and gain automation as BS.2076 blocks,
    /// beds as DirectSpeakers packs (BS.2094 common definitions where they exist), groups as
    /// audioContents (dialogue marked), objects' LFE sends summed into an LFE track per group.
    #[command(
        after_help = "Examples:\n  mixstage adm export scenes/demo.ron -o demo-adm.wav\n  \
mixstage adm export scenes/demo.ron -o demo-adm.wav --format f32 --json\n  \
mixstage render demo-adm.wav --layout 7.1.4 -o check.wav   # render the export as BS.2127 does\n\n\
Profiles: ebu (default; EBU Tech 3392) and dolby (Dolby Atmos Master ADM).\n\
Exit codes: 0 ok, 1 error (nothing is written under the output name), 2 usage error."
    )]
    Export(ExportArgs),
    /// Check a master against BS.2076/BS.2088's structural rules and a delivery profile: every
    /// reference resolves, chna and axml agree, no orphan tracks, blocks continuous and inside
    /// their object, values in range; then the profile's rules (data/adm/profiles.ron lists
    /// them with their sources). Reports every violation, each with the element and the rule.
    #[command(after_help = "Examples:\n  mixstage adm validate master.wav\n  \
mixstage adm validate master.wav --profile dolby --json | jq '.violations[].rule'\n  \
mixstage adm validate master.wav --profile bs2168 --level 1\n\n\
Exit codes: 0 every rule met, 3 a rule is broken, 1 the file cannot be read at all (not a WAV,\n\
no chna/axml, XML that does not parse), 2 usage error.")]
    Validate(ValidateArgs),
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The ADM BWF master.
    master: PathBuf,
    /// The delivery profile: ebu (EBU Tech 3392), dolby (Dolby Atmos Master ADM) or bs2168
    /// (the ITU-R BS.2168 emission profile, as the EBU ADM toolbox checks it).
    #[arg(long, default_value = "ebu", value_parser = ["ebu", "dolby", "bs2168"])]
    profile: String,
    /// The bs2168 level: 0 (at least one of each element), 1 (at most 8 programmes, 48
    /// objects, 32 tracks, ...) or 2 (16 programmes, 84 objects, 56 tracks, ...). Default 2.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=2))]
    level: Option<u8>,
    /// Print JSON: {"file", "profile", "level" (bs2168; else null), "passed", "rules", "violations": [{"id", "rule", "message"}]}.
    #[arg(long)]
    json: bool,
}

/// ADM profiles `adm export` can write.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Profile {
    /// EBU Tech 3392 production profile: BS.2076-1 structures, polar blocks, common
    /// definitions for beds (read strictly by the EBU ADM Renderer).
    Ebu,
    /// The Dolby Atmos Master ADM profile (for Pro Tools and the Dolby Atmos Renderer):
    /// programme Atmos_Master, Cartesian blocks, RC_ beds, at most 118 objects, 24-bit.
    Dolby,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The RON scene.
    scene: PathBuf,
    /// The ADM BWF master to write (a temporary file renamed when complete).
    #[arg(long, short)]
    output: PathBuf,
    /// Metadata profile.
    #[arg(long, value_enum, default_value_t = Profile::Ebu)]
    profile: Profile,
    /// Sample format of the tracks: s24 or f32.
    #[arg(long, value_enum, default_value_t = mixstage::io::SampleFormat::S24)]
    format: mixstage::io::SampleFormat,
    /// Print a JSON summary: {"output", "objects", "tracks", "blocks", "frames", "clipped"}.
    #[arg(long)]
    json: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// The ADM BWF master.
    master: PathBuf,
    /// Print JSON: {"programmes", "contents", "objects", "warnings", ...}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    adm: AdmArgs,
}

#[derive(Args, Debug)]
pub struct XmlArgs {
    /// The ADM BWF master.
    master: PathBuf,
}

pub fn run(c: AdmCommand) -> Result<i32> {
    match c {
        AdmCommand::Xml(a) => {
            let c = adm::bw64::scan(&a.master)?;
            match c.axml {
                Some(x) => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let nl = if x.ends_with('\n') { "" } else { "\n" };
                    match write!(out, "{x}{nl}").and_then(|_| out.flush()) {
                        // `mixstage adm xml m.wav | head`: the reader left; not an error.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
                        r => r.map(|_| 0).context("writing the XML to standard output"),
                    }
                }
                None => bail!("{}: no 'axml' chunk", a.master.display()),
            }
        }
        AdmCommand::Info(a) => info(a),
        AdmCommand::Export(a) => export(a),
        AdmCommand::Validate(a) => validate(a),
    }
}

fn validate(a: ValidateArgs) -> Result<i32> {
    if a.level.is_some() && a.profile != "bs2168" {
        eprintln!(
            "error: --level applies to --profile bs2168 only (profile '{}' has no levels)",
            a.profile
        );
        return Ok(super::EXIT_USAGE);
    }
    let r = adm::validate::validate(&a.master, &a.profile, a.level)?;
    if a.json {
        let v: Vec<_> = r
            .violations
            .iter()
            .map(|v| json!({"id": v.id, "rule": v.rule, "message": v.message}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"file": a.master, "profile": r.profile,
                "level": r.level, "passed": r.passed(), "rules": r.rules, "violations": v}))?
        );
    } else {
        for v in &r.violations {
            println!("{} {}: {}", v.rule, v.id, v.message);
        }
        println!(
            "{}: {} against the structural rules and profile '{}'{} ({} rules, {} violations)",
            a.master.display(),
            if r.passed() { "passed" } else { "FAILED" },
            r.profile,
            r.level.map(|l| format!(" level {l}")).unwrap_or_default(),
            r.rules,
            r.violations.len()
        );
    }
    Ok(if r.passed() { 0 } else { 3 })
}

fn export(a: ExportArgs) -> Result<i32> {
    if adm::is_wav(&a.scene) {
        bail!(
            "{}: is a WAV file; adm export takes a RON scene (to re-render a master, use `mixstage render`)",
            a.scene.display()
        );
    }
    let scene = Scene::load(&a.scene)?;
    let pb = super::progress(0, a.quiet || a.json, "exporting");
    let opts = adm::export::ExportOptions {
        format: a.format,
        profile: match a.profile {
            Profile::Ebu => adm::export::Profile::Ebu,
            Profile::Dolby => adm::export::Profile::Dolby,
        },
    };
    let s = adm::export::export(&scene, &a.output, &opts, |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })?;
    pb.finish_and_clear();
    if a.json {
        println!(
            "{}",
            json!({"output": a.output, "objects": s.objects, "tracks": s.tracks,
                   "blocks": s.blocks, "frames": s.frames, "clipped": s.clipped})
        );
    } else if !a.quiet {
        eprintln!(
            "wrote {}: {} audioObjects, {} tracks, {} object blocks, {:.2} s{}",
            a.output.display(),
            s.objects,
            s.tracks,
            s.blocks,
            s.frames as f64 / scene.sample_rate as f64,
            if s.clipped > 0 {
                format!(", {} samples clipped at 24 bits", s.clipped)
            } else {
                String::new()
            }
        );
    }
    Ok(0)
}

fn secs(t: Option<mixstage::time::Time>) -> Option<f64> {
    t.map(|t| t.as_secs())
}

fn info(a: InfoArgs) -> Result<i32> {
    // The container reader says what is wrong with a file that is not a WAV/BW64/RF64.
    let m = adm::load(&a.master, &a.adm.options())?;
    // Build the timelines once so that what only they check (positions out of range,
    // overlapping blocks, --strict repairs) is an error here as in render.
    m.to_scene()?;
    let warnings = m.all_warnings();
    let d = &m.adm;
    let track_of = |uid: &str| d.track_uid(uid).and_then(|u| u.track_index);
    let object_type = |o: &mixstage::adm::model::Object| -> Option<TypeDef> {
        o.packs
            .iter()
            .find_map(|p| d.pack(p).and_then(|p| p.type_def))
            .or_else(|| {
                m.items
                    .iter()
                    .find(|i| i.object.as_deref() == Some(o.id.as_str()))
                    .map(|i| i.type_def)
            })
    };
    let blocks_of = |o: &mixstage::adm::model::Object| -> usize {
        o.track_uids
            .iter()
            .filter_map(|u| d.track_uid(u))
            .filter_map(|u| {
                m.items
                    .iter()
                    .find(|i| i.track_uid == u.id)
                    .and_then(|i| d.channel(&i.channel))
            })
            .map(|c| c.blocks.len())
            .sum()
    };
    // The blocks of an object's channels (as `blocks_of` counts them).
    let block_list = |o: &mixstage::adm::model::Object| -> Vec<&mixstage::adm::model::Block> {
        o.track_uids
            .iter()
            .filter_map(|u| m.items.iter().find(|i| &i.track_uid == u))
            .filter_map(|i| d.channel(&i.channel))
            .flat_map(|c| c.blocks.iter())
            .collect()
    };
    let headphone = |o: &mixstage::adm::model::Object| headphone_summary(&block_list(o));
    let dbmd_modes = |o: &mixstage::adm::model::Object| {
        m.dbmd
            .as_ref()
            .and_then(|x| x.supplemental.as_ref())
            .map(|_| m.dbmd_object_modes(&o.id))
            .filter(|v| !v.is_empty())
    };
    let dialogue = |c: &mixstage::adm::model::Content| match c.dialogue {
        Some((Dialogue::Dialogue, _)) => "dialogue",
        Some((Dialogue::Mixed, _)) => "mixed",
        Some((Dialogue::NonDialogue, _)) => "non-dialogue",
        None => "unspecified",
    };
    let ignored: Vec<String> = d
        .objects
        .iter()
        .filter(|o| !o.ignored.is_empty())
        .map(|o| format!("{}: {}", o.id, o.ignored.join(", ")))
        .collect();
    let loud = |l: &mixstage::adm::model::Loudness| {
        json!({"method": l.method, "integrated_lufs": l.integrated, "loudness_range_lu": l.range,
               "max_true_peak_dbtp": l.max_true_peak, "dialogue_lufs": l.dialogue,
               "max_momentary_lufs": l.max_momentary, "max_short_term_lufs": l.max_short_term})
    };
    let bext = m.container.bext.as_ref();
    if a.json {
        let v = json!({
            "file": a.master.display().to_string(),
            "container": m.container.form,
            "sample_rate": m.audio.sample_rate,
            "channels": m.audio.channels,
            "frames": m.audio.frames,
            "duration_s": m.audio.frames.map(|f| f as f64 / m.audio.sample_rate as f64),
            "encoding": m.audio.encoding,
            "adm_version": d.version,
            "selected_programme": m.programme,
            "bext": bext.map(|b| json!({"description": b.description, "originator": b.originator,
                "origination": b.origination(), "time_reference": b.time_reference})),
            "programmes": d.programmes.iter().map(|p| json!({"id": p.id, "name": p.name, "contents": p.contents,
                "loudness": p.loudness.iter().map(loud).collect::<Vec<_>>(),
                "reference_screen": p.reference_screen})).collect::<Vec<_>>(),
            "contents": d.contents.iter().map(|c| json!({"id": c.id, "name": c.name, "dialogue": dialogue(c),
                "objects": c.objects, "stem": m.group_of(Some(&c.id)),
                "loudness": c.loudness.iter().map(loud).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "objects": d.objects.iter().map(|o| json!({"id": o.id, "name": o.name,
                "type": object_type(o).map(|t| t.name()),
                "tracks": o.track_uids.iter().filter_map(|u| track_of(u)).collect::<Vec<_>>(),
                "blocks": blocks_of(o),
                "start": secs(o.start), "duration": secs(o.duration),
                "gain": o.gain, "mute": o.mute, "importance": o.importance,
                "head_locked": o.head_locked,
                "headphone_virtualise": headphone(o).virtualise.map(|(n, bypass, drr)| json!({
                    "blocks": n, "bypass_blocks": bypass, "drr_db": drr})),
                "head_locked_blocks": headphone(o).head_locked,
                "dbmd_binaural": dbmd_modes(o).map(|v| v.iter().map(|t| json!({
                    "track_uid": t.track_uid, "track": t.track, "channel": t.channel,
                    "mode": t.mode.map(|x| x.name())})).collect::<Vec<_>>()),
                "objects": o.objects, "complementary": o.complementary})).collect::<Vec<_>>(),
            "rendering_items": m.items.len(),
            "dbmd": m.dbmd.as_ref().map(|x| json!({
                "version": x.version_string(),
                "tool": x.atmos.as_ref().map(|a| &a.tool),
                "tool_version": x.atmos.as_ref().map(|a| format!("{}.{}.{}", a.tool_version[0], a.tool_version[1], a.tool_version[2])),
                "warp_mode": x.atmos.as_ref().map(|a| warp_mode(a.warp_mode)),
                "auto_trim": x.supplemental.as_ref().map(|s| s.auto_trim),
                "binaural_render_modes": x.supplemental.as_ref().map(|s| s.render_modes().iter().map(|r| r.name()).collect::<Vec<_>>()),
            })),
            "not_applied": {
                "dolby_dbmd_bytes": m.container.dbmd.as_ref().map(|b| b.len()),
                "object_elements": ignored,
            },
            "warnings": warnings,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    println!(
        "{}: {} {} ch, {} Hz, {}, {:.3} s, ADM {}",
        a.master.display(),
        m.container.form,
        m.audio.channels,
        m.audio.sample_rate,
        m.audio.encoding,
        m.audio.frames.unwrap_or(0) as f64 / m.audio.sample_rate as f64,
        d.version.as_deref().unwrap_or("(no version)")
    );
    if let Some(b) = bext {
        println!(
            "bext: originator '{}', {} , time reference {} samples",
            b.originator,
            b.origination(),
            b.time_reference
        );
    }
    for p in &d.programmes {
        let sel = if m.programme.as_deref() == Some(p.id.as_str()) {
            " (selected)"
        } else {
            ""
        };
        println!(
            "programme {} '{}'{sel}: contents {}",
            p.id,
            p.name,
            p.contents.join(" ")
        );
        match p.reference_screen {
            Some(mixstage::panner::screen::Screen::Polar {
                aspect_ratio,
                azimuth,
                elevation,
                distance,
                width_azimuth,
            }) => println!(
                "  audioProgrammeReferenceScreen: {width_azimuth} degrees wide, {aspect_ratio}:1, centre azimuth {azimuth} elevation {elevation} distance {distance}"
            ),
            Some(mixstage::panner::screen::Screen::Cartesian {
                aspect_ratio,
                x,
                y,
                z,
                width_x,
            }) => println!(
                "  audioProgrammeReferenceScreen: {width_x} wide (X), {aspect_ratio}:1, centre X {x} Y {y} Z {z}"
            ),
            None => {}
        }
        for l in &p.loudness {
            println!(
                "  loudnessMetadata: integrated {:?} LUFS, range {:?} LU, true peak {:?} dBTP, dialogue {:?} LUFS",
                l.integrated, l.range, l.max_true_peak, l.dialogue
            );
        }
    }
    for c in &d.contents {
        println!(
            "content {} '{}' [{}] -> stem '{}': objects {}",
            c.id,
            c.name,
            dialogue(c),
            m.group_of(Some(&c.id)),
            c.objects.join(" ")
        );
    }
    for o in &d.objects {
        let tracks: Vec<String> = o
            .track_uids
            .iter()
            .map(|u| {
                track_of(u)
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "-".into())
            })
            .collect();
        println!(
            "object {} '{}' {}: tracks {}, {} blocks{}{}{}",
            o.id,
            o.name,
            object_type(o).map(|t| t.name()).unwrap_or("?"),
            tracks.join(","),
            blocks_of(o),
            o.start.map(|t| format!(", start {t}")).unwrap_or_default(),
            o.duration
                .map(|t| format!(", duration {t}"))
                .unwrap_or_default(),
            if o.objects.is_empty() {
                String::new()
            } else {
                format!(", objects {}", o.objects.join(" "))
            } + &o
                .importance
                .map(|i| format!(", importance {i}"))
                .unwrap_or_default()
                + &headphone(o).text()
                + &dbmd_modes(o)
                    .map(|v| format!(", dbmd binaural {}", dbmd_text(&v)))
                    .unwrap_or_default()
        );
    }
    // HOA tracks render together, one item per object and pack.
    let hoa = mixstage::adm::hoa::hoa_items(&m, &mut mixstage::adm::Warnings::default())?;
    let plain = m
        .items
        .iter()
        .filter(|i| i.type_def != TypeDef::Hoa)
        .count();
    if hoa.is_empty() {
        println!("{plain} rendering items");
    } else {
        println!(
            "{} rendering items ({} HOA: {})",
            plain + hoa.len(),
            hoa.len(),
            hoa.iter()
                .map(|h| format!(
                    "{} order {} {}, {} channels",
                    h.pack,
                    h.format.components.iter().map(|c| c.0).max().unwrap_or(0),
                    h.format.normalization,
                    h.tracks.len()
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }

    if let Some(x) = &m.dbmd {
        let tool = x
            .atmos
            .as_ref()
            .map(|a| {
                format!(
                    " from '{}' {}.{}.{}, warp mode {}",
                    a.tool,
                    a.tool_version[0],
                    a.tool_version[1],
                    a.tool_version[2],
                    warp_mode(a.warp_mode)
                )
            })
            .unwrap_or_default();
        let modes = x
            .supplemental
            .as_ref()
            .map(|s| format!(", {} binaural render modes (one per track)", s.len()))
            .unwrap_or_else(|| ", no binaural render modes".into());
        println!(
            "dbmd: Dolby audio metadata {}{tool}{modes}",
            x.version_string()
        );
    }
    if let Some(b) = &m.container.dbmd {
        println!("not applied: the Dolby 'dbmd' chunk ({} bytes: trims, warp mode and binaural render modes are Dolby renderer settings, which BS.2127 does not use; the modes are read, shown above per object)", b.len());
    }
    for i in &ignored {
        println!("not applied: {i}");
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    Ok(0)
}

/// What an object's blocks say about headphone rendering (BS.2076-2).
struct Headphone {
    /// Blocks with a headphoneVirtualise, of which bypassed, and the distinct DRRs (dB).
    virtualise: Option<(usize, usize, Vec<f64>)>,
    /// Blocks with headLocked set.
    head_locked: usize,
    /// Blocks in all.
    blocks: usize,
}

impl Headphone {
    /// `adm info`'s words for it (empty when the blocks say nothing).
    fn text(&self) -> String {
        let mut t = String::new();
        if let Some((n, bypass, drr)) = &self.virtualise {
            t += &format!(", headphoneVirtualise in {n} of {} blocks", self.blocks);
            if *bypass > 0 {
                t += &format!(" (bypass in {bypass})");
            }
            if !drr.is_empty() {
                let v: Vec<String> = drr.iter().map(|x| x.to_string()).collect();
                t += &format!(" DRR {} dB", v.join("/"));
            }
        }
        if self.head_locked > 0 {
            t += &format!(
                ", headLocked in {} of {} blocks",
                self.head_locked, self.blocks
            );
        }
        t
    }
}

fn headphone_summary(blocks: &[&mixstage::adm::model::Block]) -> Headphone {
    let with: Vec<_> = blocks.iter().filter_map(|b| b.headphone).collect();
    let virtualise = (!with.is_empty()).then(|| {
        let mut drr: Vec<f64> = Vec::new();
        for h in with.iter().filter(|h| !h.bypass) {
            if !drr.contains(&h.drr_db) {
                drr.push(h.drr_db);
            }
        }
        (with.len(), with.iter().filter(|h| h.bypass).count(), drr)
    });
    Headphone {
        virtualise,
        head_locked: blocks.iter().filter(|b| b.head_locked).count(),
        blocks: blocks.len(),
    }
}

/// An object's dbmd modes: one word when all its tracks agree, else each mode with its tracks.
fn dbmd_text(v: &[mixstage::adm::dbmd::TrackMode]) -> String {
    let name = |t: &mixstage::adm::dbmd::TrackMode| t.mode.map(|m| m.name()).unwrap_or("none");
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for t in v {
        let track = t.track.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
        match groups.iter_mut().find(|(n, _)| *n == name(t)) {
            Some((_, tracks)) => tracks.push(track),
            None => groups.push((name(t), vec![track])),
        }
    }
    match groups.as_slice() {
        [] => "none".into(),
        [(n, _)] => n.to_string(),
        _ => groups
            .iter()
            .map(|(n, t)| format!("{n} (track {})", t.join(",")))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The dbmd's warp mode in words (Dolby's parser's names).
fn warp_mode(w: u8) -> &'static str {
    match w {
        0 => "normal",
        1 => "warping",
        2 => "Pro Logic IIx downmix",
        3 => "Lo/Ro downmix",
        4 => "not indicated",
        _ => "reserved",
    }
}
