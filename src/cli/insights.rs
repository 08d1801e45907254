//! `canvass insights SURVEY`: the report in text, Markdown, JSON or HTML, the chart as a PNG,
//! and the narrative's outcome on standard error.

use anyhow::Context as _;
use canvass::app::App;
use canvass::render::Target;
use canvass::render::report::Format;
use std::path::PathBuf;

/// `canvass insights --format`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Markdown,
    Json,
    Html,
}

/// The arguments of `canvass insights`.
pub(super) struct Args {
    pub(super) survey: String,
    pub(super) segment: Option<String>,
    pub(super) format: OutputFormat,
    pub(super) chart: Option<PathBuf>,
    pub(super) narrative: bool,
}

/// Prints the survey's report (narrated when `[narrative]` is set) and writes the chart.
pub(super) async fn insights(app: &App, args: Args) -> anyhow::Result<()> {
    let Args {
        survey,
        segment,
        format,
        chart,
        narrative,
    } = args;
    let Some(s) = app.store.survey_by_slug(&survey).await? else {
        if app
            .config
            .surveys
            .iter()
            .any(|c| c.survey.id.as_str() == survey)
        {
            anyhow::bail!("{}", super::not_loaded(&survey));
        }
        anyhow::bail!("no survey with id {survey:?}; `canvass surveys` lists them");
    };
    let mut report = canvass::reporting::report(
        &app.store,
        &s,
        segment.as_deref(),
        app.config.segments.min_size,
        app.service.now(),
    )
    .await?;
    let outcome = match app.service.narrator() {
        Some(n) => canvass::reporting::narrate(n, &app.store, vec![&mut report])
            .await
            .pop()
            .flatten(),
        None => None,
    };
    if narrative {
        let counts = app
            .service
            .narrator()
            .map(|n| n.counts())
            .unwrap_or_default();
        eprintln!(
            "{}",
            app.renderer
                .narrative_outcome(&report, outcome.as_ref(), &counts)?
        );
    }
    let f = match format {
        OutputFormat::Text => Format::Chat(Target::Plain),
        OutputFormat::Markdown => Format::Markdown,
        OutputFormat::Json => Format::Json,
        OutputFormat::Html => Format::Html,
    };
    out!("{}", app.renderer.report(f, &report)?);
    if let Some(path) = chart {
        match app.renderer.chart(&report) {
            Some(png) => {
                std::fs::write(&path, png?)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("chart written to {}", path.display());
            }
            None => eprintln!("{}", app.renderer.no_chart_reason(&report)?),
        }
    }
    Ok(())
}
