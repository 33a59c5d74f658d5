//! The local provider: resources that live on this machine or only in state —
//! `null_resource`, `terraform_data`, `random_*`, `local_file`, `time_sleep` — with
//! the Terraform providers' type and attribute names, so the same `.tf` runs under both.

mod resources;

use std::collections::BTreeMap;

use async_trait::async_trait;
use terrane_core::{Type, Value};
use terrane_provider::{
    plan_with_schema, AttrError, AttributeSchema as A, PlanRequest, PlanResponse, Provider, ProviderError,
    ProviderSchema, ResourceSchema, Schema,
};

/// Provider sources served by this crate.
pub const SOURCES: &[&str] = &[
    "hashicorp/null",
    "hashicorp/random",
    "hashicorp/local",
    "hashicorp/time",
    "terraform.io/builtin/terraform",
    "hashicorp/terraform",
];

pub struct LocalProvider {
    schema: ProviderSchema,
}

impl Default for LocalProvider {
    fn default() -> Self {
        LocalProvider::new()
    }
}

fn resource(schema: Schema, description: &'static str) -> ResourceSchema {
    ResourceSchema { version: 0, description, schema }
}

fn random_string_schema(sensitive_result: bool) -> Schema {
    let flag = || A::optional_computed(Type::Bool).force_new();
    let count = || A::optional_computed(Type::Number).force_new();
    let result = A::computed(Type::String);
    Schema::new()
        .attr("length", A::required(Type::Number).force_new())
        .attr("special", flag())
        .attr("upper", flag())
        .attr("lower", flag())
        .attr("numeric", flag())
        .attr("min_special", count())
        .attr("min_upper", count())
        .attr("min_lower", count())
        .attr("min_numeric", count())
        .attr("override_special", A::optional(Type::String).force_new())
        .attr("keepers", A::optional(Type::map(Type::String)).force_new())
        .attr("result", if sensitive_result { result.sensitive() } else { result })
        .attr("id", A::computed(Type::String))
}

fn local_file_schema(sensitive_content: bool) -> Schema {
    let content = A::optional(Type::String);
    Schema::new()
        .attr("filename", A::required(Type::String).force_new())
        .attr("content", if sensitive_content { content.sensitive() } else { content })
        .attr("file_permission", A::optional_computed(Type::String))
        .attr("directory_permission", A::optional_computed(Type::String))
        .attr("id", A::computed(Type::String))
        .attr("content_md5", A::computed(Type::String))
        .attr("content_sha1", A::computed(Type::String))
        .attr("content_sha256", A::computed(Type::String))
}

impl LocalProvider {
    pub fn new() -> LocalProvider {
        let mut resources = BTreeMap::new();
        resources.insert(
            "null_resource".into(),
            resource(
                Schema::new()
                    .attr("triggers", A::optional(Type::map(Type::String)).force_new())
                    .attr("id", A::computed(Type::String)),
                "does nothing; replaced when its triggers change",
            ),
        );
        resources.insert(
            "terraform_data".into(),
            resource(
                Schema::new()
                    .attr("input", A::optional(Type::Any))
                    .attr("output", A::computed(Type::Any))
                    .attr("triggers_replace", A::optional(Type::Any).force_new())
                    .attr("id", A::computed(Type::String)),
                "stores a value; replaced when triggers_replace changes",
            ),
        );
        resources.insert(
            "random_id".into(),
            resource(
                Schema::new()
                    .attr("byte_length", A::required(Type::Number).force_new())
                    .attr("prefix", A::optional(Type::String).force_new())
                    .attr("keepers", A::optional(Type::map(Type::String)).force_new())
                    .attr("id", A::computed(Type::String))
                    .attr("b64_std", A::computed(Type::String))
                    .attr("b64_url", A::computed(Type::String))
                    .attr("hex", A::computed(Type::String))
                    .attr("dec", A::computed(Type::String)),
                "random bytes in several encodings",
            ),
        );
        resources.insert("random_string".into(), resource(random_string_schema(false), "a random string"));
        resources.insert("random_password".into(), resource(random_string_schema(true), "a random string kept secret"));
        resources.insert("local_file".into(), resource(local_file_schema(false), "a file on this machine"));
        resources.insert(
            "local_sensitive_file".into(),
            resource(local_file_schema(true), "a file on this machine whose content is secret"),
        );
        resources.insert(
            "time_sleep".into(),
            resource(
                Schema::new()
                    .attr("create_duration", A::optional(Type::String))
                    .attr("destroy_duration", A::optional(Type::String))
                    .attr("triggers", A::optional(Type::map(Type::String)).force_new())
                    .attr("id", A::computed(Type::String)),
                "waits on create and destroy",
            ),
        );
        let mut data_sources = BTreeMap::new();
        data_sources.insert(
            "local_file".into(),
            resource(
                Schema::new()
                    .attr("filename", A::required(Type::String))
                    .attr("content", A::computed(Type::String))
                    .attr("content_base64", A::computed(Type::String))
                    .attr("content_sha256", A::computed(Type::String))
                    .attr("id", A::computed(Type::String)),
                "reads a file",
            ),
        );
        LocalProvider { schema: ProviderSchema { provider: Schema::new(), resources, data_sources } }
    }

    fn resource_schema(&self, type_name: &str) -> Result<&Schema, ProviderError> {
        self.schema
            .resources
            .get(type_name)
            .map(|r| &r.schema)
            .ok_or_else(|| ProviderError::UnknownType { kind: "resource", name: type_name.into() })
    }
}

#[async_trait]
impl Provider for LocalProvider {
    fn schema(&self) -> &ProviderSchema {
        &self.schema
    }

    async fn configure(&self, _config: Value) -> Result<(), ProviderError> {
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<AttrError> {
        resources::validate(type_name, config)
    }

    fn plan(&self, req: PlanRequest<'_>) -> Result<PlanResponse, ProviderError> {
        let schema = self.resource_schema(req.type_name)?;
        let mut req = req;
        req.proposed = resources::with_defaults(req.type_name, req.proposed);
        let mut resp = plan_with_schema(schema, &req);
        resources::refine_plan(req.type_name, &mut resp);
        Ok(resp)
    }

    async fn create(&self, type_name: &str, planned: Value, _token: &str) -> Result<Value, ProviderError> {
        resources::create(type_name, planned).await
    }

    async fn read(&self, type_name: &str, objects: Vec<Value>) -> Result<Vec<Option<Value>>, ProviderError> {
        let mut out = Vec::with_capacity(objects.len());
        for object in objects {
            out.push(resources::read(type_name, object)?);
        }
        Ok(out)
    }

    async fn update(&self, type_name: &str, prior: Value, planned: Value) -> Result<Value, ProviderError> {
        resources::update(type_name, prior, planned).await
    }

    async fn delete(&self, type_name: &str, prior: Value) -> Result<(), ProviderError> {
        resources::delete(type_name, prior).await
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        resources::import(type_name, id)
    }

    async fn read_data(&self, type_name: &str, config: Value) -> Result<Value, ProviderError> {
        resources::read_data(type_name, config)
    }

    async fn find_by_token(&self, type_name: &str, planned: Value, _token: &str) -> Result<Option<Value>, ProviderError> {
        // Only files exist outside state; a file with the planned content is the one we made.
        match type_name {
            "local_file" | "local_sensitive_file" => {
                let found = resources::read(type_name, planned.clone())?;
                Ok(found.filter(|f| f.get("content") == planned.get("content")))
            }
            _ => Ok(None),
        }
    }
}
