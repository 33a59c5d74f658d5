//! `aws_route_table` (with inline `route` blocks), `aws_route` and
//! `aws_route_table_association`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, Route, RouteTable as AwsRouteTable};
use terrane_core::types::ObjectAttr;
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, PlanRequest, ProviderError, Schema};

use super::vpc::{ignore_not_found, not_found, retry_dependency, tags_schema};
use super::{by_values, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{attr_err, blocks, check_cidr, string, Obj};
use crate::client::{retry_new, Aws, TOKEN_TAG};
use crate::kind::ResourceKind;

/// Where a route sends traffic: the target attributes of a route, inline or not.
const TARGETS: &[&str] = &["gateway_id", "nat_gateway_id", "network_interface_id", "vpc_peering_connection_id"];

/// The fields of an inline route, as Terraform's schema has them; terrane
/// acts on `cidr_block` and `TARGETS`.
const ROUTE_FIELDS: &[&str] = &[
    "carrier_gateway_id",
    "cidr_block",
    "core_network_arn",
    "destination_prefix_list_id",
    "egress_only_gateway_id",
    "gateway_id",
    "ipv6_cidr_block",
    "local_gateway_id",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
];

/// The fields of a default table's inline route, as Terraform's schema has them.
pub(super) const DEFAULT_TABLE_ROUTE_FIELDS: &[&str] = &[
    "cidr_block",
    "core_network_arn",
    "destination_prefix_list_id",
    "egress_only_gateway_id",
    "gateway_id",
    "instance_id",
    "ipv6_cidr_block",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
];

/// `route`: a set of route objects, which a configuration may also write as blocks.
pub(super) fn routes_type(fields: &[&str]) -> Type {
    Type::set(Type::Object(fields.iter().map(|f| (f.to_string(), ObjectAttr::required(Type::String))).collect()))
}

/// A field of a route; Terraform stores an unset one as "".
pub(super) fn field(route: &Value, name: &str) -> Option<String> {
    string(route, name).filter(|v| !v.is_empty())
}

/// A route in Terraform's stored form: every field, "" where unset.
fn normalize_route(names: &[&str], fields: impl Fn(&str) -> Option<String>) -> Value {
    names.iter().fold(Obj::new(), |o, f| o.s(f, Some(fields(f).unwrap_or_default().as_str()))).build()
}

pub(super) async fn describe_tables(aws: &Aws, filter_sets: Vec<Vec<Filter>>) -> Result<Vec<AwsRouteTable>, ProviderError> {
    each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_route_tables().set_filters(Some(filters)).into_paginator().items().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await
}

fn route_target(route: &Route, target: &str) -> Option<String> {
    let value = match target {
        "gateway_id" => route.gateway_id(),
        "nat_gateway_id" => route.nat_gateway_id(),
        "network_interface_id" => route.network_interface_id(),
        "vpc_peering_connection_id" => route.vpc_peering_connection_id(),
        _ => None,
    };
    value.map(str::to_string)
}

fn route_value(route: &Route, names: &[&str]) -> Value {
    normalize_route(names, |f| if f == "cidr_block" { route.destination_cidr_block().map(str::to_string) } else { route_target(route, f) })
}

/// Routes a user made: not the VPC's own `local` route.
fn user_routes(table: &AwsRouteTable) -> impl Iterator<Item = &Route> {
    table.routes().iter().filter(|r| r.gateway_id() != Some("local") && r.destination_cidr_block().is_some())
}

macro_rules! with_target {
    ($call:expr, $spec:expr) => {{
        let spec = $spec;
        $call
            .set_gateway_id(field(spec, "gateway_id"))
            .set_nat_gateway_id(field(spec, "nat_gateway_id"))
            .set_network_interface_id(field(spec, "network_interface_id"))
            .set_vpc_peering_connection_id(field(spec, "vpc_peering_connection_id"))
    }};
}

async fn create_route(aws: &Aws, table: &str, spec: &Value) -> Result<(), ProviderError> {
    let call = aws.ec2.create_route().route_table_id(table).set_destination_cidr_block(string(spec, "cidr_block"));
    with_target!(call, spec).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
}

async fn replace_route(aws: &Aws, table: &str, spec: &Value) -> Result<(), ProviderError> {
    let call = aws.ec2.replace_route().route_table_id(table).set_destination_cidr_block(string(spec, "cidr_block"));
    with_target!(call, spec).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
}

async fn delete_route(aws: &Aws, table: &str, cidr: &str) -> Result<(), ProviderError> {
    aws.ec2
        .delete_route()
        .route_table_id(table)
        .destination_cidr_block(cidr)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws.error("ec2", e))
        .or_else(ignore_not_found)
}

