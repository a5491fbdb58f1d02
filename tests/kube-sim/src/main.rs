//! `kube-sim --port N --kubeconfig PATH [--behaviors FILE] [--latency-ms N] [--time-scale F]`
//! `kube-sim playground [--port N]` (see playground.rs)

mod playground;

use kube_sim::{Behaviors, KubeSim, SimConfig};
use std::io::Write;
use std::time::Duration;

fn usage() -> ! {
    eprintln!(
        "usage: kube-sim --port N --kubeconfig PATH [--behaviors FILE] [--latency-ms N] [--time-scale F] [--no-vpa]"
    );
    std::process::exit(2);
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("playground") {
        return playground::main(std::env::args().skip(2).collect()).await;
    }
    let mut cfg = SimConfig::default();
    let mut kubeconfig: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut val = || {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| usage())
        };
        match flag.as_str() {
            "--port" => cfg.port = val().parse().unwrap_or_else(|_| usage()),
            "--kubeconfig" => kubeconfig = Some(val()),
            "--behaviors" | "--behaviours" => {
                let path = val();
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
                cfg.behaviors = Behaviors::from_yaml(&text)
                    .map_err(|e| anyhow::anyhow!("parsing {path}: {e}"))?;
            }
            "--latency-ms" => {
                cfg.latency = Some(Duration::from_millis(
                    val().parse().unwrap_or_else(|_| usage()),
                ))
            }
            "--time-scale" => cfg.time_scale = val().parse().unwrap_or_else(|_| usage()),
            "--no-vpa" => cfg.vpa_installed = false,
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    // handlers first: a SIGTERM right after the ready line must stop it cleanly
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let sim = KubeSim::start(cfg).await?;
    if let Some(p) = kubeconfig {
        sim.write_kubeconfig(std::path::Path::new(&p))?;
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "kube-sim listening on {}", sim.url())?;
        out.flush()?;
    }
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    sim.shutdown().await;
    Ok(())
}
