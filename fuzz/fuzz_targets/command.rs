//! Fuzzes chat command parsing: any text is not a command, a command with clean arguments
//! within the limits, or an error the member is shown; never a panic.
#![no_main]

use canvass_core::core::command::{self, Command, CommandError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match command::parse(text) {
        Ok(None) => assert!(!text.trim().starts_with('/')),
        Ok(Some(Command::Poll {
            question,
            options,
            max,
            ..
        })) => {
            assert!(!question.is_empty() && question.chars().count() <= 300);
            assert!((2..=25).contains(&options.len()));
            // An option may hold an escaped `\|`, so only emptiness and length are fixed.
            for o in &options {
                assert!(!o.is_empty() && o.chars().count() <= 80);
            }
            assert!(max.is_none_or(|m| m >= 1));
        }
        Ok(Some(Command::Insights { segment: Some(s), .. })) => {
            assert!(!s.is_empty() && s.trim() == s);
        }
        Ok(Some(_)) => {}
        Err(CommandError::Unknown(name)) => assert!(name.chars().count() <= 32),
        Err(CommandError::Usage { problem, .. }) => assert!(!problem.to_string().is_empty()),
    }
});
