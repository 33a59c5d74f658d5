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
    /// A change to this attribute replaces the object.
    pub force_new: bool,
    pub description: &'static str,
}

impl AttributeSchema {
    fn new(ty: Type) -> AttributeSchema {
        AttributeSchema { ty, required: false, optional: false, computed: false, sensitive: false, force_new: false, description: "" }
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
    pub fn sensitive(mut self) -> AttributeSchema {
        self.sensitive = true;
        self
    }
    pub fn describe(mut self, text: &'static str) -> AttributeSchema {
        self.description = text;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
