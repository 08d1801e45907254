//! The renderer: handlebars templates from `prompts/`, escaped for each target (plain
//! console text, Telegram HTML, Discord Markdown), and split to platform length limits.

pub mod chart;
mod checks;
mod escape;
mod helpers;
mod load;
pub mod report;
mod vars;

pub use checks::NARRATIVE_REASONS;
pub use escape::{escape_html, escape_markdown, escape_plain, isolate, split};
pub use helpers::DISCORD_FORMS;
use helpers::PLATFORM_KEY;

use crate::core::event::{Label, Msg, Platform};
use handlebars::Handlebars;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where text is going; decides escaping and markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Terminal: no markup; control characters stripped so members cannot inject escapes.
    Plain,
    /// Telegram `parse_mode=HTML`.
    Html,
    /// Discord Markdown.
    Markdown,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The io error is in the message and not a `source`, so `{:#}` does not repeat it.
    #[error("cannot read templates in {dir}: {}", crate::config::plain_io(.error))]
    Read { dir: PathBuf, error: std::io::Error },
    #[error("{file}: {message}")]
    Template { file: String, message: String },
    #[error("template {name}: {message}")]
    Render { name: String, message: String },
    #[error("no template named {0}")]
    Missing(String),
    #[error("{file}: {message}")]
    Samples { file: String, message: String },
}

/// All templates, compiled for every target. Loaded once at start; a broken template fails
/// the start, not the first message that needs it. `prompts/*.hbs` is the default locale
/// (`en`); `prompts/<locale>/` holds translations, used template by template.
pub struct Renderer {
    /// Swapped whole by `replace_templates` (SIGHUP), so a render sees one set or the other.
    by_target: std::sync::RwLock<Arc<Registries>>,
    /// Default-locale template names.
    names: Vec<String>,
    /// Every locale with a folder, the default first.
    locales: Vec<String>,
    /// The product team's locale: insights and digests.
    team: String,
    /// The override folder (may not exist).
    dir: PathBuf,
    /// Template files found in `dir`.
    overrides: usize,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("dir", &self.dir)
            .field("templates", &self.names.len())
            .field("locales", &self.locales)
            .finish()
    }
}

type Registries = BTreeMap<Target, Handlebars<'static>>;

const TARGETS: [Target; 3] = [Target::Plain, Target::Html, Target::Markdown];

/// Each chat platform with the target its messages are rendered for.
const PLATFORMS: [(Platform, Target); 3] = [
    (Platform::Console, Target::Plain),
    (Platform::Telegram, Target::Html),
    (Platform::Discord, Target::Markdown),
];

