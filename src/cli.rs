//! The command line: global flags shared by every command, and one `Args`
//! struct per command. Help text comes from these doc comments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ui::{ColorChoice, OutputFormat};

/// Operate the FinTech AI platform (api-gateway, ml-service, frontend and
/// their data stores) on Kubernetes, in the `local`, `staging` and
/// `production` environments.
#[derive(Debug, Parser)]
#[command(name = "fintechctl", version, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 success, 1 a check or rollout failed, 2 invalid input or \
configuration, 3 cluster or cloud unreachable, 4 refused, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command shares, listed under their own heading in `--help`.
/// `-o` is not among them: it is on the commands that print a report
/// ([`OutputArg`]), each saying what it prints.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Directory of environment files that replaces the built-in ones
    #[arg(
        long,
        global = true,
        env = "FINTECHCTL_ENVIRONMENTS_DIR",
        value_name = "DIR",
        help_heading = GLOBAL
    )]
    pub environments_dir: Option<PathBuf>,

    /// More detail on stderr
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet", help_heading = GLOBAL)]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    /// Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = GLOBAL)]
    pub color: ColorChoice,

    /// `fintechctl --kubeconfig PATH deploy …`, as with kubectl: accepted
    /// before the command for scripts and aliases; the command's own flag wins.
    #[arg(long, hide = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// `fintechctl --context NAME deploy …` (see `kubeconfig`).
    #[arg(long, hide = true, value_name = "NAME")]
    pub context: Option<String>,
}

/// The `--help` heading of the flags every command shares.
pub const GLOBAL: &str = "Global options";

/// `-o`: on the commands that print a report. Its help is set per command
/// (`mut_arg("output", …)` on the command) to say what it prints there.
#[derive(Debug, Args, Clone)]
pub struct OutputArg {
    /// Format of what the command prints on stdout
    #[arg(short = 'o', long = "output", value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// How a command reaches the cluster.
#[derive(Debug, Args, Clone, Default)]
pub struct ClusterArgs {
    /// Path to a kubeconfig file (default: `KUBECONFIG`, else the environment's cluster entry)
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// kubeconfig context to use instead of the environment's cluster entry
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Deadline of each API request (a frozen API server fails the command instead of hanging it)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: std::time::Duration,
}

/// The override of the wrong-cluster rule, for the commands that write
/// (deploy, rollback, migrate, restore, backup).
#[derive(Debug, Args, Clone, Default)]
pub struct TargetArgs {
    /// Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster's claim)
    #[arg(long)]
    pub allow_other_cluster: bool,
}

/// What every command that changes an environment (deploy, rollback) shares.
#[derive(Debug, Args, Clone)]
pub struct ChangeArgs {
    /// Show the plan (server-side dry run) and stop without changing anything
    #[arg(long)]
    pub dry_run: bool,

    /// How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Keep live objects the release no longer contains (default: delete them after a successful rollout)
    #[arg(long)]
    pub no_prune: bool,

    /// Break a deploy lock another run holds (says whose, and asks unless --yes)
    #[arg(long)]
    pub force_unlock: bool,

    /// Where the debug bundle of a failed rollout is written
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub bundle_dir: PathBuf,

    /// How long the deploy lock outlives this run's last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)
    #[arg(long, env = "FINTECHCTL_LOCK_TTL", value_name = "DURATION", default_value = "30s", value_parser = parse_lock_ttl)]
    pub lock_ttl: std::time::Duration,

