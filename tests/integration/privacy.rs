//! Anonymity, /mydata and /forgetme.

use crate::support::*;
use canvass::core::ids::SurveyKey;

/// Whether any file of the database (main, WAL, shared memory) contains `needle`.
fn db_contains(dir: &std::path::Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
}

#[tokio::test]
async fn an_anonymous_survey_leaves_no_platform_id_in_the_database() {
    let t = spawn_app().await;
    let user = "zq7731-unique-person";
    let p = payloads(&t.post("secret").await);
    assert!(
        t.text(&t.tap(user, group(), &p[0]).await)
            .starts_with("Saved")
    );
    // A second vote replaces the first: the salted hash is stable within the survey.
    assert!(
        t.text(&t.tap(user, group(), &p[1]).await)
            .starts_with("Changed")
    );
    // And a private anonymous survey, with free text.
    let out = t.say(user, dm(user), "/start secret-deep").await;
    assert!(t.text(&out).contains("anonymous"), "{}", t.text(&out));
    t.tap(user, dm(user), &payloads(&last_keyboard(&out))[3])
        .await;
    let out = t.say(user, dm(user), "fine, thanks").await;
    assert!(
        t.text(&out).contains("saved anonymously"),
        "{}",
        t.text(&out)
    );
    let _ = out;

    assert_eq!(t.current("secret", "vote").await.len(), 1);
    assert_eq!(t.current("secret-deep", "note").await.len(), 1);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM members").await, 0);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM respondents WHERE member_id IS NOT NULL")
            .await,
        0
    );
    // Two surveys, two unlinkable keys.
    assert_eq!(
        t.scalar("SELECT COUNT(DISTINCT anon_key) FROM respondents")
            .await,
        2
    );
    let dir = t.dir.path().to_path_buf();
    t.app.store.close().await;
    assert!(
        !db_contains(&dir, user),
        "platform id found in the database files"
    );
    assert!(
        !db_contains(&dir, &format!("{user} display")),
        "display name found"
    );
}

#[tokio::test]
async fn mydata_shows_and_forgetme_deletes_what_is_stored() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    t.tap("alice", group(), &p[0]).await;
    t.tap("alice", group(), &p[1]).await;
    let s = payloads(&t.post("secret").await);
    t.tap("alice", group(), &s[0]).await;
    t.tap("bob", group(), &p[2]).await;

    let out = t.say("alice", group(), "/mydata").await;
    assert!(
        matches!(
            out.first(),
            Some(canvass::core::event::Outbound::Private { .. })
        ),
        "sent privately"
    );
    let text = t.text(&out);
    assert!(
        text.contains("console user alice (alice display)"),
        "{text}"
    );
    assert!(text.contains("Lunch / food: Pizza"), "{text}");
    assert!(text.contains("Lunch / food: Sushi"), "{text}");
    assert!(text.contains("replaced"), "{text}");
    assert!(
        !text.contains("Secret ballot"),
        "anonymous answers are not linked: {text}"
    );

    let out = t.say("alice", dm("alice"), "/forgetme").await;
    let text = t.text(&out);
    assert!(text.contains("Deleted 2 answers"), "{text}");
    assert!(text.contains("Lunch: 2 answers"), "{text}");
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM members WHERE platform_user_id = 'alice'")
            .await,
        0
    );
    assert_eq!(
        t.current("lunch", "food").await,
        vec![r#"{"kind":"choice","value":"salad"}"#]
    );
    assert_eq!(
        t.current("secret", "vote").await.len(),
        1,
        "anonymous vote stays"
    );
    let out = t.say("alice", dm("alice"), "/mydata").await;
    assert!(t.text(&out).contains("canvass stores nothing about you"));
    let out = t.say("alice", dm("alice"), "/forgetme").await;
    assert!(t.text(&out).contains("nothing to delete"));
}

