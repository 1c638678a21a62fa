//! Pictures of a scene: the layout's speakers and the objects' trajectories, seen from
//! above and from the side, as SVG (plotters) or PNG (the SVG rasterised with resvg, with
//! an embedded DejaVu Sans font so no system fonts are needed).

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::scene::{self, Scene};

/// The font embedded for PNG output (DejaVu Sans; licence in `data/fonts/`).
const FONT: &[u8] = include_bytes!("../data/fonts/DejaVuSans.ttf");

/// Seconds between trajectory samples.
const STEP_S: f64 = 0.05;

/// Extent outlines drawn per object with a width or height (evenly along the scene).
const EXTENT_SAMPLES: usize = 24;

/// The smallest width and height an extent is drawn with, in degrees.
const MIN_DRAWN_DEG: f64 = 6.0;

/// The outline of an object's extent (`width` x `height` degrees around the direction
/// (`az`, `el`), in the frame of the source as BS.2127 builds it: the width across, the height
/// up), as unit directions.
pub fn extent_outline(az: f64, el: f64, width: f64, height: f64) -> Vec<crate::geometry::Vec3> {
    let (w, h) = (width.min(360.0) / 2.0, height.min(180.0) / 2.0);
    let mut local: Vec<(f64, f64)> = Vec::new();
    let steps = 24;
    for i in 0..=steps {
        local.push((-w + 2.0 * w * i as f64 / steps as f64, h));
    }
    for i in 0..=steps {
        local.push((w - 2.0 * w * i as f64 / steps as f64, -h));
    }
    local
        .into_iter()
        .map(|(a, e)| in_source_frame(az, el, a, e))
        .collect()
}

/// The direction at (`a`, `e`) degrees in the frame of a source at (`az`, `el`): `a` across
/// (to the left), `e` up, as BS.2127 places extents and divergence copies.
fn in_source_frame(az: f64, el: f64, a: f64, e: f64) -> crate::geometry::Vec3 {
    let (sa, ca) = az.to_radians().sin_cos();
    let (se, ce) = el.to_radians().sin_cos();
    let d = crate::geometry::direction(a, e);
    // Tilt up by the elevation (about x), then turn left by the azimuth (about z).
    let (y1, z1) = (d.y * ce - d.z * se, d.y * se + d.z * ce);
    crate::geometry::Vec3::new(d.x * ca - y1 * sa, d.x * sa + y1 * ca, z1)
}

/// Where an object's divergence copies are (`range` degrees either side, BS.2127's
/// `objectDivergence`): `EXTENT_SAMPLES` times along the scene, while its value is above 0.
fn divergence_copies(o: &scene::Object, length: f64) -> Vec<crate::geometry::Vec3> {
    if o.divergence.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for i in 0..EXTENT_SAMPLES {
        let t = length * i as f64 / (EXTENT_SAMPLES - 1) as f64;
        if let Some((_, range)) = scene::divergence_at(&o.divergence, t) {
            let (az, el, _) =
                crate::geometry::cartesian_to_polar(scene::position_at(&o.position, t));
            out.push(in_source_frame(az, el, range, 0.0));
            out.push(in_source_frame(az, el, -range, 0.0));
        }
    }
    out
}

/// The extent outlines of an object with a width or height: `EXTENT_SAMPLES` times along
/// the scene, plus each width and height keyframe.
fn extents(o: &scene::Object, length: f64) -> Vec<Vec<crate::geometry::Vec3>> {
    if o.width.is_empty() && o.height.is_empty() {
        return Vec::new();
    }
    let mut times: Vec<f64> = (0..EXTENT_SAMPLES)
        .map(|i| length * i as f64 / (EXTENT_SAMPLES - 1) as f64)
        .chain(o.width.iter().chain(&o.height).map(|k| k.time))
        .filter(|t| *t <= length)
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    times
        .into_iter()
        .filter_map(|t| {
            let (w, h) = (
                scene::value_at(&o.width, t, 0.0),
                scene::value_at(&o.height, t, 0.0),
            );
            if w <= 0.0 && h <= 0.0 {
                return None;
            }
            let (az, el, _) =
                crate::geometry::cartesian_to_polar(scene::position_at(&o.position, t));
            // At least MIN_DRAWN_DEG each way, so that a width alone (or a height alone)
            // still has an area to shade.
            Some(extent_outline(
                az,
                el,
                w.max(MIN_DRAWN_DEG),
                h.max(MIN_DRAWN_DEG),
            ))
        })
        .collect()
}

