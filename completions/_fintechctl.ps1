
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'fintechctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'fintechctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'fintechctl' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, '`fintechctl --kubeconfig PATH deploy …`, as with kubectl: accepted before the command for scripts and aliases; the command''s own flag wins')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, '`fintechctl --context NAME deploy …` (see `kubeconfig`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print an environment''s manifests, validated, in the order they are applied')
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Run the database migration (`alembic upgrade head`) on demand')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'List an environment''s revisions, newest first')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Re-apply an earlier successful revision (default: the one before the current)')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what a deploy would change, as a unified diff (exit 1 when something would)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Is the platform serving right now? Services, data stores and monitoring on one screen')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fintechctl;render' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Platform release: the image tag of every application service (required for production)')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'TLS certificate (PEM) for the ingress secret')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'TLS private key (PEM) for the ingress secret')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only these components (comma-separated), e.g. api-gateway,ml-service')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'fintechctl;deploy' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Platform release: the image tag of every application service (required for production)')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'TLS certificate (PEM) for the ingress secret')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'TLS private key (PEM) for the ingress secret')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m')
            [CompletionResult]::new('--bundle-dir', '--bundle-dir', [CompletionResultType]::ParameterName, 'Where the debug bundle of a failed rollout is written')
            [CompletionResult]::new('--lock-ttl', '--lock-ttl', [CompletionResultType]::ParameterName, 'How long the deploy lock outlives this run''s last renewal, in seconds')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only these components (comma-separated), e.g. api-gateway,ml-service')
            [CompletionResult]::new('--rollback-on-failure', '--rollback-on-failure', [CompletionResultType]::ParameterName, 'On a failed rollout, keep the evidence and roll back to the last successful revision (default: the environment''s `release.rollbackOnFailure`, on for production)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan (server-side dry run) and stop without changing anything')
            [CompletionResult]::new('--no-prune', '--no-prune', [CompletionResultType]::ParameterName, 'Keep live objects the release no longer contains (default: delete them after a successful rollout)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Break a deploy lock another run holds (says whose, and asks unless --yes)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for production without a terminal)')
            [CompletionResult]::new('--skip-migrations', '--skip-migrations', [CompletionResultType]::ParameterName, 'Do not run the database migration even though the version changes')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields another field manager (e.g. kubectl) owns')
            [CompletionResult]::new('--no-rollback-on-failure', '--no-rollback-on-failure', [CompletionResultType]::ParameterName, 'Never roll back automatically')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'fintechctl;migrate' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Platform release: the image tag of every application service (required for production)')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'TLS certificate (PEM) for the ingress secret')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'TLS private key (PEM) for the ingress secret')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the migration may take, e.g. 90s, 10m')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'Run `alembic upgrade head` inside a running api-gateway pod (exec) instead of a Job')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for production without a terminal)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'fintechctl;history' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'fintechctl;rollback' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m')
            [CompletionResult]::new('--bundle-dir', '--bundle-dir', [CompletionResultType]::ParameterName, 'Where the debug bundle of a failed rollout is written')
            [CompletionResult]::new('--lock-ttl', '--lock-ttl', [CompletionResultType]::ParameterName, 'How long the deploy lock outlives this run''s last renewal, in seconds')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan (server-side dry run) and stop without changing anything')
            [CompletionResult]::new('--no-prune', '--no-prune', [CompletionResultType]::ParameterName, 'Keep live objects the release no longer contains (default: delete them after a successful rollout)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Break a deploy lock another run holds (says whose, and asks unless --yes)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for production without a terminal)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'fintechctl;diff' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Platform release: the image tag of every application service (required for production)')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'TLS certificate (PEM) for the ingress secret')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'TLS private key (PEM) for the ingress secret')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only these components (comma-separated), e.g. api-gateway,ml-service')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'fintechctl;verify' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Platform release: the image tag of every application service (required for production)')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'TLS certificate (PEM) for the ingress secret')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'TLS private key (PEM) for the ingress secret')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Run only these checks (comma-separated ids, see below)')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Skip these checks (comma-separated ids, see below)')
            [CompletionResult]::new('--bake', '--bake', [CompletionResultType]::ParameterName, 'After the checks pass, keep querying the alert expressions for this long and fail the moment one crosses its threshold, e.g. 5m')
            [CompletionResult]::new('--bake-interval', '--bake-interval', [CompletionResultType]::ParameterName, 'How often --bake queries Prometheus')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Deadline of each HTTP request a check makes (service proxy, Prometheus)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the checks may take altogether (not counting --bake)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Warnings fail too (exit 1), and an unreachable Prometheus is a failure')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'fintechctl;health' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read the data stores'' passwords from this file when the cluster''s Secret cannot be read')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Check again every INTERVAL (default 5s) until interrupted, redrawing in place on a terminal')
            [CompletionResult]::new('--check-timeout', '--check-timeout', [CompletionResultType]::ParameterName, 'Deadline of each check (a request, a query, a port-forward)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'fintechctl;completions' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format of the data printed on stdout')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'fintechctl;help' {
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print an environment''s manifests, validated, in the order they are applied')
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Run the database migration (`alembic upgrade head`) on demand')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'List an environment''s revisions, newest first')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Re-apply an earlier successful revision (default: the one before the current)')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what a deploy would change, as a unified diff (exit 1 when something would)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Is the platform serving right now? Services, data stores and monitoring on one screen')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fintechctl;help;render' {
            break
        }
        'fintechctl;help;deploy' {
            break
        }
        'fintechctl;help;migrate' {
            break
        }
        'fintechctl;help;history' {
            break
        }
        'fintechctl;help;rollback' {
            break
        }
        'fintechctl;help;diff' {
            break
        }
        'fintechctl;help;verify' {
            break
        }
        'fintechctl;help;health' {
            break
        }
        'fintechctl;help;completions' {
            break
        }
        'fintechctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