impl Renderer {
    fn registries(&self) -> Arc<Registries> {
        // A panic while swapping cannot leave a half-built set: the Arc is replaced whole.
        match self.by_target.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Takes the templates of `fresh` (loaded and checked from the same folder) in place of
    /// these, for every render from now on. Template names and locales stay as they were
    /// at start: a new locale folder needs a restart.
    pub fn replace_templates(&self, fresh: Renderer) {
        let new = fresh.registries();
        match self.by_target.write() {
            Ok(mut r) => *r = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }

    /// How many template files in `dir()` replaced or added to the built-in ones.
    pub fn overrides(&self) -> usize {
        self.overrides
    }

    /// Sets the product team's locale (insights, digests); unknown locales keep the default.
    pub fn with_team_locale(mut self, tag: &str) -> Self {
        self.team = self.negotiate(Some(tag)).to_string();
        self
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every shipped locale, the default first.
    pub fn locales(&self) -> &[String] {
        &self.locales
    }

    /// Every shipped locale with its own name (`locale_name.hbs`: English, Deutsch, ...).
    pub fn locale_names(&self) -> Vec<(String, String)> {
        self.locales
            .iter()
            .map(|l| {
                let name = self
                    .render_in(Target::Plain, Some(l), "locale_name", &Value::Null)
                    .unwrap_or_else(|_| l.clone());
                (l.clone(), name)
            })
            .collect()
    }

    /// The product team's locale.
    pub fn team_locale(&self) -> &str {
        &self.team
    }

    /// The shipped locale for a platform tag, or the default.
    pub fn negotiate(&self, tag: Option<&str>) -> &str {
        tag.and_then(|t| crate::locale::negotiate(t, &self.locales))
            .unwrap_or(crate::locale::DEFAULT)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn render(&self, target: Target, msg: &Msg) -> Result<String, RenderError> {
        self.render_in(target, msg.locale.as_deref(), msg.template, &msg.data)
    }

    /// Renders for a reader on `platform`: `{{cmd ...}}` names each command as that platform
    /// registers it and `{{#on ...}}` picks that platform's wording. Adapters render members'
    /// messages through this.
    pub fn render_on(
        &self,
        platform: Platform,
        target: Target,
        msg: &Msg,
    ) -> Result<String, RenderError> {
        self.render_platform(
            platform,
            target,
            msg.locale.as_deref(),
            msg.template,
            &msg.data,
        )
    }

    /// [`Renderer::render_on`] for a template by name.
    pub fn render_platform(
        &self,
        platform: Platform,
        target: Target,
        locale: Option<&str>,
        name: &str,
        data: &Value,
    ) -> Result<String, RenderError> {
        let Value::Object(fields) = data else {
            return self.render_in(target, locale, name, data);
        };
        let names: serde_json::Map<String, Value> = if platform == Platform::Discord {
            self.discord_command_texts(locale)
                .into_iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("name_")?.to_string(), Value::String(v))))
                .collect()
        } else {
            Default::default()
        };
        let mut fields = fields.clone();
        fields.insert(
            PLATFORM_KEY.into(),
            json!({ "platform": platform.as_str(), "names": names }),
        );
        self.render_in(target, locale, name, &Value::Object(fields))
    }

    /// The lines `key = text` of `discord_commands.hbs` in `locale`: slash command
    /// descriptions, and `name_<command>` lines with the locale's command names.
    pub fn discord_command_texts(&self, locale: Option<&str>) -> BTreeMap<String, String> {
        let text = self
            .render_in(Target::Plain, locale, "discord_commands", &json!({}))
            .unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().chars().take(100).collect()))
            .collect()
    }

    /// Renders in the default locale.
    pub fn render_value(
        &self,
        target: Target,
        name: &str,
        data: &Value,
    ) -> Result<String, RenderError> {
        self.render_in(target, None, name, data)
    }

    /// Renders `name` in `locale`, falling back to the default template when the locale has
    /// no translation of it.
    pub fn render_in(
        &self,
        target: Target,
        locale: Option<&str>,
        name: &str,
        data: &Value,
    ) -> Result<String, RenderError> {
        let all = self.registries();
        let hb = all
            .get(&target)
            .ok_or_else(|| RenderError::Missing(name.into()))?;
        let localised = locale
            .filter(|l| *l != crate::locale::DEFAULT)
            .map(|l| format!("{l}/{name}"))
            .filter(|n| hb.has_template(n));
        let chosen = localised.as_deref().unwrap_or(name);
        if !hb.has_template(chosen) {
            return Err(RenderError::Missing(name.into()));
        }
        hb.render(chosen, data)
            .map(|s| tidy(&s))
            .map_err(|e| RenderError::Render {
                name: chosen.into(),
                message: e.to_string(),
            })
    }

    /// Button text. Labels are survey data and never carry markup.
    pub fn label(&self, label: &Label) -> Result<String, RenderError> {
        match label {
            Label::Text(t) => Ok(isolate(&escape_plain(t))),
            Label::Template(m) => Ok(self.render(Target::Plain, m)?.trim().to_string()),
        }
    }
}

