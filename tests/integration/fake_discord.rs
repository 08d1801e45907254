//! The fake Discord (`support::discord`) driven by the real serenity client, REST and gateway:
//! what the adapter's end-to-end tests rely on, checked against serenity's own models and errors.
//!
//! The fake listens on 127.0.0.1 only; `.ci/run` exports NO_PROXY so reqwest does not send it
//! through a proxy (tests must not call `set_var`, they run in parallel).

use crate::support::discord::{
    APP_ID, BOT_ID, DcUser, EPHEMERAL, FakeDiscord, LOADING, Message as FakeMessage, TOKEN,
};
use serde_json::json;
use serenity::all::{
    ActionRowComponent, ApplicationId, ButtonStyle, Channel, ChannelId, Client, ClientBuilder,
    Command, CommandOptionType, ComponentInteractionDataKind, Context, CreateActionRow,
    CreateAllowedMentions, CreateAttachment, CreateButton, CreateCommand, CreateCommandOption,
    CreateInputText, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, CreateModal, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption, EditInteractionResponse, EditMessage,
    EventHandler, GatewayIntents, GetMessages, GuildId, Http, HttpBuilder, InputTextStyle,
    Interaction, MessageId, Ready, ResolvedValue, RoleId, ShardManager, UserId,
};
use serenity::http::{LightMethod, Request, Route};
use serenity::model::event::{Event, GatewayEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const GUILD: u64 = 700_000_000_000_000_001;
const CHANNEL: u64 = 700_000_000_000_000_101;
const OTHER_CHANNEL: u64 = 700_000_000_000_000_102;
const ROLE_PM: u64 = 700_000_000_000_000_201;
const ROLE_BETA: u64 = 700_000_000_000_000_202;
/// How long a test waits for the bot to see something before failing.
const LIMIT: Duration = Duration::from_secs(15);

/// A 1x1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";

fn alex() -> DcUser {
    DcUser::new(800_000_000_000_000_001, "Alex").with_roles(&[ROLE_BETA])
}

fn sam() -> DcUser {
    DcUser::new(800_000_000_000_000_002, "Sam Lee")
}

fn pm() -> DcUser {
    DcUser::new(800_000_000_000_000_003, "Pat")
        .with_roles(&[ROLE_PM])
        .admin()
}

async fn world() -> FakeDiscord {
    let fake = FakeDiscord::start().await;
    fake.add_guild(
        GUILD,
        "Community",
        &[CHANNEL, OTHER_CHANNEL],
        &[(ROLE_PM, "product"), (ROLE_BETA, "beta")],
    );
    for user in [alex(), sam(), pm()] {
        fake.add_member(GUILD, &user);
    }
    fake
}

/// serenity's HTTP client pointed at the fake, as the adapter builds it.
fn http_with_token(fake: &FakeDiscord, token: &str) -> Http {
    HttpBuilder::new(token)
        .proxy(&fake.url)
        .ratelimiter_disabled(true)
        .build()
}

/// (HTTP status, Discord JSON error code) of a failed serenity call.
fn discord_error(e: &serenity::Error) -> (u16, isize) {
    match e {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) => {
            (r.status_code.as_u16(), r.error.code)
        }
        other => panic!("expected an unsuccessful HTTP request, got {other:?}"),
    }
}

fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

fn vote_buttons() -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new("vote:pizza").label("Pizza"),
        CreateButton::new("vote:sushi")
            .label("Sushi")
            .style(ButtonStyle::Secondary),
    ])]
}

/// What the test bot saw.
enum Seen {
    Ready(Box<Ready>),
    Interaction(Box<Interaction>),
    /// The result of an automatic answer: (interaction id, error text if it failed).
    Answered(u64, Option<String>),
}

/// A small EventHandler: records READY and every interaction, answers `/poll` with a type 4
/// message with buttons and a `vote:` button with a type 7 update. Everything else is
/// answered by the test through `Bot::http`.
struct Recorder {
    tx: mpsc::UnboundedSender<Seen>,
}

#[serenity::async_trait]
impl EventHandler for Recorder {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.tx.send(Seen::Ready(Box::new(ready)));
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let _ = self
            .tx
            .send(Seen::Interaction(Box::new(interaction.clone())));
        let answered = match &interaction {
            Interaction::Command(c) if c.data.name == "poll" => {
                let message = CreateInteractionResponseMessage::new()
                    .content("Lunch? 0 votes")
                    .components(vote_buttons())
                    .allowed_mentions(no_mentions());
                let r = c
                    .create_response(&ctx.http, CreateInteractionResponse::Message(message))
                    .await;
                Some((c.id.get(), r))
            }
            Interaction::Component(c) if c.data.custom_id.starts_with("vote:") => {
                let update = CreateInteractionResponseMessage::new()
                    .content(format!("Lunch? 1 vote ({})", c.data.custom_id))
                    .components(vote_buttons())
                    .allowed_mentions(no_mentions());
                let r = c
                    .create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(update))
                    .await;
                Some((c.id.get(), r))
            }
            _ => None,
        };
        if let Some((id, result)) = answered {
            let _ = self
                .tx
                .send(Seen::Answered(id, result.err().map(|e| format!("{e:?}"))));
        }
    }
}

