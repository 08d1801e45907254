//! Unit tests of `Config::parse`, `Config::problems` and the messages they give.

use super::*;

fn parse(src: &str) -> Result<Config, ConfigError> {
    Config::parse(src, Path::new("bot.toml"))
}

const OK: &str = r#"
[team]
console = ["pm"]

[[surveys]]
id = "next"
title = "Next"

[[surveys.questions]]
id = "feature"
type = "single"
text = "Which?"
options = ["Dark mode", { id = "sync", label = "Offline sync" }]
"#;

#[test]
fn parses_a_minimal_config() {
    let c = parse(OK).unwrap();
    assert_eq!(c.surveys.len(), 1);
    let q = &c.surveys[0].survey.questions[0];
    let ids: Vec<_> = q.kind.options().iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["dark-mode", "sync"]);
    assert!(c.telegram.is_none());
}

#[test]
fn unknown_key_names_key_and_line() {
    let src = OK.replace("[team]", "[team]\nconsoel = [\"x\"]");
    let err = parse(&src).unwrap_err().to_string();
    assert!(err.contains("consoel"), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn invalid_question_names_field_and_line() {
    let src = OK.replace("type = \"single\"", "type = \"single\"\nscale = 5");
    let err = parse(&src).unwrap_err().to_string();
    assert!(
        err.contains("survey \"next\", question \"feature\", scale"),
        "{err}"
    );
    assert!(err.contains("line 12"), "{err}");
    let long = OK.replace("Dark mode", &"D".repeat(81));
    let err = parse(&long).unwrap_err().to_string();
    assert!(err.contains("option 1 label"), "{err}");
}

/// The 1-based line of the first line of `src` containing `needle`.
fn line_with(src: &str, needle: &str) -> usize {
    src.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("needle in source")
}

/// Asserts the error names `line` (and only that line) and says each of `says`.
fn assert_at(err: &ConfigError, line: usize, says: &[&str]) {
    let text = err.to_string();
    assert!(
        text.contains(&format!(", line {line}:")),
        "want line {line}: {text}"
    );
    for s in says {
        assert!(text.contains(s), "want {s:?}: {text}");
    }
}

const TWO: &str = r#"
[team]
console = ["pm"]

[[surveys]]
id = "first"
title = "First"
[[surveys.questions]]
id = "q"
type = "single"
text = "Which?"
options = ["A", "B"]

[[surveys]]
id = "pulse"
title = "Pulse"

[[surveys.questions]]
id = "mood"
type = "single"
text = "How are you?"
options = [
  "Fine",
  "Good",
]

[[surveys.questions]]
id = "other"
type = "open_text"
text = "Anything else?"
"#;

#[test]
fn a_too_long_label_is_reported_at_its_own_line_by_survey_and_question_id() {
    let src = TWO.replace("\"Good\"", &format!("\"{}\"", "G".repeat(81)));
    let err = parse(&src).unwrap_err();
    assert_at(
        &err,
        line_with(&src, "GGGG"),
        &[
            "survey \"pulse\", question \"mood\", option 2 label",
            "81 characters",
        ],
    );
    assert!(!err.to_string().contains("surveys["), "{err}");
}

#[test]
fn a_duplicate_question_id_is_reported_at_the_second_id_key() {
    let src = TWO.replace("id = \"other\"", "id = \"mood\"");
    let err = parse(&src).unwrap_err();
    let second = src.match_indices("id = \"mood\"").nth(1).expect("twice").0;
    let line = src[..second].lines().count() + 1;
    assert_at(
        &err,
        line,
        &["survey \"pulse\", question \"mood\", id", "used twice"],
    );
}

#[test]
fn a_duplicate_survey_id_is_reported_at_the_second_id_key() {
    let src = TWO.replace("id = \"pulse\"", "id = \"first\"");
    let err = parse(&src).unwrap_err();
    let second = src.match_indices("id = \"first\"").nth(1).expect("twice").0;
    let line = src[..second].lines().count() + 1;
    assert_at(&err, line, &["survey \"first\", id", "used twice"]);
}

#[test]
fn an_unset_telegram_token_variable_is_an_error_unless_offline() {
    let var = "CANVASS_TEST_UNSET_TOKEN_7F3A";
    let src = format!("{TWO}\n[telegram]\ntoken_env = \"{var}\"\n");
    let c = parse(&src).unwrap();
    let problems = c.problems(false);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_at(
        &problems[0],
        line_with(&src, "token_env"),
        &["telegram.token_env", var, "--offline"],
    );
    assert!(c.problems(true).is_empty());
}

#[test]
fn digest_destinations_on_a_platform_without_its_section_are_errors() {
    let src = format!(
        "{TWO}\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"UTC\"\ntelegram_chats = [-100123]\ndiscord_channels = [42]\n"
    );
    let problems = parse(&src).unwrap().problems(true);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_at(
        &problems[0],
        line_with(&src, "telegram_chats"),
        &["digest.telegram_chats", "no [telegram] section"],
    );
    assert_at(
        &problems[1],
        line_with(&src, "discord_channels"),
        &["digest.discord_channels", "no [discord] section"],
    );
    let with = format!("{src}\n[telegram]\ntoken_env = \"T\"\n[discord]\ntoken_env = \"D\"\n");
    assert!(parse(&with).unwrap().problems(true).is_empty());
}

#[test]
fn a_digest_survey_that_is_not_in_the_file_is_an_error_at_its_line() {
    let src = format!(
        "{TWO}\n[telegram]\ntoken_env = \"T\"\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"UTC\"\ntelegram_chats = [-1]\nsurveys = [\n  \"pulse\",\n  \"no-such-survey\",\n]\n"
    );
    let problems = parse(&src).unwrap().problems(true);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_at(
        &problems[0],
        line_with(&src, "\"no-such-survey\""),
        &[
            "digest.surveys",
            "\"no-such-survey\" is not the id of a survey",
        ],
    );
}

#[test]
fn a_zero_digest_channel_is_an_error_at_its_line() {
    let src = format!(
        "{TWO}\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"UTC\"\ndiscord_channels = [0]\n"
    );
    let err = parse(&src).unwrap_err();
    assert_at(
        &err,
        line_with(&src, "discord_channels"),
        &["digest.discord_channels", "0 is not a chat or channel id"],
    );
    let src = src.replace("discord_channels", "telegram_chats");
    let err = parse(&src).unwrap_err();
    assert_at(
        &err,
        line_with(&src, "telegram_chats"),
        &["digest.telegram_chats"],
    );
}

#[test]
fn a_bad_discord_token_env_is_reported_at_its_own_line_not_telegrams() {
    let src = format!(
        "{TWO}\n[telegram]\ntoken_env = \"CANVASS_TELEGRAM_TOKEN\"\n\n[discord]\ntoken_env = \"MTIz.abc\"\n"
    );
    let err = parse(&src).unwrap_err();
    assert_at(
        &err,
        line_with(&src, "MTIz.abc"),
        &["discord.token_env", "NAME of an environment variable"],
    );
}

#[test]
fn a_locale_that_is_not_a_language_tag_is_rejected_at_its_line() {
    let with = |tag: &str| {
        TWO.replace(
            "console = [\"pm\"]",
            &format!("console = [\"pm\"]\nlocale = \"{tag}\""),
        )
    };
    let src = with("xx_YY_zz!");
    let err = parse(&src).unwrap_err();
    assert_at(
        &err,
        line_with(&src, "locale ="),
        &["team.locale", "\"xx_YY_zz!\" is not a language tag"],
    );
    for bad in ["xx-YY-zz", "e", "english", "de-DE-", "12"] {
        assert!(parse(&with(bad)).is_err(), "{bad} accepted");
    }
    for (good, is) in [
        ("pt_br", "pt-BR"),
        ("de", "de"),
        ("es-419", "es-419"),
        ("zh-Hant-TW", "zh"),
    ] {
        assert_eq!(parse(&with(good)).unwrap().team.locale, is, "{good}");
    }
    // A survey translation's tag too, at its own table's line.
    let src = format!("{TWO}\n[surveys.locales.\"de!\"]\ntitle = \"Puls\"\n");
    let err = parse(&src).unwrap_err();
    assert_at(
        &err,
        line_with(&src, "de!"),
        &["survey \"pulse\", locales.de!"],
    );
}

#[test]
fn invalid_utf8_is_a_plain_sentence_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.toml");
    let mut bytes = TWO.as_bytes().to_vec();
    let at = TWO.find("Pulse").unwrap();
    bytes.splice(at..at + 1, [0xff]);
    std::fs::write(&path, &bytes).unwrap();
    let err = Config::load(&path).unwrap_err();
    assert_at(
        &err,
        line_with(TWO, "title = \"Pulse\""),
        &["not UTF-8", "byte 10"],
    );
}

#[test]
fn a_missing_file_is_named_once_in_plain_words() {
    let err = Config::load(Path::new("/no/such/dir/bot.toml")).unwrap_err();
    let chain = format!("{:#}", anyhow::Error::from(err));
    assert_eq!(
        chain,
        "cannot read /no/such/dir/bot.toml: there is no such file or folder"
    );
}

#[test]
fn a_prompts_folder_named_in_the_config_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.toml");
    let src = format!("[storage]\nprompts = \"templates\"\n{TWO}");
    let c = Config::parse(&src, &path).unwrap();
    assert_eq!(c.prompts_dir(), dir.path().join("templates"));
    let problems = c.problems(true);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_at(
        &problems[0],
        2,
        &["storage.prompts", "there is no such file or folder"],
    );
    let chain = format!(
        "{:#}",
        anyhow::Error::from(problems.into_iter().next().unwrap())
    );
    assert_eq!(chain.matches("no such file").count(), 1, "{chain}");
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    assert!(c.problems(true).is_empty());
}

