//! Real data-store servers for the health tests: PostgreSQL from `initdb`
//! and `pg_ctl` in a temporary directory, Redis from `redis-server`, each on
//! a free loopback port and stopped on drop. A missing server program fails
//! the test, naming the install script that provides it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const INSTALL: &str = ".ci/install.d/40-data-stores.sh";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn require(program: &str, package: &str) -> PathBuf {
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
    found.unwrap_or_else(|| panic!("`{program}` not found: the health tests need a real {package}; {INSTALL} installs it (`apt-get install {package}`)"))
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

pub struct Postgres {
    pub port: u16,
    dir: tempfile::TempDir,
    pg_ctl: PathBuf,
    stopped: bool,
}

impl Postgres {
    /// A server whose superuser is `user` with `password`, with `database`
    /// created and, when given, an `alembic_version` at `revision`.
    pub fn start(user: &str, password: &str, database: &str, revision: Option<&str>) -> Postgres {
        Self::start_with(user, password, database, revision, false)
    }

    /// [`Postgres::start`], with `ssl=on` and a self-signed certificate (rcgen) when `tls`.
    pub fn start_with(
        user: &str,
        password: &str,
        database: &str,
        revision: Option<&str>,
        tls: bool,
    ) -> Postgres {
        let initdb = require("initdb", "postgresql");
        let pg_ctl = require("pg_ctl", "postgresql");
        let psql = require("psql", "postgresql-client");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, password).unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let out = as_postgres(&initdb)
            .arg("-D")
            .arg(&data)
            .args(["-U", user, "--auth=scram-sha-256", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {}",
            dir.path().display()
        );
        if tls {
            use std::os::unix::fs::PermissionsExt;
            let key = rcgen::KeyPair::generate().unwrap();
            let params = rcgen::CertificateParams::new(vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
            ])
            .unwrap();
            let cert = params.self_signed(&key).unwrap();
            std::fs::write(data.join("server.crt"), cert.pem()).unwrap();
            std::fs::write(data.join("server.key"), key.serialize_pem()).unwrap();
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
        let sql = |db: &str, statement: &str| {
            let out = Command::new(&psql)
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-U",
                    user,
                    "-d",
                    db,
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    statement,
                ])
                .env("PGPASSWORD", password)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "psql {statement}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        sql("postgres", &format!("CREATE DATABASE {database}"));
        if let Some(rev) = revision {
            sql(
                database,
                "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY)",
            );
            sql(
                database,
                &format!("INSERT INTO alembic_version VALUES ('{rev}')"),
            );
        }
        Postgres {
            port,
            dir,
            pg_ctl,
            stopped: false,
        }
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

pub struct Redis {
    pub port: u16,
    child: Child,
}

impl Redis {
    pub fn start(password: &str) -> Redis {
        let server = require("redis-server", "redis-server");
        let port = free_port();
        let child = Command::new(server)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                password,
            ])
            .args(["--save", "", "--appendonly", "no", "--maxmemory", "64mb"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Ready once it accepts connections.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Redis { port, child }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
