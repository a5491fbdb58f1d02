#!/usr/bin/env python3
"""Generate src/proto_schema.txt: the protobuf field table kube-sim's generic protobuf
codec (src/proto.rs) reads, for the Kubernetes kinds kube-sim serves.

Field numbers and wire types come from the `k8s-pb` crate's prost attributes; JSON field
names from the `k8s-openapi` crate's serde implementations (both from crates.io, Apache-2.0).
Run after `cargo fetch` (both crates in ~/.cargo/registry):

    python3 tests/kube-sim/tools/gen_proto_schema.py > tests/kube-sim/src/proto_schema.txt
"""
import glob
import os
import re
import sys

REG = os.path.expanduser("~/.cargo/registry/src")
PB = sorted(glob.glob(f"{REG}/*/k8s-pb-0.9.*/src"))[-1]
OA = sorted(glob.glob(f"{REG}/*/k8s-openapi-0.29.*/src/v1_33"))[-1]

# the kinds kube-sim serves (and what their requests and answers carry)
ROOTS = [
    "api.core.v1." + k for k in [
        "Namespace", "Pod", "Service", "Endpoints", "ConfigMap", "Secret", "ServiceAccount",
        "Event", "PersistentVolumeClaim", "PersistentVolume", "ResourceQuota", "LimitRange",
        "Node", "ReplicationController", "Binding"]
] + [
    "api.apps.v1.Deployment", "api.apps.v1.ReplicaSet", "api.apps.v1.StatefulSet",
    "api.apps.v1.DaemonSet", "api.apps.v1.ControllerRevision",
    "api.batch.v1.Job", "api.batch.v1.CronJob",
    "api.autoscaling.v2.HorizontalPodAutoscaler", "api.autoscaling.v1.Scale",
    "api.policy.v1.PodDisruptionBudget", "api.policy.v1.Eviction",
    "api.networking.v1.NetworkPolicy", "api.networking.v1.Ingress", "api.networking.v1.IngressClass",
    "api.rbac.v1.Role", "api.rbac.v1.RoleBinding", "api.rbac.v1.ClusterRole", "api.rbac.v1.ClusterRoleBinding",
    "api.coordination.v1.Lease", "api.events.v1.Event", "api.discovery.v1.EndpointSlice",
    "api.storage.v1.StorageClass",
    "api.authentication.v1.SelfSubjectReview", "api.authentication.v1.TokenRequest",
    "api.authorization.v1.SelfSubjectAccessReview", "api.authorization.v1.SelfSubjectRulesReview",
    "apimachinery.pkg.apis.meta.v1.Status", "apimachinery.pkg.apis.meta.v1.DeleteOptions",
]
LISTS = [r + "List" for r in ROOTS if r.split(".")[-1] not in (
    "Binding", "Scale", "Eviction", "SelfSubjectReview", "TokenRequest",
    "SelfSubjectAccessReview", "SelfSubjectRulesReview", "Status", "DeleteOptions")]

# messages with a JSON form of their own (src/proto.rs handles them by name)
SPECIAL = {
    "apimachinery.pkg.apis.meta.v1.Time": "time",
    "apimachinery.pkg.apis.meta.v1.MicroTime": "microtime",
    "apimachinery.pkg.apis.meta.v1.Duration": "duration",
    "apimachinery.pkg.api.resource.Quantity": "quantity",
    "apimachinery.pkg.util.intstr.IntOrString": "intorstring",
    "apimachinery.pkg.runtime.RawExtension": "raw",
    "apimachinery.pkg.apis.meta.v1.FieldsV1": "raw",
    "api.authentication.v1.ExtraValue": "stringlist",
    "api.authorization.v1.ExtraValue": "stringlist",
}


def norm(name):
    return name.replace("_", "").lower()


def camel(snake):
    parts = snake.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def openapi_names():
    """(module, Struct) -> {rust_field: jsonName}"""
    out = {}
    for path in glob.glob(f"{OA}/**/*.rs", recursive=True):
        rel = os.path.relpath(path, OA)
        mod = ".".join(os.path.dirname(rel).split(os.sep))
        text = open(path).read()
        for m in re.finditer(r"impl<'de> crate::serde::Deserialize<'de> for (\w+) \{(.*?)\n\}\n", text, re.S):
            struct, body = m.group(1), m.group(2)
            names = dict((norm(js), js) for js, rust in re.findall(r'"([^"]+)" => Field::Key_(\w+),', body))
            out[(mod, struct.lower())] = names
    return out


