//! Which addresses Rota may send to on a user's behalf: the rules, the
//! administrator's exceptions, and the check of a URL before it is saved
//! or sent.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use super::address::Class;

/// The rules for outgoing requests, from `ROTA_OUTGOING_ALLOW_PRIVATE` and
/// `ROTA_OUTGOING_ALLOW_HOSTS`. The default allows public addresses only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    allow_private: bool,
    allow_hosts: Vec<(Host<String>, u16)>,
}

/// How a URL is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// By the rules: its addresses are checked when it is resolved.
    ByRules,
    /// Its host and port are named in `ROTA_OUTGOING_ALLOW_HOSTS`: loopback
    /// and private addresses are allowed for it, link-local still not.
    ByName,
}

/// Why a URL is refused, in words for the person who gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an http(s) URL with a host.
    NotWeb,
    /// Its host is (or names) an address of a refused kind.
    Address { host: String, port: u16, class: Class },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotWeb => write!(f, "Use an http:// or https:// address with a host name"),
            Refusal::Address { host, port, class } => {
                write!(f, "Rota does not send to {host}: it is {}", class.describe())?;
                match class {
                    Class::Loopback => write!(
                        f,
                        ". If the receiver really runs on Rota's server, an administrator can allow it by name with ROTA_OUTGOING_ALLOW_HOSTS={host}:{port}"
                    ),
                    Class::Private => write!(
                        f,
                        ". An administrator can allow private networks with ROTA_OUTGOING_ALLOW_PRIVATE=true, or this host alone with ROTA_OUTGOING_ALLOW_HOSTS={host}:{port}"
                    ),
                    _ => write!(
                        f,
                        ", which Rota never sends to. Use the receiver's public or private-network address"
                    ),
                }
            }
        }
    }
}

impl Policy {
    /// `allow_hosts`: comma-separated `host:port` entries. An entry naming
    /// a link-local or other never-allowed address is refused here, so a
    /// mistaken setting stops the start rather than seeming to work.
    pub fn new(allow_private: bool, allow_hosts: &str) -> Result<Policy, String> {
        let mut hosts = Vec::new();
        for entry in allow_hosts.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            hosts.push(parse_entry(entry)?);
        }
        Ok(Policy {
            allow_private,
            allow_hosts: hosts,
        })
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Whether an address of `class` may be sent to; `by_name` when its
    /// host and port are named in `ROTA_OUTGOING_ALLOW_HOSTS`.
    pub fn allows(&self, class: Class, by_name: bool) -> bool {
        match class {
            Class::Public => true,
            Class::Private => self.allow_private || by_name,
            Class::Loopback => by_name,
            _ => false,
        }
    }

    /// Whether `host:port` is named in `ROTA_OUTGOING_ALLOW_HOSTS`.
    pub fn names(&self, host: &Host<&str>, port: u16) -> bool {
        let host = host.to_owned();
        self.allow_hosts.iter().any(|(h, p)| *h == host && *p == port)
    }

    /// Checks a URL before it is saved or sent: its scheme, and its host
    /// when that is an IP address or `localhost`. Other names are checked
    /// when they are resolved, at each connection.
    pub fn check_url(&self, url: &Url) -> Result<Allowed, Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::NotWeb);
        }
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Err(Refusal::NotWeb);
        };
        let by_name = self.names(&host, port);
        let class = match &host {
            Host::Ipv4(ip) => Class::of(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Class::of(IpAddr::V6(*ip)),
            Host::Domain("") => return Err(Refusal::NotWeb),
            // RFC 6761: localhost and its subdomains are this server.
            Host::Domain(d) if is_localhost(d) => Class::Loopback,
            Host::Domain(_) => Class::Public,
        };
        if !self.allows(class, by_name) {
            return Err(Refusal::Address {
                host: host.to_string(),
                port,
                class,
            });
        }
        Ok(if by_name { Allowed::ByName } else { Allowed::ByRules })
    }
}