#[test]
fn narrative_section_is_optional_and_validated_with_lines() {
    assert!(parse(OK).unwrap().narrative.is_none());
    let good = format!(
        "{OK}\n[narrative]\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3.1\"\n"
    );
    let n = parse(&good).unwrap().narrative.unwrap();
    assert_eq!(
        (n.timeout_ms, n.max_chars, n.api_key_env),
        (20_000, 1200, None)
    );
    let bad = good.replace("model = \"llama3.1\"", "model = \"m\"\ntimeout_ms = 5");
    let err = parse(&bad).unwrap_err().to_string();
    assert!(err.contains("narrative.timeout_ms"), "{err}");
    assert!(err.contains("line 18"), "{err}");
    // max_chars also exists on open-text questions: the line is the narrative's.
    let bad = good.replace("model = \"llama3.1\"", "model = \"m\"\nmax_chars = 5");
    let err = parse(&bad).unwrap_err().to_string();
    assert!(
        err.contains("narrative.max_chars") && err.contains("line 18"),
        "{err}"
    );
    let bad = good.replace("http://127.0.0.1:11434/v1", "localhost");
    let err = parse(&bad).unwrap_err().to_string();
    assert!(
        err.contains("narrative.base_url") && err.contains("line 16"),
        "{err}"
    );
    let bad = format!("{good}api_key_env = \"sk-live-123\"\n");
    let err = parse(&bad).unwrap_err().to_string();
    assert!(err.contains("narrative.api_key_env"), "{err}");
    let bad = format!("{good}temperature = 1\n");
    let err = parse(&bad).unwrap_err().to_string();
    assert!(err.contains("temperature"), "{err}");
}

