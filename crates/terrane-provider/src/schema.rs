//! Schemas: what attributes and nested blocks a provider, resource or data source takes.

use std::collections::BTreeMap;

use terrane_core::types::ObjectAttr;
use terrane_core::Type;

#[derive(Debug, Clone)]
pub struct AttributeSchema {
    pub ty: Type,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    /// Accepted, with a warning that it goes away.
    pub deprecated: bool,
    /// A change to this attribute replaces the object.
    pub force_new: bool,
    pub description: &'static str,
}

impl AttributeSchema {
    fn new(ty: Type) -> AttributeSchema {
        AttributeSchema { ty, required: false, optional: false, computed: false, sensitive: false, deprecated: false, force_new: false, description: "" }
    }
    pub fn required(ty: Type) -> AttributeSchema {
        AttributeSchema { required: true, ..AttributeSchema::new(ty) }
    }
    pub fn optional(ty: Type) -> AttributeSchema {
        AttributeSchema { optional: true, ..AttributeSchema::new(ty) }
    }
    pub fn computed(ty: Type) -> AttributeSchema {
        AttributeSchema { computed: true, ..AttributeSchema::new(ty) }
    }
    /// Optional, with a value the provider fills in when the configuration leaves it out.
    pub fn optional_computed(ty: Type) -> AttributeSchema {
        AttributeSchema { optional: true, computed: true, ..AttributeSchema::new(ty) }
    }
    pub fn force_new(mut self) -> AttributeSchema {
        self.force_new = true;
        self
    }
    pub fn deprecated(mut self) -> AttributeSchema {
        self.deprecated = true;
        self
    }
    pub fn sensitive(mut self) -> AttributeSchema {
        self.sensitive = true;
        self
    }
    pub fn describe(mut self, text: &'static str) -> AttributeSchema {
        self.description = text;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nesting {
    /// At most one block; the value is an object or null.
    Single,
    /// Ordered blocks; the value is a list of objects.
    List,
    /// Unordered blocks; the value is a set of objects.
    Set,
}

#[derive(Debug, Clone)]
pub struct BlockSchema {
    pub nesting: Nesting,
    pub min_items: usize,
    pub max_items: Option<usize>,
    pub force_new: bool,
    pub body: Schema,
}

#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub attributes: BTreeMap<String, AttributeSchema>,
    pub blocks: BTreeMap<String, BlockSchema>,
}

impl Schema {
    pub fn new() -> Schema {
        Schema::default()
    }

    pub fn attr(mut self, name: &str, attr: AttributeSchema) -> Schema {
        self.attributes.insert(name.to_string(), attr);
        self
    }

    pub fn block(mut self, name: &str, block: BlockSchema) -> Schema {
        self.blocks.insert(name.to_string(), block);
        self
    }

    /// The object type a value of this schema has.
    pub fn implied_type(&self) -> Type {
        let mut attrs = BTreeMap::new();
        for (name, a) in &self.attributes {
            attrs.insert(name.clone(), ObjectAttr { ty: a.ty.clone(), optional: true, default: None });
        }
        for (name, b) in &self.blocks {
            let inner = b.body.implied_type();
            let ty = match b.nesting {
                Nesting::Single => inner,
                Nesting::List => Type::list(inner),
                Nesting::Set => Type::set(inner),
            };
            attrs.insert(name.clone(), ObjectAttr { ty, optional: true, default: None });
        }
        Type::Object(attrs)
    }

    /// Paths of attributes the schema marks sensitive (top level and nested single blocks).
    pub fn sensitive_attributes(&self) -> Vec<String> {
        self.attributes.iter().filter(|(_, a)| a.sensitive).map(|(n, _)| n.clone()).collect()
    }
}

#[derive(Debug, Clone)]
pub struct ResourceSchema {
    pub version: u64,
    pub description: &'static str,
    pub schema: Schema,
}

#[derive(Debug, Clone, Default)]
pub struct ProviderSchema {
    pub provider: Schema,
    pub resources: BTreeMap<String, ResourceSchema>,
    pub data_sources: BTreeMap<String, ResourceSchema>,
}

/// Reading the schemas `terraform providers schema -json` prints: a
/// provider's schemas kept as data are served exactly as Terraform has them.
pub mod terraform_json {
    use super::*;
    use serde_json::Value as Json;