fn is_localhost(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

fn parse_entry(entry: &str) -> Result<(Host<String>, u16), String> {
    let wrong = || {
        format!(
            "ROTA_OUTGOING_ALLOW_HOSTS: \"{entry}\" is not host:port (for example chat.internal:443, 10.0.0.5:8065 or [fd00::5]:443)"
        )
    };
    let (host, port) = entry.rsplit_once(':').ok_or_else(wrong)?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(wrong)?;
    let host = Host::parse(host).map_err(|_| wrong())?;
    let ip = match &host {
        Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        Host::Domain(_) => None,
    };
    if let Some(class) = ip.map(Class::of).filter(|c| !c.may_be_allowed_by_name()) {
        return Err(format!(
            "ROTA_OUTGOING_ALLOW_HOSTS: {entry} is {}, which Rota never sends to; remove it",
            class.describe()
        ));
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &Policy, url: &str) -> Result<Allowed, Refusal> {
        policy.check_url(&Url::parse(url).expect("a URL"))
    }

    fn class_refused(policy: &Policy, url: &str) -> Class {
        match check(policy, url) {
            Err(Refusal::Address { class, .. }) => class,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn numeric_ipv4_forms_are_read_as_the_address_they_mean() {
        // The url crate follows WHATWG: decimal, hex, octal and short forms
        // become dotted quads, so they are judged like 127.0.0.1.
        for url in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://127.0.0.1./",
            "http://[::ffff:127.0.0.1]/",
            "http://[::1]:8080/",
            "http://localhost:9000/",
            "http://api.LOCALHOST./",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(
                class_refused(&Policy::default(), url),
                Class::Loopback,
                "{url} → {parsed}"
            );
        }
        assert_eq!(Url::parse("http://2130706433/").unwrap().host_str(), Some("127.0.0.1"));
        assert_eq!(Url::parse("http://0x7f000001/").unwrap().host_str(), Some("127.0.0.1"));
        assert_eq!(Url::parse("http://127.1/").unwrap().host_str(), Some("127.0.0.1"));
    }

    #[test]
    fn link_local_is_refused_whatever_the_settings() {
        let lenient = Policy::new(true, "chat.internal:443").unwrap();
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://2852039166/",
        ] {
            assert!(
                matches!(class_refused(&lenient, url), Class::LinkLocal | Class::Metadata),
                "{url}"
            );
        }
        for entry in [
            "169.254.169.254:80",
            "[fe80::1]:80",
            "[fd00:ec2::254]:80",
            "0.0.0.0:80",
            "224.0.0.1:80",
        ] {
            let err = Policy::new(false, entry).unwrap_err();
            assert!(err.contains("never sends"), "{entry}: {err}");
        }
    }

    #[test]
    fn private_ranges_are_allowed_only_with_the_setting() {
        let strict = Policy::default();
        let private = Policy::new(true, "").unwrap();
        for url in [
            "http://10.1.2.3/hook",
            "http://172.20.0.1/",
            "https://192.168.1.10:8065/hooks/x",
            "http://100.64.1.1/",
            "http://[fd12::1]/",
        ] {
            assert_eq!(class_refused(&strict, url), Class::Private, "{url}");
            assert_eq!(check(&private, url), Ok(Allowed::ByRules), "{url}");
        }
        assert!(strict.allows(Class::Public, false));
        assert!(!strict.allows(Class::Private, false));
        assert!(private.allows(Class::Private, false));
        assert!(
            !private.allows(Class::Loopback, false),
            "loopback is not a private network"
        );
        for class in [Class::LinkLocal, Class::Metadata, Class::Unspecified, Class::Multicast] {
            assert!(!private.allows(class, true), "{class:?}");
        }
    }

    #[test]
    fn a_named_host_and_port_is_allowed_and_no_other_port() {
        let policy = Policy::new(false, " 127.0.0.1:9000 , chat.internal:8065,[::1]:9001").unwrap();
        assert_eq!(check(&policy, "http://127.0.0.1:9000/hook"), Ok(Allowed::ByName));
        assert_eq!(check(&policy, "http://2130706433:9000/hook"), Ok(Allowed::ByName));
        assert_eq!(check(&policy, "http://[::1]:9001/"), Ok(Allowed::ByName));
        assert_eq!(check(&policy, "https://CHAT.internal:8065/x"), Ok(Allowed::ByName));
        assert_eq!(check(&policy, "https://chat.internal/x"), Ok(Allowed::ByRules));
        assert_eq!(class_refused(&policy, "http://127.0.0.1:9001/"), Class::Loopback);
        assert_eq!(class_refused(&policy, "http://127.0.0.1/"), Class::Loopback);
    }

    #[test]
    fn other_schemes_and_bad_entries_are_refused() {
        let policy = Policy::default();
        assert_eq!(check(&policy, "javascript:alert(1)"), Err(Refusal::NotWeb));
        assert_eq!(check(&policy, "file:///etc/passwd"), Err(Refusal::NotWeb));
        assert_eq!(check(&policy, "https://chat.example.com/hook"), Ok(Allowed::ByRules));
        for entry in ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:x", ":80", "a b:80"] {
            assert!(Policy::new(false, entry).is_err(), "{entry}");
        }
    }

    #[test]
    fn a_refusal_says_how_to_allow_what_may_be_allowed() {
        let loopback = check(&Policy::default(), "http://127.0.0.1:9000/")
            .unwrap_err()
            .to_string();
        assert!(
            loopback.contains("ROTA_OUTGOING_ALLOW_HOSTS=127.0.0.1:9000"),
            "{loopback}"
        );
        let private = check(&Policy::default(), "http://10.0.0.5/").unwrap_err().to_string();
        assert!(
            private.contains("ROTA_OUTGOING_ALLOW_PRIVATE=true") && private.contains("10.0.0.5:80"),
            "{private}"
        );
        let metadata = check(&Policy::default(), "http://169.254.169.254/")
            .unwrap_err()
            .to_string();
        assert!(
            metadata.contains("never") && !metadata.contains("ROTA_OUTGOING"),
            "{metadata}"
        );
    }
}
