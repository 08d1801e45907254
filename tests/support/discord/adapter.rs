//! Runs the real Discord adapter (serenity) on a test app against a fake, until stopped.

use super::{FakeDiscord, TOKEN};
use crate::support::TestApp;
use canvass::config::{DiscordConfig, Secret};
use canvass::platform::discord::Discord;
use tokio::sync::oneshot;

/// The adapter's running task and the switch that ends it.
pub(crate) struct RunningAdapter {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningAdapter {
    /// Starts the adapter on `t`'s service for `guild` and returns once the gateway is ready
    /// for this session (after a restart the fake still counts the old one, so this waits for
    /// the new session's IDENTIFY first).
    pub(crate) async fn start(t: &TestApp, fake: &FakeDiscord, guild: u64) -> RunningAdapter {
        let sessions = fake.identifies();
        let cfg = DiscordConfig {
            token_env: "UNUSED".into(),
            api_url: fake.url.clone(),
            guilds: vec![guild],
            poll_refresh_ms: 100,
        };
        let adapter = Discord::start(
            t.app.service.clone(),
            t.app.renderer.clone(),
            &cfg,
            &Secret::new(TOKEN),
        )
        .await
        .expect("adapter starts");
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(adapter.run(async move {
            let _ = rx.await;
        }));
        fake.wait_for("the new session's IDENTIFY", |f| {
            (f.identifies() > sessions).then_some(())
        })
        .await;
        fake.wait_ready().await;
        RunningAdapter { stop, task }
    }

    /// Stops the adapter and waits until it has ended.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
