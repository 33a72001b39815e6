//! The history checks of the process-level tests can fail: a stale read, a lost write and a
//! read of a value never written are caught.

mod support;

use stateright::semantics::register::{RegisterOp, RegisterRet};
use support::history::{self, Event, History};

fn history(events: Vec<Event>) -> History {
    let h = History::default();
    *h.events.lock().unwrap() = events;
    h
}

fn write(thread: u64, v: &str) -> [Event; 2] {
    [
        Event::Invoke {
            thread,
            key: "x".into(),
            op: RegisterOp::Write(Some(v.into())),
        },
        Event::Return {
            thread,
            key: "x".into(),
            ret: RegisterRet::WriteOk,
        },
    ]
}

fn read(thread: u64, v: Option<&str>) -> [Event; 2] {
    [
        Event::Invoke {
            thread,
            key: "x".into(),
            op: RegisterOp::Read,
        },
        Event::Return {
            thread,
            key: "x".into(),
            ret: RegisterRet::ReadOk(v.map(Into::into)),
        },
    ]
}

#[test]
fn a_linearizable_history_passes_with_an_operation_left_in_flight() {
    let mut events: Vec<Event> = [write(1, "a"), read(2, Some("a"))].concat();
    // Thread 3's write never returns (a timed-out client); a later read may see it or not.
    events.push(Event::Invoke {
        thread: 3,
        key: "x".into(),
        op: RegisterOp::Write(Some("b".into())),
    });
    events.extend(read(2, Some("b")));
    events.extend(read(1, Some("b")));
    let checked = history::check_linearizable(&history(events));
    assert_eq!(checked["x"], 5);
}

#[test]
#[should_panic(expected = "not linearizable")]
fn a_stale_read_is_caught() {
    let events = [write(1, "a"), write(1, "b"), read(2, Some("a"))].concat();
    history::check_linearizable(&history(events));
}

#[test]
#[should_panic(expected = "not linearizable")]
fn a_lost_write_read_back_as_absent_is_caught() {
    let events = [write(1, "a"), read(2, None)].concat();
    history::check_linearizable(&history(events));
}

#[test]
#[should_panic(expected = "acknowledged writes are not in the committed log")]
fn an_acknowledged_write_missing_from_the_log_is_caught() {
    let h = History::default();
    h.acked_writes.lock().unwrap().extend([(7, 1), (7, 2)]);
    let log = vec![
        "ENTRY 1 1 noop".to_string(),
        "ENTRY 2 1 7:1 SET x=1".to_string(),
    ];
    history::check_acked_writes_committed(&h, &log);
}
