//! Who runs fintechctl and from where: the login name, the host, the CI
//! job. Worked out once, with the other settings, from the process
//! environment; the deploy lock and the release records carry it.

use serde::{Deserialize, Serialize};

/// Who runs this process, for the lock's holder and the release records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub ci: Option<CiInfo>,
    /// The command line as typed, without the program name
    /// (`deploy production --version 1.4.2`).
    pub command: String,
}

impl Identity {
    /// This process, read through `lookup` (the process environment).
    pub fn detect(lookup: impl Fn(&str) -> Option<String>, command: String) -> Self {
        Self {
            user: current_user(&lookup),
            host: current_host(),
            pid: std::process::id(),
            ci: CiInfo::detect(&lookup),
            command,
        }
    }

    /// A fixed identity, for tests.
    pub fn fixed(user: &str, host: &str, command: &str) -> Self {
        Self {
            user: user.into(),
            host: host.into(),
            pid: std::process::id(),
            ci: None,
            command: command.into(),
        }
    }
}

/// The CI job that ran a deploy, from the variables CI systems set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiInfo {
    /// `github-actions`, `gitlab-ci`, `jenkins`, ... or `ci` when only `CI` is set.
    pub provider: String,
    /// The job or run id, as the provider names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// A link to the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl CiInfo {
    /// The CI job this process runs in, read through `lookup` (the process
    /// environment in production, a map in tests). Provider-specific
    /// variables are recognised even without `CI` (Jenkins and Azure
    /// Pipelines do not set it); otherwise a set `CI` makes a generic entry.
    pub fn detect(lookup: impl Fn(&str) -> Option<String>) -> Option<CiInfo> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let is_true = |name: &str| {
            get(name).is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "0"))
        };
        let info = |provider: &str, job: Option<String>, url: Option<String>| CiInfo {
            provider: provider.to_string(),
            job,
            url,
        };
        if is_true("GITHUB_ACTIONS") {
            let run = get("GITHUB_RUN_ID");
            let url = match (get("GITHUB_SERVER_URL"), get("GITHUB_REPOSITORY"), &run) {
                (Some(server), Some(repo), Some(run)) => {
                    Some(format!("{server}/{repo}/actions/runs/{run}"))
                }
                _ => None,
            };
            return Some(info("github-actions", run, url));
        }
        if is_true("GITLAB_CI") {
            return Some(info("gitlab-ci", get("CI_JOB_ID"), get("CI_JOB_URL")));
        }
        if is_true("CIRCLECI") {
            return Some(info(
                "circleci",
                get("CIRCLE_BUILD_NUM"),
                get("CIRCLE_BUILD_URL"),
            ));
        }
        if is_true("BUILDKITE") {
            return Some(info(
                "buildkite",
                get("BUILDKITE_BUILD_ID"),
                get("BUILDKITE_BUILD_URL"),
            ));
        }
        if is_true("TF_BUILD") {
            let build = get("BUILD_BUILDID");
            let url = match (
                get("SYSTEM_COLLECTIONURI"),
                get("SYSTEM_TEAMPROJECT"),
                &build,
            ) {
                (Some(collection), Some(project), Some(build)) => Some(format!(
                    "{}/{project}/_build/results?buildId={build}",
                    collection.trim_end_matches('/')
                )),
                _ => None,
            };
            return Some(info("azure-pipelines", build, url));
        }
        if get("JENKINS_URL").is_some() {
            return Some(info(
                "jenkins",
                get("BUILD_ID").or_else(|| get("BUILD_NUMBER")),
                get("BUILD_URL"),
            ));
        }
        if is_true("CI") {
            return Some(info(
                "ci",
                get("CI_JOB_ID").or_else(|| get("BUILD_ID")),
                get("CI_JOB_URL").or_else(|| get("BUILD_URL")),
            ));
        }
        None
    }
}

/// Who runs this process: the login name (`USER`, `USERNAME`, `LOGNAME`),
/// `unknown` when none is set.
pub fn current_user(lookup: impl Fn(&str) -> Option<String>) -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|name| lookup(name).filter(|v| !v.is_empty()))
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".to_string())
}

/// The login name of this process's uid, for CI runners and containers
/// that set no `USER` (Linux: `/proc/self/status` and `/etc/passwd`).
fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    name_for_uid(&passwd, &uid).or(Some(format!("uid {uid}")))
}

fn name_for_uid(passwd: &str, uid: &str) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let uid_field = fields.nth(1)?;
        (uid_field == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// This machine's host name, `unknown` when it cannot be read.
pub fn current_host() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_name_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nci:x:1001:1001::/home/ci:/bin/sh\n";
        assert_eq!(name_for_uid(passwd, "1001").as_deref(), Some("ci"));
        assert_eq!(name_for_uid(passwd, "0").as_deref(), Some("root"));
        assert_eq!(name_for_uid(passwd, "42"), None);
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn user_comes_from_the_login_variables() {
        assert_eq!(current_user(env(&[("LOGNAME", "ops")])), "ops");
        assert_eq!(
            current_user(env(&[("USER", "alice"), ("LOGNAME", "ops")])),
            "alice"
        );
        // Without them: the login name of the process's uid, from /etc/passwd.
        let fallback = user_from_passwd().unwrap_or_else(|| "unknown".into());
        assert_eq!(current_user(env(&[])), fallback);
        assert_ne!(fallback, "", "never an empty name");
        assert!(!current_host().is_empty());
    }
}
