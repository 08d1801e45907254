//! The handlebars helpers every registry knows (`bold`, `italic`, `code`, `plural`, `inc`, and
//! the platform-aware `cmd`, `on` and `flag`), and the registry of one target with them.

use super::Target;
use super::escape::{escape_for, isolate};
use crate::core::event::Platform;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderErrorReason,
    Renderable,
};
use serde_json::Value;

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
pub(super) fn plural(
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

pub(super) fn registry(target: Target) -> Handlebars<'static> {
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
    hb.register_helper("flag", Box::new(flag));
    hb
}

/// The key under which `render_on` tells the `cmd` and `on` helpers the reader's platform and
/// its localised command names; templates never read it themselves.
pub(super) const PLATFORM_KEY: &str = "_platform";

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
pub(super) fn cmd(
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

/// `{{flag "closes"}}`: a `/poll` flag as the reader's platform takes it: `--closes` in a text
/// command, the separate option `closes:` on Discord (whose options keep these names in every
/// locale). The name may be data (an echo), so it is escaped like any value.
pub(super) fn flag(
    h: &Helper<'_>,
    r: &Handlebars<'_>,
    ctx: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let name = h
        .param(0)
        .and_then(|p| p.value().as_str())
        .ok_or(RenderErrorReason::InvalidParamType("string"))?;
    let name = r.get_escape_fn()(name);
    let platform = ctx
        .data()
        .get(PLATFORM_KEY)
        .and_then(|o| o.get("platform"))
        .and_then(Value::as_str);
    if platform == Some(Platform::Discord.as_str()) {
        out.write(&format!("{name}:"))?;
    } else {
        out.write(&format!("--{name}"))?;
    }
    Ok(())
}

/// `{{#on "discord"}}...{{else}}...{{/on}}`: wording for one platform, the rest otherwise.
pub(super) struct On;

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

/// Helpers known to every registry: built-ins and ours. Anything else in a template is data.
pub(super) const HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len", "bold", "italic", "code", "plural", "inc", "cmd", "on", "flag",
];

#[cfg(test)]
mod tests {
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
        // Outside the span only what Markdown needs is escaped: here nothing.
        assert_eq!(out, "id `next-feature_2` and next-feature_2");
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
