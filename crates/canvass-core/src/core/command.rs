//! Chat commands, parsed the same way for every platform.

use super::answer::is_blank;
use super::ids::SurveyId;
use super::survey::{MAX_LABEL_CHARS, MAX_OPTIONS, MAX_QUESTION_CHARS};

/// A parsed command. Arguments are validated here so handlers get clean values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start(Option<SurveyId>),
    Help,
    MyData,
    ForgetMe,
    Surveys,
    Show(SurveyId),
    Poll {
        question: String,
        options: Vec<String>,
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

/// Why a command could not be parsed; `usage` names the template-side usage line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command /{0}")]
    Unknown(String),
    #[error("/{command}: {problem}")]
    Usage {
        command: &'static str,
        problem: String,
    },
}

fn usage(command: &'static str, problem: impl Into<String>) -> CommandError {
    CommandError::Usage {
        command,
        problem: problem.into(),
    }
}

fn survey_arg(command: &'static str, arg: Option<&str>) -> Result<SurveyId, CommandError> {
    let raw = arg.ok_or_else(|| usage(command, "which survey? Give its id, e.g. next-feature"))?;
    SurveyId::parse(&raw.to_lowercase()).map_err(|e| {
        // Echo a bounded prefix, as `/language` does: a 100 KB argument must not come back whole.
        let mut shown: String = raw.chars().take(32).collect();
        if raw.chars().nth(32).is_some() {
            shown.push('…');
        }
        usage(command, format!("\"{shown}\" is not a survey id: {e}"))
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

/// `/poll Question? | option | option ...`
fn parse_poll(args: &str) -> Result<Command, CommandError> {
    let parts: Vec<&str> = args.split('|').map(str::trim).collect();
    let question = parts.first().copied().unwrap_or("");
    if is_blank(question) {
        return Err(usage(
            "poll",
            "write the question, then options separated by |",
        ));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(usage(
            "poll",
            format!("the question is longer than {MAX_QUESTION_CHARS} characters"),
        ));
    }
    let options: Vec<String> = parts[1..]
        .iter()
        .filter(|s| !is_blank(s))
        .map(|s| s.to_string())
        .collect();
    if options.len() < 2 {
        return Err(usage("poll", "give at least two options separated by |"));
    }
    if options.len() > MAX_OPTIONS {
        return Err(usage(
            "poll",
            format!("at most {MAX_OPTIONS} options (found {})", options.len()),
        ));
    }
    if let Some(o) = options.iter().find(|o| o.chars().count() > MAX_LABEL_CHARS) {
        let short: String = o.chars().take(20).collect();
        return Err(usage(
            "poll",
            format!("option \"{short}…\" is longer than {MAX_LABEL_CHARS} characters"),
        ));
    }
    Ok(Command::Poll {
        question: question.to_string(),
        options,
    })
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
                options: vec!["Pizza".into(), "Sushi".into()]
            }))
        );
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
