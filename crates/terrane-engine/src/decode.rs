//! Decodes a block body against a schema: evaluates each attribute, converts it
//! to the schema's type, and reports unknown, missing and mistyped attributes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use terrane_core::{Diagnostic, Diagnostics, Type, Value, ValueMap};
use terrane_lang::config::{suggest, Block, Body};
use terrane_lang::eval::eval_with;
use terrane_lang::Scope;
use terrane_provider::{AttributeSchema, BlockSchema, Nesting, Schema};

pub fn decode_body(body: &Body, schema: &Schema, scope: &dyn Scope, what: &dyn std::fmt::Display, diags: &mut Diagnostics) -> Value {
    decode_with(body, schema, scope, what, &[], diags)
}

fn decode_with(
    body: &Body,
    schema: &Schema,
    scope: &dyn Scope,
    what: &dyn std::fmt::Display,
    bindings: &[(String, Value)],
    diags: &mut Diagnostics,
) -> Value {
    let mut out = ValueMap::new();
    for (name, attr) in &body.attrs {
        let Some(attr_schema) = schema.attributes.get(name) else {
            let mut d = Diagnostic::error("terrane::unknown_attribute", format!("unsupported argument {name:?} in {what}"))
                .at(&attr.name_span);
            if schema.blocks.contains_key(name) {
                d = d.help(format!("{name} is a block: write it as {name} {{ ... }}"));
            } else {
                let names: Vec<&str> = schema.attributes.keys().map(String::as_str).collect();
                d = match suggest(name, &names) {
                    Some(s) => d.help(format!("did you mean {s:?}?")),
                    None => d.help(format!("{what} takes: {}", settable(schema).join(", "))),
                };
            }
            diags.push(d);
            continue;
        };
        if attr_schema.computed && !attr_schema.optional && !attr_schema.required {
            diags.push(
                Diagnostic::error("terrane::computed_attribute", format!("{name:?} is set by the provider and cannot be configured"))
                    .at(&attr.name_span),
            );
            continue;
        }
        if attr_schema.deprecated {
            diags.push(
                Diagnostic::warning("terrane::deprecated_argument", format!("argument {name:?} of {what} is deprecated"))
                    .at(&attr.name_span)
                    .help("it still works; the provider's documentation names what replaces it"),
            );
        }
        let value = match eval_with(&attr.expr, scope, bindings.to_vec()) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                Value::Unknown
            }
        };
        let value = match attr_schema.ty.convert(value) {
            Ok(v) => v,
            Err(e) => {
                diags.push(
                    Diagnostic::error("terrane::type_mismatch", format!("invalid value for {name:?}"))
                        .detail(format!("{} required: {e}", attr_schema.ty))
                        .at(&attr.expr.span),
                );
                Value::Unknown
            }
        };
        out.insert(name.clone(), value.mark_if(attr_schema.sensitive));
    }
    for (name, attr_schema) in &schema.attributes {
        if !out.contains_key(name) && !body.attrs.contains_key(name) {
            if attr_schema.required {
                diags.push(
                    Diagnostic::error("terrane::missing_attribute", format!("missing required argument {name:?} in {what}"))
                        .at(&body.span)
                        .help(format!("add {name} = ... to the block")),
                );
            }
            out.insert(name.clone(), Value::Null);
        }
    }
    let mut blocks: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for block in &body.blocks {
        let expanded = expand_block(block, schema, scope, what, bindings, diags);
        for (type_name, value) in expanded {
            blocks.entry(type_name).or_default().push(value);
        }
    }
    for (name, block_schema) in &schema.blocks {
        let items = blocks.remove(name.as_str()).unwrap_or_default();
        if items.len() < block_schema.min_items {
            diags.push(
                Diagnostic::error("terrane::missing_block", format!("{what} needs at least {} {name} block(s)", block_schema.min_items))
                    .at(&body.span),
            );
        }
        if let Some(max) = block_schema.max_items.or((block_schema.nesting == Nesting::Single).then_some(1)) {
            if items.len() > max {
                diags.push(
                    Diagnostic::error("terrane::too_many_blocks", format!("{what} takes at most {max} {name} block(s)"))
                        .at(&body.span),
                );
            }
        }
        let value = match block_schema.nesting {
            Nesting::Single => items.into_iter().next().unwrap_or(Value::Null),
            Nesting::List => Value::List(items),
            Nesting::Set => Value::set(items),
        };
        out.insert(name.clone(), value);
    }
    // What is left was written as blocks for an attribute that holds objects.
    for (name, items) in blocks {
        let Some(attr_schema) = schema.attributes.get(name) else { continue };
        if let Some(attr) = body.attrs.get(name) {
            diags.push(
                Diagnostic::error("terrane::duplicate_argument", format!("{name:?} in {what} is given both as an argument and as blocks"))
                    .at(&attr.name_span)
                    .help("write it one way: either name = [...] or name { ... } blocks"),
            );
            continue;
        }
        let collection = if matches!(attr_schema.ty, Type::Set(_)) { Value::set(items) } else { Value::List(items) };
        let value = match attr_schema.ty.convert(collection) {
            Ok(v) => v,
            Err(e) => {
                let at = body.blocks.iter().find(|b| b.type_name == name).map(|b| &b.type_span).unwrap_or(&body.span);
                diags.push(
                    Diagnostic::error("terrane::type_mismatch", format!("invalid {name:?} blocks in {what}"))
                        .detail(format!("{} required: {e}", attr_schema.ty))
                        .at(at),
                );
                Value::Unknown
            }
        };
        out.insert(name.to_string(), value.mark_if(attr_schema.sensitive));
    }
    Value::Map(out)
}

