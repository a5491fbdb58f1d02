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
    let text = include_str!("../environments/staging.yaml").replacen(
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
        include_str!("../environments/staging.yaml").replace("name: staging\n", "name: qa\n"),
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
        include_str!("../environments/staging.yaml"),
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
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
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
            vec!["health", "local", "--watch", "1ns"],
            "'--watch [<INTERVAL>]': `1ns` is out of range: from 100ms to 1h",
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
