//! Decoding of compressed and non-WAV formats (FLAC, Ogg Vorbis, MP3, AAC/M4A, ...) through
//! symphonia.
//!
//! [`open`] probes a file, picks its default audio track and returns a [`SymphoniaSource`]: an
//! [`AudioSource`] that decodes one packet at a time and keeps the samples a `read` call did not
//! take for the next one, so memory stays constant whatever the file's length.
//!
//! Behaviour worth knowing (all errors name the file):
//!
//! * **Format from the content**, not the extension (the extension is only a hint): a text file
//!   renamed `.flac` is "not a recognised audio format".
//! * **Rate and channel count come from the first decoded packet**, so files whose headers do
//!   not state them (or state them wrongly) open correctly. A stream whose rate or channel
//!   count changes later (e.g. chained Ogg streams) is rejected rather than mixed up.
//! * **A decode error mid-stream is an error, not a silent truncation or a dropout**: a corrupt
//!   packet stops reading with a message giving the position in seconds. Likewise, a stream that
//!   ends before the frame count its header declares (a truncated FLAC, Ogg or MP4 file) is an
//!   error at the point where the data runs out, and so is a file cut inside its header. Where
//!   the container stores packet timestamps in frames (FLAC, Ogg, MP4), a packet the demuxer
//!   skipped as damaged is detected from the jump in timestamps and is an error too. Not detectable: an Ogg
//!   file cut at a page boundary (Ogg declares no total length), and damage an MP3 demuxer
//!   resynchronises over (MP3 timestamps are counted, not stored). After an error, further
//!   `read` calls return an error too, never more audio.
//! * **Gapless**: encoder delay and padding are trimmed (symphonia's gapless mode), so MP3 with a
//!   LAME tag and Ogg Vorbis decode to exactly the length of the original PCM.
//! * `AudioInfo::frames` is the container's frame count when it is exact, and then exactly that
//!   many frames are delivered: a stream that decodes to more (e.g. the last AAC frame's padding
//!   in MP4) is cut at the declared count; one that decodes to fewer is an error (above). For
//!   MPEG audio files without a LAME tag symphonia only estimates the length from the bit rate;
//!   such files report `frames: None` (their length is known only once they are read).
//! * **Limitation, AAC** (in MP4/M4A, and raw ADTS): symphonia 0.6 neither applies MP4 edit
//!   lists nor trims AAC priming, so the encoder's priming samples (1024 frames from ffmpeg, 2112 from Apple encoders, i.e. 21 to
//!   48 ms of near-silence) stay at the start of the decoded audio, and the length is the
//!   container's media duration including them. Use WAV or FLAC for sync-critical material.
//! * `AudioInfo::channel_mask` is always `None` (channels are in the codec's order).

use std::fs::File;
use std::path::{Path, PathBuf};

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions, CODEC_ID_NULL_AUDIO};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::error::{Error, Result};
use crate::io::{AudioInfo, AudioSource, MAX_CHANNELS};

/// Highest sample rate accepted (guards against hostile headers).
pub const MAX_SAMPLE_RATE: u32 = 1_536_000;

/// Formats symphonia is built with here, for the "not recognised" message.
const KNOWN_FORMATS: &str =
    "WAV/RF64/BW64, FLAC, Ogg (Vorbis, FLAC), MP3, AAC (ADTS), MP4/M4A (AAC), Matroska/WebM";

/// Opens a non-WAV audio file through symphonia.
///
/// Decodes the first packet before returning, so that the sample rate and channel count in
/// [`AudioSource::info`] are those of the decoded audio.
pub fn open(path: &Path) -> Result<Box<dyn AudioSource>> {
    Ok(Box::new(SymphoniaSource::open(path)?))
}

/// A streaming decoder for one audio track of a file symphonia reads.
pub struct SymphoniaSource {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    info: AudioInfo,
    /// Decoded interleaved samples not yet handed out; `pending[pos..]` is still to be read.
    pending: Vec<f32>,
    pos: usize,
    /// Frames decoded so far (handed out or pending).
    decoded: u64,
    /// The frame count the container declares, checked at the end of the stream.
    expected: Option<u64>,
    /// Whether packet timestamps count frames (time base 1/rate), so gaps can be detected.
    sample_timestamps: bool,
    /// The timestamp the next packet must have (the previous packet's end).
    next_pts: Option<i64>,
    done: bool,
    /// The error that stopped reading, repeated by later `read` calls.
    failed: Option<String>,
}

