//! Quotes in a narrative: found in any quote style, and checked verbatim (in order, with no
//! ellipsis over a negation) against members' answers or the labels the report shows.

use super::claims;
use super::facts::{Facts, key, lower, normalise};
use super::wording::is_negation;

/// A quote found in the text: its content and the char span of that content.
pub(super) struct Quote {
    pub(super) text: String,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// Passages in double quotes: “…”, "…", «…», „…“, and in single quotes '…', ‘…’ (an
/// apostrophe inside or at the end of a word, as in "don't" or "members'", opens nothing),
/// with the char span of their content.
pub(super) fn quoted(text: &str) -> Vec<Quote> {
    let mut out = double_quoted(text);
    let cs: Vec<char> = text.chars().collect();
    let mut open: Option<usize> = None;
    for (i, c) in cs.iter().enumerate() {
        if !matches!(c, '\'' | '‘' | '’') {
            continue;
        }
        let before = i.checked_sub(1).and_then(|p| cs.get(p));
        let after = cs.get(i + 1);
        let word_before = before.is_some_and(|b| b.is_alphanumeric());
        let word_after = after.is_some_and(|a| a.is_alphanumeric());
        match open {
            None if !word_before && word_after => open = Some(i + 1),
            Some(start) if !before.is_some_and(|b| b.is_whitespace()) && !word_after => {
                let text: String = cs[start..i].iter().collect();
                if !text.trim().is_empty() && !out.iter().any(|q| q.start <= start && q.end >= i) {
                    out.push(Quote {
                        text,
                        start,
                        end: i,
                    });
                }
                open = None;
            }
            _ => {}
        }
    }
    out.sort_by_key(|q| q.start);
    out
}

fn double_quoted(text: &str) -> Vec<Quote> {
    let mut out = Vec::new();
    let mut open: Option<(char, usize, String)> = None;
    for (i, c) in text.chars().enumerate() {
        match &mut open {
            None => {
                let close = match c {
                    '“' | '„' => '”',
                    '"' => '"',
                    '«' => '»',
                    _ => continue,
                };
                open = Some((close, i + 1, String::new()));
            }
            Some((close, start, buf)) => {
                // „…“ closes with “ in German typography.
                if c == *close || (c == '“' && *close == '”' && !buf.is_empty()) {
                    out.push(Quote {
                        text: std::mem::take(buf),
                        start: *start,
                        end: i,
                    });
                    open = None;
                } else {
                    buf.push(c);
                }
            }
        }
    }
    out.retain(|q| !q.text.trim().is_empty());
    out
}

/// A quote is fine if its fragments between ellipses are verbatim in one answer, in order,
/// and what an ellipsis leaves out holds no negation ("I would … pay" from "I would never
/// pay"); or if the whole quote is a label the report shows (an option, theme, phrase or
/// question).
pub(super) fn quote_ok(q: &str, facts: &Facts) -> bool {
    let trim = |s: &str| {
        s.trim_matches(|c: char| c.is_whitespace() || ",.;:!?".contains(c))
            .to_string()
    };
    let whole = trim(&normalise(q));
    if whole.is_empty() {
        return true;
    }
    if facts.labels.contains(&key(&whole)) {
        return true;
    }
    let joined = normalise(q)
        .replace("[...]", "…")
        .replace("[…]", "…")
        .replace("...", "…");
    let fragments: Vec<String> = joined
        .split('…')
        .map(trim)
        .filter(|f| !f.is_empty())
        .collect();
    if fragments.is_empty() {
        return false;
    }
    facts.answers.iter().any(|a| in_order(a, &fragments))
}

/// Whether the fragments occur in `answer` in order, with no negation left out between two
/// of them or just before the first.
fn in_order(answer: &str, fragments: &[String]) -> bool {
    let mut from = 0;
    for (k, f) in fragments.iter().enumerate() {
        let hit = [f.clone(), flip_first(f)]
            .iter()
            .filter_map(|form| {
                answer[from..]
                    .find(form.as_str())
                    .map(|i| (from + i, form.len()))
            })
            .min();
        let Some((at, len)) = hit else { return false };
        let skipped = if k == 0 {
            // Only the word right before the first fragment: "never" in "I would never pay".
            let before = &answer[..at];
            // ... unless punctuation parts them: "No, sync is broken".
            let last = before.split_whitespace().last().unwrap_or("");
            if before.ends_with(char::is_whitespace)
                && last
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '\'' || c == '’')
            {
                last
            } else {
                ""
            }
        } else {
            &answer[from..at]
        };
        let cs: Vec<char> = lower(skipped).chars().collect();
        if claims::words_of(&cs).iter().any(|w| is_negation(&w.text)) {
            return false;
        }
        from = at + len;
    }
    true
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
