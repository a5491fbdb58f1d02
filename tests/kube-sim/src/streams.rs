//! Pod logs, exec / attach / port-forward over websocket, and the service proxy.

use crate::Shared;
use crate::error::ApiError;
use crate::kubelet::{CState, Step, rd, resolve_env};
use crate::resources::ResDef;
use crate::server::{Body, Query, error_response, stream_response, text_response};
use crate::util;
use base64::Engine;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::{Request, Response, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

fn pod_and_container(
    sh: &Shared,
    ns: &str,
    name: &str,
    container: Option<&str>,
) -> Result<(Value, Value), ApiError> {
    let prd = rd("", "pods");
    let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
    let pod = st
        .get(prd, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(prd, name))?;
    let cs: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let c = match container.filter(|c| !c.is_empty()) {
        Some(cn) => cs
            .iter()
            .find(|c| util::str_of(c, "name") == cn)
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(format!("container {cn} is not valid for pod {name}"))
            })?,
        None => {
            if cs.len() > 1 {
                let names: Vec<String> = cs.iter().map(|c| util::str_of(c, "name")).collect();
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    names.join(" ")
                )));
            }
            cs.first()
                .cloned()
                .ok_or_else(|| ApiError::bad_request("pod has no containers"))?
        }
    };
    Ok((pod, c))
}

pub async fn logs(
    sh: Arc<Shared>,
    ns: &str,
    name: &str,
    q: &Query,
) -> Result<Response<Body>, ApiError> {
    let (pod, c) = pod_and_container(&sh, ns, name, q.get("container"))?;
    let cname = util::str_of(&c, "name");
    let uid = util::str_of(&pod, "metadata.uid");
    let previous = q.flag("previous");
    let follow = q.flag("follow");
    let tail = q.get("tailLines").and_then(|t| t.parse::<usize>().ok());
    let limit = q.get("limitBytes").and_then(|t| t.parse::<usize>().ok());
    let (data, marks, running) = {
        let k = sh.kubelet.lock().unwrap_or_else(|e| e.into_inner());
        let cs = k
            .pods
            .get(&uid)
            .and_then(|p| p.containers.iter().find(|x| x.name == cname));
        match cs {
            None => {
                return Err(ApiError::bad_request(format!(
                    "container \"{cname}\" in pod \"{name}\" is waiting to start: ContainerCreating"
                )));
            }
            Some(cs) => {
                if previous {
                    if cs.restarts == 0 {
                        return Err(ApiError::bad_request(format!(
                            "previous terminated container \"{cname}\" in pod \"{name}\" not found"
                        )));
                    }
                    let (prev, marks) = if matches!(cs.state, CState::Running { .. })
                        || matches!(
                            cs.step,
                            Step::Starting | Step::PullBackOff | Step::PullFailed | Step::Done
                        ) {
                        (cs.prev_log.clone(), cs.prev_log_marks.clone())
                    } else {
                        (cs.log.clone(), cs.log_marks.clone())
                    };
                    (prev, marks, false)
                } else {
                    if matches!(cs.state, CState::Waiting { .. })
                        && cs.restarts == 0
                        && cs.log.is_empty()
                    {
                        let reason = match &cs.state {
                            CState::Waiting { reason, .. }
                                if reason == "ErrImagePull" || reason == "ImagePullBackOff" =>
                            {
                                "trying and failing to pull image".to_string()
                            }
                            CState::Waiting { reason, .. } => reason.clone(),
                            _ => "ContainerCreating".into(),
                        };
                        return Err(ApiError::bad_request(format!(
                            "container \"{cname}\" in pod \"{name}\" is waiting to start: {reason}"
                        )));
                    }
                    (
                        cs.log.clone(),
                        cs.log_marks.clone(),
                        matches!(cs.state, CState::Running { .. }),
                    )
                }
            }
        }
    };
    let timestamps = q.flag("timestamps");
    let since = q
        .get("sinceSeconds")
        .and_then(|x| x.parse::<u64>().ok())
        .map(|secs| std::time::SystemTime::now() - Duration::from_secs(secs));
    let mut out = if timestamps || since.is_some() {
        crate::kubelet::timed_lines(&data, &marks)
            .into_iter()
            .filter(|(t, _)| since.is_none_or(|s| *t >= s))
            .flat_map(|(t, l)| {
                let mut v = if timestamps {
                    format!("{} ", util::fmt_time_nanos(t)).into_bytes()
                } else {
                    Vec::new()
                };
                v.extend_from_slice(&l);
                v
            })
            .collect()
    } else {
        data.clone()
    };
    if let Some(n) = tail {
        let text = out.clone();
        let lines: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
        let start = lines.len().saturating_sub(n);
        out = lines[start..].concat();
    }
    if let Some(l) = limit {
        out.truncate(l);
    }
    if !follow || !running {
        return Ok(text_response(200, out));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let sh2 = sh.clone();
    let mut sent = data.len();
    tokio::spawn(async move {
        if tx.send(Bytes::from(out)).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let (chunk, done) = {
                let k = sh2.kubelet.lock().unwrap_or_else(|e| e.into_inner());
                match k
                    .pods
                    .get(&uid)
                    .and_then(|p| p.containers.iter().find(|x| x.name == cname))
                {
                    None => (Vec::new(), true),
                    Some(cs) => {
                        let log = &cs.log;
                        let chunk = if log.len() > sent {
                            log[sent..].to_vec()
                        } else {
                            Vec::new()
                        };
                        sent = sent.max(log.len());
                        (chunk, !matches!(cs.state, CState::Running { .. }))
                    }
                }
            };
            if !chunk.is_empty() && tx.send(Bytes::from(chunk)).await.is_err() {
                return;
            }
            if done {
                return;
            }
        }
    });
    Ok(stream_response("text/plain", rx))
}

