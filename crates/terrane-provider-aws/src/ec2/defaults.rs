//! The objects AWS makes by itself, taken under management:
//! `aws_default_vpc`, `aws_default_security_group`, `aws_default_route_table`.
//! Creating one adopts what AWS has; destroying one forgets it (AWS keeps
//! these objects as long as their VPC lives), except a default VPC with
//! `force_destroy`.

use async_trait::async_trait;
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, PlanRequest, ProviderError, Schema};

use super::route::{check_routes, describe_tables, plan_routes, routes_type, sync_routes, table_values, DEFAULT_TABLE_ROUTE_FIELDS as FIELDS};
use super::security_group::{describe_groups, group_values, rules_type, sync_rules};
use super::vpc::{describe as describe_vpcs, filter_ids, ignore_not_found, not_found, retry_dependency, set_dns_attributes, tags_schema};
use super::{by_values, filter, ids, in_order, update_tags};
use crate::attrs::{boolean, string, Obj};
use crate::client::Aws;
use crate::kind::ResourceKind;

pub struct DefaultVpc;

#[async_trait]
impl ResourceKind for DefaultVpc {
    fn supported(&self) -> Schema {
        let computed = [
            "arn",
            "cidr_block",
            "default_network_acl_id",
            "default_route_table_id",
            "default_security_group_id",
            "dhcp_options_id",
            "instance_tenancy",
            "main_route_table_id",
            "owner_id",
        ];
        computed
            .iter()
            .fold(Schema::new(), |s, name| s.attr(name, A::computed(Type::String)))
            .attr("enable_dns_support", A::optional(Type::Bool))
            .attr("enable_dns_hostnames", A::optional(Type::Bool))
            .attr("force_destroy", A::optional(Type::Bool))
            .attr("existing_default_vpc", A::computed(Type::Bool))
            .attr("tags", A::optional(Type::map(Type::String)))
            .attr("tags_all", A::optional_computed(Type::map(Type::String)))
    }

    /// Terraform's provider gives a default VPC DNS support and hostnames.
    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("enable_dns_support", Value::Bool(true)),
            ("enable_dns_hostnames", Value::Bool(true)),
            ("force_destroy", Value::Bool(false)),
            ("assign_generated_ipv6_cidr_block", Value::Bool(false)),
        ]
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let found = aws.ec2.describe_vpcs().filters(filter("is-default", ["true".to_string()])).send().await.map_err(|e| aws.error("ec2", e))?;
        let (id, existing) = match found.vpcs().first().and_then(|v| v.vpc_id()) {
            Some(id) => (id.to_string(), true),
            None => {
                let made = aws.ec2.create_default_vpc().send().await.map_err(|e| aws.error("ec2", e))?;
                (made.vpc().and_then(|v| v.vpc_id()).unwrap_or_default().to_string(), false)
            }
        };
        let current = read_vpc(aws, &Obj::new().s("id", Some(&id)).build(), existing).await?;
        set_dns_attributes(aws, &id, &current, planned, false).await?;
        update_tags(aws, &id, &current, planned).await?;
        read_vpc(aws, &Obj::from(planned).s("id", Some(&id)).build(), existing).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let found = describe_vpcs(aws, filter_ids(ids(objects)), objects).await?;
        Ok(in_order(objects, found)
            .into_iter()
            .zip(objects)
            .map(|(found, prior)| found.map(|vpc| default_vpc_value(vpc, prior, boolean(prior, "existing_default_vpc").unwrap_or(true))))
            .collect())
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        set_dns_attributes(aws, &id, prior, planned, false).await?;
        update_tags(aws, &id, prior, planned).await?;
        read_vpc(aws, &Obj::from(planned).s("id", Some(&id)).build(), boolean(prior, "existing_default_vpc").unwrap_or(true)).await
    }

    /// Forgotten, unless `force_destroy`: then the VPC goes, with the
    /// subnets and gateway AWS made in it.
    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        if boolean(prior, "force_destroy") != Some(true) {
            return Ok(());
        }
        let id = string(prior, "id").unwrap_or_default();
        let subnets = aws.ec2.describe_subnets().filters(filter("vpc-id", [id.clone()])).send().await.map_err(|e| aws.error("ec2", e))?;
        for subnet in subnets.subnets().iter().filter_map(|s| s.subnet_id()) {
            let deleted = aws.ec2.delete_subnet().subnet_id(subnet).send().await.map(|_| ());
            deleted.map_err(|e| aws.error("ec2", e)).or_else(ignore_not_found)?;
        }
        let gateways = aws
            .ec2
            .describe_internet_gateways()
            .filters(filter("attachment.vpc-id", [id.clone()]))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        for gateway in gateways.internet_gateways().iter().filter_map(|g| g.internet_gateway_id()) {
            let detached = aws.ec2.detach_internet_gateway().internet_gateway_id(gateway).vpc_id(&id).send().await.map(|_| ());
            detached.map_err(|e| aws.error("ec2", e)).or_else(ignore_not_found)?;
            let deleted = aws.ec2.delete_internet_gateway().internet_gateway_id(gateway).send().await.map(|_| ());
            deleted.map_err(|e| aws.error("ec2", e)).or_else(ignore_not_found)?;
        }
        retry_dependency(|| async { aws.ec2.delete_vpc().vpc_id(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e)) })
            .await
            .or_else(ignore_not_found)
    }
}

