//! Chat commands, parsed the same way for every platform.

use super::answer::is_blank;
use super::ids::SurveyId;
use super::survey::{MAX_LABEL_CHARS, MAX_OPTIONS, MAX_QUESTION_CHARS, ResultsVisibility};
use super::usage::Problem;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// A parsed command. Arguments are validated here so handlers get clean values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start(Option<SurveyId>),
    Help,
    MyData,
    ForgetMe,
    Surveys,
    Show(SurveyId),
    /// `/poll Question? | option | option [--max N] [--anonymous] [--results MODE]
    /// [--closes in 2d | --closes until 2026-12-24 18:00]`.
    Poll {
        question: String,
        options: Vec<String>,
        /// How many options a member may pick (more than one makes it multi-choice).
        max: Option<usize>,
        anonymous: bool,
        results: Option<ResultsVisibility>,
        closes: Option<Deadline>,
    },
    Post(SurveyId),
    Close(SurveyId),
    Insights {
        survey: SurveyId,
        segment: Option<String>,
    },
    Export(SurveyId),
    Digest,
    Cancel,
    /// `/language` lists the locales; `/language de` chooses one, `/language auto` goes back
    /// to the platform's.
    Language(Option<String>),
}

/// Names of the commands only the product team may run (`Command::needs_team`).
pub const TEAM_COMMANDS: [&str; 6] = ["poll", "post", "close", "insights", "export", "digest"];

impl Command {
    /// Commands only the product team may run.
    pub fn needs_team(&self) -> bool {
        matches!(
            self,
            Command::Poll { .. }
                | Command::Post(_)
                | Command::Close(_)
                | Command::Insights { .. }
                | Command::Export(_)
                | Command::Digest
        )
    }
    pub fn name(&self) -> &'static str {
        match self {
            Command::Start(_) => "start",
            Command::Help => "help",
            Command::MyData => "mydata",
            Command::ForgetMe => "forgetme",
            Command::Surveys => "surveys",
            Command::Show(_) => "survey",
            Command::Poll { .. } => "poll",
            Command::Post(_) => "post",
            Command::Close(_) => "close",
            Command::Insights { .. } => "insights",
            Command::Export(_) => "export",
            Command::Digest => "digest",
            Command::Cancel => "cancel",
            Command::Language(_) => "language",
        }
    }
}

/// When a `/poll` closes: after a while, or at a date and time in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    In(Duration),
    At(DateTime<Utc>),
}

impl Deadline {
    /// The moment this deadline names, seen at `now`.
    pub fn resolve(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Deadline::In(d) => now + d,
            Deadline::At(t) => t,
        }
    }
}

/// The longest `/poll` argument text read: a question, 25 options and the flags fit well.
pub const MAX_POLL_CHARS: usize = 4000;
/// The longest `--closes in` a poll may run.
pub const MAX_POLL_DAYS: i64 = 365;
/// Longest segment name `/insights` takes: room for a 128-character Telegram chat title or a
/// Discord role name after its `chat: ` or `role: ` prefix. A longer argument names no segment
/// and would only be echoed back across several messages.
pub const MAX_SEGMENT_CHARS: usize = 200;

/// Why a command could not be parsed; `usage` names the template-side usage line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command /{0}")]
    Unknown(String),
    #[error("/{command}: {problem}")]
    Usage {
        command: &'static str,
        problem: Problem,
    },
}

fn usage(command: &'static str, problem: Problem) -> CommandError {
    CommandError::Usage { command, problem }
}

fn survey_arg(command: &'static str, arg: Option<&str>) -> Result<SurveyId, CommandError> {
    let raw = arg.ok_or_else(|| usage(command, Problem::WhichSurvey))?;
    SurveyId::parse(&raw.to_lowercase()).map_err(|e| {
        // Echo a bounded prefix, as `/language` does: a 100 KB argument must not come back whole.
        let mut shown: String = raw.chars().take(32).collect();
        if raw.chars().nth(32).is_some() {
            shown.push('…');
        }
        usage(command, Problem::BadSurveyId { shown, reason: e })
    })
}