fn ws_accept(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Validate a websocket upgrade and pick the channel protocol.
fn ws_upgrade_response(req: &Request<Incoming>) -> Result<(Response<Body>, bool), ApiError> {
    let hdr = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    if !hdr("upgrade").eq_ignore_ascii_case("websocket") {
        return Err(ApiError::bad_request(format!(
            "kube-sim streams only over websocket (v5.channel.k8s.io, v4.channel.k8s.io); got Upgrade: {:?}",
            hdr("upgrade")
        )));
    }
    let protos: Vec<String> = hdr("sec-websocket-protocol")
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let chosen = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
        .into_iter()
        .find(|p| protos.iter().any(|x| x == p))
        .ok_or_else(|| ApiError::bad_request(format!("kube-sim supports the websocket subprotocols v5.channel.k8s.io and v4.channel.k8s.io; the client offered {protos:?}")))?;
    let key = hdr("sec-websocket-key");
    let resp = Response::builder()
        .status(101)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header("Sec-WebSocket-Accept", ws_accept(&key))
        .header("Sec-WebSocket-Protocol", chosen)
        .body(crate::server::full(Bytes::new()))
        .unwrap();
    Ok((resp, chosen.starts_with("v5")))
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

fn status_json(code: i32, cmd: &[String]) -> Value {
    if code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({"metadata": {}, "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", cmd.join(" ")),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}})
    }
}

fn normal_close() -> Message {
    Message::Close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: Default::default(),
    }))
}

