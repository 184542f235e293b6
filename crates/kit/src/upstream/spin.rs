//! Spin chaining: `spin_sdk::http::send` to `http://<component>.spin.internal` (body written first, see
//! [`crate::spin_host::send`]), under a timeout.

use std::time::Duration;

use bytes::Bytes;

use super::{chained_url, UpstreamError};
use crate::http::{Request, Response};
use crate::spin_host::with_timeout;

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

        let send = crate::spin_host::send(outgoing);
        let response = match with_timeout(send, timeout).await {
            Some(result) => result.map_err(|error| unreachable(error.to_string()))?,
            None => return Err(UpstreamError::Timeout(component.to_owned())),
        };
        let mut builder = http::Response::builder().status(*response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value.as_bytes());
        }
        builder.body(Bytes::from(response.into_body())).map_err(|error| unreachable(error.to_string()))
    }
}
