//! Render benchmark: how long resolving a release takes (environment load,
//! template render, schema validation, policy checks) and what it costs in
//! memory, then the whole `fintechctl render production` process as a user
//! runs it (wall and CPU time; instructions under callgrind when valgrind is
//! installed) and `fintechctl --help` for the process's fixed cost. Run with
//! `cargo bench --bench render`; numbers go to stdout. A measurement, not an
//! assertion: these machines are shared and noisy (instruction counts are
//! not).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fintechctl::environment::EnvironmentSource;
use fintechctl::release::{Release, ReleaseRequest};
use fintechctl::render::diff;
use fintechctl::secrets::TlsFiles;

const ITERATIONS: u32 = 50;

fn request(env: &str) -> ReleaseRequest {
    ReleaseRequest {
        source: EnvironmentSource::Embedded,
        environment: env.to_string(),
        version: Some("1.4.2".into()),
        env_file: None,
        tls: TlsFiles::default(),
    }
}

fn measure(label: &str, mut f: impl FnMut()) {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..ITERATIONS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    let p90 = times[times.len() * 9 / 10];
    println!(
        "{label:<40} median {median:>10.2?}  p90 {p90:>10.2?}  min {:>10.2?}",
        times[0]
    );
}

/// The binary Cargo built for this bench, with obviously fake secrets.
fn fintechctl(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fintechctl"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("FINTECHCTL_ENVIRONMENTS_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for var in [
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "KAFKA_PASSWORD",
        "JWT_SECRET",
        "API_KEY",
    ] {
        cmd.env(var, "bench-only-value");
    }
    cmd
}

/// CPU time (user + system) of finished children so far, from getrusage.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc_rusage::Rusage = unsafe { std::mem::zeroed() };
    unsafe { libc_rusage::getrusage(libc_rusage::RUSAGE_CHILDREN, &mut usage) };
    let tv = |t: libc_rusage::Timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The few bits of `getrusage(2)` needed, without a libc dependency.
mod libc_rusage {
    pub const RUSAGE_CHILDREN: i32 = -1;
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct Timeval {
        pub tv_sec: i64,
        pub tv_usec: i64,
    }
    #[repr(C)]
    pub struct Rusage {
        pub ru_utime: Timeval,
        pub ru_stime: Timeval,
        pub rest: [i64; 14],
    }
    unsafe extern "C" {
        pub fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    }
}

/// Runs the whole process `runs` times: median and p90 wall time, mean CPU time.
fn measure_process(label: &str, args: &[&str], runs: u32) {
    let ok = fintechctl(args).status().is_ok_and(|s| s.success());
    if !ok {
        println!("{label:<40} (the binary failed; skipped)");
        return;
    }
    let cpu_before = children_cpu();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = fintechctl(args).status().expect("runs");
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    let cpu = (children_cpu() - cpu_before) / runs;
    times.sort();
    println!(
        "{label:<40} median {:>10.2?}  p90 {:>10.2?}  min {:>10.2?}  cpu {cpu:>10.2?}",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[0]
    );
}

/// Instructions the whole process executes, counted by callgrind (exact and
/// repeatable, unlike time on a shared machine); skipped without valgrind.
fn instructions(label: &str, args: &[&str]) {
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(env!("CARGO_BIN_EXE_fintechctl"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for var in [
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "KAFKA_PASSWORD",
        "JWT_SECRET",
        "API_KEY",
    ] {
        cmd.env(var, "bench-only-value");
    }
    let Ok(out) = cmd.output() else {
        println!("{label:<40} (valgrind not installed; instructions not counted)");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let collected = stderr.lines().find_map(|l| {
        l.split_once("Collected : ")
            .map(|(_, n)| n.trim().to_string())
    });
    match collected {
        Some(n) => {
            let n: u64 = n.parse().unwrap_or(0);
            println!(
                "{label:<40} {:>10.1} M instructions (callgrind)",
                n as f64 / 1e6
            );
        }
        None => println!("{label:<40} (callgrind gave no count)"),
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let lookup = |_: &str| Some("bench-only-value".to_string());
    for env in ["local", "staging", "production"] {
        let objects = Release::resolve(&request(env), lookup)
            .expect("renders")
            .manifests
            .len();
        measure(&format!("resolve {env} ({objects} objects)"), || {
            let release = Release::resolve(&request(env), lookup).expect("renders");
            std::hint::black_box(release);
        });
    }
    let release = Release::resolve(&request("production"), lookup).expect("renders");
    let mut changed = release.manifests.clone();
    for m in &mut changed {
        if m.kind() == "Deployment" {
            m.object["spec"]["template"]["spec"]["containers"][0]["image"] = "x:1.4.3".into();
        }
    }
    let key = fintechctl::redact::DigestKey::from_bytes([1; 32]);
    measure("diff production (every object)", || {
        for (a, b) in release.manifests.iter().zip(&changed) {
            std::hint::black_box(diff::object_diff(
                &a.display(),
                Some(&a.object),
                Some(&b.object),
                &key,
            ));
        }
    });
    // A long repetitive secret value: building the scrubber and scrubbing
    // must stay linear (a 5,000-character one once took `render` 51 s).
    let long = "ab".repeat(2_500);
    let text = format!("{}{long}{}", "x".repeat(50_000), "ab".repeat(50_000));
    measure("redactor: 5,000-char repetitive value", || {
        let r = fintechctl::redact::Redactor::new([long.as_str()]);
        std::hint::black_box(r.scrub(&text));
    });
    if let Some(kib) = peak_rss_kib() {
        println!("peak resident memory: {:.1} MiB", kib as f64 / 1024.0);
    }
    let render = ["render", "production", "--version", "1.4.2"];
    measure_process("process: render production (38 objects)", &render, 30);
    measure_process("process: --help", &["--help"], 30);
    instructions("process: render production", &render);
    instructions("process: --help", &["--help"]);
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_fintechctl")).map(|m| m.len());
    if let Ok(bytes) = binary {
        println!(
            "binary: {:.1} MB ({})",
            bytes as f64 / 1e6,
            env!("CARGO_BIN_EXE_fintechctl")
        );
    }
}
