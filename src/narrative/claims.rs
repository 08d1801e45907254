//! Reading numbers out of a narrative the way a reader would: digits in any script, the
//! report locale's decimal comma, signs, number words and fractions in English, German and
//! Spanish ("seventy-three percent", "drei von vier", "el doble"), each with where it stands so
//! the checker can tell what it is about.

/// A number as written: its value, how many decimals it shows and whether it is a percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Num {
    pub value: f64,
    pub decimals: usize,
    pub percent: bool,
}

/// How a number was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Digits or cardinal words.
    Plain,
    /// "three in four", "a third": a share, compared as a whole percentage.
    Ratio,
    /// "twice as many", "el doble": a computed comparison no report ever shows.
    Multiplier,
    /// A numeric character with no plain decimal reading (½, ², ①, Ⅻ).
    Unreadable,
}

/// One number found in a text, by char positions in that text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub raw: String,
    pub num: Num,
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// Set on both ends of a range ("40–53%", "between 40 and 53"): the other end's index.
    pub range_with: Option<usize>,
}

/// The value of a decimal digit in any script Unicode knows as `Nd` that a reader might meet:
/// ASCII, Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai, fullwidth and the
/// mathematical digits.
pub(crate) fn digit(c: char) -> Option<u32> {
    const ZEROS: [u32; 12] = [
        0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xE50, 0xFF10, 0x1D7CE, 0x1D7D8,
    ];
    let cp = c as u32;
    for z in ZEROS {
        if (z..z + 10).contains(&cp) {
            return Some(cp - z);
        }
    }
    // The mathematical digits run on in blocks of ten up to U+1D7FF.
    if (0x1D7CE..=0x1D7FF).contains(&cp) {
        return Some((cp - 0x1D7CE) % 10);
    }
    None
}

fn is_digit(c: Option<&char>) -> bool {
    c.is_some_and(|c| digit(*c).is_some())
}

const PERCENT_SIGNS: &[char] = &['%', '٪', '％', '﹪'];
const SPACES: &[char] = &[' ', '\u{a0}', '\u{202f}', '\u{2009}'];
const PERCENT_WORDS: &[&[&str]] = &[
    &["percent"],
    &["per", "cent"],
    &["pct"],
    &["percentage", "points"],
    &["prozent"],
    &["prozentpunkte"],
    &["por", "ciento"],
    &["porciento"],
    &["puntos", "porcentuales"],
];

/// A word of the text: lowercase, with its char span.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Words as letters with inner hyphens or apostrophes ("seventy-three", "don't").
pub(crate) fn words_of(cs: &[char]) -> Vec<Word> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        if !cs[i].is_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < cs.len()
            && (cs[i].is_alphabetic()
                || (matches!(cs[i], '-' | '\'' | '’')
                    && cs.get(i + 1).is_some_and(|c| c.is_alphabetic())))
        {
            i += 1;
        }
        let text: String = cs[start..i]
            .iter()
            .collect::<String>()
            .to_lowercase()
            .replace('’', "'");
        out.push(Word {
            text,
            start,
            end: i,
        });
    }
    out
}

/// Every number in `text`, in order. `decimal` is the report locale's decimal mark; the other
/// mark groups thousands when exactly three digits follow it, and is read as a decimal mark
/// otherwise, so "37,8 %" is one number in every locale.
pub(crate) fn numbers(text: &str, decimal: char) -> Vec<Found> {
    let cs: Vec<char> = text.chars().collect();
    let mut out = digits(&cs, decimal);
    out.extend(worded(&cs));
    out.sort_by_key(|f| f.start);
    // A worded number inside a digit one cannot happen; drop overlaps defensively.
    let mut kept: Vec<Found> = Vec::new();
    for f in out {
        if kept.last().is_none_or(|k| f.start >= k.end) {
            kept.push(f);
        }
    }
    let mut out = ratios(&cs, kept);
    ranges(&cs, &mut out);
    out
}

