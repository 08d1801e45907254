//! Compact VADER-style sentiment scorer for short answers: embedded lexicon, negation, boosters, "but" rule, caps, exclamation and emoji.
//!
//! Why not the `vader_sentiment` crate: it is unmaintained, pulls regex/lazy_static/maplit and a
//! 7,500-entry lexicon of social-media slang. Survey answers need a few hundred common words plus
//! product words ("buggy", "laggy", "overpriced") that VADER lacks. Valences use VADER's -4..+4 scale
//! and its constants (boost 0.293, caps 0.733, negation x-0.74, compound = s/sqrt(s^2+15)), so
//! scores read like VADER's: compound >= 0.05 positive, <= -0.05 negative.

use std::collections::HashMap;
use std::sync::OnceLock;

use unicode_segmentation::UnicodeSegmentation;

use super::tokenize::normalise_word;

/// Direction of a text's (or a group of texts') sentiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SentimentLabel {
    Positive,
    Neutral,
    Negative,
    /// Clearly positive and clearly negative parts (one text) or members (a group).
    Mixed,
}

/// Compound score in [-1, 1] (VADER's normalisation) with its label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sentiment {
    pub compound: f64,
    pub label: SentimentLabel,
}

impl Sentiment {
    pub const NEUTRAL: Sentiment = Sentiment {
        compound: 0.0,
        label: SentimentLabel::Neutral,
    };
}

const BOOST: f64 = 0.293;
const CAPS: f64 = 0.733;
const NEGATE: f64 = -0.74;
const ALPHA: f64 = 15.0;
/// A single text is Mixed when both sides carry at least this much valence and neither dominates.
const MIXED_SIDE: f64 = 0.9;
/// A group is Mixed when at least this share of members lean each way.
const MIXED_SHARE: f64 = 0.25;

