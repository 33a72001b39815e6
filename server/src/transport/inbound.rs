//! The receiving side: one listener on the server's peer address and one thread per incoming
//! connection. Every connection starts with a `Hello` naming a member of the cluster; each
//! later frame is decoded and handed to the node thread. A frame that does not decode is
//! dropped with a log line and the connection goes on (the length prefix keeps it in step); a
//! frame over the size limit, or a connection from a stranger, is closed.

use super::frame::{read_frame, FrameError};
use super::wire::Frame;
use crate::node_loop::Event;
use refraft::NodeId;
use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

/// The client addresses peers announced in their `Hello`, by id.
pub type ClientAddrs = Arc<Mutex<BTreeMap<NodeId, String>>>;

/// Accepts peer connections on `listener` until the node thread is gone.
pub fn spawn(
    listener: TcpListener,
    members: Vec<NodeId>,
    events: SyncSender<Event>,
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

fn receive(
    stream: TcpStream,
    members: &[NodeId],
    events: &SyncSender<Event>,
    client_addrs: &ClientAddrs,
) {
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
    loop {
        match read_frame(&mut reader, &mut buf) {
            Ok(()) => {}
            Err(FrameError::Io(e)) => {
                tracing::debug!(peer = %from, error = %e, "peer connection closed");
                return;
            }
            Err(e @ FrameError::TooLarge(_)) => {
                tracing::warn!(peer = %from, error = %e, "oversized frame; connection closed");
                return;
            }
        }
        match Frame::decode(&buf) {
            Ok(Frame::Raft(message)) => {
                if events
                    .send(Event::Peer {
                        from,
                        message,
                        id: None,
                    })
                    .is_err()
                {
                    return;
                }
            }
            Ok(Frame::Traced { seq, message }) => {
                let id = Some(seq);
                if events.send(Event::Peer { from, message, id }).is_err() {
                    return;
                }
            }
            Ok(Frame::Hello { .. }) => {
                tracing::warn!(peer = %from, "second Hello on a connection dropped");
            }
            Err(e) => {
                tracing::warn!(peer = %from, bytes = buf.len(), error = %e, "malformed frame dropped");
            }
        }
    }
}
