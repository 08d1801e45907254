//! The renderer: handlebars templates from `prompts/`, escaped for each target (plain
//! console text, Telegram HTML, Discord Markdown), and split to platform length limits.

pub mod chart;
pub mod report;

use crate::core::event::{Label, Msg, Platform};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderErrorReason,
    Renderable,
};
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

/// Explicit bidi embeddings, overrides and isolates: in member text they would reorder the
/// template's own words around them (a spoofed "Saved" or name), so they are never shown.
fn spoofs_direction(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Escapes text for Telegram HTML: only `<`, `>` and `&` are special.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c if (c.is_control() && c != '\n' && c != '\t') || spoofs_direction(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes Discord Markdown so member text renders literally.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '-' | '@'
            | '<' | ':' => {
                out.push('\\');
                out.push(c);
            }
            c if (c.is_control() && c != '\n' && c != '\t') || spoofs_direction(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Plain text: keeps everything printable, drops terminal control sequences.
pub fn escape_plain(s: &str) -> String {
    s.chars()
        .filter(|c| (!c.is_control() || *c == '\n' || *c == '\t') && !spoofs_direction(*c))
        .collect()
}

fn escape_for(target: Target) -> fn(&str) -> String {
    match target {
        Target::Plain => escape_plain,
        Target::Html => escape_html,
        Target::Markdown => escape_markdown,
    }
}

/// Block helper wrapping its content in target markup: `{{#bold}}...{{/bold}}`.
struct Markup(&'static str, &'static str);

impl HelperDef for Markup {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        out.write(self.0)?;
        if let Some(t) = h.template() {
            t.render(r, ctx, rc, out)?;
        }
        out.write(self.1)?;
        Ok(())
    }
}

/// `{{#code}}…{{/code}}` in Discord Markdown: a code span shows its text as is, so the
/// escapes the content got are taken out again (members copy ids from it), and a backtick,
/// which would end the span, becomes a look-alike (U+02CB).
struct MarkdownCode;

impl HelperDef for MarkdownCode {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let mut inner = handlebars::StringOutput::new();
        if let Some(t) = h.template() {
            t.render(r, ctx, rc, &mut inner)?;
        }
        let text = inner.into_string()?;
        let mut plain = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek().is_some_and(|n| n.is_ascii_punctuation()) => {
                    if let Some(n) = chars.next() {
                        plain.push(if n == '`' { '\u{02CB}' } else { n });
                    }
                }
                '`' => plain.push('\u{02CB}'),
                c => plain.push(c),
            }
        }
        out.write("`")?;
        out.write(&plain)?;
        out.write("`")?;
        Ok(())
    }
}

/// `{{plural n "answer" "answers"}}`
fn plural(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let n = h
        .param(0)
        .and_then(|p| p.value().as_f64())
        .ok_or(RenderErrorReason::InvalidParamType("number"))?;
    let one = h.param(1).and_then(|p| p.value().as_str()).unwrap_or("");
    let many = h.param(2).and_then(|p| p.value().as_str()).unwrap_or(one);
    out.write(if (n - 1.0).abs() < f64::EPSILON {
        one
    } else {
        many
    })?;
    Ok(())
}

/// `{{inc i}}`: 1-based numbering in lists.
fn inc(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let n = h
        .param(0)
        .and_then(|p| p.value().as_i64())
        .ok_or(RenderErrorReason::InvalidParamType("integer"))?;
    out.write(&(n + 1).to_string())?;
    Ok(())
}

fn registry(target: Target) -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    let escape = escape_for(target);
    hb.register_escape_fn(move |s| isolate(&escape(s)));
    let (b, i, c) = match target {
        Target::Plain => (("", ""), ("", ""), ("", "")),
        Target::Html => (("<b>", "</b>"), ("<i>", "</i>"), ("<code>", "</code>")),
        Target::Markdown => (("**", "**"), ("*", "*"), ("`", "`")),
    };
    hb.register_helper("bold", Box::new(Markup(b.0, b.1)));
    hb.register_helper("italic", Box::new(Markup(i.0, i.1)));
    if target == Target::Markdown {
        hb.register_helper("code", Box::new(MarkdownCode));
    } else {
        hb.register_helper("code", Box::new(Markup(c.0, c.1)));
    }
    hb.register_helper("plural", Box::new(plural));
    hb.register_helper("inc", Box::new(inc));
    hb.register_helper("cmd", Box::new(cmd));
    hb.register_helper("on", Box::new(On));
    hb
}

