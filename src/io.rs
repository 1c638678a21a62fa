//! Audio file input and output shared by every command.
//!
//! * [`WavReader`]: a streaming reader for RIFF/WAVE, RF64 and BW64 files: PCM 16/24/32-bit
//!   integer, 32/64-bit float, plain or WAVE_FORMAT_EXTENSIBLE (channel mask read when present).
//!   Truncated and malformed files are reported with the file name and what is wrong.
//! * [`open_audio`]: opens any supported file (WAV natively, FLAC and others via symphonia)
//!   as an [`AudioSource`] that yields interleaved `f32` blocks.
//! * [`WavWriter`]: writes 16/24-bit integer or 32-bit float WAV, WAVE_FORMAT_EXTENSIBLE
//!   with a channel mask only when the mask is true, RF64 once the data passes 4 GiB.
//!   It writes to a temporary file beside the target and renames it on [`WavWriter::finalize`]:
//!   a failed or interrupted write never leaves a truncated file under the final name.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use rayon::prelude::*;

/// Sample encodings mixstage writes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum SampleFormat {
    /// 16-bit integer PCM, with TPDF dither.
    S16,
    /// 24-bit integer PCM.
    S24,
    /// 32-bit IEEE float (the default: no clipping, bit-exact round trips).
    #[default]
    F32,
}

impl SampleFormat {
    /// Bits per sample.
    pub fn bits(self) -> u16 {
        match self {
            SampleFormat::S16 => 16,
            SampleFormat::S24 => 24,
            SampleFormat::F32 => 32,
        }
    }
    /// True for integer formats (which clip at full scale).
    pub fn is_integer(self) -> bool {
        self != SampleFormat::F32
    }

    /// The name used on the command line and in manifests: `s16`, `s24`, `f32`.
    pub fn name(self) -> &'static str {
        match self {
            SampleFormat::S16 => "s16",
            SampleFormat::S24 => "s24",
            SampleFormat::F32 => "f32",
        }
    }
}

/// What an input file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: usize,
    /// Number of frames, when known from the header.
    pub frames: Option<u64>,
    /// The WAVE_FORMAT_EXTENSIBLE channel mask, when present and non-zero.
    pub channel_mask: Option<u32>,
    /// A human-readable description of the encoding, e.g. "24-bit PCM".
    pub encoding: String,
}

/// A stream of interleaved `f32` audio in blocks.
pub trait AudioSource: Send {
    /// The stream's format.
    fn info(&self) -> &AudioInfo;
    /// Reads up to `buf.len() / channels` frames into `buf` (interleaved); returns the number
    /// of frames read, 0 at the end of the stream.
    fn read(&mut self, buf: &mut [f32]) -> Result<usize>;
    /// The WAV reader behind this source, if it is one (for its planar fast path,
    /// [`WavReader::read_planar`]).
    fn as_wav_mut(&mut self) -> Option<&mut WavReader> {
        None
    }
}

/// Largest channel count accepted from a file header (guards against hostile files).
pub const MAX_CHANNELS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Int(u16),
    Float(u16),
}

