//! Reports that read right in every shipped locale and format (chat text, Telegram HTML,
//! Discord Markdown, Markdown, HTML, JSON and the digest), at every sample size: counts only
//! below ten answers, Markdown that reads as written, `p < 0.001`, the HTML page's embedded
//! chart, the digest's option lists and change lines, the method footer, `/export`'s caption
//! and the `/insights` segment cap.

use crate::support::*;
use base64::Engine as _;
use canvass::core::event::{Msg, Outbound, Platform};
use canvass::insight::digest::{Brief, Cadence};
use canvass::insight::report::{Change, Narrative, NpsStat, QuestionDetail, Report};
use canvass::locale::Numbers;
use canvass::render::report::Format;
use canvass::render::{Renderer, Target};
use pulldown_cmark::{Event, Options, Parser, TagEnd};
use serde_json::{Value, json};

const LOCALES: [&str; 3] = ["en", "de", "es"];

/// Every report format that people read (JSON is checked on its own).
const TEXT_FORMATS: [Format; 5] = [
    Format::Chat(Target::Plain),
    Format::Chat(Target::Html),
    Format::Chat(Target::Markdown),
    Format::Markdown,
    Format::Html,
];

const TARGETS: [Target; 3] = [Target::Plain, Target::Html, Target::Markdown];

fn renderer(locale: &str) -> Renderer {
    Renderer::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"))
        .expect("shipped prompts")
        .with_team_locale(locale)
}

fn demo(n: usize) -> Report {
    canvass::insight::demo::report(n).expect("demo report")
}

fn brief(reports: Vec<Report>) -> Brief {
    Brief {
        period: "2026-11-23 09:00 CET".into(),
        late: false,
        respondents: reports.iter().map(|r| r.survey.respondents).sum(),
        reports,
        tests: 0,
        cadence: Cadence::Weekly,
        answers: 40,
        quiet_surveys: Vec::new(),
    }
}

/// Every text of a report people read in `locale`: the five formats and the digest in its
/// three targets, each named.
fn every_text(r: &Report, locale: &str) -> Vec<(String, String)> {
    let renderer = renderer(locale);
    let mut out: Vec<(String, String)> = TEXT_FORMATS
        .iter()
        .map(|f| {
            let text = without_data_uris(&renderer.report(*f, r).expect("renders"));
            (format!("{locale} {f:?}"), text)
        })
        .collect();
    let b = brief(vec![r.clone()]);
    for t in TARGETS {
        let text = renderer.digest(t, &b).expect("digest renders");
        out.push((format!("{locale} digest {t:?}"), text));
    }
    out
}

/// The text with the HTML page's style sheet and embedded image left out (CSS widths and
/// base64 hold numbers nobody reads).
fn without_data_uris(text: &str) -> String {
    let mut out = String::new();
    let mut rest = match (text.find("<style>"), text.find("</style>")) {
        (Some(a), Some(b)) => {
            out.push_str(&text[..a]);
            &text[b..]
        }
        _ => text,
    };
    while let Some(i) = rest.find("data:image/png;base64,") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        rest = &rest[rest.find('"').unwrap_or(rest.len())..];
    }
    out.push_str(rest);
    out
}

fn signed(nf: &Numbers, x: f64) -> String {
    let s = nf.num(x, 0);
    if x > 0.0 { format!("+{s}") } else { s }
}

/// The demo report with one respondent whose NPS answer is a 10: the digest printed
/// "NPS +100 (-48 to +98)" for it.
fn one_promoter() -> Report {
    let mut r = demo(1);
    let s = canvass::insight::stats::nps(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).expect("one answer");
    for q in &mut r.questions {
        if q.detail.nps().is_some() {
            q.n = 1;
            q.detail = QuestionDetail::Nps(NpsStat {
                score: s.score,
                adjusted_score: s.centre,
                ci95: [s.low, s.high],
                promoters: 1,
                passives: 0,
                detractors: 0,
            });
        }
    }
    r
}

