//! The optional model-written narrative: asks an OpenAI-compatible chat endpoint to write a
//! report up in prose, checks the reply against the report (`check`), and counts what was
//! dropped and why. Any failure leaves the deterministic summary in charge.

pub(crate) mod check;
pub(crate) mod claims;
mod facts;
mod failure;
mod quotes;
mod wording;

use crate::config::{Config, ConfigError, NarrativeConfig, Secret};
use crate::insight::report::{Narrative, Report};
use crate::render::report::Format;
use crate::render::{Renderer, Target};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most this many requests per narrative: one retry after a 429, a 5xx or a refused
/// connection, inside the same time budget.
const ATTEMPTS: usize = 2;
/// Wait before the retry when the server gives no usable Retry-After.
const RETRY_WAIT: Duration = Duration::from_millis(250);
/// A Retry-After longer than this is not worth waiting for.
const RETRY_WAIT_MAX: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum NarrativeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot build the narrative HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// Why a request gave no text.
#[derive(Debug)]
enum CallError {
    Status(u16),
    Transport(String),
    Reply(String),
}

impl CallError {
    fn retryable(&self) -> bool {
        match self {
            CallError::Status(s) => *s == 429 || *s >= 500,
            CallError::Transport(_) => true,
            CallError::Reply(_) => false,
        }
    }
}

/// The result of one narrative, with what was checked when it passed (defined beside the
/// report model, so `render` shows it without importing this module).
pub(crate) use crate::insight::report::NarrativeOutcome as Outcome;

/// Talks to the configured endpoint. Shared by the bot, the digest and the command line.
pub struct Narrator {
    cfg: NarrativeConfig,
    key: Option<Secret>,
    http: reqwest::Client,
    renderer: Arc<Renderer>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl std::fmt::Debug for Narrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Narrator")
            .field("base_url", &self.cfg.base_url)
            .field("model", &self.cfg.model)
            .field("key", &self.key)
            .finish()
    }
}

