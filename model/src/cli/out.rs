//! Standard output that ends the process quietly when the reader has gone away
//! (`refraft-model check | head`): `println!` would panic on the broken pipe, and the panic
//! would poison the checker's locks and panic again.

use std::io::{ErrorKind, Write};

/// The exit status of a process ended by a closed pipe (128 + SIGPIPE), as the shell reports
/// one killed by the signal.
pub const BROKEN_PIPE: i32 = 141;

/// Writes `args` and a newline to standard output; exits quietly if the pipe is closed.
pub fn line(args: std::fmt::Arguments) {
    let mut stdout = std::io::stdout().lock();
    let result = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(BROKEN_PIPE),
        Err(e) => {
            eprintln!("error: writing to standard output: {e}");
            std::process::exit(2)
        }
    }
}

/// `say!("...", args)`: `println!` through [`line`].
#[macro_export]
macro_rules! say {
    () => { $crate::cli::out::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::out::line(format_args!($($arg)*)) };
}
