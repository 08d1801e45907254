//! `canvass run` (every enabled adapter, with the SIGHUP reloader) and `canvass console`.

use anyhow::Context as _;
use canvass::app::App;

/// Runs every enabled adapter until shutdown; the reloader listens once they are up.
pub(super) async fn run(app: App) -> anyhow::Result<()> {
    let reloader = std::sync::Mutex::new(None);
    app.run(async |app: &App| {
        let hup = canvass::operate::reload_on_hangup(app.clone());
        canvass::operate::announce(app).await;
        if let Ok(mut r) = reloader.lock() {
            *r = Some(hup);
        }
    })
    .await?;
    if let Some(hup) = reloader.lock().ok().and_then(|mut r| r.take()) {
        hup.abort();
    }
    Ok(())
}

/// A local chat in this terminal until the end of input, `/quit`, Ctrl-C or SIGTERM.
pub(super) async fn console(app: App) -> anyhow::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        canvass::app::shutdown_signal().await;
        let _ = tx.send(true);
    });
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    app.console()
        .run(stdin, tokio::io::stdout(), rx)
        .await
        .context("console")?;
    app.store.close().await;
    Ok(())
}