    /// Answer yes to confirmations (required for production without a terminal)
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an environment's manifests, validated, in the order they are applied
    #[command(
        after_help = "Examples:\n  fintechctl render production --version 1.4.2\n  \
fintechctl render staging --version 1.4.2 --only api-gateway -o json",
        mut_arg("output", |a| a.help("text and yaml: the objects as multi-document YAML, in the order a deploy applies them; json: a JSON list of the objects"))
    )]
    Render(RenderArgs),

    /// Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts
    #[command(
        after_help = "Examples:\n  fintechctl deploy production --version 1.4.2\n  \
fintechctl deploy staging --version 1.4.2 --dry-run\n  \
fintechctl deploy production --version 1.4.2 --yes --env-file .env.production   # CI\n  \
fintechctl deploy production --version 1.5.0 --allow-breaking-migration   # a reviewed drop",
        mut_arg("output", |a| a.help("text: a table of the rollouts; json or yaml: one document with the plan, the applied objects, the migration check, the migration, the rollouts, the failures and the outcome"))
    )]
    Deploy(DeployArgs),

    /// Finish a paused canary: the stable Deployments roll to its version, then the canary is removed
    #[command(
        after_help = "Example:\n  fintechctl promote production   # after a canary deploy with manualPromotion paused",
        mut_arg("output", |a| a.help("text: the rollouts; json or yaml: one document with the revision, the canary's health, the rollouts and the outcome"))
    )]
    Promote(FinishCanaryArgs),

    /// Abort a paused (or left-over) canary: weight 0, the canary removed, the stable version untouched
    #[command(
        after_help = "Example:\n  fintechctl abort production",
        mut_arg("output", |a| a.help("text: what was removed; json or yaml: one document with the revision, the canary's health, what was removed and the outcome"))
    )]
    Abort(FinishCanaryArgs),

    /// Run the database migration (`alembic upgrade head`) on demand
    #[command(
        after_help = "Examples:\n  fintechctl migrate staging --version 1.4.2\n  \
fintechctl migrate production --exec    # inside a running api-gateway pod, as the runbook did",
        mut_arg("output", |a| a.help("text: nothing on stdout (progress and the result are on stderr); json or yaml: one document with the migration's Job or pod, exit code and outcome"))
    )]
    Migrate(MigrateArgs),

    /// List an environment's revisions, newest first
    #[command(after_help = "Example:\n  fintechctl history production -o json",
        mut_arg("output", |a| a.help("text: a table of the revisions, newest first; json or yaml: the release records"))
    )]
    History(HistoryArgs),

    /// Re-apply an earlier successful revision (default: the one before the current)
    #[command(
        after_help = "Examples:\n  fintechctl rollback production\n  fintechctl rollback staging 12 --dry-run",
        mut_arg("output", |a| a.help("text: a table of the rollouts; json or yaml: one document as deploy's, for the revision re-applied"))
    )]
    Rollback(RollbackArgs),

    /// Show what a deploy would change, as a unified diff (exit 1 when something would)
    #[command(
        after_help = "Examples:\n  fintechctl diff production --version 1.4.3\n  \
fintechctl diff staging --version 1.4.2 --only api-gateway -o json",
        mut_arg("output", |a| a.help("text: a unified diff; json or yaml: the changes object by object"))
    )]
    Diff(DiffArgs),

    /// Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)
    #[command(
        after_help = "Checks (ids for --only and --skip): release, rollout, pods, endpoints, http, drift, \
policy, autoscaling, quota, tls, alerts.\n\nExamples:\n  fintechctl verify production\n  \
fintechctl verify production --version 1.4.2 --bake 5m --strict   # CI gate after a deploy\n  \
fintechctl verify staging --only http,pods -o json\n  \
fintechctl verify local --skip alerts,tls",
        mut_arg("output", |a| a.help("text: a table worst first, with the evidence and hint of every check that did not pass; json or yaml: every check with its status, evidence and hint"))
    )]
    Verify(VerifyArgs),

    /// Is the platform serving right now? Services, data stores and monitoring on one screen
    #[command(after_help = "Examples:\n  fintechctl health production\n  \