/// A running serenity client connected to the fake.
struct Bot {
    rx: mpsc::UnboundedReceiver<Seen>,
    http: Arc<Http>,
    manager: Arc<ShardManager>,
    task: tokio::task::JoinHandle<serenity::Result<()>>,
}

async fn client(
    fake: &FakeDiscord,
    intents: GatewayIntents,
) -> (Client, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = ClientBuilder::new_with_http(http_with_token(fake, TOKEN), intents)
        .event_handler(Recorder { tx })
        .await
        .expect("serenity client builds");
    (client, rx)
}

async fn start_bot(fake: &FakeDiscord) -> Bot {
    let (mut client, rx) = client(fake, GatewayIntents::GUILDS).await;
    let http = client.http.clone();
    let manager = client.shard_manager.clone();
    let task = tokio::spawn(async move { client.start().await });
    Bot {
        rx,
        http,
        manager,
        task,
    }
}

impl Bot {
    async fn next(&mut self) -> Seen {
        tokio::time::timeout(LIMIT, self.rx.recv())
            .await
            .expect("the bot saw nothing within 15 s")
            .expect("the bot stopped")
    }

    async fn ready(&mut self) -> Ready {
        loop {
            if let Seen::Ready(ready) = self.next().await {
                return *ready;
            }
        }
    }

    async fn interaction(&mut self) -> Interaction {
        loop {
            if let Seen::Interaction(i) = self.next().await {
                return *i;
            }
        }
    }

    /// Waits for the Recorder's automatic answer to `id` and checks it succeeded.
    async fn answered(&mut self, id: u64) {
        loop {
            if let Seen::Answered(answered, error) = self.next().await {
                if answered == id {
                    assert_eq!(error, None, "answering interaction {id} failed");
                    return;
                }
            }
        }
    }

    /// Shuts the client down as the adapter does and checks `Client::start` returned Ok; with
    /// `closes`, also that the bot closed its gateway connection with 1000.
    ///
    /// After serenity restarted a shard (INVALID_SESSION, or any re-IDENTIFY), it leaves a
    /// stale entry in its shutdown channel: `shutdown_all` then returns without telling the
    /// new shard runner, whose connection stays open. So tests that re-identify pass false.
    async fn stop(self, fake: &FakeDiscord, closes: bool) {
        self.manager.shutdown_all().await;
        let result = tokio::time::timeout(LIMIT, self.task)
            .await
            .expect("the client stops within 15 s")
            .expect("the client task did not panic");
        assert!(result.is_ok(), "client ended with {result:?}");
        if closes {
            fake.wait_for("the bot to close its gateway connection", |f| {
                (!f.connected() && f.bot_closes().contains(&1000)).then_some(())
            })
            .await;
        }
    }
}

/// Every frame the fake sent deserialises into serenity's gateway models, and no dispatch is
/// an unknown event: a malformed dispatch would be dropped by serenity with only a warning.
fn assert_frames_fit_serenity(fake: &FakeDiscord) {
    let frames = fake.frames();
    assert!(!frames.is_empty());
    for frame in frames {
        let event: GatewayEvent = serde_json::from_value(frame.clone())
            .unwrap_or_else(|e| panic!("serenity cannot read {frame}: {e}"));
        if let GatewayEvent::Dispatch(_, event) = event {
            assert!(!matches!(event, Event::Unknown(_)), "unknown event {frame}");
        }
    }
}

fn command_id(i: &Interaction) -> u64 {
    match i {
        Interaction::Command(c) => c.id.get(),
        Interaction::Component(c) => c.id.get(),
        Interaction::Modal(m) => m.id.get(),
        other => panic!("unexpected interaction {other:?}"),
    }
}

