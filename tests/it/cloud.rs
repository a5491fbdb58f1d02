//! The cloud-CLI credential step (`az aks get-credentials`, `aws eks
//! update-kubeconfig`, `gcloud container clusters get-credentials`) as the
//! binary runs it when neither `--kubeconfig` nor `--context` is given:
//! fake CLIs on PATH check the exact argument lists, a missing or failing CLI
//! is exit 3 with the CLI's own words, and the kubeconfig lands in
//! fintechctl's cache, never in `~/.kube/config`. Then the real `aws` CLI
//! against moto's EKS API.

use crate::common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{SECRETS, run, text};
use fintechctl::environment::{Cluster, Provider};
use kube_sim::{KubeSim, SimConfig};

const STAGING: &str = include_str!("../../environments/staging.yaml");
const AZURE_CLUSTER: &str = "cluster:
  provider: azure
  name: fintech-ai-staging
  resourceGroup: fintech-ai-staging-rg
";

#[derive(Clone, Copy, Debug)]
enum Cli {
    Az,
    Aws,
    Gcloud,
}

impl Cli {
    const ALL: [Cli; 3] = [Cli::Az, Cli::Aws, Cli::Gcloud];

    fn name(self) -> &'static str {
        match self {
            Cli::Az => "az",
            Cli::Aws => "aws",
            Cli::Gcloud => "gcloud",
        }
    }

    /// The `cluster:` block of the staging variant for this provider.
    fn cluster_yaml(self) -> &'static str {
        match self {
            Cli::Az => AZURE_CLUSTER,
            Cli::Aws => {
                "cluster:
  provider: aws
  name: fintech-ai-staging
  region: eu-west-1
"
            }
            Cli::Gcloud => {
                "cluster:
  provider: gcp
  name: fintech-ai-staging
  project: fintech-ai-staging-proj
  location: europe-west4
"
            }
        }
    }

    /// The exact argv fintechctl must hand the CLI.
    fn expected_args(self, kubeconfig: &Path) -> Vec<String> {
        let path = kubeconfig.display().to_string();
        let args: Vec<&str> = match self {
            Cli::Az => vec![
                "aks",
                "get-credentials",
                "--resource-group",
                "fintech-ai-staging-rg",
                "--name",
                "fintech-ai-staging",
                "--file",
                &path,
                "--overwrite-existing",
                "--only-show-errors",
            ],
            Cli::Aws => vec![
                "eks",
                "update-kubeconfig",
                "--name",
                "fintech-ai-staging",
                "--region",
                "eu-west-1",
                "--kubeconfig",
                &path,
            ],
            Cli::Gcloud => vec![
                "container",
                "clusters",
                "get-credentials",
                "fintech-ai-staging",
                "--location",
                "europe-west4",
                "--project",
                "fintech-ai-staging-proj",
                "--quiet",
            ],
        };
        args.into_iter().map(String::from).collect()
    }

    /// The flag naming the output file; gcloud writes into `$KUBECONFIG`.
    fn output_flag(self) -> Option<&'static str> {
        match self {
            Cli::Az => Some("--file"),
            Cli::Aws => Some("--kubeconfig"),
            Cli::Gcloud => None,
        }
    }
}

/// A scratch world: a PATH holding only the fake CLIs, a HOME, a cache dir
/// and an environments dir with this provider's staging variant.
struct World {
    dir: tempfile::TempDir,
    cli: Cli,
}

impl World {
    fn new(cli: Cli) -> World {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["bin", "home", "envs"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        assert!(STAGING.contains(AZURE_CLUSTER), "staging.yaml changed");
        let staging = STAGING.replacen(AZURE_CLUSTER, cli.cluster_yaml(), 1);
        std::fs::write(dir.path().join("envs/staging.yaml"), staging).unwrap();
        World { dir, cli }
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }
    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }
    fn record(&self) -> PathBuf {
        self.dir.path().join("record")
    }
    /// Where fintechctl keeps staging's kubeconfig.
    fn kubeconfig(&self) -> PathBuf {
        self.cache().join("kubeconfig-staging")
    }

