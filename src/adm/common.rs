//! The ITU-R BS.2094 common definitions (standard packs, channels, streams and tracks
//! such as `AP_00010003` for 5.1 or `AT_00010001_01` for its first channel), embedded as
//! BS.2076 XML and read with the same reader as a file's `axml`. The data file is
//! `data/adm/bs2094_common_definitions.xml`; `data/adm/README.md` gives its provenance and
//! the deviations from the copy it was made from.

use std::sync::OnceLock;

use super::model::Adm;
use super::Warnings;

/// The embedded XML.
pub const XML: &str = include_str!("../../data/adm/bs2094_common_definitions.xml");

/// The common definitions, parsed once per process.
pub fn definitions() -> &'static Adm {
    static DEFS: OnceLock<Adm> = OnceLock::new();
    DEFS.get_or_init(|| {
        let mut w = Warnings::default();
        super::xml::parse(XML, "BS.2094 common definitions (built in)", true, &mut w)
            .expect("the built-in common definitions parse")
    })
}

/// True if `id` names an element of the common definitions.
pub fn is_common(id: &str) -> bool {
    definitions().index.contains_key(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_standard_ids() {
        let d = definitions();
        let p = d.pack("AP_00010003").expect("5.1 pack");
        assert_eq!(p.channels.len(), 6);
        assert!(d.channel("AC_00010001").is_some());
        assert!(d.track("AT_00010001_01").is_some());
        assert!(d.stream("AS_00010001").is_some());
        assert!(p.common);
    }
}
