//! The terminal side of `debug shell`: raw mode for the session (restored
//! however it ends), the window size sent at the start and on every
//! SIGWINCH, stdin to the pod, the pod's output to stdout (scrubbed of
//! known secret values as a stream: see [`crate::redact::StreamScrubber`]),
//! and the remote exit code.

use futures::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::reporters::TerminalReporter;
use crate::cluster::exec;
use crate::exit::Failure;
use crate::ops::debug::shell::{Session, ShellReporter};

impl ShellReporter for TerminalReporter<'_> {
    fn pick_pod(&self, component: &str, pods: &[String]) -> Option<usize> {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return None;
        }
        dialoguer::Select::new()
            .with_prompt(format!(
                "{} pods of {component} are running; which one",
                pods.len()
            ))
            .items(pods)
            .default(0)
            .interact_opt()
            .ok()
            .flatten()
    }
}

/// The terminal in raw mode until dropped (then as it was).
pub struct RawMode {
    #[cfg(unix)]
    saved: libc::termios,
}

impl RawMode {
    /// Raw mode on stdin's terminal.
    #[cfg(unix)]
    pub fn enable() -> std::io::Result<Self> {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(Self { saved })
        }
    }

    #[cfg(not(unix))]
    pub fn enable() -> std::io::Result<Self> {
        Ok(Self {})
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the attributes read in `enable`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}

/// The terminal's (columns, rows), from stdout or stdin.
pub fn window_size() -> Option<(u16, u16)> {
    #[cfg(unix)]
    for fd in [libc::STDOUT_FILENO, libc::STDIN_FILENO] {
        // SAFETY: winsize is plain data; the ioctl fills it or fails.
        unsafe {
            let mut size: libc::winsize = std::mem::zeroed();
            if libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) == 0 && size.ws_col > 0 {
                return Some((size.ws_col, size.ws_row));
            }
        }
    }
    None
}

/// Runs the session to its end and returns the remote command's exit code.
pub async fn attach(mut session: Session) -> Result<i32, Failure> {
    let _raw =
        if session.tty {
            Some(RawMode::enable().map_err(|e| {
                Failure::failed(format!("cannot put the terminal in raw mode: {e}"))
            })?)
        } else {
            None
        };
    let process = &mut session.process;
    let status = process.take_status();
    if session.tty
        && let Some(mut resize) = process.terminal_size()
    {
        tokio::spawn(async move {
            let mut last = None;
            #[cfg(unix)]
            let mut changes =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok();
            loop {
                let now = window_size();
                if now.is_some() && now != last {
                    let (width, height) = now.unwrap_or((80, 24));
                    let size = kube::api::TerminalSize { width, height };
                    if resize.send(size).await.is_err() {
                        return;
                    }
                    last = now;
                }
                #[cfg(unix)]
                match changes.as_mut() {
                    Some(signal) => {
                        if signal.recv().await.is_none() {
                            return;
                        }
                    }
                    None => return,
                }
                #[cfg(not(unix))]
                return;
            }
        });
    }
    if let Some(mut remote_stdin) = process.stdin() {
        // A plain thread reads the terminal (a read blocks until a key is
        // typed; the process exits without waiting for it).
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
        std::thread::spawn(move || {
            use std::io::Read;
            let mut stdin = std::io::stdin();
            let mut buf = vec![0u8; 8192];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if remote_stdin.write_all(&bytes).await.is_err() {
                    return;
                }
                let _ = remote_stdin.flush().await;
            }
            let _ = remote_stdin.shutdown().await;
        });
    }
    let redactor = session.redactor.clone();
    let pump = |from: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>, to_stderr: bool| {
        let mut scrubber = redactor.stream();
        async move {
            let Some(mut from) = from else {
                return;
            };
            let write = |bytes: &[u8]| {
                use std::io::Write;
                if to_stderr {
                    let mut err = std::io::stderr().lock();
                    err.write_all(bytes).and_then(|()| err.flush())
                } else {
                    let mut out = std::io::stdout().lock();
                    out.write_all(bytes).and_then(|()| out.flush())
                }
            };
            let mut buf = vec![0u8; 16384];
            loop {
                let n = match from.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                // Scrubbed as a stream: a value split across two reads (or
                // inside bytes that are not UTF-8) is found all the same;
                // only a tail that could be the start of one waits.
                if write(&scrubber.push(&buf[..n])).is_err() {
                    return;
                }
            }
            let _ = write(&scrubber.finish());
        }
    };
    let stdout = process.stdout();
    let stderr = process.stderr();
    futures::join!(pump(stdout, false), pump(stderr, true));
    let status = match status {
        Some(status) => status.await,
        None => None,
    };
    let pod = session.pod.clone();
    let _ = session.process.join().await;
    exec::exit_code(&pod, status).map_err(Failure::from)
}
