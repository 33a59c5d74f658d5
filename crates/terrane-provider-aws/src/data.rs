//! Data sources: `aws_caller_identity`, `aws_region`, `aws_partition`,
//! `aws_availability_zones`, `aws_availability_zone`, `aws_ami`, `aws_vpc`,
//! `aws_subnet`, `aws_subnets`, `aws_security_group(s)`,
//! `aws_internet_gateway`, `aws_s3_bucket`, and
//! `aws_iam_policy_document` (computed here, as Terraform does, without a call).

use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;
use terrane_core::{Type, Value};
use terrane_provider::{AttributeSchema as A, BlockSchema, Nesting, ProviderError, Schema};

use crate::attrs::{blocks, boolean, string, string_list, string_map, strings, Obj};
use crate::client::Aws;
use crate::ec2::{filter, tag_map};
use crate::kind::DataKind;

pub(crate) fn filter_block() -> BlockSchema {
    BlockSchema {
        nesting: Nesting::Set,
        min_items: 0,
        max_items: None,
        force_new: false,
        body: Schema::new().attr("name", A::required(Type::String)).attr("values", A::required(Type::set(Type::String))),
    }
}

/// The `filter` blocks and `tags` of a lookup as EC2 filters.
pub(crate) fn filters(config: &Value) -> Vec<Filter> {
    let mut out: Vec<Filter> = blocks(config, "filter")
        .into_iter()
        .filter_map(|f| Some(filter(&string(f, "name")?, strings(f, "values"))))
        .collect();
    for (k, v) in string_map(config, "tags") {
        out.push(filter(&format!("tag:{k}"), [v]));
    }
    out
}

pub(crate) fn none_found(what: &str) -> ProviderError {
    ProviderError::Invalid(format!("no {what} matches the lookup: loosen the filters or check the region"))
}

pub struct CallerIdentity;

#[async_trait]
impl DataKind for CallerIdentity {
    fn supported(&self) -> Schema {
        ["account_id", "arn", "user_id"].iter().fold(Schema::new(), |s, n| s.attr(n, A::computed(Type::String)))
    }

    async fn read(&self, aws: &Aws, _config: &Value) -> Result<Value, ProviderError> {
        let who = aws.sts.get_caller_identity().send().await.map_err(|e| aws.error("sts", e))?;
        Ok(Obj::new().s("id", who.account()).s("account_id", who.account()).s("arn", who.arn()).s("user_id", who.user_id()).build())
    }
}

pub struct Region;

#[async_trait]
impl DataKind for Region {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("name", A::optional_computed(Type::String))
            .attr("description", A::computed(Type::String))
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let name = string(config, "name").unwrap_or_else(|| aws.region.clone());
        Ok(Obj::new()
            .s("id", Some(&name))
            .s("name", Some(&name))
            .s("region", Some(&name))
            .s("endpoint", Some(&format!("ec2.{name}.amazonaws.com")))
            .s("description", Some(&name))
            .build())
    }
}

pub struct AvailabilityZones;

#[async_trait]
impl DataKind for AvailabilityZones {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("state", A::optional(Type::String))
            .attr("names", A::computed(Type::list(Type::String)))
            .attr("zone_ids", A::computed(Type::list(Type::String)))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let mut fs = filters(config);
        if let Some(state) = string(config, "state") {
            fs.push(filter("state", [state]));
        }
        let out = aws.ec2.describe_availability_zones().set_filters(Some(fs)).send().await.map_err(|e| aws.error("ec2", e))?;
        let mut zones: Vec<(&str, &str)> =
            out.availability_zones().iter().filter_map(|z| Some((z.zone_name()?, z.zone_id().unwrap_or_default()))).collect();
        zones.sort();
        Ok(Obj::from(config)
            .s("id", Some(&aws.region))
            .set("names", string_list(zones.iter().map(|z| z.0)))
            .set("zone_ids", string_list(zones.iter().map(|z| z.1)))
            .build())
    }
}

pub struct Ami;

