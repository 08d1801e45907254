//! Locales: matching a platform's language tag to a shipped locale, and the few number, percent
//! and date conventions the product-team output needs (a tiny formatter instead of ICU).

use chrono::{DateTime, TimeZone};

/// The locale every text falls back to, template by template.
pub const DEFAULT: &str = "en";

/// Whether `s` looks like a locale folder or code we accept: `de`, `es`, `pt-BR`, `es-419`.
pub fn is_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang = parts.next().unwrap_or("");
    let region = parts.next();
    parts.next().is_none()
        && (2..=3).contains(&lang.len())
        && lang.chars().all(|c| c.is_ascii_lowercase())
        && region.is_none_or(|r| {
            (r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()))
                || (r.len() == 3 && r.chars().all(|c| c.is_ascii_digit()))
        })
}

/// Normalises a platform tag: `de_DE`, `DE-de`, `pt-br` → `de-DE`, `de-DE`, `pt-BR`.
pub fn normalise(tag: &str) -> Option<String> {
    let tag = tag.trim().replace('_', "-");
    let mut parts = tag.split('-').filter(|p| !p.is_empty());
    let lang = parts.next()?.to_ascii_lowercase();
    if !(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    match parts.next() {
        Some(r) if r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(format!("{lang}-{}", r.to_ascii_uppercase()))
        }
        Some(r) if r.len() == 3 && r.chars().all(|c| c.is_ascii_digit()) => {
            Some(format!("{lang}-{r}"))
        }
        _ => Some(lang),
    }
}

/// The best of `available` for a platform tag: the exact locale, else the same language
/// (`de-AT` → `de`, `pt` → `pt-BR`), else none (the caller uses the default).
pub fn negotiate<'a, S: AsRef<str>>(tag: &str, available: &'a [S]) -> Option<&'a str> {
    let want = normalise(tag)?;
    let lang = want.split('-').next().unwrap_or(&want);
    let same = |a: &&'a S| a.as_ref().eq_ignore_ascii_case(&want);
    let plain = |a: &&'a S| a.as_ref() == lang;
    let family = |a: &&'a S| a.as_ref().split('-').next() == Some(lang);
    available
        .iter()
        .find(same)
        .or_else(|| available.iter().find(plain))
        .or_else(|| available.iter().find(family))
        .map(AsRef::as_ref)
}

/// The translation in `by_locale` that serves `tag` (as `negotiate` picks), if any.
pub fn pick<'a, T>(
    tag: &str,
    by_locale: &'a std::collections::BTreeMap<String, T>,
) -> Option<&'a T> {
    let codes: Vec<&String> = by_locale.keys().collect();
    negotiate(tag, &codes).and_then(|c| by_locale.get(c))
}

/// Discord's locale codes (developer docs, "Locales"). Commands are localised for every code
/// that negotiates to a shipped locale.
pub const DISCORD_LOCALES: &[&str] = &[
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
    "zh-CN", "ja", "zh-TW", "ko",
];

/// Discord locale codes served by `locale` (`es` → `es-ES`, `es-419`).
pub fn discord_codes<S: AsRef<str>>(locale: &str, available: &[S]) -> Vec<&'static str> {
    DISCORD_LOCALES
        .iter()
        .copied()
        .filter(|d| negotiate(d, available) == Some(locale))
        .collect()
}

/// Number, percent and date conventions of one locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbers {
    decimal: char,
    group: char,
    /// Grouping starts at this many integer digits (Spanish style guides: 5).
    group_from: usize,
    /// Between a number and `%` (a no-break space in German and Spanish).
    percent_gap: &'static str,
    date: DateStyle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateStyle {
    Iso,
    DayDotMonth,
    DaySlashMonth,
}

/// `x` rounded to `places` decimals, ties away from zero, after snapping off float noise
/// (0.6625 × 100 is 66.2499…): the one rounding every shown number goes through, so 53 of
/// 80 reads 66.3% in the headline and in the bullet alike.
pub fn round_places(x: f64, places: usize) -> f64 {
    let f = 10f64.powi(i32::try_from(places).unwrap_or(0));
    let scaled = (x * f * 1e6).round() / 1e6;
    scaled.round() / f
}

impl Numbers {
    /// The decimal mark: `.` or `,`.
    pub fn decimal_mark(&self) -> char {
        self.decimal
    }

