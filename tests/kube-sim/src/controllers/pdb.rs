//! PodDisruptionBudget status.

use super::*;
use crate::controllers::deployment::resolve_int_or_percent;

pub(crate) fn pdbs(st: &mut Store) {
    let brd = rd("policy", "poddisruptionbudgets");
    let prd = rd("", "pods");
    for b in st.list_cloned(brd, None) {
        let ns = ns_of(&b);
        let sel = LabelSelector::from_selector(b.pointer("/spec/selector").unwrap_or(&Value::Null));
        let pods: Vec<&Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| {
                sel.matches(p)
                    && !terminating(p)
                    && !matches!(
                        util::str_of(p, "status.phase").as_str(),
                        "Succeeded" | "Failed"
                    )
            })
            .collect();
        let expected = pods.len() as i64;
        let healthy = pods.iter().filter(|p| pod_ready(p)).count() as i64;
        let desired = if let Some(m) = b.pointer("/spec/minAvailable") {
            resolve_int_or_percent(Some(m), expected, true, "0")
        } else if let Some(m) = b.pointer("/spec/maxUnavailable") {
            (expected - resolve_int_or_percent(Some(m), expected, true, "0")).max(0)
        } else {
            expected
        };
        let allowed = (healthy - desired).max(0);
        let now = util::now_rfc3339();
        let status = json!({"observedGeneration": i64_at(&b, "/metadata/generation"), "currentHealthy": healthy, "desiredHealthy": desired,
            "expectedPods": expected, "disruptionsAllowed": allowed,
            "conditions": [{"type": "DisruptionAllowed", "status": if allowed > 0 { "True" } else { "False" },
                "reason": if allowed > 0 { "SufficientPods" } else { "InsufficientPods" }, "message": "", "lastTransitionTime": now, "observedGeneration": i64_at(&b, "/metadata/generation")}]});
        if !same_ignoring_times(b.get("status").unwrap_or(&Value::Null), &status) {
            st.set_status(brd, &b, status, "controllermanager");
        }
    }
}
