//! Wording claims: certainty, winners, majorities, segment differences and "engagement" as
//! success, each allowed only where the report supports it; a negated claim claims nothing.

use super::facts::{Facts, Mention, Support, segment_forms};
use super::failure::Failure;

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "neither", "nor", "nothing", "none", "nobody", "without", "cannot",
    "hardly", "nicht", "kein", "keine", "keinen", "keiner", "keinem", "keines", "nie", "niemals",
    "weder", "ohne", "nichts", "niemand", "nunca", "ni", "sin", "ningún", "ninguna", "ninguno",
    "nada", "nadie", "tampoco", "jamás",
];

pub(super) fn is_negation(w: &str) -> bool {
    NEGATIONS.contains(&w) || w.ends_with("n't")
}

/// Words that may stand between a negation and what it negates: "not yet certain", "no
/// clear winner", "ist noch nicht sicher", "no hay un ganador claro".
const FILLERS: &[&str] = &[
    "yet",
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "really",
    "so",
    "very",
    "entirely",
    "quite",
    "fully",
    "any",
    "necessarily",
    "statistically",
    "still",
    "as",
    "too",
    "has",
    "have",
    "had",
    "do",
    "does",
    "did",
    "go",
    "goes",
    "went",
    "there",
    "it",
    "this",
    "that",
    "one",
    "option",
    "single",
    "clear",
    "clearly",
    "much",
    "ist",
    "sind",
    "war",
    "waren",
    "sein",
    "noch",
    "sehr",
    "wirklich",
    "ein",
    "eine",
    "einen",
    "der",
    "die",
    "das",
    "es",
    "gibt",
    "hat",
    "haben",
    "ganz",
    "klar",
    "klaren",
    "klarer",
    "eindeutig",
    "eindeutigen",
    "son",
    "fue",
    "era",
    "está",
    "están",
    "hay",
    "un",
    "una",
    "el",
    "la",
    "lo",
    "los",
    "las",
    "todavía",
    "aún",
    "muy",
    "tan",
    "del",
    "tiene",
    "tienen",
    "claro",
    "clara",
];

/// Whether the phrase at `at` is negated: a negation before it with only fillers between.
fn negated(words: &[String], at: usize) -> bool {
    for w in words[..at].iter().rev().take(5) {
        if is_negation(w) {
            return true;
        }
        if !FILLERS.contains(&w.as_str()) {
            return false;
        }
    }
    false
}

pub(super) const WINNER: &[&str] = &[
    "win",
    "wins",
    "won",
    "winner",
    "winners",
    "winning",
    "beats",
    "victory",
    "landslide",
    "dominates",
    "clearly ahead",
    "clearly leads",
    "leads clearly",
    "clear favourite",
    "clear favorite",
    "clearly preferred",
    "came out on top",
    "comes out on top",
    "topped",
    "tops",
    "came first",
    "comes first",
    "come first",
    "first place",
    // Only the verb: "a lead over Sushi" names the runner-up, not the winner.
    "leads",
    "decisively",
    "decisive",
    "top choice",
    "most popular",
    "liegt vorn",
    "liegt vorne",
    "führt",
    "an der spitze",
    "auf platz eins",
    "erster platz",
    "entschieden",
    "encabeza",
    "lidera",
    "primer lugar",
    "quedó primero",
    "decididamente",
    "gewinnt",
    "gewinner",
    "gewonnen",
    "sieger",
    "siegt",
    "klar vorn",
    "klarer favorit",
    "gana",
    "ganó",
    "ganador",
    "ganadora",
    "vence",
    "victoria",
    "claro favorito",
];

pub(super) const CERTAIN: &[&str] = &[
    "certain",
    "certainly",
    "definitely",
    "definitive",
    "clearly",
    "clear-cut",
    "undoubtedly",
    "undeniably",
    "conclusive",
    "conclusively",
    "proves",
    "proven",
    "guaranteed",
    "unambiguous",
    "unambiguously",
    "decisive",
    "decisively",
    "overwhelming",
    "overwhelmingly",
    "beyond doubt",
    "for sure",
    "no doubt",
    "without a doubt",
    "be sure",
    "are sure",
    "confident",
    "confidently",
    "no question",
    "ohne zweifel",
    "zuversichtlich",
    "gewissheit",
    "seguros",
    "seguras",
    "certeza",
    "sin lugar a dudas",
    "confiados",
    "significant",
    "significantly",
    "sicher",
    "sicherlich",
    "eindeutig",
    "definitiv",
    "zweifellos",
    "zweifelsfrei",
    "unbestreitbar",
    "bewiesen",
    "beweist",
    "garantiert",
    "signifikant",
    "überwältigend",
    "mit sicherheit",
    "seguro",
    "seguramente",
    "ciertamente",
    "claramente",
    "definitivamente",
    "indudablemente",
    "innegable",
    "concluyente",
    "demuestra",
    "garantizado",
    "significativo",
    "significativamente",
    "abrumador",
    "abrumadora",
    "contundente",
    "sin duda",
];

