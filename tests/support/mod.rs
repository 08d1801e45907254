//! Test support: `spawn_app()` on a temp database, a stepping clock, and event helpers.
#![allow(dead_code)]

pub(crate) mod commands;
pub(crate) mod discord;
pub(crate) mod e2e;
pub(crate) mod logs;
pub(crate) mod openai;
pub(crate) mod telegram;

use canvass::app::{App, Options};
use canvass::config::Config;
use canvass::core::event::{
    Actor, Body, ButtonAction, Chat, ChatKind, Inbound, Keyboard, Outbound, Platform,
};
use canvass::render::Target;
use canvass::service::{Clock, Handled};
use chrono::{DateTime, TimeZone, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A clock that starts at a fixed instant and moves one second per reading.
pub(crate) struct StepClock(AtomicI64);
impl StepClock {
    pub(crate) fn at(t: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(t.timestamp())))
    }
}
impl Clock for StepClock {
    fn now(&self) -> DateTime<Utc> {
        let s = self.0.fetch_add(1, Ordering::SeqCst);
        Utc.timestamp_opt(s, 0).single().unwrap_or_default()
    }
}

/// A clock the test sets by hand.
pub(crate) struct SetClock(std::sync::Mutex<DateTime<Utc>>);
impl SetClock {
    pub(crate) fn at(t: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(std::sync::Mutex::new(t)))
    }
    pub(crate) fn set(&self, t: DateTime<Utc>) {
        if let Ok(mut g) = self.0.lock() {
            *g = t;
        }
    }
}
impl Clock for SetClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|g| *g).unwrap_or_default()
    }
}

/// A draft, and a survey whose schedule opens it in 2030 (after every test's clock).
pub(crate) const UNOPENED: &str = r#"
[[surveys]]
id = "secretdraft"
title = "Secret pricing plan draft"
status = "draft"
[[surveys.questions]]
id = "q"
type = "single"
text = "Which plan?"
options = ["A", "B"]

[[surveys]]
id = "later"
title = "Next year's plan"
opens_at = "2030-01-01T00:00:00Z"
[[surveys.questions]]
id = "q"
type = "single"
text = "Which plan?"
options = ["A", "B"]
"#;

pub(crate) const CONFIG: &str = r#"
[team]
console = ["pm"]
telegram = [1000]
discord_roles = [777]

[segments.roles]
"778" = "beta testers"

[[surveys]]
id = "lunch"
title = "Lunch"
[[surveys.questions]]
id = "food"
type = "single"
text = "What should we order?"
options = ["Pizza", "Sushi", "Salad"]

[[surveys]]
id = "tools"
title = "Tools"
[[surveys.questions]]
id = "use"
type = "multi"
text = "Which do you use?"
options = ["Slack", "Discord", "Telegram", "Email"]
max_choices = 2

[[surveys]]
id = "rank"
title = "Roadmap ranking"
[[surveys.questions]]
id = "order"
type = "ranking"
text = "Rank these"
options = ["Dark mode", "Offline sync", "CSV export", "SSO"]

[[surveys]]
id = "deep"
title = "Deep dive"
[[surveys.questions]]
id = "plan"
type = "single"
text = "Which plan are you on?"
options = ["Free", "Pro"]
[[surveys.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
[[surveys.questions]]
id = "compare"
type = "pairwise"
text = "Which matters more?"
options = ["Speed", "Price", "Support"]
pairs_per_member = 3
[[surveys.questions]]
id = "tagline"
type = "message_test"
text = "Which line speaks to you?"
options = ["Fast and simple", "Honest numbers"]
[[surveys.questions]]
id = "why"
type = "open_text"
text = "Anything else?"
max_chars = 20
optional = true

[[surveys]]
id = "secret"
title = "Secret ballot"
anonymous = true
[[surveys.questions]]
id = "vote"
type = "single"
text = "Who should lead?"
options = ["Ada", "Grace"]

[[surveys]]
id = "secret-deep"
title = "Anonymous check-in"
anonymous = true
[[surveys.questions]]
id = "mood"
type = "rating"
text = "How are you?"
scale = 5
low_label = "Bad"
high_label = "Great"
[[surveys.questions]]
id = "note"
type = "open_text"
text = "Tell us more"
max_chars = 100
"#;

pub(crate) struct TestApp {
    pub app: App,
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub config: String,
    seq: AtomicU64,
}

pub(crate) fn prompts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")
}

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(CONFIG).await
}

pub(crate) async fn spawn_app_with(config: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("canvass.db");
    let app = boot(config, &db, 0).await;
    TestApp {
        app,
        dir,
        db,
        config: config.to_string(),
        seq: AtomicU64::new(0),
    }
}

/// Like `spawn_app_with`, with the templates loaded from `prompts_dir` (which the caller keeps).
pub(crate) async fn spawn_app_with_prompts(config: &str, prompts_dir: PathBuf) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("canvass.db");
    let app = boot_from(config, &db, 0, prompts_dir).await;
    TestApp {
        app,
        dir,
        db,
        config: config.to_string(),
        seq: AtomicU64::new(0),
    }
}

async fn boot(config: &str, db: &Path, offset_hours: i64) -> App {
    boot_from(config, db, offset_hours, prompts()).await
}

