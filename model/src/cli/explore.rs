//! The explorer's address, checked before stateright's `serve` (which panics on an address it
//! cannot bind).

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

/// Resolves `address` and binds it once, so that a bad, out-of-range or busy address is a
/// one-line error instead of a panic inside stateright. Returns the first resolved address.
pub fn check_address(address: &str) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| {
            format!("--address {address:?}: {e} (expected host:port, for example localhost:3000)")
        })?
        .collect();
    if addrs.iter().any(|a| a.port() == 0) {
        return Err(format!(
            "--address {address:?}: port 0 is not supported (the explorer cannot report which port it got)"
        ));
    }
    // Bind the way `serve` will (the first address that can be bound); dropping the listener
    // frees it again.
    let mut last_error = format!("--address {address:?} resolves to no address");
    for addr in addrs {
        match TcpListener::bind(addr) {
            Ok(_) => return Ok(addr),
            Err(e) => last_error = format!("--address {address:?}: cannot listen on {addr}: {e}"),
        }
    }
    Err(last_error)
}
