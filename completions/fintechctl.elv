
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
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --kubeconfig '`fintechctl --kubeconfig PATH deploy …`, as with kubectl: accepted before the command for scripts and aliases; the command''s own flag wins'
            cand --context '`fintechctl --context NAME deploy …` (see `kubeconfig`)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand render 'Print an environment''s manifests, validated, in the order they are applied'
            cand deploy 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts'
            cand promote 'Finish a paused canary: the stable Deployments roll to its version, then the canary is removed'
            cand abort 'Abort a paused (or left-over) canary: weight 0, the canary removed, the stable version untouched'
            cand migrate 'Run the database migration (`alembic upgrade head`) on demand'
            cand history 'List an environment''s revisions, newest first'
            cand rollback 'Re-apply an earlier successful revision (default: the one before the current)'
            cand diff 'Show what a deploy would change, as a unified diff (exit 1 when something would)'
            cand verify 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)'
            cand health 'Is the platform serving right now? Services, data stores and monitoring on one screen'
            cand backup 'Back up an environment''s data (PostgreSQL, Redis, the namespace''s objects); list, verify, prune'
            cand restore 'Restore a verified backup: checksums first, the plan, confirmation, the deploy lock, writers scaled down and back'
            cand debug 'Triage an environment (worst first, a card per unhealthy workload), or debug it with a subcommand'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fintechctl;render'= {
            cand --version 'Platform release: the image tag of every application service (required for production)'
            cand --env-file 'Read secrets from this file (`KEY=value` or `export KEY=value` lines); the process environment wins'
            cand --tls-cert 'TLS certificate (PEM) for the ingress secret'
            cand --tls-key 'TLS private key (PEM) for the ingress secret'
            cand --only 'Only these components (comma-separated), e.g. api-gateway,ml-service'
            cand -o 'text and yaml: the objects as multi-document YAML, in the order a deploy applies them; json: a JSON list of the objects'
            cand --output 'text and yaml: the objects as multi-document YAML, in the order a deploy applies them; json: a JSON list of the objects'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
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
            cand --lock-ttl 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)'
            cand --only 'Only these components (comma-separated), e.g. api-gateway,ml-service'
            cand --rollback-on-failure 'On a failed rollout, keep the evidence and roll back to the last successful revision (default: the environment''s `release.rollbackOnFailure`, on for production)'
            cand --strategy 'rolling: every pod through a rolling update; canary: a share of the traffic first, judged by the metrics (default: the environment''s `release.strategy`)'
            cand --canary-steps 'The canary''s traffic percentages, strictly ascending, each 1 to 99, e.g. 10,50 (default: `release.canary.steps`)'
            cand --canary-interval 'How long each canary step runs before it is judged, 1s to 1h, e.g. 30s (default: `release.canary.interval`)'
            cand -o 'text: a table of the rollouts; json or yaml: one document with the plan, the applied objects, the migration check, the migration, the rollouts, the failures and the outcome'
            cand --output 'text: a table of the rollouts; json or yaml: one document with the plan, the applied objects, the migration check, the migration, the rollouts, the failures and the outcome'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --dry-run 'Show the plan (server-side dry run) and stop without changing anything'
            cand --no-prune 'Keep live objects the release no longer contains (default: delete them after a successful rollout)'
            cand --force-unlock 'Break a deploy lock another run holds (says whose, and asks unless --yes)'
            cand --yes 'Answer yes to confirmations (required for production without a terminal)'
            cand --allow-other-cluster 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)'
            cand --skip-migrations 'Do not run the database migration even though the version changes'
            cand --allow-breaking-migration 'Deploy although the migration''s SQL has breaking statements (drop, rename, type change, ...); refused without it in protected environments and canary deploys; recorded in the release'
            cand --allow-unchecked-migration 'Deploy a protected environment although the migration''s SQL could not be checked (alembic''s offline mode failed or timed out); recorded in the release'
            cand --force-conflicts 'Take over fields another field manager (e.g. kubectl) owns'
            cand --no-rollback-on-failure 'Never roll back automatically'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;promote'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --timeout 'How long the whole command may take, e.g. 90s, 10m'
            cand --lock-ttl 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)'
            cand -o 'text: the rollouts; json or yaml: one document with the revision, the canary''s health, the rollouts and the outcome'
            cand --output 'text: the rollouts; json or yaml: one document with the revision, the canary''s health, the rollouts and the outcome'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --yes 'Answer yes to confirmations (required for production without a terminal)'
            cand --allow-other-cluster 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;abort'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --timeout 'How long the whole command may take, e.g. 90s, 10m'
            cand --lock-ttl 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)'
            cand -o 'text: what was removed; json or yaml: one document with the revision, the canary''s health, what was removed and the outcome'
            cand --output 'text: what was removed; json or yaml: one document with the revision, the canary''s health, what was removed and the outcome'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --yes 'Answer yes to confirmations (required for production without a terminal)'
            cand --allow-other-cluster 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
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
            cand -o 'text: nothing on stdout (progress and the result are on stderr); json or yaml: one document with the migration''s Job or pod, exit code and outcome'
            cand --output 'text: nothing on stdout (progress and the result are on stderr); json or yaml: one document with the migration''s Job or pod, exit code and outcome'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --exec 'Run `alembic upgrade head` inside a running api-gateway pod (exec) instead of a Job'
            cand --allow-other-cluster 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)'
            cand --yes 'Answer yes to confirmations (required for production without a terminal)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;history'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand -o 'text: a table of the revisions, newest first; json or yaml: the release records'
            cand --output 'text: a table of the revisions, newest first; json or yaml: the release records'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;rollback'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --timeout 'How long the whole command may take (apply, migration, rollouts), e.g. 90s, 10m'
            cand --bundle-dir 'Where the debug bundle of a failed rollout is written'
            cand --lock-ttl 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)'
            cand -o 'text: a table of the rollouts; json or yaml: one document as deploy''s, for the revision re-applied'
            cand --output 'text: a table of the rollouts; json or yaml: one document as deploy''s, for the revision re-applied'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --dry-run 'Show the plan (server-side dry run) and stop without changing anything'
            cand --no-prune 'Keep live objects the release no longer contains (default: delete them after a successful rollout)'
            cand --force-unlock 'Break a deploy lock another run holds (says whose, and asks unless --yes)'
            cand --yes 'Answer yes to confirmations (required for production without a terminal)'
            cand --allow-other-cluster 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
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
            cand -o 'text: a unified diff; json or yaml: the changes object by object'
            cand --output 'text: a unified diff; json or yaml: the changes object by object'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
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
            cand -o 'text: a table worst first, with the evidence and hint of every check that did not pass; json or yaml: every check with its status, evidence and hint'
            cand --output 'text: a table worst first, with the evidence and hint of every check that did not pass; json or yaml: every check with its status, evidence and hint'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --strict 'Warnings fail too (exit 1), and an unreachable Prometheus is a failure'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;health'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --env-file 'Read the data stores'' passwords from this file when the cluster''s Secret cannot be read'
            cand --interval 'How often --watch checks'
            cand --check-timeout 'Deadline of each check (a request, a query, a port-forward)'
            cand -o 'text: one screen, down first (redrawn in place with --watch on a terminal); json: one document (one line per round with --watch); yaml'
            cand --output 'text: one screen, down first (redrawn in place with --watch on a terminal); json: one document (one line per round with --watch); yaml'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --watch 'Check again every --interval until interrupted, redrawing in place on a terminal'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;backup'= {
            cand --only 'Only these parts (comma-separated): postgres, redis, resources'
            cand --to 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand --from 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --timeout 'How long the whole backup may take, e.g. 30m, 2h'
            cand --stall-timeout 'A dump stream that carries no data for this long is taken as lost (the part fails)'
            cand -o 'text: a table of the parts; json or yaml: one document with the parts, the manifest and what was pruned'
            cand --output 'text: a table of the parts; json or yaml: one document with the parts, the manifest and what was pruned'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --no-prune 'Do not delete expired backups after a successful one'
            cand --allow-other-cluster 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List an environment''s backups, newest first: id, time, size, parts, status'
            cand verify 'Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)'
            cand prune 'Delete backups older than `backup.retentionDays` (never the newest complete one)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fintechctl;backup;list'= {
            cand --to 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand --from 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand -o 'text: a table of the backups, newest first; json or yaml: every backup with its parts, size, status and release version'
            cand --output 'text: a table of the backups, newest first; json or yaml: every backup with its parts, size, status and release version'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;backup;verify'= {
            cand --to 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand --from 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --timeout 'How long the verification may take'
            cand -o 'text: a table of the parts checked; json or yaml: one document with each part''s check and the drill''s result'
            cand --output 'text: a table of the parts checked; json or yaml: one document with each part''s check and the drill''s result'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --drill 'Also restore the dump into a scratch database on the same server, compare row counts and the alembic revision with the manifest, and drop it'
            cand --allow-other-cluster 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;backup;prune'= {
            cand --to 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand --from 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand -o 'text: nothing on stdout (stderr says what was deleted and kept); json or yaml: the backups deleted and kept'
            cand --output 'text: nothing on stdout (stderr says what was deleted and kept); json or yaml: the backups deleted and kept'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --dry-run 'Say what would be deleted, delete nothing'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;backup;help'= {
            cand list 'List an environment''s backups, newest first: id, time, size, parts, status'
            cand verify 'Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)'
            cand prune 'Delete backups older than `backup.retentionDays` (never the newest complete one)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fintechctl;backup;help;list'= {
        }
        &'fintechctl;backup;help;verify'= {
        }
        &'fintechctl;backup;help;prune'= {
        }
        &'fintechctl;backup;help;help'= {
        }
        &'fintechctl;restore'= {
            cand --only 'Only these parts (comma-separated): postgres, redis, resources'
            cand --identity 'age identity file that decrypts the backup''s Secrets (resources part)'
            cand --from-environment 'Restore a backup that another environment took (its manifest names it), e.g. production''s data into staging; its resources part is never restored across environments'
            cand --to 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand --from 'Backup store instead of the environment''s `backup` entry: a directory, file:///DIR, s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX], azure://ACCOUNT/CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --timeout 'How long the whole restore may take'
            cand --lock-ttl 'How long the deploy lock outlives this run''s last renewal, e.g. 30s, 2m (whole seconds; a bare number is seconds)'
            cand -o 'text: a table of the parts restored; json or yaml: one document with the plan and each part''s result'
            cand --output 'text: a table of the parts restored; json or yaml: one document with the plan and each part''s result'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand --dry-run 'Verify the backup and show the plan, change nothing'
            cand --yes 'Answer yes to confirmations (a restore asks in every environment; required without a terminal)'
            cand --allow-other-cluster 'Write even though the cluster reached belongs to another environment or is not the one this environment pins (said loudly; a deploy then adds this environment to the cluster''s claim)'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;debug'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand -o 'text: a card for each unhealthy component, worst first, a line for each healthy one; json or yaml: the components, the causes and the last revision'
            cand --output 'text: a card for each unhealthy component, worst first, a line for each healthy one; json or yaml: the components, the causes and the last revision'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand logs 'Logs of all pods of the components, interleaved with a pod/container prefix (like stern)'
            cand shell 'An interactive shell (or a command) in a pod of a component, with a TTY'
            cand port-forward 'Forward local ports to a ready pod of a component (Ctrl-C to stop)'
            cand top 'CPU and memory use of every pod and container against its requests and limits'
            cand bundle 'Write a .tar.gz with everything on-call needs for an incident (secrets redacted)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fintechctl;debug;logs'= {
            cand --since 'Only lines newer than this, e.g. 10m, 1h'
            cand --grep 'Only lines matching this regular expression'
            cand --tail 'Lines of each container to start with (default: all; 10 with --follow)'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand -o 'text or yaml: each line prefixed [pod/container]; json: one JSON object per line'
            cand --output 'text or yaml: each line prefixed [pod/container]; json: one JSON object per line'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -f 'Keep streaming: new pods are picked up, restarted containers followed'
            cand --follow 'Keep streaming: new pods are picked up, restarted containers followed'
            cand --previous 'The previous (crashed) instance of each container'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;debug;shell'= {
            cand --pod 'This pod (default: the only running pod, else a picker on a terminal)'
            cand -c 'This container (default: the pod''s first)'
            cand --container 'This container (default: the pod''s first)'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;debug;port-forward'= {
            cand --address 'Local address to listen on'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;debug;top'= {
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand -o 'text: a table, closest to a limit first; json or yaml: every pod and container''s use against its requests and limits'
            cand --output 'text: a table, closest to a limit first; json or yaml: every pod and container''s use against its requests and limits'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;debug;bundle'= {
            cand --to 'Where to write the bundle (default: ./fintechctl-debug-<env>-<time>.tar.gz)'
            cand --kubeconfig 'Path to a kubeconfig file (default: `KUBECONFIG`, else the environment''s cluster entry)'
            cand --context 'kubeconfig context to use instead of the environment''s cluster entry'
            cand --request-timeout 'Deadline of each API request (a frozen API server fails the command instead of hanging it)'
            cand -o 'text: the bundle''s path; json or yaml: its path and files'
            cand --output 'text: the bundle''s path; json or yaml: its path and files'
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;debug;help'= {
            cand logs 'Logs of all pods of the components, interleaved with a pod/container prefix (like stern)'
            cand shell 'An interactive shell (or a command) in a pod of a component, with a TTY'
            cand port-forward 'Forward local ports to a ready pod of a component (Ctrl-C to stop)'
            cand top 'CPU and memory use of every pod and container against its requests and limits'
            cand bundle 'Write a .tar.gz with everything on-call needs for an incident (secrets redacted)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fintechctl;debug;help;logs'= {
        }
        &'fintechctl;debug;help;shell'= {
        }
        &'fintechctl;debug;help;port-forward'= {
        }
        &'fintechctl;debug;help;top'= {
        }
        &'fintechctl;debug;help;bundle'= {
        }
        &'fintechctl;debug;help;help'= {
        }
        &'fintechctl;completions'= {
            cand --environments-dir 'Directory of environment files that replaces the built-in ones'
            cand --color 'Colour and progress bars: auto turns them off when stderr is not a terminal or NO_COLOR or CI is set'
            cand -v 'More detail on stderr'
            cand --verbose 'More detail on stderr'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'fintechctl;help'= {
            cand render 'Print an environment''s manifests, validated, in the order they are applied'
            cand deploy 'Deploy a release: plan, confirm, apply in phases, migrate, wait for the rollouts'
            cand promote 'Finish a paused canary: the stable Deployments roll to its version, then the canary is removed'
            cand abort 'Abort a paused (or left-over) canary: weight 0, the canary removed, the stable version untouched'
            cand migrate 'Run the database migration (`alembic upgrade head`) on demand'
            cand history 'List an environment''s revisions, newest first'
            cand rollback 'Re-apply an earlier successful revision (default: the one before the current)'
            cand diff 'Show what a deploy would change, as a unified diff (exit 1 when something would)'
            cand verify 'Gate a release: check that what runs is what was deployed and that it serves (exit 1 when a check fails)'
            cand health 'Is the platform serving right now? Services, data stores and monitoring on one screen'
            cand backup 'Back up an environment''s data (PostgreSQL, Redis, the namespace''s objects); list, verify, prune'
            cand restore 'Restore a verified backup: checksums first, the plan, confirmation, the deploy lock, writers scaled down and back'
            cand debug 'Triage an environment (worst first, a card per unhealthy workload), or debug it with a subcommand'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fintechctl;help;render'= {
        }
        &'fintechctl;help;deploy'= {
        }
        &'fintechctl;help;promote'= {
        }
        &'fintechctl;help;abort'= {
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
        &'fintechctl;help;backup'= {
            cand list 'List an environment''s backups, newest first: id, time, size, parts, status'
            cand verify 'Re-read every part of a backup and check sizes and sha256 (and `pg_restore --list`)'
            cand prune 'Delete backups older than `backup.retentionDays` (never the newest complete one)'
        }
        &'fintechctl;help;backup;list'= {
        }
        &'fintechctl;help;backup;verify'= {
        }
        &'fintechctl;help;backup;prune'= {
        }
        &'fintechctl;help;restore'= {
        }
        &'fintechctl;help;debug'= {
            cand logs 'Logs of all pods of the components, interleaved with a pod/container prefix (like stern)'
            cand shell 'An interactive shell (or a command) in a pod of a component, with a TTY'
            cand port-forward 'Forward local ports to a ready pod of a component (Ctrl-C to stop)'
            cand top 'CPU and memory use of every pod and container against its requests and limits'
            cand bundle 'Write a .tar.gz with everything on-call needs for an incident (secrets redacted)'
        }
        &'fintechctl;help;debug;logs'= {
        }
        &'fintechctl;help;debug;shell'= {
        }
        &'fintechctl;help;debug;port-forward'= {
        }
        &'fintechctl;help;debug;top'= {
        }
        &'fintechctl;help;debug;bundle'= {
        }
        &'fintechctl;help;completions'= {
        }
        &'fintechctl;help;help'= {
        }
    ]
    $completions[$command]
}
