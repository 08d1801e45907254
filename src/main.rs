//! The `canvass` command line: starts the runtime and tracing, runs the command (`cli`) and maps
//! its outcome to an exit code.

mod cli;

use clap::Parser as _;
use cli::{Cli, Cmd};
use std::process::ExitCode;

fn init_tracing(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("CANVASS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Telegram puts the token in every request path, and the gateway's IDENTIFY frame holds
    // the Discord token: the HTTP and websocket libraries never log below info, whatever
    // CANVASS_LOG says.
    for cap in [
        "h2",
        "hyper",
        "hyper_util",
        "reqwest",
        "tungstenite",
        "tokio_tungstenite",
    ] {
        if let Ok(d) = format!("{cap}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    // Colours only on a terminal: journald, `docker logs` and files get plain text.
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The console shares the terminal with the log, so it only shows warnings by default;
    // `run` is the service and says at info what it started.
    init_tracing(matches!(cli.command, Cmd::Console));
    let interactive = matches!(cli.command, Cmd::Console | Cmd::Run);
    let code = match cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("canvass: {}", plain_chain(&e));
            ExitCode::FAILURE
        }
    };
    if interactive {
        // The console's read of standard input runs on a blocking thread that the runtime
        // would wait for at exit: after Ctrl-C or SIGTERM, exit without waiting for a line.
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 });
    }
    code
}

/// An error and its causes, each cause left out when its text is already in what is printed
/// (libraries often repeat their source's message in their own).
fn plain_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