/// Parses `/name args`. Returns `Ok(None)` for text that is not a command.
/// A `@botname` suffix (Telegram groups) is ignored.
pub fn parse(text: &str) -> Result<Option<Command>, CommandError> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('/') else {
        return Ok(None);
    };
    let (head, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let name = head.split('@').next().unwrap_or("").to_lowercase();
    let mut words = args.split_whitespace();
    let cmd = match name.as_str() {
        "start" => Command::Start(match words.next() {
            Some(w) => Some(survey_arg("start", Some(w))?),
            None => None,
        }),
        "help" => Command::Help,
        "mydata" => Command::MyData,
        "forgetme" => Command::ForgetMe,
        "surveys" => Command::Surveys,
        "survey" => Command::Show(survey_arg("survey", words.next())?),
        "post" => Command::Post(survey_arg("post", words.next())?),
        "close" => Command::Close(survey_arg("close", words.next())?),
        "export" => Command::Export(survey_arg("export", words.next())?),
        "insights" => {
            let survey = survey_arg("insights", words.next())?;
            let segment = words.collect::<Vec<_>>().join(" ");
            if segment.chars().count() > MAX_SEGMENT_CHARS {
                return Err(usage(
                    "insights",
                    Problem::SegmentTooLong {
                        shown: segment.chars().take(32).collect(),
                        max: MAX_SEGMENT_CHARS,
                    },
                ));
            }
            Command::Insights {
                survey,
                segment: (!segment.is_empty()).then_some(segment),
            }
        }
        "digest" => Command::Digest,
        "cancel" => Command::Cancel,
        "language" => Command::Language(words.next().map(|w| w.chars().take(16).collect())),
        "poll" => parse_poll(args)?,
        "" => return Err(CommandError::Unknown(String::new())),
        other => {
            let shown: String = other.chars().take(32).collect();
            return Err(CommandError::Unknown(shown));
        }
    };
    Ok(Some(cmd))
}

/// The text as characters, each marked when a `\` escaped it. Only `\|`, `\-` and `\\`
/// are escapes (Discord escapes its question field so a `|` or `--` in it stays text); any
/// other backslash is kept as written.
fn marked(text: &str) -> Vec<(char, bool)> {
    let mut out = Vec::new();
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match (c, it.peek()) {
            ('\\', Some(&n)) if matches!(n, '|' | '-' | '\\') => {
                out.push((n, true));
                it.next();
            }
            _ => out.push((c, false)),
        }
    }
    out
}

fn plain(chars: &[(char, bool)]) -> String {
    chars
        .iter()
        .map(|(c, _)| c)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Where the flags begin in the last segment: the first unescaped `--` at the start of a word
/// followed by a letter.
fn flags_start(seg: &[(char, bool)]) -> Option<usize> {
    (0..seg.len()).find(|&i| {
        seg[i] == ('-', false)
            && seg.get(i + 1) == Some(&('-', false))
            && seg.get(i + 2).is_some_and(|(c, _)| c.is_alphabetic())
            && (i == 0 || seg[i - 1].0.is_whitespace())
    })
}

/// A bounded echo of what a member wrote.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(32).collect();
    if s.chars().nth(32).is_some() {
        out.push('…');
    }
    out
}

/// `2d`, `36h`, `90m`, `1w` (optionally after `in`).
fn parse_duration(words: &[String]) -> Result<Duration, CommandError> {
    let w: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !w.eq_ignore_ascii_case("in"))
        .collect();
    let bad = || {
        usage(
            "poll",
            Problem::BadDeadline {
                shown: shown(&words.join(" ")),
            },
        )
    };
    let [one] = w.as_slice() else {
        return Err(bad());
    };
    let split = one.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = one.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let minutes = match unit.to_ascii_lowercase().as_str() {
        "m" | "min" | "mins" | "minutes" | "minute" => Some(n),
        "h" | "hour" | "hours" => n.checked_mul(60),
        "d" | "day" | "days" => n.checked_mul(60 * 24),
        "w" | "week" | "weeks" => n.checked_mul(60 * 24 * 7),
        _ => None,
    }
    .ok_or_else(bad)?;
    if !(1..=MAX_POLL_DAYS * 24 * 60).contains(&minutes) {
        return Err(usage(
            "poll",
            Problem::PollDuration {
                max_days: MAX_POLL_DAYS,
            },
        ));
    }
    Ok(Duration::minutes(minutes))
}

