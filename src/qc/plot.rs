//! SVG pictures of a QC report (plotters, SVG backend, no system fonts needed):
//! loudness over time (momentary and short-term) per system, and per-channel peak / true
//! peak / RMS bars. [`line_chart`] is a reusable helper for other plots.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::report::{Report, SystemReport};
use crate::error::{Error, Result};

/// Lowest level drawn, dB; quieter values (and silence) are drawn at this floor.
const FLOOR_DB: f64 = -70.0;
/// Most points drawn per series (longer series keep the maximum of each bucket).
const MAX_POINTS: usize = 2000;

/// One line of a [`line_chart`]: legend name, colour, points.
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// Line colour.
    pub color: RGBColor,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("plot: {e}"))
}

/// Renders a line chart to SVG text.
pub fn line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    series: &[Series],
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x, y)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(plot_err)?;
        for s in series {
            let color = s.color;
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(s.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// `(time, level)` points of a 10 Hz loudness series whose first value ends at `first_s`,
/// clamped to the floor and thinned to at most [`MAX_POINTS`] (bucket maxima).
fn series_points(values: &[f64], first_s: f64) -> Vec<(f64, f64)> {
    let step = values.len().div_ceil(MAX_POINTS).max(1);
    values
        .chunks(step)
        .enumerate()
        .map(|(k, c)| {
            let v = c
                .iter()
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max)
                .max(FLOOR_DB);
            (first_s + (k * step) as f64 * 0.1, v)
        })
        .collect()
}

/// The loudness-over-time chart of one system.
pub fn loudness_svg(s: &SystemReport, duration_s: f64) -> Result<String> {
    let m = series_points(&s.momentary, 0.4);
    let st = series_points(&s.short_term, 3.0);
    let top = m.iter().chain(&st).map(|p| p.1).fold(FLOOR_DB, f64::max);
    let title = format!(
        "{}: loudness (integrated {})",
        s.system,
        s.integrated_lufs
            .map_or("-inf".into(), |l| format!("{l:.1} LUFS"))
    );
    let mut series = vec![
        Series {
            name: "momentary (400 ms)",
            color: RGBColor(120, 160, 230),
            points: m,
        },
        Series {
            name: "short-term (3 s)",
            color: RGBColor(200, 40, 40),
            points: st,
        },
    ];
    if let Some(i) = s.integrated_lufs {
        series.push(Series {
            name: "integrated",
            color: RGBColor(30, 30, 30),
            points: vec![(0.0, i), (duration_s, i)],
        });
    }
    line_chart(
        &title,
        "time (s)",
        "LUFS",
        0.0..duration_s.max(0.5),
        FLOOR_DB..(top + 3.0).min(10.0),
        &series,
    )
}

/// The per-channel level bars of one system: sample peak, true peak and RMS.
pub fn levels_svg(s: &SystemReport) -> Result<String> {
    let n = s.channels.len();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, ((120 + 70 * n as u32).max(500), 420))
            .into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let top = s
            .channels
            .iter()
            .filter_map(|c| c.true_peak_dbtp)
            .fold(0.0f64, f64::max)
            + 1.0;
        let floor = -80.0;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{}: channel levels", s.system), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, floor..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("dBFS")
            .draw()
            .map_err(plot_err)?;
        let bars = [
            ("sample peak", RGBColor(230, 140, 40), -0.4, -0.14),
            ("true peak", RGBColor(200, 40, 40), -0.13, 0.13),
            ("RMS", RGBColor(60, 110, 200), 0.14, 0.4),
        ];
        for (k, (name, color, a, b)) in bars.into_iter().enumerate() {
            let rects = s.channels.iter().enumerate().map(move |(i, c)| {
                let v = match k {
                    0 => c.peak_dbfs,
                    1 => c.true_peak_dbtp,
                    _ => c.rms_dbfs,
                }
                .unwrap_or(floor)
                .max(floor);
                Rectangle::new([(i as f64 + a, floor), (i as f64 + b, v)], color.filled())
            });
            chart
                .draw_series(rects)
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .draw_series(s.channels.iter().enumerate().map(|(i, c)| {
                Text::new(
                    c.label.clone(),
                    (i as f64 - 0.3, floor + 4.0),
                    ("sans-serif", 13),
                )
            }))
            .map_err(plot_err)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// A file-name-safe form of a system name (`7.1.4` stays, `/` and spaces become `_`).
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Refuses a plot folder path that names something other than a folder.
pub fn check_plot_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "--plots {}: is a file; give a folder (it is created if missing)",
            dir.display()
        )));
    }
    Ok(())
}

/// Writes `loudness-SYSTEM.svg` and `levels-SYSTEM.svg` for every system into `dir` (created
/// if missing) and returns the files written.
pub fn write_plots(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    check_plot_dir(dir)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for s in &report.systems {
        for (kind, svg) in [
            ("loudness", loudness_svg(s, report.duration_s)?),
            ("levels", levels_svg(s)?),
        ] {
            let path = dir.join(format!("{kind}-{}.svg", safe(&s.system)));
            std::fs::write(&path, svg).map_err(|e| Error::io(&path, e))?;
            files.push(path);
        }
    }
    Ok(files)
}
