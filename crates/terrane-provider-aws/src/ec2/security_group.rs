//! `aws_security_group` (inline `ingress`/`egress`), `aws_security_group_rule`,
//! and the one-rule-per-resource `aws_vpc_security_group_{ingress,egress}_rule`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroup as AwsGroup,
    SecurityGroupRuleRequest, SecurityGroupRuleUpdate, UserIdGroupPair,
};
use terrane_core::types::ObjectAttr;
use terrane_core::{PathStep, Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, PlanRequest, ProviderError, Schema};

use super::vpc::{ignore_not_found, not_found, retry_dependency, tags_schema};
use super::{by_values, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{attr_err, blocks, boolean, int, string, string_list, string_set, strings, Obj};
use crate::client::{retry_new, Aws, TOKEN_TAG};
use crate::kind::ResourceKind;

/// The description AWS requires, when the configuration gives none: the one
/// Terraform gives, so groups either tool made plan the same.
pub const DEFAULT_DESCRIPTION: &str = "Managed by Terraform";

fn rule_schema() -> Schema {
    Schema::new()
        .attr("from_port", A::required(Type::Number))
        .attr("to_port", A::required(Type::Number))
        .attr("protocol", A::required(Type::String))
        .attr("cidr_blocks", A::optional(Type::list(Type::String)))
        .attr("ipv6_cidr_blocks", A::optional(Type::list(Type::String)))
        .attr("prefix_list_ids", A::optional(Type::list(Type::String)))
        .attr("security_groups", A::optional(Type::set(Type::String)))
        .attr("self", A::optional(Type::Bool))
        .attr("description", A::optional(Type::String))
}

/// AWS's spelling of a protocol: names for the common numbers, `-1` for all.
pub fn normalize_protocol(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "all" | "-1" => "-1".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "58" => "icmpv6".into(),
        other => other.to_string(),
    }
}

/// Port and protocol checks AWS would make, at plan time. `at` is the path of the rule.
pub fn check_ports(rule: &Value, at: &[PathStep], from: &str, to: &str, protocol: &str, errors: &mut Vec<AttrError>) {
    let path = |name: &str| {
        let mut p = at.to_vec();
        p.push(PathStep::Attr(name.to_string()));
        p
    };
    let Some(proto) = string(rule, protocol).map(|p| normalize_protocol(&p)) else { return };
    let known = ["-1", "tcp", "udp", "icmp", "icmpv6"];
    if !known.contains(&proto.as_str()) && proto.parse::<u8>().is_err() {
        errors.push(AttrError { path: path(protocol), message: format!("{proto:?} is not a protocol: use tcp, udp, icmp, icmpv6, -1 (all) or a protocol number") });
        return;
    }
    let (lo, hi) = (rule.get(from).and_then(Value::as_f64), rule.get(to).and_then(Value::as_f64));
    let ranged = matches!(proto.as_str(), "tcp" | "udp");
    for (name, port) in [(from, lo), (to, hi)] {
        if let Some(p) = port {
            let ok = p.fract() == 0.0 && if ranged { (0.0..=65535.0).contains(&p) } else { (-1.0..=65535.0).contains(&p) };
            if !ok {
                errors.push(AttrError { path: path(name), message: format!("{p} is not a port: ports run from 0 to 65535") });
            }
        }
    }
    if let (Some(lo), Some(hi)) = (lo, hi) {
        if ranged && lo > hi {
            errors.push(AttrError { path: path(from), message: format!("the port range {lo}-{hi} is empty: {from} must not be above {to}") });
        }
    }
}

/// A rule block with Terraform's normal form: lists never null, protocol spelled as AWS does.
pub(super) fn normalize_rule(rule: &Value) -> Value {
    Obj::new()
        .set("from_port", rule.get("from_port").cloned().unwrap_or(Value::number(0)))
        .set("to_port", rule.get("to_port").cloned().unwrap_or(Value::number(0)))
        .s("protocol", string(rule, "protocol").map(|p| normalize_protocol(&p)).as_deref())
        .set("cidr_blocks", string_list(strings(rule, "cidr_blocks")))
        .set("ipv6_cidr_blocks", string_list(strings(rule, "ipv6_cidr_blocks")))
        .set("prefix_list_ids", string_list(strings(rule, "prefix_list_ids")))
        .set("security_groups", string_set(strings(rule, "security_groups")))
        .b("self", Some(boolean(rule, "self").unwrap_or(false)))
        .s("description", Some(string(rule, "description").unwrap_or_default().as_str()))
        .build()
}

