//! Deliverables: every printmaster, stem, M&E, headphone and ADM file of a job from one
//! master, each measured and checked, with a manifest and an HTML QC report.
//!
//! [`deliver`] runs a [`sheet::Sheet`]. Each output is rendered once, streaming: the
//! renderer's blocks go through a constant gain (`normalize`), sample-rate conversion
//! ([`resample`]), the qc [`Analyzer`] (in the layout's order) and the file writers (in the
//! file's channel order, or one file per channel with `split`). A `normalize` output is
//! measured first in a pass that writes nothing. Outputs run in parallel (`jobs` at a time).
//!
//! Each output leaves a fragment `OUT_DIR/.mixstage/NAME.json`: the key of its inputs (a
//! SHA-256 of the mixstage version, the sheet entry and sheet-level settings, the master and
//! every file it reads, and the spec, layout and SOFA files), its manifest entry and its
//! section of the HTML report. A later run whose key matches, and whose files are all still
//! there with their sizes, rewrites nothing. The fragments are merged into `manifest.json`
//! and `report.html` under a lock on `OUT_DIR/.mixstage/lock`, each written to a temporary
//! file and renamed, so render-farm tasks running one deliverable each lose nothing.

pub mod resample;
pub mod sheet;

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::io::WavWriter;
use crate::layout::Layout;
use crate::qc::report::Report;
use crate::qc::spec::{Check, Spec};
use crate::qc::system::{default_system_names, systems_by_name, System};
use crate::qc::{html, Analyzer, QcOptions};
use crate::render::{BinauralStream, GroupFilter, RenderOptions, Renderer};
use crate::scene::Scene;
use crate::timecode::Clock;
use sheet::{Output, Sheet};

/// How to run a sheet.
#[derive(Debug, Clone, Default)]
pub struct DeliverOptions {
    /// Only these outputs (all when empty).
    pub only: Vec<String>,
    /// Redo outputs whose inputs have not changed.
    pub force: bool,
    /// Outputs rendered at once (0: as many as there are cores).
    pub jobs: usize,
}

/// What happened to one output.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// Its name.
    pub name: String,
    /// Whether every check passed.
    pub passed: bool,
    /// True when nothing had changed and the output was left as it was.
    pub cached: bool,
    /// Its files, relative to the deliverables folder.
    pub files: Vec<String>,
    /// Audio seconds rendered.
    pub seconds: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The outputs of this run, in sheet order.
    pub delivered: Vec<Delivered>,
    /// `manifest.json`.
    pub manifest: PathBuf,
    /// `report.html`.
    pub report: PathBuf,
}

