//! Pieces of the `refraft-model` command line that are not flag definitions: quiet output on a
//! closed pipe, the model flags of a command for the printed `explore` command, the explorer's
//! address check, and `replay`.

pub mod explore;
pub mod flags;
pub mod out;
pub mod progress;
pub mod replay;
pub mod suite;
pub mod trace_merge;
pub mod trace_tla;
pub mod validate;