/// The plotted length of a scene: its duration, or else a second past its last keyframe.
fn plot_length(scene: &Scene) -> f64 {
    scene.duration.unwrap_or_else(|| {
        scene
            .objects
            .iter()
            .flat_map(|o| o.position.iter().map(|k| k.time))
            .fold(0.0, f64::max)
            + 1.0
    })
}

/// Draws the layout and the trajectories of the scene's (unmuted) objects as an SVG document.
pub fn trajectories_svg(scene: &Scene, layout: &Layout) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1200, 640)).into_drawing_area();
        draw(&root, scene, layout)
            .map_err(|e| Error::Invalid(format!("drawing the plot failed: {e}")))?;
        root.present()
            .map_err(|e| Error::Invalid(format!("drawing the plot failed: {e}")))?;
    }
    Ok(svg)
}

/// A 2-D view of a direction.
type Projection = fn(&crate::geometry::Vec3) -> (f64, f64);
/// A drawing area of any backend.
type Area<DB> = DrawingArea<DB, plotters::coord::Shift>;

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    scene: &Scene,
    layout: &Layout,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(40);
    title.titled(
        &format!(
            "{} on {} (azimuth positive to the left)",
            scene.origin, layout.name
        ),
        ("sans-serif", 20),
    )?;
    let (top, side) = body.split_horizontally(600);
    let length = plot_length(scene);
    let n = ((length / STEP_S).ceil() as usize).clamp(2, 200_000);
    // Trajectories as unit directions sampled along the scene, with extent outlines.
    type Path = (
        String,
        Vec<crate::geometry::Vec3>,
        Vec<Vec<crate::geometry::Vec3>>,
        Vec<crate::geometry::Vec3>,
    );
    let paths: Vec<Path> = scene
        .objects
        .iter()
        .filter(|o| !o.mute)
        .map(|o| {
            let pts = (0..=n)
                .map(|i| scene::position_at(&o.position, length * i as f64 / n as f64))
                .collect();
            (
                o.name.clone(),
                pts,
                extents(o, length),
                divergence_copies(o, length),
            )
        })
        .collect();
    let views: [(&Area<DB>, &str, &str, &str, Projection); 2] = [
        (
            &top,
            "seen from above (front up)",
            "x (right)",
            "y (front)",
            |v| (v.x, v.y),
        ),
        (
            &side,
            "seen from the left side (front right)",
            "y (front)",
            "z (up)",
            |v| (v.y, v.z),
        ),
    ];
    for (area, caption, xl, yl, project) in views {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(-1.25f64..1.25f64, -1.25f64..1.25f64)?;
        chart
            .configure_mesh()
            .x_desc(xl)
            .y_desc(yl)
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        // The unit circle: the speaker radius.
        chart.draw_series(LineSeries::new(
            (0..=120).map(|i| {
                let a = i as f64 / 120.0 * std::f64::consts::TAU;
                (a.cos(), a.sin())
            }),
            BLACK.mix(0.25),
        ))?;
        chart.draw_series(std::iter::once(Cross::new((0.0, 0.0), 6, BLACK.mix(0.6))))?;
        for (i, (name, _, _, copies)) in paths.iter().enumerate() {
            if copies.is_empty() {
                continue;
            }
            // Divergence: hollow dots where the two side copies are.
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(
                    copies
                        .iter()
                        .map(|c| Circle::new(project(c), 3, color.mix(0.7).stroke_width(1))),
                )?
                .label(format!("{name} (divergence copies)"))
                .legend(move |(x, y)| Circle::new((x + 8, y), 3, color.stroke_width(1)));
        }
        for (i, (name, _, outlines, _)) in paths.iter().enumerate() {
            if outlines.is_empty() {
                continue;
            }
            // The extent: translucent regions around the path, under the trajectories.
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(outlines.iter().map(|o| {
                    Polygon::new(
                        o.iter().map(project).collect::<Vec<_>>(),
                        color.mix(0.12).filled(),
                    )
                }))?
                .label(format!("{name} (extent)"))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 16, y + 5)], color.mix(0.3).filled())
                });
        }
        for (i, (name, pts, _, _)) in paths.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(project),
                    color.stroke_width(2),
                ))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            let start = project(&pts[0]);
            chart.draw_series(std::iter::once(Circle::new(start, 4, color.filled())))?;
        }
        for s in layout.speakers.iter().filter(|s| !s.lfe) {
            let p = project(&s.direction());
            chart.draw_series(std::iter::once(Rectangle::new(
                [(p.0 - 0.03, p.1 - 0.03), (p.0 + 0.03, p.1 + 0.03)],
                BLUE.mix(0.8).filled(),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                s.label.clone(),
                (p.0 + 0.04, p.1 + 0.04),
                ("sans-serif", 12),
            )))?;
        }
        if !paths.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .position(SeriesLabelPosition::LowerRight)
                .draw()?;
        }
    }
    Ok(())
}