fintechctl health staging --watch                     # redraw every 5s\n  \
fintechctl health local --watch --interval 2s -o json # one JSON document per round",
        mut_arg("output", |a| a.help("text: one screen, down first (redrawn in place with --watch on a terminal); json: one document (one line per round with --watch); yaml"))
    )]
    Health(HealthArgs),

    /// Back up an environment's data (PostgreSQL, Redis, the namespace's objects); list, verify, prune
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = "Examples:\n  fintechctl backup production\n  \
fintechctl backup local --only postgres --to /var/backups/fintech\n  \
fintechctl backup list production\n  \
fintechctl backup verify production 20261129T203320Z-4f9a1c --drill\n  \
fintechctl backup prune staging",
        mut_arg("output", |a| a.help("text: a table of the parts; json or yaml: one document with the parts, the manifest and what was pruned"))
    )]
    Backup(BackupArgs),

    /// Restore a verified backup: checksums first, the plan, confirmation, the deploy lock, writers scaled down and back
    #[command(
        after_help = "Examples:\n  fintechctl restore staging 20261129T203320Z-4f9a1c --dry-run\n  \
fintechctl restore production latest --only postgres           # asks you to type `production`\n  \
fintechctl restore local 20261129T203320Z-4f9a1c --identity ~/.config/fintech/backup.age",
        mut_arg("output", |a| a.help("text: a table of the parts restored; json or yaml: one document with the plan and each part's result"))
    )]
    Restore(RestoreArgs),

    /// Triage an environment (worst first, a card per unhealthy workload), or debug it with a subcommand
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = "Examples:\n  fintechctl debug production                 # triage: what is wrong, worst first\n  \
fintechctl debug staging ml-service -o json\n  \
fintechctl debug logs production api-gateway -f --since 10m --grep 'ERROR|Traceback'\n  \
fintechctl debug shell staging api-gateway -- python -c 'import app'\n  \
fintechctl debug port-forward production api-gateway 8000\n  \
fintechctl debug top production\n  \
fintechctl debug bundle production --to incident-4711.tar.gz",
        mut_arg("output", |a| a.help("text: a card for each unhealthy component, worst first, a line for each healthy one; json or yaml: the components, the causes and the last revision"))
    )]
    Debug(DebugArgs),

    /// Print a shell completion script
    #[command(
        after_help = "Example:\n  fintechctl completions bash > /etc/bash_completion.d/fintechctl"
    )]
    Completions(CompletionsArgs),
}

/// What every command that renders the platform needs.
#[derive(Debug, Args, Clone)]
pub struct ReleaseArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    /// Platform release: the image tag of every application service (required for production)
    #[arg(long, value_name = "TAG")]
    pub version: Option<String>,

    /// Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// TLS certificate (PEM) for the ingress secret
    #[arg(long, env = "FINTECHCTL_TLS_CERT", value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM) for the ingress secret
    #[arg(long, env = "FINTECHCTL_TLS_KEY", value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,

    /// Only these components (comma-separated), e.g. api-gateway,ml-service
    #[arg(long, value_name = "COMPONENT", value_delimiter = ',')]
    pub only: Vec<String>,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub change: ChangeArgs,

    /// Only these components (comma-separated), e.g. api-gateway,ml-service
    #[arg(long, value_name = "COMPONENT", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Do not run the database migration even though the version changes
    #[arg(long)]
    pub skip_migrations: bool,

    /// Deploy although the migration's SQL has breaking statements (drop, rename, type change, ...);
    /// refused without it in protected environments and canary deploys; recorded in the release
    #[arg(long)]
    pub allow_breaking_migration: bool,

    /// Deploy a protected environment although the migration's SQL could not be checked
    /// (alembic's offline mode failed or timed out); recorded in the release
    #[arg(long)]
    pub allow_unchecked_migration: bool,

    /// Take over fields another field manager (e.g. kubectl) owns
    #[arg(long)]
    pub force_conflicts: bool,

    /// On a failed rollout, keep the evidence and roll back to the last successful revision
    /// (default: the environment's `release.rollbackOnFailure`, on for production)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", overrides_with = "no_rollback_on_failure")]
    pub rollback_on_failure: Option<bool>,

    /// Never roll back automatically
    #[arg(long, overrides_with = "rollback_on_failure")]
    pub no_rollback_on_failure: bool,

    #[command(flatten)]
    pub canary: CanaryArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