#[tokio::test]
async fn fake_discord_rest_answers_serenity_http_like_discord() {
    let fake = world().await;
    let http = http_with_token(&fake, TOKEN);

    let me = http.get_current_user().await.expect("GET /users/@me");
    assert_eq!(me.id, UserId::new(BOT_ID));
    assert!(me.bot);
    let app = http
        .get_current_application_info()
        .await
        .expect("GET /oauth2/applications/@me");
    assert_eq!(app.id, ApplicationId::new(APP_ID));
    let gateway = http.get_gateway().await.expect("GET /gateway");
    assert_eq!(gateway.url, fake.gateway_url());
    let bot_gateway = http.get_bot_gateway().await.expect("GET /gateway/bot");
    assert_eq!(bot_gateway.shards, 1);

    let Channel::Guild(channel) = http
        .get_channel(ChannelId::new(CHANNEL))
        .await
        .expect("GET /channels/{id}")
    else {
        panic!("a guild text channel");
    };
    assert_eq!(channel.name, "general");
    assert_eq!(channel.guild_id, GuildId::new(GUILD));
    let member = http
        .get_member(GuildId::new(GUILD), UserId::new(alex().id))
        .await
        .expect("GET /guilds/{id}/members/{user}");
    assert_eq!(member.user.global_name.as_deref(), Some("Alex"));
    assert_eq!(member.roles, vec![RoleId::new(ROLE_BETA)]);

    // A channel message: JSON, with allowed_mentions recorded and nobody pinged.
    let sent = ChannelId::new(CHANNEL)
        .send_message(
            &http,
            CreateMessage::new()
                .content(format!("Hi <@{}>", sam().id))
                .allowed_mentions(no_mentions()),
        )
        .await
        .expect("POST /channels/{id}/messages");
    let stored = fake.message(CHANNEL, sent.id.get()).expect("stored");
    assert_eq!(stored.via, "channel");
    assert_eq!(stored.content, format!("Hi <@{}>", sam().id));
    assert_eq!(
        stored.allowed_mentions,
        Some(json!({"parse": [], "users": [], "roles": []}))
    );
    assert!(stored.pinged().is_empty(), "{:?}", stored.pinged());
    assert_eq!(sent.author.id, UserId::new(BOT_ID));

    // Without allowed_mentions the same text pings Sam.
    let pings = ChannelId::new(CHANNEL)
        .send_message(
            &http,
            CreateMessage::new().content(format!("Hi <@{}>", sam().id)),
        )
        .await
        .expect("second message");
    assert!(pings.id > sent.id, "snowflakes increase");
    assert_eq!(pings.mentions[0].id, UserId::new(sam().id));
    assert!(sent.mentions.is_empty());
    assert_eq!(
        fake.message(CHANNEL, pings.id.get())
            .expect("stored")
            .pinged(),
        vec![format!("user:{}", sam().id)]
    );

    let edited = ChannelId::new(CHANNEL)
        .edit_message(
            &http,
            sent.id,
            EditMessage::new()
                .content("Hi all")
                .allowed_mentions(no_mentions()),
        )
        .await
        .expect("PATCH /channels/{id}/messages/{id}");
    assert!(edited.edited_timestamp.is_some());
    let stored = fake.message(CHANNEL, sent.id.get()).expect("stored");
    assert_eq!((stored.content.as_str(), stored.edits), ("Hi all", 1));

    // Multipart: the file arrives with its name and bytes.
    let chart = ChannelId::new(CHANNEL)
        .send_message(
            &http,
            CreateMessage::new()
                .content("The chart")
                .add_file(CreateAttachment::bytes(PNG, "chart.png")),
        )
        .await
        .expect("multipart POST /channels/{id}/messages");
    assert_eq!(chart.attachments.len(), 1);
    assert_eq!(chart.attachments[0].filename, "chart.png");
    assert_eq!(chart.attachments[0].size as usize, PNG.len());
    assert_eq!(chart.attachments[0].width, Some(1));
    assert_eq!(
        fake.message(CHANNEL, chart.id.get()).expect("stored").files,
        vec![("chart.png".to_string(), PNG.to_vec())]
    );

    // Discord's errors reach serenity as UnsuccessfulRequest with status and code.
    let err = ChannelId::new(CHANNEL)
        .send_message(&http, CreateMessage::new().content("   "))
        .await
        .expect_err("an empty message is refused");
    assert_eq!(discord_error(&err), (400, 50006));
    let six_rows: Vec<CreateActionRow> = (0..6)
        .map(|i| CreateActionRow::Buttons(vec![CreateButton::new(format!("b{i}")).label("x")]))
        .collect();
    let err = ChannelId::new(CHANNEL)
        .send_message(
            &http,
            CreateMessage::new().content("x").components(six_rows),
        )
        .await
        .expect_err("six action rows are refused");
    assert_eq!(discord_error(&err), (400, 50035));
    let serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) = &err else {
        unreachable!()
    };
    assert_eq!(r.error.errors[0].path, "components");
    let err = ChannelId::new(999)
        .send_message(&http, CreateMessage::new().content("x"))
        .await
        .expect_err("unknown channel");
    assert_eq!(discord_error(&err), (404, 10003));

    // 429 with Discord's body: serenity (rate limiter off) returns it as an error at once;
    // the body has no `code`, so serenity reports code -1. The next call goes through.
    fake.rate_limit_next("POST", "/channels/", 1.5);
    let err = ChannelId::new(CHANNEL)
        .send_message(&http, CreateMessage::new().content("limited"))
        .await
        .expect_err("rate limited");
    assert_eq!(discord_error(&err), (429, -1));
    ChannelId::new(CHANNEL)
        .send_message(&http, CreateMessage::new().content("after the limit"))
        .await
        .expect("the next call passes");
    assert_eq!(fake.calls("POST", "/channels/"), 8);
    assert_eq!(fake.calls("post", "/api/v10/channels/"), 8);

    fake.fail_next(
        "PATCH",
        &format!("/channels/{CHANNEL}/messages/"),
        403,
        50013,
        "Missing Permissions",
    );
    let err = ChannelId::new(CHANNEL)
        .edit_message(&http, sent.id, EditMessage::new().content("refused"))
        .await
        .expect_err("a failure the test asked for");
    assert_eq!(discord_error(&err), (403, 50013));
    assert_eq!(
        fake.message(CHANNEL, sent.id.get()).map(|m| m.edits),
        Some(1)
    );

    let wrong = http_with_token(&fake, "not-the-token");
    let err = wrong.get_current_user().await.expect_err("wrong token");
    assert_eq!(discord_error(&err), (401, 0));

    // Guild commands: stored with ids, same id on re-registration, Discord's validation.
    let err = GuildId::new(GUILD)
        .set_commands(
            &http,
            vec![CreateCommand::new("poll").description("Post a poll")],
        )
        .await
        .expect_err("no application id yet");
    assert!(matches!(
        err,
        serenity::Error::Http(serenity::http::HttpError::ApplicationIdMissing)
    ));
    http.set_application_id(ApplicationId::new(APP_ID));
    let poll = CreateCommand::new("poll")
        .description("Post a poll")
        .add_option(
            CreateCommandOption::new(CommandOptionType::String, "question", "What to ask")
                .required(true),
        );
    let first = GuildId::new(GUILD)
        .set_commands(&http, vec![poll.clone()])
        .await
        .expect("PUT guild commands");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].guild_id, Some(GuildId::new(GUILD)));
    assert_eq!(first[0].options.len(), 1);
    let again = GuildId::new(GUILD)
        .set_commands(
            &http,
            vec![poll, CreateCommand::new("insights").description("Read")],
        )
        .await
        .expect("PUT guild commands again");
    assert_eq!(again[0].id, first[0].id, "same name keeps its id");
    let listed = GuildId::new(GUILD)
        .get_commands(&http)
        .await
        .expect("GET guild commands");
    assert_eq!(listed.len(), 2);
    let stored = fake.commands();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0]["guild_id"], GUILD.to_string());
    let err = GuildId::new(GUILD)
        .set_commands(&http, vec![CreateCommand::new("nodescription")])
        .await
        .expect_err("a slash command needs a description");
    assert_eq!(discord_error(&err), (400, 50035));
    let err = GuildId::new(GUILD)
        .set_commands(&http, vec![CreateCommand::new("Poll").description("x")])
        .await
        .expect_err("slash command names are lowercase");
    assert_eq!(discord_error(&err), (400, 50035));
    assert_eq!(fake.commands().len(), 2, "a refused PUT changes nothing");
    let global = Command::set_global_commands(
        &http,
        vec![CreateCommand::new("help").description("What the bot can do")],
    )
    .await
    .expect("PUT global commands");
    assert_eq!(global[0].guild_id, None);
    let stored = fake.commands();
    assert_eq!(stored.len(), 3);
    assert_eq!(
        (&stored[0]["name"], &stored[0]["guild_id"]),
        (&json!("help"), &json!(null))
    );

    // Guild, roles, channels, message history and deletion.
    let guild = http
        .get_guild(GuildId::new(GUILD))
        .await
        .expect("GET /guilds/{id}");
    assert_eq!(guild.name, "Community");
    assert_eq!(guild.roles.len(), 3, "@everyone and two roles");
    let roles = GuildId::new(GUILD).roles(&http).await.expect("GET roles");
    assert_eq!(roles[&RoleId::new(ROLE_PM)].name, "product");
    let channels = GuildId::new(GUILD)
        .channels(&http)
        .await
        .expect("GET /guilds/{id}/channels");
    assert_eq!(channels.len(), 2);
    let history = ChannelId::new(CHANNEL)
        .messages(&http, GetMessages::new().limit(2))
        .await
        .expect("GET /channels/{id}/messages");
    assert_eq!(history.len(), 2);
    assert!(history[0].id > history[1].id, "newest first");
    ChannelId::new(CHANNEL)
        .delete_message(&http, pings.id)
        .await
        .expect("DELETE /channels/{id}/messages/{id}");
    assert!(fake.message(CHANNEL, pings.id.get()).is_none());
}

