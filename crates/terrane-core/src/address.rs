//! Addresses of resources and their instances: `module.net.aws_subnet.public["a"]`.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    /// A resource without `count` or `for_each`.
    None,
    Int(i64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::None => Ok(()),
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", quote(s)),
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Managed,
    Data,
}

/// The module instances leading to an object: `module.a["x"].module.b`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModulePath(pub Vec<(String, InstanceKey)>);

impl ModulePath {
    pub fn root() -> ModulePath {
        ModulePath(Vec::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The module calls alone, as configuration names them: `module.a.module.b`.
    pub fn without_keys(&self) -> ModulePath {
        ModulePath(self.0.iter().map(|(name, _)| (name.clone(), InstanceKey::None)).collect())
    }

    pub fn child(&self, name: &str, key: InstanceKey) -> ModulePath {
        let mut steps = self.0.clone();
        steps.push((name.to_string(), key));
        ModulePath(steps)
    }
}

impl fmt::Display for ModulePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, key)) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ".")?;
            }
            write!(f, "module.{name}{key}")?;
        }
        Ok(())
    }
}

/// A resource or data source block, before expansion.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceAddr {
    pub module: ModulePath,
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
}

impl ResourceAddr {
    pub fn managed(type_name: &str, name: &str) -> ResourceAddr {
        ResourceAddr { module: ModulePath::root(), mode: Mode::Managed, type_name: type_name.into(), name: name.into() }
    }

    /// The address without module instance keys: what a resource block is
    /// called across every instance of its module (`module.net.aws_vpc.this`).
    pub fn config_name(&self) -> String {
        ResourceAddr { module: self.module.without_keys(), ..self.clone() }.to_string()
    }

    pub fn instance(&self, key: InstanceKey) -> InstanceAddr {
        InstanceAddr { resource: self.clone(), key }
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_root() {
            write!(f, "{}.", self.module)?;
        }
        if self.mode == Mode::Data {
            write!(f, "data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)
    }
}

/// One instance of a resource: the unit that state stores and providers act on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceAddr {
    pub resource: ResourceAddr,
    pub key: InstanceKey,
}

impl fmt::Display for InstanceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.resource, self.key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {input:?}: {reason}")]
pub struct AddressError {
    pub input: String,
    pub reason: String,
}

impl std::str::FromStr for InstanceAddr {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<InstanceAddr, AddressError> {
        let err = |reason: &str| AddressError { input: input.to_string(), reason: reason.to_string() };
        let mut rest = input;
        let mut module = Vec::new();
        while let Some(after) = rest.strip_prefix("module.") {
            let (name, after) = split_ident(after).ok_or_else(|| err("expected a module name"))?;
            let (key, after) = parse_key(after).map_err(|r| err(&r))?;
            module.push((name.to_string(), key));
            rest = after.strip_prefix('.').ok_or_else(|| err("expected a resource after the module"))?;
        }
        let mode = match rest.strip_prefix("data.") {
            Some(after) => {
                rest = after;
                Mode::Data
            }
            None => Mode::Managed,
        };
        let (type_name, after) = split_ident(rest).ok_or_else(|| err("expected a resource type"))?;
        let after = after.strip_prefix('.').ok_or_else(|| err("expected TYPE.NAME"))?;
        let (name, after) = split_ident(after).ok_or_else(|| err("expected a resource name"))?;
        let (key, after) = parse_key(after).map_err(|r| err(&r))?;
        if !after.is_empty() {
            return Err(err("unexpected text after the address"));
        }
        Ok(InstanceAddr {
            resource: ResourceAddr { module: ModulePath(module), mode, type_name: type_name.into(), name: name.into() },
            key,
        })
    }
}

fn split_ident(s: &str) -> Option<(&str, &str)> {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(s.len());
    if end == 0 {
        None
    } else {
        Some(s.split_at(end))
    }
}

fn parse_key(s: &str) -> Result<(InstanceKey, &str), String> {
    let Some(inner) = s.strip_prefix('[') else {
        return Ok((InstanceKey::None, s));
    };
    if inner.starts_with('"') {
        let mut de = serde_json::Deserializer::from_str(inner).into_iter::<String>();
        let key = de.next().ok_or("unterminated key")?.map_err(|e| e.to_string())?;
        let after = &inner[de.byte_offset()..];
        let after = after.strip_prefix(']').ok_or("expected ]")?;
        Ok((InstanceKey::Str(key), after))
    } else {
        let end = inner.find(']').ok_or("expected ]")?;
        let index = inner[..end].parse::<i64>().map_err(|_| "an index must be a number or a quoted string")?;
        Ok((InstanceKey::Int(index), &inner[end + 1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_and_parse_back() {
        for text in [
            "null_resource.a",
            "null_resource.a[3]",
            "data.local_file.cfg",
            r#"module.net["eu"].module.sub.aws_subnet.public["a b"]"#,
        ] {
            let addr: InstanceAddr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
        }
    }

    #[test]
    fn bad_addresses_say_why() {
        let err = "null_resource".parse::<InstanceAddr>().unwrap_err();
        assert_eq!(err.reason, "expected TYPE.NAME");
        assert!("a.b[x]".parse::<InstanceAddr>().is_err());
    }
}

impl serde::Serialize for InstanceAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for InstanceAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<InstanceAddr, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
