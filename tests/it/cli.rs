//! The command line as a user meets it: help, every input error with its
//! message and exit code 2, and nothing written on stdout when it fails.

use assert_cmd::Command;
use predicates::prelude::*;

fn fintechctl() -> Command {
    let mut cmd = Command::cargo_bin("fintechctl").unwrap();
    // Isolate from the developer's shell.
    for var in [
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "KAFKA_PASSWORD",
        "JWT_SECRET",
        "API_KEY",
        "FINTECHCTL_ENVIRONMENTS_DIR",
        "FINTECHCTL_TLS_CERT",
        "FINTECHCTL_TLS_KEY",
        "KUBECONFIG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A kubeconfig in `dir` whose one context points at `127.0.0.1:port`.
fn kubeconfig_for(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    kubeconfig
}

#[test]
fn help_lists_commands_and_exit_codes() {
    fintechctl()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("render"))
        .stdout(predicate::str::contains("completions"))
        .stdout(predicate::str::contains("--environments-dir"))
        .stdout(predicate::str::contains("2 invalid input"));
}

#[test]
fn render_help_shows_an_example() {
    fintechctl()
        .args(["render", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "fintechctl render production --version 1.4.2",
        ));
}

#[test]
fn unknown_environment_suggests_the_closest_and_exits_2() {
    fintechctl()
        .args(["render", "prodution", "--version", "1.4.2"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("unknown environment `prodution`"))
        .stderr(predicate::str::contains("did you mean `production`?"))
        .stderr(predicate::str::contains("local, production, staging"));
}

#[test]
fn production_refuses_a_missing_version() {
    fintechctl()
        .args(["render", "production"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--version"));
}

#[test]
fn production_refuses_latest() {
    fintechctl()
        .args(["render", "production", "--version", "latest"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`latest` is never deployed to production",
        ));
}

#[test]
fn invalid_tag_is_refused() {
    fintechctl()
        .args(["render", "staging", "--version", "1.4.2:evil"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a valid image tag"));
}

#[test]
fn malformed_environment_file_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = include_str!("../../environments/staging.yaml").replacen(
        "    port: 8000\n",
        "    prot: 8000\n",
        1,
    );
    let line = text.lines().position(|l| l.contains("prot:")).unwrap() + 1;
    let path = dir.path().join("staging.yaml");
    std::fs::write(&path, text).unwrap();
    fintechctl()
        .args(["render", "staging", "--environments-dir"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:{line}:5:",
            path.display()
        )))
        .stderr(predicate::str::contains("unknown field `prot`"));
}

#[test]
fn environments_dir_replaces_the_embedded_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("qa.yaml"),
        include_str!("../../environments/staging.yaml").replace("name: staging\n", "name: qa\n"),
    )
    .unwrap();
    fintechctl()
        .args(["render", "staging"])
        .env("FINTECHCTL_ENVIRONMENTS_DIR", dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("known environments: qa"));
}

#[test]
fn environment_name_must_match_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("qa.yaml"),
        include_str!("../../environments/staging.yaml"),
    )
    .unwrap();
    fintechctl()
        .args(["render", "qa", "--environments-dir"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`name`: is `staging` but the file defines environment `qa`",
        ));
}

#[test]
fn missing_env_file_is_named() {
    fintechctl()
        .args([
            "render",
            "staging",
            "--version",
            "1.4.2",
            "--env-file",
            "/nonexistent/.env.production",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/.env.production"));
}

#[test]
fn unknown_flag_is_a_usage_error_with_exit_2() {
    fintechctl()
        .args(["render", "staging", "--verison", "1.4.2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--version"));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        fintechctl()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("fintechctl"));
    }
}

