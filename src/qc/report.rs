//! QC results: per-system measures, spec checks, warnings, and their text and JSON forms.
//!
//! Levels that are minus infinity (silence) are `None` here and `null` in JSON.

use serde::Serialize;

use super::meter::Measures;
use super::spec::{Check, Gating, Spec, Systems};
use super::system::{System, SystemKind};
use super::QcOptions;

/// `20 log10(x)` as `Some` when finite.
fn db(x: f64) -> Option<f64> {
    let d = 20.0 * x.log10();
    d.is_finite().then_some(d)
}

/// Measures of one channel of a system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelReport {
    /// The channel's label.
    pub label: String,
    /// Sample peak, dBFS.
    pub peak_dbfs: Option<f64>,
    /// True peak, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// RMS level, dBFS (a full-scale square wave is 0 dBFS, a full-scale sine -3.01 dBFS).
    pub rms_dbfs: Option<f64>,
    /// Samples at or beyond full scale (|x| >= 32767/32768).
    pub clipped_samples: u64,
    /// Mean sample value (fraction of full scale).
    pub dc_offset: f64,
}

/// A run of digital silence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Silence {
    /// Start, seconds from the beginning.
    pub start_s: f64,
    /// Length, seconds.
    pub duration_s: f64,
}

/// Two channels of the mix that cancel in the mono fold-down.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutOfPhase {
    /// First channel (label in the mix's layout).
    pub a: String,
    /// Second channel.
    pub b: String,
    /// Their correlation as they meet in mono (the sign of the fold-down gains included).
    pub correlation: f64,
    /// Level of the pair in mono relative to an uncorrelated pair, dB (negative: lost).
    pub mono_change_db: Option<f64>,
}

/// The result of one check on one system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// What was checked.
    pub check: String,
    /// The measured value, when there is one.
    pub measured: Option<f64>,
    /// Whether the check passed.
    pub passed: bool,
    /// How the value compares, or why it could not be measured.
    pub detail: String,
}

/// Everything measured on one system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemReport {
    /// The system's name.
    pub system: String,
    /// What kind of system it is.
    pub kind: SystemKind,
    /// Integrated loudness, LUFS.
    pub integrated_lufs: Option<f64>,
    /// Dialogue-gated loudness, LUFS: gated on the centre channel (a stand-in for plain mixes,
    /// systems with a centre only) or, for an ADM master, on its dialogue audioContents.
    pub dialogue_gated_lufs: Option<f64>,
    /// What gates [`SystemReport::dialogue_gated_lufs`]: `centre` or `dialogue contents`.
    pub dialogue_gate: &'static str,
    /// Loudness range, LU.
    pub loudness_range_lu: Option<f64>,
    /// Maximum momentary loudness, LUFS.
    pub max_momentary_lufs: Option<f64>,
    /// Maximum short-term loudness, LUFS.
    pub max_short_term_lufs: Option<f64>,
    /// Largest true peak of the channels, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Largest sample peak of the channels, dBFS.
    pub sample_peak_dbfs: Option<f64>,
    /// Integrated loudness minus that of the mix's own layout, LU (fold-downs and mono).
    pub loudness_change_lu: Option<f64>,
    /// Two-channel systems: correlation of left and right.
    pub correlation: Option<f64>,
    /// Two-channel loudspeaker systems: loudness lost when folded to (L + R) / 2 dual mono, LU.
    pub mono_loss_lu: Option<f64>,
    /// Mono: pairs of the mix's channels that cancel.
    pub out_of_phase: Vec<OutOfPhase>,
    /// Digital silence at the start, seconds.
    pub leading_silence_s: f64,
    /// Digital silence at the end, seconds.
    pub trailing_silence_s: f64,
    /// Runs of digital silence inside the programme.
    pub silences: Vec<Silence>,
    /// Per channel measures.
    pub channels: Vec<ChannelReport>,
    /// Spec checks applied to this system.
    pub checks: Vec<CheckResult>,
    /// Problems worth a look whatever the spec.
    pub warnings: Vec<String>,
    /// Integrated loudness of the mix's own layout, LUFS (for the mono-loss check).
    #[serde(skip)]
    pub own_integrated_lufs: Option<f64>,
    /// True when the channel pairs of the mix were measured for [`SystemReport::out_of_phase`]
    /// (the mono system with the own layout measured, or a one-channel mix with no pairs).
    #[serde(skip)]
    pub phase_measured: bool,
    /// Momentary loudness every 100 ms (LUFS), for plots.
    #[serde(skip)]
    pub momentary: Vec<f64>,
    /// Short-term loudness every 100 ms (LUFS), for plots.
    #[serde(skip)]
    pub short_term: Vec<f64>,
}