impl SymphoniaSource {
    /// Opens `path`, selects its default audio track and decodes the first packet.
    pub fn open(path: &Path) -> Result<SymphoniaSource> {
        let origin = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| probe_error(path, e))?;

        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| Error::malformed(origin.clone(), "the file has no audio track"))?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| {
                Error::malformed(origin.clone(), "the audio track has no codec parameters")
            })?;
        if let Some(n) = params.channels.as_ref().map(|c| c.count()) {
            if n > MAX_CHANNELS {
                return Err(Error::Limit(format!(
                    "{origin}: {n} channels (at most {MAX_CHANNELS} are accepted)"
                )));
            }
        }
        if params.codec == CODEC_ID_NULL_AUDIO {
            return Err(Error::Unsupported(format!(
                "{origin}: the audio track's codec is not identified"
            )));
        }
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(_) => Error::Unsupported(format!(
                    "{origin}: no decoder for the audio track's codec ({}); supported codecs: FLAC, Vorbis, MP3, AAC-LC, PCM, ADPCM",
                    params.codec
                )),
                other => stream_error(&origin, "cannot set up the decoder", other),
            })?;
        let bits = params.bits_per_sample;
        let track_id = track.id;
        let is_mpeg_audio = format.format_info().short_name.starts_with("mp");
        // Without a LAME tag (which carries the encoder delay) the MP3 reader's length is a
        // bit-rate estimate, not a count.
        let expected = if is_mpeg_audio && track.delay.is_none() {
            None
        } else {
            track.num_frames
        };
        // Timestamps the container stores (not counted by the demuxer), in frames (time base
        // 1/rate), make dropped packets detectable. The MPEG audio and ADTS readers count their
        // timestamps, and the MP3 reader's first packet does not follow the pts + length rule.
        let stores_timestamps =
            matches!(format.format_info().short_name, "flac" | "ogg" | "isomp4");
        let sample_timestamps = stores_timestamps
            && match (track.time_base, params.sample_rate) {
                (Some(tb), Some(rate)) => tb.numer.get() == 1 && tb.denom.get() == rate,
                _ => false,
            };
        let encoding = describe(
            decoder.codec_info().short_name,
            bits,
            format.format_info().short_name,
        );

        let mut src = SymphoniaSource {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            info: AudioInfo {
                sample_rate: 0,
                channels: 0,
                frames: expected,
                channel_mask: None,
                encoding,
            },
            pending: Vec::new(),
            pos: 0,
            decoded: 0,
            expected,
            sample_timestamps,
            next_pts: None,
            done: false,
            failed: None,
        };
        if !src.decode_next()? {
            return Err(Error::malformed(
                origin,
                "the audio track holds no audio (no packet decodes to any samples)",
            ));
        }
        Ok(src)
    }

    fn origin(&self) -> String {
        self.path.display().to_string()
    }

    /// Seconds of audio decoded so far, for error messages.
    fn position(&self) -> String {
        if self.info.sample_rate == 0 {
            "at the start".to_string()
        } else {
            format!(
                "after {:.3} s",
                self.decoded as f64 / self.info.sample_rate as f64
            )
        }
    }

    /// Decodes packets until one yields samples, which replace `pending`. Returns false at the
    /// end of the stream (after checking the length against the container's frame count).
    fn decode_next(&mut self) -> Result<bool> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return self.finish(),
                Err(SymError::ResetRequired) => {
                    return Err(Error::Unsupported(format!(
                        "{}: the stream changes its format {} (e.g. chained Ogg streams)",
                        self.origin(),
                        self.position()
                    )))
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(Error::malformed(
                        self.origin(),
                        format!(
                            "truncated: the file ends inside a packet {}",
                            self.position()
                        ),
                    ))
                }
                Err(e) => {
                    let what = format!("cannot read the next packet {}", self.position());
                    return Err(stream_error(&self.origin(), &what, e));
                }
            };
            if packet.track_id != self.track_id {
                continue;
            }
            if self.sample_timestamps {
                self.check_continuity(packet.pts.get(), packet.block_dur().get())?;
            }
            let position = self.position();
            let buf = match self.decoder.decode(&packet) {
                Ok(buf) => buf,
                Err(e) => {
                    let what = format!("corrupt audio data {position}");
                    return Err(stream_error(&self.path.display().to_string(), &what, e));
                }
            };
            let mut frames = buf.frames();
            if frames == 0 {
                continue;
            }
            let (rate, channels) = (buf.spec().rate(), buf.spec().channels().count());
            check_spec(&self.path, &mut self.info, rate, channels, &position)?;
            copy_interleaved(&buf, &mut self.pending);
            // The container's frame count is authoritative: decoded padding beyond it is dropped.
            if let Some(n) = self.expected {
                let room = n.saturating_sub(self.decoded);
                if room == 0 {
                    return self.finish();
                }
                if (frames as u64) > room {
                    frames = room as usize;
                    self.pending.truncate(frames * channels);
                }
            }
            self.pos = 0;
            self.decoded += frames as u64;
            return Ok(true);
        }
    }

    /// Demuxers skip damaged packets silently (the FLAC reader resynchronises on the next frame):
    /// with frame-counting timestamps, a packet that does not start where the previous one ended
    /// reveals the dropout, which is an error.
    fn check_continuity(&mut self, pts: i64, dur: u64) -> Result<()> {
        if let Some(want) = self.next_pts {
            if pts != want {
                return Err(Error::malformed(
                    self.origin(),
                    format!(
                        "corrupt or missing audio data {}: the stream jumps from frame {want} to frame {pts} \
                         (a damaged packet was skipped)",
                        self.position()
                    ),
                ));
            }
        }
        self.next_pts = i64::try_from(dur).ok().and_then(|d| pts.checked_add(d));
        Ok(())
    }

    /// End of stream: compare the decoded length with the container's frame count.
    fn finish(&mut self) -> Result<bool> {
        self.done = true;
        match self.expected {
            Some(n) if self.decoded < n => Err(Error::malformed(
                self.origin(),
                format!(
                    "truncated: the stream ends after {} of the {n} frames its header declares ({})",
                    self.decoded,
                    self.position()
                ),
            )),
            _ => Ok(false),
        }
    }
}

