//! Unit tests of `themes`: realistic feedback, synthetic volumes, many scripts and the edges.

use super::*;

fn answers<'a>(texts: &[&'a str]) -> Vec<TextAnswer<'a>> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| TextAnswer {
            respondent: i as u64 + 1,
            text: t,
        })
        .collect()
}

fn run(texts: &[&str]) -> TextAnalysis {
    analyse(&answers(texts), &ThemeOptions::default())
}

fn dump(a: &TextAnalysis) -> String {
    let mut s = format!("n={} unclassified={}\n", a.n, a.unclassified);
    for t in &a.themes {
        s += &format!(
            "  [{}] {} terms={:?} members={:?} quotes={:?} {:?}\n",
            t.count, t.label, t.terms, t.members, t.quotes, t.sentiment
        );
    }
    s += &format!(
        "  phrases={:?}\n  keyphrases={:?}\n  note={:?}\n",
        a.phrases,
        a.keyphrases.iter().map(|k| &k.text).collect::<Vec<_>>(),
        a.language_note
    );
    s
}

const PRODUCT: &[&str] = &[
    // dark mode: 0..8
    "Please add a dark mode, my eyes hurt at night",
    "Dark mode!!",
    "I'd love a dark theme for late work sessions",
    "Dark mode would be great",
    "The white background is blinding, we need dark mode",
    "Give us a dark mode option please",
    "dark mode for the desktop app",
    "A proper dark theme, the current one is too bright",
    // offline sync: 8..15
    "Offline sync doesn't work reliably",
    "I need offline mode that syncs when I'm back online",
    "Sync keeps failing when I go offline",
    "Make offline sync work on the train",
    "Notes don't sync after being offline",
    "offline support and faster sync",
    "Syncing between phone and laptop is slow and breaks offline",
    // pricing: 15..22
    "The price is too high for a small team",
    "Pricing is too expensive compared to competitors",
    "Lower the price please",
    "Too expensive for students, the price should be lower",
    "The subscription price went up again, not happy",
    "Price per seat is too high",
    "Pricing should be cheaper for nonprofits",
    // export: 22..28
    "Export to CSV please",
    "I want to export my data to CSV",
    "CSV export for reports",
    "Let me export tables as CSV or Excel",
    "Exporting to CSV is broken",
    "Need CSV export for our accountant",
    // everything else: 28..40
    "Love the app, keep it up!",
    "Nothing, it's perfect",
    "The onboarding was confusing",
    "More keyboard shortcuts",
    "Integrate with Google Calendar",
    "no idea",
    "🙂",
    "",
    "Customer support answered quickly, thanks",
    "Bigger font on mobile",
    "asdf",
    "Templates for meeting notes",
];

#[test]
fn realistic_product_feedback() {
    let a = run(PRODUCT);
    let d = dump(&a);
    eprintln!("{d}");
    assert_eq!(a.n, 40);
    let find = |word: &str| {
        a.themes
            .iter()
            .find(|t| t.label.to_lowercase().contains(word))
            .unwrap_or_else(|| panic!("no theme for {word}\n{d}"))
    };
    let dark = find("dark");
    assert_eq!(dark.members, (0..8).collect::<Vec<_>>(), "{d}");
    let sync = find("sync");
    assert_eq!(sync.members, (8..15).collect::<Vec<_>>(), "{d}");
    let price = find("pric");
    assert_eq!(price.members, (15..22).collect::<Vec<_>>(), "{d}");
    let export = find("csv");
    assert_eq!(export.members, (22..28).collect::<Vec<_>>(), "{d}");
    assert_eq!(a.themes.len(), 4, "{d}");
    assert_eq!(a.unclassified, 12, "{d}");
    assert!((a.unclassified_share - 0.3).abs() < 1e-9);
    assert!((dark.share - 0.2).abs() < 1e-9);
    assert_eq!(dark.label, "dark mode / theme", "{d}");
    assert!(export.label.contains("CSV"), "{d}");
    // Quotes are real answers, distinct, within limits.
    for t in &a.themes {
        assert!(!t.quotes.is_empty() && t.quotes.len() <= 2, "{d}");
        for q in &t.quotes {
            assert!(PRODUCT.contains(&q.as_str()), "{q}");
        }
    }
    assert!(
        a.phrases
            .iter()
            .any(|p| p.text == "dark mode" && p.respondents >= 6),
        "{d}"
    );
    assert_eq!(price.sentiment.label, SentimentLabel::Negative, "{d}");
    assert_eq!(a.language_note, None);
}

