//! SMPTE timecode (SMPTE ST 12-1): frame rates, drop-frame numbering, and positions given
//! as seconds or as timecode on a programme's clock.
//!
//! * 23.976, 29.97, 47.952, 59.94 (and their drop-frame forms) run 1000/1001 slow against
//!   their nominal 24, 30, 48 and 60 frames per second: a timecode counts nominal frames, and a
//!   frame lasts `1001 / (nominal * 1000)` seconds.
//! * Drop-frame (29.97df, 59.94df) skips frame numbers, not frames: the first two (four at
//!   59.94) numbers of every minute except minutes 0, 10, 20, ... so that the timecode stays
//!   close to the clock on the wall. `00:01:00;02` is frame 1800 and `00:10:00;00` frame 17982.
//! * A [`Clock`] is a programme's start (timecode or samples since midnight, as a BWF
//!   `TimeReference`) and its frame rate. A position on it is either plain seconds from the
//!   programme's start (`12.5`) or an absolute timecode (`01:00:10:00` is 10 s into a programme
//!   starting at `01:00:00:00`).

use crate::error::{Error, Result};

/// A timecode frame rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRate {
    /// Frames counted per timecode second (24, 25, 30, ...).
    pub nominal: u32,
    /// Runs 1000/1001 slow (23.976, 29.97, 59.94, ...).
    pub pulldown: bool,
    /// Drop-frame numbering (29.97df, 59.94df).
    pub drop: bool,
}

/// The rates `--fps` accepts, as written.
pub const RATES: &[&str] = &[
    "23.976", "24", "25", "29.97", "29.97df", "30", "47.952", "48", "50", "59.94", "59.94df", "60",
];

impl FrameRate {
    /// Parses `23.976`, `24`, `25`, `29.97`, `29.97df` (or `29.97ndf`), `30`, `47.952`, `48`,
    /// `50`, `59.94`, `59.94df`, `60`.
    pub fn parse(s: &str) -> Result<FrameRate> {
        let t = s.trim().to_ascii_lowercase();
        let (num, drop) = match t.strip_suffix("ndf") {
            Some(n) => (n, false),
            None => match t.strip_suffix("df") {
                Some(n) => (n, true),
                None => (t.as_str(), false),
            },
        };
        let (nominal, pulldown) = match num {
            "23.976" | "23.98" => (24, true),
            "24" => (24, false),
            "25" => (25, false),
            "29.97" => (30, true),
            "30" => (30, false),
            "47.952" | "47.95" => (48, true),
            "48" => (48, false),
            "50" => (50, false),
            "59.94" => (60, true),
            "60" => (60, false),
            _ => {
                return Err(Error::Invalid(format!(
                    "frame rate '{s}': expected one of {}",
                    RATES.join(", ")
                )))
            }
        };
        if drop && !(pulldown && (nominal == 30 || nominal == 60)) {
            return Err(Error::Invalid(format!(
                "frame rate '{s}': drop-frame exists only for 29.97 and 59.94"
            )));
        }
        Ok(FrameRate {
            nominal,
            pulldown,
            drop,
        })
    }

    /// Frames per second of real time.
    pub fn fps(self) -> f64 {
        if self.pulldown {
            self.nominal as f64 * 1000.0 / 1001.0
        } else {
            self.nominal as f64
        }
    }

    /// Frame numbers dropped per minute (0 unless drop-frame).
    fn dropped(self) -> u64 {
        if self.drop {
            self.nominal as u64 / 15
        } else {
            0
        }
    }