#[rustfmt::skip]
const LEXICON: &[(&str, f64)] = &[
    // Positive, general.
    ("good", 1.9), ("great", 3.1), ("excellent", 2.7), ("amazing", 2.8), ("awesome", 3.1),
    ("love", 3.2), ("lovely", 2.8), ("nice", 1.8), ("fantastic", 2.6), ("wonderful", 2.7),
    ("perfect", 2.7), ("perfectly", 2.7), ("best", 3.2), ("better", 1.9), ("brilliant", 2.8),
    ("beautiful", 2.9), ("happy", 2.7), ("glad", 2.0), ("pleased", 1.9), ("satisfied", 1.8),
    ("enjoy", 2.2), ("useful", 1.9), ("helpful", 1.8), ("easy", 1.9), ("intuitive", 1.8),
    ("fast", 1.2), ("quick", 1.0), ("smooth", 1.4), ("smoothly", 1.4), ("reliable", 1.6),
    ("stable", 1.2), ("clean", 1.7), ("elegant", 2.1), ("fun", 2.3), ("cool", 1.3), ("neat", 2.0),
    ("solid", 1.2), ("impressive", 2.3), ("impressed", 2.1), ("recommend", 1.5), ("thanks", 1.9),
    ("thank", 1.5), ("appreciate", 1.7), ("appreciated", 2.3), ("grateful", 2.0), ("exciting", 2.2),
    ("excited", 1.4), ("favorite", 2.0), ("favourite", 2.0), ("superb", 3.1), ("outstanding", 3.0),
    ("worth", 0.9), ("valuable", 2.1), ("powerful", 1.8), ("handy", 1.5), ("convenient", 1.5),
    ("improved", 1.5), ("improvement", 1.5), ("pleasant", 2.3), ("friendly", 2.2),
    ("responsive", 1.0), ("affordable", 1.5), ("success", 2.7), ("successful", 2.8),
    ("effective", 2.1), ("efficient", 1.8), ("yay", 2.4), ("wow", 2.8), ("lol", 1.8), ("haha", 2.0),
    ("ok", 0.9), ("okay", 0.9), ("joy", 2.8), ("delighted", 2.9), ("thrilled", 2.5),
    ("terrific", 3.2), ("marvelous", 2.9), ("fabulous", 2.4), ("gorgeous", 3.0),
    ("phenomenal", 3.0), ("stellar", 2.8), ("adore", 2.6), ("kudos", 2.3), ("bravo", 2.4),
    ("congrats", 2.4), ("thankful", 2.7), ("lucky", 1.8), ("hope", 1.9), ("hopeful", 1.6),
    ("safe", 1.9), ("secure", 1.4), ("trust", 2.3), ("confident", 2.2), ("comfortable", 1.5),
    ("calm", 1.3), ("positive", 2.6), ("promising", 1.6), ("polished", 1.6), ("seamless", 1.8),
    ("seamlessly", 1.8), ("snappy", 1.2), ("slick", 1.8), ("straightforward", 1.6),
    ("accurate", 1.5), ("clear", 1.6), ("clever", 1.8), ("smart", 1.7), ("benefit", 1.8),
    ("incredible", 3.0), ("fine", 0.8), ("well-designed", 2.0), ("win", 2.8), ("wins", 2.7),
    ("winner", 2.8), ("glorious", 2.8), ("cute", 2.0), ("fair", 1.3), ("free", 1.0),
    ("recommended", 1.5), ("lifesaver", 2.5), ("gamechanger", 2.5), ("flawless", 2.7),
    ("flawlessly", 2.7), ("simple", 1.0), ("simplicity", 1.2), ("reasonable", 1.2),
    ("awesomeness", 3.0), ("genius", 2.4), ("fixed", 0.8),
    // Negative, general.
    ("bad", -2.5), ("terrible", -2.5), ("horrible", -2.5), ("awful", -2.0), ("hate", -2.7),
    ("hated", -3.2), ("worst", -3.1), ("worse", -2.1), ("poor", -2.1), ("poorly", -1.6),
    ("disappointing", -2.2), ("disappointed", -1.9), ("disappointment", -2.3), ("annoying", -1.7),
    ("annoyed", -1.6), ("annoy", -1.9), ("frustrating", -1.9), ("frustrated", -2.4),
    ("frustration", -2.1), ("useless", -1.8), ("broken", -1.7), ("buggy", -1.8), ("bug", -1.0),
    ("crash", -1.7), ("slow", -1.0), ("laggy", -1.5), ("lag", -1.2), ("sluggish", -1.3),
    ("confusing", -1.3), ("confused", -1.3), ("complicated", -1.1), ("clunky", -1.5),
    ("ugly", -2.3), ("expensive", -1.2), ("overpriced", -1.8), ("pricey", -0.8), ("costly", -1.0),
    ("difficult", -1.5), ("hard", -0.4), ("problem", -1.7), ("issue", -0.6), ("fail", -2.5),
    ("fails", -2.0), ("failed", -2.3), ("failure", -2.3), ("error", -1.7), ("wrong", -2.1),
    ("missing", -1.2), ("lacking", -1.3), ("lacks", -1.3), ("sucks", -1.5), ("suck", -1.9),
    ("stupid", -2.4), ("ridiculous", -1.5), ("sad", -2.1), ("unhappy", -1.8), ("angry", -2.3),
    ("mad", -2.2), ("upset", -1.6), ("boring", -1.3), ("bored", -1.1), ("tedious", -1.3),
    ("painful", -1.9), ("pain", -2.3), ("nightmare", -1.9), ("mess", -1.5), ("messy", -1.5),
    ("garbage", -2.1), ("trash", -1.8), ("junk", -1.5), ("waste", -1.8), ("wasted", -2.2),
    ("unusable", -2.0), ("unreliable", -1.6), ("unstable", -1.5), ("glitchy", -1.5),
    ("glitch", -1.2), ("freeze", -0.9), ("frozen", -1.0), ("outdated", -1.2),
    ("inconsistent", -1.0), ("cumbersome", -1.4), ("awkward", -1.0), ("lame", -1.8), ("meh", -0.8),
    ("disaster", -3.1), ("dreadful", -2.6), ("pathetic", -2.3), ("lousy", -2.5), ("mediocre", -1.0),
    ("weak", -1.9), ("limited", -0.9), ("restrictive", -1.1), ("dislike", -1.6),
    ("irritating", -2.0), ("unfortunately", -1.6), ("sadly", -1.9), ("worried", -1.2),
    ("worry", -1.9), ("scam", -2.7), ("ripoff", -2.3), ("spam", -1.5), ("impossible", -1.6),
    ("fault", -1.7), ("flaw", -1.6), ("flawed", -1.5), ("bloated", -1.2), ("tired", -1.9),
    ("sorry", -0.3), ("fear", -2.2), ("scary", -2.2), ("stressful", -2.0), ("stress", -1.8),
    ("hassle", -1.5), ("regret", -1.8), ("lost", -1.3), ("lose", -1.7), ("loses", -1.3),
    ("losing", -1.6), ("damn", -1.7), ("crap", -1.6), ("crappy", -2.0), ("shit", -2.6),
    ("wtf", -2.8), ("ugh", -1.8), ("fuck", -2.5), ("hurt", -2.4), ("hurts", -2.1),
    ("horrendous", -2.8), ("atrocious", -2.8), ("abysmal", -2.8), ("unacceptable", -2.0),
    ("confusion", -1.3), ("complaint", -1.5), ("complain", -1.5), ("ignored", -1.2),
    ("slowly", -0.5), ("overwhelming", -0.9), ("overkill", -0.8), ("drain", -0.7), ("drains", -0.7),
    ("kill", -2.0), ("kills", -2.0), ("dead", -2.0), ("dies", -1.5), ("unclear", -1.0),
    ("inaccurate", -1.5), ("insecure", -1.5), ("unsafe", -2.0), ("terribly", -2.0),
    ("horribly", -2.0), ("badly", -2.0), ("never-ending", -1.0),
    // German.
    ("gut", 1.9), ("toll", 2.5), ("prima", 2.0), ("klasse", 2.2), ("genial", 2.8),
    ("hervorragend", 2.7), ("perfekt", 2.7), ("danke", 1.5), ("schön", 2.0), ("praktisch", 1.5),
    ("schlecht", -2.5), ("schrecklich", -2.5), ("langsam", -1.0), ("teuer", -1.2), ("nervig", -1.7),
    ("kaputt", -1.7), ("fehler", -1.3), ("schlimm", -2.0), ("schade", -1.2), ("umständlich", -1.4),
    ("furchtbar", -2.5), ("katastrophe", -3.0), ("liebe", 2.8),
    // Spanish.
    ("bueno", 1.9), ("buena", 1.9), ("excelente", 2.7), ("malo", -2.5), ("mala", -2.5),
    ("lento", -1.0), ("lenta", -1.0), ("caro", -1.2), ("encanta", 3.0), ("gracias", 1.5),
    ("problema", -1.7), ("fácil", 1.9), ("difícil", -1.5), ("increíble", 3.0), ("maravilloso", 2.7),
    ("pésimo", -3.0), ("horrible", -2.5), ("fatal", -2.5),
    // Portuguese.
    ("bom", 1.9), ("boa", 1.9), ("ótimo", 2.7), ("ótima", 2.7), ("otimo", 2.7), ("ruim", -2.5),
    ("péssimo", -3.0), ("péssima", -3.0), ("adoro", 3.0), ("obrigado", 1.5), ("obrigada", 1.5),
    ("lindo", 2.4), ("chato", -1.7), ("difícil", -1.5),
    // French.
    ("bon", 1.9), ("bonne", 1.9), ("bien", 1.5), ("génial", 2.8), ("mauvais", -2.5),
    ("mauvaise", -2.5), ("nul", -2.0), ("nulle", -2.0), ("lent", -1.0), ("cher", -1.0),
    ("parfait", 2.7), ("merci", 1.5), ("problème", -1.7), ("facile", 1.9), ("adorable", 2.2),
    ("super", 2.0), ("magnifique", 2.9), ("décevant", -2.2), ("dommage", -1.2),
];

