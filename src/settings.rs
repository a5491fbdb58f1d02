//! Settings: everything a command needs, worked out once — from the command
//! line, the process environment and the environment file — before the
//! runtime starts and before anything touches a cluster (ripgrep's
//! lowargs → hiargs). A typo or a missing value fails here, at second zero,
//! with exit 2; nothing below this module reads a flag or an environment
//! variable again: domain code gets what it needs as values.
//!
//! Each command has one settings struct; [`resolve`] builds it.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{
    ChangeArgs, Cli, ClusterArgs, Command, DeployArgs, GlobalArgs, HealthArgs, ReleaseArgs,
    VerifyArgs,
};
use crate::cluster::connect::ClusterAccess;
use crate::environment::{Environment, EnvironmentSource};
use crate::exit::Failure;
use crate::identity::Identity;
use crate::redact::Redactor;
use crate::release::{Release, ReleaseRequest};
use crate::render::{Manifest, Phase};
use crate::secrets::{SecretValues, TlsFiles};
use crate::ui::{ColorChoice, OutputFormat, Verbosity};

/// The process environment and command line, read once.
#[derive(Debug, Clone, Default)]
pub struct ProcessEnv {
    vars: std::collections::BTreeMap<String, String>,
    /// The arguments after the program name.
    pub args: Vec<String>,
    /// Whether stdin is a terminal (a confirmation can be asked).
    pub interactive: bool,
}

impl ProcessEnv {
    /// This process's environment, arguments and terminal.
    pub fn capture() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            args: std::env::args().skip(1).collect(),
            interactive: std::io::stdin().is_terminal(),
        }
    }

    /// A fixed environment, for tests.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            args: Vec::new(),
            interactive: false,
        }
    }

    /// A variable's value; an empty value counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// The variables whose names start with one of `prefixes` (the cloud
    /// SDKs' `AWS_*`, `AZURE_*`, `GOOGLE_*`), for the backup store.
    pub fn with_prefixes(&self, prefixes: &[&str]) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter(|(k, v)| !v.is_empty() && prefixes.iter().any(|p| k.starts_with(p)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| self.get(name)
    }
}

/// What every command shares: how output looks.
#[derive(Debug, Clone)]
pub struct Common {
    pub output: OutputFormat,
    pub verbosity: Verbosity,
    pub color: ColorChoice,
    /// Secret values known at start (to scrub from all output).
    pub redactor: Redactor,
}

/// One command's settings.
#[derive(Debug)]
pub enum Settings {
    Render(RenderSettings),
    Deploy(Box<DeploySettings>),
    Migrate(Box<MigrateSettings>),
    History(HistorySettings),
    Rollback(Box<RollbackSettings>),
    FinishCanary(Box<FinishCanarySettings>),
    Diff(Box<DiffSettings>),
    Completions(clap_complete::Shell),
    Debug(Box<DebugSettings>),
    Verify(Box<VerifySettings>),
    Health(Box<HealthSettings>),
    Backup(Box<BackupSettings>),
    BackupList(Box<BackupListSettings>),
    BackupVerify(Box<BackupVerifySettings>),
    BackupPrune(Box<BackupPruneSettings>),
    Restore(Box<RestoreSettings>),
}

#[derive(Debug)]
pub struct RenderSettings {
    pub release: Release,
    pub selected: Vec<Manifest>,
}

/// What a deploy or a rollback (the commands that change an environment) share.
#[derive(Debug, Clone)]
pub struct ChangeSettings {
    pub dry_run: bool,
    /// Bounds the whole command.
    pub timeout: Duration,
    pub prune: bool,
    pub force_unlock: bool,
    pub bundle_dir: PathBuf,
    pub lock_ttl: Duration,
    pub yes: bool,
    pub identity: Identity,
    /// The environment's `release.rollbackOnFailure`, or the flags.
    pub rollback_on_failure: bool,
}

#[derive(Debug)]
pub struct DeploySettings {
    pub release: Release,
    /// The objects of the `--only` components (all without it).
    pub selected: Vec<Manifest>,
    pub only: Vec<String>,
    pub skip_migrations: bool,
    /// `--allow-breaking-migration`, `--allow-unchecked-migration`.
    pub migration_check: crate::migration_lint::CheckFlags,
    pub force_conflicts: bool,
    pub change: ChangeSettings,
    pub access: ClusterAccess,
    /// The canary's settings; `None` for a rolling deploy.
    pub canary: Option<crate::canary::CanaryPlan>,
}

/// `promote` (`promote: true`) and `abort`.
#[derive(Debug)]
pub struct FinishCanarySettings {
    pub env: Environment,
    pub promote: bool,
    pub timeout: Duration,
    pub lock_ttl: Duration,
    pub yes: bool,
    pub identity: Identity,
    pub access: ClusterAccess,
}

#[derive(Debug)]
pub struct RollbackSettings {
    pub env: Environment,
    pub revision: Option<u32>,
    pub change: ChangeSettings,
    pub access: ClusterAccess,
}

#[derive(Debug)]
pub struct DiffSettings {
    pub release: Release,
    pub selected: Vec<Manifest>,
    pub access: ClusterAccess,
}

