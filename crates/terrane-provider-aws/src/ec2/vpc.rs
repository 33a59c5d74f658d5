//! `aws_vpc`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, Tenancy, VpcAttributeName};
use futures_util::{StreamExt as _, TryStreamExt as _};
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, ProviderError, Schema};

use super::{by_values, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{boolean, check_cidr, string, Obj};
use crate::client::{retry_new, Aws, TOKEN_TAG};
use crate::kind::ResourceKind;

/// Per-object calls (VPC attributes have no batch form) run this many at a time.
const ATTRIBUTE_READS_AT_ONCE: usize = 16;

pub struct Vpc;

pub fn tags_schema(schema: Schema) -> Schema {
    schema.attr("tags", A::optional(Type::map(Type::String))).attr("tags_all", A::optional_computed(Type::map(Type::String)))
}

#[async_trait]
impl ResourceKind for Vpc {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("cidr_block", A::optional_computed(Type::String).force_new())
                .attr("instance_tenancy", A::optional(Type::String).force_new())
                .attr("enable_dns_support", A::optional(Type::Bool))
                .attr("enable_dns_hostnames", A::optional_computed(Type::Bool))
                .attr("arn", A::computed(Type::String))
                .attr("owner_id", A::computed(Type::String))
                .attr("dhcp_options_id", A::computed(Type::String))
                .attr("main_route_table_id", A::computed(Type::String))
                .attr("default_route_table_id", A::computed(Type::String))
                .attr("default_security_group_id", A::computed(Type::String))
                .attr("default_network_acl_id", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        crate::attrs::require(config, "cidr_block", "terrane does not support IPAM pools (ipv4_ipam_pool_id) yet", &mut errors);
        check_cidr(config, "cidr_block", 16, 28, &mut errors);
        if let Some(t) = string(config, "instance_tenancy") {
            if !matches!(t.as_str(), "default" | "dedicated") {
                errors.push(crate::attrs::attr_err("instance_tenancy", format!("instance_tenancy must be \"default\" or \"dedicated\", got {t:?}")));
            }
        }
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("instance_tenancy", Value::string("default")),
            ("enable_dns_support", Value::Bool(true)),
            ("enable_dns_hostnames", Value::Bool(false)),
        ]
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .create_vpc()
            .set_cidr_block(string(planned, "cidr_block"))
            .set_instance_tenancy(string(planned, "instance_tenancy").map(|t| Tenancy::from(t.as_str())))
            .set_tag_specifications(tag_spec(aws, ResourceType::Vpc, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.vpc().and_then(|v| v.vpc_id()).unwrap_or_default().to_string();
        set_dns_attributes(aws, &id, &Value::Null, planned, true).await?;
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        retry_new(|| async { read_one(aws, &stub).await }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let found = describe(aws, filter_ids(ids(objects)), objects).await?;
        Ok(in_order(objects, found))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        set_dns_attributes(aws, &id, prior, planned, false).await?;
        update_tags(aws, &id, prior, planned).await?;
        read_one(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        // Dependencies AWS releases late (an instance's interface) make the VPC busy for a while.
        retry_dependency(|| async {
            aws.ec2.delete_vpc().vpc_id(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        })
        .await
        .or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let found = describe(aws, vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]], std::slice::from_ref(planned)).await?;
        Ok(found.into_values().next())
    }
}

pub(super) fn filter_ids(ids: Vec<String>) -> Vec<Vec<Filter>> {
    by_values("vpc-id", &ids)
}

pub fn ignore_not_found(e: ProviderError) -> Result<(), ProviderError> {
    if crate::client::is_not_found(&e) {
        Ok(())
    } else {
        Err(e)
    }
}

/// Retries a delete that AWS refuses while something it depends on is still going away.
pub async fn retry_dependency<F, Fut>(mut call: F) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ProviderError>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(300);
    let mut delay = std::time::Duration::from_millis(500);
    loop {
        match call().await {
            Err(ProviderError::Api { code, .. }) if code == "DependencyViolation" && tokio::time::Instant::now() + delay < deadline => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(10));
            }
            other => return other,
        }
    }
}

async fn read_one(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let mut found = describe(aws, filter_ids(vec![id.clone()]), std::slice::from_ref(object)).await?;
    found.remove(&id).ok_or_else(|| not_found("vpc", &id))
}

pub fn not_found(what: &str, id: &str) -> ProviderError {
    ProviderError::Api { service: "ec2".into(), code: "NotFound".into(), message: format!("{what} {id} does not exist") }
}

pub(super) async fn set_dns_attributes(aws: &Aws, id: &str, prior: &Value, planned: &Value, creating: bool) -> Result<(), ProviderError> {
    // AWS takes one attribute per call.
    for (name, default) in [("enable_dns_support", true), ("enable_dns_hostnames", false)] {
        let Some(want) = boolean(planned, name) else { continue };
        let have = if creating { Some(default) } else { boolean(prior, name) };
        if have == Some(want) {
            continue;
        }
        let value = AttributeBooleanValue::builder().value(want).build();
        retry_new(|| async {
            let call = aws.ec2.modify_vpc_attribute().vpc_id(id);
            let call = if name == "enable_dns_support" { call.enable_dns_support(value.clone()) } else { call.enable_dns_hostnames(value.clone()) };
            call.send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        })
        .await?;
    }
    Ok(())
}