/// Streaming WAV / RF64 / BW64 reader.
pub struct WavReader {
    path: PathBuf,
    reader: BufReader<File>,
    info: AudioInfo,
    encoding: Encoding,
    bytes_per_frame: usize,
    frames_left: u64,
    raw: Vec<u8>,
}

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The tail shared by the KSDATAFORMAT_SUBTYPE GUIDs (after the 2-byte format code + 2 zero bytes).
const GUID_TAIL: [u8; 12] = [
    0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// The tail of the Ambisonic B-format sub-format GUIDs (`.amb` files:
/// `00000001-0721-11D3-8644-C8C1CA000000` for PCM, `00000003-...` for IEEE float); the
/// samples are plain PCM or float, in FuMa channel order.
const AMB_GUID_TAIL: [u8; 12] = [
    0x21, 0x07, 0xD3, 0x11, 0x86, 0x44, 0xC8, 0xC1, 0xCA, 0x00, 0x00, 0x00,
];

impl WavReader {
    /// Opens a WAV, RF64 or BW64 file and reads its header.
    pub fn open(path: &Path) -> Result<WavReader> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let origin = path.display().to_string();
        let bad = |m: String| Error::malformed(origin.clone(), m);
        let mut head = [0u8; 12];
        read_exact(&mut reader, &mut head)
            .map_err(|_| bad("not a WAV file: shorter than a RIFF header (12 bytes)".into()))?;
        let riff = &head[0..4];
        if !(riff == b"RIFF" || riff == b"RF64" || riff == b"BW64") || &head[8..12] != b"WAVE" {
            return Err(bad(
                "not a WAV file: expected a RIFF/RF64/BW64 header with form type WAVE".into(),
            ));
        }
        let is64 = riff != b"RIFF";
        let mut ds64_data: Option<u64> = None;
        let mut fmt: Option<(Encoding, usize, u32, Option<u32>, String)> = None;
        let mut pos = 12u64;
        loop {
            let mut ch = [0u8; 8];
            if read_exact(&mut reader, &mut ch).is_err() {
                return Err(bad(if fmt.is_none() {
                    "truncated or malformed WAV: no 'fmt ' chunk".into()
                } else {
                    "truncated or malformed WAV: no 'data' chunk".into()
                }));
            }
            pos += 8;
            let id = [ch[0], ch[1], ch[2], ch[3]];
            let size32 = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
            match &id {
                b"ds64" => {
                    // Checked against the file's length before allocating (a hostile size).
                    if size32 < 24 || pos + size32 as u64 > file_len {
                        return Err(bad("malformed RF64: 'ds64' chunk too short".into()));
                    }
                    let mut b = vec![0u8; size32 as usize];
                    if read_exact(&mut reader, &mut b).is_err() {
                        return Err(bad("malformed RF64: 'ds64' chunk too short".into()));
                    }
                    ds64_data = Some(u64::from_le_bytes(b[8..16].try_into().unwrap()));
                    pos += size32 as u64;
                    if size32 & 1 == 1 {
                        reader
                            .seek(SeekFrom::Current(1))
                            .map_err(|e| Error::io(path, e))?;
                        pos += 1;
                    }
                }
                b"fmt " => {
                    if !(16..=1024).contains(&size32) {
                        return Err(bad(format!(
                            "malformed WAV: 'fmt ' chunk of {size32} bytes (expected 16 to 40)"
                        )));
                    }
                    let mut b = vec![0u8; size32 as usize];
                    read_exact(&mut reader, &mut b)
                        .map_err(|_| bad("truncated WAV inside the 'fmt ' chunk".into()))?;
                    pos += size32 as u64;
                    if size32 & 1 == 1 {
                        // Odd-size padding, as every other chunk.
                        reader
                            .seek(SeekFrom::Current(1))
                            .map_err(|e| Error::io(path, e))?;
                        pos += 1;
                    }
                    fmt = Some(parse_fmt(&b).map_err(bad)?);
                }
                b"data" => {
                    let (encoding, channels, rate, mask, desc) = fmt.clone().ok_or_else(|| {
                        bad("malformed WAV: 'data' chunk before the 'fmt ' chunk".into())
                    })?;
                    let bytes_per_frame = channels
                        * match encoding {
                            Encoding::Int(b) | Encoding::Float(b) => (b / 8) as usize,
                        };
                    let remaining = file_len.saturating_sub(pos);
                    let declared = if is64 && size32 == u32::MAX {
                        ds64_data.ok_or_else(|| {
                            bad("malformed RF64: data size 0xFFFFFFFF but no 'ds64' chunk".into())
                        })?
                    } else if size32 == u32::MAX || (size32 == 0 && remaining > 0) {
                        // Streamed files that never patched the size: read to the end.
                        remaining
                    } else {
                        size32 as u64
                    };
                    if declared > remaining {
                        return Err(bad(format!(
                            "truncated WAV: the 'data' chunk declares {declared} bytes but the file ends after {remaining} ({} of {} frames present)",
                            remaining / bytes_per_frame as u64,
                            declared / bytes_per_frame as u64
                        )));
                    }
                    let frames = declared / bytes_per_frame as u64;
                    return Ok(WavReader {
                        path: path.to_path_buf(),
                        reader,
                        info: AudioInfo {
                            sample_rate: rate,
                            channels,
                            frames: Some(frames),
                            channel_mask: mask,
                            encoding: desc,
                        },
                        encoding,
                        bytes_per_frame,
                        frames_left: frames,
                        raw: Vec::new(),
                    });
                }
                _ => {
                    let skip = size32 as u64 + (size32 as u64 & 1);
                    if pos + skip > file_len {
                        return Err(bad(format!(
                            "truncated WAV: chunk '{}' runs past the end of the file",
                            String::from_utf8_lossy(&id)
                        )));
                    }
                    reader
                        .seek(SeekFrom::Current(skip as i64))
                        .map_err(|e| Error::io(path, e))?;
                    pos += skip;
                }
            }
        }
    }

    /// The file this reader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_exact(r: &mut impl Read, b: &mut [u8]) -> std::io::Result<()> {
    r.read_exact(b)
}

type FmtInfo = (Encoding, usize, u32, Option<u32>, String);

fn parse_fmt(b: &[u8]) -> std::result::Result<FmtInfo, String> {
    let u16at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let mut tag = u16at(0);
    let channels = u16at(2) as usize;
    let rate = u32at(4);
    let block_align = u16at(12) as usize;
    let bits = u16at(14);
    let mut mask = None;
    if tag == WAVE_FORMAT_EXTENSIBLE {
        if b.len() < 40 {
            return Err(
                "malformed WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk: shorter than 40 bytes".into(),
            );
        }
        let m = u32at(20);
        if m != 0 {
            mask = Some(m);
        }
        if b[28..40] != GUID_TAIL && b[28..40] != AMB_GUID_TAIL {
            return Err(
                "unsupported WAVE_FORMAT_EXTENSIBLE sub-format GUID (expected PCM or IEEE float, or their Ambisonic B-format forms)"
                    .into(),
            );
        }
        tag = u16at(24);
    }
    if channels == 0 {
        return Err("the 'fmt ' chunk declares 0 channels".into());
    }
    if channels > MAX_CHANNELS {
        return Err(format!(
            "the 'fmt ' chunk declares {channels} channels; at most {MAX_CHANNELS} are accepted"
        ));
    }
    if rate == 0 || rate > 1_536_000 {
        return Err(format!(
            "the 'fmt ' chunk declares a sample rate of {rate} Hz (expected 1 to 1536000)"
        ));
    }
    let encoding = match (tag, bits) {
        (WAVE_FORMAT_PCM, 16 | 24 | 32) => Encoding::Int(bits),
        (WAVE_FORMAT_PCM, 8) => return Err("unsupported: 8-bit PCM WAV".into()),
        (WAVE_FORMAT_IEEE_FLOAT, 32 | 64) => Encoding::Float(bits),
        (WAVE_FORMAT_PCM | WAVE_FORMAT_IEEE_FLOAT, _) => {
            return Err(format!("unsupported sample size {bits} bits (expected 16, 24 or 32-bit integer, 32 or 64-bit float)"))
        }
        (t, _) => return Err(format!("unsupported WAV format tag 0x{t:04X} (expected PCM or IEEE float)")),
    };
    if block_align != channels * (bits as usize / 8) {
        return Err(format!(
            "inconsistent 'fmt ' chunk: block align {block_align} for {channels} channels of {bits} bits"
        ));
    }
    let desc = match encoding {
        Encoding::Int(b) => format!("{b}-bit PCM"),
        Encoding::Float(b) => format!("{b}-bit float"),
    };
    Ok((encoding, channels, rate, mask, desc))
}