#[derive(Debug)]
pub struct HistorySettings {
    pub env: Environment,
    pub access: ClusterAccess,
}

#[derive(Debug)]
pub struct MigrateSettings {
    /// Rendered at `--version`; without it at a stand-in version that the
    /// operation replaces by the live api-gateway's ([`Self::version_given`]).
    pub release: Release,
    pub job: Manifest,
    /// Whether `--version` was given; without it the migration runs the
    /// live api-gateway's version.
    pub version_given: bool,
    pub exec: bool,
    pub timeout: Duration,
    pub yes: bool,
    pub access: ClusterAccess,
}

/// `verify`: which checks, against what, how strictly.
#[derive(Debug)]
pub struct VerifySettings {
    pub env: Environment,
    /// `--version`: the version that must be live (default: the newest record's).
    pub version: Option<String>,
    /// The checks to run, in [`crate::checks::CheckId::ALL`] order.
    pub checks: Vec<crate::checks::CheckId>,
    /// Left out by `--only` / `--skip` (reported as skipped).
    pub skipped: Vec<crate::checks::CheckId>,
    pub bake: Option<Duration>,
    pub bake_interval: Duration,
    pub strict: bool,
    pub http_timeout: Duration,
    pub timeout: Duration,
    /// Secret values given in the process environment or `--env-file`
    /// (the cluster's own Secret fills in the rest).
    pub secrets: SecretValues,
    pub access: ClusterAccess,
}

/// `health`: one round, or one every `watch`.
#[derive(Debug)]
pub struct HealthSettings {
    pub env: Environment,
    pub secrets: SecretValues,
    pub access: ClusterAccess,
    pub watch: Option<Duration>,
    pub check_timeout: Duration,
}

