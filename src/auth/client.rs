//! Who is at the other end: the client's address, for limits per address.
//!
//! It is the socket's peer, unless that peer is one of
//! `ROTA_TRUSTED_PROXIES`: then it is the right-most `X-Forwarded-For`
//! entry that is not itself a trusted proxy. Entries further left were
//! written by the client and prove nothing; without trusted proxies the
//! header is ignored, so nobody can pick the address they are counted by.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::{IpNet, Ipv6Net};

use crate::error::AppError;
use crate::state::AppState;

/// The client's address, as limits count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// What limits are keyed by: an IPv4 address, or the /64 an IPv6
    /// address is in (one household or server commonly holds a whole /64).
    pub fn limit_key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => Ipv6Net::new(v6, 64)
                .map(|n| n.trunc().to_string())
                .unwrap_or_else(|_| v6.to_string()),
        }
    }
}

/// The client's address given the socket's peer, the request's headers and
/// the trusted proxies.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // From the right: each trusted hop vouches for the entry before it.
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Some(ip) = parse_entry(entry) else {
            // Garbage from a trusted hop's client: that hop is the client.
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
}

/// An entry is an address, perhaps with a port (`203.0.113.7:5123`,
/// `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("served without the peer's address (ConnectInfo)")))?;
        Ok(ClientAddr(client_addr(
            peer.ip(),
            &parts.headers,
            &state.settings.limits.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        crate::config::parse_trusted_proxies(&list.join(",")).expect("nets")
    }

    #[test]
    fn without_trusted_proxies_the_socket_is_the_client() {
        let h = headers(&["198.51.100.1"]);
        assert_eq!(client_addr(ip("127.0.0.1"), &h, &[]), ip("127.0.0.1"));
        // A proxy that is not trusted is the client too.
        assert_eq!(client_addr(ip("10.0.0.9"), &h, &nets(&["10.0.0.1"])), ip("10.0.0.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = headers(&["203.0.113.66, 198.51.100.1, 10.0.0.2"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted), ip("198.51.100.1"));
        // Several headers read as one list, in order.
        let h = headers(&["203.0.113.66", "198.51.100.1:5123"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted), ip("198.51.100.1"));
        let h = headers(&["[2001:db8::1]:443"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted), ip("2001:db8::1"));
    }

    #[test]
    fn a_garbled_or_missing_header_leaves_the_last_trusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &headers(&[]), &trusted), ip("10.0.0.1"));
        let h = headers(&["not-an-ip, 10.0.0.2"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.2"));
        let h = headers(&["10.0.0.3, 10.0.0.2"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.3"));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        assert_eq!(ClientAddr(ip("2001:db8:1:2:aaaa::1")).limit_key(), "2001:db8:1:2::/64");
        assert_eq!(ClientAddr(ip("192.0.2.1")).limit_key(), "192.0.2.1");
        // An IPv4 peer seen through an IPv6 socket is the same client.
        assert_eq!(client_addr(ip("::ffff:192.0.2.1"), &headers(&[]), &[]), ip("192.0.2.1"));
    }
}
