//! `kube-sim playground`: a cluster to try every fintechctl command on
//! without a cloud account. kube-sim holding what a real cluster would (the
//! IngressClass `nginx`, AKS's autoscaler Secret), the `local` environment's
//! data stores backed by real local servers when they are installed (the
//! way the tests do it: `exec:` runs pg_dump / redis-cli on this machine,
//! `ports:` sends port-forwards and the service proxy to local addresses),
//! HTTP servers answering `/health`, `/ready` and `/metrics` behind the
//! application services, and the lines to export. Everything lives in one
//! temporary directory, removed on Ctrl-C or SIGTERM.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kube_sim::{Behaviors, KubeSim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Obviously fake values, one per platform secret: the real servers are
/// started with them, deploy puts them into the cluster's Secret.
const SECRETS: [(&str, &str); 5] = [
    ("POSTGRES_PASSWORD", "playground-only-postgres"),
    ("REDIS_PASSWORD", "playground-only-redis"),
    ("KAFKA_PASSWORD", "playground-only-kafka"),
    ("JWT_SECRET", "playground-only-jwt"),
    ("API_KEY", "playground-only-apikey"),
];

/// The local environment's database and user (environments/local.yaml).
const PG_USER: &str = "fintech_ai_user";
const PG_DB: &str = "fintech_ai";
/// The revision the playground's database starts at (no real migration runs).
const ALEMBIC_REVISION: &str = "playground0001";

const USAGE: &str = "usage: kube-sim playground [--port N]";

/// The environment files of the repository this kube-sim was built from.
fn environments_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../environments")
}

pub async fn main(args: Vec<String>) -> anyhow::Result<()> {
    let mut port = 0u16;
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            _ => usage(),
        }
    }
    // Handlers first: a SIGTERM right after the exports must stop it cleanly.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;

    let dir = TempDir::create()?;
    let mut notes: Vec<String> = Vec::new();

    let postgres = match Postgres::start(&dir.path) {
        Ok(pg) => {
            notes.push(format!(
                "PostgreSQL {}: 127.0.0.1:{} (pod postgres-0), database {PG_DB}, alembic revision {ALEMBIC_REVISION}",
                pg.version, pg.port
            ));
            Some(pg)
        }
        Err(e) => {
            notes.push(format!(
                "PostgreSQL: {e}. Without it health's postgres check fails and backup's postgres part fails (install PostgreSQL: initdb, pg_ctl, psql, pg_dump)"
            ));
            None
        }
    };
    let redis = match Redis::start(&dir.path) {
        Ok(r) => {
            notes.push(format!("Redis: 127.0.0.1:{} (pod redis-0)", r.port));
            Some(r)
        }
        Err(e) => {
            notes.push(format!(
                "Redis: {e}. Without it health's redis check fails and backup's redis part fails (install redis-server and redis-cli)"
            ));
            None
        }
    };
    let kafka = kafka_standin().await?;
    notes.push(format!(
        "Kafka: {kafka} (pod kafka-0), a stand-in that answers Metadata as a one-broker cluster (no real broker)"
    ));
    let mut targets: Vec<(&str, u16, SocketAddr)> = Vec::new();
    for (service, port) in [
        ("api-gateway", 8000),
        ("ml-service", 8001),
        ("frontend", 3000),
    ] {
        let addr = http_service(service).await?;
        targets.push((service, port, addr));
    }
    notes.push(format!(
        "api-gateway, ml-service, frontend: HTTP servers answering /health, /ready, /metrics ({})",
        targets
            .iter()
            .map(|(_, _, a)| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));

    notes.push(
        "Prometheus, Grafana, Jaeger: not run (verify's alerts check and health warn that they do not answer)".into(),
    );

    let pg_port = postgres.as_ref().map(|p| p.port).unwrap_or(5432);
    let redis_port = redis.as_ref().map(|r| r.port).unwrap_or(6379);
    targets.push(("postgres", pg_port, ([127, 0, 0, 1], pg_port).into()));
    targets.push(("redis", redis_port, ([127, 0, 0, 1], redis_port).into()));
    targets.push(("kafka", 9092, kafka));

    let envs = environments(&dir.path, pg_port, redis_port)?;
    let tls = tls_pair(&dir.path);
    if let Err(e) = &tls {
        notes.push(format!(
            "TLS pair: {e}. Without it render warns and deploy of staging/production refuses; local does not need one"
        ));
    }

    let sim = KubeSim::start(SimConfig {
        behaviors: Behaviors::from_yaml(&behaviors(&targets))
            .map_err(|e| anyhow::anyhow!("the playground's behaviours: {e}"))?,
        port,
        ..SimConfig::default()
    })
    .await?;
    seed(&sim)?;
    let kubeconfig = dir.path.join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig)?;

    let mut exports = vec![
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("FINTECHCTL_ENVIRONMENTS_DIR", envs.display().to_string()),
    ];
    exports.extend(SECRETS.iter().map(|(k, v)| (*k, v.to_string())));
    if let Ok((cert, key)) = &tls {
        exports.push(("FINTECHCTL_TLS_CERT", cert.display().to_string()));
        exports.push(("FINTECHCTL_TLS_KEY", key.display().to_string()));
    }
    let env_file = dir.path.join("playground.env");
    let mut lines = String::new();
    for (k, v) in &exports {
        let _ = writeln!(lines, "export {k}={v}");
    }
    std::fs::write(&env_file, &lines)?;

    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "kube-sim playground listening on {}", sim.url())?;
        for n in &notes {
            writeln!(out, "  {n}")?;
        }
        writeln!(
            out,
            "  IngressClass nginx; Secret kube-system/cluster-autoscaler-azure (SubscriptionID, a fake id)"
        )?;
        writeln!(
            out,
            "  environments: {} (the repository's, with local's data store ports and backup directory here)",
            envs.display()
        )?;
        writeln!(
            out,
            "\nPaste into another shell (or: . {}):\n",
            env_file.display()
        )?;
        write!(out, "{lines}")?;
        writeln!(
            out,
            "\nThe secret values are fake, for this playground only. Ctrl-C stops it and removes {}",
            dir.path.display()
        )?;
        out.flush()?;
    }

    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    sim.shutdown().await;
    drop(redis);
    drop(postgres);
    drop(dir);
    Ok(())
}

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

