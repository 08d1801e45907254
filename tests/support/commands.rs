//! The commands a text names, and whether its reader's platform registers them: for the
//! tests that check every member-facing text names only commands that exist where it is read.

use canvass::core::command::{CommandError, parse};
use canvass::core::event::Platform;
use canvass::platform::console::Frame;
use serde_json::Value;

/// Every `/command` in `text` with the word after it (a Discord subcommand, or an argument).
/// A `/` inside a word, a URL or a closing HTML tag is not a command.
pub(crate) fn named(text: &str) -> Vec<(String, Option<String>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if *c != '/' {
            continue;
        }
        let starts =
            i == 0 || chars[i - 1].is_whitespace() || "(\"„“«‚'¡¿*_`>".contains(chars[i - 1]);
        if !starts {
            continue;
        }
        let word: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .collect();
        if word.is_empty() || !word.starts_with(|c: char| c.is_ascii_lowercase()) {
            continue;
        }
        let after = i + 1 + word.chars().count();
        let next = (chars.get(after) == Some(&' '))
            .then(|| {
                chars[after + 1..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_' || **c == '-')
                    .collect::<String>()
            })
            .filter(|w| !w.is_empty());
        out.push((word, next));
    }
    out
}

/// What a reader can type: on Discord, the slash commands registered (as the adapter sends
/// them, or as the fake received them), under the names of the reader's Discord locale; on
/// Telegram, what the core's command parser knows; on the console, that or a console command.
pub(crate) struct Registered {
    discord: Vec<Value>,
    /// Shipped locales, to find the Discord locale codes of each.
    locales: Vec<String>,
}

impl Registered {
    pub(crate) fn new(discord: Vec<Value>, locales: &[String]) -> Self {
        Self {
            discord,
            locales: locales.to_vec(),
        }
    }

    /// From the adapter's own registration code.
    pub(crate) fn of(renderer: &canvass::render::Renderer) -> Self {
        let cmds = canvass::platform::discord::registered_commands(renderer);
        let discord = match serde_json::to_value(cmds) {
            Ok(Value::Array(a)) => a,
            other => panic!("commands serialise to an array: {other:?}"),
        };
        Self::new(discord, renderer.locales())
    }

    /// Why `/word next` is not a command a reader in `locale` on `platform` can type, if so.
    pub(crate) fn refuses(
        &self,
        platform: Platform,
        locale: &str,
        word: &str,
        next: Option<&str>,
    ) -> Option<String> {
        let text_command =
            || !matches!(parse(&format!("/{word} x")), Err(CommandError::Unknown(_)));
        match platform {
            Platform::Discord => self.refused_on_discord(locale, word, next),
            Platform::Console if text_command() || Frame::parse(&format!("/{word}")).is_some() => {
                None
            }
            Platform::Telegram if text_command() => None,
            _ => Some(format!("/{word} is no {} command", platform.as_str())),
        }
    }

    fn refused_on_discord(&self, locale: &str, word: &str, next: Option<&str>) -> Option<String> {
        let codes = canvass::locale::discord_codes(locale, &self.locales);
        let shown = |c: &Value| -> String {
            codes
                .iter()
                .find_map(|code| c["name_localizations"][*code].as_str())
                .or_else(|| c["name"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let names: Vec<String> = self.discord.iter().map(shown).collect();
        let Some(c) = self.discord.iter().find(|c| shown(c) == word) else {
            return Some(format!(
                "/{word} is not registered on Discord for {locale} (registered: {names:?})"
            ));
        };
        // A command with subcommands is typed with one of them.
        let subs: Vec<&str> = c["options"]
            .as_array()
            .map(|o| {
                o.iter()
                    .filter(|o| matches!(o["type"].as_u64(), Some(1 | 2)))
                    .filter_map(|o| o["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        if subs.is_empty() || next.is_some_and(|n| subs.contains(&n)) {
            None
        } else {
            Some(format!(
                "/{word} {} is not a subcommand on Discord (registered: {subs:?})",
                next.unwrap_or("")
            ))
        }
    }
}