#[test]
fn token_must_be_an_env_var_name() {
    let src = format!("{OK}\n[telegram]\ntoken_env = \"123:ABC\"\n");
    let err = parse(&src).unwrap_err().to_string();
    assert!(err.contains("telegram.token_env"), "{err}");
    assert!(!format!("{:?}", Secret::new("123:ABC")).contains("ABC"));
}

#[test]
fn team_chats_are_ids_or_console_names_each_once() {
    let with = |chats: &str| {
        OK.replace(
            "console = [\"pm\"]",
            &format!("console = [\"pm\"]\nchats = {chats}"),
        )
    };
    let c = parse(&with("[-1001234567890, 123456789012345678, \"team-room\"]")).unwrap();
    let ids: Vec<String> = c.team.chats.iter().map(TeamChat::as_chat_id).collect();
    assert_eq!(ids, ["-1001234567890", "123456789012345678", "team-room"]);
    for (bad, says) in [
        ("[0]", "0 is not a chat id"),
        ("[5, 5]", "5 is listed twice"),
        ("[\"\"]", "empty name"),
    ] {
        let err = parse(&with(bad)).unwrap_err().to_string();
        assert!(
            err.contains("team.chats") && err.contains(says),
            "{bad}: {err}"
        );
        assert!(err.contains("line 4"), "{bad}: {err}");
    }
    let err = parse(&with("[1.5]")).unwrap_err().to_string();
    assert!(
        err.contains("Telegram chat id or Discord channel id"),
        "{err}"
    );
}