#[tokio::test]
async fn fake_discord_gateway_delivers_slash_commands_and_clicks_to_serenity() {
    let fake = world().await;
    let mut bot = start_bot(&fake).await;
    fake.wait_ready().await;
    let ready = bot.ready().await;
    assert_eq!(ready.user.id, UserId::new(BOT_ID));
    assert_eq!(ready.application.id, ApplicationId::new(APP_ID));
    assert_eq!(ready.guilds.len(), 1);
    assert_eq!(fake.identifies(), 1);
    assert_eq!(fake.gateway_connects(), vec!["v=10".to_string()]);
    let identify = &fake.identify_payloads()[0];
    assert_eq!(identify["intents"], GatewayIntents::GUILDS.bits());
    assert_eq!(identify["token"], "***");
    // serenity asks for payload compression (allowed, not required) and never for zlib-stream.
    assert_eq!(identify["compress"], true);

    // READY set serenity's application id, so commands can be registered.
    assert_eq!(bot.http.application_id(), Some(ApplicationId::new(APP_ID)));
    GuildId::new(GUILD)
        .set_commands(
            &bot.http,
            vec![
                CreateCommand::new("poll").description("Post a poll"),
                CreateCommand::new("report").description("Get the report"),
            ],
        )
        .await
        .expect("register commands");
    let registered = fake.commands();
    assert_eq!(registered.len(), 2);

    // A slash command reaches the handler with Discord's member data; it answers type 4.
    let id = fake.slash(GUILD, CHANNEL, &alex(), "poll", json!([]));
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("a command interaction");
    };
    assert_eq!(command.id.get(), id);
    assert_eq!(command.data.name, "poll");
    assert_eq!(
        command.data.id.to_string(),
        registered[0]["id"].as_str().unwrap_or_default()
    );
    assert_eq!(command.guild_id, Some(GuildId::new(GUILD)));
    assert_eq!(command.channel_id, ChannelId::new(CHANNEL));
    assert_eq!(command.user.id, UserId::new(alex().id));
    assert_eq!(command.user.global_name.as_deref(), Some("Alex"));
    assert_eq!(command.locale, "en-US");
    let member = command.member.as_ref().expect("a member in a guild");
    assert_eq!(member.roles, vec![RoleId::new(ROLE_BETA)]);
    assert!(!member.permissions.expect("permissions").administrator());
    bot.answered(id).await;
    let response = fake.response(id).expect("recorded");
    assert_eq!(response.kind, 4);
    assert_eq!(response.data["content"], "Lunch? 0 votes");
    let messages = fake.messages(CHANNEL);
    assert_eq!(messages.len(), 1);
    let poll = &messages[0];
    assert_eq!((poll.via, poll.interaction_id), ("interaction", Some(id)));
    assert_eq!(poll.custom_ids(), vec!["vote:pizza", "vote:sushi"]);
    assert_eq!(
        poll.allowed_mentions,
        Some(json!({"parse": [], "users": [], "roles": []}))
    );
    // How the adapter learns the message id of an interaction response: GET @original.
    let original = command
        .get_response(&bot.http)
        .await
        .expect("GET @original");
    assert_eq!(original.id.get(), poll.id);
    assert!(original.interaction_metadata.is_some());

    // A click reaches the handler with the message it is on; the type 7 update edits it.
    let click = fake.click(GUILD, CHANNEL, &sam(), poll.id, "vote:sushi");
    let Interaction::Component(component) = bot.interaction().await else {
        panic!("a component interaction");
    };
    assert_eq!(component.id.get(), click);
    assert_eq!(component.data.custom_id, "vote:sushi");
    assert!(matches!(
        component.data.kind,
        ComponentInteractionDataKind::Button
    ));
    assert_eq!(component.message.id, MessageId::new(poll.id));
    assert_eq!(component.message.components.len(), 1);
    bot.answered(click).await;
    let poll = fake.message(CHANNEL, poll.id).expect("still there");
    assert_eq!(poll.content, "Lunch? 1 vote (vote:sushi)");
    assert_eq!(poll.edits, 1);
    assert_eq!(fake.response(click).map(|r| r.kind), Some(7));

    // Defer, edit @original, then a followup with a file (multipart): bytes kept.
    let admin = pm();
    let report = fake.slash(GUILD, OTHER_CHANNEL, &admin, "report", json!([]));
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("a command interaction");
    };
    assert!(
        command
            .member
            .as_ref()
            .and_then(|m| m.permissions)
            .is_some_and(|p| p.administrator())
    );
    let defer = CreateInteractionResponseMessage::new().ephemeral(true);
    command
        .create_response(&bot.http, CreateInteractionResponse::Defer(defer))
        .await
        .expect("type 5");
    let thinking = fake.original(report).expect("a loading message");
    assert_eq!(thinking.flags, EPHEMERAL | LOADING);
    command
        .edit_response(
            &bot.http,
            EditInteractionResponse::new()
                .content("Here is the report")
                .allowed_mentions(no_mentions()),
        )
        .await
        .expect("PATCH @original");
    let followup = command
        .create_followup(
            &bot.http,
            CreateInteractionResponseFollowup::new()
                .content("The chart")
                .ephemeral(true)
                .allowed_mentions(no_mentions())
                .add_file(CreateAttachment::bytes(PNG, "report.png")),
        )
        .await
        .expect("POST followup (multipart)");
    assert_eq!(followup.attachments[0].filename, "report.png");
    let messages = fake.messages(OTHER_CHANNEL);
    let vias: Vec<(&str, u64, usize)> =
        messages.iter().map(|m| (m.via, m.flags, m.edits)).collect();
    assert_eq!(
        vias,
        vec![("interaction", EPHEMERAL, 1), ("followup", EPHEMERAL, 0)]
    );
    assert_eq!(messages[0].content, "Here is the report");
    assert_eq!(
        messages[1].files,
        vec![("report.png".to_string(), PNG.to_vec())]
    );
    assert_eq!(messages[1].interaction_id, Some(report));

    assert_frames_fit_serenity(&fake);
    bot.stop(&fake, true).await;
}