/// The key under which `render_on` tells the `cmd` and `on` helpers the reader's platform and
/// its localised command names; templates never read it themselves.
const PLATFORM_KEY: &str = "_platform";

/// How a member types a core command on Discord: as a subcommand of `/survey` for the
/// survey commands. Mirrors `platform::discord::commands::to_text`, whose unit test checks
/// that each form here is translated back to the core command.
pub const DISCORD_FORMS: [(&str, &str, Option<&str>); 5] = [
    ("start", "survey", Some("take")),
    ("surveys", "survey", Some("list")),
    ("survey", "survey", Some("show")),
    ("post", "survey", Some("post")),
    ("close", "survey", Some("close")),
];

/// `{{cmd "start"}}`: the command as the reader's platform names it (`/start` in a text chat,
/// `/survey take` on Discord, with the command name of the reader's locale there). Without a
/// platform (`render`), the text form.
fn cmd(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    ctx: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let name = h
        .param(0)
        .and_then(|p| p.value().as_str())
        .ok_or(RenderErrorReason::InvalidParamType("string"))?;
    // Only command-like names: a data value reaches the output unescaped here.
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let on = ctx.data().get(PLATFORM_KEY);
    let platform = on.and_then(|o| o.get("platform")).and_then(Value::as_str);
    let shown = if platform == Some(Platform::Discord.as_str()) {
        let (top, sub) = DISCORD_FORMS
            .iter()
            .find(|(core, _, _)| *core == name)
            .map(|(_, top, sub)| ((*top).to_string(), *sub))
            .unwrap_or((name.clone(), None));
        let top = on
            .and_then(|o| o.get("names"))
            .and_then(|n| n.get(&top))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or(top);
        match sub {
            Some(sub) => format!("/{top} {sub}"),
            None => format!("/{top}"),
        }
    } else {
        format!("/{name}")
    };
    out.write(&shown)?;
    Ok(())
}

/// `{{#on "discord"}}...{{else}}...{{/on}}`: wording for one platform, the rest otherwise.
struct On;

impl HelperDef for On {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let wanted = h
            .param(0)
            .and_then(|p| p.value().as_str())
            .ok_or(RenderErrorReason::InvalidParamType("string"))?;
        let platform = ctx
            .data()
            .get(PLATFORM_KEY)
            .and_then(|o| o.get("platform"))
            .and_then(Value::as_str);
        let branch = if platform == Some(wanted) {
            h.template()
        } else {
            h.inverse()
        };
        if let Some(t) = branch {
            t.render(r, ctx, rc, out)?;
        }
        Ok(())
    }
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

/// Templates whose translations must show every value the default template shows.
const COMPLETE: [&str; 1] = ["mydata"];

/// Every string (and number) in a sample, to look for in a rendering.
fn collect_leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| collect_leaves(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_leaves(x, out)),
        _ => {}
    }
}

/// Helpers known to every registry: built-ins and ours. Anything else in a template is data.
const HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len", "bold", "italic", "code", "plural", "inc", "cmd", "on",
];

/// A template that does not compile, as a plain sentence naming the file and line: a block
/// left open is named where it opened, not at the end of the file where the parser noticed.
fn template_error(file: &str, src: &str, e: &handlebars::TemplateError) -> RenderError {
    use handlebars::TemplateErrorReason as R;
    let (line, col) = e.pos().unwrap_or((1, 1));
    // The parser notices an open block only at the end of the file.
    let lines = src.lines().count();
    let at_end = line > lines
        || (line == lines && col > src.lines().last().map_or(0, |l| l.chars().count()));
    let (line, message) = match e.reason() {
        R::InvalidSyntax(_) => match unclosed_block(src) {
            Some((name, opened)) if at_end => (
                opened,
                format!(
                    "{{{{#{name}}}}} is opened here but never closed: add {{{{/{name}}}}} where the block ends"
                ),
            ),
            _ => (
                line,
                format!(
                    "the template tag at column {col} is not written correctly: check its {{{{ }}}} braces and the words inside"
                ),
            ),
        },
        R::MismatchingClosedHelper(open, close) | R::MismatchingClosedDecorator(open, close) => (
            line,
            format!("{{{{/{close}}}}} closes a block, but the block open here is {{{{#{open}}}}}"),
        ),
        other => (line, other.to_string()),
    };
    RenderError::Template {
        file: format!("{file}, line {line}"),
        message,
    }
}

