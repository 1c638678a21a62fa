//! `mixstage plot`: a scene's trajectories over the layout's speakers.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use mixstage::plot::{svg_to_png, trajectories_svg};
use mixstage::scene::Scene;
use mixstage::Layout;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  mixstage plot scenes/demo.ron --layout 7.1.4 -o demo.svg\n  \
mixstage plot scenes/cartesian.ron --layout 5.1 -o cartesian.png\n\n\
Two views: from above (x to the right, y to the front, front at the top) and from the left side."
)]
pub struct PlotArgs {
    /// The scene file.
    scene: PathBuf,
    /// The layout whose speakers to draw (built-in name or RON file).
    #[arg(long, short)]
    layout: String,
    /// Output file: .svg or .png.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(a: PlotArgs) -> Result<i32> {
    let scene = Scene::load(&a.scene)?;
    let layout = Layout::resolve(&a.layout)?;
    let ext = a
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    let bytes = match ext.as_deref() {
        Some("svg") => trajectories_svg(&scene, &layout)?.into_bytes(),
        Some("png") => svg_to_png(&trajectories_svg(&scene, &layout)?)?,
        _ => bail!(
            "{}: the output must end in .svg or .png",
            a.output.display()
        ),
    };
    mixstage::io::check_output_path(&a.output)?;
    mixstage::io::write_file_atomic(&a.output, &bytes)
        .with_context(|| format!("writing {}", a.output.display()))?;
    Ok(0)
}
