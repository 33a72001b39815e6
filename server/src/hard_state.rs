//! The hard state of Figure 2 besides the log: `current_term` and `voted_for`, in one small
//! file replaced atomically: write `hard_state.tmp`, fsync it, rename it over `hard_state`,
//! fsync the directory. A crash leaves either the old file or the new one, never a mix.

use crate::storage_error::StorageError;
use crate::wal::segment::sync_dir;
use refraft::{NodeId, Term};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The file name.
pub const FILE: &str = "hard_state";
const TMP: &str = "hard_state.tmp";

/// `current_term` and `voted_for`.
///
/// ```
/// use refraft::NodeId;
/// use refraft_server::hard_state::{self, HardState};
/// let dir = std::env::temp_dir().join(format!("refraft-hs-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// assert_eq!(hard_state::load(&dir).unwrap(), HardState::default());
/// let hs = HardState { current_term: 3, voted_for: Some(NodeId(2)) };
/// hard_state::store(&dir, &hs).unwrap();
/// assert_eq!(hard_state::load(&dir).unwrap(), hs);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    /// The latest term seen (§5.1).
    pub current_term: Term,
    /// The vote in `current_term` (§5.2).
    pub voted_for: Option<NodeId>,
}

/// Reads the hard state in `dir`; a missing file is the initial state (term 0, no vote).
pub fn load(dir: &Path) -> Result<HardState, StorageError> {
    let path = dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HardState::default()),
        Err(e) => return Err(StorageError::io("read", &path, e)),
    };
    let corrupt = |reason: String| StorageError::Corrupt {
        file: path.clone(),
        offset: 0,
        reason,
    };
    if bytes.len() < 4 {
        return Err(corrupt(format!(
            "{} bytes, shorter than a checksum",
            bytes.len()
        )));
    }
    let (crc, body) = bytes.split_at(4);
    let crc = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
    if crc32c::crc32c(body) != crc {
        return Err(corrupt("CRC-32C mismatch".into()));
    }
    postcard::from_bytes(body).map_err(|e| corrupt(format!("does not decode: {e}")))
}

/// Replaces the hard state in `dir` atomically and durably.
pub fn store(dir: &Path, state: &HardState) -> Result<(), StorageError> {
    let body = postcard::to_stdvec(state).map_err(|e| StorageError::Encode(e.to_string()))?;
    let mut bytes = crc32c::crc32c(&body).to_le_bytes().to_vec();
    bytes.extend_from_slice(&body);
    let tmp = dir.join(TMP);
    let mut file = std::fs::File::create(&tmp).map_err(StorageError::at("create", &tmp))?;
    file.write_all(&bytes)
        .map_err(StorageError::at("write", &tmp))?;
    file.sync_all().map_err(StorageError::at("fsync", &tmp))?;
    drop(file);
    let path = dir.join(FILE);
    std::fs::rename(&tmp, &path).map_err(StorageError::at("rename", &path))?;
    sync_dir(dir)
}
