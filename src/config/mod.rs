//! Configuration: redis.conf and command-line parsing, the directive registry, and CONFIG GET/SET.
//!
//! Shoal starts exactly like redis-server 7.0.15 (`shoal-server [/path/to/redis.conf] [-] [--name value
//! ...]`) and answers CONFIG GET/SET with the same names, value formats and error texts, so existing
//! redis.conf files, start-up scripts, clients and test suites work unchanged. What this module decides:
//!
//! - **One registry** ([`registry::DIRECTIVES`]) lists every directive Redis 7.0.15 knows, with its type,
//!   bounds, default, mutability and a [`registry::Kind`]: `Implemented` (Shoal acts on it) or `Accepted`
//!   (a real Redis directive Shoal does not act on yet: validated, stored, shown by CONFIG GET, and listed
//!   once at start-up by [`Config::accepted_but_unused`]). Unknown names are errors, as in Redis, so a
//!   typo never passes silently.
//! - **Redis's rules, including its quirks**, for parsing ([`parse`]), value syntax and formatting
//!   ([`value`]) and CONFIG SET validation ([`store`]), because compatibility is judged byte for byte.
//! - **Errors are values.** Loading returns a [`ConfigError`] whose `Display` is Redis's exact text; the
//!   binary prints it and exits 1. Nothing here prints, exits or panics on user input.
//! - **No process-wide side effects while loading.** `dir` is resolved to an absolute directory (Redis
//!   `chdir`s immediately); relative `include`/`logfile` paths resolve against it. The binary changes the
//!   working directory once, to [`Settings::dir`], after loading.
//! - **Hot paths read a typed snapshot.** [`ConfigStore`] keeps the full state behind a mutex for
//!   CONFIG GET/SET and publishes an `Arc<`[`Settings`]`>` of the implemented values, swapped on every
//!   successful CONFIG SET, plus a version counter the server can poll to react to changes (`port`,
//!   `bind`, ...).
//! - The loaded file's path and raw text are kept ([`Config::config_file`], [`Config::file_text`]) for a
//!   future CONFIG REWRITE.

pub mod parse;
pub mod registry;
pub mod rewrite;
mod settings;
mod special;
pub mod store;
pub mod value;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub use parse::{split_command_line, usage, CliAction, CommandLine, LoadOptions};
pub use registry::{Access, Directive, Kind, DIRECTIVES};
pub use settings::{EncodingLimits, LogLevel, MaxmemoryPolicy, Settings};
pub use special::notify;
pub use store::{ConfigStore, SetOptions};
pub use value::Value;

/// The Redis version whose behaviour (and error banner) Shoal reproduces.
pub const REDIS_VERSION: &str = "7.0.15";

/// What the server binary should do.
#[derive(Debug)]
pub enum Cli {
    Run(Box<Config>),
    Version,
    Help,
}

/// Parses the command line (arguments after the program name), reading the config file and, for `-`,
/// stdin. This is the whole start-up configuration step of the binary.
pub fn parse_cli<S: AsRef<OsStr>>(args: &[S]) -> Result<Cli, ConfigError> {
    parse_cli_with(args, &LoadOptions::default())
}

/// [`parse_cli`] with loading hooks (stdin text, command table for `rename-command`).
pub fn parse_cli_with<S: AsRef<OsStr>>(args: &[S], options: &LoadOptions<'_>) -> Result<Cli, ConfigError> {
    match split_command_line(args)? {
        CliAction::Version => Ok(Cli::Version),
        CliAction::Help => Ok(Cli::Help),
        CliAction::Run(line) => Ok(Cli::Run(Box::new(Config::load(&line, options)?))),
    }
}

