//! The Job controller: pods, back-off, completion and failure conditions, deadlines, TTL.

use super::*;

pub(crate) fn jobs(sh: &Shared, st: &mut Store, ctl: &mut Ctl) {
    let jrd = rd("batch", "jobs");
    let prd = rd("", "pods");
    let now = Instant::now();
    for j in st.list_cloned(jrd, None) {
        if terminating(&j) {
            continue;
        }
        let ns = ns_of(&j);
        let uid = uid_of(&j);
        let name = name_of(&j);
        let conds: Vec<Value> = j
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        let finished = conds.iter().any(|c| {
            matches!(util::str_of(c, "type").as_str(), "Complete" | "Failed")
                && util::str_of(c, "status") == "True"
        });
        if finished
            && let Some(ttl) = j
                .pointer("/spec/ttlSecondsAfterFinished")
                .and_then(|t| t.as_u64())
        {
            let done_at = *ctl
                .job_finished
                .entry(uid.clone())
                .or_insert_with(Instant::now);
            let at = done_at + sh.scaled(Duration::from_secs(ttl));
            if now >= at {
                let _ = st.delete(jrd, &ns, &name_of(&j), &WriteOpts::default());
                continue;
            }
            ctl.due_at(at);
        }
        let pods: Vec<Value> = st
            .list(prd, Some(&ns))
            .into_iter()
            .filter(|p| owned_by(p, &uid))
            .cloned()
            .collect();
        let succeeded = pods
            .iter()
            .filter(|p| util::str_of(p, "status.phase") == "Succeeded")
            .count() as i64;
        let failed = pods
            .iter()
            .filter(|p| util::str_of(p, "status.phase") == "Failed")
            .count() as i64;
        let active: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                !terminating(p)
                    && !matches!(
                        util::str_of(p, "status.phase").as_str(),
                        "Succeeded" | "Failed"
                    )
            })
            .collect();
        let ready = active.iter().filter(|p| pod_ready(p)).count() as i64;
        let completions = j
            .pointer("/spec/completions")
            .and_then(|c| c.as_i64())
            .unwrap_or(1);
        let parallelism = j
            .pointer("/spec/parallelism")
            .and_then(|c| c.as_i64())
            .unwrap_or(1);
        let backoff_limit = j
            .pointer("/spec/backoffLimit")
            .and_then(|c| c.as_i64())
            .unwrap_or(6);
        let suspended = j
            .pointer("/spec/suspend")
            .and_then(|c| c.as_bool())
            .unwrap_or(false);
        let now_s = util::now_rfc3339();
        let mut status = j.get("status").cloned().unwrap_or(json!({}));
        if !status.is_object() {
            status = json!({});
        }
        if status.get("startTime").is_none() && !suspended {
            status["startTime"] = json!(now_s);
        }
        let mut conds = conds;
        let mut active_n = active.len() as i64;
        if !finished {
            let seen = ctl.job_failed_seen.entry(uid.clone()).or_insert(0);
            if failed > *seen {
                *seen = failed;
                let exp = (failed - 1).clamp(0, 6) as u32;
                ctl.job_next.insert(
                    uid.clone(),
                    now + sh.scaled(Duration::from_secs(10 * 2u64.pow(exp))),
                );
            }
            let started = *ctl.job_started.entry(uid.clone()).or_insert(now);
            let deadline = j
                .pointer("/spec/activeDeadlineSeconds")
                .and_then(|d| d.as_u64())
                .map(|d| started + sh.scaled(Duration::from_secs(d)));
            if let Some(at) = deadline
                && now < at
                && succeeded < completions
            {
                ctl.due_at(at);
            }
            if succeeded < completions && deadline.is_some_and(|at| now >= at) {
                conds.push(json!({"type": "FailureTarget", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}));
                conds.push(json!({"type": "Failed", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}));
                for p in &active {
                    let _ = st.delete(
                        prd,
                        &ns,
                        &name_of(p),
                        &WriteOpts {
                            grace_seconds: Some(0),
                            ..Default::default()
                        },
                    );
                }
                active_n = 0;
                emit_event(
                    st,
                    &j,
                    "Warning",
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                    "job-controller",
                    None,
                    None,
                );
            } else if succeeded >= completions {
                conds.push(json!({"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}));
                conds.push(json!({"type": "Complete", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}));
                status["completionTime"] = json!(now_s);
                emit_event(
                    st,
                    &j,
                    "Normal",
                    "Completed",
                    "Job completed",
                    "job-controller",
                    None,
                    None,
                );
            } else if failed > backoff_limit {
                conds.push(json!({"type": "FailureTarget", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}));
                conds.push(json!({"type": "Failed", "status": "True", "lastProbeTime": now_s, "lastTransitionTime": now_s, "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}));
                for p in &active {
                    let _ = st.delete(
                        prd,
                        &ns,
                        &name_of(p),
                        &WriteOpts {
                            grace_seconds: Some(0),
                            ..Default::default()
                        },
                    );
                }
                active_n = 0;
                emit_event(
                    st,
                    &j,
                    "Warning",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    "job-controller",
                    None,
                    None,
                );
            } else if !suspended {
                let need = parallelism.min(completions - succeeded) - active_n;
                if need > 0
                    && let Some(t) = ctl.job_next.get(&uid).copied()
                    && now < t
                {
                    ctl.due_at(t);
                }
                if need > 0 && ctl.job_next.get(&uid).is_none_or(|t| now >= *t) {
                    let tmpl = j.pointer("/spec/template").cloned().unwrap_or(json!({}));
                    for _ in 0..need {
                        let pod = new_pod_from_template(
                            &j,
                            &tmpl,
                            None,
                            Some(format!("{name}-")),
                            &[
                                ("batch.kubernetes.io/controller-uid", uid.clone()),
                                ("batch.kubernetes.io/job-name", name.clone()),
                                ("controller-uid", uid.clone()),
                                ("job-name", name.clone()),
                            ],
                        );
                        match st.create(prd, pod, &WriteOpts::manager("kube-controller-manager")) {
                            Ok(p) => {
                                active_n += 1;
                                emit_event(
                                    st,
                                    &j,
                                    "Normal",
                                    "SuccessfulCreate",
                                    &format!("Created pod: {}", name_of(&p)),
                                    "job-controller",
                                    None,
                                    None,
                                );
                            }
                            Err(e) => {
                                emit_event(
                                    st,
                                    &j,
                                    "Warning",
                                    "FailedCreate",
                                    &format!("Error creating: {}", e.message),
                                    "job-controller",
                                    None,
                                    None,
                                );
                                ctl.job_next
                                    .insert(uid.clone(), now + sh.scaled(Duration::from_secs(2)));
                                break;
                            }
                        }
                    }
                }
            }
        }
        let o = status.as_object_mut().unwrap();
        if active_n > 0 {
            o.insert("active".into(), json!(active_n));
        } else {
            o.shift_remove("active");
        }
        for (k, v) in [("succeeded", succeeded), ("failed", failed)] {
            if v > 0 {
                o.insert(k.into(), json!(v));
            } else {
                o.shift_remove(k);
            }
        }
        o.insert("ready".into(), json!(ready));
        o.insert("terminating".into(), json!(0));
        o.insert("uncountedTerminatedPods".into(), json!({}));
        if !conds.is_empty() {
            o.insert("conditions".into(), Value::Array(conds));
        }
        if let Some(cur) = st.get(jrd, &ns, &name).cloned() {
            st.set_status(jrd, &cur, status, "kube-controller-manager");
        }
    }
}
