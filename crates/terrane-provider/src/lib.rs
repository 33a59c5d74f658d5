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

    /// Finds an object whose create was interrupted, by its idempotency token.
    async fn find_by_token(&self, type_name: &str, planned: Value, token: &str) -> Result<Option<Value>, ProviderError>;
}

/// Terraform's "proposed new state": configuration values, with computed
/// attributes the configuration leaves null taken from the prior state.
pub fn proposed_new(schema: &Schema, prior: Option<&Value>, config: &Value) -> Value {
    let mut out = std::collections::BTreeMap::new();
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
        let _ = block;
        out.insert(name.clone(), configured);
    }
    Value::Map(out)
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
    PlanResponse { planned: Value::Map(planned), requires_replace }
}

/// Equality for planning: null and empty collections differ, unknown differs from all.
pub fn same_value(a: &Value, b: &Value) -> bool {
    a == b || (a.is_null() && b.is_null())
}
