
use builtin;
use str;

set edit:completion:arg-completer[fintechctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'fintechctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'fintechctl'= {
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --kubeconfig '`fintechctl --kubeconfig PATH deploy …`, as with kubectl: accepted before the command for scripts and aliases; the command''s own flag wins'
            cand --context '`fintechctl --context NAME deploy …` (see `kubeconfig`)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand render 'Print an environment''s manifests, validated, in the order they are applied'
            cand deploy 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts'
            cand migrate 'Run the database migration (`alembic upgrade head`) on demand'
            cand history 'List an environment''s revisions, newest first'
            cand rollback 'Re-apply an earlier successful revision (default: the one before the current)'
            cand diff 'Show what a deploy would change, as a unified diff (exit 1 when something would)'
            cand verify 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)'
            cand health 'Is the platform serving right now? Services, data stores and monitoring on one screen'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fintechctl;render'= {
            cand --version 'Platform release: the image tag of every application service (required for production)'
            cand --env-file 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins'
            cand --tls-cert 'TLS certificate (PEM) for the ingress secret'
            cand --tls-key 'TLS private key (PEM) for the ingress secret'
            cand --only 'Only these components (comma-separated), e.g. api-gateway,ml-service'
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'fintechctl;deploy'= {
            cand --version 'Platform release: the image tag of every application service (required for production)'
            cand --env-file 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins'
            cand --tls-cert 'TLS certificate (PEM) for the ingress secret'
            cand --tls-key 'TLS private key (PEM) for the ingress secret'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --timeout 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m'
            cand --bundle-dir 'Where the debug bundle of a failed rollout is written'
            cand --lock-ttl 'How long the deploy lock outlives this run''s last renewal, in seconds'
            cand --only 'Only these components (comma-separated), e.g. api-gateway,ml-service'
            cand --rollback-on-failure 'On a failed rollout, keep the evidence and roll back to the last successful revision (default: the environment''s `release.rollbackOnFailure`, on for production)'
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --dry-run 'Show the plan (server-side dry run) and stop without changing anything'
            cand --no-prune 'Keep live objects the release no longer contains (default: delete them after a successful rollout)'
            cand --force-unlock 'Break a deploy lock another run holds (says whose, and asks unless --yes)'
            cand --yes 'Answer yes to confirmations (required for production without a terminal)'
            cand --skip-migrations 'Do not run the database migration even though the version changes'
            cand --force-conflicts 'Take over fields another field manager (e.g. kubectl) owns'
            cand --no-rollback-on-failure 'Never roll back automatically'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'fintechctl;migrate'= {
            cand --version 'Platform release: the image tag of every application service (required for production)'
            cand --env-file 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins'
            cand --tls-cert 'TLS certificate (PEM) for the ingress secret'
            cand --tls-key 'TLS private key (PEM) for the ingress secret'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --timeout 'How long the migration may take, e.g. 90s, 10m'
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --exec 'Run `alembic upgrade head` inside a running api-gateway pod (exec) instead of a Job'
            cand --yes 'Answer yes to confirmations (required for production without a terminal)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'fintechctl;history'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'fintechctl;rollback'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --timeout 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m'
            cand --bundle-dir 'Where the debug bundle of a failed rollout is written'
            cand --lock-ttl 'How long the deploy lock outlives this run''s last renewal, in seconds'
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --dry-run 'Show the plan (server-side dry run) and stop without changing anything'
            cand --no-prune 'Keep live objects the release no longer contains (default: delete them after a successful rollout)'
            cand --force-unlock 'Break a deploy lock another run holds (says whose, and asks unless --yes)'
            cand --yes 'Answer yes to confirmations (required for production without a terminal)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'fintechctl;diff'= {
            cand --version 'Platform release: the image tag of every application service (required for production)'
            cand --env-file 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins'
            cand --tls-cert 'TLS certificate (PEM) for the ingress secret'
            cand --tls-key 'TLS private key (PEM) for the ingress secret'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --only 'Only these components (comma-separated), e.g. api-gateway,ml-service'
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'fintechctl;verify'= {
            cand --version 'Platform release: the image tag of every application service (required for production)'
            cand --env-file 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins'
            cand --tls-cert 'TLS certificate (PEM) for the ingress secret'
            cand --tls-key 'TLS private key (PEM) for the ingress secret'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --only 'Run only these checks (comma-separated ids, see below)'
            cand --skip 'Skip these checks (comma-separated ids, see below)'
            cand --bake 'After the checks pass, keep querying the alert expressions for this long and fail the moment one crosses its threshold, e.g. 5m'
            cand --bake-interval 'How often --bake queries Prometheus'
            cand --http-timeout 'Deadline of each HTTP request a check makes (service proxy, Prometheus)'
            cand --timeout 'How long the checks may take altogether (not counting --bake)'
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --strict 'Warnings fail too (exit 1), and an unreachable Prometheus is a failure'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'fintechctl;health'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --env-file 'Read the data stores'' passwords from this file when the cluster''s Secret cannot be read'
            cand --watch 'Check again every INTERVAL (default 5s) until interrupted, redrawing in place on a terminal'
            cand --check-timeout 'Deadline of each check (a request, a query, a port-forward)'
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'fintechctl;completions'= {
            cand -o 'Output format of the data printed on stdout'
            cand --output 'Output format of the data printed on stdout'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'fintechctl;help'= {
            cand render 'Print an environment''s manifests, validated, in the order they are applied'
            cand deploy 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts'
            cand migrate 'Run the database migration (`alembic upgrade head`) on demand'
            cand history 'List an environment''s revisions, newest first'
            cand rollback 'Re-apply an earlier successful revision (default: the one before the current)'
            cand diff 'Show what a deploy would change, as a unified diff (exit 1 when something would)'
            cand verify 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)'
            cand health 'Is the platform serving right now? Services, data stores and monitoring on one screen'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fintechctl;help;render'= {
        }
        &'fintechctl;help;deploy'= {
        }
        &'fintechctl;help;migrate'= {
        }
        &'fintechctl;help;history'= {
        }
        &'fintechctl;help;rollback'= {
        }
        &'fintechctl;help;diff'= {
        }
        &'fintechctl;help;verify'= {
        }
        &'fintechctl;help;health'= {
        }
        &'fintechctl;help;completions'= {
        }
        &'fintechctl;help;help'= {
        }
    ]
    $completions[$command]
}