/// Below ten answers no format shows a share, an interval or an NPS score: counts only, and
/// the NPS interval that did not contain its own score (+100, -48 to +98) is gone.
#[test]
fn tiny_samples_show_counts_only_in_every_locale_and_format() {
    let r = one_promoter();
    let nps = r
        .questions
        .iter()
        .find_map(|q| q.detail.nps())
        .expect("nps");
    assert!(nps.score > nps.ci95[1], "the case of the issue: {nps:?}");
    for locale in LOCALES {
        let nf = Numbers::for_locale(locale);
        let mut forbidden = vec![
            signed(&nf, nps.score),
            signed(&nf, nps.ci95[0]),
            signed(&nf, nps.ci95[1]),
        ];
        for q in &r.questions {
            for o in q.detail.options().unwrap_or_default() {
                forbidden.push(nf.pct(o.share * 100.0, 1));
                forbidden.push(nf.pct_range(o.ci95[0] * 100.0, o.ci95[1] * 100.0, 0));
            }
            if let Some(rt) = q.detail.rating() {
                forbidden.push(nf.pct(rt.top2_share * 100.0, 0));
            }
        }
        let promoter = match locale {
            "de" => "1 Promotor,",
            "es" => "1 promotor,",
            _ => "1 promoter,",
        };
        for (name, text) in every_text(&r, locale) {
            for f in &forbidden {
                assert!(!text.contains(f.as_str()), "{name} shows {f:?}: {text}");
            }
            assert!(
                text.contains(promoter) || name.contains("Chat"),
                "{name}: NPS as counts: {text}"
            );
        }
        // The option tables are headed as counts, with one column of them.
        let (md_head, html_head) = match locale {
            "de" => ("| Option | Anzahl |\n|---|---|", "<th>Anzahl</th></tr>"),
            "es" => ("| opción | recuento |\n|---|---|", "<th>Recuento</th></tr>"),
            _ => ("| option | count |\n|---|---|", "<th>Count</th></tr>"),
        };
        let md = renderer(locale).report(Format::Markdown, &r).expect("md");
        assert!(md.contains(md_head), "{locale}: {md}");
        let html = renderer(locale).report(Format::Html, &r).expect("html");
        assert!(html.contains(html_head), "{locale}: {html}");
        // The JSON keeps every statistic and says which estimate the interval is centred on.
        let json: Value =
            serde_json::from_str(&renderer(locale).report(Format::Json, &r).expect("json"))
                .expect("parses");
        assert_eq!(json["quality"]["tier"], "counts_only");
        let q = json["questions"]
            .as_array()
            .and_then(|qs| qs.iter().find(|q| q.get("nps").is_some()))
            .expect("nps question");
        let (adj, lo, hi) = (
            q["nps"]["adjusted_score"].as_f64().unwrap_or(f64::NAN),
            q["nps"]["ci95"][0].as_f64().unwrap_or(f64::NAN),
            q["nps"]["ci95"][1].as_f64().unwrap_or(f64::NAN),
        );
        assert!(lo <= adj && adj <= hi, "{q}");
    }
}

/// From ten answers up, each interval shown contains the estimate beside it (the adjusted-Wald
/// ones included): the demo NPS at 10, 12 and 240 respondents, in every locale and format.
#[test]
fn an_interval_shown_contains_the_estimate_beside_it() {
    for n in [10, 12, 240] {
        let r = demo(n);
        let nps = r
            .questions
            .iter()
            .find_map(|q| q.detail.nps())
            .expect("nps");
        assert!(
            nps.ci95[0] <= nps.score && nps.score <= nps.ci95[1],
            "{nps:?}"
        );
        for locale in LOCALES {
            let nf = Numbers::for_locale(locale);
            let md = renderer(locale).report(Format::Markdown, &r).expect("md");
            // "NPS **+25** (95% interval +9 to +40)": the score is shown with its interval.
            let line = md
                .lines()
                .find(|l| l.starts_with("NPS **"))
                .unwrap_or_else(|| panic!("{locale} n = {n}: {md}"));
            assert!(line.contains(&signed(&nf, nps.score)), "{line}");
            assert!(line.contains(&signed(&nf, nps.ci95[0])), "{line}");
            assert!(line.contains(&signed(&nf, nps.ci95[1])), "{line}");
        }
    }
}

/// The plain text of CommonMark, blocks and table cells on lines of their own.
fn commonmark_text(md: &str, tables: bool) -> String {
    let opts = if tables {
        Options::ENABLE_TABLES
    } else {
        Options::empty()
    };
    let mut out = String::new();
    for e in Parser::new_ext(md, opts) {
        match e {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_),
            ) => out.push('\n'),
            _ => {}
        }
    }
    out
}

/// What member text in a report may start with, hold or end with: every ASCII punctuation
/// mark, also where a line starts (a narrative's lines).
fn punctuation_labels() -> Vec<String> {
    let marks: Vec<char> = (0x21u8..0x7f)
        .map(char::from)
        .filter(char::is_ascii_punctuation)
        .collect();
    assert_eq!(marks.len(), 32);
    marks
        .iter()
        .map(|c| format!("{c}a{c}b {c}{c} c{c}d_e{c}"))
        .collect()
}

