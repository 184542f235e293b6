//! Native chaining: an in-process dispatcher provided by devhost.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http::HeaderValue;

use super::UpstreamError;
use crate::http::{Request, Response, SPIN_CLIENT_ADDR, SPIN_PATH_INFO};

/// The `spin-client-addr` Spin 4.0.2 gives a request made by service chaining.
const CHAINED_CLIENT_ADDR: &str = "0.0.0.0:0";

/// Dispatches a chained request to a component by name; `None` when there is no such component.
pub trait Chain: Send + Sync {
    /// Calls `component` with `request`.
    fn call(&self, component: &str, request: Request) -> BoxFuture<'static, Option<Response>>;
}

#[derive(Clone)]
pub(super) struct Upstream {
    chain: Arc<dyn Chain>,
}

impl Upstream {
    pub(super) fn new(chain: Arc<dyn Chain>) -> Self {
        Self { chain }
    }

    pub(super) async fn send(
        &self,
        component: &str,
        mut request: Request,
        timeout: Duration,
    ) -> Result<Response, UpstreamError> {
        // What Spin does for a chained request: it keeps the caller's headers and appends its own, the whole
        // path in spin-path-info and the fixed client address of chained calls, 0.0.0.0:0.
        if let Ok(path) = HeaderValue::from_str(request.uri().path()) {
            request.headers_mut().append(SPIN_PATH_INFO, path);
        }
        request.headers_mut().append(SPIN_CLIENT_ADDR, HeaderValue::from_static(CHAINED_CLIENT_ADDR));
        if let Ok(host) = HeaderValue::from_str(&format!("{component}.spin.internal")) {
            request.headers_mut().insert(http::header::HOST, host);
        }
        match tokio::time::timeout(timeout, self.chain.call(component, request)).await {
            Err(_) => Err(UpstreamError::Timeout(component.to_owned())),
            Ok(None) => Err(UpstreamError::Unreachable {
                component: component.to_owned(),
                reason: "no such component".to_owned(),
            }),
            Ok(Some(response)) => Ok(response),
        }
    }
}