    /// The frame count of `HH:MM:SS:FF` (`;` or `.` before the frames marks drop-frame and is
    /// accepted either way). Errors name the field that is out of range.
    pub fn parse_timecode(self, s: &str) -> Result<u64> {
        let bad = |m: String| Error::Invalid(format!("timecode '{s}': {m}"));
        let parts: Vec<&str> = s.trim().split([':', ';', '.']).collect();
        if parts.len() != 4 || parts.iter().any(|p| p.is_empty() || p.len() > 2) {
            return Err(bad(
                "expected HH:MM:SS:FF (HH:MM:SS;FF for drop-frame)".into()
            ));
        }
        let mut v = [0u64; 4];
        for (i, p) in parts.iter().enumerate() {
            v[i] = p
                .parse()
                .map_err(|_| bad(format!("'{p}' is not a number")))?;
        }
        let [h, m, sec, f] = v;
        if h > 23 {
            return Err(bad(format!("hours {h}: expected 0 to 23")));
        }
        if m > 59 || sec > 59 {
            return Err(bad("minutes and seconds run from 0 to 59".into()));
        }
        if f >= self.nominal as u64 {
            return Err(bad(format!(
                "frame {f}: expected 0 to {} at {} frames",
                self.nominal - 1,
                self.nominal
            )));
        }
        let d = self.dropped();
        if d > 0 && sec == 0 && m % 10 != 0 && f < d {
            return Err(bad(format!(
                "frame {f} does not exist in drop-frame: the first {d} frame numbers of minute {m} are skipped"
            )));
        }
        let minutes = h * 60 + m;
        let nominal_frames = (minutes * 60 + sec) * self.nominal as u64 + f;
        Ok(nominal_frames - d * (minutes - minutes / 10))
    }

    /// The timecode of frame `n` (drop-frame numbering with `;` before the frames).
    pub fn format(self, n: u64) -> String {
        let d = self.dropped();
        let nominal = self.nominal as u64;
        let mut k = n;
        if d > 0 {
            // Undo the numbering: every 10 minutes hold 10 * 60 * nominal - 9 * d frames.
            let per10 = 600 * nominal - 9 * d;
            let per1 = 60 * nominal - d;
            let tens = k / per10;
            let rem = k % per10;
            k += 9 * d * tens;
            if rem >= d {
                k += d * ((rem - d) / per1);
            }
        }
        let f = k % nominal;
        let s = k / nominal;
        format!(
            "{:02}:{:02}:{:02}{}{:02}",
            s / 3600 % 24,
            s / 60 % 60,
            s % 60,
            if self.drop { ';' } else { ':' },
            f
        )
    }

    /// Real-time seconds from midnight of frame `n`.
    pub fn frame_seconds(self, n: u64) -> f64 {
        if self.pulldown {
            n as f64 * 1001.0 / (self.nominal as f64 * 1000.0)
        } else {
            n as f64 / self.nominal as f64
        }
    }
}

/// True if `s` looks like a timecode (`HH:MM:SS:FF` or `;`), not plain seconds.
pub fn is_timecode(s: &str) -> bool {
    s.trim().matches([':', ';']).count() == 3
}

/// A programme's clock: where it starts (seconds since midnight) and its frame rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// The programme's first sample, seconds since midnight.
    pub start_s: f64,
    /// The frame rate timecodes are read at.
    pub rate: FrameRate,
    /// The start as a frame count, when it was given as a timecode (positions are then
    /// computed from frame differences, exactly).
    pub start_frame: Option<u64>,
}

impl Clock {
    /// A clock from a start timecode (`None`: midnight) and a frame rate (`None`: 25).
    pub fn new(start_tc: Option<&str>, fps: Option<&str>) -> Result<Clock> {
        let rate = FrameRate::parse(fps.unwrap_or("25"))?;
        let start_frame = match start_tc {
            Some(tc) => rate.parse_timecode(tc)?,
            None => 0,
        };
        Ok(Clock {
            start_s: rate.frame_seconds(start_frame),
            rate,
            start_frame: Some(start_frame),
        })
    }

    /// A programme's clock: `start_tc` when given, else a master's bext `TimeReference`
    /// (`time_reference` samples at `sample_rate`), else midnight; timecodes read at `fps`
    /// (default 25).
    pub fn for_programme(
        start_tc: Option<&str>,
        fps: Option<&str>,
        time_reference: Option<u64>,
        sample_rate: u32,
    ) -> Result<Clock> {
        let rate = FrameRate::parse(fps.unwrap_or("25"))?;
        match (start_tc, time_reference) {
            (None, Some(tr)) => Ok(Clock::from_time_reference(tr, sample_rate, rate)),
            _ => Clock::new(start_tc, fps),
        }
    }

    /// A clock starting at a BWF `TimeReference` of `samples` at `sample_rate`.
    pub fn from_time_reference(samples: u64, sample_rate: u32, rate: FrameRate) -> Clock {
        Clock {
            start_s: samples as f64 / sample_rate as f64,
            rate,
            start_frame: None,
        }
    }

