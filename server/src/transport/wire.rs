//! What travels between servers.

use refraft::{KvCommand, Message, NodeId};
use serde::{Deserialize, Serialize};

/// One frame's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// The first frame on every connection: who is sending, and where that server takes
    /// clients (so that a follower can redirect a client with `NOT_LEADER <addr>`).
    Hello {
        /// The sending server.
        from: NodeId,
        /// Its client address.
        client_addr: String,
    },
    /// A Raft message from the sender named in the `Hello`.
    Raft(Message<KvCommand>),
    /// A Raft message with its number among the sender's sends, for traces (`serve --trace`):
    /// the receiver's trace names the message `{sender, seq}` (spec/TRACE.md), so that the
    /// traces of separate processes can be merged. Sent only by a server that traces.
    Traced {
        /// The sender's message counter (from 1, across the sender's restarts).
        seq: u64,
        /// The message.
        message: Message<KvCommand>,
    },
}

impl Frame {
    /// The postcard encoding.
    pub fn encode(&self) -> Vec<u8> {
        // Encoding into a Vec of plain data cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// Decodes untrusted bytes.
    ///
    /// ```
    /// use refraft_server::transport::wire::Frame;
    /// let hello = Frame::Hello { from: refraft::NodeId(2), client_addr: "127.0.0.1:7102".into() };
    /// assert_eq!(Frame::decode(&hello.encode()).unwrap(), hello);
    /// assert!(Frame::decode(&[0xff, 0xff, 0xff]).is_err());
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}