/// The whole QC result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The file measured, when it was a file.
    pub input: Option<String>,
    /// The mix's layout.
    pub layout: String,
    /// Sample rate of the mix, Hz.
    pub sample_rate: u32,
    /// Length of the mix, seconds.
    pub duration_s: f64,
    /// The spec checked, if any.
    pub spec: Option<String>,
    /// False when a check failed.
    pub passed: bool,
    /// One entry per system, the mix's own layout first.
    pub systems: Vec<SystemReport>,
    /// Spec checks that named no measured system (they were not applied).
    pub unapplied_checks: Vec<String>,
}

/// Own-layout data the mono row needs: labels, mean squares, mean products `x_i x_j` (`[i * n + j]`, i < j).
pub type OwnPairs = (Vec<String>, Vec<f64>, Vec<f64>);

impl SystemReport {
    /// Builds the report of `sys` from its measures.
    pub fn build(
        sys: &System,
        m: Measures,
        rate: u32,
        own_integrated: Option<f64>,
        own_pairs: Option<&OwnPairs>,
        options: &QcOptions,
    ) -> SystemReport {
        let secs = |frames: u64| frames as f64 / rate as f64;
        let channels: Vec<ChannelReport> = sys
            .labels
            .iter()
            .zip(&m.channels)
            .map(|(label, c)| ChannelReport {
                label: label.clone(),
                peak_dbfs: db(c.peak as f64),
                true_peak_dbtp: db(c.true_peak as f64),
                rms_dbfs: db(c.mean_square.sqrt()),
                clipped_samples: c.clipped,
                dc_offset: c.mean,
            })
            .collect();
        let max = |f: fn(&ChannelReport) -> Option<f64>| {
            channels
                .iter()
                .filter_map(f)
                .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))))
        };
        let integrated = m.loudness.integrated;
        let mono_loss = match (&m.mono_loudness, integrated) {
            (Some(mono), Some(l)) => Some(mono.integrated.map_or(f64::INFINITY, |mi| l - mi)),
            _ => None,
        };
        let phase_measured = match (sys.kind, &sys.mono_gains, own_pairs) {
            (SystemKind::Mono, Some(_), Some(_)) => true,
            (SystemKind::Own, _, _) => sys.labels.len() == 1,
            _ => false,
        };
        let out_of_phase = match (sys.kind, &sys.mono_gains, own_pairs) {
            (SystemKind::Mono, Some(g), Some(p)) => {
                out_of_phase_pairs(g, p, options.out_of_phase_below)
            }
            _ => Vec::new(),
        };
        let mut r = SystemReport {
            system: sys.name.clone(),
            kind: sys.kind,
            integrated_lufs: integrated,
            dialogue_gated_lufs: m.loudness.dialogue_gated,
            dialogue_gate: "centre",
            loudness_range_lu: m.loudness.range,
            max_momentary_lufs: m.loudness.max_momentary,
            max_short_term_lufs: m.loudness.max_short_term,
            true_peak_dbtp: max(|c| c.true_peak_dbtp),
            sample_peak_dbfs: max(|c| c.peak_dbfs),
            loudness_change_lu: match (sys.kind, integrated, own_integrated) {
                (SystemKind::Own, _, _) => None,
                (_, Some(a), Some(b)) => Some(a - b),
                _ => None,
            },
            correlation: m.correlation,
            mono_loss_lu: mono_loss.filter(|x| x.is_finite()),
            out_of_phase,
            leading_silence_s: secs(m.leading_silence),
            trailing_silence_s: secs(m.trailing_silence),
            silences: m
                .silences
                .iter()
                .map(|&(s, n)| Silence {
                    start_s: secs(s),
                    duration_s: secs(n),
                })
                .collect(),
            channels,
            checks: Vec::new(),
            warnings: Vec::new(),
            own_integrated_lufs: own_integrated,
            phase_measured,
            momentary: m.loudness.momentary,
            short_term: m.loudness.short_term,
        };
        r.warnings = r.find_warnings(mono_loss, m.silence_count, options);
        r
    }

    fn find_warnings(
        &self,
        mono_loss: Option<f64>,
        silence_count: u64,
        options: &QcOptions,
    ) -> Vec<String> {
        let mut w = Vec::new();
        let clipped: Vec<String> = self
            .channels
            .iter()
            .filter(|c| c.clipped_samples > 0)
            .map(|c| format!("{} ({})", c.label, c.clipped_samples))
            .collect();
        if !clipped.is_empty() {
            w.push(format!("clipped samples in {}", clipped.join(", ")));
        }
        if let Some(tp) = self.true_peak_dbtp.filter(|&tp| tp > 0.0) {
            w.push(format!(
                "true peak {tp:+.1} dBTP: inter-sample overs will clip a converter"
            ));
        }
        for c in &self.channels {
            if c.dc_offset.abs() >= 0.001 {
                w.push(format!(
                    "{}: DC offset {:+.4} ({:.1} dBFS)",
                    c.label,
                    c.dc_offset,
                    20.0 * c.dc_offset.abs().log10()
                ));
            }
        }
        if let Some(loss) = mono_loss.filter(|&l| l > options.mono_loss_warning_lu) {
            w.push(if loss.is_finite() {
                format!("mono fold-down loses {loss:.1} LU: left and right cancel")
            } else {
                "mono fold-down is silent: left and right cancel completely".into()
            });
        }
        if let Some(r) = self.correlation.filter(|&r| r < 0.0) {
            w.push(format!("negative stereo correlation {r:+.2}"));
        }
        for p in &self.out_of_phase {
            w.push(format!(
                "{} and {} are out of phase (correlation {:+.2}): they cancel in the mono fold-down{}",
                p.a,
                p.b,
                p.correlation,
                p.mono_change_db.map_or(" completely".to_string(), |d| format!(" ({d:+.1} dB)"))
            ));
        }
        if silence_count > 0 {
            let longest = self
                .silences
                .iter()
                .map(|s| s.duration_s)
                .fold(0.0, f64::max);
            w.push(format!(
                "{silence_count} run(s) of digital silence inside the programme (longest {longest:.2} s, first at {})",
                timecode(self.silences.first().map_or(0.0, |s| s.start_s))
            ));
        }
        w
    }
}

