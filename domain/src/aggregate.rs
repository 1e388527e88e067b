//! The shape every aggregate shares, so an executor can drive any of them.

use crate::codec::DomainEvent;

/// A decider: pure `decide`, infallible `evolve`, and a stream category.
///
/// The executor (in `projections`) does, for a stream `<CATEGORY>-<id>`:
///
/// ```text
/// state = events.fold(State::default(), evolve)   // or a cached state + tail
/// new   = decide(&state, &cmd)?                   // pure: no I/O, no clock
/// log.append(stream, Exact(revision), new)?       // conflict => re-read, re-decide
/// state = new.fold(state, evolve)
/// ```
///
/// `State::default()` is "the stream has no events yet".
pub trait Aggregate {
    type State: Default + Clone + std::fmt::Debug + PartialEq;
    type Command;
    type Event: DomainEvent + Clone;
    type Error: std::error::Error;
    /// Stream category: streams are named `<CATEGORY>-<id>`.
    const CATEGORY: &'static str;

    /// The events a command produces in a state, or why it is refused. Refusals
    /// change nothing; an empty vector means "already so, nothing to record".
    fn decide(state: &Self::State, cmd: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// The state after one event. Holds no business rules and cannot fail: it
    /// trusts that the event was produced by `decide` on the state it is given.
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;

    /// `evolve` in place: the same result without moving the state in and out,
    /// which is what replays of long streams want. Aggregates with large states
    /// override it with a native in-place version.
    fn apply(state: &mut Self::State, event: &Self::Event) {
        *state = Self::evolve(std::mem::take(state), event);
    }

    /// Folds events from the default state (through [`apply`](Self::apply)).
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State
    where
        Self::Event: 'a,
    {
        let mut state = Self::State::default();
        for e in events {
            Self::apply(&mut state, e);
        }
        state
    }
}
