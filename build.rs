//! Embeds the default templates (`prompts/`, with locales and `samples.json`) in the binary:
//! writes a table of `include_str!` to `$OUT_DIR/prompts.rs`, so the binary runs from any
//! folder with only a `bot.toml` (a `prompts/` folder beside it overrides template by template).

use std::path::{Path, PathBuf};

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.extension().is_some_and(|x| x == "hbs") {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .with_extension("");
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, path));
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let prompts = root.join("prompts");
    println!("cargo:rerun-if-changed=prompts");
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = Vec::new();
    collect(&prompts, &prompts, &mut files);
    let mut src = String::from("/// Every default template: (name, source).\n");
    src.push_str("pub(crate) static TEMPLATES: &[(&str, &str)] = &[\n");
    for (name, path) in &files {
        src.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    src.push_str("];\n/// The default `samples.json`.\n");
    src.push_str(&format!(
        "pub(crate) static SAMPLES: &str = include_str!({:?});\n",
        prompts.join("samples.json").display().to_string()
    ));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("prompts.rs");
    std::fs::write(out, src).expect("writing prompts.rs");
}
