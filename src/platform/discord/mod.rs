//! The Discord adapter (serenity): slash commands, buttons, selects and modals translated into
//! core events; replies rendered as Markdown with mentions disabled; every interaction
//! acknowledged at once and answered with follow-ups.

mod commands;
mod refresh;
mod send;
mod translate;

pub use translate::{CustomId, decode_custom_id};

use crate::bot::{Bot as Core, Handled, try_again};
use crate::config::{DiscordConfig, Secret};
use crate::core::event::{Inbound, Msg, Outbound, Platform, To};
use crate::render::report::Format;
use crate::render::{Renderer, Target};
use send::{Call, components, markdown, no_mentions, parts, with_retry};
use serde_json::json;
use serenity::all::{
    ButtonStyle, CommandInteraction, ComponentInteraction, Context, CreateAttachment, CreateButton,
    CreateInputText, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, CreateModal, EditInteractionResponse,
    EventHandler, GatewayIntents, GuildId, Http, HttpBuilder, InputTextStyle, Interaction,
    ModalInteraction, Ready, ShardManager,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The real Discord; anything else is a test or a proxy and needs the rate limiter off,
/// because serenity ignores the proxy while its limiter is on.
pub const DISCORD: &str = "https://discord.com";

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("Discord client could not be built: {0}")]
    Client(#[from] serenity::Error),
}

struct Handler {
    core: Core,
    renderer: Arc<Renderer>,
    guilds: Vec<u64>,
    refresher: refresh::Handle,
    /// serenity runs every event in its own task; a member's own interactions are serialised
    /// here so a quick second tap (ranking, undo) never overtakes the first.
    members: std::sync::Mutex<std::collections::HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
}

/// Where replies go after the first acknowledgement.
struct Route {
    /// The first text may replace the original response: a deferred command or modal, or the
    /// ephemeral flow message the member tapped. Never a public poll message.
    original_free: bool,
    /// Follow-ups are visible only to the member.
    ephemeral: bool,
}

/// Sends text for one interaction: the first message may replace the original response, the
/// rest are follow-ups. Components and a file go on the last part of a split text.
struct Out<'a, I> {
    http: &'a Http,
    i: &'a I,
    original_free: bool,
    ephemeral: bool,
}