/// A directory removed (with everything in it) when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn create() -> anyhow::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "kube-sim-playground-{}-{nanos:08x}",
            std::process::id()
        ));
        std::fs::create_dir(&path)?;
        // The `postgres` user (initdb as root) must reach its directory in here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `program` on the PATH, or in Debian's PostgreSQL directories.
fn find(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(program))
                .find(|f| f.is_file())
        })
        .or_else(|| {
            std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .map(|d| d.path().join("bin").join(program))
                .find(|f| f.is_file())
        })
}

fn require(programs: &[&str]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for p in programs {
        match find(p) {
            Some(f) => found.push(f),
            None => missing.push(*p),
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(format!("not installed ({} not found)", missing.join(", ")))
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// A PostgreSQL server from `initdb` and `pg_ctl` in the playground's
/// directory (as the user `postgres` when run as root: initdb refuses root).
struct Postgres {
    port: u16,
    version: String,
    data: PathBuf,
    pg_ctl: PathBuf,
}

impl Postgres {
    fn start(dir: &Path) -> Result<Postgres, String> {
        let tools = require(&["initdb", "pg_ctl", "psql", "pg_dump"])?;
        let (initdb, pg_ctl, psql) = (&tools[0], tools[1].clone(), &tools[2]);
        let home = dir.join("postgres");
        std::fs::create_dir(&home).map_err(|e| e.to_string())?;
        let pwfile = home.join("pw");
        let password = secret("POSTGRES_PASSWORD");
        std::fs::write(&pwfile, password).map_err(|e| e.to_string())?;
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres"]).arg(&home))?;
        }
        let data = home.join("data");
        run(as_postgres(initdb)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                PG_USER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display())))?;
        let port = free_port().map_err(|e| e.to_string())?;
        run(as_postgres(&pg_ctl)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(home.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                home.display()
            ))
            .args(["-w", "start"]))?;
        let pg = Postgres {
            port,
            version: String::new(),
            data,
            pg_ctl,
        };
        let sql = |db: &str, statement: &str| {
            run(Command::new(psql)
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
                .args([
                    "-p",
                    &port.to_string(),
                    "-U",
                    PG_USER,
                    "-d",
                    db,
                    "-c",
                    statement,
                ])
                .env("PGPASSWORD", password))
        };
        sql("postgres", &format!("CREATE DATABASE {PG_DB}"))?;
        sql(
            PG_DB,
            &format!(
                "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); \
                 INSERT INTO alembic_version VALUES ('{ALEMBIC_REVISION}')"
            ),
        )?;
        let mut pg = pg;
        pg.version = sql(PG_DB, "SHOW server_version")?.trim().to_string();
        Ok(pg)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.pg_ctl)
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Runs a command to its end; its stdout, or its stderr as the error.
fn run(command: &mut Command) -> Result<String, String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn secret(name: &str) -> &'static str {
    SECRETS
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .unwrap_or_default()
}

