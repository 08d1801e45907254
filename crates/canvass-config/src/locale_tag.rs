//! Locale tags as bot.toml writes them (`de_de`, `pt-BR`), checked and normalised.

pub(crate) const NOT_A_TAG: &str = "is not a language tag such as en, de or pt-BR";

/// A locale tag in the config, normalised (`de_de` → `de-DE`); `None` unless it is
/// well-formed BCP 47: a 2-3 letter language, then optionally a 4-letter script, a region
/// (2 letters or 3 digits) and variants (5-8 letters or digits, or a digit and 3 more).
pub(crate) fn config_tag(tag: &str) -> Option<String> {
    let parts: Vec<&str> = tag.trim().split(['-', '_']).collect();
    let (lang, rest) = parts.split_first()?;
    if !(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    let alpha = |s: &str| s.chars().all(|c| c.is_ascii_alphabetic());
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mut stage = 0; // 1 script seen, 2 region seen, 3 variants
    for p in rest {
        let next = if stage < 1 && p.len() == 4 && alpha(p) {
            1
        } else if stage < 2 && ((p.len() == 2 && alpha(p)) || (p.len() == 3 && digits(p))) {
            2
        } else if ((5..=8).contains(&p.len()) && alnum(p))
            || (p.len() == 4 && p.starts_with(|c: char| c.is_ascii_digit()) && alnum(p))
        {
            3
        } else {
            return None;
        };
        stage = next;
    }
    crate::locale::normalise(tag)
}