fn permission(rule: &Value, own_group: &str) -> IpPermission {
    // Terraform stores a rule without a description as "".
    let description = string(rule, "description").filter(|d| !d.is_empty());
    let mut groups: Vec<UserIdGroupPair> =
        strings(rule, "security_groups").into_iter().map(|g| UserIdGroupPair::builder().group_id(g).set_description(description.clone()).build()).collect();
    if boolean(rule, "self") == Some(true) {
        groups.push(UserIdGroupPair::builder().group_id(own_group).set_description(description.clone()).build());
    }
    IpPermission::builder()
        .set_ip_protocol(string(rule, "protocol").map(|p| normalize_protocol(&p)))
        .set_from_port(int(rule, "from_port"))
        .set_to_port(int(rule, "to_port"))
        .set_ip_ranges(Some(strings(rule, "cidr_blocks").into_iter().map(|c| IpRange::builder().cidr_ip(c).set_description(description.clone()).build()).collect()))
        .set_ipv6_ranges(Some(strings(rule, "ipv6_cidr_blocks").into_iter().map(|c| Ipv6Range::builder().cidr_ipv6(c).set_description(description.clone()).build()).collect()))
        .set_prefix_list_ids(Some(strings(rule, "prefix_list_ids").into_iter().map(|p| PrefixListId::builder().prefix_list_id(p).set_description(description.clone()).build()).collect()))
        .set_user_id_group_pairs(Some(groups))
        .build()
}

fn rule_value(p: &IpPermission, own_group: &str) -> Value {
    let groups: Vec<&str> = p.user_id_group_pairs().iter().filter_map(|g| g.group_id()).collect();
    let description = p
        .ip_ranges()
        .iter()
        .filter_map(|r| r.description())
        .chain(p.ipv6_ranges().iter().filter_map(|r| r.description()))
        .chain(p.user_id_group_pairs().iter().filter_map(|g| g.description()))
        .next();
    Obj::new()
        .n("from_port", Some(p.from_port().unwrap_or(0) as f64))
        .n("to_port", Some(p.to_port().unwrap_or(0) as f64))
        .s("protocol", p.ip_protocol().map(normalize_protocol).as_deref())
        .set("cidr_blocks", string_list(p.ip_ranges().iter().filter_map(|r| r.cidr_ip())))
        .set("ipv6_cidr_blocks", string_list(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6())))
        .set("prefix_list_ids", string_list(p.prefix_list_ids().iter().filter_map(|r| r.prefix_list_id())))
        .set("security_groups", string_set(groups.iter().filter(|g| **g != own_group)))
        .b("self", Some(groups.contains(&own_group)))
        .s("description", Some(description.unwrap_or_default()))
        .build()
}

pub(super) async fn describe_groups(aws: &Aws, filter_sets: Vec<Vec<Filter>>) -> Result<Vec<AwsGroup>, ProviderError> {
    each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_security_groups().set_filters(Some(filters)).into_paginator().items().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await
}

pub struct SecurityGroup;

/// `ingress` and `egress`: sets of rule objects, which a configuration may
/// also write as blocks.
pub(super) fn rules_type() -> Type {
    Type::set(Type::Object(rule_schema().attributes.into_iter().map(|(name, a)| (name, ObjectAttr::required(a.ty))).collect()))
}

