//! kube-sim's unit tests, through `kube_sim::internals`: kube-sim is built
//! optimised in the test profile, so its own `#[cfg(test)]` harness would
//! compile the whole simulator a second time at opt-level 2 for these few
//! checks (about half a minute of CI). Here they build unoptimised.

use kube_sim::internals::*;

mod fields {
    use super::*;
    use serde_json::json;
    #[test]
    fn fieldsets_roundtrip() {
        let obj = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x","labels":{"a":"b"}},
            "spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}]}]}}}});
        let fs = fields_of(&obj, true);
        let v1 = to_fields_v1(&fs);
        assert_eq!(
            v1["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"]["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"]
                ["."],
            json!({})
        );
        assert_eq!(from_fields_v1(&v1), fs);
        let p: Path = vec![
            "f:spec".into(),
            "f:template".into(),
            "f:spec".into(),
            "f:containers".into(),
            "k:{\"name\":\"c\"}".into(),
            "f:image".into(),
        ];
        assert_eq!(get_at(&obj, &p), Some(&json!("i")));
        let mut o2 = obj.clone();
        assert!(remove_at(&mut o2, &p));
        assert!(get_at(&o2, &p).is_none());
    }

    #[test]
    fn smp_merges_containers() {
        let mut t =
            json!({"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}});
        strategic_merge_patch(
            &mut t,
            &json!({"spec":{"$setElementOrder/containers":[{"name":"a"}],"containers":[{"name":"a","image":"3"},{"name":"b","$patch":"delete"}]}}),
        );
        assert_eq!(t, json!({"spec":{"containers":[{"name":"a","image":"3"}]}}));
    }

    #[test]
    fn merge_patch_null_removes() {
        let mut t = json!({"a":1,"b":{"c":2}});
        merge_patch(&mut t, &json!({"a":null,"b":{"d":3}}));
        assert_eq!(t, json!({"b":{"c":2,"d":3}}));
    }
}

mod proto {
    use super::*;
    use serde_json::json;
    #[test]
    fn round_trips_a_deployment_and_a_pod() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                "creationTimestamp": "2025-05-15T08:19:08Z", "generation": 3,
                "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
                    "time": "2025-05-15T08:19:08Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}},
                        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5}}],
                        "volumes": [{"name": "cfg", "configMap": {"name": "web", "defaultMode": 420}}],
                        "terminationGracePeriodSeconds": 30}}},
            "status": {"conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2025-05-15T08:19:09Z",
                "lastTransitionTime": "2025-05-15T08:19:09Z", "reason": "MinimumReplicasAvailable", "message": "ok"}]}});
        let pb = encode(&d).unwrap();
        assert!(pb.starts_with(MAGIC));
        assert_eq!(decode(&pb).unwrap(), d);
        let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "aGk="}, "type": "Opaque", "immutable": false});
        assert_eq!(decode(&encode(&s).unwrap()).unwrap(), s);
        let e = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "count": 3,
            "eventTime": "2025-05-15T08:19:08.123456Z"});
        assert_eq!(decode(&encode(&e).unwrap()).unwrap(), e);
        let hpa = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"activeDeadlineSeconds": 10,
                "template": {"spec": {"containers": [{"name": "a", "image": "b", "command": ["x", "y"]}]}}}}}});
        assert_eq!(decode(&encode(&hpa).unwrap()).unwrap(), hpa);
    }

    #[test]
    fn durations() {
        assert_eq!(go_duration(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(parse_go_duration("1h2m3.5s"), Some(3_723_500_000_000));
    }
}

mod selectors {
    use super::*;
    use serde_json::json;
    #[test]
    fn set_based() {
        let o = json!({"metadata":{"labels":{"app":"web","tier":"fe"}}});
        assert!(
            LabelSelector::parse("app in (web, api),tier!=be")
                .unwrap()
                .matches(&o)
        );
        assert!(!LabelSelector::parse("app notin (web)").unwrap().matches(&o));
        assert!(LabelSelector::parse("app,!missing").unwrap().matches(&o));
        assert!(!LabelSelector::parse("app=api").unwrap().matches(&o));
    }
}

mod spdy {
    use super::*;
    #[test]
    fn dictionary_id() {
        assert_eq!(DICT.len(), 1423);
        assert_eq!(adler32(DICT), 0xe3c6a7c2);
    }
    #[test]
    fn our_encoding_decodes() {
        let mut e = HeaderEncoder::default();
        let mut d = HeaderDecoder::new();
        let block = b"\x00\x00\x00\x01\x00\x00\x00\x04port\x00\x00\x00\x0280";
        let a = e.encode(block);
        assert_eq!(d.decode(&a).unwrap(), block);
        let b = e.encode(block);
        assert_eq!(d.decode(&b).unwrap(), block);
        assert_eq!(parse_headers(block).get("port").unwrap(), "80");
    }
}

mod util {
    use super::*;
    #[test]
    fn globs() {
        assert!(glob_match("*:broken", "nginx:broken"));
        assert!(glob_match(
            "*/ml-service:crash*",
            "reg.io/x/ml-service:crash-1"
        ));
        assert!(!glob_match("*:slow", "nginx:latest"));
        assert!(glob_match("postgres-*", "postgres-0"));
        assert!(glob_match("*", ""));
    }
    #[test]
    fn quantities() {
        assert_eq!(parse_quantity_milli(&"100m".into()), Some(100));
        assert_eq!(parse_quantity_milli(&"2".into()), Some(2000));
        assert_eq!(parse_quantity_milli(&"1Gi".into()), Some(1073741824000));
        assert_eq!(
            fmt_mem(parse_quantity_milli(&"512Mi".into()).unwrap()),
            "512Mi"
        );
        assert_eq!(fmt_cpu(1500), "1500m");
        assert_eq!(fmt_cpu(2000), "2");
    }
    #[test]
    fn time() {
        assert_eq!(fmt_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_secs(1_700_000_000), "2023-11-14T22:13:20Z");
    }
    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("300ms"),
            Some(std::time::Duration::from_millis(300))
        );
        assert_eq!(
            parse_duration("2s"),
            Some(std::time::Duration::from_secs(2))
        );
    }
}