#[async_trait]
impl DataKind for Ami {
    fn supported(&self) -> Schema {
        ["image_id", "name", "architecture", "creation_date", "owner_id", "description", "root_device_name", "virtualization_type"]
            .iter()
            .fold(Schema::new(), |s, n| s.attr(n, A::computed(Type::String)))
            .attr("owners", A::optional(Type::list(Type::String)))
            .attr("most_recent", A::optional(Type::Bool))
            .attr("name_regex", A::optional(Type::String))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let owners = strings(config, "owners");
        let out = aws
            .ec2
            .describe_images()
            .set_owners((!owners.is_empty()).then_some(owners))
            .set_filters(Some(filters(config)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let pattern = match string(config, "name_regex") {
            Some(p) => Some(regex::Regex::new(&p).map_err(|e| ProviderError::Invalid(format!("name_regex is not a regular expression: {e}")))?),
            None => None,
        };
        let mut images: Vec<_> =
            out.images().iter().filter(|i| pattern.as_ref().is_none_or(|re| re.is_match(i.name().unwrap_or_default()))).collect();
        images.sort_by(|a, b| b.creation_date().cmp(&a.creation_date()));
        let image = match images.as_slice() {
            [] => return Err(none_found("AMI")),
            [one] => one,
            [newest, ..] if boolean(config, "most_recent") == Some(true) => newest,
            many => {
                return Err(ProviderError::Invalid(format!(
                    "{} AMIs match the lookup: narrow the filters or set most_recent = true",
                    many.len()
                )))
            }
        };
        Ok(Obj::from(config)
            .s("id", image.image_id())
            .s("image_id", image.image_id())
            .s("name", image.name())
            .s("architecture", image.architecture().map(|a| a.as_str()))
            .s("creation_date", image.creation_date())
            .s("owner_id", image.owner_id())
            .s("description", image.description())
            .s("root_device_name", image.root_device_name())
            .s("virtualization_type", image.virtualization_type().map(|v| v.as_str()))
            .build())
    }
}

pub struct VpcLookup;

#[async_trait]
impl DataKind for VpcLookup {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("id", A::optional_computed(Type::String))
            .attr("default", A::optional_computed(Type::Bool))
            .attr("cidr_block", A::optional_computed(Type::String))
            .attr("tags", A::optional_computed(Type::map(Type::String)))
            .attr("arn", A::computed(Type::String))
            .attr("owner_id", A::computed(Type::String))
            .attr("instance_tenancy", A::computed(Type::String))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let mut fs = filters(config);
        if let Some(id) = string(config, "id") {
            fs.push(filter("vpc-id", [id]));
        }
        if let Some(default) = boolean(config, "default") {
            fs.push(filter("is-default", [default.to_string()]));
        }
        if let Some(cidr) = string(config, "cidr_block") {
            fs.push(filter("cidr", [cidr]));
        }
        let out = aws.ec2.describe_vpcs().set_filters(Some(fs)).send().await.map_err(|e| aws.error("ec2", e))?;
        let vpc = match out.vpcs() {
            [one] => one,
            [] => return Err(none_found("VPC")),
            many => return Err(ProviderError::Invalid(format!("{} VPCs match the lookup: it must match exactly one", many.len()))),
        };
        let id = vpc.vpc_id().unwrap_or_default();
        Ok(Obj::from(config)
            .s("id", Some(id))
            .b("default", vpc.is_default())
            .s("cidr_block", vpc.cidr_block())
            .set("tags", crate::attrs::map_value(&tag_map(vpc.tags())))
            .s("arn", Some(&aws.owned_arn("ec2", vpc.owner_id(), &format!("vpc/{id}"))))
            .s("owner_id", vpc.owner_id())
            .s("instance_tenancy", vpc.instance_tenancy().map(|t| t.as_str()))
            .build())
    }
}

pub struct Subnets;

#[async_trait]
impl DataKind for Subnets {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("tags", A::optional_computed(Type::map(Type::String)))
            .attr("ids", A::computed(Type::list(Type::String)))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let items: Vec<_> = aws.ec2.describe_subnets().set_filters(Some(filters(config))).into_paginator().items().send().collect().await;
        let mut ids = Vec::new();
        for subnet in items {
            ids.extend(subnet.map_err(|e| aws.error("ec2", e))?.subnet_id().map(str::to_string));
        }
        ids.sort();
        Ok(Obj::from(config).s("id", Some(&aws.region)).set("ids", string_list(ids)).build())
    }
}

pub struct SecurityGroupLookup;

