//! Team output goes only where the team is: reports, exports, digests and team confirmations
//! asked for in a group go to the asker privately (Telegram DM, Discord ephemeral), and are
//! shown in the chat only in a private chat or a chat listed in `[team] chats`.

use crate::abuse::{
    CHANNEL, GUILD, TG_GROUP, boot_both_with, dc_team, slash_of, tg_group, tg_team,
};
use crate::support::telegram::TgChat;
use crate::support::*;
use canvass::core::event::{Chat, ChatKind, Outbound, To};

const TG_TEAM_CHAT: i64 = -100_700;
/// Every team command with output, and a word of its answer ("losed": closed now, or already).
const TEAM_COMMANDS: [(&str, &str); 4] = [
    ("/insights lunch", "Lunch"),
    ("/export lunch", "Answers to"),
    ("/digest", "brief"),
    ("/close tools", "losed"),
];
const DC_TEAM_CHANNEL: u64 = 5_002;

/// The test config with a console team room, a Telegram team group and a Discord team
/// channel; Discord user 1001 is team by id too, so they are team in a DM.
fn config() -> String {
    CONFIG.replace(
        "discord_roles = [777]",
        &format!(
            "discord_roles = [777]\ndiscord_users = [1001]\nchats = [\"team-room\", {TG_TEAM_CHAT}, {DC_TEAM_CHANNEL}]"
        ),
    )
}

fn team_room() -> Chat {
    Chat {
        id: "team-room".into(),
        kind: ChatKind::Group,
        title: Some("team".into()),
    }
}

