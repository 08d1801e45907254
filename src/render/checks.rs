//! `canvass check`'s template checks: every template in every target and locale with its
//! sample data, translations complete, and the report templates on the demo report.

use super::load::builtin;
use super::{PLATFORMS, RenderError, Renderer, TARGETS, Target};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Templates whose translations must show every value the default template shows.
const COMPLETE: [&str; 1] = ["mydata"];

/// Every string (and number) in a sample, to look for in a rendering.
fn collect_leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| collect_leaves(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_leaves(x, out)),
        _ => {}
    }
}

impl Renderer {
    /// Renders every template for every target and every locale with the sample data in
    /// `samples.json` beside the templates; `canvass check` and the tests run this.
    pub fn check_samples(&self) -> Result<usize, RenderError> {
        // The built-in samples, each template's cases replaced by a `samples.json` in the
        // override folder when it has them.
        let parse = |raw: &str, file: &str| {
            serde_json::from_str::<BTreeMap<String, Vec<Value>>>(raw).map_err(|e| {
                RenderError::Samples {
                    file: file.to_string(),
                    message: e.to_string(),
                }
            })
        };
        let mut samples = parse(builtin::SAMPLES, "built-in prompts/samples.json")?;
        let path = self.dir.join("samples.json");
        let mut file = "built-in prompts/samples.json".to_string();
        if !self.dir.as_os_str().is_empty() && path.exists() {
            file = path.display().to_string();
            let raw = std::fs::read_to_string(&path).map_err(|e| RenderError::Samples {
                file: file.clone(),
                message: e.to_string(),
            })?;
            samples.extend(parse(&raw, &file)?);
        }
        let mut rendered = 0;
        // Report templates are checked on a generated report instead (`check_reports`).
        for name in self.names.iter().filter(|n| {
            !n.starts_with("insight/") && !n.starts_with("narrative/") && n.as_str() != "digest"
        }) {
            let cases = samples.get(name).ok_or_else(|| RenderError::Samples {
                file: file.clone(),
                message: format!("no sample data for template {name}"),
            })?;
            // A template that renders nothing for every sample (an emptied override) would
            // send members nothing at all.
            let mut shown: BTreeMap<&str, bool> = BTreeMap::new();
            for data in cases {
                for locale in &self.locales {
                    // Each target as its platform reads it, so `{{#on}}` branches are checked.
                    for (p, t) in PLATFORMS {
                        let text = self.render_platform(p, t, Some(locale), name, data)?;
                        *shown.entry(locale.as_str()).or_default() |= !text.trim().is_empty();
                        rendered += 1;
                    }
                }
                if COMPLETE.contains(&name.as_str()) {
                    self.check_complete(name, data)?;
                }
            }
            if let Some((locale, _)) = shown.iter().find(|(_, shows)| !**shows) {
                return Err(RenderError::Render {
                    name: name.clone(),
                    message: format!(
                        "shows nothing in locale {locale} with any of its sample data, so \
                         members would get an empty message; give it some text"
                    ),
                });
            }
        }
        Ok(rendered)
    }

