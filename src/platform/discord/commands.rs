//! Discord slash commands: their registration, and their translation into the same text
//! commands every platform shares, so the core parses one syntax.

use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandOptionType, CreateCommand,
    CreateCommandOption,
};

/// Descriptions come from `prompts/discord_commands.hbs` (lines `name = description`).
pub fn definitions(
    descriptions: &std::collections::BTreeMap<String, String>,
) -> Vec<CreateCommand> {
    let d = |k: &str| {
        descriptions
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.replace('_', " "))
    };
    let survey_opt = |required: bool| {
        CreateCommandOption::new(CommandOptionType::String, "survey", d("opt_survey"))
            .required(required)
    };
    vec![
        CreateCommand::new("poll")
            .description(d("poll"))
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "question", d("opt_question"))
                    .required(true)
                    .max_length(300),
            )
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "options", d("opt_options"))
                    .required(true),
            ),
        CreateCommand::new("survey")
            .description(d("survey"))
            .add_option(
                CreateCommandOption::new(CommandOptionType::SubCommand, "post", d("survey_post"))
                    .add_sub_option(survey_opt(true)),
            )
            .add_option(
                CreateCommandOption::new(CommandOptionType::SubCommand, "close", d("survey_close"))
                    .add_sub_option(survey_opt(true)),
            )
            .add_option(CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "list",
                d("survey_list"),
            ))
            .add_option(
                CreateCommandOption::new(CommandOptionType::SubCommand, "take", d("survey_take"))
                    .add_sub_option(survey_opt(true)),
            ),
        CreateCommand::new("insights")
            .description(d("insights"))
            .add_option(survey_opt(true))
            .add_option(CreateCommandOption::new(
                CommandOptionType::String,
                "segment",
                d("opt_segment"),
            )),
        CreateCommand::new("export")
            .description(d("export"))
            .add_option(survey_opt(true)),
        CreateCommand::new("digest").description(d("digest")),
        CreateCommand::new("mydata").description(d("mydata")),
        CreateCommand::new("forgetme").description(d("forgetme")),
        CreateCommand::new("help").description(d("help")),
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

/// The shared text form of a slash command, e.g. `/survey post survey:lunch` -> `/post lunch`.
/// Unknown commands become `/<name>` so the core answers with its usual "unknown command".
pub fn to_text(name: &str, opts: &[CommandDataOption]) -> String {
    let arg = |n: &str| string(opts, n).unwrap_or_default();
    match name {
        "poll" => format!("/poll {} | {}", arg("question"), arg("options")),
        "insights" => format!("/insights {} {}", arg("survey"), arg("segment"))
            .trim_end()
            .to_string(),
        "export" => format!("/export {}", arg("survey")),
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
                _ => "/surveys".into(),
            }
        }
        other => format!("/{other}"),
    }
}
