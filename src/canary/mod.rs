//! Canary releases (issue 19): the analysis of each step against
//! Prometheus.

pub mod analysis;
