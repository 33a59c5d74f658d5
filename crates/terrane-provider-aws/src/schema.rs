//! The schemas the provider serves: hashicorp/aws 5.100.0's, as
//! `scripts/oracle-aws-schema` recorded them in `schema/hashicorp-aws.json`,
//! with each adapter's replacement rules laid over them.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value as Json;
use terrane_core::{PathStep, Value};
use terrane_provider::schema::terraform_json;
use terrane_provider::{AttrError, BlockSchema, Nesting, ResourceSchema, Schema};

pub const RECORDED_JSON: &str = include_str!("../schema/hashicorp-aws.json");

pub struct Recorded {
    pub provider: Schema,
    pub resources: BTreeMap<String, ResourceSchema>,
    pub data_sources: BTreeMap<String, ResourceSchema>,
}

/// The recorded schemas, read once. The file is compiled in and the tests
/// read every type in it, so a malformed one never ships.
pub fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| read(RECORDED_JSON).unwrap_or_else(|e| panic!("schema/hashicorp-aws.json: {e}")))
}

pub fn read(text: &str) -> Result<Recorded, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let types = |section: &str| -> Result<BTreeMap<String, ResourceSchema>, String> {
        let mut out = BTreeMap::new();
        for (name, entry) in json.get(section).and_then(Json::as_object).into_iter().flatten() {
            let schema = terraform_json::block(&entry["block"]).map_err(|e| format!("{name}: {e}"))?;
            let version = entry.get("version").and_then(Json::as_u64).unwrap_or(0);
            out.insert(name.clone(), ResourceSchema { version, description: "", schema });
        }
        Ok(out)
    };
    Ok(Recorded {
        provider: terraform_json::block(&json["provider"]["block"]).map_err(|e| format!("provider: {e}"))?,
        resources: types("resource_schemas")?,
        data_sources: types("data_source_schemas")?,
    })
}

/// Terraform's schema, with `force_new` where the adapter's declaration has it.
pub fn served(recorded: &Schema, supported: &Schema) -> Schema {
    let mut out = recorded.clone();
    for (name, attr) in &supported.attributes {
        if let Some(served) = out.attributes.get_mut(name) {
            served.force_new |= attr.force_new;
        }
    }
    for (name, block) in &supported.blocks {
        if let Some(served) = out.blocks.get_mut(name) {
            served.force_new |= block.force_new;
            served.body = self::served(&served.body, &block.body);
        }
    }
    out
}

/// One error for each argument the configuration sets that the adapter does
/// not act on: it would otherwise be silently ignored.
pub fn unsupported(served: &Schema, supported: &Schema, config: &Value) -> Vec<AttrError> {
    let mut out = Vec::new();
    check(served, supported, config, &mut Vec::new(), &mut out);
    out
}

fn check(served: &Schema, supported: &Schema, config: &Value, path: &mut Vec<PathStep>, out: &mut Vec<AttrError>) {
    let given = |name: &str| config.get(name).is_some_and(|v| !v.is_null());
    // Zero blocks are no blocks; an empty list given to an attribute is a value.
    let set = |name: &str| config.get(name).is_some_and(|v| !is_empty(v));
    for (name, attr) in &served.attributes {
        if (attr.optional || attr.required) && !supported.attributes.contains_key(name) && given(name) {
            out.push(refusal(path, name));
        }
    }
    for (name, block) in &served.blocks {
        let Some(declared) = supported.blocks.get(name) else {
            if set(name) {
                out.push(refusal(path, name));
            }
            continue;
        };
        let elements: Vec<&Value> = match config.get(name).map(Value::unmarked) {
            Some(Value::List(items) | Value::Set(items)) => items.iter().collect(),
            Some(element @ Value::Map(_)) => vec![element],
            _ => Vec::new(),
        };
        path.push(PathStep::Attr(name.clone()));
        for (i, element) in elements.into_iter().enumerate() {
            path.push(PathStep::Index(i));
            check(&block.body, &declared.body, element, path, out);
            path.pop();
        }
        path.pop();
    }
}

fn is_empty(value: &Value) -> bool {
    match value.unmarked() {
        Value::Null => true,
        Value::List(items) | Value::Set(items) => items.is_empty(),
        _ => false,
    }
}

fn refusal(path: &[PathStep], name: &str) -> AttrError {
    let mut at = path.to_vec();
    at.push(PathStep::Attr(name.to_string()));
    AttrError { path: at, message: format!("`{name}` is not supported by terrane yet") }
}

