//! The QC report as one self-contained HTML page: inline CSS and SVG, no scripts, nothing
//! fetched from the network, and a print stylesheet so a browser's print-to-PDF gives a
//! clean document.
//!
//! A page holds a summary table (every deliverable, passed or failed, linked to its section)
//! and one section per deliverable (`id="d-NAME"`): its files, and for each file the spec's
//! checks (a failed one is a row of class `check fail`), the loudness figures of every
//! system measured (own layout, fold-downs, mono, headphones), the loudness over time and the
//! per-channel levels as charts, and the warnings.

use super::plot::{levels_svg, loudness_svg};
use super::report::Report;
use crate::error::Result;

/// One file of a deliverable.
#[derive(Debug, Clone)]
pub struct HtmlFile<'a> {
    /// Path relative to the deliverables folder.
    pub path: String,
    /// Layout name (or `binaural`, `adm`).
    pub layout: String,
    /// `s16`, `s24` or `f32`.
    pub format: String,
    /// Channels.
    pub channels: usize,
    /// Frames.
    pub frames: u64,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Its measurement, when it was measured on its own.
    pub report: Option<&'a Report>,
    /// A remark (such as "measured as part of the whole mix").
    pub note: Option<String>,
}

/// One deliverable.
#[derive(Debug, Clone)]
pub struct HtmlDeliverable<'a> {
    /// Its name.
    pub name: String,
    /// Whether every check of every file passed.
    pub passed: bool,
    /// What it is (layout, groups, spec, gain).
    pub description: String,
    /// Its files.
    pub files: Vec<HtmlFile<'a>>,
    /// Failures that belong to no file (an ADM validation), warnings of the render.
    pub notes: Vec<String>,
}

/// `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// An id-safe form of a name (`d-` + letters, digits, `-`, `_`, other characters as `_`).
pub fn anchor(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("d-{safe}")
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("&minus;&infin;".to_string(), |x| format!("{x:.digits$}"))
}