/// Rasterises an SVG document to PNG bytes, with the embedded font for text.
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>> {
    let mut opt = resvg::usvg::Options::default();
    opt.fontdb_mut().load_font_data(FONT.to_vec());
    opt.font_family = "DejaVu Sans".into();
    // plotters asks for the generic "sans-serif" family: map it to the embedded font.
    opt.fontdb_mut().set_sans_serif_family("DejaVu Sans");
    let tree = resvg::usvg::Tree::from_str(svg, &opt)
        .map_err(|e| Error::Invalid(format!("rasterising the plot failed: {e}")))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| Error::Invalid("rasterising the plot failed: empty image".into()))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| Error::Invalid(format!("encoding the PNG failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_show_speakers_and_objects() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenes/demo.ron"))
            .unwrap();
        let scene = Scene::parse(&text, "demo.ron", std::path::Path::new(".")).unwrap();
        let layout = Layout::resolve("7.1.4").unwrap();
        let svg = trajectories_svg(&scene, &layout).unwrap();
        for needle in ["U-135", "M+030", "flyover", "dialogue", "<svg"] {
            assert!(svg.contains(needle), "{needle}");
        }
        assert!(!svg.contains("(extent)") && !svg.contains("<polygon"));
        let png = svg_to_png(&svg).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(png.len() > 10_000);
    }

    #[test]
    fn plots_shade_an_objects_extent() {
        let text = "Scene(sample_rate: 48000, duration: 4.0, objects: [Object(name: \"rain\", source: Generator(Silence), position: [(time: 0, az: 30)], width: [(time: 0, value: 40), (time: 2, value: 90)], height: [(time: 0, value: 20)])])";
        let scene = Scene::parse(text, "rain.ron", std::path::Path::new(".")).unwrap();
        let layout = Layout::resolve("7.1.4").unwrap();
        let svg = trajectories_svg(&scene, &layout).unwrap();
        assert!(svg.contains("rain (extent)"), "the legend names the extent");
        assert!(!svg.contains("(divergence copies)"));
        assert!(
            svg.matches("<polygon").count() >= EXTENT_SAMPLES,
            "one region per sample"
        );
        // The outline spans the width: at az 30, width 40, its edges are at az 10 and 50.
        let o = extent_outline(30.0, 0.0, 40.0, 0.0);
        let azs: Vec<f64> = o
            .iter()
            .map(|v| crate::geometry::cartesian_to_polar(*v).0)
            .collect();
        let (lo, hi) = azs
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        assert!(
            (lo - 10.0).abs() < 1e-9 && (hi - 50.0).abs() < 1e-9,
            "{lo} {hi}"
        );
        // Tilted up: the centre of a height-only outline is the direction itself.
        let o = extent_outline(-60.0, 30.0, 0.0, 20.0);
        let (az, el, _) = crate::geometry::cartesian_to_polar(o[0]);
        assert!(
            (az + 60.0).abs() < 1e-9 && (el - 40.0).abs() < 1e-9,
            "{az} {el}"
        );
        let png = svg_to_png(&svg).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        // Divergence: the side copies, `range` degrees either side of the path.
        let text = "Scene(sample_rate: 48000, duration: 4.0, objects: [Object(name: \"ph\", source: Generator(Silence), position: [(time: 0, az: 0)], divergence: [(time: 0, value: 0.5, range: 30)])])";
        let scene = Scene::parse(text, "ph.ron", std::path::Path::new(".")).unwrap();
        let svg = trajectories_svg(&scene, &layout).unwrap();
        assert!(svg.contains("ph (divergence copies)"));
        let copies = divergence_copies(&scene.objects[0], 4.0);
        assert_eq!(copies.len(), 2 * EXTENT_SAMPLES);
        let az = crate::geometry::cartesian_to_polar(copies[0]).0;
        let az1 = crate::geometry::cartesian_to_polar(copies[1]).0;
        assert!(
            (az - 30.0).abs() < 1e-9 && (az1 + 30.0).abs() < 1e-9,
            "{az} {az1}"
        );
    }
}
