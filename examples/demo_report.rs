//! Writes the demo report in every format to target/demo-report/, to look at by hand.
//! An argument picks the team locale: `cargo run --example demo_report -- de`.

use canvass::render::Renderer;
use canvass::render::Target;
use canvass::render::report::Format;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let locale = std::env::args().nth(1).unwrap_or_else(|| "en".into());
    let out = Path::new("target/demo-report");
    write(Path::new("prompts"), out, &locale)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The synthetic 240-respondent report in every format (and its chart) into `out`, worded
/// with the templates in `prompts` for the team locale `locale`. The integration tests run it.
pub(crate) fn write(
    prompts: &Path,
    out: &Path,
    locale: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let r = canvass::insight::demo::report(240).ok_or("demo report")?;
    let renderer = Renderer::load(prompts)?.with_team_locale(locale);
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
    Ok(())
}