/// Whether any reply shows team output in the chat it was asked in.
fn in_chat(out: &[Outbound]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Outbound::Reply { msg, .. } => Some(format!("reply {}", msg.template)),
            Outbound::Report { to: To::Chat, .. } => Some("report".into()),
            Outbound::Digest { to: To::Chat, .. } => Some("digest".into()),
            Outbound::File { to: To::Chat, .. } => Some("file".into()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn team_commands_answer_privately_unless_in_a_team_or_private_chat() {
    let t = spawn_app_with(&config()).await;
    let p = payloads(&t.post("lunch").await);
    t.tap("alice", group(), &p[0]).await;
    let commands = [
        "/insights lunch",
        "/export lunch",
        "/digest",
        "/close tools",
        "/post nope",
        "/close lunch",
    ];
    for cmd in commands {
        let out = t.say("pm", group(), cmd).await;
        assert!(!out.is_empty(), "{cmd}: no answer");
        assert_eq!(in_chat(&out), Vec::<String>::new(), "{cmd} in a group");
        for (chat, name) in [(team_room(), "team chat"), (dm("pm"), "private chat")] {
            let out = t.say("pm", chat, cmd).await;
            assert!(!in_chat(&out).is_empty(), "{cmd} in the {name}: {out:?}");
            assert!(
                !out.iter().any(|o| matches!(
                    o,
                    Outbound::Private { .. }
                        | Outbound::Report {
                            to: To::Private,
                            ..
                        }
                        | Outbound::File {
                            to: To::Private,
                            ..
                        }
                        | Outbound::Digest {
                            to: To::Private,
                            ..
                        }
                )),
                "{cmd} in the {name} answers there: {out:?}"
            );
        }
    }
    // Posting is what /post and /poll ask for: the poll goes into the group.
    let out = t.say("pm", group(), "/post secret").await;
    assert!(
        matches!(out.first(), Some(Outbound::PostPoll { .. })),
        "{out:?}"
    );
    let out = t.say("pm", group(), "/poll Tea? | yes | no").await;
    assert!(
        matches!(out.first(), Some(Outbound::PostPoll { .. })),
        "{out:?}"
    );
    // The team's list (closed and draft surveys) is not shown in a group either.
    let listed = |out: &[Outbound]| t.text(out).contains("Lunch");
    assert!(!listed(&t.say("pm", group(), "/surveys").await));
    assert!(listed(&t.say("pm", team_room(), "/surveys").await));
    assert!(listed(&t.say("pm", dm("pm"), "/surveys").await));
}

#[tokio::test]
async fn team_output_never_lands_in_the_group_on_telegram_or_discord() {
    let team_chat = TgChat::group(TG_TEAM_CHAT, "Product team");
    let b = boot_both_with(
        &config(),
        std::slice::from_ref(&team_chat),
        &[DC_TEAM_CHANNEL],
    )
    .await;
    b.dc.add_member(GUILD, &dc_team());
    let (tg_poll, _) = b.post_both("/post lunch").await;
    let ana = crate::support::telegram::TgUser::new(2001, "Ana");
    let buttons = b.tg.buttons(TG_GROUP, tg_poll.message_id);
    b.tg_tap(&ana, &tg_group(), tg_poll.message_id, &buttons[0].1)
        .await;
    let me = tg_team();
    let dm = TgChat::Private(me.id);

    // Telegram, in the group: everything arrives in the DM, nothing in the group.
    let sent_before = b.tg.sent().len();
    let uploads_before = b.tg.uploads().len();
    for (cmd, needle) in TEAM_COMMANDS {
        let m = b.tg_say(&me, &tg_group(), cmd, needle).await;
        assert_eq!(m.chat_id, me.id, "{cmd}: answered in chat {}", m.chat_id);
    }
    let csv =
        b.tg.uploads()
            .into_iter()
            .skip(uploads_before)
            .find(|u| u.filename.as_deref() == Some("lunch.csv"))
            .expect("the CSV was sent");
    assert_eq!(csv.chat_id, me.id, "the CSV went to chat {}", csv.chat_id);
    let in_group: Vec<_> =
        b.tg.sent()
            .into_iter()
            .skip(sent_before)
            .filter(|m| m.chat_id == TG_GROUP)
            .collect();
    assert!(in_group.is_empty(), "posted into the group: {in_group:?}");
    assert!(
        b.tg.uploads().iter().all(|u| u.chat_id != TG_GROUP),
        "a file or chart was posted into the group"
    );

    // In the team chat and in private, the answer is where it was asked.
    for chat in [&team_chat, &dm] {
        for (cmd, needle) in TEAM_COMMANDS {
            let m = b.tg_say(&me, chat, cmd, needle).await;
            assert_eq!(m.chat_id, chat.id(), "{cmd}");
        }
    }

    // A team member who has not opened the bot (or stopped it): a clear word in the group,
    // never the CSV.
    b.tg.never_started(me.id);
    let uploads_before = b.tg.uploads().len();
    let hint = b
        .tg_say(&me, &tg_group(), "/export lunch", "send /export again")
        .await;
    assert_eq!(hint.chat_id, TG_GROUP);
    assert!(!hint.text.contains("pizza"), "{}", hint.text);
    assert!(
        b.tg.uploads()
            .iter()
            .skip(uploads_before)
            .all(|u| u.chat_id != TG_GROUP),
        "the CSV went into the group"
    );

    // Discord, in the community channel: only the asker sees it.
    let pat = dc_team();
    for (cmd, needle) in TEAM_COMMANDS {
        let (name, options) = slash_of(cmd);
        let i = b.dc.slash(GUILD, CHANNEL, &pat, &name, options);
        let m = b.dc_reply(CHANNEL, i, needle).await;
        assert!(m.is_ephemeral(), "{cmd} was public: {:?}", m.content);
    }
    let public: Vec<_> =
        b.dc.messages(CHANNEL)
            .into_iter()
            .filter(|m| !m.is_ephemeral() && m.via != "channel")
            .map(|m| m.content)
            .collect();
    assert!(
        public.is_empty(),
        "public in the community channel: {public:?}"
    );
    assert!(
        b.dc.messages(CHANNEL)
            .iter()
            .filter(|m| !m.is_ephemeral())
            .all(|m| m.files.is_empty()),
        "a file was posted publicly"
    );

    // In the team channel it is shown to the channel; in a DM it is answered there.
    for (cmd, needle) in TEAM_COMMANDS {
        let (name, options) = slash_of(cmd);
        let i =
            b.dc.slash(GUILD, DC_TEAM_CHANNEL, &pat, &name, options.clone());
        let m = b.dc_reply(DC_TEAM_CHANNEL, i, needle).await;
        // Reports, exports and digests are for the channel; a confirmation stays with the asker.
        if !cmd.starts_with("/close") {
            assert!(!m.is_ephemeral(), "{cmd} in the team channel was hidden");
        }
        let dm = b.dc.dm_channel(&pat);
        let i = b.dc.slash(0, dm, &pat, &name, options);
        b.dc_reply(dm, i, needle).await;
    }
    b.stop().await;
}
