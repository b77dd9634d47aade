//! Start-up: turning `shoal-server [config-file] [-] [--name value ...]` into a [`Config`].
//!
//! This follows redis-server 7.0.15 step by step, because operators reuse their redis.conf files and
//! command lines unchanged:
//! - The command line becomes config *text*: a first argument not starting with `-` is the config file,
//!   `-` (first or last) appends stdin, each `--name` starts a new line and the following arguments are
//!   appended quoted (so `--save ''` is `save ""`). After a `--name` with no value yet, the next argument is
//!   its value even if it starts with `--`. The text is file + stdin + "\n" + options, so arguments override
//!   the file and error line numbers count across all three, as in Redis.
//! - Lines are trimmed, `#` starts a comment line, words use `sdssplitargs` quoting, names are
//!   case-insensitive. Single-value directives need exactly one argument; the multi-value ones take all.
//! - `include` loads another file (glob patterns allowed, no match is fine) with its own line numbers.
//!   Relative paths resolve against the current `dir`: Redis `chdir`s when it reads `dir`, and Shoal
//!   reproduces that without touching the process working directory (the binary `chdir`s once, after
//!   loading), so loading has no process-wide side effects and can run in tests.
//! - Errors stop the load and are returned (never printed or `exit`ed here) as [`ConfigError`], whose
//!   `Display` is Redis's exact text.
//! - Redis checks at the end of every loaded text (including each included file): the log file must be
//!   openable, `replicaof` is refused in cluster mode, `hz` is clamped to 1..=500.

use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::registry::{self, DIRECTIVES};
use super::value::{self, os_error_text, Origin, SaveState, Type};
use super::{Config, ConfigError};
use crate::protocol::split_args::{quote_arg, split_args};

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliAction {
    Run(CommandLine),
    /// `-v` / `--version` as the first argument.
    Version,
    /// `-h` / `--help` as the first argument.
    Help,
}

/// A command line converted to Redis's load inputs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandLine {
    /// The config file, made absolute as Redis does.
    pub config_file: Option<PathBuf>,
    /// `-` was given: read config text from stdin after the file.
    pub read_stdin: bool,
    /// The `--name value` options as config text.
    pub options: Vec<u8>,
}

/// Tells whether a command exists (given its lower-case name).
pub type CommandExists<'a> = &'a dyn Fn(&[u8]) -> bool;

/// Hooks for loading.
#[derive(Default)]
pub struct LoadOptions<'a> {
    /// Config text to use instead of reading the real stdin when the command line has `-`.
    pub stdin: Option<&'a [u8]>,
    /// Whether a command exists (lower-case name); when given, `rename-command` is validated like Redis.
    pub command_exists: Option<CommandExists<'a>>,
}

/// The usage text for `-h`/`--help` (Redis prints it to stderr and exits 1).
pub fn usage(program: &str) -> String {
    format!(
        "Usage: {p} [/path/to/redis.conf] [options] [-]\n       \
         {p} - (read config from stdin)\n       \
         {p} -v or --version\n       \
         {p} -h or --help\n\n\
         Examples:\n       \
         {p} (run the server with default conf)\n       \
         echo 'maxmemory 128mb' | {p} -\n       \
         {p} /etc/redis/6379.conf\n       \
         {p} --port 7777\n       \
         {p} --port 7777 --replicaof 127.0.0.1 8888\n       \
         {p} /etc/myredis.conf --loglevel verbose -\n       \
         {p} /etc/myredis.conf --loglevel verbose\n",
        p = program
    )
}

/// Converts the arguments after the program name into a [`CliAction`], like redis-server's `main()`.
pub fn split_command_line<S: AsRef<OsStr>>(args: &[S]) -> Result<CliAction, ConfigError> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_ref().as_bytes()).collect();
    let Some(first) = args.first() else {
        return Ok(CliAction::Run(CommandLine::default()));
    };
    match *first {
        b"-v" | b"--version" => return Ok(CliAction::Version),
        b"-h" | b"--help" => return Ok(CliAction::Help),
        _ => {}
    }
    if args.iter().any(|a| *a == b"--sentinel") {
        return Err(ConfigError::Other("Sentinel mode is not supported by Shoal".to_string()));
    }
    let mut line = CommandLine::default();
    let mut j = 0;
    if first.first() != Some(&b'-') {
        let path = Path::new(OsStr::from_bytes(first));
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        line.config_file = Some(absolute);
        j = 1;
    }
    let last = args.len() - 1;
    let mut value_given = true;
    let opts = &mut line.options;
    while j < args.len() {
        let arg = args[j];
        if arg == b"-" && (j == 0 || j == last) {
            line.read_stdin = true;
        } else if value_given && arg.starts_with(b"--") {
            if !opts.is_empty() {
                opts.push(b'\n');
            }
            opts.extend_from_slice(&arg[2..]);
            opts.push(b' ');
            if split_args(arg).is_some_and(|words| words.len() == 1) {
                // Only a name: the next argument is its value, whatever it looks like.
                value_given = false;
                let next_is_option = j != last && args[j + 1].starts_with(b"--");
                if arg.eq_ignore_ascii_case(b"--save") && (next_is_option || j == last) {
                    // Redis 7.0.1+: a bare `--save` means `save ""`.
                    opts.extend_from_slice(b"\"\"");
                    value_given = next_is_option;
                }
            } else {
                value_given = true;
            }
        } else {
            opts.extend_from_slice(quote_arg(arg).as_bytes());
            opts.push(b' ');
            value_given = true;
        }
        j += 1;
    }
    Ok(CliAction::Run(line))
}

