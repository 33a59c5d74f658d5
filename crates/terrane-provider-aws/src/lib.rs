//! The AWS provider: EC2, S3, IAM and DynamoDB through the official AWS SDK for Rust, with the
//! Terraform AWS provider's type and attribute names. This is the only crate that
//! sees SDK types; the engine sees `terrane_provider::Provider`.

mod attrs;
mod client;
mod data;
mod dynamodb;
mod ec2;
mod iam;
mod kind;
mod policy;
mod s3;
pub mod schema;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use async_trait::async_trait;
use terrane_core::{Type, Value};
use terrane_provider::{
    plan_with_schema, AttrError, AttributeSchema as A, BlockSchema, Nesting, PlanRequest, PlanResponse, Provider, ProviderError,
    ProviderSchema, ResourceSchema, Schema,
};

use crate::attrs::string_map;
use crate::client::Aws;
use crate::kind::{DataKind, ResourceKind};

pub use crate::s3::check_bucket_name;

/// Provider sources served by this crate.
pub const SOURCES: &[&str] = &["hashicorp/aws"];

pub struct AwsProvider {
    /// Terraform's schemas, served whole.
    schema: ProviderSchema,
    /// The parts of them the adapters act on.
    supported: Supported,
    resources: BTreeMap<&'static str, Box<dyn ResourceKind>>,
    data_sources: BTreeMap<&'static str, Box<dyn DataKind>>,
    aws: OnceLock<Aws>,
}

struct Supported {
    provider: Schema,
    resources: BTreeMap<String, Schema>,
    data_sources: BTreeMap<String, Schema>,
}

impl Default for AwsProvider {
    fn default() -> Self {
        AwsProvider::new()
    }
}

fn provider_schema() -> Schema {
    let block = |nesting, body: Schema| BlockSchema { nesting, min_items: 0, max_items: None, force_new: false, body };
    let endpoints = ["dynamodb", "ec2", "iam", "s3", "sts"].iter().fold(Schema::new(), |s, svc| s.attr(svc, A::optional(Type::String)));
    Schema::new()
        .attr("region", A::optional(Type::String))
        .attr("profile", A::optional(Type::String))
        .attr("shared_credentials_files", A::optional(Type::list(Type::String)))
        .attr("shared_config_files", A::optional(Type::list(Type::String)))
        .attr("retry_mode", A::optional(Type::String))
        .attr("access_key", A::optional(Type::String))
        .attr("secret_key", A::optional(Type::String))
        .attr("token", A::optional(Type::String))
        .attr("max_retries", A::optional(Type::Number))
        .attr("skip_credentials_validation", A::optional(Type::Bool))
        .attr("skip_requesting_account_id", A::optional(Type::Bool))
        .attr("skip_region_validation", A::optional(Type::Bool))
        .attr("skip_metadata_api_check", A::optional(Type::String))
        .attr("s3_use_path_style", A::optional(Type::Bool))
        .block("endpoints", block(Nesting::Set, endpoints))
        .block("default_tags", block(Nesting::List, Schema::new().attr("tags", A::optional(Type::map(Type::String)))))
        .block(
            "ignore_tags",
            block(Nesting::List, Schema::new().attr("keys", A::optional(Type::set(Type::String))).attr("key_prefixes", A::optional(Type::set(Type::String)))),
        )
        .block(
            "assume_role",
            block(
                Nesting::List,
                Schema::new()
                    .attr("role_arn", A::optional(Type::String))
                    .attr("session_name", A::optional(Type::String))
                    .attr("external_id", A::optional(Type::String))
                    .attr("duration", A::optional(Type::String))
                    .attr("policy", A::optional(Type::String))
                    .attr("policy_arns", A::optional(Type::set(Type::String)))
                    .attr("tags", A::optional(Type::map(Type::String))),
            ),
        )
}