/// A start-up configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Redis's "FATAL CONFIG FILE ERROR" block: the offending line (number and trimmed text) when there is
    /// one, and the message. `Display` gives exactly what redis-server writes to stderr minus the final
    /// newline (print it with `eprintln!`).
    File { line: Option<(usize, Vec<u8>)>, message: String },
    /// A config file (or include) that cannot be read. Redis logs this as a warning and exits 1.
    Open { path: String, reason: String },
    /// Other start-up refusals (logged as a warning, exit 1).
    Other(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::File { line, message } => {
                write!(f, "\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n")?;
                if let Some((number, text)) = line {
                    write!(f, "Reading the configuration file, at line {number}\n>>> '")?;
                    writeln!(f, "{}'", String::from_utf8_lossy(text))?;
                }
                f.write_str(message)
            }
            ConfigError::Open { path, reason } => {
                write!(f, "Fatal error, can't open config file '{path}': {reason}")
            }
            ConfigError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A complete configuration: every directive's value plus what the files and command line said.
#[derive(Debug, Clone)]
pub struct Config {
    /// One value per [`DIRECTIVES`] row.
    values: Vec<Value>,
    /// Rows the user set (file, command line or CONFIG SET).
    user_set: Vec<bool>,
    config_file: Option<PathBuf>,
    file_text: Option<Vec<u8>>,
    rename_commands: Vec<(Vec<u8>, Vec<u8>)>,
    users: Vec<Vec<Vec<u8>>>,
    load_modules: Vec<Vec<Vec<u8>>>,
    includes: Vec<PathBuf>,
}

impl Default for Config {
    /// Redis's defaults, with `dir` the current working directory.
    fn default() -> Self {
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut save = value::SaveState { reading_file: false, loaded: false };
        let values = DIRECTIVES.iter().map(|d| default_value(d, &cwd, &mut save)).collect();
        Config {
            values,
            user_set: vec![false; DIRECTIVES.len()],
            config_file: None,
            file_text: None,
            rename_commands: Vec::new(),
            users: Vec::new(),
            load_modules: Vec::new(),
            includes: Vec::new(),
        }
    }
}

fn default_value(d: &Directive, cwd: &Path, save: &mut value::SaveState) -> Value {
    if matches!(d.ty, value::Type::Dir) {
        return Value::Dir(cwd.to_path_buf());
    }
    if !d.ty.is_setting() {
        return Value::None;
    }
    let words: Vec<&[u8]> =
        if d.ty.multi_arg() { value::split_set_value(d.default.as_bytes()) } else { vec![d.default.as_bytes()] };
    match value::parse(&d.ty, &words, value::Origin::File(save), &Value::None, cwd) {
        Ok(v) => v,
        Err(e) => {
            // Unreachable with a correct table (a unit test parses every default).
            tracing::error!(directive = d.name, error = %e, "invalid built-in default");
            Value::None
        }
    }
}

impl Config {
    /// The config file given on the command line (absolute), if any.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// The raw text of the config file as loaded (for CONFIG REWRITE).
    pub fn file_text(&self) -> Option<&[u8]> {
        self.file_text.as_deref()
    }

    /// `rename-command from to` pairs, lower-cased, in file order (`to` empty = remove the command).
    pub fn rename_commands(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.rename_commands
    }

    /// `user` lines (arguments after `user`), in file order.
    pub fn users(&self) -> &[Vec<Vec<u8>>] {
        &self.users
    }

    /// `loadmodule` lines (path and arguments), in file order.
    pub fn load_modules(&self) -> &[Vec<Vec<u8>>] {
        &self.load_modules
    }

    /// Files read through `include`, in order.
    pub fn includes(&self) -> &[PathBuf] {
        &self.includes
    }

    /// The stored value of a directive (canonical name or alias).
    pub fn value(&self, name: &str) -> Option<&Value> {
        registry::lookup(name.as_bytes()).and_then(|(i, _)| self.values.get(i))
    }

    /// A directive's value formatted as CONFIG GET prints it (`None` for unknown or file-only names).
    pub fn get_one(&self, name: &str) -> Option<Vec<u8>> {
        let (i, _) = registry::lookup(name.as_bytes())?;
        let d = &DIRECTIVES[i];
        d.ty.is_setting().then(|| value::format(&d.ty, &self.values[i]))
    }

    /// The `Accepted` directives the user set (file, command line or CONFIG SET), in table order: Shoal
    /// stores them but does not act on them yet. The binary logs them once at start-up.
    pub fn accepted_but_unused(&self) -> Vec<&'static str> {
        DIRECTIVES
            .iter()
            .zip(&self.user_set)
            .filter(|(d, set)| **set && d.kind == Kind::Accepted)
            .map(|(d, _)| d.name)
            .collect()
    }

    /// Whether the user set this directive (file, command line or CONFIG SET).
    pub fn is_user_set(&self, name: &str) -> bool {
        registry::lookup(name.as_bytes()).is_some_and(|(i, _)| self.user_set[i])
    }

    // Typed accessors used by the loader and the snapshot. Missing rows fall back to neutral values, which
    // a unit test rules out.

    fn row(&self, name: &str) -> Option<&Value> {
        registry::index_of(name).and_then(|i| self.values.get(i))
    }

    pub(crate) fn bool_of(&self, name: &str) -> bool {
        matches!(self.row(name), Some(Value::Bool(true)))
    }

    pub(crate) fn num_of(&self, name: &str) -> i64 {
        match self.row(name) {
            Some(Value::Num(v)) => *v,
            _ => 0,
        }
    }

    pub(crate) fn enum_of(&self, name: &str) -> u32 {
        match self.row(name) {
            Some(Value::Enum(v)) => *v,
            _ => 0,
        }
    }

    pub(crate) fn bytes_of(&self, name: &str) -> Vec<u8> {
        match self.row(name) {
            Some(Value::Str(s)) => s.clone(),
            _ => Vec::new(),
        }
    }

    pub(crate) fn dir(&self) -> PathBuf {
        match self.row("dir") {
            Some(Value::Dir(p)) => p.clone(),
            _ => PathBuf::new(),
        }
    }

    pub(crate) fn replicaof(&self) -> Option<(Vec<u8>, u16)> {
        match self.row("replicaof") {
            Some(Value::ReplicaOf(r)) => r.clone(),
            _ => None,
        }
    }

    /// Redis accepts any `hz` but runs within 1..=500, and CONFIG GET shows the clamped value.
    pub(crate) fn clamp_hz(&mut self) {
        if let Some(i) = registry::index_of("hz") {
            if let Value::Num(v) = &mut self.values[i] {
                *v = (*v).clamp(1, 500);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_parses_and_prints_back() {
        let config = Config::default();
        for (d, v) in DIRECTIVES.iter().zip(&config.values) {
            if !d.ty.is_setting() {
                continue;
            }
            assert!(!matches!(v, Value::None), "default of {} did not parse", d.name);
            if matches!(d.ty, value::Type::Dir) {
                continue;
            }
            let shown = String::from_utf8(value::format(&d.ty, v)).unwrap();
            let expected = match d.name {
                "replicaof" => "",
                _ => d.default,
            };
            assert_eq!(shown, expected, "default of {}", d.name);
        }
    }

    #[test]
    fn typed_accessor_names_exist() {
        for name in [
            "port",
            "bind",
            "protected-mode",
            "requirepass",
            "databases",
            "dir",
            "dbfilename",
            "logfile",
            "loglevel",
            "daemonize",
            "pidfile",
            "always-show-logo",
            "proto-max-bulk-len",
            "client-query-buffer-limit",
            "timeout",
            "maxclients",
            "cluster-enabled",
            "cluster-config-file",
            "cluster-node-timeout",
            "cluster-port",
            "save",
            "appendonly",
            "hz",
            "tcp-backlog",
            "tcp-keepalive",
            "replicaof",
        ] {
            let i = registry::index_of(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(DIRECTIVES[i].kind == Kind::Implemented, name != "replicaof", "{name}");
        }
    }

    #[test]
    fn error_display_matches_redis() {
        let e = ConfigError::File { line: Some((2, b"foo bar".to_vec())), message: "Bad directive".into() };
        assert_eq!(
            e.to_string(),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n\
             >>> 'foo bar'\nBad directive"
        );
        let e = ConfigError::File { line: None, message: "Can't open the log file: x".into() };
        assert_eq!(e.to_string(), "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: x");
    }
}