fn routes_by_cidr(v: &Value) -> terrane_core::ValueMap<Value> {
    blocks(v, "route").into_iter().filter_map(|r| Some((field(r, "cidr_block")?, normalize_route(ROUTE_FIELDS, |f| field(r, f))))).collect()
}

pub(super) fn validate_target(config: &Value, errors: &mut Vec<AttrError>, name: &str) {
    let set = TARGETS.iter().filter(|t| config.get(t).is_some_and(|v| !v.is_null() && v.as_str() != Some(""))).count();
    if set != 1 {
        errors.push(attr_err(name, format!("a route needs exactly one target, one of {}", TARGETS.join(", "))));
    }
}

/// Route checks AWS would make, for a table's inline routes.
pub(super) fn check_routes(config: &Value, fields: &[&str]) -> Vec<AttrError> {
    let mut errors = Vec::new();
    for route in blocks(config, "route") {
        for name in fields.iter().filter(|f| **f != "cidr_block" && !TARGETS.contains(f)) {
            if field(route, name).is_some() {
                errors.push(attr_err("route", format!("`{name}` in a route is not supported by terrane yet")));
            }
        }
        crate::attrs::require(route, "cidr_block", "terrane does not support IPv6 or prefix-list routes yet", &mut errors);
        validate_target(route, &mut errors, "route");
        check_cidr(route, "cidr_block", 0, 32, &mut errors);
    }
    errors
}

/// Plans the configured inline routes in their stored form; a field not
/// known yet (a gateway made in the same run) stays unknown.
pub(super) fn plan_routes(config: &Value, planned: &mut terrane_core::ValueMap<Value>, fields: &[&str]) {
    let stored_form = |route: &Value| {
        fields.iter().fold(Obj::new(), |o, f| o.set(f, route.get(f).filter(|v| !v.is_null()).cloned().unwrap_or_else(|| Value::string("")))).build()
    };
    planned.insert("route".into(), Value::set(blocks(config, "route").into_iter().map(stored_form).collect()));
}

/// Brings a table's routes from `before`'s to `after`'s.
pub(super) async fn sync_routes(aws: &Aws, id: &str, before: &Value, after: &Value) -> Result<(), ProviderError> {
    let (before, after) = (routes_by_cidr(before), routes_by_cidr(after));
    for cidr in before.keys().filter(|c| !after.contains_key(*c)) {
        delete_route(aws, id, cidr).await?;
    }
    for (cidr, route) in &after {
        match before.get(cidr) {
            None => create_route(aws, id, route).await?,
            Some(old) if old != route => replace_route(aws, id, route).await?,
            Some(_) => {}
        }
    }
    Ok(())
}

pub struct RouteTable;