impl AudioSource for WavReader {
    fn info(&self) -> &AudioInfo {
        &self.info
    }

    fn as_wav_mut(&mut self) -> Option<&mut WavReader> {
        Some(self)
    }

    fn read(&mut self, buf: &mut [f32]) -> Result<usize> {
        let ch = self.info.channels;
        let want = self.read_raw(buf.len() / ch)?;
        let (enc, raw) = (self.encoding, &self.raw);
        let out = &mut buf[..want * ch];
        match enc {
            Encoding::Int(16) => decode_into::<2>(raw, 2, 0, out, dec_s16),
            Encoding::Int(24) => decode_into::<3>(raw, 3, 0, out, dec_s24),
            Encoding::Int(_) => decode_into::<4>(raw, 4, 0, out, dec_s32),
            Encoding::Float(32) => decode_into::<4>(raw, 4, 0, out, dec_f32),
            Encoding::Float(_) => decode_into::<8>(raw, 8, 0, out, dec_f64),
        }
        Ok(want)
    }
}

impl WavReader {
    /// Reads the raw bytes of up to `frames` frames into `self.raw`; returns the frames read.
    fn read_raw(&mut self, frames: usize) -> Result<usize> {
        let want = (frames as u64).min(self.frames_left) as usize;
        if want == 0 {
            return Ok(0);
        }
        self.raw.resize(want * self.bytes_per_frame, 0);
        self.reader.read_exact(&mut self.raw).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::malformed(
                    self.path.display().to_string(),
                    "truncated WAV: the file ended inside the audio data",
                )
            } else {
                Error::io(&self.path, e)
            }
        })?;
        self.frames_left -= want as u64;
        Ok(want)
    }

    /// Reads the next `frames` frames of only the channels `tracks` (0-based), decoding each
    /// straight into its own buffer of `out` (one per entry of `tracks`, resized to `frames`;
    /// frames past the end of the file are zero). Channels are decoded in parallel. Returns the
    /// frames read from the file. A non-finite float sample is an error naming its channel.
    pub fn read_planar(
        &mut self,
        tracks: &[usize],
        out: &mut [Vec<f32>],
        frames: usize,
    ) -> Result<usize> {
        let at = self
            .info
            .frames
            .unwrap_or(0)
            .saturating_sub(self.frames_left);
        let got = self.read_raw(frames)?;
        let (enc, raw, stride) = (self.encoding, &self.raw[..], self.bytes_per_frame);
        let path = &self.path;
        // Each worker decodes a share of the channels (a multiple of eight).
        // Few channels (a mono source, read inside a parallel job already): one share.
        let share = if tracks.len() < 16 {
            tracks.len().max(1)
        } else {
            tracks
                .len()
                .div_ceil(rayon::current_num_threads())
                .next_multiple_of(8)
        };
        out.par_chunks_mut(share)
            .zip(tracks.par_chunks(share))
            .try_for_each(|(outs, ts)| -> Result<()> {
                for o in outs.iter_mut() {
                    o.resize(frames, 0.0);
                    o[got..].iter_mut().for_each(|x| *x = 0.0);
                }
                match enc {
                    Encoding::Int(16) => decode_tracks::<2>(raw, stride, ts, outs, got, dec_s16),
                    Encoding::Int(24) => decode_tracks::<3>(raw, stride, ts, outs, got, dec_s24),
                    Encoding::Int(_) => decode_tracks::<4>(raw, stride, ts, outs, got, dec_s32),
                    Encoding::Float(32) => decode_tracks::<4>(raw, stride, ts, outs, got, dec_f32),
                    Encoding::Float(_) => decode_tracks::<8>(raw, stride, ts, outs, got, dec_f64),
                }
                if let Encoding::Float(_) = enc {
                    for (o, &t) in outs.iter().zip(ts) {
                        if let Some(f) = o[..got].iter().position(|x| !x.is_finite()) {
                            return Err(Error::malformed(
                                path.display().to_string(),
                                format!(
                                    "non-finite sample (NaN or infinity) in channel {} at frame {}; audio must be finite",
                                    t + 1,
                                    at + f as u64
                                ),
                            ));
                        }
                    }
                }
                Ok(())
            })?;
        Ok(got)
    }
}

/// Decodes samples of `W` bytes found every `stride` bytes of `raw`, starting at `offset`,
/// into `out` (one per stride; `raw` must hold `out.len()` strides).
#[inline]
fn decode_into<const W: usize>(
    raw: &[u8],
    stride: usize,
    offset: usize,
    out: &mut [f32],
    conv: impl Fn([u8; W]) -> f32 + Copy,
) {
    if out.is_empty() {
        return;
    }
    if stride == W {
        // One channel: contiguous samples (this loop vectorises).
        for (o, b) in out.iter_mut().zip(raw.chunks_exact(W)) {
            *o = conv(b.try_into().expect("W bytes"));
        }
        return;
    }
    for (o, b) in out.iter_mut().zip(raw[offset..].chunks(stride)) {
        *o = conv(b[..W].try_into().expect("W bytes"));
    }
}

/// Decodes the first `frames` frames of channels `ts` (frames of `stride` bytes, samples of
/// `W` bytes) of `raw` into `outs`. Eight consecutive channels are decoded together, eight
/// frames at a time (a transpose the compiler keeps in registers); others one by one.
fn decode_tracks<const W: usize>(
    raw: &[u8],
    stride: usize,
    ts: &[usize],
    outs: &mut [Vec<f32>],
    frames: usize,
    conv: impl Fn([u8; W]) -> f32 + Copy,
) {
    let mut k = 0;
    while k < ts.len() {
        let run = k + 8 <= ts.len() && (1..8).all(|j| ts[k + j] == ts[k] + j);
        if run {
            decode_run8::<W>(raw, stride, ts[k] * W, frames, &mut outs[k..k + 8], conv);
            k += 8;
        } else {
            decode_into::<W>(raw, stride, ts[k] * W, &mut outs[k][..frames], conv);
            k += 1;
        }
    }
}

