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
