//! Embedded stop-word lists (English, German, Spanish, Portuguese, French, Arabic) for open-text analysis.
//!
//! Why our own lists instead of the `stop-words` crate: we need five or six short lists, plus
//! survey filler ("app", "please", "would like") that generic lists lack, and a build step that
//! parses JSON for 50+ languages is more than that is worth. Negations ("not", "nicht", "no") are
//! stop-words here because they carry no topic; the sentiment scorer handles them separately.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Bit positions in the mask returned by [`stop_mask`]; must match `tokenize::Language::bit`.
pub(crate) const EN: u8 = 1;
pub(crate) const DE: u8 = 1 << 1;
pub(crate) const ES: u8 = 1 << 2;
pub(crate) const PT: u8 = 1 << 3;
pub(crate) const FR: u8 = 1 << 4;
pub(crate) const AR: u8 = 1 << 5;

#[rustfmt::skip]
const ENGLISH: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "aren't", "arent", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "can't", "cannot", "cant", "could", "couldn't", "couldnt", "did",
    "didn't", "didnt", "do", "does", "doesn't", "doesnt", "doing", "don't", "dont", "down",
    "during", "each", "few", "for", "from", "further", "had", "hadn't", "has", "hasn't", "have",
    "haven't", "having", "he", "he'd", "he'll", "he's", "her", "here", "here's", "hers", "herself",
    "him", "himself", "his", "how", "how's", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into",
    "is", "isn't", "isnt", "it", "it's", "its", "itself", "let's", "me", "more", "most", "mustn't",
    "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "ought",
    "our", "ours", "ourselves", "out", "over", "own", "same", "shan't", "she", "she'd", "she'll",
    "she's", "should", "shouldn't", "shouldnt", "so", "some", "such", "than", "that", "that's",
    "thats", "the", "their", "theirs", "them", "themselves", "then", "there", "there's", "theres",
    "these", "they", "they'd", "they'll", "they're", "they've", "this", "those", "through", "to",
    "too", "under", "until", "up", "very", "was", "wasn't", "wasnt", "we", "we'd", "we'll", "we're",
    "we've", "were", "weren't", "what", "what's", "when", "when's", "where", "where's", "which",
    "while", "who", "who's", "whom", "why", "why's", "with", "won't", "wont", "would", "wouldn't",
    "wouldnt", "you", "you'd", "you'll", "you're", "youre", "you've", "your", "yours", "yourself",
    "yourselves", "im", "ive", "also", "just", "really", "will", "shall", "may", "might", "must",
    "get", "gets", "got", "getting", "make", "makes", "much", "many", "lot", "lots", "thing",
    "things", "stuff", "like", "maybe", "please", "pls", "plz", "thanks", "thank", "thx", "yes",
    "yeah", "ok", "okay", "etc", "e.g", "i.e", "via", "per", "even", "still", "yet", "though",
    "although", "however", "already", "always", "never", "ever", "every", "everything", "something",
    "anything", "nothing", "someone", "anyone", "one", "able", "want", "wants", "wanted", "need",
    "needs", "needed", "wish", "think", "know", "way", "well", "bit", "kind", "sort", "quite",
    "rather", "pretty", "enough", "else", "app", "apps", "application", "feature", "features",
    "http", "https", "www", "com", "us", "let", "since", "without", "within", "around", "across",
    "along", "sometimes", "often", "usually", "actually", "probably", "definitely", "especially",
    "currently", "anyway", "could've", "would've", "should've",
];

#[rustfmt::skip]
const GERMAN: &[&str] = &[
    "aber", "alle", "allem", "allen", "aller", "alles", "als", "also", "am", "an", "ander",
    "andere", "anderen", "auch", "auf", "aus", "bei", "bin", "bis", "bist", "da", "damit", "dann",
    "das", "dass", "daß", "dein", "deine", "dem", "den", "der", "des", "dessen", "die", "dies",
    "diese", "diesem", "diesen", "dieser", "dieses", "doch", "dort", "du", "durch", "ein", "eine",
    "einem", "einen", "einer", "eines", "er", "es", "etwas", "euch", "euer", "für", "gegen",
    "gewesen", "hab", "habe", "haben", "hat", "hatte", "hier", "hin", "ich", "ihm", "ihn", "ihnen",
    "ihr", "ihre", "im", "in", "ist", "ja", "jede", "jedem", "jeden", "jeder", "jetzt", "kann",
    "kein", "keine", "keinen", "können", "könnte", "man", "mehr", "mein", "meine", "mich", "mir",
    "mit", "muss", "nach", "nicht", "nichts", "noch", "nun", "nur", "ob", "oder", "ohne", "schon",
    "sehr", "sein", "seine", "sich", "sie", "sind", "so", "soll", "sollte", "um", "und", "uns",
    "unser", "unter", "viel", "vom", "von", "vor", "war", "waren", "warum", "was", "weil", "wenn",
    "wer", "wie", "wieder", "will", "wir", "wird", "wirklich", "wo", "würde", "wäre", "zu", "zum",
    "zur", "über", "bitte", "gibt", "gerne", "gern", "mal", "eigentlich", "immer", "app",
    "funktion", "funktionen", "hätte", "gäbe", "dafür", "dabei", "darum", "denn", "einfach",
];

