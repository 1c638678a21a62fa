//! Broadcast Wave metadata: the `bext` chunk of EBU Tech 3285 (version 2).
//!
//! Every WAV mixstage writes carries one. Its fixed part is 602 bytes: description (256),
//! originator (32), originator reference (32), origination date `yyyy-mm-dd` (10) and time
//! `hh:mm:ss` (8), `TimeReference` (u64: the file's first sample counted from midnight, in
//! samples), version (u16, 2), a UMID (64 bytes, zero here), five loudness fields (i16, the
//! value times 100, `0x7FFF` when not measured) and 180 reserved bytes; the coding history
//! (ASCII lines ending in CR LF) follows.
//!
//! mixstage gives the coding history a fixed area of [`CODING_HISTORY_LEN`] bytes, NUL padded,
//! so the chunk has the same size when a writer patches it at the end of a render (the
//! loudness of a deliverable is known only once it has been measured).
//!
//! The origination date and time are `SOURCE_DATE_EPOCH` (seconds since 1970, UTC) when that
//! variable is set, so outputs can be reproduced byte for byte, and the current time otherwise.

use crate::error::{Error, Result};

/// Bytes of the fixed part of a version 2 `bext` chunk.
pub const FIXED_LEN: usize = 602;

/// Bytes mixstage reserves for the coding history (NUL padded).
pub const CODING_HISTORY_LEN: usize = 256;

/// The value of a loudness field that was not measured.
pub const LOUDNESS_UNKNOWN: i16 = 0x7FFF;

/// The loudness fields of a version 2 `bext` chunk (`None`: not measured).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BextLoudness {
    /// Integrated loudness (LoudnessValue), LUFS.
    pub integrated_lufs: Option<f64>,
    /// Loudness range (LoudnessRange), LU.
    pub range_lu: Option<f64>,
    /// Maximum true peak (MaxTruePeakLevel), dBTP.
    pub max_true_peak_dbtp: Option<f64>,
    /// Maximum momentary loudness (MaxMomentaryLoudness), LUFS.
    pub max_momentary_lufs: Option<f64>,
    /// Maximum short-term loudness (MaxShortTermLoudness), LUFS.
    pub max_short_term_lufs: Option<f64>,
}

/// A `bext` chunk's content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bext {
    /// Free description (at most 256 ASCII characters are kept).
    pub description: String,
    /// The tool or organisation that made the file (32 characters).
    pub originator: String,
    /// A reference of the originator's (32 characters).
    pub originator_reference: String,
    /// `yyyy-mm-dd`.
    pub origination_date: String,
    /// `hh:mm:ss`.
    pub origination_time: String,
    /// The first sample's position, in samples since midnight.
    pub time_reference: u64,
    /// Version of the chunk (mixstage writes 2).
    pub version: u16,
    /// The loudness fields (version 2).
    pub loudness: BextLoudness,
    /// The coding history, lines ending in CR LF.
    pub coding_history: String,
}

impl Bext {
    /// mixstage's chunk for a file it writes: originator `mixstage`, the origination date and
    /// time of now (or `SOURCE_DATE_EPOCH`), a coding history line naming the file's format.
    pub fn for_output(description: &str, rate: u32, bits: u16, channels: usize) -> Bext {
        let (date, time) = origination_now();
        Bext {
            description: description.to_string(),
            originator: "mixstage".into(),
            originator_reference: String::new(),
            origination_date: date,
            origination_time: time,
            time_reference: 0,
            version: 2,
            loudness: BextLoudness::default(),
            coding_history: coding_history(rate, bits, channels),
        }
    }

    /// `"yyyy-mm-dd hh:mm:ss"` (trimmed when either part is empty).
    pub fn origination(&self) -> String {
        format!("{} {}", self.origination_date, self.origination_time)
            .trim()
            .to_string()
    }

