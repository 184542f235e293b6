//! Structured logs: one JSON object per line on stdout (Spin collects component stdout; devhost and the
//! bridge write to their own stdout).
//!
//! A line is tracing's JSON shape — `timestamp`, `level`, the event's fields at the top level, `target`,
//! and the fields and name of the event's span (its explicit parent, else the current span) under `span`.
//! One function writes it (`line`): it appends each field as it is visited and splices the span's fields
//! in as they were rendered when the span was created (tracing-subscriber's JSON formatter collected every
//! field into a map of `serde_json::Value`s and parsed the span's fields back from JSON text for every
//! line). Two subscribers use it:
//! - natively (devhost, the bridge, tests), tracing-subscriber's `fmt` with [`JsonLine`];
//! - on Spin, where every request is a new single-threaded instance that writes a line or two and ends,
//!   `InstanceLog`, which keeps the instance's few spans in a vector instead of tracing-subscriber's
//!   registry (built for long-lived, many-threaded processes): 5-9 % less of Spin's CPU for the gateway's
//!   `GET /health/live` on Spin 4.0.2, in paired runs (docs/performance.md).
//!
//! Which lines are written: access lines (target [`ACCESS_TARGET`]) and errors always; everything else by
//! the `log_level` variable (default `info`). A variable read is a host call, and one Spin's environment
//! provider answers hands Spin's worker thread off (60–80 µs of CPU, and far more in waiting; the runtime
//! configuration's static provider avoids that, docs/configuration.md); so a component reads `log_level`
//! only for the first line that needs it, and a request that writes only its access line (a health probe, a
//! cache hit answered by the gateway) reads no variable at all. Like a web server's access log, the access
//! log is not subject to the level.

use std::fmt::{self, Write as _};
use std::sync::{Arc, OnceLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::Config;

mod instance;

pub(crate) use instance::InstanceLog;

/// The target of access lines (the gateway's, one per request, and the bridge's per gRPC call), which are
/// written whatever the level.
pub const ACCESS_TARGET: &str = "access";

/// Installs the subscriber of a Spin instance ([`InstanceLog`]): lines go to stdout, at the level of
/// `log_level` of `config`, read when a line first needs it. Later calls do nothing.
pub fn init(config: &Config) {
    let verbosity = Verbosity::Lazy { config: config.clone(), level: Arc::default() };
    let log = InstanceLog::new(verbosity, |line: &str| {
        // One write per line: stdout is line-buffered and the line ends with its newline.
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), line.as_bytes());
    });
    let _already_installed = tracing::subscriber::set_global_default(log);
}

/// Installs the JSON subscriber of a native process (devhost, the bridge) at `level`.
pub fn init_with_level(level: Level) {
    // The builder's own maximum would filter before the verbosity is asked.
    let _already_installed =
        subscriber().with_max_level(Level::TRACE).finish().with(Verbosity::Fixed(level)).try_init();
}

/// The subscriber builder with this crate's line format, for tests that capture lines with their own
/// writer.
pub fn subscriber() -> tracing_subscriber::fmt::SubscriberBuilder<JsonFields, JsonLine> {
    tracing_subscriber::fmt().fmt_fields(JsonFields).event_format(JsonLine)
}

/// Which lines are written (see the module documentation): a filter layer over the line format.
#[derive(Debug)]
enum Verbosity {
    /// A level known up front (devhost, the bridge).
    Fixed(Level),
    /// The `log_level` variable, read the first time a line at another level than error needs it.
    Lazy { config: Config, level: Arc<OnceLock<Level>> },
}

impl Verbosity {
    /// Whether lines of `metadata` are written, without a level (spans only give lines their context).
    fn always(metadata: &Metadata<'_>) -> bool {
        metadata.is_span() || *metadata.level() == Level::ERROR || metadata.target() == ACCESS_TARGET
    }

    fn level(&self) -> Level {
        match self {
            Self::Fixed(level) => *level,
            Self::Lazy { config, level } => *level.get_or_init(|| {
                config.get("log_level").ok().flatten().and_then(|level| level.parse().ok()).unwrap_or(Level::INFO)
            }),
        }
    }

