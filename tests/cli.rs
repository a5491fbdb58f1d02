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