/// Deterministic pseudo-random numbers for synthetic data (no rand dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

const FILLER: &[&str] = &[
    "morning",
    "team",
    "week",
    "project",
    "client",
    "meeting",
    "report",
    "laptop",
    "phone",
    "screen",
    "office",
    "weekend",
    "coffee",
    "train",
    "home",
    "manager",
    "colleague",
    "folder",
    "page",
    "button",
    "menu",
    "window",
    "tab",
    "list",
    "board",
    "card",
    "task",
    "chat",
    "message",
    "email",
    "account",
    "profile",
    "setting",
    "user",
    "cloud",
    "server",
    "update",
    "version",
    "tablet",
    "desktop",
    "browser",
    "widget",
    "link",
    "image",
    "photo",
    "video",
    "document",
    "school",
    "family",
    "travel",
    "budget",
    "invoice",
    "garden",
    "music",
    "recipe",
    "student",
    "teacher",
    "doctor",
    "kitchen",
    "holiday",
];

const TEMPLATES: &[&[&str]] = &[
    &[
        "please add a dark mode",
        "dark mode at night",
        "I want a dark mode option",
        "Dark mode!",
    ],
    &[
        "offline sync fails",
        "sync when I am offline",
        "offline sync is unreliable",
        "make offline sync work",
    ],
    &[
        "the price is too high",
        "lower the price",
        "price too high for me",
        "the price went up",
    ],
    &[
        "export to CSV",
        "CSV export please",
        "I need to export data to CSV",
        "export CSV files",
    ],
    &[
        "calendar integration",
        "integrate with my calendar",
        "google calendar integration",
        "calendar integration please",
    ],
];

fn synthetic(n: usize, seed: u64) -> (Vec<String>, Vec<Option<usize>>) {
    let mut rng = Lcg(seed);
    let mut texts = Vec::with_capacity(n);
    let mut truth = Vec::with_capacity(n);
    for _ in 0..n {
        let mut words: Vec<String> = Vec::new();
        let fillers = 6 + rng.next(7);
        let topic = if rng.next(10) == 0 {
            None
        } else {
            Some(rng.next(TEMPLATES.len()))
        };
        for _ in 0..fillers {
            words.push(FILLER[rng.next(FILLER.len())].to_string());
            if rng.next(3) == 0 {
                words.push(["the", "and", "for", "with", "my", "on"][rng.next(6)].to_string());
            }
        }
        if let Some(t) = topic {
            let phrase = TEMPLATES[t][rng.next(TEMPLATES[t].len())];
            let at = rng.next(words.len() + 1);
            words.insert(at, format!("{phrase},"));
        }
        texts.push(words.join(" "));
        truth.push(topic);
    }
    (texts, truth)
}

