//! Address ranges (CIDR blocks) for token allowlists and trusted proxies,
//! and the client address behind trusted proxies. IPv4 addresses written as
//! IPv4-mapped IPv6 (`::ffff:192.0.2.1`) count as IPv4, so a dual-stack
//! listener and an IPv4 allowlist agree.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The most ranges one token may carry.
pub const ALLOWED_IPS_MAX: usize = 20;

/// A CIDR block: an address and a prefix length (`203.0.113.0/24`,
/// `2001:db8::/32`); a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

/// Why a range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IPv4 or IPv6 address or CIDR block (like 203.0.113.0/24 or 2001:db8::/32)")]
pub struct BadRange(pub String);

/// The address as IPv4 when it is an IPv4-mapped IPv6 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

fn mask(prefix: u8, width: u8) -> u128 {
    if prefix == 0 { 0 } else { (!0u128 << (width - prefix)) & if width == 32 { 0xffff_ffff } else { !0u128 } }
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let ((net, width), (addr, addr_width)) = (bits(self.network), bits(ip));
        width == addr_width && (net ^ addr) & mask(self.prefix, width) == 0
    }
}

impl IpRange {
    /// Whether every address of `other` is in this range.
    pub fn covers(&self, other: &IpRange) -> bool {
        bits(self.network).1 == bits(other.network).1 && other.prefix >= self.prefix && self.contains(other.network)
    }
}

impl FromStr for IpRange {
    type Err = BadRange;

    fn from_str(text: &str) -> Result<IpRange, BadRange> {
        let bad = || BadRange(text.to_owned());
        let trimmed = text.trim();
        let (address, prefix) = match trimmed.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (trimmed, None),
        };
        let address = canonical(address.parse::<IpAddr>().map_err(|_| bad())?);
        let width = bits(address).1;
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
            None => width,
        };
        if prefix > width {
            return Err(bad());
        }
        // The network address: host bits cleared, so `10.1.2.3/8` reads as `10.0.0.0/8`.
        let (value, _) = bits(address);
        let network = match address {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from((value & mask(prefix, 32)) as u32)),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(value & mask(prefix, 128))),
        };
        Ok(IpRange { network, prefix })
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The ranges a token may be used from; empty: anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpAllowlist(Vec<IpRange>);

impl IpAllowlist {
    pub const fn anywhere() -> IpAllowlist {
        IpAllowlist(Vec::new())
    }

    /// Reads ranges as given to the API: at most [`ALLOWED_IPS_MAX`], each a
    /// valid range; duplicates are dropped, order kept.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<IpAllowlist, String> {
        if items.len() > ALLOWED_IPS_MAX {
            return Err(format!("at most {ALLOWED_IPS_MAX} address ranges (got {})", items.len()));
        }
        let mut ranges: Vec<IpRange> = Vec::with_capacity(items.len());
        for item in items {
            let range: IpRange = item.as_ref().parse().map_err(|e: BadRange| e.to_string())?;
            if !ranges.contains(&range) {
                ranges.push(range);
            }
        }
        Ok(IpAllowlist(ranges))
    }

    /// The stored form: ranges separated by spaces (`""` for anywhere).
    pub fn to_stored(&self) -> String {
        self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
    }

    /// Reads the stored form. A range that no longer parses fails the whole
    /// list, and the caller then lets no one through.
    pub fn from_stored(text: &str) -> Result<IpAllowlist, BadRange> {
        text.split_whitespace().map(str::parse).collect::<Result<Vec<_>, _>>().map(IpAllowlist)
    }

    pub fn is_restricted(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        match ip {
            _ if self.0.is_empty() => true,
            Some(ip) => self.0.iter().any(|r| r.contains(ip)),
            None => false,
        }
    }

    pub fn ranges(&self) -> &[IpRange] {
        &self.0
    }

    /// This list, as far as `outer` allows: `outer` itself when this one is
    /// anywhere; else this one when each of its ranges lies inside one of
    /// `outer`'s, or the first range that does not. (A token limited to
    /// certain addresses makes only tokens limited to them too.)
    pub fn within(&self, outer: &IpAllowlist) -> Result<IpAllowlist, IpRange> {
        if !outer.is_restricted() {
            return Ok(self.clone());
        }
        if !self.is_restricted() {
            return Ok(outer.clone());
        }
        match self.0.iter().find(|r| !outer.0.iter().any(|o| o.covers(r))) {
            Some(outside) => Err(*outside),
            None => Ok(self.clone()),
        }
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy;
/// then the right-most forwarded address that is not itself trusted (what
/// lies left of it was written by the untrusted client and may be forged).
/// `forwarded` are the hops of `Forwarded: for=` or else `X-Forwarded-For`,
/// in header order. An entry that is no address ends the walk at the hop
/// before it.
pub fn client_ip(peer: IpAddr, trusted: &[IpRange], forwarded: &[&str]) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.iter().any(|r| r.contains(peer)) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !trusted.iter().any(|r| r.contains(ip)) {
            break;
        }
    }
    client
}