#[async_trait]
impl DataKind for SecurityGroupLookup {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("id", A::optional_computed(Type::String))
            .attr("name", A::optional_computed(Type::String))
            .attr("vpc_id", A::optional_computed(Type::String))
            .attr("tags", A::optional_computed(Type::map(Type::String)))
            .attr("description", A::computed(Type::String))
            .attr("arn", A::computed(Type::String))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let mut fs = filters(config);
        for (attr, name) in [("id", "group-id"), ("name", "group-name"), ("vpc_id", "vpc-id")] {
            if let Some(v) = string(config, attr) {
                fs.push(filter(name, [v]));
            }
        }
        let out = aws.ec2.describe_security_groups().set_filters(Some(fs)).send().await.map_err(|e| aws.error("ec2", e))?;
        let group = match out.security_groups() {
            [one] => one,
            [] => return Err(none_found("security group")),
            many => return Err(ProviderError::Invalid(format!("{} security groups match the lookup: it must match exactly one", many.len()))),
        };
        let id = group.group_id().unwrap_or_default();
        Ok(Obj::from(config)
            .s("id", Some(id))
            .s("name", group.group_name())
            .s("vpc_id", group.vpc_id())
            .s("description", group.description())
            .set("tags", crate::attrs::map_value(&tag_map(group.tags())))
            .s("arn", Some(&aws.owned_arn("ec2", group.owner_id(), &format!("security-group/{id}"))))
            .build())
    }
}

pub struct PolicyDocument;

#[async_trait]
impl DataKind for PolicyDocument {
    fn supported(&self) -> Schema {
        let principals = Schema::new().attr("type", A::required(Type::String)).attr("identifiers", A::required(Type::set(Type::String)));
        let condition = Schema::new()
            .attr("test", A::required(Type::String))
            .attr("variable", A::required(Type::String))
            .attr("values", A::required(Type::list(Type::String)));
        let list = |body: Schema| BlockSchema { nesting: Nesting::List, min_items: 0, max_items: None, force_new: false, body };
        let set = |body: Schema| BlockSchema { nesting: Nesting::Set, ..list(body) };
        let statement = Schema::new()
            .attr("sid", A::optional(Type::String))
            .attr("effect", A::optional(Type::String))
            .attr("actions", A::optional(Type::set(Type::String)))
            .attr("not_actions", A::optional(Type::set(Type::String)))
            .attr("resources", A::optional(Type::set(Type::String)))
            .attr("not_resources", A::optional(Type::set(Type::String)))
            .block("principals", set(principals.clone()))
            .block("not_principals", set(principals))
            .block("condition", set(condition));
        Schema::new()
            .attr("version", A::optional(Type::String))
            .attr("policy_id", A::optional(Type::String))
            .attr("json", A::computed(Type::String))
            .attr("minified_json", A::computed(Type::String))
            .block("statement", list(statement))
    }

    async fn read(&self, _aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let document = policy_json(config)?;
        let pretty = serde_json::to_string_pretty(&document).map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let minified = document.to_string();
        let id = format!("{:x}", crc32(minified.as_bytes()));
        Ok(Obj::from(config).s("json", Some(&pretty)).s("minified_json", Some(&minified)).s("id", Some(&id)).build())
    }
}

/// One string for one element, a list for more: IAM's own shorthand.
fn one_or_many(mut items: Vec<String>) -> serde_json::Value {
    items.sort();
    items.dedup();
    if items.len() == 1 {
        serde_json::Value::String(items.remove(0))
    } else {
        serde_json::Value::Array(items.into_iter().map(serde_json::Value::String).collect())
    }
}

fn principal_json(blocks_: Vec<&Value>) -> serde_json::Value {
    // A lone `*` principal of type `*` is written as "Principal": "*".
    if let [only] = blocks_.as_slice() {
        if string(only, "type").as_deref() == Some("*") && strings(only, "identifiers") == ["*"] {
            return serde_json::Value::String("*".into());
        }
    }
    let mut by_type: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for p in blocks_ {
        by_type.entry(string(p, "type").unwrap_or_default()).or_default().extend(strings(p, "identifiers"));
    }
    serde_json::Value::Object(by_type.into_iter().map(|(t, ids)| (t, one_or_many(ids))).collect())
}

