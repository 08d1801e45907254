//! Tokeniser for open-text answers: Unicode word boundaries, normalisation, stop-words, per-answer language guess and Snowball stemming.
//!
//! Output is an interned corpus: every distinct lowercased word ("surface") and every distinct
//! stem ("term") gets a dense id in first-seen order, so later stages are deterministic and never
//! depend on hash-map iteration order (maps here are only ever used for lookups).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rust_stemmers::{Algorithm, Stemmer};
use unicode_segmentation::UnicodeSegmentation;

use super::stopwords::{self, stop_mask};

/// "No term": the token is a stop-word or otherwise carries no topic.
pub(crate) const NONE: u32 = u32::MAX;
/// Per-surface stem cache slot not computed yet.
const UNSET: u32 = u32::MAX - 1;

/// Hasher for maps keyed by our own dense ids (never by user text, which keeps SipHash): ids are
/// assigned in first-seen order, so users cannot aim collisions at it, and it is several times
/// faster on the hot n-gram and bigram counting paths.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        // Final avalanche so low bits (used for buckets) depend on all input bits.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

/// `HashMap` keyed by internal ids; see [`IdHasher`].
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Language of an answer, guessed from stop-word hits (Latin script) or from its script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Language {
    #[default]
    English,
    German,
    Spanish,
    Portuguese,
    French,
    Arabic,
    /// Chinese/Japanese text without spaces: split into character pairs.
    Cjk,
    /// Any other script: words are used as written, without stop-words or stemming.
    Other,
}

pub(crate) const LANGS: [Language; 8] = [
    Language::English,
    Language::German,
    Language::Spanish,
    Language::Portuguese,
    Language::French,
    Language::Arabic,
    Language::Cjk,
    Language::Other,
];

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::German => "German",
            Language::Spanish => "Spanish",
            Language::Portuguese => "Portuguese",
            Language::French => "French",
            Language::Arabic => "Arabic",
            Language::Cjk => "Chinese/Japanese",
            Language::Other => "another script",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    fn stop_bit(self) -> u8 {
        match self {
            Language::English => stopwords::EN,
            Language::German => stopwords::DE,
            Language::Spanish => stopwords::ES,
            Language::Portuguese => stopwords::PT,
            Language::French => stopwords::FR,
            Language::Arabic => stopwords::AR,
            Language::Cjk | Language::Other => 0,
        }
    }

    fn algorithm(self) -> Option<Algorithm> {
        match self {
            Language::English => Some(Algorithm::English),
            Language::German => Some(Algorithm::German),
            Language::Spanish => Some(Algorithm::Spanish),
            Language::Portuguese => Some(Algorithm::Portuguese),
            Language::French => Some(Algorithm::French),
            Language::Arabic => Some(Algorithm::Arabic),
            Language::Cjk | Language::Other => None,
        }
    }
}

/// What a surface is made of; decides stemming and whether it can sit in a phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Letters only: stemmed.
    Word,
    /// Letters and digits ("2fa", "v2", "mp3"): kept verbatim, they are usually product names.
    Alnum,
    /// Digits only ("10", "2.5").
    Number,
    /// A Han character pair or a Katakana word: no spaces to split on, so no phrases either.
    Cjk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Arabic,
    Other,
}

/// One distinct lowercased word.
#[derive(Debug)]
pub(crate) struct Surface {
    pub lower: String,
    pub kind: Kind,
    pub stop: u8,
    script: Script,
    chars: usize,
    /// Occurrences written in lowercase (or capitalised only because a sentence starts there).
    lower_count: u32,
    /// Other spellings ("CSV", "iOS") with their counts, so labels can show them as people write them.
    variants: Vec<(String, u32)>,
    /// Term id per language (`NONE` = stop-word, `UNSET` = not computed).
    terms: [u32; LANGS.len()],
}

/// One token of an answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tok {
    pub surface: u32,
    /// Term id, or `NONE` for stop-words.
    pub term: u32,
    /// A sentence/clause boundary (punctuation, emoji, newline) lies before this token.
    pub brk: bool,
}

/// One distinct stem with the surfaces that produced it.
#[derive(Debug)]
pub(crate) struct Term {
    pub key: String,
    surfaces: Vec<(u32, u32)>,
}