fn digits(cs: &[char], decimal: char) -> Vec<Found> {
    let other = if decimal == ',' { '.' } else { ',' };
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if digit(c).is_none() {
            if c.is_numeric() {
                out.push(Found {
                    raw: c.to_string(),
                    num: Num {
                        value: f64::NAN,
                        decimals: 0,
                        percent: false,
                    },
                    kind: Kind::Unreadable,
                    start: i,
                    end: i + 1,
                    range_with: None,
                });
            }
            i += 1;
            continue;
        }
        let mut int = String::new();
        let mut frac = String::new();
        let mut j = i;
        loop {
            while let Some(d) = cs.get(j).and_then(|c| digit(*c)) {
                int.push(char::from(b'0' + d as u8));
                j += 1;
            }
            // "1,200" / "1.200": the non-decimal mark and exactly three digits group thousands.
            let group = cs.get(j) == Some(&other)
                && (1..=3).all(|k| is_digit(cs.get(j + k)))
                && !is_digit(cs.get(j + 4));
            if group {
                j += 1;
                continue;
            }
            break;
        }
        if matches!(cs.get(j), Some(m) if *m == decimal || *m == other) && is_digit(cs.get(j + 1)) {
            j += 1;
            while let Some(d) = cs.get(j).and_then(|c| digit(*c)) {
                frac.push(char::from(b'0' + d as u8));
                j += 1;
            }
        }
        let literal = if frac.is_empty() {
            int.clone()
        } else {
            format!("{int}.{frac}")
        };
        let Ok(mut value) = literal.parse::<f64>() else {
            i = j.max(i + 1);
            continue;
        };
        // A sign sticks to the digits and follows no digit or percent sign: "+43", "(−43",
        // "NPS -43", but not "27–40" or "40 %-53".
        let mut start = i;
        let glued = i > 1 && cs[i - 2].is_alphanumeric();
        if i > 0 && matches!(cs[i - 1], '-' | '−' | '–' | '+') && !glued {
            let before = cs[..i - 1].iter().rev().find(|c| !SPACES.contains(c));
            let joins = before.is_some_and(|b| digit(*b).is_some() || PERCENT_SIGNS.contains(b));
            if !joins {
                start = i - 1;
                if cs[i - 1] != '+' {
                    value = -value;
                }
            }
        }
        let (percent, end) = percent_after(cs, j);
        let mut raw: String = cs[start..end].iter().collect();
        raw = raw.trim_end().to_string();
        // "minus 43", "negativ 43", "menos 43".
        let words_before = words_of(&cs[..start]);
        if let Some(w) = words_before.last() {
            let gap: String = cs[w.end..start].iter().collect();
            if gap.trim().is_empty()
                && matches!(w.text.as_str(), "minus" | "negative" | "negativ" | "menos")
                && value > 0.0
            {
                value = -value;
                start = w.start;
                raw = cs[start..end].iter().collect::<String>().trim().to_string();
            }
        }
        out.push(Found {
            raw,
            num: Num {
                value,
                decimals: frac.len(),
                percent,
            },
            kind: Kind::Plain,
            start,
            end,
            range_with: None,
        });
        i = j.max(i + 1);
    }
    out
}

/// Whether a percent sign or word follows position `j`, and where the number then ends.
fn percent_after(cs: &[char], j: usize) -> (bool, usize) {
    let mut k = j;
    while cs.get(k).is_some_and(|c| SPACES.contains(c)) {
        k += 1;
    }
    if cs.get(k).is_some_and(|c| PERCENT_SIGNS.contains(c)) {
        return (true, k + 1);
    }
    let ws = words_of(&cs[j..cs.len().min(j + 40)]);
    for phrase in PERCENT_WORDS {
        let hit = phrase.iter().enumerate().all(|(n, p)| {
            ws.get(n).is_some_and(|w| {
                w.text == *p
                    && cs[j + if n == 0 { 0 } else { ws[n - 1].end }..j + w.start]
                        .iter()
                        .all(|c| SPACES.contains(c) || *c == '\n')
            })
        });
        if hit {
            return (true, j + ws[phrase.len() - 1].end);
        }
    }
    (false, j)
}