/// [`decode_tracks`] for eight consecutive channels starting at byte `base` of each frame.
// Index loops on purpose: in this form the compiler keeps the tile in registers.
#[allow(clippy::needless_range_loop)]
fn decode_run8<const W: usize>(
    raw: &[u8],
    stride: usize,
    base: usize,
    frames: usize,
    outs: &mut [Vec<f32>],
    conv: impl Fn([u8; W]) -> f32 + Copy,
) {
    let outs = &mut outs[..8];
    let whole = frames / 8 * 8;
    // Written so that the compiler keeps the 8 x 8 tile in registers (no memset/memcpy calls
    // per tile); measured with callgrind at about 3 instructions per sample for 16-bit.
    for f0 in (0..whole).step_by(8) {
        let mut blk = [[0f32; 8]; 8];
        for i in 0..8 {
            let p = (f0 + i) * stride + base;
            let row = &raw[p..p + 8 * W];
            for j in 0..8 {
                let mut b = [0u8; W];
                for q in 0..W {
                    b[q] = row[W * j + q];
                }
                blk[j][i] = conv(b);
            }
        }
        for j in 0..8 {
            outs[j][f0..f0 + 8].copy_from_slice(&blk[j]);
        }
    }
    for (j, o) in outs.iter_mut().enumerate() {
        let tail = &raw[whole * stride..];
        decode_into::<W>(tail, stride, base + j * W, &mut o[whole..frames], conv);
    }
}

fn dec_s16(b: [u8; 2]) -> f32 {
    i16::from_le_bytes(b) as f32 / 32768.0
}

fn dec_s24(b: [u8; 3]) -> f32 {
    (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0
}

fn dec_s32(b: [u8; 4]) -> f32 {
    (i32::from_le_bytes(b) as f64 / 2_147_483_648.0) as f32
}

fn dec_f32(b: [u8; 4]) -> f32 {
    f32::from_le_bytes(b)
}

fn dec_f64(b: [u8; 8]) -> f32 {
    f64::from_le_bytes(b) as f32
}

/// Reads from `src` until `buf` (interleaved) is full or the stream ends; returns the frames
/// read. Fewer than `buf.len() / channels` frames means the stream has ended.
pub fn read_frames(src: &mut dyn AudioSource, buf: &mut [f32]) -> Result<usize> {
    let ch = src.info().channels;
    let mut filled = 0;
    while filled < buf.len() {
        let n = src.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n * ch;
    }
    Ok(filled / ch)
}

/// Opens an audio file of any supported format as a block source: WAV/RF64/BW64 natively,
/// everything else (FLAC, Ogg Vorbis, MP3, AAC, ...) through symphonia.
pub fn open_audio(path: &Path) -> Result<Box<dyn AudioSource>> {
    let mut magic = [0u8; 12];
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let n = f.read(&mut magic).map_err(|e| Error::io(path, e))?;
    if n >= 12
        && (&magic[0..4] == b"RIFF" || &magic[0..4] == b"RF64" || &magic[0..4] == b"BW64")
        && &magic[8..12] == b"WAVE"
    {
        return Ok(Box::new(WavReader::open(path)?));
    }
    if n == 0 {
        return Err(Error::malformed(
            path.display().to_string(),
            "the file is empty",
        ));
    }
    crate::decode::open(path)
}

/// Reads a whole file into planar channels (for tests and small inputs only).
pub fn read_all(path: &Path) -> Result<(AudioInfo, Vec<Vec<f32>>)> {
    let mut src = open_audio(path)?;
    let info = src.info().clone();
    let mut chans = vec![Vec::new(); info.channels];
    let mut buf = vec![0f32; 4096 * info.channels];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for f in 0..n {
            for (c, ch) in chans.iter_mut().enumerate() {
                ch.push(buf[f * info.channels + c]);
            }
        }
    }
    Ok((info, chans))
}

/// Level statistics a writer gathers while writing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteStats {
    /// Frames written.
    pub frames: u64,
    /// Per channel: the largest absolute sample value before quantisation.
    pub peak: Vec<f32>,
    /// Per channel: samples beyond full scale that an integer format had to clip.
    pub clipped: Vec<u64>,
}

/// Streaming WAV writer; see the module documentation.
pub struct WavWriter {
    target: PathBuf,
    temp: PathBuf,
    out: Option<BufWriter<File>>,
    channels: usize,
    format: SampleFormat,
    data_bytes: u64,
    stats: WriteStats,
    dither: u64,
    bytes: Vec<u8>,
    /// Chunks written between `fmt ` and `data` (serialised, padded).
    extra: Vec<u8>,
    /// The form type of a file past 4 GiB: `RF64`, or `BW64` for ADM masters.
    big_id: [u8; 4],
    /// Where the `bext` chunk's body lies in `extra` (offset, length), for [`WavWriter::set_bext`].
    bext_at: Option<(usize, usize)>,
    /// 24-bit output is dithered too (16-bit output always is).
    dither_s24: bool,
}

/// Size of the RIFF header we write before the data: RIFF(12) + JUNK(8+28) + fmt(8+40) + data(8).
const HEADER_LEN: u64 = 12 + 36 + 48 + 8;

impl WavWriter {
    /// Creates `<target>.<pid>.tmp` beside `target` and writes a provisional header.
    /// `channel_mask` is written as given (0 for "no speaker positions").
    pub fn create(
        target: &Path,
        sample_rate: u32,
        channels: usize,
        format: SampleFormat,
        channel_mask: u32,
    ) -> Result<WavWriter> {
        Self::create_with_chunks(target, sample_rate, channels, format, channel_mask, &[])
    }

