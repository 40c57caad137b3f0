//! What kind of network an IP address belongs to, which decides whether
//! Rota may send a request there on a user's behalf.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kind of an address, as far as sending to it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// On the internet: always allowed.
    Public,
    /// A private network (10/8, 172.16/12, 192.168/16, 100.64/10, 198.18/15,
    /// fc00::/7, fec0::/10): allowed with `ROTA_OUTGOING_ALLOW_PRIVATE` or by name.
    Private,
    /// This server itself: allowed only by name.
    Loopback,
    /// Link-local (169.254/16, fe80::/10), where cloud metadata services
    /// live: never.
    LinkLocal,
    /// A cloud metadata service outside link-local (AWS's IPv6 one,
    /// Alibaba's): never.
    Metadata,
    /// 0.0.0.0/8 and `::`, which reach this server: never.
    Unspecified,
    Multicast,
    Broadcast,
    /// 240/4, which nothing routes: never.
    Reserved,
}

/// AWS's instance metadata over IPv6 sits in the unique-local range.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
/// Alibaba Cloud's metadata service sits in the shared (CGNAT) range.
const ALIBABA_METADATA: Ipv4Addr = Ipv4Addr::new(100, 100, 100, 200);

impl Class {
    pub fn of(ip: IpAddr) -> Class {
        match ip {
            IpAddr::V4(v4) => of_v4(v4),
            IpAddr::V6(v6) => of_v6(v6),
        }
    }

    /// Whether an exception by name (`ROTA_OUTGOING_ALLOW_HOSTS`) may lift
    /// the refusal: only for this server and private networks.
    pub fn may_be_allowed_by_name(self) -> bool {
        matches!(self, Class::Public | Class::Private | Class::Loopback)
    }

    /// The address kind in a sentence: "… is {describe}".
    pub fn describe(self) -> &'static str {
        match self {
            Class::Public => "a public address",
            Class::Private => "a private-network address",
            Class::Loopback => "a loopback address (Rota's own server)",
            Class::LinkLocal => "a link-local address (where cloud metadata services live)",
            Class::Metadata => "a cloud metadata service address",
            Class::Unspecified => "an unspecified address (Rota's own server)",
            Class::Multicast => "a multicast address",
            Class::Broadcast => "the broadcast address",
            Class::Reserved => "a reserved address",
        }
    }
}

fn of_v4(ip: Ipv4Addr) -> Class {
    if ip == ALIBABA_METADATA {
        return Class::Metadata;
    }
    let [a, b, ..] = ip.octets();
    match (a, b) {
        // "This network": Linux connects 0.0.0.0 to itself.
        (0, _) => Class::Unspecified,
        (127, _) => Class::Loopback,
        (169, 254) => Class::LinkLocal,
        (10, _) | (172, 16..=31) | (192, 168) | (100, 64..=127) | (198, 18..=19) => Class::Private,
        (224..=239, _) => Class::Multicast,
        _ if ip.is_broadcast() => Class::Broadcast,
        (240..=255, _) => Class::Reserved,
        _ => Class::Public,
    }
}

fn of_v6(ip: Ipv6Addr) -> Class {
    if ip.is_unspecified() {
        return Class::Unspecified;
    }
    if ip.is_loopback() {
        return Class::Loopback;
    }
    if ip == AWS_METADATA_V6 {
        return Class::Metadata;
    }
    // An IPv4 address written as IPv6 is judged as that IPv4 address:
    // mapped (::ffff:a.b.c.d), compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return of_v4(v4);
    }
    let s = ip.segments();
    if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return of_v4(Ipv4Addr::new(a, b, c, d));
    }
    match s[0] {
        x if x & 0xffc0 == 0xfe80 => Class::LinkLocal,
        x if x & 0xfe00 == 0xfc00 || x & 0xffc0 == 0xfec0 => Class::Private,
        x if x & 0xff00 == 0xff00 => Class::Multicast,
        _ => Class::Public,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Class {
        Class::of(s.parse().expect("an IP address"))
    }

    #[test]
    fn loopback_unspecified_multicast_and_broadcast_are_classed_as_such() {
        for (ip, want) in [
            ("127.0.0.1", Class::Loopback),
            ("127.255.0.9", Class::Loopback),
            ("::1", Class::Loopback),
            ("0.0.0.0", Class::Unspecified),
            ("0.1.2.3", Class::Unspecified),
            ("::", Class::Unspecified),
            ("224.0.0.1", Class::Multicast),
            ("ff02::1", Class::Multicast),
            ("255.255.255.255", Class::Broadcast),
            ("240.0.0.1", Class::Reserved),
        ] {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    #[test]
    fn link_local_and_metadata_services_are_classed_apart() {
        for (ip, want) in [
            ("169.254.169.254", Class::LinkLocal),
            ("169.254.0.1", Class::LinkLocal),
            ("fe80::1", Class::LinkLocal),
            ("febf::1", Class::LinkLocal),
            ("fd00:ec2::254", Class::Metadata),
            ("100.100.100.200", Class::Metadata),
        ] {
            assert_eq!(class(ip), want, "{ip}");
            assert!(!class(ip).may_be_allowed_by_name(), "{ip}");
        }
    }

    #[test]
    fn private_ranges_are_private_and_their_edges_public() {
        for ip in [
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "198.18.0.1",
            "fc00::1",
            "fd12:3456::1",
            "fec0::1",
        ] {
            assert_eq!(class(ip), Class::Private, "{ip}");
        }
        for ip in [
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "8.8.8.8",
            "2001:db8::1",
            "2606:4700::1111",
        ] {
            assert_eq!(class(ip), Class::Public, "{ip}");
        }
    }

    #[test]
    fn ipv4_written_as_ipv6_is_judged_as_the_ipv4_inside() {
        for (ip, want) in [
            ("::ffff:127.0.0.1", Class::Loopback),
            ("::ffff:7f00:1", Class::Loopback),
            ("::127.0.0.1", Class::Loopback),
            ("::ffff:169.254.169.254", Class::LinkLocal),
            ("::ffff:10.0.0.1", Class::Private),
            ("64:ff9b::127.0.0.1", Class::Loopback),
            ("64:ff9b::169.254.169.254", Class::LinkLocal),
            ("::ffff:8.8.8.8", Class::Public),
        ] {
            assert_eq!(class(ip), want, "{ip}");
        }
    }
}