const EN_UNITS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const EN_TENS: &[&str] = &[
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const DE_UNITS: &[&str] = &[
    "",
    "ein",
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
    "zehn",
    "elf",
    "zwölf",
    "dreizehn",
    "vierzehn",
    "fünfzehn",
    "sechzehn",
    "siebzehn",
    "achtzehn",
    "neunzehn",
];
const DE_TENS: &[&str] = &[
    "", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig",
];
const ES_UNITS: &[&str] = &[
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    // "once" (11) is an everyday English word: Spanish eleven is not read.
    "",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciséis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
    "veintiuno",
    "veintidós",
    "veintitrés",
    "veinticuatro",
    "veinticinco",
    "veintiséis",
    "veintisiete",
    "veintiocho",
    "veintinueve",
];
const ES_TENS: &[&str] = &[
    "",
    "",
    "",
    "treinta",
    "cuarenta",
    "cincuenta",
    "sesenta",
    "setenta",
    "ochenta",
    "noventa",
];
const ES_HUNDREDS: &[&str] = &[
    "",
    "ciento",
    "doscientos",
    "trescientos",
    "cuatrocientos",
    "quinientos",
    "seiscientos",
    "setecientos",
    "ochocientos",
    "novecientos",
];

/// One word's value as a cardinal below a thousand, or a multiplier word.
#[derive(Debug, Clone, Copy, PartialEq)]
enum W {
    Small(u64),
    Hundred,
    Thousand,
}

fn word_value(w: &str) -> Option<W> {
    if let Some(i) = EN_UNITS.iter().position(|u| *u == w) {
        return Some(W::Small(i as u64));
    }
    if let Some(i) = EN_TENS.iter().position(|u| !u.is_empty() && *u == w) {
        return Some(W::Small(i as u64 * 10));
    }
    // "seventy-three"
    if let Some((a, b)) = w.split_once('-') {
        let t = EN_TENS.iter().position(|u| !u.is_empty() && *u == a)?;
        let u = EN_UNITS
            .iter()
            .position(|u| *u == b)
            .filter(|u| (1..10).contains(u))?;
        return Some(W::Small(t as u64 * 10 + u as u64));
    }
    match w {
        "hundred" | "hundert" => return Some(W::Hundred),
        "thousand" | "tausend" | "mil" => return Some(W::Thousand),
        "cien" => return Some(W::Small(100)),
        _ => {}
    }
    if let Some(i) = ES_UNITS.iter().position(|u| !u.is_empty() && *u == w) {
        return Some(W::Small(i as u64));
    }
    if let Some(i) = ES_TENS.iter().position(|u| !u.is_empty() && *u == w) {
        return Some(W::Small(i as u64 * 10));
    }
    // "doscientos" or the feminine "doscientas".
    let masculine = w.replace("ientas", "ientos");
    if let Some(i) = ES_HUNDREDS
        .iter()
        .position(|u| !u.is_empty() && *u == masculine)
    {
        return Some(W::Small(i as u64 * 100));
    }
    de_word(w).map(W::Small)
}

/// A German number word written as one word: "dreiundsiebzig", "zweihundertvierzig".
fn de_word(w: &str) -> Option<u64> {
    if w.is_empty() {
        return None;
    }
    if let Some((a, b)) = w.split_once("tausend") {
        let a = if a.is_empty() { 1 } else { de_word(a)? };
        let b = if b.is_empty() { 0 } else { de_word(b)? };
        return Some(a * 1000 + b);
    }
    if let Some((a, b)) = w.split_once("hundert") {
        let a = if a.is_empty() { 1 } else { de_below_100(a)? };
        let b = if b.is_empty() { 0 } else { de_below_100(b)? };
        return Some(a * 100 + b);
    }
    de_below_100(w)
}

fn de_below_100(w: &str) -> Option<u64> {
    let w = if w == "eins" { "ein" } else { w };
    let w = w.replace("dreissig", "dreißig");
    if let Some(i) = DE_UNITS.iter().position(|u| !u.is_empty() && *u == w) {
        return Some(i as u64);
    }
    if let Some(i) = DE_TENS.iter().position(|u| !u.is_empty() && *u == w) {
        return Some(i as u64 * 10);
    }
    let (u, t) = w.split_once("und")?;
    let u = DE_UNITS
        .iter()
        .position(|x| *x == u)
        .filter(|u| (1..10).contains(u))?;
    let t = DE_TENS.iter().position(|x| !x.is_empty() && *x == t)?;
    Some(t as u64 * 10 + u as u64)
}

/// Articles that are also the number one: alone they are not a number claim.
const ONE: &[&str] = &[
    "one", "a", "an", "ein", "eine", "einer", "einen", "einem", "eins", "un", "una", "uno",
];

/// Words that state a computed multiple of another number.
const MULTIPLIERS: &[&str] = &[
    "twice",
    "double",
    "doubled",
    "triple",
    "tripled",
    "threefold",
    "twofold",
    "doppelt",
    "verdoppelt",
    "doppelte",
    "doppelten",
    "dreimal",
    "zweimal",
    "dreifach",
    "doble",
    "triple",
    "duplica",
    "triplica",
];
const TIMES: &[&str] = &["times", "mal", "veces"];

/// Fractions written as words, as a share of 100: (word, denominator).
const FRACTIONS: &[(&str, f64)] = &[
    ("half", 2.0),
    ("halves", 2.0),
    ("hälfte", 2.0),
    ("mitad", 2.0),
    ("third", 3.0),
    ("thirds", 3.0),
    ("drittel", 3.0),
    ("tercio", 3.0),
    ("tercios", 3.0),
    ("quarter", 4.0),
    ("quarters", 4.0),
    ("viertel", 4.0),
    ("fifth", 5.0),
    ("fifths", 5.0),
    ("fünftel", 5.0),
    ("quinto", 5.0),
    ("quintos", 5.0),
    ("sixth", 6.0),
    ("sixths", 6.0),
    ("eighth", 8.0),
    ("eighths", 8.0),
    ("tenth", 10.0),
    ("tenths", 10.0),
    ("sechstel", 6.0),
    ("achtel", 8.0),
    ("zehntel", 10.0),
    ("sexto", 6.0),
    ("sextos", 6.0),
    ("octavo", 8.0),
    ("octavos", 8.0),
    ("décimo", 10.0),
    ("décimos", 10.0),
];

/// A Roman numeral ("LXXXVIII"): a quantity in a form the report never uses.
fn roman(raw: &str) -> bool {
    raw.chars().count() >= 2 && raw.chars().all(|c| "IVXLCDM".contains(c))
}

fn worded(cs: &[char]) -> Vec<Found> {
    let ws = words_of(cs);
    let mut out = Vec::new();
    let mut i = 0;
    let adjacent = |a: &Word, b: &Word| {
        cs[a.end..b.start]
            .iter()
            .all(|c| SPACES.contains(c) || *c == '-')
    };
    while i < ws.len() {
        let w = &ws[i];
        if MULTIPLIERS.contains(&w.text.as_str()) {
            out.push(found_words(cs, w.start, w.end, f64::NAN, Kind::Multiplier));
            i += 1;
            continue;
        }
        // Cardinal words: "seventy-three", "one hundred and twenty", "setenta y tres".
        let mut total = 0u64;
        let mut current = 0u64;
        let mut any = false;
        let mut after_hundred = false;
        let mut j = i;
        let mut last_end = w.end;
        while j < ws.len() {
            if j > i && !adjacent(&ws[j - 1], &ws[j]) {
                break;
            }
            let t = ws[j].text.as_str();
            // "hundred and twenty", "setenta y tres": a joiner only between two number words.
            if any && matches!(t, "and" | "y") {
                let next = ws.get(j + 1).and_then(|n| word_value(&n.text));
                let tens = current % 100 >= 30 && current % 10 == 0;
                let joins = match (t, next) {
                    ("and", Some(W::Small(v))) => after_hundred && v < 100,
                    ("y", Some(W::Small(v))) => tens && (1..10).contains(&v),
                    _ => false,
                };
                if joins {
                    j += 1;
                    continue;
                }
                break;
            }
            let Some(v) = word_value(t) else { break };
            after_hundred = matches!(v, W::Hundred | W::Thousand);
            match v {
                W::Small(v) => current += v,
                W::Hundred => current = current.max(1) * 100,
                W::Thousand => {
                    total += current.max(1) * 1000;
                    current = 0;
                }
            }
            any = true;
            last_end = ws[j].end;
            j += 1;
        }
        if !any {
            // "two-thirds", "nine-tenths": one hyphenated word.
            if let Some((head, tail)) = w.text.split_once('-') {
                let d = FRACTIONS.iter().find(|(f, _)| *f == tail).map(|(_, d)| *d);
                let v = match word_value(head) {
                    Some(W::Small(v)) => Some(v as f64),
                    _ => None,
                };
                if let (Some(d), Some(v)) = (d, v) {
                    out.push(found_words(cs, w.start, w.end, v * 100.0 / d, Kind::Ratio));
                    i += 1;
                    continue;
                }
            }
            // "LXXXVIII percent".
            let raw: String = cs[w.start..w.end].iter().collect();
            if roman(&raw) && percent_after(cs, w.end).0 {
                let end = percent_after(cs, w.end).1;
                out.push(found_words(cs, w.start, end, f64::NAN, Kind::Unreadable));
                i += 1;
                continue;
            }
            // "a third", "two thirds", "half of": a fraction word on its own.
            if let Some((_, d)) = FRACTIONS.iter().find(|(f, _)| *f == w.text) {
                let fraction_use = ws.get(i + 1).is_some_and(|n| {
                    matches!(n.text.as_str(), "of" | "der" | "de" | "aller" | "all")
                }) || i.checked_sub(1).is_some_and(|p| {
                    let t = ws[p].text.as_str();
                    // "die Hälfte", "la mitad": the article makes it a share.
                    ONE.contains(&t) || (matches!(t, "die" | "la") && *d == 2.0)
                });
                // "more than half" is a majority claim, checked as one, not a number.
                let than =
                    ws[..i].iter().rev().take(2).any(|p| {
                        matches!(p.text.as_str(), "than" | "als" | "más" | "over" | "über")
                    });
                if fraction_use && !than {
                    out.push(found_words(cs, w.start, w.end, 100.0 / d, Kind::Ratio));
                }
            }
            i += 1;
            continue;
        }
        let value = (total + current) as f64;
        let single_one = j == i + 1 && ONE.contains(&w.text.as_str());
        let next = ws.get(j);
        // A multiple: "three times as many", "dreimal", "tres veces".
        if next.is_some_and(|n| TIMES.contains(&n.text.as_str())) {
            let n = &ws[j];
            out.push(found_words(cs, w.start, n.end, f64::NAN, Kind::Multiplier));
            i = j + 1;
            continue;
        }
        // "two thirds", "drei Viertel".
        if let Some((_, d)) = next.and_then(|n| FRACTIONS.iter().find(|(f, _)| *f == n.text)) {
            let n = &ws[j];
            out.push(found_words(
                cs,
                w.start,
                n.end,
                value * 100.0 / d,
                Kind::Ratio,
            ));
            i = j + 1;
            continue;
        }
        let (percent, end) = percent_after(cs, last_end);
        if !single_one || percent || ratio_follows(&ws, j) {
            let mut f = found_words(cs, w.start, end, value, Kind::Plain);
            f.num.percent = percent;
            out.push(f);
        }
        i = j;
    }
    out
}

/// Whether "in four", "of every five", "von vier", "de cada cuatro" follows word `j`.
fn ratio_follows(ws: &[Word], j: usize) -> bool {
    RATIO_JOINERS.iter().any(|p| {
        p.iter()
            .enumerate()
            .all(|(k, part)| ws.get(j + k).is_some_and(|x| x.text == *part))
            && ws
                .get(j + p.len())
                .is_some_and(|n| word_value(&n.text).is_some())
    })
}

const RATIO_JOINERS: &[&[&str]] = &[
    &["in"],
    &["out", "of"],
    &["of", "every"],
    &["in", "every"],
    &["von"],
    &["aus"],
    &["von", "je"],
    &["de", "cada"],
    &["de"],
    &["sobre"],
];

fn found_words(cs: &[char], start: usize, end: usize, value: f64, kind: Kind) -> Found {
    Found {
        raw: cs[start..end].iter().collect(),
        num: Num {
            value,
            decimals: 0,
            percent: kind == Kind::Ratio,
        },
        kind,
        start,
        end,
        range_with: None,
    }
}

/// "three in four", "3 out of 4", "drei von vier", "tres de cada cuatro": one share. Digits on
/// both sides count only for a small denominator, so "36 of 120 answers" stays two counts.
fn ratios(cs: &[char], found: Vec<Found>) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut i = 0;
    while i < found.len() {
        let a = &found[i];
        if let Some(b) = found.get(i + 1) {
            let between: String = cs[a.end..b.start].iter().collect::<String>().to_lowercase();
            let joiner = between.split_whitespace().collect::<Vec<_>>();
            let joined = RATIO_JOINERS.contains(&joiner.as_slice());
            let worded =
                a.raw.chars().any(char::is_alphabetic) || b.raw.chars().any(char::is_alphabetic);
            let plain = a.kind == Kind::Plain
                && b.kind == Kind::Plain
                && !a.num.percent
                && a.num.decimals == 0
                && b.num.decimals == 0;
            if joined
                && plain
                && (worded || b.num.value <= 10.0)
                && b.num.value > a.num.value
                && a.num.value > 0.0
            {
                out.push(Found {
                    raw: cs[a.start..b.end].iter().collect(),
                    num: Num {
                        value: a.num.value * 100.0 / b.num.value,
                        decimals: 0,
                        percent: true,
                    },
                    kind: Kind::Ratio,
                    start: a.start,
                    end: b.end,
                    range_with: None,
                });
                i += 2;
                continue;
            }
        }
        out.push(a.clone());
        i += 1;
    }
    out
}