    /// The programme start as a BWF `TimeReference` at `sample_rate`.
    pub fn time_reference(&self, sample_rate: u32) -> u64 {
        (self.start_s * sample_rate as f64).round() as u64
    }

    /// A position in seconds from the programme's start: plain seconds, or an absolute
    /// timecode on this clock. `what` names the field in errors.
    pub fn position(&self, s: &str, what: &str) -> Result<f64> {
        if is_timecode(s) {
            let n = self
                .rate
                .parse_timecode(s)
                .map_err(|e| Error::Invalid(format!("{what}: {e}")))?;
            let t = match self.start_frame {
                Some(s0) if n >= s0 => self.rate.frame_seconds(n - s0),
                _ => self.rate.frame_seconds(n) - self.start_s,
            };
            if t < -1e-9 {
                return Err(Error::Invalid(format!(
                    "{what} {s}: before the programme's start ({})",
                    self.rate
                        .format((self.start_s * self.rate.fps()).round() as u64)
                )));
            }
            Ok(t.max(0.0))
        } else {
            let t: f64 = s.trim().parse().map_err(|_| {
                Error::Invalid(format!(
                    "{what} '{s}': expected seconds (12.5) or a timecode (01:00:10:00)"
                ))
            })?;
            if !t.is_finite() || t < 0.0 {
                return Err(Error::Invalid(format!(
                    "{what} {s}: expected a non-negative number of seconds"
                )));
            }
            Ok(t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_frame_numbering_follows_smpte_12m() {
        let df = FrameRate::parse("29.97df").unwrap();
        assert_eq!(df.parse_timecode("00:00:59;29").unwrap(), 1799);
        assert_eq!(df.parse_timecode("00:01:00;02").unwrap(), 1800);
        assert_eq!(df.parse_timecode("00:10:00;00").unwrap(), 17982);
        assert_eq!(df.parse_timecode("01:00:00;00").unwrap(), 107_892);
        assert!(df.parse_timecode("00:01:00;00").is_err());
        assert!(df.parse_timecode("00:01:00;01").is_err());
        assert!(df.parse_timecode("00:10:00;01").is_ok());
        for n in [0, 1799, 1800, 17981, 17982, 107_892, 123_457] {
            assert_eq!(
                df.parse_timecode(&df.format(n)).unwrap(),
                n,
                "{}",
                df.format(n)
            );
        }
        assert_eq!(df.format(1800), "00:01:00;02");
        // One hour of drop-frame timecode is 3600 s of wall clock within 3.6 ms.
        assert!((df.frame_seconds(107_892) - 3600.0).abs() < 0.004);
        let df60 = FrameRate::parse("59.94df").unwrap();
        assert_eq!(df60.parse_timecode("00:01:00;04").unwrap(), 3600);
    }

    #[test]
    fn pulldown_rates_run_slow() {
        let r = FrameRate::parse("23.976").unwrap();
        let n = r.parse_timecode("01:00:00:00").unwrap();
        assert_eq!(n, 86_400);
        assert!((r.frame_seconds(n) - 3603.6).abs() < 1e-9);
        let c = Clock::new(Some("01:00:00:00"), Some("23.976")).unwrap();
        assert_eq!(c.time_reference(48_000), 172_972_800);
        let c25 = Clock::new(Some("01:00:00:00"), Some("25")).unwrap();
        assert_eq!(c25.time_reference(48_000), 172_800_000);
        assert_eq!(c25.position("01:00:10:00", "--start").unwrap(), 10.0);
        assert_eq!(c25.position("01:00:10:12", "--start").unwrap(), 10.48);
        assert_eq!(c25.position("2.5", "--start").unwrap(), 2.5);
        assert!(c25.position("00:59:59:00", "--start").is_err());
        assert!(c25.position("-1", "--start").is_err());
        assert!(c25.position("abc", "--start").is_err());
    }

    #[test]
    fn bad_rates_and_fields_are_named() {
        assert!(FrameRate::parse("25df").is_err());
        assert!(FrameRate::parse("31").is_err());
        let r = FrameRate::parse("25").unwrap();
        let e = r.parse_timecode("01:00:00:25").unwrap_err().to_string();
        assert!(e.contains("frame 25"), "{e}");
        assert!(r.parse_timecode("24:00:00:00").is_err());
        assert!(r.parse_timecode("01:00:00").is_err());
        assert_eq!(r.format(90_000), "01:00:00:00");
    }
}