#[rustfmt::skip]
const SPANISH: &[&str] = &[
    "a", "al", "algo", "algunos", "ante", "antes", "como", "con", "contra", "cual", "cuando", "de",
    "del", "desde", "donde", "durante", "e", "el", "ella", "ellas", "ellos", "en", "entre", "era",
    "es", "esa", "ese", "eso", "esta", "está", "están", "estar", "este", "esto", "estos", "fue",
    "ha", "hay", "hace", "la", "las", "le", "les", "lo", "los", "más", "me", "mi", "mis", "mucho",
    "muy", "nada", "ni", "no", "nos", "nosotros", "o", "otra", "otro", "para", "pero", "poco",
    "por", "porque", "que", "qué", "quiero", "se", "sea", "ser", "si", "sí", "sin", "sobre", "son",
    "su", "sus", "también", "tan", "te", "tener", "tengo", "tiene", "todo", "todos", "tu", "tus",
    "un", "una", "uno", "unos", "y", "ya", "yo", "gustaría", "gustaria", "favor", "aplicación",
    "aplicacion", "app", "puede", "poder", "sería", "seria", "debería", "estaría", "función",
    "funcion", "usar",
];

#[rustfmt::skip]
const PORTUGUESE: &[&str] = &[
    "a", "ao", "aos", "as", "até", "com", "como", "da", "das", "de", "dela", "dele", "do", "dos",
    "e", "é", "ela", "ele", "eles", "em", "entre", "era", "essa", "esse", "isso", "esta", "está",
    "estão", "este", "eu", "foi", "há", "já", "lhe", "mais", "mas", "me", "meu", "minha", "muito",
    "na", "não", "nas", "nem", "no", "nos", "o", "os", "ou", "para", "pela", "pelo", "por",
    "porque", "pra", "quando", "que", "se", "sem", "ser", "seu", "sua", "são", "também", "tem",
    "ter", "um", "uma", "uns", "você", "vocês", "aplicativo", "app", "gostaria", "poderia", "seria",
    "queria", "favor", "tudo", "todo", "muita", "isto", "aqui", "ainda", "então", "função",
    "funcao", "usar",
];

#[rustfmt::skip]
const FRENCH: &[&str] = &[
    "à", "a", "au", "aux", "avec", "avoir", "ce", "ces", "cet", "cette", "dans", "de", "des", "du",
    "elle", "en", "est", "et", "être", "eu", "il", "ils", "je", "la", "le", "les", "leur", "lui",
    "ma", "mais", "me", "même", "mes", "moi", "mon", "ne", "nos", "notre", "nous", "on", "ou", "où",
    "par", "pas", "plus", "pour", "qu", "que", "qui", "sa", "se", "ses", "si", "son", "sont", "sur",
    "ta", "te", "tes", "toi", "ton", "tous", "tout", "très", "tu", "un", "une", "vos", "votre",
    "vous", "y", "ça", "cela", "ai", "as", "avons", "avez", "ont", "été", "fait", "faire", "peut",
    "aussi", "application", "appli", "app", "vraiment", "serait", "voudrais", "aimerais", "svp",
    "merci", "fonction", "fonctionnalité", "utiliser", "quand", "comme",
];

#[rustfmt::skip]
const ARABIC: &[&str] = &[
    "في", "من", "على", "إلى", "الى", "عن", "مع", "هذا", "هذه", "ذلك", "التي", "الذي", "أن", "ان",
    "إن", "كان", "كانت", "لا", "ما", "لم", "لن", "هو", "هي", "و", "أو", "او", "ثم", "قد", "كل",
    "بعض", "غير", "عند", "أي", "يا", "انا", "أنا", "نحن", "هل", "التطبيق", "جدا", "جداً",
];

fn table() -> &'static HashMap<&'static str, u8> {
    static TABLE: OnceLock<HashMap<&'static str, u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map: HashMap<&'static str, u8> = HashMap::new();
        for (list, bit) in [
            (ENGLISH, EN),
            (GERMAN, DE),
            (SPANISH, ES),
            (PORTUGUESE, PT),
            (FRENCH, FR),
            (ARABIC, AR),
        ] {
            for w in list {
                *map.entry(w).or_insert(0) |= bit;
            }
        }
        map
    })
}

/// Bit mask of the languages for which `lower` (already lowercased and normalised) is a stop-word.
pub(crate) fn stop_mask(lower: &str) -> u8 {
    table().get(lower).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_lowercase_and_nonempty() {
        for list in [ENGLISH, GERMAN, SPANISH, PORTUGUESE, FRENCH, ARABIC] {
            for w in list {
                assert!(!w.is_empty());
                assert_eq!(w.to_lowercase(), *w, "{w} must be lowercase");
            }
        }
    }

    #[test]
    fn masks_combine_languages() {
        assert_eq!(stop_mask("the"), EN);
        assert_ne!(stop_mask("die") & DE, 0);
        assert_eq!(stop_mask("die") & EN, 0);
        assert_ne!(stop_mask("de") & (ES | PT | FR), 0);
        assert_eq!(stop_mask("mode"), 0);
        assert_ne!(stop_mask("في") & AR, 0);
    }
}
