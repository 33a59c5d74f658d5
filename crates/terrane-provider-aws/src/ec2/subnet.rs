//! `aws_subnet`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType};
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, ProviderError, Schema};

use super::vpc::{ignore_not_found, not_found, retry_dependency, tags_schema};
use super::{by_values, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{boolean, check_cidr, string, Obj};
use crate::client::{retry_new, Aws, TOKEN_TAG};
use crate::kind::ResourceKind;

pub struct Subnet;

#[async_trait]
impl ResourceKind for Subnet {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("vpc_id", A::required(Type::String).force_new())
                .attr("cidr_block", A::optional(Type::String).force_new())
                .attr("availability_zone", A::optional_computed(Type::String).force_new())
                .attr("map_public_ip_on_launch", A::optional(Type::Bool))
                .attr("arn", A::computed(Type::String))
                .attr("owner_id", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        crate::attrs::require(config, "cidr_block", "terrane does not support IPv6-only subnets yet", &mut errors);
        check_cidr(config, "cidr_block", 16, 28, &mut errors);
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("map_public_ip_on_launch", Value::Bool(false))]
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .create_subnet()
            .set_vpc_id(string(planned, "vpc_id"))
            .set_cidr_block(string(planned, "cidr_block"))
            .set_availability_zone(string(planned, "availability_zone"))
            .set_tag_specifications(tag_spec(aws, ResourceType::Subnet, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.subnet().and_then(|s| s.subnet_id()).unwrap_or_default().to_string();
        if boolean(planned, "map_public_ip_on_launch") == Some(true) {
            retry_new(|| set_public_ip(aws, &id, true)).await?;
        }
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        retry_new(|| read_one(aws, &stub)).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let sets = by_values("subnet-id", &ids(objects));
        Ok(in_order(objects, describe(aws, sets, objects).await?))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        if let Some(want) = boolean(planned, "map_public_ip_on_launch") {
            if boolean(prior, "map_public_ip_on_launch") != Some(want) {
                set_public_ip(aws, &id, want).await?;
            }
        }
        update_tags(aws, &id, prior, planned).await?;
        read_one(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        retry_dependency(|| async {
            aws.ec2.delete_subnet().subnet_id(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        })
        .await
        .or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let sets = vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]];
        Ok(describe(aws, sets, std::slice::from_ref(planned)).await?.into_values().next())
    }
}

async fn set_public_ip(aws: &Aws, id: &str, on: bool) -> Result<(), ProviderError> {
    aws.ec2
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws.error("ec2", e))
}

async fn read_one(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let mut found = describe(aws, vec![vec![filter("subnet-id", [id.clone()])]], std::slice::from_ref(object)).await?;
    found.remove(&id).ok_or_else(|| not_found("subnet", &id))
}

async fn describe(aws: &Aws, filter_sets: Vec<Vec<Filter>>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let subnets = each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_subnets().set_filters(Some(filters)).into_paginator().items().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await?;
    let mut out = BTreeMap::new();
    for subnet in subnets {
        let id = subnet.subnet_id().unwrap_or_default().to_string();
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("arn", subnet.subnet_arn())
            .s("vpc_id", subnet.vpc_id())
            .s("cidr_block", subnet.cidr_block())
            .s("availability_zone", subnet.availability_zone())
            .s("availability_zone_id", subnet.availability_zone_id())
            .b("map_public_ip_on_launch", subnet.map_public_ip_on_launch())
            .s("owner_id", subnet.owner_id());
        out.insert(id.clone(), with_ec2_tags(obj, aws, subnet.tags(), prior_for(priors, &id)).build());
    }
    Ok(out.into_iter().collect())
}
