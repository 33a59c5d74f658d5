//! Data sources over EC2 objects terrane also manages: `aws_instance`,
//! `aws_instances`, `aws_route_table`.

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, Instance as AwsInstance, InstanceAttributeName};
use terrane_core::types::ObjectAttr;
use terrane_core::{Type, Value};
use terrane_provider::{AttributeSchema as A, ProviderError, Schema};

use super::instance::{metadata_options_value, InstanceDetails};
use super::{filter, tag_map};
use crate::attrs::{map_value, string, string_list, string_map, string_set, strings, Obj};
use crate::client::Aws;
use crate::data::{filter_block, filters, none_found};
use crate::kind::DataKind;

fn object_of(fields: &[(&str, Type)]) -> Type {
    Type::Object(fields.iter().map(|(name, ty)| (name.to_string(), ObjectAttr::required(ty.clone()))).collect())
}

/// The lookup's filters, with `instance_tags` as tag filters.
fn instance_filters(config: &Value) -> Vec<Filter> {
    let mut out = filters(config);
    for (k, v) in string_map(config, "instance_tags") {
        out.push(filter(&format!("tag:{k}"), [v]));
    }
    out
}

async fn describe(aws: &Aws, ids: Option<Vec<String>>, filters: Vec<Filter>) -> Result<Vec<AwsInstance>, ProviderError> {
    let pages: Vec<_> = aws
        .ec2
        .describe_instances()
        .set_instance_ids(ids)
        .set_filters(Some(filters).filter(|f| !f.is_empty()))
        .into_paginator()
        .send()
        .collect()
        .await;
    let pages = pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))?;
    Ok(pages.iter().flat_map(|p| p.reservations()).flat_map(|r| r.instances()).cloned().collect())
}

/// `aws_instance`: one instance, by id, tags or filters.
pub struct InstanceLookup;