impl Outcome {
    /// True when every output of this run passed.
    pub fn passed(&self) -> bool {
        self.delivered.iter().all(|d| d.passed)
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The master, opened once for every output.
struct Master {
    path: PathBuf,
    scene: Scene,
    /// The master and every file it reads, with their hashes.
    inputs: Vec<(PathBuf, String)>,
    clock: Clock,
    warnings: Vec<String>,
}

/// Runs a sheet; `progress(name, done, total)` reports frames rendered per output.
pub fn deliver(
    sheet: &Sheet,
    opts: &DeliverOptions,
    progress: &(dyn Fn(&str, u64, u64) + Sync),
) -> Result<Outcome> {
    for n in &opts.only {
        if !sheet.outputs.iter().any(|o| &o.name == n) {
            return Err(Error::Invalid(format!(
                "--only {n}: {} has no output of that name; its outputs are: {}",
                sheet.origin,
                sheet
                    .outputs
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let master = open_master(sheet)?;
    let out_dir = sheet.resolve(&sheet.out_dir);
    let chosen: Vec<&Output> = sheet
        .outputs
        .iter()
        .filter(|o| opts.only.is_empty() || opts.only.contains(&o.name))
        .collect();
    // Names of every file the chosen outputs write, to reject clashes before rendering.
    check_inputs_not_overwritten(&master, &out_dir, &chosen)?;
    if master.scene.master.is_some() {
        if let Some(o) = chosen.iter().find(|o| o.adm) {
            return Err(Error::Invalid(format!(
                "{}: output '{}': adm: true exports a RON scene as an ADM master, and the master is already one (check it with `mixstage adm validate`)",
                sheet.at(&o.name),
                o.name
            )));
        }
    }
    let state = out_dir.join(".mixstage");
    std::fs::create_dir_all(&state).map_err(|e| Error::io(&state, e))?;
    let jobs = if opts.jobs == 0 {
        rayon::current_num_threads()
    } else {
        opts.jobs
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| Error::Invalid(format!("--jobs {jobs}: {e}")))?;
    let results: Vec<Result<Delivered>> = pool.install(|| {
        chosen
            .par_iter()
            .map(|o| run_output(sheet, &master, &out_dir, o, opts.force, progress))
            .collect()
    });
    let mut delivered = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(d) => delivered.push(d),
            Err(e) => errors.push(e.to_string()),
        }
    }
    // What was delivered is merged even when another output failed, so nothing done is lost.
    let (manifest, report) = merge(sheet, &master, &out_dir)?;
    if !errors.is_empty() {
        return Err(Error::Invalid(format!(
            "{} of {} output(s) could not be made (the others are in {}): {}",
            errors.len(),
            chosen.len(),
            manifest.display(),
            errors.join("; ")
        )));
    }
    Ok(Outcome {
        delivered,
        manifest,
        report,
    })
}

fn open_master(sheet: &Sheet) -> Result<Master> {
    let path = sheet.resolve(&sheet.master);
    let (scene, adm) = crate::adm::open_scene(&path, &Default::default())?;
    let mut inputs = Vec::new();
    let mut files = vec![path.clone()];
    for f in scene.input_files() {
        if !files.contains(&f) && f.is_file() {
            files.push(f);
        }
    }
    for f in files {
        let h = sha256_file(&f)?;
        inputs.push((f, h));
    }
    let clock = Clock::for_programme(
        sheet.start_tc.as_deref(),
        sheet.fps.as_deref(),
        adm.as_ref().and_then(|m| m.time_reference()),
        scene.sample_rate,
    )?;
    let warnings = adm.map(|m| m.all_warnings()).unwrap_or_default();
    Ok(Master {
        path,
        scene,
        inputs,
        clock,
        warnings,
    })
}

/// The file stem of one stem of output `name`: `NAME.GROUP`.
fn stem_file_stem(name: &str, group: &str) -> String {
    let p = crate::render::stem_path(Path::new(&format!("{name}.wav")), group);
    p.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string()
}

/// The multi-mono file of one channel: `STEM.LABEL.wav`, named by the speaker's first alias.
fn channel_file(stem: &str, s: &crate::layout::Speaker) -> String {
    format!("{stem}.{}.wav", safe(s.aliases.first().unwrap_or(&s.label)))
}

/// The file names an output writes (before rendering, to find clashes).
fn planned_files(master: &Master, o: &Output) -> Vec<String> {
    if o.stems {
        let filter = GroupFilter::from_lists(&o.only, &o.without, &master.scene);
        return master
            .scene
            .groups()
            .iter()
            .filter(|g| filter.admits(g))
            .map(|g| format!("{}.wav", stem_file_stem(&o.name, g)))
            .collect();
    }
    if o.split {
        if let Some(Ok(layout)) = o.layout.as_deref().map(Layout::resolve) {
            return layout
                .speakers
                .iter()
                .map(|s| channel_file(&o.name, s))
                .collect();
        }
    }
    vec![format!("{}.wav", o.name)]
}

/// Refuses outputs that would overwrite the master, one of its sources, or each other.
fn check_inputs_not_overwritten(master: &Master, out_dir: &Path, chosen: &[&Output]) -> Result<()> {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for o in chosen {
        for name in planned_files(master, o) {
            let p = out_dir.join(&name);
            // The master (a RON scene or an ADM master) is one of the scene's input files.
            master.scene.check_not_an_input(&p)?;
            if let Some((_, other)) = seen.iter().find(|(n, _)| *n == name) {
                return Err(Error::Invalid(format!(
                    "outputs '{other}' and '{}' would both write {name}; rename one",
                    o.name
                )));
            }
            seen.push((name, &o.name));
        }
    }
    Ok(())
}

/// A spec or layout named on the sheet: a file relative to the sheet's folder (returned too,
/// for the cache key) or a built-in name, read by `resolve`.
fn resolve_named<T>(
    sheet: &Sheet,
    name: &str,
    resolve: impl Fn(&str) -> Result<T>,
) -> Result<(T, Option<PathBuf>)> {
    let p = sheet.resolve(name);
    if p.is_file() {
        Ok((resolve(&p.display().to_string())?, Some(p)))
    } else {
        Ok((resolve(name)?, None))
    }
}

/// What an output is checked against: its own spec in full; the sheet's spec in full for a
/// full mix; only the sheet spec's true-peak limit for stems and M&Es.
fn effective_spec(sheet: &Sheet, o: &Output) -> Result<(Option<Spec>, Vec<PathBuf>)> {
    let full_mix = !o.stems && o.only.is_empty() && o.without.is_empty();
    let (name, whole) = match (&o.spec, &sheet.spec) {
        (Some(s), _) => (s, true),
        (None, Some(s)) => (s, full_mix),
        (None, None) => return Ok((None, vec![])),
    };
    let (mut spec, file) = resolve_named(sheet, name, Spec::resolve)?;
    if !whole {
        spec.checks
            .retain(|c| matches!(c, Check::MaxTruePeak { .. }));
        spec.name = format!("{} (true-peak limit only)", spec.name);
        if spec.checks.is_empty() {
            return Ok((None, file.into_iter().collect()));
        }
    }
    Ok((Some(spec), file.into_iter().collect()))
}

/// The cache key of an output.
fn cache_key(sheet: &Sheet, master: &Master, o: &Output, files: &[PathBuf]) -> Result<String> {
    let mut h = Sha256::new();
    h.update(format!("mixstage {}\n", env!("CARGO_PKG_VERSION")));
    h.update(
        serde_json::to_string(&json!({
            "output": o, "spec": sheet.spec, "start_tc": sheet.start_tc, "fps": sheet.fps,
            "hrtf": sheet.hrtf, "master": sheet.master,
        }))
        .expect("json"),
    );
    for (p, d) in &master.inputs {
        h.update(format!("\n{}={d}", p.display()));
    }
    for f in files {
        h.update(format!("\n{}={}", f.display(), sha256_file(f)?));
    }
    Ok(hex(&h.finalize()))
}

fn fragment_path(out_dir: &Path, name: &str) -> PathBuf {
    out_dir.join(".mixstage").join(format!("{name}.json"))
}

/// [`crate::io::write_file_atomic`] unless the file already holds exactly `bytes` (a run that changed
/// nothing rewrites nothing).
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    crate::io::write_file_atomic(path, bytes)
}

/// The fragment of an output if it is still valid for `key` (all files present with their sizes).
fn cached_fragment(out_dir: &Path, name: &str, key: &str) -> Option<Value> {
    let text = std::fs::read_to_string(fragment_path(out_dir, name)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    if v["key"] != key {
        return None;
    }
    let files = v["entry"]["files"].as_array()?;
    for f in files {
        let p = out_dir.join(f["path"].as_str()?);
        let size = std::fs::metadata(&p).ok()?.len();
        if Some(size) != f["bytes"].as_u64() {
            return None;
        }
    }
    Some(v)
}

fn run_output(
    sheet: &Sheet,
    master: &Master,
    out_dir: &Path,
    o: &Output,
    force: bool,
    progress: &(dyn Fn(&str, u64, u64) + Sync),
) -> Result<Delivered> {
    let at = sheet.at(&o.name);
    let ctx = |e: Error| match e {
        Error::Io { .. } => e,
        other => Error::Invalid(format!("{at}: output '{}': {other}", o.name)),
    };
    let (spec, mut key_files) = effective_spec(sheet, o).map_err(ctx)?;
    let layout = match &o.layout {
        Some(l) => {
            let (layout, file) = resolve_named(sheet, l, Layout::resolve).map_err(ctx)?;
            key_files.extend(file);
            Some(layout)
        }
        None => None,
    };
    let hrtf_path = sheet.hrtf.as_ref().map(|h| sheet.resolve(h));
    if o.binaural {
        key_files.extend(hrtf_path.clone());
    }
    let key = cache_key(sheet, master, o, &key_files)?;
    if !force {
        if let Some(v) = cached_fragment(out_dir, &o.name, &key) {
            let entry = &v["entry"];
            return Ok(Delivered {
                name: o.name.clone(),
                passed: entry["passed"].as_bool().unwrap_or(false),
                cached: true,
                files: file_paths(entry),
                seconds: 0.0,
            });
        }
    }
    let job = Job {
        master,
        out_dir,
        o,
        spec: spec.as_ref(),
        layout: layout.as_ref(),
        hrtf: hrtf_path.as_deref(),
        progress,
    };
    let (entry, section, seconds) = if o.adm { job.adm() } else { job.audio() }.map_err(ctx)?;
    let (d, t) = crate::bwf::origination_now();
    let fragment =
        json!({"key": key, "entry": entry, "html": section, "generated": format!("{d} {t} UTC")});
    crate::io::write_file_atomic(
        &fragment_path(out_dir, &o.name),
        serde_json::to_string_pretty(&fragment)
            .expect("json")
            .as_bytes(),
    )?;
    Ok(Delivered {
        name: o.name.clone(),
        passed: entry["passed"].as_bool().unwrap_or(false),
        cached: false,
        files: file_paths(&entry),
        seconds,
    })
}

fn file_paths(entry: &Value) -> Vec<String> {
    entry["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["path"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The `qc` object of a file in the manifest.
fn qc_json(r: &Report) -> Value {
    let own = r.systems.first();
    let failed: Vec<Value> = r
        .systems
        .iter()
        .flat_map(|s| {
            s.checks
                .iter()
                .filter(|c| !c.passed)
                .map(move |c| json!({"system": s.system, "check": c.check, "measured": c.measured, "detail": c.detail}))
        })
        .chain(r.unapplied_checks.iter().map(|u| json!({"check": u, "detail": "not applied"})))
        .collect();
    json!({
        "passed": r.passed,
        "spec": r.spec,
        "integrated_lufs": own.and_then(|s| s.integrated_lufs),
        "dialogue_gated_lufs": own.and_then(|s| s.dialogue_gated_lufs),
        "true_peak_dbtp": own.and_then(|s| s.true_peak_dbtp),
        "sample_peak_dbfs": own.and_then(|s| s.sample_peak_dbfs),
        "loudness_range_lu": own.and_then(|s| s.loudness_range_lu),
        "max_momentary_lufs": own.and_then(|s| s.max_momentary_lufs),
        "max_short_term_lufs": own.and_then(|s| s.max_short_term_lufs),
        "clipped_samples": own.map_or(0, |s| s.channels.iter().map(|c| c.clipped_samples).sum::<u64>()),
        "failed_checks": failed,
        "systems": r.systems.iter().map(|s| json!({"system": s.system, "integrated_lufs": s.integrated_lufs,
            "true_peak_dbtp": s.true_peak_dbtp, "loudness_change_lu": s.loudness_change_lu})).collect::<Vec<_>>(),
    })
}

/// The files of a sink: path, writer and the bext it carries.
type Writers = Vec<(PathBuf, WavWriter, crate::bwf::Bext)>;

/// One file being written, and how its blocks get there.
struct Sink {
    gain: f32,
    resampler: Option<resample::Stream>,
    analyzer: Analyzer,
    /// One writer (interleaved in `order`), or one per channel (`split`), or none (a measuring pass).
    writers: Writers,
    /// The WAVE channel mask of the written files.
    mask: u32,
    order: Vec<usize>,
    channels: usize,
    scaled: Vec<Vec<f32>>,
    resampled: Vec<Vec<f32>>,
    inter: Vec<f32>,
    mono: Vec<f32>,
}

impl Sink {
    fn push(&mut self, block: &[&[f32]]) -> Result<()> {
        for (s, b) in self.scaled.iter_mut().zip(block) {
            s.clear();
            s.extend(b.iter().map(|x| x * self.gain));
        }
        match self.resampler.as_mut() {
            Some(rs) => {
                let refs: Vec<&[f32]> = self.scaled.iter().map(|v| v.as_slice()).collect();
                rs.push(&refs, &mut self.resampled)?;
                let out = std::mem::take(&mut self.resampled);
                let r = self.emit(&out);
                self.resampled = out;
                r
            }
            None => {
                let out = std::mem::take(&mut self.scaled);
                let r = self.emit(&out);
                self.scaled = out;
                r
            }
        }
    }

    fn emit(&mut self, planar: &[Vec<f32>]) -> Result<()> {
        let m = planar.first().map_or(0, |c| c.len());
        if m == 0 {
            return Ok(());
        }
        let ch = self.channels;
        self.inter.resize(m * ch, 0.0);
        for (c, chan) in planar.iter().enumerate() {
            for (f, &x) in chan.iter().enumerate() {
                self.inter[f * ch + c] = x;
            }
        }
        self.analyzer.push(&self.inter)?;
        if self.writers.len() == 1 {
            for (k, &c) in self.order.iter().enumerate() {
                for (f, &x) in planar[c].iter().enumerate() {
                    self.inter[f * ch + k] = x;
                }
            }
            self.writers[0].1.write(&self.inter)?;
        } else {
            for ((_, w, _), &c) in self.writers.iter_mut().zip(&self.order) {
                self.mono.clear();
                self.mono.extend_from_slice(&planar[c]);
                w.write(&self.mono)?;
            }
        }
        Ok(())
    }

    /// Flushes the resampler and ends the measurement.
    fn finish(mut self) -> Result<(Report, Writers, u32)> {
        if let Some(mut rs) = self.resampler.take() {
            let mut out = std::mem::take(&mut self.resampled);
            rs.finish(&mut out)?;
            self.emit(&out)?;
        }
        Ok((self.analyzer.finish(), self.writers, self.mask))
    }
}

/// A written file, for the report.
struct FileRow {
    path: String,
    sha256: String,
    channels: usize,
    frames: u64,
    rate: u32,
    /// Index of its measurement.
    report: usize,
    note: Option<String>,
}

/// One file set of a pass (the mix, or one stem): its measurement and its writers.
struct Part {
    group: String,
    report: Report,
    writers: Writers,
    mask: u32,
}

/// One output being made.
struct Job<'a> {
    master: &'a Master,
    out_dir: &'a Path,
    o: &'a Output,
    spec: Option<&'a Spec>,
    layout: Option<&'a Layout>,
    hrtf: Option<&'a Path>,
    progress: &'a (dyn Fn(&str, u64, u64) + Sync),
}

/// A renderer of the output's signal: a speaker layout (mix or stems) or headphones.
enum Source {
    Speakers(Box<Renderer>, Option<Vec<usize>>),
    Phones(Box<BinauralStream>),
}

impl Job<'_> {
    fn render_options(&self) -> Result<RenderOptions> {
        let clock = &self.master.clock;
        let start = match &self.o.start {
            Some(s) => clock.position(s, "start")?,
            None => 0.0,
        };
        let end = self
            .o
            .end
            .as_deref()
            .map(|e| clock.position(e, "end"))
            .transpose()?;
        Ok(RenderOptions {
            start,
            end,
            groups: GroupFilter::from_lists(&self.o.only, &self.o.without, &self.master.scene),
            time_reference: clock.time_reference(self.master.scene.sample_rate),
            ..Default::default()
        })
    }

    fn source(&self, opts: &RenderOptions) -> Result<(Source, Vec<String>)> {
        let scene = &self.master.scene;
        match self.layout {
            Some(layout) => {
                let r = Renderer::new(scene, layout, opts)?;
                let groups = r.groups().to_vec();
                if self.o.stems {
                    let idx = (0..groups.len()).collect();
                    Ok((Source::Speakers(Box::new(r), Some(idx)), groups))
                } else {
                    Ok((Source::Speakers(Box::new(r), None), vec![]))
                }
            }
            None => {
                let hrtf = crate::binaural::Hrtf::load(self.hrtf, scene.sample_rate)?;
                Ok((
                    Source::Phones(Box::new(BinauralStream::new(scene, opts, &hrtf)?)),
                    vec![],
                ))
            }
        }
    }

    /// The layout measured (binaural files are measured as a two-channel pair on their own).
    fn measured_layout(&self) -> Result<Layout> {
        match self.layout {
            Some(l) => Ok(l.clone()),
            None => Layout::resolve("stereo"),
        }
    }

    fn systems(&self, layout: &Layout, rate: u32, stem: bool) -> Result<Vec<System>> {
        if self.layout.is_none() || stem {
            return Ok(vec![System::own(layout)]);
        }
        // Full mixes and M&Es: their own layout, the fold-downs and mono (headphones have a
        // deliverable of their own).
        let names: Vec<String> = default_system_names(layout)
            .into_iter()
            .filter(|n| n != "binaural")
            .collect();
        systems_by_name(layout, &names, rate, None)
    }

    /// Renders the output once: every block through one [`Sink`] per file set (the mix, or
    /// each stem). Returns the sets' measurements and writers, the frames rendered and the
    /// master's rate. Without `write`, it only measures (on the own layout).
    fn pass(&self, gain: f32, write: bool) -> Result<(Vec<Part>, u64, u32)> {
        let opts = self.render_options()?;
        let (mut src, groups) = self.source(&opts)?;
        let layout = self.measured_layout()?;
        let rate_in = self.master.scene.sample_rate;
        let rate = self.o.rate.unwrap_or(rate_in);
        let ch = layout.channels();
        // (label for the file, file stem)
        let files: Vec<(String, String)> = if groups.is_empty() {
            vec![(String::new(), self.o.name.clone())]
        } else {
            groups
                .iter()
                .map(|g| (g.clone(), stem_file_stem(&self.o.name, g)))
                .collect()
        };
        let order = match &self.o.order {
            Some(labels) => sheet::channel_order(&layout, labels).map_err(Error::Invalid)?,
            None => (0..ch).collect(),
        };
        // A mask cannot say a reordered file's channels, and a mono file of a split set has
        // none. (A headphone file is measured as stereo: its mask is stereo's, left and right.)
        let natural = order.iter().enumerate().all(|(k, &c)| k == c);
        let mask = if natural && !self.o.split {
            layout.wave_channel_mask().unwrap_or(0)
        } else {
            0
        };
        let tr_in = opts.output_time_reference(rate_in);
        let time_reference = (tr_in as u128 * rate as u128 / rate_in as u128) as u64;
        let mut sinks = Vec::new();
        for (group, stem) in &files {
            let writers = if !write {
                vec![]
            } else if self.o.split {
                order
                    .iter()
                    .map(|&c| {
                        let s = &layout.speakers[c];
                        let p = self.out_dir.join(channel_file(stem, s));
                        self.writer(
                            &p,
                            rate,
                            1,
                            0,
                            time_reference,
                            &format!("{} channel {}", self.o.name, s.label),
                        )
                        .map(|(w, b)| (p, w, b))
                    })
                    .collect::<Result<Vec<_>>>()?
            } else {
                let p = self.out_dir.join(format!("{stem}.wav"));
                let desc = if group.is_empty() {
                    self.o.name.clone()
                } else {
                    format!("{} stem {group}", self.o.name)
                };
                let (w, b) = self.writer(&p, rate, ch, mask, time_reference, &desc)?;
                vec![(p, w, b)]
            };
            // A measuring pass (normalize) needs the own layout only: the loudness target and the
            // true-peak limit apply there.
            let systems = if write {
                self.systems(&layout, rate, !group.is_empty())?
            } else {
                vec![System::own(&layout)]
            };
            sinks.push((
                group.clone(),
                Sink {
                    gain,
                    resampler: if rate != rate_in {
                        Some(resample::Stream::new(rate_in, rate, ch)?)
                    } else {
                        None
                    },
                    analyzer: Analyzer::new(rate, ch, systems, QcOptions::default())?,
                    writers,
                    mask,
                    order: order.clone(),
                    channels: ch,
                    scaled: vec![Vec::new(); ch],
                    resampled: vec![Vec::new(); ch],
                    inter: Vec::new(),
                    mono: Vec::new(),
                },
            ));
        }
        let total = match &src {
            Source::Speakers(r, _) => r.remaining(),
            Source::Phones(p) => p.remaining(),
        };
        let mut done = 0u64;
        let mut frames = 0u64;
        loop {
            let n = match &mut src {
                Source::Speakers(r, stems) => {
                    let n = r.next_block()?;
                    if n == 0 {
                        break;
                    }
                    match stems {
                        None => {
                            let b: Vec<&[f32]> = r.mix().iter().map(|c| &c[..n]).collect();
                            sinks[0].1.push(&b)?;
                        }
                        Some(idx) => {
                            for (k, &g) in idx.iter().enumerate() {
                                let b: Vec<&[f32]> = r.stem(g).iter().map(|c| &c[..n]).collect();
                                sinks[k].1.push(&b)?;
                            }
                        }
                    }
                    frames += n as u64;
                    n
                }
                Source::Phones(p) => match p.next_block()? {
                    None => break,
                    Some((l, r)) => {
                        let m = l.len();
                        sinks[0].1.push(&[l, r])?;
                        frames += m as u64;
                        m.max(1)
                    }
                },
            };
            done += n as u64;
            (self.progress)(&self.o.name, done.min(total), total);
        }
        let mut out = Vec::new();
        for (g, s) in sinks {
            let (report, writers, mask) = s.finish()?;
            out.push(Part {
                group: g,
                report,
                writers,
                mask,
            });
        }
        Ok((out, frames, rate_in))
    }

    fn writer(
        &self,
        p: &Path,
        rate: u32,
        ch: usize,
        mask: u32,
        tr: u64,
        desc: &str,
    ) -> Result<(WavWriter, crate::bwf::Bext)> {
        let mut w = WavWriter::create(p, rate, ch, self.o.format, mask)?;
        w.set_dither_s24(true);
        let mut b = crate::render::output_bext(desc, rate, self.o.format, ch, tr);
        b.originator_reference = self.o.name.clone();
        // Two lines: the render (32-bit float at the master's rate), then this file.
        let master_name = self
            .master
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        b.coding_history = format!(
            "{}{}",
            crate::bwf::coding_history(self.master.scene.sample_rate, 32, ch),
            crate::bwf::coding_history_line(
                rate,
                self.o.format.bits(),
                ch,
                &format!("mixstage deliver {} from {master_name}", self.o.name)
            )
        );
        w.set_bext(&b)?;
        Ok((w, b))
    }

    /// The gain that brings the output to the spec's loudness target, from a measuring pass.
    fn normalize_gain(&self) -> Result<(f64, String)> {
        let Some(spec) = self.spec else {
            return Err(Error::Invalid(
                "normalize: needs a spec (spec: \"ebu-r128\" on the sheet or the output)".into(),
            ));
        };
        let Some(target_check) = spec
            .checks
            .iter()
            .find(|c| matches!(c, Check::IntegratedLoudness { .. }))
        else {
            return Err(Error::Invalid(format!(
                "normalize: spec '{}' has no integrated-loudness target",
                spec.name
            )));
        };
        let Check::IntegratedLoudness { target, .. } = target_check else {
            unreachable!()
        };
        if self.o.stems {
            return Err(Error::Invalid(
                "normalize with stems: give the gain to the full mix output; stems measured apart do not sum to its loudness".into(),
            ));
        }
        let (mut parts, _, _) = self.pass(1.0, false)?;
        let report = &mut parts[0].report;
        // The level that counts is the one the spec checks (programme or dialogue gated): the
        // check's own measurement.
        report.check(&Spec {
            name: spec.name.clone(),
            description: String::new(),
            checks: vec![target_check.clone()],
        });
        let own = report.systems.first();
        let peak = own.and_then(|s| s.true_peak_dbtp);
        let Some(measured) = own.and_then(|s| s.checks.first()).and_then(|c| c.measured) else {
            return Err(Error::Invalid(
                "normalize: the output is silent; there is no loudness to normalize".into(),
            ));
        };
        let gain_db = target - measured;
        for c in &spec.checks {
            if let (Check::MaxTruePeak { limit, .. }, Some(tp)) = (c, peak) {
                if tp + gain_db > *limit {
                    return Err(Error::Invalid(format!(
                        "normalize: bringing {measured:.1} LUFS to the target {target:.1} LUFS takes {gain_db:+.2} dB, and the true peak would then be {:.2} dBTP, above the limit of {limit:.1} dBTP; limit the mix first",
                        tp + gain_db
                    )));
                }
            }
        }
        Ok((
            gain_db,
            format!("normalized from {measured:.2} LUFS by {gain_db:+.2} dB to {target:.1} LUFS"),
        ))
    }

    fn describe(&self, extra: &[String]) -> String {
        let mut d = vec![match self.layout {
            Some(l) => format!("{} ({} channels)", l.name, l.channels()),
            None if self.o.adm => "ADM BWF master".into(),
            None => "binaural (headphones)".into(),
        }];
        if !self.o.only.is_empty() {
            d.push(format!("only {}", self.o.only.join(", ")));
        }
        if !self.o.without.is_empty() {
            d.push(format!("without {}", self.o.without.join(", ")));
        }
        if self.o.stems {
            d.push("one file per stem".into());
        }
        if self.o.split {
            d.push("multi-mono (one file per channel)".into());
        }
        d.push(self.o.format.name().to_string());
        if let Some(r) = self.o.rate {
            d.push(format!("{r} Hz"));
        }
        if let Some(s) = &self.o.start {
            d.push(format!("from {s}"));
        }
        if let Some(e) = &self.o.end {
            d.push(format!("to {e}"));
        }
        d.push(match self.spec {
            Some(s) => format!("checked against {}", s.name),
            None => "measured (no spec)".into(),
        });
        d.extend(extra.iter().cloned());
        d.join("; ")
    }

    /// Renders, measures and writes an audio output: (manifest entry, HTML section, seconds).
    fn audio(&self) -> Result<(Value, String, f64)> {
        let mut notes = Vec::new();
        let gain_db = if self.o.normalize {
            let (g, note) = self.normalize_gain()?;
            notes.push(note);
            g
        } else {
            0.0
        };
        let gain = 10f64.powf(gain_db / 20.0) as f32;
        let (parts, frames, rate_in) = self.pass(gain, true)?;
        let layout_name = match self.layout {
            Some(l) => l.name.clone(),
            None => "binaural".into(),
        };
        let mut files_json = Vec::new();
        let mut reports = Vec::new();
        let mut file_rows: Vec<FileRow> = Vec::new();
        let mut passed = true;
        for Part {
            group,
            mut report,
            writers,
            mask,
        } in parts
        {
            if let Some(spec) = self.spec {
                report.check(spec);
            }
            report.layout = layout_name.clone();
            passed &= report.passed;
            let own = report.systems.first();
            let loud = crate::bwf::BextLoudness {
                integrated_lufs: own.and_then(|s| s.integrated_lufs),
                range_lu: own.and_then(|s| s.loudness_range_lu),
                max_true_peak_dbtp: own.and_then(|s| s.true_peak_dbtp),
                max_momentary_lufs: own.and_then(|s| s.max_momentary_lufs),
                max_short_term_lufs: own.and_then(|s| s.max_short_term_lufs),
            };
            let split = writers.len() > 1;
            for (path, mut w, mut b) in writers {
                let ch = if split {
                    1
                } else {
                    report.systems.first().map_or(0, |s| s.channels.len())
                };
                let rate = report.sample_rate;
                let frames_out = w.stats().frames;
                // A split file is one channel of the measured mix: its bext carries the mix's loudness.
                b.loudness = loud;
                w.set_bext(&b)?;
                w.finalize(rate, mask)?;
                let rel = path
                    .strip_prefix(self.out_dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .to_string();
                let sha = sha256_file(&path)?;
                let bytes = std::fs::metadata(&path)
                    .map_err(|e| Error::io(&path, e))?
                    .len();
                let note = split.then(|| {
                    "one channel of the multi-mono set; measured as the whole mix".to_string()
                });
                files_json.push(json!({
                    "path": rel, "sha256": sha, "bytes": bytes, "channels": ch, "frames": frames_out,
                    "sample_rate": rate, "format": self.o.format.name(), "layout": layout_name,
                    "group": if group.is_empty() { Value::Null } else { json!(group) },
                    "gain_db": gain_db,
                    "qc": qc_json(&report),
                }));
                file_rows.push(FileRow {
                    path: rel,
                    sha256: sha,
                    channels: ch,
                    frames: frames_out,
                    rate,
                    report: reports.len(),
                    note,
                });
            }
            reports.push(report);
        }
        let entry = json!({
            "name": self.o.name, "passed": passed, "description": self.describe(&[]),
            "notes": notes, "files": files_json,
        });
        let files: Vec<html::HtmlFile> = file_rows
            .into_iter()
            .enumerate()
            .map(|(k, r)| html::HtmlFile {
                path: r.path,
                layout: layout_name.clone(),
                format: self.o.format.name().into(),
                channels: r.channels,
                frames: r.frames,
                sample_rate: r.rate,
                sha256: r.sha256,
                // A multi-mono set shows the mix's measurement once, with its first file.
                report: (!self.o.split || k == 0).then(|| &reports[r.report]),
                note: r.note,
            })
            .collect();
        let section = html::deliverable_section(&html::HtmlDeliverable {
            name: self.o.name.clone(),
            passed,
            description: self.describe(&[]),
            files,
            notes: notes
                .iter()
                .cloned()
                .chain(self.master.warnings.iter().map(|w| format!("master: {w}")))
                .collect(),
        })?;
        Ok((entry, section, frames as f64 / rate_in as f64))
    }

    /// Exports the master as ADM BWF and validates it.
    fn adm(&self) -> Result<(Value, String, f64)> {
        use crate::adm::export::{export, ExportOptions, Profile};
        let profile = match self.o.profile.as_deref() {
            Some("dolby") => Profile::Dolby,
            _ => Profile::Ebu,
        };
        let pname = if profile == Profile::Dolby {
            "dolby"
        } else {
            "ebu"
        };
        let path = self.out_dir.join(format!("{}.wav", self.o.name));
        let summary = export(
            &self.master.scene,
            &path,
            &ExportOptions {
                format: self.o.format,
                profile,
            },
            |d, t| (self.progress)(&self.o.name, d, t),
        )?;
        let v = crate::adm::validate::validate(&path, pname, None)?;
        let info = {
            use crate::io::AudioSource;
            crate::io::WavReader::open(&path)?.info().clone()
        };
        let sha = sha256_file(&path)?;
        let bytes = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        let violations: Vec<String> = v
            .violations
            .iter()
            .map(|x| format!("{} [{}]: {}", x.id, x.rule, x.message))
            .collect();
        let passed = v.passed();
        let rel = format!("{}.wav", self.o.name);
        let entry = json!({
            "name": self.o.name, "passed": passed,
            "description": self.describe(&[format!("adm validate --profile {pname}: {} rule(s), {} violation(s)", v.rules, violations.len())]),
            "notes": [],
            "files": [{
                "path": rel, "sha256": sha, "bytes": bytes, "channels": info.channels,
                "frames": info.frames.unwrap_or(0), "sample_rate": info.sample_rate,
                "format": self.o.format.name(), "layout": "adm",
                "qc": {"passed": passed, "validation": {"profile": pname, "rules": v.rules, "violations": violations}},
            }],
        });
        let mut notes = vec![format!(
            "ADM validation ({pname} profile): {} rules checked, {}",
            v.rules,
            if passed {
                "no violation".to_string()
            } else {
                format!("{} violation(s)", violations.len())
            }
        )];
        notes.extend(violations.iter().map(|x| format!("violation: {x}")));
        let section = html::deliverable_section(&html::HtmlDeliverable {
            name: self.o.name.clone(),
            passed,
            description: self.describe(&[]),
            files: vec![html::HtmlFile {
                path: rel,
                layout: "adm".into(),
                format: self.o.format.name().into(),
                channels: info.channels,
                frames: info.frames.unwrap_or(0),
                sample_rate: info.sample_rate,
                sha256: sha,
                report: None,
                note: Some(format!("{} tracks", summary.tracks)),
            }],
            notes,
        })?;
        Ok((
            entry,
            section,
            info.frames.unwrap_or(0) as f64 / info.sample_rate.max(1) as f64,
        ))
    }
}

/// A label made safe for a file name.
fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Merges every output's fragment (in sheet order) into `manifest.json` and `report.html`,
/// under the folder's lock.
fn merge(sheet: &Sheet, master: &Master, out_dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let lock_path = out_dir.join(".mixstage").join("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(&lock_path, e))?;
    lock.lock().map_err(|e| Error::io(&lock_path, e))?;
    let mut entries = Vec::new();
    let mut sections = Vec::new();
    let mut summary = Vec::new();
    let mut generated = String::new();
    for o in &sheet.outputs {
        let Ok(text) = std::fs::read_to_string(fragment_path(out_dir, &o.name)) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        summary.push((
            o.name.clone(),
            v["entry"]["passed"].as_bool().unwrap_or(false),
        ));
        if let Some(g) = v["generated"].as_str() {
            generated = generated.max(g.to_string());
        }
        sections.push(v["html"].as_str().unwrap_or("").to_string());
        entries.push(v["entry"].clone());
    }
    let master_hash = master
        .inputs
        .first()
        .map(|(_, h)| h.clone())
        .unwrap_or_default();
    let manifest = json!({
        "mixstage": env!("CARGO_PKG_VERSION"),
        "sheet": sheet.origin,
        "master": {"path": sheet.master, "sha256": master_hash},
        "spec": sheet.spec,
        "passed": summary.iter().all(|(_, p)| *p),
        "deliverables": entries,
    });
    let mpath = out_dir.join("manifest.json");
    write_if_changed(
        &mpath,
        serde_json::to_string_pretty(&manifest)
            .expect("json")
            .as_bytes(),
    )?;
    let clock = &master.clock;
    let facts = vec![
        (
            "Master".to_string(),
            format!("{} (sha256 {master_hash})", sheet.master),
        ),
        ("Sheet".to_string(), sheet.origin.clone()),
        (
            "Spec".to_string(),
            sheet.spec.clone().unwrap_or_else(|| "none".into()),
        ),
        (
            "Programme start".to_string(),
            format!(
                "{} at {} fps",
                clock
                    .rate
                    .format((clock.start_s * clock.rate.fps()).round() as u64),
                sheet.fps.clone().unwrap_or_else(|| "25".into())
            ),
        ),
        ("Generated".to_string(), generated),
    ];
    let title = format!(
        "QC report: {}",
        Path::new(&sheet.master)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    );
    let page = html::page(&title, &facts, &summary, &sections);
    let rpath = out_dir.join("report.html");
    write_if_changed(&rpath, page.as_bytes())?;
    drop(lock);
    Ok((mpath, rpath))
}
