//! Structured logs: one JSON object per line on stdout (Spin collects component stdout; devhost and the
//! bridge write to their own stdout). The level comes from the `log_level` variable (default `info`).

use tracing::Level;

use crate::config::Config;

/// Installs the JSON subscriber once per process (per request instance on Spin); later calls do nothing.
pub fn init(config: &Config) {
    let level =
        config.get("log_level").ok().flatten().and_then(|level| level.parse::<Level>().ok()).unwrap_or(Level::INFO);
    init_with_level(level);
}

/// Installs the JSON subscriber at `level`.
pub fn init_with_level(level: Level) {
    let _already_installed = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_ansi(false)
        .with_max_level(level)
        .try_init();
}

/// The span every request runs in, so each log line carries the component and the request id.
pub fn request_span(component: &str, request: &crate::Request) -> tracing::Span {
    let request_id = crate::http::request_id(request).unwrap_or("");
    tracing::info_span!("request", component, request_id)
}
