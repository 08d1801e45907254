//! The data paths a template reads, for comparing a translation with its default.

use super::helpers::HELPERS;
use handlebars::Path as HbPath;
use handlebars::template::{Parameter, Template, TemplateElement};
use std::collections::BTreeSet;

/// Every data path the template reads, keyed by the block scopes around it
/// (`each surveys` → `surveys[]/title`).
pub(super) fn used(t: &Template) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(t, &mut Vec::new(), &mut |key, _| {
        out.insert(key);
    });
    out
}

/// The first path in `t` that is not in `known`, with its line.
pub(super) fn first_unknown(t: &Template, known: &BTreeSet<String>) -> Option<(String, usize)> {
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