    /// The chunk's body: the 602 fixed bytes and the coding history in its fixed area of
    /// [`CODING_HISTORY_LEN`] bytes (a longer history is cut at a line end that fits).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(FIXED_LEN + CODING_HISTORY_LEN);
        put_ascii(&mut b, &self.description, 256);
        put_ascii(&mut b, &self.originator, 32);
        put_ascii(&mut b, &self.originator_reference, 32);
        put_ascii(&mut b, &self.origination_date, 10);
        put_ascii(&mut b, &self.origination_time, 8);
        b.extend_from_slice(&self.time_reference.to_le_bytes());
        b.extend_from_slice(&self.version.max(2).to_le_bytes());
        b.extend_from_slice(&[0u8; 64]);
        let l = &self.loudness;
        for v in [
            l.integrated_lufs,
            l.range_lu,
            l.max_true_peak_dbtp,
            l.max_momentary_lufs,
            l.max_short_term_lufs,
        ] {
            b.extend_from_slice(&loudness_field(v).to_le_bytes());
        }
        b.extend_from_slice(&[0u8; 180]);
        debug_assert_eq!(b.len(), FIXED_LEN);
        let mut history = self.coding_history.as_bytes();
        if history.len() > CODING_HISTORY_LEN {
            let cut = history[..CODING_HISTORY_LEN]
                .windows(2)
                .rposition(|w| w == b"\r\n")
                .map_or(CODING_HISTORY_LEN, |i| i + 2);
            history = &history[..cut];
        }
        put_ascii(
            &mut b,
            std::str::from_utf8(history).unwrap_or(""),
            CODING_HISTORY_LEN,
        );
        b
    }

    /// Parses a `bext` chunk body of any version (fields a short or version 0/1 chunk lacks
    /// are left at their defaults).
    pub fn parse(b: &[u8], origin: &str) -> Result<Bext> {
        if b.len() < 346 {
            return Err(Error::malformed(
                format!("{origin}: bext"),
                format!(
                    "{} bytes: a bext chunk has at least 346 (602 for version 2)",
                    b.len()
                ),
            ));
        }
        let text = |lo: usize, hi: usize| {
            let s = &b[lo..hi.min(b.len())];
            let end = s.iter().position(|&x| x == 0).unwrap_or(s.len());
            String::from_utf8_lossy(&s[..end]).trim().to_string()
        };
        let u16_at = |i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
        let version = u16_at(346).unwrap_or(0);
        let field = |i: usize| -> Option<f64> {
            let raw = u16_at(i)? as i16;
            (version >= 2 && raw != LOUDNESS_UNKNOWN).then(|| raw as f64 / 100.0)
        };
        let history_at = FIXED_LEN.min(b.len());
        let history = &b[history_at..];
        let end = history
            .iter()
            .position(|&x| x == 0)
            .unwrap_or(history.len());
        Ok(Bext {
            description: text(0, 256),
            originator: text(256, 288),
            originator_reference: text(288, 320),
            origination_date: text(320, 330),
            origination_time: text(330, 338),
            time_reference: u64::from_le_bytes(b[338..346].try_into().expect("8 bytes")),
            version,
            loudness: BextLoudness {
                integrated_lufs: field(412),
                range_lu: field(414),
                max_true_peak_dbtp: field(416),
                max_momentary_lufs: field(418),
                max_short_term_lufs: field(420),
            },
            coding_history: String::from_utf8_lossy(&history[..end]).to_string(),
        })
    }
}

/// A loudness value as Tech 3285 stores it: `round(value * 100)` as i16, [`LOUDNESS_UNKNOWN`]
/// when absent or not representable (silence measures minus infinity).
pub fn loudness_field(v: Option<f64>) -> i16 {
    match v {
        Some(x) if x.is_finite() => {
            let r = (x * 100.0).round();
            if r > i16::MIN as f64 && r < LOUDNESS_UNKNOWN as f64 {
                r as i16
            } else {
                LOUDNESS_UNKNOWN
            }
        }
        _ => LOUDNESS_UNKNOWN,
    }
}

/// The coding history line of a file mixstage writes: `A=PCM,F=rate,W=bits,M=mode,T=mixstage x.y.z`.
pub fn coding_history(rate: u32, bits: u16, channels: usize) -> String {
    coding_history_line(
        rate,
        bits,
        channels,
        &format!("mixstage {}", env!("CARGO_PKG_VERSION")),
    )
}

