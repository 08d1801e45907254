//! Writes the demo report in every format to target/demo-report/, to look at by hand.
//! An argument picks the team locale: `cargo run --example demo_report -- de`.

use canvass::render::Renderer;
use canvass::render::Target;
use canvass::render::report::Format;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let r = canvass::insight::demo::report(240).ok_or("demo report")?;
    let locale = std::env::args().nth(1).unwrap_or_else(|| "en".into());
    let renderer = Renderer::load(Path::new("prompts"))?.with_team_locale(&locale);
    let out = Path::new("target/demo-report");
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join("report.txt"),
        renderer.report(Format::Chat(Target::Plain), &r)?,
    )?;
    std::fs::write(
        out.join("report.md"),
        renderer.report(Format::Markdown, &r)?,
    )?;
    std::fs::write(out.join("report.html"), renderer.report(Format::Html, &r)?)?;
    std::fs::write(out.join("report.json"), renderer.report(Format::Json, &r)?)?;
    if let Some(png) = renderer.chart(&r) {
        std::fs::write(out.join("chart.png"), png?)?;
    }
    println!("wrote {}", out.display());
    Ok(())
}