/// How a deploy replaces the application pods (docs/canary.md).
#[derive(Debug, Args, Clone)]
pub struct CanaryArgs {
    /// rolling: every pod through a rolling update; canary: a share of the traffic first, judged by the metrics (default: the environment's `release.strategy`)
    #[arg(long, value_name = "STRATEGY")]
    pub strategy: Option<StrategyArg>,

    /// The canary's traffic percentages, strictly ascending, each 1 to 99, e.g. 10,50 (default: `release.canary.steps`)
    #[arg(long, value_name = "PERCENTS", value_parser = crate::canary::parse_steps_arg)]
    pub canary_steps: Option<crate::canary::Steps>,

    /// How long each canary step runs before it is judged, 1s to 1h, e.g. 30s (default: `release.canary.interval`)
    #[arg(long, value_name = "DURATION", value_parser = crate::canary::parse_interval)]
    pub canary_interval: Option<std::time::Duration>,
}

/// `promote` and `abort`: a paused canary finished, under the deploy lock.
#[derive(Debug, Args)]
pub struct FinishCanaryArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// How long the whole command may take, e.g. 90s, 10m
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// How long the deploy lock outlives this run's last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)
    #[arg(long, env = "FINTECHCTL_LOCK_TTL", value_name = "DURATION", default_value = "30s", value_parser = parse_lock_ttl)]
    pub lock_ttl: std::time::Duration,

    /// Answer yes to confirmations (required for production without a terminal)
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    Rolling,
    Canary,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    /// Revision to return to (see `fintechctl history`); default: the last successful one before the current
    pub revision: Option<u32>,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub change: ChangeArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Only these components (comma-separated), e.g. api-gateway,ml-service
    #[arg(long, value_name = "COMPONENT", value_delimiter = ',')]
    pub only: Vec<String>,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Run `alembic upgrade head` inside a running api-gateway pod (exec) instead of a Job
    #[arg(long)]
    pub exec: bool,

    #[command(flatten)]
    pub target: TargetArgs,

    /// How long the migration may take, e.g. 90s, 10m
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Answer yes to confirmations (required for production without a terminal)
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Run only these checks (comma-separated ids, see below)
    #[arg(long, value_name = "CHECK", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Skip these checks (comma-separated ids, see below)
    #[arg(long, value_name = "CHECK", value_delimiter = ',')]
    pub skip: Vec<String>,

    /// After the checks pass, keep querying the alert expressions for this long and fail the moment one crosses its threshold, e.g. 5m
    #[arg(long, value_name = "DURATION", value_parser = parse_bake)]
    pub bake: Option<std::time::Duration>,

    /// How often --bake queries Prometheus
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub bake_interval: std::time::Duration,

    /// Warnings fail too (exit 1), and an unreachable Prometheus is a failure
    #[arg(long)]
    pub strict: bool,

    /// Deadline of each HTTP request a check makes (service proxy, Prometheus)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub http_timeout: std::time::Duration,

    /// How long the checks may take altogether (not counting --bake)
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Read the data stores' passwords from this file when the cluster's Secret cannot be read
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// Check again every --interval until interrupted, redrawing in place on a terminal
    #[arg(long)]
    pub watch: bool,

    /// How often --watch checks
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_watch, requires = "watch")]
    pub interval: std::time::Duration,

    /// An argument too many: `--watch 2s` (an interval given to --watch,
    /// which takes none) is answered with `--interval 2s`.
    #[arg(hide = true, value_name = "EXTRA")]
    pub stray: Option<String>,

    /// Deadline of each check (a request, a query, a port-forward)
    #[arg(long, value_name = "DURATION", default_value = "1500ms", value_parser = parse_duration)]
    pub check_timeout: std::time::Duration,

    #[command(flatten)]
    pub out: OutputArg,
}

