//! Real data-store servers, one harness for every test that needs one:
//! PostgreSQL from `initdb` and `pg_ctl` in a temporary directory, Redis
//! from `redis-server`, each on a free loopback port and stopped on drop. A
//! missing server program fails the test, naming the install script that
//! provides it. [`TestCa`] makes a certificate authority (rcgen) and server
//! certificates signed by it, for the stores that speak TLS (`SSL_CERT_FILE`
//! on fintechctl trusts it). The backup tests' helpers (awkward seed data,
//! checksums, a `local.yaml` pointing at the servers, a store's contents)
//! are here too.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The backup tests' PostgreSQL superuser and database (the runbook's).
pub const PG_USER: &str = "fintech_ai_user";
pub const PG_DB: &str = "fintech_ai";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `program` on `PATH` (or Debian's PostgreSQL directory); `package` is the
/// Debian package with it, `script` the `.ci/install.d` script installing it.
pub fn require(program: &str, package: &str, script: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(program))
                .find(|f| f.exists())
        })
        .unwrap_or_default()
        .or_else(|| {
            // Debian keeps PostgreSQL's programs out of PATH.
            std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .map(|d| d.path().join("bin").join(program))
                .find(|f| f.exists())
        });
    found.unwrap_or_else(|| panic!("`{program}` not found: the tests need a real {package}; .ci/install.d/{script} installs it (`apt-get install {package}`)"))
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe extern "C" {
        fn getuid() -> u32;
    }
    unsafe { getuid() == 0 }
}

/// Runs `program` as the `postgres` user when we are root (initdb refuses root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A test certificate authority: its certificate in `file` (PEM), and
/// server certificates signed by it.
pub struct TestCa {
    pub file: PathBuf,
    dir: tempfile::TempDir,
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
}

