//! PersistentVolumeClaim binding.

use super::*;

pub(crate) fn pvcs(st: &mut Store) {
    let prd = rd("", "persistentvolumeclaims");
    for p in st.list_cloned(prd, None) {
        if util::str_of(&p, "status.phase") == "Bound" {
            continue;
        }
        let status = json!({"phase": "Bound", "accessModes": p.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])),
            "capacity": {"storage": p.pointer("/spec/resources/requests/storage").cloned().unwrap_or(json!("1Gi"))}});
        let mut n = p.clone();
        n["spec"]["volumeName"] = json!(format!("pvc-{}", uid_of(&p)));
        if let Some(r) = st.put(prd, n, "persistentvolume-controller") {
            st.set_status(prd, &r, status, "persistentvolume-controller");
        }
    }
}