/// Where backups are: the environment's `backup` entry unless given.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// Backup store instead of the environment's `backup` entry: a directory, file:///DIR,
    /// s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]
    #[arg(long = "to", visible_alias = "from", value_name = "URL")]
    pub store: Option<String>,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub action: Option<BackupAction>,

    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT", required = true)]
    pub environment: Option<String>,

    /// Only these parts (comma-separated): postgres, redis, resources
    #[arg(long, value_name = "PART", value_delimiter = ',')]
    pub only: Vec<String>,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// How long the whole backup may take, e.g. 30m, 2h
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Do not delete expired backups after a successful one
    #[arg(long)]
    pub no_prune: bool,

    /// A dump stream that carries no data for this long is taken as lost (the part fails)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub stall_timeout: std::time::Duration,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// List an environment's backups, newest first: id, time, size, parts, status
    #[command(after_help = "Examples:\n  fintechctl backup list production\n  fintechctl backup list staging -o json\n  fintechctl backup list local --from /var/backups/fintech", mut_arg("output", |a| a.help("text: a table of the backups, newest first; json or yaml: every backup with its parts, size, status and release version")))]
    List(BackupListArgs),
    /// Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)
    #[command(after_help = "Examples:\n  fintechctl backup verify production latest\n  fintechctl backup verify staging 20261129T203320Z-4f9a1c --drill   # also restore into a scratch database", mut_arg("output", |a| a.help("text: a table of the parts checked; json or yaml: one document with each part's check and the drill's result")))]
    Verify(BackupVerifyArgs),
    /// Delete backups older than `backup.retentionDays` (never the newest complete one)
    #[command(after_help = "Examples:\n  fintechctl backup prune staging --dry-run   # what would go\n  fintechctl backup prune production", mut_arg("output", |a| a.help("text: nothing on stdout (stderr says what was deleted and kept); json or yaml: the backups deleted and kept")))]
    Prune(BackupPruneArgs),
}

#[derive(Debug, Args)]
pub struct BackupListArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct BackupVerifyArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    /// Backup ID (see `backup list`), or `latest`
    #[arg(value_name = "ID")]
    pub backup: String,

    /// Also restore the dump into a scratch database on the same server, compare row counts
    /// and the alembic revision with the manifest, and drop it
    #[arg(long)]
    pub drill: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub target: TargetArgs,

    /// How long the verification may take
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct BackupPruneArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    /// Say what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    /// Backup ID (see `backup list`), or `latest` (the newest complete one)
    #[arg(value_name = "ID")]
    pub backup: String,

    /// Only these parts (comma-separated): postgres, redis, resources
    #[arg(long, value_name = "PART", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Verify the backup and show the plan, change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Answer yes to confirmations (a restore asks in every environment; required without a terminal)
    #[arg(long)]
    pub yes: bool,

    /// age identity file that decrypts the backup's Secrets (resources part)
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,

    /// Restore a backup that another environment took (its manifest names it), e.g. production's data into staging; its resources part is never restored across environments
    #[arg(long, value_name = "ENVIRONMENT")]
    pub from_environment: Option<String>,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// How long the whole restore may take
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// How long the deploy lock outlives this run's last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)
    #[arg(long, env = "FINTECHCTL_LOCK_TTL", value_name = "DURATION", default_value = "30s", value_parser = parse_lock_ttl)]
    pub lock_ttl: std::time::Duration,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct DebugArgs {
    #[command(subcommand)]
    pub command: Option<DebugCommand>,

    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT", required = true)]
    pub environment: Option<String>,

    /// Only this component (e.g. api-gateway); default: all of the environment's
    #[arg(value_name = "COMPONENT")]
    pub component: Option<String>,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Logs of all pods of the components, interleaved with a pod/container prefix (like stern)
    #[command(
        after_help = "Examples:\n  fintechctl debug logs production api-gateway ml-service -f\n  \
fintechctl debug logs staging --since 10m --grep 'ERROR|Traceback'\n  \
fintechctl debug logs production ml-service --previous",
        mut_arg("output", |a| a.help("text or yaml: each line prefixed [pod/container]; json: one JSON object per line"))
    )]
    Logs(DebugLogsArgs),
    /// An interactive shell (or a command) in a pod of a component, with a TTY
    #[command(
        after_help = "Examples:\n  fintechctl debug shell production api-gateway\n  \
fintechctl debug shell staging ml-service --pod ml-service-7d9f-x2k4p -- python -c 'import torch'"
    )]
    Shell(DebugShellArgs),
    /// Forward local ports to a ready pod of a component (Ctrl-C to stop)
    #[command(
        name = "port-forward",
        after_help = "Examples:\n  fintechctl debug port-forward production api-gateway 8000\n  \
fintechctl debug port-forward staging ml-service 18001:8001"
    )]
    PortForward(DebugPortForwardArgs),
    /// CPU and memory use of every pod and container against its requests and limits
    #[command(after_help = "Example:\n  fintechctl debug top production",
        mut_arg("output", |a| a.help("text: a table, closest to a limit first; json or yaml: every pod and container's use against its requests and limits"))
    )]
    Top(DebugTopArgs),
    /// Write a .tar.gz with everything on-call needs for an incident (secrets redacted)
    #[command(after_help = "Examples:\n  fintechctl debug bundle production\n  \
