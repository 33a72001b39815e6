//! The counterexample report: one self-contained HTML file (inline CSS and SVG, no script, no
//! network) with the space-time diagram of the path ([`crate::diagram`]), a table of every
//! actor's one-line state after each step ([`crate::summary`]), and the property's verdict at
//! each step, the first failing step highlighted.
//!
//! ```
//! use refraft_model::{report, Counterexample, RaftModel};
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/counterexamples/vote-once.json")).unwrap();
//! let cx = Counterexample::from_json(&text).unwrap();
//! let model = RaftModel::new(cx.settings.clone()).unwrap();
//! let states = cx.replay_on(&model).unwrap();
//! let page = report::html(&model, &cx, &states);
//! assert!(page.contains("first violated at step"));
//! ```

use crate::counterexample::Counterexample;
use crate::diagram::{self, escape};
use crate::model::{RaftModel, State};
use crate::summary;
use stateright::Model;
use std::fmt::Write;
use std::path::Path;

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.4em}code,td.state{font-family:monospace;font-size:12px}\
table{border-collapse:collapse;margin-top:1em}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}\
tr.violation td{background:#fdd}tr.first td{background:#f99}td.changed{background:#ffe9a8}\
tr.violation td.changed,tr.first td.changed{background:#fb8}\
.verdict{font-weight:bold;color:#a00}.ok{color:#060}.legend{color:#555;font-size:90%}\
.diagram{border:1px solid #ccc;background:#fff}";

/// Fails unless `path` can be written (its directory exists); checked before a long run.
pub fn check_writable(path: &Path) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "{}: directory {} does not exist",
            path.display(),
            dir.display()
        ));
    }
    if path.is_dir() {
        return Err(format!("{}: is a directory", path.display()));
    }
    Ok(())
}

/// Whether step `state` shows the counterexample's property: the property is violated there
/// ("always"), reached ("sometimes"), or not yet true ("eventually").
fn shows(model: &RaftModel, cx: &Counterexample, state: &State) -> Option<bool> {
    let p = model
        .properties()
        .into_iter()
        .find(|p| p.name == cx.property)?;
    let holds = (p.condition)(model, state);
    Some(match p.expectation {
        stateright::Expectation::Sometimes => holds,
        _ => !holds,
    })
}

/// The report of `cx`, whose replayed states are `states` (the initial state first).
pub fn html(model: &RaftModel, cx: &Counterexample, states: &[State]) -> String {
    let steps = &cx.steps;
    let marks: Vec<bool> = states
        .iter()
        .map(|s| shows(model, cx, s).unwrap_or(false))
        .collect();
    let first = marks.iter().position(|&m| m);
    let highlight: Vec<usize> = marks
        .iter()
        .enumerate()
        .filter(|(i, &m)| m && *i > 0)
        .map(|(i, _)| i)
        .collect();
    let kind = model
        .properties()
        .into_iter()
        .find(|p| p.name == cx.property)
        .map(|p| p.expectation);
    let (noun, verb) = match kind {
        Some(stateright::Expectation::Sometimes) => ("Example", "first reached"),
        _ => ("Counterexample", "first violated"),
    };
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>\
         <title>{noun}: {p}</title><style>{STYLE}</style></head><body>\
         <h1>{noun}: <span class='verdict'>{p}</span></h1>",
        p = escape(&cx.property)
    );
    let s = &cx.settings;
    let _ = write!(
        page,
        "<p>Model: {} servers, {} clients, max-term {}, max-crashes {}, network {}{}{}. {} steps.</p>",
        s.servers,
        s.clients,
        s.max_term,
        s.max_crashes,
        s.network,
        if s.lossy { " (lossy)" } else { "" },
        s.broken_rule
            .map(|r| format!(", <b>rule switched off: {r}</b>"))
            .unwrap_or_default(),
        steps.len()
    );
    match first {
        Some(i) => {
            let _ = write!(
                page,
                "<p class='verdict' id='first'>{:?} {verb} at step {i}.</p>",
                cx.property
            );
        }
        None => {
            let _ = write!(
                page,
                "<p class='ok'>{:?} is not shown by any state of this path.</p>",
                cx.property
            );
        }
    }
    page.push_str(
        "<p class='legend'>Lanes are actors, time goes down, one row per step. Arrows are \
         messages from the step that sent them to the step that delivers them; ✕ on an arrow: \
         lost; yellow ring: a timer fires; red ✕: a crash (dashed lane: down); green ring: a \
         restart from durable state. A log entry is <code>index/term:payload</code>.</p>",
    );
    page.push_str(&diagram::svg(model, steps, states, &highlight));
    page.push_str("<table><tr><th>step</th><th>action</th><th>property</th>");
    let actors = states.first().map_or(0, |s| s.actor_states.len());
    for a in 0..actors {
        let _ = write!(page, "<th>{}</th>", escape(&summary::actor_name(model, a)));
    }
    page.push_str("</tr>");
    for (i, state) in states.iter().enumerate() {
        let class = match (Some(i) == first, marks[i]) {
            (true, _) => " class='violation first'",
            (false, true) => " class='violation'",
            _ => "",
        };
        let action = match i {
            0 => "initial state".to_string(),
            _ => model.format_action(&steps[i - 1].to_action()),
        };
        let violated = summary::violated(model, state);
        let verdict = if violated.is_empty() {
            "safety holds".to_string()
        } else {
            format!("VIOLATED: {}", violated.join(", "))
        };
        let _ = write!(
            page,
            "<tr{class} id='step-{i}'><td>{i}</td><td><code>{}</code></td><td>{}</td>",
            escape(&action),
            escape(&verdict)
        );
        for a in 0..actors {
            let line = summary::actor(model, state, a);
            let changed = i > 0 && summary::actor(model, &states[i - 1], a) != line;
            let _ = write!(
                page,
                "<td class='state{}'>{}</td>",
                if changed { " changed" } else { "" },
                escape(&line)
            );
        }
        page.push_str("</tr>");
    }
    page.push_str("</table></body></html>\n");
    page
}