#[tokio::test]
async fn anonymous_answers_through_telegram_and_discord_leave_no_platform_id() {
    use crate::abuse::*;
    use crate::support::discord::DcUser;
    use crate::support::telegram::TgUser;
    let b = boot_both().await;
    let tg_id: i64 = 7_313_131_313;
    let dc_id: u64 = 868_686_868_686_868_686;
    let tg_user = TgUser::new(tg_id, "Zelda Qwxyzname");
    let dc_user = DcUser::new(dc_id, "Quentin Qwxyzname");
    b.dc.add_member(GUILD, &dc_user);
    b.dc.add_member(GUILD, &dc_team());
    let (tgm, dcm) = b.post_both("/post secret").await;
    let tg_buttons = b.tg.buttons(TG_GROUP, tgm.message_id);
    let toast = b
        .tg_tap(&tg_user, &tg_group(), tgm.message_id, &tg_buttons[0].1)
        .await;
    assert_eq!(toast, "Saved: Ada");
    let toast = b
        .tg_tap(&tg_user, &tg_group(), tgm.message_id, &tg_buttons[1].1)
        .await;
    assert_eq!(toast, "Changed to: Grace");
    let i =
        b.dc.click(GUILD, CHANNEL, &dc_user, dcm.id, &dcm.custom_ids()[0]);
    b.dc_reply(CHANNEL, i, "Saved: Ada").await;
    let t = b.stop().await;
    assert_eq!(t.current("secret", "vote").await.len(), 2);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM members").await, 0);
    let dir = t.dir.path().to_path_buf();
    t.app.store.close().await;
    for needle in [
        tg_id.to_string(),
        dc_id.to_string(),
        "Qwxyzname".to_string(),
    ] {
        assert!(
            !db_contains(&dir, &needle),
            "{needle} found in the database files"
        );
    }
}

const PERSONA: &str = r#"
[persona]
question = "What describes you best?"
options = ["Customer", "Partner"]
"#;

/// A member with a locale, a mapped role and a recent join date.
fn rich_actor(user: &str) -> canvass::core::event::Actor {
    let mut a = canvass::core::event::Actor::new(canvass::core::event::Platform::Console, user);
    a.display_name = Some(format!("{user} Example"));
    a.locale = Some("pt-BR".into());
    a.roles = vec!["778".into()];
    a.joined_at = Some(t0() - chrono::Duration::days(1));
    a
}

async fn as_rich(
    t: &TestApp,
    user: &str,
    chat: canvass::core::event::Chat,
    body: canvass::core::event::Body,
) -> Vec<canvass::core::event::Outbound> {
    let mut ev = t.event(user, chat, body);
    ev.actor = rich_actor(user);
    t.send(&ev).await.replies().to_vec()
}

/// Ana: a group answer (chat segment, role segment, new member), an unfinished ranking
/// (draft), the persona, a private survey in progress (flow, shown_at). Bob: waiting for the
/// persona question.
async fn leave_traces(t: &TestApp) {
    use canvass::core::event::Body;
    let lunch = payloads(&t.post("lunch").await);
    let rank = payloads(&t.post("rank").await);
    as_rich(t, "4242", group(), Body::Button(lunch[1].clone())).await;
    as_rich(t, "4242", group(), Body::Button(rank[2].clone())).await;
    let out = as_rich(t, "4242", dm("4242"), Body::Text("/start deep".into())).await;
    assert!(
        t.text(&out).contains("What describes you best?"),
        "{}",
        t.text(&out)
    );
    let persona = payloads(&last_keyboard(&out));
    let out = as_rich(t, "4242", dm("4242"), Body::Button(persona[1].clone())).await;
    assert!(t.text(&out).contains("Deep dive"), "{}", t.text(&out));
    let q = payloads(&last_keyboard(&out));
    as_rich(t, "4242", dm("4242"), Body::Button(q[1].clone())).await;
    as_rich(t, "5353", dm("5353"), Body::Text("/start deep".into())).await;
    assert_eq!(t.scalar("SELECT COUNT(*) FROM drafts").await, 1);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM flows").await, 1);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM pending_persona").await, 1);
}