#[async_trait]
impl DataKind for InstanceLookup {
    fn supported(&self) -> Schema {
        let text = [
            "ami",
            "arn",
            "availability_zone",
            "host_id",
            "host_resource_group_arn",
            "iam_instance_profile",
            "instance_state",
            "instance_type",
            "key_name",
            "launch_time",
            "network_interface_id",
            "outpost_arn",
            "placement_group",
            "private_dns",
            "private_ip",
            "public_dns",
            "public_ip",
            "subnet_id",
            "tenancy",
        ];
        let flags = ["associate_public_ip_address", "disable_api_stop", "disable_api_termination", "ebs_optimized", "monitoring", "source_dest_check"];
        let device = |root: bool| {
            let mut fields = vec![
                ("delete_on_termination", Type::Bool),
                ("device_name", Type::String),
                ("encrypted", Type::Bool),
                ("iops", Type::Number),
                ("kms_key_id", Type::String),
                ("tags", Type::map(Type::String)),
                ("throughput", Type::Number),
                ("volume_id", Type::String),
                ("volume_size", Type::Number),
                ("volume_type", Type::String),
            ];
            if !root {
                fields.push(("snapshot_id", Type::String));
            }
            Type::set(object_of(&fields))
        };
        let metadata = Type::list(object_of(&[
            ("http_endpoint", Type::String),
            ("http_protocol_ipv6", Type::String),
            ("http_put_response_hop_limit", Type::Number),
            ("http_tokens", Type::String),
            ("instance_metadata_tags", Type::String),
        ]));
        let schema = text.iter().fold(Schema::new(), |s, n| s.attr(n, A::computed(Type::String)));
        flags
            .iter()
            .fold(schema, |s, n| s.attr(n, A::computed(Type::Bool)))
            .attr("instance_id", A::optional(Type::String))
            .attr("instance_tags", A::optional_computed(Type::map(Type::String)))
            .attr("tags", A::optional_computed(Type::map(Type::String)))
            .attr("placement_partition_number", A::computed(Type::Number))
            .attr("ipv6_addresses", A::computed(Type::set(Type::String)))
            .attr("secondary_private_ips", A::computed(Type::set(Type::String)))
            .attr("security_groups", A::computed(Type::set(Type::String)))
            .attr("vpc_security_group_ids", A::computed(Type::set(Type::String)))
            .attr("credit_specification", A::computed(Type::list(object_of(&[("cpu_credits", Type::String)]))))
            .attr("metadata_options", A::computed(metadata))
            .attr("root_block_device", A::computed(device(true)))
            .attr("ebs_block_device", A::computed(device(false)))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let found = describe(aws, string(config, "instance_id").map(|id| vec![id]), instance_filters(config)).await?;
        // Terminated instances are never what a lookup means.
        let live: Vec<&AwsInstance> = found.iter().filter(|i| i.state().and_then(|s| s.name()).is_none_or(|n| n.as_str() != "terminated")).collect();
        let instance = match live.as_slice() {
            [one] => *one,
            [] => return Err(none_found("instance")),
            many => return Err(ProviderError::Invalid(format!("{} instances match the lookup: it must match exactly one", many.len()))),
        };
        let id = instance.instance_id().unwrap_or_default().to_string();
        let details = InstanceDetails::read(aws, &[instance]).await?;
        let (root, others) = details.block_devices(aws, instance, &Value::Null);
        let (stop, termination) = tokio::try_join!(
            instance_flag(aws, &id, InstanceAttributeName::DisableApiStop),
            instance_flag(aws, &id, InstanceAttributeName::DisableApiTermination)
        )?;
        let primary = instance.network_interfaces().iter().find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0));
        let placement = instance.placement();
        let private_ips: Vec<&str> = primary
            .map(|n| n.private_ip_addresses().iter().filter(|a| a.primary() != Some(true)).filter_map(|a| a.private_ip_address()).collect())
            .unwrap_or_default();
        Ok(Obj::from(config)
            .s("id", Some(&id))
            .s("instance_id", Some(&id))
            .s("arn", Some(&aws.arn("ec2", &format!("instance/{id}"))))
            .s("ami", instance.image_id())
            .b("associate_public_ip_address", Some(instance.public_ip_address().is_some()))
            .s("availability_zone", placement.and_then(|p| p.availability_zone()))
            .set("credit_specification", details.credit_specification(instance))
            .b("disable_api_stop", Some(stop))
            .b("disable_api_termination", Some(termination))
            .set("ebs_block_device", Value::set(others.iter().map(volume_tags_only).collect()))
            .b("ebs_optimized", Some(instance.ebs_optimized().unwrap_or(false)))
            .s("host_id", Some(placement.and_then(|p| p.host_id()).unwrap_or_default()))
            .s("host_resource_group_arn", Some(placement.and_then(|p| p.host_resource_group_arn()).unwrap_or_default()))
            .s("iam_instance_profile", Some(instance.iam_instance_profile().and_then(|p| p.arn()).and_then(|a| a.rsplit('/').next()).unwrap_or_default()))
            .s("instance_state", instance.state().and_then(|s| s.name()).map(|n| n.as_str()))
            .s("instance_type", instance.instance_type().map(|t| t.as_str()))
            .set("ipv6_addresses", string_set(instance.network_interfaces().iter().flat_map(|n| n.ipv6_addresses()).filter_map(|a| a.ipv6_address())))
            .s("key_name", Some(instance.key_name().unwrap_or_default()))
            .s("launch_time", instance.launch_time().and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()).as_deref())
            .set("metadata_options", metadata_options_value(instance, &Value::Null))
            .b("monitoring", Some(instance.monitoring().and_then(|m| m.state()).is_some_and(|s| matches!(s.as_str(), "enabled" | "pending"))))
            .s("network_interface_id", primary.and_then(|n| n.network_interface_id()))
            .s("outpost_arn", Some(instance.outpost_arn().unwrap_or_default()))
            .s("placement_group", Some(placement.and_then(|p| p.group_name()).unwrap_or_default()))
            .n("placement_partition_number", Some(f64::from(placement.and_then(|p| p.partition_number()).unwrap_or(0))))
            .s("private_dns", instance.private_dns_name())
            .s("private_ip", instance.private_ip_address())
            .s("public_dns", instance.public_dns_name())
            .s("public_ip", Some(instance.public_ip_address().unwrap_or_default()))
            .set("root_block_device", Value::set(root.iter().map(volume_tags_only).collect()))
            .set("secondary_private_ips", string_set(private_ips))
            .set("security_groups", string_set(instance.security_groups().iter().filter_map(|g| g.group_name())))
            .b("source_dest_check", Some(instance.source_dest_check().unwrap_or(true)))
            .s("subnet_id", instance.subnet_id())
            .set("tags", map_value(&tag_map(instance.tags())))
            .s("tenancy", placement.and_then(|p| p.tenancy()).map(|t| t.as_str()))
            .set("vpc_security_group_ids", string_set(instance.security_groups().iter().filter_map(|g| g.group_id())))
            .build())
    }
}