/// The first phrase of `list` in `words` that is not negated just before.
pub(super) fn find_claim(words: &[String], list: &[&str]) -> Option<String> {
    for i in 0..words.len() {
        for p in list {
            let parts: Vec<&str> = p.split(' ').collect();
            let hit = parts
                .iter()
                .enumerate()
                .all(|(k, part)| words.get(i + k).is_some_and(|w| w == part));
            // "no doubt" is itself a certainty phrase, not a negated one.
            if hit && (!negated(words, i) || is_negation(parts[0])) {
                return Some(words[i.saturating_sub(1)..i + parts.len()].join(" "));
            }
        }
    }
    None
}

/// Majority words: only for an option above 50% with its whole interval above 50%.
const MAJORITY: &[&str] = &[
    "majority",
    "most respondents",
    "most members",
    "most people",
    "most of the respondents",
    "most of the members",
    "most of them",
    "more than half",
    "nearly everyone",
    "almost everyone",
    "nearly all",
    "almost all",
    "virtually all",
    "the bulk",
    "bulk of",
    "fast alle",
    "nahezu alle",
    "großteil",
    "casi todos",
    "casi todas",
    "la gran parte",
    "over half",
    "mehrheit",
    "mehrheitlich",
    "die meisten",
    "mehr als die hälfte",
    "über die hälfte",
    "mayoría",
    "mayoritariamente",
    "más de la mitad",
];
/// "Clear choice" words: a majority as above, or the question's robust clear leader.
const CLEAR_CHOICE: &[&str] = &[
    "clear choice",
    "obvious choice",
    "overwhelmingly",
    "overwhelming",
    "by far",
    "klare wahl",
    "eindeutige wahl",
    "überwältigend",
    "überwältigende",
    "mit großem abstand",
    "elección clara",
    "clara elección",
    "abrumadoramente",
    "abrumadora",
    "por mucho",
];

pub(super) fn majority(words: &[String], named: &[&Mention], facts: &Facts) -> Result<(), Failure> {
    for (list, loose) in [(MAJORITY, false), (CLEAR_CHOICE, true)] {
        let Some(p) = find_claim(words, list) else {
            continue;
        };
        let ok = |s: &Support| s.majority || (loose && s.leader);
        let options: Vec<&Support> = facts
            .support
            .iter()
            .filter(|s| named.iter().any(|m| m.key == s.key))
            .collect();
        let allowed = if options.is_empty() {
            // Unnamed ("no option has a majority"): a negation anywhere before excuses it.
            let at = words
                .iter()
                .position(|w| p.ends_with(w.as_str()))
                .unwrap_or(0);
            facts.support.iter().any(ok) || words[..at].iter().any(|w| is_negation(w))
        } else {
            options.iter().any(|s| ok(s))
        };
        if !allowed {
            return Err(Failure::Majority(p));
        }
    }
    Ok(())
}

/// Groups a narrative might invent when the report names no such segment.
const GROUPS: &[&str] = &[
    "new members",
    "newer members",
    "newcomers",
    "veterans",
    "long-time members",
    "longtime members",
    "older members",
    "younger members",
    "moderators",
    "admins",
    "power users",
    "customers",
    "neue mitglieder",
    "neuen mitglieder",
    "neulinge",
    "langjährige mitglieder",
    "moderatoren",
    "kunden",
    "nuevos miembros",
    "recién llegados",
    "veteranos",
    "moderadores",
    "clientes",
];
/// Words that make a sentence about a group a comparison.
const DIFFER: &[&str] = &[
    "more",
    "less",
    "fewer",
    "than",
    "differ",
    "differs",
    "different",
    "unlike",
    "compared",
    "versus",
    "vs",
    "prefer",
    "prefers",
    "favour",
    "favours",
    "favor",
    "favors",
    "likelier",
    "split",
    "mehr",
    "weniger",
    "anders",
    "unterscheiden",
    "unterscheidet",
    "bevorzugen",
    "bevorzugt",
    "gegenüber",
    "häufiger",
    "seltener",
    "stärker",
    "vergleich",
    "más",
    "menos",
    "difieren",
    "difiere",
    "diferente",
    "distinto",
    "prefieren",
    "prefiere",
    "frente",
    "comparación",
    "diferencia",
];

