//! The router to load: `ws://HOST[:PORT][/PATH]` or `rs://HOST:PORT` (RawSocket over TCP), and
//! only on the loopback interface.
//!
//! The bench refuses every host that is not loopback: an IPv4 address in 127.0.0.0/8, `::1`
//! (written `[::1]`), or the name `localhost` (taken as 127.0.0.1 without asking a resolver, so
//! no name lookup can point the load elsewhere). TLS (`wss://`) is not supported.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// How to reach the router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// WebSocket, upgrading at this request path.
    WebSocket {
        /// The HTTP request path (starts with `/`).
        path: String,
    },
    /// RawSocket over TCP.
    RawSocket,
}

/// A parsed, loopback-only router address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The transport.
    pub transport: Transport,
    /// The socket address to connect to (always loopback).
    pub addr: SocketAddr,
    /// The host as written (for the HTTP `Host` header), without brackets.
    pub host: String,
}

/// Why a URL was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not `ws://`, `rs://` (also `rawsocket://`).
    #[error("unsupported URL scheme (use ws:// or rs://)")]
    Scheme,
    /// No host, a malformed IPv6 literal or a malformed port.
    #[error("malformed URL")]
    Malformed,
    /// RawSocket needs an explicit port.
    #[error("rs:// URLs need a port")]
    MissingPort,
    /// The host is not a loopback address.
    #[error("refusing non-loopback host {0:?}: the bench only loads 127.0.0.0/8, ::1 or localhost")]
    NotLoopback(String),
}

impl Target {
    /// Parses and checks a URL; see the [module docs](self).
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let (scheme, rest) = url.split_once("://").ok_or(TargetError::Scheme)?;
        let ws = match scheme.to_ascii_lowercase().as_str() {
            "ws" => true,
            "rs" | "rawsocket" | "tcp" => false,
            _ => return Err(TargetError::Scheme),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(TargetError::Malformed);
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(TargetError::Malformed)?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(TargetError::Malformed)?),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(TargetError::Malformed);
        }
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| TargetError::Malformed)?,
            None if ws => 80,
            None => return Err(TargetError::MissingPort),
        };
        let ip = loopback_ip(host)?;
        Ok(Target {
            transport: if ws {
                Transport::WebSocket {
                    path: path.to_owned(),
                }
            } else {
                Transport::RawSocket
            },
            addr: SocketAddr::new(ip, port),
            host: host.to_owned(),
        })
    }

    /// `host:port` for the HTTP `Host` header (IPv6 in brackets).
    pub fn host_port(&self) -> String {
        match self.addr.ip() {
            IpAddr::V6(_) => format!("[{}]:{}", self.host, self.addr.port()),
            IpAddr::V4(_) => format!("{}:{}", self.host, self.addr.port()),
        }
    }

    /// The HTTP request path of a WebSocket target (`/` for RawSocket).
    pub fn path(&self) -> &str {
        match &self.transport {
            Transport::WebSocket { path } => path,
            Transport::RawSocket => "/",
        }
    }

    /// The URL for the WebSocket client request.
    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.host_port(), self.path())
    }

    /// `"ws"` or `"rs"`.
    pub fn transport_name(&self) -> &'static str {
        match self.transport {
            Transport::WebSocket { .. } => "ws",
            Transport::RawSocket => "rs",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.transport {
            Transport::WebSocket { .. } => f.write_str(&self.ws_url()),
            Transport::RawSocket => write!(f, "rs://{}", self.addr),
        }
    }
}

/// The loopback address `host` names, or the refusal.
fn loopback_ip(host: &str) -> Result<IpAddr, TargetError> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let ip: IpAddr = host
        .parse()
        .map_err(|_| TargetError::NotLoopback(host.to_owned()))?;
    let loopback = match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    if loopback {
        Ok(ip)
    } else {
        Err(TargetError::NotLoopback(host.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn accepts_loopback_urls() {
        let t = Target::parse("ws://127.0.0.1:8080/ws").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.transport, Transport::WebSocket { path: "/ws".into() });
        assert_eq!(t.ws_url(), "ws://127.0.0.1:8080/ws");

        let t = Target::parse("rs://127.0.0.1:9000").unwrap();
        assert_eq!(t.transport, Transport::RawSocket);
        assert_eq!(t.addr.port(), 9000);
        assert_eq!(t.to_string(), "rs://127.0.0.1:9000");

        let t = Target::parse("ws://localhost").unwrap();
        assert_eq!(t.addr, "127.0.0.1:80".parse().unwrap());
        assert_eq!(t.transport, Transport::WebSocket { path: "/".into() });
        assert_eq!(t.ws_url(), "ws://localhost:80/");

        let t = Target::parse("WS://[::1]:8080/").unwrap();
        assert_eq!(t.addr, "[::1]:8080".parse().unwrap());
        assert_eq!(t.ws_url(), "ws://[::1]:8080/");

        assert!(Target::parse("rs://127.255.3.4:1").is_ok());
        assert!(Target::parse("rawsocket://LocalHost:1").is_ok());
        assert!(Target::parse("ws://[::ffff:127.0.0.1]:1/").is_ok());
    }

    #[test]
    fn refuses_everything_not_loopback() {
        for url in [
            "ws://10.0.0.1:8080/ws",
            "ws://192.168.1.1/",
            "rs://8.8.8.8:53",
            "ws://0.0.0.0:8080/",
            "ws://[::]:8080/",
            "ws://[2001:db8::1]:80/",
            "ws://[::ffff:10.0.0.1]:80/",
            "ws://example.com/ws",
            "ws://localhost.example.com/",
            "ws://128.0.0.1:80/",
        ] {
            assert!(
                matches!(Target::parse(url), Err(TargetError::NotLoopback(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn refuses_malformed_urls() {
        assert_eq!(Target::parse("wss://127.0.0.1/"), Err(TargetError::Scheme));
        assert_eq!(Target::parse("http://127.0.0.1/"), Err(TargetError::Scheme));
        assert_eq!(Target::parse("127.0.0.1:80"), Err(TargetError::Scheme));
        assert_eq!(
            Target::parse("rs://127.0.0.1"),
            Err(TargetError::MissingPort)
        );
        assert_eq!(Target::parse("ws://:80/"), Err(TargetError::Malformed));
        assert_eq!(
            Target::parse("ws://127.0.0.1:99999/"),
            Err(TargetError::Malformed)
        );
        assert_eq!(Target::parse("ws://[::1/"), Err(TargetError::Malformed));
        assert_eq!(
            Target::parse("ws://user@127.0.0.1/"),
            Err(TargetError::Malformed)
        );
    }
}