fn read_file(path: &Path, shown: &[u8]) -> Result<Vec<u8>, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        // Redis opens a directory fine and reads nothing from it.
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => Ok(Vec::new()),
        Err(e) => {
            Err(ConfigError::Open { path: String::from_utf8_lossy(shown).into_owned(), reason: os_error_text(&e) })
        }
    }
}

impl Config {
    /// Loads a configuration the way redis-server does at start-up.
    pub fn load(line: &CommandLine, options: &LoadOptions<'_>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let mut text = Vec::new();
        if let Some(path) = &line.config_file {
            let bytes = read_file(path, path.as_os_str().as_bytes())?;
            text.extend_from_slice(&bytes);
            config.config_file = Some(path.clone());
            config.file_text = Some(bytes);
        }
        if line.read_stdin {
            match options.stdin {
                Some(bytes) => text.extend_from_slice(bytes),
                None => {
                    use std::io::Read;
                    let mut bytes = Vec::new();
                    std::io::stdin()
                        .read_to_end(&mut bytes)
                        .map_err(|e| ConfigError::Other(format!("Can't read config from stdin: {e}")))?;
                    text.extend_from_slice(&bytes);
                }
            }
        }
        text.push(b'\n');
        text.extend_from_slice(&line.options);
        config.load_text(&text, options)?;
        Ok(config)
    }

    /// Loads config text on top of the defaults (no file, no command line): a convenience for tests and
    /// embedders. Errors are reported exactly as for a file.
    pub fn from_text(text: &[u8]) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        config.load_text(text, &LoadOptions::default())?;
        Ok(config)
    }

    fn load_text(&mut self, text: &[u8], options: &LoadOptions<'_>) -> Result<(), ConfigError> {
        let mut loader = Loader {
            config: self,
            options,
            save: SaveState { reading_file: true, loaded: false },
            renames: Renames::default(),
            module_configs: 0,
            depth: 0,
        };
        loader.load_string(text)?;
        if loader.module_configs > 0 {
            return Err(ConfigError::Other(
                "Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting"
                    .to_string(),
            ));
        }
        Ok(())
    }
}

/// Simulates Redis's command table while `rename-command` lines are applied.
#[derive(Default)]
struct Renames {
    removed: Vec<Vec<u8>>,
    added: Vec<Vec<u8>>,
}

impl Renames {
    fn exists(&self, name: &[u8], base: &dyn Fn(&[u8]) -> bool) -> bool {
        self.added.iter().any(|a| a == name) || (base(name) && !self.removed.iter().any(|r| r == name))
    }
}

/// Why a line failed: a message for the usual error block at this line, or a complete error from an
/// included file.
enum LineError {
    Message(String),
    Complete(ConfigError),
}

impl From<&str> for LineError {
    fn from(message: &str) -> Self {
        LineError::Message(message.to_string())
    }
}

/// Includes deeper than this are refused (Redis would recurse until it crashes).
const MAX_INCLUDE_DEPTH: usize = 32;

struct Loader<'c, 'o> {
    config: &'c mut Config,
    options: &'o LoadOptions<'o>,
    save: SaveState,
    renames: Renames,
    module_configs: usize,
    depth: usize,
}

fn trim(mut line: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while line.first().is_some_and(blank) {
        line = &line[1..];
    }
    while line.last().is_some_and(blank) {
        line = &line[..line.len() - 1];
    }
    line
}

impl Loader<'_, '_> {
    /// The directory relative paths resolve against: the current `dir`.
    fn cwd(&self) -> PathBuf {
        self.config.dir()
    }