/// A sentence that compares a group must be about a segment the report says differs.
pub(super) fn segment_claim(
    sentence: &str,
    words: &[String],
    named: &[&Mention],
    facts: &Facts,
) -> Result<(), Failure> {
    let Some(cue) = words.iter().position(|w| DIFFER.contains(&w.as_str())) else {
        return Ok(());
    };
    if negated(words, cue) {
        return Ok(());
    }
    let segs: Vec<&&Mention> = named
        .iter()
        .filter(|m| facts.segments.contains(&m.key))
        .collect();
    let generic: Vec<&str> = GROUPS
        .iter()
        .copied()
        .filter(|g| claims_mentions(sentence, g))
        .collect();
    let quote = || words.join(" ");
    // Options named beside the group: the report must state the difference on one of them.
    let options: Vec<&str> = named
        .iter()
        .filter(|m| !facts.segments.contains(&m.key))
        .map(|m| m.key.as_str())
        .collect();
    let stated = |seg: &str| {
        facts.differing.iter().any(|(s, gap)| {
            s == seg && (options.is_empty() || gap.as_deref().is_some_and(|g| options.contains(&g)))
        })
    };
    if segs.iter().any(|m| !stated(&m.key)) {
        return Err(Failure::Segment(quote()));
    }
    // A group word the report has no differing segment for.
    for g in generic {
        let backed = segs.iter().any(|m| {
            segment_forms(&m.key)
                .iter()
                .any(|f| g.contains(f.as_str()) || f.contains(g))
        });
        if !backed {
            return Err(Failure::Segment(quote()));
        }
    }
    Ok(())
}

/// Whether `label` occurs in `text` as whole words.
pub(super) fn claims_mentions(text: &str, label: &str) -> bool {
    text.match_indices(label).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + label.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Counts of activity: never evidence of success.
const ACTIVITY: &[&str] = &[
    "engagement",
    "engaged",
    "likes",
    "reactions",
    "views",
    "impressions",
    "clicks",
    "turnout",
    "participation",
    "buzz",
    "viral",
    "hype",
    "traction",
    "beteiligung",
    "reaktionen",
    "aufrufe",
    "klicks",
    "resonanz",
    "participación",
    "interacción",
    "reacciones",
    "visualizaciones",
    "clics",
];
/// Plain answer counts, which only become a problem with strong praise.
const RESPONSES: &[&str] = &[
    "responses",
    "responded",
    "respondents",
    "answers",
    "answered",
    "replies",
    "antworten",
    "befragte",
    "befragten",
    "teilnehmende",
    "teilnehmenden",
    "respuestas",
    "encuestados",
    "participantes",
];
const PRAISE: &[&str] = &[
    "success",
    "successful",
    "impressive",
    "record",
    "great",
    "healthy",
    "excellent",
    "outstanding",
    "remarkable",
    "testament",
    "enthusiasm",
    "enthusiastic",
    "momentum",
    "thriving",
    "soared",
    "surge",
    "boost",
    "amazing",
    "erfolg",
    "erfolgreich",
    "beeindruckend",
    "beeindruckende",
    "rekord",
    "großartig",
    "großartige",
    "hervorragend",
    "begeisterung",
    "éxito",
    "exitoso",
    "exitosa",
    "impresionante",
    "récord",
    "excelente",
    "entusiasmo",
];
/// Words that make activity counts sound like success ("strong engagement"), though they
/// are fine about preferences and plain answer counts ("a strong preference").
const UP: &[&str] = &[
    "strong",
    "high",
    "higher",
    "good",
    "up",
    "rose",
    "grew",
    "growth",
    "increase",
    "increased",
    "jumped",
    "popular",
    "win",
    "stark",
    "starke",
    "starkes",
    "hoch",
    "hohe",
    "hohes",
    "gestiegen",
    "wachstum",
    "alta",
    "alto",
    "fuerte",
    "creció",
    "aumentó",
    "subió",
];

/// Activity with praise, unless that very praise (or activity) word is negated: an
/// unrelated "not" elsewhere in the sentence excuses nothing.
pub(super) fn engagement(words: &[String]) -> Option<String> {
    let first = |list: &[&str]| {
        words
            .iter()
            .enumerate()
            .position(|(i, w)| list.contains(&w.as_str()) && !negated(words, i))
    };
    let praise = first(PRAISE);
    let up = first(UP);
    if first(ACTIVITY).is_some() && (praise.is_some() || up.is_some()) {
        return Some(words.join(" "));
    }
    if first(RESPONSES).is_some() && praise.is_some() {
        return Some(words.join(" "));
    }
    None
}
