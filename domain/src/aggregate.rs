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

    /// Folds events from the default state.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State
    where
        Self::Event: 'a,
    {
        events
            .into_iter()
            .fold(Self::State::default(), Self::evolve)
    }
}
