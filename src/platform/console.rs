//! The console adapter: a local chat in the terminal that drives the same core as the chat
//! platforms. You act as any member (`/as NAME`) in a simulated group or your private chat.

use crate::core::event::{
    Actor, Body, ButtonAction, Chat, ChatKind, Inbound, Keyboard, Msg, Outbound, Platform, To,
};
use crate::render::report::Format;
use crate::render::{Renderer, Target};
use crate::service::{Handled, Service, try_again};
use serde_json::json;
use std::sync::Arc;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// The console's own commands, handled before a line reaches the bot (`console_intro.hbs`
/// names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    Quit,
    As,
    Dm,
    Group,
    WhoAmI,
}

impl Frame {
    /// The frame command a line's first word names, if any.
    pub fn parse(word: &str) -> Option<Frame> {
        match word {
            "/quit" | "/exit" => Some(Frame::Quit),
            "/as" => Some(Frame::As),
            "/dm" => Some(Frame::Dm),
            "/group" => Some(Frame::Group),
            "/whoami" => Some(Frame::WhoAmI),
            _ => None,
        }
    }
}

/// Longest line the console accepts, matching Telegram's message limit.
pub const MAX_LINE_CHARS: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
enum View {
    Group,
    Private(String),
}

struct Shown {
    number: usize,
    view: View,
    /// Each button with the number typed to tap it.
    buttons: Vec<(usize, ButtonAction)>,
}

/// The number shown for each button. Numeric labels (an NPS 0-10) are their own number, so
/// typing 9 taps "9"; otherwise an option keeps its option number, so a ranking's buttons do not
/// renumber after each pick; other buttons (undo, skip, pairwise sides) follow.
fn button_numbers(labels: &[String], actions: &[ButtonAction]) -> Vec<usize> {
    let numeric: Vec<Option<usize>> = labels
        .iter()
        .map(|l| l.trim().parse::<usize>().ok().filter(|n| *n < 1000))
        .collect();
    let option = |a: &ButtonAction| match a {
        ButtonAction::Payload(p) => match crate::core::payload::Payload::decode(p) {
            Ok(crate::core::payload::Payload {
                action: crate::core::payload::Action::Choose { value, .. },
                ..
            }) => Some(usize::from(value) + 1),
            _ => None,
        },
        ButtonAction::DeepLink { .. } => None,
    };
    let by_label = numeric.iter().any(Option::is_some);
    let mut nums: Vec<Option<usize>> = if by_label {
        numeric
    } else {
        actions.iter().map(option).collect()
    };
    let mut seen = std::collections::HashSet::new();
    if nums.iter().flatten().any(|n| !seen.insert(*n)) {
        // Duplicates would make a number ambiguous: fall back to positions.
        return (1..=labels.len()).collect();
    }
    let mut next = nums.iter().flatten().max().copied().unwrap_or(0) + 1;
    for n in &mut nums {
        if n.is_none() {
            *n = Some(next);
            next += 1;
        }
    }
    nums.into_iter().map(|n| n.unwrap_or(0)).collect()
}

/// One console session.
pub struct Console {
    service: Service,
    renderer: Arc<Renderer>,
    user: String,
    private: bool,
    chat: String,
    session: String,
    seq: u64,
    messages: Vec<Shown>,
    database: String,
    /// Where charts and exported files go: `out/` beside the config file.
    out_dir: std::path::PathBuf,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Console {
    pub fn new(service: Service, renderer: Arc<Renderer>, database: &str) -> Self {
        let cfg = service.config().console.clone();
        let (user, chat) = cfg
            .map(|c| (c.user, c.chat))
            .unwrap_or_else(|| ("alex".into(), "community".into()));
        let out_dir = service
            .config()
            .path
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join("out");
        Self {
            service,
            renderer,
            user,
            private: false,
            chat,
            // Event ids must stay unique across sessions on the same database.
            session: format!(
                "{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            ),
            seq: 0,
            messages: Vec::new(),
            database: database.to_string(),
            out_dir,
        }
    }

    /// Saves a chart or file as `out/NAME` beside the config file (the checkout's `.gitignore`
    /// lists `out/`), so trying the console writes nothing among the sources.
    fn save(&self, name: &str, bytes: &[u8]) -> std::io::Result<std::path::PathBuf> {
        std::fs::create_dir_all(&self.out_dir)?;
        let path = self.out_dir.join(name);
        std::fs::write(&path, bytes)?;
        Ok(path)
    }

    fn text(&self, msg: &Msg) -> String {
        match self
            .renderer
            .render_on(Platform::Console, Target::Plain, msg)
        {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "template failed");
                "(this message could not be shown; see the log)".into()
            }
        }
    }

    fn view(&self) -> View {
        if self.private {
            View::Private(self.user.clone())
        } else {
            View::Group
        }
    }

    fn actor(&self) -> Actor {
        let mut a = Actor::new(Platform::Console, self.user.clone());
        a.display_name = Some(self.user.clone());
        a
    }

