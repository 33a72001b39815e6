//! Traces: a language-neutral record of protocol steps (NDJSON, one line per step of one
//! server; the schema is in `spec/TRACE.md`), a [`Recorder`] that writes it around
//! `Node::step`, and a [`Validator`] that checks any implementation's trace against the rules
//! of Figure 2 and the properties of Figure 3; [`merge`] joins the per-server traces of
//! separate processes into one.
//!
//! The core's `Node` is unchanged by tracing: drivers (the simulator, the model's replay, the
//! real runtime) record around each step.

mod format;
mod merge;
mod parse;
mod record;
mod validate;

pub use format::{
    runs_of, term_at, Header, Kind, MessageId, Msg, StateView, Step, StepEffect, StepInput,
    TraceRole, VERSION,
};
pub use merge::{merge, MergeError};
pub use parse::{parse_step, NotCanonical, StepReader};
pub use record::{digest_of, input_of, msg_of, state_of, timer_name, Recorder};
pub use validate::{Report, TraceError, TraceRule, Validator, Violation};