/// A block's schema: a nested block type, or an attribute holding a list or
/// set of objects, which Terraform lets a configuration write as blocks
/// (`ingress { ... }`), each block one object whose attributes may be left out.
fn block_schema<'b>(schema: &'b Schema, name: &str) -> Option<(&'b str, Cow<'b, BlockSchema>)> {
    if let Some((name, block)) = schema.blocks.get_key_value(name) {
        return Some((name.as_str(), Cow::Borrowed(block)));
    }
    let (name, attr) = schema.attributes.get_key_value(name)?;
    if !(attr.optional || attr.required) {
        return None;
    }
    let (nesting, element) = match &attr.ty {
        Type::List(element) => (Nesting::List, element),
        Type::Set(element) => (Nesting::Set, element),
        _ => return None,
    };
    let Type::Object(fields) = &**element else { return None };
    let body = fields.iter().fold(Schema::new(), |body, (field, f)| body.attr(field, AttributeSchema::optional(f.ty.clone())));
    Some((name.as_str(), Cow::Owned(BlockSchema { nesting, min_items: 0, max_items: None, force_new: false, body })))
}

/// One written block, or the blocks a `dynamic` block generates.
fn expand_block<'b>(
    block: &'b Block,
    schema: &'b Schema,
    scope: &dyn Scope,
    what: &dyn std::fmt::Display,
    bindings: &[(String, Value)],
    diags: &mut Diagnostics,
) -> Vec<(&'b str, Value)> {
    if block.type_name != "dynamic" {
        let Some((type_name, block_schema)) = block_schema(schema, &block.type_name) else {
            unknown_block(&block.type_name, block, schema, what, diags);
            return Vec::new();
        };
        let inner_what = format!("{what} {}", block.type_name);
        return vec![(type_name, decode_with(&block.body, &block_schema.body, scope, &inner_what, bindings, diags))];
    }
    let Some(label) = block.labels.first() else {
        diags.push(Diagnostic::error("terrane::block_labels", "a dynamic block needs the block type as its label").at(&block.type_span));
        return Vec::new();
    };
    let Some((type_name, block_schema)) = block_schema(schema, label) else {
        unknown_block(label, block, schema, what, diags);
        return Vec::new();
    };
    let iterator = match block.body.attr("iterator") {
        Some(a) => match &a.expr.kind {
            terrane_lang::ExprKind::Variable(v) => v.clone(),
            _ => {
                diags.push(Diagnostic::error("terrane::invalid_iterator", "iterator must be a plain name").at(&a.expr.span));
                return Vec::new();
            }
        },
        None => label.clone(),
    };
    let Some(for_each) = block.body.attr("for_each") else {
        diags.push(Diagnostic::error("terrane::missing_attribute", "a dynamic block needs for_each").at(&block.type_span));
        return Vec::new();
    };
    let Some(content) = block.body.blocks.iter().find(|b| b.type_name == "content") else {
        diags.push(Diagnostic::error("terrane::missing_block", "a dynamic block needs a content block").at(&block.type_span));
        return Vec::new();
    };
    // A nested dynamic block may iterate over its enclosing block's iterator.
    let collection = match eval_with(&for_each.expr, scope, bindings.to_vec()) {
        Ok(v) => v,
        Err(d) => {
            diags.push(d);
            return Vec::new();
        }
    };
    let pairs: Vec<(Value, Value)> = match collection.into_unmarked().0 {
        Value::List(items) => items.into_iter().enumerate().map(|(i, v)| (Value::number(i), v)).collect(),
        Value::Set(items) => items.into_iter().map(|v| (v.clone(), v)).collect(),
        Value::Map(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
        Value::Null => Vec::new(),
        Value::Unknown => {
            diags.push(
                Diagnostic::error("terrane::unknown_for_each", "the dynamic block's for_each is not known until apply")
                    .at(&for_each.expr.span),
            );
            return Vec::new();
        }
        other => {
            diags.push(
                Diagnostic::error("terrane::type_mismatch", format!("for_each needs a collection, got {}", other.type_name()))
                    .at(&for_each.expr.span),
            );
            return Vec::new();
        }
    };
    let inner_what = format!("{what} {label}");
    pairs
        .into_iter()
        .map(|(key, value)| {
            let mut b = bindings.to_vec();
            b.push((iterator.clone(), Value::map([("key", key), ("value", value)])));
            (type_name, decode_with(&content.body, &block_schema.body, scope, &inner_what, &b, diags))
        })
        .collect()
}

fn unknown_block(name: &str, block: &Block, schema: &Schema, what: &dyn std::fmt::Display, diags: &mut Diagnostics) {
    let names: Vec<&str> = schema.blocks.keys().map(String::as_str).collect();
    let mut d = Diagnostic::error("terrane::unknown_block", format!("unsupported block type {name:?} in {what}")).at(&block.type_span);
    if let Some(s) = suggest(name, &names) {
        d = d.help(format!("did you mean {s:?}?"));
    } else if schema.attributes.contains_key(name) {
        d = d.help(format!("{name} is an argument: write it as {name} = ..."));
    }
    diags.push(d);
}

fn settable(schema: &Schema) -> Vec<&str> {
    schema
        .attributes
        .iter()
        .filter(|(_, a)| a.required || a.optional)
        .map(|(n, _)| n.as_str())
        .collect()
}
