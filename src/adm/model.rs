//! The ADM model (ITU-R BS.2076): the elements of an `axml` chunk that rendering and
//! reporting need, with references kept as upper-case IDs (BS.2076 IDs are hexadecimal:
//! Dolby writes `AO_100b`, others `AO_100B`; they compare equal).

use std::collections::HashMap;

use crate::time::Time;

/// An ADM typeDefinition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeDef {
    /// Channel-based: each channel is a speaker (`0001`).
    DirectSpeakers,
    /// Matrix (`0002`).
    Matrix,
    /// Object-based (`0003`).
    Objects,
    /// Scene-based, Ambisonics (`0004`).
    Hoa,
    /// Binaural (`0005`).
    Binaural,
}

impl TypeDef {
    /// From a `typeDefinition` name or a `typeLabel` code.
    pub fn parse(definition: Option<&str>, label: Option<&str>) -> Option<TypeDef> {
        if let Some(d) = definition {
            return match d.trim() {
                "DirectSpeakers" => Some(TypeDef::DirectSpeakers),
                "Matrix" => Some(TypeDef::Matrix),
                "Objects" => Some(TypeDef::Objects),
                "HOA" => Some(TypeDef::Hoa),
                "Binaural" => Some(TypeDef::Binaural),
                _ => None,
            };
        }
        Self::from_code(label?)
    }

    /// From a 4-digit type code (`0001` ...), as in IDs and typeLabel.
    pub fn from_code(code: &str) -> Option<TypeDef> {
        match code.trim() {
            "0001" | "1" => Some(TypeDef::DirectSpeakers),
            "0002" | "2" => Some(TypeDef::Matrix),
            "0003" | "3" => Some(TypeDef::Objects),
            "0004" | "4" => Some(TypeDef::Hoa),
            "0005" | "5" => Some(TypeDef::Binaural),
            _ => None,
        }
    }

    /// The BS.2076 name.
    pub fn name(self) -> &'static str {
        match self {
            TypeDef::DirectSpeakers => "DirectSpeakers",
            TypeDef::Matrix => "Matrix",
            TypeDef::Objects => "Objects",
            TypeDef::Hoa => "HOA",
            TypeDef::Binaural => "Binaural",
        }
    }
}

/// The dialogue attribute of an audioContent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialogue {
    /// 0: no dialogue.
    NonDialogue,
    /// 1: dialogue.
    Dialogue,
    /// 2: mixed.
    Mixed,
}

/// An axml `loudnessMetadata` element.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loudness {
    /// `loudnessMethod` attribute.
    pub method: Option<String>,
    /// integratedLoudness (LUFS).
    pub integrated: Option<f64>,
    /// loudnessRange (LU).
    pub range: Option<f64>,
    /// maxTruePeak (dBTP).
    pub max_true_peak: Option<f64>,
    /// maxMomentary (LUFS).
    pub max_momentary: Option<f64>,
    /// maxShortTerm (LUFS).
    pub max_short_term: Option<f64>,
    /// dialogueLoudness (LUFS).
    pub dialogue: Option<f64>,
}

/// A label element (`audioProgrammeLabel`, `audioContentLabel`, `audioObjectLabel`,
/// `audioComplementaryObjectGroupLabel`): a name for people, in a language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Label {
    /// The text.
    pub value: String,
    /// The `language` attribute (ISO 639-2), if given.
    pub language: Option<String>,
}

/// audioProgramme.
#[derive(Debug, Clone, Default)]
pub struct Programme {
    /// ID (upper case).
    pub id: String,
    /// Name.
    pub name: String,
    /// audioContentIDRefs.
    pub contents: Vec<String>,
    /// loudnessMetadata.
    pub loudness: Vec<Loudness>,
    /// `audioProgrammeLanguage`.
    pub language: Option<String>,
    /// audioProgrammeLabels.
    pub labels: Vec<Label>,
    /// audioProgrammeReferenceScreen: the screen the mix's screenRef positions were placed
    /// against (None: BS.2127's default screen).
    pub reference_screen: Option<crate::panner::screen::Screen>,
}

/// audioContent.
#[derive(Debug, Clone, Default)]
pub struct Content {
    /// ID (upper case).
    pub id: String,
    /// Name.
    pub name: String,
    /// audioObjectIDRefs.
    pub objects: Vec<String>,
    /// The dialogue element, with its kind attribute's value.
    pub dialogue: Option<(Dialogue, Option<u32>)>,
    /// loudnessMetadata.
    pub loudness: Vec<Loudness>,
    /// `audioContentLanguage`.
    pub language: Option<String>,
    /// audioContentLabels.
    pub labels: Vec<Label>,
}

