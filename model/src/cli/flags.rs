//! The model flags of a command line: what `check` and `simulate` print in the `explore`
//! command that opens a discovery, so that the explorer builds the same model. Which flags are
//! model flags is read from the `Bounds` flag group itself, so a flag added there is kept
//! without a change here.

use clap::{Args, CommandFactory};

/// The model flags (with their values) among `args`, the arguments after the subcommand name.
pub fn model_flags(subcommand: &str, args: &[String]) -> Vec<String> {
    let model = crate::Bounds::augment_args(clap::Command::new("bounds"));
    let is_model = |long: &str| model.get_arguments().any(|a| a.get_long() == Some(long));
    let cli = crate::Cli::command();
    let sub = cli.find_subcommand(subcommand);
    let takes_value = |long: &str| {
        sub.and_then(|s| s.get_arguments().find(|a| a.get_long() == Some(long)))
            .is_some_and(|a| a.get_action().takes_values())
    };
    let mut kept = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let token = &args[i];
        i += 1;
        let Some(name) = token.strip_prefix("--") else {
            continue;
        };
        let (long, inline_value) = match name.split_once('=') {
            Some((long, _)) => (long, true),
            None => (name, false),
        };
        let value = (!inline_value && takes_value(long))
            .then(|| args.get(i).cloned())
            .flatten();
        if value.is_some() {
            i += 1;
        }
        if is_model(long) {
            kept.push(token.clone());
            kept.extend(value);
        }
    }
    kept
}

/// The command that opens `path` (an explorer path, `0/1/2`) in the explorer with the model of
/// `flags`, and the page's URL.
pub fn explore_command(flags: &[String], path: &str) -> String {
    let mut words = vec!["refraft-model".to_string(), "explore".to_string()];
    words.extend(flags.iter().cloned());
    format!(
        "{}   then open http://localhost:3000/#/steps/{path}",
        words.join(" ")
    )
}