fn chan_msg(ch: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(ch);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

pub async fn exec(
    sh: Arc<Shared>,
    ns: &str,
    name: &str,
    kind: &str,
    q: &Query,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    if kind == "attach"
        && let Some((pod, c)) = ephemeral_container(&sh, ns, name, q.get("container"))
    {
        return attach_ephemeral(sh, pod, c, q, req);
    }
    let (pod, c) = pod_and_container(&sh, ns, name, q.get("container"))?;
    if util::str_of(&pod, "spec.nodeName").is_empty() {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let cname = util::str_of(&c, "name");
    let uid = util::str_of(&pod, "metadata.uid");
    let running = {
        let k = sh.kubelet.lock().unwrap_or_else(|e| e.into_inner());
        k.pods
            .get(&uid)
            .and_then(|p| p.containers.iter().find(|x| x.name == cname))
            .is_some_and(|x| matches!(x.state, CState::Running { .. }))
    };
    if !running {
        return Err(ApiError::bad_request(format!(
            "unable to upgrade connection: container not found (\"{cname}\")"
        )));
    }
    let mut cmd = q.all("command");
    if kind == "exec" && cmd.is_empty() {
        return Err(ApiError::bad_request("you must specify at least 1 command"));
    }
    // attach with stdin to a container that keeps stdin open and has a command (what
    // `kubectl debug --copy-to … -i -- sh` makes): the attach runs that command, as the
    // container's process would read the attached stdin; others stream the simulated log
    let interactive = kind == "attach"
        && q.flag("stdin")
        && c.get("stdin").and_then(|v| v.as_bool()) == Some(true)
        && c.get("command").is_some_and(|v| v.is_array());
    if interactive {
        let strings = |k: &str| -> Vec<String> {
            c.get(k)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        cmd = strings("command");
        cmd.extend(strings("args"));
    }
    let env = {
        let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        let mut e = resolve_env(&st, &pod, &c).map_err(ApiError::bad_request)?;
        e.extend(sh.behaviors.read().unwrap().exec_env(name));
        e.push(("HOSTNAME".into(), name.to_string()));
        e
    };
    let (resp, v5) = match ws_upgrade_response(&req) {
        Ok(r) => r,
        Err(e) => return Ok(error_response(&e)),
    };
    let stdin = q.flag("stdin");
    let tty = q.flag("tty");
    let cut = sh.faults.exec_cut_for(&cmd);
    let kind = kind.to_string();
    tokio::spawn(async move {
        let Ok(up) = hyper::upgrade::on(req).await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(up), Role::Server, None).await;
        // client-go registers its streams only after the upgrade; a status sent at once (a
        // command that ends in microseconds) can reach it first ("Unknown stream id 3,
        // discarding message", then "closed all streams"). A kubelet's CRI exec takes tens
        // of milliseconds before anything comes back: so does kube-sim's.
        tokio::time::sleep(Duration::from_millis(50)).await;
        if kind == "exec" || (interactive && !cmd.is_empty()) {
            run_exec(ws, cmd, env, stdin, tty, v5, cut).await;
        } else {
            run_attach(sh, ws, uid, cname).await;
        }
    });
    Ok(resp)
}

/// The pod and its ephemeral container `container`, if it has one of that name.
fn ephemeral_container(
    sh: &Shared,
    ns: &str,
    name: &str,
    container: Option<&str>,
) -> Option<(Value, Value)> {
    let cn = container?;
    let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
    let pod = st.get(rd("", "pods"), ns, name)?.clone();
    let c = pod
        .pointer("/spec/ephemeralContainers")?
        .as_array()?
        .iter()
        .find(|c| util::str_of(c, "name") == cn)?
        .clone();
    Some((pod, c))
}

/// Attach to an ephemeral container: the first attach runs its command (its `command` and
/// `args`, `sh` without them) with the pod's environment, as exec does; its exit ends the
/// container (`terminated` with the exit code in `status.ephemeralContainerStatuses`).
fn attach_ephemeral(
    sh: Arc<Shared>,
    pod: Value,
    c: Value,
    q: &Query,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let cname = util::str_of(&c, "name");
    let pname = util::str_of(&pod, "metadata.name");
    let running = pod
        .pointer("/status/ephemeralContainerStatuses")
        .and_then(|v| v.as_array())
        .and_then(|a| a.iter().find(|s| util::str_of(s, "name") == cname))
        .is_some_and(|s| s.pointer("/state/running").is_some());
    if !running {
        return Err(ApiError::bad_request(format!(
            "container {cname} is not running in pod {pname}"
        )));
    }
    let strings = |k: &str| -> Vec<String> {
        c.get(k)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut cmd = strings("command");
    cmd.extend(strings("args"));
    if cmd.is_empty() {
        cmd.push("sh".into());
    }
    let env = {
        let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        let mut e = resolve_env(&st, &pod, &c).map_err(ApiError::bad_request)?;
        e.push(("HOSTNAME".into(), pname.clone()));
        e
    };
    let (resp, v5) = match ws_upgrade_response(&req) {
        Ok(r) => r,
        Err(e) => return Ok(error_response(&e)),
    };
    let stdin = q.flag("stdin");
    let tty = q.flag("tty");
    let cut = sh.faults.state().exec_cut_after;
    let ns = util::str_of(&pod, "metadata.namespace");
    tokio::spawn(async move {
        let Ok(up) = hyper::upgrade::on(req).await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(up), Role::Server, None).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let code = run_exec(ws, cmd, env, stdin, tty, v5, cut)
            .await
            .unwrap_or(137);
        let prd = rd("", "pods");
        let mut st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cur) = st.get(prd, &ns, &pname).cloned() {
            let mut status = cur.get("status").cloned().unwrap_or(json!({}));
            if let Some(list) = status
                .get_mut("ephemeralContainerStatuses")
                .and_then(|v| v.as_array_mut())
            {
                for s in list.iter_mut() {
                    if util::str_of(s, "name") == cname {
                        let started = util::str_of(s, "state.running.startedAt");
                        s["state"] = json!({"terminated": {"exitCode": code,
                            "reason": if code == 0 { "Completed" } else { "Error" },
                            "startedAt": started, "finishedAt": util::now_rfc3339(),
                            "containerID": util::str_of(s, "containerID")}});
                    }
                }
            }
            st.set_status(prd, &cur, status, "kubelet");
        }
        drop(st);
        sh.notify.notify_one();
    });
    Ok(resp)
}

async fn run_exec(
    ws: Ws,
    cmd: Vec<String>,
    env: Vec<(String, String)>,
    stdin: bool,
    tty: bool,
    v5: bool,
    cut: Option<u64>,
) -> Option<i32> {
    let (sink, mut stream) = ws.split();
    let (wtx, mut wrx) = mpsc::channel::<Option<Message>>(8);
    let writer = tokio::spawn(async move {
        let mut sink = sink;
        while let Some(m) = wrx.recv().await {
            match m {
                Some(m) => {
                    if sink.send(m).await.is_err() {
                        return;
                    }
                }
                None => {
                    // abrupt cut: drop without a close frame
                    return;
                }
            }
        }
        let _ = sink.send(normal_close()).await;
        let _ = sink.close().await;
    });
    let mut command = tokio::process::Command::new(&cmd[0]);
    command.args(&cmd[1..]).envs(env).kill_on_drop(true);
    // with a TTY the command runs on a pseudo-terminal: stdout and stderr are merged
    // onto channel 1 (as a kubelet does), channel 4 resizes it
    let pty = if tty {
        let opened = crate::pty::open().and_then(|p| {
            let (a, b, c) = (p.slave.try_clone()?, p.slave.try_clone()?, p.slave);
            command
                .stdin(std::process::Stdio::from(a))
                .stdout(std::process::Stdio::from(b))
                .stderr(std::process::Stdio::from(c))
                .env("TERM", "xterm");
            // SAFETY: pre_exec runs async-signal-safe libc calls only.
            unsafe {
                command.pre_exec(crate::pty::make_controlling_terminal);
            }
            Ok(p.master)
        });
        match opened {
            Ok(m) => Some(Arc::new(m)),
            Err(e) => {
                let st = json!({"metadata": {}, "status": "Failure", "message": format!("kube-sim: cannot open a pty: {e}"), "reason": "InternalError"});
                let _ = wtx.send(Some(chan_msg(3, st.to_string().as_bytes()))).await;
                drop(wtx);
                let _ = writer.await;
                close_politely(tokio::spawn(discard_until_close(stream))).await;
                return None;
            }
        }
    } else {
        command
            .stdin(if stdin {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        None
    };
    let spawned = command.spawn();
    // the parent's copies of the pty slave must close, or reading the master never ends
    drop(command);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let msg = format!(
                "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{}\": {e}: unknown",
                cmd[0]
            );
            let st = json!({"metadata": {}, "status": "Failure", "message": msg, "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": "127"}]}});
            let _ = wtx.send(Some(chan_msg(3, st.to_string().as_bytes()))).await;
            drop(wtx);
            let _ = writer.await;
            close_politely(tokio::spawn(discard_until_close(stream))).await;
            return Some(127);
        }
    };
    type Reader = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
    type Writer = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;
    let pty_io = |m: &std::os::fd::OwnedFd| crate::pty::PtyIo::new(m).ok();
    let (mut child_stdin, outputs): (Option<Writer>, Vec<(u8, Option<Reader>)>) = match &pty {
        Some(m) => (
            if stdin {
                pty_io(m).map(|f| Box::new(f) as Writer)
            } else {
                None
            },
            vec![(1u8, pty_io(m).map(|f| Box::new(f) as Reader))],
        ),
        None => (
            child.stdin.take().map(|s| Box::new(s) as Writer),
            vec![
                (1u8, child.stdout.take().map(|s| Box::new(s) as Reader)),
                (2u8, child.stderr.take().map(|s| Box::new(s) as Reader)),
            ],
        ),
    };
    let resize_pty = pty.clone();
    let (gone_tx, mut gone_rx) = tokio::sync::oneshot::channel::<()>();
    // Set once the command has ended: from then on the client's stdin frames
    // are read and discarded (a write blocked on a full pipe gives up), so the
    // connection is never closed with the client's data unread: a kernel
    // answers that with a reset, and the client loses the end of the output.
    let (ended_tx, ended_rx) = tokio::sync::watch::channel(false);
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            match msg {
                Message::Binary(b) => {
                    if b.is_empty() {
                        continue;
                    }
                    match b[0] {
                        0 => {
                            if *ended_rx.borrow() {
                                child_stdin = None;
                            }
                            if let Some(si) = child_stdin.as_mut() {
                                let mut ended = ended_rx.clone();
                                let written = tokio::select! {
                                    r = async {
                                        si.write_all(&b[1..]).await?;
                                        si.flush().await
                                    } => r.is_ok(),
                                    _ = ended.wait_for(|e| *e) => false,
                                };
                                if !written {
                                    child_stdin = None;
                                }
                            }
                        }
                        4 => {
                            // {"Width":W,"Height":H}
                            if let (Some(m), Ok(v)) =
                                (&resize_pty, serde_json::from_slice::<Value>(&b[1..]))
                            {
                                let dim = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
                                let _ = crate::pty::set_size(
                                    m,
                                    dim("Width") as u16,
                                    dim("Height") as u16,
                                );
                            }
                        }
                        255 if v5 && b.get(1) == Some(&0) => {
                            if let Some(mut si) = child_stdin.take() {
                                if resize_pty.is_some() {
                                    // a terminal's end of input is ^D
                                    let _ = si.write_all(&[4]).await;
                                    let _ = si.flush().await;
                                } else {
                                    let _ = si.shutdown().await;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        drop(child_stdin);
        let _ = gone_tx.send(());
    });
    let sent = Arc::new(AtomicU64::new(0));
    let cut_notify = Arc::new(tokio::sync::Notify::new());
    let mut pumps = Vec::new();
    for (ch, r) in outputs {
        let Some(mut r) = r else { continue };
        let wtx = wtx.clone();
        let sent = sent.clone();
        let cut_notify = cut_notify.clone();
        pumps.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match r.read(&mut buf).await {
                    Ok(0) | Err(_) => return true,
                    Ok(n) => n,
                };
                let mut n = n;
                let before = sent.fetch_add(n as u64, Ordering::SeqCst);
                let mut cut_now = false;
                if let Some(limit) = cut
                    && before + n as u64 >= limit
                {
                    n = limit.saturating_sub(before) as usize;
                    cut_now = true;
                }
                if n > 0 && wtx.send(Some(chan_msg(ch, &buf[..n]))).await.is_err() {
                    return false;
                }
                if cut_now {
                    let _ = wtx.send(None).await;
                    cut_notify.notify_one();
                    return false;
                }
            }
        }));
    }
    let mut clean = true;
    let pump_aborts: Vec<tokio::task::AbortHandle> =
        pumps.iter().map(|p| p.abort_handle()).collect();
    let all_pumps = async {
        for p in pumps {
            if !p.await.unwrap_or(false) {
                clean = false;
            }
        }
    };
    // with a TTY the session ends when the command exits, even if a background process
    // still holds the terminal: what it wrote so far is drained, then the status goes
    let tty_exit = async {
        if pty.is_none() {
            return futures::future::pending::<()>().await;
        }
        let _ = child.wait().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::select! {
        _ = all_pumps => {}
        _ = tty_exit => {
            for a in &pump_aborts {
                a.abort();
            }
        }
        _ = &mut gone_rx => {
            let _ = child.kill().await;
            reader.abort();
            return None;
        }
        _ = cut_notify.notified() => {
            let _ = child.kill().await;
            reader.abort();
            writer.abort();
            return None;
        }
    }
    if !clean {
        let _ = child.kill().await;
        reader.abort();
        return None;
    }
    let code = child
        .wait()
        .await
        .ok()
        .and_then(|s| s.code())
        .unwrap_or(137);
    let _ = ended_tx.send(true);
    let _ = wtx
        .send(Some(chan_msg(
            3,
            status_json(code, &cmd).to_string().as_bytes(),
        )))
        .await;
    drop(wtx);
    // The status, then a close frame; the client's remaining frames are read
    // (and dropped) until its close frame answers, as a real API server does.
    let _ = writer.await;
    close_politely(reader).await;
    Some(code)
}

