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
    /// Dialogue-gated loudness stand-in (centre-channel gate), LUFS; systems with a centre only.
    pub dialogue_gated_lufs: Option<f64>,
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

/// Result of an "at most" check.
fn at_most(check: &Check, value: Option<f64>, limit: f64, unit: &str) -> CheckResult {
    match value {
        Some(v) => CheckResult {
            check: check.describe(),
            measured: Some(v),
            passed: v <= limit,
            detail: format!(
                "{v:.1} {unit} ({} the limit {limit:.1})",
                if v <= limit { "within" } else { "above" }
            ),
        },
        None => CheckResult {
            check: check.describe(),
            measured: None,
            passed: true,
            detail: "silent: nothing to measure".into(),
        },
    }
}

impl Report {
    /// Applies `spec` to every system it names, records the results and updates `passed`.
    pub fn check(&mut self, spec: &Spec) {
        self.spec = Some(spec.name.clone());
        for c in &spec.checks {
            let mut applied = false;
            for s in &mut self.systems {
                if applies(&c.systems(), &s.system, s.kind) {
                    let r = evaluate(c, s);
                    s.checks.push(r);
                    applied = true;
                }
            }
            if !applied {
                self.unapplied_checks.push(c.describe());
            }
        }
        self.passed = self
            .systems
            .iter()
            .all(|s| s.checks.iter().all(|c| c.passed));
    }
}

/// Evaluates one check on one system.
fn evaluate(c: &Check, s: &SystemReport) -> CheckResult {
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
                    Some(v) => (Some(v), " (centre-gated)".to_string()),
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
                None => CheckResult {
                    check: describe,
                    measured: None,
                    passed: false,
                    detail: format!(
                        "no gated loudness{note}: the programme is silent or shorter than 400 ms"
                    ),
                },
            }
        }
        Check::MaxTruePeak { limit, .. } => at_most(c, s.true_peak_dbtp, *limit, "dBTP"),
        Check::MaxSamplePeak { limit, .. } => at_most(c, s.sample_peak_dbfs, *limit, "dBFS"),
        Check::MaxShortTerm { limit, .. } => at_most(c, s.max_short_term_lufs, *limit, "LUFS"),
        Check::MaxMomentary { limit, .. } => at_most(c, s.max_momentary_lufs, *limit, "LUFS"),
        Check::MaxLoudnessRange { max, .. } => at_most(c, s.loudness_range_lu, *max, "LU"),
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
            None => CheckResult {
                check: describe,
                measured: None,
                passed: true,
                detail: "not a two-channel system or silent".into(),
            },
        },
        Check::MaxMonoLoss { max } => match s.loudness_change_lu {
            Some(d) => CheckResult {
                check: describe,
                measured: Some(-d),
                passed: -d <= *max,
                detail: format!("mono is {:.1} LU below the mix", -d),
            },
            None => CheckResult {
                check: describe,
                measured: None,
                passed: s.integrated_lufs.is_some(),
                detail: "mono fold-down has no gated loudness".into(),
            },
        },
        Check::NoOutOfPhase { min } => {
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
                t.push_str(&format!("  dialogue-gated (centre) loudness {d:.1} LUFS\n"));
            }
            if let Some(l) = s.mono_loss_lu {
                t.push_str(&format!("  mono fold-down loses {l:.1} LU\n"));
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
            t.push_str(&format!(
                "\nnote: the check '{c}' names no measured system and was not applied\n"
            ));
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
