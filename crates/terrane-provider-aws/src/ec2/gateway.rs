//! `aws_internet_gateway`, `aws_egress_only_internet_gateway` and `aws_nat_gateway`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType};
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, ProviderError, Schema};

use super::vpc::{ignore_not_found, not_found, retry_dependency, tags_schema};
use super::{by_values, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{string, Obj};
use crate::client::{retry_new, Aws, TOKEN_TAG};
use crate::kind::ResourceKind;

pub struct InternetGateway;

#[async_trait]
impl ResourceKind for InternetGateway {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("vpc_id", A::optional_computed(Type::String))
                .attr("arn", A::computed(Type::String))
                .attr("owner_id", A::computed(Type::String)),
        )
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .create_internet_gateway()
            .set_tag_specifications(tag_spec(aws, ResourceType::InternetGateway, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.internet_gateway().and_then(|g| g.internet_gateway_id()).unwrap_or_default().to_string();
        if let Some(vpc) = string(planned, "vpc_id") {
            retry_new(|| attach(aws, &id, &vpc)).await?;
        }
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        retry_new(|| read_one(aws, &stub)).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let sets = by_values("internet-gateway-id", &ids(objects));
        Ok(in_order(objects, describe(aws, sets, objects).await?))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let (before, after) = (string(prior, "vpc_id"), string(planned, "vpc_id"));
        if before != after {
            if let Some(vpc) = before {
                detach(aws, &id, &vpc).await?;
            }
            if let Some(vpc) = after {
                attach(aws, &id, &vpc).await?;
            }
        }
        update_tags(aws, &id, prior, planned).await?;
        read_one(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        if let Some(vpc) = string(prior, "vpc_id") {
            detach(aws, &id, &vpc).await.or_else(ignore_not_found)?;
        }
        retry_dependency(|| async {
            aws.ec2.delete_internet_gateway().internet_gateway_id(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        })
        .await
        .or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let sets = vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]];
        Ok(describe(aws, sets, std::slice::from_ref(planned)).await?.into_values().next())
    }
}

async fn attach(aws: &Aws, id: &str, vpc: &str) -> Result<(), ProviderError> {
    aws.ec2.attach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
}

async fn detach(aws: &Aws, id: &str, vpc: &str) -> Result<(), ProviderError> {
    // A gateway with public addresses mapped through it detaches once they are released.
    retry_dependency(|| async {
        aws.ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
    })
    .await
}

async fn read_one(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let mut found = describe(aws, vec![vec![filter("internet-gateway-id", [id.clone()])]], std::slice::from_ref(object)).await?;
    found.remove(&id).ok_or_else(|| not_found("internet gateway", &id))
}

async fn describe(aws: &Aws, filter_sets: Vec<Vec<Filter>>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let gateways = each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_internet_gateways().set_filters(Some(filters)).into_paginator().items().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await?;
    let mut out = BTreeMap::new();
    for gateway in gateways {
        let id = gateway.internet_gateway_id().unwrap_or_default().to_string();
        let vpc = gateway.attachments().iter().find_map(|a| a.vpc_id());
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("arn", Some(&aws.owned_arn("ec2", gateway.owner_id(), &format!("internet-gateway/{id}"))))
            .s("vpc_id", vpc)
            .s("owner_id", gateway.owner_id());
        out.insert(id.clone(), with_ec2_tags(obj, aws, gateway.tags(), prior_for(priors, &id)).build());
    }
    Ok(out.into_iter().collect())
}

/// `aws_egress_only_internet_gateway`: IPv6 traffic out of a VPC, none in.
pub struct EgressOnlyInternetGateway;

#[async_trait]
impl ResourceKind for EgressOnlyInternetGateway {
    fn supported(&self) -> Schema {
        tags_schema(Schema::new().attr("vpc_id", A::required(Type::String).force_new()))
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .create_egress_only_internet_gateway()
            .client_token(token)
            .set_vpc_id(string(planned, "vpc_id"))
            .set_tag_specifications(tag_spec(aws, ResourceType::EgressOnlyInternetGateway, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.egress_only_internet_gateway().and_then(|g| g.egress_only_internet_gateway_id()).unwrap_or_default().to_string();
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        retry_new(|| async {
            let mut found = describe_egress_only(aws, vec![id.clone()], std::slice::from_ref(&stub)).await?;
            found.remove(&id).ok_or_else(|| not_found("egress-only internet gateway", &id))
        })
        .await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        Ok(in_order(objects, describe_egress_only(aws, ids(objects), objects).await?))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        update_tags(aws, &id, prior, planned).await?;
        let mut found = describe_egress_only(aws, vec![id.clone()], std::slice::from_ref(planned)).await?;
        found.remove(&id).ok_or_else(|| not_found("egress-only internet gateway", &id))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let call = aws.ec2.delete_egress_only_internet_gateway().egress_only_internet_gateway_id(&id);
        call.send().await.map(|_| ()).map_err(|e| aws.error("ec2", e)).or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let out = aws
            .ec2
            .describe_egress_only_internet_gateways()
            .filters(filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()]))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let Some(id) = out.egress_only_internet_gateways().first().and_then(|g| g.egress_only_internet_gateway_id()) else { return Ok(None) };
        Ok(describe_egress_only(aws, vec![id.to_string()], std::slice::from_ref(planned)).await?.into_values().next())
    }
}

/// The gateways with these ids, keyed by id; an id that no longer exists is
/// left out (EC2 has no id filter for them).
async fn describe_egress_only(aws: &Aws, wanted: Vec<String>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let gateways = super::each_id_chunk(&wanted, |ids| async move {
        let out = aws.ec2.describe_egress_only_internet_gateways().set_egress_only_internet_gateway_ids(Some(ids)).send().await;
        out.map(|o| o.egress_only_internet_gateways().to_vec()).map_err(|e| aws.error("ec2", e))
    })
    .await?;
    let mut found = BTreeMap::new();
    for gateway in &gateways {
        let id = gateway.egress_only_internet_gateway_id().unwrap_or_default().to_string();
        let attached = gateway.attachments().iter().any(|a| a.state().is_some_and(|s| s.as_str() != "detached"));
        if !attached {
            continue;
        }
        let obj = Obj::new().s("id", Some(&id)).s("vpc_id", gateway.attachments().iter().find_map(|a| a.vpc_id()));
        found.insert(id.clone(), with_ec2_tags(obj, aws, gateway.tags(), prior_for(priors, &id)).build());
    }
    Ok(found.into_iter().collect())
}

/// `aws_nat_gateway`: a public or private NAT gateway in a subnet.
pub struct NatGateway;

#[async_trait]
impl ResourceKind for NatGateway {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("subnet_id", A::required(Type::String).force_new())
                .attr("allocation_id", A::optional(Type::String).force_new())
                .attr("connectivity_type", A::optional(Type::String).force_new())
                .attr("private_ip", A::optional_computed(Type::String).force_new())
                .attr("association_id", A::computed(Type::String))
                .attr("network_interface_id", A::computed(Type::String))
                .attr("public_ip", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        match string(config, "connectivity_type") {
            Some(kind) if kind != "public" && kind != "private" => {
                vec![crate::attrs::attr_err("connectivity_type", format!("connectivity_type must be \"public\" or \"private\", got {kind:?}"))]
            }
            _ => Vec::new(),
        }
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("connectivity_type", Value::string("public"))]
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .create_nat_gateway()
            .client_token(token)
            .set_subnet_id(string(planned, "subnet_id"))
            .set_allocation_id(string(planned, "allocation_id"))
            .set_connectivity_type(string(planned, "connectivity_type").map(|c| aws_sdk_ec2::types::ConnectivityType::from(c.as_str())))
            .set_private_ip_address(string(planned, "private_ip"))
            .set_tag_specifications(tag_spec(aws, ResourceType::Natgateway, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.nat_gateway().and_then(|g| g.nat_gateway_id()).unwrap_or_default().to_string();
        wait_nat(aws, &Obj::from(planned).s("id", Some(&id)).build(), |s| s != "pending").await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        Ok(in_order(objects, describe_nat(aws, by_values("nat-gateway-id", &ids(objects)), objects).await?))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        update_tags(aws, &id, prior, planned).await?;
        wait_nat(aws, &Obj::from(planned).s("id", Some(&id)).build(), |_| true).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        if let Err(e) = aws.ec2.delete_nat_gateway().nat_gateway_id(&id).send().await.map_err(|e| aws.error("ec2", e)) {
            return ignore_not_found(e);
        }
        // Its interface and address are released only once it is deleted.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
        while tokio::time::Instant::now() < deadline {
            if describe_nat(aws, vec![vec![filter("nat-gateway-id", [id.clone()])]], std::slice::from_ref(prior)).await?.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        Err(ProviderError::Invalid(format!("NAT gateway {id} was still being deleted after 10 minutes")))
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let sets = vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]];
        Ok(describe_nat(aws, sets, std::slice::from_ref(planned)).await?.into_values().next())
    }
}

async fn wait_nat(aws: &Aws, object: &Value, done: impl Fn(&str) -> bool) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let out = retry_new(|| async { aws.ec2.describe_nat_gateways().nat_gateway_ids(&id).send().await.map_err(|e| aws.error("ec2", e)) }).await?;
        let state = out.nat_gateways().first().and_then(|g| g.state()).map(|s| s.as_str().to_string()).unwrap_or_default();
        if state == "failed" {
            let why = out.nat_gateways().first().and_then(|g| g.failure_message()).unwrap_or("no reason given").to_string();
            return Err(ProviderError::Invalid(format!("NAT gateway {id} failed: {why}")));
        }
        if done(&state) || tokio::time::Instant::now() > deadline {
            let mut found = describe_nat(aws, vec![vec![filter("nat-gateway-id", [id.clone()])]], std::slice::from_ref(object)).await?;
            return found.remove(&id).ok_or_else(|| not_found("NAT gateway", &id));
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// NAT gateways matching each filter set, keyed by id; deleted ones are gone.
async fn describe_nat(aws: &Aws, filter_sets: Vec<Vec<Filter>>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let gateways = each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_nat_gateways().set_filter(Some(filters)).into_paginator().items().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await?;
    let mut out = BTreeMap::new();
    for gateway in gateways.iter().filter(|g| g.state().is_none_or(|s| !matches!(s.as_str(), "deleted" | "deleting"))) {
        let id = gateway.nat_gateway_id().unwrap_or_default().to_string();
        let primary = gateway.nat_gateway_addresses().iter().find(|a| a.is_primary() != Some(false));
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("subnet_id", gateway.subnet_id())
            .s("connectivity_type", gateway.connectivity_type().map(|c| c.as_str()))
            .s("allocation_id", primary.and_then(|a| a.allocation_id()))
            .s("association_id", Some(primary.and_then(|a| a.association_id()).unwrap_or_default()))
            .s("network_interface_id", primary.and_then(|a| a.network_interface_id()))
            .s("private_ip", primary.and_then(|a| a.private_ip()))
            .s("public_ip", Some(primary.and_then(|a| a.public_ip()).unwrap_or_default()));
        out.insert(id.clone(), with_ec2_tags(obj, aws, gateway.tags(), prior_for(priors, &id)).build());
    }
    Ok(out.into_iter().collect())
}
