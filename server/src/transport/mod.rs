//! TCP between servers: each server listens on its peer address ([`inbound`]) and keeps one
//! outgoing connection per peer ([`outbound`]), reconnecting with backoff. Frames are
//! length-prefixed postcard ([`frame`], [`wire`]).

pub mod backoff;
pub mod frame;
pub mod inbound;
pub mod outbound;
pub mod peer_reader;
pub mod wire;