async fn read_vpc(aws: &Aws, object: &Value, existing: bool) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let mut found = describe_vpcs(aws, filter_ids(vec![id.clone()]), std::slice::from_ref(object)).await?;
    let vpc = found.remove(&id).ok_or_else(|| not_found("vpc", &id))?;
    Ok(default_vpc_value(vpc, object, existing))
}

/// An `aws_vpc` object with what only a default VPC has.
fn default_vpc_value(vpc: Value, prior: &Value, existing: bool) -> Value {
    let kept = |name: &str, zero: Value| prior.get(name).filter(|v| !v.is_null() && !v.is_unknown()).cloned().unwrap_or(zero);
    Obj::from(&vpc)
        .set("force_destroy", kept("force_destroy", Value::Bool(false)))
        .b("existing_default_vpc", Some(existing))
        .b("assign_generated_ipv6_cidr_block", Some(false))
        .b("enable_network_address_usage_metrics", Some(false))
        .s("ipv6_association_id", Some(""))
        .s("ipv6_cidr_block", Some(""))
        .s("ipv6_cidr_block_network_border_group", Some(""))
        .s("ipv6_ipam_pool_id", Some(""))
        .n("ipv6_netmask_length", Some(0.0))
        .build()
}

pub struct DefaultSecurityGroup;