/// All answers, tokenised and interned.
#[derive(Debug, Default)]
pub(crate) struct Corpus {
    pub surfaces: Vec<Surface>,
    pub terms: Vec<Term>,
    pub docs: Vec<Vec<Tok>>,
    pub doc_lang: Vec<Language>,
    /// Number of answers whose language was detected, per `Language::index`.
    pub detected: [usize; LANGS.len()],
    pub dominant: Language,
}

fn is_ignorable(c: char) -> bool {
    // Zero-width, bidi controls, soft hyphen and variation selectors: invisible, never meaningful.
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FE00}'..='\u{FE0F}')
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3005}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{309F}')
}

fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A0}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}' | '\u{FF66}'..='\u{FF9F}')
}

fn script_of(word: &str) -> Script {
    match word.chars().find(|c| c.is_alphabetic()) {
        Some(c)
            if c.is_ascii_alphabetic()
                || matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}') =>
        {
            Script::Latin
        }
        Some(
            '\u{0600}'..='\u{06FF}'
            | '\u{0750}'..='\u{077F}'
            | '\u{08A0}'..='\u{08FF}'
            | '\u{FB50}'..='\u{FDFF}'
            | '\u{FE70}'..='\u{FEFE}',
        ) => Script::Arabic,
        Some(_) => Script::Other,
        None => Script::Latin,
    }
}

/// Precomposes a Latin letter with a combining accent (a poor man's NFC for the accents used in
/// en/de/es/pt/fr), so "cafe\u{301}" and "café" become the same word.
fn compose(base: char, mark: char) -> Option<char> {
    let lower = base.to_lowercase().next()?;
    let composed = match (lower, mark) {
        ('a', '\u{300}') => 'à',
        ('a', '\u{301}') => 'á',
        ('a', '\u{302}') => 'â',
        ('a', '\u{303}') => 'ã',
        ('a', '\u{308}') => 'ä',
        ('a', '\u{30A}') => 'å',
        ('e', '\u{300}') => 'è',
        ('e', '\u{301}') => 'é',
        ('e', '\u{302}') => 'ê',
        ('e', '\u{308}') => 'ë',
        ('i', '\u{300}') => 'ì',
        ('i', '\u{301}') => 'í',
        ('i', '\u{302}') => 'î',
        ('i', '\u{308}') => 'ï',
        ('o', '\u{300}') => 'ò',
        ('o', '\u{301}') => 'ó',
        ('o', '\u{302}') => 'ô',
        ('o', '\u{303}') => 'õ',
        ('o', '\u{308}') => 'ö',
        ('u', '\u{300}') => 'ù',
        ('u', '\u{301}') => 'ú',
        ('u', '\u{302}') => 'û',
        ('u', '\u{308}') => 'ü',
        ('n', '\u{303}') => 'ñ',
        ('c', '\u{327}') => 'ç',
        ('y', '\u{301}') => 'ý',
        ('y', '\u{308}') => 'ÿ',
        _ => return None,
    };
    if base.is_uppercase() {
        composed.to_uppercase().next()
    } else {
        Some(composed)
    }
}

/// Cleans one word segment: drops invisible characters, folds combining accents, unifies
/// apostrophes, strips French elision ("l'", "qu'") and edge apostrophes. Keeps case.
pub(crate) fn normalise_word(seg: &str, out: &mut String) {
    out.clear();
    // Fast path: plain ASCII letters and digits need no cleaning.
    if seg.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.push_str(seg);
        return;
    }
    for c in seg.chars() {
        if is_ignorable(c) {
            continue;
        }
        if matches!(c, '\u{0300}'..='\u{036F}') {
            if let Some(prev) = out.chars().next_back()
                && let Some(comp) = compose(prev, c)
            {
                out.pop();
                out.push(comp);
            }
            // Unknown combination: the bare letter is the better match than a stray mark.
            continue;
        }
        // Arabic short vowels and tatweel are optional in writing; drop them so spellings match.
        if matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}') {
            continue;
        }
        let c = match c {
            '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{FF07}' => '\'',
            _ => c,
        };
        out.push(c);
    }
    let trimmed = out.trim_matches('\'');
    if trimmed.len() != out.len() {
        *out = trimmed.to_string();
    }
    if let Some(pos) = out.find('\'') {
        let prefix = &out[..pos];
        let is_elision = matches!(
            prefix,
            "l" | "d"
                | "j"
                | "m"
                | "n"
                | "s"
                | "t"
                | "c"
                | "qu"
                | "L"
                | "D"
                | "J"
                | "M"
                | "N"
                | "S"
                | "T"
                | "C"
                | "Qu"
                | "QU"
        );
        if is_elision && out.len() - pos > 2 {
            *out = out[pos + 1..].to_string();
        }
    }
}

