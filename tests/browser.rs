//! The HTML QC report in a real browser: Debian's chromium, headless, renders the report of a
//! sheet with a failing deliverable; the DOM it builds must show every deliverable and every
//! failed check, and the screenshot must be a real picture. `.ci/run` installs chromium; in
//! CI (the `CI` variable set) a missing browser fails the test, elsewhere it says so and
//! skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn chromium() -> Option<PathBuf> {
    for c in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if Path::new(c).exists() {
            return Some(PathBuf::from(c));
        }
    }
    None
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn the_report_shows_every_deliverable_and_every_failed_check_in_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed: .ci/run installs it (apt-get install chromium)");
        }
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium); the browser test did not run");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("quiet.ron"),
        "Spec(name: \"quiet\", checks: [IntegratedLoudness(target: -31.0, tolerance: 0.5), MaxTruePeak(limit: -12.0)])",
    )
    .unwrap();
    let sheet = d.path().join("sheet.ron");
    std::fs::write(
        &sheet,
        format!(
            r#"Deliver(
    master: "{}/scenes/demo.ron",
    out_dir: "out",
    spec: "ebu-r128",
    outputs: [
        (name: "pm-51", layout: "5.1", normalize: true),
        (name: "pm-20-quiet", layout: "stereo", spec: "quiet.ron"),
        (name: "phones", binaural: true, normalize: true),
        (name: "stems-51", layout: "5.1", stems: true),
    ],
)"#,
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let r = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .arg("deliver")
        .arg(&sheet)
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let out = d.path().join("out");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let report = out.join("report.html");
    let url = format!("file://{}", report.display());

    let dom = headless(&browser, &d.path().join("profile-dom"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout).to_string();
    // The browser parsed the page into a document (a DOM dump, not the file echoed).
    assert!(
        dom.contains("<html") && dom.contains("</body>"),
        "no DOM: {}",
        &dom[..dom.len().min(400)]
    );

    let mut failed_total = 0;
    for dlv in manifest["deliverables"].as_array().unwrap() {
        let name = dlv["name"].as_str().unwrap();
        let id = format!("id=\"d-{name}\"");
        assert!(
            dom.contains(&id),
            "deliverable {name} is not in the rendered report"
        );
        for f in dlv["files"].as_array().unwrap() {
            assert!(
                dom.contains(f["path"].as_str().unwrap()),
                "file {} not shown",
                f["path"]
            );
            for c in f["qc"]["failed_checks"].as_array().unwrap() {
                failed_total += 1;
                let check = c["check"].as_str().unwrap();
                // The check's own row, marked as failed.
                let shown = dom.split("<tr class=\"check fail\">").skip(1).any(|row| {
                    row.split("</tr>")
                        .next()
                        .unwrap_or("")
                        .contains(&html_escape(check))
                });
                assert!(
                    shown,
                    "failed check '{check}' of {name} is not shown as failed"
                );
            }
        }
    }
    assert!(
        failed_total >= 2,
        "the quiet spec fails loudness and true peak ({failed_total})"
    );
    let fail_rows = dom.matches("<tr class=\"check fail\">").count();
    // One row per failed check, plus the summary row of each failed deliverable.
    let failed_deliverables = manifest["deliverables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["passed"] == false)
        .count();
    assert_eq!(fail_rows, failed_total + failed_deliverables);
    assert!(dom.contains("Summary: 4 deliverable(s), 1 failed"));
    assert!(!dom.contains("<script"), "the report has no scripts");

    let png = d.path().join("report.png");
    let shot = headless(&browser, &d.path().join("profile-shot"))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1600")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    // A rendered page of tables and charts compresses to far more than a blank one (~5 kB).
    assert!(bytes.len() > 30_000, "screenshot of {} bytes", bytes.len());
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