/// How long a closing exec session waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Reads and drops the client's frames until its close frame or the end of
/// the connection.
async fn discard_until_close(mut stream: futures::stream::SplitStream<Ws>) {
    while let Some(Ok(m)) = stream.next().await {
        if matches!(m, Message::Close(_)) {
            return;
        }
    }
}

/// Waits (bounded) for the task reading the client's frames to see the
/// client's close frame or the end of the connection, then drops it.
async fn close_politely(reader: tokio::task::JoinHandle<()>) {
    let abort = reader.abort_handle();
    if tokio::time::timeout(CLOSE_WAIT, reader).await.is_err() {
        abort.abort();
    }
}

async fn run_attach(sh: Arc<Shared>, ws: Ws, uid: String, cname: String) {
    let (mut sink, mut stream) = ws.split();
    let mut sent = 0usize;
    loop {
        let (chunk, done) = {
            let k = sh.kubelet.lock().unwrap_or_else(|e| e.into_inner());
            match k
                .pods
                .get(&uid)
                .and_then(|p| p.containers.iter().find(|x| x.name == cname))
            {
                None => (Vec::new(), true),
                Some(cs) => {
                    let chunk = if cs.log.len() > sent {
                        cs.log[sent..].to_vec()
                    } else {
                        Vec::new()
                    };
                    sent = sent.max(cs.log.len());
                    (chunk, !matches!(cs.state, CState::Running { .. }))
                }
            }
        };
        if !chunk.is_empty() && sink.send(chan_msg(1, &chunk)).await.is_err() {
            return;
        }
        if done {
            break;
        }
        tokio::select! {
            m = stream.next() => {
                match m {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    _ => {}
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let _ = sink
        .send(chan_msg(
            3,
            json!({"metadata": {}, "status": "Success"})
                .to_string()
                .as_bytes(),
        ))
        .await;
    let _ = sink.send(normal_close()).await;
    let _ = sink.close().await;
    close_politely(tokio::spawn(discard_until_close(stream))).await;
}

pub async fn portforward(
    sh: Arc<Shared>,
    ns: &str,
    name: &str,
    q: &Query,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let prd = rd("", "pods");
    {
        let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        let pod = st
            .get(prd, ns, name)
            .ok_or_else(|| ApiError::not_found(prd, name))?;
        if util::str_of(pod, "status.phase") != "Running" {
            return Err(ApiError::bad_request(format!("pod {name} is not running")));
        }
    }
    let hdr = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let upgrade = hdr("upgrade");
    let ws_protos = hdr("sec-websocket-protocol");
    let spdy_ws = upgrade.eq_ignore_ascii_case("websocket")
        && ws_protos
            .split(',')
            .any(|p| p.trim() == "SPDY/3.1+portforward.k8s.io");
    let spdy_raw = upgrade.eq_ignore_ascii_case("SPDY/3.1");
    if spdy_ws || spdy_raw {
        let beh = sh.behaviors.read().unwrap().clone();
        let pod_name = name.to_string();
        let pod_label = name.to_string();
        let cut = sh.faults.state().exec_cut_after;
        let resp = if spdy_ws {
            Response::builder()
                .status(101)
                .header(header::UPGRADE, "websocket")
                .header(header::CONNECTION, "Upgrade")
                .header("Sec-WebSocket-Accept", ws_accept(&hdr("sec-websocket-key")))
                .header("Sec-WebSocket-Protocol", "SPDY/3.1+portforward.k8s.io")
                .body(crate::server::full(Bytes::new()))
                .unwrap()
        } else {
            Response::builder()
                .status(101)
                .header(header::UPGRADE, "SPDY/3.1")
                .header(header::CONNECTION, "Upgrade")
                .header("X-Stream-Protocol-Version", "portforward.k8s.io")
                .body(crate::server::full(Bytes::new()))
                .unwrap()
        };
        tokio::spawn(async move {
            let Ok(up) = hyper::upgrade::on(req).await else {
                return;
            };
            let (in_tx, in_rx) = mpsc::channel::<Bytes>(64);
            let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(64);
            let target = move |port: u16| beh.port_target(&pod_name, port);
            if spdy_ws {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(up), Role::Server, None).await;
                let (mut sink, mut stream) = ws.split();
                tokio::spawn(async move {
                    while let Some(Ok(m)) = stream.next().await {
                        match m {
                            Message::Binary(b) if in_tx.send(b.clone()).await.is_err() => return,
                            Message::Close(_) => return,
                            _ => {}
                        }
                    }
                });
                let writer = tokio::spawn(async move {
                    while let Some(b) = out_rx.recv().await {
                        if b.is_empty() {
                            return; // cut: drop the connection without a close frame
                        }
                        if sink.send(Message::Binary(b)).await.is_err() {
                            return;
                        }
                    }
                    let _ = sink.send(normal_close()).await;
                });
                crate::spdy::portforward_session(in_rx, out_tx, pod_label, target, cut).await;
                let _ = writer.await;
            } else {
                let io = TokioIo::new(up);
                let (mut r, mut w) = tokio::io::split(io);
                tokio::spawn(async move {
                    let mut b = vec![0u8; 32 * 1024];
                    while let Ok(n) = r.read(&mut b).await {
                        if n == 0 || in_tx.send(Bytes::copy_from_slice(&b[..n])).await.is_err() {
                            return;
                        }
                    }
                });
                let writer = tokio::spawn(async move {
                    while let Some(b) = out_rx.recv().await {
                        if b.is_empty() || w.write_all(&b).await.is_err() {
                            return;
                        }
                    }
                    let _ = w.shutdown().await;
                });
                crate::spdy::portforward_session(in_rx, out_tx, pod_label, target, cut).await;
                let _ = writer.await;
            }
        });
        return Ok(resp);
    }
    let ports: Vec<u16> = q
        .all("ports")
        .iter()
        .flat_map(|p| {
            p.split(',')
                .map(|x| x.trim().parse::<u16>())
                .collect::<Vec<_>>()
        })
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::bad_request("invalid port"))?;
    if ports.is_empty() {
        return Err(ApiError::bad_request(
            "query parameter \"port\" is required",
        ));
    }
    let (resp, _v5) = match ws_upgrade_response(&req) {
        Ok(r) => r,
        Err(e) => return Ok(error_response(&e)),
    };
    let targets: Vec<Option<String>> = {
        let b = sh.behaviors.read().unwrap();
        ports.iter().map(|p| b.port_target(name, *p)).collect()
    };
    let cut = sh.faults.state().exec_cut_after;
    let pod_name = name.to_string();
    let uid = util::new_uid();
    tokio::spawn(async move {
        let Ok(up) = hyper::upgrade::on(req).await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(up), Role::Server, None).await;
        run_portforward(ws, ports, targets, pod_name, uid, cut).await;
    });
    Ok(resp)
}

async fn run_portforward(
    ws: Ws,
    ports: Vec<u16>,
    targets: Vec<Option<String>>,
    pod: String,
    uid: String,
    cut: Option<u64>,
) {
    let (sink, mut stream) = ws.split();
    let (wtx, mut wrx) = mpsc::channel::<Option<Message>>(16);
    let writer = tokio::spawn(async move {
        let mut sink = sink;
        while let Some(Some(m)) = wrx.recv().await {
            if sink.send(m).await.is_err() {
                return;
            }
        }
        let _ = sink.send(normal_close()).await;
        let _ = sink.close().await;
    });
    // initial port frames on every data and error channel
    for (i, p) in ports.iter().enumerate() {
        let b = p.to_le_bytes();
        let _ = wtx
            .send(Some(Message::Binary(
                vec![(2 * i) as u8, b[0], b[1]].into(),
            )))
            .await;
        let _ = wtx
            .send(Some(Message::Binary(
                vec![(2 * i + 1) as u8, b[0], b[1]].into(),
            )))
            .await;
    }
    let sent = Arc::new(AtomicU64::new(0));
    let mut writers: Vec<Option<tokio::net::tcp::OwnedWriteHalf>> = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let port = ports[i];
        let conn = match t {
            Some(t) => tokio::net::TcpStream::connect(t).await.map_err(|e| format!("error forwarding port {port} to pod {pod}, uid {uid}: failed to connect to {t}: {e}")),
            None => Err(format!("error forwarding port {port} to pod {pod}, uid {uid}: kube-sim has no `ports:` behaviour for pod {pod} port {port}")),
        };
        match conn {
            Ok(s) => {
                let (mut r, w) = s.into_split();
                writers.push(Some(w));
                let wtx = wtx.clone();
                let sent = sent.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        let n = match r.read(&mut buf).await {
                            Ok(0) | Err(_) => {
                                // the target closed: end the forwarding connection
                                let _ = wtx.send(None).await;
                                return;
                            }
                            Ok(n) => n,
                        };
                        let before = sent.fetch_add(n as u64, Ordering::SeqCst);
                        if let Some(limit) = cut
                            && before + n as u64 >= limit
                        {
                            let n2 = limit.saturating_sub(before) as usize;
                            let _ = wtx.send(Some(chan_msg((2 * i) as u8, &buf[..n2]))).await;
                            let _ = wtx.send(None).await;
                            return;
                        }
                        if wtx
                            .send(Some(chan_msg((2 * i) as u8, &buf[..n])))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
            Err(msg) => {
                writers.push(None);
                let _ = wtx
                    .send(Some(chan_msg((2 * i + 1) as u8, msg.as_bytes())))
                    .await;
            }
        }
    }
    drop(wtx);
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Binary(b) if !b.is_empty() => {
                let ch = b[0] as usize;
                if ch.is_multiple_of(2)
                    && let Some(Some(w)) = writers.get_mut(ch / 2)
                    && w.write_all(&b[1..]).await.is_err()
                {
                    writers[ch / 2] = None;
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    writer.abort();
}

/// `/services/NAME[:PORT]/proxy/...` and `/pods/NAME[:PORT]/proxy/...`.
pub async fn proxy(
    sh: Arc<Shared>,
    rd_: &ResDef,
    ns: &str,
    name_port: &str,
    rest: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let parts: Vec<&str> = name_port.split(':').collect();
    let (name, port_spec) = match parts.as_slice() {
        [n] => (*n, ""),
        [n, p] => (*n, *p),
        [_scheme, n, p] => (*n, *p),
        _ => return Err(ApiError::bad_request("invalid proxy target")),
    };
    let target = {
        let st = sh.store.lock().unwrap_or_else(|e| e.into_inner());
        let beh = sh.behaviors.read().unwrap();
        if rd_.plural == "pods" {
            let prd = rd("", "pods");
            st.get(prd, ns, name)
                .ok_or_else(|| ApiError::not_found(prd, name))?;
            let port: u16 = port_spec.parse().unwrap_or(80);
            beh.port_target(name, port)
        } else {
            let srd = rd("", "services");
            let svc = st
                .get(srd, ns, name)
                .cloned()
                .ok_or_else(|| ApiError::not_found(srd, name))?;
            let sports: Vec<Value> = svc
                .pointer("/spec/ports")
                .and_then(|p| p.as_array())
                .cloned()
                .unwrap_or_default();
            let sp = sports
                .iter()
                .find(|p| {
                    port_spec.is_empty()
                        || util::str_of(p, "name") == port_spec
                        || util::str_of(p, "port") == port_spec
                })
                .cloned()
                .ok_or_else(|| {
                    ApiError::new(
                        503,
                        "ServiceUnavailable",
                        format!("no endpoints available for service \"{name}\""),
                    )
                })?;
            let ep = st
                .get(rd("", "endpoints"), ns, name)
                .cloned()
                .unwrap_or(json!({}));
            let mut found = None;
            let sp_name = util::str_of(&sp, "name");
            for subset in ep
                .get("subsets")
                .and_then(|s| s.as_array())
                .cloned()
                .unwrap_or_default()
            {
                let port = subset
                    .get("ports")
                    .and_then(|p| p.as_array())
                    .and_then(|ps| {
                        ps.iter()
                            .find(|p| util::str_of(p, "name") == sp_name)
                            .or(ps.first())
                            .cloned()
                    })
                    .and_then(|p| p.get("port").and_then(|x| x.as_u64()))
                    .unwrap_or(0) as u16;
                for a in subset
                    .get("addresses")
                    .and_then(|a| a.as_array())
                    .cloned()
                    .unwrap_or_default()
                {
                    let pod = util::str_of(&a, "targetRef.name");
                    if let Some(t) = beh.port_target(&pod, port) {
                        found = Some(t);
                        break;
                    }
                }
            }
            found
        }
    };
    let Some(target) = target else {
        return Err(ApiError::new(
            503,
            "ServiceUnavailable",
            format!("no endpoints available for service \"{name}\""),
        ));
    };
    let stream = tokio::net::TcpStream::connect(&target).await.map_err(|e| {
        ApiError::new(
            503,
            "ServiceUnavailable",
            format!("error trying to reach service: dial tcp {target}: {e}"),
        )
    })?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    tokio::spawn(conn);
    let (parts, body) = req.into_parts();
    let body_bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let pq = match parts.uri.query() {
        Some(q) => format!("/{rest}?{q}"),
        None => format!("/{rest}"),
    };
    let mut out = Request::builder().method(parts.method).uri(pq);
    for (k, v) in parts.headers.iter() {
        if k != header::HOST && k != header::AUTHORIZATION {
            out = out.header(k, v);
        }
    }
    let out = out
        .header(header::HOST, target.as_str())
        .body(crate::server::full(body_bytes))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let resp = sender.send_request(out).await.map_err(|e| {
        ApiError::new(
            503,
            "ServiceUnavailable",
            format!("error trying to reach service: {e}"),
        )
    })?;
    let (rp, rb) = resp.into_parts();
    let body = rb.map_err(std::io::Error::other).boxed();
    Ok(Response::from_parts(rp, body))
}