impl<I: Followable + Sync> Out<'_, I> {
    async fn say(
        &mut self,
        text: &str,
        rows: Vec<serenity::all::CreateActionRow>,
        mut file: Option<CreateAttachment>,
    ) -> serenity::Result<()> {
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
                if let Some(f) = file {
                    e = e.new_attachment(f);
                }
                with_retry("edit response", Call::Idempotent, || {
                    self.i.http_edit(self.http, e.clone())
                })
                .await
                .map(|_| ())
            } else {
                let mut f = CreateInteractionResponseFollowup::new()
                    .content(chunk)
                    .components(rows)
                    .ephemeral(self.ephemeral)
                    .allowed_mentions(no_mentions());
                if let Some(file) = file {
                    f = f.add_file(file);
                }
                with_retry("follow-up", Call::Creates, || {
                    self.i.http_followup(self.http, f.clone())
                })
                .await
                .map(|_| ())
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
    ) -> serenity::Result<()> {
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

/// Something that can receive follow-ups: any interaction.
trait Followable {
    fn interaction_id(&self) -> u64;
    fn http_edit(
        &self,
        http: &Http,
        e: EditInteractionResponse,
    ) -> impl std::future::Future<Output = serenity::Result<serenity::all::Message>> + Send;
    fn http_followup(
        &self,
        http: &Http,
        f: CreateInteractionResponseFollowup,
    ) -> impl std::future::Future<Output = serenity::Result<serenity::all::Message>> + Send;
}

macro_rules! followable {
    ($t:ty) => {
        impl Followable for $t {
            fn interaction_id(&self) -> u64 {
                self.id.get()
            }
            async fn http_edit(
                &self,
                http: &Http,
                e: EditInteractionResponse,
            ) -> serenity::Result<serenity::all::Message> {
                self.edit_response(http, e).await
            }
            async fn http_followup(
                &self,
                http: &Http,
                f: CreateInteractionResponseFollowup,
            ) -> serenity::Result<serenity::all::Message> {
                self.create_followup(http, f).await
            }
        }
    };
}
followable!(CommandInteraction);
followable!(ComponentInteraction);
followable!(ModalInteraction);

impl Handler {
    fn descriptions(&self, locale: Option<&str>) -> BTreeMap<String, String> {
        let text = self
            .renderer
            .render_in(Target::Plain, locale, "discord_commands", &json!({}))
            .unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().chars().take(100).collect()))
            .collect()
    }

    /// Command texts of every shipped locale, for the Discord locale codes each serves.
    fn localised_commands(&self) -> Vec<commands::Localised> {
        let shipped = self.renderer.locales();
        shipped
            .iter()
            .map(|l| commands::Localised {
                discord_codes: crate::locale::discord_codes(l, shipped),
                texts: self.descriptions(Some(l)),
            })
            .collect()
    }

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
        match self.core.handle(ev).await {
            Ok(Handled::Replies(r)) => Some(r),
            Ok(Handled::Duplicate) => None,
            Err(e) => {
                e.log();
                Some(vec![Outbound::Toast(try_again())])
            }
        }
    }

    /// A "write your answer" button for open-text questions: Discord has no typing in an
    /// ephemeral flow, so a modal collects the text.
    fn compose_button(&self, msg: &Msg) -> Option<CreateButton> {
        let q = msg.data.get("question")?;
        (msg.template == "question" && q.get("type")?.as_str()? == "open_text").then(|| {
            let max = q.get("max_chars").and_then(|m| m.as_u64()).unwrap_or(500);
            CreateButton::new(format!("compose.{max}"))
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
                .style(ButtonStyle::Primary)
        })
    }

    async fn deliver<I: Followable + Sync>(
        &self,
        http: &Http,
        i: &I,
        channel: serenity::all::ChannelId,
        route: Route,
        replies: Vec<Outbound>,
    ) {
        let mut out = Out {
            http,
            i,
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
                        .nonce(serenity::all::Nonce::String(format!(
                            "poll{}",
                            i.interaction_id()
                        )))
                        .enforce_nonce(true);
                    match with_retry("post poll", Call::Idempotent, || {
                        channel.send_message(http, m.clone())
                    })
                    .await
                    {
                        Ok(posted) => {
                            let now = self.core.now();
                            if let Err(e) = self
                                .core
                                .store()
                                .record_posting(
                                    survey,
                                    "discord",
                                    &channel.get().to_string(),
                                    &posted.id.get().to_string(),
                                    now,
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

    async fn on_command(&self, ctx: &Context, i: CommandInteraction) {
        let text = commands::to_text(&i.data.name, &i.data.options);
        let ev = self.scoped(translate::command(&i, text), i.guild_id);
        // The team's insights, exports and digest are shown to the channel only in a team
        // chat (`[team] chats`); everything else, refusals included, only to the member.
        let public = matches!(i.data.name.as_str(), "insights" | "export" | "digest")
            && self.core.is_team(&ev.actor)
            && self.core.is_team_chat(&ev.chat);
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(!public),
        );
        if let Err(e) = with_retry("defer", Call::Idempotent, || {
            i.create_response(&ctx.http, defer.clone())
        })
        .await
        {
            tracing::debug!(error = %e, "could not defer (a replayed interaction?)");
        }
        if let Some(replies) = self.run_core(&ev).await {
            let route = Route {
                original_free: true,
                ephemeral: !public,
            };
            self.deliver(&ctx.http, &i, i.channel_id, route, replies)
                .await;
        }
    }

    async fn on_component(&self, ctx: &Context, i: ComponentInteraction) {
        if let translate::CustomId::Compose(max) = translate::decode_custom_id(&i.data.custom_id) {
            let mut actor =
                crate::core::event::Actor::new(Platform::Discord, i.user.id.to_string());
            actor.locale = Some(i.locale.clone());
            let locale = self.core.member_locale(&actor).await.ok();
            let title = self
                .renderer
                .render_in(
                    Target::Plain,
                    locale.as_deref(),
                    "dc_modal_title",
                    &json!({}),
                )
                .unwrap_or_else(|_| "Your answer".into());
            let modal = CreateModal::new("answer", title.chars().take(45).collect::<String>())
                .components(vec![serenity::all::CreateActionRow::InputText(
                    CreateInputText::new(
                        InputTextStyle::Paragraph,
                        title.chars().take(45).collect::<String>(),
                        "text",
                    )
                    .max_length(max)
                    .required(true),
                )]);
            if let Err(e) = i
                .create_response(&ctx.http, CreateInteractionResponse::Modal(modal))
                .await
            {
                tracing::warn!(error = %e, "could not open the answer form");
            }
            return;
        }
        if let Err(e) = with_retry("acknowledge", Call::Idempotent, || {
            i.create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
        })
        .await
        {
            tracing::debug!(error = %e, "could not acknowledge (a replayed interaction?)");
        }
        let ev = self.scoped(translate::component(&i), i.guild_id);
        let private = ev.chat.kind == crate::core::event::ChatKind::Private
            && i.message
                .flags
                .is_some_and(|f| f.contains(serenity::all::MessageFlags::EPHEMERAL));
        if let Some(replies) = self.run_core(&ev).await {
            let route = Route {
                original_free: private,
                ephemeral: true,
            };
            self.deliver(&ctx.http, &i, i.channel_id, route, replies)
                .await;
        }
    }

    async fn on_modal(&self, ctx: &Context, i: ModalInteraction) {
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(true),
        );
        if let Err(e) = with_retry("defer modal", Call::Idempotent, || {
            i.create_response(&ctx.http, defer.clone())
        })
        .await
        {
            tracing::debug!(error = %e, "could not defer a modal (replayed?)");
        }
        let ev = self.scoped(translate::modal(&i), i.guild_id);
        if let Some(replies) = self.run_core(&ev).await {
            let route = Route {
                original_free: true,
                ephemeral: true,
            };
            self.deliver(&ctx.http, &i, i.channel_id, route, replies)
                .await;
        }
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
        let cmds = commands::definitions(&self.descriptions(None), &self.localised_commands());
        if self.guilds.is_empty() {
            if let Err(e) = serenity::all::Command::set_global_commands(&ctx.http, cmds).await {
                tracing::error!(error = %e, "could not register global commands");
            }
        } else {
            for g in &self.guilds {
                if let Err(e) = GuildId::new(*g).set_commands(&ctx.http, cmds.clone()).await {
                    tracing::error!(error = %e, guild = g, "could not register guild commands");
                }
            }
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let user = match &interaction {
            Interaction::Command(i) => i.user.id.get(),
            Interaction::Component(i) => i.user.id.get(),
            Interaction::Modal(i) => i.user.id.get(),
            _ => 0,
        };
        let lock = match self.members.lock() {
            Ok(mut m) => m.entry(user).or_default().clone(),
            Err(_) => Arc::default(),
        };
        let _turn = lock.lock().await;
        match interaction {
            Interaction::Command(i) => self.on_command(&ctx, i).await,
            Interaction::Component(i) => self.on_component(&ctx, i).await,
            Interaction::Modal(i) => self.on_modal(&ctx, i).await,
            _ => {}
        }
    }
}

/// Posts the digest to channels: the Markdown text in chunks of Discord's limit, the chart
/// attached to the last one.
struct DigestSink {
    http: Arc<Http>,
    renderer: Arc<Renderer>,
}

/// A failed digest send: unknown outcome when the request may have reached Discord.
fn digest_send_error(e: serenity::Error) -> crate::digest::SendError {
    use crate::digest::SendError;
    match &e {
        serenity::Error::Http(serenity::http::HttpError::Request(r)) if !r.is_connect() => {
            SendError::Uncertain(e.to_string())
        }
        _ => SendError::Failed(e.to_string()),
    }
}

impl crate::digest::Sink for DigestSink {
    fn platform(&self) -> &'static str {
        "discord"
    }
    fn render(
        &self,
        brief: &crate::insight::digest::Brief,
        chart: Option<&[u8]>,
    ) -> Result<Vec<crate::digest::Part>, String> {
        let text = self
            .renderer
            .digest(Target::Markdown, brief)
            .map_err(|e| e.to_string())?;
        let chunks = parts(&text);
        let n = chunks.len();
        Ok(chunks
            .into_iter()
            .enumerate()
            .map(|(k, chunk)| {
                // The chart goes with the last chunk: one message, posted whole or not at all.
                let image = (k + 1 == n).then(|| chart.map(<[u8]>::to_vec)).flatten();
                crate::digest::Part {
                    label: if image.is_some() {
                        format!("text {}/{n} + chart", k + 1)
                    } else {
                        format!("text {}/{n}", k + 1)
                    },
                    text: Some(chunk),
                    image,
                }
            })
            .collect())
    }
    fn send<'a>(
        &'a self,
        destination: &'a str,
        part: &'a crate::digest::Part,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), crate::digest::SendError>> + Send + 'a>,
    > {
        Box::pin(async move {
            let channel = destination
                .parse::<u64>()
                .ok()
                .filter(|c| *c != 0)
                .map(serenity::all::ChannelId::new)
                .ok_or_else(|| {
                    crate::digest::SendError::Failed(format!(
                        "{destination:?} is not a Discord channel id"
                    ))
                })?;
            let mut m = CreateMessage::new()
                .content(part.text.clone().unwrap_or_default())
                .allowed_mentions(no_mentions());
            if let Some(png) = &part.image {
                m = m.add_file(CreateAttachment::bytes(png.clone(), "chart.png"));
            }
            with_retry("digest", Call::Creates, || {
                channel.send_message(&self.http, m.clone())
            })
            .await
            .map(|_| ())
            .map_err(digest_send_error)
        })
    }
}

/// A running Discord adapter.
pub struct Discord {
    renderer: Arc<Renderer>,
    client: serenity::Client,
    shards: Arc<ShardManager>,
    refresher: refresh::Handle,
}

impl Discord {
    /// Builds the client; `token` never appears in logs.
    pub async fn start(
        core: Core,
        renderer: Arc<Renderer>,
        cfg: &DiscordConfig,
        token: &Secret,
    ) -> Result<Self, DiscordError> {
        let mut http = HttpBuilder::new(token.expose());
        if cfg.api_url.trim_end_matches('/') != DISCORD {
            http = http
                .proxy(cfg.api_url.trim_end_matches('/'))
                .ratelimiter_disabled(true);
        }
        let (refresher, pending) = refresh::channel();
        let renderer_for_sink = renderer.clone();
        let handler = Handler {
            core: core.clone(),
            renderer: renderer.clone(),
            guilds: cfg.guilds.clone(),
            refresher: refresher.clone(),
            members: Default::default(),
        };
        let client =
            serenity::all::ClientBuilder::new_with_http(http.build(), GatewayIntents::GUILDS)
                .event_handler(handler)
                .await?;
        refresh::spawn(
            pending,
            core,
            renderer,
            client.http.clone(),
            std::time::Duration::from_millis(cfg.poll_refresh_ms.max(50)),
        );
        let shards = client.shard_manager.clone();
        Ok(Self {
            renderer: renderer_for_sink,
            client,
            shards,
            refresher,
        })
    }

    /// Posts digests through this client's HTTP connection.
    pub fn digest_sink(&self) -> Arc<dyn crate::digest::Sink> {
        Arc::new(DigestSink {
            http: self.client.http.clone(),
            renderer: self.renderer.clone(),
        })
    }

    /// Runs until `shutdown` resolves; serenity reconnects and resumes on its own.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        let shards = self.shards.clone();
        tokio::spawn(async move {
            shutdown.await;
            shards.shutdown_all().await;
        });
        if let Err(e) = self.client.start().await {
            tracing::error!(error = %e, "Discord client stopped with an error");
        }
        self.refresher.flush().await;
        tracing::info!("Discord adapter stopped");
    }
}
