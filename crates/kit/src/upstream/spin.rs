//! Spin chaining: `spin_sdk::http::send` to `http://<component>.spin.internal`, raced against a WASI
//! monotonic-clock timer driven by the same executor.

use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures::future::{select, Either};
use spin_executor::CancelOnDropToken;
use wasi::clocks::monotonic_clock;

use super::{chained_url, UpstreamError};
use crate::http::{Request, Response};

#[derive(Clone, Copy)]
pub(super) struct Upstream;

impl Upstream {
    pub(super) async fn send(
        &self,
        component: &str,
        request: Request,
        timeout: Duration,
    ) -> Result<Response, UpstreamError> {
        let unreachable = |reason: String| UpstreamError::Unreachable { component: component.to_owned(), reason };
        let (parts, body) = request.into_parts();
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let mut outgoing = http::Request::builder()
            .method(parts.method)
            .uri(chained_url(component, path_and_query))
            .body(body)
            .map_err(|error| unreachable(error.to_string()))?;
        *outgoing.headers_mut() = parts.headers;
        outgoing.headers_mut().remove(http::header::HOST);

        let send = Box::pin(spin_sdk::http::send::<_, spin_sdk::http::Response>(outgoing));
        let response = match select(send, Box::pin(sleep(timeout))).await {
            Either::Left((result, _)) => result.map_err(|error| unreachable(error.to_string()))?,
            Either::Right(((), _)) => return Err(UpstreamError::Timeout(component.to_owned())),
        };
        let mut builder = http::Response::builder().status(*response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value.as_bytes());
        }
        builder.body(Bytes::from(response.into_body())).map_err(|error| unreachable(error.to_string()))
    }
}

/// Completes after `duration`, waking through Spin's executor (which polls WASI pollables).
async fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let deadline = monotonic_clock::now().saturating_add(nanos);
    // Dropping the token unregisters the pollable, so it must live as long as the wait.
    let mut registration: Option<CancelOnDropToken> = None;
    futures::future::poll_fn(|cx| {
        if monotonic_clock::now() >= deadline {
            return Poll::Ready(());
        }
        let pollable = monotonic_clock::subscribe_instant(deadline);
        registration = Some(spin_executor::push_waker_and_get_token(pollable, cx.waker().clone()).into());
        Poll::Pending
    })
    .await;
    drop(registration);
}
