//! Fuzzes button payloads (Telegram callback_data) and Discord custom ids: decoding is strict,
//! so anything accepted is exactly what we would have encoded, and fits in 64 bytes.
#![no_main]

use canvass_core::core::command;
use canvass_core::core::payload::{CustomId, MAX_PAYLOAD_BYTES, Payload, decode_custom_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Payload::decode(raw) {
        assert_eq!(p.encode(), raw);
        assert!(raw.len() <= MAX_PAYLOAD_BYTES);
    }
    match decode_custom_id(raw) {
        CustomId::Compose { max, .. } => assert!((1..=4000).contains(&max)),
        // A forged "take" button can only ever start a survey, never run a team command.
        CustomId::Take(survey) => {
            if let Ok(Some(cmd)) = command::parse(&format!("/start {survey}")) {
                assert!(!cmd.needs_team(), "{cmd:?}");
                assert_eq!(cmd.name(), "start");
            }
        }
        CustomId::Payload(p) => assert_eq!(p, raw),
    }
});