/// An object as the adapter returned it, in the shape Terraform stores for
/// the served schema: every attribute present, blocks as lists or sets ([]
/// when there are none), nothing the schema lacks. What the adapter does
/// not model (outside `supported`) keeps the prior object's value, so state
/// Terraform wrote keeps what terrane cannot read.
pub fn conform(served: &Schema, supported: &Schema, value: Value, prior: Option<&Value>) -> Value {
    let (value, marked) = value.into_unmarked();
    let Value::Map(mut fields) = value else { return value.mark_if(marked) };
    let prior_of = |name: &str| prior.and_then(|p| p.get(name)).cloned();
    let mut out = terrane_core::ValueMap::with_capacity(served.attributes.len() + served.blocks.len());
    for name in served.attributes.keys() {
        let given = fields.remove(name);
        let value = match given {
            Some(v) if supported.attributes.contains_key(name) || !(v.is_null() || v.is_unknown()) => v,
            _ if supported.attributes.contains_key(name) => Value::Null,
            _ => prior_of(name).unwrap_or(Value::Null),
        };
        out.insert(name.clone(), value);
    }
    for (name, block) in &served.blocks {
        let value = match supported.blocks.get(name) {
            Some(declared) => shape_block(block, &declared.body, fields.remove(name).unwrap_or(Value::Null)),
            None => prior_of(name).filter(|v| !v.is_null()).unwrap_or_else(|| no_blocks(block.nesting)),
        };
        out.insert(name.clone(), value);
    }
    Value::Map(out).mark_if(marked)
}

fn shape_block(block: &BlockSchema, supported: &Schema, value: Value) -> Value {
    let (value, marked) = value.into_unmarked();
    let each = |items: Vec<Value>| items.into_iter().map(|item| conform(&block.body, supported, item, None)).collect::<Vec<_>>();
    let shaped = match (block.nesting, value) {
        (Nesting::Single, element @ Value::Map(_)) => conform(&block.body, supported, element, None),
        (Nesting::Single, other) => other,
        (nesting, Value::Null) => no_blocks(nesting),
        (Nesting::List, element @ Value::Map(_)) => Value::List(each(vec![element])),
        (Nesting::Set, element @ Value::Map(_)) => Value::set(each(vec![element])),
        (Nesting::List, Value::List(items) | Value::Set(items)) => Value::List(each(items)),
        (Nesting::Set, Value::List(items) | Value::Set(items)) => Value::set(each(items)),
        (_, other) => other,
    };
    shaped.mark_if(marked)
}

/// A nested block type as Terraform's provider declares most: no minimum,
/// changed in place.
pub fn nested(nesting: Nesting, max_items: Option<usize>, body: Schema) -> BlockSchema {
    BlockSchema { nesting, min_items: 0, max_items, force_new: false, body }
}

/// What Terraform stores for a block type with no blocks.
pub fn no_blocks(nesting: Nesting) -> Value {
    match nesting {
        Nesting::Single => Value::Null,
        Nesting::List => Value::List(Vec::new()),
        Nesting::Set => Value::Set(Vec::new()),
    }
}

/// Terraform's provider stores "" or false for an argument left out, in
/// nested blocks too: where the configuration leaves an optional argument
/// out and state holds its zero value, the zero value stays. Blocks are
/// matched by position; a set's element only when it is the one on both
/// sides (set elements have no position).
pub fn keep_zeros_left_out(schema: &Schema, config: &Value, prior: &Value, proposed: &mut terrane_core::ValueMap<Value>) {
    for (name, attr) in &schema.attributes {
        let left_out = config.get(name).is_none_or(Value::is_null);
        let stored = prior.get(name).unwrap_or(&Value::Null);
        if left_out && attr.optional && !attr.computed && is_zero(stored) {
            proposed.insert(name.clone(), stored.clone());
        }
    }
    for (name, block) in &schema.blocks {
        let elements = |v: Option<&Value>| match v.map(Value::unmarked) {
            Some(Value::List(items)) => items.clone(),
            Some(Value::Set(items)) if items.len() == 1 => items.clone(),
            Some(element @ Value::Map(_)) => vec![element.clone()],
            _ => Vec::new(),
        };
        let (configured, stored) = (elements(config.get(name)), elements(prior.get(name)));
        let Some(value) = proposed.get_mut(name) else { continue };
        match value {
            Value::List(items) => {
                for ((item, configured), stored) in items.iter_mut().zip(&configured).zip(&stored) {
                    if let Value::Map(fields) = item {
                        keep_zeros_left_out(&block.body, configured, stored, fields);
                    }
                }
            }
            Value::Set(items) if items.len() == 1 && configured.len() == 1 && stored.len() == 1 => {
                let mut item = items.remove(0);
                if let Value::Map(fields) = &mut item {
                    keep_zeros_left_out(&block.body, &configured[0], &stored[0], fields);
                }
                *value = Value::set(vec![item]);
            }
            Value::Map(fields) => {
                if let (Some(configured), Some(stored)) = (configured.first(), stored.first()) {
                    keep_zeros_left_out(&block.body, configured, stored, fields);
                }
            }
            _ => {}
        }
    }
}

/// Whether Terraform's provider SDK, which cannot tell an unset value from
/// its zero value, takes `value` for an argument left out.
pub fn is_zero(value: &Value) -> bool {
    match value.unmarked() {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.is_zero(),
        Value::List(items) | Value::Set(items) => items.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}