/// The innermost `{{#block}}` without its `{{/block}}`: its name and line.
fn unclosed_block(src: &str) -> Option<(String, usize)> {
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut rest = src;
    let mut offset = 0;
    while let Some(i) = rest.find("{{") {
        let tag = rest[i + 2..].trim_start_matches('~').trim_start();
        let word = |t: &str| {
            t.chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '*' | '>'))
                .collect::<String>()
        };
        let at = offset + i;
        if let Some(t) = tag.strip_prefix('#') {
            let line = src[..at].matches('\n').count() + 1;
            open.push((word(t.trim_start()), line));
        } else if let Some(t) = tag.strip_prefix('/') {
            let name = word(t.trim_start());
            if let Some(k) = open.iter().rposition(|(n, _)| *n == name) {
                open.truncate(k);
            }
        }
        offset = at + 2;
        rest = &src[offset..];
    }
    open.pop()
}

/// The templates compiled into the binary (`build.rs` writes the table from `prompts/`).
mod builtin {
    include!(concat!(env!("OUT_DIR"), "/prompts.rs"));
}

impl Renderer {
    /// Only the templates built into the binary.
    pub fn builtin() -> Result<Self, RenderError> {
        Self::load_from(None)
    }

    /// The built-in templates, each replaced by the file of the same name in `dir` when
    /// there is one (names are file stems; subfolders give `folder/name`, locale folders
    /// `de/...`). `dir` may be missing: then only the built-in ones are used. A translation
    /// must translate an existing template and use only data the default template uses.
    pub fn load(dir: &Path) -> Result<Self, RenderError> {
        Self::load_from(Some(dir))
    }

    fn load_from(dir: Option<&Path>) -> Result<Self, RenderError> {
        // name -> (where it came from, for errors; source; built in)
        let mut sources: BTreeMap<String, (String, String, bool)> = builtin::TEMPLATES
            .iter()
            .map(|(n, src)| {
                (
                    (*n).to_string(),
                    (
                        format!("built-in prompts/{n}.hbs"),
                        (*src).to_string(),
                        true,
                    ),
                )
            })
            .collect();
        let mut overrides = 0;
        if let Some(dir) = dir.filter(|d| d.exists()) {
            let mut files = Vec::new();
            collect(dir, dir, &mut files)?;
            for (name, path) in files {
                let src = read(&path)?;
                sources.insert(name, (path.display().to_string(), src, false));
                overrides += 1;
            }
        }
        let mut by_target: BTreeMap<Target, Handlebars<'static>> =
            TARGETS.iter().map(|t| (*t, registry(*t))).collect();
        let mut names = Vec::new();
        let mut locales = vec![crate::locale::DEFAULT.to_string()];
        let mut translations = Vec::new();
        for (name, (file, src, built_in)) in sources {
            match name.split_once('/') {
                Some((loc, rest)) if crate::locale::is_tag(loc) => {
                    if !locales.iter().any(|l| l == loc) {
                        locales.push(loc.to_string());
                    }
                    translations.push((rest.to_string(), name, file, src, built_in));
                }
                _ => {
                    for hb in by_target.values_mut() {
                        hb.register_template_string(&name, &src)
                            .map_err(|e| template_error(&file, &src, &e))?;
                    }
                    names.push(name);
                }
            }
        }
        for (base, name, file, src, built_in) in translations {
            let compiled =
                handlebars::Template::compile(&src).map_err(|e| template_error(&file, &src, &e))?;
            let Some(default) = by_target
                .get(&Target::Plain)
                .and_then(|hb| hb.get_template(&base))
            else {
                return Err(RenderError::Template {
                    file,
                    message: format!(
                        "translates {base}, but there is no default template {base}.hbs"
                    ),
                });
            };
            // A built-in translation was checked against the built-in default; an operator's
            // own default with less data must not make the shipped translations fail.
            let known = vars::used(default);
            if let Some((var, line)) = vars::first_unknown(&compiled, &known).filter(|_| !built_in)
            {
                return Err(RenderError::Template {
                    file: format!("{file}, line {line}"),
                    message: format!(
                        "uses {{{{{var}}}}}, which the default template {base}.hbs does not provide"
                    ),
                });
            }
            for hb in by_target.values_mut() {
                hb.register_template_string(&name, &src)
                    .map_err(|e| template_error(&file, &src, &e))?;
            }
        }
        Ok(Self {
            by_target: std::sync::RwLock::new(Arc::new(by_target)),
            names,
            locales,
            team: crate::locale::DEFAULT.to_string(),
            dir: dir.map(Path::to_path_buf).unwrap_or_default(),
            overrides,
        })
    }

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

