//! The provider interface: schemas, the `Provider` trait every adapter implements,
//! and the planning helpers that give all providers Terraform's plan semantics.

pub mod schema;

use async_trait::async_trait;
use terrane_core::{AttrPath, Value};

pub use schema::{AttributeSchema, BlockSchema, Nesting, ProviderSchema, ResourceSchema, Schema};

/// A problem with one attribute of a configuration, found by a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrError {
    pub path: AttrPath,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{0}")]
    Invalid(String),
    #[error("unknown {kind} type {name:?}")]
    UnknownType { kind: &'static str, name: String },
    #[error("{service} error {code}: {message}")]
    Api { service: String, code: String, message: String },
    #[error("credentials rejected ({source_name}): {message}")]
    Credentials { source_name: String, message: String },
    #[error("{0}")]
    Io(String),
}

/// What a provider decided for one resource instance at plan time.
#[derive(Debug, Clone)]
pub struct PlanResponse {
    /// The state expected after apply, with `Value::Unknown` where only apply knows.
    pub planned: Value,
    /// Attributes whose change cannot be made in place.
    pub requires_replace: Vec<AttrPath>,
}

#[derive(Debug, Clone)]
pub struct PlanRequest<'a> {
    pub type_name: &'a str,
    /// The current object, or `None` when it is to be created.
    pub prior: Option<&'a Value>,
    /// The configuration, decoded against the schema (unknowns where not yet known).
    pub config: &'a Value,
    /// The configuration merged with the prior state's computed values.
    pub proposed: Value,
}

/// A provider adapter. Plan is pure; everything that touches the outside world is async.
#[async_trait]
pub trait Provider: Send + Sync {
    fn schema(&self) -> &ProviderSchema;

    /// Takes the provider block's configuration before any other call.
    async fn configure(&self, config: Value) -> Result<(), ProviderError>;

    /// Provider-specific checks of a decoded configuration (the schema's own checks,
    /// types and required attributes, are done by the engine before this).
    fn validate(&self, type_name: &str, config: &Value) -> Vec<AttrError>;

    /// `validate` for a data source's configuration.
    fn validate_data(&self, _type_name: &str, _config: &Value) -> Vec<AttrError> {
        Vec::new()
    }