fn is_capitalised_only(word: &str) -> bool {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) if first.is_uppercase() => chars.all(|c| !c.is_uppercase()),
        _ => false,
    }
}

struct Builder {
    corpus: Corpus,
    surface_ids: HashMap<String, u32>,
    term_ids: HashMap<String, u32>,
    stemmers: Vec<Option<Stemmer>>,
    norm: String,
    lower: String,
}

impl Builder {
    fn intern(&mut self, orig: &str, kind_hint: Option<Kind>, sentence_start: bool) -> u32 {
        self.lower.clear();
        if orig.is_ascii() {
            self.lower.push_str(orig);
            self.lower.make_ascii_lowercase();
        } else {
            self.lower.push_str(&orig.to_lowercase());
        }
        let id = match self.surface_ids.get(self.lower.as_str()) {
            Some(&id) => id,
            None => {
                let id = self.corpus.surfaces.len() as u32;
                let has_digit = self.lower.chars().any(|c| c.is_numeric());
                let has_alpha = self.lower.chars().any(|c| c.is_alphabetic());
                let kind = kind_hint.unwrap_or(match (has_alpha, has_digit) {
                    (true, true) => Kind::Alnum,
                    (false, true) => Kind::Number,
                    _ => Kind::Word,
                });
                self.corpus.surfaces.push(Surface {
                    lower: self.lower.clone(),
                    kind,
                    stop: stop_mask(&self.lower),
                    script: script_of(&self.lower),
                    chars: self.lower.chars().count(),
                    lower_count: 0,
                    variants: Vec::new(),
                    terms: [UNSET; LANGS.len()],
                });
                self.surface_ids.insert(self.lower.clone(), id);
                id
            }
        };
        let s = &mut self.corpus.surfaces[id as usize];
        if orig == s.lower || (sentence_start && is_capitalised_only(orig)) {
            s.lower_count += 1;
        } else if let Some(v) = s.variants.iter_mut().find(|(t, _)| t == orig) {
            v.1 += 1;
        } else if s.variants.len() < 8 {
            s.variants.push((orig.to_string(), 1));
        }
        id
    }

    fn push(
        &mut self,
        doc: &mut Vec<Tok>,
        orig: &str,
        kind: Option<Kind>,
        brk: &mut bool,
        start: &mut bool,
    ) {
        let surface = self.intern(orig, kind, *start);
        doc.push(Tok {
            surface,
            term: NONE,
            brk: *brk,
        });
        *brk = false;
        *start = false;
    }

    fn flush_han(
        &mut self,
        run: &mut String,
        doc: &mut Vec<Tok>,
        brk: &mut bool,
        start: &mut bool,
    ) {
        // Overlapping character pairs are the standard cheap stand-in for Chinese/Japanese words.
        let chars: Vec<char> = run.chars().collect();
        if chars.len() == 1 {
            let s = chars[0].to_string();
            self.push(doc, &s, Some(Kind::Cjk), brk, start);
        } else {
            for pair in chars.windows(2) {
                let s: String = pair.iter().collect();
                self.push(doc, &s, Some(Kind::Cjk), brk, start);
            }
        }
        run.clear();
    }

