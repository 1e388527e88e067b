//! The `caucus` binary: configuration, wiring and CLI subcommands. No business
//! logic lives here: each subcommand parses its arguments and calls into the
//! library crates.
//!
//! Layout: `cli` (the argument types), `store` (opens the log a `--data` or
//! `--store` names), `serve` and `http` (the server), `replay`, `workspace_cli`,
//! `token_cli`, `migrate`, `log_copy`, the load generator `load*` (SDK peers
//! against a running server), and the benchmark programs `bench*`.

mod bench;
mod bench_api;
mod bench_log;
mod bench_log_pg;
mod bench_quic;
mod bench_sfu;
mod bench_webhooks;
mod cli;
mod config;
mod http;
mod load;
mod load_peers;
mod load_probe;
mod log_copy;
mod migrate;
mod quic;
mod replay;
mod serve;
mod store;
mod token_cli;
mod workspace_cli;

use std::io::IsTerminal;

use clap::Parser;

use crate::cli::{BenchCommand, Cli, Command, LogCommand};

fn main() -> anyhow::Result<()> {
    // The config file only fills in environment variables that are not set, before
    // anything reads them (no other thread runs yet).
    let args: Vec<String> = std::env::args().collect();
    if let Some(path) = config::path_from(&args) {
        for (var, value) in config::load(&path)? {
            set_env(&var, &value);
        }
    }
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Load(_) | Command::Bench(BenchCommand::Sfu(_))
    ) && std::env::var_os("CAUCUS_LOG").is_none()
    {
        // Hundreds of SDK peers: webrtc-rs logs every state change at info,
        // and two warnings per connection that are expected on loopback.
        set_env("CAUCUS_LOG", "warn,rtc_dtls=error,rtc_ice=error");
    }
    serve::init_tracing(cli.log_format);
    match cli.command {
        Command::Workspace(cmd) => return workspace_cli::run(cmd),
        Command::Token(cmd) => return token_cli::run(cmd),
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Replay(args) => replay::run(args).await,
            Command::Bench(BenchCommand::Log(args)) => bench::log(args).await,
            Command::Bench(BenchCommand::Api(args)) => bench::api(args).await,
            Command::Bench(BenchCommand::Webhooks(args)) => bench::webhooks(args).await,
            Command::Bench(BenchCommand::Sfu(args)) => bench_sfu::run(args).await,
            Command::Bench(BenchCommand::Quic(args)) => bench_quic::run(args).await,
            Command::Load(args) => load::run_cli(args).await,
            Command::Migrate(args) => migrate::run(&args.store).await,
            Command::Log(LogCommand::Copy(args)) => {
                let progress = std::io::stderr().is_terminal() && !args.json;
                let report = log_copy::run(&args.from, &args.to, progress).await?;
                if args.json {
                    println!("{}", serde_json::to_string(&report)?);
                }
                Ok(())
            }
            Command::Workspace(_) | Command::Token(_) => unreachable!("handled without a runtime"),
        }
    })
}

/// Sets an environment variable at start-up.
#[allow(unsafe_code)]
fn set_env(var: &str, value: &str) {
    // SAFETY: called from `main` before the runtime or any other thread exists,
    // so nothing can read the environment concurrently.
    unsafe { std::env::set_var(var, value) };
}