#[test]
fn privacy_defaults_to_a_key_file_and_names_bad_keys() {
    let c = parse(OK).unwrap();
    assert_eq!(
        (c.privacy.key_env, c.privacy.key_file.as_str()),
        (None, "canvass.key")
    );
    let err = parse(&format!("{OK}\n[privacy]\nkey_env = \"sk-secret-value\"\n"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("privacy.key_env") && err.contains("NAME"),
        "{err}"
    );
    let err = parse(&format!("{OK}\n[privacy]\nkey_file = \" \"\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("privacy.key_file"), "{err}");
    let err = parse(&format!("{OK}\n[privacy]\nsalt = \"x\"\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("salt"), "{err}");
}

#[test]
fn unknown_keys_in_option_tables_are_rejected_at_their_line() {
    let src = OK.replace(
        "label = \"Offline sync\"",
        "label = \"Offline sync\", colour = \"red\"",
    );
    let err = parse(&src).unwrap_err().to_string();
    assert!(err.contains("unknown key `colour`"), "{err}");
    assert!(
        err.contains(&format!("line {}", line_with(&src, "colour"))),
        "{err}"
    );
    let src = format!(
        "{OK}\n[persona]\nquestion = \"Role?\"\noptions = [{{ id = \"dev\", label = \"Dev\", emoji = \"x\" }}, \"PM\"]\n"
    );
    let err = parse(&src).unwrap_err().to_string();
    assert!(err.contains("unknown key `emoji`"), "{err}");
    assert!(
        err.contains(&format!("line {}", line_with(&src, "emoji"))),
        "{err}"
    );
    // An option table without a label is named too, not "did not match any variant".
    let err = parse(&OK.replace(", label = \"Offline sync\"", ""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs a `label`"), "{err}");
}

#[test]
fn persona_options_are_named_by_number_and_id_and_the_declined_id_is_reserved() {
    let persona = |options: &str| {
        format!("{OK}\n[persona]\nquestion = \"Role?\"\noptions = [\n  {options}\n]\n")
    };
    let src = persona("\"Dev\",\n  { id = \"prefer_not_to_say\", label = \"No\" }");
    let err = parse(&src).unwrap_err();
    assert_at(
        &err,
        line_with(&src, "prefer_not_to_say"),
        &["persona, option 2 (\"prefer_not_to_say\")", "reserved"],
    );
    let src = persona(&format!(
        "\"Dev\",\n  {{ id = \"pm\", label = \"{}\" }}",
        "L".repeat(200)
    ));
    let err = parse(&src).unwrap_err().to_string();
    assert!(err.contains("persona, option 2 (\"pm\"), label"), "{err}");
    assert!(!err.contains("options[1]"), "{err}");
}

#[test]
fn zero_and_repeated_platform_ids_and_an_empty_locale_are_refused_once() {
    for (section, list) in [
        ("[team]\nconsole = [\"pm\"]", "telegram"),
        ("[team]\nconsole = [\"pm\"]", "discord_users"),
        ("[team]\nconsole = [\"pm\"]", "discord_roles"),
        ("[discord]\ntoken_env = \"D\"", "guilds"),
    ] {
        let head = OK.replace("[team]\nconsole = [\"pm\"]", "");
        let src = format!("{section}\n{list} = [5, 0]\n{head}");
        let err = parse(&src).unwrap_err();
        let key = format!("{}.{list}", &section[1..section.find(']').unwrap()]);
        assert_at(
            &err,
            line_with(&src, &format!("{list} = ")),
            &[&key, "0 is not"],
        );
        let src = format!("{section}\n{list} = [5, 5]\n{head}");
        let err = parse(&src).unwrap_err();
        assert_at(
            &err,
            line_with(&src, &format!("{list} = ")),
            &[&key, "5 is listed twice"],
        );
    }
    let digest = |lists: &str| {
        format!(
            "{TWO}\n[telegram]\ntoken_env = \"T\"\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"UTC\"\n{lists}\n"
        )
    };
    let err = parse(&digest("telegram_chats = [5, 5]"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("digest.telegram_chats: 5 is listed twice"),
        "{err}"
    );
    // An unknown survey listed twice is one error, not two.
    let err = parse(&digest("telegram_chats = [5]\nsurveys = [\"x\", \"x\"]")).unwrap_err();
    assert!(err.to_string().contains("\"x\" is listed twice"), "{err}");
    let ok = parse(&digest("telegram_chats = [5]\nsurveys = [\"pulse\"]")).unwrap();
    assert!(ok.problems(true).is_empty(), "{:?}", ok.problems(true));
    // A digest with nowhere to go fails check (and is warned about at run).
    let nowhere = parse(&digest("")).unwrap().problems(true);
    assert_eq!(nowhere.len(), 1, "{nowhere:?}");
    assert!(
        nowhere[0].to_string().contains("posted nowhere"),
        "{}",
        nowhere[0]
    );

    let err = parse(&OK.replace("[team]", "[team]\nlocale = \"\"")).unwrap_err();
    assert!(err.to_string().contains("team.locale"), "{err}");
    assert_eq!(parse(OK).unwrap().team.locale, "en");
    assert_eq!(parse("").unwrap().team.locale, "en");
}

#[test]
fn api_urls_must_be_http_and_the_database_writable_in_an_existing_folder() {
    for section in ["telegram", "discord"] {
        for (url, says) in [
            ("not a url", "is not a URL"),
            ("ftp://x.org", "http or https"),
        ] {
            let src = format!("{OK}\n[{section}]\ntoken_env = \"T\"\napi_url = \"{url}\"\n");
            let err = parse(&src).unwrap_err();
            assert_at(
                &err,
                line_with(&src, "api_url"),
                &[&format!("{section}.api_url"), says],
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let at = |extra: &str| {
        Config::parse(&format!("{OK}{extra}"), &dir.path().join("bot.toml"))
            .unwrap()
            .problems(true)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert!(at("").is_empty(), "{:?}", at(""));
    let p = at("\n[storage]\ndatabase = \"nodir/u5.db\"\n");
    assert!(p.len() == 1 && p[0].contains("storage.database"), "{p:?}");
    let p = at("\n[storage]\ndatabase = \"sqlite://canvass.db?mode=ro\"\n");
    assert!(p.len() == 1 && p[0].contains("mode=ro"), "{p:?}");
    std::fs::create_dir(dir.path().join("kdir")).unwrap();
    std::fs::write(dir.path().join("short.key"), "abc").unwrap();
    std::fs::write(dir.path().join("good.key"), "k".repeat(64)).unwrap();
    for (file, says) in [
        ("nodir/k.key", "does not exist"),
        ("kdir", "it is a folder"),
        ("short.key", "is 3 bytes; it must be at least 32"),
    ] {
        let p = at(&format!("\n[privacy]\nkey_file = \"{file}\"\n"));
        assert!(
            p.len() == 1 && p[0].contains("privacy.key_file") && p[0].contains(says),
            "{file}: {p:?}"
        );
    }
    assert!(at("\n[privacy]\nkey_file = \"good.key\"\n").is_empty());
}

#[test]
fn a_config_folder_with_a_question_mark_gives_a_file_not_url_options() {
    let c = Config::parse(OK, Path::new("/srv/qu?mark #1/bot.toml")).unwrap();
    assert_eq!(
        c.database(),
        "sqlite:///srv/qu%3Fmark %231/canvass.db?mode=rwc"
    );
    let c = Config::parse(OK, Path::new("/srv/plain/bot.toml")).unwrap();
    assert_eq!(c.database(), "/srv/plain/canvass.db");
    let src = format!("{OK}\n[storage]\ndatabase = \"sqlite://x.db?cache=shared\"\n");
    let c = Config::parse(&src, Path::new("/srv/plain/bot.toml")).unwrap();
    assert_eq!(c.database(), "sqlite:///srv/plain/x.db?cache=shared");
}

#[test]
fn type_errors_name_survey_question_and_key_in_plain_words() {
    let q = |extra: &str, opts: &str| {
        format!(
            "[[surveys]]\nid = \"s1\"\ntitle = \"S\"\n[[surveys.questions]]\nid = \"q1\"\ntype = \"single\"\ntext = \"Which?\"\noptions = [{opts}]\n{extra}\n"
        )
    };
    let ab = "\"a\", \"b\"";
    let cases = [
        (
            q("max_chars = \"500\"", ab),
            "max_chars",
            "survey \"s1\", question \"q1\", max_chars: must be a whole number, not the text \"500\"",
        ),
        (
            q("", ab).replace("\"single\"", "\"NPS\""),
            "NPS",
            "survey \"s1\", question \"q1\", type: \"NPS\" is not one of single, multi",
        ),
        (
            q("", "{ id = \"a\", lable = \"A\" }, \"b\""),
            "lable",
            "survey \"s1\", question \"q1\", option 1: unknown key `lable`",
        ),
        (
            q("flavour = \"x\"", ab),
            "flavour",
            "survey \"s1\", question \"q1\", flavour: unknown key `flavour`",
        ),
    ];
    for (src, at, says) in cases {
        let err = parse(&src).unwrap_err();
        assert_at(&err, line_with(&src, at), &[says]);
        let text = err.to_string();
        assert!(
            !text.contains("expected usize")
                && !text.contains("unknown variant")
                && !text.contains("untagged"),
            "{text}"
        );
    }
    let err = parse("[team]\nconsole = \"pm\"\n").unwrap_err();
    assert_at(
        &err,
        2,
        &["team.console: must be a list in [ ], not the text \"pm\""],
    );
}

#[test]
fn every_wrong_survey_is_reported_not_only_the_first() {
    let src = TWO
        .replace("options = [\"A\", \"B\"]", "options = [\"A\"]")
        .replace("type = \"open_text\"", "type = \"rating\"\nscale = 6");
    let err = parse(&src).unwrap_err();
    let all = err.messages();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all[0].contains("survey \"first\", question \"q\", options"),
        "{all:?}"
    );
    assert!(
        all[1].contains("survey \"pulse\", question \"other\", scale"),
        "{all:?}"
    );
    assert!(err.to_string().contains(&all[1]), "{err}");
}
