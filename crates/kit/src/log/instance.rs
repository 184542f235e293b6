//! The subscriber of one Spin instance: [`InstanceLog`].
//!
//! On Spin every request is a new instance that installs its subscriber, creates a span or two, writes a
//! line or two and ends. tracing-subscriber's registry is built for long-lived, many-threaded processes (a
//! sharded slab of span slots, per-thread span stacks, reference-counted span lifetimes, an extension map
//! per span); an instance has one thread and a handful of spans that all live until it ends. So this
//! subscriber keeps them in a vector, renders their fields once, and writes each line with the native
//! format's own [`line`](super::line) function, in one write.

use std::sync::Mutex;

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use super::{FieldsVisitor, SpanLine, Verbosity};

/// A span: its name and its fields rendered as `,"name":value` pairs.
struct SpanData {
    metadata: &'static Metadata<'static>,
    fields: String,
}

/// The spans of the instance, by id (index + 1), and the stack of entered ones.
#[derive(Default)]
struct State {
    spans: Vec<SpanData>,
    entered: Vec<Id>,
}

/// A subscriber for a single-threaded, short-lived process: see the module documentation. Spans are kept
/// until the subscriber goes (with the instance); lines are passed to `write` whole.
pub(crate) struct InstanceLog<W> {
    verbosity: Verbosity,
    state: Mutex<State>,
    write: W,
}

impl<W: Fn(&str) + Send + Sync + 'static> InstanceLog<W> {
    pub(super) fn new(verbosity: Verbosity, write: W) -> Self {
        Self { verbosity, state: Mutex::default(), write }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while logging leaves nothing half-done that matters here.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<W: Fn(&str) + Send + Sync + 'static> Subscriber for InstanceLog<W> {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.verbosity.interest(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.verbosity.enabled(metadata)
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut fields = String::new();
        attributes.record(&mut FieldsVisitor::new(&mut fields));
        let mut state = self.state();
        state.spans.push(SpanData { metadata: attributes.metadata(), fields });
        Id::from_u64(state.spans.len() as u64)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut state = self.state();
        if let Some(data) = index(span).and_then(|index| state.spans.get_mut(index)) {
            values.record(&mut FieldsVisitor::new(&mut data.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = {
            let state = self.state();
            let parent = match event.parent() {
                Some(parent) => Some(parent.clone()),
                None if event.is_contextual() => state.entered.last().cloned(),
                None => None,
            };
            let span = parent
                .as_ref()
                .and_then(index)
                .and_then(|index| state.spans.get(index))
                .map(|data| SpanLine { name: data.metadata.name(), fields: &data.fields });
            super::line(event, span)
        };
        if let Ok(line) = line {
            (self.write)(&line);
        }
    }

    fn enter(&self, span: &Id) {
        self.state().entered.push(span.clone());
    }

    fn exit(&self, span: &Id) {
        let mut state = self.state();
        if let Some(position) = state.entered.iter().rposition(|entered| entered == span) {
            state.entered.remove(position);
        }
    }
}

/// The position of span `id` in [`State::spans`].
fn index(id: &Id) -> Option<usize> {
    usize::try_from(id.into_u64()).ok()?.checked_sub(1)
}
