//! Namespaces: the default ServiceAccount, and the contents of a terminating namespace removed.

use super::*;

pub(crate) fn namespaces(st: &mut Store) {
    let nsrd = rd("", "namespaces");
    for n in st.list_cloned(nsrd, None) {
        let name = name_of(&n);
        if terminating(&n) {
            for r in crate::resources::RESOURCES
                .iter()
                .filter(|r| r.namespaced && !r.readonly)
            {
                for o in st.list_cloned(r, Some(&name)) {
                    st.remove_now(r, &name, &name_of(&o));
                }
            }
            st.remove_now(nsrd, "", &name);
            continue;
        }
        let sa = rd("", "serviceaccounts");
        if st.get(sa, &name, "default").is_none() {
            let _ = st.create(sa, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}}), &WriteOpts::manager("kube-controller-manager"));
        }
    }
}