/// Words that scale the next sentiment word up (+) or down (-).
#[rustfmt::skip]
const BOOSTERS: &[(&str, f64)] = &[
    ("absolutely", BOOST), ("amazingly", BOOST), ("completely", BOOST), ("considerably", BOOST),
    ("deeply", BOOST), ("enormously", BOOST), ("entirely", BOOST), ("especially", BOOST),
    ("exceptionally", BOOST), ("extremely", BOOST), ("greatly", BOOST), ("highly", BOOST),
    ("hugely", BOOST), ("incredibly", BOOST), ("intensely", BOOST), ("particularly", BOOST),
    ("really", BOOST), ("remarkably", BOOST), ("so", BOOST), ("substantially", BOOST),
    ("thoroughly", BOOST), ("totally", BOOST), ("tremendously", BOOST), ("truly", BOOST),
    ("unbelievably", BOOST), ("utterly", BOOST), ("very", BOOST), ("super", BOOST), ("too", BOOST),
    ("most", BOOST), ("more", BOOST), ("sehr", BOOST), ("wirklich", BOOST), ("echt", BOOST),
    ("muy", BOOST), ("realmente", BOOST), ("muito", BOOST), ("très", BOOST), ("vraiment", BOOST),
    ("almost", -BOOST), ("barely", -BOOST), ("hardly", -BOOST), ("kinda", -BOOST), ("less", -BOOST),
    ("little", -BOOST), ("marginally", -BOOST), ("occasionally", -BOOST), ("partly", -BOOST),
    ("scarcely", -BOOST), ("slightly", -BOOST), ("somewhat", -BOOST), ("sorta", -BOOST),
    ("fairly", -BOOST), ("bit", -BOOST), ("etwas", -BOOST), ("poco", -BOOST),
];

