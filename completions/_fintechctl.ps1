
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
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, '`fintechctl --kubeconfig PATH deploy …`, as with kubectl: accepted before the command for scripts and aliases; the command''s own flag wins')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, '`fintechctl --context NAME deploy …` (see `kubeconfig`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print an environment''s manifests, validated, in the order they are applied')
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts')
            [CompletionResult]::new('promote', 'promote', [CompletionResultType]::ParameterValue, 'Finish a paused canary: the stable Deployments roll to its version, then the canary is removed')
            [CompletionResult]::new('abort', 'abort', [CompletionResultType]::ParameterValue, 'Abort a paused (or left-over) canary: weight 0, the canary removed, the stable version untouched')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Run the database migration (`alembic upgrade head`) on demand')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'List an environment''s revisions, newest first')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Re-apply an earlier successful revision (default: the one before the current)')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what a deploy would change, as a unified diff (exit 1 when something would)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Is the platform serving right now? Services, data stores and monitoring on one screen')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Back up an environment''s data (PostgreSQL, Redis, the namespace''s objects); list, verify, prune')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Restore a verified backup: checksums first, the plan, confirmation, the deploy lock, writers scaled down and back')
            [CompletionResult]::new('debug', 'debug', [CompletionResultType]::ParameterValue, 'Triage an environment (worst first, a card per unhealthy workload), or debug it with a subcommand')
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text and yaml: the objects as multi-document YAML, in the order a deploy applies them; json: a JSON list of the objects')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text and yaml: the objects as multi-document YAML, in the order a deploy applies them; json: a JSON list of the objects')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
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
            [CompletionResult]::new('--lock-ttl', '--lock-ttl', [CompletionResultType]::ParameterName, 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only these components (comma-separated), e.g. api-gateway,ml-service')
            [CompletionResult]::new('--rollback-on-failure', '--rollback-on-failure', [CompletionResultType]::ParameterName, 'On a failed rollout, keep the evidence and roll back to the last successful revision (default: the environment''s `release.rollbackOnFailure`, on for production)')
            [CompletionResult]::new('--strategy', '--strategy', [CompletionResultType]::ParameterName, 'rolling: every pod through a rolling update; canary: a share of the traffic first, judged by the metrics (default: the environment''s `release.strategy`)')
            [CompletionResult]::new('--canary-steps', '--canary-steps', [CompletionResultType]::ParameterName, 'The canary''s traffic percentages, strictly ascending, each 1 to 99, e.g. 10,50 (default: `release.canary.steps`)')
            [CompletionResult]::new('--canary-interval', '--canary-interval', [CompletionResultType]::ParameterName, 'How long each canary step runs before it is judged, 1s to 1h, e.g. 30s (default: `release.canary.interval`)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a table of the rollouts; json or yaml: one document with the plan, the applied objects, the migration check, the migration, the rollouts, the failures and the outcome')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a table of the rollouts; json or yaml: one document with the plan, the applied objects, the migration check, the migration, the rollouts, the failures and the outcome')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan (server-side dry run) and stop without changing anything')
            [CompletionResult]::new('--no-prune', '--no-prune', [CompletionResultType]::ParameterName, 'Keep live objects the release no longer contains (default: delete them after a successful rollout)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Break a deploy lock another run holds (says whose, and asks unless --yes)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for production without a terminal)')
            [CompletionResult]::new('--allow-other-cluster', '--allow-other-cluster', [CompletionResultType]::ParameterName, 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)')
            [CompletionResult]::new('--skip-migrations', '--skip-migrations', [CompletionResultType]::ParameterName, 'Do not run the database migration even though the version changes')
            [CompletionResult]::new('--allow-breaking-migration', '--allow-breaking-migration', [CompletionResultType]::ParameterName, 'Deploy although the migration''s SQL has breaking statements (drop, rename, type change, ...); refused without it in protected environments and canary deploys; recorded in the release')
            [CompletionResult]::new('--allow-unchecked-migration', '--allow-unchecked-migration', [CompletionResultType]::ParameterName, 'Deploy a protected environment although the migration''s SQL could not be checked (alembic''s offline mode failed or timed out); recorded in the release')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields another field manager (e.g. kubectl) owns')
            [CompletionResult]::new('--no-rollback-on-failure', '--no-rollback-on-failure', [CompletionResultType]::ParameterName, 'Never roll back automatically')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;promote' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the whole command may take, e.g. 90s, 10m')
            [CompletionResult]::new('--lock-ttl', '--lock-ttl', [CompletionResultType]::ParameterName, 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: the rollouts; json or yaml: one document with the revision, the canary''s health, the rollouts and the outcome')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: the rollouts; json or yaml: one document with the revision, the canary''s health, the rollouts and the outcome')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for production without a terminal)')
            [CompletionResult]::new('--allow-other-cluster', '--allow-other-cluster', [CompletionResultType]::ParameterName, 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;abort' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the whole command may take, e.g. 90s, 10m')
            [CompletionResult]::new('--lock-ttl', '--lock-ttl', [CompletionResultType]::ParameterName, 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: what was removed; json or yaml: one document with the revision, the canary''s health, what was removed and the outcome')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: what was removed; json or yaml: one document with the revision, the canary''s health, what was removed and the outcome')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for production without a terminal)')
            [CompletionResult]::new('--allow-other-cluster', '--allow-other-cluster', [CompletionResultType]::ParameterName, 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: nothing on stdout (progress and the result are on stderr); json or yaml: one document with the migration''s Job or pod, exit code and outcome')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: nothing on stdout (progress and the result are on stderr); json or yaml: one document with the migration''s Job or pod, exit code and outcome')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'Run `alembic upgrade head` inside a running api-gateway pod (exec) instead of a Job')
            [CompletionResult]::new('--allow-other-cluster', '--allow-other-cluster', [CompletionResultType]::ParameterName, 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for production without a terminal)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;history' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a table of the revisions, newest first; json or yaml: the release records')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a table of the revisions, newest first; json or yaml: the release records')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;rollback' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m')
            [CompletionResult]::new('--bundle-dir', '--bundle-dir', [CompletionResultType]::ParameterName, 'Where the debug bundle of a failed rollout is written')
            [CompletionResult]::new('--lock-ttl', '--lock-ttl', [CompletionResultType]::ParameterName, 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a table of the rollouts; json or yaml: one document as deploy''s, for the revision re-applied')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a table of the rollouts; json or yaml: one document as deploy''s, for the revision re-applied')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan (server-side dry run) and stop without changing anything')
            [CompletionResult]::new('--no-prune', '--no-prune', [CompletionResultType]::ParameterName, 'Keep live objects the release no longer contains (default: delete them after a successful rollout)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Break a deploy lock another run holds (says whose, and asks unless --yes)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for production without a terminal)')
            [CompletionResult]::new('--allow-other-cluster', '--allow-other-cluster', [CompletionResultType]::ParameterName, 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a unified diff; json or yaml: the changes object by object')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a unified diff; json or yaml: the changes object by object')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
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
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a table worst first, with the evidence and hint of every check that did not pass; json or yaml: every check with its status, evidence and hint')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a table worst first, with the evidence and hint of every check that did not pass; json or yaml: every check with its status, evidence and hint')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Warnings fail too (exit 1), and an unreachable Prometheus is a failure')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;health' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--env-file', '--env-file', [CompletionResultType]::ParameterName, 'Read the data stores'' passwords from this file when the cluster''s Secret cannot be read')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'How often --watch checks')
            [CompletionResult]::new('--check-timeout', '--check-timeout', [CompletionResultType]::ParameterName, 'Deadline of each check (a request, a query, a port-forward)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: one screen, down first (redrawn in place with --watch on a terminal); json: one document (one line per round with --watch); yaml')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: one screen, down first (redrawn in place with --watch on a terminal); json: one document (one line per round with --watch); yaml')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Check again every --interval until interrupted, redrawing in place on a terminal')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;backup' {
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only these parts (comma-separated): postgres, redis, resources')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the whole backup may take, e.g. 30m, 2h')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'A dump stream that carries no data for this long is taken as lost (the part fails)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a table of the parts; json or yaml: one document with the parts, the manifest and what was pruned')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a table of the parts; json or yaml: one document with the parts, the manifest and what was pruned')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--no-prune', '--no-prune', [CompletionResultType]::ParameterName, 'Do not delete expired backups after a successful one')
            [CompletionResult]::new('--allow-other-cluster', '--allow-other-cluster', [CompletionResultType]::ParameterName, 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List an environment''s backups, newest first: id, time, size, parts, status')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete backups older than `backup.retentionDays` (never the newest complete one)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fintechctl;backup;list' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a table of the backups, newest first; json or yaml: every backup with its parts, size, status and release version')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a table of the backups, newest first; json or yaml: every backup with its parts, size, status and release version')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;backup;verify' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the verification may take')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a table of the parts checked; json or yaml: one document with each part''s check and the drill''s result')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a table of the parts checked; json or yaml: one document with each part''s check and the drill''s result')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--drill', '--drill', [CompletionResultType]::ParameterName, 'Also restore the dump into a scratch database on the same server, compare row counts and the alembic revision with the manifest, and drop it')
            [CompletionResult]::new('--allow-other-cluster', '--allow-other-cluster', [CompletionResultType]::ParameterName, 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;backup;prune' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: nothing on stdout (stderr says what was deleted and kept); json or yaml: the backups deleted and kept')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: nothing on stdout (stderr says what was deleted and kept); json or yaml: the backups deleted and kept')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would be deleted, delete nothing')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;backup;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List an environment''s backups, newest first: id, time, size, parts, status')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete backups older than `backup.retentionDays` (never the newest complete one)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fintechctl;backup;help;list' {
            break
        }
        'fintechctl;backup;help;verify' {
            break
        }
        'fintechctl;backup;help;prune' {
            break
        }
        'fintechctl;backup;help;help' {
            break
        }
        'fintechctl;restore' {
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only these parts (comma-separated): postgres, redis, resources')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'age identity file that decrypts the backup''s Secrets (resources part)')
            [CompletionResult]::new('--from-environment', '--from-environment', [CompletionResultType]::ParameterName, 'Restore a backup that another environment took (its manifest names it), e.g. production''s data into staging; its resources part is never restored across environments')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the whole restore may take')
            [CompletionResult]::new('--lock-ttl', '--lock-ttl', [CompletionResultType]::ParameterName, 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a table of the parts restored; json or yaml: one document with the plan and each part''s result')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a table of the parts restored; json or yaml: one document with the plan and each part''s result')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Verify the backup and show the plan, change nothing')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (a restore asks in every environment; required without a terminal)')
            [CompletionResult]::new('--allow-other-cluster', '--allow-other-cluster', [CompletionResultType]::ParameterName, 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;debug' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a card for each unhealthy component, worst first, a line for each healthy one; json or yaml: the components, the causes and the last revision')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a card for each unhealthy component, worst first, a line for each healthy one; json or yaml: the components, the causes and the last revision')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Logs of all pods of the components, interleaved with a pod/container prefix (like stern)')
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'An interactive shell (or a command) in a pod of a component, with a TTY')
            [CompletionResult]::new('port-forward', 'port-forward', [CompletionResultType]::ParameterValue, 'Forward local ports to a ready pod of a component (Ctrl-C to stop)')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'CPU and memory use of every pod and container against its requests and limits')
            [CompletionResult]::new('bundle', 'bundle', [CompletionResultType]::ParameterValue, 'Write a .tar.gz with everything on-call needs for an incident (secrets redacted)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fintechctl;debug;logs' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only lines newer than this, e.g. 10m, 1h')
            [CompletionResult]::new('--grep', '--grep', [CompletionResultType]::ParameterName, 'Only lines matching this regular expression')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Lines of each container to start with (default: all; 10 with --follow)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text or yaml: each line prefixed [pod/container]; json: one JSON object per line')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text or yaml: each line prefixed [pod/container]; json: one JSON object per line')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep streaming: new pods are picked up, restarted containers followed')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep streaming: new pods are picked up, restarted containers followed')
            [CompletionResult]::new('--previous', '--previous', [CompletionResultType]::ParameterName, 'The previous (crashed) instance of each container')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;debug;shell' {
            [CompletionResult]::new('--pod', '--pod', [CompletionResultType]::ParameterName, 'This pod (default: the only running pod, else a picker on a terminal)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'This container (default: the pod''s first)')
            [CompletionResult]::new('--container', '--container', [CompletionResultType]::ParameterName, 'This container (default: the pod''s first)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;debug;port-forward' {
            [CompletionResult]::new('--address', '--address', [CompletionResultType]::ParameterName, 'Local address to listen on')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;debug;top' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: a table, closest to a limit first; json or yaml: every pod and container''s use against its requests and limits')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: a table, closest to a limit first; json or yaml: every pod and container''s use against its requests and limits')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;debug;bundle' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Where to write the bundle (default: ./fintechctl-debug-<env>-<time>.tar.gz)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'kubeconfig context to use instead of the environment''s cluster entry')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Deadline of each API request (a frozen API server fails the command instead of hanging it)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'text: the bundle''s path; json or yaml: its path and files')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'text: the bundle''s path; json or yaml: its path and files')
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;debug;help' {
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Logs of all pods of the components, interleaved with a pod/container prefix (like stern)')
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'An interactive shell (or a command) in a pod of a component, with a TTY')
            [CompletionResult]::new('port-forward', 'port-forward', [CompletionResultType]::ParameterValue, 'Forward local ports to a ready pod of a component (Ctrl-C to stop)')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'CPU and memory use of every pod and container against its requests and limits')
            [CompletionResult]::new('bundle', 'bundle', [CompletionResultType]::ParameterValue, 'Write a .tar.gz with everything on-call needs for an incident (secrets redacted)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fintechctl;debug;help;logs' {
            break
        }
        'fintechctl;debug;help;shell' {
            break
        }
        'fintechctl;debug;help;port-forward' {
            break
        }
        'fintechctl;debug;help;top' {
            break
        }
        'fintechctl;debug;help;bundle' {
            break
        }
        'fintechctl;debug;help;help' {
            break
        }
        'fintechctl;completions' {
            [CompletionResult]::new('--environments-dir', '--environments-dir', [CompletionResultType]::ParameterName, 'Directory of environment files that replaces the built-in ones')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'fintechctl;help' {
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Print an environment''s manifests, validated, in the order they are applied')
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts')
            [CompletionResult]::new('promote', 'promote', [CompletionResultType]::ParameterValue, 'Finish a paused canary: the stable Deployments roll to its version, then the canary is removed')
            [CompletionResult]::new('abort', 'abort', [CompletionResultType]::ParameterValue, 'Abort a paused (or left-over) canary: weight 0, the canary removed, the stable version untouched')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Run the database migration (`alembic upgrade head`) on demand')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'List an environment''s revisions, newest first')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Re-apply an earlier successful revision (default: the one before the current)')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what a deploy would change, as a unified diff (exit 1 when something would)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Is the platform serving right now? Services, data stores and monitoring on one screen')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Back up an environment''s data (PostgreSQL, Redis, the namespace''s objects); list, verify, prune')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Restore a verified backup: checksums first, the plan, confirmation, the deploy lock, writers scaled down and back')
            [CompletionResult]::new('debug', 'debug', [CompletionResultType]::ParameterValue, 'Triage an environment (worst first, a card per unhealthy workload), or debug it with a subcommand')
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
        'fintechctl;help;promote' {
            break
        }
        'fintechctl;help;abort' {
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
        'fintechctl;help;backup' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List an environment''s backups, newest first: id, time, size, parts, status')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete backups older than `backup.retentionDays` (never the newest complete one)')
            break
        }
        'fintechctl;help;backup;list' {
            break
        }
        'fintechctl;help;backup;verify' {
            break
        }
        'fintechctl;help;backup;prune' {
            break
        }
        'fintechctl;help;restore' {
            break
        }
        'fintechctl;help;debug' {
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Logs of all pods of the components, interleaved with a pod/container prefix (like stern)')
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'An interactive shell (or a command) in a pod of a component, with a TTY')
            [CompletionResult]::new('port-forward', 'port-forward', [CompletionResultType]::ParameterValue, 'Forward local ports to a ready pod of a component (Ctrl-C to stop)')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'CPU and memory use of every pod and container against its requests and limits')
            [CompletionResult]::new('bundle', 'bundle', [CompletionResultType]::ParameterValue, 'Write a .tar.gz with everything on-call needs for an incident (secrets redacted)')
            break
        }
        'fintechctl;help;debug;logs' {
            break
        }
        'fintechctl;help;debug;shell' {
            break
        }
        'fintechctl;help;debug;port-forward' {
            break
        }
        'fintechctl;help;debug;top' {
            break
        }
        'fintechctl;help;debug;bundle' {
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