    /// [`WavWriter::create`] for a BW64 file (an ADM master): `chunks` (such as `bext`,
    /// `chna` and `axml`) are written between `fmt ` and `data`, and a file past 4 GiB
    /// becomes `BW64` with a `ds64` chunk (ITU-R BS.2088) instead of `RF64`.
    pub fn create_bw64(
        target: &Path,
        sample_rate: u32,
        channels: usize,
        format: SampleFormat,
        chunks: &[([u8; 4], Vec<u8>)],
    ) -> Result<WavWriter> {
        let mut w = Self::create_with_chunks(target, sample_rate, channels, format, 0, chunks)?;
        w.big_id = *b"BW64";
        Ok(w)
    }

    fn create_with_chunks(
        target: &Path,
        sample_rate: u32,
        channels: usize,
        format: SampleFormat,
        channel_mask: u32,
        chunks: &[([u8; 4], Vec<u8>)],
    ) -> Result<WavWriter> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(Error::Invalid(format!(
                "cannot write a WAV with {channels} channels"
            )));
        }
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        check_output_path(target)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "out.wav".into());
        let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = File::create(&temp).map_err(|e| Error::io(&temp, e))?;
        register_temporary(&temp);
        let mut w = WavWriter {
            target: target.to_path_buf(),
            temp,
            out: Some(BufWriter::with_capacity(1 << 18, file)),
            channels,
            format,
            data_bytes: 0,
            stats: WriteStats {
                frames: 0,
                peak: vec![0.0; channels],
                clipped: vec![0; channels],
            },
            dither: 0x2545_F491_4F6C_DD1D,
            bytes: Vec::new(),
            extra: Vec::new(),
            big_id: *b"RF64",
            bext_at: None,
            dither_s24: false,
        };
        // Every file carries a bext chunk (EBU Tech 3285 v2); callers may pass their own.
        let default_bext;
        let mut all: Vec<&([u8; 4], Vec<u8>)> = Vec::with_capacity(chunks.len() + 1);
        if !chunks.iter().any(|(id, _)| id == b"bext") {
            default_bext = (
                *b"bext",
                crate::bwf::Bext::for_output("mixstage", sample_rate, format.bits(), channels)
                    .to_bytes(),
            );
            all.push(&default_bext);
        }
        all.extend(chunks.iter());
        for (id, body) in all {
            if id == b"bext" {
                w.bext_at = Some((w.extra.len() + 8, body.len()));
            }
            w.extra.extend_from_slice(id);
            w.extra
                .extend_from_slice(&(body.len() as u32).to_le_bytes());
            w.extra.extend_from_slice(body);
            if body.len() % 2 == 1 {
                w.extra.push(0);
            }
        }
        let header = header_bytes(
            sample_rate,
            channels,
            format,
            channel_mask,
            0,
            None,
            &w.extra,
        );
        w.write_raw(&header)?;
        Ok(w)
    }

    fn write_raw(&mut self, b: &[u8]) -> Result<()> {
        let out = self.out.as_mut().expect("writer is open");
        out.write_all(b).map_err(|e| Error::io(&self.temp, e))
    }

    /// Writes interleaved frames (`samples.len()` must be a multiple of the channel count).
    pub fn write(&mut self, samples: &[f32]) -> Result<()> {
        let ch = self.channels;
        assert_eq!(samples.len() % ch, 0, "interleaved buffer length");
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        bytes.reserve(samples.len() * self.format.bits() as usize / 8);
        // Frame by frame, the format decided once per call: no division per sample. The bytes,
        // the statistics and the dither sequence are those of a sample-by-sample loop.
        for frame in samples.chunks_exact(ch) {
            for (peak, &x) in self.stats.peak.iter_mut().zip(frame) {
                let a = x.abs();
                if a > *peak || a.is_nan() {
                    *peak = if a.is_nan() { f32::INFINITY } else { a };
                }
            }
        }
        match self.format {
            SampleFormat::F32 => {
                bytes.resize(samples.len() * 4, 0);
                for (b, x) in bytes.chunks_exact_mut(4).zip(samples) {
                    b.copy_from_slice(&x.to_le_bytes());
                }
            }
            SampleFormat::S16 => {
                for frame in samples.chunks_exact(ch) {
                    for (c, &x) in frame.iter().enumerate() {
                        let d = self.tpdf() / 32768.0;
                        let v = quantise(x as f64 + d, 32768.0, &mut self.stats.clipped[c], x);
                        bytes.extend_from_slice(&(v as i16).to_le_bytes());
                    }
                }
            }
            SampleFormat::S24 if self.dither_s24 => {
                for frame in samples.chunks_exact(ch) {
                    for (c, &x) in frame.iter().enumerate() {
                        let d = self.tpdf() / 8_388_608.0;
                        let v = quantise(x as f64 + d, 8_388_608.0, &mut self.stats.clipped[c], x);
                        bytes.extend_from_slice(&v.to_le_bytes()[0..3]);
                    }
                }
            }
            SampleFormat::S24 => {
                for frame in samples.chunks_exact(ch) {
                    for (clipped, &x) in self.stats.clipped.iter_mut().zip(frame) {
                        let v = quantise(x as f64, 8_388_608.0, clipped, x);
                        bytes.extend_from_slice(&v.to_le_bytes()[0..3]);
                    }
                }
            }
        }
        self.write_raw(&bytes)?;
        self.data_bytes += bytes.len() as u64;
        self.stats.frames += (samples.len() / ch) as u64;
        self.bytes = bytes;
        Ok(())
    }

    /// Triangular dither of +/- 1 LSB (deterministic sequence, so renders are repeatable).
    fn tpdf(&mut self) -> f64 {
        let mut next = || {
            self.dither ^= self.dither << 13;
            self.dither ^= self.dither >> 7;
            self.dither ^= self.dither << 17;
            (self.dither >> 11) as f64 / (1u64 << 53) as f64
        };
        next() - next()
    }

    /// Replaces the file's `bext` chunk (written into the header when the file is finalized),
    /// for metadata known only at the end, such as a deliverable's measured loudness. The new
    /// chunk must have the size of the one the file was created with: any [`crate::bwf::Bext`]
    /// does, as its coding history has a fixed area.
    pub fn set_bext(&mut self, bext: &crate::bwf::Bext) -> Result<()> {
        let body = bext.to_bytes();
        match self.bext_at {
            Some((at, len)) if len == body.len() => {
                self.extra[at..at + len].copy_from_slice(&body);
                Ok(())
            }
            _ => Err(Error::Invalid(format!(
                "{}: the file was created with a bext chunk of another size; it cannot be replaced",
                self.target.display()
            ))),
        }
    }

    /// Dithers 24-bit output too (triangular, +/- 1 LSB, a repeatable sequence), as a
    /// deliverable rendered at a higher resolution should be; 16-bit output always is.
    pub fn set_dither_s24(&mut self, on: bool) {
        self.dither_s24 = on;
    }

    /// The format being written.
    pub fn format(&self) -> SampleFormat {
        self.format
    }

    /// Statistics so far.
    pub fn stats(&self) -> &WriteStats {
        &self.stats
    }

    /// Patches the header (RF64 if the data passed 4 GiB), flushes, and renames the temporary
    /// file to the target. Returns the statistics of what was written.
    pub fn finalize(mut self, sample_rate: u32, channel_mask: u32) -> Result<WriteStats> {
        let out = self.out.take().expect("writer is open");
        let done = self.finish_file(out, sample_rate, channel_mask);
        if done.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        unregister_temporary(&self.temp);
        done?;
        Ok(std::mem::take(&mut self.stats))
    }

    /// Pads, patches the header, syncs and renames the temporary file to the target.
    fn finish_file(
        &self,
        mut out: BufWriter<File>,
        sample_rate: u32,
        channel_mask: u32,
    ) -> Result<()> {
        if self.data_bytes % 2 == 1 {
            out.write_all(&[0]).map_err(|e| Error::io(&self.temp, e))?;
        }
        let big = self.data_bytes + HEADER_LEN + self.extra.len() as u64 > u32::MAX as u64;
        let header = header_bytes(
            sample_rate,
            self.channels,
            self.format,
            channel_mask,
            self.data_bytes,
            big.then_some(self.big_id),
            &self.extra,
        );
        let mut file = out
            .into_inner()
            .map_err(|e| Error::io(&self.temp, e.into_error()))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&self.temp, e))?;
        file.write_all(&header)
            .map_err(|e| Error::io(&self.temp, e))?;
        file.sync_all().map_err(|e| Error::io(&self.temp, e))?;
        drop(file);
        // The target may have become a folder or a device since `create`: never replace one.
        check_output_path(&self.target)?;
        std::fs::rename(&self.temp, &self.target).map_err(|e| Error::io(&self.target, e))
    }
}