#[tokio::test]
async fn fake_discord_delivers_modals_selects_options_and_dms() {
    let fake = world().await;
    let mut bot = start_bot(&fake).await;
    fake.wait_ready().await;

    // Options arrive as serenity resolves them.
    let options = json!([
        {"name": "survey", "type": 3, "value": "lunch"},
        {"name": "who", "type": 6, "value": sam().id.to_string()},
    ]);
    let id = fake.slash(GUILD, CHANNEL, &alex(), "feedback", options);
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("a command interaction");
    };
    assert_eq!(command.id.get(), id);
    let resolved = command.data.options();
    assert!(matches!(resolved[0].value, ResolvedValue::String("lunch")));
    assert!(
        matches!(resolved[1].value, ResolvedValue::User(u, Some(_)) if u.id == UserId::new(sam().id))
    );

    // The bot opens a modal (type 9); the member submits it.
    let modal =
        CreateModal::new("why-modal", "Tell us more").components(vec![CreateActionRow::InputText(
            CreateInputText::new(InputTextStyle::Paragraph, "Why?", "why"),
        )]);
    command
        .create_response(&bot.http, CreateInteractionResponse::Modal(modal))
        .await
        .expect("type 9");
    assert_eq!(fake.response(id).map(|r| r.kind), Some(9));
    assert!(
        fake.messages(CHANNEL).is_empty(),
        "a modal is not a message"
    );
    let submit = fake.submit_modal(GUILD, CHANNEL, &alex(), "why-modal", &[("why", "Too slow")]);
    let Interaction::Modal(submitted) = bot.interaction().await else {
        panic!("a modal interaction");
    };
    assert_eq!(submitted.id.get(), submit);
    assert_eq!(submitted.data.custom_id, "why-modal");
    let ActionRowComponent::InputText(input) = &submitted.data.components[0].components[0] else {
        panic!("a text input");
    };
    assert_eq!(
        (input.custom_id.as_str(), input.value.as_deref()),
        ("why", Some("Too slow"))
    );

    // An ephemeral answer with a select; the member picks two options.
    let select = CreateSelectMenu::new(
        "pick",
        CreateSelectMenuKind::String {
            options: vec![
                CreateSelectMenuOption::new("Speed", "speed"),
                CreateSelectMenuOption::new("Price", "price"),
                CreateSelectMenuOption::new("Support", "support"),
            ],
        },
    )
    .max_values(2);
    let answer = CreateInteractionResponseMessage::new()
        .content("Which matter most?")
        .ephemeral(true)
        .components(vec![CreateActionRow::SelectMenu(select)])
        .allowed_mentions(no_mentions());
    submitted
        .create_response(&bot.http, CreateInteractionResponse::Message(answer))
        .await
        .expect("type 4 to a modal submit");
    let flow = fake.original(submit).expect("the ephemeral message");
    assert!(flow.is_ephemeral());
    let pick = fake.select(
        GUILD,
        CHANNEL,
        &alex(),
        flow.id,
        "pick",
        &["speed", "support"],
    );
    let Interaction::Component(picked) = bot.interaction().await else {
        panic!("a select interaction");
    };
    assert_eq!(picked.id.get(), pick);
    let ComponentInteractionDataKind::StringSelect { values } = &picked.data.kind else {
        panic!("a string select");
    };
    assert_eq!(values, &vec!["speed".to_string(), "support".to_string()]);
    assert!(
        picked
            .message
            .flags
            .is_some_and(|f| f.bits() & EPHEMERAL != 0)
    );
    // Type 6, then editing @original edits the message the select is on.
    picked
        .create_response(&bot.http, CreateInteractionResponse::Acknowledge)
        .await
        .expect("type 6");
    picked
        .edit_response(
            &bot.http,
            EditInteractionResponse::new()
                .content("Thanks!")
                .components(vec![]),
        )
        .await
        .expect("PATCH @original of a component");
    let flow: FakeMessage = fake.message(CHANNEL, flow.id).expect("still there");
    assert_eq!((flow.content.as_str(), flow.edits), ("Thanks!", 1));
    assert!(flow.custom_ids().is_empty());

    // An interaction in the member's DM with the bot carries `user`, not `member`.
    let dm = fake.dm_channel(&sam());
    let in_dm = fake.slash(0, dm, &sam(), "mydata", json!([]));
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("a command interaction");
    };
    assert_eq!(command.id.get(), in_dm);
    assert_eq!(command.guild_id, None);
    assert!(command.member.is_none());
    assert_eq!(command.user.id, UserId::new(sam().id));
    command
        .create_response(
            &bot.http,
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new().content("Your data"),
            ),
        )
        .await
        .expect("answer in a DM");
    assert_eq!(fake.messages(dm).len(), 1);
    let opened = ChannelId::new(dm)
        .send_message(&bot.http, CreateMessage::new().content("Take the survey"))
        .await
        .expect("the bot writes in the DM channel");
    assert_eq!(opened.channel_id, ChannelId::new(dm));
    let dm_channel = UserId::new(sam().id)
        .create_dm_channel(&bot.http)
        .await
        .expect("POST /users/@me/channels");
    assert_eq!(dm_channel.id, ChannelId::new(dm));

    assert_frames_fit_serenity(&fake);
    bot.stop(&fake, true).await;
}

