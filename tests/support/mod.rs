//! Test support: start real `shoal-server` / `redis-server` processes on free loopback ports, and talk to them
//! with raw RESP. Every process is killed when its handle drops; every wait has a deadline.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use shoal::protocol::value::RespValue;

/// Client ports are handed out from here upwards (per test process, offset by pid) so that bus ports
/// (port + 10000) stay below the kernel's ephemeral range starting at 32768.
static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

pub fn free_port() -> u16 {
    if NEXT_PORT.load(Ordering::Relaxed) == 0 {
        let base = 12000 + (std::process::id() % 400) as u16 * 25;
        let _ = NEXT_PORT.compare_exchange(0, base, Ordering::Relaxed, Ordering::Relaxed);
    }
    loop {
        let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
        let port = if port >= 22000 { 12000 + port % 10000 } else { port };
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

pub fn shoal_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shoal-server"))
}

/// A server process killed on drop.
pub struct Server {
    pub port: u16,
    pub child: Child,
    pub dir: PathBuf,
    program: String,
    args: Vec<String>,
}

impl Server {
    /// Starts shoal-server with `--port <free> --bind 127.0.0.1 --save ''` plus `extra` arguments.
    pub fn shoal(extra: &[&str]) -> Server {
        Self::start(shoal_binary().to_str().unwrap_or("shoal-server"), extra)
    }

    /// Starts the reference redis-server the same way. Panics with a clear message if it is not installed.
    pub fn redis(extra: &[&str]) -> Server {
        assert!(
            Command::new("redis-server").arg("--version").output().is_ok(),
            "redis-server is not installed (apt-get install redis-server); .ci/run installs it"
        );
        Self::start("redis-server", extra)
    }

    /// A one-node cluster-mode shoal-server that owns every slot and is ready to serve (past the writable
    /// delay), for tests of the per-slot keyspace layout.
    pub fn shoal_single_node_cluster(extra: &[&str]) -> Server {
        let conf = format!("nodes-{}.conf", free_port());
        let mut args = vec!["--cluster-enabled", "yes", "--cluster-config-file", conf.as_str()];
        args.extend_from_slice(extra);
        let server = Self::shoal(&args);
        let mut c = server.conn();
        assert_eq!(c.call(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]), b"+OK\r\n");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !String::from_utf8_lossy(&c.call(&["CLUSTER", "INFO"])).contains("cluster_state:ok") {
            assert!(Instant::now() < deadline, "single-node cluster did not reach state ok");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn start(program: &str, extra: &[&str]) -> Server {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("shoal-test-{}-{port}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let port_s = port.to_string();
        let mut args = vec!["--port", &port_s, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        let dir_s = dir.to_string_lossy().into_owned();
        args.extend(["--dir", &dir_s]);
        args.extend_from_slice(extra);
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let child = spawn(program, &args);
        let server = Server { port, child, dir, program: program.to_string(), args };
        server.wait_ready();
        server
    }

    /// Kills the process (SIGKILL) and starts it again with the same arguments and directory.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&self.program, &self.args);
        self.wait_ready();
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut c) = Conn::try_connect(self.port) {
                let reply = c.call(&["PING"]);
                if reply == b"+PONG\r\n" || reply.starts_with(b"-NOAUTH") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server on port {} did not become ready", self.port);
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }
}

fn spawn(program: &str, args: &[String]) -> Child {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw RESP connection: sends commands, returns the exact reply bytes.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn try_connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::new() })
    }

    pub fn connect(port: u16) -> Conn {
        Self::try_connect(port).unwrap_or_else(|e| panic!("connect to {port}: {e}"))
    }

    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one complete reply (raw bytes), or panics after the read timeout.
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Some((_, used)) = RespValue::parse(&self.buf) {
                return self.buf.drain(..used).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read reply");
            assert!(
                n > 0,
                "connection closed while waiting for a reply (have {:?})",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until the server closes the connection; returns everything received.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut all = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 65536];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return all,
                Ok(n) => all.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("read: {e} (have {:?})", String::from_utf8_lossy(&all)),
            }
        }
    }

    pub fn call_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send_raw(&Self::encode(args));
        self.read_reply()
    }

    pub fn call(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.call_bytes(&args)
    }

    /// The reply as a parsed value.
    pub fn value(&mut self, args: &[&str]) -> RespValue {
        let raw = self.call(args);
        RespValue::parse(&raw).map(|(v, _)| v).expect("valid reply")
    }

    /// The reply as text, for readable assertions.
    pub fn text(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.call(args)).into_owned()
    }
}

/// Sends all commands in one write, then reads (and drops) one reply per command.
pub fn pipeline(c: &mut Conn, commands: &[Vec<Vec<u8>>]) {
    let mut bytes = Vec::new();
    for cmd in commands {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        bytes.extend_from_slice(&Conn::encode(&args));
    }
    c.send_raw(&bytes);
    for _ in commands {
        c.read_reply();
    }
}

/// Runs `redis-cli` with `args` and returns its stdout.
pub fn redis_cli(args: &[&str]) -> String {
    let out = Command::new("redis-cli").args(args).output().expect("redis-cli is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