    /// Renders every template for every target and every locale with the sample data in
    /// `samples.json` beside the templates; `canvass check` and the tests run this.
    pub fn check_samples(&self) -> Result<usize, RenderError> {
        // The built-in samples, each template's cases replaced by a `samples.json` in the
        // override folder when it has them.
        let parse = |raw: &str, file: &str| {
            serde_json::from_str::<BTreeMap<String, Vec<Value>>>(raw).map_err(|e| {
                RenderError::Samples {
                    file: file.to_string(),
                    message: e.to_string(),
                }
            })
        };
        let mut samples = parse(builtin::SAMPLES, "built-in prompts/samples.json")?;
        let path = self.dir.join("samples.json");
        let mut file = "built-in prompts/samples.json".to_string();
        if !self.dir.as_os_str().is_empty() && path.exists() {
            file = path.display().to_string();
            let raw = std::fs::read_to_string(&path).map_err(|e| RenderError::Samples {
                file: file.clone(),
                message: e.to_string(),
            })?;
            samples.extend(parse(&raw, &file)?);
        }
        let mut rendered = 0;
        // Report templates are checked on a generated report instead (`check_reports`).
        for name in self.names.iter().filter(|n| {
            !n.starts_with("insight/") && !n.starts_with("narrative/") && n.as_str() != "digest"
        }) {
            let cases = samples.get(name).ok_or_else(|| RenderError::Samples {
                file: file.clone(),
                message: format!("no sample data for template {name}"),
            })?;
            // A template that renders nothing for every sample (an emptied override) would
            // send members nothing at all.
            let mut shown: BTreeMap<&str, bool> = BTreeMap::new();
            for data in cases {
                for locale in &self.locales {
                    // Each target as its platform reads it, so `{{#on}}` branches are checked.
                    for (p, t) in PLATFORMS {
                        let text = self.render_platform(p, t, Some(locale), name, data)?;
                        *shown.entry(locale.as_str()).or_default() |= !text.trim().is_empty();
                        rendered += 1;
                    }
                }
                if COMPLETE.contains(&name.as_str()) {
                    self.check_complete(name, data)?;
                }
            }
            if let Some((locale, _)) = shown.iter().find(|(_, shows)| !**shows) {
                return Err(RenderError::Render {
                    name: name.clone(),
                    message: format!(
                        "shows nothing in locale {locale} with any of its sample data, so \
                         members would get an empty message; give it some text"
                    ),
                });
            }
        }
        Ok(rendered)
    }

