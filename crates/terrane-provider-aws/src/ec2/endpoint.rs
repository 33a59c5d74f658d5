//! `aws_vpc_endpoint` and `aws_vpc_peering_connection`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    PeeringConnectionOptionsRequest, ResourceType, VpcEndpoint as AwsEndpoint, VpcEndpointType, VpcPeeringConnection as AwsPeering,
};
use terrane_core::types::ObjectAttr;
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, BlockSchema, Nesting, PlanRequest, ProviderError, Schema};

use super::vpc::{not_found, tags_schema};
use super::{each_id_chunk, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{attr_err, blocks, boolean, string, string_list, string_set, strings, Obj};
use crate::client::{retry_new, Aws, TOKEN_TAG};
use crate::kind::ResourceKind;

/// How long an endpoint or peering may take to settle.
const SETTLE: Duration = Duration::from_secs(600);

pub struct VpcEndpoint;

#[async_trait]
impl ResourceKind for VpcEndpoint {
    fn supported(&self) -> Schema {
        let entry = ["dns_name", "hosted_zone_id"].iter().map(|f| (f.to_string(), ObjectAttr::required(Type::String))).collect();
        let dns_entry = Type::list(Type::Object(entry));
        tags_schema(
            Schema::new()
                .attr("vpc_id", A::required(Type::String).force_new())
                .attr("service_name", A::optional(Type::String).force_new())
                .attr("vpc_endpoint_type", A::optional(Type::String).force_new())
                .attr("route_table_ids", A::optional_computed(Type::set(Type::String)))
                .attr("subnet_ids", A::optional_computed(Type::set(Type::String)))
                .attr("security_group_ids", A::optional_computed(Type::set(Type::String)))
                .attr("policy", A::optional_computed(Type::String))
                .attr("private_dns_enabled", A::optional_computed(Type::Bool))
                .attr("auto_accept", A::optional(Type::Bool))
                .attr("arn", A::computed(Type::String))
                .attr("cidr_blocks", A::computed(Type::list(Type::String)))
                .attr("dns_entry", A::computed(dns_entry))
                .attr("network_interface_ids", A::computed(Type::set(Type::String)))
                .attr("owner_id", A::computed(Type::String))
                .attr("prefix_list_id", A::computed(Type::String))
                .attr("requester_managed", A::computed(Type::Bool))
                .attr("state", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        crate::attrs::require(config, "service_name", "terrane does not support resource or service-network endpoints yet", &mut errors);
        if let Some(kind) = string(config, "vpc_endpoint_type").filter(|t| !matches!(t.as_str(), "Gateway" | "Interface" | "GatewayLoadBalancer")) {
            errors.push(attr_err("vpc_endpoint_type", format!("vpc_endpoint_type must be Gateway, Interface or GatewayLoadBalancer, got {kind:?}")));
        }
        crate::policy::check(config, "policy", &mut errors);
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("vpc_endpoint_type", Value::string("Gateway"))]
    }

    fn equivalent(&self, attr: &str, prior: &Value, configured: &Value) -> bool {
        attr == "policy" && crate::policy::equivalent_values(prior, configured)
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let list = |name: &str| Some(strings(planned, name)).filter(|l| !l.is_empty());
        let out = aws
            .ec2
            .create_vpc_endpoint()
            .client_token(token)
            .set_vpc_id(string(planned, "vpc_id"))
            .set_service_name(string(planned, "service_name"))
            .set_vpc_endpoint_type(string(planned, "vpc_endpoint_type").map(|t| VpcEndpointType::from(t.as_str())))
            .set_route_table_ids(list("route_table_ids"))
            .set_subnet_ids(list("subnet_ids"))
            .set_security_group_ids(list("security_group_ids"))
            .set_policy_document(string(planned, "policy"))
            .set_private_dns_enabled(boolean(planned, "private_dns_enabled"))
            .set_tag_specifications(tag_spec(aws, ResourceType::VpcEndpoint, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.vpc_endpoint().and_then(|e| e.vpc_endpoint_id()).unwrap_or_default().to_string();
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        wait_endpoint(aws, &stub, |s| !matches!(s, "pending" | "pendingAcceptance")).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let found = describe_endpoints(aws, Lookup::Ids(ids(objects)), objects).await?;
        Ok(in_order(objects, found))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let change = |name: &str| {
            let (before, after) = (strings(prior, name), strings(planned, name));
            let known = planned.get(name).is_some_and(Value::is_wholly_known);
            let added: Vec<String> = after.iter().filter(|v| !before.contains(v)).cloned().collect();
            let removed: Vec<String> = before.iter().filter(|v| !after.contains(v)).cloned().collect();
            if known { (Some(added).filter(|a| !a.is_empty()), Some(removed).filter(|r| !r.is_empty())) } else { (None, None) }
        };
        let (add_tables, remove_tables) = change("route_table_ids");
        let (add_subnets, remove_subnets) = change("subnet_ids");
        let (add_groups, remove_groups) = change("security_group_ids");
        let policy = string(planned, "policy").filter(|p| Some(p) != string(prior, "policy").as_ref());
        let dns = boolean(planned, "private_dns_enabled").filter(|d| Some(*d) != boolean(prior, "private_dns_enabled"));
        let anything = [&add_tables, &remove_tables, &add_subnets, &remove_subnets, &add_groups, &remove_groups].iter().any(|c| c.is_some());
        if anything || policy.is_some() || dns.is_some() {
            aws.ec2
                .modify_vpc_endpoint()
                .vpc_endpoint_id(&id)
                .set_add_route_table_ids(add_tables)
                .set_remove_route_table_ids(remove_tables)
                .set_add_subnet_ids(add_subnets)
                .set_remove_subnet_ids(remove_subnets)
                .set_add_security_group_ids(add_groups)
                .set_remove_security_group_ids(remove_groups)
                .set_policy_document(policy)
                .set_private_dns_enabled(dns)
                .send()
                .await
                .map_err(|e| aws.error("ec2", e))?;
        }
        update_tags(aws, &id, prior, planned).await?;
        wait_endpoint(aws, &Obj::from(planned).s("id", Some(&id)).build(), |s| !matches!(s, "pending" | "pendingAcceptance")).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        aws.ec2.delete_vpc_endpoints().vpc_endpoint_ids(&id).send().await.map_err(|e| aws.error("ec2", e))?;
        // Gone once AWS no longer lists it (or lists it as deleted).
        let deadline = tokio::time::Instant::now() + SETTLE;
        while tokio::time::Instant::now() < deadline {
            if describe_endpoints(aws, Lookup::Ids(vec![id.clone()]), std::slice::from_ref(prior)).await?.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err(ProviderError::Invalid(format!("vpc endpoint {id} was not deleted after {} s", SETTLE.as_secs())))
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        Ok(describe_endpoints(aws, Lookup::Token(token), std::slice::from_ref(planned)).await?.into_values().next())
    }
}

/// Waits until the endpoint's state passes `done`, then gives it.
async fn wait_endpoint(aws: &Aws, object: &Value, done: impl Fn(&str) -> bool) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let found = retry_new(|| async {
            let mut found = describe_endpoints(aws, Lookup::Ids(vec![id.clone()]), std::slice::from_ref(object)).await?;
            found.remove(&id).ok_or_else(|| not_found("vpc endpoint", &id))
        })
        .await?;
        let state = string(&found, "state").unwrap_or_default();
        if done(&state) || tokio::time::Instant::now() > deadline {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Which objects a describe is for: these ids, or the one a create token marks.
enum Lookup<'a> {
    Ids(Vec<String>),
    Token(&'a str),
}

fn carries_token(tags: &[aws_sdk_ec2::types::Tag], token: &str) -> bool {
    tags.iter().any(|t| t.key() == Some(TOKEN_TAG) && t.value() == Some(token))
}

async fn describe_endpoints(aws: &Aws, lookup: Lookup<'_>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let endpoints: Vec<AwsEndpoint> = match lookup {
        // moto has no filter by endpoint id.
        Lookup::Ids(ids) => {
            each_id_chunk(&ids, |chunk| async move {
                let out = aws.ec2.describe_vpc_endpoints().set_vpc_endpoint_ids(Some(chunk)).send().await;
                out.map(|o| o.vpc_endpoints().to_vec()).map_err(|e| aws.error("ec2", e))
            })
            .await?
        }
        Lookup::Token(token) => {
            let filters = vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]];
            let found = each_set(filters, |filters| async move {
                let pages: Vec<_> = aws.ec2.describe_vpc_endpoints().set_filters(Some(filters)).into_paginator().items().send().collect().await;
                pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
            })
            .await?;
            found.into_iter().filter(|e| carries_token(e.tags(), token)).collect()
        }
    };
    // A gateway endpoint's routes go to its service's prefix list.
    let services: Vec<String> = endpoints
        .iter()
        .filter(|e| e.vpc_endpoint_type().is_some_and(|t| *t == VpcEndpointType::Gateway))
        .filter_map(|e| e.service_name().map(str::to_string))
        .collect();
    let prefix_lists = if services.is_empty() {
        BTreeMap::new()
    } else {
        let out = aws.ec2.describe_prefix_lists().filters(filter("prefix-list-name", services)).send().await.map_err(|e| aws.error("ec2", e))?;
        out.prefix_lists().iter().filter_map(|p| Some((p.prefix_list_name()?.to_string(), (p.prefix_list_id()?.to_string(), p.cidrs().to_vec())))).collect()
    };
    let mut out = BTreeMap::new();
    for endpoint in endpoints {
        let id = endpoint.vpc_endpoint_id().unwrap_or_default().to_string();
        let prior = prior_for(priors, &id);
        let state = endpoint.state().map(|s| s.as_str().to_string()).unwrap_or_default();
        if state == "deleted" {
            continue;
        }
        let prefix_list = endpoint.service_name().and_then(|s| prefix_lists.get(s));
        let dns_entries: Vec<Value> = endpoint
            .dns_entries()
            .iter()
            .map(|d| Obj::new().s("dns_name", Some(d.dns_name().unwrap_or_default())).s("hosted_zone_id", Some(d.hosted_zone_id().unwrap_or_default())).build())
            .collect();
        let policy = endpoint.policy_document().map(|p| crate::policy::sorted_or_prior(string(prior, "policy"), p));
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("arn", Some(&aws.owned_arn("ec2", endpoint.owner_id(), &format!("vpc-endpoint/{id}"))))
            .s("vpc_id", endpoint.vpc_id())
            .s("service_name", endpoint.service_name())
            .s("vpc_endpoint_type", endpoint.vpc_endpoint_type().map(|t| t.as_str()))
            .set("route_table_ids", string_set(endpoint.route_table_ids()))
            .set("subnet_ids", string_set(endpoint.subnet_ids()))
            .set("security_group_ids", string_set(endpoint.groups().iter().filter_map(|g| g.group_id())))
            .s("policy", Some(policy.as_deref().unwrap_or_default()))
            .b("private_dns_enabled", Some(endpoint.private_dns_enabled().unwrap_or(false)))
            .set("auto_accept", prior.get("auto_accept").cloned().unwrap_or(Value::Null))
            .set("cidr_blocks", string_list(prefix_list.map(|(_, cidrs)| cidrs.clone()).unwrap_or_default()))
            .set("dns_entry", Value::List(dns_entries))
            .set("network_interface_ids", string_set(endpoint.network_interface_ids()))
            .s("owner_id", endpoint.owner_id())
            .s("prefix_list_id", Some(prefix_list.map(|(id, _)| id.as_str()).unwrap_or_default()))
            .b("requester_managed", Some(endpoint.requester_managed().unwrap_or(false)))
            .s("state", Some(&state))
            // What terrane does not configure yet, as Terraform stores it unset.
            .s("ip_address_type", Some(endpoint.ip_address_type().map(|t| t.as_str()).unwrap_or_default()))
            .s("resource_configuration_arn", Some(""))
            .s("service_network_arn", Some(""))
            .s("service_region", Some(""));
        out.insert(id.clone(), with_ec2_tags(obj, aws, endpoint.tags(), prior).build());
    }
    Ok(out.into_iter().collect())
}

/// `aws_vpc_peering_connection`: two VPCs routed to each other, accepted
/// right away when `auto_accept` (same account and region).
pub struct VpcPeeringConnection;

fn options_block() -> BlockSchema {
    let body = Schema::new().attr("allow_remote_vpc_dns_resolution", A::optional(Type::Bool));
    crate::schema::nested(Nesting::List, Some(1), body)
}

/// Statuses of a peering that is gone.
const GONE: &[&str] = &["deleted", "rejected", "failed", "expired", "deleting"];

#[async_trait]
impl ResourceKind for VpcPeeringConnection {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("vpc_id", A::required(Type::String).force_new())
                .attr("peer_vpc_id", A::required(Type::String).force_new())
                .attr("peer_owner_id", A::optional_computed(Type::String).force_new())
                .attr("peer_region", A::optional_computed(Type::String).force_new())
                .attr("auto_accept", A::optional(Type::Bool))
                .attr("accept_status", A::computed(Type::String)),
        )
        .block("accepter", options_block())
        .block("requester", options_block())
    }

    /// Left out, the DNS options are what AWS reports once the peering is active.
    fn computed_blocks(&self) -> &'static [&'static str] {
        &["accepter", "requester"]
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        if boolean(req.config, "auto_accept") == Some(true) && req.prior.is_some_and(|p| string(p, "accept_status").as_deref() != Some("active")) {
            planned.insert("accept_status".into(), Value::Unknown);
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .create_vpc_peering_connection()
            .set_vpc_id(string(planned, "vpc_id"))
            .set_peer_vpc_id(string(planned, "peer_vpc_id"))
            .set_peer_owner_id(string(planned, "peer_owner_id"))
            .set_peer_region(string(planned, "peer_region"))
            .set_tag_specifications(tag_spec(aws, ResourceType::VpcPeeringConnection, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.vpc_peering_connection().and_then(|p| p.vpc_peering_connection_id()).unwrap_or_default().to_string();
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        let current = wait_peering(aws, &stub, |s| s != "initiating-request" && s != "provisioning").await?;
        settle(aws, &id, &current, planned).await?;
        wait_peering(aws, &stub, |s| s != "provisioning").await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let found = describe_peerings(aws, Lookup::Ids(ids(objects)), objects).await?;
        Ok(in_order(objects, found))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        settle(aws, &id, prior, planned).await?;
        update_tags(aws, &id, prior, planned).await?;
        wait_peering(aws, &Obj::from(planned).s("id", Some(&id)).build(), |s| s != "provisioning").await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        match aws.ec2.delete_vpc_peering_connection().vpc_peering_connection_id(&id).send().await.map_err(|e| aws.error("ec2", e)) {
            Err(e) if crate::client::is_not_found(&e) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        Ok(describe_peerings(aws, Lookup::Token(token), std::slice::from_ref(planned)).await?.into_values().next())
    }
}

/// Accepts the peering when asked to and it waits for acceptance, then sets
/// the configured DNS options that differ from `current`'s.
async fn settle(aws: &Aws, id: &str, current: &Value, planned: &Value) -> Result<(), ProviderError> {
    if boolean(planned, "auto_accept") == Some(true) && string(current, "accept_status").as_deref() == Some("pending-acceptance") {
        aws.ec2.accept_vpc_peering_connection().vpc_peering_connection_id(id).send().await.map_err(|e| aws.error("ec2", e))?;
    }
    let option = |side: &str| {
        let wanted = blocks(planned, side).first().and_then(|b| boolean(b, "allow_remote_vpc_dns_resolution"));
        let have = blocks(current, side).first().and_then(|b| boolean(b, "allow_remote_vpc_dns_resolution"));
        wanted.filter(|w| Some(*w) != have).map(|w| PeeringConnectionOptionsRequest::builder().allow_dns_resolution_from_remote_vpc(w).build())
    };
    let (accepter, requester) = (option("accepter"), option("requester"));
    if accepter.is_some() || requester.is_some() {
        aws.ec2
            .modify_vpc_peering_connection_options()
            .vpc_peering_connection_id(id)
            .set_accepter_peering_connection_options(accepter)
            .set_requester_peering_connection_options(requester)
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
    }
    Ok(())
}

async fn wait_peering(aws: &Aws, object: &Value, done: impl Fn(&str) -> bool) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let found = retry_new(|| async {
            let mut found = describe_peerings(aws, Lookup::Ids(vec![id.clone()]), std::slice::from_ref(object)).await?;
            found.remove(&id).ok_or_else(|| not_found("vpc peering connection", &id))
        })
        .await?;
        if done(&string(&found, "accept_status").unwrap_or_default()) || tokio::time::Instant::now() > deadline {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn describe_peerings(aws: &Aws, lookup: Lookup<'_>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let peerings: Vec<AwsPeering> = match lookup {
        Lookup::Ids(ids) => {
            each_id_chunk(&ids, |chunk| async move {
                let out = aws.ec2.describe_vpc_peering_connections().set_vpc_peering_connection_ids(Some(chunk)).send().await;
                out.map(|o| o.vpc_peering_connections().to_vec()).map_err(|e| aws.error("ec2", e))
            })
            .await?
        }
        // moto ignores filters here: the token is checked on what comes back.
        Lookup::Token(token) => {
            let filters = vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]];
            let found = each_set(filters, |filters| async move {
                let pages: Vec<_> = aws.ec2.describe_vpc_peering_connections().set_filters(Some(filters)).into_paginator().items().send().collect().await;
                pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
            })
            .await?;
            found.into_iter().filter(|p| carries_token(p.tags(), token)).collect()
        }
    };
    let mut out = BTreeMap::new();
    for peering in peerings {
        let id = peering.vpc_peering_connection_id().unwrap_or_default().to_string();
        let status = peering.status().and_then(|s| s.code()).map(|c| c.as_str().to_string()).unwrap_or_default();
        if GONE.contains(&status.as_str()) {
            continue;
        }
        let prior = prior_for(priors, &id);
        let (requester, accepter) = (peering.requester_vpc_info(), peering.accepter_vpc_info());
        // The options exist once the peering is active.
        let options = |info: Option<&aws_sdk_ec2::types::VpcPeeringConnectionVpcInfo>| match info.and_then(|i| i.peering_options()) {
            Some(o) if status == "active" => Value::List(vec![Obj::new().b("allow_remote_vpc_dns_resolution", Some(o.allow_dns_resolution_from_remote_vpc().unwrap_or(false))).build()]),
            _ => Value::List(Vec::new()),
        };
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("vpc_id", requester.and_then(|r| r.vpc_id()))
            .s("peer_vpc_id", accepter.and_then(|a| a.vpc_id()))
            .s("peer_owner_id", accepter.and_then(|a| a.owner_id()))
            .s("peer_region", accepter.and_then(|a| a.region()))
            .s("accept_status", Some(&status))
            .set("auto_accept", prior.get("auto_accept").cloned().unwrap_or(Value::Null))
            .set("accepter", options(accepter))
            .set("requester", options(requester));
        out.insert(id.clone(), with_ec2_tags(obj, aws, peering.tags(), prior).build());
    }
    Ok(out.into_iter().collect())
}
