//! `refraft`: run a server, a client, or a local three-node cluster.

use clap::Parser;
use refraft_server::cli::{run_client, run_cluster, Cli, Cmd};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve(args) => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .init();
            if args.exit_on_stdin_eof {
                refraft_server::cli::exit_on_stdin_eof();
            }
            let config = match args.config() {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("refraft serve: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match refraft_server::server::serve(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "server stopped");
                    eprintln!("refraft serve: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Client(args) => run_client(args),
        Cmd::Cluster(args) => run_cluster(args),
    }
}