/// Pairs of the mix's channels that meet out of phase in mono: both feed the mono signal, both
/// lie within 40 dB of the loudest channel, and their correlation times the sign of their
/// mono gains is below `below`.
fn out_of_phase_pairs(gains: &[f64], own: &OwnPairs, below: f64) -> Vec<OutOfPhase> {
    let (labels, ms, pairs) = own;
    let n = labels.len();
    let loudest = ms.iter().cloned().fold(0.0, f64::max);
    let mut out = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let (gi, gj) = (gains[i], gains[j]);
            if gi == 0.0 || gj == 0.0 || ms[i] <= loudest * 1e-4 || ms[j] <= loudest * 1e-4 {
                continue;
            }
            let r = pairs[i * n + j] / (ms[i] * ms[j]).sqrt() * (gi * gj).signum();
            if r < below {
                let apart = gi * gi * ms[i] + gj * gj * ms[j];
                let together = apart + 2.0 * gi * gj * pairs[i * n + j];
                out.push(OutOfPhase {
                    a: labels[i].clone(),
                    b: labels[j].clone(),
                    correlation: r,
                    mono_change_db: (together > apart * 1e-12)
                        .then(|| 10.0 * (together / apart).log10()),
                });
            }
        }
    }
    out
}

/// `hh:mm:ss.mmm` for seconds.
pub fn timecode(s: f64) -> String {
    let ms = (s * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// True if a check with `systems` applies to a system named `name` of `kind`.
fn applies(systems: &Systems, name: &str, kind: SystemKind) -> bool {
    match systems {
        Systems::Own => kind == SystemKind::Own,
        Systems::All => true,
        Systems::Named(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
    }
}

/// True if `c` is defined on `s` at all; `systems: All` skips the systems where it is not
/// (a stereo correlation on a 5.1 system), while a system named explicitly is checked and
/// fails as not measured.
fn defined_on(c: &Check, s: &SystemReport) -> bool {
    match c {
        Check::MinCorrelation { .. } => s.channels.len() == 2,
        _ => true,
    }
}

/// The fewest short-term values passing the absolute gate for a loudness range: with fewer
/// than two, the 10th and 95th percentiles of EBU Tech 3342 are the same value and the range
/// is 0 LU whatever the programme does.
pub const MIN_LRA_VALUES: usize = 2;

/// The short-term window, seconds.
const SHORT_TERM_S: f64 = 3.0;
/// The momentary window and BS.1770 gating block, seconds.
const MOMENTARY_S: f64 = 0.4;

/// Seconds for a detail: `1.0 s`, or `0.350 s` under a second.
fn secs(d: f64) -> String {
    if d >= 1.0 {
        format!("{d:.1} s")
    } else {
        format!("{d:.3} s")
    }
}

/// True when every sample of the system is zero.
fn silent(s: &SystemReport) -> bool {
    s.sample_peak_dbfs.is_none()
}

/// Why a loudness measure over `window_s` (named `window`) has no value on `s`, or `None`
/// when neither silence nor the programme's length explains it.
fn unmeasured(s: &SystemReport, duration_s: f64, window_s: f64, window: &str) -> Option<String> {
    if duration_s < window_s {
        Some(format!(
            "not measured: the programme ({}) is shorter than the {window}",
            secs(duration_s)
        ))
    } else if silent(s) {
        Some(format!(
            "not measured: the programme is silent on {}",
            s.system
        ))
    } else {
        None
    }
}

/// A failed check that could not be measured.
fn not_measured(check: &Check, detail: String) -> CheckResult {
    CheckResult {
        check: check.describe(),
        measured: None,
        passed: false,
        detail,
    }
}

/// Result of an "at most" check on a value measured by every system (a peak): silence has
/// no peak, which is within any limit.
fn peak_at_most(check: &Check, value: Option<f64>, limit: f64, unit: &str) -> CheckResult {
    match value {
        Some(v) => within(check, v, limit, unit),
        None => CheckResult {
            check: check.describe(),
            measured: None,
            passed: true,
            detail: format!("silent: no sample above -inf {unit}, within the limit {limit:.1}"),
        },
    }
}

/// Result of an "at most" check on a measured value.
fn within(check: &Check, v: f64, limit: f64, unit: &str) -> CheckResult {
    CheckResult {
        check: check.describe(),
        measured: Some(v),
        passed: v <= limit,
        detail: format!(
            "{v:.1} {unit} ({} the limit {limit:.1})",
            if v <= limit { "within" } else { "above" }
        ),
    }
}

/// Result of an "at most" check on a loudness over `window_s`: a missing value fails as not
/// measured, with the reason.
#[allow(clippy::too_many_arguments)]
fn loudness_at_most(
    check: &Check,
    s: &SystemReport,
    duration_s: f64,
    value: Option<f64>,
    limit: f64,
    (window_s, window): (f64, &str),
    unit: &str,
) -> CheckResult {
    match value {
        Some(v) => within(check, v, limit, unit),
        None => not_measured(
            check,
            unmeasured(s, duration_s, window_s, window)
                .unwrap_or_else(|| format!("not measured: no complete {window} holds signal")),
        ),
    }
}

/// Names of the systems in `names` that are not among `measured`.
fn missing_names(names: &[String], measured: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter(|n| !measured.iter().any(|m| m.eq_ignore_ascii_case(n)))
        .cloned()
        .collect()
}

impl Report {
    /// Applies `spec` to every system it names, records the results and updates `passed`. A
    /// check that names no measured system is listed in `unapplied_checks` (with the reason)
    /// and fails the spec.
    pub fn check(&mut self, spec: &Spec) {
        self.spec = Some(spec.name.clone());
        let duration = self.duration_s;
        for c in &spec.checks {
            let systems = c.systems();
            let mut applied = false;
            for s in &mut self.systems {
                let explicit = !matches!(systems, Systems::All);
                if applies(&systems, &s.system, s.kind) && (explicit || defined_on(c, s)) {
                    let r = evaluate(c, s, duration);
                    s.checks.push(r);
                    applied = true;
                }
            }
            if !applied {
                let reason = self.unapplied_reason(c, &systems);
                self.unapplied_checks
                    .push(format!("{}: {reason}", c.describe()));
            }
        }
        self.passed = self.unapplied_checks.is_empty()
            && self
                .systems
                .iter()
                .all(|s| s.checks.iter().all(|c| c.passed));
    }

    /// Why check `c` applied to no system.
    fn unapplied_reason(&self, c: &Check, systems: &Systems) -> String {
        let measured: Vec<&str> = self.systems.iter().map(|s| s.system.as_str()).collect();
        let list = measured.join(", ");
        match systems {
            Systems::Own => format!(
                "the mix's own layout ({}) was not measured (measured: {list}); add 'own' to --systems",
                self.layout
            ),
            Systems::All if matches!(c, Check::MinCorrelation { .. }) => {
                format!("no measured system has two channels (measured: {list})")
            }
            Systems::All => format!("no system was measured (measured: {list})"),
            Systems::Named(names) => {
                let missing = missing_names(names, &measured);
                format!(
                    "it names system(s) {} that were not measured (measured: {list}); add them to --systems",
                    if missing.is_empty() {
                        names.join(", ")
                    } else {
                        missing.join(", ")
                    }
                )
            }
        }
    }
}

/// Evaluates one check on one system of a programme `duration_s` seconds long.
fn evaluate(c: &Check, s: &SystemReport, duration_s: f64) -> CheckResult {
    let describe = c.describe();
    match c {
        Check::IntegratedLoudness {
            target,
            tolerance,
            gating,
            ..
        } => {
            let (value, note) = match gating {
                Gating::Programme => (s.integrated_lufs, String::new()),
                Gating::Dialogue => match s.dialogue_gated_lufs {
                    Some(v) => (Some(v), format!(" ({}-gated)", s.dialogue_gate)),
                    None if s.dialogue_gate != "centre" => {
                        (None, " (the dialogue contents are silent)".into())
                    }
                    None if s.channels.iter().any(|c| c.label == "M+000") => {
                        (None, " (no dialogue in the centre)".into())
                    }
                    None => (
                        s.integrated_lufs,
                        " (no centre channel: programme loudness)".into(),
                    ),
                },
            };
            match value {
                Some(v) => {
                    let dev = v - target;
                    let passed = dev.abs() <= *tolerance + 1e-9;
                    CheckResult {
                        check: describe,
                        measured: Some(v),
                        passed,
                        detail: format!("{v:.1} LUFS{note}, {dev:+.1} LU from the target"),
                    }
                }
                None => not_measured(
                    c,
                    unmeasured(s, duration_s, MOMENTARY_S, "400 ms gating block").unwrap_or_else(
                        || {
                            if note.is_empty() {
                                "not measured: no 400 ms block passes the BS.1770 gates (the programme stays below -70 LUFS)".into()
                            } else {
                                format!("not measured: the {} never pass(es) the BS.1770 gates (no dialogue to gate by)", if s.dialogue_gate == "centre" { "centre channel" } else { "dialogue contents" })
                            }
                        },
                    ),
                ),
            }
        }
        Check::MaxTruePeak { limit, .. } => peak_at_most(c, s.true_peak_dbtp, *limit, "dBTP"),
        Check::MaxSamplePeak { limit, .. } => peak_at_most(c, s.sample_peak_dbfs, *limit, "dBFS"),
        Check::MaxShortTerm { limit, .. } => loudness_at_most(
            c,
            s,
            duration_s,
            s.max_short_term_lufs,
            *limit,
            (SHORT_TERM_S, "3 s short-term window"),
            "LUFS",
        ),
        Check::MaxMomentary { limit, .. } => loudness_at_most(
            c,
            s,
            duration_s,
            s.max_momentary_lufs,
            *limit,
            (MOMENTARY_S, "400 ms momentary window"),
            "LUFS",
        ),
        Check::MaxLoudnessRange { max, .. } => {
            let gated = s
                .short_term
                .iter()
                .filter(|&&l| l >= super::loudness::ABSOLUTE_GATE)
                .count();
            match s.loudness_range_lu {
                Some(v) if gated >= MIN_LRA_VALUES => within(c, v, *max, "LU"),
                _ => not_measured(
                    c,
                    unmeasured(s, duration_s, SHORT_TERM_S, "3 s short-term window")
                        .unwrap_or_else(|| {
                            format!(
                                "not measured: {gated} short-term value(s) pass the -70 LUFS gate; a loudness range needs at least {MIN_LRA_VALUES} (a programme of 3.1 s or more above -70 LUFS)"
                            )
                        }),
                ),
            }
        }
        Check::NoClipping { .. } => {
            let n: u64 = s.channels.iter().map(|c| c.clipped_samples).sum();
            CheckResult {
                check: describe,
                measured: Some(n as f64),
                passed: n == 0,
                detail: format!("{n} clipped samples"),
            }
        }
        Check::MaxSilence { seconds, .. } => {
            let longest = s.silences.iter().map(|r| r.duration_s).fold(0.0, f64::max);
            CheckResult {
                check: describe,
                measured: Some(longest),
                passed: longest <= *seconds,
                detail: format!("longest run inside the programme {longest:.2} s"),
            }
        }
        Check::MinCorrelation { min, .. } => match s.correlation {
            Some(r) => CheckResult {
                check: describe,
                measured: Some(r),
                passed: r >= *min,
                detail: format!("correlation {r:+.2}"),
            },
            None if s.channels.len() != 2 => not_measured(
                c,
                format!(
                    "not measured: {} has {} channel(s); stereo correlation needs two",
                    s.system,
                    s.channels.len()
                ),
            ),
            None => not_measured(
                c,
                if silent(s) {
                    format!("not measured: the programme is silent on {}", s.system)
                } else {
                    "not measured: one of the two channels is silent".into()
                },
            ),
        },
        Check::MaxMonoLoss { max } => mono_loss(c, s, duration_s, *max),
        Check::NoOutOfPhase { min } => {
            if !s.phase_measured {
                return not_measured(
                    c,
                    format!(
                        "not measured: {} is not the mono fold-down of a measured multichannel mix (add 'own' and 'mono' to --systems)",
                        s.system
                    ),
                );
            }
            let bad: Vec<String> = s
                .out_of_phase
                .iter()
                .filter(|p| p.correlation < *min)
                .map(|p| format!("{}/{} {:+.2}", p.a, p.b, p.correlation))
                .collect();
            CheckResult {
                check: describe,
                measured: s
                    .out_of_phase
                    .iter()
                    .map(|p| p.correlation)
                    .reduce(f64::min),
                passed: bad.is_empty(),
                detail: if bad.is_empty() {
                    "none".into()
                } else {
                    bad.join(", ")
                },
            }
        }
    }
}

/// How the mono system's loudness compares with the mix: `d` = mono minus mix, LU.
pub fn mono_change_phrase(d: f64) -> String {
    if d.abs() < 0.05 {
        "mono is as loud as the mix (0.0 LU)".into()
    } else if d < 0.0 {
        format!("mono is {:.1} LU below the mix", -d)
    } else {
        format!("mono is {d:.1} LU above the mix")
    }
}

/// The table line for a stereo system's mono fold-down that loses `loss` LU (negative: gains).
pub fn mono_fold_phrase(loss: f64) -> String {
    if loss.abs() < 0.05 {
        "mono fold-down keeps the loudness (0.0 LU)".into()
    } else if loss > 0.0 {
        format!("mono fold-down loses {loss:.1} LU")
    } else {
        format!("mono fold-down gains {:.1} LU", -loss)
    }
}

/// The mono-loss check on `s` (the mono system, or a one-channel mix measured as itself).
fn mono_loss(c: &Check, s: &SystemReport, duration_s: f64, max: f64) -> CheckResult {
    if let Some(d) = s.loudness_change_lu {
        return CheckResult {
            check: c.describe(),
            measured: Some(-d),
            passed: -d <= max,
            detail: mono_change_phrase(d),
        };
    }
    if s.kind == SystemKind::Own && s.channels.len() == 1 && s.integrated_lufs.is_some() {
        return CheckResult {
            check: c.describe(),
            measured: Some(0.0),
            passed: 0.0 <= max,
            detail: "the mix is mono: nothing is lost".into(),
        };
    }
    if let (None, Some(mix)) = (s.integrated_lufs, s.own_integrated_lufs) {
        return CheckResult {
            check: c.describe(),
            measured: None,
            passed: false,
            detail: format!(
                "the mono fold-down stays below -70 LUFS while the mix is {mix:.1} LUFS: left and right cancel"
            ),
        };
    }
    if let Some(why) = unmeasured(s, duration_s, MOMENTARY_S, "400 ms gating block") {
        return not_measured(c, why);
    }
    match (s.integrated_lufs, s.own_integrated_lufs) {
        (_, None) if s.kind == SystemKind::Own => not_measured(
            c,
            "not measured: the mix has no gated loudness to compare with".into(),
        ),
        (_, None) => not_measured(
            c,
            "not measured: the mix's own layout was not measured or has no gated loudness to compare with (add 'own' to --systems)".into(),
        ),
        _ => not_measured(
            c,
            format!("not measured: {} is not a mono fold-down", s.system),
        ),
    }
}

/// `x.x` or `-inf`.
fn fmt(v: Option<f64>, prec: usize) -> String {
    v.map_or("-inf".to_string(), |x| format!("{x:.prec$}"))
}

impl Report {
    /// The report as a readable table.
    pub fn to_table(&self) -> String {
        let mut t = String::new();
        t.push_str(&format!(
            "duration {}  ({} Hz)\n",
            timecode(self.duration_s),
            self.sample_rate
        ));
        t.push_str(&format!(
            "{:<10} {:>9} {:>7} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7}\n",
            "system", "I LUFS", "LRA LU", "M max", "S max", "TP dBTP", "SP dBFS", "vs mix", "corr"
        ));
        for s in &self.systems {
            t.push_str(&format!(
                "{:<10} {:>9} {:>7} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7}\n",
                s.system,
                fmt(s.integrated_lufs, 1),
                fmt(s.loudness_range_lu, 1),
                fmt(s.max_momentary_lufs, 1),
                fmt(s.max_short_term_lufs, 1),
                fmt(s.true_peak_dbtp, 1),
                fmt(s.sample_peak_dbfs, 1),
                s.loudness_change_lu
                    .map_or("".into(), |d| format!("{d:+.1}")),
                s.correlation.map_or("".into(), |r| format!("{r:+.2}")),
            ));
        }
        for s in &self.systems {
            t.push_str(&format!("\n{} channels:\n", s.system));
            t.push_str(&format!(
                "  {:<8} {:>9} {:>9} {:>9} {:>8} {:>10}\n",
                "channel", "peak", "TP", "RMS", "clipped", "DC"
            ));
            for c in &s.channels {
                t.push_str(&format!(
                    "  {:<8} {:>9} {:>9} {:>9} {:>8} {:>+10.5}\n",
                    c.label,
                    fmt(c.peak_dbfs, 1),
                    fmt(c.true_peak_dbtp, 1),
                    fmt(c.rms_dbfs, 1),
                    c.clipped_samples,
                    c.dc_offset
                ));
            }
            if let Some(d) = s.dialogue_gated_lufs {
                t.push_str(&format!(
                    "  dialogue-gated ({}) loudness {d:.1} LUFS\n",
                    s.dialogue_gate
                ));
            }
            if let Some(l) = s.mono_loss_lu {
                t.push_str(&format!("  {}\n", mono_fold_phrase(l)));
            }
            if s.leading_silence_s > 0.0 || s.trailing_silence_s > 0.0 {
                t.push_str(&format!(
                    "  silence: {:.2} s at the start, {:.2} s at the end\n",
                    s.leading_silence_s, s.trailing_silence_s
                ));
            }
            for c in &s.checks {
                t.push_str(&format!(
                    "  [{}] {}: {}\n",
                    if c.passed { "PASS" } else { "FAIL" },
                    c.check,
                    c.detail
                ));
            }
            for w in &s.warnings {
                t.push_str(&format!("  warning: {w}\n"));
            }
        }
        for c in &self.unapplied_checks {
            t.push_str(&format!("\n[FAIL] check not applied: {c}\n"));
        }
        if let Some(spec) = &self.spec {
            t.push_str(&format!(
                "\nspec {spec}: {}\n",
                if self.passed { "PASSED" } else { "FAILED" }
            ));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;
    use crate::qc::system::systems_by_name;
    use crate::qc::Analyzer;

    /// A 5.1 mix: a 1 kHz tone at -20 dBFS in every main channel, `secs` long, measured on
    /// `systems`.
    fn measure_51(systems: &[&str], secs: f64) -> Report {
        let l = Layout::resolve("5.1").unwrap();
        let names: Vec<String> = systems.iter().map(|s| s.to_string()).collect();
        let sys = systems_by_name(&l, &names, 48000, None).unwrap();
        let mut a = Analyzer::new(48000, 6, sys, QcOptions::default()).unwrap();
        let n = (secs * 48000.0) as usize;
        let mut block = Vec::with_capacity(n * 6);
        for k in 0..n {
            let x = 0.1 * (2.0 * std::f64::consts::PI * 1000.0 * k as f64 / 48000.0).sin();
            for c in 0..6 {
                block.push(if c == 3 { 0.0 } else { x as f32 });
            }
        }
        a.push(&block).unwrap();
        a.finish()
    }

    fn spec(checks: Vec<Check>) -> Spec {
        Spec {
            name: "t".into(),
            description: String::new(),
            checks,
        }
    }

    #[test]
    fn mono_change_reads_right_for_both_signs() {
        assert_eq!(mono_change_phrase(-0.2), "mono is 0.2 LU below the mix");
        assert_eq!(mono_change_phrase(0.3), "mono is 0.3 LU above the mix");
        assert!(!mono_change_phrase(-0.2).contains("-0.2"));
        assert_eq!(mono_fold_phrase(0.2), "mono fold-down loses 0.2 LU");
        assert_eq!(mono_fold_phrase(-0.2), "mono fold-down gains 0.2 LU");
    }

    #[test]
    fn checks_without_their_data_fail() {
        // Stereo correlation named on a 5.1 system, and phase pairs without the own layout.
        let mut r = measure_51(&["5.1", "mono"], 1.0);
        r.check(&spec(vec![
            Check::MinCorrelation {
                min: 0.0,
                systems: Systems::Named(vec!["5.1".into()]),
            },
            Check::NoOutOfPhase { min: -0.5 },
        ]));
        assert!(!r.passed);
        let c = &r.systems[0].checks[0];
        assert!(!c.passed && c.detail.contains("has 6 channel(s)"), "{c:?}");
        assert_eq!(r.systems[1].checks.len(), 1);
        let mut r = measure_51(&["mono"], 1.0);
        r.check(&spec(vec![
            Check::NoOutOfPhase { min: -0.5 },
            Check::MaxMonoLoss { max: 3.0 },
        ]));
        let c = &r.systems[0].checks;
        assert!(
            !c[0].passed && c[0].detail.contains("not measured"),
            "{c:?}"
        );
        assert!(!c[1].passed && c[1].detail.contains("own"), "{c:?}");
        // With the own layout measured both are measured and pass.
        let mut r = measure_51(&["own", "mono"], 1.0);
        r.check(&spec(vec![
            Check::NoOutOfPhase { min: -0.5 },
            Check::MaxMonoLoss { max: 6.0 },
        ]));
        assert!(r.passed, "{:?}", r.systems[1].checks);
        assert!(r.systems[1].checks[1].detail.starts_with("mono is "));
        // Correlation for All skips the systems without two channels; with none left the
        // check is unapplied and fails the spec.
        let mut r = measure_51(&["own", "stereo"], 1.0);
        let corr = Check::MinCorrelation {
            min: 0.0,
            systems: Systems::All,
        };
        r.check(&spec(vec![corr.clone()]));
        assert!(r.systems[0].checks.is_empty() && r.systems[1].checks[0].passed);
        assert!(r.passed);
        let mut r = measure_51(&["own"], 1.0);
        r.check(&spec(vec![corr]));
        assert!(!r.passed);
        assert!(r.unapplied_checks[0].contains("two channels"), "{r:?}");
    }

    #[test]
    fn integrated_loudness_shorter_than_a_block_fails() {
        let mut r = measure_51(&["own"], 0.3);
        r.check(&spec(vec![Check::IntegratedLoudness {
            target: -23.0,
            tolerance: 30.0,
            gating: Gating::Programme,
            systems: Systems::Own,
        }]));
        assert!(!r.passed);
        let d = &r.systems[0].checks[0].detail;
        assert!(d.contains("(0.300 s) is shorter than the 400 ms"), "{d}");
    }
}
