//! The checker: a model-written narrative is compared with the report before anyone sees it.
//! Pure code: numbers must be ones the report shows, quotes must be members' own words, and
//! the wording may not claim more certainty, a winner or "engagement" success the report does
//! not support.

use crate::insight::report::{Confidence, QuestionReport, Report};

/// Why a narrative was dropped. The detail is the offending passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Empty,
    TooLong {
        chars: usize,
        max: usize,
    },
    /// A number that the report does not show (after the report's own rounding).
    Number(String),
    /// A quoted passage that is not verbatim in any answer.
    Quote(String),
    /// A certainty word while the report's badge is "directional".
    Certainty(String),
    /// A winner claim where the report says there is no robust winner.
    Winner(String),
    /// Engagement (responses, likes, reactions) presented as success.
    Engagement(String),
}

impl Failure {
    /// A stable code for logs, counters and the reason template.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Empty => "empty",
            Failure::TooLong { .. } => "too_long",
            Failure::Number(_) => "invented_number",
            Failure::Quote(_) => "altered_quote",
            Failure::Certainty(_) => "certainty",
            Failure::Winner(_) => "winner",
            Failure::Engagement(_) => "engagement",
        }
    }

    /// The passage at fault, if any.
    pub fn detail(&self) -> String {
        match self {
            Failure::Empty => String::new(),
            Failure::TooLong { chars, max } => format!("{chars} > {max}"),
            Failure::Number(s)
            | Failure::Quote(s)
            | Failure::Certainty(s)
            | Failure::Winner(s)
            | Failure::Engagement(s) => s.clone(),
        }
    }
}

/// What passed: how many numbers and quotes were checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Passed {
    pub numbers: usize,
    pub quotes: usize,
}

/// A number as written: its value and how many decimals it shows.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Num {
    value: f64,
    decimals: usize,
}

/// Everything the narrative may rely on, taken from one report.
#[derive(Debug, Clone)]
pub struct Facts {
    numbers: Vec<Num>,
    answers: Vec<String>,
    labels: Vec<String>,
    directional: bool,
    /// Per question: its option labels (lowercase) and whether it has a robust winner.
    questions: Vec<(Vec<String>, bool)>,
    /// Whether the report's headline names a winner.
    headline_winner: bool,
}

impl Facts {
    /// `shown` is the report as people read it (the deterministic text): its numbers are the
    /// allowed ones, rounded as the report rounds them. `answers` are the members' texts.
    pub fn new(report: &Report, shown: &str, answers: Vec<String>) -> Self {
        let mut labels = vec![report.survey.title.clone()];
        let mut questions = Vec::new();
        for q in &report.questions {
            labels.push(q.text.clone());
            let mut opts: Vec<String> = Vec::new();
            if let Some(o) = &q.options {
                opts.extend(o.iter().map(|o| o.label.clone()));
            }
            if let Some(r) = &q.ranking {
                opts.extend(r.borda.iter().map(|p| p.label.clone()));
            }
            if let Some(p) = &q.pairwise {
                opts.extend(p.bradley_terry.iter().map(|s| s.label.clone()));
            }
            if let Some(t) = &q.themes {
                labels.extend(t.iter().map(|t| t.label.clone()));
            }
            if let Some(t) = &q.text_summary {
                labels.extend(t.phrases.iter().map(|p| p.text.clone()));
            }
            labels.extend(q.segments.iter().map(|s| s.segment.clone()));
            labels.extend(opts.iter().cloned());
            questions.push((
                opts.iter().map(|l| l.to_lowercase()).collect(),
                has_winner(q),
            ));
        }
        Self {
            numbers: numbers(shown).into_iter().map(|(_, n)| n).collect(),
            answers: answers.iter().map(|a| normalise(a)).collect(),
            labels: labels.iter().map(|l| normalise(l).to_lowercase()).collect(),
            directional: report.confidence == Confidence::Directional,
            questions,
            headline_winner: matches!(
                report.headline.code,
                "leader_clear" | "robust_winner" | "pairwise_top"
            ),
        }
    }
}

/// Whether the report lets anyone call a winner for this question.
fn has_winner(q: &QuestionReport) -> bool {
    if q.n < 10 {
        return false;
    }
    if let Some(r) = &q.ranking {
        return r.robust_winner.is_some();
    }
    if q.message_test.as_ref().is_some_and(|m| m.keep_collecting) {
        return false;
    }
    if let Some(l) = &q.leader {
        return l.clearly_ahead;
    }
    if let Some(p) = &q.pairwise {
        return p.top_beats_second.is_some_and(|p| p >= 0.8);
    }
    false
}