#[async_trait]
impl ResourceKind for SecurityGroup {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("name", A::optional_computed(Type::String).force_new())
                .attr("description", A::optional(Type::String).force_new())
                .attr("vpc_id", A::optional_computed(Type::String).force_new())
                .attr("revoke_rules_on_delete", A::optional(Type::Bool))
                .attr("arn", A::computed(Type::String))
                .attr("owner_id", A::computed(Type::String)),
        )
        .attr("ingress", A::optional_computed(rules_type()))
        .attr("egress", A::optional_computed(rules_type()))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        for direction in ["ingress", "egress"] {
            for (i, rule) in blocks(config, direction).into_iter().enumerate() {
                let at = [PathStep::Attr(direction.to_string()), PathStep::Index(i)];
                check_ports(rule, &at, "from_port", "to_port", "protocol", &mut errors);
            }
        }
        if let Some(name) = string(config, "name") {
            if name.len() > 255 || name.starts_with("sg-") {
                errors.push(attr_err("name", "a security group name has at most 255 characters and cannot start with sg-"));
            }
        }
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("description", Value::string(DEFAULT_DESCRIPTION))]
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        // Left out, the rules are whatever the group has (aws_security_group_rule
        // and friends may manage them): the generic plan keeps the prior value,
        // or leaves it unknown on create.
        for direction in ["ingress", "egress"] {
            if req.config.get(direction).is_some_and(|v| !v.is_null()) {
                planned.insert(direction.to_string(), Value::set(blocks(req.config, direction).into_iter().map(normalize_rule).collect()));
            }
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let name = string(planned, "name").unwrap_or_else(|| format!("terrane-{}", token.replace('-', "")));
        let out = aws
            .ec2
            .create_security_group()
            .group_name(&name)
            .set_description(string(planned, "description"))
            .set_vpc_id(string(planned, "vpc_id"))
            .set_tag_specifications(tag_spec(aws, ResourceType::SecurityGroup, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.group_id().unwrap_or_default().to_string();
        // AWS opens all egress on a new group (every group is in a VPC, the
        // default one when vpc_id is left out); as in Terraform, only the
        // configured rules stay.
        let all = normalize_rule(&Obj::new().n("from_port", Some(0.0)).n("to_port", Some(0.0)).s("protocol", Some("-1")).set("cidr_blocks", string_list(["0.0.0.0/0"])).build());
        retry_new(|| async {
            aws.ec2.revoke_security_group_egress().group_id(&id).ip_permissions(permission(&all, &id)).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        })
        .await
        .or_else(ignore_not_found)?;
        let stub = Obj::from(planned).s("id", Some(&id)).set("ingress", Value::Set(Vec::new())).set("egress", Value::Set(Vec::new())).build();
        sync_rules(aws, &id, &stub, planned).await?;
        retry_new(|| read_group(aws, &stub)).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let groups = describe_groups(aws, by_values("group-id", &ids(objects))).await?;
        Ok(in_order(objects, group_values(aws, groups, objects)))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        sync_rules(aws, &id, prior, planned).await?;
        update_tags(aws, &id, prior, planned).await?;
        read_group(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        if boolean(prior, "revoke_rules_on_delete") == Some(true) {
            let empty = Obj::from(prior).set("ingress", Value::Set(Vec::new())).set("egress", Value::Set(Vec::new())).build();
            sync_rules(aws, &id, prior, &empty).await.or_else(ignore_not_found)?;
        }
        retry_dependency(|| async {
            aws.ec2.delete_security_group().group_id(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        })
        .await
        .or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let groups = describe_groups(aws, vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]]).await?;
        Ok(group_values(aws, groups, std::slice::from_ref(planned)).into_values().next())
    }
}

/// Revokes the rules `before` has and `after` lacks, then authorizes the new ones.
pub(super) async fn sync_rules(aws: &Aws, id: &str, before: &Value, after: &Value) -> Result<(), ProviderError> {
    for direction in ["ingress", "egress"] {
        let old: Vec<Value> = blocks(before, direction).into_iter().map(normalize_rule).collect();
        let new: Vec<Value> = blocks(after, direction).into_iter().map(normalize_rule).collect();
        let revoke: Vec<IpPermission> = old.iter().filter(|r| !new.contains(r)).map(|r| permission(r, id)).collect();
        let grant: Vec<IpPermission> = new.iter().filter(|r| !old.contains(r)).map(|r| permission(r, id)).collect();
        if !revoke.is_empty() {
            let result = if direction == "ingress" {
                aws.ec2.revoke_security_group_ingress().group_id(id).set_ip_permissions(Some(revoke)).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
            } else {
                aws.ec2.revoke_security_group_egress().group_id(id).set_ip_permissions(Some(revoke)).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
            };
            result?;
        }
        if !grant.is_empty() {
            let result = if direction == "ingress" {
                aws.ec2.authorize_security_group_ingress().group_id(id).set_ip_permissions(Some(grant)).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
            } else {
                aws.ec2.authorize_security_group_egress().group_id(id).set_ip_permissions(Some(grant)).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
            };
            result?;
        }
    }
    Ok(())
}

pub(super) fn group_values(aws: &Aws, groups: Vec<AwsGroup>, priors: &[Value]) -> terrane_core::ValueMap<Value> {
    let mut out = BTreeMap::new();
    for group in groups {
        let id = group.group_id().unwrap_or_default().to_string();
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("arn", Some(&aws.owned_arn("ec2", group.owner_id(), &format!("security-group/{id}"))))
            .s("name", group.group_name())
            .s("description", group.description())
            .s("vpc_id", group.vpc_id())
            .s("owner_id", group.owner_id())
            .set("ingress", Value::set(group.ip_permissions().iter().map(|p| rule_value(p, &id)).collect()))
            .set("egress", Value::set(group.ip_permissions_egress().iter().map(|p| rule_value(p, &id)).collect()))
            .set("revoke_rules_on_delete", prior_for(priors, &id).get("revoke_rules_on_delete").cloned().unwrap_or(Value::Null));
        out.insert(id.clone(), with_ec2_tags(obj, aws, group.tags(), prior_for(priors, &id)).build());
    }
    out.into_iter().collect()
}

async fn read_group(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let groups = describe_groups(aws, by_values("group-id", std::slice::from_ref(&id))).await?;
    group_values(aws, groups, std::slice::from_ref(object)).remove(&id).ok_or_else(|| not_found("security group", &id))
}

/// `aws_security_group_rule`: one rule of a group, as its own resource.
pub struct SecurityGroupRule;

impl SecurityGroupRule {
    /// The rule as an inline rule block, so the group's rule logic serves both.
    fn as_block(v: &Value) -> Value {
        let mut groups = Vec::new();
        if let Some(g) = string(v, "source_security_group_id") {
            groups.push(g);
        }
        normalize_rule(&Obj::from(v).set("security_groups", string_set(groups)).build())
    }

    /// Terraform's id for the rule: a hash of what identifies it (ports
    /// when not 0, protocol, type, sorted sources), the description left
    /// out because it changes in place.
    fn rule_id(v: &Value) -> String {
        let rule = Self::as_block(v);
        let mut text = format!("{}-", string(v, "security_group_id").unwrap_or_default());
        for port in ["from_port", "to_port"] {
            if let Some(n) = int(&rule, port).filter(|n| *n > 0) {
                text.push_str(&format!("{n}-"));
            }
        }
        text.push_str(&format!("{}-{}-", string(&rule, "protocol").unwrap_or_default(), string(v, "type").unwrap_or_default()));
        for sources in ["cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids"] {
            let mut sorted = strings(&rule, sources);
            sorted.sort();
            for source in sorted {
                text.push_str(&format!("{source}-"));
            }
        }
        let mut groups = strings(&rule, "security_groups");
        if boolean(&rule, "self") == Some(true) {
            groups.extend(string(v, "security_group_id"));
        }
        groups.sort();
        for group in groups {
            // A group pair is written as its id, then its name (none here).
            text.push_str(&format!("{group}--"));
        }
        format!("sgrule-{}", crate::attrs::terraform_hashcode(&text))
    }
}

#[async_trait]
impl ResourceKind for SecurityGroupRule {
    fn supported(&self) -> Schema {
        let mut schema = Schema::new()
            .attr("type", A::required(Type::String).force_new())
            .attr("security_group_id", A::required(Type::String).force_new())
            .attr("source_security_group_id", A::optional_computed(Type::String).force_new());
        for (name, attr) in rule_schema().attributes {
            if name != "security_groups" {
                let attr = if name == "description" { attr } else { attr.force_new() };
                schema = schema.attr(&name, attr);
            }
        }
        schema
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        if let Some(t) = string(config, "type") {
            if t != "ingress" && t != "egress" {
                errors.push(attr_err("type", format!("type must be \"ingress\" or \"egress\", got {t:?}")));
            }
        }
        check_ports(config, &[], "from_port", "to_port", "protocol", &mut errors);
        errors
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let group = string(planned, "security_group_id").unwrap_or_default();
        let rule = Self::as_block(planned);
        let direction = string(planned, "type").unwrap_or_default();
        let before = Obj::new().set(&direction, Value::Set(Vec::new())).build();
        let after = Obj::new().set(&direction, Value::set(vec![rule])).build();
        retry_new(|| sync_rules(aws, &group, &before, &after)).await?;
        Ok(Obj::from(planned).s("id", Some(&Self::rule_id(planned))).build())
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let group_ids: Vec<String> = objects.iter().filter_map(|o| string(o, "security_group_id")).collect();
        let groups = describe_groups(aws, by_values("group-id", &group_ids)).await?;
        Ok(objects
            .iter()
            .map(|o| {
                let group = groups.iter().find(|g| g.group_id().map(str::to_string) == string(o, "security_group_id"))?;
                let own = group.group_id().unwrap_or_default();
                let permissions = if string(o, "type").as_deref() == Some("egress") { group.ip_permissions_egress() } else { group.ip_permissions() };
                let want = Self::as_block(o);
                // The rule is there when AWS holds every source it grants.
                let present = permissions.iter().map(|p| rule_value(p, own)).any(|have| covers(&have, &want));
                present.then(|| Obj::from(o).s("id", Some(&Self::rule_id(o))).build())
            })
            .collect())
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        // Only the description changes in place: AWS replaces it on the same sources.
        let group = string(prior, "security_group_id").unwrap_or_default();
        let direction = string(prior, "type").unwrap_or_default();
        let before = Obj::new().set(&direction, Value::set(vec![Self::as_block(prior)])).build();
        let after = Obj::new().set(&direction, Value::set(vec![Self::as_block(planned)])).build();
        sync_rules(aws, &group, &before, &after).await?;
        Ok(Obj::from(planned).s("id", Some(&Self::rule_id(planned))).build())
    }

    /// Terraform's import id: `SG_TYPE_PROTOCOL_FROM_TO_SOURCE[_SOURCE...]`, each
    /// source a CIDR block, a security group id, or `self`.
    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        let bad = || ProviderError::Invalid(format!("import id {id:?} must be SG_TYPE_PROTOCOL_FROM_TO_SOURCE, as in sg-0123_ingress_tcp_22_22_10.0.0.0/8"));
        let parts: Vec<&str> = id.split('_').collect();
        let [group, kind, protocol, from, to, sources @ ..] = parts.as_slice() else { return Err(bad()) };
        let (from, to): (f64, f64) = (from.parse().map_err(|_| bad())?, to.parse().map_err(|_| bad())?);
        if sources.is_empty() || !matches!(*kind, "ingress" | "egress") {
            return Err(bad());
        }
        // Attributes the id does not mention stay null, as a configuration leaves them.
        let cidrs = |v6: bool| {
            let found: Vec<&&str> = sources.iter().filter(|s| s.contains('/') && s.contains(':') == v6).collect();
            if found.is_empty() { Value::Null } else { string_list(found.into_iter().copied()) }
        };
        let source_group = sources.iter().find(|s| s.starts_with("sg-")).map(|s| s.to_string());
        Ok(Obj::new()
            .s("security_group_id", Some(group))
            .s("type", Some(kind))
            .s("protocol", Some(&normalize_protocol(protocol)))
            .n("from_port", Some(from))
            .n("to_port", Some(to))
            .set("cidr_blocks", cidrs(false))
            .set("ipv6_cidr_blocks", cidrs(true))
            .s("source_security_group_id", source_group.as_deref())
            .b("self", sources.contains(&"self").then_some(true))
            .build())
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let group = string(prior, "security_group_id").unwrap_or_default();
        let direction = string(prior, "type").unwrap_or_default();
        let before = Obj::new().set(&direction, Value::set(vec![Self::as_block(prior)])).build();
        let after = Obj::new().set(&direction, Value::Set(Vec::new())).build();
        sync_rules(aws, &group, &before, &after).await.or_else(|e| match &e {
            ProviderError::Api { code, .. } if code.contains("NotFound") => Ok(()),
            _ => Err(e),
        })
    }
}

