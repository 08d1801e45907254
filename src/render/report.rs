//! Turns the insight report model into what people read: chat text, Markdown, an HTML page,
//! the documented JSON, and the chart. Statements become words through `prompts/insight/`.

use super::chart::{self, Bar, ChartSpec};
use super::{RenderError, Renderer, Target};
use crate::insight::report::{Code, Narrative, QuestionReport, Report, Statement, Tier};
use crate::locale::Numbers;
use serde_json::{Value, json};

/// Output formats of `canvass insights`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Chat text for a target (plain for the console, HTML for Telegram, Markdown for Discord).
    Chat(Target),
    Markdown,
    Html,
    Json,
}

fn pct(nf: &Numbers, x: f64) -> String {
    let v = x * 100.0;
    if v > 0.0 && v < 0.5 {
        format!("<{}", nf.pct(1.0, 0))
    } else {
        nf.pct(v, 0)
    }
}

fn pct1(nf: &Numbers, x: f64) -> String {
    nf.pct(x * 100.0, 1)
}

fn range(nf: &Numbers, ci: [f64; 2]) -> String {
    nf.pct_range(ci[0] * 100.0, ci[1] * 100.0, 0)
}

/// A p-value with its relation, the locale's way: `= 0.012`, or `< 0.001` where three places
/// would show 0.000.
fn p_shown(nf: &Numbers, p: f64) -> String {
    if p < 0.001 {
        format!("< {}", nf.num(0.001, 3))
    } else {
        format!("= {}", nf.num(p, 3))
    }
}

/// How many options the digest names per question; it says how many more there are.
const DIGEST_OPTIONS: usize = 3;

fn signed(nf: &Numbers, x: f64) -> String {
    if x > 0.0 {
        format!("+{}", nf.num(x, 0))
    } else {
        nf.num(x, 0)
    }
}

/// Statement parameters with fractional numbers written the locale's way; whole numbers stay
/// numbers so `plural` can count them.
fn localise_numbers(nf: &Numbers, v: &mut Value) {
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            if let Some(x) = n.as_f64() {
                *v = if x.fract() == 0.0 && x.abs() < 1e15 {
                    json!(x as i64)
                } else {
                    json!(nf.num(x, 1))
                };
            }
        }
        Value::Array(xs) => xs.iter_mut().for_each(|x| localise_numbers(nf, x)),
        Value::Object(m) => m.values_mut().for_each(|x| localise_numbers(nf, x)),
        _ => {}
    }
}

impl Renderer {
    /// One statement as a sentence for a target, in the team's locale.
    pub fn statement(&self, target: Target, s: &Statement) -> Result<String, RenderError> {
        self.statement_in(&self.team, target, s)
    }

    fn statement_in(
        &self,
        locale: &str,
        target: Target,
        s: &Statement,
    ) -> Result<String, RenderError> {
        let mut data = match &s.params {
            Value::Object(m) => Value::Object(m.clone()),
            _ => json!({}),
        };
        let nf = Numbers::for_locale(locale);
        if matches!(s.code, Code::Rating | Code::RatingCounts) {
            // A mean and its interval in one style: one decimal for all three, as the report's
            // tables show them (not "3.7 (3–4.3)").
            for k in ["mean", "low", "high"] {
                if let Some(x) = data.get(k).and_then(Value::as_f64) {
                    data[k] = json!(nf.num(x, 1));
                }
            }
            if data.get("same").is_none() {
                data["same"] = json!(false);
            }
        }
        localise_numbers(&nf, &mut data);
        data["code"] = json!(s.code);
        self.render_in(target, Some(locale), "insight/statement", &data)
    }

    fn statements(
        &self,
        locale: &str,
        target: Target,
        xs: &[Statement],
    ) -> Result<Vec<String>, RenderError> {
        xs.iter()
            .map(|s| self.statement_in(locale, target, s))
            .collect()
    }