/// Resolves the settings of the command `cli` names.
pub fn resolve(cli: &Cli, process: &ProcessEnv) -> Result<(Common, Settings), Failure> {
    let g = &cli.global;
    let verbosity = if g.quiet {
        Verbosity::Quiet
    } else if g.verbose > 0 {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let mut common = Common {
        output: cli.output(),
        verbosity,
        color: g.color,
        redactor: Redactor::default(),
    };
    // Whatever secrets the environment holds are scrubbed from all output,
    // whichever command runs.
    if let Ok(values) = SecretValues::collect(None, &TlsFiles::default(), process.lookup()) {
        common.redactor = Redactor::from_secrets(&values);
    }
    let settings = match &cli.command {
        Command::Render(args) => {
            let release = resolve_release(g, &args.release, process)?;
            let selected = select(&release, &args.only)?;
            Settings::Render(RenderSettings { release, selected })
        }
        Command::Deploy(args) => Settings::Deploy(Box::new(deploy(g, args, process)?)),
        Command::Migrate(args) => {
            // Without --version: the live api-gateway's version, learnt after
            // connecting; everything else is checked now at a stand-in.
            let version_given = args.release.version.is_some();
            let mut release_args = args.release.clone();
            if !version_given {
                release_args.version = Some(LIVE_VERSION_STAND_IN.to_string());
            }
            let release = resolve_release(g, &release_args, process)?;
            let job = release
                .manifests
                .iter()
                .find(|m| m.phase() == Phase::Migration)
                .cloned()
                .ok_or_else(|| Failure::invalid("the templates render no migration Job"))?;
            release.secrets.require(true, false)?;
            confirmation_possible(&release.env, args.yes, process)?;
            Settings::Migrate(Box::new(MigrateSettings {
                access: write_access(g, &args.cluster, &args.target, process),
                job,
                version_given,
                exec: args.exec,
                timeout: args.timeout,
                yes: args.yes,
                release,
            }))
        }
        Command::History(args) => {
            let env = environments(g).load(&args.environment)?;
            Settings::History(HistorySettings {
                access: access(g, &args.cluster, process),
                env,
            })
        }
        Command::Rollback(args) => {
            let env = environments(g).load(&args.environment)?;
            if !args.change.dry_run {
                confirmation_possible(&env, args.change.yes, process)?;
            }
            Settings::Rollback(Box::new(RollbackSettings {
                revision: args.revision,
                change: change(&args.change, false, process),
                access: write_access(g, &args.cluster, &args.change.target, process),
                env,
            }))
        }
        Command::Promote(args) | Command::Abort(args) => {
            let env = environments(g).load(&args.environment)?;
            confirmation_possible(&env, args.yes, process)?;
            Settings::FinishCanary(Box::new(FinishCanarySettings {
                promote: matches!(&cli.command, Command::Promote(_)),
                timeout: args.timeout,
                lock_ttl: args.lock_ttl,
                yes: args.yes,
                identity: Identity::detect(process.lookup(), process.args.join(" ")),
                access: write_access(g, &args.cluster, &args.target, process),
                env,
            }))
        }
        Command::Diff(args) => {
            let release = resolve_release(g, &args.release, process)?;
            let selected = select(&release, &args.only)?;
            Settings::Diff(Box::new(DiffSettings {
                access: access(g, &args.cluster, process),
                release,
                selected,
            }))
        }
        Command::Completions(args) => Settings::Completions(args.shell),
        Command::Debug(args) => Settings::Debug(Box::new(debug(g, args, process)?)),
        Command::Verify(args) => Settings::Verify(Box::new(verify(g, args, process)?)),
        Command::Health(args) => Settings::Health(Box::new(health(g, args, process)?)),
        Command::Backup(args) => backup_settings(g, args, process)?,
        Command::Restore(args) => Settings::Restore(Box::new(restore_settings(g, args, process)?)),
    };
    let mut settings = settings;
    bound_connecting(&mut settings);
    match &settings {
        Settings::Render(s) => common.redactor = Redactor::from_secrets(&s.release.secrets),
        Settings::Deploy(s) => common.redactor = Redactor::from_secrets(&s.release.secrets),
        Settings::Migrate(s) => common.redactor = Redactor::from_secrets(&s.release.secrets),
        Settings::Diff(s) => common.redactor = Redactor::from_secrets(&s.release.secrets),
        Settings::Verify(s) => common.redactor = Redactor::from_secrets(&s.secrets),
        Settings::Health(s) => common.redactor = Redactor::from_secrets(&s.secrets),
        _ => {}
    }
    Ok((common, settings))
}

/// `--timeout` bounds the whole command, connecting included (a cloud CLI
/// that hangs, an API server that never answers): the connection gets the
/// command's budget.
fn bound_connecting(settings: &mut Settings) {
    let (access, timeout) = match settings {
        Settings::Deploy(s) => (&mut s.access, s.change.timeout),
        Settings::Rollback(s) => (&mut s.access, s.change.timeout),
        Settings::FinishCanary(s) => (&mut s.access, s.timeout),
        Settings::Migrate(s) => (&mut s.access, s.timeout),
        Settings::Verify(s) => (&mut s.access, s.timeout),
        Settings::Backup(s) => (&mut s.access, s.timeout),
        Settings::BackupVerify(s) => (&mut s.access, s.timeout),
        Settings::Restore(s) => (&mut s.access, s.timeout),
        _ => return,
    };
    access.connect_budget = Some(timeout);
}

fn deploy(
    g: &GlobalArgs,
    args: &DeployArgs,
    process: &ProcessEnv,
) -> Result<DeploySettings, Failure> {
    let release = resolve_release(g, &args.release, process)?;
    let selected = select(&release, &args.only)?;
    // A dry run shows the plan without the secret values; a real deploy
    // needs every secret the selected objects hold, all missing ones listed.
    if !args.change.dry_run {
        let needs_platform = selected
            .iter()
            .any(|m| m.is_secret() && m.name() == "fintech-ai-secrets");
        let needs_tls = selected
            .iter()
            .any(|m| m.is_secret() && m.object["type"] == "kubernetes.io/tls");
        release.secrets.require(needs_platform, needs_tls)?;
        confirmation_possible(&release.env, args.change.yes, process)?;
    }
    // `--no-rollback-on-failure` wins, then `--rollback-on-failure[=BOOL]`,
    // then the environment's `release.rollbackOnFailure`.
    let rollback_on_failure = !args.no_rollback_on_failure
        && args
            .rollback_on_failure
            .unwrap_or(release.env.release.rollback_on_failure);
    Ok(DeploySettings {
        access: write_access(g, &args.cluster, &args.change.target, process),
        change: change(&args.change, rollback_on_failure, process),
        selected,
        only: args.only.clone(),
        skip_migrations: args.skip_migrations,
        migration_check: crate::migration_lint::CheckFlags {
            allow_breaking: args.allow_breaking_migration,
            allow_unchecked: args.allow_unchecked_migration,
        },
        force_conflicts: args.force_conflicts,
        canary: crate::canary::CanaryPlan::resolve(
            &release.env,
            args.canary.strategy.map(|s| match s {
                crate::cli::StrategyArg::Rolling => crate::environment::Strategy::Rolling,
                crate::cli::StrategyArg::Canary => crate::environment::Strategy::Canary,
            }),
            args.canary.canary_steps.clone().map(|s| s.0),
            args.canary.canary_interval,
        ),
        release,
    })
}

fn verify(
    g: &GlobalArgs,
    args: &VerifyArgs,
    process: &ProcessEnv,
) -> Result<VerifySettings, Failure> {
    use crate::checks::CheckId;
    let env = environments(g).load(&args.release.environment)?;
    let parse = |flag: &str, ids: &[String]| -> Result<Vec<CheckId>, Failure> {
        ids.iter()
            .map(|id| id.trim())
            .filter(|id| !id.is_empty())
            .map(|id| {
                CheckId::parse(id).ok_or_else(|| {
                    Failure::invalid(format!(
                        "{flag}: unknown check `{id}`{}; the checks are: {}",
                        did_you_mean(id, CheckId::ALL.iter().map(|c| c.as_str())),
                        CheckId::known()
                    ))
                })
            })
            .collect()
    };
    let only = parse("--only", &args.only)?;
    let skip = parse("--skip", &args.skip)?;
    if let Some(both) = only.iter().find(|c| skip.contains(c)) {
        return Err(Failure::invalid(format!(
            "check `{both}` is both in --only and in --skip"
        )));
    }
    let (checks, skipped): (Vec<CheckId>, Vec<CheckId>) = CheckId::ALL
        .into_iter()
        .partition(|c| (only.is_empty() || only.contains(c)) && !skip.contains(c));
    if checks.is_empty() {
        return Err(Failure::invalid("--only/--skip leave no check to run"));
    }
    if let Some(v) = &args.release.version
        && !crate::environment::is_image_tag(v)
    {
        return Err(Failure::invalid(format!(
            "--version: `{v}` is not a valid image tag: expected letters, digits, `_`, `.` or `-`"
        )));
    }
    if args.bake.is_some() && !checks.contains(&CheckId::Alerts) {
        return Err(Failure::invalid(
            "--bake queries Prometheus: it cannot be combined with skipping the `alerts` check",
        ));
    }
    let secrets = SecretValues::collect(
        args.release.env_file.as_deref(),
        &TlsFiles {
            cert: args.release.tls_cert.clone(),
            key: args.release.tls_key.clone(),
        },
        process.lookup(),
    )?;
    Ok(VerifySettings {
        access: access(g, &args.cluster, process),
        version: args.release.version.clone(),
        checks,
        skipped,
        bake: args.bake,
        bake_interval: args.bake_interval,
        strict: args.strict,
        http_timeout: args.http_timeout,
        timeout: args.timeout,
        secrets,
        env,
    })
}

fn health(
    g: &GlobalArgs,
    args: &HealthArgs,
    process: &ProcessEnv,
) -> Result<HealthSettings, Failure> {
    let watch = watch(args)?;
    let env = environments(g).load(&args.environment)?;
    let secrets = SecretValues::collect(
        args.env_file.as_deref(),
        &TlsFiles::default(),
        process.lookup(),
    )?;
    Ok(HealthSettings {
        access: access(g, &args.cluster, process),
        watch,
        check_timeout: args.check_timeout,
        secrets,
        env,
    })
}

/// `--watch` takes no value; `--interval` says how often. An interval given
/// to `--watch` (`health local --watch 2s`, `health --watch 2s local`) is
/// answered with the flag that takes it.
fn watch(args: &HealthArgs) -> Result<Option<Duration>, Failure> {
    let Some(stray) = &args.stray else {
        return Ok(args.watch.then_some(args.interval));
    };
    let (environment, extra) = if crate::cli::parse_duration(&args.environment).is_ok() {
        (stray, &args.environment)
    } else {
        (&args.environment, stray)
    };
    if crate::cli::parse_duration(extra).is_ok() {
        return Err(Failure::invalid(format!(
            "`{extra}`: --watch takes no value; the interval is --interval: \
             fintechctl health {environment} --watch --interval {extra}"
        )));
    }
    Err(Failure::invalid(format!(
        "unexpected argument `{extra}`: health takes one environment"
    )))
}

/// ` (did you mean `x`?)` when one of `known` is close to `name`, as for
/// environments and `--only` components.
fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(k, name), k))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// `fintechctl debug …`: which operation, on which environment; every flag
/// checked here (exit 2 naming the flag and what was expected).
#[derive(Debug)]
pub struct DebugSettings {
    pub env: Environment,
    pub access: ClusterAccess,
    pub action: DebugAction,
    /// Whether stdin is a terminal (the shell's raw mode and pod picker).
    pub interactive: bool,
}