/// Every ASCII punctuation mark in option labels, the title, a segment and a narrative: the
/// Markdown report and the Discord text, read back as CommonMark, say exactly what was
/// written, and the escapes the issue quoted (`Demo\:`, `\(95% interval`, `sign\-on`) are gone.
#[test]
fn markdown_with_every_ascii_punctuation_mark_reads_as_written() {
    let labels = punctuation_labels();
    let all: String = labels
        .iter()
        .map(|l| l.chars().next().unwrap_or(' '))
        .collect();
    let mut r = demo(240);
    r.survey.title = format!("Demo: {all}");
    let q = &mut r.questions[0];
    let QuestionDetail::Choice { options, .. } = &mut q.detail else {
        panic!("the first demo question is a single choice");
    };
    let first: Vec<_> = labels.iter().take(options.len()).cloned().collect();
    for (o, l) in options.iter_mut().zip(&first) {
        o.label.clone_from(l);
    }
    r.headline.params["label"] = json!(labels[2]);
    let narrative_lines = [
        "# not a heading",
        "> not a quote",
        "- not a list",
        "+ not a list",
        "1. not a list",
        "2) not a list",
        "=== not a rule",
        "---",
        "***",
        "    not code",
        "<b>not html</b> &amp; [not](a link) `not code` \\",
        "ends with a backslash \\",
    ];
    r.narrative = Narrative::Checked {
        text: narrative_lines.join("\n"),
        model: "m".into(),
    };
    for locale in LOCALES {
        let renderer = renderer(locale);
        for (f, tables) in [
            (Format::Markdown, true),
            (Format::Chat(Target::Markdown), false),
        ] {
            let md = renderer.report(f, &r).expect("renders");
            let text = commonmark_text(&md, tables);
            for l in first.iter().chain([&labels[2], &r.survey.title]) {
                assert!(
                    text.contains(l.as_str()),
                    "{locale} {f:?}: {l:?} does not read as written in\n{text}\nfrom\n{md}"
                );
            }
            for l in narrative_lines {
                let l = l.trim_start();
                assert!(
                    text.lines().any(|t| t.trim() == l.trim_end()),
                    "{locale} {f:?}: narrative line {l:?} not as written in\n{text}\nfrom\n{md}"
                );
            }
            for over in ["Demo\\:", "\\(95", "sign\\-on"] {
                assert!(!md.contains(over), "{locale} {f:?}: {over} in {md}");
            }
        }
    }
}

/// The demo report's segment difference has an adjusted p far below 0.001: every format writes
/// it `< 0.001` in the locale's number style, none `0.000`.
#[test]
fn tiny_p_values_read_less_than_a_thousandth_in_every_locale() {
    let r = demo(240);
    let tiny = r
        .questions
        .iter()
        .flat_map(|q| &q.segments)
        .any(|s| s.differs && s.p_adjusted < 0.0005);
    assert!(tiny, "the demo has a p-value that rounds to 0.000");
    for locale in LOCALES {
        let (want, zero) = match locale {
            "de" => ("adjustiertes p < 0,001", "0,000"),
            "es" => ("p ajustado < 0,001", "0,000"),
            _ => ("adjusted p < 0.001", "0.000"),
        };
        for (name, text) in every_text(&r, locale) {
            assert!(!text.contains(zero), "{name}: {text}");
        }
        let renderer = renderer(locale);
        let md = commonmark_text(&renderer.report(Format::Markdown, &r).expect("md"), true);
        assert!(md.contains(want), "{locale}: {md}");
        let html = renderer.report(Format::Html, &r).expect("html");
        assert!(
            html.contains(&want.replace('<', "&lt;")),
            "{locale}: {html}"
        );
    }
}