    /// A translation of a template in [`COMPLETE`] must show every sample value the default
    /// template shows: `/mydata` promises every stored field in every language.
    fn check_complete(&self, name: &str, data: &Value) -> Result<(), RenderError> {
        let base = self.render_in(Target::Plain, None, name, data)?;
        let mut leaves = Vec::new();
        collect_leaves(data, &mut leaves);
        let shown: Vec<&String> = leaves
            .iter()
            .filter(|v| base.contains(v.as_str()))
            .collect();
        for locale in &self.locales {
            let text = self.render_in(Target::Plain, Some(locale), name, data)?;
            if let Some(missing) = shown.iter().find(|v| !text.contains(v.as_str())) {
                return Err(RenderError::Render {
                    name: format!("{locale}/{name}"),
                    message: format!(
                        "the translation leaves out {missing:?}, which the default template shows"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Templates of the default locale that `locale` does not translate.
    pub fn untranslated(&self, locale: &str) -> Vec<&str> {
        let all = self.registries();
        let Some(hb) = all.get(&Target::Plain) else {
            return Vec::new();
        };
        self.names
            .iter()
            .filter(|n| !hb.has_template(&format!("{locale}/{n}")))
            .map(String::as_str)
            .collect()
    }
}

impl Renderer {
    /// Renders the report templates in every format and every locale on the built-in demo
    /// report, at three sample sizes (empty, counts only, full).
    pub fn check_reports(&self) -> Result<usize, RenderError> {
        use report::Format;
        let mut rendered = 0;
        for locale in &self.locales {
            for n in [0, 6, 240] {
                let mut r = crate::insight::demo::report(n)
                    .ok_or_else(|| RenderError::Missing("demo report".into()))?;
                // The narrative prompts, and every report shape with a checked narrative shown.
                self.narrative_prompt(&r, 1200)?;
                rendered += 2;
                // Every chart caption, without drawing a PNG.
                for (kind, data) in [
                    ("subtitle", json!({ "n": n, "few": n < 10 })),
                    ("promoters", json!({})),
                    ("passives", json!({})),
                    ("detractors", json!({})),
                    ("point", json!({ "point": 3, "scale": 5 })),
                    ("empty", json!({})),
                ] {
                    let w =
                        self.chart_word(locale, kind, &data)
                            .map_err(|e| RenderError::Render {
                                name: "insight/chart".into(),
                                message: e.to_string(),
                            })?;
                    if w.is_empty() {
                        return Err(RenderError::Render {
                            name: format!("{locale}/insight/chart"),
                            message: format!("no words for the {kind:?} caption"),
                        });
                    }
                    rendered += 1;
                }
                if n == 240 {
                    r.narrative = crate::insight::report::Narrative::Checked {
                        text: "A <sample> narrative: \"quoted\" *words* @everyone.".into(),
                        model: "demo-model".into(),
                    };
                }
                for f in [
                    Format::Chat(Target::Plain),
                    Format::Chat(Target::Html),
                    Format::Chat(Target::Markdown),
                    Format::Markdown,
                    Format::Html,
                    Format::Json,
                ] {
                    self.report_in(locale, f, &r)?;
                    rendered += 1;
                }
                let brief = crate::insight::digest::Brief {
                    period: "2026-01-05 09:00 CET".into(),
                    late: n == 6,
                    respondents: r.survey.respondents,
                    tests: r.tests,
                    cadence: if n == 6 {
                        crate::insight::digest::Cadence::Daily
                    } else {
                        crate::insight::digest::Cadence::Weekly
                    },
                    answers: r.survey.respondents,
                    quiet_surveys: if n == 0 {
                        vec![r.survey.title.clone()]
                    } else {
                        Vec::new()
                    },
                    reports: if n == 0 {
                        Vec::new()
                    } else {
                        vec![r.clone(), r]
                    },
                };
                for t in TARGETS {
                    self.digest_in(locale, t, &brief)?;
                    rendered += 1;
                }
            }
        }
        let outcome = crate::insight::report::NarrativeOutcome {
            narrative: crate::insight::report::Narrative::Off,
            code: "timeout",
            checked: None,
        };
        let demo = crate::insight::demo::report(6)
            .ok_or_else(|| RenderError::Missing("demo report".into()))?;
        let counts = [("shown", 2), ("timeout", 1)].into_iter().collect();
        self.narrative_outcome(&demo, Some(&outcome), &counts)?;
        self.narrative_outcome(&demo, None, &Default::default())?;
        rendered += 2;
        for code in NARRATIVE_REASONS {
            let text = self.render_value(
                Target::Plain,
                "narrative/reason",
                &serde_json::json!({ "code": code, "detail": "x", "subject": "x", "ms": 1, "status": 500 }),
            )?;
            if text.trim().is_empty() {
                return Err(RenderError::Render {
                    name: "narrative/reason".into(),
                    message: format!("no wording for the reason {code:?}"),
                });
            }
            rendered += 1;
        }
        Ok(rendered)
    }
}

fn read(path: &Path) -> Result<String, RenderError> {
    std::fs::read_to_string(path).map_err(|error| RenderError::Read {
        dir: path.to_path_buf(),
        error,
    })
}

/// Wraps text holding right-to-left letters in Unicode isolates (FSI … PDI), so an Arabic or
/// Hebrew label cannot reorder the punctuation and numbers around it.
pub fn isolate(s: &str) -> String {
    let rtl = s.chars().any(|c| {
        matches!(c as u32,
            0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
    });
    if rtl {
        format!("\u{2068}{s}\u{2069}")
    } else {
        s.to_string()
    }
}

/// The data paths a template reads, for comparing a translation with its default.
mod vars {
    use super::HELPERS;
    use handlebars::Path as HbPath;
    use handlebars::template::{Parameter, Template, TemplateElement};
    use std::collections::BTreeSet;

    /// Every data path the template reads, keyed by the block scopes around it
    /// (`each surveys` → `surveys[]/title`).
    pub fn used(t: &Template) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        walk(t, &mut Vec::new(), &mut |key, _| {
            out.insert(key);
        });
        out
    }

    /// The first path in `t` that is not in `known`, with its line.
    pub fn first_unknown(t: &Template, known: &BTreeSet<String>) -> Option<(String, usize)> {
        let mut found = None;
        walk(t, &mut Vec::new(), &mut |key, line| {
            if found.is_none() && !known.contains(&key) {
                let var = key.rsplit('/').next().unwrap_or(&key).to_string();
                found = Some((var, line));
            }
        });
        found
    }

    fn raw(p: &HbPath) -> &str {
        match p {
            HbPath::Relative((_, raw)) => raw,
            HbPath::Local((_, _, raw)) => raw,
        }
    }

    fn key(scope: &[String], raw: &str) -> Option<String> {
        if raw.starts_with('@') {
            return None;
        }
        let mut scope = scope.to_vec();
        let mut rest = raw;
        while let Some(r) = rest.strip_prefix("../") {
            scope.pop();
            rest = r;
        }
        let rest = rest.strip_prefix("this.").unwrap_or(rest);
        scope.push(rest.to_string());
        Some(scope.join("/"))
    }

    fn param(p: &Parameter, scope: &[String], line: usize, f: &mut dyn FnMut(String, usize)) {
        match p {
            Parameter::Path(path) => {
                if let Some(k) = key(scope, raw(path)) {
                    f(k, line);
                }
            }
            Parameter::Name(n) if !HELPERS.contains(&n.as_str()) => {
                if let Some(k) = key(scope, n) {
                    f(k, line);
                }
            }
            Parameter::Subexpression(s) => element(&s.element, &mut scope.to_vec(), line, f),
            _ => {}
        }
    }

    fn element(
        e: &TemplateElement,
        scope: &mut Vec<String>,
        line: usize,
        f: &mut dyn FnMut(String, usize),
    ) {
        match e {
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                param(&h.name, scope, line, f);
                for p in &h.params {
                    param(p, scope, line, f);
                }
            }
            TemplateElement::HelperBlock(h) => {
                for p in &h.params {
                    param(p, scope, line, f);
                }
                let helper = match &h.name {
                    Parameter::Name(n) => n.as_str(),
                    _ => "",
                };
                // `each` and `with` read their block relative to their argument.
                let inner = match (helper, h.params.first()) {
                    ("each", Some(Parameter::Path(p))) => Some(format!("{}[]", raw(p))),
                    ("with", Some(Parameter::Path(p))) => Some(raw(p).to_string()),
                    _ => None,
                };
                if let Some(t) = &h.template {
                    if let Some(i) = &inner {
                        scope.push(i.clone());
                    }
                    walk(t, scope, f);
                    if inner.is_some() {
                        scope.pop();
                    }
                }
                if let Some(t) = &h.inverse {
                    walk(t, scope, f);
                }
            }
            _ => {}
        }
    }

    fn walk(t: &Template, scope: &mut Vec<String>, f: &mut dyn FnMut(String, usize)) {
        for (i, e) in t.elements.iter().enumerate() {
            let line = t.mapping.get(i).map(|m| m.0).unwrap_or(0);
            element(e, scope, line, f);
        }
    }
}

/// Every reason code `prompts/narrative/reason.hbs` must word.
pub const NARRATIVE_REASONS: [&str; 17] = [
    "off",
    "nothing_to_narrate",
    "bad_prompt",
    "timeout",
    "http_status",
    "unreachable",
    "bad_reply",
    "empty",
    "too_long",
    "invented_number",
    "misattributed_number",
    "altered_quote",
    "certainty",
    "winner",
    "majority",
    "segment_claim",
    "engagement",
];

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

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), RenderError> {
    let entries = std::fs::read_dir(dir).map_err(|error| RenderError::Read {
        dir: dir.to_path_buf(),
        error,
    })?;
    for e in entries {
        let e = e.map_err(|error| RenderError::Read {
            dir: dir.to_path_buf(),
            error,
        })?;
        let path = e.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|x| x == "hbs") {
            let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, path));
        }
    }
    Ok(())
}

/// Splits text into chunks of at most `limit` characters, preferring paragraph, then line,
/// then word boundaries. For HTML, tags open at a cut are closed and reopened so every
/// chunk is well formed.
pub fn split(text: &str, limit: usize, target: Target) -> Vec<String> {
    let limit = limit.max(16);
    if text.chars().count() <= limit {
        return vec![text.to_string()];
    }
    // Reserve room for closing and reopening tags in HTML.
    let budget = if target == Target::Html {
        limit - 12.min(limit / 4)
    } else {
        limit
    };
    let mut chunks = Vec::new();
    let mut rest = text;
    let mut open: Vec<String> = Vec::new();
    while !rest.is_empty() {
        let prefix: String = open.iter().map(|t| format!("<{t}>")).collect();
        let room = budget.saturating_sub(prefix.chars().count()).max(8);
        if rest.chars().count() <= room {
            chunks.push(format!("{prefix}{rest}"));
            break;
        }
        let cut_byte = rest
            .char_indices()
            .nth(room)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let window = &rest[..cut_byte];
        let mut cut = window
            .rfind("\n\n")
            .filter(|i| *i > cut_byte / 3)
            .or_else(|| window.rfind('\n').filter(|i| *i > cut_byte / 3))
            .or_else(|| window.rfind(' ').filter(|i| *i > cut_byte / 3))
            .unwrap_or(cut_byte);
        if target == Target::Html {
            // Never cut inside a tag or an entity.
            if let Some(lt) = window[..cut].rfind('<') {
                if !window[lt..cut].contains('>') {
                    cut = lt;
                }
            }
            if let Some(amp) = window[..cut].rfind('&') {
                if !window[amp..cut].contains(';') {
                    cut = amp;
                }
            }
            if cut == 0 {
                cut = cut_byte;
            }
        }
        let piece = &rest[..cut];
        let mut chunk = format!("{prefix}{piece}");
        if target == Target::Html {
            open = open_tags(&chunk);
            for t in open.iter().rev() {
                chunk.push_str(&format!("</{t}>"));
            }
        }
        chunks.push(chunk.trim_end().to_string());
        rest = rest[cut..].trim_start_matches([' ', '\n']);
    }
    chunks
}

/// Tags left open at the end of an HTML fragment, outermost first.
fn open_tags(html: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        let Some(j) = rest[i..].find('>') else { break };
        let tag = &rest[i + 1..i + j];
        if let Some(name) = tag.strip_prefix('/') {
            if let Some(pos) = stack.iter().rposition(|t| t == name) {
                stack.truncate(pos);
            }
        } else {
            let name = tag.split_whitespace().next().unwrap_or("");
            if !name.is_empty() {
                stack.push(name.to_string());
            }
        }
        rest = &rest[i + j + 1..];
    }
    stack
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
        assert_eq!(escape_plain("a\u{1b}[2Jb"), "a[2Jb");
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