/// An SVG chart without its XML declaration, for inlining.
fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:2px solid #ddd;padding-bottom:.2em}
h3{font-size:1.05em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#176c2c;font-weight:600}.fail{color:#b00020;font-weight:600}
tr.check.fail td{background:#fde8ea}tr.check.pass td{background:#f1f9f2}
.badge{display:inline-block;padding:.1em .6em;border-radius:.8em;color:#fff;font-size:.85em;vertical-align:middle}
.badge.pass{background:#1f8a3b}.badge.fail{background:#c62828}
.facts{color:#555;font-size:.9em}.hash{font-family:monospace;font-size:.8em;word-break:break-all}
.charts svg{max-width:100%;height:auto;display:block;margin:.5em 0}
ul.warnings li{color:#8a5a00}
@media print{body{margin:0;max-width:none;font-size:10pt}section.deliverable{break-before:page}
section.deliverable:first-of-type{break-before:auto}.charts{break-inside:avoid}a{color:inherit;text-decoration:none}
tr.check.fail td{background:#fde8ea !important;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
";

fn badge(passed: bool) -> &'static str {
    if passed {
        "<span class=\"badge pass\">PASS</span>"
    } else {
        "<span class=\"badge fail\">FAIL</span>"
    }
}

/// The measurement of one report: checks, systems, channels, charts and warnings.
fn report_html(r: &Report) -> Result<String> {
    let mut h = String::new();
    let failed: Vec<(String, String, String)> = r
        .systems
        .iter()
        .flat_map(|s| {
            s.checks
                .iter()
                .map(move |c| (s.system.clone(), c.check.clone(), c.detail.clone()))
                .zip(s.checks.iter().map(|c| c.passed))
        })
        .filter(|(_, p)| !p)
        .map(|(x, _)| x)
        .collect();
    let any_check =
        r.systems.iter().any(|s| !s.checks.is_empty()) || !r.unapplied_checks.is_empty();
    if any_check {
        h.push_str(&format!(
            "<h3>Checks: {}{}</h3>\n<table class=\"checks\"><tr><th>system</th><th>check</th><th>measured</th><th>result</th><th>detail</th></tr>\n",
            escape(r.spec.as_deref().unwrap_or("spec")),
            if failed.is_empty() { String::new() } else { format!(" ({} failed)", failed.len()) }
        ));
        for s in &r.systems {
            for c in &s.checks {
                let cls = if c.passed { "pass" } else { "fail" };
                h.push_str(&format!(
                    "<tr class=\"check {cls}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"{cls}\">{}</td><td>{}</td></tr>\n",
                    escape(&s.system),
                    escape(&c.check),
                    num(c.measured, 2),
                    if c.passed { "pass" } else { "FAIL" },
                    escape(&c.detail)
                ));
            }
        }
        for u in &r.unapplied_checks {
            h.push_str(&format!(
                "<tr class=\"check fail\"><td>-</td><td>{}</td><td class=\"n\">-</td><td class=\"fail\">FAIL</td><td>not applied</td></tr>\n",
                escape(u)
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h3>Loudness on each playback system</h3>\n<table class=\"systems\"><tr><th>system</th><th>integrated LUFS</th><th>dialogue LUFS</th><th>range LU</th><th>max momentary</th><th>max short-term</th><th>true peak dBTP</th><th>sample peak dBFS</th><th>change LU</th><th>correlation</th></tr>\n");
    for s in &r.systems {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            escape(&s.system),
            num(s.integrated_lufs, 1),
            num(s.dialogue_gated_lufs, 1),
            num(s.loudness_range_lu, 1),
            num(s.max_momentary_lufs, 1),
            num(s.max_short_term_lufs, 1),
            num(s.true_peak_dbtp, 1),
            num(s.sample_peak_dbfs, 1),
            s.loudness_change_lu.map_or("-".into(), |v| format!("{v:+.1}")),
            s.correlation.map_or("-".into(), |v| format!("{v:.2}")),
        ));
    }
    h.push_str("</table>\n");
    if let Some(own) = r.systems.first() {
        h.push_str("<h3>Channels</h3>\n<table class=\"channels\"><tr><th>channel</th><th>true peak dBTP</th><th>sample peak dBFS</th><th>RMS dBFS</th><th>clipped</th><th>DC</th></tr>\n");
        for c in &own.channels {
            h.push_str(&format!(
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.5}</td></tr>\n",
                escape(&c.label),
                num(c.true_peak_dbtp, 1),
                num(c.peak_dbfs, 1),
                num(c.rms_dbfs, 1),
                c.clipped_samples,
                c.dc_offset
            ));
        }
        h.push_str("</table>\n<div class=\"charts\">\n");
        h.push_str(inline_svg(&loudness_svg(own, r.duration_s)?));
        h.push('\n');
        h.push_str(inline_svg(&levels_svg(own)?));
        h.push_str("\n</div>\n");
    }
    let warnings: Vec<String> = r
        .systems
        .iter()
        .flat_map(|s| s.warnings.iter().map(move |w| format!("{}: {w}", s.system)))
        .collect();
    if !warnings.is_empty() {
        h.push_str("<h3>Warnings</h3>\n<ul class=\"warnings\">\n");
        for w in warnings {
            h.push_str(&format!("<li>{}</li>\n", escape(&w)));
        }
        h.push_str("</ul>\n");
    }
    Ok(h)
}

/// One deliverable's section (`<section id="d-NAME">`).
pub fn deliverable_section(d: &HtmlDeliverable) -> Result<String> {
    let mut h = format!(
        "<section class=\"deliverable {}\" id=\"{}\">\n<h2>{} {}</h2>\n<p class=\"facts\">{}</p>\n",
        if d.passed { "passed" } else { "failed" },
        anchor(&d.name),
        escape(&d.name),
        badge(d.passed),
        escape(&d.description)
    );
    if !d.notes.is_empty() {
        h.push_str("<ul class=\"notes\">\n");
        for n in &d.notes {
            h.push_str(&format!("<li>{}</li>\n", escape(n)));
        }
        h.push_str("</ul>\n");
    }
    for f in &d.files {
        h.push_str(&format!(
            "<h3>{}</h3>\n<p class=\"facts\">{}, {} channel(s), {} Hz, {}, {:.3} s{}<br><span class=\"hash\">sha256 {}</span></p>\n",
            escape(&f.path),
            escape(&f.layout),
            f.channels,
            f.sample_rate,
            escape(&f.format),
            f.frames as f64 / f.sample_rate.max(1) as f64,
            f.note.as_deref().map(|n| format!("; {}", escape(n))).unwrap_or_default(),
            escape(&f.sha256)
        ));
        if let Some(r) = f.report {
            h.push_str(&report_html(r)?);
        }
    }
    h.push_str("</section>\n");
    Ok(h)
}

/// A whole page: a title, facts about the job (label, value), the summary of the
/// deliverables (name, passed) and their sections.
pub fn page(
    title: &str,
    facts: &[(String, String)],
    summary: &[(String, bool)],
    sections: &[String],
) -> String {
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    if !facts.is_empty() {
        h.push_str("<table class=\"job\">\n");
        for (k, v) in facts {
            h.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>\n",
                escape(k),
                escape(v)
            ));
        }
        h.push_str("</table>\n");
    }
    if !summary.is_empty() {
        let failed = summary.iter().filter(|(_, p)| !p).count();
        h.push_str(&format!(
            "<h2>Summary: {} deliverable(s), {}</h2>\n<table class=\"summary\"><tr><th>deliverable</th><th>result</th></tr>\n",
            summary.len(),
            if failed == 0 { "all passed".to_string() } else { format!("{failed} failed") }
        ));
        for (name, passed) in summary {
            h.push_str(&format!(
                "<tr class=\"check {}\"><td><a href=\"#{}\">{}</a></td><td>{}</td></tr>\n",
                if *passed { "pass" } else { "fail" },
                anchor(name),
                escape(name),
                badge(*passed)
            ));
        }
        h.push_str("</table>\n");
    }
    for s in sections {
        h.push_str(s);
    }
    h.push_str(&format!(
        "<footer class=\"facts\"><p>Written by mixstage {}. Loudness per ITU-R BS.1770-4 / EBU R128; true peak per BS.1770 Annex 2.</p></footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    ));
    h
}

/// The page `mixstage qc MIX --report FILE.html` writes: one mix, one section.
pub fn single_report(r: &Report, sha256: &str, format: &str, frames: u64) -> Result<String> {
    let name = r
        .input
        .as_deref()
        .and_then(|p| std::path::Path::new(p).file_name())
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "mix".into());
    let d = HtmlDeliverable {
        name: name.clone(),
        passed: r.passed,
        description: format!(
            "{} mix, {} Hz, {:.3} s{}",
            r.layout,
            r.sample_rate,
            r.duration_s,
            r.spec
                .as_deref()
                .map(|s| format!(", checked against {s}"))
                .unwrap_or_default()
        ),
        files: vec![HtmlFile {
            path: r.input.clone().unwrap_or_default(),
            layout: r.layout.clone(),
            format: format.to_string(),
            channels: r.systems.first().map_or(0, |s| s.channels.len()),
            frames,
            sample_rate: r.sample_rate,
            sha256: sha256.to_string(),
            report: Some(r),
            note: None,
        }],
        notes: vec![],
    };
    let section = deliverable_section(&d)?;
    Ok(page(
        &format!("QC report: {name}"),
        &[],
        &[(name, r.passed)],
        &[section],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_anchored() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(anchor("pm 5.1"), "d-pm_5_1");
        let p = page("t <x>", &[], &[("a&b".into(), false)], &[]);
        assert!(
            p.contains("t &lt;x&gt;") && p.contains("href=\"#d-a_b\"") && p.contains("check fail")
        );
        assert!(!p.contains("<script"));
        assert!(p.contains("@media print"));
    }
}