    fn load_string(&mut self, text: &[u8]) -> Result<(), ConfigError> {
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = trim(raw);
            // As in C, a NUL ends the line.
            let line = &line[..line.iter().position(|&b| b == 0).unwrap_or(line.len())];
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let at_line = |message: String| ConfigError::File { line: Some((i + 1, line.to_vec())), message };
            let Some(args) = split_args(line) else {
                return Err(at_line("Unbalanced quotes in configuration line".to_string()));
            };
            if args.is_empty() {
                continue;
            }
            self.directive(&args).map_err(|e| match e {
                LineError::Message(message) => at_line(message),
                LineError::Complete(error) => error,
            })?;
        }
        self.finish()
    }

    fn directive(&mut self, args: &[Vec<u8>]) -> Result<(), LineError> {
        let bad = || LineError::from("Bad directive or wrong number of arguments");
        let name = args[0].to_ascii_lowercase();
        let words: Vec<&[u8]> = args[1..].iter().map(|a| a.as_slice()).collect();
        let Some((idx, _)) = registry::lookup(&name) else {
            if name.contains(&b'.') {
                if args.len() < 2 {
                    return Err("Module config specified without value".into());
                }
                self.module_configs += 1;
                return Ok(());
            }
            return Err(bad());
        };
        let directive = &DIRECTIVES[idx];
        match directive.ty {
            Type::Deprecated if args.len() == 2 => Ok(()),
            Type::Include if args.len() == 2 => {
                self.config.user_set[idx] = true;
                self.include(&args[1])
            }
            Type::RenameCommand if args.len() == 3 => {
                self.config.user_set[idx] = true;
                self.rename(&args[1], &args[2]).map_err(LineError::Message)
            }
            Type::User if args.len() >= 2 => {
                self.config.user_set[idx] = true;
                self.config.users.push(args[1..].to_vec());
                Ok(())
            }
            Type::LoadModule if args.len() >= 2 => {
                self.config.user_set[idx] = true;
                self.config.load_modules.push(args[1..].to_vec());
                Ok(())
            }
            Type::Sentinel if args.len() == 1 => Ok(()),
            Type::Sentinel => Err("sentinel directive while not in sentinel mode".into()),
            Type::Deprecated | Type::Include | Type::RenameCommand | Type::User | Type::LoadModule => Err(bad()),
            ty => {
                if !ty.multi_arg() && args.len() != 2 {
                    return Err("wrong number of arguments".into());
                }
                // Redis 7.0.1+: a multi-value directive given one non-empty word is split again, so
                // `--save "3600 1"` works; unbalanced quotes there give no words at all.
                let resplit;
                let words = if ty.multi_arg() && words.len() == 1 && !words[0].is_empty() {
                    resplit = split_args(words[0]).unwrap_or_default();
                    resplit.iter().map(|w| w.as_slice()).collect()
                } else {
                    words
                };
                let cwd = self.cwd();
                let new = value::parse(&ty, &words, Origin::File(&mut self.save), &self.config.values[idx], &cwd)
                    .map_err(LineError::Message)?;
                self.config.values[idx] = new;
                self.config.user_set[idx] = true;
                Ok(())
            }
        }
    }

    fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), String> {
        let from = from.to_ascii_lowercase();
        let to = to.to_ascii_lowercase();
        if let Some(base) = self.options.command_exists {
            if !self.renames.exists(&from, base) {
                return Err("No such command in rename-command".to_string());
            }
            self.renames.added.retain(|a| *a != from);
            self.renames.removed.push(from.clone());
            if !to.is_empty() {
                if self.renames.exists(&to, base) {
                    return Err("Target command name already exists".to_string());
                }
                self.renames.added.push(to.clone());
            }
        }
        self.config.rename_commands.push((from, to));
        Ok(())
    }

    fn include(&mut self, pattern: &[u8]) -> Result<(), LineError> {
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(LineError::Message(format!("include nesting deeper than {MAX_INCLUDE_DEPTH} files")));
        }
        let cwd = self.cwd();
        let text = if pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
            let mut text = Vec::new();
            for path in glob_files(&cwd, pattern) {
                text.extend_from_slice(&read_file(&path, path.as_os_str().as_bytes()).map_err(LineError::Complete)?);
                self.config.includes.push(path);
            }
            text
        } else {
            let path = cwd.join(OsStr::from_bytes(pattern));
            let text = read_file(&path, pattern).map_err(LineError::Complete)?;
            self.config.includes.push(path);
            text
        };
        self.depth += 1;
        let result = self.load_string(&text);
        self.depth -= 1;
        // An include is a load of its own: its errors carry its own line numbers.
        result.map_err(LineError::Complete)
    }

    /// Redis's end-of-load checks, run after every loaded text (including each include).
    fn finish(&mut self) -> Result<(), ConfigError> {
        let no_line = |message: String| ConfigError::File { line: None, message };
        let logfile = self.config.bytes_of("logfile");
        if !logfile.is_empty() {
            let path = self.cwd().join(OsStr::from_bytes(&logfile));
            if let Err(e) = std::fs::OpenOptions::new().append(true).create(true).open(&path) {
                return Err(no_line(format!("Can't open the log file: {}", os_error_text(&e))));
            }
        }
        if self.config.bool_of("cluster-enabled") && self.config.replicaof().is_some() {
            return Err(no_line("replicaof directive not allowed in cluster mode".to_string()));
        }
        self.config.clamp_hz();
        self.save.reading_file = false;
        Ok(())
    }
}

