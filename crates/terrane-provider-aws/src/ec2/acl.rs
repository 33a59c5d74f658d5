//! `aws_network_acl` (with inline `ingress`/`egress` rules and the subnets
//! it guards) and `aws_network_acl_rule`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, IcmpTypeCode, NetworkAcl as AwsAcl, NetworkAclEntry, PortRange, ResourceType, RuleAction};
use terrane_core::types::ObjectAttr;
use terrane_core::{PathStep, Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, PlanRequest, ProviderError, Schema};

use super::vpc::{ignore_not_found, not_found, retry_dependency, tags_schema};
use super::{by_values, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{attr_err, blocks, boolean, int, string, string_set, strings, terraform_hashcode, Obj};
use crate::client::{retry_new, Aws, TOKEN_TAG};
use crate::kind::ResourceKind;

/// The rule AWS puts last in every ACL (and its IPv6 twin): deny the rest.
/// Neither can be changed, so neither is shown.
const DEFAULT_DENY: [i32; 2] = [32767, 32768];

/// The protocol as AWS's API takes it: a number, -1 for all.
fn protocol_number(protocol: &str) -> Option<i32> {
    match protocol.to_ascii_lowercase().as_str() {
        "all" | "-1" => Some(-1),
        "icmp" => Some(1),
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmpv6" => Some(58),
        other => other.parse().ok().filter(|n| (0..=255).contains(n)),
    }
}

/// How an inline rule stores a protocol: the common ones by name.
fn protocol_name(number: i32) -> String {
    match number {
        6 => "tcp".into(),
        17 => "udp".into(),
        1 => "icmp".into(),
        58 => "icmpv6".into(),
        other => other.to_string(),
    }
}

fn check_protocol(rule: &Value, at: &[PathStep], errors: &mut Vec<AttrError>) {
    if let Some(p) = string(rule, "protocol").filter(|p| protocol_number(p).is_none()) {
        let mut path = at.to_vec();
        path.push(PathStep::Attr("protocol".into()));
        errors.push(AttrError { path, message: format!("{p:?} is not a protocol: use tcp, udp, icmp, icmpv6, -1 (all) or a protocol number") });
    }
}

const RULE_FIELDS: [(&str, fn() -> Type); 9] = [
    ("action", || Type::String),
    ("cidr_block", || Type::String),
    ("from_port", || Type::Number),
    ("icmp_code", || Type::Number),
    ("icmp_type", || Type::Number),
    ("ipv6_cidr_block", || Type::String),
    ("protocol", || Type::String),
    ("rule_no", || Type::Number),
    ("to_port", || Type::Number),
];

fn rules_type() -> Type {
    Type::set(Type::Object(RULE_FIELDS.iter().map(|(name, ty)| (name.to_string(), ObjectAttr::required(ty()))).collect()))
}

/// An inline rule in its stored form: "" for no CIDR block, null ICMP fields
/// for a rule that is not ICMP, the protocol named where it has a name.
fn normalize_rule(rule: &Value) -> Value {
    let text = |name: &str| string(rule, name).unwrap_or_default();
    let protocol = protocol_number(&text("protocol")).map(protocol_name).unwrap_or_else(|| text("protocol"));
    let number = |name: &str| rule.get(name).filter(|v| !v.is_null()).cloned().unwrap_or(Value::number(0));
    Obj::new()
        .s("action", Some(&text("action").to_ascii_lowercase()))
        .s("cidr_block", Some(&text("cidr_block")))
        .s("ipv6_cidr_block", Some(&text("ipv6_cidr_block")))
        .s("protocol", Some(&protocol))
        .set("rule_no", number("rule_no"))
        .set("from_port", number("from_port"))
        .set("to_port", number("to_port"))
        .set("icmp_code", rule.get("icmp_code").cloned().unwrap_or(Value::Null))
        .set("icmp_type", rule.get("icmp_type").cloned().unwrap_or(Value::Null))
        .build()
}

fn entry_value(entry: &NetworkAclEntry) -> Value {
    let protocol = entry.protocol().and_then(protocol_number).unwrap_or(-1);
    let icmp = entry.icmp_type_code().filter(|_| matches!(protocol, 1 | 58));
    Obj::new()
        .s("action", entry.rule_action().map(|a| a.as_str()))
        .s("cidr_block", Some(entry.cidr_block().unwrap_or_default()))
        .s("ipv6_cidr_block", Some(entry.ipv6_cidr_block().unwrap_or_default()))
        .s("protocol", Some(&protocol_name(protocol)))
        .n("rule_no", entry.rule_number().map(f64::from))
        .n("from_port", Some(f64::from(entry.port_range().and_then(|p| p.from()).unwrap_or(0))))
        .n("to_port", Some(f64::from(entry.port_range().and_then(|p| p.to()).unwrap_or(0))))
        .n("icmp_code", icmp.and_then(|i| i.code()).map(f64::from))
        .n("icmp_type", icmp.and_then(|i| i.r#type()).map(f64::from))
        .build()
}

/// Adds one rule to an ACL. `rule` has the stored form's fields; `number`
/// and `action` name its number and action fields.
async fn create_entry(aws: &Aws, acl: &str, egress: bool, rule: &Value, number: &str, action: &str) -> Result<(), ProviderError> {
    let protocol = string(rule, "protocol").and_then(|p| protocol_number(&p)).unwrap_or(-1);
    let nonempty = |name: &str| string(rule, name).filter(|v| !v.is_empty());
    let mut call = aws
        .ec2
        .create_network_acl_entry()
        .network_acl_id(acl)
        .egress(egress)
        .set_rule_number(int(rule, number))
        .protocol(protocol.to_string())
        .set_rule_action(string(rule, action).map(|a| RuleAction::from(a.to_ascii_lowercase().as_str())))
        .set_cidr_block(nonempty("cidr_block"))
        .set_ipv6_cidr_block(nonempty("ipv6_cidr_block"));
    if matches!(protocol, 6 | 17) {
        call = call.port_range(PortRange::builder().set_from(int(rule, "from_port")).set_to(int(rule, "to_port")).build());
    }
    if matches!(protocol, 1 | 58) {
        call = call.icmp_type_code(IcmpTypeCode::builder().set_type(int(rule, "icmp_type")).set_code(int(rule, "icmp_code")).build());
    }
    call.send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
}

async fn delete_entry(aws: &Aws, acl: &str, egress: bool, number: i32) -> Result<(), ProviderError> {
    let call = aws.ec2.delete_network_acl_entry().network_acl_id(acl).egress(egress).rule_number(number);
    call.send().await.map(|_| ()).map_err(|e| aws.error("ec2", e)).or_else(ignore_not_found)
}

pub(super) async fn describe_acls(aws: &Aws, filter_sets: Vec<Vec<Filter>>) -> Result<Vec<AwsAcl>, ProviderError> {
    each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_network_acls().set_filters(Some(filters)).into_paginator().items().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await
}

/// The ACLs with these ids (moto has no filter by ACL id).
async fn acls_by_id(aws: &Aws, ids: &[String]) -> Result<Vec<AwsAcl>, ProviderError> {
    super::each_id_chunk(ids, |chunk| async move {
        let out = aws.ec2.describe_network_acls().set_network_acl_ids(Some(chunk)).send().await;
        out.map(|o| o.network_acls().to_vec()).map_err(|e| aws.error("ec2", e))
    })
    .await
}

pub struct NetworkAcl;

#[async_trait]
impl ResourceKind for NetworkAcl {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("vpc_id", A::required(Type::String).force_new())
                .attr("subnet_ids", A::optional_computed(Type::set(Type::String)))
                .attr("ingress", A::optional_computed(rules_type()))
                .attr("egress", A::optional_computed(rules_type()))
                .attr("arn", A::computed(Type::String))
                .attr("owner_id", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        for direction in ["ingress", "egress"] {
            for (i, rule) in blocks(config, direction).into_iter().enumerate() {
                let at = [PathStep::Attr(direction.to_string()), PathStep::Index(i)];
                check_protocol(rule, &at, &mut errors);
                if let Some(action) = string(rule, "action").filter(|a| !matches!(a.to_ascii_lowercase().as_str(), "allow" | "deny")) {
                    errors.push(AttrError {
                        path: vec![at[0].clone(), at[1].clone(), PathStep::Attr("action".into())],
                        message: format!("action must be \"allow\" or \"deny\", got {action:?}"),
                    });
                }
            }
        }
        errors
    }

    /// Given (even empty), the rules are these; left out, they are what the
    /// ACL has (aws_network_acl_rule may manage them).
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        for direction in ["ingress", "egress"] {
            if req.config.get(direction).is_some_and(|v| !v.is_null()) {
                planned.insert(direction.into(), Value::set(blocks(req.config, direction).into_iter().map(normalize_rule).collect()));
            }
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .create_network_acl()
            .set_vpc_id(string(planned, "vpc_id"))
            .set_tag_specifications(tag_spec(aws, ResourceType::NetworkAcl, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.network_acl().and_then(|a| a.network_acl_id()).unwrap_or_default().to_string();
        let empty = Obj::new().set("ingress", Value::Set(Vec::new())).set("egress", Value::Set(Vec::new())).set("subnet_ids", Value::Set(Vec::new())).build();
        retry_new(|| sync_rules(aws, &id, &empty, planned)).await?;
        sync_subnets(aws, &id, &empty, planned).await?;
        read_acl(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let acls = acls_by_id(aws, &ids(objects)).await?;
        Ok(in_order(objects, acl_values(aws, acls, objects)))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        sync_rules(aws, &id, prior, planned).await?;
        sync_subnets(aws, &id, prior, planned).await?;
        update_tags(aws, &id, prior, planned).await?;
        read_acl(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    /// Its subnets go back to the VPC's default ACL first: AWS refuses to
    /// delete an ACL that guards a subnet.
    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let none = Obj::new().set("subnet_ids", Value::Set(Vec::new())).build();
        let current = match read_acl(aws, prior).await {
            Ok(current) => current,
            Err(e) => return ignore_not_found(e),
        };
        sync_subnets(aws, &id, &current, &none).await?;
        retry_dependency(|| async { aws.ec2.delete_network_acl().network_acl_id(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e)) })
            .await
            .or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let acls = describe_acls(aws, vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]]).await?;
        Ok(acl_values(aws, acls, std::slice::from_ref(planned)).into_values().next())
    }
}

/// Brings the ACL's inline rules from `before`'s to `after`'s: rules that
/// changed are deleted and made again under their number.
async fn sync_rules(aws: &Aws, acl: &str, before: &Value, after: &Value) -> Result<(), ProviderError> {
    for (direction, egress) in [("ingress", false), ("egress", true)] {
        if after.get(direction).is_none_or(|v| v.is_null() || v.is_unknown()) {
            continue;
        }
        let old: Vec<Value> = blocks(before, direction).into_iter().map(normalize_rule).collect();
        let new: Vec<Value> = blocks(after, direction).into_iter().map(normalize_rule).collect();
        for rule in old.iter().filter(|r| !new.contains(r)) {
            delete_entry(aws, acl, egress, int(rule, "rule_no").unwrap_or_default()).await?;
        }
        for rule in new.iter().filter(|r| !old.contains(r)) {
            create_entry(aws, acl, egress, rule, "rule_no", "action").await?;
        }
    }
    Ok(())
}

/// Moves subnets `after` adds to this ACL, and subnets it drops back to the
/// VPC's default ACL.
async fn sync_subnets(aws: &Aws, acl: &str, before: &Value, after: &Value) -> Result<(), ProviderError> {
    if after.get("subnet_ids").is_none_or(|v| v.is_null() || v.is_unknown()) {
        return Ok(());
    }
    let (old, new) = (strings(before, "subnet_ids"), strings(after, "subnet_ids"));
    let added: Vec<String> = new.iter().filter(|s| !old.contains(s)).cloned().collect();
    let dropped: Vec<String> = old.iter().filter(|s| !new.contains(s)).cloned().collect();
    if !added.is_empty() {
        move_subnets(aws, &added, |_| Some(acl.to_string())).await?;
    }
    if !dropped.is_empty() {
        let vpc = acls_by_id(aws, &[acl.to_string()]).await?.first().and_then(|a| a.vpc_id().map(str::to_string));
        let defaults = describe_acls(aws, vec![vec![filter("vpc-id", vpc.into_iter()), filter("default", ["true".to_string()])]]).await?;
        let default = defaults.first().and_then(|a| a.network_acl_id()).map(str::to_string);
        move_subnets(aws, &dropped, |_| default.clone()).await?;
    }
    Ok(())
}

/// Re-associates each subnet with the ACL `target` names for it.
async fn move_subnets(aws: &Aws, subnets: &[String], target: impl Fn(&str) -> Option<String>) -> Result<(), ProviderError> {
    let acls = describe_acls(aws, by_values("association.subnet-id", subnets)).await?;
    for association in acls.iter().flat_map(|a| a.associations()) {
        let (Some(subnet), Some(association_id)) = (association.subnet_id(), association.network_acl_association_id()) else { continue };
        let Some(to) = target(subnet).filter(|_| subnets.iter().any(|s| s == subnet)) else { continue };
        let call = aws.ec2.replace_network_acl_association().association_id(association_id).network_acl_id(to);
        call.send().await.map_err(|e| aws.error("ec2", e))?;
    }
    Ok(())
}

fn acl_values(aws: &Aws, acls: Vec<AwsAcl>, priors: &[Value]) -> terrane_core::ValueMap<Value> {
    let mut out = BTreeMap::new();
    for acl in acls {
        let id = acl.network_acl_id().unwrap_or_default().to_string();
        let rules = |egress: bool| {
            let entries = acl.entries().iter().filter(|e| e.egress() == Some(egress) && !DEFAULT_DENY.contains(&e.rule_number().unwrap_or(0)));
            Value::set(entries.map(entry_value).collect())
        };
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("arn", Some(&aws.owned_arn("ec2", acl.owner_id(), &format!("network-acl/{id}"))))
            .s("vpc_id", acl.vpc_id())
            .s("owner_id", acl.owner_id())
            .set("subnet_ids", string_set(acl.associations().iter().filter_map(|a| a.subnet_id())))
            .set("ingress", rules(false))
            .set("egress", rules(true));
        out.insert(id.clone(), with_ec2_tags(obj, aws, acl.tags(), prior_for(priors, &id)).build());
    }
    out.into_iter().collect()
}

async fn read_acl(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let acls = acls_by_id(aws, std::slice::from_ref(&id)).await?;
    acl_values(aws, acls, std::slice::from_ref(object)).remove(&id).ok_or_else(|| not_found("network ACL", &id))
}

/// `aws_network_acl_rule`: one numbered rule of an ACL, as its own resource.
pub struct NetworkAclRule;

/// Terraform's id for a rule: a hash of ACL, number, direction and protocol
/// as written.
fn rule_id(v: &Value) -> String {
    let text = |name: &str| string(v, name).unwrap_or_default();
    let number = int(v, "rule_number").unwrap_or_default();
    let egress = boolean(v, "egress").unwrap_or(false);
    format!("nacl-{}", terraform_hashcode(&format!("{}-{number}-{egress}-{}-", text("network_acl_id"), text("protocol"))))
}

#[async_trait]
impl ResourceKind for NetworkAclRule {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("network_acl_id", A::required(Type::String).force_new())
            .attr("rule_number", A::required(Type::Number).force_new())
            .attr("egress", A::optional(Type::Bool).force_new())
            .attr("protocol", A::required(Type::String).force_new())
            .attr("rule_action", A::required(Type::String).force_new())
            .attr("cidr_block", A::optional(Type::String).force_new())
            .attr("ipv6_cidr_block", A::optional(Type::String).force_new())
            .attr("from_port", A::optional(Type::Number).force_new())
            .attr("to_port", A::optional(Type::Number).force_new())
            .attr("icmp_type", A::optional(Type::Number).force_new())
            .attr("icmp_code", A::optional(Type::Number).force_new())
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        check_protocol(config, &[], &mut errors);
        let blocks_given = ["cidr_block", "ipv6_cidr_block"].iter().filter(|n| string(config, n).is_some()).count();
        if blocks_given != 1 && config.get("cidr_block").is_some_and(|v| !v.is_unknown()) {
            errors.push(attr_err("cidr_block", "exactly one of cidr_block and ipv6_cidr_block must be set"));
        }
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("egress", Value::Bool(false))]
    }

    /// A protocol written by name or by number is the same protocol.
    fn equivalent(&self, attr: &str, prior: &Value, configured: &Value) -> bool {
        attr == "protocol" && prior.as_str().and_then(protocol_number).is_some_and(|p| Some(p) == configured.as_str().and_then(protocol_number))
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let acl = string(planned, "network_acl_id").unwrap_or_default();
        let egress = boolean(planned, "egress").unwrap_or(false);
        retry_new(|| create_entry(aws, &acl, egress, planned, "rule_number", "rule_action")).await?;
        let stub = Obj::from(planned).s("id", Some(&rule_id(planned))).build();
        retry_new(|| async { self.read(aws, std::slice::from_ref(&stub)).await?.remove(0).ok_or_else(|| not_found("network ACL rule", &rule_id(&stub))) }).await
    }

    /// One describe per 50 ACLs answers for all their rules.
    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let acl_ids: Vec<String> = objects.iter().filter_map(|o| string(o, "network_acl_id")).collect();
        let acls = acls_by_id(aws, &acl_ids).await?;
        Ok(objects
            .iter()
            .map(|o| {
                let acl = acls.iter().find(|a| a.network_acl_id().map(str::to_string) == string(o, "network_acl_id"))?;
                let egress = boolean(o, "egress").unwrap_or(false);
                let entry = acl.entries().iter().find(|e| e.egress() == Some(egress) && e.rule_number() == int(o, "rule_number"))?;
                Some(rule_value(entry, o))
            })
            .collect())
    }

    async fn update(&self, _aws: &Aws, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        // Every argument replaces the rule.
        Ok(planned.clone())
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let acl = string(prior, "network_acl_id").unwrap_or_default();
        delete_entry(aws, &acl, boolean(prior, "egress").unwrap_or(false), int(prior, "rule_number").unwrap_or_default()).await
    }

    /// Terraform's import id: `NETWORK_ACL_ID:RULE_NUMBER:PROTOCOL:EGRESS`.
    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        let parts: Vec<&str> = id.split(':').collect();
        let parsed = match parts.as_slice() {
            [acl, number, protocol, egress] => number.parse::<u32>().ok().zip(egress.parse::<bool>().ok()).map(|(n, e)| (*acl, n, *protocol, e)),
            _ => None,
        };
        let Some((acl, number, protocol, egress)) = parsed else {
            return Err(ProviderError::Invalid(format!("import id {id:?} must be NETWORK_ACL_ID:RULE_NUMBER:PROTOCOL:EGRESS")));
        };
        let stub = Obj::new()
            .s("network_acl_id", Some(acl))
            .n("rule_number", Some(f64::from(number)))
            .s("protocol", Some(protocol))
            .b("egress", Some(egress))
            .build();
        Ok(Obj::from(&stub).s("id", Some(&rule_id(&stub))).build())
    }
}