/// A password-protected redis-server, started again whenever it exits (as
/// a kubelet restarts a container: a restore shuts it down to load the RDB).
struct Redis {
    port: u16,
    running: Arc<AtomicBool>,
    child: Arc<std::sync::Mutex<Option<std::process::Child>>>,
    supervisor: Option<std::thread::JoinHandle<()>>,
}

impl Redis {
    fn start(dir: &Path) -> Result<Redis, String> {
        let tools = require(&["redis-server", "redis-cli"])?;
        let server = tools[0].clone();
        let home = dir.join("redis");
        std::fs::create_dir(&home).map_err(|e| e.to_string())?;
        let port = free_port().map_err(|e| e.to_string())?;
        let spawn = move || {
            Command::new(&server)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
                .arg(&home)
                .args(["--requirepass", secret("REDIS_PASSWORD")])
                .args(["--save", "", "--appendonly", "no", "--maxmemory", "256mb"])
                // `redis-cli --rdb` (backup) starts at once, not after 5 s.
                .args(["--repl-diskless-sync-delay", "0"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
        };
        let first = spawn().map_err(|e| format!("redis-server: {e}"))?;
        let running = Arc::new(AtomicBool::new(true));
        let child = Arc::new(std::sync::Mutex::new(Some(first)));
        let supervisor = {
            let running = running.clone();
            let child = child.clone();
            std::thread::spawn(move || {
                while running.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                    let Ok(mut slot) = child.lock() else { return };
                    let exited = match slot.as_mut() {
                        Some(c) => c.try_wait().ok().flatten().is_some(),
                        None => true,
                    };
                    if exited && running.load(Ordering::SeqCst) {
                        *slot = spawn().ok();
                    }
                }
            })
        };
        let redis = Redis {
            port,
            running,
            child,
            supervisor: Some(supervisor),
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("redis-server did not accept connections within 10s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(redis)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(s) = self.supervisor.take() {
            let _ = s.join();
        }
        if let Ok(mut slot) = self.child.lock()
            && let Some(mut c) = slot.take()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A Kafka stand-in on a free port: it answers Metadata (any version up to
/// 4, the one fintechctl's health check sends) as a one-broker cluster with
/// the platform's two topics, and closes the connection on anything else.
async fn kafka_standin() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                loop {
                    let mut size = [0u8; 4];
                    if socket.read_exact(&mut size).await.is_err() {
                        return;
                    }
                    let len = i32::from_be_bytes(size);
                    if !(8..=1 << 20).contains(&len) {
                        return;
                    }
                    let mut body = vec![0u8; len as usize];
                    if socket.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let key = i16::from_be_bytes([body[0], body[1]]);
                    let version = i16::from_be_bytes([body[2], body[3]]);
                    if key != 3 || !(1..=4).contains(&version) {
                        return;
                    }
                    let frame = metadata_response(&body[4..8], version);
                    if socket.write_all(&frame).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(addr)
}

/// A MetadataResponse v1–v4 (response header v0): broker 1 at kafka:9092,
/// controller 1, the topics `documents` and `predictions`, no partitions.
fn metadata_response(correlation_id: &[u8], version: i16) -> Vec<u8> {
    let string = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as i16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    let mut out = correlation_id.to_vec();
    if version >= 3 {
        out.extend_from_slice(&0i32.to_be_bytes()); // throttle_time_ms
    }
    out.extend_from_slice(&1i32.to_be_bytes()); // one broker
    out.extend_from_slice(&1i32.to_be_bytes()); // node_id
    string(&mut out, "kafka");
    out.extend_from_slice(&9092i32.to_be_bytes());
    out.extend_from_slice(&(-1i16).to_be_bytes()); // rack: null
    if version >= 2 {
        string(&mut out, "kube-sim-playground"); // cluster_id
    }
    out.extend_from_slice(&1i32.to_be_bytes()); // controller_id
    let topics = ["documents", "predictions"];
    out.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for topic in topics {
        out.extend_from_slice(&0i16.to_be_bytes()); // error_code
        string(&mut out, topic);
        out.push(0); // is_internal
        out.extend_from_slice(&0i32.to_be_bytes()); // no partitions
    }
    let mut frame = (out.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&out);
    frame
}

/// An application service on a free port: `/health` and `/ready` answer
/// 200 with a JSON body, `/metrics` Prometheus text, anything else a page.
async fn http_service(name: &'static str) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                loop {
                    match socket.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                    if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") || read == buf.len() {
                        break;
                    }
                }
                let request = String::from_utf8_lossy(&buf[..read]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (content_type, body) = match path.as_str() {
                    "/health" | "/ready" => (
                        "application/json",
                        format!("{{\"status\": \"ok\", \"service\": \"{name}\"}}"),
                    ),
                    "/metrics" => (
                        "text/plain; version=0.0.4",
                        format!(
                            "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
                             http_requests_total{{service=\"{name}\",method=\"GET\",status=\"200\"}} 42\n"
                        ),
                    ),
                    _ => (
                        "text/html",
                        format!("<!doctype html><title>FinTech AI: {name}</title>"),
                    ),
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok(addr)
}

/// The behaviours: a release tagged `broken` cannot be pulled, ml-service
/// `crash` crash-loops (to see a failed deploy, `debug` and `rollback`),
/// every other image ready quickly, the migration Job a local
/// `echo` (and alembic's offline mode an empty migration from revision
/// `playground0001`, so deploys' migration checks pass), exec in the PostgreSQL pod against the local server, and the
/// pods' ports sent to the local servers.
fn behaviors(targets: &[(&str, u16, SocketAddr)]) -> String {
    let mut yaml = String::from(
        "images:\n  - match: \"*:broken\"\n    behavior: image-pull-error\n\
         \x20 - match: \"*/ml-service:crash\"\n    behavior: crash-loop\n    exitCode: 1\n\
         \x20   logs: \"ModuleNotFoundError: No module named 'torch'\"\n\
         \x20 - match: \"*\"\n    behavior: ready\n    readyAfter: 300ms\n\
         jobs:\n  - match: \"*/api-gateway:*\"\n    command: [\"sh\", \"-c\", \
         \"case $KUBE_SIM_ARGS in 'alembic heads') echo 'playground0001 (head)';; \
         *' --sql') printf 'BEGIN;\\\\n\\\\nCOMMIT;\\\\n';; \
         *) echo 'playground: the migration Job runs no real migration';; esac\"]\n\
         exec:\n  - pod: \"postgres-*\"\n    env: { PGHOST: 127.0.0.1 }\n\
         ports:\n",
    );
    for (pod, port, addr) in targets {
        let _ = write!(
            yaml,
            "  - pod: \"{pod}-*\"\n    port: {port}\n    target: {addr}\n"
        );
    }
    yaml
}

/// What a real cluster holds before the first deploy.
fn seed(sim: &KubeSim) -> anyhow::Result<()> {
    let create = |obj: serde_json::Value| {
        sim.create(obj)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{}", e.message))
    };
    create(serde_json::json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}
    }))?;
    create(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cluster-autoscaler-azure", "namespace": "kube-system"},
        "stringData": {"SubscriptionID": "00000000-0000-0000-0000-000000000000"}
    }))?;
    Ok(())
}

/// The repository's environment files, `local.yaml` with the data stores'
/// ports of the local servers and its backups in the playground's directory
/// (as the backup tests rewrite it).
fn environments(dir: &Path, pg_port: u16, redis_port: u16) -> anyhow::Result<PathBuf> {
    let src = environments_source();
    let out = dir.join("environments");
    std::fs::create_dir(&out)?;
    for entry in
        std::fs::read_dir(&src).map_err(|e| anyhow::anyhow!("reading {}: {e}", src.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "yaml") {
            std::fs::copy(&path, out.join(path.file_name().unwrap_or_default()))?;
        }
    }
    let local = out.join("local.yaml");
    let text = std::fs::read_to_string(&local)?;
    let backups = dir.join("backups");
    let rewritten = text
        .replacen("    port: 5432\n", &format!("    port: {pg_port}\n"), 1)
        .replacen("    port: 6379\n", &format!("    port: {redis_port}\n"), 1)
        .replacen(
            "  path: ./backups\n",
            &format!("  path: {}\n", backups.display()),
            1,
        );
    for expected in [
        format!("port: {pg_port}"),
        format!("port: {redis_port}"),
        format!("path: {}", backups.display()),
    ] {
        anyhow::ensure!(
            rewritten.contains(&expected),
            "environments/local.yaml changed shape: could not set `{expected}`"
        );
    }
    std::fs::write(&local, rewritten)?;
    Ok(out)
}

/// A throwaway self-signed certificate for the ingress host, with the
/// `openssl` CLI.
fn tls_pair(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let openssl = find("openssl").ok_or("not made (the openssl CLI is not installed)")?;
    let cert = dir.join("tls.crt");
    let key = dir.join("tls.key");
    run(Command::new(openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-nodes", "-days", "7", "-subj", "/CN=fintech-ai.localhost"])
        .args(["-addext", "subjectAltName=DNS:fintech-ai.localhost,DNS:staging.fintech-ai-platform.com,DNS:app.fintech-ai-platform.com"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert))
    .map_err(|e| format!("not made: {e}"))?;
    Ok((cert, key))
}
