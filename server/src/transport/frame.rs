//! Length-prefixed frames on a byte stream: `[length: u32 LE][payload]`, the payload a postcard
//! encoding of a [`Frame`](super::wire::Frame). The length lets a reader skip a payload it
//! cannot decode and stay in step with the stream.

use std::io::{self, Read, Write};

/// The largest frame accepted; a larger length ends the connection (the stream is not trusted
/// to be in step any more).
pub const MAX_FRAME: usize = 16 << 20;

/// Why no frame was read.
#[derive(Debug)]
pub enum FrameError {
    /// The connection failed or closed.
    Io(io::Error),
    /// The length field announces more than [`MAX_FRAME`] bytes.
    TooLarge(usize),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "{e}"),
            FrameError::TooLarge(n) => write!(f, "frame of {n} bytes exceeds {MAX_FRAME}"),
        }
    }
}

/// Writes one frame holding `payload`.
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&n| n as usize <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(payload)
}

/// Reads one frame's payload into `buf` (replacing its contents).
///
/// ```
/// use refraft_server::transport::frame::{read_frame, write_frame};
/// let mut wire = Vec::new();
/// write_frame(&mut wire, b"hello").unwrap();
/// let mut buf = Vec::new();
/// read_frame(&mut wire.as_slice(), &mut buf).unwrap();
/// assert_eq!(buf, b"hello");
/// ```
pub fn read_frame(r: &mut impl Read, buf: &mut Vec<u8>) -> Result<(), FrameError> {
    let mut len = [0; 4];
    r.read_exact(&mut len).map_err(FrameError::Io)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    buf.clear();
    buf.resize(len, 0);
    r.read_exact(buf).map_err(FrameError::Io)
}
