//! Identifier newtypes (survey, question, option) that can only hold valid slugs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest slug we accept: short enough to fit in a 64-byte Telegram callback payload.
pub const MAX_SLUG_LEN: usize = 40;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("is {0} characters long; the limit is {MAX_SLUG_LEN}")]
    TooLong(usize),
    #[error("may only contain lowercase letters a-z, digits 0-9, '-' and '_' (found {0:?})")]
    BadChar(char),
}

/// Checks that `s` is a slug: lowercase ASCII letters, digits, '-' and '_'.
pub fn check_slug(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    let len = s.chars().count();
    if len > MAX_SLUG_LEN {
        return Err(IdError::TooLong(len));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(IdError::BadChar(c));
    }
    Ok(())
}

/// Derives a slug from a free label: "Dark mode!" -> "dark-mode".
///
/// Non-ASCII letters are folded where a plain ASCII form is obvious and dropped otherwise;
/// a label with nothing usable yields `fallback`.
pub fn slugify(label: &str, fallback: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in label.chars().flat_map(fold_char) {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
        if out.len() >= MAX_SLUG_LEN {
            break;
        }
    }
    out.truncate(MAX_SLUG_LEN);
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

/// Folds common accented Latin letters to ASCII so "Café" slugs to "cafe".
fn fold_char(c: char) -> Vec<char> {
    let s: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Å' => "a",
        'ä' | 'Ä' | 'æ' | 'Æ' => "ae",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ø' => "o",
        'ö' | 'Ö' | 'œ' | 'Œ' => "oe",
        'ù' | 'ú' | 'û' | 'Ù' | 'Ú' | 'Û' => "u",
        'ü' | 'Ü' => "ue",
        'ß' => "ss",
        _ => return vec![c],
    };
    s.chars().collect()
}

macro_rules! slug_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a slug, rejecting anything else.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                check_slug(s)?;
                Ok(Self(s.to_string()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                check_slug(&s)?;
                Ok(Self(s))
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_type!(
    /// A survey's stable id, e.g. `next-feature`.
    SurveyId
);
slug_type!(
    /// A question's id, unique within its survey.
    QuestionId
);
slug_type!(
    /// An option's id, unique within its question; answers store this, never the label.
    OptionId
);

/// A stored survey's key (its row id): what buttons, postings and answers refer to. Only the
/// store makes one from a row, and binds `.0` at its edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SurveyKey(pub i64);

impl fmt::Display for SurveyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_folds_and_trims() {
        assert_eq!(slugify("Dark mode!", "x"), "dark-mode");
        assert_eq!(slugify("  Café & Crème ", "x"), "cafe-creme");
        assert_eq!(slugify("Übersicht", "x"), "uebersicht");
        assert_eq!(slugify("🚀🚀", "opt-1"), "opt-1");
        assert_eq!(slugify("--a--b--", "x"), "a-b");
        let long = "word ".repeat(30);
        assert!(slugify(&long, "x").len() <= MAX_SLUG_LEN);
        assert!(!slugify(&long, "x").ends_with('-'));
    }

    #[test]
    fn parse_rejects_bad_slugs() {
        assert!(SurveyId::parse("next-feature").is_ok());
        assert_eq!(SurveyId::parse(""), Err(IdError::Empty));
        assert_eq!(SurveyId::parse("Next"), Err(IdError::BadChar('N')));
        assert_eq!(SurveyId::parse("a b"), Err(IdError::BadChar(' ')));
        assert!(matches!(
            OptionId::parse(&"a".repeat(41)),
            Err(IdError::TooLong(41))
        ));
    }
}
