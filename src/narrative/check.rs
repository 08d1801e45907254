//! The checker: a model-written narrative is compared with the report before anyone sees it.
//! Pure code. The narrative is read as claims: every number (digits in any script, the
//! locale's decimal comma, signs, number words and fractions in en/de/es) with what it is
//! about (the option, theme or segment named in its clause, an interval, the NPS) and matched
//! against the report model; quotes must be members' own words, in order, without an ellipsis
//! that drops a negation; and the wording may not claim certainty, a winner, a majority, a
//! segment difference or "engagement" success the report does not support.

use super::claims::{self, Found, Kind, Num, Word};

pub(crate) use super::facts::Facts;
use super::facts::{Mention, What, lower, mentions_in};
pub(crate) use super::failure::Failure;
use super::quotes::{quote_ok, quoted};
use super::wording::*;

/// What passed: how many numbers and quotes were checked.
pub(crate) use crate::insight::report::NarrativePassed as Passed;

/// Checks a narrative against the facts; the first failure wins.
pub(crate) fn check(text: &str, facts: &Facts, max_chars: usize) -> Result<Passed, Failure> {
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
        if !quote_ok(&q.text, facts) {
            return Err(Failure::Quote(q.text.clone()));
        }
    }
    // A verified quote of a few words or more is a member's voice, not a claim about the
    // data: it is blanked out (positions kept). A shorter quote is read like the rest, so a
    // fragment such as "71" cannot launder a number.
    let mut cs: Vec<char> = text.chars().collect();
    for q in &quotes {
        if letter_words(&q.text) >= LONG_QUOTE {
            cs[q.start..q.end].iter_mut().for_each(|c| *c = ' ');
        }
    }
    let outside: String = cs.iter().collect();
    let low: Vec<char> = lower(&outside).chars().collect();
    let found = claims::numbers(&outside, facts.decimal);
    let mentions = mentions_in(&low, facts);
    let bounds = clause_bounds(&low);
    let ws = claims::words_of(&low);
    for (i, f) in found.iter().enumerate() {
        check_number(i, f, &found, facts, &low, &ws, &mentions, &bounds)?;
    }
    for (s, e) in sentence_spans(&low) {
        let sentence: String = low[s..e].iter().collect();
        let words: Vec<String> = claims::words_of(&low[s..e])
            .into_iter()
            .map(|w| w.text)
            .collect();
        let named: Vec<&Mention> = mentions
            .iter()
            .filter(|m| m.start >= s && m.end <= e)
            .collect();
        if let Some(p) = find_claim(&words, WINNER) {
            let options: Vec<&&Mention> = named
                .iter()
                .filter(|m| facts.questions.iter().any(|(l, _)| l.contains(&m.key)))
                .collect();
            // A named option must be the robust winner of a question it is in.
            let allowed = if options.is_empty() {
                facts.headline_winner
            } else {
                options
                    .iter()
                    .any(|m| facts.support.iter().any(|s| s.key == m.key && s.leader))
            };
            if !allowed {
                return Err(Failure::Winner(p));
            }
        }
        let in_sentence: Vec<&Found> = found
            .iter()
            .filter(|f| f.start >= s && f.end <= e)
            .collect();
        segment_gap(&sentence, &in_sentence, &named, facts)?;
        majority(&words, &named, facts)?;
        segment_claim(&sentence, &words, &named, facts)?;
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

/// A quote with at least this many words of letters is a member's sentence, not a fragment.
const LONG_QUOTE: usize = 4;

fn letter_words(s: &str) -> usize {
    s.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count()
}

/// Whether `n` (as written in the narrative) is `shown` rounded to `n`'s decimals: "67" may
/// stand for the report's "66.7", but "66.70" or "66.8" may not. Signs count: "+43" is not
/// "-43".
fn rounds_to(shown: Num, n: Num) -> bool {
    n.decimals <= shown.decimals && same(shown.value, n)
}

/// Whether a value of the model, rounded to `n`'s decimals, reads as `n`.
fn same(value: f64, n: Num) -> bool {
    let a = format!("{:.*}", n.decimals, value);
    let b = format!("{:.*}", n.decimals, n.value);
    // "-0" and "0" are the same number.
    a.trim_start_matches('-') == b.trim_start_matches('-')
        && (a.starts_with('-') == b.starts_with('-') || a.trim_matches(['-', '0', '.']).is_empty())
}

/// Words that open a new clause: a number after them is about what they introduce.
const CLAUSE_WORDS: &[&str] = &[
    "and",
    "but",
    "while",
    "whereas",
    "although",
    "though",
    "ahead",
    "behind",
    "than",
    "und",
    "aber",
    "während",
    "sowie",
    "doch",
    "vor",
    "als",
    "y",
    "pero",
    "mientras",
    "aunque",
    "frente",
    "que",
    "versus",
    "vs",
    "gegenüber",
    "contra",
];

/// Char positions where a clause ends: sentence ends, `,` `;` `:` before a blank, dashes,
/// and joining words; never inside parentheses, so "Pizza (66.7%, 55–78%)" is one clause.
fn clause_bounds(low: &[char]) -> Vec<usize> {
    let mut out = vec![0];
    let mut depth = 0i32;
    let ws = claims::words_of(low);
    let mut wi = 0;
    for (i, c) in low.iter().enumerate() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = (depth - 1).max(0),
            _ => {}
        }
        if depth > 0 {
            continue;
        }
        let blank_next = low.get(i + 1).is_none_or(|n| n.is_whitespace());
        if matches!(c, ';' | '\n' | '—')
            || (matches!(c, ',' | ':' | '.' | '!' | '?') && blank_next)
            || (*c == '–' && low.get(i + 1).is_some_and(|n| n.is_whitespace()))
        {
            out.push(i);
        }
        while wi < ws.len() && ws[wi].start < i {
            wi += 1;
        }
        if ws
            .get(wi)
            .is_some_and(|w| w.start == i && CLAUSE_WORDS.contains(&w.text.as_str()))
        {
            out.push(i);
        }
    }
    out.push(low.len());
    out
}