/// Checks a narrative against the facts; the first failure wins.
pub fn check(text: &str, facts: &Facts, max_chars: usize) -> Result<Passed, Failure> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure::Empty);
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(Failure::TooLong {
            chars,
            max: max_chars,
        });
    }
    let quotes = quoted(text);
    for q in &quotes {
        if !quote_ok(q, facts) {
            return Err(Failure::Quote(q.clone()));
        }
    }
    // Numbers inside a verified quote are the member's, not claims about the data.
    let mut outside = text.to_string();
    for q in &quotes {
        outside = outside.replace(q.as_str(), " ");
    }
    let found = numbers(&outside);
    for (raw, n) in &found {
        if !facts.numbers.iter().any(|s| rounds_to(*s, *n)) {
            return Err(Failure::Number(raw.clone()));
        }
    }
    for sentence in sentences(&outside) {
        let words = words(sentence);
        if let Some(p) = find_claim(&words, WINNER) {
            let lower = sentence.to_lowercase();
            let hits: Vec<(&str, bool)> = facts
                .questions
                .iter()
                .flat_map(|(labels, w)| labels.iter().map(move |l| (l.as_str(), *w)))
                .filter(|(l, _)| mentions(&lower, l))
                .collect();
            // "Speed" inside "Speed on large documents" names the longer option only.
            let named: Vec<bool> = hits
                .iter()
                .filter(|(l, _)| !hits.iter().any(|(o, _)| o.len() > l.len() && o.contains(l)))
                .map(|(_, w)| *w)
                .collect();
            let allowed = if named.is_empty() {
                facts.headline_winner
            } else {
                named.iter().all(|w| *w)
            };
            if !allowed {
                return Err(Failure::Winner(p));
            }
        }
        if facts.directional {
            if let Some(p) = find_claim(&words, CERTAIN) {
                return Err(Failure::Certainty(p));
            }
        }
        if let Some(p) = engagement(&words) {
            return Err(Failure::Engagement(p));
        }
    }
    Ok(Passed {
        numbers: found.len(),
        quotes: quotes.len(),
    })
}

/// Whether `label` occurs in `text` as whole words.
fn mentions(text: &str, label: &str) -> bool {
    if label.is_empty() {
        return false;
    }
    text.match_indices(label).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + label.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Whether `n` (as written in the narrative) is `shown` rounded to `n`'s decimals: "67" may
/// stand for the report's "66.7", but "66.70" or "66.8" may not.
fn rounds_to(shown: Num, n: Num) -> bool {
    n.decimals <= shown.decimals
        && format!("{:.*}", n.decimals, shown.value) == format!("{:.*}", n.decimals, n.value)
}

/// Every number written with digits, with its text. Signs are ignored ("27–40" is a range),
/// thousands separators are allowed ("1,200").
fn numbers(text: &str) -> Vec<(String, Num)> {
    let cs: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        if !cs[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut int = String::new();
        let mut frac = String::new();
        let mut j = i;
        loop {
            while j < cs.len() && cs[j].is_ascii_digit() {
                int.push(cs[j]);
                j += 1;
            }
            // "1,200": a comma followed by exactly three digits groups thousands.
            let three = cs.get(j) == Some(&',')
                && (1..=3).all(|k| cs.get(j + k).is_some_and(|c| c.is_ascii_digit()))
                && !cs.get(j + 4).is_some_and(|c| c.is_ascii_digit());
            if three {
                j += 1;
                continue;
            }
            break;
        }
        if cs.get(j) == Some(&'.') && cs.get(j + 1).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
            while j < cs.len() && cs[j].is_ascii_digit() {
                frac.push(cs[j]);
                j += 1;
            }
        }
        let literal = if frac.is_empty() {
            int.clone()
        } else {
            format!("{int}.{frac}")
        };
        if let Ok(value) = literal.parse::<f64>() {
            let raw: String = cs[i..j.min(cs.len())].iter().collect();
            let raw = if cs.get(j) == Some(&'%') {
                format!("{raw}%")
            } else {
                raw
            };
            out.push((
                raw,
                Num {
                    value,
                    decimals: frac.len(),
                },
            ));
        }
        i = j.max(i + 1);
    }
    out
}