/// audioObject.
#[derive(Debug, Clone, Default)]
pub struct Object {
    /// ID (upper case).
    pub id: String,
    /// Name.
    pub name: String,
    /// `start` (relative to the programme).
    pub start: Option<Time>,
    /// `duration`.
    pub duration: Option<Time>,
    /// Linear gain (BS.2076-2 `gain` element; 1 when absent).
    pub gain: f64,
    /// BS.2076-2 `mute`.
    pub mute: bool,
    /// audioPackFormatIDRefs.
    pub packs: Vec<String>,
    /// Nested audioObjectIDRefs.
    pub objects: Vec<String>,
    /// audioComplementaryObjectIDRefs.
    pub complementary: Vec<String>,
    /// audioTrackUIDRefs (`ATU_00000000` is a silent track).
    pub track_uids: Vec<String>,
    /// Elements mixstage reads but BS.2127 rendering here does not apply (listed by `adm info`).
    pub ignored: Vec<String>,
    /// The names of the attributes the element carries (`start`, `interact`, ...), for
    /// profiles that require or forbid them.
    pub attributes: Vec<String>,
    /// audioObjectLabels.
    pub labels: Vec<Label>,
    /// audioComplementaryObjectGroupLabels.
    pub group_labels: Vec<Label>,
    /// `importance` (0-10; absent: the most important).
    pub importance: Option<u8>,
    /// BS.2076-2 `headLocked` element of the audioObject (None when absent). Read, not yet
    /// applied by rendering (it is listed in `ignored` too).
    pub head_locked: Option<bool>,
}

/// A per-element headphone (binaural) render mode, as the Dolby Atmos Renderer offers it:
/// from a master's Dolby `dbmd` chunk ([`super::dbmd`]) or, for `Off`, from a BS.2076-2
/// `headphoneVirtualise bypass="1"`. Which room each mode means is the binaural renderer's
/// business; the ADM reader only carries the choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinauralMode {
    /// Not virtualised: the signal goes to the headphones as it is (Dolby "bypass").
    Off,
    /// Little room: the source sounds close.
    Near,
    /// A medium room (what the Dolby renderer uses when a master does not say).
    Mid,
    /// Much room: the source sounds distant.
    Far,
}

impl BinauralMode {
    /// Lower-case name, as `adm info` prints it (`off`, `near`, `mid`, `far`).
    pub fn name(self) -> &'static str {
        match self {
            BinauralMode::Off => "off",
            BinauralMode::Near => "near",
            BinauralMode::Mid => "mid",
            BinauralMode::Far => "far",
        }
    }
}

/// BS.2076-2's default `DRR` of a `headphoneVirtualise` element (dB): as libadm sets it
/// (`ebu/libadm`, `include/adm/elements/headphone_virtualise.hpp`), in effect no reverberation.
pub const DEFAULT_DRR_DB: f64 = 130.0;
/// The range of `DRR` (dB) accepted, as libadm validates it.
pub const DRR_RANGE_DB: std::ops::RangeInclusive<f64> = -130.0..=130.0;

/// A BS.2076-2 `headphoneVirtualise` element of an audioBlockFormat: whether a headphone
/// (binaural) virtualiser processes the block, and with which direct-to-reverberant ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadphoneVirtualise {
    /// `bypass="1"`: not virtualised (default 0).
    pub bypass: bool,
    /// `DRR`: direct-to-reverberant ratio in dB ([`DEFAULT_DRR_DB`] when absent).
    pub drr_db: f64,
}

impl HeadphoneVirtualise {
    /// The mode this element fixes: [`BinauralMode::Off`] when bypassed; otherwise none (the
    /// block is virtualised with [`Self::drr_db`], and the room is the renderer's choice).
    pub fn mode(&self) -> Option<BinauralMode> {
        self.bypass.then_some(BinauralMode::Off)
    }
}

/// audioPackFormat.
#[derive(Debug, Clone)]
pub struct Pack {
    /// ID (upper case).
    pub id: String,
    /// Name.
    pub name: String,
    /// The type.
    pub type_def: Option<TypeDef>,
    /// audioChannelFormatIDRefs.
    pub channels: Vec<String>,
    /// Nested audioPackFormatIDRefs.
    pub packs: Vec<String>,
    /// True if it came from the BS.2094 common definitions.
    pub common: bool,
    /// `importance` (0-10; absent: the most important).
    pub importance: Option<u8>,
    /// HOA packs: the parameters a pack may give for all its channels.
    pub hoa: HoaParams,
}

