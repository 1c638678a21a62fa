//! ADM times as exact fractions of a second.
//!
//! BS.2076 writes times as `hh:mm:ss.fffff` (any number of decimals) and, since BS.2076-2,
//! as `hh:mm:ss.nnnnnSddddd` (seconds plus `nnnnn/ddddd`, the form for sample-exact times).
//! BS.2127 places block boundaries at `ceil(time * sample_rate)`, so times are kept exact:
//! a decimal time parsed into a float and multiplied by the rate can land a sample off.

use std::cmp::Ordering;
use std::fmt;

/// Most decimals kept exactly; more are rounded to this many (a femtosecond).
const MAX_DECIMALS: usize = 15;
/// Largest denominator accepted in the `S` form.
const MAX_DENOMINATOR: i128 = 1_000_000_000_000;
/// Longest time accepted (hours): guards the arithmetic against absurd values.
const MAX_HOURS: i128 = 1_000;
/// Largest denominator a sum keeps exactly. Real files use powers of ten and sample rates,
/// whose sums stay far below it; a hostile file can mix denominators that share no factor
/// (1e15 with primes near 1e12), whose sums would overflow `i128`: past this bound a sum is
/// rounded to the nearest femtosecond ([`GRID`]) instead.
const MAX_EXACT_DEN: i128 = 1_000_000_000_000_000_000;
/// The grid of rounded sums: a femtosecond.
const GRID: i128 = 1_000_000_000_000_000;

/// A non-negative time in seconds as a reduced fraction `num / den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Time {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

impl Time {
    /// Zero seconds.
    pub const ZERO: Time = Time { num: 0, den: 1 };

    /// `num / den` seconds, reduced. `den` must be positive.
    pub fn new(num: i128, den: i128) -> Time {
        assert!(den > 0, "time denominator must be positive");
        let g = gcd(num, den);
        Time {
            num: num / g,
            den: den / g,
        }
    }

    /// Whole seconds.
    pub fn seconds(s: i128) -> Time {
        Time::new(s, 1)
    }

    /// The time in seconds as a float (for display and non-critical arithmetic).
    pub fn as_secs(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// `self + other`: exact, unless the common denominator would pass [`MAX_EXACT_DEN`]
    /// (then rounded to a femtosecond).
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: Time) -> Time {
        let g = gcd(self.den, other.den);
        let exact = (self.den / g)
            .checked_mul(other.den)
            .filter(|&d| d <= MAX_EXACT_DEN)
            .and_then(|den| {
                let a = self.num.checked_mul(den / self.den)?;
                let b = other.num.checked_mul(den / other.den)?;
                Some(Time::new(a.checked_add(b)?, den))
            });
        exact.unwrap_or_else(|| Time::new(self.on_grid().saturating_add(other.on_grid()), GRID))
    }

    /// The numerator of this time rounded to the nearest `1 / GRID` s.
    fn on_grid(self) -> i128 {
        let q = self.num.div_euclid(self.den);
        let r = self.num.rem_euclid(self.den);
        let f = match r.checked_mul(GRID) {
            Some(x) => (x + self.den / 2) / self.den,
            None => ((r as f64 / self.den as f64) * GRID as f64).round() as i128,
        };
        q.saturating_mul(GRID).saturating_add(f)
    }

