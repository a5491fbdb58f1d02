//! Real data-store servers for the health tests: PostgreSQL from `initdb`
//! and `pg_ctl` in a temporary directory, Redis from `redis-server`, each on
//! a free loopback port and stopped on drop. A missing server program fails
//! the test, naming the install script that provides it. [`TestCa`] makes a
//! certificate authority (rcgen) and server certificates signed by it, for
//! the stores that speak TLS (`SSL_CERT_FILE` on fintechctl trusts it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `program` on `PATH` (or Debian's PostgreSQL directory); `package` is the
/// Debian package with it, `script` the `.ci/install.d` script installing it.
fn require(program: &str, package: &str, script: &str) -> PathBuf {
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
    found.unwrap_or_else(|| panic!("`{program}` not found: the health tests need a real {package}; .ci/install.d/{script} installs it (`apt-get install {package}`)"))
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
        let initdb = require("initdb", "postgresql", "40-postgres.sh");
        let pg_ctl = require("pg_ctl", "postgresql", "40-postgres.sh");
        let psql = require("psql", "postgresql-client", "40-postgres.sh");
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
        Self::start_with(password, None, None)
    }

    /// A TLS-only server (as Azure Cache for Redis on 6380): `--port 0` and
    /// `--tls-port` with `leaf`'s certificate; clients need no certificate.
    pub fn start_tls(password: &str, leaf: &Leaf, ca: &TestCa) -> Redis {
        Self::start_with(password, Some(leaf), Some(ca))
    }

    fn start_with(password: &str, leaf: Option<&Leaf>, ca: Option<&TestCa>) -> Redis {
        let server = require("redis-server", "redis-server", "41-redis.sh");
        let port = free_port();
        let mut command = Command::new(server);
        match (leaf, ca) {
            (Some(leaf), Some(ca)) => {
                command
                    .args(["--port", "0", "--tls-port", &port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(&leaf.cert_file)
                    .arg("--tls-key-file")
                    .arg(&leaf.key_file)
                    .arg("--tls-ca-cert-file")
                    .arg(&ca.file)
                    .args(["--tls-auth-clients", "no"]);
            }
            _ => {
                command.args(["--port", &port.to_string()]);
            }
        }
        let child = command
            .args(["--bind", "127.0.0.1", "--requirepass", password])
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