    fn question_view(
        &self,
        locale: &str,
        q: &QuestionReport,
        counts_only: bool,
    ) -> Result<Value, RenderError> {
        let nf = &Numbers::for_locale(locale);
        let pct = |x: f64| pct(nf, x);
        let range = |c: [f64; 2]| range(nf, c);
        let signed = |x: f64| signed(nf, x);
        // Below the tier where intervals are shown (n < 10), every format shows counts only:
        // there an adjusted interval need not contain the raw estimate (1 of 1 promoters:
        // NPS +100, interval -48 to +98).
        let counts_only = counts_only || q.n < 10;
        let mut v = json!({
            "id": q.id, "type": q.kind, "text": q.text, "n": q.n, "withheld": q.withheld,
            "finding": self.statement_in(locale, Target::Plain, &q.finding)?,
            "counts_only": counts_only,
        });
        if let Some(opts) = q.detail.options() {
            let mut sorted: Vec<_> = opts.iter().collect();
            sorted.sort_by_key(|o| std::cmp::Reverse(o.count));
            v["options"] = json!(
                sorted
                    .iter()
                    .map(|o| json!({
                        "label": o.label, "id": o.id, "count": o.count,
                        "pct": pct1(nf, o.share), "ci": range(o.ci95), "best": pct(o.prob_best),
                    }))
                    .collect::<Vec<_>>()
            );
            // The digest names the first few and says how many more there are.
            v["more_options"] = json!(sorted.len().saturating_sub(DIGEST_OPTIONS));
        }
        if let Some(r) = q.detail.rating() {
            v["rating"] = json!({
                "mean": nf.num(r.mean, 1),
                // No interval when every answer is the same point (it would read "5.0–5.0");
                // the finding says so in words.
                "ci": r.ci95.filter(|_| r.distribution.iter().filter(|c| **c > 0).count() > 1)
                    .map(|c| format!("{}–{}", nf.num(c[0], 1), nf.num(c[1], 1))),
                "top2": pct(r.top2_share), "top2_ci": range(r.top2_ci95), "scale": r.scale,
                "distribution": r.distribution.iter().enumerate().map(|(i, c)| json!({"point": i + 1, "count": c})).collect::<Vec<_>>(),
            });
        }
        if let Some(n) = q.detail.nps() {
            v["nps"] = json!({
                "score": signed(n.score), "ci": format!("{} to {}", signed(n.ci95[0]), signed(n.ci95[1])),
                "low": signed(n.ci95[0]), "high": signed(n.ci95[1]),
                "promoters": n.promoters, "passives": n.passives, "detractors": n.detractors,
            });
        }
        if let Some(r) = q.detail.ranking() {
            let label = |id: &str| {
                r.borda
                    .iter()
                    .find(|p| p.option == id)
                    .map(|p| p.label.clone())
                    .unwrap_or_else(|| id.to_string())
            };
            v["ranking"] = json!({
                "borda": r.borda.iter().map(|p| json!({"label": p.label, "points": nf.num(p.points, 1)})).collect::<Vec<_>>(),
                "schulze": r.schulze_order.iter().map(|id| label(id)).collect::<Vec<_>>(),
                "irv": r.irv_winner.as_deref().map(label),
                "plurality": r.plurality_winner.as_deref().map(label),
                "robust": r.robust_winner.as_deref().map(label),
                "head_to_head": r.head_to_head,
                "partial": r.partial_ballots,
            });
        }
        if let Some(p) = q.detail.pairwise() {
            v["pairwise"] = json!({
                "strengths": p.bradley_terry.iter().map(|s| json!({"label": s.label, "pct": pct(s.strength), "comparisons": s.comparisons})).collect::<Vec<_>>(),
                "judgements": p.judgements,
            });
        }
        if let Some(m) = q.detail.message_test() {
            v["message_test"] = json!({
                "keep_collecting": m.keep_collecting, "min": m.min_per_variant,
                "prob_a_better": m.prob_a_better.map(pct),
            });
        }
        if let Some(themes) = q.detail.themes() {
            v["themes"] = json!(themes
                .iter()
                .map(|t| json!({"label": t.label, "count": t.count, "pct": pct(t.share), "quotes": t.quotes, "sentiment": t.sentiment, "language": t.language}))
                .collect::<Vec<_>>());
        }
        if let Some(t) = q.detail.text_summary() {
            v["text_summary"] = json!({
                "unclassified": t.unclassified, "unclassified_pct": pct(t.unclassified_share),
                "phrases": t.phrases.iter().take(8).map(|p| json!({"text": p.text, "respondents": p.respondents})).collect::<Vec<_>>(),
                "sentiment": t.overall_sentiment,
                "sample": t.sample.map(|s| json!({"analysed": s.analysed, "answers": s.answers})),
            });
        }
        let differs: Vec<Value> = q
            .segments
            .iter()
            .filter(|s| s.differs)
            .map(|s| json!({
                "segment": s.segment, "n": s.n, "p_adjusted": p_shown(nf, s.p_adjusted),
                "gap": s.largest_gap.as_ref().map(|g| json!({"option": g.option, "segment": pct(g.segment_share), "others": pct(g.others_share)})),
            }))
            .collect();
        v["segments_differ"] = json!(differs);
        v["segments_tested"] = json!(q.segments.len());
        if let Some(c) = &q.change {
            // Each metric as the report shows it: NPS a signed whole number, a mean to one place.
            let fmt = |x: f64| match c.metric {
                "leader_share" => pct(x),
                "nps" => signed(x),
                _ => nf.num(x, 1),
            };
            v["change"] = json!({
                "since": c.since, "before": fmt(c.before), "after": fmt(c.after),
                "within_noise": c.within_noise, "metric": c.metric,
                "p": c.p_value.map(|p| p_shown(nf, p)),
                // The option whose share changed (the current leader), so the line names it.
                "option": (c.metric == "leader_share").then(|| q.detail.leader().map(|l| l.label.clone())).flatten(),
            });
        }
        Ok(v)
    }

