//! Reading configuration values and building state objects.

use std::collections::BTreeMap;

use terrane_core::{PathStep, Value};
use terrane_provider::AttrError;

pub fn string(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(Value::as_str).map(str::to_string)
}

pub fn boolean(v: &Value, name: &str) -> Option<bool> {
    v.get(name).and_then(Value::as_bool)
}

pub fn number(v: &Value, name: &str) -> Option<f64> {
    v.get(name).and_then(Value::as_f64)
}

pub fn int(v: &Value, name: &str) -> Option<i32> {
    number(v, name).filter(|n| n.fract() == 0.0 && *n >= i32::MIN as f64 && *n <= i32::MAX as f64).map(|n| n as i32)
}

/// A list or set of strings; null and unknown give an empty list.
pub fn strings(v: &Value, name: &str) -> Vec<String> {
    match v.get(name).map(Value::unmarked) {
        Some(Value::List(items) | Value::Set(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// A map of strings; null gives an empty map.
pub fn string_map(v: &Value, name: &str) -> BTreeMap<String, String> {
    match v.get(name).and_then(Value::as_map) {
        Some(m) => m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect(),
        None => BTreeMap::new(),
    }
}

/// The objects of a nested block (list, set or single).
pub fn blocks<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    match v.get(name).map(Value::unmarked) {
        Some(Value::List(items) | Value::Set(items)) => items.iter().collect(),
        Some(m @ Value::Map(_)) => vec![m],
        _ => Vec::new(),
    }
}

pub fn opt_string(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::string)
}

pub fn string_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::List(items.into_iter().map(|s| Value::string(s.as_ref())).collect())
}

pub fn string_set<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::set(items.into_iter().map(|s| Value::string(s.as_ref())).collect())
}

pub fn map_value(map: &BTreeMap<String, String>) -> Value {
    Value::Map(map.iter().map(|(k, v)| (k.clone(), Value::string(v))).collect())
}

/// Builds a state object attribute by attribute.
#[derive(Default)]
pub struct Obj(terrane_core::ValueMap<Value>);

impl Obj {
    pub fn new() -> Obj {
        Obj::default()
    }
    /// Starts from an existing object (the planned one), keeping what it has.
    pub fn from(v: &Value) -> Obj {
        Obj(v.as_map().cloned().unwrap_or_default())
    }
    pub fn set(mut self, name: &str, value: Value) -> Obj {
        self.0.insert(name.to_string(), value);
        self
    }
    pub fn s(self, name: &str, value: Option<&str>) -> Obj {
        self.set(name, opt_string(value))
    }
    pub fn b(self, name: &str, value: Option<bool>) -> Obj {
        self.set(name, value.map_or(Value::Null, Value::Bool))
    }
    pub fn n(self, name: &str, value: Option<f64>) -> Obj {
        self.set(name, value.and_then(terrane_core::Number::from_f64).map_or(Value::Null, Value::Number))
    }
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
    pub fn build(self) -> Value {
        Value::Map(self.0)
    }
}

/// A unique name as Terraform's provider makes one: `prefix`, the UTC time
/// to a ten-thousandth of a second (18 digits), and a counter (8 hex digits).
pub fn unique_id(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seconds = aws_smithy_types::DateTime::from_secs(now.as_secs() as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    let digits: String = seconds.chars().filter(char::is_ascii_digit).collect();
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    format!("{prefix}{digits}{:04}{count:08x}", now.subsec_nanos() / 100_000)
}

/// Terraform's provider's hash for ids made from content: CRC-32 (IEEE).
pub fn terraform_hashcode(text: &str) -> u32 {
    !text.bytes().fold(u32::MAX, |crc, byte| {
        (0..8).fold(crc ^ u32::from(byte), |c, _| if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 })
    })
}

