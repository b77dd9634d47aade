//! Log lines in Redis's format (`pid:M 22 Nov 2026 01:44:39.123 * message`), because supervisors and test
//! harnesses written for redis-server grep the log for fixed texts. Levels map to Redis's markers:
//! debug `.`, info (Redis "notice") `*`, warn and error (Redis "warning") `#`.

use std::io::Write;
use std::sync::Mutex;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Where log lines go: stdout (`logfile ""`) or an append-only file.
enum Sink {
    Stdout,
    File(std::fs::File),
}

struct RedisFormat {
    sink: Mutex<Sink>,
    max_level: Level,
}

struct MessageVisitor(String);

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

/// "22 Nov 2026 01:44:39.123" in UTC, as Redis prints local time (machines here run in UTC).
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as i64;
    let millis = now.subsec_millis();
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        day,
        MONTHS[(month - 1) as usize],
        year,
        tod / 3600,
        (tod / 60) % 60,
        tod % 60,
        millis
    )
}

impl<S: Subscriber> Layer<S> for RedisFormat {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level > self.max_level {
            return;
        }
        let marker = match level {
            Level::ERROR | Level::WARN => '#',
            Level::INFO => '*',
            Level::DEBUG => '-',
            Level::TRACE => '.',
        };
        let mut visitor = MessageVisitor(String::new());
        event.record(&mut visitor);
        let line = format!("{}:M {} {} {}\n", std::process::id(), timestamp(), marker, visitor.0);
        if let Ok(mut sink) = self.sink.lock() {
            let _ = match &mut *sink {
                Sink::Stdout => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(line.as_bytes()).and_then(|_| out.flush())
                }
                Sink::File(f) => f.write_all(line.as_bytes()),
            };
        }
    }
}

/// Maps redis.conf `loglevel` to the most verbose tracing level shown.
pub fn level_for(loglevel: &str) -> Level {
    match loglevel {
        "debug" => Level::TRACE,
        "verbose" => Level::DEBUG,
        "warning" => Level::WARN,
        _ => Level::INFO,
    }
}

/// Installs the logger. `logfile` empty = stdout. Fails if the file cannot be opened (Redis refuses to start).
pub fn init(logfile: &str, loglevel: &str) -> std::io::Result<()> {
    let sink = if logfile.is_empty() {
        Sink::Stdout
    } else {
        Sink::File(std::fs::OpenOptions::new().create(true).append(true).open(logfile)?)
    };
    let layer = RedisFormat { sink: Mutex::new(sink), max_level: level_for(loglevel) };
    // A second init (tests running servers in-process) keeps the first logger.
    let _ = tracing_subscriber::registry().with(layer).try_init();
    Ok(())
}