/// True when the AWS permission `have` grants every source of the rule `want`.
fn covers(have: &Value, want: &Value) -> bool {
    let same = |name: &str| have.get(name) == want.get(name);
    let subset = |name: &str| strings(want, name).iter().all(|s| strings(have, name).contains(s));
    same("from_port")
        && same("to_port")
        && same("protocol")
        && subset("cidr_blocks")
        && subset("ipv6_cidr_blocks")
        && subset("prefix_list_ids")
        && subset("security_groups")
        && (boolean(want, "self") != Some(true) || boolean(have, "self") == Some(true))
}

/// `aws_vpc_security_group_ingress_rule` and `..._egress_rule`: one AWS rule, with its own id.
pub struct VpcSecurityGroupRule {
    pub egress: bool,
}

#[async_trait]
impl ResourceKind for VpcSecurityGroupRule {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("security_group_id", A::required(Type::String).force_new())
                .attr("ip_protocol", A::required(Type::String))
                .attr("from_port", A::optional(Type::Number))
                .attr("to_port", A::optional(Type::Number))
                .attr("cidr_ipv4", A::optional(Type::String))
                .attr("cidr_ipv6", A::optional(Type::String))
                .attr("prefix_list_id", A::optional(Type::String))
                .attr("referenced_security_group_id", A::optional(Type::String))
                .attr("description", A::optional(Type::String))
                .attr("arn", A::computed(Type::String))
                .attr("security_group_rule_id", A::computed(Type::String)),
        )
        // A newer resource: its tags_all is computed only.
        .attr("tags_all", A::computed(Type::map(Type::String)))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        check_ports(config, &[], "from_port", "to_port", "ip_protocol", &mut errors);
        let sources = ["cidr_ipv4", "cidr_ipv6", "prefix_list_id", "referenced_security_group_id"];
        if sources.iter().filter(|s| config.get(s).is_some_and(|v| !v.is_null())).count() != 1 {
            errors.push(attr_err("security_group_id", format!("set exactly one of {}", sources.join(", "))));
        }
        errors
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let group = string(planned, "security_group_id").unwrap_or_default();
        let block = Obj::new()
            .set("from_port", planned.get("from_port").cloned().unwrap_or(Value::Null))
            .set("to_port", planned.get("to_port").cloned().unwrap_or(Value::Null))
            .set("protocol", planned.get("ip_protocol").cloned().unwrap_or(Value::Null))
            .set("cidr_blocks", string_list(string(planned, "cidr_ipv4")))
            .set("ipv6_cidr_blocks", string_list(string(planned, "cidr_ipv6")))
            .set("prefix_list_ids", string_list(string(planned, "prefix_list_id")))
            .set("security_groups", string_set(string(planned, "referenced_security_group_id")))
            .set("description", planned.get("description").cloned().unwrap_or(Value::Null))
            .build();
        let spec = tag_spec(aws, ResourceType::SecurityGroupRule, planned, Some(token));
        let rule_id = if self.egress {
            let out = aws.ec2.authorize_security_group_egress().group_id(&group).ip_permissions(permission(&block, &group)).set_tag_specifications(spec).send().await.map_err(|e| aws.error("ec2", e))?;
            out.security_group_rules().first().and_then(|r| r.security_group_rule_id()).map(str::to_string)
        } else {
            let out = aws.ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(permission(&block, &group)).set_tag_specifications(spec).send().await.map_err(|e| aws.error("ec2", e))?;
            out.security_group_rules().first().and_then(|r| r.security_group_rule_id()).map(str::to_string)
        };
        let id = rule_id.ok_or_else(|| ProviderError::Api { service: "ec2".into(), code: "NoRuleId".into(), message: "AWS returned no rule id".into() })?;
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        retry_new(|| async { self.read(aws, std::slice::from_ref(&stub)).await?.pop().flatten().ok_or_else(|| not_found("security group rule", &id)) }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let rules = each_set(by_values("security-group-rule-id", &ids(objects)), |filters| async move {
            let pages: Vec<_> = aws.ec2.describe_security_group_rules().set_filters(Some(filters)).into_paginator().items().send().collect().await;
            pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
        })
        .await?;
        let mut found = BTreeMap::new();
        for rule in rules {
            if rule.is_egress() != Some(self.egress) {
                continue;
            }
            let id = rule.security_group_rule_id().unwrap_or_default().to_string();
            let protocol = rule.ip_protocol().map(normalize_protocol);
            let all = protocol.as_deref() == Some("-1");
            let obj = Obj::new()
                .s("id", Some(&id))
                .s("security_group_rule_id", Some(&id))
                .s("arn", Some(&aws.arn("ec2", &format!("security-group-rule/{id}"))))
                .s("security_group_id", rule.group_id())
                .s("ip_protocol", protocol.as_deref())
                .n("from_port", if all { None } else { rule.from_port().map(f64::from) })
                .n("to_port", if all { None } else { rule.to_port().map(f64::from) })
                .s("cidr_ipv4", rule.cidr_ipv4())
                .s("cidr_ipv6", rule.cidr_ipv6())
                .s("prefix_list_id", rule.prefix_list_id())
                .s("referenced_security_group_id", rule.referenced_group_info().and_then(|g| g.group_id()))
                .s("description", rule.description());
            found.insert(id.clone(), with_ec2_tags(obj, aws, rule.tags(), prior_for(objects, &id)).build());
        }
        Ok(in_order(objects, found.into_iter().collect()))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let request = SecurityGroupRuleRequest::builder()
            .set_ip_protocol(string(planned, "ip_protocol").map(|p| normalize_protocol(&p)))
            .set_from_port(int(planned, "from_port"))
            .set_to_port(int(planned, "to_port"))
            .set_cidr_ipv4(string(planned, "cidr_ipv4"))
            .set_cidr_ipv6(string(planned, "cidr_ipv6"))
            .set_prefix_list_id(string(planned, "prefix_list_id"))
            .set_referenced_group_id(string(planned, "referenced_security_group_id"))
            .set_description(string(planned, "description"))
            .build();
        aws.ec2
            .modify_security_group_rules()
            .set_group_id(string(prior, "security_group_id"))
            .security_group_rules(SecurityGroupRuleUpdate::builder().security_group_rule_id(&id).security_group_rule(request).build())
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        update_tags(aws, &id, prior, planned).await?;
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        self.read(aws, std::slice::from_ref(&stub)).await?.pop().flatten().ok_or_else(|| not_found("security group rule", &id))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let group = string(prior, "security_group_id");
        let result = if self.egress {
            aws.ec2.revoke_security_group_egress().set_group_id(group).security_group_rule_ids(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        } else {
            aws.ec2.revoke_security_group_ingress().set_group_id(group).security_group_rule_ids(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        };
        result.or_else(ignore_not_found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(from: i64, to: i64, protocol: &str) -> Value {
        Value::map([("from_port", Value::number(from)), ("to_port", Value::number(to)), ("protocol", Value::string(protocol))])
    }

    #[test]
    fn port_ranges_are_checked_per_protocol() {
        let check = |r: &Value| {
            let mut errors = Vec::new();
            check_ports(r, &[PathStep::Attr("ingress".into()), PathStep::Index(0)], "from_port", "to_port", "protocol", &mut errors);
            errors
        };
        assert!(check(&rule(80, 80, "tcp")).is_empty());
        assert!(check(&rule(0, 0, "-1")).is_empty());
        assert!(check(&rule(-1, -1, "icmp")).is_empty());
        let empty = check(&rule(443, 80, "tcp"));
        assert_eq!(empty.len(), 1);
        assert!(empty[0].message.contains("443-80 is empty"));
        assert_eq!(empty[0].path, vec![PathStep::Attr("ingress".into()), PathStep::Index(0), PathStep::Attr("from_port".into())]);
        assert!(check(&rule(0, 70000, "udp"))[0].message.contains("70000 is not a port"));
        assert!(check(&rule(1, 2, "carrier-pigeon"))[0].message.contains("is not a protocol"));
    }

    #[test]
    fn protocols_are_spelled_as_aws_spells_them() {
        assert_eq!(normalize_protocol("all"), "-1");
        assert_eq!(normalize_protocol("6"), "tcp");
        assert_eq!(normalize_protocol("UDP"), "udp");
        assert_eq!(normalize_protocol("47"), "47");
    }
}