    /// The data every report template receives, in the team's locale.
    pub fn report_view(&self, r: &Report) -> Result<Value, RenderError> {
        self.report_view_in(&self.team, r)
    }

    fn report_view_in(&self, locale: &str, r: &Report) -> Result<Value, RenderError> {
        let counts_only = r.quality.tier == Tier::CountsOnly;
        // Statements are words only: rendered plain here, they are escaped once, for the
        // target, by the template that shows them.
        let plain = Target::Plain;
        let questions = r
            .questions
            .iter()
            .map(|q| self.question_view(locale, q, counts_only))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({
            "survey": r.survey,
            "segment": r.segment_filter,
            "headline": self.statement_in(locale, plain, &r.headline)?,
            "confidence": r.confidence,
            "confidence_reasons": self.statements(locale, plain, &r.confidence_reasons)?,
            "next_step": self.statement_in(locale, plain, &r.recommendation.next_step)?,
            "would_change": self.statement_in(locale, plain, &r.recommendation.would_change)?,
            "caveats": self.statements(locale, plain, &r.caveats)?,
            "questions": questions,
            "quality": r.quality,
            "tests": r.tests,
            "min_segment": r.min_segment,
            "fdr_q": Numbers::for_locale(locale).short(r.fdr_q),
            "narrative": match &r.narrative {
                Narrative::Checked { text, model } => json!({ "text": text, "model": model }),
                _ => Value::Null,
            },
            // The HTML page's embedded chart (`report_in` fills it in for that format only).
            "chart": Value::Null,
        }))
    }

    /// Why there is no narrative, from `prompts/narrative/reason.hbs`; None when one is shown.
    pub fn narrative_reason(&self, r: &Report) -> Result<Option<String>, RenderError> {
        match &r.narrative {
            Narrative::Checked { .. } => Ok(None),
            Narrative::Dropped { reason } => Ok(Some(reason.clone())),
            Narrative::Off => self
                .render_value(Target::Plain, "narrative/reason", &json!({ "code": "off" }))
                .map(Some),
        }
    }

    /// `canvass insights --narrative`: shown or dropped and why, what was checked, and the
    /// outcome counts, from `prompts/narrative/outcome.hbs`.
    pub fn narrative_outcome(
        &self,
        r: &Report,
        outcome: Option<&crate::insight::report::NarrativeOutcome>,
        counts: &std::collections::BTreeMap<&'static str, u64>,
    ) -> Result<String, RenderError> {
        let data = json!({
            "shown": matches!(r.narrative, Narrative::Checked { .. }),
            "model": match &r.narrative { Narrative::Checked { model, .. } => model.as_str(), _ => "" },
            "code": outcome.map(|o| o.code).unwrap_or("off"),
            "reason": self.narrative_reason(r)?,
            "numbers": outcome.and_then(|o| o.checked).map(|c| c.numbers).unwrap_or(0),
            "quotes": outcome.and_then(|o| o.checked).map(|c| c.quotes).unwrap_or(0),
            "counts": counts.iter().map(|(k, v)| json!({ "code": k, "count": v })).collect::<Vec<_>>(),
        });
        self.render_value(Target::Plain, "narrative/outcome", &data)
    }

    /// The system and user messages for the narrative model, from `prompts/narrative/`: the
    /// report as people read it (rounded as the report rounds) and the JSON model.
    pub fn narrative_prompt(
        &self,
        r: &Report,
        max_chars: usize,
    ) -> Result<(String, String), RenderError> {
        let mut plain = r.clone();
        plain.narrative = Narrative::Off;
        let data = json!({
            "report": self.report_view(&plain)?,
            "json": self.report_json(&plain)?,
            "max_chars": max_chars,
        });
        Ok((
            self.render_value(Target::Plain, "narrative/system", &data)?,
            self.render_value(Target::Plain, "narrative/user", &data)?,
        ))
    }

    /// Renders a report in one of the output formats, in the team's locale.
    pub fn report(&self, format: Format, r: &Report) -> Result<String, RenderError> {
        self.report_in(&self.team, format, r)
    }

    /// Renders a report in one of the output formats for readers in `locale`.
    pub fn report_in(
        &self,
        locale: &str,
        format: Format,
        r: &Report,
    ) -> Result<String, RenderError> {
        let l = Some(locale);
        match format {
            Format::Chat(t) => {
                self.render_in(t, l, "insight/report", &self.report_view_in(locale, r)?)
            }
            Format::Markdown => self.render_in(
                Target::Markdown,
                l,
                "insight/report_markdown",
                &self.report_view_in(locale, r)?,
            ),
            Format::Html => {
                let mut view = self.report_view_in(locale, r)?;
                view["chart"] = self.chart_figure(r, locale);
                self.render_in(Target::Html, l, "insight/report_page", &view)
            }
            Format::Json => {
                let v = self.report_json(r)?;
                serde_json::to_string_pretty(&v).map_err(|e| RenderError::Render {
                    name: "json".into(),
                    message: e.to_string(),
                })
            }
        }
    }

    /// The digest text for a target, from `prompts/digest.hbs`, in the team's locale.
    pub fn digest(
        &self,
        target: Target,
        b: &crate::insight::digest::Brief,
    ) -> Result<String, RenderError> {
        self.digest_in(&self.team, target, b)
    }

    /// The digest text for a target for readers in `locale`.
    pub fn digest_in(
        &self,
        locale: &str,
        target: Target,
        b: &crate::insight::digest::Brief,
    ) -> Result<String, RenderError> {
        let surveys = b
            .reports
            .iter()
            .map(|r| self.report_view_in(locale, r))
            .collect::<Result<Vec<_>, _>>()?;
        let data = json!({
            "period": b.period, "late": b.late, "quiet": b.quiet(),
            "respondents": b.respondents, "count": b.reports.len(),
            "surveys": surveys, "tests": b.tests, "answers": b.answers,
            "daily": b.cadence == crate::insight::digest::Cadence::Daily,
            "quiet_surveys": b.quiet_surveys,
            // `segments.min_size`, the same for every report of a digest; null without one.
            "min_segment": b.reports.first().map(|r| r.min_segment),
        });
        self.render_in(target, Some(locale), "digest", &data)
    }

    /// The stable JSON format (docs/report-json.md): the model, with statements as plain text.
    pub fn report_json(&self, r: &Report) -> Result<Value, RenderError> {
        let t = Target::Plain;
        let mut v = serde_json::to_value(r).map_err(|e| RenderError::Render {
            name: "json".into(),
            message: e.to_string(),
        })?;
        v["headline"] = json!(self.statement(t, &r.headline)?);
        v["headline_code"] = json!(r.headline.code);
        v["recommendation"] = json!({
            "next_step": self.statement(t, &r.recommendation.next_step)?,
            "would_change": self.statement(t, &r.recommendation.would_change)?,
        });
        v["caveats"] = json!(self.statements(&self.team, t, &r.caveats)?);
        v["confidence_reasons"] = json!(self.statements(&self.team, t, &r.confidence_reasons)?);
        if let Some(qs) = v["questions"].as_array_mut() {
            for (qv, q) in qs.iter_mut().zip(&r.questions) {
                qv["finding"] = json!(self.statement(t, &q.finding)?);
            }
        }
        v["narrative"] = match &r.narrative {
            Narrative::Checked { text, model } => {
                json!({ "text": text, "model": model, "checked": true })
            }
            _ => Value::Null,
        };
        v["narrative_reason"] = json!(self.narrative_reason(r)?);
        Ok(v)
    }
}

