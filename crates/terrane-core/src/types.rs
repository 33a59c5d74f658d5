//! Type constraints of the Terraform language and its conversion rules.

use std::collections::BTreeMap;
use std::fmt;

use crate::value::{format_number, format_path, AttrPath, PathStep, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Any,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Tuple(Vec<Type>),
    Object(BTreeMap<String, ObjectAttr>),
}

/// One attribute of an object type; `optional(T, default)` sets `optional` and `default`.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectAttr {
    pub ty: Type,
    pub optional: bool,
    pub default: Option<Value>,
}

impl ObjectAttr {
    pub fn required(ty: Type) -> ObjectAttr {
        ObjectAttr { ty, optional: false, default: None }
    }
}

/// Why a value does not fit a type, and where inside the value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{}: ", format_path(path)) })]
pub struct ConversionError {
    pub path: AttrPath,
    pub message: String,
}

fn fail(path: &AttrPath, message: impl Into<String>) -> ConversionError {
    ConversionError { path: path.clone(), message: message.into() }
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    /// Converts `value` to this type with Terraform's automatic conversions.
    pub fn convert(&self, value: Value) -> Result<Value, ConversionError> {
        self.convert_at(value, &mut Vec::new())
    }

    fn convert_at(&self, value: Value, path: &mut AttrPath) -> Result<Value, ConversionError> {
        let (value, marked) = value.into_unmarked();
        if matches!(value, Value::Null | Value::Unknown) {
            return Ok(value.mark_if(marked));
        }
        let converted = match (self, value) {
            (Type::Any, v) => v,
            (Type::String, Value::String(s)) => Value::String(s),
            (Type::String, Value::Number(n)) => Value::String(format_number(n)),
            (Type::String, Value::Bool(b)) => Value::String(b.to_string()),
            (Type::Number, Value::Number(n)) => Value::Number(n),
            (Type::Number, Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(n) if s.trim() == s && !s.is_empty() => Value::Number(n),
                _ => return Err(fail(path, format!("a number is required, got the string {s:?}"))),
            },
            (Type::Bool, Value::Bool(b)) => Value::Bool(b),
            (Type::Bool, Value::String(s)) if s == "true" || s == "false" => Value::Bool(s == "true"),
            (Type::List(elem), Value::List(items) | Value::Set(items)) => {
                Value::List(convert_items(elem, items, path)?)
            }
            (Type::Set(elem), Value::List(items) | Value::Set(items)) => {
                Value::set(convert_items(elem, items, path)?)
            }
            (Type::Map(elem), Value::Map(map)) => {
                let mut out = crate::ValueMap::new();
                for (k, v) in map {
                    path.push(PathStep::Attr(k.clone()));
                    let v = elem.convert_at(v, path)?;
                    path.pop();
                    out.insert(k, v);
                }
                Value::Map(out)
            }
            (Type::Tuple(types), Value::List(items)) => {
                if types.len() != items.len() {
                    return Err(fail(
                        path,
                        format!("a tuple of {} elements is required, got {}", types.len(), items.len()),
                    ));
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, (t, v)) in types.iter().zip(items).enumerate() {
                    path.push(PathStep::Index(i));
                    out.push(t.convert_at(v, path)?);
                    path.pop();
                }
                Value::List(out)
            }
            (Type::Object(attrs), Value::Map(mut map)) => {
                let mut out = crate::ValueMap::new();
                for (name, attr) in attrs {
                    path.push(PathStep::Attr(name.clone()));
                    let value = match map.remove(name) {
                        Some(v) if !v.is_null() => attr.ty.convert_at(v, path)?,
                        Some(_) | None if attr.optional => match &attr.default {
                            Some(d) => attr.ty.convert_at(d.clone(), path)?,
                            None => Value::Null,
                        },
                        Some(v) => v,
                        None => {
                            path.pop();
                            return Err(fail(path, format!("attribute {name:?} is required")));
                        }
                    };
                    path.pop();
                    out.insert(name.clone(), value);
                }
                Value::Map(out)
            }
            (ty, v) => {
                return Err(fail(path, format!("{} required, got {}", ty.article(), describe(&v))));
            }
        };
        Ok(converted.mark_if(marked))
    }

    fn article(&self) -> String {
        match self {
            Type::Any => "a value".into(),
            Type::Object(_) => "an object".into(),
            other => format!("a {other}"),
        }
    }
}

fn describe(value: &Value) -> String {
    match value.unmarked() {
        Value::String(_) => "a string".into(),
        Value::Number(_) => "a number".into(),
        Value::Bool(_) => "a bool".into(),
        Value::List(_) => "a list".into(),
        Value::Set(_) => "a set".into(),
        Value::Map(_) => "an object".into(),
        other => other.type_name().into(),
    }
}

fn convert_items(elem: &Type, items: Vec<Value>, path: &mut AttrPath) -> Result<Vec<Value>, ConversionError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, v) in items.into_iter().enumerate() {
        path.push(PathStep::Index(i));
        out.push(elem.convert_at(v, path)?);
        path.pop();
    }
    Ok(out)
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => write!(f, "any"),
            Type::String => write!(f, "string"),
            Type::Number => write!(f, "number"),
            Type::Bool => write!(f, "bool"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Tuple(ts) => {
                write!(f, "tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{t}")?;
                }
                write!(f, "])")
            }
            Type::Object(attrs) => {
                write!(f, "object({{")?;
                for (i, (k, a)) in attrs.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    if a.optional {
                        write!(f, "{k} = optional({})", a.ty)?;
                    } else {
                        write!(f, "{k} = {}", a.ty)?;
                    }
                }
                write!(f, "}})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ty: Type, input: Value, expected: Result<&str, &str>) {
        let got = ty.convert(input).map(|v| v.to_string()).map_err(|e| e.to_string());
        assert_eq!(got.as_deref().map_err(String::as_str), expected);
    }

    #[test]
    fn conversions_follow_terraform_rules() {
        check(Type::String, Value::Number(5.0), Ok("\"5\""));
        check(Type::Number, Value::string("5"), Ok("5"));
        check(Type::Number, Value::string("five"), Err("a number is required, got the string \"five\""));
        check(Type::Bool, Value::string("true"), Ok("true"));
        check(Type::list(Type::String), Value::List(vec![Value::Number(1.0)]), Ok("[\"1\"]"));
        check(Type::set(Type::String), Value::List(vec![Value::string("b"), Value::string("a")]), Ok("[\"a\", \"b\"]"));
        check(Type::String, Value::List(vec![]), Err("a string required, got a list"));
        check(Type::map(Type::Number), Value::map([("a", Value::string("x"))]), Err("a: a number is required, got the string \"x\""));
    }

    #[test]
    fn objects_fill_optional_attributes_and_require_the_rest() {
        let ty = Type::Object(BTreeMap::from([
            ("name".to_string(), ObjectAttr::required(Type::String)),
            ("size".to_string(), ObjectAttr { ty: Type::Number, optional: true, default: Some(Value::Number(1.0)) }),
        ]));
        check(ty.clone(), Value::map([("name", Value::string("a"))]), Ok("{name = \"a\", size = 1}"));
        check(ty, Value::map([("size", Value::Number(2.0))]), Err("attribute \"name\" is required"));
    }

    #[test]
    fn sensitive_marks_survive_conversion() {
        let v = Type::String.convert(Value::Number(1.0).sensitive()).unwrap();
        assert!(v.is_sensitive());
    }
}