#[test]
fn ten_thousand_synthetic_answers() {
    let (texts, truth) = synthetic(10_000, 42);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let a = run(&refs);
    let d = a
        .themes
        .iter()
        .map(|t| format!("[{}] {}", t.count, t.label))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(a.themes.len(), TEMPLATES.len(), "{d}");
    let mut seen_topics = Vec::new();
    for t in &a.themes {
        // Majority topic of the theme; purity and recall both at least 98%.
        let mut votes = vec![0usize; TEMPLATES.len()];
        for &m in &t.members {
            if let Some(topic) = truth[m] {
                votes[topic] += 1;
            }
        }
        let (topic, hits) = votes
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|&(_, v)| v)
            .unwrap_or_default();
        let total = truth.iter().filter(|&&x| x == Some(topic)).count();
        assert!(
            hits as f64 >= 0.98 * t.count as f64,
            "impure theme {}: {hits}/{}\n{d}",
            t.label,
            t.count
        );
        assert!(
            hits as f64 >= 0.98 * total as f64,
            "theme {} misses answers: {hits}/{total}\n{d}",
            t.label
        );
        seen_topics.push(topic);
        assert_eq!(t.quotes.len(), 2);
    }
    seen_topics.sort_unstable();
    assert_eq!(seen_topics, (0..TEMPLATES.len()).collect::<Vec<_>>());
    let noise = truth.iter().filter(|t| t.is_none()).count();
    assert!(
        a.unclassified >= noise * 95 / 100 && a.unclassified <= noise * 105 / 100,
        "{} vs {noise}\n{d}",
        a.unclassified
    );
    let labels = a
        .themes
        .iter()
        .map(|t| t.label.to_lowercase())
        .collect::<Vec<_>>()
        .join(" | ");
    for key in ["dark mode", "sync", "price", "csv", "calendar"] {
        assert!(labels.contains(key), "{labels}");
    }
    assert!(
        a.phrases.iter().any(|p| p.text == "dark mode"),
        "{:?}",
        a.phrases
    );
}

#[test]
fn same_input_same_output() {
    let (texts, _) = synthetic(2_000, 7);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    assert_eq!(run(&refs), run(&refs));
    assert_eq!(run(PRODUCT), run(PRODUCT));
}

#[test]
fn zero_answers() {
    let a = run(&[]);
    assert_eq!(a.n, 0);
    assert!(a.themes.is_empty() && a.phrases.is_empty() && a.keyphrases.is_empty());
    assert_eq!(a.unclassified, 0);
    assert_eq!(a.unclassified_share, 0.0);
    assert_eq!(a.overall_sentiment, Sentiment::NEUTRAL);
    assert_eq!(a.language_note, None);
}

#[test]
fn one_answer_is_unclassified() {
    let a = run(&["Dark mode please, it is great"]);
    assert!(a.themes.is_empty());
    assert_eq!((a.unclassified, a.unclassified_share), (1, 1.0));
    assert_eq!(a.overall_sentiment.label, SentimentLabel::Positive);
}

#[test]
fn identical_answers_form_one_theme() {
    let texts = vec!["Dark mode please"; 50];
    let a = run(&texts);
    assert_eq!(a.themes.len(), 1);
    let t = &a.themes[0];
    assert_eq!((t.count, t.share, t.label.as_str()), (50, 1.0, "dark mode"));
    assert_eq!(t.quotes, vec!["Dark mode please".to_string()]);
    assert_eq!(a.unclassified, 0);
    assert_eq!(
        a.phrases,
        vec![Phrase {
            text: "dark mode".into(),
            respondents: 50
        }]
    );
}

#[test]
fn only_emoji_or_stop_words_are_unclassified() {
    let a = run(&["😍🎉"; 10]);
    assert!(a.themes.is_empty());
    assert_eq!(a.unclassified, 10);
    assert_eq!(a.overall_sentiment.label, SentimentLabel::Positive);
    let a = run(&["the and of it is", "I would really like it", "no"]);
    assert!(a.themes.is_empty() && a.phrases.is_empty());
    assert_eq!(a.unclassified, 3);
}

#[test]
fn blank_answers_count_in_n_but_not_in_sentiment() {
    let a = run(&["", "   ", "great", "\n"]);
    assert_eq!(a.n, 4);
    assert_eq!(a.unclassified, 4);
    assert_eq!(a.overall_sentiment.label, SentimentLabel::Positive);
}

