//! The Discord adapter end to end: the real serenity client against the fake Discord.

use crate::support::commands::{Registered, named};
use crate::support::discord::adapter::RunningAdapter;
use crate::support::discord::*;
use crate::support::*;
use canvass::core::event::Platform;
use serde_json::{Value, json};

const GUILD: u64 = 5_000;
const CHANNEL: u64 = 5_001;
const TEAM_ROLE: u64 = 777;
const BETA_ROLE: u64 = 778;

struct Running {
    t: TestApp,
    fake: FakeDiscord,
    adapter: RunningAdapter,
}

fn pm() -> DcUser {
    DcUser::new(1_001, "Pat").with_roles(&[TEAM_ROLE])
}
fn ana() -> DcUser {
    DcUser::new(2_001, "Ana").with_roles(&[BETA_ROLE])
}
fn ben() -> DcUser {
    DcUser::new(2_002, "Ben")
}

async fn boot() -> Running {
    boot_with(spawn_app().await).await
}

async fn boot_with(t: TestApp) -> Running {
    let fake = FakeDiscord::start().await;
    fake.add_guild(
        GUILD,
        "Community",
        &[CHANNEL],
        &[(TEAM_ROLE, "product"), (BETA_ROLE, "beta")],
    );
    for u in [pm(), ana(), ben()] {
        fake.add_member(GUILD, &u);
    }
    let adapter = RunningAdapter::start(&t, &fake, GUILD).await;
    fake.wait_for("commands registered", |f| {
        (f.commands().len() >= 7).then_some(())
    })
    .await;
    Running { t, fake, adapter }
}

fn opt(name: &str, value: &str) -> Value {
    json!({ "name": name, "type": 3, "value": value })
}

fn sub(name: &str, options: Value) -> Value {
    json!([{ "name": name, "type": 1, "options": options }])
}

impl Running {
    async fn stop(self) {
        self.adapter.stop().await;
    }

    /// Posts a survey as the product team and returns the public poll message.
    async fn post(&self, survey: &str) -> Message {
        self.fake.slash(
            GUILD,
            CHANNEL,
            &pm(),
            "survey",
            sub("post", json!([opt("survey", survey)])),
        );
        self.fake
            .wait_for("the poll message", |f| {
                f.messages(CHANNEL)
                    .into_iter()
                    .find(|m| m.via == "channel" && !m.custom_ids().is_empty())
            })
            .await
    }

    /// Waits for the ephemeral reply to an interaction (its followup or edited original).
    async fn reply_to(&self, interaction: u64, needle: &str) -> Message {
        let what = format!("a reply to {interaction} containing {needle:?}");
        self.fake
            .wait_for(&what, |f| {
                f.messages(CHANNEL)
                    .into_iter()
                    .rev()
                    .find(|m| m.interaction_id == Some(interaction) && m.content.contains(needle))
            })
            .await
    }
}