/// A rule as AWS has it, in the prior object's terms: its protocol stays
/// as written when AWS's number means the same one, and ports or ICMP
/// fields the protocol does not use stay as they were.
fn rule_value(entry: &NetworkAclEntry, prior: &Value) -> Value {
    let number = entry.protocol().and_then(protocol_number).unwrap_or(-1);
    let written = string(prior, "protocol").filter(|p| protocol_number(p) == Some(number));
    let kept = |name: &str| prior.get(name).cloned().unwrap_or(Value::Null);
    let mut obj = Obj::from(prior)
        .s("protocol", Some(&written.unwrap_or_else(|| number.to_string())))
        .s("rule_action", entry.rule_action().map(|a| a.as_str()))
        .s("cidr_block", Some(entry.cidr_block().unwrap_or_default()))
        .s("ipv6_cidr_block", Some(entry.ipv6_cidr_block().unwrap_or_default()))
        .n("rule_number", entry.rule_number().map(f64::from))
        .b("egress", entry.egress());
    obj = match entry.port_range() {
        Some(range) if matches!(number, 6 | 17) => obj.n("from_port", range.from().map(f64::from)).n("to_port", range.to().map(f64::from)),
        _ => obj.set("from_port", kept("from_port")).set("to_port", kept("to_port")),
    };
    obj = match entry.icmp_type_code() {
        Some(icmp) if matches!(number, 1 | 58) => obj.n("icmp_type", icmp.r#type().map(f64::from)).n("icmp_code", icmp.code().map(f64::from)),
        _ => obj.set("icmp_type", kept("icmp_type")).set("icmp_code", kept("icmp_code")),
    };
    // The id was made from the protocol as first written.
    let id = string(prior, "id").filter(|id| !id.is_empty()).unwrap_or_else(|| rule_id(prior));
    obj.s("id", Some(&id)).build()
}