#[rustfmt::skip]
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without",
    "cannot", "rarely", "seldom", "dont", "doesnt", "didnt", "isnt", "wasnt", "cant", "wont",
    "arent", "aint", "couldnt", "shouldnt", "wouldnt", "nicht", "kein", "keine", "keinen", "nie",
    "niemals", "ohne", "nunca", "nada", "sin", "não", "nem", "sem", "pas", "jamais", "sans", "rien",
    "ne",
];

/// Contrast words: what follows weighs more than what precedes (VADER's "but" rule).
const CONTRAST: &[&str] = &["but", "however", "aber", "pero", "mas"];

/// Neutral verbs that become a complaint when negated ("doesn't work", "not syncing").
#[rustfmt::skip]
const NEGATED_COMPLAINT: &[&str] = &[
    "work", "works", "working", "worked", "sync", "syncs", "syncing", "load", "loads", "loading",
    "funktioniert", "funciona", "fonctionne",
];
const NEGATED_COMPLAINT_VALENCE: f64 = -1.5;

#[rustfmt::skip]
const EMOJI: &[(char, f64)] = &[
    ('😀', 2.0), ('😃', 2.0), ('😄', 2.0), ('😁', 2.0), ('😆', 1.8), ('😊', 2.0), ('🙂', 1.2), ('😉', 1.0),
    ('😍', 3.0), ('🥰', 3.0), ('😘', 2.2), ('😎', 1.5), ('🤩', 2.8), ('😂', 1.5), ('🤣', 1.5), ('👍', 1.8),
    ('👏', 2.0), ('🙌', 2.0), ('🎉', 2.2), ('🥳', 2.4), ('❤', 2.8), ('💕', 2.6), ('💖', 2.6), ('💯', 2.0),
    ('🔥', 1.5), ('✅', 1.2), ('⭐', 1.5), ('🌟', 1.8), ('🚀', 1.6), ('💪', 1.5), ('🙏', 1.2), ('👌', 1.6),
    ('✨', 1.2), ('😻', 2.5), ('🤗', 2.0), ('☺', 1.8), ('💚', 2.5), ('💙', 2.5), ('💜', 2.5), ('🧡', 2.5),
    ('💛', 2.5), ('😞', -2.0), ('😔', -1.8), ('😟', -1.6), ('😕', -1.2), ('🙁', -1.5), ('☹', -1.8),
    ('😢', -2.2), ('😭', -2.4), ('😡', -2.8), ('😠', -2.5), ('🤬', -3.0), ('😤', -1.8), ('😒', -1.5),
    ('😩', -2.0), ('😫', -2.0), ('😖', -2.0), ('😣', -1.8), ('🤮', -2.6), ('🤢', -2.2), ('💩', -2.0),
    ('👎', -2.0), ('💔', -2.4), ('😱', -1.5), ('😨', -1.8), ('😰', -1.8), ('😬', -0.8), ('🙄', -1.3),
    ('😑', -0.8), ('😐', -0.3), ('❌', -1.2), ('🐌', -1.0), ('🤦', -1.5), ('😓', -1.4),
];

#[rustfmt::skip]
const EMOTICONS: &[(&str, f64)] = &[
    (":)", 2.0), (":-)", 2.0), (":]", 1.8), (":D", 2.3), (":-D", 2.3), (";)", 1.5), (";-)", 1.5),
    (":P", 1.0), (":p", 1.0), ("<3", 2.8), ("xD", 2.0), ("XD", 2.0), (":(", -2.0), (":-(", -2.0),
    (":'(", -2.3), (":/", -1.0), (":-/", -1.0), (":|", -0.5), (">:(", -2.5), ("D:", -1.5),
    ("</3", -2.4),
];