    /// A translation of a template in [`COMPLETE`] must show every sample value the default
    /// template shows: `/mydata` promises every stored field in every language.
    fn check_complete(&self, name: &str, data: &Value) -> Result<(), RenderError> {
        let base = self.render_in(Target::Plain, None, name, data)?;
        let mut leaves = Vec::new();
        collect_leaves(data, &mut leaves);
        let shown: Vec<&String> = leaves
            .iter()
            .filter(|v| base.contains(v.as_str()))
            .collect();
        for locale in &self.locales {
            let text = self.render_in(Target::Plain, Some(locale), name, data)?;
            if let Some(missing) = shown.iter().find(|v| !text.contains(v.as_str())) {
                return Err(RenderError::Render {
                    name: format!("{locale}/{name}"),
                    message: format!(
                        "the translation leaves out {missing:?}, which the default template shows"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Templates of the default locale that `locale` does not translate.
    pub fn untranslated(&self, locale: &str) -> Vec<&str> {
        let all = self.registries();
        let Some(hb) = all.get(&Target::Plain) else {
            return Vec::new();
        };
        self.names
            .iter()
            .filter(|n| !hb.has_template(&format!("{locale}/{n}")))
            .map(String::as_str)
            .collect()
    }
}

impl Renderer {
    /// Renders the report templates in every format and every locale on the built-in demo
    /// report, at three sample sizes (empty, counts only, full).
    pub fn check_reports(&self) -> Result<usize, RenderError> {
        use super::report::Format;
        let mut rendered = 0;
        for locale in &self.locales {
            for n in [0, 6, 240] {
                let mut r = crate::insight::demo::report(n)
                    .ok_or_else(|| RenderError::Missing("demo report".into()))?;
                // The narrative prompts, and every report shape with a checked narrative shown.
                self.narrative_prompt(&r, 1200)?;
                rendered += 2;
                // Every chart caption, without drawing a PNG.
                for (kind, data) in [
                    ("subtitle", json!({ "n": n, "few": n < 10 })),
                    ("promoters", json!({})),
                    ("passives", json!({})),
                    ("detractors", json!({})),
                    ("point", json!({ "point": 3, "scale": 5 })),
                    ("empty", json!({})),
                    ("none_no_answers", json!({})),
                    ("none_too_few", json!({})),
                    ("none_not_drawn", json!({})),
                    (
                        "alt",
                        json!({ "title": "T", "n": n, "bars": [
                            { "label": "A", "value": "47%", "interval": "40–53%" },
                            { "label": "B", "value": "3", "interval": null },
                        ] }),
                    ),
                ] {
                    let w =
                        self.chart_word(locale, kind, &data)
                            .map_err(|e| RenderError::Render {
                                name: "insight/chart".into(),
                                message: e.to_string(),
                            })?;
                    if w.is_empty() {
                        return Err(RenderError::Render {
                            name: format!("{locale}/insight/chart"),
                            message: format!("no words for the {kind:?} caption"),
                        });
                    }
                    rendered += 1;
                }
                if n == 240 {
                    r.narrative = crate::insight::report::Narrative::Checked {
                        text: "A <sample> narrative: \"quoted\" *words* @everyone.".into(),
                        model: "demo-model".into(),
                    };
                }
                for f in [
                    Format::Chat(Target::Plain),
                    Format::Chat(Target::Html),
                    Format::Chat(Target::Markdown),
                    Format::Markdown,
                    Format::Html,
                    Format::Json,
                ] {
                    self.report_in(locale, f, &r)?;
                    rendered += 1;
                }
                let brief = crate::insight::digest::Brief {
                    period: "2026-01-05 09:00 CET".into(),
                    late: n == 6,
                    respondents: r.survey.respondents,
                    tests: r.tests,
                    cadence: if n == 6 {
                        crate::insight::digest::Cadence::Daily
                    } else {
                        crate::insight::digest::Cadence::Weekly
                    },
                    answers: r.survey.respondents,
                    quiet_surveys: if n == 0 {
                        vec![r.survey.title.clone()]
                    } else {
                        Vec::new()
                    },
                    reports: if n == 0 {
                        Vec::new()
                    } else {
                        vec![r.clone(), r]
                    },
                };
                for t in TARGETS {
                    self.digest_in(locale, t, &brief)?;
                    rendered += 1;
                }
            }
        }
        let outcome = crate::insight::report::NarrativeOutcome {
            narrative: crate::insight::report::Narrative::Off,
            code: "timeout",
            checked: None,
        };
        let demo = crate::insight::demo::report(6)
            .ok_or_else(|| RenderError::Missing("demo report".into()))?;
        let counts = [("shown", 2), ("timeout", 1)].into_iter().collect();
        self.narrative_outcome(&demo, Some(&outcome), &counts)?;
        self.narrative_outcome(&demo, None, &Default::default())?;
        rendered += 2;
        for code in NARRATIVE_REASONS {
            let text = self.render_value(
                Target::Plain,
                "narrative/reason",
                &serde_json::json!({ "code": code, "detail": "x", "subject": "x", "ms": 1, "status": 500 }),
            )?;
            if text.trim().is_empty() {
                return Err(RenderError::Render {
                    name: "narrative/reason".into(),
                    message: format!("no wording for the reason {code:?}"),
                });
            }
            rendered += 1;
        }
        Ok(rendered)
    }
}

/// Every reason code `prompts/narrative/reason.hbs` must word.
pub const NARRATIVE_REASONS: [&str; 17] = [
    "off",
    "nothing_to_narrate",
    "bad_prompt",
    "timeout",
    "http_status",
    "unreachable",
    "bad_reply",
    "empty",
    "too_long",
    "invented_number",
    "misattributed_number",
    "altered_quote",
    "certainty",
    "winner",
    "majority",
    "segment_claim",
    "engagement",
];