/// Marks ranges: "40–53%", "21 to 41", "between 40 and 53", "zwischen 40 und 53".
fn ranges(cs: &[char], found: &mut [Found]) {
    for i in 0..found.len().saturating_sub(1) {
        if found[i].range_with.is_some()
            || found[i].kind != Kind::Plain
            || found[i + 1].kind != Kind::Plain
        {
            continue;
        }
        let between: String = cs[found[i].end..found[i + 1].start]
            .iter()
            .collect::<String>()
            .to_lowercase();
        let b = between.trim_matches(|c: char| SPACES.contains(&c));
        let before = words_of(&cs[..found[i].start]);
        let opened = before
            .last()
            .is_some_and(|w| matches!(w.text.as_str(), "between" | "zwischen" | "entre"));
        let dash = matches!(b, "–" | "—" | "-" | "−" | "to" | "bis" | "a" | "hasta");
        let and = matches!(b, "and" | "und" | "y") && opened;
        // "40 –53" with the sign read onto 53: the dash belongs to the range.
        let signed_dash = b.is_empty()
            && matches!(cs.get(found[i + 1].start), Some('-' | '–' | '−'))
            && found[i + 1].num.value < 0.0
            && found[i].num.value >= 0.0;
        // A range runs upwards: "46.7% to 25.4%" compares two numbers.
        let upwards = found[i].num.value <= found[i + 1].num.value || signed_dash;
        if (dash || and || signed_dash) && upwards {
            if signed_dash {
                let f = &mut found[i + 1];
                f.num.value = -f.num.value;
                f.start += 1;
                f.raw = f.raw.chars().skip(1).collect();
            }
            if found[i + 1].num.percent {
                found[i].num.percent = true;
            }
            found[i].range_with = Some(i + 1);
            found[i + 1].range_with = Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str, decimal: char) -> Vec<(String, f64, usize, bool)> {
        numbers(s, decimal)
            .into_iter()
            .map(|f| (f.raw, f.num.value, f.num.decimals, f.num.percent))
            .collect()
    }

    #[test]
    fn digits_signs_and_marks() {
        let r = read(
            "33.2% (27–40%) of 1,200 people; NPS -43, +12, 4.5 of 5.",
            '.',
        );
        let vals: Vec<f64> = r.iter().map(|x| x.1).collect();
        assert_eq!(vals, [33.2, 27.0, 40.0, 1200.0, -43.0, 12.0, 4.5, 5.0]);
        assert!(r[1].3 && r[2].3, "a range's percent sign covers both ends");
        let de = read("37,8 % von 1.200 Befragten, NPS −43 (−55 bis −30)", ',');
        let vals: Vec<f64> = de.iter().map(|x| x.1).collect();
        assert_eq!(vals, [37.8, 1200.0, -43.0, -55.0, -30.0]);
        assert_eq!(de[0].2, 1);
        assert!(de[0].3);
        // Non-ASCII digits are digits.
        let ar = read("٧٣٪ and ７３%", '.');
        assert_eq!((ar[0].1, ar[0].3, ar[1].1), (73.0, true, 73.0));
        // A numeric character with no decimal reading is reported, not skipped.
        assert_eq!(numbers("½ of them", '.')[0].kind, Kind::Unreadable);
    }

    #[test]
    fn words_and_fractions() {
        let v = |s: &str| -> Vec<(f64, Kind)> {
            numbers(s, '.')
                .into_iter()
                .map(|f| (f.num.value, f.kind))
                .collect()
        };
        assert_eq!(v("seventy-three percent"), [(73.0, Kind::Plain)]);
        assert_eq!(v("three in four members"), [(75.0, Kind::Ratio)]);
        assert_eq!(v("dreiundsiebzig Prozent"), [(73.0, Kind::Plain)]);
        assert_eq!(v("drei von vier"), [(75.0, Kind::Ratio)]);
        assert_eq!(v("setenta y tres por ciento"), [(73.0, Kind::Plain)]);
        assert_eq!(v("tres de cada cuatro"), [(75.0, Kind::Ratio)]);
        assert_eq!(v("two thirds of them"), [(200.0 / 3.0, Kind::Ratio)]);
        assert_eq!(v("one hundred and twenty people"), [(120.0, Kind::Plain)]);
        assert!(v("twice as many").iter().all(|x| x.1 == Kind::Multiplier));
        assert!(v("el doble").iter().all(|x| x.1 == Kind::Multiplier));
        assert!(
            v("doppelt so viele")
                .iter()
                .all(|x| x.1 == Kind::Multiplier)
        );
        // Articles are not numbers.
        assert!(v("One member wrote a note; ein Mitglied; una persona").is_empty());
    }
}