impl Narrator {
    /// Reads the API key from the environment variable the config names, if any.
    pub fn new(cfg: &NarrativeConfig, renderer: Arc<Renderer>) -> Result<Self, NarrativeError> {
        let key = cfg
            .api_key_env
            .as_deref()
            .map(|v| Config::secret(v, "narrative.api_key_env"))
            .transpose()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(cfg.timeout_ms.min(5_000)))
            .build()
            .map_err(NarrativeError::Client)?;
        Ok(Self {
            cfg: cfg.clone(),
            key,
            http,
            renderer,
            counts: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn model(&self) -> &str {
        &self.cfg.model
    }

    /// Outcomes since start, by code (`shown`, or why a narrative was dropped).
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn count(&self, code: &'static str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(code).or_default() += 1;
        }
    }

    /// Writes and checks a narrative for `report`. `answers` are the survey's current
    /// open-text answers, for the quote check. Never fails: a failure is a dropped
    /// narrative with its reason, logged and counted.
    pub async fn narrate(&self, report: &Report, answers: Vec<String>) -> Outcome {
        let outcome = self.attempt(report, answers).await;
        self.count(outcome.code);
        match &outcome.narrative {
            Narrative::Dropped { reason } => tracing::warn!(
                survey = %report.survey.id, code = outcome.code, %reason,
                total = self.counts().get(outcome.code).copied().unwrap_or(0),
                "narrative dropped; the deterministic summary is shown instead"
            ),
            _ => {
                tracing::info!(survey = %report.survey.id, model = %self.cfg.model, "narrative checked and shown")
            }
        }
        outcome
    }

    async fn attempt(&self, report: &Report, answers: Vec<String>) -> Outcome {
        if report.survey.respondents == 0 || report.questions.is_empty() {
            return self.dropped("nothing_to_narrate", json!({}));
        }
        let (system, user) = match self.renderer.narrative_prompt(report, self.cfg.max_chars) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "narrative prompt templates failed");
                return self.dropped("bad_prompt", json!({ "detail": e.to_string() }));
            }
        };
        let budget = Duration::from_millis(self.cfg.timeout_ms);
        let text = match tokio::time::timeout(budget, self.request(&system, &user, budget)).await {
            Err(_) => return self.dropped("timeout", json!({ "ms": self.cfg.timeout_ms })),
            Ok(Err(CallError::Status(s))) => {
                return self.dropped("http_status", json!({ "status": s }));
            }
            Ok(Err(CallError::Transport(e))) => {
                return self.dropped("unreachable", json!({ "detail": e }));
            }
            Ok(Err(CallError::Reply(e))) => {
                return self.dropped("bad_reply", json!({ "detail": e }));
            }
            Ok(Ok(t)) => t,
        };
        let shown = match self.renderer.report(Format::Chat(Target::Plain), report) {
            Ok(s) => s,
            Err(e) => return self.dropped("bad_prompt", json!({ "detail": e.to_string() })),
        };
        // The numbers the model was given are the report's own, as the report rounds them.
        let facts = check::Facts::new(
            report,
            &format!("{shown}\n{user}"),
            answers,
            self.renderer.team_locale(),
        );
        match check::check(&text, &facts, self.cfg.max_chars) {
            Ok(passed) => Outcome {
                narrative: Narrative::Checked {
                    text: text.trim().to_string(),
                    model: self.cfg.model.clone(),
                },
                code: "shown",
                checked: Some(passed),
            },
            Err(f) => self.dropped(f.code(), f.data()),
        }
    }

    fn dropped(&self, code: &'static str, mut data: Value) -> Outcome {
        data["code"] = json!(code);
        let reason = self
            .renderer
            .render_value(Target::Plain, "narrative/reason", &data)
            .unwrap_or_else(|e| format!("{code} ({e})"));
        Outcome {
            narrative: Narrative::Dropped { reason },
            code,
            checked: None,
        }
    }

    /// Up to `ATTEMPTS` requests; the caller bounds the whole by the time budget.
    async fn request(
        &self,
        system: &str,
        user: &str,
        budget: Duration,
    ) -> Result<String, CallError> {
        let started = Instant::now();
        let mut last = CallError::Reply("no attempt".into());
        for attempt in 1..=ATTEMPTS {
            match self.call(system, user).await {
                Ok(t) => return Ok(t),
                Err((e, wait)) => {
                    let wait = wait.unwrap_or(RETRY_WAIT).min(RETRY_WAIT_MAX);
                    let retry =
                        e.retryable() && attempt < ATTEMPTS && started.elapsed() + wait < budget;
                    tracing::debug!(attempt, error = ?e, retry, "narrative request failed");
                    last = e;
                    if !retry {
                        break;
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
        Err(last)
    }

    /// One chat-completions request. On failure, also the server's Retry-After, if any.
    async fn call(
        &self,
        system: &str,
        user: &str,
    ) -> Result<String, (CallError, Option<Duration>)> {
        let url = format!(
            "{}/chat/completions",
            self.cfg.base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.cfg.model,
            "messages": [
                { "role": "system", "content": system },
                { "role": "user", "content": user },
            ],
            "temperature": 0.2,
            // Roughly four characters per token, with room for the model to finish.
            "max_tokens": self.cfg.max_chars / 3 + 64,
            "stream": false,
        });
        let mut req = self.http.post(url).json(&body);
        if let Some(k) = &self.key {
            req = req.bearer_auth(k.expose());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| (CallError::Transport(e.without_url().to_string()), None))?;
        let status = resp.status();
        if !status.is_success() {
            let wait = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err((CallError::Status(status.as_u16()), wait));
        }
        let v: Value = resp
            .json()
            .await
            .map_err(|e| (CallError::Reply(e.without_url().to_string()), None))?;
        v.pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                (
                    CallError::Reply("no choices[0].message.content in the reply".into()),
                    None,
                )
            })
    }
}