/// `until 2026-12-24 18:00` (UTC; a trailing `UTC` is allowed).
fn parse_until(words: &[String]) -> Result<DateTime<Utc>, CommandError> {
    let rest: Vec<&str> = words[1..]
        .iter()
        .map(String::as_str)
        .filter(|w| !w.eq_ignore_ascii_case("utc"))
        .collect();
    let text = rest.join(" ");
    ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&text, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            usage(
                "poll",
                Problem::BadDate {
                    shown: shown(&text),
                },
            )
        })
}

/// `/poll Question? | option | option ... [flags]`. A `|` separates the question and the
/// options; flags follow the last option.
fn parse_poll(args: &str) -> Result<Command, CommandError> {
    if args.chars().count() > MAX_POLL_CHARS {
        return Err(usage(
            "poll",
            Problem::PollTooLong {
                max: MAX_POLL_CHARS,
            },
        ));
    }
    let chars = marked(args);
    let mut segments: Vec<&[(char, bool)]> = chars.split(|c| *c == ('|', false)).collect();
    let mut flag_chars: &[(char, bool)] = &[];
    if segments.len() > 1 {
        if let Some(last) = segments.last_mut() {
            if let Some(i) = flags_start(last) {
                flag_chars = &last[i..];
                *last = &last[..i];
            }
        }
    }
    let question = segments.first().map(|s| plain(s)).unwrap_or_default();
    if is_blank(&question) {
        return Err(usage("poll", Problem::NoQuestion));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(usage(
            "poll",
            Problem::QuestionTooLong {
                max: MAX_QUESTION_CHARS,
            },
        ));
    }
    let options: Vec<String> = segments[1..]
        .iter()
        .map(|s| plain(s))
        .filter(|s| !is_blank(s))
        .collect();
    if options.len() < 2 {
        return Err(usage("poll", Problem::TooFewOptions));
    }
    if options.len() > MAX_OPTIONS {
        return Err(usage(
            "poll",
            Problem::TooManyOptions {
                max: MAX_OPTIONS,
                found: options.len(),
            },
        ));
    }
    if let Some(o) = options.iter().find(|o| o.chars().count() > MAX_LABEL_CHARS) {
        let short: String = o.chars().take(20).collect();
        return Err(usage(
            "poll",
            Problem::OptionTooLong {
                start: short,
                max: MAX_LABEL_CHARS,
            },
        ));
    }
    // Two options members cannot tell apart would split one opinion in two.
    for (i, o) in options.iter().enumerate() {
        if options[..i]
            .iter()
            .any(|p| p.to_lowercase() == o.to_lowercase())
        {
            return Err(usage("poll", Problem::OptionTwice { shown: shown(o) }));
        }
    }
    // Flags: words split on unescaped whitespace; a flag word starts with an unescaped `--`.
    let mut words: Vec<(String, bool)> = Vec::new();
    for w in flag_chars.split(|(c, esc)| c.is_whitespace() && !esc) {
        if w.is_empty() {
            continue;
        }
        let flag = w.len() > 2 && w[0] == ('-', false) && w[1] == ('-', false);
        let text: String = w
            .iter()
            .skip(if flag { 2 } else { 0 })
            .map(|(c, _)| c)
            .collect();
        words.push((text, flag));
    }
    let (mut max, mut anonymous, mut results, mut closes) = (None, false, None, None);
    let mut seen: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (name, _) = &words[i];
        let name = name.to_ascii_lowercase();
        let mut j = i + 1;
        while j < words.len() && !words[j].1 {
            j += 1;
        }
        let values: Vec<String> = words[i + 1..j].iter().map(|(w, _)| w.clone()).collect();
        if seen.contains(&name) {
            return Err(usage("poll", Problem::FlagTwice { flag: shown(&name) }));
        }
        seen.push(name.clone());
        let one_value = |problem: Problem| -> Result<String, CommandError> {
            match values.as_slice() {
                [v] => Ok(v.clone()),
                _ => Err(usage("poll", problem)),
            }
        };
        match name.as_str() {
            "max" => {
                let v = one_value(Problem::MaxOneValue)?;
                let n = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=options.len()).contains(n))
                    .ok_or_else(|| usage("poll", Problem::MaxRange { max: options.len() }))?;
                max = Some(n);
            }
            "anonymous" => {
                if !values.is_empty() {
                    return Err(usage("poll", Problem::AnonymousNoValue));
                }
                anonymous = true;
            }
            "results" => {
                let v = one_value(Problem::ResultsOneValue)?;
                results = Some(
                    ResultsVisibility::parse(&v)
                        .ok_or_else(|| usage("poll", Problem::BadResults { shown: shown(&v) }))?,
                );
            }
            "closes" => {
                closes = Some(match values.first() {
                    Some(w) if w.eq_ignore_ascii_case("until") => {
                        Deadline::At(parse_until(&values)?)
                    }
                    _ => Deadline::In(parse_duration(&values)?),
                });
            }
            other => {
                return Err(usage(
                    "poll",
                    Problem::UnknownFlag {
                        shown: shown(other),
                    },
                ));
            }
        }
        i = j;
    }
    Ok(Command::Poll {
        question,
        options,
        max,
        anonymous,
        results,
        closes,
    })
}