/// The data URI and alt text of the page's `<img>`.
fn embedded_chart(html: &str) -> (Vec<u8>, String) {
    let src = html
        .split("<img src=\"data:image/png;base64,")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no embedded chart: {html}"));
    let png = base64::engine::general_purpose::STANDARD
        .decode(src)
        .expect("base64");
    let alt = html
        .split(" alt=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string();
    (png, alt)
}

/// The HTML page stands alone: its chart is a PNG inside it, and the alt text states each
/// bar's number and interval (counts only below ten answers), in the page's locale.
#[test]
fn the_html_report_embeds_its_chart_with_alt_text_stating_the_numbers() {
    for locale in LOCALES {
        let nf = Numbers::for_locale(locale);
        let renderer = renderer(locale);
        let r = demo(240);
        let html = renderer.report(Format::Html, &r).expect("html");
        assert!(!html.contains("src=\"http"), "nothing fetched: {html}");
        let (png, alt) = embedded_chart(&html);
        assert!(png.starts_with(b"\x89PNG"));
        assert_eq!(Some(png), renderer.chart(&r).map(|c| c.expect("chart")));
        assert!(alt.contains("n = 240"), "{locale}: {alt}");
        for o in r.questions[0].detail.options().unwrap_or_default() {
            let pct = nf.pct(o.share * 100.0, 0);
            let ci = nf.pct_range(o.ci95[0] * 100.0, o.ci95[1] * 100.0, 0);
            assert!(
                alt.contains(&format!("{}: {pct} (", o.label)) && alt.contains(&ci),
                "{locale}: {} {pct} {ci} in {alt}",
                o.label
            );
        }
        let tiny = demo(6);
        let (_, alt) = embedded_chart(&renderer.report(Format::Html, &tiny).expect("html"));
        let first = &tiny.questions[0];
        for o in first.detail.options().unwrap_or_default() {
            assert!(alt.contains(&format!("{}: {}", o.label, o.count)), "{alt}");
        }
        assert!(!alt.contains('%'), "counts only: {alt}");
    }
}

/// The digest names three options per question, then how many more, with no dangling ";";
/// the change line names the option; an NPS change is in whole numbers, as NPS is.
#[test]
fn digest_option_lists_and_change_lines_read_right() {
    let mut r = demo(240);
    let leader = r.questions[0]
        .detail
        .leader()
        .map(|l| l.label.clone())
        .expect("leader");
    r.questions[0].change = Some(Change {
        since: "the last digest".into(),
        metric: "leader_share",
        before: 0.28,
        after: 0.38,
        difference: 0.1,
        p_value: Some(0.0001),
        within_noise: false,
    });
    let nps_q = r
        .questions
        .iter()
        .position(|q| q.detail.nps().is_some())
        .expect("nps");
    r.questions[nps_q].change = Some(Change {
        since: "the last digest".into(),
        metric: "nps",
        before: -44.4,
        after: -43.2,
        difference: 1.2,
        p_value: Some(0.8),
        within_noise: true,
    });
    let b = brief(vec![r.clone()]);
    for locale in LOCALES {
        let nf = Numbers::for_locale(locale);
        let (more, since) = match locale {
            "de" => ("und 1 weitere", "Seit dem letzten Bericht: "),
            "es" => ("y 1 más", "Desde el último resumen: "),
            _ => ("and 1 more", "Since the last digest: "),
        };
        for t in TARGETS {
            let text = renderer(locale).digest(t, &b).expect("digest");
            assert!(
                !text.contains(";\n") && !text.contains("; \n"),
                "{locale} {t:?}: {text}"
            );
            let line = text
                .lines()
                .find(|l| l.contains(r.questions[0].text.as_str()))
                .unwrap_or_else(|| panic!("{text}"));
            assert!(line.trim_end().ends_with(more), "{locale} {t:?}: {line}");
            assert_eq!(line.matches("; ").count(), 2, "{line}");
            let changes: Vec<&str> = text.lines().filter(|l| l.starts_with(since)).collect();
            assert_eq!(changes.len(), 2, "{locale} {t:?}: {text}");
            assert!(
                changes[0].contains(&format!("{leader} {}", nf.pct(28.0, 0))),
                "{locale} {t:?}: {}",
                changes[0]
            );
            assert!(
                changes[1].contains(&format!("NPS {} → {}", nf.num(-44.0, 0), nf.num(-43.0, 0))),
                "{locale} {t:?}: {}",
                changes[1]
            );
        }
    }
}

/// The method footer of every format and the digest states the report's own `min_size`, names the tests
/// (chi-square without continuity correction, Fisher's exact, merged sparse columns) and
/// points to docs/report-json.md, which lists each test name the JSON uses.
#[test]
fn the_method_footer_states_min_size_and_the_tests_and_links_the_json_doc() {
    let mut r = demo(240);
    r.min_segment = 17;
    for locale in LOCALES {
        let words: &[&str] = match locale {
            "de" => &[
                "ohne Stetigkeitskorrektur",
                "exakter Test nach Fisher",
                "zusammengefasst",
            ],
            "es" => &[
                "sin corrección de continuidad",
                "prueba exacta de Fisher",
                "agrupadas",
            ],
            _ => &[
                "without continuity correction",
                "Fisher's exact test",
                "merged",
            ],
        };
        let renderer = renderer(locale);
        for f in TEXT_FORMATS {
            let text = renderer.report(f, &r).expect("renders");
            let footer = text
                .rsplit_once("Method")
                .or_else(|| text.rsplit_once("Methode"))
                .or_else(|| text.rsplit_once("Método"))
                .map(|(_, f)| f)
                .unwrap_or_else(|| panic!("{locale} {f:?}: no footer in {text}"));
            let footer = footer.replace("&#x27;", "'");
            for w in words.iter().chain(&["docs/report-json.md", " 17 "]) {
                assert!(footer.contains(w), "{locale} {f:?}: {w:?} in {footer}");
            }
        }
        for t in TARGETS {
            let digest = renderer.digest(t, &brief(vec![r.clone()])).expect("digest");
            let footer = digest.lines().last().unwrap_or_default();
            for w in words.iter().chain(&["docs/report-json.md", " 17 "]) {
                assert!(
                    footer.contains(w),
                    "{locale} digest {t:?}: {w:?} in {footer}"
                );
            }
        }
        let md = renderer.report(Format::Markdown, &r).expect("md");
        assert!(md.contains("[docs/report-json.md](docs/report-json.md)"));
        let html = renderer.report(Format::Html, &r).expect("html");
        assert!(html.contains("<a href=\"docs/report-json.md\">"));
        let json: Value =
            serde_json::from_str(&renderer.report(Format::Json, &r).expect("json")).expect("json");
        assert_eq!(json["min_segment"], 17);
    }
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-json.md"),
    )
    .expect("the JSON doc");
    for name in ["`chi_square`", "`chi_square_merged`", "`fisher_exact`"] {
        assert!(doc.contains(name), "{name} is listed");
    }
    assert!(doc.contains("without continuity correction"));
    let used: std::collections::BTreeSet<&str> = demo(240)
        .questions
        .iter()
        .flat_map(|q| &q.segments)
        .map(|s| s.test)
        .collect();
    for t in used {
        assert!(doc.contains(&format!("`{t}`")), "{t} is documented");
    }
}