/// Temporary files being written, removed by [`remove_temporary_files`] on an interruption.
static TEMPORARY_FILES: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn register_temporary(p: &Path) {
    if let Ok(mut v) = TEMPORARY_FILES.lock() {
        v.push(p.to_path_buf());
    }
}

fn unregister_temporary(p: &Path) {
    if let Ok(mut v) = TEMPORARY_FILES.lock() {
        v.retain(|x| x != p);
    }
}

/// Deletes every temporary output file still being written (call it from a Ctrl-C or
/// termination handler before exiting, so an interrupted run leaves nothing behind).
pub fn remove_temporary_files() {
    if let Ok(mut v) = TEMPORARY_FILES.lock() {
        for p in v.drain(..) {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Writes a small file whole (a report, a manifest, a picture): to a temporary file beside
/// `path`, synced, then renamed over it, so readers never see half a file and a failure leaves
/// the old file as it was (and no temporary file).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Checks that `target` can be written as a new or replaced regular file: its folder exists,
/// and it is not a folder, a device or another special file (which a rename would replace).
pub fn check_output_path(target: &Path) -> Result<()> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "{}: the output folder {} does not exist",
            target.display(),
            dir.display()
        )));
    }
    if let Ok(meta) = std::fs::metadata(target) {
        if !meta.is_file() {
            return Err(Error::Invalid(format!(
                "{}: exists and is not a regular file (a folder or a device); give the path of a file to write",
                target.display()
            )));
        }
    }
    Ok(())
}

impl Drop for WavWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            // Not finalized: an error or an interruption. Leave nothing behind.
            let _ = std::fs::remove_file(&self.temp);
            unregister_temporary(&self.temp);
        }
    }
}

fn quantise(x: f64, scale: f64, clipped: &mut u64, orig: f32) -> i32 {
    let v = (x * scale).round();
    let max = scale - 1.0;
    if v > max || v < -scale || orig.is_nan() {
        *clipped += 1;
    }
    if orig.is_nan() {
        return 0;
    }
    v.clamp(-scale, max) as i32
}

