//! `canvass check`: validates the config and templates without touching the database.

use canvass::app::{Options, prompts_dir};
use canvass::config::Config;
use canvass::render::Renderer;
use std::path::PathBuf;
use std::process::ExitCode;

/// Validates config and templates without touching the database.
pub(super) fn check(path: &std::path::Path, opts: &Options, offline: bool) -> ExitCode {
    let mut problems = Vec::new();
    let config = match Config::load(path) {
        Ok(c) => {
            problems.extend(c.problems(offline).iter().map(ToString::to_string));
            Some(c)
        }
        Err(e) => {
            problems.extend(e.messages());
            None
        }
    };
    let dir = match &config {
        Some(c) => prompts_dir(c, opts),
        None => path
            .parent()
            .map(|p| p.join("prompts"))
            .unwrap_or_else(|| PathBuf::from("prompts")),
    };
    let mut rendered = 0;
    let mut missing = Vec::new();
    let mut overrides = 0;
    match Renderer::load(&dir) {
        Ok(r) => {
            overrides = r.overrides();
            match r.check_samples().and_then(|n| Ok(n + r.check_reports()?)) {
                Ok(n) => rendered = n,
                Err(e) => problems.push(e.to_string()),
            }
            if let Some(c) = &config {
                missing = missing_translations(&r, c);
            }
        }
        Err(e) => problems.push(e.to_string()),
    }
    // Gaps fall back to the default text, so they are listed, not failed.
    let list_missing = || {
        for (locale, gaps) in &missing {
            out!("{locale}: falls back to the default for");
            for g in gaps {
                out!("  - {g}");
            }
        }
    };
    if problems.is_empty() {
        let n = config.map(|c| c.surveys.len()).unwrap_or(0);
        let overrides = match overrides {
            0 => "built-in templates".to_string(),
            k => format!(
                "built-in templates with {k} file(s) from {} over them",
                dir.display()
            ),
        };
        out!(
            "ok: {} is valid ({n} surveys); {overrides} rendered {rendered} times without error",
            path.display(),
        );
        list_missing();
        ExitCode::SUCCESS
    } else {
        eprintln!("canvass check found {} problem(s):", problems.len());
        for p in problems {
            eprintln!("  - {p}");
        }
        ExitCode::FAILURE
    }
}

/// Per locale (shipped or used by a survey), what is not translated: templates, then survey
/// texts.
fn missing_translations(r: &Renderer, c: &Config) -> Vec<(String, Vec<String>)> {
    let mut locales: Vec<String> = r.locales().iter().skip(1).cloned().collect();
    let persona = c.persona.iter().flat_map(|p| p.locales.keys());
    for l in c
        .surveys
        .iter()
        .flat_map(|s| s.locales.keys())
        .chain(persona)
    {
        if !locales.contains(l) && l != canvass::locale::DEFAULT {
            locales.push(l.clone());
        }
    }
    let mut out = Vec::new();
    for l in locales {
        let mut gaps: Vec<String> = r
            .untranslated(&l)
            .into_iter()
            .map(|t| format!("template {t}.hbs"))
            .collect();
        for s in &c.surveys {
            match s.locales.get(&l) {
                Some(t) => gaps.extend(
                    t.missing(&s.survey)
                        .into_iter()
                        .map(|m| format!("survey {}: {m}", s.survey.id)),
                ),
                None => gaps.push(format!("survey {}: every text", s.survey.id)),
            }
        }
        if let Some(p) = &c.persona {
            gaps.extend(canvass::core::survey::QuestionText::missing(
                p.locales.get(&l),
                &p.question,
                "persona",
            ));
        }
        if !gaps.is_empty() {
            out.push((l, gaps));
        }
    }
    out
}