#[tokio::test]
async fn members_answer_with_buttons_and_change_their_minds() {
    let r = boot().await;
    let cmds = r.fake.commands();
    assert!(cmds.iter().any(|c| c["name"] == "insights"), "{cmds:?}");
    let poll = r.post("lunch").await;
    assert!(
        poll.content.contains("**What should we order?**"),
        "{}",
        poll.content
    );
    assert!(!poll.is_ephemeral());
    let ids = poll.custom_ids();
    assert_eq!(ids.len(), 3);
    let i = r.fake.click(GUILD, CHANNEL, &ana(), poll.id, &ids[0]);
    let toast = r.reply_to(i, "Saved: Pizza").await;
    assert!(toast.is_ephemeral(), "confirmations are ephemeral");
    let i = r.fake.click(GUILD, CHANNEL, &ben(), poll.id, &ids[1]);
    r.reply_to(i, "Saved: Sushi").await;
    let i = r.fake.click(GUILD, CHANNEL, &ana(), poll.id, &ids[2]);
    r.reply_to(i, "Changed to: Salad").await;
    assert_eq!(r.t.current("lunch", "food").await.len(), 2);
    // Roles map to segments.
    let segs: Vec<(String,)> = sqlx::query_as("SELECT segments FROM respondents ORDER BY id")
        .fetch_all(r.t.app.store.pool())
        .await
        .unwrap();
    assert_eq!(segs[0].0, r#"["beta testers"]"#);
    // The public message is edited (coalesced) with the count, never the tally.
    r.fake
        .wait_for("the counter", |f| {
            f.message(CHANNEL, poll.id)
                .filter(|m| m.content.contains("2 people have answered"))
        })
        .await;
    r.stop().await;
}

#[tokio::test]
async fn ranking_uses_a_select_with_undo() {
    let r = boot().await;
    let poll = r.post("rank").await;
    // Four options and Undo do not fit Discord's rows of buttons: a select plus Undo.
    assert!(
        poll.components.to_string().contains("\"type\":3"),
        "{}",
        poll.components
    );
    let options = poll.components[0]["components"][0]["options"]
        .as_array()
        .unwrap()
        .clone();
    let value = |i: usize| options[i]["value"].as_str().unwrap().to_string();
    let undo = poll.buttons()[0].1.clone();
    let i = r
        .fake
        .select(GUILD, CHANNEL, &ana(), poll.id, "choose", &[&value(3)]);
    r.reply_to(i, "#1: SSO. 3 more to go.").await;
    let i = r
        .fake
        .select(GUILD, CHANNEL, &ana(), poll.id, "choose", &[&value(0)]);
    r.reply_to(i, "#2: Dark mode").await;
    let i = r.fake.click(GUILD, CHANNEL, &ana(), poll.id, &undo);
    r.reply_to(i, "Undone.").await;
    for v in [1, 2] {
        let i = r
            .fake
            .select(GUILD, CHANNEL, &ana(), poll.id, "choose", &[&value(v)]);
        r.fake
            .wait_for("a reply", |f| {
                f.messages(CHANNEL)
                    .into_iter()
                    .find(|m| m.interaction_id == Some(i))
            })
            .await;
    }
    assert_eq!(
        r.t.current("rank", "order").await,
        vec![r#"{"kind":"ranking","value":["sso","offline-sync","csv-export","dark-mode"]}"#]
    );
    r.stop().await;
}

#[tokio::test]
async fn a_private_survey_with_an_open_text_modal() {
    let r = boot().await;
    let i = r.fake.slash(
        GUILD,
        CHANNEL,
        &ana(),
        "survey",
        sub("take", json!([opt("survey", "secret-deep")])),
    );
    let invite = r.reply_to(i, "answered in messages only you can see").await;
    assert!(invite.is_ephemeral());
    let take = invite.custom_ids()[0].clone();
    let i = r.fake.click(GUILD, CHANNEL, &ana(), invite.id, &take);
    let q = r
        .fake
        .wait_for("question 1", |f| {
            f.messages(CHANNEL).into_iter().rev().find(|m| {
                m.interaction_id == Some(i)
                    && m.content.contains("1/2")
                    && m.content.contains("How are you?")
            })
        })
        .await;
    assert!(q.is_ephemeral());
    let i = r
        .fake
        .click(GUILD, CHANNEL, &ana(), q.id, &q.custom_ids()[3]);
    let _ = i;
    let q2 = r
        .fake
        .wait_for("question 2", |f| {
            f.messages(CHANNEL)
                .into_iter()
                .rev()
                .find(|m| m.content.contains("2/2"))
        })
        .await;
    let compose = q2
        .custom_ids()
        .into_iter()
        .find(|c| c.starts_with("compose."))
        .expect("a write-your-answer button");
    let i = r.fake.click(GUILD, CHANNEL, &ana(), q2.id, &compose);
    let modal = r.fake.wait_for("the modal", |f| f.response(i)).await;
    assert_eq!(modal.kind, 9);
    let i = r.fake.submit_modal(
        GUILD,
        CHANNEL,
        &ana(),
        "answer",
        &[("text", "@everyone **this** <@&777> rocks")],
    );
    r.reply_to(i, "saved anonymously").await;
    assert_eq!(
        r.t.current("secret-deep", "note").await,
        vec![r#"{"kind":"text","value":"@everyone **this** <@&777> rocks"}"#]
    );
    // Nothing the bot sent could ping anyone.
    for m in r.fake.messages(CHANNEL) {
        assert!(m.pinged().is_empty(), "{m:?}");
    }
    assert_eq!(
        r.t.scalar("SELECT COUNT(*) FROM members").await,
        0,
        "anonymous: no member row"
    );
    r.stop().await;
}

/// Takes `survey` privately as `user` and returns the first question's message.
async fn take(r: &Running, user: &DcUser, survey: &str, question: &str) -> Message {
    let i = r.fake.slash(
        GUILD,
        CHANNEL,
        user,
        "survey",
        sub("take", json!([opt("survey", survey)])),
    );
    let invite = r.reply_to(i, "only you can see").await;
    let take = invite.custom_ids()[0].clone();
    let i = r.fake.click(GUILD, CHANNEL, user, invite.id, &take);
    r.reply_to(i, question).await
}

#[tokio::test]
async fn cancel_on_discord_stops_the_private_flow() {
    let r = boot().await;
    let cmds = r.fake.commands();
    assert!(cmds.iter().any(|c| c["name"] == "cancel"), "{cmds:?}");
    let q = take(&r, &ana(), "lunch", "What should we order?").await;
    assert!(q.is_ephemeral());
    let i = r.fake.slash(GUILD, CHANNEL, &ana(), "cancel", json!([]));
    let stopped = r.reply_to(i, "Stopped").await;
    assert!(stopped.is_ephemeral());
    // It names the way back as Discord has it.
    assert!(
        stopped.content.contains("/survey take lunch"),
        "{}",
        stopped.content
    );
    // The flow is over: its buttons change nothing and there is nothing left to cancel.
    let i = r
        .fake
        .click(GUILD, CHANNEL, &ana(), q.id, &q.custom_ids()[0]);
    let _ = i;
    r.fake
        .wait_for("the stale tap refused", |f| {
            f.message(CHANNEL, q.id)
                .filter(|m| m.content.contains("no longer valid"))
        })
        .await;
    assert!(r.t.current("lunch", "food").await.is_empty());
    let i = r.fake.slash(GUILD, CHANNEL, &ana(), "cancel", json!([]));
    r.reply_to(i, "You are not taking a survey right now").await;
    r.stop().await;
}

#[tokio::test]
async fn the_answer_form_shows_the_question() {
    let long = "What would make the weekly planning meeting worth the hour it takes?";
    let config = format!(
        "{CONFIG}\n[[surveys]]\nid = \"retro\"\ntitle = \"Retro\"\n[[surveys.questions]]\n\
         id = \"why\"\ntype = \"open_text\"\ntext = \"{long}\"\nmax_chars = 200\n"
    );
    let r = boot_with(spawn_app_with(&config).await).await;
    let q = take(&r, &ana(), "retro", "weekly planning").await;
    // Only the button works on Discord, and the prompt says so.
    assert!(
        q.content
            .contains("Tap the button below to write your answer"),
        "{}",
        q.content
    );
    assert!(!q.content.contains("as a message"), "{}", q.content);
    let compose = q
        .custom_ids()
        .into_iter()
        .find(|c| c.starts_with("compose."))
        .expect("a write-your-answer button");
    let i = r.fake.click(GUILD, CHANNEL, &ana(), q.id, &compose);
    let modal = r.fake.wait_for("the modal", |f| f.response(i)).await;
    assert_eq!(modal.kind, 9);
    let title = modal.data["title"].as_str().unwrap_or_default();
    let head: String = long.chars().take(44).collect();
    assert_eq!(title, format!("{head}…"), "{}", modal.data);
    let input = &modal.data["components"][0]["components"][0];
    assert_eq!(input["placeholder"], long, "{}", modal.data);
    assert_eq!(input["label"], "Your answer", "{}", modal.data);
    assert_eq!(input["max_length"], 200, "{}", modal.data);
    // A short question is the whole title.
    let q = take(&r, &ben(), "secret-deep", "How are you?").await;
    let i = r
        .fake
        .click(GUILD, CHANNEL, &ben(), q.id, &q.custom_ids()[3]);
    let _ = i;
    let q2 = r
        .fake
        .wait_for("question 2", |f| {
            f.message(CHANNEL, q.id)
                .filter(|m| m.content.contains("Tell us more"))
        })
        .await;
    let compose = q2
        .custom_ids()
        .into_iter()
        .find(|c| c.starts_with("compose."))
        .expect("a write-your-answer button");
    let i = r.fake.click(GUILD, CHANNEL, &ben(), q2.id, &compose);
    let modal = r.fake.wait_for("the modal", |f| f.response(i)).await;
    assert_eq!(modal.data["title"], "Tell us more", "{}", modal.data);
    r.stop().await;
}

#[tokio::test]
async fn help_on_discord_names_only_registered_commands() {
    let r = boot().await;
    let registered = Registered::new(r.fake.commands(), r.t.app.renderer.locales());
    let lena = DcUser::new(2_010, "Lena")
        .with_roles(&[TEAM_ROLE])
        .with_locale("de");
    let sofia = DcUser::new(2_011, "Sofía").with_locale("es-ES");
    for (user, locale, expect) in [
        (pm(), "en", "/survey post"),
        (ana(), "en", "/survey take"),
        (lena, "de", "/befragung post"),
        (sofia, "es", "/encuesta take"),
    ] {
        r.fake.add_member(GUILD, &user);
        let i = r.fake.slash(GUILD, CHANNEL, &user, "help", json!([]));
        let help = r.reply_to(i, "canvass").await;
        assert!(help.content.contains(expect), "{}", help.content);
        let named = named(&help.content);
        assert!(named.len() >= 7, "{named:?} in {}", help.content);
        for (word, next) in named {
            let refused = registered.refuses(Platform::Discord, locale, &word, next.as_deref());
            assert!(refused.is_none(), "{refused:?} in {}", help.content);
        }
    }
    r.stop().await;
}

#[tokio::test]
async fn insights_and_export_for_the_team_and_refusals_for_others() {
    let r = boot().await;
    let poll = r.post("lunch").await;
    let ids = poll.custom_ids();
    for (n, u) in (0..12u64).map(|n| (n, DcUser::new(3_000 + n, "M"))) {
        r.fake.add_member(GUILD, &u);
        let i = r
            .fake
            .click(GUILD, CHANNEL, &u, poll.id, &ids[(n % 2) as usize]);
        r.reply_to(i, "Saved").await;
    }
    let i = r.fake.slash(
        GUILD,
        CHANNEL,
        &pm(),
        "insights",
        json!([opt("survey", "lunch")]),
    );
    // Not a team channel: only the asker sees the report.
    let report = r.reply_to(i, "**Headline**").await;
    assert!(report.is_ephemeral());
    assert!(
        report
            .files
            .iter()
            .any(|(name, bytes)| name == "chart.png" && bytes.starts_with(b"\x89PNG"))
    );
    let i = r.fake.slash(
        GUILD,
        CHANNEL,
        &ben(),
        "insights",
        json!([opt("survey", "lunch")]),
    );
    let refusal = r.reply_to(i, "is for the product team").await;
    assert!(
        refusal.is_ephemeral(),
        "{refusal:?} {:?}",
        r.fake.response(i)
    );
    // Server administrators count as product team.
    let admin = DcUser::new(9_009, "Admin").admin();
    r.fake.add_member(GUILD, &admin);
    let i = r.fake.slash(
        GUILD,
        CHANNEL,
        &admin,
        "export",
        json!([opt("survey", "lunch")]),
    );
    let export = r.reply_to(i, "Answers to").await;
    assert!(export.is_ephemeral(), "the CSV is for the asker only");
    let (name, bytes) = &export.files[0];
    assert_eq!(name, "lunch.csv");
    let csv = String::from_utf8(bytes.clone()).unwrap();
    assert_eq!(csv.lines().count(), 13, "{csv}");
    assert!(csv.contains("discord:3000,"), "{csv}");
    r.stop().await;
}

#[tokio::test]
async fn forgetme_duplicates_and_forged_custom_ids() {
    let r = boot().await;
    let poll = r.post("lunch").await;
    let ids = poll.custom_ids();
    let first = r.fake.click(GUILD, CHANNEL, &ana(), poll.id, &ids[0]);
    r.reply_to(first, "Saved: Pizza").await;
    let i = r.fake.click(GUILD, CHANNEL, &ana(), poll.id, &ids[1]);
    r.reply_to(i, "Changed to: Sushi").await;
    // The gateway replays the first click: the change stands.
    let calls = r.fake.calls("POST", "/api/v10/interactions");
    r.fake.replay(first);
    r.fake
        .wait_for("the replay to be seen", |f| {
            (f.calls("POST", "/api/v10/interactions") > calls).then_some(())
        })
        .await;
    assert_eq!(
        r.t.current("lunch", "food").await,
        vec![r#"{"kind":"choice","value":"sushi"}"#]
    );
    assert_eq!(r.t.scalar("SELECT COUNT(*) FROM answers").await, 2);
    // Forged custom ids change nothing and say so privately.
    for forged in ["c1.999.c.0.0", "garbage"] {
        let i = r.fake.click_forged(GUILD, CHANNEL, &ben(), poll.id, forged);
        let m = r.reply_to(i, "This button is no longer valid").await;
        assert!(m.is_ephemeral());
    }
    assert_eq!(r.t.scalar("SELECT COUNT(*) FROM answers").await, 2);
    // /forgetme
    let i = r.fake.slash(GUILD, CHANNEL, &ana(), "forgetme", json!([]));
    let m = r.reply_to(i, "Deleted 2 answers").await;
    assert!(m.is_ephemeral());
    assert_eq!(r.t.scalar("SELECT COUNT(*) FROM members").await, 0);
    r.stop().await;
}

#[tokio::test]
async fn commands_are_localised_and_a_spanish_member_answers_in_spanish() {
    let r = boot().await;
    let cmds = r.fake.commands();
    let help = cmds
        .iter()
        .find(|c| c["name"] == "help")
        .expect("help registered");
    assert_eq!(help["name_localizations"]["de"], "hilfe", "{help}");
    assert_eq!(help["name_localizations"]["es-ES"], "ayuda", "{help}");
    assert_eq!(help["name_localizations"]["es-419"], "ayuda", "{help}");
    assert_eq!(help["description_localizations"]["de"], "Was canvass kann");
    assert_eq!(
        help["description_localizations"]["es-419"],
        "Qué puede hacer canvass"
    );
    let survey = cmds.iter().find(|c| c["name"] == "survey").expect("survey");
    assert!(
        survey["options"][0]["description_localizations"]["es-ES"].is_string(),
        "{survey}"
    );

    let lucia = DcUser::new(2_003, "Lucía").with_locale("es-419");
    r.fake.add_member(GUILD, &lucia);
    let i = r.fake.slash(
        GUILD,
        CHANNEL,
        &lucia,
        "survey",
        sub("take", json!([opt("survey", "lunch")])),
    );
    let invite = r
        .reply_to(i, "se responde en mensajes que solo tú ves")
        .await;
    let take = invite.custom_ids()[0].clone();
    let i = r.fake.click(GUILD, CHANNEL, &lucia, invite.id, &take);
    let q = r
        .fake
        .wait_for("the question in Spanish", |f| {
            f.messages(CHANNEL)
                .into_iter()
                .rev()
                .find(|m| m.interaction_id == Some(i) && m.content.contains("Elige una."))
        })
        .await;
    let i = r
        .fake
        .click(GUILD, CHANNEL, &lucia, q.id, &q.custom_ids()[1]);
    let _ = i;
    let done = r
        .fake
        .wait_for("the Spanish confirmation", |f| {
            f.messages(CHANNEL)
                .into_iter()
                .find(|m| m.content.contains("Guardado: Sushi"))
        })
        .await;
    assert!(done.content.contains("eso es todo"), "{}", done.content);
    assert_eq!(
        r.t.current("lunch", "food").await,
        vec![r#"{"kind":"choice","value":"sushi"}"#]
    );
    r.stop().await;
}

#[tokio::test]
async fn insights_carry_a_checked_narrative_without_member_identities() {
    use crate::support::openai::{FakeOpenAi, Reply};
    let llm = FakeOpenAi::start(Reply::Status(503)).await;
    let r = boot_with(spawn_app_with(&format!("{CONFIG}{}", llm.section(10_000))).await).await;
    let poll = r.post("lunch").await;
    let ids = poll.custom_ids();
    for (n, u) in (0..12u64).map(|n| (n, DcUser::new(6_661_000 + n, "Quentin Zebulon"))) {
        r.fake.add_member(GUILD, &u);
        let i = r
            .fake
            .click(GUILD, CHANNEL, &u, poll.id, &ids[(n % 2) as usize]);
        r.reply_to(i, "Saved").await;
    }
    llm.set(Reply::Text(
        "Pizza and Sushi have 50% each of 12 respondents; @everyone should wait.".into(),
    ));
    let i = r.fake.slash(
        GUILD,
        CHANNEL,
        &pm(),
        "insights",
        json!([opt("survey", "lunch")]),
    );
    let report = r.reply_to(i, "**Headline**").await;
    assert!(
        report.content.contains("*Written by a language model"),
        "{}",
        report.content
    );
    assert!(
        report
            .content
            .contains("Pizza and Sushi have 50% each of 12 respondents; \\@everyone should wait."),
        "{}",
        report.content
    );
    let requests = llm.requests();
    assert_eq!(requests.len(), 1);
    let body = String::from_utf8_lossy(&requests[0]);
    assert!(
        !body.contains("6661") && !body.contains("Zebulon"),
        "{body}"
    );
    r.stop().await;
}

/// Finding 4 of review 20: a reply over 2000 characters is split between whole escapes, so no
/// chunk ends with a lone `\` and the next begins with a live `*`.
#[tokio::test]
async fn a_long_markdown_reply_is_split_between_whole_escapes() {
    let config = format!(
        "{CONFIG}
[[surveys]]
id = \"bigtext\"
title = \"Big text\"
[[surveys.questions]]
id = \"note\"
type = \"open_text\"
text = \"Say it all\"
max_chars = 2000
"
    );
    let r = boot_with(spawn_app_with(&config).await).await;
    let q = take(&r, &ana(), "bigtext", "Say it all").await;
    let compose = q
        .custom_ids()
        .into_iter()
        .find(|c| c.starts_with("compose."))
        .expect("a write-your-answer button");
    let i = r.fake.click(GUILD, CHANNEL, &ana(), q.id, &compose);
    r.fake.wait_for("the modal", |f| f.response(i)).await;
    let member = "*_~|".repeat(500);
    let i = r.fake.submit_modal(
        GUILD,
        CHANNEL,
        &ana(),
        "answer",
        &[("text", member.as_str())],
    );
    let chunks = r
        .fake
        .wait_for("the whole saved reply", |f| {
            let parts: Vec<String> = f
                .messages(CHANNEL)
                .into_iter()
                .filter(|m| m.interaction_id == Some(i))
                .map(|m| m.content)
                .collect();
            (parts.concat().matches("\\|").count() >= 500).then_some(parts)
        })
        .await;
    assert!(chunks.len() > 1, "{chunks:?}");
    for c in &chunks {
        assert!(c.chars().count() <= 2000);
        let trailing = c.chars().rev().take_while(|ch| *ch == '\\').count();
        assert_eq!(trailing % 2, 0, "a chunk ends with a lone backslash: {c:?}");
    }
    for c in &chunks[1..] {
        assert!(
            c.starts_with('\\') || !c.starts_with(['*', '_', '~', '|']),
            "a chunk starts with live Markdown: {:?}",
            c.chars().take(20).collect::<String>()
        );
    }
    assert_eq!(
        r.t.current("bigtext", "note").await.len(),
        1,
        "the answer is stored"
    );
    r.stop().await;
}