/// Everything known about one word, so scoring needs a single lookup per word.
#[derive(Debug, Default, Clone, Copy)]
struct WordInfo {
    valence: f64,
    booster: f64,
    negation: bool,
    contrast: bool,
    complaint: bool,
}

struct Tables {
    words: HashMap<&'static str, WordInfo>,
    emoji: HashMap<char, f64>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut words: HashMap<&'static str, WordInfo> = HashMap::new();
        for &(w, v) in LEXICON {
            words.entry(w).or_default().valence = v;
        }
        for &(w, b) in BOOSTERS {
            words.entry(w).or_default().booster = b;
        }
        for &w in NEGATIONS {
            words.entry(w).or_default().negation = true;
        }
        for &w in CONTRAST {
            words.entry(w).or_default().contrast = true;
        }
        for &w in NEGATED_COMPLAINT {
            words.entry(w).or_default().complaint = true;
        }
        Tables {
            words,
            emoji: EMOJI.iter().copied().collect(),
        }
    })
}

/// Lexicon lookup with light English inflection fallback ("crashes" -> "crash", "loved" -> "love").
fn valence(t: &Tables, word: &str) -> f64 {
    if let Some(info) = t.words.get(word) {
        return info.valence;
    }
    let word = word.strip_suffix("'s").unwrap_or(word);
    const STEMS: [(&str, &str); 9] = [
        ("s", ""),
        ("es", ""),
        ("ed", ""),
        ("ed", "e"),
        ("d", ""),
        ("ing", ""),
        ("ing", "e"),
        ("ier", "y"),
        ("iest", "y"),
    ];
    let mut candidate = String::new();
    for (suffix, add) in STEMS {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 3
        {
            candidate.clear();
            candidate.push_str(base);
            candidate.push_str(add);
            if let Some(info) = t.words.get(candidate.as_str())
                && info.valence != 0.0
            {
                return info.valence;
            }
        }
    }
    0.0
}

/// One word, emoji or emoticon with everything the scorer needs, computed once.
#[derive(Debug, Default)]
struct Item {
    word: bool,
    caps: bool,
    valence: f64,
    booster: f64,
    negation: bool,
    contrast: bool,
    complaint: bool,
    is_super: bool,
}

fn emoji_valence(t: &Tables, seg: &str) -> Option<f64> {
    // The first pictograph decides; skin tones, ZWJ and variation selectors only decorate it.
    let c = seg.chars().find(|&c| {
        !matches!(
            c,
            '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}'
        )
    })?;
    t.emoji.get(&c).copied()
}

fn items(text: &str) -> Vec<Item> {
    let t = tables();
    let mut out: Vec<Item> = Vec::new();
    let mut norm = String::new();
    let mut prev_lower = String::new();
    let mut lower = String::new();
    for chunk in text.split_whitespace() {
        // Emoticons are short and contain ':', ';' or '<' (or are "xD").
        if chunk.len() <= 6 && (chunk.contains([':', ';', '<']) || matches!(chunk, "xD" | "XD")) {
            let bare = chunk.trim_end_matches([',', '.', ';', '!', '?']);
            if let Some(&(_, v)) = EMOTICONS.iter().find(|(e, _)| *e == bare || *e == chunk) {
                out.push(Item {
                    valence: v,
                    ..Item::default()
                });
                continue;
            }
        }
        // ASCII needs no Unicode word-boundary tables (the slow part): split on non-word bytes.
        let segs: Box<dyn Iterator<Item = &str>> = if chunk.is_ascii() {
            Box::new(
                chunk
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '\''))
                    .filter(|s| !s.is_empty()),
            )
        } else {
            Box::new(chunk.split_word_bounds())
        };
        for seg in segs {
            if seg.chars().any(char::is_alphanumeric) {
                normalise_word(seg, &mut norm);
                let letters = norm.chars().filter(|c| c.is_alphabetic()).count();
                let caps = letters >= 2 && norm.chars().all(|c| !c.is_lowercase());
                lower.clear();
                if norm.is_ascii() {
                    lower.push_str(&norm);
                    lower.make_ascii_lowercase();
                } else {
                    lower.push_str(&norm.to_lowercase());
                }
                let l = lower.as_str();
                let info = t.words.get(l).copied().unwrap_or_default();
                let mut booster = info.booster;
                // "kind of" / "sort of" dampen like "somewhat".
                if l == "of" && matches!(prev_lower.as_str(), "kind" | "sort") {
                    booster = -BOOST;
                }
                let is_super = l == "super";
                let valence = if booster != 0.0 && !is_super {
                    // Boosters carry no sentiment of their own ("super" decides below).
                    0.0
                } else if info.valence != 0.0 || info.negation || info.contrast || info.complaint {
                    info.valence
                } else {
                    valence(t, l)
                };
                out.push(Item {
                    word: true,
                    caps,
                    valence,
                    booster,
                    negation: info.negation || l.ends_with("n't"),
                    contrast: info.contrast,
                    complaint: info.complaint,
                    is_super,
                });
                std::mem::swap(&mut prev_lower, &mut lower);
            } else if let Some(v) = emoji_valence(t, seg) {
                out.push(Item {
                    valence: v,
                    ..Item::default()
                });
            }
        }
    }
    out
}