/// The HOA parameters of an audioPackFormat or an audioBlockFormat (BS.2076 elements
/// `order`, `degree`, `normalization`, `nfcRefDist`, `screenRef`, `equation`), as written:
/// checked when the rendering items are formed, where errors can name the block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HoaParams {
    /// `order` (blocks), as written.
    pub order: Option<String>,
    /// `degree` (blocks), as written.
    pub degree: Option<String>,
    /// `normalization` (`SN3D`, `N3D`, `FuMa`), as written.
    pub normalization: Option<String>,
    /// `nfcRefDist` (metres; 0 means none).
    pub nfc_ref_dist: Option<f64>,
    /// `screenRef`, when given.
    pub screen_ref: Option<bool>,
    /// `equation`, when given (BS.2076 gives it no format; it is refused).
    pub equation: Option<String>,
}

/// A polar or Cartesian position with optional bounds (DirectSpeakers).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Coord {
    /// The value.
    pub value: Option<f64>,
    /// `bound="min"`.
    pub min: Option<f64>,
    /// `bound="max"`.
    pub max: Option<f64>,
}

/// The position elements of a block.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PositionSet {
    /// azimuth (degrees, left positive).
    pub azimuth: Coord,
    /// elevation (degrees).
    pub elevation: Coord,
    /// distance.
    pub distance: Coord,
    /// X (right).
    pub x: Coord,
    /// Y (front).
    pub y: Coord,
    /// Z (up).
    pub z: Coord,
}

/// An Objects block's `objectDivergence` element.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Divergence {
    /// The value (0: none, 1: fully split into two virtual sources).
    pub value: f64,
    /// `azimuthRange` (degrees, polar blocks).
    pub azimuth_range: Option<f64>,
    /// `positionRange` (Cartesian blocks).
    pub position_range: Option<f64>,
}

/// An audioBlockFormat.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// ID (upper case).
    pub id: String,
    /// `rtime`, relative to the object's start.
    pub rtime: Option<Time>,
    /// `duration`.
    pub duration: Option<Time>,
    /// Linear block gain.
    pub gain: f64,
    /// The position elements.
    pub position: PositionSet,
    /// `cartesian` flag.
    pub cartesian: bool,
    /// `jumpPosition` flag.
    pub jump: bool,
    /// `jumpPosition`'s `interpolationLength`.
    pub interpolation_length: Option<Time>,
    /// speakerLabel elements (DirectSpeakers).
    pub speaker_labels: Vec<String>,
    /// The objectDivergence element, if present.
    pub divergence: Option<Divergence>,
    /// `width` (degrees, polar; 0 when absent).
    pub width: f64,
    /// `height` (degrees, polar; 0 when absent).
    pub height: f64,
    /// `depth` (0 when absent).
    pub depth: f64,
    /// `channelLock` set to 1: `Some(maxDistance)` (`None` inside: no limit).
    pub channel_lock: Option<Option<f64>>,
    /// The zones of a `zoneExclusion`.
    pub zones: Vec<crate::panner::zone::Zone>,
    /// `diffuse` (0 when absent).
    pub diffuse: f64,
    /// `screenRef` set to 1.
    pub screen_ref: bool,
    /// `screenEdgeLock` attributes of the position coordinates.
    pub edge_lock: crate::panner::screen::EdgeLock,
    /// `importance` (0-10, default 10).
    pub importance: u8,
    /// HOA blocks: order, degree and the rest.
    pub hoa: HoaParams,
    /// BS.2076-2 `headphoneVirtualise`, if present (DirectSpeakers, Objects and HOA blocks;
    /// BS.2076-2 §9 allows it on every type, and it is read wherever it appears).
    pub headphone: Option<HeadphoneVirtualise>,
    /// BS.2076-2 `headLocked` set to 1: the block's position moves with the listener's head.
    pub head_locked: bool,
    /// Line of the element in the XML (for messages).
    pub line: usize,
}

impl Block {
    /// A block with ADM's defaults (no timing, gain 1, no position yet, importance 10),
    /// `line` the XML line it starts on (0 when it comes from elsewhere).
    pub fn new(id: impl Into<String>, line: usize) -> Block {
        Block {
            id: id.into(),
            rtime: None,
            duration: None,
            gain: 1.0,
            position: PositionSet::default(),
            cartesian: false,
            jump: false,
            interpolation_length: None,
            speaker_labels: Vec::new(),
            divergence: None,
            width: 0.0,
            height: 0.0,
            depth: 0.0,
            channel_lock: None,
            zones: Vec::new(),
            diffuse: 0.0,
            screen_ref: false,
            edge_lock: Default::default(),
            importance: 10,
            hoa: Default::default(),
            headphone: None,
            head_locked: false,
            line,
        }
    }
}

/// audioChannelFormat.
#[derive(Debug, Clone)]
pub struct Channel {
    /// ID (upper case).
    pub id: String,
    /// Name.
    pub name: String,
    /// The type.
    pub type_def: Option<TypeDef>,
    /// The blocks, in file order.
    pub blocks: Vec<Block>,
    /// frequency lowPass (Hz).
    pub low_pass: Option<f64>,
    /// frequency highPass (Hz).
    pub high_pass: Option<f64>,
    /// True if it came from the BS.2094 common definitions.
    pub common: bool,
}

