//! What the thin Spin entry points share: turning Spin's incoming request into a buffered [`Request`]
//! (with a body cap) and building the [`Ctx`].

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::future::{select, Either};
use futures::StreamExt;
use spin_executor::CancelOnDropToken;
use spin_sdk::http::IncomingRequest;
use wasi::clocks::monotonic_clock;

use crate::config::{Config, ConfigError};
use crate::http::{BodyOverLimit, Request, Response};
use crate::problem::Problem;
use crate::upstream::Upstream;
use crate::Ctx;

/// Default cap on buffered bodies when the component has no `max_body_bytes` variable.
const DEFAULT_BODY_CAP: usize = 1024 * 1024;

/// Buffers `incoming` into a [`Request`] and builds the component's [`Ctx`]. A body over the cap is not
/// read further: the request carries [`BodyOverLimit`] and the handler answers 413.
pub async fn prepare(incoming: IncomingRequest) -> Result<(Request, Ctx), Response> {
    let config = Config::spin();
    crate::log::init(&config);
    let cap = config.parse_or("max_body_bytes", DEFAULT_BODY_CAP).map_err(|error| misconfigured(&error))?;

    let method = http::Method::from(incoming.method());
    let uri: http::Uri = incoming
        .path_with_query()
        .unwrap_or_else(|| "/".to_owned())
        .parse()
        .map_err(|_| Problem::bad_request("the request target is not a valid URI").into_response())?;
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in incoming.headers().entries() {
        builder = builder.header(name, value);
    }

    let mut body = BytesMut::new();
    let mut over_limit = false;
    let mut stream = incoming.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Problem::bad_request("the request body could not be read").into_response())?;
        if body.len() + chunk.len() > cap {
            over_limit = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    let mut request = builder
        .body(Bytes::from(body))
        .map_err(|_| Problem::bad_request("the request has invalid headers").into_response())?;
    if over_limit {
        request.extensions_mut().insert(BodyOverLimit(cap));
    }
    Ok((request, Ctx { config, upstream: Upstream::spin() }))
}

/// The response when a component cannot be built from its variables (logged, not shown).
pub fn misconfigured(error: &ConfigError) -> Response {
    tracing::error!(%error, "component misconfigured");
    Problem::internal().into_response()
}

/// Runs `future` for at most `duration`: `None` when the time ran out first. The timer is a WASI
/// monotonic-clock pollable driven by Spin's executor, so it works inside `spin_sdk::http::run` too.
pub async fn with_timeout<F: Future>(future: F, duration: Duration) -> Option<F::Output> {
    match select(Box::pin(future), Box::pin(sleep(duration))).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(((), _)) => None,
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