/// A device block for a data source: all the volume's tags, no `tags_all`.
fn volume_tags_only(device: &Value) -> Value {
    let mut fields = device.as_map().cloned().unwrap_or_default();
    let all = fields.remove("tags_all").unwrap_or(Value::Null);
    fields.insert("tags".into(), all);
    Value::Map(fields)
}

async fn instance_flag(aws: &Aws, id: &str, name: InstanceAttributeName) -> Result<bool, ProviderError> {
    let out = aws.ec2.describe_instance_attribute().instance_id(id).attribute(name.clone()).send().await.map_err(|e| aws.error("ec2", e))?;
    let value = if name == InstanceAttributeName::DisableApiStop { out.disable_api_stop() } else { out.disable_api_termination() };
    Ok(value.and_then(|v| v.value()).unwrap_or(false))
}

/// `aws_instances`: the ids and addresses of the instances that match.
pub struct InstancesLookup;

#[async_trait]
impl DataKind for InstancesLookup {
    fn supported(&self) -> Schema {
        ["ids", "private_ips", "public_ips", "ipv6_addresses"]
            .iter()
            .fold(Schema::new(), |s, n| s.attr(n, A::computed(Type::list(Type::String))))
            .attr("instance_tags", A::optional_computed(Type::map(Type::String)))
            .attr("instance_state_names", A::optional(Type::set(Type::String)))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let mut fs = instance_filters(config);
        // Left out, only running instances count, as in Terraform.
        let states = Some(strings(config, "instance_state_names")).filter(|s| !s.is_empty()).unwrap_or_else(|| vec!["running".to_string()]);
        fs.push(filter("instance-state-name", states));
        let found = describe(aws, None, fs).await?;
        let ipv6: Vec<&str> = found.iter().flat_map(|i| i.network_interfaces()).flat_map(|n| n.ipv6_addresses()).filter_map(|a| a.ipv6_address()).collect();
        Ok(Obj::from(config)
            .s("id", Some(&aws.region))
            .set("ids", string_list(found.iter().filter_map(|i| i.instance_id())))
            .set("private_ips", string_list(found.iter().filter_map(|i| i.private_ip_address())))
            .set("public_ips", string_list(found.iter().filter_map(|i| i.public_ip_address())))
            .set("ipv6_addresses", string_list(ipv6))
            .build())
    }
}

/// `aws_route_table`: one table, by id, subnet, gateway, VPC, tags or filters.
pub struct RouteTableLookup;

const ROUTE_FIELDS: [&str; 14] = [
    "carrier_gateway_id",
    "cidr_block",
    "core_network_arn",
    "destination_prefix_list_id",
    "egress_only_gateway_id",
    "gateway_id",
    "instance_id",
    "ipv6_cidr_block",
    "local_gateway_id",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
];

