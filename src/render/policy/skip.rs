//! The skip annotations: an object opts out of rules with a reason.

use std::collections::{BTreeMap, BTreeSet};

use super::{POLICY_SKIP, RULES, Raw, SKIP_ANNOTATION, SKIP_REASON_ANNOTATION, error};
use crate::render::Manifest;

pub(super) fn apply_skips(manifests: &[Manifest], raw: Vec<Raw>) -> Vec<Raw> {
    let mut honoured: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    let mut out = Vec::new();
    for (index, manifest) in manifests.iter().enumerate() {
        let annotations = &manifest.object["metadata"]["annotations"];
        let Some(skip) = annotations[SKIP_ANNOTATION].as_str() else {
            continue;
        };
        let rules: Vec<&str> = skip
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        let reason = annotations[SKIP_REASON_ANNOTATION]
            .as_str()
            .map(str::trim)
            .unwrap_or("");
        if reason.is_empty() {
            out.push(error(
                index,
                POLICY_SKIP,
                format!(
                    "`{SKIP_ANNOTATION}: {skip}` has no `{SKIP_REASON_ANNOTATION}` annotation; the skip is ignored until it says why"
                ),
            ));
            continue;
        }
        for rule in rules {
            if RULES.iter().any(|r| r.id == rule && r.id != POLICY_SKIP) {
                honoured.entry(index).or_default().insert(rule);
            } else {
                let known: Vec<&str> = RULES
                    .iter()
                    .map(|r| r.id)
                    .filter(|id| *id != POLICY_SKIP)
                    .collect();
                out.push(error(
                    index,
                    POLICY_SKIP,
                    format!(
                        "`{SKIP_ANNOTATION}` names unknown rule `{rule}`; known rules: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    out.extend(
        raw.into_iter()
            .filter(|f| !honoured.get(&f.index).is_some_and(|s| s.contains(f.rule))),
    );
    out
}