    /// Decided per line, so that a lazily read level is read only when a line needs it.
    fn interest(&self, metadata: &Metadata<'_>) -> Interest {
        if Self::always(metadata) {
            Interest::always()
        } else {
            Interest::sometimes()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        Self::always(metadata) || *metadata.level() <= self.level()
    }
}

impl<S: Subscriber> Layer<S> for Verbosity {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.interest(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        Verbosity::enabled(self, metadata)
    }
}

/// The span every request runs in, so each log line carries the component and the request id.
pub fn request_span(component: &str, request: &crate::Request) -> tracing::Span {
    let request_id = crate::http::request_id(request).unwrap_or("");
    tracing::info_span!("request", component, request_id)
}

/// Formats an event as one JSON line (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        // The explicit parent when the event names one (or none), else the current span.
        let span = ctx.parent_span();
        let extensions = span.as_ref().map(|span| span.extensions());
        let fields = extensions
            .as_ref()
            .map(|extensions| extensions.get::<FormattedFields<N>>().map_or("", |fields| fields.fields.as_str()));
        let current = span.as_ref().zip(fields).map(|(span, fields)| SpanLine { name: span.name(), fields });
        writer.write_str(&line(event, current)?)
    }
}

/// The current span as a line shows it: its name, and its fields as rendered when it was created.
#[derive(Debug, Clone, Copy)]
struct SpanLine<'a> {
    name: &'a str,
    /// `,"name":value` pairs, as [`FieldsVisitor`] renders them.
    fields: &'a str,
}

/// `event` as one JSON line, newline included, with `span` under `span`.
fn line(event: &Event<'_>, span: Option<SpanLine<'_>>) -> Result<String, fmt::Error> {
    let mut line = String::with_capacity(256);
    line.push_str("{\"timestamp\":\"");
    SystemTime.format_time(&mut Writer::new(&mut line))?;
    line.push_str("\",\"level\":\"");
    line.push_str(event.metadata().level().as_str());
    line.push('"');
    event.record(&mut FieldsVisitor::new(&mut line));
    line.push_str(",\"target\":");
    push_json_str(&mut line, event.metadata().target());
    if let Some(SpanLine { name, fields }) = span {
        line.push_str(",\"span\":{");
        // The span's fields were rendered with a leading comma each.
        line.push_str(fields.strip_prefix(',').unwrap_or(fields));
        line.push_str(if fields.is_empty() { "\"name\":" } else { ",\"name\":" });
        push_json_str(&mut line, name);
        line.push('}');
    }
    line.push_str("}\n");
    Ok(line)
}

/// Renders span fields as `,"name":value` pairs, which [`JsonLine`] splices into each line of the span.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonFields;

impl<'a> MakeVisitor<Writer<'a>> for JsonFields {
    type Visitor = SpanFieldsVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        SpanFieldsVisitor { writer: target, line: String::new() }
    }
}

/// Visits a span's fields for [`JsonFields`].
#[derive(Debug)]
pub struct SpanFieldsVisitor<'a> {
    writer: Writer<'a>,
    line: String,
}