/// `text` escaped so `parse_poll` reads it as one piece of text: no `|` splits it and no
/// `--` starts a flag in it (Discord's separate question field).
pub fn escape_poll_text(text: &str, keep_bars: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' || c == '-' || (c == '|' && !keep_bars) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn survey_arguments_are_echoed_capped() {
        for cmd in ["start", "survey", "post"] {
            let long = format!("/{cmd} {}", "X".repeat(100_000));
            let e = parse(&long)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("is not a survey id"), "{e}");
            assert!(
                e.chars().count() < 300,
                "{cmd}: {} chars",
                e.chars().count()
            );
        }
    }

    /// `/insights ID SEGMENT`: a segment argument of any length came back whole (8,000
    /// characters in five messages); now it is refused past the cap, echoed as a short prefix.
    #[test]
    fn an_insights_segment_is_capped_and_echoed_short() {
        let long = format!("/insights next-feature {}", "EU ".repeat(2_700));
        let e = parse(&long)
            .err()
            .unwrap_or(CommandError::Unknown(String::new()));
        let CommandError::Usage {
            command: "insights",
            problem: Problem::SegmentTooLong { shown, max },
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!((shown.chars().count(), *max), (32, MAX_SEGMENT_CHARS));
        assert!(e.to_string().chars().count() < 120, "{e}");
        let longest = format!("/insights next-feature {}", "x".repeat(MAX_SEGMENT_CHARS));
        assert!(matches!(
            parse(&longest),
            Ok(Some(Command::Insights { segment: Some(s), .. })) if s.len() == MAX_SEGMENT_CHARS
        ));
    }

    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(parse("hello"), Ok(None));
        assert_eq!(parse("/help"), Ok(Some(Command::Help)));
        assert_eq!(parse("/HELP@canvass_bot"), Ok(Some(Command::Help)));
        assert_eq!(
            parse("/insights next-feature EU customers"),
            Ok(Some(Command::Insights {
                survey: SurveyId::parse("next-feature").unwrap(),
                segment: Some("EU customers".into())
            }))
        );
        assert_eq!(
            parse("/poll Lunch? | Pizza | Sushi |"),
            Ok(Some(Command::Poll {
                question: "Lunch?".into(),
                options: vec!["Pizza".into(), "Sushi".into()],
                max: None,
                anonymous: false,
                results: None,
                closes: None,
            }))
        );
    }

    fn poll(text: &str) -> Result<Command, String> {
        match parse(text) {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err("not a command".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn poll_flags_are_read_after_the_options() {
        let c = poll(
            "/poll Lunch? | Pizza | Sushi | Salad --max 2 --anonymous --results after-vote --closes in 2d",
        );
        assert_eq!(
            c,
            Ok(Command::Poll {
                question: "Lunch?".into(),
                options: vec!["Pizza".into(), "Sushi".into(), "Salad".into()],
                max: Some(2),
                anonymous: true,
                results: Some(ResultsVisibility::AfterVote),
                closes: Some(Deadline::In(Duration::days(2))),
            })
        );
        let c = poll("/poll Q | a | b --closes until 2026-12-24 18:00 UTC --results team_only");
        let Ok(Command::Poll {
            closes, results, ..
        }) = c
        else {
            panic!("{c:?}");
        };
        assert_eq!(results, Some(ResultsVisibility::TeamOnly));
        assert_eq!(
            closes.map(|d| d.resolve(DateTime::<Utc>::MIN_UTC).to_rfc3339()),
            Some("2026-12-24T18:00:00+00:00".into())
        );
        for (flag, minutes) in [("90m", 90), ("36h", 36 * 60), ("1w", 7 * 24 * 60)] {
            let c = poll(&format!("/poll Q | a | b --closes {flag}"));
            assert!(
                matches!(c, Ok(Command::Poll { closes: Some(Deadline::In(d)), .. }) if d == Duration::minutes(minutes)),
                "{flag}: {c:?}"
            );
        }
        // A flag as its own segment works too; `--` inside the question is text.
        let c = poll("/poll What about --verbose? | a | b | --max 1");
        assert!(
            matches!(&c, Ok(Command::Poll { question, options, max: Some(1), .. })
                if question == "What about --verbose?" && options.len() == 2),
            "{c:?}"
        );
    }

    #[test]
    fn escaped_bars_and_dashes_stay_in_the_question() {
        let q = escape_poll_text("Dark|Light theme? ||spoiler|| --max 9", false);
        let opts = escape_poll_text("Dark | Light --x", true);
        let c = poll(&format!("/poll {q} | {opts} --max 2"));
        assert_eq!(
            c,
            Ok(Command::Poll {
                question: "Dark|Light theme? ||spoiler|| --max 9".into(),
                options: vec!["Dark".into(), "Light --x".into()],
                max: Some(2),
                anonymous: false,
                results: None,
                closes: None,
            })
        );
        // A lone backslash is kept as written.
        let c = poll(r"/poll C:\dir\x? | a | b");
        assert!(
            matches!(&c, Ok(Command::Poll { question, .. }) if question == r"C:\dir\x?"),
            "{c:?}"
        );
    }

    #[test]
    fn bad_poll_flags_are_explained() {
        let cases = [
            (
                "/poll Q | a | b --max 3",
                "--max must be a number from 1 to 2",
            ),
            ("/poll Q | a | b --max 0", "--max must be a number"),
            ("/poll Q | a | b --max two", "--max must be a number"),
            ("/poll Q | a | b --max", "--max takes one value"),
            (
                "/poll Q | a | b --results secret",
                "is not one of after_close",
            ),
            ("/poll Q | a | b --closes soon", "is not a deadline"),
            ("/poll Q | a | b --closes in 0m", "at least a minute"),
            ("/poll Q | a | b --closes in 9999d", "at most 365 days"),
            (
                "/poll Q | a | b --closes until tomorrow",
                "is not a date and time",
            ),
            ("/poll Q | a | b --anonymous yes", "takes no value"),
            ("/poll Q | a | b --anonymous --anonymous", "is given twice"),
            ("/poll Q | a | b --colour red", "unknown flag --colour"),
            (
                "/poll Q | Pizza | pizza ",
                "option \"pizza\" is given twice",
            ),
            ("/poll Q | Ünì | üNÌ", "is given twice"),
        ];
        for (text, want) in cases {
            let e = poll(text).err().unwrap_or_default();
            assert!(e.contains(want), "{text}: {e}");
        }
        let long = format!("/poll Q | a | b --closes {}", "x".repeat(100_000));
        let e = poll(&long).err().unwrap_or_default();
        assert!(e.contains("longer than 4000"), "{e}");
        let long = format!("/poll Q | a | b --{}", "x".repeat(3_000));
        let e = poll(&long).err().unwrap_or_default();
        assert!(e.contains("unknown flag") && e.chars().count() < 400, "{e}");
    }

    #[test]
    fn explains_mistakes() {
        assert!(matches!(parse("/frobnicate"), Err(CommandError::Unknown(n)) if n == "frobnicate"));
        assert!(matches!(
            parse("/post"),
            Err(CommandError::Usage {
                command: "post",
                ..
            })
        ));
        assert!(matches!(
            parse("/post ../etc"),
            Err(CommandError::Usage {
                command: "post",
                ..
            })
        ));
        assert!(matches!(
            parse("/poll Only one | a"),
            Err(CommandError::Usage {
                command: "poll",
                ..
            })
        ));
        assert!(
            parse("/poll \u{200B} | a | b").is_err(),
            "an invisible question"
        );
        assert!(
            parse("/poll Q | \u{200B} | \u{FEFF} | a").is_err(),
            "invisible options do not count"
        );
        let long = format!("/poll Q | {} | b", "x".repeat(81));
        assert!(matches!(parse(&long), Err(CommandError::Usage { .. })));
    }
}