/// `/export`'s caption names `canvass import` as code: `<code>` on Telegram (no literal
/// backticks), a code span on Discord, plain words on the console, in every locale.
#[test]
fn the_export_caption_shows_code_without_literal_backticks() {
    let renderer = renderer("en");
    for locale in LOCALES {
        let msg = Msg::new(
            "export_caption",
            json!({ "title": "Lunch", "id": "lunch", "respondents": 2, "anonymous": false }),
        )
        .in_locale(locale);
        let tg = renderer
            .render_on(Platform::Telegram, Target::Html, &msg)
            .expect("telegram");
        assert!(!tg.contains('`'), "{locale}: {tg}");
        assert!(tg.contains("<code>canvass import</code>"), "{locale}: {tg}");
        let dc = renderer
            .render_on(Platform::Discord, Target::Markdown, &msg)
            .expect("discord");
        assert!(dc.contains("`canvass import`"), "{locale}: {dc}");
        let console = renderer
            .render_on(Platform::Console, Target::Plain, &msg)
            .expect("console");
        assert!(
            !console.contains('`') && console.contains("canvass import"),
            "{console}"
        );
    }
}

/// `/insights ID SEGMENT` with an 8,000-character segment: one short usage reply in the
/// member's language, never the argument echoed across several messages.
#[tokio::test]
async fn an_insights_segment_argument_is_capped_with_a_localised_message() {
    let t = spawn_app().await;
    let long = "EU ".repeat(2_700);
    for (tag, want) in [
        (None, "characters"),
        (Some("de"), "Zeichen"),
        (Some("es"), "caracteres"),
    ] {
        let mut ev = t.event(
            "pm",
            dm("pm"),
            canvass::core::event::Body::Text(format!("/insights lunch {long}")),
        );
        ev.actor.locale = tag.map(str::to_string);
        let out = t.send(&ev).await.replies().to_vec();
        assert_eq!(out.len(), 1, "{out:?}");
        let Outbound::Reply { msg, .. } = &out[0] else {
            panic!("{out:?}");
        };
        assert_eq!(msg.data["problem"], "segment_too_long", "{msg:?}");
        for (platform, target) in [
            (Platform::Telegram, Target::Html),
            (Platform::Discord, Target::Markdown),
            (Platform::Console, Target::Plain),
        ] {
            let text = t
                .app
                .renderer
                .render_on(platform, target, msg)
                .expect("renders");
            assert!(text.chars().count() < 200, "{tag:?}: {text}");
            assert!(
                text.contains(want) && text.contains("200"),
                "{tag:?}: {text}"
            );
        }
    }
}

/// Every text of the report and digest, as in [`every_text`], for the demo survey analysed over
/// `now` respondents against an earlier run over `before` (the survey it follows, or the
/// last digest), with the change labelled `since`.
fn demo_since(before: usize, now: usize, since: &str) -> Report {
    use canvass::insight::{self, Input, Previous};
    let s = canvass::insight::demo::survey().expect("demo survey");
    let t0 = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 5, 9, 0, 0)
        .single()
        .expect("a time");
    let input = |rs: &[insight::Response]| -> Report {
        insight::analyse(&Input {
            survey: &s,
            status: canvass::core::survey::Status::Closed,
            responses: rs,
            min_segment: 10,
            segment: None,
            previous: None,
            members_reached: None,
        })
    };
    let earlier = input(&insight::demo::responses(&s, before, t0));
    let rs = insight::demo::responses(&s, now, t0);
    insight::analyse(&Input {
        survey: &s,
        status: canvass::core::survey::Status::Closed,
        responses: &rs,
        min_segment: 10,
        segment: None,
        previous: Some(Previous {
            label: since.into(),
            report: &earlier,
        }),
        members_reached: None,
    })
}

/// Below ten answers a head-to-head question is counts only: the top option's wins out of its
/// comparisons, never a modelled "would beat ... 71.3% of the time", in every locale, format
/// and the digest (1, 5 and 9 answers); from ten answers the percentage is back.
#[test]
fn pairwise_below_ten_answers_is_counts_only_in_every_locale_and_format() {
    let mut small = 0;
    for n in [1, 2, 3, 5, 9, 10] {
        let r = demo(n);
        // The demo's first respondents may make no head-to-head choice.
        let Some(q) = r.questions.iter().find(|q| q.detail.pairwise().is_some()) else {
            continue;
        };
        small += usize::from(q.n < 10);
        let p = q.detail.pairwise().expect("pairwise");
        let top = &p.bradley_terry[0];
        let wins: u64 = p
            .wins
            .iter()
            .map(|w| w.iter().sum::<u64>())
            .max()
            .unwrap_or(0);
        assert!(q.n > 0, "n = {n}");
        for locale in LOCALES {
            let (modelled, counts) = match locale {
                "de" => (" der Fälle", format!("{} gewann ", top.label)),
                "es" => (" de las veces", format!("{} ganó ", top.label)),
                _ => (" of the time", format!("{} won ", top.label)),
            };
            for (name, text) in every_text(&r, locale) {
                if q.n < 10 {
                    assert!(!text.contains(modelled), "n = {n} {name}: {text}");
                    if !name.contains("digest") {
                        assert!(
                            text.contains(&counts),
                            "n = {n} {name}: {counts:?} in {text}"
                        );
                    }
                } else if !name.contains("digest") {
                    assert!(text.contains(modelled), "n = {n} {name}: {text}");
                }
            }
        }
        if q.n < 10 {
            assert_eq!(q.finding.code.as_str(), "pairwise_counts", "n = {n}");
            assert!(
                q.finding.params["wins"].as_u64() <= Some(wins),
                "{:?}",
                q.finding
            );
            assert_eq!(q.finding.params["comparisons"], json!(top.comparisons));
        }
    }
    assert!(small >= 3, "{small} small pairwise samples checked");
}

