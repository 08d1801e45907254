//! The Discord adapter (serenity): slash commands, buttons, selects and modals translated into
//! core events; replies rendered as Markdown with mentions disabled; every interaction
//! acknowledged first, before any wait, and answered with follow-ups.

mod commands;
mod digest;
mod refresh;
mod send;
mod translate;
mod turns;

pub use send::{DISCORD, MAX_RATE_LIMIT_WAIT};
pub use translate::{CustomId, decode_custom_id};

use crate::config::{DiscordConfig, Secret};
use crate::core::event::{Expect, Inbound, Msg, Outbound, Platform, To};
use crate::render::report::Format;
use crate::render::{Renderer, Target};
use crate::service::{Handled, Service, try_again};
use send::{Api, Call, Rest, components, markdown, no_mentions, parts};
use serde_json::json;
use serenity::all::{
    ApplicationId, ButtonStyle, ChannelId, CommandInteraction, ComponentInteraction, Context,
    CreateAttachment, CreateButton, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    CreateModal, EditInteractionResponse, EventHandler, GatewayIntents, GuildId, HttpBuilder,
    InputTextStyle, Interaction, InteractionId, ModalInteraction, Ready, ShardManager,
};
use std::sync::Arc;
use tokio::time::Instant;

/// Discord's deadline for the first answer to an interaction, counted here from its arrival.
const ACK_WINDOW: std::time::Duration = std::time::Duration::from_secs(3);
/// Discord's limits on a component's custom id, a modal's title and an input's placeholder.
const MAX_CUSTOM_ID: usize = 100;
const MAX_MODAL_TITLE: usize = 45;
const MAX_PLACEHOLDER: usize = 100;

/// The slash commands the adapter registers, with every shipped locale's descriptions and
/// command names (`discord_commands.hbs`). What members can type on Discord is exactly this.
pub fn registered_commands(renderer: &Renderer) -> Vec<serenity::all::CreateCommand> {
    let shipped = renderer.locales();
    let localised: Vec<commands::Localised> = shipped
        .iter()
        .map(|l| commands::Localised {
            discord_codes: crate::locale::discord_codes(l, shipped),
            texts: renderer.discord_command_texts(Some(l)),
        })
        .collect();
    commands::definitions(&renderer.discord_command_texts(None), &localised)
}

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("Discord client could not be built: {0}")]
    Client(#[from] serenity::Error),
    #[error("HTTP client could not be built: {0}")]
    Http(String),
}

struct Handler {
    service: Service,
    renderer: Arc<Renderer>,
    guilds: Vec<u64>,
    refresher: refresh::Handle,
    api: Api,
    /// A member's interactions run their core step and their sends in the order Discord
    /// created them (a quick second tap never overtakes the first); acknowledgements never
    /// wait for it.
    turns: turns::Turns,
}

/// Where replies go after the first acknowledgement.
struct Route {
    /// The first text may replace the original response: a deferred command or modal, or the
    /// ephemeral flow message the member tapped. Never a public poll message.
    original_free: bool,
    /// Follow-ups are visible only to the member.
    ephemeral: bool,
}

/// The interaction being answered.
struct Answering<'a> {
    id: InteractionId,
    app: ApplicationId,
    token: &'a str,
    channel: ChannelId,
}

/// Sends text for one interaction: the first message may replace the original response, the
/// rest are follow-ups. Components and a file go on the last part of a split text.
struct Out<'a> {
    rest: &'a Rest,
    to: &'a Answering<'a>,
    original_free: bool,
    ephemeral: bool,
}

