//! Discord slash commands: their registration, and their translation into the same text
//! commands every platform shares, so the core parses one syntax.

use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandOptionType, CreateCommand,
    CreateCommandOption,
};

use std::collections::BTreeMap;

/// One locale's command texts for the Discord locale codes it serves.
pub(super) struct Localised {
    pub discord_codes: Vec<&'static str>,
    pub texts: BTreeMap<String, String>,
}

/// Command and option texts: the default, and per Discord locale code.
struct Texts<'a> {
    default: &'a BTreeMap<String, String>,
    locales: &'a [Localised],
}

impl Texts<'_> {
    fn get(&self, k: &str) -> String {
        self.default
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.replace('_', " "))
    }

    /// `(discord code, text)` for every locale that translates `k`.
    fn localised(&self, k: &str) -> Vec<(&'static str, String)> {
        self.locales
            .iter()
            .filter_map(|l| l.texts.get(k).map(|t| (l, t)))
            .flat_map(|(l, t)| l.discord_codes.iter().map(move |c| (*c, t.clone())))
            .collect()
    }

    fn command(&self, name: &str) -> CreateCommand {
        let mut c = CreateCommand::new(name).description(self.get(name));
        for (code, d) in self.localised(name) {
            c = c.description_localized(code, d);
        }
        for (code, n) in self.localised(&format!("name_{name}")) {
            c = c.name_localized(code, n);
        }
        c
    }

    fn option(&self, kind: CommandOptionType, name: &str, key: &str) -> CreateCommandOption {
        let mut o = CreateCommandOption::new(kind, name, self.get(key));
        for (code, d) in self.localised(key) {
            o = o.description_localized(code, d);
        }
        o
    }
}

/// Descriptions come from `prompts/discord_commands.hbs` (lines `name = description`), and
/// per locale from `prompts/<locale>/discord_commands.hbs`, whose `name_<command>` lines give
/// localised command names. Interactions always carry the default names, so parsing is
/// unaffected.
pub(super) fn definitions(
    descriptions: &BTreeMap<String, String>,
    locales: &[Localised],
) -> Vec<CreateCommand> {
    let t = Texts {
        default: descriptions,
        locales,
    };
    let survey_opt = |required: bool| {
        t.option(CommandOptionType::String, "survey", "opt_survey")
            .required(required)
    };
    vec![
        t.command("poll")
            .add_option(
                t.option(CommandOptionType::String, "question", "opt_question")
                    .required(true)
                    .max_length(300),
            )
            .add_option(
                t.option(CommandOptionType::String, "options", "opt_options")
                    .required(true),
            )
            .add_option(
                t.option(CommandOptionType::Integer, "max", "opt_max")
                    .min_int_value(1)
                    .max_int_value(25),
            )
            .add_option(t.option(CommandOptionType::Boolean, "anonymous", "opt_anonymous"))
            .add_option(
                ["after_close", "live", "after_vote", "team_only"]
                    .into_iter()
                    .fold(
                        t.option(CommandOptionType::String, "results", "opt_results"),
                        |o, v| o.add_string_choice(v, v),
                    ),
            )
            .add_option(
                t.option(CommandOptionType::String, "closes", "opt_closes")
                    .max_length(40),
            ),
        t.command("survey")
            .add_option(
                t.option(CommandOptionType::SubCommand, "post", "survey_post")
                    .add_sub_option(survey_opt(true)),
            )
            .add_option(
                t.option(CommandOptionType::SubCommand, "close", "survey_close")
                    .add_sub_option(survey_opt(true)),
            )
            .add_option(t.option(CommandOptionType::SubCommand, "list", "survey_list"))
            .add_option(
                t.option(CommandOptionType::SubCommand, "take", "survey_take")
                    .add_sub_option(survey_opt(true)),
            )
            .add_option(
                t.option(CommandOptionType::SubCommand, "show", "survey_show")
                    .add_sub_option(survey_opt(true)),
            ),
        t.command("insights")
            .add_option(survey_opt(true))
            .add_option(t.option(CommandOptionType::String, "segment", "opt_segment")),
        t.command("export").add_option(survey_opt(true)),
        t.command("digest"),
        t.command("mydata"),
        t.command("forgetme"),
        t.command("language").add_option(t.option(
            CommandOptionType::String,
            "code",
            "opt_language",
        )),
        t.command("help"),
        t.command("cancel"),
    ]
}

