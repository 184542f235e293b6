//! The client's address as the runtime (or a trusted proxy) saw it — never as the client says it.
//!
//! Spin 4.0.2 *appends* its own `spin-client-addr` after the request's headers, so a client can send one
//! first: only the **last** value is Spin's (devhost does the same). Behind reverse proxies the runtime sees
//! the last proxy; each trusted proxy appends the address it saw to `X-Forwarded-For`, so with
//! `trusted_proxy_hops = N` the client is the N-th entry from the right — everything to its left was written
//! by the client (or by untrusted hops) and is ignored. The address feeds rate limits, so a client must not
//! be able to choose it.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

use crate::http::SPIN_CLIENT_ADDR;

/// The header each proxy appends the address of its peer to.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's IP address: with `trusted_proxy_hops = 0`, the last `spin-client-addr` value (the runtime's
/// own); otherwise the `trusted_proxy_hops`-th address from the right of `X-Forwarded-For` (all its header
/// lines, in order). When the list is shorter than that, the request came through fewer proxies than
/// configured and its leftmost entry is the furthest address a trusted hop saw; without the header (or with
/// an entry that is not an address) the runtime's peer address is used. `None` only when the runtime
/// reported no address at all.
pub fn client_ip(headers: &HeaderMap, trusted_proxy_hops: usize) -> Option<IpAddr> {
    let peer = headers.get_all(SPIN_CLIENT_ADDR).iter().next_back().and_then(|value| parse(value.to_str().ok()?));
    if trusted_proxy_hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    let chosen = match forwarded.len().checked_sub(trusted_proxy_hops) {
        Some(index) => forwarded.get(index),
        None => forwarded.first(),
    };
    chosen.and_then(|entry| parse(entry)).or(peer)
}

/// An address as runtimes and proxies write it: `ip`, `ip:port` or `[v6]:port`; IPv4-mapped IPv6 addresses
/// become IPv4, so one client has one spelling.
fn parse(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| text.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_runtime_value_is_the_last_one_and_a_client_sent_one_is_ignored() {
        let spoofed = headers(&[("spin-client-addr", "198.51.100.1:1"), ("spin-client-addr", "203.0.113.7:5123")]);
        assert_eq!(client_ip(&spoofed, 0), ip("203.0.113.7"));
        assert_eq!(client_ip(&headers(&[("spin-client-addr", "[2001:db8::1]:443")]), 0), ip("2001:db8::1"));
        assert_eq!(client_ip(&headers(&[("spin-client-addr", "[::ffff:192.0.2.1]:80")]), 0), ip("192.0.2.1"));
        assert_eq!(client_ip(&headers(&[("spin-client-addr", "not an address")]), 0), None);
        assert_eq!(client_ip(&HeaderMap::new(), 0), None);
    }

    #[test]
    fn forwarded_for_is_ignored_unless_proxies_are_trusted() {
        let request = headers(&[("x-forwarded-for", "198.51.100.1"), ("spin-client-addr", "10.0.0.5:4000")]);
        assert_eq!(client_ip(&request, 0), ip("10.0.0.5"));
    }

    #[test]
    fn with_trusted_hops_the_client_is_that_many_entries_from_the_right() {
        // The client wrote "198.51.100.1, 198.51.100.2"; the CDN appended the client, the ingress the CDN.
        let request = headers(&[
            ("x-forwarded-for", "198.51.100.1, 198.51.100.2"),
            ("x-forwarded-for", "203.0.113.7,192.0.2.10"),
            ("spin-client-addr", "10.0.0.5:4000"),
        ]);
        assert_eq!(client_ip(&request, 1), ip("192.0.2.10"));
        assert_eq!(client_ip(&request, 2), ip("203.0.113.7"));
        // Fewer entries than hops: the leftmost, the furthest any proxy saw.
        assert_eq!(client_ip(&headers(&[("x-forwarded-for", "203.0.113.7")]), 3), ip("203.0.113.7"));
        // No header or a non-address: the runtime's peer.
        assert_eq!(client_ip(&headers(&[("spin-client-addr", "10.0.0.5:4000")]), 1), ip("10.0.0.5"));
        let junk = headers(&[("x-forwarded-for", "unknown"), ("spin-client-addr", "10.0.0.5:4000")]);
        assert_eq!(client_ip(&junk, 1), ip("10.0.0.5"));
        assert_eq!(client_ip(&headers(&[("x-forwarded-for", "[2001:db8::7]:1234")]), 1), ip("2001:db8::7"));
    }
}
