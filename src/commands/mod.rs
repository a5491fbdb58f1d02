//! One module per command: each reads its `Args`, resolves settings through
//! the domain modules and reports through the [`Printer`](crate::ui::Printer).

pub mod cluster;
pub mod completions;
pub mod deploy;
pub mod diff;
pub mod history;
pub mod migrate;
pub mod pipeline;
pub mod render;
pub mod rollback;
pub mod rollouts;

use crate::cli::{GlobalArgs, ReleaseArgs};
use crate::environment::EnvironmentSource;
use crate::exit::{ExitStatus, Failure};
use crate::release::{Release, ReleaseError, ReleaseRequest};
use crate::secrets::TlsFiles;

/// Where environments come from, per the global flags.
pub fn environment_source(global: &GlobalArgs) -> EnvironmentSource {
    match &global.environments_dir {
        Some(dir) => EnvironmentSource::Directory(dir.clone()),
        None => EnvironmentSource::Embedded,
    }
}

/// Resolves a release from the command line; every problem is exit 2.
pub fn resolve_release(global: &GlobalArgs, args: &ReleaseArgs) -> Result<Release, Failure> {
    let request = ReleaseRequest {
        source: environment_source(global),
        environment: args.environment.clone(),
        version: args.version.clone(),
        env_file: args.env_file.clone(),
        tls: TlsFiles {
            cert: args.tls_cert.clone(),
            key: args.tls_key.clone(),
        },
    };
    Release::resolve(&request, |k| std::env::var(k).ok()).map_err(release_failure)
}

pub fn release_failure(err: ReleaseError) -> Failure {
    let details = err.details();
    Failure::new(ExitStatus::Invalid, err.to_string()).with_details(details)
}

/// The objects of the `--only` components (all without it), owned.
pub fn select_owned(
    release: &Release,
    only: &[String],
) -> Result<Vec<crate::render::Manifest>, Failure> {
    Ok(release
        .select(only)
        .map_err(Failure::invalid)?
        .into_iter()
        .cloned()
        .collect())
}
