//! RON Ambisonics beds: `ambisonics: (order: N, normalization: ...)` on a bed decodes its
//! ACN-ordered file with BS.2127's AllRAD decoder for the output layout.

use std::path::Path;

use mixstage::io::{write_all, SampleFormat};
use mixstage::panner::allrad::{AllRad, HoaFormat};
use mixstage::panner::hoa::{acn_components, encode, Normalization};
use mixstage::render::{RenderOptions, Renderer};
use mixstage::scene::Scene;
use mixstage::Layout;

fn render(scene: &Scene, layout: &str) -> mixstage::Result<Vec<Vec<f32>>> {
    let layout = Layout::resolve(layout).unwrap();
    let mut r = Renderer::new(scene, &layout, &RenderOptions::default())?;
    let mut mix = vec![Vec::new(); layout.channels()];
    while r.next_block()? > 0 {
        for (c, m) in mix.iter_mut().enumerate() {
            m.extend_from_slice(&r.mix()[c]);
        }
    }
    Ok(mix)
}

/// A plane wave (a 1 kHz sine) from `az`/`el`, encoded in `norm` at `order`, written to `path`.
fn plane_wave(path: &Path, order: u32, az: f64, el: f64, norm: Normalization) -> Vec<f32> {
    let gains = encode(&acn_components(order), az, el, norm);
    let sig: Vec<f32> = (0..4800)
        .map(|i| (0.25 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 48000.0).sin()) as f32)
        .collect();
    let chans: Vec<Vec<f32>> = gains
        .iter()
        .map(|&g| sig.iter().map(|&s| s * g as f32).collect())
        .collect();
    write_all(path, 48000, &chans, SampleFormat::F32, 0).unwrap();
    sig
}

fn bed_scene(dir: &Path, file: &str, amb: &str) -> mixstage::Result<Scene> {
    Scene::parse(
        &format!(
            "Scene(sample_rate: 48000, beds: [Bed(name: \"amb\", source: File(path: \"{file}\"), ambisonics: {amb})])"
        ),
        "hoa.ron",
        dir,
    )
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn a_first_order_plane_wave_plays_loudest_at_the_nearest_speaker() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::resolve("7.1.4").unwrap();
    for (az, el, label) in [
        (30.0, 0.0, "M+030"),
        (-110.0, 0.0, "M-135"),
        (100.0, 5.0, "M+090"),
        (-45.0, 35.0, "U-045"),
        (140.0, 40.0, "U+135"),
    ] {
        let p = dir.path().join("amb.wav");
        plane_wave(&p, 1, az, el, Normalization::SN3D);
        let s = bed_scene(dir.path(), "amb.wav", "(order: 1, normalization: SN3D)").unwrap();
        let mix = render(&s, "7.1.4").unwrap();
        let levels: Vec<f64> = mix.iter().map(|c| rms(c)).collect();
        let loudest = (0..levels.len())
            .max_by(|&a, &b| levels[a].total_cmp(&levels[b]))
            .unwrap();
        assert_eq!(
            layout.speakers[loudest].label, label,
            "az {az} el {el}: levels {levels:?}"
        );
        for c in layout.lfe_channels() {
            assert_eq!(levels[c], 0.0, "LFE gets nothing");
        }
    }
}

#[test]
fn a_bed_renders_as_its_decoder_matrix() {
    // Order 2 N3D on 5.1: every output sample is the decoder times the input.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("amb.wav");
    let sig = plane_wave(&p, 2, 70.0, 20.0, Normalization::N3D);
    let s = bed_scene(dir.path(), "amb.wav", "(order: 2, normalization: N3D)").unwrap();
    let mix = render(&s, "5.1").unwrap();
    let layout = Layout::resolve("5.1").unwrap();
    let comps = acn_components(2);
    let d = AllRad::new(&layout)
        .unwrap()
        .design(
            &HoaFormat {
                components: comps.clone(),
                normalization: Normalization::N3D,
            },
            false,
        )
        .unwrap();
    let enc = encode(&comps, 70.0, 20.0, Normalization::N3D);
    let mut worst = 0.0f64;
    for (c, row) in d.iter().enumerate() {
        let g: f64 = row.iter().zip(&enc).map(|(a, b)| a * b).sum();
        for (i, &x) in mix[c].iter().enumerate() {
            worst = worst.max((x as f64 - g * sig[i] as f64).abs());
        }
    }
    assert!(worst < 1e-6, "{worst}");
    assert_eq!(mix[0].len(), sig.len());
}