/// The lines that compare with an earlier run, as each locale starts them: the report's
/// `Since <label>:` in every format and the digest's own.
fn since_prefixes(locale: &str, label: &str) -> [String; 2] {
    match locale {
        "de" => [
            format!("Seit {label}: "),
            "Seit dem letzten Bericht: ".into(),
        ],
        "es" => [
            format!("Desde {label}: "),
            "Desde el último resumen: ".into(),
        ],
        _ => [format!("Since {label}: "), "Since the last digest: ".into()],
    }
}

/// A change needs ten answers to the question on both sides: a last digest (or an earlier
/// survey) with 1 respondent against 21 now, 20 against 3 and 3 against 20 show no score or
/// share change ("NPS +100 → -19", "Alpha 100% → 81%") anywhere; the line is left out, as
/// the rating's already was. 60 against 240 still shows every change.
#[test]
fn change_lines_need_ten_answers_on_both_sides() {
    let label = "Survey fold";
    for (before, now) in [(1, 21), (20, 3), (3, 20), (9, 240)] {
        let r = demo_since(before, now, label);
        for q in &r.questions {
            assert!(q.change.is_none(), "{before} → {now}: {q:?}");
        }
        for locale in LOCALES {
            let prefixes = since_prefixes(locale, label);
            for (name, text) in every_text(&r, locale) {
                for p in &prefixes {
                    assert!(
                        !text.contains(p.trim_end()),
                        "{before} → {now} {name}: {p:?} in {text}"
                    );
                }
            }
        }
    }
    let r = demo_since(60, 240, label);
    let changes = r.questions.iter().filter(|q| q.change.is_some()).count();
    assert!(changes >= 3, "{changes}");
    for locale in LOCALES {
        let [report, digest] = since_prefixes(locale, label);
        for (name, text) in every_text(&r, locale) {
            let p = if name.contains("digest") {
                &digest
            } else {
                &report
            };
            assert_eq!(text.matches(p.as_str()).count(), changes, "{name}: {text}");
        }
    }
}

/// A report's change against the survey it follows names what changed, as the digest does:
/// the option whose share moved ("Since Survey fold: Dark mode 42% → 45%"), "NPS" and
/// "mean", in every locale and format.
#[test]
fn report_change_lines_name_the_option_in_every_locale_and_format() {
    let label = "Survey fold";
    let r = demo_since(60, 240, label);
    let (qi, c) = r
        .questions
        .iter()
        .enumerate()
        .find_map(|(i, q)| {
            q.change
                .as_ref()
                .filter(|c| c.metric == "leader_share")
                .map(|c| (i, c))
        })
        .expect("a share change");
    let leader = r.questions[qi]
        .detail
        .leader()
        .map(|l| l.label.clone())
        .expect("leader");
    for locale in LOCALES {
        let nf = Numbers::for_locale(locale);
        let [since, _] = since_prefixes(locale, label);
        let want = format!("{since}{leader} {}", nf.pct(c.before * 100.0, 0));
        let (nps, mean) = match locale {
            "de" => ("NPS ", "Mittelwert "),
            "es" => ("NPS ", "media "),
            _ => ("NPS ", "mean "),
        };
        for f in TEXT_FORMATS {
            let text = renderer(locale).report(f, &r).expect("renders");
            assert!(text.contains(&want), "{locale} {f:?}: {want:?} in {text}");
            assert!(
                text.contains(&format!("{since}{nps}")),
                "{locale} {f:?}: {text}"
            );
            assert!(
                text.contains(&format!("{since}{mean}")),
                "{locale} {f:?}: {text}"
            );
        }
    }
}

/// The heading texts of a CommonMark document, one per heading.
fn headings(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for e in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match e {
            Event::Start(pulldown_cmark::Tag::Heading { .. }) => current = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = &mut current {
                    c.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => out.extend(current.take()),
            _ => {}
        }
    }
    out
}

/// A survey title or question text ending in `#` or ` #` keeps it in the Markdown headings:
/// CommonMark reads `# Which issue #` as "Which issue" (a closing sequence), so that `#` is
/// escaped, in every locale; the chat Markdown reads as written too.
#[test]
fn markdown_headings_keep_a_trailing_hash() {
    for (title, text) in [
        ("Which issue #", "Best language C#"),
        ("Rank ##", "Pick one # "),
        ("C#", "#"),
    ] {
        let mut r = demo(240);
        r.survey.title = title.into();
        r.questions[0].text = text.into();
        for locale in LOCALES {
            let md = renderer(locale).report(Format::Markdown, &r).expect("md");
            let hs = headings(&md);
            assert_eq!(
                hs.first().map(String::as_str),
                Some(title),
                "{locale}: {md}"
            );
            assert_eq!(
                hs.get(1).map(String::as_str),
                Some(format!("1. {}", text.trim_end()).as_str()),
                "{locale}: {md}"
            );
            let chat = renderer(locale)
                .report(Format::Chat(Target::Markdown), &r)
                .expect("chat");
            let read = commonmark_text(&chat, false);
            assert!(read.contains(title), "{locale}: {read}");
        }
    }
}

