//! `canvass surveys [ID]`: the surveys with their status and respondents, or one in full.

use canvass::app::App;
use canvass::core::event::Msg;
use canvass::render::Target;
use serde_json::json;

/// The list, or one survey's definition, rendered as plain text.
pub(super) async fn surveys(app: &App, id: Option<&str>) -> anyhow::Result<String> {
    let now = app.service.now();
    let msg = match id {
        None => {
            let stored = app.store.list_surveys().await?;
            for c in &app.config.surveys {
                if !stored.iter().any(|(s, _)| s.survey.id == c.survey.id) {
                    eprintln!("{}", super::not_loaded(c.survey.id.as_str()));
                }
            }
            let list: Vec<_> = stored
                .iter()
                .map(|(s, n)| {
                    json!({
                        "id": s.survey.id.as_str(), "title": s.survey.title,
                        "status": s.effective_status(now).as_str(), "respondents": n,
                        "questions": s.survey.questions.len(), "anonymous": s.survey.anonymous,
                    })
                })
                .collect();
            Msg::new("surveys", json!({ "team": true, "surveys": list }))
        }
        Some(id) => {
            let Some(s) = app.store.survey_by_slug(id).await? else {
                if app
                    .config
                    .surveys
                    .iter()
                    .any(|c| c.survey.id.as_str() == id)
                {
                    anyhow::bail!("{}", super::not_loaded(id));
                }
                anyhow::bail!("no survey with id {id:?}; `canvass surveys` lists them");
            };
            let n = app.store.respondent_count(s.key).await?;
            let data = json!({
                // The operator sees question types and option ids, as the team does.
                "team": true,
                "id": s.survey.id.as_str(), "title": s.survey.title, "intro": s.survey.intro,
                "status": s.effective_status(now).as_str(), "anonymous": s.survey.anonymous,
                "respondents": n,
                "results": s.survey.results.as_str(),
                "opens_at": s.survey.opens_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                "closes_at": s.survey.closes_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                "questions": s.survey.questions.iter().map(|q| json!({
                    "id": q.id.as_str(), "text": q.text, "type": q.kind.type_name(), "optional": q.optional,
                    "options": q.kind.options().iter().map(|o| json!({"id": o.id.as_str(), "label": o.label})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            Msg::new("survey", data)
        }
    };
    Ok(app.renderer.render(Target::Plain, &msg)?)
}