    fn plan(&self, req: PlanRequest<'_>) -> Result<PlanResponse, ProviderError>;

    /// Creates the object. `token` is unique to this create and stable across
    /// retries, so an interrupted create can be found again with `find_by_token`.
    async fn create(&self, type_name: &str, planned: Value, token: &str) -> Result<Value, ProviderError>;

    /// Reads many objects of one type at once. Each answer is the object's current
    /// state, or `None` when it no longer exists.
    async fn read(&self, type_name: &str, objects: Vec<Value>) -> Result<Vec<Option<Value>>, ProviderError>;

    async fn update(&self, type_name: &str, prior: Value, planned: Value) -> Result<Value, ProviderError>;

    async fn delete(&self, type_name: &str, prior: Value) -> Result<(), ProviderError>;

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError>;

    async fn read_data(&self, type_name: &str, config: Value) -> Result<Value, ProviderError>;

    /// Called when an apply has recorded all it did: a provider whose
    /// idempotency tokens stay on objects (a tag) takes them off here.
    async fn finish_apply(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Finds an object whose create was interrupted, by its idempotency token.
    async fn find_by_token(&self, type_name: &str, planned: Value, token: &str) -> Result<Option<Value>, ProviderError>;

    /// How long after an interrupted create `find_by_token` may still miss its
    /// object: a remote API may not have finished the create, or list it yet.
    /// Local objects appear at once.
    fn creation_settles_within(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Terraform's "proposed new state": configuration values, with computed
/// attributes the configuration leaves null taken from the prior state.
pub fn proposed_new(schema: &Schema, prior: Option<&Value>, config: &Value) -> Value {
    let mut out = terrane_core::ValueMap::new();
    for (name, attr) in &schema.attributes {
        let configured = config.get(name).cloned().unwrap_or(Value::Null);
        let value = if configured.is_null() && attr.computed {
            prior.and_then(|p| p.get(name)).cloned().unwrap_or(Value::Null)
        } else {
            configured
        };
        out.insert(name.clone(), value);
    }
    for (name, block) in &schema.blocks {
        let configured = config.get(name).cloned().unwrap_or(Value::Null);
        let (prior_block, prior_items) = prior_blocks(prior, name);
        // A marked (sensitive) block value is taken whole, marks and all.
        let value = match (block.nesting, &configured) {
            (Nesting::Single, c @ Value::Map(_)) => proposed_new(&block.body, prior_block.filter(|p| matches!(p, Value::Map(_))), c),
            (Nesting::List, Value::List(items)) => {
                Value::List(items.iter().enumerate().map(|(i, c)| proposed_new(&block.body, prior_items.get(i), c)).collect())
            }
            // A set's members have no position: each takes the computed values
            // of the prior member that agrees with everything it configures.
            (Nesting::Set, Value::Set(items)) => Value::set(
                items.iter().map(|c| proposed_new(&block.body, prior_items.iter().find(|p| agrees_with_config(&block.body, p, c)), c)).collect(),
            ),
            _ => configured,
        };
        out.insert(name.clone(), value);
    }
    Value::Map(out)
}

/// A prior object's block `name`: the value, and its members when it is a list or set.
fn prior_blocks<'a>(prior: Option<&'a Value>, name: &str) -> (Option<&'a Value>, &'a [Value]) {
    let block = prior.and_then(|p| p.get(name)).map(Value::unmarked);
    match block {
        Some(Value::List(items) | Value::Set(items)) => (block, items),
        _ => (block, &[]),
    }
}

/// Whether a prior block could be the one `config` describes: every value the
/// configuration sets is the prior one.
fn agrees_with_config(schema: &Schema, prior: &Value, config: &Value) -> bool {
    let attrs_agree = schema.attributes.keys().all(|name| {
        let configured = config.get(name).unwrap_or(&Value::Null);
        configured.is_null() || prior.get(name).is_some_and(|p| same_value(p.unmarked(), configured.unmarked()))
    });
    attrs_agree
        && schema.blocks.iter().all(|(name, block)| {
            let (Some(c), Some(p)) = (config.get(name), prior.get(name)) else { return config.get(name).is_none_or(Value::is_null) };
            match (c.unmarked(), p.unmarked()) {
                (Value::Map(_), Value::Map(_)) => agrees_with_config(&block.body, p, c),
                (Value::List(cs) | Value::Set(cs), Value::List(ps) | Value::Set(ps)) => {
                    cs.len() == ps.len() && cs.iter().all(|c| ps.iter().any(|p| agrees_with_config(&block.body, p, c)))
                }
                (c, p) => same_value(c, p),
            }
        })
}

/// The plan every simple resource wants: replace when a `force_new` attribute
/// changes, and computed attributes unknown on create (or replace) unless the
/// configuration sets them.
pub fn plan_with_schema(schema: &Schema, req: &PlanRequest<'_>) -> PlanResponse {
    let mut requires_replace = Vec::new();
    if let Some(prior) = req.prior {
        for (name, attr) in &schema.attributes {
            if attr.force_new {
                let before = prior.get(name).unwrap_or(&Value::Null);
                let after = req.proposed.get(name).unwrap_or(&Value::Null);
                if !same_value(before, after) {
                    requires_replace.push(vec![terrane_core::PathStep::Attr(name.clone())]);
                }
            }
        }
        for (name, block) in &schema.blocks {
            if block.force_new {
                let before = prior.get(name).unwrap_or(&Value::Null);
                let after = req.proposed.get(name).unwrap_or(&Value::Null);
                if !same_value(before, after) {
                    requires_replace.push(vec![terrane_core::PathStep::Attr(name.clone())]);
                }
            }
        }
    }
    let creating = req.prior.is_none() || !requires_replace.is_empty();
    let mut planned = match &req.proposed {
        Value::Map(m) => m.clone(),
        _ => Default::default(),
    };
    for (name, attr) in &schema.attributes {
        let configured = req.config.get(name).is_some_and(|v| !v.is_null());
        if !attr.computed || configured {
            continue;
        }
        let proposed_null = planned.get(name).is_none_or(Value::is_null);
        // On create, attributes only the provider sets are unknown; optional ones
        // keep a default the provider filled in. On update the proposed value is
        // the prior one, null included: a provider that changes it says so itself.
        if creating && (proposed_null || !attr.optional) {
            planned.insert(name.clone(), Value::Unknown);
        }
    }
    let mut planned = Value::Map(planned);
    unknown_new_nested_computed(schema, &mut planned, if creating { None } else { req.prior });
    PlanResponse { planned, requires_replace }
}

/// Computed attributes inside blocks are unknown where the block is new:
/// `proposed_new` gave blocks that were there before their prior values.
fn unknown_new_nested_computed(schema: &Schema, value: &mut Value, prior: Option<&Value>) {
    let Value::Map(fields) = value else { return };
    for (name, block) in &schema.blocks {
        let (prior_block, prior_items) = prior_blocks(prior, name);
        match fields.get_mut(name) {
            Some(element @ Value::Map(_)) => {
                let prior_element = prior_block.filter(|p| matches!(p, Value::Map(_)));
                unknown_new_element_computed(&block.body, element, prior_element);
            }
            Some(Value::List(items)) => {
                for (i, element) in items.iter_mut().enumerate() {
                    unknown_new_element_computed(&block.body, element, prior_items.get(i));
                }
            }
            Some(Value::Set(items)) => {
                let mut members = std::mem::take(items);
                for element in &mut members {
                    let prior_element = prior_items.iter().find(|p| agrees_with_config(&block.body, p, element));
                    unknown_new_element_computed(&block.body, element, prior_element);
                }
                *fields.get_mut(name).expect("the set is there") = Value::set(members);
            }
            _ => {}
        }
    }
}

fn unknown_new_element_computed(schema: &Schema, element: &mut Value, prior: Option<&Value>) {
    if prior.is_none() {
        if let Value::Map(fields) = element {
            for (name, attr) in &schema.attributes {
                if attr.computed && fields.get(name).is_none_or(Value::is_null) {
                    fields.insert(name.clone(), Value::Unknown);
                }
            }
        }
    }
    unknown_new_nested_computed(schema, element, prior);
}

/// Equality for planning: null and empty collections differ, unknown differs from all.
pub fn same_value(a: &Value, b: &Value) -> bool {
    a == b || (a.is_null() && b.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use terrane_core::Type;

    fn rules_schema() -> Schema {
        let rule = Schema::new().attr("name", AttributeSchema::required(Type::String)).attr("flag", AttributeSchema::optional_computed(Type::Bool));
        Schema::new().block("rule", BlockSchema { nesting: Nesting::Set, min_items: 0, max_items: None, force_new: false, body: rule })
    }

    fn rule(name: &str, flag: Value) -> Value {
        Value::map([("name", Value::string(name)), ("flag", flag)])
    }

    #[test]
    fn a_block_keeps_its_computed_values_and_a_new_block_gets_unknowns() {
        let schema = rules_schema();
        let prior = Value::map([("rule", Value::set(vec![rule("a", Value::Bool(false))]))]);
        let config = Value::map([("rule", Value::set(vec![rule("a", Value::Null), rule("b", Value::Null)]))]);
        let proposed = proposed_new(&schema, Some(&prior), &config);
        let req = PlanRequest { type_name: "t", prior: Some(&prior), config: &config, proposed };
        let planned = plan_with_schema(&schema, &req).planned;
        let Some(Value::Set(rules)) = planned.get("rule") else { panic!("rules planned as a set: {planned:?}") };
        let flag_of = |name: &str| rules.iter().find(|r| r.get("name") == Some(&Value::string(name))).and_then(|r| r.get("flag")).cloned();
        assert_eq!(flag_of("a"), Some(Value::Bool(false)), "the block that was there keeps its value");
        assert!(flag_of("b").is_some_and(|f| f.is_unknown()), "the new block's value is unknown: {planned:?}");
    }

    #[test]
    fn a_configured_value_in_a_block_wins_over_the_prior_one() {
        let schema = rules_schema();
        let prior = Value::map([("rule", Value::set(vec![rule("a", Value::Bool(false))]))]);
        let config = Value::map([("rule", Value::set(vec![rule("a", Value::Bool(true))]))]);
        assert_eq!(proposed_new(&schema, Some(&prior), &config), config);
    }
}