#[tokio::test]
async fn fake_discord_acknowledges_once_and_enforces_the_three_second_rule() {
    let fake = world().await;
    let mut bot = start_bot(&fake).await;
    fake.wait_ready().await;
    let pong = || {
        CreateInteractionResponse::Message(CreateInteractionResponseMessage::new().content("pong"))
    };

    let id = fake.slash(GUILD, CHANNEL, &alex(), "ping", json!([]));
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("a command interaction");
    };
    assert_eq!(command.id.get(), id);
    let err = command
        .get_response(&bot.http)
        .await
        .expect_err("no @original before a response");
    assert_eq!(discord_error(&err), (404, 10008));
    let err = command
        .create_followup(
            &bot.http,
            CreateInteractionResponseFollowup::new().content("early"),
        )
        .await
        .expect_err("no followup before a response");
    assert_eq!(discord_error(&err).0, 404);
    command
        .create_response(&bot.http, pong())
        .await
        .expect("first answer");
    let err = command
        .create_response(&bot.http, pong())
        .await
        .expect_err("a second answer is refused");
    assert_eq!(discord_error(&err), (400, 40060));
    assert_eq!(fake.responses().len(), 1);

    // A type 7 answer to a slash command is not valid.
    let id = fake.slash(GUILD, CHANNEL, &alex(), "ping", json!([]));
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("a command interaction");
    };
    assert_eq!(command.id.get(), id);
    let update = CreateInteractionResponse::UpdateMessage(
        CreateInteractionResponseMessage::new().content("no"),
    );
    let err = command
        .create_response(&bot.http, update)
        .await
        .expect_err("type 7 needs a component");
    assert_eq!(discord_error(&err), (400, 50035));

    // Past the 3 s deadline the first answer gets Unknown interaction.
    let late = fake.slash(GUILD, CHANNEL, &alex(), "ping", json!([]));
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("a command interaction");
    };
    assert_eq!(command.id.get(), late);
    fake.expire_interaction(late);
    let err = command
        .create_response(&bot.http, pong())
        .await
        .expect_err("too late");
    assert_eq!(discord_error(&err), (404, 10062));
    assert!(fake.response(late).is_none());

    // A 429 on a callback leaves the interaction unanswered, so a retry works.
    let limited = fake.slash(GUILD, CHANNEL, &alex(), "ping", json!([]));
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("a command interaction");
    };
    assert_eq!(command.id.get(), limited);
    fake.rate_limit_next("POST", "/interactions/", 0.25);
    let err = command
        .create_response(&bot.http, pong())
        .await
        .expect_err("rate limited");
    assert_eq!(discord_error(&err).0, 429);
    command
        .create_response(&bot.http, pong())
        .await
        .expect("retry");

    // `?with_response=true` answers 200 with the callback object and the message created.
    let id = fake.slash(GUILD, CHANNEL, &alex(), "ping", json!([]));
    let Interaction::Command(command) = bot.interaction().await else {
        panic!("a command interaction");
    };
    assert_eq!(command.id.get(), id);
    let request = Request::new(
        Route::InteractionResponse {
            interaction_id: command.id,
            token: &command.token,
        },
        LightMethod::Post,
    )
    .body(Some(
        json!({"type": 4, "data": {"content": "pong"}})
            .to_string()
            .into_bytes(),
    ))
    .params(Some(vec![("with_response", "true".to_string())]));
    let answer: serde_json::Value = bot
        .http
        .fire(request)
        .await
        .expect("callback with response");
    let original = fake.original(id).expect("the response message");
    assert_eq!(
        answer["interaction"]["response_message_id"],
        original.id.to_string()
    );
    assert_eq!(answer["resource"]["message"]["content"], "pong");
    assert_eq!(fake.calls("POST", "/interactions/"), 7);

    bot.stop(&fake, true).await;
}