fn label_for(compound: f64, pos: f64, neg: f64) -> SentimentLabel {
    if pos >= MIXED_SIDE && neg >= MIXED_SIDE && compound.abs() < 0.5 {
        SentimentLabel::Mixed
    } else if compound >= 0.05 {
        SentimentLabel::Positive
    } else if compound <= -0.05 {
        SentimentLabel::Negative
    } else {
        SentimentLabel::Neutral
    }
}

/// Scores one text. Never panics; empty or unknown text is Neutral with compound 0.
pub fn sentiment(text: &str) -> Sentiment {
    let items = items(text);
    if items.is_empty() {
        return Sentiment::NEUTRAL;
    }
    // Caps only signal emphasis when the rest of the text is not shouting too.
    let cap_diff =
        items.iter().any(|i| i.word && i.caps) && items.iter().any(|i| i.word && !i.caps);
    let mut vals = vec![0.0f64; items.len()];
    for (i, item) in items.iter().enumerate() {
        let negated = (1..=3).any(|k| i >= k && items[i - k].negation);
        let mut v = item.valence;
        if v == 0.0 {
            if negated && item.complaint {
                vals[i] = NEGATED_COMPLAINT_VALENCE;
            }
            continue;
        }
        // "super" is a booster before another sentiment word, a positive word on its own.
        if item.is_super && items.get(i + 1).is_some_and(|n| n.valence != 0.0) {
            continue;
        }
        let sign = v.signum();
        if item.caps && cap_diff {
            v += CAPS * sign;
        }
        for (k, decay) in [(1usize, 1.0f64), (2, 0.95), (3, 0.9)] {
            if i < k {
                break;
            }
            let b = items[i - k].booster;
            if b != 0.0 {
                let mut scalar = b * decay;
                if items[i - k].caps && cap_diff {
                    scalar += CAPS * b.signum();
                }
                v += scalar * sign;
            }
        }
        if negated {
            v *= NEGATE;
        }
        vals[i] = v;
    }
    if let Some(b) = items.iter().position(|it| it.contrast) {
        for (i, v) in vals.iter_mut().enumerate() {
            if i < b {
                *v *= 0.5;
            } else if i > b {
                *v *= 1.5;
            }
        }
    }
    let mut sum: f64 = vals.iter().sum();
    let excl = text
        .chars()
        .filter(|&c| c == '!' || c == '！')
        .count()
        .min(4) as f64;
    let quest = text.chars().filter(|&c| c == '?' || c == '？').count();
    let mut emphasis = excl * 0.292;
    if quest > 1 {
        emphasis += if quest <= 3 {
            quest as f64 * 0.18
        } else {
            0.96
        };
    }
    if sum > 0.0 {
        sum += emphasis;
    } else if sum < 0.0 {
        sum -= emphasis;
    }
    let compound = (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0);
    let pos: f64 = vals.iter().filter(|v| **v > 0.0).sum();
    let neg: f64 = -vals.iter().filter(|v| **v < 0.0).sum::<f64>();
    Sentiment {
        compound,
        label: label_for(compound, pos, neg),
    }
}