fn sentence_spans(low: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in low.iter().enumerate() {
        let next_blank = low.get(i + 1).is_none_or(|n| n.is_whitespace());
        if matches!(c, '\n' | ';') || (matches!(c, '.' | '!' | '?') && next_blank) {
            out.push((start, i));
            start = i + 1;
        }
    }
    out.push((start, low.len()));
    out.retain(|(s, e)| low[*s..*e].iter().any(|c| !c.is_whitespace()));
    out
}

const INTERVAL_WORDS: &[&str] = &[
    "interval",
    "intervals",
    "range",
    "between",
    "margin",
    "could",
    "might",
    "plausibly",
    "intervall",
    "zwischen",
    "spanne",
    "könnte",
    "intervalo",
    "entre",
    "margen",
    "podría",
];
const LEVEL_WORDS: &[&str] = &[
    "interval",
    "confidence",
    "intervall",
    "konfidenz",
    "konfidenzintervall",
    "intervalo",
    "confianza",
];
const NPS_WORDS: &[&str] = &[
    "nps",
    "promoter",
    "promoters",
    "passives",
    "detractors",
    "promotoren",
    "passive",
    "kritiker",
    "promotores",
    "pasivos",
    "detractores",
];

/// Checks one number: the report must show it, and show it for what its clause is about.
#[allow(clippy::too_many_arguments)]
fn check_number(
    i: usize,
    f: &Found,
    all: &[Found],
    facts: &Facts,
    low: &[char],
    ws: &[Word],
    mentions: &[Mention],
    bounds: &[usize],
) -> Result<(), Failure> {
    let invented = || Err(Failure::Number(f.raw.clone()));
    match f.kind {
        Kind::Unreadable | Kind::Multiplier => return invented(),
        Kind::Ratio => {
            if !facts
                .facts
                .iter()
                .any(|x| x.what == What::Share && same(x.value, f.num))
            {
                return invented();
            }
        }
        Kind::Plain => {
            if !facts.shown.iter().any(|s| rounds_to(*s, f.num)) {
                return invented();
            }
        }
    }
    // The second end of a range was checked with the first.
    if f.range_with.is_some_and(|j| j < i) {
        return Ok(());
    }
    let clause_start = bounds
        .iter()
        .copied()
        .filter(|b| *b <= f.start)
        .max()
        .unwrap_or(0);
    let clause_end = bounds
        .iter()
        .copied()
        .filter(|b| *b >= f.end)
        .min()
        .unwrap_or(low.len());
    let near: Vec<&str> = ws
        .iter()
        .filter(|w| {
            w.end <= f.start && w.start + 24 >= f.start || w.start >= f.end && w.start <= f.end + 16
        })
        .map(|w| w.text.as_str())
        .collect();
    // "95% interval", "95-%-Intervall": the interval's level, not a claim.
    if near.iter().any(|w| LEVEL_WORDS.contains(w)) && [90.0, 95.0, 99.0].contains(&f.num.value) {
        return Ok(());
    }
    let clause_words: Vec<&str> = ws
        .iter()
        .filter(|w| w.start >= clause_start && w.end <= clause_end)
        .map(|w| w.text.as_str())
        .collect();
    let subject = mentions
        .iter()
        .filter(|m| m.start >= clause_start && m.end <= f.start)
        .max_by_key(|m| m.end)
        .or_else(|| {
            mentions
                .iter()
                .filter(|m| m.start >= f.end && m.end <= clause_end)
                .min_by_key(|m| m.start)
        });
    let about = |x: &[String]| subject.is_none_or(|m| x.is_empty() || x.contains(&m.key));
    let wrong = |raw: String| {
        Err(Failure::Misattributed {
            number: raw,
            subject: subject
                .map(|m| m.label.clone())
                .unwrap_or_else(|| "NPS".into()),
        })
    };
    if let Some(j) = f.range_with {
        let g = &all[j];
        let fits = facts
            .intervals
            .iter()
            .any(|iv| same(iv.lo, f.num) && same(iv.hi, g.num) && about(&iv.about));
        if !fits && (subject.is_some() || clause_words.iter().any(|w| NPS_WORDS.contains(w))) {
            let raw: String = low[f.start..g.end].iter().collect();
            return wrong(raw);
        }
        return Ok(());
    }
    let interval_cue = clause_words.iter().any(|w| INTERVAL_WORDS.contains(w))
        || near.iter().any(|w| {
            matches!(
                *w,
                "up" | "least" | "most" | "low" | "high" | "bis" | "hasta"
            )
        });
    let nps = clause_words.iter().any(|w| NPS_WORDS.contains(w));
    theme_number(f, facts, &clause_words, subject.is_some())?;
    if subject.is_none() && !nps {
        return Ok(());
    }
    // "240 respondents chose Dark mode": everyone counted as the option's voters.
    let chosen_by_all = {
        let after: Vec<&str> = ws
            .iter()
            .filter(|w| w.start >= f.end)
            .take(3)
            .map(|w| w.text.as_str())
            .collect();
        let before = ws
            .iter()
            .rfind(|w| w.end <= f.start)
            .map(|w| w.text.as_str());
        after.iter().any(|w| CHOSE.contains(w))
            && !before
                .is_some_and(|b| matches!(b, "of" | "von" | "de" | "among" | "unter" | "entre"))
    };
    let fits = facts.facts.iter().any(|x| {
        let kind_ok = match x.what {
            What::Total => !f.num.percent && !chosen_by_all,
            What::Bound | What::NpsBound => interval_cue,
            What::Count => !f.num.percent || nps,
            What::NpsCount => !f.num.percent,
            What::Nps | What::Share | What::Other => true,
        };
        let topic_ok = if subject.is_some() {
            !x.about.is_empty() && about(&x.about) || x.what == What::Total
        } else {
            // Only the NPS cue is left: the number must be one of the NPS figures.
            matches!(
                x.what,
                What::Nps | What::NpsBound | What::NpsCount | What::Total
            )
        };
        kind_ok && topic_ok && same(x.value, f.num)
    });
    if fits { Ok(()) } else { wrong(f.raw.clone()) }
}