/// One forwarded hop: `203.0.113.7`, `203.0.113.7:4711`, `"[2001:db8::1]:80"`,
/// `2001:db8::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok()).map(canonical);
    }
    hop.rsplit_once(':').and_then(|(ip, port)| port.parse::<u16>().ok().and(ip.parse().ok())).map(canonical)
}

/// The hops of `Forwarded` header values (`for=` parameters, in order).
pub fn forwarded_for<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    values
        .flat_map(|value| value.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
            })
        })
        .collect()
}

/// The hops of `X-Forwarded-For` header values, in order.
pub fn x_forwarded_for<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    values.flat_map(|value| value.split(',')).map(str::trim).filter(|hop| !hop.is_empty()).collect()
}

/// An address anyone on the internet could reach: not loopback, private,
/// link-local, shared (CGNAT), documentation, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "100.128.0.1"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn ranges(list: &[&str]) -> Vec<IpRange> {
        list.iter().map(|s| s.parse().expect("range")).collect()
    }

    #[test]
    fn ranges_parse_normalize_and_match() {
        let r: IpRange = "10.1.2.3/8".parse().expect("v4");
        assert_eq!(r.to_string(), "10.0.0.0/8");
        assert!(r.contains(ip("10.255.0.1")) && !r.contains(ip("11.0.0.1")));
        assert!(r.contains(ip("::ffff:10.9.9.9")), "IPv4-mapped IPv6 is IPv4");
        let one: IpRange = "203.0.113.7".parse().expect("bare");
        assert_eq!(one.to_string(), "203.0.113.7/32");
        assert!(one.contains(ip("203.0.113.7")) && !one.contains(ip("203.0.113.8")));
        let v6: IpRange = "2001:db8::/32".parse().expect("v6");
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")) && !r.contains(ip("2001:db8::1")), "families never match");
        let all: IpRange = "0.0.0.0/0".parse().expect("all v4");
        assert!(all.contains(ip("1.2.3.4")) && !all.contains(ip("::1")));
        assert!("::/0".parse::<IpRange>().expect("all v6").contains(ip("::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0",
            "example.com",
            "10.0.0.0/8/8",
            "1.2.3.4 5",
        ] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn allowlists_limit_their_size_and_round_trip() {
        let list = IpAllowlist::parse(&["203.0.113.0/24", "2001:db8::/48", "203.0.113.9/24"]).expect("list");
        assert_eq!(list.to_stored(), "203.0.113.0/24 2001:db8::/48");
        assert_eq!(IpAllowlist::from_stored(&list.to_stored()).expect("stored"), list);
        assert!(list.allows(Some(ip("203.0.113.50"))) && list.allows(Some(ip("2001:db8::1"))));
        assert!(!list.allows(Some(ip("198.51.100.1"))) && !list.allows(None));
        assert!(IpAllowlist::anywhere().allows(None));
        let many: Vec<String> = (0..21).map(|i| format!("10.0.{i}.0/24")).collect();
        assert!(IpAllowlist::parse(&many).expect_err("too many").contains("at most 20"));
        assert!(IpAllowlist::parse(&["nope"]).expect_err("bad").contains("`nope`"));
    }

    #[test]
    fn a_restricted_issuer_passes_its_limits_on() {
        let office = IpAllowlist::parse(&["203.0.113.0/24", "2001:db8::/32"]).expect("office");
        let anywhere = IpAllowlist::anywhere();
        assert_eq!(anywhere.within(&office), Ok(office.clone()), "no list: the issuer's");
        let narrower = IpAllowlist::parse(&["203.0.113.128/25", "2001:db8:5::1"]).expect("narrower");
        assert_eq!(narrower.within(&office), Ok(narrower.clone()));
        let wider = IpAllowlist::parse(&["203.0.113.0/24", "203.0.0.0/16"]).expect("wider");
        assert_eq!(wider.within(&office).map_err(|r| r.to_string()), Err("203.0.0.0/16".to_owned()));
        let other_family = IpAllowlist::parse(&["2001:db8::/32"]).expect("v6");
        assert!(other_family.within(&IpAllowlist::parse(&["0.0.0.0/0"]).expect("v4")).is_err());
        assert_eq!(wider.within(&anywhere), Ok(wider.clone()), "an unrestricted issuer limits nothing");
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop_and_only_behind_a_trusted_peer() {
        let trusted = ranges(&["10.0.0.0/8", "fd00::/8"]);
        // An untrusted peer's header is ignored, whatever it says.
        assert_eq!(client_ip(ip("198.51.100.9"), &trusted, &["1.2.3.4"]), ip("198.51.100.9"));
        // Behind one proxy: the hop it saw.
        assert_eq!(client_ip(ip("10.0.0.2"), &trusted, &["203.0.113.7"]), ip("203.0.113.7"));
        // A client that forged an entry: the forged one is left of the real one.
        assert_eq!(client_ip(ip("10.0.0.2"), &trusted, &["1.1.1.1", "203.0.113.7", "10.0.0.5"]), ip("203.0.113.7"));
        // Only trusted hops: the left-most.
        assert_eq!(client_ip(ip("10.0.0.2"), &trusted, &["10.9.9.9", "10.0.0.5"]), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.2"), &trusted, &[]), ip("10.0.0.2"));
        // Garbage stops the walk at the hop before it.
        assert_eq!(client_ip(ip("10.0.0.2"), &trusted, &["203.0.113.7", "unknown"]), ip("10.0.0.2"));
        // Ports, brackets, quotes and IPv6.
        assert_eq!(client_ip(ip("fd00::1"), &trusted, &["\"[2001:db8::7]:443\""]), ip("2001:db8::7"));
        assert_eq!(client_ip(ip("10.0.0.2"), &trusted, &["203.0.113.7:5000"]), ip("203.0.113.7"));
        assert_eq!(client_ip(ip("::ffff:10.0.0.2"), &trusted, &["203.0.113.7"]), ip("203.0.113.7"));
    }

    #[test]
    fn forwarded_headers_are_split_into_hops() {
        let hops = forwarded_for(["for=1.1.1.1;proto=https, For=\"[2001:db8::1]:80\"", "by=x;for=2.2.2.2"].into_iter());
        assert_eq!(hops, ["1.1.1.1", "\"[2001:db8::1]:80\"", "2.2.2.2"]);
        assert_eq!(x_forwarded_for(["1.1.1.1, 2.2.2.2", " 3.3.3.3 "].into_iter()), ["1.1.1.1", "2.2.2.2", "3.3.3.3"]);
    }
}