    /// A `block` object: `attributes` and `block_types`.
    pub fn block(json: &Json) -> Result<Schema, String> {
        let mut schema = Schema::new();
        for (name, attr) in json.get("attributes").and_then(Json::as_object).into_iter().flatten() {
            let flag = |key: &str| attr.get(key).and_then(Json::as_bool).unwrap_or(false);
            if attr.get("nested_type").is_some() {
                return Err(format!("attribute {name}: nested attribute types are not read yet"));
            }
            let ty = cty_type(attr.get("type").ok_or_else(|| format!("attribute {name} has no type"))?).map_err(|e| format!("attribute {name}: {e}"))?;
            let a = AttributeSchema {
                required: flag("required"),
                optional: flag("optional"),
                computed: flag("computed"),
                sensitive: flag("sensitive"),
                deprecated: flag("deprecated"),
                ..AttributeSchema::new(ty)
            };
            schema.attributes.insert(name.clone(), a);
        }
        for (name, b) in json.get("block_types").and_then(Json::as_object).into_iter().flatten() {
            let nesting = match b.get("nesting_mode").and_then(Json::as_str) {
                Some("single") => Nesting::Single,
                Some("list") => Nesting::List,
                Some("set") => Nesting::Set,
                other => return Err(format!("block {name}: nesting mode {other:?} is not read yet")),
            };
            let count = |key: &str| b.get(key).and_then(Json::as_u64).map(|n| n as usize);
            let body = block(b.get("block").ok_or_else(|| format!("block {name} has no body"))?).map_err(|e| format!("{name}.{e}"))?;
            let block = BlockSchema { nesting, min_items: count("min_items").unwrap_or(0), max_items: count("max_items"), force_new: false, body };
            schema.blocks.insert(name.clone(), block);
        }
        Ok(schema)
    }

    /// A cty type in its JSON form: `"string"`, `["list", T]`, `["object", {..}]`.
    pub fn cty_type(json: &Json) -> Result<Type, String> {
        match json {
            Json::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Any),
                other => Err(format!("unknown type {other:?}")),
            },
            Json::Array(parts) => match (parts.first().and_then(Json::as_str), parts.get(1)) {
                (Some("list"), Some(t)) => Ok(Type::list(cty_type(t)?)),
                (Some("set"), Some(t)) => Ok(Type::set(cty_type(t)?)),
                (Some("map"), Some(t)) => Ok(Type::map(cty_type(t)?)),
                (Some("tuple"), Some(Json::Array(ts))) => Ok(Type::Tuple(ts.iter().map(cty_type).collect::<Result<_, _>>()?)),
                (Some("object"), Some(Json::Object(attrs))) => {
                    let optional: Vec<&str> = parts.get(2).and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str).collect();
                    let mut out = BTreeMap::new();
                    for (name, t) in attrs {
                        out.insert(name.clone(), ObjectAttr { ty: cty_type(t)?, optional: optional.contains(&name.as_str()), default: None });
                    }
                    Ok(Type::Object(out))
                }
                _ => Err(format!("unknown type {json}")),
            },
            other => Err(format!("unknown type {other}")),
        }
    }
}

/// Where two schemas differ, one line per attribute or block: name, type,
/// flags and nesting. Descriptions and `force_new` (which Terraform's schema
/// does not carry) are not compared.
pub fn differences(want: &Schema, have: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    differences_at("", want, have, false, &mut out);
    out
}

/// `differences`, for a schema that declares part of `want`: what it
/// declares must be as `want` has it; what it leaves out is not a difference.
pub fn differences_within(want: &Schema, part: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    differences_at("", want, part, true, &mut out);
    out
}

fn differences_at(prefix: &str, want: &Schema, have: &Schema, part: bool, out: &mut Vec<String>) {
    let flags = |a: &AttributeSchema| (a.ty.clone(), a.required, a.optional, a.computed, a.sensitive, a.deprecated);
    let names: std::collections::BTreeSet<&String> = want.attributes.keys().chain(have.attributes.keys()).collect();
    for name in names {
        match (want.attributes.get(name), have.attributes.get(name)) {
            (Some(w), Some(h)) if flags(w) != flags(h) => out.push(format!(
                "{prefix}{name}: want {} (required {}, optional {}, computed {}, sensitive {}, deprecated {}), have {} ({}, {}, {}, {}, {})",
                w.ty, w.required, w.optional, w.computed, w.sensitive, w.deprecated, h.ty, h.required, h.optional, h.computed, h.sensitive, h.deprecated
            )),
            (Some(_), None) if !part => out.push(format!("{prefix}{name}: attribute missing")),
            (None, Some(_)) => out.push(format!("{prefix}{name}: attribute not in the schema")),
            _ => {}
        }
    }
    let names: std::collections::BTreeSet<&String> = want.blocks.keys().chain(have.blocks.keys()).collect();
    for name in names {
        match (want.blocks.get(name), have.blocks.get(name)) {
            (Some(w), Some(h)) => {
                let shape = |b: &BlockSchema| (b.nesting, b.min_items, b.max_items);
                if shape(w) != shape(h) {
                    out.push(format!("{prefix}{name}: want block {:?}, have {:?}", shape(w), shape(h)));
                }
                differences_at(&format!("{prefix}{name}."), &w.body, &h.body, part, out);
            }
            (Some(_), None) if !part => out.push(format!("{prefix}{name}: block missing")),
            (None, Some(_)) => out.push(format!("{prefix}{name}: block not in the schema")),
            _ => {}
        }
    }
}