pub fn policy_json(config: &Value) -> Result<serde_json::Value, ProviderError> {
    let mut doc = serde_json::Map::new();
    doc.insert("Version".into(), string(config, "version").unwrap_or_else(|| "2012-10-17".into()).into());
    if let Some(id) = string(config, "policy_id") {
        doc.insert("Id".into(), id.into());
    }
    let mut statements = Vec::new();
    for s in blocks(config, "statement") {
        let mut out = serde_json::Map::new();
        if let Some(sid) = string(s, "sid") {
            out.insert("Sid".into(), sid.into());
        }
        let effect = string(s, "effect").unwrap_or_else(|| "Allow".into());
        if effect != "Allow" && effect != "Deny" {
            return Err(ProviderError::Invalid(format!("statement effect must be Allow or Deny, got {effect:?}")));
        }
        out.insert("Effect".into(), effect.into());
        for (attr, key) in [("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"), ("not_resources", "NotResource")] {
            let items = strings(s, attr);
            if !items.is_empty() {
                out.insert(key.into(), one_or_many(items));
            }
        }
        for (attr, key) in [("principals", "Principal"), ("not_principals", "NotPrincipal")] {
            let found = blocks(s, attr);
            if !found.is_empty() {
                out.insert(key.into(), principal_json(found));
            }
        }
        let conditions = blocks(s, "condition");
        if !conditions.is_empty() {
            let mut tests: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>> = Default::default();
            for c in conditions {
                let values = strings(c, "values");
                let value = if values.len() == 1 { serde_json::Value::String(values[0].clone()) } else { values.into() };
                tests.entry(string(c, "test").unwrap_or_default()).or_default().insert(string(c, "variable").unwrap_or_default(), value);
            }
            out.insert("Condition".into(), serde_json::Value::Object(tests.into_iter().map(|(k, v)| (k, v.into())).collect()));
        }
        statements.push(serde_json::Value::Object(out));
    }
    doc.insert("Statement".into(), statements.into());
    Ok(serde_json::Value::Object(doc))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(pairs: Vec<(&str, Value)>) -> Value {
        Value::map(pairs)
    }

    #[test]
    fn policy_document_uses_iam_shorthand() {
        let config = Value::map([(
            "statement",
            Value::List(vec![statement(vec![
                ("actions", Value::set(vec![Value::string("s3:GetObject")])),
                ("resources", Value::set(vec![Value::string("arn:aws:s3:::b/*"), Value::string("arn:aws:s3:::b")])),
                ("principals", Value::List(vec![Value::map([("type", Value::string("*")), ("identifiers", Value::set(vec![Value::string("*")]))])])),
            ])]),
        )]);
        let doc = policy_json(&config).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                    "Principal": "*"
                }]
            })
        );
    }

    #[test]
    fn bad_effect_is_refused() {
        let config = Value::map([("statement", Value::List(vec![statement(vec![("effect", Value::string("Permit"))])]))]);
        assert!(policy_json(&config).unwrap_err().to_string().contains("Allow or Deny"));
    }
}

/// `aws_partition`: the partition of the configured region, known without a call.
pub struct Partition;

#[async_trait]
impl DataKind for Partition {
    fn supported(&self) -> Schema {
        ["partition", "dns_suffix", "reverse_dns_prefix"].iter().fold(Schema::new(), |s, n| s.attr(n, A::computed(Type::String)))
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let (partition, suffix, reverse) = match aws.region.as_str() {
            r if r.starts_with("cn-") => ("aws-cn", "amazonaws.com.cn", "cn.com.amazonaws"),
            r if r.starts_with("us-gov-") => ("aws-us-gov", "amazonaws.com", "com.amazonaws"),
            r if r.starts_with("us-iso-") => ("aws-iso", "c2s.ic.gov", "gov.ic.c2s"),
            r if r.starts_with("us-isob-") => ("aws-iso-b", "sc2s.sgov.gov", "gov.sgov.sc2s"),
            _ => ("aws", "amazonaws.com", "com.amazonaws"),
        };
        Ok(Obj::from(config)
            .s("id", Some(partition))
            .s("partition", Some(partition))
            .s("dns_suffix", Some(suffix))
            .s("reverse_dns_prefix", Some(reverse))
            .build())
    }
}

/// `aws_availability_zone`: one zone, by name, id or filters.
pub struct AvailabilityZone;