impl Visit for SpanFieldsVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        FieldsVisitor::new(&mut self.line).record_debug(field, value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        FieldsVisitor::new(&mut self.line).record_str(field, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        FieldsVisitor::new(&mut self.line).record_i64(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        FieldsVisitor::new(&mut self.line).record_u64(field, value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        FieldsVisitor::new(&mut self.line).record_f64(field, value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        FieldsVisitor::new(&mut self.line).record_bool(field, value);
    }
}

impl VisitOutput<fmt::Result> for SpanFieldsVisitor<'_> {
    fn finish(mut self) -> fmt::Result {
        self.writer.write_str(&self.line)
    }
}

impl VisitFmt for SpanFieldsVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// Appends each visited field to a line as `,"name":value`: strings escaped, numbers and booleans bare,
/// anything else by its `Debug` form as a string (a `message`'s arguments are formatted, not quoted).
struct FieldsVisitor<'a> {
    line: &'a mut String,
}

impl<'a> FieldsVisitor<'a> {
    fn new(line: &'a mut String) -> Self {
        Self { line }
    }

    fn key(&mut self, field: &Field) {
        self.line.push(',');
        push_json_str(self.line, field.name());
        self.line.push(':');
    }
}

impl Visit for FieldsVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        push_json_str(self.line, &text);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_json_str(self.line, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        // JSON has no NaN or infinity; tracing's JSON writes them as null too.
        if value.is_finite() {
            let _ = write!(self.line, "{value}");
        } else {
            self.line.push_str("null");
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.line.push_str(if value { "true" } else { "false" });
    }
}

/// Appends `text` as a JSON string.
fn push_json_str(line: &mut String, text: &str) {
    line.push('"');
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        line.push_str(&text[start..index]);
        if escape.is_empty() {
            let _ = write!(line, "\\u{byte:04x}");
        } else {
            line.push_str(escape);
        }
        start = index + 1;
    }
    line.push_str(&text[start..]);
    line.push('"');
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(emit: impl FnOnce()) -> Vec<serde_json::Value> {
        capture_at(Verbosity::Fixed(Level::INFO), emit)
    }

    /// The lines `emit` writes through the subscriber [`init`] installs, at `verbosity`.
    fn capture_at(verbosity: Verbosity, emit: impl FnOnce()) -> Vec<serde_json::Value> {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber =
            subscriber().with_max_level(Level::TRACE).with_writer(move || writer.clone()).finish().with(verbosity);
        tracing::subscriber::with_default(subscriber, emit);
        let output = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        output.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
    }

    /// The lines `emit` writes through a Spin instance's subscriber ([`InstanceLog`]) at `verbosity`.
    fn capture_instance(verbosity: Verbosity, emit: impl FnOnce()) -> Vec<serde_json::Value> {
        let lines = Lines::default();
        let writer = lines.clone();
        let log = InstanceLog::new(verbosity, move |line: &str| {
            let mut writer = writer.clone();
            std::io::Write::write_all(&mut writer, line.as_bytes()).unwrap();
        });
        tracing::subscriber::with_default(log, emit);
        let output = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        output.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
    }

    /// Nested and sibling spans, an explicit parent, a root event, and fields recorded later.
    fn request_like_events() {
        let outer = tracing::info_span!("request", component = "gateway", request_id = "");
        let _outer = outer.enter();
        tracing::info!(target: ACCESS_TARGET, status = 200u16, "first");
        {
            let inner = tracing::info_span!("gateway", request_id = "r-9", note = tracing::field::Empty);
            let _inner = inner.enter();
            inner.record("note", "later");
            tracing::warn!(hits = 3i64, ratio = 0.5, ok = true, "inside: {}", "the inner span");
        }
        tracing::error!(parent: None, "no span at all");
        let sibling = tracing::info_span!("sibling");
        tracing::info!(parent: &sibling, "explicit parent");
        tracing::info!("back in the outer span");
    }

    #[test]
    fn a_spin_instance_writes_the_very_lines_the_native_format_writes() {
        let without_time = |mut lines: Vec<serde_json::Value>| {
            for line in &mut lines {
                let time = line.as_object_mut().unwrap().remove("timestamp").unwrap();
                assert!(time.as_str().unwrap().ends_with('Z'), "{time}");
            }
            lines
        };
        let native = without_time(capture_at(Verbosity::Fixed(Level::INFO), request_like_events));
        let instance = without_time(capture_instance(Verbosity::Fixed(Level::INFO), request_like_events));
        assert_eq!(instance, native);
        assert_eq!(messages(&native).len(), 5, "{native:?}");
        assert_eq!(native[1]["span"], serde_json::json!({ "request_id": "r-9", "note": "later", "name": "gateway" }));
        assert!(native[2].get("span").is_none());
        assert_eq!(native[3]["span"]["name"], "sibling");
        assert_eq!(native[4]["span"]["name"], "request");
    }

    #[test]
    fn a_spin_instance_reads_log_level_only_for_a_line_it_decides() {
        let read = Arc::new(OnceLock::new());
        let config = Config::from_map([("log_level".to_owned(), "warn".to_owned())].into());
        let lines = capture_instance(Verbosity::Lazy { config, level: Arc::clone(&read) }, || {
            let span = tracing::debug_span!("request", request_id = "r-3");
            let _entered = span.enter();
            tracing::info!(target: ACCESS_TARGET, "access");
            assert_eq!(read.get(), None, "the access line needs no level");
            tracing::info!("chatty");
            tracing::warn!("odd");
        });
        assert_eq!(messages(&lines), ["access", "odd"]);
        assert_eq!(lines[0]["span"]["request_id"], "r-3");
        assert_eq!(read.get(), Some(&Level::WARN));
    }

    fn messages(lines: &[serde_json::Value]) -> Vec<&str> {
        lines.iter().map(|line| line["message"].as_str().unwrap_or_default()).collect()
    }

    #[test]
    fn log_level_is_read_only_for_a_line_it_decides_and_access_lines_and_errors_need_none() {
        let read = Arc::new(OnceLock::new());
        let config = Config::from_map([("log_level".to_owned(), "warn".to_owned())].into());
        let lazy = Verbosity::Lazy { config: config.clone(), level: Arc::clone(&read) };
        let lines = capture_at(lazy, || {
            let span = tracing::debug_span!("request", request_id = "r-2");
            let _entered = span.enter();
            tracing::info!(target: ACCESS_TARGET, status = 200u16, "access");
            tracing::error!("broken");
        });
        assert_eq!(messages(&lines), ["access", "broken"]);
        assert_eq!(lines[0]["span"]["request_id"], "r-2", "spans give every line its context");
        assert_eq!(read.get(), None, "no line needed the level");

        let lazy = Verbosity::Lazy { config, level: Arc::clone(&read) };
        let lines = capture_at(lazy, || {
            tracing::info!("chatty");
            tracing::warn!("odd");
            tracing::info!(target: ACCESS_TARGET, "access");
        });
        assert_eq!(messages(&lines), ["odd", "access"]);
        assert_eq!(read.get(), Some(&Level::WARN));
    }

    #[test]
    fn a_fixed_or_unreadable_level_filters_every_line_but_access_lines_and_errors() {
        let lines = capture_at(Verbosity::Fixed(Level::DEBUG), || {
            tracing::trace!("too fine");
            tracing::debug!("fine");
        });
        assert_eq!(messages(&lines), ["fine"]);
        let bad = Config::from_map([("log_level".to_owned(), "loud".to_owned())].into());
        let lines = capture_at(Verbosity::Lazy { config: bad, level: Arc::default() }, || {
            tracing::debug!("fine");
            tracing::info!("normal");
        });
        assert_eq!(messages(&lines), ["normal"], "an unusable level is info");
        let lines = capture_at(Verbosity::Fixed(Level::ERROR), || {
            tracing::warn!("odd");
            tracing::info!(target: ACCESS_TARGET, "access");
        });
        assert_eq!(messages(&lines), ["access"]);
    }

    #[test]
    fn a_line_has_the_event_fields_at_the_top_and_the_current_span_under_span() {
        let lines = capture(|| {
            let span = tracing::info_span!("request", component = "gateway", request_id = "r-1");
            let _entered = span.enter();
            tracing::info!(target: "access", status = 200u16, latency_ms = 1.5, hit = true, delta = -3, path = "/p", "request");
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], "access");
        assert_eq!(line["message"], "request");
        assert_eq!(line["status"], 200);
        assert_eq!(line["latency_ms"], 1.5);
        assert_eq!(line["hit"], true);
        assert_eq!(line["delta"], -3);
        assert_eq!(line["path"], "/p");
        assert_eq!(line["span"], serde_json::json!({ "component": "gateway", "request_id": "r-1", "name": "request" }));
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(timestamp.len() >= 20 && timestamp.ends_with('Z'), "{timestamp}");
    }

    #[test]
    fn values_are_escaped_and_odd_numbers_stay_valid_json() {
        let lines = capture(|| {
            let error = "bad \"quote\" \\ and\nnewline \u{1} tab\t é";
            tracing::warn!(%error, ratio = f64::NAN, debug = ?Some("x"), "failed: {}", "why");
        });
        let line = &lines[0];
        assert_eq!(line["error"], "bad \"quote\" \\ and\nnewline \u{1} tab\t é");
        assert_eq!(line["ratio"], serde_json::Value::Null);
        assert_eq!(line["debug"], "Some(\"x\")");
        assert_eq!(line["message"], "failed: why");
        assert!(line.get("span").is_none());
    }

    #[test]
    fn a_span_without_fields_still_names_itself() {
        let lines = capture(|| {
            let span = tracing::info_span!("startup");
            let _entered = span.enter();
            tracing::info!("ready");
        });
        assert_eq!(lines[0]["span"], serde_json::json!({ "name": "startup" }));
    }
}