/// One coding history line, `A=PCM,F=rate,W=bits,M=mode,T=text` and CR LF (mode `mono`,
/// `stereo` or `multichannel N`).
pub fn coding_history_line(rate: u32, bits: u16, channels: usize, text: &str) -> String {
    let mode = match channels {
        1 => "mono".to_string(),
        2 => "stereo".to_string(),
        n => format!("multichannel {n}"),
    };
    format!("A=PCM,F={rate},W={bits},M={mode},T={text}\r\n")
}

/// ASCII printable characters of `s`, cut or NUL padded to `len` bytes.
fn put_ascii(b: &mut Vec<u8>, s: &str, len: usize) {
    let mut f: Vec<u8> = s
        .bytes()
        .filter(|c| c.is_ascii() && (*c >= 0x20 || *c == b'\r' || *c == b'\n'))
        .take(len)
        .collect();
    f.resize(len, 0);
    b.extend_from_slice(&f);
}

/// The origination date and time: `SOURCE_DATE_EPOCH` when set, now otherwise (UTC).
pub fn origination_now() -> (String, String) {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let tod = secs.rem_euclid(86400);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", tod / 3600, tod / 60 % 60, tod % 60),
    )
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let mut b = Bext::for_output("pm-51", 48_000, 24, 6);
        b.time_reference = 172_800_000;
        b.originator_reference = "job 42".into();
        b.loudness = BextLoudness {
            integrated_lufs: Some(-23.04),
            range_lu: Some(7.3),
            max_true_peak_dbtp: Some(-1.26),
            max_momentary_lufs: None,
            max_short_term_lufs: Some(-15.0),
        };
        let bytes = b.to_bytes();
        assert_eq!(bytes.len(), FIXED_LEN + CODING_HISTORY_LEN);
        let back = Bext::parse(&bytes, "t").unwrap();
        assert_eq!(back.time_reference, 172_800_000);
        assert_eq!(back.version, 2);
        assert_eq!(back.description, "pm-51");
        assert_eq!(back.originator_reference, "job 42");
        assert_eq!(back.loudness.integrated_lufs, Some(-23.04));
        assert_eq!(back.loudness.max_true_peak_dbtp, Some(-1.26));
        assert_eq!(back.loudness.max_momentary_lufs, None);
        assert!(back
            .coding_history
            .starts_with("A=PCM,F=48000,W=24,M=multichannel 6,"));
        // Tech 3285 offsets: TimeReference at 338, Version at 346, LoudnessValue at 412.
        assert_eq!(u16::from_le_bytes([bytes[346], bytes[347]]), 2);
        assert_eq!(i16::from_le_bytes([bytes[412], bytes[413]]), -2304);
        assert_eq!(i16::from_le_bytes([bytes[418], bytes[419]]), 0x7FFF);
    }

    #[test]
    fn loudness_fields_round_and_mark_the_unmeasurable() {
        assert_eq!(loudness_field(Some(-23.004)), -2300);
        assert_eq!(loudness_field(Some(-23.005)), -2301);
        assert_eq!(loudness_field(Some(f64::NEG_INFINITY)), LOUDNESS_UNKNOWN);
        assert_eq!(loudness_field(None), LOUDNESS_UNKNOWN);
        assert_eq!(loudness_field(Some(400.0)), LOUDNESS_UNKNOWN);
    }

    #[test]
    fn a_long_coding_history_is_cut_at_a_line_end() {
        let mut b = Bext::for_output("x", 48_000, 24, 2);
        b.coding_history = "A=PCM,F=48000,W=24,M=stereo\r\n".repeat(20);
        let bytes = b.to_bytes();
        assert_eq!(bytes.len(), FIXED_LEN + CODING_HISTORY_LEN);
        let back = Bext::parse(&bytes, "t").unwrap();
        assert!(back.coding_history.ends_with("\r\n"));
        assert!(back.coding_history.len() <= CODING_HISTORY_LEN);
    }

    #[test]
    fn short_chunks_are_errors_and_version_1_has_no_loudness() {
        assert!(Bext::parse(&[0u8; 100], "f.wav").is_err());
        let mut v1 = vec![0u8; 602];
        v1[346] = 1;
        v1[412] = 5;
        let b = Bext::parse(&v1, "t").unwrap();
        assert_eq!(b.version, 1);
        assert_eq!(b.loudness, BextLoudness::default());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20423), (2025, 12, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11016), (2000, 2, 29));
    }
}