    #[test]
    fn split_never_cuts_an_entity() {
        let text = "&amp;".repeat(1000);
        for c in split(&text, 100, Target::Html) {
            assert!(c.starts_with("&amp;") && c.ends_with("&amp;"), "{c}");
        }
    }
}

#[cfg(test)]
mod code_span_tests {
    use super::*;

    /// A survey id in a Discord code span reads and copies as written: no backslashes, and a
    /// backtick in the content cannot end the span.
    #[test]
    fn markdown_code_spans_show_ids_unescaped() {
        let mut hb = registry(Target::Markdown);
        hb.register_template_string("t", "id {{#code}}{{id}}{{/code}} and {{id}}")
            .expect("template");
        let out = hb
            .render("t", &serde_json::json!({ "id": "next-feature_2" }))
            .expect("renders");
        assert_eq!(out, "id `next-feature_2` and next\\-feature\\_2");
        let out = hb
            .render("t", &serde_json::json!({ "id": "a`b" }))
            .expect("renders");
        assert!(out.starts_with("id `a\u{02CB}b` "), "{out}");
        // Telegram HTML keeps its <code>.
        let mut hb = registry(Target::Html);
        hb.register_template_string("t", "{{#code}}{{id}}{{/code}}")
            .expect("template");
        let out = hb
            .render("t", &serde_json::json!({ "id": "a-b" }))
            .expect("renders");
        assert_eq!(out, "<code>a-b</code>");
    }
}