/// Combines per-answer scores: mean compound; Mixed when a quarter or more lean each way,
/// Positive/Negative when the mean leans that way and at least a quarter of members do.
pub fn aggregate_sentiment<'a>(scores: impl IntoIterator<Item = &'a Sentiment>) -> Sentiment {
    let (mut n, mut sum, mut pos, mut neg) = (0usize, 0.0f64, 0.0f64, 0.0f64);
    for s in scores {
        n += 1;
        sum += s.compound;
        match s.label {
            SentimentLabel::Positive => pos += 1.0,
            SentimentLabel::Negative => neg += 1.0,
            SentimentLabel::Mixed => {
                pos += 0.5;
                neg += 0.5;
            }
            SentimentLabel::Neutral => {}
        }
    }
    if n == 0 {
        return Sentiment::NEUTRAL;
    }
    let n = n as f64;
    let compound = sum / n;
    let (pos, neg) = (pos / n, neg / n);
    // A lean needs both the mean and a quarter of members behind it; one angry answer among
    // neutral feature requests does not make the group negative.
    let label = if pos >= MIXED_SHARE && neg >= MIXED_SHARE {
        SentimentLabel::Mixed
    } else if compound >= 0.05 && pos >= MIXED_SHARE {
        SentimentLabel::Positive
    } else if compound <= -0.05 && neg >= MIXED_SHARE {
        SentimentLabel::Negative
    } else {
        SentimentLabel::Neutral
    };
    Sentiment { compound, label }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> f64 {
        sentiment(text).compound
    }

    #[test]
    fn tables_have_no_conflicting_duplicates() {
        let mut seen: HashMap<&str, f64> = HashMap::new();
        for &(w, v) in LEXICON {
            if let Some(old) = seen.insert(w, v) {
                assert_eq!(old, v, "conflicting valence for {w}");
            }
            assert_eq!(w.to_lowercase(), w);
        }
    }

    #[test]
    fn clear_sentences_have_the_right_sign() {
        assert!(c("I love the new dashboard, it is great") > 0.5);
        assert!(c("The sync is terrible and crashes all the time") < -0.5);
        assert_eq!(
            sentiment("The export button is on the left").label,
            SentimentLabel::Neutral
        );
        assert_eq!(sentiment("").label, SentimentLabel::Neutral);
    }

    #[test]
    fn negation_flips() {
        assert!(c("this is good") > 0.0);
        assert!(c("this is not good") < 0.0);
        assert!(c("this isn't bad") > 0.0);
        assert!(c("sync doesn't work") < 0.0);
        assert!(c("das ist nicht gut") < 0.0);
    }

    #[test]
    fn boosters_caps_and_exclamation_intensify() {
        assert!(c("very good") > c("good"));
        assert!(c("slightly good") < c("good"));
        assert!(c("kind of good") < c("good"));
        assert!(c("good!!!") > c("good"));
        assert!(c("it is GOOD today") > c("it is good today"));
        assert!(c("super slow") < c("slow"));
    }

    #[test]
    fn but_rule_weights_the_second_clause() {
        assert!(c("The design is great but the price is awful") < 0.0);
        assert!(c("The price is awful but the design is great") > 0.0);
    }

    #[test]
    fn emoji_and_emoticons_count() {
        assert!(c("😍😍") > 0.5);
        assert!(c("sync 👎🏽") < 0.0);
        assert!(c("ok :(") < 0.0);
        assert!(c("❤️") > 0.0);
    }

    #[test]
    fn inflections_fall_back_to_base_words() {
        assert!(c("it crashes") < 0.0);
        assert!(c("loved it") > 0.0);
        assert!(c("easier than before") > 0.0);
    }

    #[test]
    fn mixed_single_text_and_group() {
        assert_eq!(
            sentiment("I love the design, the sync is buggy and slow").label,
            SentimentLabel::Mixed
        );
        let scores = [
            sentiment("great"),
            sentiment("awful"),
            sentiment("great"),
            sentiment("bad"),
        ];
        assert_eq!(aggregate_sentiment(&scores).label, SentimentLabel::Mixed);
        let scores = [sentiment("great"), sentiment("good"), sentiment("fine")];
        assert_eq!(aggregate_sentiment(&scores).label, SentimentLabel::Positive);
        assert_eq!(aggregate_sentiment(&[]).label, SentimentLabel::Neutral);
    }

    #[test]
    fn compound_stays_in_range() {
        let long = "great ".repeat(10_000);
        let s = c(&long);
        assert!(s > 0.99 && s <= 1.0);
        let long = "NOT BAD!!!! ".repeat(1000);
        assert!((-1.0..=1.0).contains(&c(&long)));
    }
}