    /// `self - other` (may be negative).
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, other: Time) -> Time {
        self.add(Time {
            num: -other.num,
            den: other.den,
        })
    }

    /// True if the time is below zero.
    pub fn is_negative(self) -> bool {
        self.num < 0
    }

    /// The first sample at or after this time: `ceil(time * rate)` (BS.2127's rule).
    pub fn ceil_samples(self, rate: u32) -> i64 {
        // Whole seconds and the fraction apart, so that `num * rate` cannot overflow.
        let rate = rate as i128;
        let whole = self.num.div_euclid(self.den).saturating_mul(rate);
        let n = self.num.rem_euclid(self.den) * rate;
        let q = n.div_euclid(self.den);
        let r = n.rem_euclid(self.den);
        whole
            .saturating_add(if r > 0 { q + 1 } else { q })
            .clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// The time in samples as a float, `time * rate` (exact up to float rounding).
    pub fn samples_f64(self, rate: u32) -> f64 {
        let rate = rate as i128;
        let whole = self.num.div_euclid(self.den).saturating_mul(rate);
        let n = self.num.rem_euclid(self.den) * rate;
        let q = n.div_euclid(self.den);
        let r = n.rem_euclid(self.den);
        (whole + q) as f64 + r as f64 / self.den as f64
    }

    /// Parses a BS.2076 time: `hh:mm:ss.fffff` (any number of decimals, or none),
    /// `hh:mm:ss.nSd` (BS.2076-2 fraction form), or plain decimal seconds (`1.5`).
    pub fn parse(text: &str) -> Result<Time, String> {
        let t = text.trim();
        let expected = "expected a time as hh:mm:ss.fffff (or hh:mm:ss.nSd)";
        let bad = || format!("'{text}' is not a time: {expected}");
        let parts: Vec<&str> = t.split(':').collect();
        let (h, m, rest) = match parts.as_slice() {
            [h, m, s] => (
                parse_int(h).ok_or_else(bad)?,
                parse_int(m).ok_or_else(bad)?,
                *s,
            ),
            [s] => (0, 0, *s),
            _ => return Err(bad()),
        };
        if m >= 60 && parts.len() == 3 {
            return Err(format!("'{text}': minutes must be below 60"));
        }
        if h > MAX_HOURS {
            return Err(format!("'{text}': more than {MAX_HOURS} hours"));
        }
        let whole_and_frac = Time::seconds(h * 3600 + m * 60);
        let secs = if let Some((s, frac)) = rest.split_once('S') {
            // BS.2076-2: "ss.nnnSddd" = ss + nnn/ddd seconds.
            let (sec, numer) = s.split_once('.').ok_or_else(bad)?;
            let sec = parse_int(sec).ok_or_else(bad)?;
            let numer = parse_int(numer).ok_or_else(bad)?;
            let den = parse_int(frac).ok_or_else(bad)?;
            if den == 0 || den > MAX_DENOMINATOR {
                return Err(format!(
                    "'{text}': the fraction's denominator must be 1 to {MAX_DENOMINATOR}"
                ));
            }
            if numer >= den {
                return Err(format!(
                    "'{text}': the fraction {numer}/{den} must be below one second"
                ));
            }
            Time::seconds(sec).add(Time::new(numer, den))
        } else {
            let (sec, frac) = rest.split_once('.').unwrap_or((rest, ""));
            let sec = parse_int(sec).ok_or_else(bad)?;
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let digits = frac.len().min(MAX_DECIMALS);
            let mut numer: i128 = if digits == 0 {
                0
            } else {
                frac[..digits].parse().map_err(|_| bad())?
            };
            // Round (half up) what lies beyond the kept decimals.
            if frac.len() > MAX_DECIMALS && frac.as_bytes()[MAX_DECIMALS] >= b'5' {
                numer += 1;
            }
            Time::seconds(sec).add(Time::new(numer, 10i128.pow(digits as u32)))
        };
        if parts.len() == 3 && secs.num >= 60 * secs.den {
            return Err(format!("'{text}': seconds must be below 60"));
        }
        Ok(whole_and_frac.add(secs))
    }
}

fn parse_int(s: &str) -> Option<i128> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Ord for Time {
    fn cmp(&self, other: &Time) -> Ordering {
        // Whole seconds first, then the fractions (each below 1, so the cross products of
        // denominators up to MAX_EXACT_DEN fit in i128).
        let (q1, r1) = (self.num.div_euclid(self.den), self.num.rem_euclid(self.den));
        let (q2, r2) = (
            other.num.div_euclid(other.den),
            other.num.rem_euclid(other.den),
        );
        q1.cmp(&q2).then_with(
            || match (r1.checked_mul(other.den), r2.checked_mul(self.den)) {
                (Some(a), Some(b)) => a.cmp(&b),
                _ => (r1 as f64 / self.den as f64).total_cmp(&(r2 as f64 / other.den as f64)),
            },
        )
    }
}

impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Time) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_secs();
        let h = (s / 3600.0).floor();
        let m = ((s - h * 3600.0) / 60.0).floor();
        write!(f, "{:02}:{:02}:{:08.5}", h, m, s - h * 3600.0 - m * 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_times_exactly() {
        assert_eq!(Time::parse("00:00:01.5").unwrap(), Time::new(3, 2));
        assert_eq!(
            Time::parse("01:02:03.25").unwrap(),
            Time::new(3723 * 4 + 1, 4)
        );
        assert_eq!(Time::parse("00:00:00").unwrap(), Time::ZERO);
        assert_eq!(
            Time::parse("00:00:00.123456789").unwrap(),
            Time::new(123_456_789, 1_000_000_000)
        );
        // 0.1 s is exactly 4800 samples at 48 kHz: no float rounding.
        let t = Time::parse("00:00:00.1").unwrap();
        assert_eq!(t.ceil_samples(48000), 4800);
        assert_eq!(Time::parse("2.5").unwrap(), Time::new(5, 2));
    }

    #[test]
    fn parses_the_fraction_form() {
        let t = Time::parse("00:00:00.1S48000").unwrap();
        assert_eq!(t, Time::new(1, 48000));
        assert_eq!(t.ceil_samples(48000), 1);
        assert_eq!(
            Time::parse("00:00:02.24000S48000").unwrap(),
            Time::new(2 * 48000 + 24000, 48000)
        );
    }

    #[test]
    fn ceil_follows_bs2127() {
        // 5 decimals (Pro Tools): 0.00001 s at 48 kHz is 0.48 samples -> sample 1.
        let t = Time::parse("00:00:00.00001").unwrap();
        assert_eq!(t.ceil_samples(48000), 1);
        assert_eq!(Time::ZERO.ceil_samples(48000), 0);
        assert!((t.samples_f64(48000) - 0.48).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_times() {
        for bad in [
            "",
            "abc",
            "00:00",
            "00:61:00",
            "00:00:61",
            "-1",
            "00:00:01.x",
            "1S2",
            "00:00:00.5S0",
            "00:00:00.2S1",
        ] {
            assert!(Time::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sums_of_coprime_denominators_do_not_overflow() {
        // Femtoseconds plus fractions over large primes (a hostile file): the sums would
        // overflow i128 if kept exact; they are rounded to a femtosecond instead.
        let a = Time::parse("00:00:01.000000000000001").unwrap();
        let b = Time::parse("00:00:00.1S999999999989").unwrap();
        let c = Time::parse("00:00:00.7S999999999971").unwrap();
        let s = a.add(b).add(c).add(a.add(c)).sub(b);
        assert!((s.as_secs() - 2.0).abs() < 1e-9);
        assert!(s > Time::seconds(1) && s < Time::seconds(3));
        assert_eq!(a.add(b).cmp(&a.add(b)), Ordering::Equal);
        let _ = s.ceil_samples(1_536_000);
        let _ = s.samples_f64(1_536_000);
        // Real denominators stay exact.
        let t = Time::parse("00:00:00.1S48000")
            .unwrap()
            .add(Time::parse("00:00:00.00001").unwrap());
        assert_eq!(t, Time::new(1, 48000).add(Time::new(1, 100_000)));
    }

    #[test]
    fn orders_and_adds() {
        let a = Time::new(1, 3);
        let b = Time::new(1, 2);
        assert!(a < b);
        assert_eq!(a.add(b), Time::new(5, 6));
        assert_eq!(a.sub(b), Time::new(-1, 6));
        assert!(a.sub(b).is_negative());
    }
}