/// Passages in double quotes: “…”, "…", «…», „…“.
fn quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut open: Option<(char, String)> = None;
    for c in text.chars() {
        match &mut open {
            None => {
                let close = match c {
                    '“' | '„' => '”',
                    '"' => '"',
                    '«' => '»',
                    _ => continue,
                };
                open = Some((close, String::new()));
            }
            Some((close, buf)) => {
                // „…“ closes with “ in German typography.
                if c == *close || (c == '“' && *close == '”' && !buf.is_empty()) {
                    out.push(std::mem::take(buf));
                    open = None;
                } else {
                    buf.push(c);
                }
            }
        }
    }
    out.retain(|q| !q.trim().is_empty());
    out
}

/// Whitespace collapsed, typographic apostrophes made plain.
fn normalise(s: &str) -> String {
    s.replace(['’', '‘'], "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A quote is fine if every fragment between ellipses is verbatim in one answer, or if the
/// whole quote is a label the report shows (an option, theme, phrase or question).
fn quote_ok(q: &str, facts: &Facts) -> bool {
    let trim = |s: &str| {
        s.trim_matches(|c: char| c.is_whitespace() || ",.;:!?".contains(c))
            .to_string()
    };
    let whole = trim(&normalise(q));
    if whole.is_empty() {
        return true;
    }
    if facts.labels.contains(&whole.to_lowercase()) {
        return true;
    }
    let joined = normalise(q).replace("[...]", "…").replace("...", "…");
    let fragments: Vec<String> = joined
        .split('…')
        .map(trim)
        .filter(|f| !f.is_empty())
        .collect();
    if fragments.is_empty() {
        return false;
    }
    facts.answers.iter().any(|a| {
        fragments
            .iter()
            .all(|f| a.contains(f.as_str()) || a.contains(&flip_first(f)))
    })
}

/// The fragment with its first letter's case changed: a quote may start a sentence.
fn flip_first(s: &str) -> String {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) if c.is_uppercase() => c.to_lowercase().chain(cs).collect(),
        Some(c) => c.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

/// Sentences: split at `.`, `!` or `?` before a space or the end (so "66.7" stays whole),
/// and at line breaks and semicolons.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let next_blank = it.peek().is_none_or(|(_, n)| n.is_whitespace());
        if matches!(c, '\n' | ';') || (matches!(c, '.' | '!' | '?') && next_blank) {
            out.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&text[start..]);
    out.retain(|s| !s.trim().is_empty());
    out
}

fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .replace('’', "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "neither", "nor", "nothing", "none", "without", "cannot", "hardly",
];

fn negated(words: &[String], at: usize) -> bool {
    words[at.saturating_sub(3)..at]
        .iter()
        .any(|w| NEGATIONS.contains(&w.as_str()) || w.ends_with("n't"))
}

const WINNER: &[&str] = &[
    "win",
    "wins",
    "won",
    "winner",
    "winners",
    "winning",
    "beats",
    "victory",
    "landslide",
    "dominates",
    "clearly ahead",
    "clearly leads",
    "leads clearly",
    "clear favourite",
    "clear favorite",
    "clearly preferred",
    "came out on top",
    "comes out on top",
];

const CERTAIN: &[&str] = &[
    "certain",
    "certainly",
    "definitely",
    "definitive",
    "clearly",
    "clear-cut",
    "undoubtedly",
    "undeniably",
    "conclusive",
    "conclusively",
    "proves",
    "proven",
    "guaranteed",
    "unambiguous",
    "unambiguously",
    "decisive",
    "decisively",
    "overwhelming",
    "overwhelmingly",
    "beyond doubt",
    "for sure",
    "significant",
    "significantly",
];

/// The first phrase of `list` in `words` that is not negated just before.
fn find_claim(words: &[String], list: &[&str]) -> Option<String> {
    for (i, _) in words.iter().enumerate() {
        for p in list {
            let parts: Vec<&str> = p.split(' ').collect();
            let hit = parts
                .iter()
                .enumerate()
                .all(|(k, part)| words.get(i + k).is_some_and(|w| w == part));
            if hit && !negated(words, i) {
                return Some(words[i.saturating_sub(1)..i + parts.len()].join(" "));
            }
        }
    }
    None
}

/// Counts of activity: never evidence of success.
const ACTIVITY: &[&str] = &[
    "engagement",
    "engaged",
    "likes",
    "reactions",
    "views",
    "impressions",
    "clicks",
    "turnout",
    "participation",
    "buzz",
    "viral",
    "hype",
    "traction",
];
/// Plain answer counts, which only become a problem with strong praise.
const RESPONSES: &[&str] = &[
    "responses",
    "responded",
    "respondents",
    "answers",
    "answered",
    "replies",
];
const PRAISE: &[&str] = &[
    "success",
    "successful",
    "impressive",
    "record",
    "great",
    "healthy",
    "excellent",
    "outstanding",
    "remarkable",
    "testament",
    "enthusiasm",
    "enthusiastic",
    "momentum",
    "thriving",
    "soared",
    "surge",
    "boost",
    "amazing",
];
/// Words that make activity counts sound like success ("strong engagement"), though they
/// are fine about preferences and plain answer counts ("a strong preference").
const UP: &[&str] = &[
    "strong",
    "high",
    "higher",
    "good",
    "up",
    "rose",
    "grew",
    "growth",
    "increase",
    "increased",
    "jumped",
    "popular",
    "win",
];

fn engagement(words: &[String]) -> Option<String> {
    let has = |list: &[&str]| words.iter().position(|w| list.contains(&w.as_str()));
    let praise = has(PRAISE);
    let up = has(UP);
    let found = |at: usize| {
        !negated(words, at)
            && !words
                .iter()
                .any(|w| w == "not" || w == "never" || w.ends_with("n't"))
    };
    if let Some(a) = has(ACTIVITY) {
        if (praise.is_some() || up.is_some()) && found(a) {
            return Some(words.join(" "));
        }
    }
    if let Some(r) = has(RESPONSES) {
        if praise.is_some() && found(r) {
            return Some(words.join(" "));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::demo;

    fn num(s: &str) -> Vec<String> {
        numbers(s).into_iter().map(|(r, _)| r).collect()
    }

    #[test]
    fn numbers_are_read_as_written() {
        assert_eq!(
            num("33.2% (27–40%) of 1,200 people; NPS +12, 4.5 of 5."),
            ["33.2%", "27", "40%", "1,200", "12", "4.5", "5"]
        );
        let n = numbers("1,200")[0].1;
        assert_eq!((n.value, n.decimals), (1200.0, 0));
    }

    #[test]
    fn rounding_may_drop_decimals_but_never_add_or_change_them() {
        let shown = Num {
            value: 66.7,
            decimals: 1,
        };
        let n = |s: &str| numbers(s)[0].1;
        assert!(rounds_to(shown, n("66.7")));
        assert!(rounds_to(shown, n("67")));
        assert!(!rounds_to(shown, n("66.70")));
        assert!(!rounds_to(shown, n("66.8")));
        assert!(!rounds_to(shown, n("66")));
    }

    fn facts(report: &Report, shown: &str, answers: &[&str]) -> Facts {
        Facts::new(
            report,
            shown,
            answers.iter().map(|s| s.to_string()).collect(),
        )
    }

    fn report(n: usize) -> Report {
        demo::report(n).expect("demo report")
    }

    #[test]
    fn faithful_text_passes_and_counts_what_it_checked() {
        let r = report(240);
        let f = facts(
            &r,
            "Dark mode 41.3% (35–48%) of 240",
            &["Sync keeps failing when I go offline, please fix it"],
        );
        let ok = check(
            "About 41% of 240 respondents chose Dark mode (35–48%). One wrote “sync keeps failing … please fix it”.",
            &f,
            1000,
        )
        .expect("passes");
        assert_eq!(
            ok,
            Passed {
                numbers: 4,
                quotes: 1
            }
        );
    }

    #[test]
    fn an_invented_number_is_named() {
        let r = report(240);
        let f = facts(&r, "Dark mode 41.3% of 240", &[]);
        assert_eq!(
            check("Dark mode has 47% support.", &f, 1000),
            Err(Failure::Number("47%".into()))
        );
        // More precision than the report shows is invented too.
        assert_eq!(
            check("Dark mode has 41.30%.", &f, 1000),
            Err(Failure::Number("41.30%".into()))
        );
    }

    #[test]
    fn quotes_must_be_verbatim_answers_or_labels() {
        let r = report(240);
        let f = facts(&r, "", &["The export is   too slow for big teams"]);
        assert!(check("“The export is too slow for big teams.”", &f, 1000).is_ok());
        assert!(check("\"the export is too slow\"", &f, 1000).is_ok());
        assert_eq!(
            check("“The export is far too slow”", &f, 1000),
            Err(Failure::Quote("The export is far too slow".into()))
        );
        // Fragments must come from one answer, in full.
        assert!(check("“export is … big teams”", &f, 1000).is_ok());
        assert!(check("“export is … small teams”", &f, 1000).is_err());
        // The report's own labels may be quoted.
        let label = r.questions[0].options.as_ref().unwrap()[0].label.clone();
        assert!(check(&format!("“{label}”"), &f, 1000).is_ok());
    }

    #[test]
    fn certainty_is_refused_only_when_directional() {
        let mut r = report(240);
        r.confidence = Confidence::Directional;
        let f = facts(&r, "", &[]);
        assert!(matches!(
            check("Members definitely want sync.", &f, 1000),
            Err(Failure::Certainty(_))
        ));
        assert!(check("Nothing is certain yet; treat this as a hint.", &f, 1000).is_ok());
        r.confidence = Confidence::High;
        let f = facts(&r, "", &[]);
        assert!(check("Members definitely want sync.", &f, 1000).is_ok());
    }

    #[test]
    fn winner_claims_need_a_robust_winner_for_that_question() {
        let mut r = report(240);
        r.questions.truncate(1);
        let q = &mut r.questions[0];
        let label = q.options.as_ref().unwrap()[0].label.clone();
        if let Some(l) = &mut q.leader {
            l.clearly_ahead = false;
        }
        q.ranking = None;
        q.message_test = None;
        r.headline.code = "leader_unclear";
        let f = facts(&r, "", &[]);
        let text = format!("{label} clearly wins.");
        assert!(matches!(check(&text, &f, 1000), Err(Failure::Winner(p)) if p.contains("wins")));
        assert!(matches!(
            check("There is a winner.", &f, 1000),
            Err(Failure::Winner(_))
        ));
        assert!(check("There is no clear winner yet.", &f, 1000).is_ok());
        assert!(check("On top of that, opinions are split.", &f, 1000).is_ok());
        // A label inside a longer one (another question's option) names the longer one only.
        let mut two = r.clone();
        let mut other = two.questions[0].clone();
        if let Some(o) = other.options.as_mut().and_then(|o| o.first_mut()) {
            o.label = format!("{label} everywhere");
        }
        if let Some(l) = &mut other.leader {
            l.clearly_ahead = true;
        }
        two.questions.push(other);
        let f = facts(&two, "", &[]);
        assert!(check(&format!("{label} everywhere wins."), &f, 1000).is_ok());
        assert!(check(&format!("{label} wins."), &f, 1000).is_err());
        if let Some(l) = &mut r.questions[0].leader {
            l.clearly_ahead = true;
        }
        let f = facts(&r, "", &[]);
        assert!(check(&text, &f, 1000).is_ok());
    }

    #[test]
    fn engagement_is_not_success() {
        let r = report(240);
        let f = facts(&r, "240", &[]);
        for bad in [
            "Engagement was strong this week.",
            "An impressive 240 responses show the community cares.",
            "Reactions went up.",
        ] {
            assert!(
                matches!(check(bad, &f, 1000), Err(Failure::Engagement(_))),
                "{bad}"
            );
        }
        for fine in [
            "240 people answered.",
            "Likes and reactions are not counted.",
            "There is a strong preference for sync.",
            "240 responses show a strong preference for sync.",
        ] {
            assert!(check(fine, &f, 1000).is_ok(), "{fine}");
        }
    }

    #[test]
    fn decimals_do_not_end_sentences() {
        assert_eq!(
            sentences("With 66.7%, Pizza leads. Sushi? Next;\nend"),
            ["With 66.7%, Pizza leads", " Sushi", " Next", "end"]
        );
    }

    #[test]
    fn empty_and_long_texts_are_dropped() {
        let r = report(240);
        let f = facts(&r, "", &[]);
        assert_eq!(check("  ", &f, 1000), Err(Failure::Empty));
        assert!(matches!(
            check(&"word ".repeat(300), &f, 1000),
            Err(Failure::TooLong { max: 1000, .. })
        ));
    }
}