fintechctl debug bundle staging --to /tmp/incident.tar.gz",
        mut_arg("output", |a| a.help("text: the bundle's path; json or yaml: its path and files"))
    )]
    Bundle(DebugBundleArgs),
}

#[derive(Debug, Args)]
pub struct DebugLogsArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    /// Components whose pods to show (default: all of the environment's)
    #[arg(value_name = "COMPONENT")]
    pub components: Vec<String>,

    /// Keep streaming: new pods are picked up, restarted containers followed
    #[arg(short, long)]
    pub follow: bool,

    /// Only lines newer than this, e.g. 10m, 1h
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,

    /// Only lines matching this regular expression
    #[arg(long, value_name = "REGEX")]
    pub grep: Option<String>,

    /// The previous (crashed) instance of each container
    #[arg(long, conflicts_with = "follow")]
    pub previous: bool,

    /// Lines of each container to start with (default: all; 10 with --follow)
    #[arg(long, value_name = "N")]
    pub tail: Option<i64>,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct DebugShellArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    /// Component whose pod to enter, e.g. api-gateway
    #[arg(value_name = "COMPONENT")]
    pub component: String,

    /// This pod (default: the only running pod, else a picker on a terminal)
    #[arg(long, value_name = "NAME")]
    pub pod: Option<String>,

    /// This container (default: the pod's first)
    #[arg(short, long, value_name = "NAME")]
    pub container: Option<String>,

    /// The command to run (default: /bin/bash, else /bin/sh)
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,

    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct DebugPortForwardArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    /// Component to forward to, e.g. api-gateway
    #[arg(value_name = "COMPONENT")]
    pub component: String,

    /// `[LOCAL:]REMOTE` port pairs, e.g. 8000 or 18000:8000 (LOCAL 0: any free port)
    #[arg(value_name = "[LOCAL:]REMOTE", required = true)]
    pub ports: Vec<String>,

    /// Local address to listen on
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1")]
    pub address: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct DebugTopArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

#[derive(Debug, Args)]
pub struct DebugBundleArgs {
    /// Environment: local, staging or production (or a file in --environments-dir)
    #[arg(value_name = "ENVIRONMENT")]
    pub environment: String,

    /// Where to write the bundle (default: ./fintechctl-debug-<env>-<time>.tar.gz)
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub out: OutputArg,
}

