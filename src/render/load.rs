//! Loading templates: the built-in ones, overridden and translated from a folder, each
//! compiled for every target; a broken template is named with its file and line.

use super::helpers::registry;
use super::vars;
use super::{RenderError, Renderer, TARGETS, Target};
use handlebars::Handlebars;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
pub(super) mod builtin {
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
                    let compiled = compile(&name, &file, &src)?;
                    register(&mut by_target, &name, compiled);
                    names.push(name);
                }
            }
        }
        for (base, name, file, src, built_in) in translations {
            let compiled = compile(&name, &file, &src)?;
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
            register(&mut by_target, &name, compiled);
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
}

/// Compiles a template once, named as `register_template_string` would name it (render
/// errors quote the name).
fn compile(name: &str, file: &str, src: &str) -> Result<handlebars::Template, RenderError> {
    let mut t = handlebars::Template::compile(src).map_err(|e| template_error(file, src, &e))?;
    t.name = Some(name.to_string());
    Ok(t)
}

/// One compiled template in every target's registry: compiling is most of the start-up
/// time of a command, and the targets differ only in their escaping and helpers.
fn register(
    by_target: &mut BTreeMap<Target, Handlebars<'static>>,
    name: &str,
    t: handlebars::Template,
) {
    for hb in by_target.values_mut() {
        hb.register_template(name, t.clone());
    }
}

pub(super) fn read(path: &Path) -> Result<String, RenderError> {
    std::fs::read_to_string(path).map_err(|error| RenderError::Read {
        dir: path.to_path_buf(),
        error,
    })
}

pub(super) fn collect(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), RenderError> {
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
