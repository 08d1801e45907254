//! Fuzzes `bot.toml` parsing: any text gives a config or an error naming the file, never a panic.
#![no_main]

use canvass_config::Config;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(src, Path::new("fuzz.toml")) {
        Ok(cfg) => {
            // Whatever is accepted holds only surveys that pass their own validation.
            for c in &cfg.surveys {
                assert!(c.survey.clone().validated().is_ok(), "{:?}", c.survey.id);
            }
            assert!(cfg.segments.min_size >= 10);
        }
        Err(e) => assert!(e.to_string().contains("fuzz.toml"), "{e}"),
    }
});