#[test]
fn ambisonics_bed_errors_name_the_bed() {
    let dir = tempfile::tempdir().unwrap();
    plane_wave(&dir.path().join("o1.wav"), 1, 0.0, 0.0, Normalization::SN3D);
    // Four channels, order 2 asks for nine.
    let s = bed_scene(dir.path(), "o1.wav", "(order: 2)").unwrap();
    let e = render(&s, "5.1").unwrap_err().to_string();
    assert!(
        e.contains("bed 1 ('amb')") && e.contains("4 channels") && e.contains("(2+1)^2 = 9"),
        "{e}"
    );
    // Layout and ambisonics together, neither, FuMa past order 3, an unknown normalisation.
    let base = "Scene(sample_rate: 48000, beds: [Bed(name: \"amb\", source: File(path: \"o1.wav\")";
    let e = Scene::parse(
        &format!("{base}, layout: \"5.1\", ambisonics: (order: 1))])"),
        "hoa.ron",
        dir.path(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("bed 1 ('amb').layout") && e.contains("not both"),
        "{e}"
    );
    let e = Scene::parse(&format!("{base})])"), "hoa.ron", dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bed 1 ('amb')") && e.contains("ambisonics"),
        "{e}"
    );
    let e = bed_scene(dir.path(), "o1.wav", "(order: 4, normalization: FuMa)")
        .unwrap_err()
        .to_string();
    assert!(e.contains("ambisonics.order") && e.contains("FuMa"), "{e}");
    let e = bed_scene(dir.path(), "o1.wav", "(order: 1, normalization: ambiX)")
        .unwrap_err()
        .to_string();
    assert!(e.contains("hoa.ron:1:") && e.contains("ambiX"), "{e}");
}

#[test]
fn channel_beds_still_need_no_ambisonics_field() {
    let dir = tempfile::tempdir().unwrap();
    let s = Scene::parse(
        "Scene(sample_rate: 48000, duration: 0.1, beds: [Bed(name: \"b\", source: Generator(PinkNoise()), layout: \"5.1\")])",
        "b.ron",
        dir.path(),
    )
    .unwrap();
    let mix = render(&s, "stereo").unwrap();
    assert!(mix[0].iter().any(|&x| x != 0.0));
}

#[test]
fn an_hoa_master_renders_bit_identically_for_any_thread_count() {
    let input =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/adm/hoa_order3_n3d_custom.wav");
    let (scene, _) =
        mixstage::adm::open_scene(&input, &mixstage::adm::AdmOptions::default()).unwrap();
    assert_eq!(scene.beds.len(), 1, "one HOA item");
    assert_eq!(
        scene.beds[0]
            .ambisonics
            .as_ref()
            .unwrap()
            .components()
            .len(),
        16
    );
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| render(&scene, "22.2").unwrap())
    };
    let bits = |v: Vec<Vec<f32>>| {
        v.into_iter()
            .flatten()
            .map(f32::to_bits)
            .collect::<Vec<_>>()
    };
    let one = bits(run(1));
    assert!(one.iter().any(|&b| b != 0));
    assert_eq!(one, bits(run(5)));
}