/// The question the report's chart shows: the first with shares to draw (pairwise strengths
/// only from ten answers: below that every format shows counts).
fn chart_question(r: &Report) -> Option<&QuestionReport> {
    r.questions.iter().find(|q| {
        q.n > 0
            && (q.detail.options().is_some()
                || q.detail.nps().is_some()
                || (q.detail.pairwise().is_some() && q.n >= 10)
                || q.detail.rating().is_some())
    })
}

/// Draws a report's chart for the product team, or nothing: a failure is logged and the
/// summary goes out without its chart.
pub type Charts = dyn Fn(&Report) -> Option<Vec<u8>> + Send + Sync;

/// Charts captioned by `renderer` in the team's locale.
pub fn charts(renderer: std::sync::Arc<Renderer>) -> std::sync::Arc<Charts> {
    std::sync::Arc::new(move |r| match renderer.chart(r) {
        Some(Ok(png)) => Some(png),
        Some(Err(e)) => {
            tracing::error!(error = %e, "chart failed; sending the summary without it");
            None
        }
        None => None,
    })
}

impl Renderer {
    /// The report's main chart, captioned in the team's locale (`insight/chart.hbs`).
    pub fn chart(&self, r: &Report) -> Option<Result<Vec<u8>, chart::ChartError>> {
        self.chart_in(r, &self.team)
    }