/// Counts read as counts: "1 promoter", "1 ranking", never "1 promoters" or "1 Promotoren",
/// and no "Only 0 respondents", in every locale (the templates' `plural`).
#[test]
fn counts_only_text_uses_singular_and_plural_in_every_locale() {
    use canvass::insight::report::{Code, Statement};
    let nps = Statement::new(
        Code::NpsCounts,
        json!({ "score": 100, "low": -48, "high": 98, "n": 1, "promoters": 1, "passives": 1, "detractors": 2 }),
    );
    let robust = Statement::new(Code::RobustWinner, json!({ "label": "Sync", "n": 1 }));
    let none = Statement::new(
        Code::NoRobustWinner,
        json!({ "n": 1, "borda": "A", "schulze": "B", "irv": "A", "plurality": "B" }),
    );
    let zero = Statement::new(Code::CountsOnlyCaveat, json!({ "n": 0 }));
    let one = Statement::new(Code::CountsOnlyCaveat, json!({ "n": 1 }));
    for locale in LOCALES {
        let r = renderer(locale);
        let (nps_want, nps_bad, rank, rank_bad, zero_bad, one_want) = match locale {
            "de" => (
                "1 Promotor, 1 Passiver, 2 Kritiker",
                "1 Promotoren",
                "1 Rangfolge",
                "1 Rangfolgen",
                "Nur 0",
                "Nur 1 Person hat",
            ),
            "es" => (
                "1 promotor, 1 pasivo y 2 detractores",
                "1 promotores",
                "1 clasificación",
                "1 clasificaciones",
                "Solo 0",
                "Solo 1 participante:",
            ),
            _ => (
                "1 promoter, 1 passive, 2 detractors",
                "1 promoters",
                "1 ranking",
                "1 rankings",
                "Only 0",
                "Only 1 respondent:",
            ),
        };
        for t in TARGETS {
            let text = r.statement(t, &nps).expect("nps");
            assert!(
                text.contains(nps_want) && !text.contains(nps_bad),
                "{locale}: {text}"
            );
            for s in [&robust, &none] {
                let text = r.statement(t, s).expect("ranking");
                assert!(
                    text.contains(rank) && !text.contains(rank_bad),
                    "{locale}: {text}"
                );
            }
            let text = r.statement(t, &zero).expect("zero");
            assert!(
                !text.contains(zero_bad) && !text.contains(" 0 "),
                "{locale}: {text}"
            );
            let text = r.statement(t, &one).expect("one");
            assert!(text.contains(one_want), "{locale}: {text}");
        }
        // And through whole reports of 0 and 1 respondents.
        for n in [0, 1] {
            for (name, text) in every_text(&demo(n), locale) {
                for bad in [nps_bad, rank_bad, zero_bad] {
                    assert!(!text.contains(bad), "{name}: {bad:?} in {text}");
                }
            }
        }
    }
}

/// `canvass insights --chart` says why there is no chart: "no answers" only when there are
/// none; a ranking-only survey with 10 answers is not drawn as a chart, and a head-to-head
/// question with 5 answers has too few to draw, in every locale.
#[test]
fn no_chart_message_states_the_true_reason_in_every_locale() {
    let only = |n: usize, keep: fn(&QuestionDetail) -> bool| {
        let mut r = demo(n);
        r.questions.retain(|q| keep(&q.detail));
        assert_eq!(r.questions.len(), 1, "n = {n}");
        r
    };
    let ranking = only(10, |d| d.ranking().is_some());
    let pairwise = only(5, |d| d.pairwise().is_some());
    assert!(ranking.questions[0].n >= 10 && pairwise.questions[0].n > 0);
    for locale in LOCALES {
        let r = renderer(locale);
        let (none, not_drawn, too_few) = match locale {
            "de" => (
                "noch keine Antworten",
                "Nichts in dieser Umfrage",
                "weniger als 10",
            ),
            "es" => (
                "aún no tiene respuestas",
                "nada de esta encuesta",
                "menos de 10",
            ),
            _ => ("no answers", "nothing in this survey", "fewer than 10"),
        };
        assert!(r.chart(&ranking).is_none() && r.chart(&pairwise).is_none());
        let why = r.no_chart_reason(&ranking).expect("reason");
        assert!(
            why.contains(not_drawn) && !why.contains(none),
            "{locale}: {why}"
        );
        let why = r.no_chart_reason(&pairwise).expect("reason");
        assert!(
            why.contains(too_few) && !why.contains(none),
            "{locale}: {why}"
        );
        let why = r.no_chart_reason(&demo(0)).expect("reason");
        assert!(why.contains(none), "{locale}: {why}");
    }
}

