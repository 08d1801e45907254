//! Where a key is in the file, from toml's own spans, and serde's type errors said in plain
//! words with the survey and question by id.

use crate::ConfigError;
use crate::core::ids::slugify;
use std::path::Path;
use toml::Spanned;

pub(crate) fn line_of(src: &str, offset: usize) -> usize {
    src.get(..offset.min(src.len()))
        .map(|s| s.bytes().filter(|b| *b == b'\n').count() + 1)
        .unwrap_or(1)
}

/// Where keys are in the source, from toml's own spans: `surveys[2].questions[0].options` is
/// the line of that `options` key, `surveys[2]` the line of its `[[surveys]]` header. A path
/// that goes deeper than the file (a default, a derived id) stops at its deepest part there.
pub(crate) struct Locator<'a> {
    src: &'a str,
    root: Option<Spanned<toml::de::DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self {
            src,
            root: toml::de::DeTable::parse(src).ok(),
        }
    }

    pub(crate) fn line(&self, path: &str) -> Option<usize> {
        use toml::de::DeValue;
        let mut table = self.root.as_ref()?.get_ref();
        let mut value: Option<&DeValue<'a>> = None;
        let mut found = None;
        for seg in path.split('.').flat_map(segments) {
            let next = match (seg, value) {
                (Seg::Key(k), None | Some(DeValue::Table(_))) => {
                    if let Some(DeValue::Table(t)) = value {
                        table = t;
                    }
                    table
                        .iter()
                        .find(|(key, _)| key.get_ref().as_ref() == k)
                        .map(|(key, v)| (key.span().start, v))
                }
                (Seg::Index(i), Some(DeValue::Array(a))) => a.get(i).map(|v| (v.span().start, v)),
                _ => None,
            };
            let Some((offset, v)) = next else { break };
            found = Some(line_of(self.src, offset));
            value = Some(v.get_ref());
        }
        found
    }
}

#[derive(Clone, Copy)]
enum Seg<'p> {
    Key(&'p str),
    Index(usize),
}

/// `options[2]` → `options`, `2`; `[1]` → `1`.
fn segments(part: &str) -> Vec<Seg<'_>> {
    let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
    let mut out = Vec::new();
    if !name.is_empty() {
        out.push(Seg::Key(name));
    }
    while let Some((n, tail)) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        match n.parse() {
            Ok(i) => out.push(Seg::Index(i)),
            Err(_) => break,
        }
        rest = tail;
    }
    out
}

/// A value of the wrong type, an unknown key or variant in a file that is valid TOML, said as
/// the other errors are: its line, the survey and question by id, the key, plain words.
pub(crate) fn type_error(src: &str, path: &Path, e: &toml::de::Error) -> Option<ConfigError> {
    use toml::de::DeValue;
    let offset = e.span()?.start;
    let root = toml::de::DeTable::parse(src).ok()?;
    let str_of = |v: &DeValue<'_>| match v {
        DeValue::String(s) => Some(s.to_string()),
        _ => None,
    };
    // Down from the root to the deepest key or item the offset lies in.
    let mut parts: Vec<String> = Vec::new();
    let (mut survey, mut question): (Option<String>, Option<String>) = (None, None);
    let mut table = Some(root.get_ref());
    while let Some(t) = table.take() {
        // The last key before the offset: a `[[table]]`'s span is only its header line.
        let Some((key, value)) = t
            .iter()
            .filter(|(k, _)| k.span().start <= offset)
            .max_by_key(|(k, _)| k.span().start)
        else {
            break;
        };
        let name = key.get_ref().to_string();
        match value.get_ref() {
            DeValue::Table(inner) => {
                parts.push(name);
                table = Some(inner);
            }
            DeValue::Array(items) => {
                // The item the offset is in, else (a table array's items) the last one before it.
                let k = items
                    .iter()
                    .position(|v| v.span().contains(&offset))
                    .or_else(|| items.iter().rposition(|v| v.span().start <= offset));
                let Some(k) = k else {
                    parts.push(name);
                    break;
                };
                if let DeValue::Table(inner) = items[k].get_ref() {
                    let id = inner.get("id").and_then(|v| str_of(v.get_ref()));
                    match (parts.as_slice(), name.as_str()) {
                        ([], "surveys") => survey = Some(id.unwrap_or(format!("{}", k + 1))),
                        ([s], "questions") if s.starts_with("surveys") => {
                            let text = inner.get("text").and_then(|v| str_of(v.get_ref()));
                            question = Some(id.unwrap_or_else(|| {
                                slugify(text.as_deref().unwrap_or(""), &format!("q{}", k + 1))
                            }));
                        }
                        _ => {}
                    }
                    parts.push(format!("{name}[{k}]"));
                    table = Some(inner);
                } else {
                    parts.push(format!("{name}[{k}]"));
                }
            }
            _ => parts.push(name),
        }
    }
    let field = match (survey, question) {
        (Some(s), q) => {
            let mut named = vec![format!("survey {s:?}")];
            named.extend(q.map(|q| format!("question {q:?}")));
            let rest: Vec<&str> = parts
                .iter()
                .skip(1 + usize::from(named.len() > 1))
                .map(String::as_str)
                .collect();
            let rest = rest.join(".");
            match rest
                .strip_prefix("options[")
                .and_then(|r| r.split_once(']'))
                .and_then(|(n, _)| n.parse::<usize>().ok())
            {
                Some(k) => named.push(format!("option {}", k + 1)),
                None if !rest.is_empty() => named.push(rest),
                None => {}
            }
            named.join(", ")
        }
        (None, _) if !parts.is_empty() => parts.join("."),
        (None, _) => return None,
    };
    Some(ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(src, offset),
        field,
        problem: plain_serde(e.message()),
    })
}

/// serde's wording in plain words: `invalid type: string "500", expected usize` is
/// `must be a whole number, not the text "500"`.
fn plain_serde(message: &str) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            let expected = match expected.trim() {
                "usize" | "u64" | "u32" | "u16" | "u8" | "i64" | "i32" | "an integer"
                | "integer" => "a whole number".to_string(),
                "a boolean" => "true or false".to_string(),
                "a string" => "text in quotes".to_string(),
                "a sequence" => "a list in [ ]".to_string(),
                other => other.to_string(),
            };
            let found = match found.split_once(' ') {
                Some(("string", v)) => format!("the text {v}"),
                Some(("integer" | "float", v)) => {
                    format!("the number {}", v.trim_matches('`'))
                }
                Some(("boolean", v)) => v.trim_matches('`').to_string(),
                _ => match found {
                    "sequence" => "a list".to_string(),
                    "map" => "a table".to_string(),
                    other => other.to_string(),
                },
            };
            return format!("must be {expected}, not {found}");
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        if let Some((found, expected)) = rest.split_once(", expected one of ") {
            let one_of = expected.replace('`', "");
            return format!("{} is not one of {one_of}", found.replace('`', "\""));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        if let Some((found, expected)) = rest.split_once(", expected one of ") {
            return format!(
                "unknown key {found}; the keys here are {}",
                expected.replace('`', "")
            );
        }
        return format!("unknown key {}", rest.split(',').next().unwrap_or(rest));
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("{rest} is missing");
    }
    message.to_string()
}