    /// Why [`Renderer::chart`] draws nothing for this report, in the team's locale
    /// (`insight/chart.hbs`): no answers yet, a head-to-head question under ten answers, or
    /// nothing in the survey that is drawn as a chart (rankings, written answers).
    pub fn no_chart_reason(&self, r: &Report) -> Result<String, chart::ChartError> {
        let kind = if r.questions.iter().all(|q| q.n == 0) {
            "none_no_answers"
        } else if r
            .questions
            .iter()
            .any(|q| q.n > 0 && q.detail.pairwise().is_some())
        {
            "none_too_few"
        } else {
            "none_not_drawn"
        };
        self.chart_word(&self.team, kind, &json!({}))
    }

    /// The report's main chart with its captions in `locale`.
    pub fn chart_in(&self, r: &Report, locale: &str) -> Option<Result<Vec<u8>, chart::ChartError>> {
        Some(
            self.chart_spec(r, locale)?
                .and_then(|spec| chart::render_png(&spec)),
        )
    }

    /// One caption of a chart (`subtitle`, `promoters`, `point`, ...) from `insight/chart.hbs`.
    pub(crate) fn chart_word(
        &self,
        locale: &str,
        kind: &str,
        given: &Value,
    ) -> Result<String, chart::ChartError> {
        // Every key is always present: templates run in strict mode.
        let mut data =
            json!({ "n": "", "few": false, "point": 0, "scale": 0, "title": "", "bars": [] });
        if let (Some(d), Some(g)) = (data.as_object_mut(), given.as_object()) {
            d.extend(g.clone());
        }
        data["kind"] = json!(kind);
        if let Some(n) = given["n"].as_f64() {
            data["n"] = json!(Numbers::for_locale(locale).num(n, 0));
        }
        self.render_in(Target::Plain, Some(locale), "insight/chart", &data)
            .map(|s| s.trim().to_string())
            .map_err(|e| chart::ChartError::Caption(e.to_string()))
    }
}