    /// Installs `bin/<cli>` as a `/bin/sh` script with `body`. The PATH holds
    /// nothing else, so the body uses shell builtins and absolute paths only.
    fn install(&self, body: &str) {
        let path = self.bin().join(self.cli.name());
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A CLI that records its argv and `$KUBECONFIG`, then writes `kubeconfig`
    /// where this CLI would write credentials.
    fn install_succeeding(&self, kubeconfig: &str) {
        let source = self.dir.path().join("sim-kubeconfig");
        std::fs::write(&source, kubeconfig).unwrap();
        let out = match self.cli.output_flag() {
            Some(flag) => format!(
                "out=\nprev=\nfor a in \"$@\"; do\n  if [ \"$prev\" = {flag} ]; then out=\"$a\"; fi\n  prev=\"$a\"\ndone\n"
            ),
            None => "out=\"$KUBECONFIG\"\n".to_string(),
        };
        self.install(&format!(
            "rec='{rec}'\n: > \"$rec\"\nfor a in \"$@\"; do printf 'arg=%s\\n' \"$a\" >> \"$rec\"; done\nprintf 'KUBECONFIG=%s\\n' \"$KUBECONFIG\" >> \"$rec\"\n{out}[ -n \"$out\" ] || {{ echo 'no output path' >&2; exit 9; }}\n/bin/cp '{source}' \"$out\"\necho \"CLI-STDOUT: merged into $out\"\n",
            rec = self.record().display(),
            source = source.display(),
        ));
    }

    /// The argv and `$KUBECONFIG` the fake CLI recorded.
    fn recorded(&self) -> (Vec<String>, Option<String>) {
        let text = std::fs::read_to_string(self.record()).expect("the fake CLI ran");
        let mut args = Vec::new();
        let mut kubeconfig = None;
        for line in text.lines() {
            if let Some(a) = line.strip_prefix("arg=") {
                args.push(a.to_string());
            } else if let Some(k) = line.strip_prefix("KUBECONFIG=") {
                kubeconfig = Some(k.to_string());
            }
        }
        (args, kubeconfig)
    }

    /// `fintechctl diff staging --version 1.4.2` with no access flags, so the
    /// environment's cluster entry (and thus the cloud CLI) is used.
    fn diff(&self) -> Command {
        let mut cmd = Command::cargo_bin("fintechctl").unwrap();
        cmd.env_clear();
        for (var, value) in SECRETS {
            cmd.env(var, value);
        }
        cmd.env("PATH", self.bin())
            .env("HOME", self.home())
            .env("FINTECHCTL_CACHE_DIR", self.cache())
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .current_dir(self.dir.path());
        cmd.args([
            "diff",
            "staging",
            "--version",
            "1.4.2",
            "--environments-dir",
        ])
        .arg(self.dir.path().join("envs"));
        cmd
    }

    fn assert_no_user_kubeconfig(&self) {
        assert!(
            !self.home().join(".kube").exists(),
            "something wrote into ~/.kube"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_cli_is_exit_3_with_how_to_install_and_log_in() {
    for cli in Cli::ALL {
        let w = World::new(cli);
        let out = run(w.diff()).await;
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{cli:?}: {stderr}");
        assert_eq!(stdout, "", "{cli:?}");
        assert!(
            stderr.contains(&format!("`{}` is not installed or not on PATH", cli.name())),
            "{cli:?}: {stderr}"
        );
        let login = match cli {
            Cli::Az => "az login",
            Cli::Aws => "aws configure",
            Cli::Gcloud => "gcloud auth login",
        };
        assert!(stderr.contains(login), "{cli:?}: {stderr}");
        w.assert_no_user_kubeconfig();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_cli_is_exit_3_with_its_message_and_the_command() {
    let w = World::new(Cli::Az);
    w.install(
        "printf 'some progress on stdout\\n'\n\
         echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
    );
    let out = run(w.diff()).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("ERROR: Please run 'az login' to setup account."),
        "{stderr}"
    );
    let command = format!(
        "az aks get-credentials --resource-group fintech-ai-staging-rg --name fintech-ai-staging --file {}",
        w.kubeconfig().display()
    );
    assert!(stderr.contains(&command), "{stderr}");
    assert!(stderr.contains("exit status: 1"), "{stderr}");
    assert!(!stderr.contains("some progress"), "{stderr}");
    w.assert_no_user_kubeconfig();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_cli_of_each_provider_is_named_with_its_exit_code() {
    for cli in [Cli::Aws, Cli::Gcloud] {
        let w = World::new(cli);
        w.install("echo 'An error occurred (ExpiredToken): the token has expired' >&2\nexit 255\n");
        let out = run(w.diff()).await;
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{cli:?}: {stderr}");
        assert!(stderr.contains("ExpiredToken"), "{cli:?}: {stderr}");
        let command = format!(
            "{} {}",
            cli.name(),
            cli.expected_args(&w.kubeconfig()).join(" ")
        );
        assert!(stderr.contains(&command), "{cli:?}: {stderr}");
        assert!(stderr.contains("exit status: 255"), "{cli:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_cli_error_shows_its_last_lines() {
    let w = World::new(Cli::Az);
    w.install(
        "i=1\nwhile [ $i -le 20 ]; do printf 'az-line-%02d\\n\\n' $i >&2; i=$((i+1)); done\nexit 2\n",
    );
    let out = run(w.diff()).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    for i in 13..=20 {
        assert!(stderr.contains(&format!("az-line-{i:02}")), "{stderr}");
    }
    for i in 1..=12 {
        assert!(!stderr.contains(&format!("az-line-{i:02}")), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_that_succeeds_without_writing_is_exit_3() {
    let w = World::new(Cli::Gcloud);
    w.install("echo 'Fetching cluster endpoint and auth data.'\nexit 0\n");
    let out = run(w.diff()).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(&format!(
            "succeeded but wrote no kubeconfig at `{}`",
            w.kubeconfig().display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("gcloud container clusters get-credentials fintech-ai-staging"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_flag_or_env_skips_the_cloud_cli() {
    let sim = KubeSim::start(SimConfig::default())
        .await
        .expect("kube-sim starts");
    let w = World::new(Cli::Az);
    w.install_succeeding(&sim.kubeconfig_yaml());
    let own = w.dir.path().join("own-kubeconfig");
    sim.write_kubeconfig(&own).unwrap();
    let mut with_env = w.diff();
    with_env.env("KUBECONFIG", &own);
    let mut with_flag = w.diff();
    with_flag.arg("--kubeconfig").arg(&own);
    for (how, cmd) in [("KUBECONFIG", with_env), ("--kubeconfig", with_flag)] {
        let out = run(cmd).await;
        let (stdout, stderr) = text(&out);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{how}: {stderr}");
        assert!(stdout.contains("Deployment/api-gateway"), "{how}: {stdout}");
        assert!(!w.record().exists(), "{how}: the cloud CLI ran");
        assert!(!w.kubeconfig().exists(), "{how}: a cached kubeconfig");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cli_gets_its_exact_arguments_and_writes_into_our_cache() {
    let sim = KubeSim::start(SimConfig::default())
        .await
        .expect("kube-sim starts");
    for cli in Cli::ALL {
        let w = World::new(cli);
        w.install_succeeding(&sim.kubeconfig_yaml());
        let out = run(w.diff()).await;
        let (stdout, stderr) = text(&out);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{cli:?}: exit {code:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        let (args, kubeconfig_env) = w.recorded();
        assert_eq!(args, cli.expected_args(&w.kubeconfig()), "{cli:?}");
        assert_eq!(
            kubeconfig_env.as_deref(),
            Some(w.kubeconfig().display().to_string().as_str()),
            "{cli:?}: $KUBECONFIG for the CLI"
        );
        assert_eq!(
            std::fs::read_to_string(w.kubeconfig()).unwrap(),
            sim.kubeconfig_yaml(),
            "{cli:?}"
        );
        assert!(!stdout.contains("CLI-STDOUT"), "{cli:?}: {stdout}");
        // It connected to kube-sim: an empty cluster means everything is new.
        assert!(
            stdout.contains("Deployment/api-gateway"),
            "{cli:?}:\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        w.assert_no_user_kubeconfig();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cache_dir_the_kubeconfig_goes_under_xdg_cache_home() {
    let sim = KubeSim::start(SimConfig::default())
        .await
        .expect("kube-sim starts");
    let w = World::new(Cli::Az);
    w.install_succeeding(&sim.kubeconfig_yaml());
    let xdg = w.dir.path().join("xdg");
    let mut cmd = w.diff();
    cmd.env_remove("FINTECHCTL_CACHE_DIR")
        .env("XDG_CACHE_HOME", &xdg);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    let expected = xdg.join("fintechctl").join("kubeconfig-staging");
    let (args, _) = w.recorded();
    assert_eq!(args, Cli::Az.expected_args(&expected));
    assert!(expected.is_file());
    w.assert_no_user_kubeconfig();
}

// ---------------------------------------------------------------------------
// The real `aws` CLI against moto's EKS API. Needs `moto_server` (pip
// `moto[server]`, installed by .ci/run) and the AWS CLI (v1 ≥ 1.29 or v2 ≥
// 2.13, which honour `AWS_ENDPOINT_URL`); without either the test fails and
// says so.

/// A `moto_server` on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Moto {
        // `moto_server`, else `python3 -m moto.server` (a `pip install --user`
        // leaves the script off PATH).
        let spawn = |program: &str, pre: &[&str]| {
            std::process::Command::new(program)
                .args(pre)
                .args(["-H", "127.0.0.1", "-p", "0"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        };
        let mut child = match spawn("moto_server", &[]) {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                spawn("python3", &["-m", "moto.server"]).unwrap_or_else(|e| {
                    panic!(
                        "cannot start moto ({e}); install it with `pip install 'moto[server]'` (.ci/run does)"
                    )
                })
            }
            Err(e) => panic!("cannot start `moto_server`: {e}"),
        };
        // Werkzeug prints "Running on http://127.0.0.1:PORT" once it listens.
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(at) = line.find("http://127.0.0.1:") {
                        let url = line[at..].split_whitespace().next().unwrap().to_string();
                        return Moto { child, url };
                    }
                    seen.push(line);
                }
                Err(_) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "moto did not start listening (is `moto[server]` installed? `pip install 'moto[server]'`):\n{}",
            seen.join("\n")
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_eks_update_kubeconfig_against_moto() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let home_s = home.display().to_string();
    let config = dir.path().join("aws-config").display().to_string();
    let credentials = dir.path().join("aws-credentials").display().to_string();
    let env: Vec<(&str, &str)> = vec![
        ("AWS_ENDPOINT_URL", &moto.url),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_CONFIG_FILE", &config),
        ("AWS_SHARED_CREDENTIALS_FILE", &credentials),
        ("HOME", &home_s),
    ];

    let created = tokio::process::Command::new("aws")
        .args([
            "eks",
            "create-cluster",
            "--name",
            "fintech-ai-prod",
            "--role-arn",
            "arn:aws:iam::123456789012:role/eks",
            "--resources-vpc-config",
            "subnetIds=subnet-1",
            "--output",
            "json",
        ])
        .envs(env.iter().copied())
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot run the AWS CLI `aws` ({e}); install it (pip install awscli)")
        });
    assert!(
        created.status.success(),
        "aws eks create-cluster against moto failed:\n{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let endpoint = created["cluster"]["endpoint"].as_str().unwrap().to_string();
    let arn = created["cluster"]["arn"].as_str().unwrap().to_string();
    assert_eq!(
        arn,
        "arn:aws:eks:eu-west-1:123456789012:cluster/fintech-ai-prod"
    );

    let cluster = Cluster {
        provider: Provider::Aws,
        name: Some("fintech-ai-prod".into()),
        resource_group: None,
        subscription: None,
        region: Some("eu-west-1".into()),
        project: None,
        location: None,
        context: None,
        uid: None,
    };
    // A directory that does not exist yet: fetch_credentials creates it.
    let path = dir.path().join("cache").join("kubeconfig-production");
    fintechctl::cloud::fetch_credentials_with_env(&cluster, &path, &env)
        .await
        .expect("aws eks update-kubeconfig against moto");

    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("a valid kubeconfig");
    assert_eq!(kubeconfig.current_context.as_deref(), Some(arn.as_str()));
    let named = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == arn)
        .expect("a cluster entry named by the ARN");
    let server = named.cluster.as_ref().and_then(|c| c.server.as_deref());
    assert_eq!(server, Some(endpoint.as_str()));
    let user = kubeconfig
        .auth_infos
        .iter()
        .find(|u| u.name == arn)
        .and_then(|u| u.auth_info.as_ref())
        .expect("a user entry named by the ARN");
    let exec = user.exec.as_ref().expect("an exec credential plugin");
    assert_eq!(exec.command.as_deref(), Some("aws"));
    let exec_args = exec.args.clone().unwrap_or_default();
    assert!(
        exec_args
            .windows(2)
            .any(|w| w == ["--cluster-name", "fintech-ai-prod"]),
        "{exec_args:?}"
    );
    assert!(!home.join(".kube").exists(), "aws wrote into ~/.kube");

    // A cluster moto does not know: the CLI's error, with the command.
    let missing = Cluster {
        name: Some("no-such-cluster".into()),
        ..cluster
    };
    let err = fintechctl::cloud::fetch_credentials_with_env(
        &missing,
        &dir.path().join("cache").join("kubeconfig-missing"),
        &env,
    )
    .await
    .expect_err("an unknown cluster fails");
    let msg = err.to_string();
    assert!(
        msg.contains("aws eks update-kubeconfig --name no-such-cluster --region eu-west-1"),
        "{msg}"
    );
    assert!(msg.contains("ResourceNotFoundException"), "{msg}");
}
