//! Everything that talks to a Kubernetes API server: apply, rollout watching
//! and diagnosis. Every function takes a `kube::Client`, so tests point it at
//! kube-sim.

pub mod apply;
pub mod bundle;
pub mod connect;
pub mod diagnosis;
pub mod events;
pub mod exec;
pub mod lock;
pub mod logs;
pub mod migration;
pub mod prune;
pub mod records;
pub mod rollout;
pub mod wait;