/// The triage or one of `debug`'s subcommands.
#[derive(Debug)]
pub enum DebugAction {
    /// `debug <env> [COMPONENT]`.
    Triage {
        component: Option<String>,
    },
    Logs(LogsSettings),
    Shell(ShellSettings),
    PortForward(PortForwardSettings),
    Top,
    /// `debug bundle <env> [--to FILE]`.
    Bundle {
        to: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub struct LogsSettings {
    /// Empty: every component of the environment.
    pub components: Vec<String>,
    pub follow: bool,
    pub since: Option<Duration>,
    pub grep: Option<regex::Regex>,
    pub previous: bool,
    pub tail: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ShellSettings {
    pub component: String,
    pub pod: Option<String>,
    pub container: Option<String>,
    /// Empty: a login shell (`/bin/bash`, else `/bin/sh`).
    pub command: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PortForwardSettings {
    pub component: String,
    pub address: std::net::IpAddr,
    /// (local, remote); local 0 = any free port.
    pub ports: Vec<(u16, u16)>,
}

fn debug(
    g: &GlobalArgs,
    args: &crate::cli::DebugArgs,
    process: &ProcessEnv,
) -> Result<DebugSettings, Failure> {
    use crate::cli::DebugCommand;
    let (environment, cluster) = match &args.command {
        None => (args.environment.clone().unwrap_or_default(), &args.cluster),
        Some(DebugCommand::Logs(a)) => (a.environment.clone(), &a.cluster),
        Some(DebugCommand::Shell(a)) => (a.environment.clone(), &a.cluster),
        Some(DebugCommand::PortForward(a)) => (a.environment.clone(), &a.cluster),
        Some(DebugCommand::Top(a)) => (a.environment.clone(), &a.cluster),
        Some(DebugCommand::Bundle(a)) => (a.environment.clone(), &a.cluster),
    };
    let env = environments(g).load(&environment)?;
    let known = crate::cluster::triage::component_names(&env);
    let component = |what: &str, name: &str| -> Result<String, Failure> {
        if known.iter().any(|k| k == name) {
            return Ok(name.to_string());
        }
        Err(Failure::invalid(format!(
            "{what}: unknown component `{name}`{}; components of {}: {}",
            did_you_mean(name, known.iter().map(String::as_str)),
            env.name,
            known.join(", ")
        )))
    };
    let action = match &args.command {
        None => DebugAction::Triage {
            component: args
                .component
                .as_deref()
                .map(|c| component("COMPONENT", c))
                .transpose()?,
        },
        Some(DebugCommand::Logs(a)) => {
            let components = a
                .components
                .iter()
                .map(|c| component("COMPONENT", c))
                .collect::<Result<Vec<_>, _>>()?;
            let since = a
                .since
                .as_deref()
                .map(|s| {
                    crate::cli::parse_duration(s)
                        .map_err(|e| Failure::invalid(format!("--since: {e}")))
                })
                .transpose()?;
            let grep = a
                .grep
                .as_deref()
                .map(|re| {
                    regex::Regex::new(re).map_err(|e| {
                        Failure::invalid(format!(
                            "--grep: `{re}` is not a regular expression: {}",
                            e.to_string().lines().last().unwrap_or_default().trim()
                        ))
                    })
                })
                .transpose()?;
            if let Some(tail) = a.tail
                && tail < 0
            {
                return Err(Failure::invalid(format!(
                    "--tail: `{tail}` is not a number of lines (expected 0 or more)"
                )));
            }
            DebugAction::Logs(LogsSettings {
                components,
                follow: a.follow,
                since,
                grep,
                previous: a.previous,
                tail: a.tail,
            })
        }
        Some(DebugCommand::Shell(a)) => DebugAction::Shell(ShellSettings {
            component: component("COMPONENT", &a.component)?,
            pod: a.pod.clone(),
            container: a.container.clone(),
            command: a.command.clone(),
        }),
        Some(DebugCommand::PortForward(a)) => {
            let address = a.address.parse().map_err(|_| {
                Failure::invalid(format!(
                    "--address: `{}` is not an IP address (expected e.g. 127.0.0.1 or ::1)",
                    a.address
                ))
            })?;
            let ports = a
                .ports
                .iter()
                .map(|p| parse_port_pair(p))
                .collect::<Result<Vec<_>, _>>()?;
            DebugAction::PortForward(PortForwardSettings {
                component: component("COMPONENT", &a.component)?,
                address,
                ports,
            })
        }
        Some(DebugCommand::Top(_)) => DebugAction::Top,
        Some(DebugCommand::Bundle(a)) => DebugAction::Bundle { to: a.to.clone() },
    };
    Ok(DebugSettings {
        access: access(g, cluster, process),
        env,
        action,
        interactive: process.interactive,
    })
}

/// `8000` or `18000:8000` (`LOCAL:REMOTE`; LOCAL 0 = any free port).
pub fn parse_port_pair(text: &str) -> Result<(u16, u16), Failure> {
    let bad = |why: &str| {
        Failure::invalid(format!(
            "port `{text}`: {why} (expected REMOTE or LOCAL:REMOTE, e.g. 8000 or 18000:8000)"
        ))
    };
    let port = |s: &str, what: &str, zero_ok: bool| -> Result<u16, Failure> {
        match s.trim().parse::<u32>() {
            Ok(0) if !zero_ok => Err(bad(&format!("the {what} port must be 1-65535"))),
            Ok(n) if n <= 65535 => Ok(n as u16),
            Ok(_) => Err(bad(&format!("the {what} port is out of range 1-65535"))),
            Err(_) => Err(bad(&format!("the {what} port `{s}` is not a number"))),
        }
    };
    match text.split(':').collect::<Vec<_>>().as_slice() {
        [remote] => {
            let remote = port(remote, "remote", false)?;
            Ok((remote, remote))
        }
        [local, remote] => Ok((port(local, "local", true)?, port(remote, "remote", false)?)),
        _ => Err(bad("more than one `:`")),
    }
}

fn change(args: &ChangeArgs, rollback_on_failure: bool, process: &ProcessEnv) -> ChangeSettings {
    ChangeSettings {
        dry_run: args.dry_run,
        timeout: args.timeout,
        prune: !args.no_prune,
        force_unlock: args.force_unlock,
        bundle_dir: args.bundle_dir.clone(),
        lock_ttl: args.lock_ttl,
        yes: args.yes,
        identity: Identity::detect(process.lookup(), process.args.join(" ")),
        rollback_on_failure,
    }
}

/// Where environments come from: `--environments-dir` (or its variable),
/// else the embedded ones.
pub fn environments(g: &GlobalArgs) -> EnvironmentSource {
    match &g.environments_dir {
        Some(dir) => EnvironmentSource::Directory(dir.clone()),
        None => EnvironmentSource::Embedded,
    }
}

/// How to reach the cluster: the command's flags, else the ones given
/// before the command (`fintechctl --kubeconfig X deploy …`), `KUBECONFIG`,
/// `~/.kube/config` and the cache directory from the process environment.
pub fn access(g: &GlobalArgs, args: &ClusterArgs, process: &ProcessEnv) -> ClusterAccess {
    let home = process
        .get("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    ClusterAccess {
        kubeconfig: args.kubeconfig.clone().or_else(|| g.kubeconfig.clone()),
        context: args.context.clone().or_else(|| g.context.clone()),
        kubeconfig_env: process
            .get("KUBECONFIG")
            .map(|v| std::env::split_paths(&v).collect())
            .unwrap_or_default(),
        default_kubeconfig: home.join(".kube").join("config"),
        cache_dir: crate::cloud::cache_dir(process.lookup()),
        request_timeout: args.request_timeout,
        allow_other_cluster: false,
        connect_budget: None,
    }
}

/// [`access`] for a command that writes: with its `--allow-other-cluster`.
pub fn write_access(
    g: &GlobalArgs,
    args: &ClusterArgs,
    target: &crate::cli::TargetArgs,
    process: &ProcessEnv,
) -> ClusterAccess {
    ClusterAccess {
        allow_other_cluster: target.allow_other_cluster,
        ..access(g, args, process)
    }
}

/// A release from the command line; every problem is exit 2.
pub fn resolve_release(
    g: &GlobalArgs,
    args: &ReleaseArgs,
    process: &ProcessEnv,
) -> Result<Release, Failure> {
    let request = ReleaseRequest {
        source: environments(g),
        environment: args.environment.clone(),
        version: args.version.clone(),
        env_file: args.env_file.clone(),
        tls: TlsFiles {
            cert: args.tls_cert.clone(),
            key: args.tls_key.clone(),
        },
    };
    Ok(Release::resolve(&request, process.lookup())?)
}

/// The objects of the `--only` components (all without it), owned.
pub fn select(release: &Release, only: &[String]) -> Result<Vec<Manifest>, Failure> {
    Ok(release
        .select(only)
        .map_err(Failure::invalid)?
        .into_iter()
        .cloned()
        .collect())
}

/// The version `migrate` renders its settings at when `--version` is not
/// given; never run (the live version replaces it).
pub const LIVE_VERSION_STAND_IN: &str = "live-version";

/// A protected environment needs a terminal to ask on, or `--yes`: refuse
/// before touching the cluster when neither is there.
pub fn confirmation_possible(
    env: &Environment,
    yes: bool,
    process: &ProcessEnv,
) -> Result<(), Failure> {
    if env.release.protected && !yes && !process.interactive {
        return Err(Failure::refused(format!(
            "refusing to change {}: no terminal to confirm on; pass --yes to confirm non-interactively",
            env.name
        )));
    }
    Ok(())
}

/// What replaces data (a restore) asks in every environment: refuse before
/// touching the cluster when there is neither a terminal nor `--yes`.
pub fn replacing_data_confirmable(
    env: &Environment,
    action: &str,
    yes: bool,
    process: &ProcessEnv,
) -> Result<(), Failure> {
    if !yes && !process.interactive {
        return Err(Failure::refused(format!(
            "refusing to {action} {}: it replaces data and there is no terminal to confirm on; pass --yes to confirm non-interactively",
            env.name
        )));
    }
    Ok(())
}

// ---- backup and restore -------------------------------------------------

/// Where a backup command's store is, and the cloud variables it reads.
fn store_config(
    env: &Environment,
    args: &crate::cli::StoreArgs,
    process: &ProcessEnv,
) -> Result<crate::backup::store::StoreConfig, Failure> {
    use crate::backup::store::{Location, StoreConfig};
    // Relative store directories are taken from where the command runs.
    let base = std::env::current_dir()
        .ok()
        .or_else(|| process.get("PWD").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let location = match &args.store {
        Some(url) => {
            Location::parse(url, &base).map_err(|e| Failure::invalid(format!("--to: {e}")))?
        }
        None => Location::from_environment(&env.backup, &base)
            .map_err(|e| Failure::invalid(format!("environment {}: {e}", env.name)))?,
    };
    Ok(StoreConfig {
        location,
        vars: process.with_prefixes(&["AWS_", "AZURE_", "GOOGLE_"]),
    })
}

/// `--only` parts; an unknown one names the known ones.
fn parts(only: &[String]) -> Result<Vec<crate::backup::PartKind>, Failure> {
    use crate::backup::PartKind;
    let mut out = Vec::new();
    for name in only {
        let part = PartKind::parse(name).ok_or_else(|| {
            Failure::invalid(format!(
                "--only: unknown part `{name}`{}; expected postgres, redis or resources",
                did_you_mean(name.trim(), PartKind::ALL.iter().map(|p| p.name()))
            ))
        })?;
        if !out.contains(&part) {
            out.push(part);
        }
    }
    out.sort();
    Ok(out)
}

fn backup_ref(s: &str) -> Result<crate::backup::id::BackupRef, Failure> {
    crate::backup::id::BackupRef::parse(s).map_err(|e| Failure::invalid(format!("ID: {e}")))
}

fn recipients(env: &Environment) -> Result<crate::backup::crypt::Recipients, Failure> {
    crate::backup::crypt::Recipients::parse(&env.backup.recipients)
        .map_err(|e| Failure::invalid(format!("environment {}: backup.recipients: {e}", env.name)))
}

/// `backup <env>`.
#[derive(Debug)]
pub struct BackupSettings {
    pub env: Environment,
    pub access: ClusterAccess,
    pub store: crate::backup::store::StoreConfig,
    /// The parts asked for (all when empty: every part the environment has).
    pub only: Vec<crate::backup::PartKind>,
    pub timeout: Duration,
    pub prune: bool,
    pub recipients: crate::backup::crypt::Recipients,
    pub identity: Identity,
    /// A dump stream that carries nothing for this long was lost.
    pub stall_timeout: Duration,
    /// Where managed Redis is exported to (`FINTECHCTL_REDIS_EXPORT_SAS_URL`,
    /// a container SAS URL); without it, a SAS of the Azure store's own
    /// container.
    pub redis_export_container: Option<crate::backup::redis_export::Container>,
}

/// `backup list <env>`.
#[derive(Debug)]
pub struct BackupListSettings {
    pub env: Environment,
    pub store: crate::backup::store::StoreConfig,
}

/// `backup verify <env> ID`.
#[derive(Debug)]
pub struct BackupVerifySettings {
    pub env: Environment,
    pub access: ClusterAccess,
    pub store: crate::backup::store::StoreConfig,
    pub backup: crate::backup::id::BackupRef,
    pub drill: bool,
    pub timeout: Duration,
}

/// `backup prune <env>`.
#[derive(Debug)]
pub struct BackupPruneSettings {
    pub env: Environment,
    pub store: crate::backup::store::StoreConfig,
    pub dry_run: bool,
}

/// `restore <env> ID`.
#[derive(Debug)]
pub struct RestoreSettings {
    pub env: Environment,
    pub access: ClusterAccess,
    pub store: crate::backup::store::StoreConfig,
    pub backup: crate::backup::id::BackupRef,
    pub only: Vec<crate::backup::PartKind>,
    pub dry_run: bool,
    pub yes: bool,
    /// `--identity`, read and checked.
    pub identities: Option<crate::backup::crypt::Identities>,
    pub timeout: Duration,
    pub lock_ttl: Duration,
    pub identity: Identity,
    /// `--from-environment`: the environment a backup taken elsewhere came from.
    pub from_environment: Option<String>,
}

fn backup_settings(
    g: &GlobalArgs,
    args: &crate::cli::BackupArgs,
    process: &ProcessEnv,
) -> Result<Settings, Failure> {
    use crate::cli::BackupAction;
    Ok(match &args.action {
        Some(BackupAction::List(a)) => {
            let env = environments(g).load(&a.environment)?;
            Settings::BackupList(Box::new(BackupListSettings {
                store: store_config(&env, &a.store, process)?,
                env,
            }))
        }
        Some(BackupAction::Verify(a)) => {
            let env = environments(g).load(&a.environment)?;
            Settings::BackupVerify(Box::new(BackupVerifySettings {
                store: store_config(&env, &a.store, process)?,
                access: write_access(g, &a.cluster, &a.target, process),
                backup: backup_ref(&a.backup)?,
                drill: a.drill,
                timeout: a.timeout,
                env,
            }))
        }
        Some(BackupAction::Prune(a)) => {
            let env = environments(g).load(&a.environment)?;
            Settings::BackupPrune(Box::new(BackupPruneSettings {
                store: store_config(&env, &a.store, process)?,
                dry_run: a.dry_run,
                env,
            }))
        }
        None => {
            let name = args
                .environment
                .as_deref()
                .ok_or_else(|| Failure::invalid("backup: an ENVIRONMENT is required"))?;
            let env = environments(g).load(name)?;
            Settings::Backup(Box::new(BackupSettings {
                store: store_config(&env, &args.store, process)?,
                access: write_access(g, &args.cluster, &args.target, process),
                only: parts(&args.only)?,
                timeout: args.timeout,
                prune: !args.no_prune,
                recipients: recipients(&env)?,
                identity: Identity::detect(process.lookup(), process.args.join(" ")),
                stall_timeout: args.stall_timeout,
                redis_export_container: redis_export_container(process)?,
                env,
            }))
        }
    })
}

/// `FINTECHCTL_REDIS_EXPORT_SAS_URL`, checked up front (exit 2 naming it).
fn redis_export_container(
    process: &ProcessEnv,
) -> Result<Option<crate::backup::redis_export::Container>, Failure> {
    use crate::backup::redis_export::{Container, SAS_URL_VAR};
    match process.get(SAS_URL_VAR) {
        Some(url) if !url.trim().is_empty() => Container::parse(&url)
            .map(Some)
            .map_err(|e| Failure::invalid(e.to_string())),
        _ => Ok(None),
    }
}

fn restore_settings(
    g: &GlobalArgs,
    args: &crate::cli::RestoreArgs,
    process: &ProcessEnv,
) -> Result<RestoreSettings, Failure> {
    let env = environments(g).load(&args.environment)?;
    let identities =
        match &args.identity {
            None => None,
            Some(path) => {
                let text = crate::files::read_capped(path, 64 * 1024).map_err(|e| {
                    Failure::invalid(format!("--identity `{}`: {}", path.display(), e.cause()))
                })?;
                Some(crate::backup::crypt::Identities::parse(&text).map_err(|e| {
                    Failure::invalid(format!("--identity `{}`: {e}", path.display()))
                })?)
            }
        };
    let store = store_config(&env, &args.store, process)?;
    let backup = backup_ref(&args.backup)?;
    let only = parts(&args.only)?;
    // Bad input is exit 2 first; then the refusal to replace data unasked.
    if !args.dry_run {
        replacing_data_confirmable(&env, "restore into", args.yes, process)?;
    }
    Ok(RestoreSettings {
        store,
        access: write_access(g, &args.cluster, &args.target, process),
        backup,
        only,
        dry_run: args.dry_run,
        yes: args.yes,
        identities,
        timeout: args.timeout,
        lock_ttl: args.lock_ttl,
        identity: Identity::detect(process.lookup(), process.args.join(" ")),
        from_environment: args.from_environment.clone(),
        env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn deploy_settings(env: &str, flags: &[&str], vars: &[(&str, &str)]) -> DeploySettings {
        let mut argv = vec![
            "fintechctl",
            "deploy",
            env,
            "--version",
            "1.4.2",
            "--dry-run",
        ];
        argv.extend_from_slice(flags);
        let cli = Cli::try_parse_from(argv).unwrap();
        match resolve(&cli, &ProcessEnv::from_pairs(vars)).unwrap().1 {
            Settings::Deploy(s) => *s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rollback_on_failure_follows_flags_then_the_environment() {
        let wanted =
            |env: &str, flags: &[&str]| deploy_settings(env, flags, &[]).change.rollback_on_failure;
        assert!(wanted("production", &[]), "on by default for production");
        assert!(!wanted("staging", &[]), "off by default elsewhere");
        assert!(!wanted("production", &["--no-rollback-on-failure"]));
        assert!(!wanted("production", &["--rollback-on-failure", "false"]));
        assert!(wanted("staging", &["--rollback-on-failure"]));
        assert!(wanted("staging", &["--rollback-on-failure=true"]));
        assert!(!wanted(
            "staging",
            &["--rollback-on-failure", "--no-rollback-on-failure"]
        ));
    }

    #[test]
    fn cluster_access_comes_from_flags_then_the_environment() {
        let s = deploy_settings(
            "staging",
            &["--context", "ctx"],
            &[
                ("KUBECONFIG", "/a/config:/b/config"),
                ("HOME", "/home/u"),
                ("FINTECHCTL_CACHE_DIR", "/cache"),
            ],
        );
        assert_eq!(s.access.context.as_deref(), Some("ctx"));
        assert_eq!(
            s.access.kubeconfig_env,
            [PathBuf::from("/a/config"), PathBuf::from("/b/config")]
        );
        assert_eq!(
            s.access.default_kubeconfig,
            PathBuf::from("/home/u/.kube/config")
        );
        assert_eq!(s.access.cache_dir, PathBuf::from("/cache"));
        assert_eq!(s.access.request_timeout, Duration::from_secs(10));
    }

    #[test]
    fn the_lock_ttl_is_a_flag_with_its_variable() {
        let s = deploy_settings("staging", &["--lock-ttl", "2"], &[]);
        assert_eq!(s.change.lock_ttl, Duration::from_secs(2));
        for bad in ["0", "abc", "-1", ""] {
            let err = Cli::try_parse_from([
                "fintechctl",
                "deploy",
                "staging",
                "--version",
                "1",
                &format!("--lock-ttl={bad}"),
            ])
            .unwrap_err()
            .to_string();
            assert!(err.contains("--lock-ttl"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_protected_environment_without_a_terminal_needs_yes() {
        let cli = Cli::try_parse_from(["fintechctl", "deploy", "production", "--version", "1.4.2"])
            .unwrap();
        let vars = [
            ("POSTGRES_PASSWORD", "test-only-1"),
            ("REDIS_PASSWORD", "test-only-2"),
            ("KAFKA_PASSWORD", "test-only-3"),
            ("JWT_SECRET", "test-only-4"),
            ("API_KEY", "test-only-5"),
        ];
        let err = resolve(&cli, &ProcessEnv::from_pairs(&vars)).unwrap_err();
        // The TLS pair is missing first: exit 2 before the refusal.
        assert_eq!(
            err.status,
            crate::exit::ExitStatus::Invalid,
            "{}",
            err.message
        );
    }
}