    fn chat_ref(&self) -> Chat {
        if self.private {
            Chat {
                id: format!("dm:{}", self.user),
                kind: ChatKind::Private,
                title: None,
            }
        } else {
            Chat {
                id: self.chat.clone(),
                kind: ChatKind::Group,
                title: Some(self.chat.clone()),
            }
        }
    }

    pub fn intro(&self) -> String {
        self.text(&Msg::new(
            "console_intro",
            json!({ "database": self.database, "user": self.user, "chat": self.chat }),
        ))
    }

    /// Handles one typed line and returns what the console prints. `None` means quit.
    pub async fn line(&mut self, input: &str) -> Option<String> {
        let input = input.trim_end_matches(['\r', '\n']);
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Some(String::new());
        }
        let n = input.chars().count();
        if n > MAX_LINE_CHARS {
            return Some(self.text(&Msg::new(
                "console_error",
                json!({ "kind": "too_long", "got": n, "max": MAX_LINE_CHARS }),
            )));
        }
        let mut words = trimmed.split_whitespace();
        match Frame::parse(words.next().unwrap_or("")) {
            Some(Frame::Quit) => return None,
            Some(Frame::As) => {
                let name = words.next().unwrap_or("");
                if !valid_name(name) {
                    return Some(
                        self.text(&Msg::new("console_error", json!({ "kind": "bad_name" }))),
                    );
                }
                self.user = name.to_string();
                return Some(self.whoami());
            }
            Some(Frame::Dm) => {
                self.private = true;
                return Some(self.whoami());
            }
            Some(Frame::Group) => {
                self.private = false;
                return Some(self.whoami());
            }
            Some(Frame::WhoAmI) => return Some(self.whoami()),
            None => {}
        }
        if let Some(tap) = self.find_button(trimmed) {
            return Some(match tap {
                Ok(ButtonAction::Payload(p)) => self.send(Body::Button(p)).await,
                Ok(ButtonAction::DeepLink { survey }) => {
                    // What a deep link does on a chat platform: open the private chat with /start.
                    self.private = true;
                    let mut out = self.whoami();
                    out.push('\n');
                    out.push_str(&self.send(Body::Text(format!("/start {survey}"))).await);
                    out
                }
                Err(()) => self.text(&Msg::new(
                    "console_error",
                    json!({ "kind": "no_buttons", "input": trimmed }),
                )),
            });
        }
        Some(self.send(Body::Text(input.to_string())).await)
    }

    fn whoami(&self) -> String {
        self.text(&Msg::new(
            "console_whoami",
            json!({ "user": self.user, "team": self.service.is_team(&self.actor()),
                    "private": self.private, "chat": self.chat }),
        ))
    }

    /// `2` taps button 2 of the latest message with buttons here; `#3.2` taps a specific one.
    /// Returns None when the input is not a tap at all.
    fn find_button(&self, s: &str) -> Option<Result<ButtonAction, ()>> {
        let view = self.view();
        let (msg, button) = if let Some(rest) = s.strip_prefix('#') {
            let (m, b) = rest.split_once('.')?;
            (Some(m.parse::<usize>().ok()?), b.parse::<usize>().ok()?)
        } else if s.chars().all(|c| c.is_ascii_digit()) && s.len() <= 3 {
            // In a private flow, typed numbers can be answers (a rating typed as text); buttons
            // win when the latest message has them.
            (None, s.parse::<usize>().ok()?)
        } else {
            return None;
        };
        let shown = match msg {
            Some(m) => self
                .messages
                .iter()
                .find(|x| x.number == m && x.view == view),
            None => self
                .messages
                .iter()
                .rev()
                .find(|x| x.view == view && !x.buttons.is_empty()),
        };
        match shown {
            Some(x) => Some(
                x.buttons
                    .iter()
                    .find(|(n, _)| *n == button)
                    .map(|(_, a)| a.clone())
                    .ok_or(()),
            ),
            None if msg.is_some() => Some(Err(())),
            None => None,
        }
    }

    async fn send(&mut self, body: Body) -> String {
        self.seq += 1;
        let ev = Inbound {
            event_id: format!("console:{}:{}", self.session, self.seq),
            actor: self.actor(),
            chat: self.chat_ref(),
            body,
        };
        match self.service.handle(&ev).await {
            Ok(Handled::Duplicate) => String::new(),
            Ok(Handled::Replies(out)) => self.show(out).await,
            Err(e) => {
                e.log();
                format!("  ! {}", self.text(&try_again()))
            }
        }
    }

    fn show_message(&mut self, view: View, header: &str, msg: &Msg, kb: &Keyboard) -> String {
        let number = self.messages.len() + 1;
        let mut out = format!("{header}#{number}\n{}", self.text(msg));
        let labels: Vec<String> = kb
            .buttons()
            .map(|b| self.renderer.label(&b.label).unwrap_or_else(|_| "?".into()))
            .collect();
        let actions: Vec<ButtonAction> = kb.buttons().map(|b| b.action.clone()).collect();
        let numbers = button_numbers(&labels, &actions);
        let mut buttons = Vec::new();
        for row in &kb.rows {
            let mut line = String::from("\n ");
            for _ in row {
                let i = buttons.len();
                let (Some(n), Some(a), Some(label)) =
                    (numbers.get(i), actions.get(i), labels.get(i))
                else {
                    break;
                };
                buttons.push((*n, a.clone()));
                line.push_str(&format!(" [{n}] {label}"));
            }
            out.push_str(&line);
        }
        self.messages.push(Shown {
            number,
            view,
            buttons,
        });
        out
    }

    /// Prints an insight report and saves its chart next to the database.
    fn show_report(&mut self, report: &crate::insight::Report, chart: Option<&[u8]>) -> String {
        let number = self.messages.len() + 1;
        self.messages.push(Shown {
            number,
            view: self.view(),
            buttons: Vec::new(),
        });
        let text = self
            .renderer
            .report(Format::Chat(Target::Plain), report)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "report template failed");
                "(the summary could not be shown; see the log)".into()
            });
        let mut block = format!("bot #{number}\n{text}");
        if let Some(png) = chart {
            let name = format!("insights-{}.png", report.survey.id);
            match self.save(&name, png) {
                Ok(path) => block.push_str(&format!("\n  [chart saved: {}]", path.display())),
                Err(e) => block.push_str(&format!("\n  ! could not save {name}: {e}")),
            }
        }
        block
    }

    /// A block meant for the member only, marked as the private messages are.
    fn privately(&self, to: To, block: String) -> String {
        match to {
            To::Chat => block,
            To::Private => format!("bot → {} (private)\n{block}", self.user),
        }
    }

    async fn show(&mut self, replies: Vec<Outbound>) -> String {
        let mut out = Vec::new();
        for r in replies {
            match r {
                Outbound::Toast(m) => out.push(format!("  (only you see) {}", self.text(&m))),
                Outbound::Reply { msg, keyboard } => {
                    let view = self.view();
                    let header = if self.private { "bot → you " } else { "bot " };
                    out.push(self.show_message(view, header, &msg, &keyboard));
                }
                Outbound::Private { msg, keyboard } => {
                    let header = format!("bot → {} (private) ", self.user);
                    let view = View::Private(self.user.clone());
                    out.push(self.show_message(view, &header, &msg, &keyboard));
                }
                Outbound::PostPoll {
                    survey,
                    msg,
                    keyboard,
                } => {
                    let text = self.show_message(View::Group, "bot (poll) ", &msg, &keyboard);
                    let number = self.messages.len().to_string();
                    if let Err(e) = self
                        .service
                        .record_posting(survey, Platform::Console, &self.chat, &number)
                        .await
                    {
                        tracing::error!(error = %e, "could not record posting");
                    }
                    out.push(text);
                }
                // The console shows counters when a poll is posted; live edits are for the
                // chat platforms, which coalesce them.
                Outbound::RefreshPolls { .. } => {}
                Outbound::Report {
                    report,
                    chart_png,
                    to,
                } => {
                    let block = self.show_report(&report, chart_png.as_deref());
                    out.push(self.privately(to, block));
                }
                Outbound::Digest {
                    brief,
                    chart_png,
                    to,
                } => {
                    let text = self
                        .renderer
                        .digest(Target::Plain, &brief)
                        .unwrap_or_else(|e| {
                            tracing::error!(error = %e, "digest template failed");
                            "(the digest could not be shown; see the log)".into()
                        });
                    let mut block = format!("bot\n{text}");
                    if let Some(png) = chart_png {
                        match self.save("digest.png", &png) {
                            Ok(path) => {
                                block.push_str(&format!("\n  [chart saved: {}]", path.display()))
                            }
                            Err(e) => {
                                block.push_str(&format!("\n  ! could not save digest.png: {e}"))
                            }
                        }
                    }
                    out.push(self.privately(to, block));
                }
                Outbound::File {
                    name,
                    bytes,
                    caption,
                    to,
                    ..
                } => {
                    let file = std::path::Path::new(&name)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "canvass-output".into());
                    match self.save(&file, &bytes) {
                        Ok(path) => out.push(self.privately(
                            to,
                            format!(
                                "{}\n  [file saved: {} ({} bytes)]",
                                self.text(&caption),
                                path.display(),
                                bytes.len()
                            ),
                        )),
                        Err(e) => out.push(format!("  ! could not save {file}: {e}")),
                    }
                }
            }
        }
        out.join("\n")
    }

    /// Runs the console on the given input and output until EOF, `/quit` or `shutdown`.
    pub async fn run<R, W>(
        mut self,
        input: R,
        mut output: W,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<()>
    where
        R: AsyncBufRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut lines = input.lines();
        output
            .write_all(format!("{}\n> ", self.intro()).as_bytes())
            .await?;
        output.flush().await?;
        loop {
            let line = tokio::select! {
                l = lines.next_line() => l?,
                _ = shutdown.changed() => None,
            };
            let Some(line) = line else { break };
            match self.line(&line).await {
                Some(text) => {
                    if !text.is_empty() {
                        output.write_all(text.as_bytes()).await?;
                        output.write_all(b"\n").await?;
                    }
                    output.write_all(b"> ").await?;
                    output.flush().await?;
                }
                None => break,
            }
        }
        output.write_all(b"\nbye\n").await?;
        output.flush().await?;
        Ok(())
    }
}
