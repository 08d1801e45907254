//! Text made safe for a target: escaping (HTML, Markdown, plain), bidi isolation of
//! right-to-left labels, and splitting to a platform's length limit with HTML kept balanced.

use super::Target;

/// Explicit bidi embeddings, overrides and isolates: in member text they would reorder the
/// template's own words around them (a spoofed "Saved" or name), so they are never shown.
fn spoofs_direction(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Escapes text for Telegram HTML: only `<`, `>` and `&` are special.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c if (c.is_control() && c != '\n' && c != '\t') || spoofs_direction(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes member text for Markdown (Discord's and CommonMark) so it renders literally, with a
/// backslash only where a character would otherwise mean something there: always before
/// emphasis, code, strike-through, table and spoiler pipes and link brackets; `<` where it could
/// open a tag, an autolink or a mention; a quote's
/// `>`, a heading's `#`, a list's `-`, `+` or `1.` and a rule's `---` or `===` only where they
/// would start a line's block (the text's own start counts: the template may put it at a line's
/// start), so `-44` and `#1` stay as written; `_` unless it joins two letters or digits; `\` before
/// punctuation or a line end; `&` only when it begins an entity; `:` only in `://` (no member link
/// on Discord) and `@` only in `@everyone` and `@here`. So `Demo: sign-on (95%)` stays as written.
pub fn escape_markdown(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .filter(|&c| !((c.is_control() && c != '\n' && c != '\t') || spoofs_direction(c)))
        .collect();
    let mut out = String::with_capacity(s.len() + 8);
    // Where the current line stands: before its first character, in leading digits, or past.
    #[derive(PartialEq)]
    enum Lead {
        Start,
        Digits,
        Past,
    }
    let mut lead = Lead::Start;
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let rest = &chars[i + 1..];
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        let escape = match c {
            '*' | '`' | '~' | '|' | '[' | ']' => true,
            // HTML, an autolink or a Discord mention (`<b>`, `</`, `<!`, `<?`, `<https:`, `<@1>`,
            // `<#1>`, `<:e:1>`); `<1%` and `p < 0.001` are text.
            '<' => next.is_none_or(|n| {
                n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?' | '@' | '#' | ':')
            }),
            '_' => !(word(prev) && word(next)),
            '\\' => next.is_none_or(|n| n.is_ascii_punctuation() || n == '\n'),
            '&' => starts_entity(rest),
            ':' => rest.starts_with(&['/', '/']),
            '@' => starts_with_word(rest, "everyone") || starts_with_word(rest, "here"),
            '>' => lead == Lead::Start,
            // A heading (`## x`), a list item (`- x`, `+ x`), Discord's small text (`-# x`), a
            // rule or heading underline (`---`, `===`) only where a line starts, and only so.
            // Also a heading's closing sequence: `#`s after a blank (or first in the text) with
            // only blanks after them on the line, which CommonMark drops (`# Which issue #`).
            '#' => {
                (lead == Lead::Start && ends_marker(rest.iter().skip_while(|c| **c == '#')))
                    || (prev != Some('#')
                        && prev.is_none_or(|p| matches!(p, ' ' | '\t'))
                        && rest
                            .iter()
                            .skip_while(|c| **c == '#')
                            .take_while(|c| **c != '\n')
                            .all(|c| matches!(c, ' ' | '\t')))
            }
            '-' | '+' => {
                lead == Lead::Start
                    && (ends_marker(rest.iter())
                        || (c == '-' && rest.first() == Some(&'#'))
                        || (c == '-' && only(rest, '-')))
            }
            '=' => lead == Lead::Start && only(rest, '='),
            '.' | ')' => lead == Lead::Digits && ends_marker(rest.iter()),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
        lead = match c {
            '\n' => Lead::Start,
            ' ' | '\t' if lead == Lead::Start => Lead::Start,
            '0'..='9' if matches!(lead, Lead::Start | Lead::Digits) => Lead::Digits,
            _ => Lead::Past,
        };
    }
    out
}

/// Whether a line-start marker ends here: at a space, a tab or the end of the line.
fn ends_marker<'a>(mut rest: impl Iterator<Item = &'a char>) -> bool {
    matches!(rest.next(), None | Some(' ' | '\t' | '\n'))
}

/// Whether the rest of the line holds only `mark` and blanks (a rule or a heading underline).
fn only(rest: &[char], mark: char) -> bool {
    rest.iter()
        .take_while(|c| **c != '\n')
        .all(|c| *c == mark || *c == ' ' || *c == '\t')
}

/// Whether text after a `&` would make it an entity or a numeric character reference.
fn starts_entity(rest: &[char]) -> bool {
    let (body, numeric) = match rest {
        ['#', 'x' | 'X', tail @ ..] => (tail, 16),
        ['#', tail @ ..] => (tail, 10),
        tail => (tail, 0),
    };
    let len = body
        .iter()
        .take_while(|c| match numeric {
            0 => c.is_ascii_alphanumeric(),
            r => c.is_digit(r),
        })
        .count();
    len > 0 && body.get(len) == Some(&';')
}

fn starts_with_word(rest: &[char], word: &str) -> bool {
    let mut it = rest.iter();
    word.chars()
        .all(|w| it.next().is_some_and(|c| c.eq_ignore_ascii_case(&w)))
}

/// Plain text: keeps everything printable, drops terminal control sequences.
pub fn escape_plain(s: &str) -> String {
    s.chars()
        .filter(|c| (!c.is_control() || *c == '\n' || *c == '\t') && !spoofs_direction(*c))
        .collect()
}

pub(super) fn escape_for(target: Target) -> fn(&str) -> String {
    match target {
        Target::Plain => escape_plain,
        Target::Html => escape_html,
        Target::Markdown => escape_markdown,
    }
}

/// Wraps text holding right-to-left letters in Unicode isolates (FSI … PDI), so an Arabic or
/// Hebrew label cannot reorder the punctuation and numbers around it.
pub fn isolate(s: &str) -> String {
    let rtl = s.chars().any(|c| {
        matches!(c as u32,
            0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
    });
    if rtl {
        format!("\u{2068}{s}\u{2069}")
    } else {
        s.to_string()
    }
}

/// Splits text into chunks of at most `limit` characters, preferring paragraph, then line,
/// then word boundaries. For HTML, tags open at a cut are closed and reopened so every
/// chunk is well formed, and no cut falls inside a tag or an entity; for Markdown, no cut falls
/// inside an escape (`\\*`), a code span or a mention.
pub fn split(text: &str, limit: usize, target: Target) -> Vec<String> {
    let limit = limit.max(16);
    if text.chars().count() <= limit {
        return vec![text.to_string()];
    }
    // Reserve room for closing and reopening tags in HTML.
    let budget = if target == Target::Html {
        limit - 12.min(limit / 4)
    } else {
        limit
    };
    let mut chunks = Vec::new();
    let mut rest = text;
    let mut open: Vec<String> = Vec::new();
    while !rest.is_empty() {
        let prefix: String = open.iter().map(|t| format!("<{t}>")).collect();
        let room = budget.saturating_sub(prefix.chars().count()).max(8);
        if rest.chars().count() <= room {
            chunks.push(format!("{prefix}{rest}"));
            break;
        }
        let cut_byte = rest
            .char_indices()
            .nth(room)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let window = &rest[..cut_byte];
        let mut cut = window
            .rfind("\n\n")
            .filter(|i| *i > cut_byte / 3)
            .or_else(|| window.rfind('\n').filter(|i| *i > cut_byte / 3))
            .or_else(|| window.rfind(' ').filter(|i| *i > cut_byte / 3))
            .unwrap_or(cut_byte);
        if target == Target::Html {
            // Never cut inside a tag or an entity.
            if let Some(lt) = window[..cut].rfind('<') {
                if !window[lt..cut].contains('>') {
                    cut = lt;
                }
            }
            if let Some(amp) = window[..cut].rfind('&') {
                if !window[amp..cut].contains(';') {
                    cut = amp;
                }
            }
            if cut == 0 {
                cut = cut_byte;
            }
        } else if target == Target::Markdown {
            cut = markdown_cut(rest, cut);
        }
        let piece = &rest[..cut];
        let mut chunk = format!("{prefix}{piece}");
        if target == Target::Html {
            open = open_tags(&chunk);
            for t in open.iter().rev() {
                chunk.push_str(&format!("</{t}>"));
            }
        }
        chunks.push(chunk.trim_end().to_string());
        rest = rest[cut..].trim_start_matches([' ', '\n']);
    }
    chunks
}

/// The last byte index at or before `cut` where Discord Markdown may be split: never between
/// a backslash and the character it escapes (a lone `\\` at a chunk's end would leave the next
/// chunk's first character live), inside a code span or inside a `<@…>`-style mention. Falls
/// back to the last escape boundary when the whole window is one code span.
fn markdown_cut(text: &str, cut: usize) -> usize {
    if cut >= text.len() {
        return cut;
    }
    let mut safe = 0;
    let mut unit = 0;
    let mut code = false;
    let mut angle = false;
    let mut it = text.char_indices();
    while let Some((i, c)) = it.next() {
        if i > cut {
            break;
        }
        unit = i;
        if !code && !angle {
            safe = i;
        }
        if i == cut {
            break;
        }
        match c {
            '\\' if !code => {
                it.next();
            }
            '`' => code = !code,
            '<' if !code => angle = true,
            '>' | '\n' if angle => angle = false,
            _ => {}
        }
    }
    if safe > 0 {
        safe
    } else if unit > 0 {
        unit
    } else {
        cut
    }
}

/// Tags left open at the end of an HTML fragment, outermost first.
fn open_tags(html: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        let Some(j) = rest[i..].find('>') else { break };
        let tag = &rest[i + 1..i + j];
        if let Some(name) = tag.strip_prefix('/') {
            if let Some(pos) = stack.iter().rposition(|t| t == name) {
                stack.truncate(pos);
            }
        } else {
            let name = tag.split_whitespace().next().unwrap_or("");
            if !name.is_empty() {
                stack.push(name.to_string());
            }
        }
        rest = &rest[i + j + 1..];
    }
    stack
}