#[async_trait]
impl DataKind for RouteTableLookup {
    fn supported(&self) -> Schema {
        let route: Vec<(&str, Type)> = ROUTE_FIELDS.iter().map(|f| (*f, Type::String)).collect();
        let association = object_of(&[
            ("gateway_id", Type::String),
            ("main", Type::Bool),
            ("route_table_association_id", Type::String),
            ("route_table_id", Type::String),
            ("subnet_id", Type::String),
        ]);
        Schema::new()
            .attr("route_table_id", A::optional_computed(Type::String))
            .attr("subnet_id", A::optional_computed(Type::String))
            .attr("gateway_id", A::optional_computed(Type::String))
            .attr("vpc_id", A::optional_computed(Type::String))
            .attr("tags", A::optional_computed(Type::map(Type::String)))
            .attr("arn", A::computed(Type::String))
            .attr("owner_id", A::computed(Type::String))
            .attr("associations", A::computed(Type::list(association)))
            .attr("routes", A::computed(Type::list(object_of(&route))))
            .block("filter", filter_block())
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let mut fs = filters(config);
        for (attr, name) in [("route_table_id", "route-table-id"), ("subnet_id", "association.subnet-id"), ("gateway_id", "association.gateway-id"), ("vpc_id", "vpc-id")] {
            if let Some(value) = string(config, attr) {
                fs.push(filter(name, [value]));
            }
        }
        let tables = super::route::describe_tables(aws, vec![fs]).await?;
        let table = match tables.as_slice() {
            [one] => one,
            [] => return Err(none_found("route table")),
            many => return Err(ProviderError::Invalid(format!("{} route tables match the lookup: it must match exactly one", many.len()))),
        };
        let id = table.route_table_id().unwrap_or_default();
        let routes: Vec<Value> = table
            .routes()
            .iter()
            .filter(|r| r.gateway_id() != Some("local"))
            .map(|r| {
                let field = |name: &str| match name {
                    "carrier_gateway_id" => r.carrier_gateway_id(),
                    "cidr_block" => r.destination_cidr_block(),
                    "core_network_arn" => r.core_network_arn(),
                    "destination_prefix_list_id" => r.destination_prefix_list_id(),
                    "egress_only_gateway_id" => r.egress_only_internet_gateway_id(),
                    "gateway_id" => r.gateway_id(),
                    "instance_id" => r.instance_id(),
                    "ipv6_cidr_block" => r.destination_ipv6_cidr_block(),
                    "local_gateway_id" => r.local_gateway_id(),
                    "nat_gateway_id" => r.nat_gateway_id(),
                    "network_interface_id" => r.network_interface_id(),
                    "transit_gateway_id" => r.transit_gateway_id(),
                    "vpc_endpoint_id" => None,
                    _ => r.vpc_peering_connection_id(),
                };
                ROUTE_FIELDS.iter().fold(Obj::new(), |o, f| o.s(f, Some(field(f).unwrap_or_default()))).build()
            })
            .collect();
        let associations: Vec<Value> = table
            .associations()
            .iter()
            .map(|a| {
                Obj::new()
                    .s("gateway_id", Some(a.gateway_id().unwrap_or_default()))
                    .b("main", Some(a.main().unwrap_or(false)))
                    .s("route_table_association_id", Some(a.route_table_association_id().unwrap_or_default()))
                    .s("route_table_id", Some(a.route_table_id().unwrap_or_default()))
                    .s("subnet_id", Some(a.subnet_id().unwrap_or_default()))
                    .build()
            })
            .collect();
        Ok(Obj::from(config)
            .s("id", Some(id))
            .s("route_table_id", Some(id))
            .s("arn", Some(&aws.owned_arn("ec2", table.owner_id(), &format!("route-table/{id}"))))
            .s("owner_id", table.owner_id())
            .s("vpc_id", table.vpc_id())
            .set("routes", Value::List(routes))
            .set("associations", Value::List(associations))
            .set("tags", map_value(&tag_map(table.tags())))
            .build())
    }
}