#[async_trait]
impl ResourceKind for RouteTable {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("vpc_id", A::required(Type::String).force_new())
                .attr("arn", A::computed(Type::String))
                .attr("owner_id", A::computed(Type::String))
                .attr("route", A::optional_computed(routes_type(ROUTE_FIELDS))),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        check_routes(config, ROUTE_FIELDS)
    }

    /// Given (even empty), the routes are these; left out, they are not
    /// managed here (aws_route may manage them) and the generic plan keeps
    /// the prior value, as in Terraform.
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        if req.config.get("route").is_some_and(|v| !v.is_null()) {
            plan_routes(req.config, planned, ROUTE_FIELDS);
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .create_route_table()
            .set_vpc_id(string(planned, "vpc_id"))
            .set_tag_specifications(tag_spec(aws, ResourceType::RouteTable, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.route_table().and_then(|t| t.route_table_id()).unwrap_or_default().to_string();
        for route in routes_by_cidr(planned).values() {
            retry_new(|| create_route(aws, &id, route)).await?;
        }
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        retry_new(|| read_table(aws, &stub)).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let tables = describe_tables(aws, by_values("route-table-id", &ids(objects))).await?;
        Ok(in_order(objects, table_values(aws, tables, objects, ROUTE_FIELDS)))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        sync_routes(aws, &id, prior, planned).await?;
        update_tags(aws, &id, prior, planned).await?;
        read_table(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        retry_dependency(|| async {
            aws.ec2.delete_route_table().route_table_id(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        })
        .await
        .or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let tables = describe_tables(aws, vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]]).await?;
        Ok(table_values(aws, tables, std::slice::from_ref(planned), ROUTE_FIELDS).into_values().next())
    }
}

pub(super) fn table_values(aws: &Aws, tables: Vec<AwsRouteTable>, priors: &[Value], fields: &[&str]) -> terrane_core::ValueMap<Value> {
    let mut out = BTreeMap::new();
    for table in tables {
        let id = table.route_table_id().unwrap_or_default().to_string();
        let routes = Value::set(user_routes(&table).map(|r| route_value(r, fields)).collect());
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("arn", Some(&aws.owned_arn("ec2", table.owner_id(), &format!("route-table/{id}"))))
            .s("vpc_id", table.vpc_id())
            .s("owner_id", table.owner_id())
            .set("route", routes);
        out.insert(id.clone(), with_ec2_tags(obj, aws, table.tags(), prior_for(priors, &id)).build());
    }
    out.into_iter().collect()
}

async fn read_table(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let tables = describe_tables(aws, by_values("route-table-id", std::slice::from_ref(&id))).await?;
    table_values(aws, tables, std::slice::from_ref(object), ROUTE_FIELDS).remove(&id).ok_or_else(|| not_found("route table", &id))
}

/// `aws_route`: one route in a table, with Terraform's import id `rtb-..._cidr`.
pub struct RouteEntry;

/// Terraform's id for a route: the table and a hash of the destination.
fn route_id(table: &str, cidr: &str) -> String {
    format!("r-{table}{}", crate::attrs::terraform_hashcode(cidr))
}

#[async_trait]
impl ResourceKind for RouteEntry {
    fn supported(&self) -> Schema {
        TARGETS.iter().fold(
            Schema::new()
                .attr("route_table_id", A::required(Type::String).force_new())
                .attr("destination_cidr_block", A::optional(Type::String).force_new())
                .attr("origin", A::computed(Type::String))
                .attr("state", A::computed(Type::String)),
            // AWS names the interface of an instance route itself.
            |s, t| s.attr(t, if *t == "network_interface_id" { A::optional_computed(Type::String) } else { A::optional(Type::String) }),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        crate::attrs::require(config, "destination_cidr_block", "terrane does not support IPv6 or prefix-list routes yet", &mut errors);
        check_cidr(config, "destination_cidr_block", 0, 32, &mut errors);
        validate_target(config, &mut errors, "destination_cidr_block");
        errors
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let table = string(planned, "route_table_id").unwrap_or_default();
        let spec = Obj::from(planned).set("cidr_block", planned.get("destination_cidr_block").cloned().unwrap_or(Value::Null)).build();
        retry_new(|| create_route(aws, &table, &spec)).await?;
        let cidr = string(planned, "destination_cidr_block").unwrap_or_default();
        let stub = Obj::from(planned).s("id", Some(&route_id(&table, &cidr))).build();
        retry_new(|| async {
            let found = self.read(aws, std::slice::from_ref(&stub)).await?;
            found.into_iter().next().flatten().ok_or_else(|| not_found("route", &cidr))
        })
        .await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let tables: Vec<String> = objects.iter().filter_map(|o| string(o, "route_table_id")).collect();
        let described = describe_tables(aws, by_values("route-table-id", &tables)).await?;
        let mut found = BTreeMap::new();
        for table in &described {
            let table_id = table.route_table_id().unwrap_or_default();
            for route in table.routes() {
                let Some(cidr) = route.destination_cidr_block() else { continue };
                let id = route_id(table_id, cidr);
                let obj = TARGETS.iter().fold(
                    Obj::new()
                        .s("id", Some(&id))
                        .s("route_table_id", Some(table_id))
                        .s("destination_cidr_block", Some(cidr))
                        .s("origin", route.origin().map(|o| o.as_str()))
                        .s("state", route.state().map(|s| s.as_str())),
                    // Terraform's provider stores "" for the targets not used.
                    |o, t| o.s(t, Some(route_target(route, t).as_deref().unwrap_or_default())),
                );
                found.insert(id, obj.build());
            }
        }
        // Matched by table and destination, not by the stored id: state
        // written before terrane took Terraform's id form finds its routes.
        Ok(objects
            .iter()
            .map(|o| {
                let (table, cidr) = (string(o, "route_table_id")?, string(o, "destination_cidr_block")?);
                found.remove(&route_id(&table, &cidr))
            })
            .collect())
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let table = string(prior, "route_table_id").unwrap_or_default();
        let spec = Obj::from(planned).set("cidr_block", planned.get("destination_cidr_block").cloned().unwrap_or(Value::Null)).build();
        replace_route(aws, &table, &spec).await?;
        let stub = Obj::from(planned).set("id", prior.get("id").cloned().unwrap_or(Value::Null)).build();
        let found = self.read(aws, std::slice::from_ref(&stub)).await?;
        found.into_iter().next().flatten().ok_or_else(|| not_found("route", &table))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let table = string(prior, "route_table_id").unwrap_or_default();
        delete_route(aws, &table, &string(prior, "destination_cidr_block").unwrap_or_default()).await
    }

    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        let (table, cidr) = id
            .split_once('_')
            .ok_or_else(|| ProviderError::Invalid(format!("import id {id:?} must be ROUTE_TABLE_ID_CIDR, as in rtb-0123_10.0.0.0/16")))?;
        Ok(Obj::new().s("id", Some(&route_id(table, cidr))).s("route_table_id", Some(table)).s("destination_cidr_block", Some(cidr)).build())
    }
}

/// `aws_route_table_association`: a subnet or gateway attached to a table.
pub struct RouteTableAssociation;

#[async_trait]
impl ResourceKind for RouteTableAssociation {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("route_table_id", A::required(Type::String))
            .attr("subnet_id", A::optional(Type::String).force_new())
            .attr("gateway_id", A::optional(Type::String).force_new())
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let set = ["subnet_id", "gateway_id"].iter().filter(|n| config.get(n).is_some_and(|v| !v.is_null())).count();
        if set == 1 {
            Vec::new()
        } else {
            vec![attr_err("route_table_id", "set exactly one of subnet_id and gateway_id")]
        }
    }

    /// Moving a subnet to another table makes a new association with a new id.
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        let Some(prior) = req.prior else { return };
        if prior.get("route_table_id") != planned.get("route_table_id") {
            planned.insert("id".into(), Value::Unknown);
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let out = retry_new(|| async {
            aws.ec2
                .associate_route_table()
                .set_route_table_id(string(planned, "route_table_id"))
                .set_subnet_id(string(planned, "subnet_id"))
                .set_gateway_id(string(planned, "gateway_id"))
                .send()
                .await
                .map_err(|e| aws.error("ec2", e))
        })
        .await?;
        let id = out.association_id().unwrap_or_default().to_string();
        Ok(Obj::from(planned).s("id", Some(&id)).build())
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let tables = describe_tables(aws, by_values("association.route-table-association-id", &ids(objects))).await?;
        let mut found = BTreeMap::new();
        for table in &tables {
            for assoc in table.associations() {
                let Some(id) = assoc.route_table_association_id() else { continue };
                let obj = Obj::new()
                    .s("id", Some(id))
                    .s("route_table_id", assoc.route_table_id())
                    // Terraform's provider stores "" for the one not used.
                    .s("subnet_id", Some(assoc.subnet_id().unwrap_or_default()))
                    .s("gateway_id", Some(assoc.gateway_id().unwrap_or_default()));
                found.insert(id.to_string(), obj.build());
            }
        }
        Ok(in_order(objects, found.into_iter().collect()))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .replace_route_table_association()
            .set_association_id(string(prior, "id"))
            .set_route_table_id(string(planned, "route_table_id"))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        Ok(Obj::from(planned).s("id", out.new_association_id()).build())
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        aws.ec2
            .disassociate_route_table()
            .set_association_id(string(prior, "id"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws.error("ec2", e))
            .or_else(ignore_not_found)
    }
}

/// `aws_main_route_table_association`: which table is the VPC's main one.
/// Destroying it gives the VPC back the table that was main before.
pub struct MainRouteTableAssociation;

#[async_trait]
impl ResourceKind for MainRouteTableAssociation {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("vpc_id", A::required(Type::String).force_new())
            .attr("route_table_id", A::required(Type::String))
            .attr("original_route_table_id", A::computed(Type::String))
    }

    /// A new main table means a new association id.
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        if req.prior.is_some_and(|p| p.get("route_table_id") != planned.get("route_table_id")) {
            planned.insert("id".into(), Value::Unknown);
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let vpc = string(planned, "vpc_id").unwrap_or_default();
        let (association, original): (String, String) = retry_new(|| async {
            main_associations(aws, std::slice::from_ref(&vpc)).await?.remove(&vpc).ok_or_else(|| not_found("main route table of vpc", &vpc))
        })
        .await?;
        let id = replace_main(aws, &association, &string(planned, "route_table_id").unwrap_or_default()).await?;
        Ok(Obj::from(planned).s("id", Some(&id)).s("original_route_table_id", Some(&original)).build())
    }

    /// One describe per 50 VPCs: an association is there while it is still
    /// its VPC's main one.
    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let vpcs: Vec<String> = objects.iter().filter_map(|o| string(o, "vpc_id")).collect();
        let mains = main_associations(aws, &vpcs).await?;
        Ok(objects
            .iter()
            .map(|o| {
                let (association, table) = mains.get(&string(o, "vpc_id").unwrap_or_default())?;
                (Some(association) == string(o, "id").as_ref()).then(|| Obj::from(o).s("route_table_id", Some(table)).build())
            })
            .collect())
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = replace_main(aws, &string(prior, "id").unwrap_or_default(), &string(planned, "route_table_id").unwrap_or_default()).await?;
        Ok(Obj::from(planned).s("id", Some(&id)).build())
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let original = string(prior, "original_route_table_id").unwrap_or_default();
        replace_main(aws, &string(prior, "id").unwrap_or_default(), &original).await.map(|_| ()).or_else(ignore_not_found)
    }

    fn import_stub(&self, _id: &str) -> Result<Value, ProviderError> {
        Err(ProviderError::Invalid("aws_main_route_table_association cannot be imported (nor can it in Terraform): apply it to take over the main table".into()))
    }
}

/// Makes `table` the main one through the main association `association`;
/// the new association's id.
async fn replace_main(aws: &Aws, association: &str, table: &str) -> Result<String, ProviderError> {
    let out = aws
        .ec2
        .replace_route_table_association()
        .association_id(association)
        .route_table_id(table)
        .send()
        .await
        .map_err(|e| aws.error("ec2", e))?;
    Ok(out.new_association_id().unwrap_or_default().to_string())
}

/// vpc id -> (its main association's id, the main table's id).
async fn main_associations(aws: &Aws, vpcs: &[String]) -> Result<BTreeMap<String, (String, String)>, ProviderError> {
    let sets = super::vpc::with_filter(by_values("vpc-id", vpcs), filter("association.main", ["true".to_string()]));
    let tables = describe_tables(aws, sets).await?;
    Ok(tables
        .iter()
        .filter_map(|t| {
            let main = t.associations().iter().find(|a| a.main() == Some(true))?;
            Some((t.vpc_id()?.to_string(), (main.route_table_association_id()?.to_string(), t.route_table_id()?.to_string())))
        })
        .collect())
}