/// Verbs that say respondents picked an option.
const CHOSE: &[&str] = &[
    "chose",
    "picked",
    "voted",
    "selected",
    "want",
    "wanted",
    "prefer",
    "preferred",
    "wählten",
    "wählte",
    "stimmten",
    "wollen",
    "eligieron",
    "eligió",
    "votaron",
    "prefieren",
    "quieren",
];

/// Words that say a number is about a theme of the open answers.
const THEME_CUES: &[&str] = &[
    "theme",
    "themes",
    "came",
    "comes",
    "mentioned",
    "mentions",
    "raised",
    "thema",
    "themen",
    "genannt",
    "erwähnt",
    "tema",
    "temas",
    "mencionado",
    "mencionaron",
    "surgió",
];

/// A number in a clause about a theme ("Pricing came up 28 times") must be that theme's
/// count or share when the clause names a theme by a word of its label.
fn theme_number(
    f: &Found,
    facts: &Facts,
    clause_words: &[&str],
    has_subject: bool,
) -> Result<(), Failure> {
    if has_subject || !clause_words.iter().any(|w| THEME_CUES.contains(w)) {
        return Ok(());
    }
    // Words match on their first four letters: "pricing" names "price is too high".
    let stem = |w: &str| w.chars().take(4).collect::<String>();
    let named: Vec<&(Vec<String>, f64, f64)> = facts
        .themes
        .iter()
        .filter(|(words, _, _)| {
            clause_words.iter().any(|c| {
                c.chars().count() >= 4
                    && !THEME_CUES.contains(c)
                    && words
                        .iter()
                        .any(|t| t.chars().count() >= 4 && stem(t) == stem(c))
            })
        })
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let fits = named
        .iter()
        .any(|(_, count, share)| (!f.num.percent && same(*count, f.num)) || same(*share, f.num));
    if fits {
        Ok(())
    } else {
        Err(Failure::Misattributed {
            number: f.raw.clone(),
            subject: named
                .iter()
                .map(|(w, _, _)| w.join(" "))
                .next()
                .unwrap_or_default(),
        })
    }
}

