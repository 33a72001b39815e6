//! Defects of the model harness that once made checks miss states or never end: each test
//! shows the fixed behaviour.

use refraft_model::{RaftModel, Settings};
use stateright::actor::{ActorModelAction, Id};
use stateright::Model;

#[test]
fn back_to_back_restarts_count_against_max_restarts() {
    // Server 0 crashes and restarts twice in a row, with no step in between that persists
    // anything. The restart itself saves the count, so the second restart leaves the bounds of
    // `--max-restarts 1` (it was once counted only by a later persisting step).
    let settings = Settings {
        max_restarts: Some(1),
        ..Settings::default()
    };
    let model = RaftModel::new(settings).unwrap();
    let mut state = model.init_states().remove(0);
    let mut inside = Vec::new();
    for _ in 0..2 {
        for action in [
            ActorModelAction::Crash(Id::from(0)),
            ActorModelAction::Recover(Id::from(0)),
        ] {
            state = model
                .next_state(&state, action)
                .expect("the step changes the state");
        }
        inside.push(model.within_boundary(&state));
    }
    assert_eq!(inside, [true, false]);
}
