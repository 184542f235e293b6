//! Structured logs: one JSON object per line on stdout (Spin collects component stdout; devhost and the
//! bridge write to their own stdout). The level comes from the `log_level` variable (default `info`).
//!
//! A line is tracing's JSON shape — `timestamp`, `level`, the event's fields at the top level, `target`,
//! and the current span's fields and name under `span` — written by [`JsonLine`] rather than by
//! tracing-subscriber's JSON formatter. On Spin every request is a new instance that writes at least the
//! gateway's access line, and that formatter collects every field into a map of `serde_json::Value`s and
//! parses the span's fields back from JSON text for every line; this one appends each field to the line as
//! it is visited and splices the span's fields in as they were rendered when the span was created.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::Config;

/// Installs the JSON subscriber once per process (per request instance on Spin); later calls do nothing.
pub fn init(config: &Config) {
    let level =
        config.get("log_level").ok().flatten().and_then(|level| level.parse::<Level>().ok()).unwrap_or(Level::INFO);
    init_with_level(level);
}

/// Installs the JSON subscriber at `level`.
pub fn init_with_level(level: Level) {
    let _already_installed = subscriber().with_max_level(level).try_init();
}

/// The subscriber builder with this crate's line format, for tests that capture lines with their own
/// writer.
pub fn subscriber() -> tracing_subscriber::fmt::SubscriberBuilder<JsonFields, JsonLine> {
    tracing_subscriber::fmt().fmt_fields(JsonFields).event_format(JsonLine)
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
        let mut line = String::with_capacity(256);
        line.push_str("{\"timestamp\":\"");
        SystemTime.format_time(&mut Writer::new(&mut line))?;
        line.push_str("\",\"level\":\"");
        line.push_str(event.metadata().level().as_str());
        line.push('"');
        event.record(&mut FieldsVisitor::new(&mut line));
        line.push_str(",\"target\":");
        push_json_str(&mut line, event.metadata().target());
        if let Some(span) = ctx.lookup_current() {
            line.push_str(",\"span\":{");
            let extensions = span.extensions();
            let fields = extensions.get::<FormattedFields<N>>().map_or("", |fields| fields.fields.as_str());
            // The span's fields were rendered with a leading comma each.
            line.push_str(fields.strip_prefix(',').unwrap_or(fields));
            line.push_str(if fields.is_empty() { "\"name\":" } else { ",\"name\":" });
            push_json_str(&mut line, span.name());
            line.push('}');
        }
        line.push_str("}\n");
        writer.write_str(&line)
    }
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
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = subscriber().with_writer(move || writer.clone()).finish();
        tracing::subscriber::with_default(subscriber, emit);
        let output = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        output.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
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
