//! Decoding of FLAC, Ogg Vorbis, MP3 and AAC/M4A files through `io::open_audio`.
//!
//! The fixtures in `tests/data/sine_*` are written by `tools/gen_decode_fixtures.py` with the
//! reference encoders (flac, oggenc, lame, ffmpeg) from a sine of known formula, which the tests
//! regenerate here: lossless files must decode bit-exactly, lossy ones within a stated error.

use std::path::{Path, PathBuf};

use mixstage::io::{open_audio, AudioSource};
use mixstage::Error;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The fixture signal (see tools/gen_decode_fixtures.py): channel `c` is a 440·(c+1) Hz sine of
/// amplitude 0.5, quantised to `bits` by rounding; returned as interleaved f32 in [-1, 1).
fn sine(rate: u32, channels: usize, frames: usize, bits: u32) -> Vec<f32> {
    let scale = (1u64 << (bits - 1)) as f64;
    let mut out = Vec::with_capacity(frames * channels);
    for n in 0..frames {
        for c in 0..channels {
            let f = 440.0 * (c + 1) as f64;
            let x = 0.5 * (2.0 * std::f64::consts::PI * f * n as f64 / rate as f64).sin() * scale;
            out.push(((x + 0.5).floor() / scale) as f32);
        }
    }
    out
}

/// Reads a whole source in blocks of `block` frames.
fn read_blocks(src: &mut dyn AudioSource, block: usize) -> mixstage::Result<Vec<f32>> {
    let ch = src.info().channels;
    let mut buf = vec![0f32; block * ch];
    let mut all = Vec::new();
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            return Ok(all);
        }
        assert!(n <= block);
        all.extend_from_slice(&buf[..n * ch]);
    }
}

/// Error of `got` against `want` in dB relative to the reference's power, per channel.
fn error_db(got: &[f32], want: &[f32], channels: usize) -> Vec<f64> {
    (0..channels)
        .map(|c| {
            let (mut e, mut p) = (0.0f64, 0.0f64);
            for (g, w) in got
                .iter()
                .skip(c)
                .step_by(channels)
                .zip(want.iter().skip(c).step_by(channels))
            {
                e += (*g as f64 - *w as f64).powi(2);
                p += (*w as f64).powi(2);
            }
            10.0 * (e / p).log10()
        })
        .collect()
}

#[test]
fn flac_16_bit_stereo_is_bit_exact() {
    let path = data("sine_s16_stereo.flac");
    let mut src = open_audio(&path).unwrap();
    let info = src.info().clone();
    assert_eq!(info.sample_rate, 44100);
    assert_eq!(info.channels, 2);
    assert_eq!(info.frames, Some(11025));
    assert_eq!(info.channel_mask, None);
    assert!(
        info.encoding.contains("flac") && info.encoding.contains("16-bit"),
        "{}",
        info.encoding
    );
    let got = read_blocks(src.as_mut(), 4096).unwrap();
    let want = sine(44100, 2, 11025, 16);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "decoded FLAC differs from the encoded PCM");
    // The tones are really there (guards against a wrong reference): 440 Hz then 880 Hz.
    assert!(want.iter().step_by(2).any(|&s| s > 0.49));
}

#[test]
fn flac_24_bit_three_channels_is_bit_exact() {
    let path = data("sine_s24_3ch.flac");
    let mut src = open_audio(&path).unwrap();
    let info = src.info().clone();
    assert_eq!(
        (info.sample_rate, info.channels, info.frames),
        (48000, 3, Some(1920))
    );
    assert!(info.encoding.contains("24-bit"), "{}", info.encoding);
    let got = read_blocks(src.as_mut(), 1000).unwrap();
    assert!(
        got == sine(48000, 3, 1920, 24),
        "decoded 24-bit FLAC differs from the encoded PCM"
    );
}

#[test]
fn block_size_does_not_change_the_samples() {
    // Odd block sizes exercise the samples kept between reads across packet boundaries.
    for name in [
        "sine_s16_stereo.flac",
        "sine_stereo.ogg",
        "sine_stereo.mp3",
        "sine_stereo.m4a",
    ] {
        let path = data(name);
        let reference = read_blocks(open_audio(&path).unwrap().as_mut(), 4096).unwrap();
        for block in [1, 37, 1000, 100_000] {
            let got = read_blocks(open_audio(&path).unwrap().as_mut(), block).unwrap();
            assert!(
                got == reference,
                "{name}: block size {block} changes the decoded samples"
            );
        }
    }
}

#[test]
fn a_short_buffer_reads_nothing_but_is_not_the_end() {
    let mut src = open_audio(&data("sine_s24_3ch.flac")).unwrap();
    let mut small = [0f32; 2]; // less than one 3-channel frame
    assert_eq!(src.read(&mut small).unwrap(), 0);
    let mut buf = [0f32; 3];
    assert_eq!(src.read(&mut buf).unwrap(), 1);
}

