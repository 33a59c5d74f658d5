//! `Value`: the dynamic value of the Terraform language, with an explicit unknown
//! ("known after apply") and a sensitive mark that survives every operation.

use std::cmp::Ordering;
use std::fmt;

pub use crate::number::Number;
pub use crate::value_map::ValueMap;

#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    /// Lists and tuples.
    List(Vec<Value>),
    /// Sets: kept sorted and without duplicates (see [`Value::set`]).
    Set(Vec<Value>),
    /// Maps and objects.
    Map(ValueMap<Value>),
    /// Known only after apply. Never equal to anything, itself included.
    Unknown,
    /// A value that must never be shown.
    Sensitive(Box<Value>),
}

/// One step of an attribute path: `tags["Name"]` is `[Attr("tags"), Key("Name")]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(untagged)]
pub enum PathStep {
    Index(usize),
    Attr(String),
}

impl<'de> serde::Deserialize<'de> for PathStep {
    /// Read through a JSON value: serde's untagged enums cannot see numbers kept
    /// at arbitrary precision.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<PathStep, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => Ok(PathStep::Attr(s)),
            serde_json::Value::Number(n) => n
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .map(PathStep::Index)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid index {n} in an attribute path"))),
            other => Err(serde::de::Error::custom(format!("invalid attribute path step {other}"))),
        }
    }
}

pub type AttrPath = Vec<PathStep>;

