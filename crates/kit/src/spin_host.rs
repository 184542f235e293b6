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
use crate::http::{BodyCap, BodyOverLimit, Request, Response};
use crate::problem::Problem;
use crate::upstream::Upstream;
use crate::Ctx;

/// Default cap on buffered bodies when the component has no `max_body_bytes` variable.
const DEFAULT_BODY_CAP: usize = 1024 * 1024;

/// Buffers `incoming` into a [`Request`] and builds the component's [`Ctx`]. A body over the cap is not
/// read further: the request carries [`BodyOverLimit`] and the handler answers 413. A request with a body
/// carries the cap read for it ([`BodyCap`]).
///
/// The cap (`max_body_bytes`) is read only when a body arrives: every variable a component reads costs
/// Spin a lookup through its providers (the environment provider's runs in `block_in_place`, handing the
/// worker thread off), and most requests are `GET`s without a body.
pub async fn prepare(incoming: IncomingRequest) -> Result<(Request, Ctx), Response> {
    let config = Config::spin();
    crate::log::init(&config);

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
    let mut over_limit = None;
    let mut cap = None;
    let mut stream = incoming.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Problem::bad_request("the request body could not be read").into_response())?;
        // Read once, at the first chunk.
        let limit = match cap {
            Some(limit) => limit,
            None => {
                *cap.insert(config.parse_or("max_body_bytes", DEFAULT_BODY_CAP).map_err(|error| misconfigured(&error))?)
            }
        };
        if body.len() + chunk.len() > limit {
            over_limit = Some(limit);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    let mut request = builder
        .body(Bytes::from(body))
        .map_err(|_| Problem::bad_request("the request has invalid headers").into_response())?;
    if let Some(cap) = over_limit {
        request.extensions_mut().insert(BodyOverLimit(cap));
    }
    if let Some(cap) = cap {
        request.extensions_mut().insert(BodyCap(cap));
    }
    Ok((request, Ctx { config, upstream: Upstream::spin(), key_value: crate::kv::KeyValue::spin() }))
}

/// Hands `response` to Spin with its body already written, so the host sends the head and the body in
/// one segment: written after the head (as spin-sdk does), the body is a second small segment that Nagle's
/// algorithm (Spin sets no `TCP_NODELAY`) holds until the client's delayed ACK, ~40 ms later.
/// The host buffers one chunk of up to 1 MiB before the response is set; anything beyond follows after.
pub async fn respond(out: spin_sdk::http::ResponseOutparam, response: Response) {
    use spin_sdk::http::{Fields, OutgoingBody, OutgoingResponse};

    let (parts, body) = response.into_parts();
    let mut entries = field_list(&parts.headers);
    let bodiless = parts.status == http::StatusCode::NOT_MODIFIED || parts.status == http::StatusCode::NO_CONTENT;
    if !bodiless && !body.is_empty() && !parts.headers.contains_key(http::header::CONTENT_LENGTH) {
        entries.push(("content-length".to_owned(), body.len().to_string().into_bytes()));
    }
    let Ok(headers) = Fields::from_list(&entries) else {
        tracing::error!("response headers refused by the host");
        return;
    };
    let outgoing = OutgoingResponse::new(headers);
    let _ = outgoing.set_status_code(parts.status.as_u16());
    let Ok(outgoing_body) = outgoing.body() else {
        return;
    };
    let Ok(stream) = outgoing_body.write() else {
        return;
    };
    let mut rest: &[u8] = &body;
    if let Ok(permitted) = stream.check_write() {
        let now = rest.len().min(usize::try_from(permitted).unwrap_or(usize::MAX));
        if now > 0 && stream.write(&rest[..now]).is_ok() {
            rest = &rest[now..];
        }
    }
    out.set(outgoing);
    while !rest.is_empty() {
        match stream.check_write() {
            Ok(0) => stream.subscribe().block(),
            Ok(permitted) => {
                let now = rest.len().min(usize::try_from(permitted).unwrap_or(usize::MAX));
                if stream.write(&rest[..now]).is_err() {
                    return;
                }
                rest = &rest[now..];
            }
            // The client went away.
            Err(_) => return,
        }
    }
    let _ = stream.blocking_flush();
    drop(stream);
    let _ = OutgoingBody::finish(outgoing_body, None);
}

/// Sends `request` with `spin_sdk::http::send`, its body written and finished before the host starts the
/// request, so the head and the body leave in one segment ([`respond`] says why that matters on Spin).
/// A body the host cannot buffer at once goes the ordinary way.
pub async fn send(request: http::Request<Bytes>) -> Result<spin_sdk::http::Response, spin_sdk::http::SendError> {
    match prebuffered(&request) {
        Some(outgoing) => spin_sdk::http::send(outgoing).await,
        None => spin_sdk::http::send(request).await,
    }
}

/// `request` as an [`spin_sdk::http::OutgoingRequest`] whose body is already written and finished; `None`
/// when the body does not fit the host's buffer (or the host refused a part).
fn prebuffered(request: &http::Request<Bytes>) -> Option<spin_sdk::http::OutgoingRequest> {
    use spin_sdk::http::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

    let outgoing = OutgoingRequest::new(Fields::from_list(&field_list(request.headers())).ok()?);
    let method = match request.method().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_owned()),
    };
    outgoing.set_method(&method).ok()?;
    let uri = request.uri();
    let scheme = match uri.scheme_str() {
        Some("https") => Scheme::Https,
        _ => Scheme::Http,
    };
    outgoing.set_scheme(Some(&scheme)).ok()?;
    outgoing.set_authority(uri.authority().map(|authority| authority.as_str())).ok()?;
    outgoing.set_path_with_query(uri.path_and_query().map(|pq| pq.as_str())).ok()?;
    let body = outgoing.body().ok()?;
    {
        let stream = body.write().ok()?;
        let bytes = request.body();
        if !bytes.is_empty() {
            let permitted = usize::try_from(stream.check_write().ok()?).unwrap_or(usize::MAX);
            if permitted < bytes.len() {
                return None;
            }
            stream.write(bytes).ok()?;
        }
    }
    OutgoingBody::finish(body, None).ok()?;
    Some(outgoing)
}

/// Headers as the WASI `fields` constructor takes them.
fn field_list(headers: &http::HeaderMap) -> Vec<(String, Vec<u8>)> {
    headers.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect()
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
