//! The receiving side: one listener on the server's peer address, and a short-lived thread per
//! incoming connection that reads its first frame. Every connection starts with a `Hello`
//! naming a member of the cluster; a connection from a stranger, or whose first frame is
//! malformed or over the size limit, is closed. A member's connection is then handed to the
//! node thread, which reads the later frames itself
//! ([`peer_reader`](super::peer_reader)).

use super::frame::read_frame;
use super::peer_reader::NodeInbox;
use super::wire::Frame;
use crate::node_loop::Event;
use refraft::NodeId;
use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// The client addresses peers announced in their `Hello`, by id.
pub type ClientAddrs = Arc<Mutex<BTreeMap<NodeId, String>>>;

/// Accepts peer connections on `listener` until the node thread is gone.
pub fn spawn(
    listener: TcpListener,
    members: Vec<NodeId>,
    events: NodeInbox,
    client_addrs: ClientAddrs,
) {
    std::thread::Builder::new()
        .name("peer-listener".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (members, events, addrs) =
                    (members.clone(), events.clone(), client_addrs.clone());
                let _ = std::thread::Builder::new()
                    .name("peer-recv".into())
                    .spawn(move || receive(stream, &members, &events, &addrs));
            }
        })
        .expect("spawn the peer listener");
}

fn receive(stream: TcpStream, members: &[NodeId], events: &NodeInbox, client_addrs: &ClientAddrs) {
    let remote = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    let mut buf = Vec::new();
    let from = match read_frame(&mut reader, &mut buf).map(|()| Frame::decode(&buf)) {
        Ok(Ok(Frame::Hello { from, client_addr })) if members.contains(&from) => {
            client_addrs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(from, client_addr);
            from
        }
        Ok(Ok(other)) => {
            tracing::warn!(%remote, frame = ?other, "connection does not start with a Hello from a member; closed");
            return;
        }
        Ok(Err(e)) => {
            tracing::warn!(%remote, error = %e, "malformed Hello frame; connection closed");
            return;
        }
        Err(e) => {
            tracing::debug!(%remote, error = %e, "connection closed before Hello");
            return;
        }
    };
    // The rest of the connection is read by the node thread (`peer_reader`), starting with
    // what the buffered reader already holds past the Hello.
    let leftover = reader.buffer().to_vec();
    let stream = reader.into_inner();
    let _ = events.send(Event::PeerConn {
        from,
        stream,
        leftover,
    });
}