#[test]
fn very_long_text_is_handled_and_quotes_trimmed() {
    let long = format!(
        "dark mode {}",
        "blah ünïcödé 😀 words and more words ".repeat(20_000)
    );
    let mut texts = vec![long.as_str()];
    texts.extend(["dark mode please"; 5]);
    let opts = ThemeOptions {
        quote_max_chars: 40,
        max_quotes: 6,
        ..ThemeOptions::default()
    };
    let a = analyse(&answers(&texts), &opts);
    assert_eq!(a.themes.len(), 1);
    for q in &a.themes[0].quotes {
        assert!(q.chars().count() <= 40, "{q}");
    }
    assert!(
        a.themes[0].quotes.iter().any(|q| q.ends_with('…')) || !a.themes[0].members.contains(&0)
    );
}

#[test]
fn german_answers() {
    let a = run(&[
        "Bitte einen dunklen Modus für die App",
        "Ein dunkler Modus wäre toll",
        "Ich will einen dunklen Modus",
        "Der Preis ist zu hoch",
        "Der Preis ist leider viel zu hoch für uns",
        "Zu teuer, der Preis muss runter",
        "Alles gut",
    ]);
    let d = dump(&a);
    assert_eq!(a.themes.len(), 2, "{d}");
    assert!(
        a.themes
            .iter()
            .any(|t| t.label.contains("Modus") && t.count == 3),
        "{d}"
    );
    assert!(
        a.themes
            .iter()
            .any(|t| t.label.contains("Preis") && t.count == 3),
        "{d}"
    );
    assert!(
        a.language_note
            .as_deref()
            .is_some_and(|n| n.contains("German")),
        "{d}"
    );
}

#[test]
fn spanish_and_portuguese_answers() {
    let a = run(&[
        "Quiero un modo oscuro en la aplicación",
        "Por favor, modo oscuro",
        "El modo oscuro sería genial",
        "El precio es muy caro",
        "Precio demasiado alto para nosotros",
        "Gostaria de um modo escuro no aplicativo",
    ]);
    let d = dump(&a);
    // The Portuguese "modo escuro" shares "modo" and joins: same idea, acceptable.
    assert!(
        a.themes
            .iter()
            .any(|t| t.label.contains("modo oscuro") && t.members == [0, 1, 2, 5]),
        "{d}"
    );
    assert!(
        a.themes
            .iter()
            .any(|t| t.label == "precio" && t.members == [3, 4]),
        "{d}"
    );
    assert!(
        a.language_note
            .as_deref()
            .is_some_and(|n| n.contains("Spanish")),
        "{d}"
    );
}

#[test]
fn japanese_without_spaces() {
    let a = run(&[
        "ダークモードが欲しいです",
        "ダークモードを追加してください",
        "夜はダークモードがいい",
        "価格が高すぎます",
        "価格をもっと安くしてほしい",
        "同期が遅い",
    ]);
    let d = dump(&a);
    assert!(
        a.themes
            .iter()
            .any(|t| t.label.contains("ダークモード") && t.count == 3),
        "{d}"
    );
    assert!(
        a.themes
            .iter()
            .any(|t| t.label.contains("価格") && t.count == 2),
        "{d}"
    );
    assert!(
        a.language_note
            .as_deref()
            .is_some_and(|n| n.contains("Chinese/Japanese")),
        "{d}"
    );
    assert!(a.phrases.is_empty());
}

#[test]
fn arabic_right_to_left() {
    let a = run(&[
        "أريد الوضع الداكن في التطبيق",
        "الوضع الداكن من فضلك",
        "الوضع الداكن ضروري",
        "السعر مرتفع جدا",
    ]);
    let d = dump(&a);
    assert_eq!(a.themes.len(), 1, "{d}");
    assert_eq!(a.themes[0].members, vec![0, 1, 2], "{d}");
    assert!(
        a.language_note
            .as_deref()
            .is_some_and(|n| n.contains("Arabic")),
        "{d}"
    );
}

