//! Real data stores for the backup and restore tests: a PostgreSQL server
//! (`initdb` / `pg_ctl` in a temporary directory) and a `redis-server`
//! kept running the way a kubelet keeps a container running (restarted when
//! it exits), each on a free loopback port, stopped when dropped. A missing
//! server binary fails the test, naming the install script that provides it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const PG_USER: &str = "fintech_ai_user";
pub const PG_DB: &str = "fintech_ai";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find(binary: &str, script: &str) -> PathBuf {
    for dir in [
        "/usr/local/bin",
        "/usr/lib/postgresql/15/bin",
        "/usr/bin",
        "/usr/local/sbin",
        "/usr/sbin",
    ] {
        let p = Path::new(dir).join(binary);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "`{binary}` is not installed: .ci/install.d/{script} installs it (run .ci/test, or that script)"
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command that runs as the `postgres` user when we are root (initdb
/// and postgres refuse to run as root).
fn as_pg(binary: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(binary);
        c
    } else {
        Command::new(binary)
    }
}

pub struct Postgres {
    pub port: u16,
    pub dir: tempfile::TempDir,
    pg_ctl: PathBuf,
}

impl Postgres {
    pub fn start() -> Postgres {
        let initdb = find("initdb", "40-postgres.sh");
        let pg_ctl = find("pg_ctl", "40-postgres.sh");
        find("psql", "40-postgres.sh");
        find("pg_dump", "40-postgres.sh");
        let dir = tempfile::Builder::new()
            .prefix("fintechctl-pg")
            .tempdir()
            .unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(
                ok.success(),
                "chown the PostgreSQL test directory to postgres"
            );
            // The user postgres must reach the directory.
            let _ = Command::new("chmod").args(["755"]).arg(dir.path()).status();
        }
        let data = dir.path().join("data");
        let out = as_pg(&initdb)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                PG_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let out = as_pg(&pg_ctl)
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40",
                dir.path().display()
            ))
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-w", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = Postgres { port, dir, pg_ctl };
        pg.psql_db("postgres", &format!("CREATE DATABASE {PG_DB}"));
        pg
    }

    /// Runs SQL, returns stdout (unaligned, tuples only).
    pub fn psql_db(&self, db: &str, sql: &str) -> String {
        let out = Command::new(find("psql", "40-postgres.sh"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args(["-p", &self.port.to_string(), "-U", PG_USER, "-d", db])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(sql.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(
            out.status.success(),
            "psql: {}\n{sql}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn psql(&self, sql: &str) -> String {
        self.psql_db(PG_DB, sql)
    }

    /// Every user table with a checksum of all its rows (order-independent).
    pub fn checksums(&self) -> Vec<String> {
        let tables = self.psql(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 1",
        );
        tables
            .lines()
            .map(|t| {
                let sum = self.psql(&format!(
                    "SELECT count(*) || ':' || coalesce(md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))), '') FROM {t} x"
                ));
                format!("{t} {}", sum.trim())
            })
            .collect()
    }

    /// Awkward data: bytea, jsonb, numeric, timestamptz, NULLs, unicode
    /// names, a large table, and an alembic revision.
    pub fn seed(&self, large_rows: usize) {
        self.psql(&format!(
            r#"
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('a1b2c3d4e5f6');
CREATE TABLE accounts (
  id bigserial PRIMARY KEY,
  owner text NOT NULL,
  balance numeric(30, 10),
  opened timestamptz,
  profile jsonb,
  avatar bytea,
  note text
);
INSERT INTO accounts (owner, balance, opened, profile, avatar, note) VALUES
  ('Zoë Ångström', 12345678901234567890.0123456789, '2024-02-29 23:59:59.999999+05:30', '{{"risk": "low", "tags": ["a", "ü"], "n": null}}', '\x00ff10fe'::bytea, E'tab\there\nnewline and a backslash \\ and a quote '''),
  ('李雷', -0.0000000001, '1970-01-01 00:00:00+00', '[]', '\x'::bytea, NULL),
  ('NULLs', NULL, NULL, NULL, NULL, NULL),
  ('emoji 💸', 0, 'infinity', '{{"deep": {{"x": [1, 2, {{"y": "z"}}]}}}}', decode(repeat('00', 1000), 'hex'), repeat('x', 10000));
CREATE SCHEMA "Ünïcode schema";
CREATE TABLE "Ünïcode schema"."Tabelle mit Leerzeichen" ("Spalte ß" text, "n" int);
INSERT INTO "Ünïcode schema"."Tabelle mit Leerzeichen" VALUES ('grüße', 1), (NULL, NULL), ('', 0);
CREATE TABLE ledger (id bigint PRIMARY KEY, account bigint, amount numeric(18, 2), at timestamptz, memo text);
INSERT INTO ledger SELECT g, g % 4 + 1, (g * 7919 % 100000) / 100.0, timestamptz '2025-01-01' + g * interval '1 second', md5(g::text) || md5((g * 31)::text)
  FROM generate_series(1, {large_rows}) g;
"#
        ));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_pg(&self.pg_ctl)
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// A redis-server with a password, restarted whenever it exits (as the
/// kubelet restarts a container), until dropped.
pub struct Redis {
    pub port: u16,
    pub password: String,
    pub dir: tempfile::TempDir,
    running: Arc<AtomicBool>,
    supervisor: Option<std::thread::JoinHandle<()>>,
    child: Arc<std::sync::Mutex<Option<std::process::Child>>>,
}

impl Redis {
    pub fn start(password: &str) -> Redis {
        let server = find("redis-server", "41-redis.sh");
        find("redis-cli", "41-redis.sh");
        let dir = tempfile::Builder::new()
            .prefix("fintechctl-redis")
            .tempdir()
            .unwrap();
        let port = free_port();
        let running = Arc::new(AtomicBool::new(true));
        let child: Arc<std::sync::Mutex<Option<std::process::Child>>> = Arc::default();
        let spawn = {
            let dir = dir.path().to_path_buf();
            let password = password.to_string();
            move || {
                Command::new(&server)
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
                    .arg(&dir)
                    .args([
                        "--requirepass",
                        &password,
                        "--save",
                        "3600 1",
                        "--appendonly",
                        "no",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("redis-server starts")
            }
        };
        *child.lock().unwrap() = Some(spawn());
        let supervisor = {
            let running = running.clone();
            let child = child.clone();
            std::thread::spawn(move || {
                while running.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                    let mut slot = child.lock().unwrap();
                    let exited = match slot.as_mut() {
                        Some(c) => c.try_wait().ok().flatten().is_some(),
                        None => true,
                    };
                    if exited && running.load(Ordering::SeqCst) {
                        *slot = Some(spawn());
                    }
                }
            })
        };
        let r = Redis {
            port,
            password: password.to_string(),
            dir,
            running,
            supervisor: Some(supervisor),
            child,
        };
        let started = Instant::now();
        while r.cli(&["PING"]).trim() != "PONG" {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args([
                "--no-auth-warning",
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
            ])
            .args(args)
            .env("REDISCLI_AUTH", &self.password)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys of every type (string, list, set, sorted set, hash, stream,
    /// with a TTL) in two databases.
    pub fn seed(&self) {
        self.cli(&["SET", "str", "väl\x7fue ünïcode"]);
        self.cli(&["SET", "ttl", "expires", "EX", "86400"]);
        self.cli(&["RPUSH", "list", "a", "b", "c"]);
        self.cli(&["SADD", "set", "x", "y"]);
        self.cli(&["ZADD", "zset", "1.5", "one", "2", "two"]);
        self.cli(&["HSET", "hash", "f1", "v1", "f2", "v2"]);
        self.cli(&["XADD", "stream", "1-1", "field", "value"]);
        self.cli(&["-n", "3", "SET", "other-db", "1"]);
    }

    /// Every key with its type and content, sorted.
    pub fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        for db in ["0", "3"] {
            let keys = self.cli(&["-n", db, "KEYS", "*"]);
            let mut keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
            keys.sort();
            for k in keys {
                let t = self.cli(&["-n", db, "TYPE", k]).trim().to_string();
                let v = match t.as_str() {
                    "string" => self.cli(&["-n", db, "GET", k]),
                    "list" => self.cli(&["-n", db, "LRANGE", k, "0", "-1"]),
                    "set" => {
                        let s = self.cli(&["-n", db, "SMEMBERS", k]);
                        let mut m: Vec<&str> = s.lines().collect();
                        m.sort();
                        m.join(",")
                    }
                    "zset" => self.cli(&["-n", db, "ZRANGE", k, "0", "-1", "WITHSCORES"]),
                    "hash" => {
                        let s = self.cli(&["-n", db, "HGETALL", k]);
                        let lines: Vec<&str> = s.lines().collect();
                        let mut pairs: Vec<String> = lines.chunks(2).map(|c| c.join("=")).collect();
                        pairs.sort();
                        pairs.join(",")
                    }
                    "stream" => self.cli(&["-n", db, "XRANGE", k, "-", "+"]),
                    other => other.to_string(),
                };
                let ttl = self
                    .cli(&["-n", db, "TTL", k])
                    .trim()
                    .parse::<i64>()
                    .unwrap_or(-3)
                    > 0;
                out.push(format!("db{db} {k} {t} ttl={ttl} {}", v.replace('\n', "|")));
            }
        }
        out
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(s) = self.supervisor.take() {
            let _ = s.join();
        }
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `environments/local.yaml` with the test servers' ports and a store
/// directory, in a directory for `--environments-dir`.
pub fn environments(
    dir: &Path,
    pg_port: u16,
    redis_port: u16,
    store: &Path,
    recipients: &[String],
) -> PathBuf {
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/local.yaml"),
    )
    .unwrap();
    let mut out = src
        .replace("    port: 5432\n", &format!("    port: {pg_port}\n"))
        .replace("    port: 6379\n", &format!("    port: {redis_port}\n"))
        .replace(
            "  path: ./backups\n",
            &format!("  path: {}\n", store.display()),
        );
    if !recipients.is_empty() {
        out = out.replace(
            "  retentionDays: 3\n",
            &format!(
                "  retentionDays: 3\n  recipients:\n{}",
                recipients
                    .iter()
                    .map(|r| format!("    - {r}\n"))
                    .collect::<String>()
            ),
        );
    }
    assert!(
        out.contains(&format!("port: {pg_port}")),
        "local.yaml changed shape"
    );
    let envs = dir.join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    std::fs::write(envs.join("local.yaml"), out).unwrap();
    envs
}

/// Every file under `dir`, decompressed when it is zstd, as bytes.
pub fn store_contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let plain = if p.extension().is_some_and(|x| x == "zst") {
                    let out = Command::new("zstd")
                        .args(["-d", "-c"])
                        .arg(&p)
                        .output()
                        .unwrap();
                    out.stdout
                } else {
                    bytes
                };
                out.push((p, plain));
            }
        }
    }
    out
}