/// Opens a lossy fixture and checks rate, channels, length (`priming` extra frames at the
/// start, see below) and the error against the original PCM delayed by `priming`.
fn check_lossy(name: &str, codec: &str, priming: usize, max_error_db: f64) {
    let path = data(name);
    let mut src = open_audio(&path).unwrap();
    let info = src.info().clone();
    assert_eq!((info.sample_rate, info.channels), (44100, 2), "{name}");
    assert!(info.encoding.contains(codec), "{name}: {}", info.encoding);
    let got = read_blocks(src.as_mut(), 4096).unwrap();
    let frames = 11025 + priming;
    assert_eq!(got.len(), 2 * frames, "{name}: decoded length");
    assert_eq!(info.frames, Some(frames as u64), "{name}: declared length");
    let want = sine(44100, 2, 11025, 16);
    for (c, e) in error_db(&got[2 * priming..], &want, 2)
        .into_iter()
        .enumerate()
    {
        assert!(
            e < max_error_db,
            "{name} channel {c}: error {e:.1} dB (limit {max_error_db} dB)"
        );
    }
    // Sample-accurate alignment: the error is smallest with no shift (the tones' periods are
    // about 100 and 50 frames, so a shift of up to 3 frames cannot find another minimum).
    let range = 8..11025 - 8;
    let shifted_error = |lag: isize| {
        let start = (priming as isize + range.start as isize + lag) as usize;
        let g = &got[2 * start..2 * (start + range.len())];
        error_db(g, &want[2 * range.start..2 * range.end], 2)
            .iter()
            .sum::<f64>()
    };
    let best = (-3..=3)
        .min_by(|a, b| shifted_error(*a).total_cmp(&shifted_error(*b)))
        .unwrap();
    assert_eq!(
        best, 0,
        "{name}: the decoded audio is shifted by {best} frames"
    );
}

#[test]
fn ogg_vorbis_decodes_gaplessly_to_the_original_length_and_tone() {
    check_lossy("sine_stereo.ogg", "vorbis", 0, -30.0);
}

#[test]
fn mp3_with_lame_tag_decodes_gaplessly_to_the_original_length_and_tone() {
    check_lossy("sine_stereo.mp3", "mp3", 0, -20.0);
}

/// symphonia 0.6 ignores MP4 edit lists: ffmpeg's 1024 priming frames stay in (documented in
/// `mixstage::decode`), the trailing padding of the last AAC frame is cut at the declared length.
#[test]
fn aac_in_mp4_keeps_the_priming_frames_and_the_declared_length() {
    check_lossy("sine_stereo.m4a", "aac", 1024, -17.0);
}

fn message(e: Error) -> String {
    e.to_string()
}

/// Reads a file to the end, returning the first error.
fn read_to_end(path: &Path) -> mixstage::Result<usize> {
    let mut src = open_audio(path)?;
    Ok(read_blocks(src.as_mut(), 4096)?.len())
}

#[test]
fn truncated_flac_is_an_error_naming_the_file() {
    let bytes = std::fs::read(data("sine_s16_stereo.flac")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for keep in [bytes.len() * 2 / 3, bytes.len() / 3, bytes.len() - 1] {
        let path = dir.path().join(format!("cut_{keep}.flac"));
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let err = read_to_end(&path).expect_err("a truncated FLAC must not decode silently");
        let msg = message(err);
        assert!(msg.contains(&format!("cut_{keep}.flac")), "{msg}");
        assert!(msg.contains("truncated"), "{msg}");
    }
}

#[test]
fn truncated_lossy_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["sine_stereo.mp3", "sine_stereo.ogg", "sine_stereo.m4a"] {
        let bytes = std::fs::read(data(name)).unwrap();
        let path = dir.path().join(format!("cut_{name}"));
        std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let msg = message(read_to_end(&path).expect_err(name));
        assert!(msg.contains(&format!("cut_{name}")), "{msg}");
    }
}

#[test]
fn flac_cut_inside_its_header_is_an_error() {
    let bytes = std::fs::read(data("sine_s16_stereo.flac")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("header_only.flac");
    for keep in [20, 60] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let msg = message(read_to_end(&path).unwrap_err());
        assert!(
            msg.contains("header_only.flac") && msg.contains("truncated"),
            "{msg}"
        );
    }
}

#[test]
fn corrupt_flac_frame_is_an_error_not_a_dropout() {
    let mut bytes = std::fs::read(data("sine_s16_stereo.flac")).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5A;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.flac");
    std::fs::write(&path, &bytes).unwrap();
    let mut src = open_audio(&path).unwrap();
    let mut buf = vec![0f32; 2 * 4096];
    let mut result = Ok(0);
    for _ in 0..10 {
        result = src.read(&mut buf);
        if !matches!(result, Ok(n) if n > 0) {
            break;
        }
    }
    let msg = message(result.expect_err("a damaged FLAC frame must be an error"));
    // Reading on after the error gives an error again, not the audio after the damage.
    assert!(src.read(&mut buf).is_err());
    // The FLAC reader resynchronises on the next frame; the jump in timestamps gives it away.
    assert!(
        msg.contains("corrupt.flac") && msg.contains("corrupt or missing audio data"),
        "{msg}"
    );
}

#[test]
fn text_file_named_flac_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.flac");
    std::fs::write(
        &path,
        "These are my notes about the mix, not audio.\n".repeat(50),
    )
    .unwrap();
    let err = open_audio(&path)
        .err()
        .expect("a text file must not open as audio");
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");
    let msg = message(err);
    assert!(
        msg.contains("notes.flac") && msg.contains("not a recognised audio format"),
        "{msg}"
    );
}

#[test]
fn tiny_and_missing_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.ogg");
    std::fs::write(&path, b"Og").unwrap();
    let msg = message(open_audio(&path).err().unwrap());
    assert!(msg.contains("x.ogg"), "{msg}");
    let missing = dir.path().join("missing.flac");
    let err = open_audio(&missing).err().unwrap();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn wav_still_opens_natively() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.wav");
    let chans = vec![vec![0.25f32; 10], vec![-0.5f32; 10]];
    mixstage::io::write_all(&path, 48000, &chans, mixstage::io::SampleFormat::S24, 0).unwrap();
    let src = open_audio(&path).unwrap();
    assert!(
        !src.info().encoding.contains("container"),
        "{}",
        src.info().encoding
    );
    assert_eq!(src.info().frames, Some(10));
}
