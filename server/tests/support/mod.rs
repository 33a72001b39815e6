//! Shared pieces of the process-level tests.
#![allow(dead_code)]

pub mod cluster;
pub mod history;
pub mod ports;
pub mod proxy;
pub mod tempdir;