impl AwsProvider {
    pub fn new() -> AwsProvider {
        use crate::ec2::{acl, defaults, endpoint, gateway, instance, interface, launch_template, route, security_group as sg, subnet, volume, vpc};
        let resources: BTreeMap<&'static str, Box<dyn ResourceKind>> = BTreeMap::from([
            ("aws_vpc", Box::new(vpc::Vpc) as Box<dyn ResourceKind>),
            ("aws_default_vpc", Box::new(defaults::DefaultVpc)),
            ("aws_default_security_group", Box::new(defaults::DefaultSecurityGroup)),
            ("aws_default_route_table", Box::new(defaults::DefaultRouteTable)),
            ("aws_main_route_table_association", Box::new(route::MainRouteTableAssociation)),
            ("aws_network_acl", Box::new(acl::NetworkAcl)),
            ("aws_network_acl_rule", Box::new(acl::NetworkAclRule)),
            ("aws_network_interface", Box::new(interface::NetworkInterface)),
            ("aws_network_interface_attachment", Box::new(interface::NetworkInterfaceAttachment)),
            ("aws_vpc_endpoint", Box::new(endpoint::VpcEndpoint)),
            ("aws_vpc_peering_connection", Box::new(endpoint::VpcPeeringConnection)),
            ("aws_launch_template", Box::new(launch_template::LaunchTemplate)),
            ("aws_subnet", Box::new(subnet::Subnet)),
            ("aws_internet_gateway", Box::new(gateway::InternetGateway)),
            ("aws_egress_only_internet_gateway", Box::new(gateway::EgressOnlyInternetGateway)),
            ("aws_nat_gateway", Box::new(gateway::NatGateway)),
            ("aws_route_table", Box::new(route::RouteTable)),
            ("aws_route", Box::new(route::RouteEntry)),
            ("aws_route_table_association", Box::new(route::RouteTableAssociation)),
            ("aws_security_group", Box::new(sg::SecurityGroup)),
            ("aws_security_group_rule", Box::new(sg::SecurityGroupRule)),
            ("aws_vpc_security_group_ingress_rule", Box::new(sg::VpcSecurityGroupRule { egress: false })),
            ("aws_vpc_security_group_egress_rule", Box::new(sg::VpcSecurityGroupRule { egress: true })),
            ("aws_instance", Box::new(instance::Instance)),
            ("aws_eip", Box::new(instance::Eip)),
            ("aws_key_pair", Box::new(instance::KeyPair)),
            ("aws_eip_association", Box::new(instance::EipAssociation)),
            ("aws_ebs_volume", Box::new(volume::Volume)),
            ("aws_volume_attachment", Box::new(volume::VolumeAttachment)),
            ("aws_dynamodb_table", Box::new(dynamodb::Table)),
            ("aws_iam_role", Box::new(iam::Role)),
            ("aws_iam_policy", Box::new(iam::Policy)),
            ("aws_iam_role_policy", Box::new(iam::RolePolicy)),
            ("aws_iam_role_policy_attachment", Box::new(iam::RolePolicyAttachment)),
            ("aws_iam_instance_profile", Box::new(iam::InstanceProfile)),
            ("aws_s3_bucket", Box::new(s3::Bucket)),
            ("aws_s3_object", Box::new(s3::object::Object)),
            ("aws_s3_bucket_versioning", Box::new(s3::config::Setting(s3::config::Versioning))),
            ("aws_s3_bucket_policy", Box::new(s3::config::Setting(s3::config::Policy))),
            ("aws_s3_bucket_public_access_block", Box::new(s3::config::Setting(s3::config::PublicAccessBlock))),
            ("aws_s3_bucket_server_side_encryption_configuration", Box::new(s3::config::Setting(s3::config::Encryption))),
            ("aws_s3_bucket_ownership_controls", Box::new(s3::config::Setting(s3::config::Ownership))),
            ("aws_s3_bucket_acl", Box::new(s3::config::Setting(s3::config::Acl))),
            ("aws_s3_bucket_website_configuration", Box::new(s3::config::Setting(s3::config::Website))),
            ("aws_s3_bucket_lifecycle_configuration", Box::new(s3::config::Setting(s3::lifecycle::Lifecycle))),
            ("aws_s3_bucket_logging", Box::new(s3::config::Setting(s3::config::Logging))),
            ("aws_s3_bucket_cors_configuration", Box::new(s3::config::Setting(s3::config::Cors))),
            ("aws_s3_bucket_notification", Box::new(s3::config::Setting(s3::config::Notification))),
        ]);
        let data_sources: BTreeMap<&'static str, Box<dyn DataKind>> = BTreeMap::from([
            ("aws_caller_identity", Box::new(data::CallerIdentity) as Box<dyn DataKind>),
            ("aws_region", Box::new(data::Region)),
            ("aws_availability_zones", Box::new(data::AvailabilityZones)),
            ("aws_ami", Box::new(data::Ami)),
            ("aws_vpc", Box::new(data::VpcLookup)),
            ("aws_subnet", Box::new(data::SubnetLookup)),
            ("aws_availability_zone", Box::new(data::AvailabilityZone)),
            ("aws_partition", Box::new(data::Partition)),
            ("aws_iam_role", Box::new(iam::RoleLookup)),
            ("aws_iam_policy", Box::new(iam::PolicyLookup)),
            ("aws_instance", Box::new(ec2::lookup::InstanceLookup)),
            ("aws_instances", Box::new(ec2::lookup::InstancesLookup)),
            ("aws_route_table", Box::new(ec2::lookup::RouteTableLookup)),
            ("aws_internet_gateway", Box::new(data::InternetGatewayLookup)),
            ("aws_security_groups", Box::new(data::SecurityGroupsLookup)),
            ("aws_s3_bucket", Box::new(data::BucketLookup)),
            ("aws_subnets", Box::new(data::Subnets)),
            ("aws_security_group", Box::new(data::SecurityGroupLookup)),
            ("aws_iam_policy_document", Box::new(data::PolicyDocument)),
        ]);
        let recorded = schema::recorded();
        let serve = |name: &str, kind_schema: Schema, recorded: &BTreeMap<String, ResourceSchema>| -> (String, ResourceSchema, Schema) {
            let theirs = recorded.get(name).unwrap_or_else(|| panic!("{name} is in schema/hashicorp-aws.json (scripts/oracle-aws-schema)"));
            let served = ResourceSchema { version: theirs.version, description: "", schema: schema::served(&theirs.schema, &kind_schema) };
            (name.to_string(), served, kind_schema)
        };
        let resource_schemas: Vec<_> = resources.iter().map(|(name, k)| serve(name, k.supported(), &recorded.resources)).collect();
        let data_schemas: Vec<_> = data_sources.iter().map(|(name, k)| serve(name, k.supported(), &recorded.data_sources)).collect();
        let schema = ProviderSchema {
            provider: schema::served(&recorded.provider, &provider_schema()),
            resources: resource_schemas.iter().map(|(name, served, _)| (name.clone(), served.clone())).collect(),
            data_sources: data_schemas.iter().map(|(name, served, _)| (name.clone(), served.clone())).collect(),
        };
        let supported = Supported {
            provider: provider_schema(),
            resources: resource_schemas.into_iter().map(|(name, _, declared)| (name, declared)).collect(),
            data_sources: data_schemas.into_iter().map(|(name, _, declared)| (name, declared)).collect(),
        };
        AwsProvider { schema, supported, resources, data_sources, aws: OnceLock::new() }
    }

    /// What each resource type's adapter acts on (the tests compare it with Terraform's schema).
    pub fn supported_resources(&self) -> &BTreeMap<String, Schema> {
        &self.supported.resources
    }

    pub fn supported_data_sources(&self) -> &BTreeMap<String, Schema> {
        &self.supported.data_sources
    }

    pub fn supported_provider(&self) -> &Schema {
        &self.supported.provider
    }

    fn kind(&self, type_name: &str) -> Result<&dyn ResourceKind, ProviderError> {
        self.resources
            .get(type_name)
            .map(|k| k.as_ref())
            .ok_or_else(|| ProviderError::UnknownType { kind: "resource", name: type_name.into() })
    }

    /// An adapter's object in the served schema's shape (`schema::conform`).
    fn conform(&self, type_name: &str, object: Value, prior: Option<&Value>) -> Value {
        match (self.schema.resources.get(type_name), self.supported.resources.get(type_name)) {
            (Some(served), Some(supported)) => schema::conform(&served.schema, supported, object, prior),
            _ => object,
        }
    }

    fn aws(&self) -> Result<&Aws, ProviderError> {
        self.aws.get().ok_or_else(|| ProviderError::Invalid("the aws provider was used before it was configured".into()))
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn schema(&self) -> &ProviderSchema {
        &self.schema
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        if self.aws.get().is_some() {
            return Ok(());
        }
        if let Some(refused) = schema::unsupported(&self.schema.provider, &self.supported.provider, &config).first() {
            return Err(ProviderError::Invalid(format!("provider \"aws\": {}", refused.message)));
        }
        let aws = Aws::connect(&config).await?;
        let _ = self.aws.set(aws);
        Ok(())
    }

    fn validate(&self, type_name: &str, config: &Value) -> Vec<AttrError> {
        let (Ok(kind), Some(served), Some(supported)) =
            (self.kind(type_name), self.schema.resources.get(type_name), self.supported.resources.get(type_name))
        else {
            return Vec::new();
        };
        let mut errors = schema::unsupported(&served.schema, supported, config);
        errors.extend(kind.validate(config));
        errors
    }

    fn validate_data(&self, type_name: &str, config: &Value) -> Vec<AttrError> {
        match (self.schema.data_sources.get(type_name), self.supported.data_sources.get(type_name)) {
            (Some(served), Some(supported)) => schema::unsupported(&served.schema, supported, config),
            _ => Vec::new(),
        }
    }

    fn plan(&self, req: PlanRequest<'_>) -> Result<PlanResponse, ProviderError> {
        let kind = self.kind(req.type_name)?;
        let schema = &self.schema.resources[req.type_name].schema;
        let supported = &self.supported.resources[req.type_name];
        let mut req = req;
        if let Value::Map(proposed) = &mut req.proposed {
            for (name, default) in kind.defaults() {
                if proposed.get(name).is_none_or(Value::is_null) {
                    proposed.insert(name.to_string(), default);
                }
            }
            for name in kind.computed_blocks() {
                if attrs::blocks(req.config, name).is_empty() {
                    proposed.insert(name.to_string(), req.prior.and_then(|p| p.get(name)).cloned().unwrap_or(Value::Unknown));
                }
            }
            // What the adapter does not act on cannot be configured: it stays as stored.
            for (name, block) in &schema.blocks {
                if !supported.blocks.contains_key(name) {
                    let kept = req.prior.and_then(|p| p.get(name)).cloned().unwrap_or_else(|| schema::no_blocks(block.nesting));
                    proposed.insert(name.clone(), kept);
                }
            }
            if let Some(prior) = req.prior {
                for name in schema.attributes.keys() {
                    let left_out = req.config.get(name).is_none_or(Value::is_null);
                    let stored = prior.get(name).unwrap_or(&Value::Null);
                    if left_out && !supported.attributes.contains_key(name) {
                        proposed.insert(name.clone(), stored.clone());
                    }
                }
                schema::keep_zeros_left_out(schema, req.config, prior, proposed);
            }
        }
        if let (Some(prior), Value::Map(proposed)) = (req.prior, &mut req.proposed) {
            for (name, value) in proposed.iter_mut() {
                if let Some(before) = prior.get(name).filter(|before| *before != value && kind.equivalent(name, before, value)) {
                    *value = before.clone();
                }
            }
        }
        let mut resp = plan_with_schema(schema, &req);
        if let Value::Map(planned) = &mut resp.planned {
            kind.refine_plan(&req, planned);
            if schema.attributes.contains_key("tags_all") {
                // Default tags are known once the provider is configured.
                let tags = req.config.get("tags").cloned().unwrap_or(Value::Null);
                let all = match self.aws.get() {
                    Some(aws) if tags.is_wholly_known() => attrs::map_value(&aws.tags_all(&string_map(req.config, "tags"))),
                    _ => Value::Unknown,
                };
                planned.insert("tags_all".into(), all);
            }
        }
        Ok(resp)
    }

    async fn create(&self, type_name: &str, planned: Value, token: &str) -> Result<Value, ProviderError> {
        let created = self.kind(type_name)?.create(self.aws()?, &planned, token).await?;
        Ok(self.conform(type_name, created, None))
    }

    async fn read(&self, type_name: &str, objects: Vec<Value>) -> Result<Vec<Option<Value>>, ProviderError> {
        let found = self.kind(type_name)?.read(self.aws()?, &objects).await?;
        Ok(found.into_iter().zip(&objects).map(|(found, prior)| found.map(|f| self.conform(type_name, f, Some(prior)))).collect())
    }

    async fn update(&self, type_name: &str, prior: Value, planned: Value) -> Result<Value, ProviderError> {
        let updated = self.kind(type_name)?.update(self.aws()?, &prior, &planned).await?;
        Ok(self.conform(type_name, updated, Some(&prior)))
    }

    async fn delete(&self, type_name: &str, prior: Value) -> Result<(), ProviderError> {
        self.kind(type_name)?.delete(self.aws()?, &prior).await
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Value, ProviderError> {
        let kind = self.kind(type_name)?;
        let stub = kind.import_stub(id)?;
        match kind.read(self.aws()?, std::slice::from_ref(&stub)).await?.pop().flatten() {
            Some(found) => Ok(self.conform(type_name, found, None)),
            None => Err(ProviderError::Invalid(format!("cannot import {type_name} {id:?}: no such object exists"))),
        }
    }

    async fn read_data(&self, type_name: &str, config: Value) -> Result<Value, ProviderError> {
        let kind = self
            .data_sources
            .get(type_name)
            .ok_or_else(|| ProviderError::UnknownType { kind: "data source", name: type_name.into() })?;
        let read = kind.read(self.aws()?, &config).await?;
        Ok(match (self.schema.data_sources.get(type_name), self.supported.data_sources.get(type_name)) {
            (Some(served), Some(supported)) => schema::conform(&served.schema, supported, read, Some(&config)),
            _ => read,
        })
    }

    /// A create may still be on its way to AWS when the client dies, and
    /// Describe calls list new objects only after a while: 60 s, or
    /// `TERRANE_RECOVERY_WINDOW` seconds.
    fn creation_settles_within(&self) -> std::time::Duration {
        let seconds = std::env::var("TERRANE_RECOVERY_WINDOW").ok().and_then(|s| s.parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0);
        std::time::Duration::from_secs_f64(seconds.unwrap_or(60.0))
    }

    /// Every object this run read with its create token on (each one it made,
    /// and any an earlier run died before untagging) is in state now: the
    /// tokens come off, in batches.
    async fn finish_apply(&self) -> Result<(), ProviderError> {
        let Some(aws) = self.aws.get() else { return Ok(()) };
        ec2::untag_token(aws, &aws.take_tokened()).await
    }

    async fn find_by_token(&self, type_name: &str, planned: Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let found = self.kind(type_name)?.find_by_token(self.aws()?, &planned, token).await?;
        Ok(found.map(|f| self.conform(type_name, f, None)))
    }
}