    fn tokenise(&mut self, text: &str) -> Vec<Tok> {
        let mut doc = Vec::new();
        let mut brk = true;
        let mut start = true;
        let mut han = String::new();
        for seg in text.split_word_bounds() {
            let first_alnum = seg.chars().find(|c| c.is_alphanumeric());
            if let Some(c) = first_alnum
                && is_han(c)
            {
                han.extend(seg.chars().filter(|&c| is_han(c)));
                continue;
            }
            if !han.is_empty() {
                self.flush_han(&mut han, &mut doc, &mut brk, &mut start);
            }
            match first_alnum {
                Some(c) if is_hiragana(c) => {
                    // Mostly particles and inflection endings: no topic on their own.
                    brk = true;
                }
                Some(c) if is_katakana(c) => {
                    let mut norm = std::mem::take(&mut self.norm);
                    normalise_word(seg, &mut norm);
                    if norm.chars().count() >= 2 {
                        self.push(&mut doc, &norm, Some(Kind::Cjk), &mut brk, &mut start);
                    }
                    self.norm = norm;
                }
                Some(_) => {
                    let mut norm = std::mem::take(&mut self.norm);
                    normalise_word(seg, &mut norm);
                    if norm.chars().any(|c| c.is_alphanumeric()) {
                        self.push(&mut doc, &norm, None, &mut brk, &mut start);
                    }
                    self.norm = norm;
                }
                None => {
                    if seg.chars().all(char::is_whitespace) {
                        if seg.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
                            brk = true;
                            start = true;
                        }
                    } else if !matches!(seg, "-" | "\u{2010}" | "'" | "\u{2019}")
                        && !seg.chars().all(is_ignorable)
                    {
                        brk = true;
                        if seg.contains(['.', '!', '?', '…', '。', '！', '？']) {
                            start = true;
                        }
                    }
                }
            }
        }
        if !han.is_empty() {
            self.flush_han(&mut han, &mut doc, &mut brk, &mut start);
        }
        doc
    }

    fn detect(&self, doc: &[Tok]) -> Option<Language> {
        let mut hits = [0usize; 5];
        let (mut latin, mut arabic, mut cjk, mut other) = (0usize, 0usize, 0usize, 0usize);
        for t in doc {
            let s = &self.corpus.surfaces[t.surface as usize];
            if s.kind == Kind::Cjk {
                cjk += 1;
                continue;
            }
            match s.script {
                Script::Latin => latin += 1,
                Script::Arabic => arabic += 1,
                Script::Other => other += 1,
            }
            for (i, lang) in LANGS[..5].iter().enumerate() {
                if s.stop & lang.stop_bit() != 0 {
                    hits[i] += 1;
                }
            }
        }
        let total = latin + arabic + cjk + other;
        if total == 0 {
            return None;
        }
        if cjk * 2 >= total {
            return Some(Language::Cjk);
        }
        if arabic * 2 >= total {
            return Some(Language::Arabic);
        }
        if other * 2 > total {
            return Some(Language::Other);
        }
        let mut order: Vec<usize> = (0..5).collect();
        order.sort_by(|&a, &b| hits[b].cmp(&hits[a]).then(a.cmp(&b)));
        let (best, second) = (order[0], order[1]);
        // Only a clear winner counts; short answers with one shared word ("a", "de") stay undecided.
        (hits[best] > 0 && hits[best] > hits[second]).then_some(LANGS[best])
    }

    fn term_for(&mut self, surface: u32, lang: Language) -> u32 {
        let li = lang.index();
        let cached = self.corpus.surfaces[surface as usize].terms[li];
        if cached != UNSET {
            return cached;
        }
        let s = &self.corpus.surfaces[surface as usize];
        let stop_bits = lang.stop_bit() | stopwords::EN;
        let is_stop = s.stop & stop_bits != 0
            || (s.kind != Kind::Cjk && s.chars <= 1)
            || (s.kind == Kind::Number && s.chars <= 1);
        let term = if is_stop {
            NONE
        } else {
            let key = match (s.kind, lang.algorithm()) {
                (Kind::Word, Some(alg)) => {
                    let stemmer = self.stemmers[li].get_or_insert_with(|| Stemmer::create(alg));
                    let stem = stemmer.stem(&s.lower).into_owned();
                    if stem.is_empty() {
                        s.lower.clone()
                    } else {
                        stem
                    }
                }
                _ => s.lower.clone(),
            };
            match self.term_ids.get(&key) {
                Some(&id) => id,
                None => {
                    let id = self.corpus.terms.len() as u32;
                    self.term_ids.insert(key.clone(), id);
                    self.corpus.terms.push(Term {
                        key,
                        surfaces: Vec::new(),
                    });
                    id
                }
            }
        };
        self.corpus.surfaces[surface as usize].terms[li] = term;
        term
    }
}