/// Collapses runs of blank lines that conditionals leave behind and trims the ends.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message `load` gives for a `help.hbs` override holding `src`.
    fn load_error(src: &str) -> (String, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "canvass-render-{}-{}",
            std::process::id(),
            src.len()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("help.hbs"), src).expect("write");
        let err = Renderer::load(&dir).expect_err("broken template");
        let _ = std::fs::remove_dir_all(&dir);
        (err.to_string(), dir.join("help.hbs"))
    }

    #[test]
    fn an_unclosed_block_is_named_with_its_template_and_the_line_it_opened() {
        let (err, file) = load_error("Commands:\n{{#if team}}\nTeam things\n\nmore\n");
        assert_eq!(
            err,
            format!(
                "{}, line 2: {{{{#if}}}} is opened here but never closed: add {{{{/if}}}} where the block ends",
                file.display()
            )
        );
        let (err, _) = load_error("a\n{{#each xs}}\n{{#if x}}{{/if}}\n");
        assert!(err.contains("line 2: {{#each}} is opened here"), "{err}");
        let (err, _) = load_error("a\n{{#if team}}x{{/each}}\n");
        assert!(
            err.contains("line 2: {{/each}} closes a block, but the block open here is {{#if}}"),
            "{err}"
        );
        let (err, _) = load_error("a\n\n{{#if team}x\n");
        assert!(err.contains("line 3: the template tag at column"), "{err}");
        assert!(!err.contains("expected"), "no parser jargon: {err}");
    }

    #[test]
    fn an_unreadable_template_is_named_once_in_plain_words() {
        let err = RenderError::Read {
            dir: PathBuf::from("/srv/canvass/prompts"),
            error: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(
            format!("{:#}", anyhow::Error::from(err)),
            "cannot read templates in /srv/canvass/prompts: there is no such file or folder"
        );
    }

    #[test]
    fn escapes_for_each_target() {
        assert_eq!(escape_html("<b>&</b>"), "&lt;b&gt;&amp;&lt;/b&gt;");
        assert_eq!(escape_markdown("**@everyone**"), "\\*\\*\\@everyone\\*\\*");
        // Only what Markdown needs where it stands: nothing in ordinary report text.
        let plain = "Demo: sign-on (95% interval) p < 0.001, <1%, -44, #1, 2. place, a_b";
        assert_eq!(escape_markdown(plain), plain);
        assert_eq!(
            escape_markdown("- a\n# b\n> c\n1. d\n---"),
            "\\- a\n\\# b\n\\> c\n1\\. d\n\\---"
        );
        assert_eq!(
            escape_markdown("<b> _c_ http://x &amp; \\*"),
            "\\<b> \\_c\\_ http\\://x \\&amp; \\\\\\*"
        );
        assert_eq!(escape_plain("a\u{1b}[2Jb"), "a[2Jb");
        // A heading's closing sequence (`#`s after a blank, at the line's end) is escaped;
        // a `#` inside a word or before more text is not.
        assert_eq!(escape_markdown("Which issue #"), "Which issue \\#");
        assert_eq!(escape_markdown("Which issue ## "), "Which issue \\## ");
        assert_eq!(escape_markdown("issue#, #2 and C#"), "issue#, #2 and C#");
    }

    #[test]
    fn split_respects_limit_and_balances_html() {
        let para = format!("<b>{}</b>\n\n", "word ".repeat(300));
        let text = para.repeat(3);
        let chunks = split(&text, 1000, Target::Html);
        assert!(chunks.len() > 3);
        for c in &chunks {
            assert!(c.chars().count() <= 1000, "{}", c.chars().count());
            assert_eq!(c.matches("<b>").count(), c.matches("</b>").count(), "{c}");
        }
        let plain = "x".repeat(5000);
        let chunks = split(&plain, 2000, Target::Markdown);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.concat(), plain);
    }

    /// Whether a Discord chunk ends in a backslash that escapes nothing.
    fn dangling_escape(chunk: &str) -> bool {
        chunk.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
    }

    #[test]
    fn markdown_split_never_cuts_an_escape_a_code_span_or_a_mention() {
        for member in [
            "*_~|".repeat(500),
            "\\".repeat(1500),
            format!("a{}", "*".repeat(2500)),
        ] {
            let text = format!("Saved: {}", escape_markdown(&member));
            let chunks = split(&text, 2000, Target::Markdown);
            assert!(chunks.len() > 1);
            for c in &chunks {
                assert!(c.chars().count() <= 2000);
                assert!(
                    !dangling_escape(c),
                    "chunk ends with a lone backslash: {c:?}"
                );
            }
            assert_eq!(chunks.concat(), text, "nothing lost or added");
        }
        // A code span and a mention stay whole wherever the limit falls.
        for pad in 0..40 {
            let text = format!(
                "{}`code span` <@1234567> {}",
                "x".repeat(pad),
                "y".repeat(60)
            );
            for c in split(&text, 30, Target::Markdown) {
                assert_eq!(c.matches('`').count() % 2, 0, "{c:?}");
                assert_eq!(c.matches('<').count(), c.matches('>').count(), "{c:?}");
            }
        }
    }

    #[test]
    fn html_split_never_cuts_a_tag_or_an_entity() {
        let member = escape_html(&"<&>\"".repeat(500));
        let text = format!("<b>Saved:</b> <i>{member}</i>");
        let chunks = split(&text, 4096, Target::Html);
        assert!(chunks.len() > 1);
        for c in &chunks {
            assert!(c.chars().count() <= 4096);
            let amp = c.rfind('&').expect("entities");
            assert!(c[amp..].contains(';'), "entity cut: {:?}", &c[amp..]);
            assert_eq!(c.matches("<i>").count(), c.matches("</i>").count(), "{c:?}");
        }
    }

    #[test]
    fn split_never_cuts_an_entity() {
        let text = "&amp;".repeat(1000);
        for c in split(&text, 100, Target::Html) {
            assert!(c.starts_with("&amp;") && c.ends_with("&amp;"), "{c}");
        }
    }
}
