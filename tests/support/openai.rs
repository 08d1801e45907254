//! A fake OpenAI-compatible server on 127.0.0.1 (`POST /v1/chat/completions`): answers with
//! the reply the test sets (text, an HTTP status, or a hang) and records the raw bytes of
//! every request it received.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake answers with.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// 200 with this assistant message.
    Text(String),
    /// This status with an error body.
    Status(u16),
    /// Never answers within any test's budget.
    Hang,
}

#[derive(Default)]
struct Shared {
    reply: Mutex<Option<Reply>>,
    requests: Mutex<Vec<Vec<u8>>>,
}

pub(crate) struct FakeOpenAi {
    pub base_url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn completions(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Ok(mut r) = s.requests.lock() {
        r.push(body.to_vec());
    }
    let reply = s.reply.lock().ok().and_then(|r| r.clone());
    match reply {
        Some(Reply::Text(t)) => axum::Json(json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": "fake-model",
            "choices": [{ "index": 0, "finish_reason": "stop",
                          "message": { "role": "assistant", "content": t } }],
        }))
        .into_response(),
        Some(Reply::Status(code)) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({ "error": { "message": "fake failure" } })),
        )
            .into_response(),
        Some(Reply::Hang) | None => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

impl FakeOpenAi {
    pub(crate) async fn start(reply: Reply) -> FakeOpenAi {
        let shared = Arc::new(Shared::default());
        if let Ok(mut r) = shared.reply.lock() {
            *r = Some(reply);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeOpenAi {
            base_url: format!("http://{addr}/v1"),
            shared,
            server,
        }
    }

    pub(crate) fn set(&self, reply: Reply) {
        if let Ok(mut r) = self.shared.reply.lock() {
            *r = Some(reply);
        }
    }

    /// Raw bodies received so far.
    pub(crate) fn requests(&self) -> Vec<Vec<u8>> {
        self.shared
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// A `[narrative]` section pointing at this server.
    pub(crate) fn section(&self, timeout_ms: u64) -> String {
        format!(
            "\n[narrative]\nbase_url = \"{}\"\nmodel = \"fake-model\"\ntimeout_ms = {timeout_ms}\nmax_chars = 1200\n",
            self.base_url
        )
    }
}
