# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_fintechctl_global_optspecs
    string join \n o/output= environments-dir= v/verbose q/quiet color= kubeconfig= context= h/help V/version
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

complete -c fintechctl -n "__fish_fintechctl_needs_command" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_needs_command" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_needs_command" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_needs_command" -l kubeconfig -d '`fintechctl --kubeconfig PATH deploy …`, as with kubectl: accepted before the command for scripts and aliases; the command\'s own flag wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_needs_command" -l context -d '`fintechctl --context NAME deploy …` (see `kubeconfig`)' -r
complete -c fintechctl -n "__fish_fintechctl_needs_command" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -s V -l version -d 'Print version'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "render" -d 'Print an environment\'s manifests, validated, in the order they are applied'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "deploy" -d 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "migrate" -d 'Run the database migration (`alembic upgrade head`) on demand'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "history" -d 'List an environment\'s revisions, newest first'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "rollback" -d 'Re-apply an earlier successful revision (default: the one before the current)'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "diff" -d 'Show what a deploy would change, as a unified diff (exit 1 when something would)'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "verify" -d 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "health" -d 'Is the platform serving right now? Services, data stores and monitoring on one screen'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c fintechctl -n "__fish_fintechctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l version -d 'Platform release: the image tag of every application service (required for production)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l env-file -d 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l tls-cert -d 'TLS certificate (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l tls-key -d 'TLS private key (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l only -d 'Only these components (comma-separated), e.g. api-gateway,ml-service' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l version -d 'Platform release: the image tag of every application service (required for production)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l env-file -d 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l tls-cert -d 'TLS certificate (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l tls-key -d 'TLS private key (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l timeout -d 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l bundle-dir -d 'Where the debug bundle of a failed rollout is written' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l lock-ttl -d 'How long the deploy lock outlives this run\'s last renewal, in seconds' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l only -d 'Only these components (comma-separated), e.g. api-gateway,ml-service' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l rollback-on-failure -d 'On a failed rollout, keep the evidence and roll back to the last successful revision (default: the environment\'s `release.rollbackOnFailure`, on for production)' -r -f -a "true\t''
false\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l dry-run -d 'Show the plan (server-side dry run) and stop without changing anything'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l no-prune -d 'Keep live objects the release no longer contains (default: delete them after a successful rollout)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l force-unlock -d 'Break a deploy lock another run holds (says whose, and asks unless --yes)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l yes -d 'Answer yes to confirmations (required for production without a terminal)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l skip-migrations -d 'Do not run the database migration even though the version changes'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l force-conflicts -d 'Take over fields another field manager (e.g. kubectl) owns'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -l no-rollback-on-failure -d 'Never roll back automatically'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand deploy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l version -d 'Platform release: the image tag of every application service (required for production)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l env-file -d 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l tls-cert -d 'TLS certificate (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l tls-key -d 'TLS private key (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l timeout -d 'How long the migration may take, e.g. 90s, 10m' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l exec -d 'Run `alembic upgrade head` inside a running api-gateway pod (exec) instead of a Job'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -l yes -d 'Answer yes to confirmations (required for production without a terminal)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l timeout -d 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l bundle-dir -d 'Where the debug bundle of a failed rollout is written' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l lock-ttl -d 'How long the deploy lock outlives this run\'s last renewal, in seconds' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l dry-run -d 'Show the plan (server-side dry run) and stop without changing anything'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l no-prune -d 'Keep live objects the release no longer contains (default: delete them after a successful rollout)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l force-unlock -d 'Break a deploy lock another run holds (says whose, and asks unless --yes)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -l yes -d 'Answer yes to confirmations (required for production without a terminal)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l version -d 'Platform release: the image tag of every application service (required for production)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l env-file -d 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l tls-cert -d 'TLS certificate (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l tls-key -d 'TLS private key (PEM) for the ingress secret' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l only -d 'Only these components (comma-separated), e.g. api-gateway,ml-service' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
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
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -l strict -d 'Warnings fail too (exit 1), and an unreachable Prometheus is a failure'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l kubeconfig -d 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment\'s cluster entry)' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l context -d 'kubeconfig context to use instead of the environment\'s cluster entry' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l request-timeout -d 'Deadline of each API request (a frozen API server fails the command instead of hanging it)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l env-file -d 'Read the data stores\' passwords from this file when the cluster\'s Secret cannot be read' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l watch -d 'Check again every INTERVAL (default 5s) until interrupted, redrawing in place on a terminal' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l check-timeout -d 'Deadline of each check (a request, a query, a port-forward)' -r
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -s o -l output -d 'Output format of the data printed on stdout' -r -f -a "text\t'Human-readable (for `render`: multi-document YAML)'
json\t'One JSON document'
yaml\t'YAML'"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -l environments-dir -d 'Directory of environment files that replaces the built-in ones' -r -F
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -l color -d 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -s v -l verbose -d 'More detail on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "render" -d 'Print an environment\'s manifests, validated, in the order they are applied'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "deploy" -d 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "migrate" -d 'Run the database migration (`alembic upgrade head`) on demand'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "history" -d 'List an environment\'s revisions, newest first'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "rollback" -d 'Re-apply an earlier successful revision (default: the one before the current)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "diff" -d 'Show what a deploy would change, as a unified diff (exit 1 when something would)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "verify" -d 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "health" -d 'Is the platform serving right now? Services, data stores and monitoring on one screen'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c fintechctl -n "__fish_fintechctl_using_subcommand help; and not __fish_seen_subcommand_from render deploy migrate history rollback diff verify health completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