impl Out<'_> {
    async fn say(
        &mut self,
        text: &str,
        rows: Vec<serenity::all::CreateActionRow>,
        mut file: Option<CreateAttachment>,
    ) -> Result<(), send::SendError> {
        let chunks = parts(text);
        let n = chunks.len();
        let mut result = Ok(());
        for (k, chunk) in chunks.into_iter().enumerate() {
            let last = k + 1 == n;
            let rows = if last { rows.clone() } else { Vec::new() };
            let file = if last { file.take() } else { None };
            let r = if self.original_free {
                self.original_free = false;
                let mut e = EditInteractionResponse::new()
                    .content(chunk)
                    .components(rows)
                    .allowed_mentions(no_mentions());
                if let Some(f) = &file {
                    e = e.new_attachment(f.clone());
                }
                self.rest
                    .edit_original(self.to.app, self.to.token, &e, file)
                    .await
            } else {
                let mut f = CreateInteractionResponseFollowup::new()
                    .content(chunk)
                    .components(rows)
                    .ephemeral(self.ephemeral)
                    .allowed_mentions(no_mentions());
                if let Some(file) = &file {
                    f = f.add_file(file.clone());
                }
                self.rest
                    .followup(self.to.app, self.to.token, &f, file)
                    .await
            };
            if r.is_err() {
                result = r;
            }
        }
        result
    }

    /// Says it where `to` asks: what is for the member only never goes into a public
    /// response, even if the route was public (a safety net: the route follows the same rule).
    async fn say_to(
        &mut self,
        to: To,
        text: &str,
        file: Option<CreateAttachment>,
    ) -> Result<(), send::SendError> {
        if to == To::Chat || self.ephemeral {
            return self.say(text, Vec::new(), file).await;
        }
        let (free, ephemeral) = (self.original_free, self.ephemeral);
        self.original_free = false;
        self.ephemeral = true;
        let r = self.say(text, Vec::new(), file).await;
        (self.original_free, self.ephemeral) = (free, ephemeral);
        r
    }
}

impl Handler {
    /// Server administrators count as product team only in the servers listed in
    /// `[discord] guilds`: anyone can add the bot to a server of their own and be admin there.
    fn scoped(&self, mut ev: Inbound, guild: Option<GuildId>) -> Inbound {
        if ev.actor.is_admin && !guild.is_some_and(|g| self.guilds.contains(&g.get())) {
            tracing::debug!("administrator of an unlisted server: treated as a member");
            ev.actor.is_admin = false;
        }
        ev
    }

    async fn run_core(&self, ev: &Inbound) -> Option<Vec<Outbound>> {
        match self.service.handle(ev).await {
            Ok(Handled::Replies(r)) => Some(r),
            Ok(Handled::Duplicate) => None,
            Err(e) => {
                e.log();
                Some(self.service.failed(ev).await)
            }
        }
    }

    /// A "write your answer" button for open-text questions: Discord has no typing in an
    /// ephemeral flow, so a modal collects the text.
    fn compose_button(&self, msg: &Msg) -> Option<CreateButton> {
        let Some(Expect::FreeText {
            question,
            max_chars,
        }) = &msg.expects
        else {
            return None;
        };
        // The question rides in the custom id (100 characters), so the form can show it
        // without a lookup before its 3 s acknowledgement.
        let head = format!("compose.{max_chars}.");
        let room = MAX_CUSTOM_ID.saturating_sub(head.chars().count());
        let button = CreateButton::new(format!("{head}{}", send::truncate(question, room)))
            .label(
                self.renderer
                    .render_in(
                        Target::Plain,
                        msg.locale.as_deref(),
                        "button_write",
                        &json!({}),
                    )
                    .unwrap_or_else(|_| "Write".into()),
            )
            .style(ButtonStyle::Primary);
        Some(button)
    }