#[test]
fn a_fuma_ordered_file_renders_as_its_acn_twin() {
    // The same plane wave in FuMa order (W X Y Z R S T U V) and in ACN order, both FuMa
    // normalised: the renders agree.
    let dir = tempfile::tempdir().unwrap();
    let fuma = mixstage::panner::hoa::ChannelOrder::FuMa
        .components(2)
        .unwrap();
    let sig: Vec<f32> = (0..2400).map(|i| ((i as f32) * 0.05).sin() * 0.2).collect();
    let write = |name: &str, comps: &[(u32, i32)]| {
        let g = encode(comps, -120.0, 25.0, Normalization::FuMa);
        let chans: Vec<Vec<f32>> = g
            .iter()
            .map(|&k| sig.iter().map(|&s| s * k as f32).collect())
            .collect();
        write_all(&dir.path().join(name), 48000, &chans, SampleFormat::F32, 0).unwrap();
    };
    write("fuma.wav", &fuma);
    write("acn.wav", &acn_components(2));
    let a = render(
        &bed_scene(
            dir.path(),
            "fuma.wav",
            "(order: 2, normalization: FuMa, channel_order: FuMa)",
        )
        .unwrap(),
        "7.1.4",
    )
    .unwrap();
    let b = render(
        &bed_scene(dir.path(), "acn.wav", "(order: 2, normalization: FuMa)").unwrap(),
        "7.1.4",
    )
    .unwrap();
    let worst = a
        .iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-6, "{worst}");
    assert!(a.iter().flatten().any(|x| x.abs() > 0.01));
    // FuMa order stops at 3.
    let e = bed_scene(
        dir.path(),
        "fuma.wav",
        "(order: 4, normalization: N3D, channel_order: FuMa)",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("channel_order") && e.contains("up to order 3"),
        "{e}"
    );
}

#[test]
fn an_amb_b_format_file_is_read() {
    // A first-order .amb file: WAVE_FORMAT_EXTENSIBLE with the Ambisonic B-format PCM
    // sub-format GUID, channels W X Y Z (FuMa), 16-bit. A plane wave from the front.
    let dir = tempfile::tempdir().unwrap();
    let frames = 2400usize;
    let g = encode(
        &mixstage::panner::hoa::ChannelOrder::FuMa
            .components(1)
            .unwrap(),
        0.0,
        0.0,
        Normalization::FuMa,
    );
    let mut data = Vec::new();
    for i in 0..frames {
        for &k in &g {
            let x = 0.2 * (i as f64 * 0.05).sin() * k;
            data.extend(((x * 32767.0) as i16).to_le_bytes());
        }
    }
    let mut fmt = Vec::new();
    fmt.extend(0xFFFEu16.to_le_bytes());
    fmt.extend(4u16.to_le_bytes());
    fmt.extend(48000u32.to_le_bytes());
    fmt.extend((48000u32 * 8).to_le_bytes());
    fmt.extend(8u16.to_le_bytes());
    fmt.extend(16u16.to_le_bytes());
    fmt.extend(22u16.to_le_bytes());
    fmt.extend(16u16.to_le_bytes());
    fmt.extend(0u32.to_le_bytes());
    fmt.extend(1u32.to_le_bytes());
    fmt.extend([
        0x21, 0x07, 0xD3, 0x11, 0x86, 0x44, 0xC8, 0xC1, 0xCA, 0, 0, 0,
    ]);
    let mut body = b"WAVEfmt ".to_vec();
    body.extend((fmt.len() as u32).to_le_bytes());
    body.extend(&fmt);
    body.extend(b"data");
    body.extend((data.len() as u32).to_le_bytes());
    body.extend(&data);
    let mut file = b"RIFF".to_vec();
    file.extend((body.len() as u32).to_le_bytes());
    file.extend(body);
    std::fs::write(dir.path().join("front.amb"), file).unwrap();
    let s = bed_scene(
        dir.path(),
        "front.amb",
        "(order: 1, normalization: FuMa, channel_order: FuMa)",
    )
    .unwrap();
    let mix = render(&s, "5.1").unwrap();
    let layout = Layout::resolve("5.1").unwrap();
    let levels: Vec<f64> = mix.iter().map(|c| rms(c)).collect();
    // First order is broad: the three front speakers play (left and right alike), the
    // surrounds hardly at all.
    let at = |l: &str| levels[layout.channel_index(l).unwrap()];
    let front = at("M+000").min(at("M+030")).min(at("M-030"));
    assert!(front > 10.0 * at("M+110").max(at("M-110")), "{levels:?}");
    assert!(
        (at("M+030") - at("M-030")).abs() < 1e-3 * at("M+030"),
        "{levels:?}"
    );
}
