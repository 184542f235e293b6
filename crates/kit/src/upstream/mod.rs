//! The service-chaining port: a component calls another by name, as `http://<name>.spin.internal/...`.
//!
//! On Spin the request goes through the host's local service chaining (the caller needs
//! `allowed_outbound_hosts = ["http://<name>.spin.internal"]`). Natively devhost dispatches in process to the
//! named component's handler, adding the headers Spin adds. Every call is bounded by a timeout.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod spin;

use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
pub use native::Chain;

use crate::http::{Request, Response};

/// Why a chained call produced no response.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The component did not answer within the timeout.
    #[error("component `{0}` timed out")]
    Timeout(String),
    /// The component could not be reached.
    #[error("component `{component}` unreachable: {reason}")]
    Unreachable {
        /// The component called.
        component: String,
        /// Why.
        reason: String,
    },
    /// The host did not run the component: on Spin, an empty `500` from the chained call, which is how Spin
    /// answers when it cannot instantiate the component (most often its instance pool, 1 000 by default, is
    /// full under a burst) or the instance trapped. This app's components never answer an empty `500`: their
    /// errors are problem documents.
    #[error("component `{0}` was not run by the host (an empty 500)")]
    NotRun(String),
}

/// A client for chained calls to other components.
#[derive(Clone)]
pub struct Upstream {
    #[cfg(not(target_arch = "wasm32"))]
    inner: native::Upstream,
    #[cfg(target_arch = "wasm32")]
    inner: spin::Upstream,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").finish_non_exhaustive()
    }
}

impl Upstream {
    /// Chaining through Spin.
    #[cfg(target_arch = "wasm32")]
    pub fn spin() -> Self {
        Self { inner: spin::Upstream }
    }

    /// Chaining through an in-process dispatcher (devhost).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn native(chain: std::sync::Arc<dyn Chain>) -> Self {
        Self { inner: native::Upstream::new(chain) }
    }

    /// Sends `request` (whose URI holds the path and query) to `component`, waiting at most `timeout`.
    pub async fn send(&self, component: &str, request: Request, timeout: Duration) -> Result<Response, UpstreamError> {
        if !is_component_name(component) {
            return Err(UpstreamError::Unreachable {
                component: component.to_owned(),
                reason: "invalid component name".to_owned(),
            });
        }
        let response = self.inner.send(component, request, timeout).await?;
        if is_host_failure(&response) {
            return Err(UpstreamError::NotRun(component.to_owned()));
        }
        Ok(response)
    }
}

/// Spin's own answer when it could not run a component: `500` with no body and no content type.
fn is_host_failure(response: &Response) -> bool {
    response.status() == http::StatusCode::INTERNAL_SERVER_ERROR
        && response.body().is_empty()
        && !response.headers().contains_key(http::header::CONTENT_TYPE)
}

/// Spin component ids: lowercase letters, digits and single dashes.
fn is_component_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The URL Spin uses to reach `component` by local service chaining.
pub fn chained_url(component: &str, path_and_query: &str) -> String {
    format!("http://{component}.spin.internal{path_and_query}")
}