async fn boot_from(config: &str, db: &Path, offset_hours: i64, prompts_dir: PathBuf) -> App {
    // Beside the database, so the anonymity key file is made (and kept across restarts) there.
    let path = db.parent().unwrap_or(Path::new(".")).join("test.toml");
    let cfg = Config::parse(config, &path).expect("test config parses");
    App::start(
        cfg,
        Options {
            database: Some(db.display().to_string()),
            prompts: Some(prompts_dir),
            clock: StepClock::at(t0() + chrono::Duration::hours(offset_hours)),
            anon_key: None,
        },
    )
    .await
    .expect("app starts")
}

pub(crate) fn group() -> Chat {
    Chat {
        id: "community".into(),
        kind: ChatKind::Group,
        title: Some("community".into()),
    }
}

pub(crate) fn dm(user: &str) -> Chat {
    Chat {
        id: format!("dm:{user}"),
        kind: ChatKind::Private,
        title: None,
    }
}

pub(crate) fn actor(user: &str) -> Actor {
    let mut a = Actor::new(Platform::Console, user);
    a.display_name = Some(format!("{user} display"));
    a
}

impl TestApp {
    /// Stops the app and boots a new one on the same database file, as after a restart.
    pub(crate) async fn restart(self) -> TestApp {
        self.app.store.close().await;
        let app = boot(&self.config, &self.db, 1).await;
        TestApp { app, ..self }
    }

    pub(crate) fn next_id(&self) -> String {
        format!("test:{}", self.seq.fetch_add(1, Ordering::SeqCst))
    }

    pub(crate) fn event(&self, user: &str, chat: Chat, body: Body) -> Inbound {
        Inbound {
            event_id: self.next_id(),
            actor: actor(user),
            chat,
            body,
        }
    }

    pub(crate) async fn send(&self, ev: &Inbound) -> Handled {
        self.app.service.handle(ev).await.expect("event handled")
    }

    pub(crate) async fn say(&self, user: &str, chat: Chat, text: &str) -> Vec<Outbound> {
        let ev = self.event(user, chat, Body::Text(text.into()));
        self.send(&ev).await.replies().to_vec()
    }

    pub(crate) async fn tap(&self, user: &str, chat: Chat, payload: &str) -> Vec<Outbound> {
        let ev = self.event(user, chat, Body::Button(payload.into()));
        self.send(&ev).await.replies().to_vec()
    }

    /// Posts a survey in the group as the product team and returns its poll keyboard.
    pub(crate) async fn post(&self, survey: &str) -> Keyboard {
        let out = self.say("pm", group(), &format!("/post {survey}")).await;
        match out.first() {
            Some(Outbound::PostPoll { keyboard, .. }) => keyboard.clone(),
            other => panic!("expected a posted poll, got {other:?}"),
        }
    }

    /// Renders replies as plain text, one per line, for assertions.
    pub(crate) fn text(&self, out: &[Outbound]) -> String {
        let r = &self.app.renderer;
        out.iter()
            .filter_map(|o| match o {
                Outbound::Toast(m) => Some(r.render(Target::Plain, m)),
                Outbound::Reply { msg, .. }
                | Outbound::Private { msg, .. }
                | Outbound::PostPoll { msg, .. } => Some(r.render(Target::Plain, msg)),
                Outbound::File { caption, .. } => Some(r.render(Target::Plain, caption)),
                Outbound::Report { report, .. } => {
                    Some(r.report(canvass::render::report::Format::Chat(Target::Plain), report))
                }
                Outbound::Digest { brief, .. } => Some(r.digest(Target::Plain, brief)),
                Outbound::RefreshPolls { .. } => None,
            })
            .map(|t| t.expect("renders"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(crate) async fn scalar(&self, sql: &str) -> i64 {
        let row: (i64,) = sqlx::query_as(sql)
            .fetch_one(self.app.store.pool())
            .await
            .expect("query");
        row.0
    }

    /// Current answer values (JSON) for a survey question, sorted.
    pub(crate) async fn current(&self, survey: &str, question: &str) -> Vec<String> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT a.value FROM answers a JOIN respondents r ON r.id = a.respondent_id
               JOIN surveys s ON s.id = r.survey_id
              WHERE s.slug = ? AND a.question_id = ? AND a.superseded_at IS NULL ORDER BY a.value",
        )
        .bind(survey)
        .bind(question)
        .fetch_all(self.app.store.pool())
        .await
        .expect("query");
        rows.into_iter().map(|r| r.0).collect()
    }
}

/// The payloads of a keyboard's buttons, in order.
pub(crate) fn payloads(kb: &Keyboard) -> Vec<String> {
    kb.buttons()
        .filter_map(|b| match &b.action {
            ButtonAction::Payload(p) => Some(p.clone()),
            ButtonAction::DeepLink { .. } => None,
        })
        .collect()
}

/// The keyboard of the last message-like reply.
pub(crate) fn last_keyboard(out: &[Outbound]) -> Keyboard {
    out.iter()
        .rev()
        .find_map(|o| match o {
            Outbound::Reply { keyboard, .. }
            | Outbound::Private { keyboard, .. }
            | Outbound::PostPoll { keyboard, .. } => Some(keyboard.clone()),
            _ => None,
        })
        .unwrap_or_default()
}
