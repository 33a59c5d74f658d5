//! The network functions: cidrsubnet, cidrsubnets, cidrhost and cidrnetmask, for
//! IPv4 and IPv6, with Terraform's arguments and errors.

use std::net::IpAddr;

/// An address prefix: the address as an integer, its width in bits, the prefix length.
struct Prefix {
    addr: u128,
    bits: u32,
    len: u32,
    v6: bool,
}

fn parse(text: &str) -> Result<Prefix, String> {
    let (addr, len) = text.split_once('/').ok_or_else(|| format!("invalid CIDR address {text:?}: no prefix length"))?;
    let ip: IpAddr = addr.parse().map_err(|_| format!("invalid CIDR address {text:?}"))?;
    let len: u32 = len.parse().map_err(|_| format!("invalid CIDR address {text:?}: bad prefix length"))?;
    let (value, bits, v6) = match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32, false),
        IpAddr::V6(v6) => (u128::from(v6), 128, true),
    };
    if len > bits {
        return Err(format!("invalid CIDR address {text:?}: prefix length {len} is longer than {bits} bits"));
    }
    // The network address: host bits cleared, as Terraform does.
    let mask = if len == 0 { 0 } else { (!0u128 >> (128 - bits)) & !((1u128 << (bits - len)) - 1) };
    Ok(Prefix { addr: value & mask, bits, len, v6 })
}

fn render(addr: u128, v6: bool) -> String {
    if v6 {
        std::net::Ipv6Addr::from(addr).to_string()
    } else {
        std::net::Ipv4Addr::from(addr as u32).to_string()
    }
}

pub fn cidrsubnet(prefix: &str, newbits: f64, netnum: f64) -> Result<String, String> {
    let p = parse(prefix)?;
    if newbits < 0.0 || newbits.fract() != 0.0 || netnum < 0.0 || netnum.fract() != 0.0 {
        return Err("newbits and netnum must be whole numbers of 0 or more".into());
    }
    if newbits > f64::from(p.bits) {
        return Err(format!("insufficient address space to extend prefix of {} by {newbits}", p.len));
    }
    let newbits = newbits as u32;
    let len = p.len + newbits;
    if len > p.bits {
        return Err(format!("insufficient address space to extend prefix of {} by {newbits}", p.len));
    }
    let netnum = netnum as u128;
    if newbits < 128 && netnum >= (1u128 << newbits) {
        return Err(format!("prefix extension of {newbits} does not accommodate a subnet numbered {netnum}"));
    }
    let shift = p.bits - len;
    let addr = p.addr | if shift >= 128 { 0 } else { netnum << shift };
    Ok(format!("{}/{len}", render(addr, p.v6)))
}

pub fn cidrhost(prefix: &str, hostnum: f64) -> Result<String, String> {
    let p = parse(prefix)?;
    if hostnum.fract() != 0.0 {
        return Err("hostnum must be a whole number".into());
    }
    let host_bits = p.bits - p.len;
    // The last offset in the prefix; 2^128 addresses do not fit in a u128, the last one does.
    let last: u128 = if host_bits >= 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
    let too_far = || format!("prefix of {} does not accommodate a host numbered {hostnum}", p.len);
    let offset = if hostnum < 0.0 {
        let back = (-hostnum) as u128;
        last.checked_sub(back - 1).ok_or_else(too_far)?
    } else {
        let n = hostnum as u128;
        if n > last {
            return Err(too_far());
        }
        n
    };
    Ok(render(p.addr + offset, p.v6))
}

pub fn cidrnetmask(prefix: &str) -> Result<String, String> {
    let p = parse(prefix)?;
    if p.v6 {
        return Err("only IPv4 addresses have a netmask".into());
    }
    let mask: u32 = if p.len == 0 { 0 } else { !0u32 << (32 - p.len) };
    Ok(std::net::Ipv4Addr::from(mask).to_string())
}

/// Consecutive subnets of the given sizes, each aligned after the one before.
pub fn cidrsubnets(prefix: &str, newbits: &[f64]) -> Result<Vec<String>, String> {
    let p = parse(prefix)?;
    // Offsets are relative to the prefix; `last` is its final offset, so a whole
    // IPv6 /0 (2^128 addresses) still fits in a u128.
    let last: u128 = if p.bits - p.len >= 128 { u128::MAX } else { (1u128 << (p.bits - p.len)) - 1 };
    let mut next: Option<u128> = Some(0);
    let mut out = Vec::new();
    for (i, nb) in newbits.iter().enumerate() {
        if *nb < 1.0 || nb.fract() != 0.0 {
            return Err(format!("argument {}: newbits must be a whole number of at least 1", i + 2));
        }
        let len = p.len.saturating_add(nb.min(f64::from(u32::MAX)) as u32);
        if len > p.bits {
            return Err(format!("argument {}: not enough address space for a /{len} in {prefix}", i + 2));
        }
        let no_room = || format!("argument {}: not enough remaining address space for a subnet with a prefix of {len} bits", i + 2);
        let size_minus_1: u128 = if p.bits - len >= 128 { u128::MAX } else { (1u128 << (p.bits - len)) - 1 };
        let from = next.ok_or_else(no_room)?;
        // Align up to the subnet's own size.
        let start = match size_minus_1.checked_add(1) {
            Some(size) => from.div_ceil(size).checked_mul(size).ok_or_else(no_room)?,
            None if from == 0 => 0,
            None => return Err(no_room()),
        };
        let end = start.checked_add(size_minus_1).ok_or_else(no_room)?;
        if end > last {
            return Err(no_room());
        }
        out.push(format!("{}/{len}", render(p.addr + start, p.v6)));
        next = end.checked_add(1);
    }
    Ok(out)
}
