//! `aws_network_interface` and `aws_network_interface_attachment`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, Filter, NetworkInterface as AwsInterface, PrivateIpAddressSpecification, ResourceType,
};
use terrane_core::{Type, Value};
use terrane_provider::{AttributeSchema as A, BlockSchema, Nesting, PlanRequest, ProviderError, Schema};

use super::vpc::{ignore_not_found, not_found, retry_dependency, tags_schema};
use super::{by_values, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{blocks, boolean, int, string, string_list, string_set, strings, Obj};
use crate::client::{retry_new, Aws, TOKEN_TAG};
use crate::kind::ResourceKind;

pub struct NetworkInterface;

fn attachment_block() -> BlockSchema {
    let body = Schema::new()
        .attr("instance", A::required(Type::String))
        .attr("device_index", A::required(Type::Number))
        .attr("attachment_id", A::computed(Type::String));
    crate::schema::nested(Nesting::Set, None, body)
}

#[async_trait]
impl ResourceKind for NetworkInterface {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("subnet_id", A::required(Type::String).force_new())
                .attr("description", A::optional(Type::String))
                .attr("private_ip", A::optional_computed(Type::String).force_new())
                .attr("private_ips", A::optional_computed(Type::set(Type::String)))
                .attr("security_groups", A::optional_computed(Type::set(Type::String)))
                .attr("source_dest_check", A::optional(Type::Bool))
                .attr("arn", A::computed(Type::String))
                .attr("mac_address", A::computed(Type::String))
                .attr("owner_id", A::computed(Type::String))
                .attr("outpost_arn", A::computed(Type::String))
                .attr("private_dns_name", A::computed(Type::String)),
        )
        .block("attachment", attachment_block())
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("source_dest_check", Value::Bool(true))]
    }

    /// aws_network_interface_attachment may manage the attachments instead.
    fn computed_blocks(&self) -> &'static [&'static str] {
        &["attachment"]
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        // The list and count follow the addresses.
        if req.prior.is_some_and(|p| p.get("private_ips") != planned.get("private_ips")) {
            planned.insert("private_ip_list".into(), Value::Unknown);
            planned.insert("private_ips_count".into(), Value::Unknown);
        }
        // Left out, attachments are what AWS has (computed_blocks).
        if blocks(req.config, "attachment").is_empty() {
            return;
        }
        // Attachment ids come from AWS.
        let prior = req.prior.map(|p| blocks(p, "attachment")).unwrap_or_default();
        let attachments: Vec<Value> = blocks(req.config, "attachment")
            .into_iter()
            .map(|a| {
                let same = prior.iter().find(|p| p.get("instance") == a.get("instance") && p.get("device_index") == a.get("device_index"));
                Obj::from(a).set("attachment_id", same.and_then(|p| p.get("attachment_id")).cloned().unwrap_or(Value::Unknown)).build()
            })
            .collect();
        planned.insert("attachment".into(), Value::set(attachments));
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let primary = string(planned, "private_ip");
        let mut addresses: Vec<PrivateIpAddressSpecification> = Vec::new();
        let listed = strings(planned, "private_ips");
        let first = primary.clone().or_else(|| listed.first().cloned());
        for ip in first.iter().chain(listed.iter().filter(|ip| Some(*ip) != first.as_ref())) {
            addresses.push(PrivateIpAddressSpecification::builder().private_ip_address(ip).primary(Some(ip) == first.as_ref()).build());
        }
        let groups = strings(planned, "security_groups");
        let out = aws
            .ec2
            .create_network_interface()
            .client_token(token)
            .set_subnet_id(string(planned, "subnet_id"))
            .set_description(string(planned, "description"))
            .set_groups((!groups.is_empty()).then_some(groups))
            .set_private_ip_addresses((!addresses.is_empty()).then_some(addresses))
            .set_tag_specifications(tag_spec(aws, ResourceType::NetworkInterface, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.network_interface().and_then(|n| n.network_interface_id()).unwrap_or_default().to_string();
        if boolean(planned, "source_dest_check") == Some(false) {
            set_source_dest_check(aws, &id, false).await?;
        }
        let none = Obj::new().set("attachment", Value::Set(Vec::new())).build();
        sync_attachments(aws, &id, &none, planned).await?;
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        retry_new(|| read_interface(aws, &stub)).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let found = describe(aws, by_values("network-interface-id", &ids(objects))).await?;
        Ok(in_order(objects, interface_values(aws, found, objects)))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        if planned.get("description") != prior.get("description") {
            let description = AttributeValue::builder().value(string(planned, "description").unwrap_or_default()).build();
            aws.ec2.modify_network_interface_attribute().network_interface_id(&id).description(description).send().await.map_err(|e| aws.error("ec2", e))?;
        }
        let groups = strings(planned, "security_groups");
        if !groups.is_empty() && string_set(&groups) != string_set(strings(prior, "security_groups")) {
            aws.ec2.modify_network_interface_attribute().network_interface_id(&id).set_groups(Some(groups)).send().await.map_err(|e| aws.error("ec2", e))?;
        }
        if let Some(check) = boolean(planned, "source_dest_check").filter(|c| Some(*c) != boolean(prior, "source_dest_check")) {
            set_source_dest_check(aws, &id, check).await?;
        }
        if planned.get("private_ips").is_some_and(Value::is_wholly_known) {
            let primary = string(prior, "private_ip").unwrap_or_default();
            let (before, after) = (strings(prior, "private_ips"), strings(planned, "private_ips"));
            let removed: Vec<String> = before.iter().filter(|ip| !after.contains(ip) && **ip != primary).cloned().collect();
            let added: Vec<String> = after.iter().filter(|ip| !before.contains(ip)).cloned().collect();
            if !removed.is_empty() {
                let call = aws.ec2.unassign_private_ip_addresses().network_interface_id(&id).set_private_ip_addresses(Some(removed));
                call.send().await.map_err(|e| aws.error("ec2", e))?;
            }
            if !added.is_empty() {
                let call = aws.ec2.assign_private_ip_addresses().network_interface_id(&id).set_private_ip_addresses(Some(added));
                call.send().await.map_err(|e| aws.error("ec2", e))?;
            }
        }
        sync_attachments(aws, &id, prior, planned).await?;
        update_tags(aws, &id, prior, planned).await?;
        read_interface(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let current = match read_interface(aws, prior).await {
            Ok(current) => current,
            Err(e) => return ignore_not_found(e),
        };
        // An instance's primary interface cannot be detached: it goes with the instance.
        let detachable: Vec<Value> = blocks(&current, "attachment").into_iter().filter(|a| int(a, "device_index") != Some(0)).cloned().collect();
        let current = Obj::from(&current).set("attachment", Value::set(detachable)).build();
        let none = Obj::new().set("attachment", Value::Set(Vec::new())).build();
        sync_attachments(aws, &id, &current, &none).await?;
        retry_dependency(|| async {
            aws.ec2.delete_network_interface().network_interface_id(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        })
        .await
        .or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let found = describe(aws, vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]]).await?;
        Ok(interface_values(aws, found, std::slice::from_ref(planned)).into_values().next())
    }
}

async fn set_source_dest_check(aws: &Aws, id: &str, check: bool) -> Result<(), ProviderError> {
    let value = AttributeBooleanValue::builder().value(check).build();
    let call = aws.ec2.modify_network_interface_attribute().network_interface_id(id).source_dest_check(value);
    call.send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
}

/// Detaches what `before` has and `after` lacks, then attaches the new.
async fn sync_attachments(aws: &Aws, id: &str, before: &Value, after: &Value) -> Result<(), ProviderError> {
    let key = |a: &Value| (string(a, "instance"), int(a, "device_index"));
    let (old, new) = (blocks(before, "attachment"), blocks(after, "attachment"));
    for gone in old.iter().filter(|a| !new.iter().any(|n| key(n) == key(a))) {
        if let Some(attachment) = string(gone, "attachment_id") {
            detach(aws, id, &attachment).await?;
        }
    }
    for added in new.iter().filter(|a| !old.iter().any(|o| key(o) == key(a))) {
        let call = aws.ec2.attach_network_interface().network_interface_id(id).set_instance_id(string(added, "instance")).set_device_index(int(added, "device_index"));
        call.send().await.map_err(|e| aws.error("ec2", e))?;
        wait_attachment(aws, id, true).await?;
    }
    Ok(())
}

async fn detach(aws: &Aws, id: &str, attachment: &str) -> Result<(), ProviderError> {
    let call = aws.ec2.detach_network_interface().attachment_id(attachment).force(true);
    match call.send().await.map_err(|e| aws.error("ec2", e)) {
        Err(e) if crate::client::is_not_found(&e) => return Ok(()),
        other => other?,
    };
    wait_attachment(aws, id, false).await
}

/// Waits until the interface is attached, or no longer is.
async fn wait_attachment(aws: &Aws, id: &str, attached: bool) -> Result<(), ProviderError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let found = describe(aws, vec![vec![filter("network-interface-id", [id.to_string()])]]).await?;
        let status = found.first().and_then(|n| n.attachment()).and_then(|a| a.status()).map(|s| s.as_str().to_string());
        let reached = if attached { status.as_deref() == Some("attached") } else { found.is_empty() || status.is_none() || status.as_deref() == Some("detached") };
        if reached {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            let want = if attached { "attached" } else { "detached" };
            return Err(ProviderError::Invalid(format!("network interface {id} was not {want} after 5 minutes")));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn describe(aws: &Aws, filter_sets: Vec<Vec<Filter>>) -> Result<Vec<AwsInterface>, ProviderError> {
    each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_network_interfaces().set_filters(Some(filters)).into_paginator().items().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await
}

fn interface_values(aws: &Aws, found: Vec<AwsInterface>, priors: &[Value]) -> terrane_core::ValueMap<Value> {
    let mut out = BTreeMap::new();
    for eni in found {
        let id = eni.network_interface_id().unwrap_or_default().to_string();
        let ips: Vec<&str> = eni.private_ip_addresses().iter().filter_map(|a| a.private_ip_address()).collect();
        // The primary interface of an instance is the instance's, not an attachment to manage.
        let attachment: Vec<Value> = eni
            .attachment()
            .filter(|a| a.instance_id().is_some() && a.status().is_some_and(|s| s.as_str() != "detached"))
            .map(|a| {
                Obj::new()
                    .s("instance", a.instance_id())
                    .n("device_index", a.device_index().map(f64::from))
                    .s("attachment_id", a.attachment_id())
                    .build()
            })
            .into_iter()
            .collect();
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("arn", Some(&aws.owned_arn("ec2", eni.owner_id(), &format!("network-interface/{id}"))))
            .s("subnet_id", eni.subnet_id())
            .s("description", Some(eni.description().unwrap_or_default()))
            .s("private_ip", eni.private_ip_address())
            .set("private_ips", string_set(&ips))
            .set("private_ip_list", string_list(&ips))
            .n("private_ips_count", Some(ips.len().saturating_sub(1) as f64))
            .set("security_groups", string_set(eni.groups().iter().filter_map(|g| g.group_id())))
            .b("source_dest_check", eni.source_dest_check())
            .s("mac_address", eni.mac_address())
            .s("owner_id", eni.owner_id())
            .s("outpost_arn", Some(eni.outpost_arn().unwrap_or_default()))
            .s("private_dns_name", eni.private_dns_name())
            .s("interface_type", eni.interface_type().map(|t| t.as_str()))
            .set("attachment", Value::set(attachment))
            // What terrane does not configure yet, as Terraform stores it unset.
            .n("ipv4_prefix_count", Some(eni.ipv4_prefixes().len() as f64))
            .set("ipv4_prefixes", string_set(eni.ipv4_prefixes().iter().filter_map(|p| p.ipv4_prefix())))
            .n("ipv6_address_count", Some(eni.ipv6_addresses().len() as f64))
            .set("ipv6_addresses", string_set(eni.ipv6_addresses().iter().filter_map(|a| a.ipv6_address())))
            .set("ipv6_address_list", string_list(eni.ipv6_addresses().iter().filter_map(|a| a.ipv6_address())))
            .n("ipv6_prefix_count", Some(eni.ipv6_prefixes().len() as f64))
            .set("ipv6_prefixes", string_set(eni.ipv6_prefixes().iter().filter_map(|p| p.ipv6_prefix())));
        out.insert(id.clone(), with_ec2_tags(obj, aws, eni.tag_set(), prior_for(priors, &id)).build());
    }
    out.into_iter().collect()
}

async fn read_interface(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let found = describe(aws, vec![vec![filter("network-interface-id", [id.clone()])]]).await?;
    interface_values(aws, found, std::slice::from_ref(object)).remove(&id).ok_or_else(|| not_found("network interface", &id))
}

/// `aws_network_interface_attachment`: an interface attached to an
/// instance at a device index; its id is the attachment's.
pub struct NetworkInterfaceAttachment;

#[async_trait]
impl ResourceKind for NetworkInterfaceAttachment {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("instance_id", A::required(Type::String).force_new())
            .attr("network_interface_id", A::required(Type::String).force_new())
            .attr("device_index", A::required(Type::Number).force_new())
            .attr("attachment_id", A::computed(Type::String))
            .attr("status", A::computed(Type::String))
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let eni = string(planned, "network_interface_id").unwrap_or_default();
        let call = aws.ec2.attach_network_interface().network_interface_id(&eni).set_instance_id(string(planned, "instance_id")).set_device_index(int(planned, "device_index"));
        let out = call.send().await.map_err(|e| aws.error("ec2", e))?;
        wait_attachment(aws, &eni, true).await?;
        let id = out.attachment_id().unwrap_or_default().to_string();
        Ok(Obj::from(planned).s("id", Some(&id)).s("attachment_id", Some(&id)).s("status", Some("attached")).build())
    }

    /// One describe per 50 interfaces; an import (which knows only the
    /// attachment id) looks through the region's interfaces.
    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let interfaces: Vec<String> = objects.iter().filter_map(|o| string(o, "network_interface_id")).collect();
        let mut found = describe(aws, by_values("network-interface-id", &interfaces)).await?;
        if interfaces.len() < objects.len() {
            found.extend(describe(aws, vec![vec![filter("attachment.status", ["attached".to_string()])]]).await?);
        }
        Ok(objects
            .iter()
            .map(|o| {
                let wanted = string(o, "id");
                let eni = found.iter().find(|n| match string(o, "network_interface_id") {
                    Some(id) => n.network_interface_id() == Some(id.as_str()),
                    None => n.attachment().and_then(|a| a.attachment_id()).map(str::to_string) == wanted,
                })?;
                let attachment = eni.attachment().filter(|a| a.status().is_some_and(|s| s.as_str() != "detached"))?;
                if string(o, "instance_id").is_some_and(|i| Some(i.as_str()) != attachment.instance_id()) {
                    return None;
                }
                Some(
                    Obj::from(o)
                        .s("id", attachment.attachment_id())
                        .s("attachment_id", attachment.attachment_id())
                        .s("instance_id", attachment.instance_id())
                        .s("network_interface_id", eni.network_interface_id())
                        .n("device_index", attachment.device_index().map(f64::from))
                        .s("status", attachment.status().map(|s| s.as_str()))
                        .build(),
                )
            })
            .collect())
    }

    async fn update(&self, _aws: &Aws, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        // Every argument replaces the attachment.
        Ok(planned.clone())
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let eni = string(prior, "network_interface_id").unwrap_or_default();
        detach(aws, &eni, &string(prior, "id").unwrap_or_default()).await
    }
}