#[async_trait]
impl DataKind for AvailabilityZone {
    fn supported(&self) -> Schema {
        ["group_name", "name_suffix", "network_border_group", "opt_in_status", "parent_zone_id", "parent_zone_name", "region", "zone_type"]
            .iter()
            .fold(Schema::new(), |s, n| s.attr(n, A::computed(Type::String)))
            .attr("all_availability_zones", A::optional(Type::Bool))
            .attr("name", A::optional_computed(Type::String))
            .attr("zone_id", A::optional_computed(Type::String))
            .attr("state", A::optional_computed(Type::String))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let call = aws
            .ec2
            .describe_availability_zones()
            .set_zone_names(string(config, "name").map(|n| vec![n]))
            .set_zone_ids(string(config, "zone_id").map(|z| vec![z]))
            .set_all_availability_zones(boolean(config, "all_availability_zones"))
            .set_filters(Some(filters(config)).filter(|f| !f.is_empty()));
        let out = call.send().await.map_err(|e| aws.error("ec2", e))?;
        let wanted_state = string(config, "state");
        let zones: Vec<_> =
            out.availability_zones().iter().filter(|z| wanted_state.as_deref().is_none_or(|s| z.state().map(|st| st.as_str()) == Some(s))).collect();
        let zone = match zones.as_slice() {
            [one] => *one,
            [] => return Err(none_found("availability zone")),
            many => return Err(ProviderError::Invalid(format!("{} availability zones match the lookup: it must match exactly one", many.len()))),
        };
        let name = zone.zone_name().unwrap_or_default();
        let region = zone.region_name().unwrap_or(&aws.region);
        Ok(Obj::from(config)
            .s("id", Some(name))
            .s("name", Some(name))
            .s("zone_id", zone.zone_id())
            .s("state", zone.state().map(|s| s.as_str()))
            .s("region", Some(region))
            .s("name_suffix", Some(name.strip_prefix(region).unwrap_or(name)))
            .s("group_name", zone.group_name())
            .s("network_border_group", zone.network_border_group())
            .s("opt_in_status", zone.opt_in_status().map(|s| s.as_str()))
            .s("parent_zone_id", Some(zone.parent_zone_id().unwrap_or_default()))
            .s("parent_zone_name", Some(zone.parent_zone_name().unwrap_or_default()))
            .s("zone_type", zone.zone_type())
            .build())
    }
}

/// `aws_subnet`: one subnet, by id, its arguments, tags or filters.
pub struct SubnetLookup;

#[async_trait]
impl DataKind for SubnetLookup {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("id", A::optional_computed(Type::String))
            .attr("vpc_id", A::optional_computed(Type::String))
            .attr("cidr_block", A::optional_computed(Type::String))
            .attr("availability_zone", A::optional_computed(Type::String))
            .attr("availability_zone_id", A::optional_computed(Type::String))
            .attr("default_for_az", A::optional_computed(Type::Bool))
            .attr("state", A::optional_computed(Type::String))
            .attr("tags", A::optional_computed(Type::map(Type::String)))
            .attr("arn", A::computed(Type::String))
            .attr("owner_id", A::computed(Type::String))
            .attr("map_public_ip_on_launch", A::computed(Type::Bool))
            .attr("available_ip_address_count", A::computed(Type::Number))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let mut fs = filters(config);
        for (attr, name) in [
            ("vpc_id", "vpc-id"),
            ("cidr_block", "cidr-block"),
            ("availability_zone", "availability-zone"),
            ("availability_zone_id", "availability-zone-id"),
            ("state", "state"),
        ] {
            if let Some(value) = string(config, attr) {
                fs.push(filter(name, [value]));
            }
        }
        if let Some(default) = boolean(config, "default_for_az") {
            fs.push(filter("default-for-az", [default.to_string()]));
        }
        let out = aws
            .ec2
            .describe_subnets()
            .set_subnet_ids(string(config, "id").map(|id| vec![id]))
            .set_filters(Some(fs).filter(|f| !f.is_empty()))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let subnet = match out.subnets() {
            [one] => one,
            [] => return Err(none_found("subnet")),
            many => return Err(ProviderError::Invalid(format!("{} subnets match the lookup: it must match exactly one", many.len()))),
        };
        let id = subnet.subnet_id().unwrap_or_default();
        Ok(Obj::from(config)
            .s("id", Some(id))
            .s("arn", subnet.subnet_arn())
            .s("vpc_id", subnet.vpc_id())
            .s("cidr_block", subnet.cidr_block())
            .s("availability_zone", subnet.availability_zone())
            .s("availability_zone_id", subnet.availability_zone_id())
            .b("default_for_az", subnet.default_for_az())
            .s("state", subnet.state().map(|s| s.as_str()))
            .s("owner_id", subnet.owner_id())
            .b("map_public_ip_on_launch", subnet.map_public_ip_on_launch())
            .n("available_ip_address_count", subnet.available_ip_address_count().map(f64::from))
            .set("tags", crate::attrs::map_value(&tag_map(subnet.tags())))
            .build())
    }
}

/// `aws_internet_gateway`: one gateway, by id, tags or filters.
pub struct InternetGatewayLookup;

