//! The binary as supervisors see it: version string, banner and log lines, config errors, busy ports,
//! signals and the pidfile (../shared/reference/drop-in-contract.md).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{free_port, shoal_binary, Conn};

fn shoal() -> Command {
    Command::new(shoal_binary())
}

#[test]
fn version_line_carries_the_redis_version() {
    for flag in ["-v", "--version"] {
        let out = shoal().arg(flag).output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(text.contains(" v=7.0.15 "), "{text}");
        assert!(text.contains("shoal-"), "{text}");
    }
}

/// Starts the server with stdout piped, returns the child and the lines read until "Ready to accept".
fn start_logged(args: &[&str]) -> (std::process::Child, Vec<String>) {
    let mut child = shoal().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                let ready = line.contains("Ready to accept connections");
                lines.push(line);
                if ready {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(_) => break,
        }
    }
    (child, lines)
}

#[test]
fn banner_ready_line_pidfile_and_sigterm() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("shoal-process-{port}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let pidfile = dir.join("shoal.pid");
    let (mut child, lines) = start_logged(&[
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--always-show-logo",
        "yes",
        "--pidfile",
        pidfile.to_str().expect("utf8"),
        "--dir",
        dir.to_str().expect("utf8"),
        "--lazyfree-lazy-eviction",
        "yes",
    ]);
    let all = lines.join("\n");
    assert!(all.contains(&format!(" PID: {}", child.id())), "{all}");
    assert!(all.contains("Ready to accept connections"), "{all}");
    assert!(all.contains("accepted, no effect yet: lazyfree-lazy-eviction"), "{all}");
    let written = std::fs::read_to_string(&pidfile).expect("pidfile written");
    assert_eq!(written.trim(), child.id().to_string());
    let mut c = Conn::connect(port);
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n");
    // SAFETY: kill(2) on the pid of a child we own.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("exits");
    assert!(status.success(), "SIGTERM exits 0");
    assert!(!pidfile.exists(), "pidfile removed on shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn busy_port_fails_with_redis_message() {
    let port = free_port();
    let _holder = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
    let out = shoal().args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""]).output().expect("runs");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("Failed listening on port {port}")), "{text}");
}

#[test]
fn unknown_directive_stops_startup_like_redis() {
    let dir = std::env::temp_dir().join(format!("shoal-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("bad.conf");
    std::fs::write(&conf, "port 7777\nnosuchdirective yes\n").expect("write");
    let out = shoal().arg(&conf).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"), "{err}");
    assert!(err.contains("at line 2"), "{err}");
    assert!(err.contains(">>> 'nosuchdirective yes'"), "{err}");
    assert!(err.contains("Bad directive or wrong number of arguments"), "{err}");
    let out = shoal().args(["--port", "notanumber"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_file_and_arguments_combine() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("shoal-combine-{port}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("redis.conf");
    std::fs::write(&conf, "# a comment\nport 1\nbind 127.0.0.1\nsave \"\"\ntimeout 300\nmaxmemory 1gb\n")
        .expect("write");
    let mut child = shoal()
        .arg(&conf)
        .args(["--port", &port.to_string(), "--dir", dir.to_str().expect("utf8")])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut c = loop {
        if let Ok(c) = Conn::try_connect(port) {
            break c;
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(c.text(&["CONFIG", "GET", "timeout"]), "*2\r\n$7\r\ntimeout\r\n$3\r\n300\r\n");
    assert_eq!(c.text(&["CONFIG", "GET", "maxmemory"]), "*2\r\n$9\r\nmaxmemory\r\n$10\r\n1073741824\r\n");
    assert_eq!(
        c.text(&["CONFIG", "GET", "port"]),
        format!("*2\r\n$4\r\nport\r\n${}\r\n{port}\r\n", port.to_string().len())
    );
    // SHUTDOWN NOSAVE closes the connection without a reply and exits 0.
    c.send_raw(&Conn::encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(c.read_to_close().is_empty());
    assert!(child.wait().expect("exits").success());
    let _ = std::fs::remove_dir_all(&dir);
}
