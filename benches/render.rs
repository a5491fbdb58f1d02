//! Render benchmark: how long resolving a release takes (environment load,
//! template render, schema validation, policy checks) and what it costs in
//! memory. Run with `cargo bench --bench render`; numbers go to stdout.
//! A measurement, not an assertion: these machines are shared and noisy.

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
    if let Some(kib) = peak_rss_kib() {
        println!("peak resident memory: {:.1} MiB", kib as f64 / 1024.0);
    }
}
