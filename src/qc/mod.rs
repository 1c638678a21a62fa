//! Quality control: measure a mix on several playback systems and check it against a
//! delivery spec.
//!
//! * [`kweight`]: the BS.1770 K-weighting filter for any sample rate.
//! * [`loudness`]: streaming BS.1770-4 / EBU R128 loudness (integrated, range, momentary,
//!   short-term).
//! * [`truepeak`]: BS.1770 Annex 2 true peak (oversampled to >= 192 kHz).
//! * [`system`]: the playback systems (own layout, fold-downs, mono; open to binaural).
//! * [`meter`]: the per-system meter (loudness, peaks, RMS, clipping, DC, correlation, silence).
//! * [`spec`]: delivery specs as RON data, [`report`]: results, checks, table and JSON,
//!   [`plot`]: SVG pictures.
//!
//! [`Analyzer`] is the streaming entry point: `push` interleaved blocks of the mix (from a
//! file or straight from a renderer), then `finish` for a [`report::Report`].

pub mod html;
pub mod kweight;
pub mod loudness;
pub mod meter;
pub mod plot;
pub mod report;
pub mod spec;
pub mod system;
pub mod truepeak;

use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, Result};
use meter::SystemMeter;
use report::Report;
use system::{System, SystemKind};
use truepeak::Interpolator;

/// Settings of an analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct QcOptions {
    /// Digital silence inside the programme is reported from this length on, seconds.
    pub min_silence_s: f64,
    /// Channel pairs correlated below this cancel in mono and are flagged.
    pub out_of_phase_below: f64,
    /// A stereo system whose mono fold-down loses more than this (LU) is flagged.
    pub mono_loss_warning_lu: f64,
}

impl Default for QcOptions {
    fn default() -> Self {
        QcOptions {
            min_silence_s: 0.5,
            out_of_phase_below: -0.5,
            mono_loss_warning_lu: 6.0,
        }
    }
}

/// Streaming analysis of a mix on several systems.
pub struct Analyzer {
    rate: u32,
    channels: usize,
    options: QcOptions,
    systems: Vec<(System, SystemMeter)>,
    frames: u64,
}

impl Analyzer {
    /// An analyzer for a mix of `channels` channels at `rate` Hz measured on `systems` (the
    /// first should be the mix's own layout).
    pub fn new(
        rate: u32,
        channels: usize,
        systems: Vec<System>,
        options: QcOptions,
    ) -> Result<Analyzer> {
        if !(8000..=768_000).contains(&rate) {
            return Err(Error::Invalid(format!(
                "sample rate {rate} Hz: expected 8000 to 768000 Hz"
            )));
        }
        if systems.is_empty() {
            return Err(Error::Invalid("no system to measure".into()));
        }
        let interp = Arc::new(Interpolator::new(truepeak::oversampling(rate)));
        let min_silence = (options.min_silence_s * rate as f64).round().max(1.0) as u64;
        let systems = systems
            .into_iter()
            .map(|s| {
                let m = SystemMeter::new(&s, rate, interp.clone(), min_silence);
                (s, m)
            })
            .collect();
        Ok(Analyzer {
            rate,
            channels,
            options,
            systems,
            frames: 0,
        })
    }

    /// The sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Measures an interleaved block of the mix. Systems are measured in parallel; every
    /// system's result is independent of the thread count and of the block sizes.
    pub fn push(&mut self, block: &[f32]) -> Result<()> {
        if !block.len().is_multiple_of(self.channels) {
            return Err(Error::Invalid(format!(
                "a block of {} samples is not a whole number of {}-channel frames",
                block.len(),
                self.channels
            )));
        }
        if let Some(i) = block.iter().position(|x| !x.is_finite()) {
            return Err(Error::Invalid(format!(
                "non-finite sample ({}) in channel {} at frame {}",
                block[i],
                i % self.channels + 1,
                self.frames + (i / self.channels) as u64
            )));
        }
        self.systems.par_iter_mut().for_each(|(sys, meter)| {
            let mut buf = std::mem::take(&mut meter.scratch);
            sys.feed.process(block, &mut buf);
            meter.push(&buf);
            meter.scratch = buf;
        });
        self.frames += (block.len() / self.channels) as u64;
        Ok(())
    }

    /// Frames measured so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Ends the measurement and builds the report (without checks; see [`Report::check`]).
    pub fn finish(self) -> Report {
        let rate = self.rate;
        let options = self.options;
        let mut parts: Vec<(System, meter::Measures)> = self
            .systems
            .into_par_iter()
            .map(|(mut sys, mut m)| {
                let mut tail = Vec::new();
                sys.feed.flush(&mut tail);
                if !tail.is_empty() {
                    m.push(&tail);
                }
                (sys, m.finish())
            })
            .collect();
        let own_pairs = parts
            .iter()
            .find(|(s, _)| s.kind == SystemKind::Own)
            .and_then(|(s, m)| {
                m.pairs.clone().map(|p| {
                    (
                        s.labels.clone(),
                        m.channels.iter().map(|c| c.mean_square).collect::<Vec<_>>(),
                        p,
                    )
                })
            });
        let own_integrated = parts
            .iter()
            .find(|(s, _)| s.kind == SystemKind::Own)
            .and_then(|(_, m)| m.loudness.integrated);
        let systems: Vec<report::SystemReport> = parts
            .drain(..)
            .map(|(sys, m)| {
                report::SystemReport::build(
                    &sys,
                    m,
                    rate,
                    own_integrated,
                    own_pairs.as_ref(),
                    &options,
                )
            })
            .collect();
        let layout = systems_layout_name(&systems);
        Report {
            input: None,
            layout,
            sample_rate: rate,
            duration_s: self.frames as f64 / rate as f64,
            spec: None,
            passed: true,
            systems,
            unapplied_checks: Vec::new(),
        }
    }
}

/// The name of the own system (the mix's layout), or the first system's.
fn systems_layout_name(systems: &[report::SystemReport]) -> String {
    systems
        .iter()
        .find(|s| s.kind == SystemKind::Own)
        .or(systems.first())
        .map(|s| s.system.clone())
        .unwrap_or_default()
}
