//! The labels every object fintechctl renders carries, so later commands can
//! find what they own.

pub const NAME: &str = "app.kubernetes.io/name";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const VERSION: &str = "app.kubernetes.io/version";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The environment an object belongs to (`local`, `staging`, `production`).
pub const ENVIRONMENT: &str = "fintechctl.io/environment";
/// Marks a backup's or restore's toolbox pod and its NetworkPolicy (value:
/// what it is for, `postgres`); deploy's prune leaves them alone.
pub const TOOLBOX: &str = "fintechctl.io/toolbox";

pub const MANAGER: &str = "fintechctl";
pub const PART_OF_VALUE: &str = "fintech-ai";

/// Label selector that finds everything fintechctl manages for an environment.
pub fn owned_selector(environment: &str) -> String {
    format!("{MANAGED_BY}={MANAGER},{ENVIRONMENT}={environment}")
}