def pb_messages():
    """full name -> [(tag, rust_field, kind, card, type_full_name_or_None)]"""
    msgs = {}
    for path in glob.glob(f"{PB}/**/mod.rs", recursive=True):
        rel = os.path.relpath(os.path.dirname(path), PB)
        mod = ".".join(rel.split(os.sep))
        raw = open(path).read().split("\n")
        # rustfmt wraps long field declarations: join them back onto one line
        lines = []
        open_field = False
        for line in raw:
            if open_field:
                lines[-1] = lines[-1].rstrip() + " " + line.strip()
            else:
                lines.append(line)
            cur_line = lines[-1].strip()
            open_field = (
                cur_line.startswith("pub ")
                and not cur_line.startswith(("pub struct", "pub enum", "pub mod", "pub fn"))
                and (cur_line.count("<") > cur_line.count(">") or not cur_line.endswith(","))
            )
        lines = [re.sub(r"<\s+", "<", re.sub(r",\s*>", ">", l)) for l in lines]
        cur = None
        attr = None
        for line in lines:
            s = line.strip()
            m = re.match(r"pub struct (\w+) \{", s)
            if m:
                cur = f"{mod}.{m.group(1)}"
                msgs[cur] = []
                continue
            if s.startswith("#[prost("):
                attr = s
                continue
            m = re.match(r"pub (r#)?(\w+): (.*),$", s)
            if m and attr and cur:
                field, ty = m.group(2), m.group(3)
                tag = int(re.search(r'tag = "(\d+)"', attr).group(1))
                inner = attr[len("#[prost("):]
                card = "r" if "repeated" in inner else "o"
                tref = None
                mm = re.match(r'btree_map = "string, (\w+)"', inner)
                if mm:
                    kind = "map_" + mm.group(1)
                    if mm.group(1) == "message":
                        tref = resolve(mod, re.search(r"BTreeMap<[^,]+, (.*)>$", ty).group(1))
                elif inner.startswith("message"):
                    kind = "message"
                    t = re.sub(r"^::core::option::Option<(.*)>$", r"\1", ty)
                    t = re.sub(r"^::prost::alloc::vec::Vec<(.*)>$", r"\1", t)
                    t = re.sub(r"^::prost::alloc::boxed::Box<(.*)>$", r"\1", t)
                    tref = resolve(mod, t)
                elif inner.startswith("bytes"):
                    kind = "bytes"
                else:
                    kind = inner.split(",")[0]
                msgs[cur].append((tag, field, kind, card, tref))
                attr = None
            if s == "}":
                cur = None
    return msgs


def resolve(mod, t):
    t = t.strip()
    parts = t.split("::")
    base = mod.split(".")
    while parts and parts[0] == "super":
        parts.pop(0)
        base = base[:-1]
    return ".".join(base + parts)


def main():
    names = openapi_names()
    msgs = pb_messages()
    want = [r for r in ROOTS + LISTS if r in msgs]
    missing = [r for r in ROOTS + LISTS if r not in msgs]
    if missing:
        print("missing:", missing, file=sys.stderr)
    seen = set()
    order = []
    stack = list(want)
    while stack:
        m = stack.pop(0)
        if m in seen or m in SPECIAL:
            continue
        seen.add(m)
        order.append(m)
        for (_, _, _, _, tref) in msgs.get(m, []):
            if tref and tref not in seen:
                stack.append(tref)
    print("# generated by tools/gen_proto_schema.py from k8s-pb (field numbers) and")
    print("# k8s-openapi v1_33 (JSON names); one message per 'M' line, then its fields:")
    print("# tag jsonName kind(string|int32|int64|bool|double|bytes|message|map_string|map_bytes|map_message) card(o|r) [type]")
    for name, how in SPECIAL.items():
        print(f"S {name} {how}")
    def json_names(m):
        mod, struct = m.rsplit(".", 1)
        return names.get((mod, struct.lower()))

    for m in order:
        fields = msgs[m]
        js = json_names(m) or {}
        print(f"M {m}")
        for (tag, field, kind, card, tref) in fields:
            jname = js.get(norm(field))
            if jname is None and kind == "message" and tref in msgs and js:
                # Go struct embedding (`json:",inline"`): the embedded message's fields
                # are the parent's in JSON
                inner = [f for (_, f, _, _, _) in msgs[tref]]
                if inner and sum(norm(f) in js for f in inner) * 4 >= len(inner) * 3:
                    jname = "-"
            if jname is None:
                jname = camel(field)
            line = f"{tag} {jname} {kind} {card}"
            if tref:
                line += f" {tref}"
            print(line)


main()