/// Expands an `include` glob (relative to `cwd`) with the C library's `glob`, sorted like Redis. No match
/// is not an error.
fn glob_files(cwd: &Path, pattern: &[u8]) -> Vec<PathBuf> {
    let mut full = Vec::new();
    if pattern.first() != Some(&b'/') {
        // Escape the directory part so only the user's pattern is a pattern.
        for &b in cwd.as_os_str().as_bytes() {
            if matches!(b, b'*' | b'?' | b'[' | b'\\') {
                full.push(b'\\');
            }
            full.push(b);
        }
        full.push(b'/');
    }
    full.extend_from_slice(pattern);
    let Ok(c_pattern) = std::ffi::CString::new(full) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    // SAFETY: glob_t is plain data that glob() fills in; it is zero-initialised, only read after a
    // successful call, and released with globfree() exactly once.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        if libc::glob(c_pattern.as_ptr(), 0, None, &mut g) == 0 {
            for k in 0..g.gl_pathc {
                let p = *g.gl_pathv.add(k);
                if !p.is_null() {
                    let bytes = std::ffi::CStr::from_ptr(p).to_bytes().to_vec();
                    paths.push(PathBuf::from(std::ffi::OsString::from_vec(bytes)));
                }
            }
        }
        libc::globfree(&mut g);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> CommandLine {
        match split_command_line(args) {
            Ok(CliAction::Run(line)) => line,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn opts(args: &[&str]) -> String {
        String::from_utf8(cli(args).options).unwrap()
    }

    #[test]
    fn version_and_help_only_first() {
        assert_eq!(split_command_line(&["-v"]).unwrap(), CliAction::Version);
        assert_eq!(split_command_line(&["--version"]).unwrap(), CliAction::Version);
        assert_eq!(split_command_line(&["-h"]).unwrap(), CliAction::Help);
        assert_eq!(split_command_line(&["--help"]).unwrap(), CliAction::Help);
        assert_eq!(opts(&["--port", "1", "--version"]), "port \"1\" \nversion ");
    }

    #[test]
    fn options_become_config_text() {
        assert_eq!(opts(&["--port", "7777"]), "port \"7777\" ");
        assert_eq!(opts(&["--save", ""]), "save \"\" ");
        assert_eq!(opts(&["--save"]), "save \"\"");
        assert_eq!(opts(&["--save", "--port", "1"]), "save \"\"\nport \"1\" ");
        assert_eq!(opts(&["--port", "--foo"]), "port \"--foo\" ");
        assert_eq!(opts(&["--port 7 extra", "--foo"]), "port 7 extra \nfoo ");
        assert_eq!(opts(&["--replicaof", "127.0.0.1", "8888"]), "replicaof \"127.0.0.1\" \"8888\" ");
        assert_eq!(opts(&["-x"]), "\"-x\" ");
    }

    #[test]
    fn config_file_and_stdin() {
        let line = cli(&["redis.conf", "--port", "1"]);
        assert!(line.config_file.as_ref().is_some_and(|p| p.is_absolute() && p.ends_with("redis.conf")));
        assert!(!line.read_stdin);
        assert!(cli(&["-", "--port", "1"]).read_stdin);
        assert!(cli(&["a.conf", "--port", "1", "-"]).read_stdin);
        // A "-" in the middle is a value.
        let mid = cli(&["--port", "-", "--x", "1"]);
        assert!(!mid.read_stdin);
        assert_eq!(String::from_utf8(mid.options).unwrap(), "port \"-\" \nx \"1\" ");
    }

    #[test]
    fn sentinel_is_refused() {
        assert!(matches!(split_command_line(&["--sentinel"]), Err(ConfigError::Other(_))));
    }

    #[test]
    fn glob_expansion() {
        let dir = std::env::temp_dir().join(format!("shoal-glob-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.conf"), "").unwrap();
        std::fs::write(dir.join("a.conf"), "").unwrap();
        std::fs::write(dir.join("c.txt"), "").unwrap();
        let found = glob_files(&dir, b"*.conf");
        assert_eq!(found, vec![dir.join("a.conf"), dir.join("b.conf")]);
        assert!(glob_files(&dir, b"nothing*").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