/// Issue 9, item 13: flags that mean nothing for a command are not in its
/// help; cluster and confirmation flags live on the commands that use them.
#[test]
fn render_help_shows_no_cluster_or_confirmation_flags() {
    let out = fintechctl().args(["render", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--kubeconfig", "--context", "--yes", "--request-timeout"] {
        assert!(!help.contains(flag), "{flag} in render --help:\n{help}");
    }
    let out = fintechctl().args(["deploy", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--kubeconfig",
        "--context",
        "--yes",
        "--lock-ttl",
        "--request-timeout",
    ] {
        assert!(
            help.contains(flag),
            "{flag} missing from deploy --help:\n{help}"
        );
    }
    let out = fintechctl().args(["history", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(!help.contains("--yes"), "history changes nothing:\n{help}");
}

/// Issue 9, item 11: render warns about the TLS pair deploy will require,
/// and only about the secrets of the components it renders.
#[test]
fn render_warns_about_exactly_the_secrets_its_objects_need() {
    let out = fintechctl()
        .args(["render", "production", "--version", "1.4.2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("--tls-cert/--tls-key"), "{stderr}");
    assert!(stderr.contains("POSTGRES_PASSWORD"), "{stderr}");
    let out = fintechctl()
        .args([
            "render",
            "production",
            "--version",
            "1.4.2",
            "--only",
            "frontend",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("secrets not set"),
        "frontend holds no secret: {stderr}"
    );
}

/// Issue 9, item 9: an unreachable cluster names the server and says
/// "connection refused" in plain words; a missing default kubeconfig names
/// the file once and says how to point elsewhere.
#[test]
fn cluster_errors_are_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = kubeconfig_for(dir.path(), port);
    let out = fintechctl()
        .args(["history", "local", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("http://127.0.0.1:{port}"))
            && stderr.contains("connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("ServiceError"), "{stderr}");

    let out = fintechctl()
        .env("HOME", dir.path())
        .args(["history", "local"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let path = dir.path().join(".kube/config").display().to_string();
    assert!(stderr.contains(&format!("`{path}`")), "{stderr}");
    assert!(!stderr.contains("'\""), "no doubled quotes: {stderr}");
    assert!(
        stderr.contains("kind-fintech-ai") && stderr.contains("--kubeconfig"),
        "a hint names the context and the flag: {stderr}"
    );
}

/// Issue 9, item 9: durations under a second are not shown as "0s".
#[test]
fn sub_second_timeouts_are_accepted_and_named() {
    fintechctl()
        .args(["deploy", "local", "--timeout", "0s"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`0s`: must be longer than zero"));
}

#[test]
fn durations_out_of_their_flags_range_are_refused_naming_the_range() {
    for (args, expected) in [
        (
            vec!["health", "local", "--watch", "--interval", "1ns"],
            "'--interval <DURATION>': `1ns` is out of range: from 100ms to 1h",
        ),
        (
            vec!["verify", "local", "--bake", "999999999999h"],
            "'--bake <DURATION>': `999999999999h` is out of range: from 1s to 24h",
        ),
        (
            vec!["deploy", "local", "--timeout", "999999999999h"],
            "'--timeout <DURATION>': `999999999999h`: must be at most 366 days",
        ),
    ] {
        fintechctl()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expected));
    }
}

#[test]
fn a_bad_duration_says_what_a_duration_looks_like() {
    fintechctl()
        .args(["debug", "logs", "local", "--since", "abc"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--since: `abc` is not a duration: expected a number and a unit",
        ))
        .stderr(predicate::str::contains("expected number at").not());
}

/// Issue 16 item 2: a restore replaces data, so it asks in every
/// environment; without a terminal and without `--yes` it refuses (exit 4)
/// before it reads a store or reaches a cluster.
#[test]
fn restore_without_a_terminal_or_yes_is_refused_in_every_environment() {
    let dir = tempfile::tempdir().unwrap();
    for env in ["local", "staging", "production"] {
        let out = fintechctl()
            .args(["restore", env, "latest", "--only", "redis", "--to"])
            .arg(dir.path())
            .arg("--kubeconfig")
            .arg(dir.path().join("no-such-kubeconfig"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{env}: {stderr}");
        assert!(
            stderr.contains("replaces data") && stderr.contains("--yes"),
            "{env}: {stderr}"
        );
    }
    // A dry run changes nothing and asks nothing.
    let out = fintechctl()
        .args(["restore", "local", "latest", "--dry-run", "--to"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_ne!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 16 item 5: a TLS pair whose halves do not belong together is bad
/// input (exit 2) naming both files, before any cluster is reached.
#[test]
fn a_mismatched_tls_pair_is_refused_when_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let a = rcgen::generate_simple_self_signed(vec!["fintech-ai.example.com".into()]).unwrap();
    let b = rcgen::generate_simple_self_signed(vec!["fintech-ai.example.com".into()]).unwrap();
    std::fs::write(dir.path().join("tls.crt"), a.cert.pem()).unwrap();
    std::fs::write(dir.path().join("other.key"), b.signing_key.serialize_pem()).unwrap();
    let out = fintechctl()
        .args(["render", "production", "--version", "1.4.2", "--tls-cert"])
        .arg(dir.path().join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.path().join("other.key"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tls.crt")
            && stderr.contains("other.key")
            && stderr.contains("do not belong together"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// Issue 16 item 10 / issue 21 item 9: the exit-code contract holds for
/// backup and restore as for every command: a cluster out of reach is 3,
/// a well-formed backup id that names no backup is 2.
#[test]
fn backup_and_restore_keep_the_exit_code_contract() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = kubeconfig_for(dir.path(), port);
    let store = dir.path().join("store");
    let out = fintechctl()
        .args(["backup", "local", "--to"])
        .arg(&store)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "unreachable is 3: {stderr}");
    assert!(stderr.contains("connection refused"), "{stderr}");

    let out = fintechctl()
        .args([
            "restore",
            "local",
            "20261129T203320Z-4f9a1c",
            "--dry-run",
            "--to",
        ])
        .arg(&store)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "an unknown id is 2: {stderr}");
    assert!(stderr.contains("backup list local"), "{stderr}");
}

/// Issue 21 item 9: `--timeout` bounds connecting too: an API server that
/// accepts connections and never answers ends the command at the timeout,
/// not at the request deadline (10 s) and its retries.
#[test]
fn timeout_bounds_connecting_to_a_silent_api_server() {
    let dir = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let kubeconfig = kubeconfig_for(dir.path(), port);
    let out = fintechctl()
        .args(["backup", "local", "--timeout", "1s", "--to"])
        .arg(dir.path().join("store"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    drop(silent);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("not connected within --timeout 1s"),
        "{stderr}"
    );
}

/// Issue 17, item 3: every command and subcommand shows examples in its
/// `--help` (`backup list|verify|prune` had none).
#[test]
fn every_subcommand_has_examples() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            let examples = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            if !examples.contains("Example") || !examples.contains(&format!("fintechctl{path}")) {
                missing.push(path.clone());
            }
            walk(sub, &path, missing);
        }
    }
    let mut missing = Vec::new();
    walk(&fintechctl::cli::command(), "", &mut missing);
    assert!(missing.is_empty(), "no examples in --help of: {missing:?}");
    for sub in ["list", "verify", "prune"] {
        fintechctl()
            .args(["backup", sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!(
                "fintechctl backup {sub} "
            )));
    }
}

/// Issue 17, item 3: the flags every command shares are listed apart from
/// the command's own.
#[test]
fn global_options_are_grouped_apart() {
    let out = fintechctl().args(["verify", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let (own, global) = help
        .split_once("Global options:")
        .unwrap_or_else(|| panic!("no `Global options:` heading:\n{help}"));
    // The option lines (`-v, --verbose…`, `--color <WHEN>`), not the help texts.
    let flags = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with('-'))
            .map(String::from)
            .collect()
    };
    let has =
        |lines: &[String], flag: &str| lines.iter().any(|l| l.split([' ', ',']).any(|w| w == flag));
    let (own, global) = (flags(own), flags(global));
    for flag in ["--environments-dir", "--verbose...", "--quiet", "--color"] {
        assert!(
            has(&global, flag),
            "{flag} not under Global options:\n{help}"
        );
        assert!(
            !has(&own, flag),
            "{flag} among verify's own options:\n{help}"
        );
    }
    for flag in ["--strict", "--only", "--kubeconfig", "--output"] {
        assert!(
            has(&own, flag),
            "{flag} not among verify's own options:\n{help}"
        );
    }
}

/// Issue 17, item 3: `-o` says what it prints for this command, and is
/// absent where it means nothing.
#[test]
fn output_flag_says_what_it_does_and_is_absent_where_meaningless() {
    let help = |args: &[&str]| {
        let out = fintechctl().args(args).arg("--help").output().unwrap();
        // One line: help texts wrap at the terminal's width.
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let render = help(&["render"]);
    assert!(render.contains("multi-document YAML"), "{render}");
    let verify = help(&["verify"]);
    assert!(verify.contains("every check with its status"), "{verify}");
    assert!(!verify.contains("for `render`"), "{verify}");
    let list = help(&["backup", "list"]);
    assert!(list.contains("a table of the backups"), "{list}");
    for args in [
        &["completions"][..],
        &["debug", "shell"][..],
        &["debug", "port-forward"][..],
    ] {
        let text = help(args);
        assert!(
            !text.contains("--output") && !text.contains(" -o,"),
            "-o in {args:?} --help:\n{text}"
        );
    }
    fintechctl()
        .args(["completions", "bash", "-o", "json"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("unexpected argument '-o'"));
}

/// Issue 17, item 3: `--lock-ttl` takes a duration with a unit like every
/// other duration flag; a bare number stays seconds (scripts and
/// `FINTECHCTL_LOCK_TTL=30` keep working); fractions of a second are refused.
#[test]
fn lock_ttl_takes_a_duration() {
    use clap::Parser;
    use fintechctl::cli::{Cli, Command};
    use std::time::Duration;
    let ttl = |value: &str| -> Result<Duration, String> {
        let cli = Cli::try_parse_from(["fintechctl", "deploy", "staging", "--lock-ttl", value])
            .map_err(|e| e.to_string())?;
        match cli.command {
            Command::Deploy(args) => Ok(args.change.lock_ttl),
            _ => unreachable!(),
        }
    };
    assert_eq!(ttl("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(ttl("45s"), Ok(Duration::from_secs(45)));
    assert_eq!(ttl("45"), Ok(Duration::from_secs(45)));
    for bad in ["1500ms", "0s", "25h", "abc"] {
        let err = ttl(bad).unwrap_err();
        assert!(err.contains("--lock-ttl <DURATION>"), "{bad}: {err}");
    }
    assert!(ttl("1500ms").unwrap_err().contains("whole seconds"));
    let out = fintechctl().args(["deploy", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--lock-ttl <DURATION>"), "{help}");
    fintechctl()
        .env("FINTECHCTL_LOCK_TTL", "500ms")
        .args(["deploy", "local"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("whole seconds"));
}

/// Issue 17, item 3: `health --watch ENV` is understood (`--watch` took an
/// optional interval and ate the environment); the interval is
/// `--interval`, and an interval given to `--watch` says so.
#[test]
fn health_watch_takes_no_value() {
    use clap::Parser;
    use fintechctl::cli::{Cli, Command};
    let cli = Cli::try_parse_from(["fintechctl", "health", "--watch", "local"]).unwrap();
    let Command::Health(args) = cli.command else {
        unreachable!()
    };
    assert!(args.watch);
    assert_eq!(args.environment, "local");
    assert_eq!(args.interval, std::time::Duration::from_secs(5));
    for args in [
        &["health", "local", "--watch", "2s"][..],
        &["health", "--watch", "2s", "local"][..],
    ] {
        fintechctl()
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(
                "fintechctl health local --watch --interval 2s",
            ));
    }
    fintechctl()
        .args(["health", "local", "--interval", "2s"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--watch"));
}

/// Issue 17, item 3: "did you mean" for check ids, backup parts and
/// components, as for environments.
#[test]
fn unknown_ids_suggest_the_closest() {
    for (args, expected) in [
        (
            &["verify", "local", "--skip", "htpp"][..],
            "unknown check `htpp` (did you mean `http`?)",
        ),
        (
            &["verify", "local", "--only", "polcy"][..],
            "unknown check `polcy` (did you mean `policy`?)",
        ),
        (
            &["backup", "local", "--only", "postgress"][..],
            "unknown part `postgress` (did you mean `postgres`?)",
        ),
        (
            &["restore", "local", "latest", "--only", "reddis"][..],
            "unknown part `reddis` (did you mean `redis`?)",
        ),
        (
            &["debug", "local", "ml-servce"][..],
            "unknown component `ml-servce` (did you mean `ml-service`?)",
        ),
        (
            &["debug", "logs", "local", "api-gatway"][..],
            "unknown component `api-gatway` (did you mean `api-gateway`?)",
        ),
    ] {
        fintechctl()
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(expected));
    }
}

/// A FIFO nobody writes to: opening it for reading would wait forever.
fn fifo(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    path
}

#[test]
fn a_fifo_given_for_any_file_is_refused_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path(), "pipe");
    let pipe_s = pipe.to_str().unwrap().to_string();
    let envs = dir.path().join("environments");
    std::fs::create_dir(&envs).unwrap();
    fifo(&envs, "local.yaml");
    let key = dir.path().join("tls.key");
    std::fs::write(&key, "not read").unwrap();
    let key_s = key.to_str().unwrap().to_string();
    let envs_s = envs.to_str().unwrap().to_string();
    let cases: Vec<(&str, Vec<&str>, Option<&str>)> = vec![
        (
            "--env-file",
            vec![
                "render",
                "staging",
                "--version",
                "1.4.2",
                "--env-file",
                &pipe_s,
            ],
            None,
        ),
        (
            "--tls-cert",
            vec![
                "render",
                "local",
                "--tls-cert",
                &pipe_s,
                "--tls-key",
                &key_s,
            ],
            None,
        ),
        (
            "--kubeconfig",
            vec!["verify", "local", "--kubeconfig", &pipe_s],
            None,
        ),
        ("KUBECONFIG", vec!["verify", "local"], Some(&pipe_s)),
        (
            "--identity",
            vec![
                "restore",
                "local",
                "20261129T203320Z-4f9a1c",
                "--identity",
                &pipe_s,
            ],
            None,
        ),
        (
            "--environments-dir",
            vec!["render", "local", "--environments-dir", &envs_s],
            None,
        ),
    ];
    for (flag, args, kubeconfig) in cases {
        let mut cmd = fintechctl();
        cmd.args(&args).timeout(std::time::Duration::from_secs(20));
        if let Some(k) = kubeconfig {
            cmd.env("KUBECONFIG", k);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains("FIFO (named pipe), not a regular file"),
            "{flag}: {stderr}"
        );
        let named = if flag == "--environments-dir" {
            "local.yaml"
        } else {
            "pipe"
        };
        assert!(stderr.contains(named), "{flag} names the file: {stderr}");
        assert!(out.stdout.is_empty(), "{flag}: nothing on stdout");
    }
}
