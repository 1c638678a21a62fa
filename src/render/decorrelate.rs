//! BS.2127's decorrelation filters for the diffuse path (ITU-R BS.2127-1 §7.4; the EBU ADM
//! Renderer's `core/objectbased/decorrelate.py`).
//!
//! Each output channel gets a 512-tap all-pass FIR with random phase: 255 phases drawn
//! uniformly from `[0, 2 pi)` for the bins between DC and Nyquist (both 0), made real by an
//! inverse real FFT. The random numbers are the raw 32-bit outputs of the Mersenne Twister
//! (MT19937, seeded as numpy's legacy `RandomState(seed)` seeds it) divided by 2^32; the seed
//! of a channel is the index of its name in the sorted list of the layout's channel names, so a
//! channel has the same filter whatever layout it is in.

/// Filter length, taps.
pub const TAPS: usize = 512;

/// The filters' group delay (the centre of the all-pass), samples.
pub const DELAY: usize = (TAPS - 1) / 2;

/// The MT19937 generator (Matsumoto and Nishimura, 1998) with its reference seeding.
pub struct Mt19937 {
    state: [u32; 624],
    index: usize,
}

impl Mt19937 {
    /// Seeds the generator as `init_genrand(seed)` does (numpy's legacy integer seeding).
    pub fn new(seed: u32) -> Mt19937 {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, index: 624 }
    }

    fn twist(&mut self) {
        for i in 0..624 {
            let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7fff_ffff);
            let mut v = self.state[(i + 397) % 624] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            self.state[i] = v;
        }
        self.index = 0;
    }

    /// The next raw 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

/// The decorrelation filter with seed `seed` (TAPS coefficients).
pub fn filter(seed: u32) -> Vec<f64> {
    use realfft::num_complex::Complex;
    let mut rng = Mt19937::new(seed);
    let bins = TAPS / 2 + 1;
    let mut spectrum = vec![Complex::new(0.0f64, 0.0); bins];
    spectrum[0] = Complex::new(1.0, 0.0);
    spectrum[bins - 1] = Complex::new(1.0, 0.0);
    for s in spectrum.iter_mut().take(bins - 1).skip(1) {
        let phase = 2.0 * std::f64::consts::PI * (rng.next_u32() as f64 / 4_294_967_296.0);
        *s = Complex::from_polar(1.0, phase);
    }
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let inverse = planner.plan_fft_inverse(TAPS);
    let mut out = vec![0.0; TAPS];
    inverse
        .process(&mut spectrum, &mut out)
        .expect("buffer sizes match the plan");
    out.iter_mut().for_each(|x| *x /= TAPS as f64);
    out
}

/// The seed of each channel of a layout: the index of its label among the sorted labels.
pub fn seeds(labels: &[String]) -> Vec<u32> {
    let mut sorted: Vec<&String> = labels.iter().collect();
    sorted.sort();
    labels
        .iter()
        .map(|l| {
            sorted
                .iter()
                .position(|s| *s == l)
                .expect("a label of the layout") as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_the_reference_sequence() {
        // The reference implementation's 10000th output for init_genrand(5489).
        let mut r = Mt19937::new(5489);
        let mut last = 0;
        for _ in 0..10000 {
            last = r.next_u32();
        }
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn filters_are_all_pass() {
        let f = filter(3);
        let energy: f64 = f.iter().map(|x| x * x).sum();
        assert!((energy - 1.0).abs() < 1e-12, "{energy}");
    }
}