/// The header: RIFF (or RF64) + JUNK/ds64 + WAVE_FORMAT_EXTENSIBLE fmt + data chunk header.
fn header_bytes(
    rate: u32,
    channels: usize,
    format: SampleFormat,
    mask: u32,
    data: u64,
    big: Option<[u8; 4]>,
    extra: &[u8],
) -> Vec<u8> {
    let rf64 = big.is_some();
    let mut h = Vec::with_capacity(HEADER_LEN as usize + extra.len());
    let riff_size = HEADER_LEN + extra.len() as u64 - 8 + data + (data & 1);
    if let Some(id) = big {
        h.extend_from_slice(&id);
        h.extend_from_slice(&u32::MAX.to_le_bytes());
    } else {
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&(riff_size as u32).to_le_bytes());
    }
    h.extend_from_slice(b"WAVE");
    // A 28-byte chunk that is JUNK in a plain RIFF and becomes ds64 in RF64.
    h.extend_from_slice(if rf64 { b"ds64" } else { b"JUNK" });
    h.extend_from_slice(&28u32.to_le_bytes());
    let frames = data / (channels as u64 * format.bits() as u64 / 8);
    for v in [
        if rf64 { riff_size } else { 0 },
        if rf64 { data } else { 0 },
        if rf64 { frames } else { 0 },
    ] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h.extend_from_slice(&0u32.to_le_bytes()); // table length
    let bytes_per_sample = format.bits() as u32 / 8;
    let block = channels as u32 * bytes_per_sample;
    h.extend_from_slice(b"fmt ");
    h.extend_from_slice(&40u32.to_le_bytes());
    h.extend_from_slice(&WAVE_FORMAT_EXTENSIBLE.to_le_bytes());
    h.extend_from_slice(&(channels as u16).to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * block).to_le_bytes());
    h.extend_from_slice(&(block as u16).to_le_bytes());
    h.extend_from_slice(&format.bits().to_le_bytes());
    h.extend_from_slice(&22u16.to_le_bytes());
    h.extend_from_slice(&format.bits().to_le_bytes()); // valid bits
    h.extend_from_slice(&mask.to_le_bytes());
    let sub = if format == SampleFormat::F32 {
        WAVE_FORMAT_IEEE_FLOAT
    } else {
        WAVE_FORMAT_PCM
    };
    h.extend_from_slice(&sub.to_le_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&GUID_TAIL);
    h.extend_from_slice(extra);
    h.extend_from_slice(b"data");
    h.extend_from_slice(&(if rf64 { u32::MAX } else { data as u32 }).to_le_bytes());
    debug_assert_eq!(h.len() as u64, HEADER_LEN + extra.len() as u64);
    h
}