#[tokio::test]
async fn fake_discord_replays_and_resumes_and_reidentifies() {
    let fake = world().await;
    let mut bot = start_bot(&fake).await;
    fake.wait_ready().await;
    bot.ready().await;

    // A replayed INTERACTION_CREATE arrives twice with the same id and token.
    let id = fake.slash(GUILD, CHANNEL, &alex(), "ping", json!([]));
    let first = bot.interaction().await;
    fake.replay(id);
    let second = bot.interaction().await;
    assert_eq!((command_id(&first), command_id(&second)), (id, id));
    let (Interaction::Command(a), Interaction::Command(b)) = (&first, &second) else {
        panic!("command interactions");
    };
    assert_eq!(a.token, b.token);

    // The fake asks for a heartbeat; serenity sends one and gets its ack.
    fake.request_heartbeat();
    fake.wait_for("a heartbeat", |f| (f.heartbeats() >= 1).then_some(()))
        .await;

    // RECONNECT: serenity resumes; an event dispatched meanwhile is replayed after RESUME.
    fake.reconnect();
    let during = fake.slash(GUILD, CHANNEL, &sam(), "ping", json!([]));
    fake.wait_for("a RESUME", |f| {
        (f.resumes() == 1 && f.connected()).then_some(())
    })
    .await;
    assert_eq!(command_id(&bot.interaction().await), during);
    let after = fake.slash(GUILD, CHANNEL, &sam(), "ping", json!([]));
    assert_eq!(command_id(&bot.interaction().await), after);
    assert_eq!(fake.identifies(), 1);
    assert_eq!(fake.gateway_connects().len(), 2);

    // INVALID_SESSION: serenity restarts the shard and identifies again; an interaction sent
    // while no session exists is delivered in the new one.
    fake.invalidate_session();
    let waiting = fake.slash(GUILD, CHANNEL, &pm(), "ping", json!([]));
    fake.wait_for("a second IDENTIFY", |f| {
        (f.identifies() == 2 && f.connected()).then_some(())
    })
    .await;
    bot.ready().await;
    assert_eq!(command_id(&bot.interaction().await), waiting);
    let last = fake.slash(GUILD, CHANNEL, &pm(), "poll", json!([]));
    assert_eq!(command_id(&bot.interaction().await), last);
    bot.answered(last).await;
    assert_eq!(fake.response(last).map(|r| r.kind), Some(4));

    assert_frames_fit_serenity(&fake);
    bot.stop(&fake, false).await;
}

#[tokio::test]
async fn fake_discord_refuses_privileged_intents_like_a_new_application() {
    let fake = world().await;
    let (mut client, _rx) = client(
        &fake,
        GatewayIntents::GUILDS | GatewayIntents::MESSAGE_CONTENT,
    )
    .await;
    let result = tokio::time::timeout(LIMIT, client.start())
        .await
        .expect("the client gives up within 15 s");
    assert!(
        matches!(
            result,
            Err(serenity::Error::Gateway(
                serenity::gateway::GatewayError::DisallowedGatewayIntents
            ))
        ),
        "{result:?}"
    );
    assert_eq!(fake.identifies(), 0);
    assert_eq!(fake.calls("GET", "/gateway"), 1);
}