/// audioStreamFormat.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// ID (upper case).
    pub id: String,
    /// audioChannelFormatIDRef.
    pub channel: Option<String>,
    /// audioPackFormatIDRef.
    pub pack: Option<String>,
}

/// audioTrackFormat.
#[derive(Debug, Clone, Default)]
pub struct Track {
    /// ID (upper case).
    pub id: String,
    /// audioStreamFormatIDRef.
    pub stream: Option<String>,
}

/// audioTrackUID, merged with its `chna` row.
#[derive(Debug, Clone, Default)]
pub struct TrackUid {
    /// UID (upper case).
    pub id: String,
    /// 1-based track index in the file (from `chna`), if the file maps it.
    pub track_index: Option<usize>,
    /// audioTrackFormatIDRef.
    pub track_format: Option<String>,
    /// audioChannelFormatIDRef (BS.2076-2).
    pub channel_format: Option<String>,
    /// audioPackFormatIDRef.
    pub pack: Option<String>,
    /// How many references of each kind the axml element itself holds.
    pub refs: UidRefCounts,
}

/// The references an axml audioTrackUID element holds, counted (a profile may require
/// exactly one of a kind; the model keeps only the last).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UidRefCounts {
    /// audioPackFormatIDRefs.
    pub packs: usize,
    /// audioChannelFormatIDRefs.
    pub channel_formats: usize,
    /// audioTrackFormatIDRefs.
    pub track_formats: usize,
}

/// A whole ADM document, with the BS.2094 common definitions merged in.
#[derive(Debug, Clone, Default)]
pub struct Adm {
    /// audioFormatExtended `version`.
    pub version: Option<String>,
    /// audioProgrammes.
    pub programmes: Vec<Programme>,
    /// audioContents.
    pub contents: Vec<Content>,
    /// audioObjects.
    pub objects: Vec<Object>,
    /// audioPackFormats.
    pub packs: Vec<Pack>,
    /// audioChannelFormats.
    pub channels: Vec<Channel>,
    /// audioStreamFormats.
    pub streams: Vec<Stream>,
    /// audioTrackFormats.
    pub tracks: Vec<Track>,
    /// audioTrackUIDs.
    pub track_uids: Vec<TrackUid>,
    /// Index by ID of every element.
    pub index: HashMap<String, usize>,
}

impl Adm {
    /// Rebuilds the ID index (IDs are unique across element kinds by their prefixes).
    pub fn reindex(&mut self) {
        let mut index = HashMap::new();
        macro_rules! add {
            ($v:expr) => {
                for (i, e) in $v.iter().enumerate() {
                    index.insert(e.id.clone(), i);
                }
            };
        }
        add!(self.programmes);
        add!(self.contents);
        add!(self.objects);
        add!(self.packs);
        add!(self.channels);
        add!(self.streams);
        add!(self.tracks);
        add!(self.track_uids);
        self.index = index;
    }

    fn find<'a, T>(&self, v: &'a [T], id: &str) -> Option<&'a T> {
        self.index.get(id).and_then(|&i| v.get(i))
    }

    /// The programme with this ID.
    pub fn programme(&self, id: &str) -> Option<&Programme> {
        self.find(&self.programmes, id).filter(|p| p.id == id)
    }
    /// The content with this ID.
    pub fn content(&self, id: &str) -> Option<&Content> {
        self.find(&self.contents, id).filter(|p| p.id == id)
    }
    /// The object with this ID.
    pub fn object(&self, id: &str) -> Option<&Object> {
        self.find(&self.objects, id).filter(|p| p.id == id)
    }
    /// The pack with this ID.
    pub fn pack(&self, id: &str) -> Option<&Pack> {
        self.find(&self.packs, id).filter(|p| p.id == id)
    }
    /// The channel format with this ID.
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.find(&self.channels, id).filter(|p| p.id == id)
    }
    /// The stream format with this ID.
    pub fn stream(&self, id: &str) -> Option<&Stream> {
        self.find(&self.streams, id).filter(|p| p.id == id)
    }
    /// The track format with this ID.
    pub fn track(&self, id: &str) -> Option<&Track> {
        self.find(&self.tracks, id).filter(|p| p.id == id)
    }
    /// The track UID with this ID.
    pub fn track_uid(&self, id: &str) -> Option<&TrackUid> {
        self.find(&self.track_uids, id).filter(|p| p.id == id)
    }
}

/// The ID of a silent track (BS.2076-2 `ATU_00000000`).
pub const SILENT_TRACK: &str = "ATU_00000000";

/// Canonical form of an ADM ID: trimmed, upper case.
pub fn canonical_id(id: &str) -> String {
    id.trim().to_ascii_uppercase()
}
