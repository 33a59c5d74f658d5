//! Type constraint expressions: `list(object({ name = string, size = optional(number, 1) }))`.

use std::collections::BTreeMap;

use terrane_core::types::ObjectAttr;
use terrane_core::{Diagnostic, Type, Value};

use crate::ast::{Expr, ExprKind};

pub fn parse_type(e: &Expr) -> Result<Type, Diagnostic> {
    let bad = |what: &str| {
        Diagnostic::error("terrane::invalid_type", format!("invalid type constraint: {what}"))
            .at(&e.span)
            .help("use string, number, bool, any, list(T), set(T), map(T), tuple([...]) or object({...})")
    };
    match &e.kind {
        ExprKind::Variable(name) => primitive(name).ok_or_else(|| bad(&format!("unknown type {name:?}"))),
        // Terraform 0.11 quoted types.
        ExprKind::Literal(Value::String(s)) => match s.as_str() {
            "string" => Ok(Type::String),
            "list" => Ok(Type::list(Type::Any)),
            "map" => Ok(Type::map(Type::Any)),
            other => Err(bad(&format!("unknown type {other:?}"))),
        },
        ExprKind::Call { name, args, .. } => match (name.as_str(), args.as_slice()) {
            ("list", [t]) => Ok(Type::list(parse_type(t)?)),
            ("set", [t]) => Ok(Type::set(parse_type(t)?)),
            ("map", [t]) => Ok(Type::map(parse_type(t)?)),
            ("tuple", [Expr { kind: ExprKind::Tuple(items), .. }]) => {
                Ok(Type::Tuple(items.iter().map(parse_type).collect::<Result<_, _>>()?))
            }
            ("object", [Expr { kind: ExprKind::Object(items), .. }]) => {
                let mut attrs = BTreeMap::new();
                for (key, value) in items {
                    let ExprKind::Literal(Value::String(name)) = &key.kind else {
                        return Err(bad("object attribute names must be plain names"));
                    };
                    attrs.insert(name.clone(), object_attr(value)?);
                }
                Ok(Type::Object(attrs))
            }
            (other, _) => Err(bad(&format!("{other}(...) is not a type constructor, or has the wrong arguments"))),
        },
        _ => Err(bad("expected a type")),
    }
}

fn object_attr(e: &Expr) -> Result<ObjectAttr, Diagnostic> {
    if let ExprKind::Call { name, args, .. } = &e.kind {
        if name == "optional" {
            return match args.as_slice() {
                [t] => Ok(ObjectAttr { ty: parse_type(t)?, optional: true, default: None }),
                [t, d] => {
                    let ty = parse_type(t)?;
                    let default = crate::eval::eval_constant(d)?;
                    let default = ty.convert(default).map_err(|err| {
                        Diagnostic::error("terrane::invalid_type", format!("invalid default for optional attribute: {err}"))
                            .at(&d.span)
                    })?;
                    Ok(ObjectAttr { ty, optional: true, default: Some(default) })
                }
                _ => Err(Diagnostic::error("terrane::invalid_type", "optional takes a type and an optional default")
                    .at(&e.span)),
            };
        }
    }
    Ok(ObjectAttr::required(parse_type(e)?))
}

fn primitive(name: &str) -> Option<Type> {
    match name {
        "string" => Some(Type::String),
        "number" => Some(Type::Number),
        "bool" => Some(Type::Bool),
        "any" => Some(Type::Any),
        "list" => Some(Type::list(Type::Any)),
        "map" => Some(Type::map(Type::Any)),
        "set" => Some(Type::set(Type::Any)),
        _ => None,
    }
}
