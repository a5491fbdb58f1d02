//! A real Kafka-protocol broker for the health tests: tansu
//! (`cargo install tansu`, see `.ci/install.d/44-tansu.sh`) with in-memory
//! storage on a free loopback port, stopped (killed) on drop.
//!
//! What tansu 0.6.0 can and cannot do, found by trying it: with
//! `--authentication` it requires SASL before any other request, but it is
//! built without rsasl's PLAIN (SCRAM-SHA-256/512 and OAUTHBEARER only) and
//! closes the connection on a PLAIN handshake, so SASL PLAIN stays on the
//! stand-in (`kafka.rs`). `--cert` and `--key` cannot be given together (one
//! clap group) and its listener never uses TLS anyway, so [`TlsFront`]
//! terminates TLS in front of it.
//!
//! It advertises `kafka:9092` by default, the in-cluster address fintechctl's
//! check reports (the check asks only the bootstrap server, through the
//! port-forward, and never connects to the advertised listener).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::stores::{Leaf, free_port};

/// The node id tansu 0.6.0 always gives its broker (and its controller).
pub const NODE_ID: i32 = 111;

/// The in-cluster address advertised in its metadata by default.
pub const ADVERTISED: &str = "kafka:9092";

const INSTALL: &str = ".ci/install.d/44-tansu.sh installs it (`cargo install --locked tansu --version 0.6.0 --features dynostore`, about 12 minutes)";

#[derive(Default)]
pub struct Options<'a> {
    /// `--authentication`: SASL (SCRAM or OAUTHBEARER, not PLAIN) required
    /// before any other request.
    pub authentication: bool,
    /// `host:port` in its metadata; [`ADVERTISED`] when `None`.
    pub advertised: Option<&'a str>,
    /// Topics created (one partition each) once it is up; plain brokers
    /// only (tansu's own client does not speak SASL).
    pub topics: &'a [&'a str],
}

pub struct Tansu {
    pub port: u16,
    pub addr: std::net::SocketAddr,
    program: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// The `tansu` program on `PATH` or in `~/.cargo/bin`, or a panic naming
/// the install script.
pub fn program() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("tansu"))
            .find(|f| f.is_file())
    });
    let in_cargo = || {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
        Some(home.join("bin").join("tansu")).filter(|f| f.is_file())
    };
    on_path.or_else(in_cargo).unwrap_or_else(|| {
        panic!(
            "`tansu` not found: the Kafka health tests need a real Kafka-protocol broker; {INSTALL}"
        )
    })
}

impl Tansu {
    /// A plain broker advertising [`ADVERTISED`] with `topics`.
    pub fn start(topics: &[&str]) -> Tansu {
        Self::start_with(Options {
            topics,
            ..Options::default()
        })
    }

    pub fn start_with(options: Options) -> Tansu {
        let program = program();
        let dir = tempfile::Builder::new()
            .prefix("fintechctl-tansu")
            .tempdir()
            .unwrap();
        let port = free_port();
        let advertised = options.advertised.unwrap_or(ADVERTISED);
        let log = std::fs::File::create(dir.path().join("tansu.log")).unwrap();
        let mut cmd = Command::new(&program);
        cmd.args(["broker", "--storage-engine", "memory://tansu/"])
            .arg("--listener-url")
            .arg(format!("tcp://127.0.0.1:{port}"))
            .arg("--advertised-listener-url")
            .arg(format!("tcp://{advertised}"));
        if options.authentication {
            cmd.arg("--authentication");
        }
        // It reads a `.env` from its working directory: an empty one.
        cmd.current_dir(dir.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{} did not start: {e}; {INSTALL}", program.display()));
        let mut tansu = Tansu {
            port,
            addr: ([127, 0, 0, 1], port).into(),
            program,
            dir,
            child: Some(child),
        };
        tansu.wait_until_up();
        if !options.topics.is_empty() {
            tansu.create_topics(options.topics);
        }
        tansu
    }

    /// Until it accepts connections, at most 30 s; panics with its log
    /// when it exits or does not come up.
    fn wait_until_up(&mut self) {
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "tansu broker ({}) exited ({status}) before listening on {} ({INSTALL}):\n{}",
                    self.program.display(),
                    self.addr,
                    self.log_tail()
                );
            }
            if started.elapsed() > Duration::from_secs(30) {
                panic!(
                    "tansu broker not listening on {} after 30s ({INSTALL}):\n{}",
                    self.addr,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Creates each topic with one partition (`tansu topic create`).
    pub fn create_topics(&self, names: &[&str]) {
        for name in names {
            let out = Command::new(&self.program)
                .args(["topic", "create", name, "--partitions", "1", "--broker"])
                .arg(format!("tcp://{}", self.addr))
                .current_dir(self.dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "tansu topic create {name}: {}{}\nbroker log:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log_tail()
            );
        }
    }

    /// The last lines the broker wrote (stdout and stderr).
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Kills the broker (its memory storage goes with it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TLS listener on 127.0.0.1:`port` presenting `leaf` that forwards each
/// connection's plaintext to `upstream` (a [`Tansu`]): a TLS listener in
/// front of a real broker. tansu 0.6.0 cannot serve TLS (`--cert` and
/// `--key` exclude each other, and its listener never wraps connections),
/// so the tests terminate TLS themselves. It stops on drop.
pub struct TlsFront {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    pub async fn start(port: u16, leaf: &Leaf, upstream: std::net::SocketAddr) -> TlsFront {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let acceptor = super::kafka::acceptor(leaf);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A failed handshake (an untrusted certificate on the
                    // client's side) ends the connection.
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let Ok(mut broker) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut broker).await;
                });
            }
        });
        TlsFront { port, task }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
