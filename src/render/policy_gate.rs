//! Temporary bridge until `policy` lands: no findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity { Warning, Error }
#[derive(Debug, Clone)]
pub struct Finding { pub rule: &'static str, pub severity: Severity, pub object: String, pub message: String }
pub struct PolicyOptions { pub require_pinned_images: bool }
pub fn check(_: &[super::Manifest], _: &PolicyOptions) -> Vec<Finding> { Vec::new() }
