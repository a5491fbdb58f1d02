# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_fintechctl_global_optspecs
    string join \n environments-dir= v/verbose q/quiet color= kubeconfig= context= h/help V/version
end

function __fish_fintechctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_fintechctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_fintechctl_using_subcommand
    set -l cmd (__fish_fintechctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c fintechctl -n "__fish_fintechctl_needs_command" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_needs_command" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_needs_command" -l kubeconfig -d '`fintechctl --kubeconfig PATH deploy …`, as with kubectl: accepted before the command for scripts and aliases; the command\'s own flag wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_needs_command" -l context -d '`fintechctl --context NAME deploy …` (see `kubeconfig`)' -r
complete -c fintechctl -n "__fish_fintechctl_needs_command" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -s V -l version -d 'Print version'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "render" -d 'Print an environment\'s manifests, validated, in the order they are applied'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "deploy" -d 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "promote" -d 'Finish a paused canary: the stable Deployments roll to its version, then the canary is removed'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "abort" -d 'Abort a paused (or left-over) canary: weight 0, the canary removed, the stable version untouched'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "migrate" -d 'Run the database migration (`alembic upgrade head`) on demand'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "history" -d 'List an environment\'s revisions, newest first'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "rollback" -d 'Re-apply an earlier successful revision (default: the one before the current)'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "diff" -d 'Show what a deploy would change, as a unified diff (exit 1 when something would)'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "verify" -d 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "health" -d 'Is the platform serving right now? Services, data stores and monitoring on one screen'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "backup" -d 'Back up an environment\'s data (PostgreSQL, Redis, the namespace\'s objects); list, verify, prune'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "restore" -d 'Restore a verified backup: checksums first, the plan, confirmation, the deploy lock, writers scaled down and back'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "debug" -d 'Triage an environment (worst first, a card per unhealthy workload), or debug it with a subcommand'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l version -d 'Platform release: the image tag of every application service (required for production)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l env-file -d 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l tls-cert -d 'TLS certificate (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l tls-key -d 'TLS private key (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l only -d 'Only these components (comma-separated), e.g. api-gateway,ml-service' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -s o -l output -d 'text and yaml: the objects as multi-document YAML, in the order a deploy applies them; json: a JSON list of the objects' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l version -d 'Platform release: the image tag of every application service (required for production)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l env-file -d 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l tls-cert -d 'TLS certificate (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l tls-key -d 'TLS private key (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l timeout -d 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l bundle-dir -d 'Where the debug bundle of a failed rollout is written' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l lock-ttl -d 'How long the deploy lock outlives this run\'s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l only -d 'Only these components (comma-separated), e.g. api-gateway,ml-service' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l rollback-on-failure -d 'On a failed rollout, keep the evidence and roll back to the last successful revision (default: the environment\'s `release.rollbackOnFailure`, on for production)' -r -f -a "true\t''
false\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l strategy -d 'rolling: every pod through a rolling update; canary: a share of the traffic first, judged by the metrics (default: the environment\'s `release.strategy`)' -r -f -a "rolling\t''
canary\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l canary-steps -d 'The canary\'s traffic percentages, strictly ascending, each 1 to 99, e.g. 10,50 (default: `release.canary.steps`)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l canary-interval -d 'How long each canary step runs before it is judged, 1s to 1h, e.g. 30s (default: `release.canary.interval`)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -s o -l output -d 'text: a table of the rollouts; json or yaml: one document with the plan, the applied objects, the migration check, the migration, the rollouts, the failures and the outcome' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l dry-run -d 'Show the plan (server-side dry run) and stop without changing anything'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l no-prune -d 'Keep live objects the release no longer contains (default: delete them after a successful rollout)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l force-unlock -d 'Break a deploy lock another run holds (says whose, and asks unless --yes)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l yes -d 'Answer yes to confirmations (required for production without a terminal)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l allow-other-cluster -d 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster\'s claim)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l skip-migrations -d 'Do not run the database migration even though the version changes'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l allow-breaking-migration -d 'Deploy although the migration\'s SQL has breaking statements (drop, rename, type change, ...); refused without it in protected environments and canary deploys; recorded in the release'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l allow-unchecked-migration -d 'Deploy a protected environment although the migration\'s SQL could not be checked (alembic\'s offline mode failed or timed out); recorded in the release'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l force-conflicts -d 'Take over fields another field manager (e.g. kubectl) owns'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l no-rollback-on-failure -d 'Never roll back automatically'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -l timeout -d 'How long the whole command may take, e.g. 90s, 10m' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -l lock-ttl -d 'How long the deploy lock outlives this run\'s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -s o -l output -d 'text: the rollouts; json or yaml: one document with the revision, the canary\'s health, the rollouts and the outcome' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -l yes -d 'Answer yes to confirmations (required for production without a terminal)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -l allow-other-cluster -d 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster\'s claim)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand promote" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -l timeout -d 'How long the whole command may take, e.g. 90s, 10m' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -l lock-ttl -d 'How long the deploy lock outlives this run\'s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -s o -l output -d 'text: what was removed; json or yaml: one document with the revision, the canary\'s health, what was removed and the outcome' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -l yes -d 'Answer yes to confirmations (required for production without a terminal)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -l allow-other-cluster -d 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster\'s claim)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand abort" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l version -d 'Platform release: the image tag of every application service (required for production)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l env-file -d 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l tls-cert -d 'TLS certificate (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l tls-key -d 'TLS private key (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l timeout -d 'How long the migration may take, e.g. 90s, 10m' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -s o -l output -d 'text: nothing on stdout (progress and the result are on stderr); json or yaml: one document with the migration\'s Job or pod, exit code and outcome' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l exec -d 'Run `alembic upgrade head` inside a running api-gateway pod (exec) instead of a Job'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l allow-other-cluster -d 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster\'s claim)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l yes -d 'Answer yes to confirmations (required for production without a terminal)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -s o -l output -d 'text: a table of the revisions, newest first; json or yaml: the release records' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l timeout -d 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l bundle-dir -d 'Where the debug bundle of a failed rollout is written' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l lock-ttl -d 'How long the deploy lock outlives this run\'s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -s o -l output -d 'text: a table of the rollouts; json or yaml: one document as deploy\'s, for the revision re-applied' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l dry-run -d 'Show the plan (server-side dry run) and stop without changing anything'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l no-prune -d 'Keep live objects the release no longer contains (default: delete them after a successful rollout)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l force-unlock -d 'Break a deploy lock another run holds (says whose, and asks unless --yes)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l yes -d 'Answer yes to confirmations (required for production without a terminal)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l allow-other-cluster -d 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster\'s claim)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l version -d 'Platform release: the image tag of every application service (required for production)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l env-file -d 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l tls-cert -d 'TLS certificate (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l tls-key -d 'TLS private key (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l only -d 'Only these components (comma-separated), e.g. api-gateway,ml-service' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -s o -l output -d 'text: a unified diff; json or yaml: the changes object by object' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l version -d 'Platform release: the image tag of every application service (required for production)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l env-file -d 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l tls-cert -d 'TLS certificate (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l tls-key -d 'TLS private key (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l only -d 'Run only these checks (comma-separated ids, see below)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l skip -d 'Skip these checks (comma-separated ids, see below)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l bake -d 'After the checks pass, keep querying the alert expressions for this long and fail the moment one crosses its threshold, e.g. 5m' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l bake-interval -d 'How often --bake queries Prometheus' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l http-timeout -d 'Deadline of each HTTP request a check makes (service proxy, Prometheus)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l timeout -d 'How long the checks may take altogether (not counting --bake)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -s o -l output -d 'text: a table worst first, with the evidence and hint of every check that did not pass; json or yaml: every check with its status, evidence and hint' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l strict -d 'Warnings fail too (exit 1), and an unreachable Prometheus is a failure'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l env-file -d 'Read the data stores\' passwords from this file when the cluster\'s Secret cannot be read' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l interval -d 'How often --watch checks' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l check-timeout -d 'Deadline of each check (a request, a query, a port-forward)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -s o -l output -d 'text: one screen, down first (redrawn in place with --watch on a terminal); json: one document (one line per round with --watch); yaml' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l watch -d 'Check again every --interval until interrupted, redrawing in place on a terminal'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l only -d 'Only these parts (comma-separated): postgres, redis, resources' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l to -l from -d 'Backup store instead of the environment\'s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l timeout -d 'How long the whole backup may take, e.g. 30m, 2h' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l stall-timeout -d 'A dump stream that carries no data for this long is taken as lost (the part fails)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -s o -l output -d 'text: a table of the parts; json or yaml: one document with the parts, the manifest and what was pruned' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l no-prune -d 'Do not delete expired backups after a successful one'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -l allow-other-cluster -d 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster\'s claim)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -a "list" -d 'List an environment\'s backups, newest first: id, time, size, parts, status'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -a "verify" -d 'Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -a "prune" -d 'Delete backups older than `backup.retentionDays` (never the newest complete one)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and not __fish_seen_subcommand_from list verify prune help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l to -l from -d 'Backup store instead of the environment\'s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from list" -s o -l output -d 'text: a table of the backups, newest first; json or yaml: every backup with its parts, size, status and release version' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l to -l from -d 'Backup store instead of the environment\'s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l timeout -d 'How long the verification may take' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s o -l output -d 'text: a table of the parts checked; json or yaml: one document with each part\'s check and the drill\'s result' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l drill -d 'Also restore the dump into a scratch database on the same server, compare row counts and the alembic revision with the manifest, and drop it'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l allow-other-cluster -d 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster\'s claim)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l to -l from -d 'Backup store instead of the environment\'s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -s o -l output -d 'text: nothing on stdout (stderr says what was deleted and kept); json or yaml: the backups deleted and kept' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l dry-run -d 'Say what would be deleted, delete nothing'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "list" -d 'List an environment\'s backups, newest first: id, time, size, parts, status'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Delete backups older than `backup.retentionDays` (never the newest complete one)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l only -d 'Only these parts (comma-separated): postgres, redis, resources' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l identity -d 'age identity file that decrypts the backup\'s Secrets (resources part)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l from-environment -d 'Restore a backup that another environment took (its manifest names it), e.g. production\'s data into staging; its resources part is never restored across environments' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l to -l from -d 'Backup store instead of the environment\'s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l timeout -d 'How long the whole restore may take' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l lock-ttl -d 'How long the deploy lock outlives this run\'s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -s o -l output -d 'text: a table of the parts restored; json or yaml: one document with the plan and each part\'s result' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l dry-run -d 'Verify the backup and show the plan, change nothing'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l yes -d 'Answer yes to confirmations (a restore asks in every environment; required without a terminal)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -l allow-other-cluster -d 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster\'s claim)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand restore" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -s o -l output -d 'text: a card for each unhealthy component, worst first, a line for each healthy one; json or yaml: the components, the causes and the last revision' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -a "logs" -d 'Logs of all pods of the components, interleaved with a pod/container prefix (like stern)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -a "shell" -d 'An interactive shell (or a command) in a pod of a component, with a TTY'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -a "port-forward" -d 'Forward local ports to a ready pod of a component (Ctrl-C to stop)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -a "top" -d 'CPU and memory use of every pod and container against its requests and limits'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -a "bundle" -d 'Write a .tar.gz with everything on-call needs for an incident (secrets redacted)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and not __fish_seen_subcommand_from logs shell port-forward top bundle help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -l since -d 'Only lines newer than this, e.g. 10m, 1h' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -l grep -d 'Only lines matching this regular expression' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -l tail -d 'Lines of each container to start with (default: all; 10 with --follow)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -s o -l output -d 'text or yaml: each line prefixed [pod/container]; json: one JSON object per line' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -s f -l follow -d 'Keep streaming: new pods are picked up, restarted containers followed'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -l previous -d 'The previous (crashed) instance of each container'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from logs" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -l pod -d 'This pod (default: the only running pod, else a picker on a terminal)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -s c -l container -d 'This container (default: the pod\'s first)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from shell" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from port-forward" -l address -d 'Local address to listen on' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from port-forward" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from port-forward" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from port-forward" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from port-forward" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from port-forward" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from port-forward" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from port-forward" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from port-forward" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from top" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from top" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from top" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from top" -s o -l output -d 'text: a table, closest to a limit first; json or yaml: every pod and container\'s use against its requests and limits' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from top" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from top" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from top" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from top" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from top" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -l to -d 'Where to write the bundle (default: ./fintechctl-debug-<env>-<time>.tar.gz)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -s o -l output -d 'text: the bundle\'s path; json or yaml: its path and files' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from bundle" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "logs" -d 'Logs of all pods of the components, interleaved with a pod/container prefix (like stern)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "shell" -d 'An interactive shell (or a command) in a pod of a component, with a TTY'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "port-forward" -d 'Forward local ports to a ready pod of a component (Ctrl-C to stop)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "top" -d 'CPU and memory use of every pod and container against its requests and limits'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "bundle" -d 'Write a .tar.gz with everything on-call needs for an incident (secrets redacted)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "render" -d 'Print an environment\'s manifests, validated, in the order they are applied'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "deploy" -d 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "promote" -d 'Finish a paused canary: the stable Deployments roll to its version, then the canary is removed'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "abort" -d 'Abort a paused (or left-over) canary: weight 0, the canary removed, the stable version untouched'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "migrate" -d 'Run the database migration (`alembic upgrade head`) on demand'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "history" -d 'List an environment\'s revisions, newest first'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "rollback" -d 'Re-apply an earlier successful revision (default: the one before the current)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "diff" -d 'Show what a deploy would change, as a unified diff (exit 1 when something would)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "verify" -d 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "health" -d 'Is the platform serving right now? Services, data stores and monitoring on one screen'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "backup" -d 'Back up an environment\'s data (PostgreSQL, Redis, the namespace\'s objects); list, verify, prune'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "restore" -d 'Restore a verified backup: checksums first, the plan, confirmation, the deploy lock, writers scaled down and back'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "debug" -d 'Triage an environment (worst first, a card per unhealthy workload), or debug it with a subcommand'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy promote abort migrate history rollback diff verify health backup restore debug completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "list" -d 'List an environment\'s backups, newest first: id, time, size, parts, status'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "verify" -d 'Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "prune" -d 'Delete backups older than `backup.retentionDays` (never the newest complete one)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and __fish_seen_subcommand_from debug" -f -a "logs" -d 'Logs of all pods of the components, interleaved with a pod/container prefix (like stern)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and __fish_seen_subcommand_from debug" -f -a "shell" -d 'An interactive shell (or a command) in a pod of a component, with a TTY'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and __fish_seen_subcommand_from debug" -f -a "port-forward" -d 'Forward local ports to a ready pod of a component (Ctrl-C to stop)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and __fish_seen_subcommand_from debug" -f -a "top" -d 'CPU and memory use of every pod and container against its requests and limits'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and __fish_seen_subcommand_from debug" -f -a "bundle" -d 'Write a .tar.gz with everything on-call needs for an incident (secrets redacted)'
