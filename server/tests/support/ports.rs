//! Loopback ports for test servers, reserved for the whole test process.
//!
//! A port found free by binding and releasing it can be taken before the server binds it: by
//! another test's server, or (in the kernel's ephemeral range) by any outgoing connection's
//! automatic bind. So a port is *reserved*: a TCP socket is bound to it without `SO_REUSEADDR`
//! (which succeeds only if no socket at all holds the port), then given `SO_REUSEADDR`, and
//! kept open, never listening, until the test process exits. While it is held:
//! - `bind(port 0)` elsewhere never returns the port (the kernel picks a port with no socket
//!   first), and an outgoing connection's automatic bind skips it (it skips explicitly bound
//!   ports);
//! - a server (std's `TcpListener::bind` sets `SO_REUSEADDR`) can bind and listen on it, since
//!   Linux lets sockets that all set `SO_REUSEADDR` share a port as long as at most one listens;
//!   a killed server's port is therefore still ours when it restarts;
//! - a second listener on it is refused (`EADDRINUSE`), as before.

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};

/// Reserves loopback port `port` (0: one the kernel picks) for the rest of this process;
/// `None` if some socket holds it already.
pub fn reserve(port: u16) -> Option<SocketAddr> {
    // SAFETY: plain socket calls on a descriptor this function owns; `addr` and `len` are
    // valid, correctly sized locals for the duration of each call.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return None;
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let bound = libc::bind(raw, std::ptr::addr_of!(addr).cast(), len);
        if bound != 0 {
            return None;
        }
        let one: libc::c_int = 1;
        let set = libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            std::ptr::addr_of!(one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        if set != 0 {
            return None;
        }
        if libc::getsockname(raw, std::ptr::addr_of_mut!(addr).cast(), &mut len) != 0 {
            return None;
        }
        // Held until the process exits: the port stays ours across server restarts.
        std::mem::forget(fd);
        Some(SocketAddr::from((
            [127, 0, 0, 1],
            u16::from_be(addr.sin_port),
        )))
    }
}

/// A reserved loopback address (a port the kernel picks).
pub fn free_addr() -> SocketAddr {
    reserve(0).expect("reserve a loopback port")
}

/// A reserved loopback port.
pub fn free_port() -> u16 {
    free_addr().port()
}
