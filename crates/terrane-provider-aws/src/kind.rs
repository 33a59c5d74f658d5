//! What every AWS resource and data source type implements.

use async_trait::async_trait;
use terrane_core::Value;
use terrane_provider::{AttrError, PlanRequest, ProviderError, Schema};

use crate::client::Aws;

#[async_trait]
pub trait ResourceKind: Send + Sync {
    fn supported(&self) -> Schema;

    /// Checks AWS would make anyway, made at plan time so they point at the source.
    fn validate(&self, _config: &Value) -> Vec<AttrError> {
        Vec::new()
    }

    /// Values AWS gives optional attributes the configuration leaves out.
    fn defaults(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }

    /// Blocks Terraform's provider computes: left out of the configuration,
    /// they are what AWS has (as stored, or unknown until the object exists)
    /// rather than none.
    fn computed_blocks(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether a configured value means the same as the one in state though
    /// it is written differently; the state's value is then kept and no
    /// change is planned.
    fn equivalent(&self, _attr: &str, _prior: &Value, _configured: &Value) -> bool {
        false
    }

    /// Adjusts the generic plan: computed values known early, or attributes
    /// whose change makes others unknown.
    fn refine_plan(&self, _req: &PlanRequest<'_>, _planned: &mut terrane_core::ValueMap<Value>) {}

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError>;

    /// Reads many objects at once; `None` for each one AWS no longer has.
    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError>;

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError>;

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError>;

    /// The object an interrupted create left behind, found by its token.
    async fn find_by_token(&self, _aws: &Aws, _planned: &Value, _token: &str) -> Result<Option<Value>, ProviderError> {
        Ok(None)
    }

    /// What `read` needs to find an object by the id a user gives to import.
    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        Ok(Value::map([("id", Value::string(id))]))
    }
}

#[async_trait]
pub trait DataKind: Send + Sync {
    fn supported(&self) -> Schema;
    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError>;
}