impl Renderer {
    /// The chart of the HTML page: the PNG as a data URI, so the page stands alone, and alt text
    /// that states its numbers. Null (the page goes out without it) when there is nothing to
    /// draw or drawing failed.
    fn chart_figure(&self, r: &Report, locale: &str) -> Value {
        use base64::Engine as _;
        let made = chart_question(r).map(|q| {
            let spec = self.chart_spec_for(q, locale)?;
            let alt = self.chart_alt(&spec, q.n, locale)?;
            let png = chart::render_png(&spec)?;
            Ok::<_, chart::ChartError>((png, alt))
        });
        match made {
            Some(Ok((png, alt))) => json!({
                "src": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)),
                "alt": alt,
            }),
            Some(Err(e)) => {
                tracing::error!(error = %e, "chart failed; the HTML report goes out without it");
                Value::Null
            }
            None => Value::Null,
        }
    }

    /// The chart in words (`insight/chart.hbs`, kind `alt`): title, n and each bar's number
    /// with its interval, as the chart prints them.
    fn chart_alt(
        &self,
        spec: &ChartSpec,
        n: usize,
        locale: &str,
    ) -> Result<String, chart::ChartError> {
        let nf = &spec.numbers;
        let bars: Vec<Value> = spec
            .bars
            .iter()
            .map(|b| {
                let value = if spec.percent_axis {
                    pct(nf, b.value)
                } else {
                    nf.num(b.value, 0)
                };
                let interval = match (spec.percent_axis, b.low, b.high) {
                    (true, Some(lo), Some(hi)) => json!(range(nf, [lo, hi])),
                    _ => Value::Null,
                };
                json!({ "label": b.label, "value": value, "interval": interval })
            })
            .collect();
        self.chart_word(
            locale,
            "alt",
            &json!({ "title": spec.title, "n": n, "bars": bars }),
        )
    }

    /// What the report's main chart shows: the first question with shares, captioned in
    /// `locale`. None when there is nothing to draw.
    fn chart_spec(&self, r: &Report, locale: &str) -> Option<Result<ChartSpec, chart::ChartError>> {
        Some(self.chart_spec_for(chart_question(r)?, locale))
    }

    /// A bar per option (or NPS group, or scale point) with its interval as a whisker.
    fn chart_spec_for(
        &self,
        q: &QuestionReport,
        locale: &str,
    ) -> Result<ChartSpec, chart::ChartError> {
        let word = |kind: &str, data: Value| self.chart_word(locale, kind, &data);
        let n = q.n as u64;
        // Below ten answers the chart, like every format, shows counts: no shares, no whiskers.
        let few = q.n < 10;
        let count = |label: String, c: u64| Bar {
            label,
            value: c as f64,
            low: None,
            high: None,
        };
        // A count's share of the answers, with its Wilson interval.
        let share = |label: String, c: u64| {
            let w = crate::insight::stats::wilson(c, n);
            Bar {
                label,
                value: c as f64 / n as f64,
                low: w.map(|w| w.low),
                high: w.map(|w| w.high),
            }
        };
        let bars: Vec<Bar> = if let Some(opts) = q.detail.options() {
            let mut o: Vec<_> = opts.iter().collect();
            o.sort_by_key(|o| std::cmp::Reverse(o.count));
            o.iter()
                .map(|o| {
                    if few {
                        count(o.label.clone(), o.count)
                    } else {
                        Bar {
                            label: o.label.clone(),
                            value: o.share,
                            low: Some(o.ci95[0]),
                            high: Some(o.ci95[1]),
                        }
                    }
                })
                .collect()
        } else if let Some(s) = q.detail.nps() {
            [
                ("promoters", s.promoters),
                ("passives", s.passives),
                ("detractors", s.detractors),
            ]
            .into_iter()
            .map(|(kind, c)| {
                let label = word(kind, json!({}))?;
                Ok(if few {
                    count(label, c)
                } else {
                    share(label, c)
                })
            })
            .collect::<Result<_, chart::ChartError>>()?
        } else if let Some(rt) = q.detail.rating() {
            rt.distribution
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let label = word("point", json!({ "point": i + 1, "scale": rt.scale }))?;
                    Ok(if few {
                        count(label, *c)
                    } else {
                        share(label, *c)
                    })
                })
                .collect::<Result<_, chart::ChartError>>()?
        } else {
            q.detail
                .pairwise()
                .iter()
                .flat_map(|p| &p.bradley_terry)
                .map(|s| Bar {
                    label: s.label.clone(),
                    value: s.strength,
                    low: None,
                    high: None,
                })
                .collect()
        };
        Ok(ChartSpec {
            title: q.text.chars().take(90).collect(),
            subtitle: Some(word("subtitle", json!({ "n": q.n, "few": few }))?),
            bars,
            percent_axis: !few,
            highlight: Some(0),
            empty: word("empty", json!({}))?,
            numbers: Numbers::for_locale(locale),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer() -> Renderer {
        Renderer::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"))
            .expect("shipped prompts")
    }

    /// The demo report cut down to its questions that `keep` selects.
    fn only(keep: impl Fn(&QuestionReport) -> bool) -> Report {
        let mut r = crate::insight::demo::report(240).expect("demo");
        r.questions.retain(|q| keep(q));
        r
    }

    fn spec(r: &Report, locale: &str) -> ChartSpec {
        renderer()
            .chart_spec(r, locale)
            .expect("a chart")
            .expect("words")
    }

    #[test]
    fn nps_and_rating_bars_are_labelled_in_the_locale() {
        let nps = only(|q| q.detail.nps().is_some());
        let labels =
            |l| -> Vec<String> { spec(&nps, l).bars.into_iter().map(|b| b.label).collect() };
        assert_eq!(
            labels("en"),
            ["Promoters (9–10)", "Passives (7–8)", "Detractors (0–6)"]
        );
        assert_eq!(
            labels("de"),
            ["Promotoren (9–10)", "Passive (7–8)", "Kritiker (0–6)"]
        );
        assert_eq!(
            labels("es"),
            ["Promotores (9–10)", "Pasivos (7–8)", "Detractores (0–6)"]
        );
        let rating = only(|q| q.detail.rating().is_some() && q.detail.options().is_none());
        assert_eq!(spec(&rating, "de").bars[2].label, "3 von 5");
        assert_eq!(spec(&rating, "es").bars[0].label, "1 de 5");
    }

    /// Below ten answers the chart, like every format, shows counts: no shares, no whiskers.
    #[test]
    fn below_ten_answers_the_chart_shows_counts_without_whiskers() {
        let r = crate::insight::demo::report(6).expect("demo");
        let s = spec(&r, "en");
        assert!(!s.percent_axis);
        assert!(s.bars.iter().all(|b| b.low.is_none() && b.high.is_none()));
        let mut counts: Vec<f64> = r.questions[0]
            .detail
            .options()
            .unwrap_or_default()
            .iter()
            .map(|o| o.count as f64)
            .collect();
        counts.sort_by(|a, b| b.total_cmp(a));
        let drawn: Vec<f64> = s.bars.iter().map(|b| b.value).collect();
        assert_eq!(drawn, counts);
        let sub = s.subtitle.unwrap_or_default();
        assert!(sub.contains("counts") && !sub.contains("whiskers"), "{sub}");
    }

    #[test]
    fn the_subtitle_formats_n_and_says_when_shares_are_not_firm() {
        let r = only(|q| q.detail.options().is_some());
        let de = spec(&r, "de");
        let sub = de.subtitle.unwrap_or_default();
        assert!(sub.starts_with("n = 240 · Fehlerbalken"), "{sub}");
        assert!(!sub.contains("zu wenige"), "{sub}");
        assert_eq!(de.empty, "Noch keine Antworten");
        let mut few = r.clone();
        few.questions[0].n = 6;
        let sub = spec(&few, "es").subtitle.unwrap_or_default();
        assert!(sub.contains("muy pocas respuestas"), "{sub}");
        let renderer = renderer();
        let big = renderer
            .chart_word("de", "subtitle", &json!({ "n": 12345, "few": false }))
            .expect("word");
        assert!(big.starts_with("n = 12.345 "), "{big}");
    }
}

#[cfg(test)]
mod escaping {
    use super::*;

    /// Option labels and segment names reach the headline, findings and recommendations:
    /// they must be escaped exactly once in every format.
    #[test]
    fn statements_are_escaped_once_in_every_format() {
        let renderer =
            Renderer::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"))
                .expect("shipped prompts");
        let mut r = crate::insight::demo::report(240).expect("demo");
        r.headline.params["label"] = json!("Q&A <beta>");
        for (f, want) in [
            (Format::Chat(Target::Html), "Q&amp;A &lt;beta&gt;"),
            (Format::Html, "Q&amp;A &lt;beta&gt;"),
            (Format::Chat(Target::Markdown), "Q&A \\<beta>"),
            (Format::Markdown, "Q&A \\<beta>"),
            (Format::Chat(Target::Plain), "Q&A <beta>"),
        ] {
            let out = renderer.report(f, &r).expect("renders");
            assert!(out.contains(want), "{f:?}: {out}");
            assert!(
                !out.contains("&amp;amp;") && !out.contains("\\\\"),
                "{f:?}: {out}"
            );
        }
        let json = renderer.report_json(&r).expect("json");
        assert!(
            json["headline"]
                .as_str()
                .is_some_and(|h| h.contains("Q&A <beta>")),
            "{json}"
        );
    }
}