fn string(opts: &[CommandDataOption], name: &str) -> Option<String> {
    opts.iter()
        .find(|o| o.name == name)
        .and_then(|o| match &o.value {
            CommandDataOptionValue::String(s) => Some(s.trim().to_string()),
            _ => None,
        })
}

/// `/poll` in the shared text form: the question field escaped so a `|` or `--` in it (a
/// `||spoiler||`) stays in the question, the options split on `|`, the flags after them.
fn poll_text(opts: &[CommandDataOption]) -> String {
    use crate::core::command::escape_poll_text;
    let arg = |n: &str| string(opts, n).unwrap_or_default();
    let mut text = format!(
        "/poll {} | {}",
        escape_poll_text(&arg("question"), false),
        escape_poll_text(&arg("options"), true)
    );
    for o in opts {
        match (o.name.as_str(), &o.value) {
            ("max", CommandDataOptionValue::Integer(n)) => text.push_str(&format!(" --max {n}")),
            ("anonymous", CommandDataOptionValue::Boolean(true)) => text.push_str(" --anonymous"),
            ("results", CommandDataOptionValue::String(r)) => {
                text.push_str(&format!(" --results {}", escape_poll_text(r.trim(), false)))
            }
            ("closes", CommandDataOptionValue::String(c)) => {
                text.push_str(&format!(" --closes {}", escape_poll_text(c.trim(), false)))
            }
            _ => {}
        }
    }
    text
}

/// The shared text form of a slash command, e.g. `/survey post survey:lunch` -> `/post lunch`.
/// Unknown commands become `/<name>` so the core answers with its usual "unknown command".
pub(super) fn to_text(name: &str, opts: &[CommandDataOption]) -> String {
    let arg = |n: &str| string(opts, n).unwrap_or_default();
    match name {
        "poll" => poll_text(opts),
        "insights" => format!("/insights {} {}", arg("survey"), arg("segment"))
            .trim_end()
            .to_string(),
        "export" => format!("/export {}", arg("survey")),
        "language" => format!("/language {}", arg("code")).trim_end().to_string(),
        "survey" => {
            let Some(sub) = opts.first() else {
                return "/surveys".into();
            };
            let inner = match &sub.value {
                CommandDataOptionValue::SubCommand(o) => o.as_slice(),
                _ => &[],
            };
            let survey = string(inner, "survey").unwrap_or_default();
            match sub.name.as_str() {
                "post" => format!("/post {survey}"),
                "close" => format!("/close {survey}"),
                "take" => format!("/start {survey}"),
                "show" => format!("/survey {survey}"),
                _ => "/surveys".into(),
            }
        }
        other => format!("/{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::DISCORD_FORMS;
    use serde_json::json;

    /// The renderer names core commands on Discord by `DISCORD_FORMS`; each form must be
    /// registered and come back as that core command.
    #[test]
    fn each_discord_form_is_its_core_command() {
        let registered =
            serde_json::to_value(definitions(&BTreeMap::new(), &[])).expect("serialises");
        for (core, top, sub) in DISCORD_FORMS {
            let command = registered
                .as_array()
                .and_then(|a| a.iter().find(|c| c["name"] == top))
                .unwrap_or_else(|| panic!("/{top} is not registered"));
            let options = match sub {
                Some(sub) => {
                    let subs = command["options"].as_array().cloned().unwrap_or_default();
                    assert!(subs.iter().any(|o| o["name"] == sub), "/{top} {sub}");
                    json!([{ "name": sub, "type": 1,
                             "options": [{ "name": "survey", "type": 3, "value": "lunch" }] }])
                }
                None => json!([]),
            };
            let options: Vec<CommandDataOption> =
                serde_json::from_value(options).expect("options parse");
            let text = to_text(top, &options);
            assert_eq!(
                text.split_whitespace().next(),
                Some(format!("/{core}").as_str()),
                "{text}"
            );
        }
    }
}
