//! Forwarding: the request a service receives and the response the client gets back.

use http::{header, HeaderMap, HeaderName, HeaderValue};
use kit::http::{PC_HEADER_PREFIX, X_PC_CLIENT_ADDR, X_PC_ROLE, X_PC_USER_ID, X_REQUEST_ID};
use kit::identity::Identity;
use kit::{Request, Response};

use crate::error::Error;

/// Hop-by-hop headers (RFC 9110 §7.6.1) and `host`, never forwarded in either direction.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// The request to send to the owning component: hop-by-hop headers, the bearer token, Spin's own
/// headers and every client-sent `x-pc-*` header removed; the verified identity, the client's IP address
/// (from the runtime or the trusted proxies, see [`kit::client_addr`]) and the request id added.
pub fn forward_request(
    request: Request,
    identity: Option<&Identity>,
    request_id: &str,
    trusted_proxy_hops: usize,
) -> Result<Request, Error> {
    let (mut parts, body) = request.into_parts();
    let client_ip = kit::client_addr::client_ip(&parts.headers, trusted_proxy_hops);
    strip_hop_by_hop(&mut parts.headers);
    let owned: Vec<HeaderName> = parts
        .headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            name.starts_with(PC_HEADER_PREFIX) || name.starts_with("spin-") || name == header::AUTHORIZATION
        })
        .cloned()
        .collect();
    for name in owned {
        parts.headers.remove(name);
    }
    let headers = &mut parts.headers;
    if let Some(identity) = identity {
        headers.insert(X_PC_USER_ID, value(&identity.user_id)?);
        headers.insert(X_PC_ROLE, HeaderValue::from_static(identity.role.as_str()));
    }
    if let Some(ip) = client_ip {
        headers.insert(X_PC_CLIENT_ADDR, value(&ip.to_string())?);
    }
    headers.insert(X_REQUEST_ID, value(request_id)?);
    Ok(Request::from_parts(parts, body))
}

/// The upstream response without hop-by-hop headers.
pub fn clean_response(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, body)
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

fn value(text: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(text).map_err(|_| Error::BadRequest("a forwarded header value is invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kit::identity::Role;

    #[test]
    fn client_identity_headers_and_tokens_are_replaced() {
        let request = http::Request::builder()
            .uri("/users/me")
            .header("x-pc-user-id", "spoofed")
            .header("X-PC-Role", "admin")
            .header("authorization", "Bearer abc")
            .header("spin-path-info", "/internal")
            .header("spin-client-addr", "10.0.0.1:1234")
            .header("connection", "close, x-secret")
            .header("x-secret", "1")
            .header("accept", "application/json")
            .body(Bytes::new())
            .unwrap();
        let identity = Identity { user_id: "0190a0c2-0000-7000-8000-000000000001".into(), role: Role::Customer };
        let forwarded = forward_request(request, Some(&identity), "rid-1", 0).unwrap();
        let headers = forwarded.headers();
        assert_eq!(headers["x-pc-user-id"], identity.user_id.as_str());
        assert_eq!(headers["x-pc-role"], "customer");
        assert_eq!(headers["x-pc-client-addr"], "10.0.0.1");
        assert_eq!(headers["x-request-id"], "rid-1");
        assert_eq!(headers["accept"], "application/json");
        for gone in ["authorization", "spin-path-info", "spin-client-addr", "connection", "x-secret"] {
            assert!(headers.get(gone).is_none(), "{gone} was forwarded");
        }
    }

    #[test]
    fn anonymous_requests_carry_no_identity() {
        let request =
            http::Request::builder().uri("/products").header("x-pc-user-id", "spoofed").body(Bytes::new()).unwrap();
        let forwarded = forward_request(request, None, "rid", 0).unwrap();
        assert!(forwarded.headers().get("x-pc-user-id").is_none());
        assert!(forwarded.headers().get("x-pc-role").is_none());
    }

    #[test]
    fn the_client_address_is_spins_last_value_or_the_trusted_proxys_entry() {
        let request = || {
            http::Request::builder()
                .uri("/auth/login")
                .header("spin-client-addr", "198.51.100.66:1")
                .header("x-forwarded-for", "198.51.100.77, 203.0.113.7")
                .header("x-pc-client-addr", "198.51.100.88")
                .header("spin-client-addr", "10.0.0.9:40000")
                .body(Bytes::new())
                .unwrap()
        };
        let direct = forward_request(request(), None, "rid", 0).unwrap();
        assert_eq!(direct.headers().get_all("x-pc-client-addr").iter().collect::<Vec<_>>(), ["10.0.0.9"]);
        let behind_ingress = forward_request(request(), None, "rid", 1).unwrap();
        assert_eq!(behind_ingress.headers()["x-pc-client-addr"], "203.0.113.7");
        assert!(behind_ingress.headers().get("spin-client-addr").is_none());
    }
}