    /// What goes between a number and `%`.
    pub fn percent_gap(&self) -> &'static str {
        self.percent_gap
    }

    pub fn for_locale(locale: &str) -> Self {
        match locale.split('-').next().unwrap_or(locale) {
            "de" => Self {
                decimal: ',',
                group: '.',
                group_from: 4,
                percent_gap: "\u{a0}",
                date: DateStyle::DayDotMonth,
            },
            "es" => Self {
                decimal: ',',
                group: '.',
                group_from: 5,
                percent_gap: "\u{a0}",
                date: DateStyle::DaySlashMonth,
            },
            _ => Self {
                decimal: '.',
                group: ',',
                group_from: 4,
                percent_gap: "",
                date: DateStyle::Iso,
            },
        }
    }

    /// `x` with `places` decimals: `1234.5` → `1,234.5` / `1.234,5`. Rounded by
    /// [`round_places`], as every number in a report is.
    pub fn num(&self, x: f64, places: usize) -> String {
        let s = format!("{:.*}", places, round_places(x.abs(), places));
        let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
        let mut out = String::new();
        // Rounding may turn -0.04 into "0.0": no minus sign then.
        if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
            out.push('-');
        }
        if int.len() >= self.group_from {
            for (i, c) in int.chars().enumerate() {
                if i > 0 && (int.len() - i) % 3 == 0 {
                    out.push(self.group);
                }
                out.push(c);
            }
        } else {
            out.push_str(int);
        }
        if !frac.is_empty() {
            out.push(self.decimal);
            out.push_str(frac);
        }
        out
    }

    /// Up to three decimals, without trailing zeros: `0.1`, `0,05`.
    pub fn short(&self, x: f64) -> String {
        let s = self.num(x, 3);
        if s.contains(self.decimal) {
            s.trim_end_matches('0')
                .trim_end_matches(self.decimal)
                .to_string()
        } else {
            s
        }
    }

    /// A percentage of `x` (a value, not a share): `43` → `43%` / `43 %`.
    pub fn pct(&self, value: f64, places: usize) -> String {
        format!("{}{}%", self.num(value, places), self.percent_gap)
    }

    /// `a–b%` for an interval given in percent.
    pub fn pct_range(&self, a: f64, b: f64, places: usize) -> String {
        format!(
            "{}–{}{}%",
            self.num(a, places),
            self.num(b, places),
            self.percent_gap
        )
    }

    /// Date and time in the locale's usual order, with the zone's abbreviation.
    pub fn datetime<Tz: TimeZone>(&self, t: &DateTime<Tz>) -> String
    where
        Tz::Offset: std::fmt::Display,
    {
        let f = match self.date {
            DateStyle::Iso => "%Y-%m-%d %H:%M %Z",
            DateStyle::DayDotMonth => "%d.%m.%Y, %H:%M %Z",
            DateStyle::DaySlashMonth => "%d/%m/%Y %H:%M %Z",
        };
        t.format(f).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_three_of_eighty_rounds_the_same_everywhere() {
        let share = 53.0 / 80.0;
        assert_eq!(round_places(share * 100.0, 1), 66.3);
        for l in ["en", "de", "es"] {
            let nf = Numbers::for_locale(l);
            assert!(nf.num(share * 100.0, 1).starts_with("66"), "{l}");
            assert!(nf.num(share * 100.0, 1).ends_with('3'), "{l}");
            assert_eq!(
                nf.num(round_places(share * 100.0, 1), 1),
                nf.num(share * 100.0, 1)
            );
        }
        assert_eq!(Numbers::for_locale("en").num(-0.25, 1), "-0.3");
    }

    #[test]
    fn negotiates_platform_tags() {
        let av = ["en", "de", "es", "pt-BR"];
        assert_eq!(negotiate("de-DE", &av), Some("de"));
        assert_eq!(negotiate("de_AT", &av), Some("de"));
        assert_eq!(negotiate("pt-br", &av), Some("pt-BR"));
        assert_eq!(negotiate("pt", &av), Some("pt-BR"));
        assert_eq!(negotiate("es-419", &av), Some("es"));
        assert_eq!(negotiate("ja", &av), None);
        assert_eq!(negotiate("", &av), None);
        assert_eq!(negotiate("x", &av), None);
        assert!(is_tag("pt-BR") && is_tag("es-419") && is_tag("de"));
        assert!(!is_tag("insight") && !is_tag("pt-br") && !is_tag("e"));
    }

    #[test]
    fn discord_codes_cover_spanish_variants() {
        let av = ["en", "de", "es"];
        assert_eq!(discord_codes("es", &av), vec!["es-ES", "es-419"]);
        assert_eq!(discord_codes("de", &av), vec!["de"]);
        assert_eq!(discord_codes("en", &av), vec!["en-GB", "en-US"]);
    }

    #[test]
    fn formats_numbers_per_locale() {
        let en = Numbers::for_locale("en");
        let de = Numbers::for_locale("de");
        let es = Numbers::for_locale("es");
        assert_eq!(en.num(12345.678, 1), "12,345.7");
        assert_eq!(de.num(12345.678, 1), "12.345,7");
        assert_eq!(es.num(1234.5, 1), "1234,5");
        assert_eq!(en.pct(43.0, 0), "43%");
        assert_eq!(de.pct(43.26, 1), "43,3\u{a0}%");
        assert_eq!(es.pct_range(30.0, 41.0, 0), "30–41\u{a0}%");
        assert_eq!(de.num(-0.04, 1), "0,0");
        assert_eq!(en.num(-3.0, 0), "-3");
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc));
        let Ok(t) = t else {
            panic!("fixed date parses")
        };
        assert_eq!(en.datetime(&t), "2026-01-05 09:00 UTC");
        assert_eq!(de.datetime(&t), "05.01.2026, 09:00 UTC");
        assert_eq!(es.datetime(&t), "05/01/2026 09:00 UTC");
    }
}