/// Each quote in the Markdown report is a blockquote of its own, not one paragraph run
/// together from consecutive `> ` lines, in every locale.
#[test]
fn markdown_quotes_are_each_their_own_blockquote() {
    let r = demo(240);
    let quotes: Vec<String> = r
        .questions
        .iter()
        .filter_map(|q| q.detail.themes())
        .flatten()
        .flat_map(|t| t.quotes.iter().map(move |q| format!("{q} ({})", t.label)))
        .collect();
    assert!(quotes.len() >= 2, "{quotes:?}");
    for locale in LOCALES {
        let md = renderer(locale).report(Format::Markdown, &r).expect("md");
        let mut blocks: Vec<String> = Vec::new();
        let mut depth = 0;
        for e in Parser::new_ext(&md, Options::ENABLE_TABLES) {
            match e {
                Event::Start(pulldown_cmark::Tag::BlockQuote(_)) => {
                    depth += 1;
                    blocks.push(String::new());
                }
                Event::End(TagEnd::BlockQuote(_)) => depth -= 1,
                Event::Text(t) if depth > 0 => {
                    if let Some(b) = blocks.last_mut() {
                        b.push_str(&t);
                    }
                }
                Event::SoftBreak if depth > 0 => {
                    if let Some(b) = blocks.last_mut() {
                        b.push('\n');
                    }
                }
                _ => {}
            }
        }
        assert_eq!(blocks, quotes, "{locale}: {md}");
    }
}

/// One number style for a mean and its interval: one decimal for the mean and both ends in
/// the finding, as the tables show them ("3.7 (3.0–4.3)", never "3.7 (3–4.3)"), in every
/// locale; ten identical ratings of 5 say so in words instead of "95% interval 5–5".
#[test]
fn a_mean_and_its_interval_share_one_number_style() {
    use canvass::core::answer::AnswerValue;
    use canvass::insight::report::{Code, Statement};
    let s = Statement::new(
        Code::Rating,
        json!({ "mean": 3.7, "scale": 5, "n": 40, "low": 3.0, "high": 4.3, "top2": 60.0, "top2_count": 24, "same": false }),
    );
    let mut r10 = {
        let sv = canvass::insight::demo::survey().expect("survey");
        let t0 = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 5, 9, 0, 0)
            .single()
            .expect("a time");
        let mut rs = canvass::insight::demo::responses(&sv, 10, t0);
        for x in &mut rs {
            x.answers.insert("ease".into(), AnswerValue::Scale(5));
        }
        canvass::insight::analyse(&canvass::insight::Input {
            survey: &sv,
            status: canvass::core::survey::Status::Closed,
            responses: &rs,
            min_segment: 10,
            segment: None,
            previous: None,
            members_reached: None,
        })
    };
    r10.questions.retain(|q| q.detail.rating().is_some());
    assert_eq!(r10.questions[0].n, 10);
    for locale in LOCALES {
        let nf = Numbers::for_locale(locale);
        let r = renderer(locale);
        let text = r.statement(Target::Plain, &s).expect("rating");
        let want = format!("{}–{}", nf.num(3.0, 1), nf.num(4.3, 1));
        assert!(
            text.contains(&want) && text.contains(&nf.num(3.7, 1)),
            "{locale}: {text}"
        );
        let five = nf.num(5.0, 1);
        for (name, text) in every_text(&r10, locale) {
            for bad in ["5–5", &format!("{five}–{five}")] {
                assert!(!text.contains(bad), "{name}: {bad:?} in {text}");
            }
        }
        let finding = r
            .statement(Target::Plain, &r10.questions[0].finding)
            .expect("finding");
        let all = match locale {
            "de" => "die alle",
            "es" => "que eligieron todos",
            _ => "every one of whom chose",
        };
        assert!(
            finding.contains(&format!("{all} {five}")),
            "{locale}: {finding}"
        );
    }
}

/// An open-text question whose themes came from a sample says so in every locale and
/// format, the digest included, and the JSON carries the sample.
#[test]
fn themes_from_a_sample_say_so_in_every_locale_and_format() {
    let mut r = demo(120);
    let q = r
        .questions
        .iter_mut()
        .find(|q| q.detail.themes().is_some_and(|t| !t.is_empty()))
        .expect("the demo has themes");
    let analysed = q.detail.text_summary().expect("summary").unclassified + 7;
    if let QuestionDetail::OpenText { summary, .. } = &mut q.detail {
        summary.sample = Some(canvass::insight::report::TextSample {
            analysed,
            answers: 86_890,
        });
    }
    q.finding.params["sample_of"] = json!(86_890);
    let json: Value = serde_json::from_str(&renderer("en").report(Format::Json, &r).expect("json"))
        .expect("json");
    let sampled: Vec<&Value> = json["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .filter_map(|q| q["text_summary"].get("sample"))
        .collect();
    assert_eq!(sampled, [&json!({"analysed": analysed, "answers": 86_890})]);
    for locale in LOCALES {
        let (report_words, digest_words) = match locale {
            "de" => ("Zufallsstichprobe", "von einer Stichprobe von"),
            "es" => ("muestra aleatoria", "de una muestra de"),
            _ => ("random sample of", "of a sample of"),
        };
        for (name, text) in every_text(&r, locale) {
            let words = if name.contains("digest") {
                digest_words
            } else {
                report_words
            };
            assert!(
                text.contains(words) && text.contains(&analysed.to_string()),
                "{name} does not state the sample:\n{text}"
            );
        }
    }
}