/// Describes VPCs matching each filter set, with the per-VPC facts Terraform's
/// `aws_vpc` shows, keyed by id.
pub(super) async fn describe(aws: &Aws, filter_sets: Vec<Vec<Filter>>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let vpcs = each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_vpcs().set_filters(Some(filters)).into_paginator().items().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await?;
    let found_ids: Vec<String> = vpcs.iter().filter_map(|v| v.vpc_id()).map(str::to_string).collect();
    let dns = futures_util::stream::iter(found_ids.clone())
        .map(|id| async move {
            let support = vpc_attribute(aws, &id, VpcAttributeName::EnableDnsSupport).await?;
            let hostnames = vpc_attribute(aws, &id, VpcAttributeName::EnableDnsHostnames).await?;
            Ok::<_, ProviderError>((id, (support, hostnames)))
        })
        .buffer_unordered(ATTRIBUTE_READS_AT_ONCE)
        .try_collect::<BTreeMap<_, _>>();
    let (main_tables, default_groups, default_acls, dns) = tokio::try_join!(
        main_route_tables(aws, &found_ids),
        default_security_groups(aws, &found_ids),
        default_network_acls(aws, &found_ids),
        dns
    )?;
    let mut out = BTreeMap::new();
    for vpc in vpcs {
        let id = vpc.vpc_id().unwrap_or_default().to_string();
        let prior = prior_for(priors, &id);
        let (support, hostnames) = dns.get(&id).copied().unwrap_or((None, None));
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("arn", Some(&aws.owned_arn("ec2", vpc.owner_id(), &format!("vpc/{id}"))))
            .s("cidr_block", vpc.cidr_block())
            .s("instance_tenancy", vpc.instance_tenancy().map(|t| t.as_str()))
            .b("enable_dns_support", support)
            .b("enable_dns_hostnames", hostnames)
            .s("owner_id", vpc.owner_id())
            .s("dhcp_options_id", vpc.dhcp_options_id())
            .s("main_route_table_id", main_tables.get(&id).map(String::as_str))
            .s("default_route_table_id", main_tables.get(&id).map(String::as_str))
            .s("default_security_group_id", default_groups.get(&id).map(String::as_str))
            .s("default_network_acl_id", default_acls.get(&id).map(String::as_str));
        out.insert(id, with_ec2_tags(obj, aws, vpc.tags(), prior).build());
    }
    Ok(out.into_iter().collect())
}

async fn vpc_attribute(aws: &Aws, id: &str, name: VpcAttributeName) -> Result<Option<bool>, ProviderError> {
    let out = aws.ec2.describe_vpc_attribute().vpc_id(id).attribute(name.clone()).send().await.map_err(|e| aws.error("ec2", e))?;
    let value = if name == VpcAttributeName::EnableDnsSupport { out.enable_dns_support() } else { out.enable_dns_hostnames() };
    Ok(value.and_then(|v| v.value()))
}

/// vpc id -> its main route table.
async fn main_route_tables(aws: &Aws, vpc_ids: &[String]) -> Result<BTreeMap<String, String>, ProviderError> {
    let sets = with_filter(by_values("vpc-id", vpc_ids), filter("association.main", ["true".to_string()]));
    let tables = super::route::describe_tables(aws, sets).await?;
    Ok(tables.iter().filter_map(|t| Some((t.vpc_id()?.to_string(), t.route_table_id()?.to_string()))).collect())
}

/// vpc id -> its default security group.
async fn default_security_groups(aws: &Aws, vpc_ids: &[String]) -> Result<BTreeMap<String, String>, ProviderError> {
    let sets = with_filter(by_values("vpc-id", vpc_ids), filter("group-name", ["default".to_string()]));
    let groups = super::security_group::describe_groups(aws, sets).await?;
    Ok(groups.iter().filter_map(|g| Some((g.vpc_id()?.to_string(), g.group_id()?.to_string()))).collect())
}

/// vpc id -> its default network ACL.
async fn default_network_acls(aws: &Aws, vpc_ids: &[String]) -> Result<BTreeMap<String, String>, ProviderError> {
    let sets = with_filter(by_values("vpc-id", vpc_ids), filter("default", ["true".to_string()]));
    let acls = super::acl::describe_acls(aws, sets).await?;
    Ok(acls.iter().filter_map(|a| Some((a.vpc_id()?.to_string(), a.network_acl_id()?.to_string()))).collect())
}

pub(super) fn with_filter(sets: Vec<Vec<Filter>>, extra: Filter) -> Vec<Vec<Filter>> {
    sets.into_iter()
        .map(|mut set| {
            set.push(extra.clone());
            set
        })
        .collect()
}
