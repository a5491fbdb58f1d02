//! The integration tests: one binary (one link, one harness) whose modules
//! are the former per-command test files. Run one module with
//! `cargo nextest run --test it -E 'test(/^deploy::/)'`.

mod common;

mod alerts;
mod backup;
mod bundle;
mod canary;
mod canary_analysis;
mod cli;
mod cloud;
mod cluster_apply;
mod cluster_rollout;
mod completions;
mod debug;
mod deploy;
mod diff;
mod exec_stream;
mod faults;
mod health;
mod json_shapes;
mod kube_sim_fidelity;
mod lifecycle;
mod lock;
mod migration_lint;
mod playground;
mod prune;
mod records;
mod render;
mod toolbox;
mod verify;
