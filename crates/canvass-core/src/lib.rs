//! canvass's pure layer: the domain (`core`), the insight engine (`insight`), the adapter
//! boundary (`event`), locale conventions and the digest schedule. No I/O, no clock, no
//! platform, SQL, template or HTTP crate: its manifest cannot name them. Dependencies run one
//! way: `event` → `insight` → `core` and `locale`; `schedule` → `insight`.

pub mod core;
pub mod event;
pub mod insight;
pub mod locale;
pub mod schedule;