/// A server certificate: PEM files, and the DER for an in-process server.
pub struct Leaf {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, cert.pem()).unwrap();
        TestCa {
            file,
            dir,
            params,
            key,
        }
    }

    /// A certificate for `names` (DNS names or IP addresses) signed by this CA.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let stem = names[0].replace(['.', ':'], "_");
        let cert_file = self.dir.path().join(format!("{stem}.crt"));
        let key_file = self.dir.path().join(format!("{stem}.key"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Leaf {
            cert_file,
            key_file,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }
}

pub struct Postgres {
    pub port: u16,
    pub user: String,
    /// None: `trust` authentication (any password, or none, is accepted).
    password: Option<String>,
    /// The database [`Postgres::psql`] runs in.
    pub database: String,
    pub dir: tempfile::TempDir,
    pg_ctl: PathBuf,
    stopped: bool,
}

impl Postgres {
    /// A server whose superuser is `user` with `password` (scram-sha-256),
    /// with `database` created and, when given, an `alembic_version` at
    /// `revision`.
    pub fn start(user: &str, password: &str, database: &str, revision: Option<&str>) -> Postgres {
        Self::start_tls(user, password, database, revision, None)
    }

    /// [`Postgres::start`], with `ssl=on` and a self-signed certificate (rcgen) when `tls`.
    pub fn start_with(
        user: &str,
        password: &str,
        database: &str,
        revision: Option<&str>,
        tls: bool,
    ) -> Postgres {
        Self::start_tls(user, password, database, revision, tls.then_some(None))
    }

    /// [`Postgres::start`]; with `Some(leaf)`, `ssl=on` with that certificate
    /// (`Some(None)`: a self-signed one for localhost and 127.0.0.1).
    pub fn start_tls(
        user: &str,
        password: &str,
        database: &str,
        revision: Option<&str>,
        tls: Option<Option<&Leaf>>,
    ) -> Postgres {
        Self::launch(user, Some(password), database, revision, tls)
    }

    /// The backup tests' server: superuser [`PG_USER`] trusted without a
    /// password, database [`PG_DB`] (empty: [`Postgres::seed`] fills it).
    pub fn start_trusting() -> Postgres {
        Self::launch(PG_USER, None, PG_DB, None, None)
    }

    fn launch(
        user: &str,
        password: Option<&str>,
        database: &str,
        revision: Option<&str>,
        tls: Option<Option<&Leaf>>,
    ) -> Postgres {
        let initdb = require("initdb", "postgresql", "40-postgres.sh");
        let pg_ctl = require("pg_ctl", "postgresql", "40-postgres.sh");
        require("psql", "postgresql-client", "40-postgres.sh");
        let dir = tempfile::Builder::new()
            .prefix("fintechctl-pg")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(
                status.success(),
                "chown the PostgreSQL test directory to postgres"
            );
            // The user postgres must reach the directory.
            let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
        }
        let mut initdb = as_postgres(&initdb);
        initdb.arg("-D").arg(&data).args([
            "-U",
            user,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]);
        match password {
            Some(password) => {
                let pwfile = dir.path().join("pw");
                std::fs::write(&pwfile, password).unwrap();
                if is_root() {
                    let _ = Command::new("chown").arg("postgres").arg(&pwfile).status();
                }
                initdb
                    .arg("--auth=scram-sha-256")
                    .arg(format!("--pwfile={}", pwfile.display()));
            }
            None => {
                initdb.arg("--auth=trust");
            }
        }
        let out = initdb.output().unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        if let Some(leaf) = tls {
            use std::os::unix::fs::PermissionsExt;
            let (cert_pem, key_pem) = match leaf {
                Some(leaf) => (leaf.cert_pem.clone(), leaf.key_pem.clone()),
                None => {
                    let key = rcgen::KeyPair::generate().unwrap();
                    let params = rcgen::CertificateParams::new(vec![
                        "localhost".to_string(),
                        "127.0.0.1".to_string(),
                    ])
                    .unwrap();
                    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
                }
            };
            std::fs::write(data.join("server.crt"), cert_pem).unwrap();
            std::fs::write(data.join("server.key"), key_pem).unwrap();
            std::fs::set_permissions(
                data.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
            if is_root() {
                let status = Command::new("chown")
                    .arg("postgres")
                    .arg(data.join("server.crt"))
                    .arg(data.join("server.key"))
                    .status()
                    .unwrap();
                assert!(status.success());
            }
            options.push_str(" -c ssl=on");
        }
        let out = as_postgres(&pg_ctl)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .arg("-o")
            .arg(&options)
            .args(["-w", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = Postgres {
            port,
            user: user.to_string(),
            password: password.map(str::to_string),
            database: database.to_string(),
            dir,
            pg_ctl,
            stopped: false,
        };
        pg.psql_db("postgres", &format!("CREATE DATABASE {database}"));
        if let Some(rev) = revision {
            pg.psql(&format!(
                "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);\n\
                 INSERT INTO alembic_version VALUES ('{rev}')"
            ));
        }
        pg
    }

    /// Runs SQL in `db`, returns stdout (unaligned, tuples only).
    pub fn psql_db(&self, db: &str, sql: &str) -> String {
        let mut psql = Command::new(require("psql", "postgresql-client", "40-postgres.sh"));
        psql.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
        ])
        .args(["-p", &self.port.to_string(), "-U", &self.user, "-d", db]);
        if let Some(password) = &self.password {
            psql.env("PGPASSWORD", password);
        }
        let out = psql
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

    /// Runs SQL in the server's database.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_db(&self.database, sql)
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

    pub fn stop(&mut self) {
        if !self.stopped {
            let _ = as_postgres(&self.pg_ctl)
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            self.stopped = true;
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A redis-server with a password. [`Redis::start_supervised`] restarts it
/// whenever it exits, as the kubelet restarts a container (the restore
/// tests stop it on purpose); the others stay down once stopped.
pub struct Redis {
    pub port: u16,
    pub password: String,
    pub dir: tempfile::TempDir,
    running: Arc<AtomicBool>,
    supervisor: Option<std::thread::JoinHandle<()>>,
    child: Arc<Mutex<Option<Child>>>,
}

#[derive(Clone, Copy)]
enum RedisMode<'a> {
    Plain,
    Tls(&'a Leaf, &'a TestCa),
    Supervised,
}

impl Redis {
    /// A plain server (`--maxmemory 64mb`, no persistence).
    pub fn start(password: &str) -> Redis {
        Self::launch(password, RedisMode::Plain)
    }

    /// A TLS-only server (as Azure Cache for Redis on 6380): `--port 0` and
    /// `--tls-port` with `leaf`'s certificate; clients need no certificate.
    pub fn start_tls(password: &str, leaf: &Leaf, ca: &TestCa) -> Redis {
        Self::launch(password, RedisMode::Tls(leaf, ca))
    }

    /// A server that saves to its directory and is restarted when it exits.
    pub fn start_supervised(password: &str) -> Redis {
        Self::launch(password, RedisMode::Supervised)
    }

    fn launch(password: &str, mode: RedisMode) -> Redis {
        Self::launch_tries(password, mode, 3)
    }

    fn launch_tries(password: &str, mode: RedisMode, tries: u32) -> Redis {
        let server = require("redis-server", "redis-server", "41-redis.sh");
        let dir = tempfile::Builder::new()
            .prefix("fintechctl-redis")
            .tempdir()
            .unwrap();
        let port = free_port();
        let mut args: Vec<String> = Vec::new();
        let supervised = matches!(mode, RedisMode::Supervised);
        match mode {
            RedisMode::Tls(leaf, ca) => {
                args.extend([
                    "--port".into(),
                    "0".into(),
                    "--tls-port".into(),
                    port.to_string(),
                ]);
                for (flag, file) in [
                    ("--tls-cert-file", &leaf.cert_file),
                    ("--tls-key-file", &leaf.key_file),
                    ("--tls-ca-cert-file", &ca.file),
                ] {
                    args.push(flag.into());
                    args.push(file.display().to_string());
                }
                args.extend(["--tls-auth-clients".into(), "no".into()]);
            }
            RedisMode::Plain | RedisMode::Supervised => {
                args.extend(["--port".into(), port.to_string()]);
            }
        }
        args.extend([
            "--bind".into(),
            "127.0.0.1".into(),
            "--requirepass".into(),
            password.into(),
        ]);
        args.extend(["--dir".into(), dir.path().display().to_string()]);
        args.extend(["--appendonly".into(), "no".into(), "--save".into()]);
        if supervised {
            args.push("3600 1".into());
        } else {
            args.extend(["".into(), "--maxmemory".into(), "64mb".into()]);
        }
        let spawn = move || {
            Command::new(&server)
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts")
        };
        let running = Arc::new(AtomicBool::new(true));
        let child: Arc<Mutex<Option<Child>>> = Arc::new(Mutex::new(Some(spawn())));
        let supervisor = supervised.then(|| {
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
        });
        let redis = Redis {
            port,
            password: password.to_string(),
            dir,
            running,
            supervisor,
            child,
        };
        // Ready once it accepts connections and is still running a moment
        // later: the port came from free_port(), and another test's server
        // may have taken it first. Then a connection succeeds (to that
        // server) while redis-server exits with "Address already in use";
        // it is started again on another port.
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(100));
                if !redis.exited() {
                    return redis;
                }
            }
            if redis.exited() && !supervised {
                assert!(
                    tries > 1,
                    "redis-server exited at start three times (last on port {port})"
                );
                eprintln!("redis-server exited on port {port} (taken?): starting it on another");
                drop(redis);
                return Redis::launch_tries(password, mode, tries - 1);
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the redis-server process has ended (and not been restarted yet).
    fn exited(&self) -> bool {
        matches!(
            self.child.lock().unwrap().as_mut().map(|c| c.try_wait()),
            Some(Ok(Some(_)))
        )
    }

    /// Runs `redis-cli` against the server (plain servers only).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(require("redis-cli", "redis-tools", "41-redis.sh"))
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

    /// Stops the server for good (a supervised one is not restarted).
    pub fn stop(&mut self) {
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

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
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
