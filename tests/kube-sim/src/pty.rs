//! A pseudo-terminal for `tty=true` exec: the command gets the slave side as its
//! controlling terminal, kube-sim reads and writes the master side.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Open a pty pair (80x24 until the client resizes it).
pub fn open() -> io::Result<Pty> {
    // SAFETY: plain libc calls on descriptors this function owns; every returned fd is
    // wrapped in an OwnedFd at once.
    unsafe {
        let m = check(libc::posix_openpt(
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        ))?;
        let master = OwnedFd::from_raw_fd(m);
        check(libc::grantpt(m))?;
        check(libc::unlockpt(m))?;
        let mut name = [0 as libc::c_char; 128];
        let r = libc::ptsname_r(m, name.as_mut_ptr(), name.len());
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        let s = check(libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        ))?;
        let slave = OwnedFd::from_raw_fd(s);
        set_size(&master, 80, 24)?;
        Ok(Pty { master, slave })
    }
}

/// TIOCSWINSZ: what `stty size` in the command then reports.
pub fn set_size(master: &OwnedFd, width: u16, height: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from the pointer, which outlives the call.
    check(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) })?;
    Ok(())
}

/// For `Command::pre_exec`: a new session with the pty (stdin) as controlling terminal.
pub fn make_controlling_terminal() -> io::Result<()> {
    // SAFETY: async-signal-safe calls between fork and exec.
    unsafe {
        check(libc::setsid())?;
        check(libc::ioctl(0, libc::TIOCSCTTY as _, 0))?;
    }
    Ok(())
}

/// The master side as a non-blocking tokio reader / writer (epoll, no blocking threads: a
/// command that leaves a background process holding the terminal cannot pin a thread).
pub struct PtyIo(tokio::io::unix::AsyncFd<OwnedFd>);

impl PtyIo {
    pub fn new(master: &OwnedFd) -> io::Result<PtyIo> {
        let fd = master.try_clone()?;
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let flags = check(libc::fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
            check(libc::fcntl(
                fd.as_raw_fd(),
                libc::F_SETFL,
                flags | libc::O_NONBLOCK,
            ))?;
        }
        // SAFETY: the AsyncFd owns the descriptor, so it stays open while registered.
        Ok(PtyIo(unsafe { tokio::io::unix::AsyncFd::register(fd)? }))
    }
}

impl tokio::io::AsyncRead for PtyIo {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        loop {
            let mut guard = std::task::ready!(self.0.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            // SAFETY: reading into an initialized buffer of the given length.
            let r = unsafe {
                libc::read(
                    guard.get_inner().as_raw_fd(),
                    unfilled.as_mut_ptr().cast(),
                    unfilled.len(),
                )
            };
            if r >= 0 {
                buf.advance(r as usize);
                return std::task::Poll::Ready(Ok(()));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => guard.clear_ready(),
                io::ErrorKind::Interrupted => {}
                // EIO: every slave descriptor is closed (the command exited)
                _ if e.raw_os_error() == Some(libc::EIO) => {
                    return std::task::Poll::Ready(Ok(()));
                }
                _ => return std::task::Poll::Ready(Err(e)),
            }
        }
    }
}

impl tokio::io::AsyncWrite for PtyIo {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        loop {
            let mut guard = std::task::ready!(self.0.poll_write_ready(cx))?;
            // SAFETY: writing from a valid slice.
            let r = unsafe {
                libc::write(
                    guard.get_inner().as_raw_fd(),
                    data.as_ptr().cast(),
                    data.len(),
                )
            };
            if r >= 0 {
                return std::task::Poll::Ready(Ok(r as usize));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => guard.clear_ready(),
                io::ErrorKind::Interrupted => {}
                _ => return std::task::Poll::Ready(Err(e)),
            }
        }
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