/// A duration such as `90s`, `10m`, `1h30m` or `500ms`, longer than zero.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_positive(s)?;
    // Added to a clock, a duration of centuries overflows it.
    if d > MAX_DURATION {
        return Err(format!("`{s}`: must be at most 366 days"));
    }
    Ok(d)
}

fn parse_positive(s: &str) -> Result<std::time::Duration, String> {
    // humantime's own words ("expected number at 0") are its parser's,
    // not the user's: say what a duration looks like instead.
    let d = humantime::parse_duration(s.trim()).map_err(|_| {
        format!("`{s}` is not a duration: expected a number and a unit, e.g. 500ms, 90s, 10m, 1h")
    })?;
    if d.is_zero() {
        return Err(format!("`{s}`: must be longer than zero"));
    }
    Ok(d)
}

const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(366 * 24 * 3600);

/// A duration from `min` to `max` milliseconds, the range said when it is not.
fn duration_within(
    s: &str,
    (min, min_text): (u64, &str),
    (max, max_text): (u64, &str),
) -> Result<std::time::Duration, String> {
    let d = parse_positive(s)?;
    if d < std::time::Duration::from_millis(min) || d > std::time::Duration::from_millis(max) {
        return Err(format!(
            "`{s}` is out of range: from {min_text} to {max_text}"
        ));
    }
    Ok(d)
}

/// `health --interval`: from 100ms between rounds to an hour.
fn parse_watch(s: &str) -> Result<std::time::Duration, String> {
    duration_within(s, (100, "100ms"), (3_600_000, "1h"))
}

/// `verify --bake`: from a second to a day.
fn parse_bake(s: &str) -> Result<std::time::Duration, String> {
    duration_within(s, (1_000, "1s"), (86_400_000, "24h"))
}

/// A duration like every other duration flag (`30s`, `2m`), in whole
/// seconds (the Lease's unit) from 1s to 24h. A bare number is seconds, as
/// `FINTECHCTL_LOCK_TTL=30` and `--lock-ttl 30` always were.
pub fn parse_lock_ttl(s: &str) -> Result<std::time::Duration, String> {
    let d = match s.trim().parse::<u64>() {
        Ok(secs) => std::time::Duration::from_secs(secs),
        Err(_) => parse_duration(s)?,
    };
    if d.subsec_nanos() != 0 {
        return Err(format!(
            "`{s}`: the lock's time to live is whole seconds (the Lease's unit), e.g. 30s, 2m"
        ));
    }
    if !(1..=86_400).contains(&d.as_secs()) {
        return Err(format!("`{s}`: must be between 1s and 24h"));
    }
    Ok(d)
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

impl Cli {
    /// The command's `-o` (text for the commands without one).
    pub fn output(&self) -> OutputFormat {
        let out = match &self.command {
            Command::Render(a) => &a.out,
            Command::Deploy(a) => &a.out,
            Command::Migrate(a) => &a.out,
            Command::History(a) => &a.out,
            Command::Rollback(a) => &a.out,
            Command::Promote(a) | Command::Abort(a) => &a.out,
            Command::Diff(a) => &a.out,
            Command::Verify(a) => &a.out,
            Command::Health(a) => &a.out,
            Command::Backup(a) => match &a.action {
                None => &a.out,
                Some(BackupAction::List(a)) => &a.out,
                Some(BackupAction::Verify(a)) => &a.out,
                Some(BackupAction::Prune(a)) => &a.out,
            },
            Command::Restore(a) => &a.out,
            Command::Debug(a) => match &a.command {
                None => &a.out,
                Some(DebugCommand::Logs(a)) => &a.out,
                Some(DebugCommand::Top(a)) => &a.out,
                Some(DebugCommand::Bundle(a)) => &a.out,
                Some(DebugCommand::Shell(_) | DebugCommand::PortForward(_)) => {
                    return OutputFormat::Text;
                }
            },
            Command::Completions(_) => return OutputFormat::Text,
        };
        out.output
    }
}

/// The clap command, for completions and tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