pub fn format_path(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Attr(name) if out.is_empty() => out.push_str(name),
            PathStep::Attr(name) if is_identifier(name) => {
                out.push('.');
                out.push_str(name)
            }
            PathStep::Attr(name) => out.push_str(&format!("[{name:?}]")),
            PathStep::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl PartialEq for Value {
    /// Structural equality that ignores sensitive marks; an unknown anywhere makes it false.
    fn eq(&self, other: &Value) -> bool {
        match (self.unmarked(), other.unmarked()) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) | (Value::Set(a), Value::Set(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }

    /// A set from any elements: sorted canonically, duplicates removed, unknowns kept.
    pub fn set(mut items: Vec<Value>) -> Value {
        items.sort_by(Value::canonical_cmp);
        items.dedup_by(|a, b| a.is_wholly_known() && b.is_wholly_known() && a == b);
        Value::Set(items)
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            other => Value::Sensitive(Box::new(other)),
        }
    }

    /// Marks the value sensitive when `marked` is true.
    pub fn mark_if(self, marked: bool) -> Value {
        if marked {
            self.sensitive()
        } else {
            self
        }
    }

    /// The value without its top-level sensitive mark.
    pub fn unmarked(&self) -> &Value {
        match self {
            Value::Sensitive(inner) => inner.unmarked(),
            other => other,
        }
    }

    /// Splits off the top-level mark: `(value, was_sensitive)`.
    pub fn into_unmarked(self) -> (Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner.into_unmarked().0, true),
            other => (other, false),
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// True when a sensitive mark appears anywhere inside.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) | Value::Set(items) => items.iter().any(Value::contains_sensitive),
            Value::Map(map) => map.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unmarked(), Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.unmarked(), Value::Unknown)
    }

    /// True when no unknown appears anywhere inside.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(inner) => inner.is_wholly_known(),
            Value::List(items) | Value::Set(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(map) => map.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmarked() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unmarked() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.unmarked() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// For provider fields that AWS keeps as 64-bit numbers (ports, sizes).
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::to_f64)
    }

    pub fn as_map(&self) -> Option<&ValueMap<Value>> {
        match self.unmarked() {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Attribute of an object; `None` when absent or not an object.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(name))
    }

    /// The value at an attribute path, if every step exists.
    pub fn at_path(&self, path: &[PathStep]) -> Option<&Value> {
        let mut current = self;
        for step in path {
            current = match (current.unmarked(), step) {
                (Value::Map(m), PathStep::Attr(name)) => m.get(name)?,
                (Value::List(items) | Value::Set(items), PathStep::Index(i)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// Human name of the value's type, as Terraform's messages spell it.
    pub fn type_name(&self) -> &'static str {
        match self.unmarked() {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "object",
            Value::Unknown => "unknown",
            Value::Sensitive(_) => "sensitive",
        }
    }

    /// A total order used for set canonicalisation and sorting: by kind, then content.
    pub fn canonical_cmp(a: &Value, b: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            // Nulls sort after known values in a set, as Terraform orders them.
            match v {
                Value::Bool(_) => 0,
                Value::Number(_) => 1,
                Value::String(_) => 2,
                Value::List(_) => 3,
                Value::Set(_) => 4,
                Value::Map(_) => 5,
                Value::Null => 6,
                Value::Unknown => 7,
                Value::Sensitive(_) => 8,
            }
        }
        let (a, b) = (a.unmarked(), b.unmarked());
        match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            (Value::Number(x), Value::Number(y)) => x.cmp(y),
            (Value::String(x), Value::String(y)) => x.cmp(y),
            (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
                for (p, q) in x.iter().zip(y) {
                    let o = Value::canonical_cmp(p, q);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                x.len().cmp(&y.len())
            }
            (Value::Map(x), Value::Map(y)) => {
                for ((ka, va), (kb, vb)) in x.iter().zip(y) {
                    let o = ka.cmp(kb).then_with(|| Value::canonical_cmp(va, vb));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                x.len().cmp(&y.len())
            }
            _ => rank(a).cmp(&rank(b)),
        }
    }

    /// Removes every sensitive mark, returning the paths where they were.
    pub fn unmark_deep(self) -> (Value, Vec<AttrPath>) {
        let mut paths = Vec::new();
        let value = unmark_into(self, &mut Vec::new(), &mut paths);
        (value, paths)
    }

    /// Puts sensitive marks back at the given paths.
    pub fn mark_paths(mut self, paths: &[AttrPath]) -> Value {
        for path in paths {
            self = mark_at(self, path);
        }
        self
    }

    /// Converts to JSON. Unknown values become null; marks are dropped (callers
    /// that persist values record the sensitive paths separately).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::Unknown => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => n.to_json(),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items) | Value::Set(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(map) => {
                serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Sensitive(inner) => inner.to_json(),
        }
    }

    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(Number::from_json(n)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => {
                Value::Map(map.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }
}

fn unmark_into(value: Value, path: &mut AttrPath, paths: &mut Vec<AttrPath>) -> Value {
    match value {
        Value::Sensitive(inner) => {
            paths.push(path.clone());
            unmark_into(*inner, path, &mut Vec::new())
        }
        Value::List(items) => Value::List(unmark_items(items, path, paths)),
        Value::Set(items) => Value::Set(unmark_items(items, path, paths)),
        Value::Map(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| {
                    path.push(PathStep::Attr(k.clone()));
                    let v = unmark_into(v, path, paths);
                    path.pop();
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

fn unmark_items(items: Vec<Value>, path: &mut AttrPath, paths: &mut Vec<AttrPath>) -> Vec<Value> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            path.push(PathStep::Index(i));
            let v = unmark_into(v, path, paths);
            path.pop();
            v
        })
        .collect()
}

fn mark_at(value: Value, path: &[PathStep]) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return value.sensitive();
    };
    let (inner, marked) = value.into_unmarked();
    let inner = match (inner, first) {
        (Value::Map(mut map), PathStep::Attr(name)) => {
            if let Some(v) = map.remove(name) {
                map.insert(name.clone(), mark_at(v, rest));
            }
            Value::Map(map)
        }
        (Value::List(mut items), PathStep::Index(i)) if *i < items.len() => {
            let v = std::mem::replace(&mut items[*i], Value::Null);
            items[*i] = mark_at(v, rest);
            Value::List(items)
        }
        (Value::Set(mut items), PathStep::Index(i)) if *i < items.len() => {
            let v = std::mem::replace(&mut items[*i], Value::Null);
            items[*i] = mark_at(v, rest);
            Value::Set(items)
        }
        (other, _) => other,
    };
    inner.mark_if(marked)
}

impl fmt::Display for Value {
    /// Terraform-like literal syntax; sensitive parts print as `(sensitive value)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(items) | Value::Set(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
            Value::Map(map) => {
                write!(f, "{{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                write!(f, "}}")
            }
            Value::Unknown => write!(f, "(known after apply)"),
            Value::Sensitive(_) => write!(f, "(sensitive value)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_never_equal_even_to_itself() {
        assert_ne!(Value::Unknown, Value::Unknown);
        assert_ne!(Value::List(vec![Value::Unknown]), Value::List(vec![Value::Unknown]));
    }

    #[test]
    fn sets_are_sorted_and_deduplicated() {
        let set = Value::set(vec![Value::string("b"), Value::string("a"), Value::string("b")]);
        assert_eq!(set.to_string(), r#"["a", "b"]"#);
    }

    #[test]
    fn sensitive_marks_round_trip_through_paths() {
        let value = Value::map([("user", Value::string("u")), ("pass", Value::string("p").sensitive())]);
        let (plain, paths) = value.clone().unmark_deep();
        assert!(!plain.contains_sensitive());
        assert_eq!(paths, vec![vec![PathStep::Attr("pass".into())]]);
        let again = plain.mark_paths(&paths);
        assert!(again.get("pass").unwrap().is_sensitive());
        assert_eq!(again.to_string(), r#"{pass = (sensitive value), user = "u"}"#);
    }

    #[test]
    fn numbers_print_like_terraform() {
        assert_eq!(Value::number(3).to_string(), "3");
        assert_eq!(Value::Number(Number::parse("2.5").unwrap()).to_string(), "2.5");
        assert_eq!(Value::number(10).to_json(), serde_json::json!(10));
        let big = Value::Number(Number::parse("1234567890123456789012345678901234567890").unwrap());
        assert_eq!(big.to_json().to_string(), "1234567890123456789012345678901234567890");
        assert_eq!(Value::from_json(&big.to_json()), big);
    }
}