#[async_trait]
impl ResourceKind for DefaultSecurityGroup {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("vpc_id", A::optional_computed(Type::String).force_new())
                .attr("revoke_rules_on_delete", A::optional(Type::Bool))
                .attr("arn", A::computed(Type::String))
                .attr("description", A::computed(Type::String))
                .attr("name", A::computed(Type::String))
                .attr("name_prefix", A::computed(Type::String))
                .attr("owner_id", A::computed(Type::String)),
        )
        .attr("ingress", A::optional_computed(rules_type()))
        .attr("egress", A::optional_computed(rules_type()))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        super::security_group::SecurityGroup.validate(config)
    }

    /// Adopting the group takes its rules away but the configured ones, so
    /// rules left out are planned as none.
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        super::security_group::SecurityGroup.refine_plan(req, planned);
        if req.prior.is_none() {
            for direction in ["ingress", "egress"] {
                if req.config.get(direction).is_none_or(Value::is_null) {
                    planned.insert(direction.into(), Value::Set(Vec::new()));
                }
            }
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let vpc = match string(planned, "vpc_id") {
            Some(vpc) => vpc,
            None => {
                let found = aws.ec2.describe_vpcs().filters(filter("is-default", ["true".to_string()])).send().await.map_err(|e| aws.error("ec2", e))?;
                found.vpcs().first().and_then(|v| v.vpc_id()).map(str::to_string).ok_or_else(|| {
                    ProviderError::Invalid("aws_default_security_group: the region has no default VPC; set vpc_id".into())
                })?
            }
        };
        let filters = vec![vec![filter("vpc-id", [vpc.clone()]), filter("group-name", ["default".to_string()])]];
        let groups = describe_groups(aws, filters).await?;
        let current = group_values(aws, groups, &[Value::Null]).into_values().next().ok_or_else(|| not_found("default security group of", &vpc))?;
        let id = string(&current, "id").unwrap_or_default();
        sync_rules(aws, &id, &current, planned).await?;
        update_tags(aws, &id, &current, planned).await?;
        read_group(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let groups = describe_groups(aws, by_values("group-id", &ids(objects))).await?;
        let found = group_values(aws, groups, objects).into_iter().map(|(id, group)| (id, with_name_prefix(group))).collect();
        Ok(in_order(objects, found))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        sync_rules(aws, &id, prior, planned).await?;
        update_tags(aws, &id, prior, planned).await?;
        read_group(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        // The group lives as long as its VPC: only its rules can go.
        if boolean(prior, "revoke_rules_on_delete") == Some(true) {
            let id = string(prior, "id").unwrap_or_default();
            let empty = Obj::from(prior).set("ingress", Value::Set(Vec::new())).set("egress", Value::Set(Vec::new())).build();
            sync_rules(aws, &id, prior, &empty).await.or_else(ignore_not_found)?;
        }
        Ok(())
    }
}

/// What a default group has besides an `aws_security_group`'s: Terraform
/// stores "" and false for what it never sets.
fn with_name_prefix(group: Value) -> Value {
    let revoke = group.get("revoke_rules_on_delete").filter(|v| !v.is_null()).cloned().unwrap_or(Value::Bool(false));
    Obj::from(&group).s("name_prefix", Some("")).set("revoke_rules_on_delete", revoke).build()
}

async fn read_group(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let groups = describe_groups(aws, by_values("group-id", std::slice::from_ref(&id))).await?;
    let group = group_values(aws, groups, std::slice::from_ref(object)).remove(&id).ok_or_else(|| not_found("security group", &id))?;
    Ok(with_name_prefix(group))
}

pub struct DefaultRouteTable;

#[async_trait]
impl ResourceKind for DefaultRouteTable {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("default_route_table_id", A::required(Type::String).force_new())
                .attr("arn", A::computed(Type::String))
                .attr("owner_id", A::computed(Type::String))
                .attr("vpc_id", A::computed(Type::String))
                .attr("route", A::optional_computed(routes_type(FIELDS))),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        check_routes(config, FIELDS)
    }

    /// Adopting the table replaces its routes with the configured ones, so
    /// routes left out are planned as none.
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        if req.config.get("route").is_some_and(|v| !v.is_null()) {
            plan_routes(req.config, planned, FIELDS);
        } else if req.prior.is_none() {
            planned.insert("route".into(), Value::Set(Vec::new()));
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let id = string(planned, "default_route_table_id").unwrap_or_default();
        let current = read_table(aws, &Obj::new().s("id", Some(&id)).build()).await?;
        sync_routes(aws, &id, &current, planned).await?;
        update_tags(aws, &id, &current, planned).await?;
        read_table(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let tables = describe_tables(aws, by_values("route-table-id", &ids(objects))).await?;
        let found = table_values(aws, tables, objects, FIELDS).into_iter().map(|(id, table)| (id.clone(), with_own_id(table, &id))).collect();
        Ok(in_order(objects, found))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        sync_routes(aws, &id, prior, planned).await?;
        update_tags(aws, &id, prior, planned).await?;
        read_table(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn delete(&self, _aws: &Aws, _prior: &Value) -> Result<(), ProviderError> {
        Ok(())
    }
}

fn with_own_id(table: Value, id: &str) -> Value {
    Obj::from(&table).s("default_route_table_id", Some(id)).build()
}

async fn read_table(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let tables = describe_tables(aws, by_values("route-table-id", std::slice::from_ref(&id))).await?;
    let table = table_values(aws, tables, std::slice::from_ref(object), FIELDS).remove(&id).ok_or_else(|| not_found("route table", &id))?;
    Ok(with_own_id(table, &id))
}