impl Corpus {
    /// Tokenises every text; answers keep their input order.
    pub(crate) fn build<'a>(texts: impl IntoIterator<Item = &'a str>) -> Corpus {
        let mut b = Builder {
            corpus: Corpus::default(),
            surface_ids: HashMap::new(),
            term_ids: HashMap::new(),
            stemmers: (0..LANGS.len()).map(|_| None).collect(),
            norm: String::new(),
            lower: String::new(),
        };
        let mut guesses = Vec::new();
        for text in texts {
            let doc = b.tokenise(text);
            let guess = b.detect(&doc);
            if let Some(lang) = guess {
                b.corpus.detected[lang.index()] += 1;
            }
            guesses.push(guess);
            b.corpus.docs.push(doc);
        }
        let mut dominant = Language::English;
        for lang in LANGS {
            if b.corpus.detected[lang.index()] > b.corpus.detected[dominant.index()] {
                dominant = lang;
            }
        }
        b.corpus.dominant = dominant;
        // Undecided answers (often a few words) follow the majority's language.
        let mut docs = std::mem::take(&mut b.corpus.docs);
        for (doc, guess) in docs.iter_mut().zip(&guesses) {
            let lang = guess.unwrap_or(dominant);
            b.corpus.doc_lang.push(lang);
            for tok in doc.iter_mut() {
                tok.term = b.term_for(tok.surface, lang);
                if tok.term != NONE {
                    let term = &mut b.corpus.terms[tok.term as usize];
                    match term.surfaces.iter_mut().find(|(s, _)| *s == tok.surface) {
                        Some(entry) => entry.1 += 1,
                        None => term.surfaces.push((tok.surface, 1)),
                    }
                }
            }
        }
        b.corpus.docs = docs;
        b.corpus
    }

    /// The spelling people use most for a surface ("CSV" rather than "csv").
    pub(crate) fn display_surface(&self, surface: u32) -> &str {
        let s = &self.surfaces[surface as usize];
        let mut best: (&str, u32) = (&s.lower, s.lower_count);
        for (v, c) in &s.variants {
            if *c > best.1 {
                best = (v, *c);
            }
        }
        best.0
    }

    /// The most common surface of a term (stem), in its most common spelling.
    pub(crate) fn display_term(&self, term: u32) -> &str {
        let t = &self.terms[term as usize];
        let mut best: Option<(u32, u32)> = None;
        for &(s, c) in &t.surfaces {
            let better = match best {
                None => true,
                Some((bs, bc)) => {
                    c > bc
                        || (c == bc
                            && self.surfaces[s as usize].lower < self.surfaces[bs as usize].lower)
                }
            };
            if better {
                best = Some((s, c));
            }
        }
        match best {
            Some((s, _)) => self.display_surface(s),
            None => &t.key,
        }
    }

    /// True when a surface can start or end a recurring phrase in this answer's language.
    pub(crate) fn is_phrase_edge(&self, tok: &Tok) -> bool {
        tok.term != NONE && self.surfaces[tok.surface as usize].kind != Kind::Cjk
    }

    pub(crate) fn is_cjk(&self, tok: &Tok) -> bool {
        self.surfaces[tok.surface as usize].kind == Kind::Cjk
    }
}

