//! The Telegram command menu ("/" button), published per shipped locale at start.
//!
//! Members see the member commands in their Telegram language; chat administrators also see
//! the product-team commands. Descriptions come from `prompts/<locale>/telegram_commands.hbs`.

use crate::render::{Renderer, Target};
use serde_json::json;
use std::sync::Arc;
use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope};

/// Commands every member can use, in menu order.
const MEMBER: &[&str] = &[
    "surveys", "survey", "mydata", "forgetme", "cancel", "language", "help",
];
/// Commands for the product team, shown to chat administrators after the member ones.
const TEAM: &[&str] = &["poll", "post", "close", "insights", "export", "digest"];

/// Telegram's limit on a command description.
const MAX_DESCRIPTION: usize = 256;

/// The menu for `locale`: member commands, then with `team` the team's. A command whose
/// description is missing from the template is left out rather than shown blank.
pub(super) fn commands(renderer: &Renderer, locale: &str, team: bool) -> Vec<BotCommand> {
    let text =
        match renderer.render_in(Target::Plain, Some(locale), "telegram_commands", &json!({})) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, locale, "cannot render the Telegram command menu");
                return Vec::new();
            }
        };
    let described: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let wanted = MEMBER.iter().chain(if team { TEAM } else { &[] });
    wanted
        .filter_map(|name| {
            let (_, d) = described.iter().find(|(k, _)| k == name)?;
            (!d.is_empty()).then(|| {
                BotCommand::new(*name, d.chars().take(MAX_DESCRIPTION).collect::<String>())
            })
        })
        .collect()
}

/// Publishes the menu in every shipped locale. Failures are logged: the menu is a
/// convenience, and every command works typed without it.
pub(super) async fn publish(bot: Bot, renderer: Arc<Renderer>) {
    for locale in renderer.locales() {
        // Telegram keys menus by two-letter language; the default locale serves everyone else.
        let language = (locale != crate::locale::DEFAULT)
            .then(|| locale.split('-').next().unwrap_or(locale).to_string());
        for (scope, team) in [
            (BotCommandScope::Default, false),
            (BotCommandScope::AllChatAdministrators, true),
        ] {
            let cmds = commands(&renderer, locale, team);
            if cmds.is_empty() {
                continue;
            }
            let result = super::send::with_retry("setMyCommands", || {
                let mut req = bot.set_my_commands(cmds.clone()).scope(scope.clone());
                if let Some(l) = &language {
                    req = req.language_code(l.clone());
                }
                async move { req.send().await }
            })
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, locale, "cannot set the Telegram command menu");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer() -> Renderer {
        Renderer::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"))
            .expect("shipped prompts")
    }

    #[test]
    fn every_shipped_locale_describes_every_command() {
        let r = renderer();
        for l in r.locales() {
            let names: Vec<String> = commands(&r, l, true)
                .into_iter()
                .map(|c| c.command)
                .collect();
            let all: Vec<&str> = MEMBER.iter().chain(TEAM).copied().collect();
            assert_eq!(names, all, "{l}");
            assert_eq!(commands(&r, l, false).len(), MEMBER.len(), "{l}");
        }
    }

    #[test]
    fn menus_speak_their_locale() {
        let r = renderer();
        let help = |l: &str| {
            commands(&r, l, false)
                .into_iter()
                .find(|c| c.command == "help")
                .map(|c| c.description)
        };
        assert_eq!(help("en").as_deref(), Some("What canvass can do"));
        assert_eq!(help("de").as_deref(), Some("Was canvass kann"));
        assert_eq!(help("es").as_deref(), Some("Qué puede hacer canvass"));
    }
}