/// Writes a whole planar buffer to a WAV file (for tests, tools and small outputs).
pub fn write_all(
    path: &Path,
    rate: u32,
    channels: &[Vec<f32>],
    format: SampleFormat,
    mask: u32,
) -> Result<WriteStats> {
    let n = channels.first().map(|c| c.len()).unwrap_or(0);
    let mut w = WavWriter::create(path, rate, channels.len(), format, mask)?;
    let mut inter = Vec::with_capacity(channels.len() * 4096);
    for start in (0..n).step_by(4096) {
        inter.clear();
        for f in start..(start + 4096).min(n) {
            for c in channels {
                inter.push(c[f]);
            }
        }
        w.write(&inter)?;
    }
    w.finalize(rate, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    /// `read_planar` of any set of channels, in any order, equals the interleaved read, for
    /// every sample format, across blocks whose length is not a multiple of the 8-frame tile,
    /// and past the end of the file (zeros).
    #[test]
    fn planar_reads_equal_interleaved_reads() {
        let d = tmp();
        let (ch, frames) = (21usize, 1000usize);
        let chans: Vec<Vec<f32>> = (0..ch)
            .map(|c| {
                (0..frames)
                    .map(|f| (((c * 7919 + f * 104729) % 2001) as f32 / 1000.0 - 1.0) * 0.9)
                    .collect()
            })
            .collect();
        // Runs of 8 consecutive channels (0..8, 10..18), a reversed run, singles and repeats.
        let picks: Vec<usize> = (0..8).chain(10..18).chain([20, 9, 8, 19, 3]).collect();
        for fmt in [SampleFormat::S16, SampleFormat::S24, SampleFormat::F32] {
            let p = d.path().join(format!("m{}.wav", fmt.bits()));
            write_all(&p, 48000, &chans, fmt, 0).unwrap();
            let (_, reference) = read_all(&p).unwrap();
            let mut r = WavReader::open(&p).unwrap();
            let mut out = vec![Vec::new(); picks.len()];
            let mut pos = 0;
            for n in [333usize, 7, 500, 300] {
                let got = r.read_planar(&picks, &mut out, n).unwrap();
                assert_eq!(got, n.min(frames - pos), "{fmt:?}");
                for (k, &c) in picks.iter().enumerate() {
                    assert_eq!(out[k].len(), n);
                    for (f, &got) in out[k].iter().enumerate() {
                        let want = reference[c].get(pos + f).copied().unwrap_or(0.0);
                        assert_eq!(got, want, "{fmt:?} channel {c} frame {}", pos + f);
                    }
                }
                pos += got;
            }
        }
    }

    /// Every file carries a version 2 bext chunk, which `set_bext` replaces before the end;
    /// readers (ours and hound) read the audio past it unchanged.
    #[test]
    fn every_file_has_a_bext_chunk_that_can_be_patched() {
        let d = tmp();
        let p = d.path().join("b.wav");
        let chans = vec![vec![0.25f32; 300]; 2];
        write_all(&p, 48000, &chans, SampleFormat::S24, 0x3).unwrap();
        let c = crate::adm::bw64::scan(&p).unwrap();
        let b = c.bext.expect("a bext chunk");
        assert_eq!(b.version, 2);
        assert_eq!(b.originator, "mixstage");
        assert!(b.coding_history.starts_with("A=PCM,F=48000,W=24,M=stereo,"));

        let q = d.path().join("patched.wav");
        let mut w = WavWriter::create(&q, 48000, 2, SampleFormat::F32, 0x3).unwrap();
        w.write(&[0.5, -0.5, 0.25, -0.25]).unwrap();
        let mut b = crate::bwf::Bext::for_output("pm-20", 48000, 32, 2);
        b.time_reference = 48000 * 3600;
        b.loudness.integrated_lufs = Some(-23.0);
        w.set_bext(&b).unwrap();
        w.finalize(48000, 0x3).unwrap();
        let back = crate::adm::bw64::scan(&q).unwrap().bext.unwrap();
        assert_eq!(back.time_reference, 48000 * 3600);
        assert_eq!(back.description, "pm-20");
        assert_eq!(back.loudness.integrated_lufs, Some(-23.0));
        let (info, got) = read_all(&q).unwrap();
        assert_eq!(info.frames, Some(2));
        assert_eq!(got, vec![vec![0.5, 0.25], vec![-0.5, -0.25]]);
        let h: Vec<f32> = hound::WavReader::open(&q)
            .unwrap()
            .into_samples::<f32>()
            .map(|x| x.unwrap())
            .collect();
        assert_eq!(h, vec![0.5, -0.5, 0.25, -0.25]);
    }

    /// Dithered 24-bit output stays within one LSB of the undithered value and is repeatable.
    #[test]
    fn dithered_s24_is_within_one_lsb_and_repeatable() {
        let d = tmp();
        let x: Vec<f32> = (0..2000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        let mut outs = Vec::new();
        for k in 0..2 {
            let p = d.path().join(format!("d{k}.wav"));
            let mut w = WavWriter::create(&p, 48000, 1, SampleFormat::S24, 0).unwrap();
            w.set_dither_s24(true);
            w.write(&x).unwrap();
            w.finalize(48000, 0).unwrap();
            outs.push(read_all(&p).unwrap().1.remove(0));
        }
        assert_eq!(outs[0], outs[1]);
        let lsb = 1.0 / 8_388_608.0;
        let mut differs = 0;
        for (a, b) in outs[0].iter().zip(&x) {
            assert!((a - b).abs() <= 1.5 * lsb, "{a} vs {b}");
            differs += usize::from((a - b).abs() > 0.5 * lsb);
        }
        assert!(differs > 100, "the dither changes samples ({differs})");
    }

    #[test]
    fn planar_read_of_a_non_finite_float_names_channel_and_frame() {
        let d = tmp();
        let p = d.path().join("nan.wav");
        let mut chans = vec![vec![0.0f32; 100]; 3];
        chans[2][57] = f32::NAN;
        write_all(&p, 48000, &chans, SampleFormat::F32, 0).unwrap();
        let mut r = WavReader::open(&p).unwrap();
        let mut out = vec![Vec::new(); 2];
        r.read_planar(&[0, 2], &mut out, 50).unwrap();
        let e = r
            .read_planar(&[0, 2], &mut out, 50)
            .unwrap_err()
            .to_string();
        assert!(e.contains("channel 3") && e.contains("frame 57"), "{e}");
    }

    #[test]
    fn float_round_trip_is_bit_exact_and_mask_is_kept() {
        let d = tmp();
        let p = d.path().join("a.wav");
        let chans = vec![vec![0.5f32, -0.25, 1.5e-7], vec![-1.0, 0.999, 2.0]];
        let st = write_all(&p, 48000, &chans, SampleFormat::F32, 0x3).unwrap();
        assert_eq!(st.frames, 3);
        assert_eq!(st.peak, vec![0.5, 2.0]);
        let (info, back) = read_all(&p).unwrap();
        assert_eq!(info.sample_rate, 48000);
        assert_eq!(info.channel_mask, Some(3));
        assert_eq!(back, chans);
        assert!(!d.path().join(".a.wav.tmp").exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn integer_formats_round_trip_within_one_lsb_and_count_clips() {
        let d = tmp();
        for (fmt, lsb) in [
            (SampleFormat::S16, 1.0 / 32768.0),
            (SampleFormat::S24, 1.0 / 8388608.0),
        ] {
            let p = d.path().join("i.wav");
            let x: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.01).sin() * 0.9).collect();
            let mut y = x.clone();
            y.push(1.2);
            let st = write_all(&p, 44100, &[y.clone()], fmt, 0).unwrap();
            assert_eq!(st.clipped, vec![1]);
            let (info, back) = read_all(&p).unwrap();
            assert_eq!(info.channel_mask, None);
            for (a, b) in back[0].iter().zip(&x) {
                assert!((a - b).abs() <= 1.5 * lsb, "{fmt:?} {a} {b}");
            }
            assert!((back[0][1000] - (1.0 - lsb)).abs() < 1e-9);
        }
    }

    #[test]
    fn truncated_and_bogus_files_are_reported() {
        let d = tmp();
        let p = d.path().join("t.wav");
        write_all(
            &p,
            48000,
            &[vec![0.1; 1000], vec![0.2; 1000]],
            SampleFormat::S24,
            0,
        )
        .unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 100]).unwrap();
        let e = WavReader::open(&p).err().unwrap().to_string();
        assert!(e.contains("truncated") && e.contains("t.wav"), "{e}");
        std::fs::write(&p, &bytes[..30]).unwrap();
        let e = WavReader::open(&p).err().unwrap().to_string();
        assert!(e.contains("truncated") || e.contains("malformed"), "{e}");
        std::fs::write(&p, b"hello world, not audio").unwrap();
        let e = WavReader::open(&p).err().unwrap().to_string();
        assert!(e.contains("not a WAV"), "{e}");
        std::fs::write(&p, b"").unwrap();
        assert!(open_audio(&p).err().unwrap().to_string().contains("empty"));
    }

    #[test]
    fn failed_writer_leaves_nothing() {
        let d = tmp();
        let p = d.path().join("x.wav");
        std::fs::write(&p, b"precious").unwrap();
        {
            let mut w = WavWriter::create(&p, 48000, 2, SampleFormat::F32, 0).unwrap();
            w.write(&[0.0, 0.0]).unwrap();
            // dropped without finalize
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"precious");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn rf64_header_is_read_back() {
        // A large header is written only past 4 GiB; check the RF64 form through its bytes.
        let h = header_bytes(48000, 2, SampleFormat::F32, 3, 8 * 10, Some(*b"RF64"), &[]);
        let d = tmp();
        let p = d.path().join("r.wav");
        let mut bytes = h.clone();
        bytes.extend(std::iter::repeat_n(0u8, 80));
        std::fs::write(&p, &bytes).unwrap();
        let r = WavReader::open(&p).unwrap();
        assert_eq!(r.info().frames, Some(10));
        assert_eq!(&bytes[0..4], b"RF64");
    }
}
