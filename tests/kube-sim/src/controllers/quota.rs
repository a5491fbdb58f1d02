//! ResourceQuota status (hard / used).

use super::*;

pub(crate) fn quotas(st: &mut Store) {
    let qrd = rd("", "resourcequotas");
    for q in st.list_cloned(qrd, None) {
        let Some(hard) = q.pointer("/spec/hard").and_then(|h| h.as_object()).cloned() else {
            continue;
        };
        let used = crate::admission::namespace_usage(st, &ns_of(&q), &hard);
        let used_json: Map<String, Value> = used
            .iter()
            .map(|(k, v)| (k.clone(), json!(util::fmt_quantity(k, *v))))
            .collect();
        let status = json!({"hard": hard, "used": used_json});
        st.set_status(qrd, &q, status, "resourcequota-controller");
    }
}