/// Checks (first packet: records) the decoded rate and channel count.
fn check_spec(
    path: &Path,
    info: &mut AudioInfo,
    rate: u32,
    channels: usize,
    position: &str,
) -> Result<()> {
    let origin = path.display().to_string();
    if info.channels == 0 {
        if channels == 0 {
            return Err(Error::malformed(
                origin,
                "the decoded audio has no channels",
            ));
        }
        if channels > MAX_CHANNELS {
            return Err(Error::Limit(format!(
                "{origin}: {channels} channels (at most {MAX_CHANNELS} are accepted)"
            )));
        }
        if rate == 0 || rate > MAX_SAMPLE_RATE {
            return Err(Error::malformed(
                origin,
                format!("sample rate {rate} Hz (expected 1 to {MAX_SAMPLE_RATE} Hz)"),
            ));
        }
        info.sample_rate = rate;
        info.channels = channels;
        return Ok(());
    }
    if rate != info.sample_rate || channels != info.channels {
        return Err(Error::Unsupported(format!(
            "{origin}: the stream changes from {} Hz, {} channels to {rate} Hz, {channels} channels {position}",
            info.sample_rate, info.channels
        )));
    }
    Ok(())
}

/// Replaces `dst` with the buffer's samples, interleaved and converted to `f32`.
fn copy_interleaved(buf: &GenericAudioBufferRef<'_>, dst: &mut Vec<f32>) {
    dst.clear();
    dst.resize(buf.samples_interleaved(), 0.0);
    buf.copy_to_slice_interleaved(&mut dst[..]);
}

/// "flac, 24-bit, in flac" style description of the codec and container.
fn describe(codec: &str, bits: Option<u32>, container: &str) -> String {
    match bits {
        Some(b) => format!("{codec} {b}-bit ({container} container)"),
        None => format!("{codec} ({container} container)"),
    }
}