    async fn deliver(&self, rest: &Rest, to: &Answering<'_>, route: Route, replies: Vec<Outbound>) {
        let mut out = Out {
            rest,
            to,
            original_free: route.original_free,
            ephemeral: route.ephemeral,
        };
        let toasts: Vec<String> = replies
            .iter()
            .filter_map(|r| match r {
                Outbound::Toast(m) => Some(markdown(&self.renderer, m)),
                _ => None,
            })
            .collect();
        let mut pending_toast = (!toasts.is_empty()).then(|| toasts.join("\n"));
        let chart = |png: Option<Vec<u8>>| png.map(|p| CreateAttachment::bytes(p, "chart.png"));
        for r in replies {
            let result = match r {
                Outbound::Toast(_) => Ok(()),
                Outbound::Reply { msg, keyboard } | Outbound::Private { msg, keyboard } => {
                    let mut text = markdown(&self.renderer, &msg);
                    if let Some(t) = pending_toast.take() {
                        text = format!("{t}\n\n{text}");
                    }
                    let rows = components(
                        &self.renderer,
                        &keyboard,
                        self.compose_button(&msg),
                        msg.locale.as_deref(),
                    );
                    out.say(&text, rows, None).await
                }
                Outbound::PostPoll {
                    survey,
                    msg,
                    keyboard,
                } => {
                    let text = markdown(&self.renderer, &msg);
                    // Discord returns the first message for a repeated nonce, so a post whose
                    // outcome is unknown can be retried without posting twice.
                    let m = CreateMessage::new()
                        .content(parts(&text).into_iter().next().unwrap_or_default())
                        .components(components(
                            &self.renderer,
                            &keyboard,
                            None,
                            msg.locale.as_deref(),
                        ))
                        .allowed_mentions(no_mentions())
                        .nonce(serenity::all::Nonce::String(format!("poll{}", to.id.get())))
                        .enforce_nonce(true);
                    match rest
                        .post("post poll", Call::Idempotent, to.channel, &m, None)
                        .await
                    {
                        Ok(posted) => {
                            if let Err(e) = self
                                .service
                                .record_posting(
                                    survey,
                                    Platform::Discord,
                                    &to.channel.get().to_string(),
                                    &posted.get().to_string(),
                                )
                                .await
                            {
                                tracing::error!(error = %e, "could not record the poll message");
                            }
                            // Close the deferred command; never add a follow-up just for this.
                            if out.original_free {
                                let done =
                                    markdown(&self.renderer, &Msg::new("dc_posted", json!({})));
                                out.say(&done, Vec::new(), None).await
                            } else {
                                Ok(())
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
                Outbound::RefreshPolls { survey } => {
                    self.refresher.mark(survey);
                    Ok(())
                }
                Outbound::Report {
                    report,
                    chart_png,
                    to,
                } => {
                    let text = self
                        .renderer
                        .report(Format::Chat(Target::Markdown), &report)
                        .unwrap_or_else(|_| markdown(&self.renderer, &try_again()));
                    out.say_to(to, &text, chart(chart_png)).await
                }
                Outbound::Digest {
                    brief,
                    chart_png,
                    to,
                } => {
                    let text = self
                        .renderer
                        .digest(Target::Markdown, &brief)
                        .unwrap_or_else(|_| markdown(&self.renderer, &try_again()));
                    out.say_to(to, &text, chart(chart_png)).await
                }
                Outbound::File {
                    name,
                    bytes,
                    caption,
                    to,
                    ..
                } => {
                    let text = markdown(&self.renderer, &caption);
                    out.say_to(to, &text, Some(CreateAttachment::bytes(bytes, name)))
                        .await
                }
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "Discord send failed");
            }
        }
        // A toast with nothing else to say, or a deferred command nobody answered.
        if let Some(t) = pending_toast {
            if let Err(e) = out.say(&t, Vec::new(), None).await {
                tracing::warn!(error = %e, "Discord toast failed");
            }
        }
    }

    /// Acknowledges an interaction within its window; never waits for anything else.
    async fn acknowledge(
        &self,
        rest: &Rest,
        what: &str,
        to: &Answering<'_>,
        response: CreateInteractionResponse,
        deadline: Instant,
    ) {
        match rest
            .respond(what, to.id, to.token, &response, deadline)
            .await
        {
            Ok(()) => {}
            // A replay after a RESUME: the first delivery answered it.
            Err(send::SendError::Status { code: 40060, .. }) => {
                tracing::debug!(call = what, "already acknowledged (a replayed interaction)");
            }
            Err(e) => {
                tracing::warn!(call = what, error = %e, "could not acknowledge an interaction")
            }
        }
    }

    /// After the acknowledgement: the core step in the member's turn, then the replies in the
    /// member's turn, so one member's slow delivery holds up only that member's later replies.
    async fn answer(
        &self,
        rest: &Rest,
        ticket: turns::Ticket<'_>,
        ev: Inbound,
        to: &Answering<'_>,
        route: Route,
    ) {
        ticket.core_turn().await;
        let replies = self.run_core(&ev).await;
        ticket.core_done();
        if let Some(replies) = replies {
            ticket.send_turn().await;
            self.deliver(rest, to, route, replies).await;
        }
    }

    async fn on_command(
        &self,
        ctx: &Context,
        i: CommandInteraction,
        ticket: turns::Ticket<'_>,
        deadline: Instant,
    ) {
        let rest = self.api.rest(ctx.http.clone());
        let to = Answering {
            id: i.id,
            app: i.application_id,
            token: &i.token,
            channel: i.channel_id,
        };
        let text = commands::to_text(&i.data.name, &i.data.options);
        let ev = self.scoped(translate::command(&i, text), i.guild_id);
        // The team's insights, exports and digest are shown to the channel only in a team
        // chat (`[team] chats`); everything else, refusals included, only to the member.
        let public = matches!(i.data.name.as_str(), "insights" | "export" | "digest")
            && self.service.is_team(&ev.actor)
            && self.service.is_team_chat(&ev.chat);
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(!public),
        );
        self.acknowledge(&rest, "defer", &to, defer, deadline).await;
        let route = Route {
            original_free: true,
            ephemeral: !public,
        };
        self.answer(&rest, ticket, ev, &to, route).await;
    }

    /// The "write your answer" button: the modal is the acknowledgement, and nothing else
    /// happens until the member submits it. The question heads the form (Discord allows 45
    /// characters there) and, when longer, stands in full in the empty field (100).
    async fn open_form(
        &self,
        ctx: &Context,
        i: &ComponentInteraction,
        max: u16,
        question: &str,
        deadline: Instant,
    ) {
        let mut actor = crate::core::event::Actor::new(Platform::Discord, i.user.id.to_string());
        actor.locale = Some(i.locale.clone());
        let locale = self.service.member_locale(&actor).await.ok();
        let title = self
            .renderer
            .render_in(
                Target::Plain,
                locale.as_deref(),
                "dc_modal_title",
                &json!({}),
            )
            .unwrap_or_else(|_| "Your answer".into());
        let question = question.trim();
        let heading = if question.is_empty() {
            &title
        } else {
            question
        };
        let mut input = CreateInputText::new(
            InputTextStyle::Paragraph,
            send::truncate(&title, MAX_MODAL_TITLE),
            "text",
        )
        .max_length(max)
        .required(true);
        if question.chars().count() > MAX_MODAL_TITLE {
            input = input.placeholder(send::truncate(question, MAX_PLACEHOLDER));
        }
        let modal = CreateModal::new("answer", send::truncate(heading, MAX_MODAL_TITLE))
            .components(vec![serenity::all::CreateActionRow::InputText(input)]);
        let rest = self.api.rest(ctx.http.clone());
        let to = Answering {
            id: i.id,
            app: i.application_id,
            token: &i.token,
            channel: i.channel_id,
        };
        let form = CreateInteractionResponse::Modal(modal);
        self.acknowledge(&rest, "open the answer form", &to, form, deadline)
            .await;
    }

    async fn on_component(
        &self,
        ctx: &Context,
        i: ComponentInteraction,
        ticket: turns::Ticket<'_>,
        deadline: Instant,
    ) {
        let rest = self.api.rest(ctx.http.clone());
        let to = Answering {
            id: i.id,
            app: i.application_id,
            token: &i.token,
            channel: i.channel_id,
        };
        self.acknowledge(
            &rest,
            "acknowledge",
            &to,
            CreateInteractionResponse::Acknowledge,
            deadline,
        )
        .await;
        let ev = self.scoped(translate::component(&i), i.guild_id);
        let private = ev.chat.kind == crate::core::event::ChatKind::Private
            && i.message
                .flags
                .is_some_and(|f| f.contains(serenity::all::MessageFlags::EPHEMERAL));
        let route = Route {
            original_free: private,
            ephemeral: true,
        };
        self.answer(&rest, ticket, ev, &to, route).await;
    }

    async fn on_modal(
        &self,
        ctx: &Context,
        i: ModalInteraction,
        ticket: turns::Ticket<'_>,
        deadline: Instant,
    ) {
        let rest = self.api.rest(ctx.http.clone());
        let to = Answering {
            id: i.id,
            app: i.application_id,
            token: &i.token,
            channel: i.channel_id,
        };
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(true),
        );
        self.acknowledge(&rest, "defer modal", &to, defer, deadline)
            .await;
        let ev = self.scoped(translate::modal(&i), i.guild_id);
        let route = Route {
            original_free: true,
            ephemeral: true,
        };
        self.answer(&rest, ticket, ev, &to, route).await;
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
        let cmds = registered_commands(&self.renderer);
        let rest = self.api.rest(ctx.http.clone());
        let app = ready.application.id;
        if self.guilds.is_empty() {
            if let Err(e) = rest.set_commands(app, None, &cmds).await {
                tracing::error!(error = %e, "could not register global commands");
            }
        } else {
            for g in &self.guilds {
                if let Err(e) = rest.set_commands(app, Some(GuildId::new(*g)), &cmds).await {
                    tracing::error!(error = %e, guild = g, "could not register guild commands");
                }
            }
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        // The window starts now; nothing before the acknowledgement may wait on anything else.
        let deadline = Instant::now() + ACK_WINDOW;
        match interaction {
            Interaction::Command(i) => {
                let ticket = self.turns.arrive(i.user.id.get(), i.id.get());
                self.on_command(&ctx, i, ticket, deadline).await;
            }
            Interaction::Component(i) => {
                if let CustomId::Compose { max, question } = decode_custom_id(&i.data.custom_id) {
                    self.open_form(&ctx, &i, max, &question, deadline).await;
                } else {
                    let ticket = self.turns.arrive(i.user.id.get(), i.id.get());
                    self.on_component(&ctx, i, ticket, deadline).await;
                }
            }
            Interaction::Modal(i) => {
                let ticket = self.turns.arrive(i.user.id.get(), i.id.get());
                self.on_modal(&ctx, i, ticket, deadline).await;
            }
            _ => {}
        }
    }
}

/// How long the gateway and the last poll refresh get once a shutdown was asked for.
const SHUTDOWN_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

/// A running Discord adapter.
pub struct Discord {
    renderer: Arc<Renderer>,
    api: Api,
    client: serenity::Client,
    shards: Arc<ShardManager>,
    refresher: refresh::Handle,
    /// Edits polls to their final result when they close (`platform::closer`).
    closer: tokio::task::JoinHandle<()>,
}

impl Discord {
    /// Builds the client; `token` never appears in logs.
    pub async fn start(
        service: Service,
        renderer: Arc<Renderer>,
        cfg: &DiscordConfig,
        token: &Secret,
    ) -> Result<Self, DiscordError> {
        // One reqwest client for serenity and for the calls the adapter sends itself.
        let reqwest = reqwest::Client::builder()
            .use_rustls_tls()
            .build()
            .map_err(|e| DiscordError::Http(e.to_string()))?;
        let api = Api::new(reqwest.clone(), &cfg.api_url);
        let mut http = HttpBuilder::new(token.expose()).client(reqwest);
        if api.is_direct() {
            // serenity ignores the proxy while its rate limiter is on; our own calls then
            // honour each 429's retry_after themselves (see send::Rest).
            http = http
                .proxy(cfg.api_url.trim_end_matches('/'))
                .ratelimiter_disabled(true);
        }
        let (refresher, pending) = refresh::channel();
        let renderer_for_sink = renderer.clone();
        let handler = Handler {
            service: service.clone(),
            renderer: renderer.clone(),
            guilds: cfg.guilds.clone(),
            refresher: refresher.clone(),
            api: api.clone(),
            turns: turns::Turns::default(),
        };
        let client =
            serenity::all::ClientBuilder::new_with_http(http.build(), GatewayIntents::GUILDS)
                .event_handler(handler)
                .await?;
        let closer =
            crate::platform::closer::spawn(service.clone(), Platform::Discord, refresher.clone());
        refresh::spawn(
            pending,
            refresher.clone(),
            service,
            renderer,
            api.rest(client.http.clone()),
            std::time::Duration::from_millis(cfg.poll_refresh_ms.max(50)),
        );
        let shards = client.shard_manager.clone();
        Ok(Self {
            renderer: renderer_for_sink,
            api,
            client,
            shards,
            refresher,
            closer,
        })
    }

    /// Posts digests through this client's HTTP connection.
    pub fn digest_sink(&self) -> Arc<dyn crate::digest::Sink> {
        Arc::new(digest::DigestSink {
            rest: self.api.rest(self.client.http.clone()),
            renderer: self.renderer.clone(),
        })
    }

    /// Runs until `shutdown` resolves; serenity reconnects and resumes on its own.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        let shards = self.shards.clone();
        let (stopped, stopping) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            shutdown.await;
            let _ = stopped.send(());
            shards.shutdown_all().await;
        });
        // serenity keeps retrying a gateway it cannot reach and would not notice the shutdown;
        // once asked to stop, the client gets SHUTDOWN_BUDGET to end on its own.
        let client = self.client.start();
        tokio::pin!(client);
        let ended = tokio::select! {
            r = &mut client => Some(r),
            _ = stopping => None,
        };
        let ended = match ended {
            Some(r) => Some(r),
            None => tokio::time::timeout(SHUTDOWN_BUDGET, &mut client)
                .await
                .ok(),
        };
        match ended {
            Some(Err(e)) => tracing::error!(error = %e, "Discord client stopped with an error"),
            Some(Ok(())) => {}
            None => tracing::warn!("the Discord gateway did not close in time; stopping anyway"),
        }
        self.closer.abort();
        let _ = tokio::time::timeout(SHUTDOWN_BUDGET, self.refresher.flush()).await;
        tracing::info!("Discord adapter stopped");
    }
}