#[test]
fn zero_width_and_combining_characters_do_not_split_themes() {
    let a = run(&[
        "caf\u{e9} dark\u{200B} mode",
        "cafe\u{301} dark mode",
        "\u{FEFF}dark m\u{200D}ode caf\u{e9}",
        "\u{202E}dark mode\u{202C}",
        "\u{301}\u{200B}\u{200D}",
    ]);
    let d = dump(&a);
    assert_eq!(a.themes.len(), 1, "{d}");
    assert_eq!(a.themes[0].members, vec![0, 1, 2, 3], "{d}");
    assert!(a.themes[0].terms.iter().any(|t| t == "café"), "{d}");
}

#[test]
fn option_edges() {
    let zero = ThemeOptions {
        max_themes: 0,
        ..ThemeOptions::default()
    };
    let a = analyse(&answers(PRODUCT), &zero);
    assert!(a.themes.is_empty());
    assert_eq!(a.unclassified, 40);
    let one = ThemeOptions {
        max_themes: 1,
        max_quotes: 0,
        ..ThemeOptions::default()
    };
    let a = analyse(&answers(PRODUCT), &one);
    assert_eq!(a.themes.len(), 1);
    assert!(a.themes[0].quotes.is_empty());
    let big = ThemeOptions {
        min_theme_size: 100,
        ..ThemeOptions::default()
    };
    assert!(analyse(&answers(PRODUCT), &big).themes.is_empty());
}

#[test]
fn quotes_trim_on_grapheme_boundaries() {
    assert_eq!(trim_quote("  short \n text ", 200), "short text");
    assert_eq!(trim_quote("abc", 0), "");
    assert_eq!(trim_quote("abcdef", 1), "…");
    let t = trim_quote("ééééé ééééé", 4);
    assert_eq!(t, "ééé…");
    let t = trim_quote("one two three four five six seven", 20);
    assert!(t.chars().count() <= 20 && t.ends_with('…'), "{t}");
    assert_eq!(t, "one two three four…");
    // A family emoji (ZWJ sequence) is never cut in half.
    let fam = "👨\u{200D}👩\u{200D}👧 abc";
    let t = trim_quote(fam, 4);
    assert_eq!(t, "…");
}

#[test]
fn random_unicode_never_panics() {
    // Code points from scripts, marks, invisibles, emoji and punctuation, mixed at random.
    const RANGES: &[(u32, u32)] = &[
        (0x20, 0x7E),
        (0xC0, 0x24F),
        (0x300, 0x36F),
        (0x600, 0x6FF),
        (0x64B, 0x65F),
        (0x900, 0x97F),
        (0xE00, 0xE7F),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x3040, 0x30FF),
        (0x4E00, 0x4E80),
        (0xAC00, 0xAC80),
        (0xFE00, 0xFE0F),
        (0x1F300, 0x1F64F),
        (0x1F3FB, 0x1F3FF),
        (0xFEFF, 0xFEFF),
        (0x0, 0x1F),
    ];
    let mut rng = Lcg(3);
    let texts: Vec<String> = (0..400)
        .map(|_| {
            let len = rng.next(60);
            (0..len)
                .filter_map(|_| {
                    let (lo, hi) = RANGES[rng.next(RANGES.len())];
                    char::from_u32(lo + rng.next((hi - lo + 1) as usize) as u32)
                })
                .collect()
        })
        .collect();
    let mut refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // Repeat some so themes and phrases have something to find.
    refs.extend(texts.iter().take(50).map(String::as_str));
    let long_word = "a".repeat(100_000);
    refs.push(&long_word);
    let a = run(&refs);
    assert_eq!(a.n, refs.len());
    let total: usize = a.themes.iter().map(|t| t.count).sum::<usize>() + a.unclassified;
    assert_eq!(total, a.n);
    for t in &a.themes {
        assert!(t.share.is_finite() && t.sentiment.compound.is_finite());
        assert!(t.quotes.iter().all(|q| q.chars().count() <= 200));
    }
    for text in &refs {
        let s = sentiment(text);
        assert!((-1.0..=1.0).contains(&s.compound));
    }
}