/// Maps a probe failure to a clear error.
fn probe_error(path: &Path, e: SymError) -> Error {
    let origin = path.display().to_string();
    match e {
        // The probe scans to the end without an error; an early end is the format reader's,
        // i.e. a recognised format whose header or index is cut short.
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => Error::malformed(
            origin,
            "truncated: the file ends inside its header or index (the container cannot be read)",
        ),
        SymError::IoError(io) => Error::io(path, io),
        SymError::Unsupported(msg) if msg.starts_with("core (probe)") => {
            Error::Unsupported(format!(
            "{origin}: not a recognised audio format (the content matches none of: {KNOWN_FORMATS})"
        ))
        }
        SymError::Unsupported(msg) => {
            Error::Unsupported(format!("{origin}: cannot read the container: {msg}"))
        }
        other => stream_error(&origin, "cannot read the container", other),
    }
}

/// Maps a symphonia error while reading or decoding to a clear error.
fn stream_error(origin: &str, what: &str, e: SymError) -> Error {
    match e {
        SymError::IoError(io) => Error::Malformed {
            origin: origin.to_string(),
            message: format!("{what}: {io}"),
        },
        SymError::DecodeError(msg) => Error::malformed(origin, format!("{what}: {msg}")),
        SymError::Unsupported(msg) => Error::Unsupported(format!("{origin}: {what}: {msg}")),
        SymError::LimitError(msg) => Error::Limit(format!("{origin}: {what}: {msg}")),
        other => Error::malformed(origin, format!("{what}: {other}")),
    }
}

impl AudioSource for SymphoniaSource {
    fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Fills `buf` completely unless the stream ends; a decode error is returned as an error
    /// (see the module documentation).
    fn read(&mut self, buf: &mut [f32]) -> Result<usize> {
        if let Some(first) = &self.failed {
            return Err(Error::malformed(
                self.origin(),
                format!("reading stopped at an earlier error: {first}"),
            ));
        }
        match self.fill(buf) {
            Ok(frames) => Ok(frames),
            Err(e) => {
                self.failed = Some(e.to_string());
                Err(e)
            }
        }
    }
}

impl SymphoniaSource {
    /// Fills `buf` with whole frames from `pending`, decoding packets as needed.
    fn fill(&mut self, buf: &mut [f32]) -> Result<usize> {
        let ch = self.info.channels;
        let want = buf.len() / ch * ch;
        let mut filled = 0;
        while filled < want {
            if self.pos == self.pending.len() && (self.done || !self.decode_next()?) {
                break;
            }
            let n = (want - filled).min(self.pending.len() - self.pos);
            buf[filled..filled + n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
            self.pos += n;
            filled += n;
        }
        Ok(filled / ch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> AudioInfo {
        AudioInfo {
            sample_rate: 0,
            channels: 0,
            frames: None,
            channel_mask: None,
            encoding: String::new(),
        }
    }

    #[test]
    fn first_packet_sets_rate_and_channels() {
        let mut info = blank();
        check_spec(Path::new("a.ogg"), &mut info, 48000, 6, "at the start").unwrap();
        assert_eq!((info.sample_rate, info.channels), (48000, 6));
        check_spec(Path::new("a.ogg"), &mut info, 48000, 6, "after 1 s").unwrap();
    }

    #[test]
    fn a_format_change_mid_stream_is_an_error() {
        let mut info = blank();
        check_spec(Path::new("a.ogg"), &mut info, 44100, 2, "at the start").unwrap();
        let msg = check_spec(Path::new("a.ogg"), &mut info, 48000, 2, "after 2.000 s")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("a.ogg") && msg.contains("44100 Hz") && msg.contains("after 2.000 s"),
            "{msg}"
        );
        assert!(check_spec(Path::new("a.ogg"), &mut info, 44100, 1, "x").is_err());
    }

    #[test]
    fn hostile_channel_counts_and_rates_are_rejected() {
        let err = check_spec(
            Path::new("b.flac"),
            &mut blank(),
            48000,
            MAX_CHANNELS + 1,
            "",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Limit(_)), "{err:?}");
        assert!(err.to_string().contains("b.flac"));
        check_spec(Path::new("b.flac"), &mut blank(), 48000, MAX_CHANNELS, "").unwrap();
        assert!(check_spec(Path::new("b.flac"), &mut blank(), 0, 2, "").is_err());
        assert!(check_spec(
            Path::new("b.flac"),
            &mut blank(),
            MAX_SAMPLE_RATE + 1,
            2,
            ""
        )
        .is_err());
        assert!(check_spec(Path::new("b.flac"), &mut blank(), 48000, 0, "").is_err());
    }
}