#[async_trait]
impl DataKind for InternetGatewayLookup {
    fn supported(&self) -> Schema {
        let field = |name: &str| (name.to_string(), terrane_core::types::ObjectAttr::required(Type::String));
        Schema::new()
            .attr("internet_gateway_id", A::optional_computed(Type::String))
            .attr("tags", A::optional_computed(Type::map(Type::String)))
            .attr("arn", A::computed(Type::String))
            .attr("owner_id", A::computed(Type::String))
            .attr("attachments", A::computed(Type::list(Type::Object([field("state"), field("vpc_id")].into_iter().collect()))))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let mut fs = filters(config);
        if let Some(id) = string(config, "internet_gateway_id") {
            fs.push(filter("internet-gateway-id", [id]));
        }
        let out = aws.ec2.describe_internet_gateways().set_filters(Some(fs)).send().await.map_err(|e| aws.error("ec2", e))?;
        let gateway = match out.internet_gateways() {
            [one] => one,
            [] => return Err(none_found("internet gateway")),
            many => return Err(ProviderError::Invalid(format!("{} internet gateways match the lookup: it must match exactly one", many.len()))),
        };
        let id = gateway.internet_gateway_id().unwrap_or_default();
        let attachments = gateway
            .attachments()
            .iter()
            .map(|a| {
                Value::map([
                    ("state", Value::string(a.state().map_or("", |s| s.as_str()))),
                    ("vpc_id", Value::string(a.vpc_id().unwrap_or_default())),
                ])
            })
            .collect();
        Ok(Obj::from(config)
            .s("id", Some(id))
            .s("internet_gateway_id", Some(id))
            .s("arn", Some(&aws.owned_arn("ec2", gateway.owner_id(), &format!("internet-gateway/{id}"))))
            .s("owner_id", gateway.owner_id())
            .set("attachments", Value::List(attachments))
            .set("tags", crate::attrs::map_value(&tag_map(gateway.tags())))
            .build())
    }
}

/// `aws_security_groups`: every group matching tags or filters.
pub struct SecurityGroupsLookup;

#[async_trait]
impl DataKind for SecurityGroupsLookup {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("tags", A::optional_computed(Type::map(Type::String)))
            .attr("ids", A::computed(Type::list(Type::String)))
            .attr("arns", A::computed(Type::list(Type::String)))
            .attr("vpc_ids", A::computed(Type::list(Type::String)))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let fs = filters(config);
        let pages: Vec<_> = aws.ec2.describe_security_groups().set_filters(Some(fs)).into_paginator().items().send().collect().await;
        let groups = pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))?;
        let ids: Vec<&str> = groups.iter().filter_map(|g| g.group_id()).collect();
        let arns: Vec<String> = groups
            .iter()
            .filter_map(|g| Some(aws.owned_arn("ec2", g.owner_id(), &format!("security-group/{}", g.group_id()?))))
            .collect();
        let vpcs: Vec<&str> = groups.iter().filter_map(|g| g.vpc_id()).collect();
        Ok(Obj::from(config)
            .s("id", Some(&aws.region))
            .set("ids", string_list(ids))
            .set("arns", string_list(arns))
            .set("vpc_ids", string_list(vpcs))
            .build())
    }
}

/// `aws_s3_bucket`: an existing bucket's ARN, region and domain names (its
/// website endpoint and hosted zone are not read yet, and stay null).
pub struct BucketLookup;

#[async_trait]
impl DataKind for BucketLookup {
    fn supported(&self) -> Schema {
        ["arn", "bucket_domain_name", "bucket_regional_domain_name", "region"]
            .iter()
            .fold(Schema::new(), |s, n| s.attr(n, A::computed(Type::String)))
            .attr("bucket", A::required(Type::String))
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let name = string(config, "bucket").unwrap_or_default();
        let located = aws.s3.get_bucket_location().bucket(&name).send().await.map_err(|e| crate::s3::s3_error(aws, e))?;
        // S3 answers no location for us-east-1.
        let region = located.location_constraint().map(|l| l.as_str().to_string()).filter(|l| !l.is_empty()).unwrap_or_else(|| "us-east-1".into());
        Ok(Obj::from(config)
            .s("id", Some(&name))
            .s("arn", Some(&format!("arn:aws:s3:::{name}")))
            .s("bucket_domain_name", Some(&format!("{name}.s3.amazonaws.com")))
            .s("bucket_regional_domain_name", Some(&format!("{name}.s3.{region}.amazonaws.com")))
            .s("region", Some(&region))
            .build())
    }
}
