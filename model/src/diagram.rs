//! A space-time diagram of a path as inline SVG: one vertical lane per actor, time going down,
//! one row per step; a delivery is an arrow from the row where the message was sent to the row
//! where it arrives, a loss an arrow ending in a cross, a timeout a clock mark, a crash a red
//! cross (the lane is dashed while the server is down) and a restart a green ring. Rows listed
//! in `highlight` get a red band.
//!
//! ```
//! use refraft_model::{diagram, Counterexample, RaftModel, Settings};
//! use refraft_model::counterexample::Step;
//! use refraft_model::ModelTimer;
//! let settings = Settings { servers: 2, max_crashes: 0, ..Settings::default() };
//! let cx = Counterexample {
//!     settings: settings.clone(),
//!     property: "a leader is elected".into(),
//!     steps: vec![Step::Timeout { actor: 0, timer: ModelTimer::Server(refraft::Timer::Election) }],
//! };
//! let model = RaftModel::new(settings).unwrap();
//! let states = cx.replay_on(&model).unwrap();
//! let svg = diagram::svg(&model, &cx.steps, &states, &[]);
//! assert!(svg.starts_with("<svg") && svg.contains("timeout"));
//! ```

use crate::counterexample::Step;
use crate::model::{RaftModel, State};
use crate::msg::Msg;
use crate::summary;
use stateright::Model;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

const LANE: usize = 150;
const ROW: usize = 34;
const TOP: usize = 40;
const LEFT: usize = 60;

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML and SVG text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn envelopes(state: &State) -> BTreeSet<(usize, usize, Msg)> {
    state
        .network
        .iter_deliverable()
        .map(|e| (usize::from(e.src), usize::from(e.dst), *e.msg))
        .collect()
}

/// The diagram of `steps`, where `states[0]` is the initial state and `states[k]` the state
/// after step `k` (from 1). `highlight` lists step numbers (from 1) to mark.
pub fn svg(model: &RaftModel, steps: &[Step], states: &[State], highlight: &[usize]) -> String {
    let actors = states.first().map_or(0, |s| s.actor_states.len());
    let x = |actor: usize| LEFT + actor * LANE;
    let y = |row: usize| TOP + row * ROW;
    let width = LEFT + actors.max(1) * LANE + 420;
    let height = y(steps.len() + 1);
    let mut svg = format!(
        "<svg class='diagram' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>\
         <defs><marker id='arrow' markerWidth='10' markerHeight='8' refX='10' refY='4' orient='auto'>\
         <polygon points='0 0, 10 4, 0 8' fill='#246'/></marker></defs>"
    );
    for &row in highlight {
        let _ = write!(
            svg,
            "<rect class='violation' x='0' y='{}' width='{width}' height='{ROW}' fill='#fdd'/>",
            y(row) - ROW / 2
        );
    }
    // Lanes: solid while up, dashed while down.
    for a in 0..actors {
        let _ = write!(
            svg,
            "<text x='{}' y='20' text-anchor='middle' font-weight='bold'>{}</text>",
            x(a),
            escape(&summary::actor_name(model, a))
        );
        for row in 0..=steps.len() {
            let down = states.get(row).is_some_and(|s| s.crashed[a]);
            let _ = write!(
                svg,
                "<line x1='{0}' x2='{0}' y1='{1}' y2='{2}' stroke='#888' stroke-width='2'{3}/>",
                x(a),
                y(row),
                y(row + 1).min(height),
                if down { " stroke-dasharray='4 4'" } else { "" }
            );
        }
    }
    // Row labels and events.
    let mut sent: HashMap<(usize, usize, Msg), usize> = HashMap::new();
    for env in states.first().map(envelopes).unwrap_or_default() {
        sent.insert(env, 0);
    }
    for (i, step) in steps.iter().enumerate() {
        let row = i + 1;
        match step {
            Step::Deliver { src, dst, msg } | Step::Drop { src, dst, msg } => {
                let from = sent.get(&(*src, *dst, *msg)).copied().unwrap_or(0);
                let lost = matches!(step, Step::Drop { .. });
                let (x1, y1, x2, y2) = (x(*src), y(from), x(*dst), y(row));
                if lost {
                    let (mx, my) = ((x1 + x2) / 2, (y1 + y2) / 2);
                    let _ = write!(
                        svg,
                        "<line x1='{x1}' y1='{y1}' x2='{mx}' y2='{my}' stroke='#a44' stroke-dasharray='3 3'/>\
                         <text x='{mx}' y='{}' text-anchor='middle' fill='#a00' font-size='16'>✕</text>",
                        my + 5
                    );
                } else {
                    let _ = write!(
                        svg,
                        "<line class='message' x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='#246' stroke-width='1.5' marker-end='url(#arrow)'/>"
                    );
                }
            }
            Step::Timeout { actor, .. } => {
                let _ = write!(
                    svg,
                    "<circle class='timeout' cx='{}' cy='{}' r='9' fill='#fc6' stroke='#a60'/>\
                     <line x1='{0}' y1='{1}' x2='{0}' y2='{2}' stroke='#a60'/>",
                    x(*actor),
                    y(row),
                    y(row) - 6
                );
            }
            Step::Crash(a) => {
                let _ = write!(
                    svg,
                    "<text class='crash' x='{}' y='{}' text-anchor='middle' fill='#c00' font-size='22' font-weight='bold'>✕</text>",
                    x(*a),
                    y(row) + 8
                );
            }
            Step::Recover(a) => {
                let _ = write!(
                    svg,
                    "<circle class='restart' cx='{}' cy='{}' r='9' fill='none' stroke='#080' stroke-width='3'/>",
                    x(*a),
                    y(row)
                );
            }
        }
        let label = model.format_action(&step.to_action());
        let _ = write!(
            svg,
            "<text x='{}' y='{}' font-family='monospace' font-size='12'>{row}. {}</text>\
             <text x='8' y='{1}' font-family='monospace' font-size='11' fill='#666'>{row}</text>",
            LEFT + actors.max(1) * LANE - LANE / 2 + 10,
            y(row) + 4,
            escape(&label)
        );
        if let (Some(before), Some(after)) = (states.get(i), states.get(row)) {
            let old = envelopes(before);
            for env in envelopes(after) {
                if !old.contains(&env) {
                    sent.insert(env, row);
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}