/// The prefix of a name `unique_id` made, or `None` for any other name.
pub fn unique_id_prefix(name: &str) -> Option<&str> {
    const SUFFIX: usize = 26;
    let split = name.len().checked_sub(SUFFIX).filter(|at| *at > 0 && name.is_char_boundary(*at))?;
    let suffix = name[split..].as_bytes();
    let made = suffix[..18].iter().all(u8::is_ascii_digit) && suffix[18..].iter().all(u8::is_ascii_hexdigit);
    made.then(|| &name[..split])
}

/// Terraform's schema leaves `name` optional for a way of configuring the
/// type that terrane does not support yet (`why`); terrane needs it.
pub fn require(config: &Value, name: &str, why: &str, errors: &mut Vec<AttrError>) {
    if config.get(name).is_none_or(Value::is_null) {
        errors.push(attr_err(name, format!("`{name}` is required: {why}")));
    }
}

pub fn attr_err(name: &str, message: impl Into<String>) -> AttrError {
    AttrError { path: vec![PathStep::Attr(name.to_string())], message: message.into() }
}

/// Parses an IPv4 CIDR block as AWS wants it: address and prefix length.
pub fn parse_cidr4(text: &str) -> Result<(u32, u8), String> {
    let (addr, len) = text.split_once('/').ok_or_else(|| format!("{text:?} is not a CIDR block (expected a.b.c.d/n)"))?;
    let addr: std::net::Ipv4Addr = addr.parse().map_err(|_| format!("{text:?} is not a CIDR block: bad IPv4 address"))?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32).ok_or_else(|| format!("{text:?} is not a CIDR block: bad prefix length"))?;
    let bits = u32::from(addr);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    if bits & !mask != 0 {
        let network = std::net::Ipv4Addr::from(bits & mask);
        return Err(format!("{text:?} has host bits set: the network address is {network}/{len}"));
    }
    Ok((bits, len))
}

/// A CIDR check for one attribute, with the AWS limits on prefix length.
pub fn check_cidr(config: &Value, name: &str, min_len: u8, max_len: u8, errors: &mut Vec<AttrError>) {
    if let Some(text) = string(config, name) {
        match parse_cidr4(&text) {
            Err(e) => errors.push(attr_err(name, e)),
            Ok((_, len)) if len < min_len || len > max_len => errors.push(attr_err(
                name,
                format!("{text:?}: the prefix length must be between /{min_len} and /{max_len}"),
            )),
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_are_terraforms() {
        // Ids hashed from content as hashicorp/aws 5.100.0 wrote them to state.
        assert_eq!(terraform_hashcode("192.168.0.0/16"), 3_901_788_224);
        assert_eq!(terraform_hashcode(""), 0);
    }

    #[test]
    fn generated_names_carry_their_prefix() {
        let name = unique_id("web-");
        assert_eq!(name.len(), "web-".len() + 26, "{name}");
        assert_eq!(unique_id_prefix(&name), Some("web-"));
        assert_ne!(unique_id("web-"), name, "each name is new");
        assert_eq!(unique_id_prefix("terraform-20261203130501123400000001"), Some("terraform-"));
        assert_eq!(unique_id_prefix("my-role"), None);
        assert_eq!(unique_id_prefix("20261203130501123400000001"), None, "nothing before the suffix");
    }

    #[test]
    fn cidr_blocks_are_checked_as_aws_checks_them() {
        assert_eq!(parse_cidr4("10.0.0.0/16"), Ok((0x0A00_0000, 16)));
        assert_eq!(parse_cidr4("0.0.0.0/0"), Ok((0, 0)));
        for (bad, why) in [
            ("10.0.0.0", "expected a.b.c.d/n"),
            ("10.0.0.300/16", "bad IPv4 address"),
            ("10.0.0.0/33", "bad prefix length"),
            ("10.0.1.0/16", "the network address is 10.0.0.0/16"),
        ] {
            let err = parse_cidr4(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let mut errors = Vec::new();
        check_cidr(&Value::map([("cidr_block", Value::string("10.0.0.0/8"))]), "cidr_block", 16, 28, &mut errors);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("between /16 and /28"));
    }
}