/// Words for "everyone outside the segment".
const OTHERS: &[&str] = &[
    "everyone else",
    "everybody else",
    "the rest",
    "others",
    "other members",
    "alle anderen",
    "allen anderen",
    "übrigen",
    "restlichen",
    "los demás",
    "las demás",
    "el resto",
    "resto",
];

/// "Customers 0% versus 45% for everyone else": the segment's share comes first, as the report
/// states it; the two shares swapped reverse the finding.
fn segment_gap(
    sentence: &str,
    found: &[&Found],
    named: &[&Mention],
    facts: &Facts,
) -> Result<(), Failure> {
    if !named.iter().any(|m| facts.segments.contains(&m.key)) {
        return Ok(());
    }
    if !OTHERS.iter().any(|o| claims_mentions(sentence, o)) {
        return Ok(());
    }
    let [a, b] = match found {
        [a, b, ..] => [*a, *b],
        _ => return Ok(()),
    };
    let segs: Vec<&(String, f64, f64)> = facts
        .gaps
        .iter()
        .filter(|(s, _, _)| named.iter().any(|m| &m.key == s))
        .collect();
    let right = segs
        .iter()
        .any(|(_, seg, others)| same(*seg, a.num) && same(*others, b.num));
    let swapped = segs
        .iter()
        .any(|(_, seg, others)| same(*others, a.num) && same(*seg, b.num));
    if swapped && !right {
        return Err(Failure::Misattributed {
            number: format!("{} / {}", a.raw, b.raw),
            subject: named
                .iter()
                .find(|m| facts.segments.contains(&m.key))
                .map(|m| m.label.clone())
                .unwrap_or_default(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
