//! `shoal-server [/path/to/redis.conf] [--directive value ...]`: starts Shoal the way redis-server starts.

use std::process::ExitCode;
use std::sync::Arc;

#[global_allocator]
static GLOBAL: shoal::alloc::CountingAlloc = shoal::alloc::CountingAlloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match shoal::config::parse_cli(&args) {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(1);
        }
    };
    let config = match cli {
        shoal::config::Cli::Version => {
            println!("{}", version_line());
            return ExitCode::SUCCESS;
        }
        shoal::config::Cli::Help => {
            println!("{}", shoal::config::usage("./shoal-server"));
            return ExitCode::SUCCESS;
        }
        shoal::config::Cli::Run(config) => config,
    };
    let config_file = config.config_file().map(|p| p.display().to_string());
    let store = shoal::config::ConfigStore::new(*config);
    let settings = store.snapshot();
    // Redis chdir()s to `dir` at start-up; relative paths (pidfile, logs, dumps) then resolve there.
    if let Err(e) = std::env::set_current_dir(&settings.dir) {
        eprintln!("Can't chdir to '{}': {e}", settings.dir.display());
        return ExitCode::from(1);
    }
    if let Err(e) = shoal::server::log::init(&settings.logfile, settings.loglevel.name()) {
        eprintln!("Can't open the log file: {e}");
        return ExitCode::from(1);
    }
    match shoal::server::run(Arc::new(store), config_file) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// `-v`: tools parse ` v=<major>.<minor>` from this line, so it carries the Redis version Shoal implements.
fn version_line() -> String {
    format!(
        "Shoal server v={} sha=00000000:0 malloc=mimalloc bits=64 build=shoal-{}",
        shoal::commands::connection::REDIS_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}