/// Positions (i, j) of consecutive content tokens in one clause, at most two stop-words apart:
/// "export to CSV" gives the pair (export, CSV). Shared by feature building and label display.
pub(crate) fn content_pairs(corpus: &Corpus, doc: &[Tok]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut prev: Option<usize> = None;
    for (j, tok) in doc.iter().enumerate() {
        if tok.brk {
            prev = None;
        }
        if corpus.is_cjk(tok) {
            prev = None;
            continue;
        }
        if tok.term == NONE {
            continue;
        }
        if let Some(i) = prev
            && j - i <= 3
        {
            pairs.push((i, j));
        }
        prev = Some(j);
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(corpus: &Corpus, doc: usize) -> Vec<String> {
        corpus.docs[doc]
            .iter()
            .map(|t| corpus.surfaces[t.surface as usize].lower.clone())
            .collect()
    }

    fn terms(corpus: &Corpus, doc: usize) -> Vec<String> {
        corpus.docs[doc]
            .iter()
            .filter(|t| t.term != NONE)
            .map(|t| corpus.terms[t.term as usize].key.clone())
            .collect()
    }

    #[test]
    fn english_words_are_stemmed_and_stops_dropped() {
        let c = Corpus::build(["Please add the Dark Modes, and 2FA for v2!"]);
        let t = terms(&c, 0);
        assert_eq!(t, vec!["add", "dark", "mode", "2fa", "v2"]);
        assert_eq!(c.doc_lang[0], Language::English);
    }

    #[test]
    fn breaks_follow_punctuation_and_newlines() {
        let c = Corpus::build(["dark mode. offline\nsync - fast"]);
        let brks: Vec<bool> = c.docs[0].iter().map(|t| t.brk).collect();
        assert_eq!(brks, vec![true, false, true, true, false]);
    }

    #[test]
    fn zero_width_and_combining_characters_normalise() {
        let c = Corpus::build(["cafe\u{301} caf\u{e9} da\u{200D}rk \u{FEFF}mode\u{200B}"]);
        assert_eq!(words(&c, 0), vec!["café", "café", "dark", "mode"]);
        assert_eq!(c.docs[0][0].surface, c.docs[0][1].surface);
    }

    #[test]
    fn apostrophes_and_elision() {
        let mut out = String::new();
        normalise_word("l’application", &mut out);
        assert_eq!(out, "application");
        normalise_word("don’t", &mut out);
        assert_eq!(out, "don't");
        normalise_word("users'", &mut out);
        assert_eq!(out, "users");
    }

    #[test]
    fn german_and_spanish_are_detected_and_stemmed() {
        let c = Corpus::build([
            "Ich hätte gerne einen dunklen Modus für die App",
            "Me gustaría que la aplicación tenga modo oscuro",
            "dunklen",
        ]);
        assert_eq!(c.doc_lang[0], Language::German);
        assert_eq!(c.doc_lang[1], Language::Spanish);
        assert!(
            terms(&c, 0).contains(&"dunkl".to_string()),
            "{:?}",
            terms(&c, 0)
        );
        assert!(
            terms(&c, 1).contains(&"oscur".to_string()),
            "{:?}",
            terms(&c, 1)
        );
        // A bare word follows the majority (tie German/Spanish -> first in enum order).
        assert_eq!(c.doc_lang[2], Language::German);
    }

    #[test]
    fn japanese_is_split_into_pairs_and_katakana_words() {
        let c = Corpus::build(["ダークモードが欲しいです。設定画面"]);
        let w = words(&c, 0);
        assert_eq!(w, vec!["ダークモード", "欲", "設定", "定画", "画面"]);
        assert_eq!(c.doc_lang[0], Language::Cjk);
    }

    #[test]
    fn arabic_is_detected_by_script() {
        let c = Corpus::build(["أريد الوضع الداكن في التطبيق"]);
        assert_eq!(c.doc_lang[0], Language::Arabic);
        assert!(!terms(&c, 0).is_empty());
    }

    #[test]
    fn display_prefers_common_spelling_but_ignores_sentence_case() {
        let c = Corpus::build([
            "Export to CSV",
            "csv export",
            "Export CSV please",
            "Dark mode",
        ]);
        let csv = c.docs[0][2].surface;
        assert_eq!(c.display_surface(csv), "CSV");
        let export = c.docs[0][0].surface;
        assert_eq!(c.display_surface(export), "export");
    }

    #[test]
    fn content_pairs_skip_stop_words_within_a_clause() {
        let c = Corpus::build(["export to csv, then dark mode"]);
        let pairs = content_pairs(&c, &c.docs[0]);
        assert_eq!(pairs, vec![(0, 2), (4, 5)]);
    }

    #[test]
    fn odd_input_never_panics() {
        let inputs = [
            "",
            "   ",
            "😀😀🎉",
            "\u{200B}\u{200D}\u{FEFF}",
            "\u{301}\u{301}a\u{308}",
            "'''",
            "l'",
            "مرحبا بالعالم",
            "Привет мир",
            "ก็ได้ครับ",
            "a\u{0}b",
        ];
        let c = Corpus::build(inputs);
        assert_eq!(c.docs.len(), inputs.len());
    }
}
