//! The `newsdesk` binary: one command with subcommands that serve the site,
//! migrate the database, import saved pages and make demo content.

mod backup;
mod cli;
mod config;
mod demo;
mod feed_import;
mod import;
mod ingest;
mod search;
mod serve;
mod startup;
mod subscriber;
mod users;
mod wxr;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("newsdesk: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, with the chain of causes.
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("newsdesk: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}