#[tokio::test]
async fn mydata_shows_every_stored_field() {
    let t = spawn_app_with(&format!("{CONFIG}{PERSONA}")).await;
    leave_traces(&t).await;
    let out = as_rich(
        &t,
        "4242",
        dm("4242"),
        canvass::core::event::Body::Text("/mydata".into()),
    )
    .await;
    let text = t.text(&out);
    // Every column of the member's rows, as stored (ids and keys aside).
    let member: (String, String, String, String, String) = sqlx::query_as(
        "SELECT platform, platform_user_id, display_name, locale, persona FROM members
          WHERE platform_user_id = '4242'",
    )
    .fetch_one(t.app.store.pool())
    .await
    .unwrap();
    // The persona is stored as its option id and shown as its label.
    assert_eq!(member.4, "partner");
    assert!(text.contains("Describes you as: Partner"), "{text}");
    for field in [&member.0, &member.1, &member.2, &member.3] {
        assert!(
            text.contains(field.as_str()),
            "{field:?} missing from:\n{text}"
        );
    }
    for expected in [
        "first seen 2026-11-02",
        // respondents: segments at the latest answer, new-member flag, since when
        "Lunch: since 2026-11-02",
        "groups: beta testers",
        "persona: Partner",
        "you were new to the community",
        // answers: value, when, where, when the question was shown, replaced or not
        "Lunch / food: Sushi (2026-11-02",
        "in chat: community",
        "Deep dive / plan: Pro",
        "question shown 2026-11-02",
        // drafts and flows
        "Unfinished answers: Roadmap ranking / order",
        "Surveys in progress: deep",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    let out = as_rich(
        &t,
        "5353",
        dm("5353"),
        canvass::core::event::Body::Text("/mydata".into()),
    )
    .await;
    let text = t.text(&out);
    assert!(
        text.contains("persona question before: Deep dive"),
        "{text}"
    );
}

#[tokio::test]
async fn forgetme_removes_every_identifying_row_from_every_table() {
    let t = spawn_app_with(&format!("{CONFIG}{PERSONA}")).await;
    leave_traces(&t).await;
    // An anonymous answer, which must stay and stay unlinkable.
    let s = payloads(&t.post("secret").await);
    as_rich(
        &t,
        "4242",
        group(),
        canvass::core::event::Body::Button(s[0].clone()),
    )
    .await;
    for user in ["4242", "5353"] {
        let out = as_rich(
            &t,
            user,
            dm(user),
            canvass::core::event::Body::Text("/forgetme".into()),
        )
        .await;
        assert!(t.text(&out).contains("Done. Deleted"), "{}", t.text(&out));
    }
    // The files too: the WAL is checkpointed and truncated after a deletion.
    for needle in ["4242 Example", "5353 Example"] {
        assert!(
            !db_contains(t.dir.path(), needle),
            "{needle:?} left in the files"
        );
    }
    let tables = crate::abuse::dump(&t).await;
    assert!(tables.len() >= 10, "{:?}", tables.keys());
    for (table, rows) in &tables {
        for row in rows {
            // Segments (roles, persona) stay on the anonymous answer: group-level, by design.
            for needle in ["4242", "5353", "Example", "pt-BR"] {
                assert!(
                    !row.contains(needle),
                    "{table}: {row} still holds {needle:?}"
                );
            }
        }
    }
    for (table, expected) in [
        ("members", 0),
        ("drafts", 0),
        ("flows", 0),
        ("pending_persona", 0),
        ("respondents WHERE member_id IS NOT NULL", 0),
        ("answers", 1),
    ] {
        assert_eq!(
            t.scalar(&format!("SELECT COUNT(*) FROM {table}")).await,
            expected,
            "{table}"
        );
    }
}

#[tokio::test]
async fn segments_under_ten_are_never_shown() {
    use canvass::core::event::Body;
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    // 9 beta testers (a mapped role) and 15 others.
    for i in 0..24 {
        let mut ev = t.event(&format!("m{i}"), group(), Body::Button(p[i % 3].clone()));
        if i < 9 {
            ev.actor.roles = vec!["778".into()];
        }
        t.send(&ev).await;
    }
    let out = t.say("pm", group(), "/insights lunch").await;
    let text = t.text(&out);
    assert!(text.contains("24 respondents"), "{text}");
    assert!(!text.contains("beta testers"), "{text}");
    let out = t.say("pm", group(), "/insights lunch beta testers").await;
    let text = t.text(&out);
    assert!(text.contains("fewer than 10 respondents"), "{text}");
    // Nor in the digest.
    let out = t.say("pm", group(), "/digest").await;
    assert!(!t.text(&out).contains("beta testers"), "{}", t.text(&out));
    // Nor in the JSON report (the export is raw data for the team and carries segments).
    let out = t.say("pm", group(), "/insights lunch").await;
    let Some(canvass::core::event::Outbound::Report { report, .. }) = out.first() else {
        panic!("expected a report, got {out:?}");
    };
    let json = t
        .app
        .renderer
        .report(canvass::render::report::Format::Json, report)
        .unwrap();
    assert!(!json.contains("beta testers"), "{json}");
}

/// Runs the real binary with both adapters, traces on and the tokens in its environment,
/// drives both fakes, and searches everything it printed for the tokens.
#[tokio::test]
async fn tokens_never_appear_in_logs() {
    use crate::support::discord::{self as dc, DcUser, FakeDiscord};
    use crate::support::telegram::{self as tg, FakeTelegram, TgChat, TgUser};
    let tgf = FakeTelegram::start().await;
    let dcf = FakeDiscord::start().await;
    dcf.add_guild(5_000, "Community", &[5_001], &[(777, "product")]);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(prompts(), dir.path().join("prompts")).unwrap();
    let config = format!(
        "[team]\ntelegram = [1000]\ndiscord_roles = [777]\n\
         [telegram]\ntoken_env = \"CANVASS_TELEGRAM_TOKEN\"\napi_url = \"{}\"\npoll_refresh_ms = 100\n\
         [discord]\ntoken_env = \"CANVASS_DISCORD_TOKEN\"\napi_url = \"{}\"\nguilds = [5000]\npoll_refresh_ms = 100\n\
         [[surveys]]\nid = \"lunch\"\ntitle = \"Lunch\"\n[[surveys.questions]]\nid = \"food\"\n\
         type = \"single\"\ntext = \"What should we order?\"\noptions = [\"Pizza\", \"Sushi\"]\n",
        tgf.url, dcf.url
    );
    let cfg = dir.path().join("bot.toml");
    std::fs::write(&cfg, config).unwrap();
    let out = std::fs::File::create(dir.path().join("out.log")).unwrap();
    let err = std::fs::File::create(dir.path().join("err.log")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_canvass"))
        .args(["--config", cfg.to_str().unwrap(), "--database"])
        .arg(dir.path().join("canvass.db"))
        .arg("run")
        .env("CANVASS_TELEGRAM_TOKEN", tg::TOKEN)
        .env("CANVASS_DISCORD_TOKEN", dc::TOKEN)
        .env("CANVASS_LOG", "trace")
        .env("RUST_LOG", "trace")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("the binary starts");
    // Drive both: a command and a poll with a tap on each platform.
    let pm = TgUser::new(1000, "Pat");
    let group = TgChat::group(-100_500, "Community");
    tgf.add_chat(&group);
    tgf.send_text(&pm, &group, "/post lunch");
    let poll = tgf
        .wait_for("the Telegram poll", |f| {
            f.sent().into_iter().find(|m| m.chat_id == -100_500)
        })
        .await;
    let data = tgf.buttons(-100_500, poll.message_id)[0].1.clone();
    let (_, id) = tgf.tap(&TgUser::new(2001, "Ana"), &group, poll.message_id, &data);
    tgf.wait_for("the toast", |f| {
        f.callback_answers().into_iter().find(|a| a.id == id)
    })
    .await;
    dcf.wait_ready().await;
    dcf.add_member(5_000, &DcUser::new(2_001, "Ana"));
    let i = dcf.slash(
        5_000,
        5_001,
        &DcUser::new(2_001, "Ana"),
        "help",
        serde_json::json!([]),
    );
    dcf.wait_for("the Discord reply", |f| {
        f.messages(5_001)
            .into_iter()
            .find(|m| m.interaction_id == Some(i) && !m.is_loading())
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(dir.path().join("out.log")).unwrap()
        + &std::fs::read_to_string(dir.path().join("err.log")).unwrap();
    assert!(
        logs.contains("connected to Telegram"),
        "tracing was captured:\n{logs}"
    );
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "verbose logs on"
    );
    let tg_secret = tg::TOKEN.split(':').nth(1).unwrap_or(tg::TOKEN);
    for needle in [tg::TOKEN, tg_secret, dc::TOKEN] {
        let at = logs.find(needle).map(|i| {
            logs.get(i.saturating_sub(300)..i + needle.len())
                .unwrap_or(needle)
        });
        assert!(
            at.is_none(),
            "token {needle:?} in the logs: …{}…",
            at.unwrap_or_default()
        );
    }
}

#[tokio::test]
async fn mydata_lists_only_unfinished_flows_the_persona_label_and_a_ranking_in_progress() {
    let config = format!(
        "{CONFIG}\n[persona]\nquestion = \"Which best describes you?\"\noptions = [\"Customer\", \"Just curious\"]\n"
    );
    let t = spawn_app_with(&config).await;
    // Persona, then the lunch survey answered to the end in private.
    let out = t.say("alice", dm("alice"), "/start lunch").await;
    let out = t
        .tap("alice", dm("alice"), &payloads(&last_keyboard(&out))[0])
        .await;
    t.tap("alice", dm("alice"), &payloads(&last_keyboard(&out))[0])
        .await;
    // A ranking started but not completed.
    let out = t.say("alice", dm("alice"), "/start rank").await;
    t.tap("alice", dm("alice"), &payloads(&last_keyboard(&out))[0])
        .await;

    let text = t.text(&t.say("alice", dm("alice"), "/mydata").await);
    assert!(text.contains("Describes you as: Customer"), "{text}");
    assert!(text.contains("Surveys in progress: rank"), "{text}");
    assert!(
        !text.contains("Surveys in progress: lunch") && !text.contains("lunch rank"),
        "a finished survey is not in progress: {text}"
    );
    assert!(
        text.contains("Unfinished answers: Roadmap ranking / order"),
        "{text}"
    );
}

#[tokio::test]
async fn forgetme_refreshes_the_count_on_posted_polls() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    t.tap("alice", group(), &p[0]).await;
    t.tap("bob", group(), &p[1]).await;
    let lunch = SurveyKey(
        t.scalar("SELECT id FROM surveys WHERE slug = 'lunch'")
            .await,
    );
    let out = t.say("alice", dm("alice"), "/forgetme").await;
    let refreshed: Vec<SurveyKey> = out
        .iter()
        .filter_map(|o| match o {
            canvass::core::event::Outbound::RefreshPolls { survey } => Some(*survey),
            _ => None,
        })
        .collect();
    assert_eq!(
        refreshed,
        vec![lunch],
        "the lunch poll's count is refreshed"
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM respondents r JOIN surveys s ON s.id = r.survey_id WHERE s.slug = 'lunch'")
            .await,
        1,
        "the count the refresh reads is now one"
    );
}

#[tokio::test]
async fn a_draft_survey_is_unknown_to_members_everywhere() {
    let t = spawn_app_with(&format!("{CONFIG}{UNOPENED}")).await;
    for (id, title) in [("secretdraft", "Secret pricing"), ("later", "Next year")] {
        for chat in [group(), dm("7777")] {
            for cmd in [format!("/start {id}"), format!("/survey {id}")] {
                let text = t.text(&t.say("7777", chat.clone(), &cmd).await);
                assert!(
                    text.contains(&format!("There is no survey called \"{id}\"")),
                    "{cmd}: {text}"
                );
                assert!(!text.contains(title), "{cmd} leaked the title: {text}");
            }
        }
        // The team still sees it, in private.
        let text = t.text(&t.say("pm", dm("pm"), &format!("/start {id}")).await);
        assert!(text.contains(title), "{text}");
    }
}

#[tokio::test]
async fn mydata_shows_every_stored_field_in_every_locale_with_the_chosen_language() {
    use canvass::core::event::Body;
    let t = spawn_app_with(&format!("{CONFIG}{PERSONA}")).await;
    leave_traces(&t).await;
    for (lang, date, new_member) in [
        ("en", "2026-11-02", "new to the community"),
        ("de", "02.11.2026", "neu in der Community"),
        ("es", "02/11/2026", "nuevo en la comunidad"),
    ] {
        for user in ["4242", "5353"] {
            as_rich(&t, user, dm(user), Body::Text(format!("/language {lang}"))).await;
        }
        let text = t.text(&as_rich(&t, "4242", dm("4242"), Body::Text("/mydata".into())).await);
        for expected in [
            "console",
            "4242",
            "4242 Example",
            "pt-BR",
            &format!(": {lang}"),
            "Partner",
            "Lunch",
            "beta testers",
            "persona: Partner",
            new_member,
            "Lunch / food: Sushi",
            "chat: community",
            "Deep dive / plan: Pro",
            "Roadmap ranking / order",
            "deep",
        ] {
            assert!(
                text.contains(expected),
                "{lang}: {expected:?} missing from:\n{text}"
            );
        }
        // The answer to the private survey: when it was given and when its question was shown.
        let line = text
            .lines()
            .find(|l| l.contains("Deep dive / plan: Pro"))
            .unwrap_or_default();
        assert_eq!(line.matches(date).count(), 2, "{lang}: {line}");
        let text = t.text(&as_rich(&t, "5353", dm("5353"), Body::Text("/mydata".into())).await);
        assert!(
            text.contains("Deep dive"),
            "{lang}: pending persona missing:\n{text}"
        );
        assert!(
            text.contains(&format!(": {lang}")),
            "{lang}: language missing:\n{text}"
        );
    }
}
