//! `aws_ebs_volume` and `aws_volume_attachment`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, VolumeType};
use aws_smithy_types::date_time::Format;
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, PlanRequest, ProviderError, Schema};

use super::vpc::{ignore_not_found, not_found, tags_schema};
use super::{by_values, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{attr_err, boolean, int, string, terraform_hashcode, Obj};
use crate::client::{retry_new, Aws};
use crate::kind::ResourceKind;

pub struct Volume;

const VOLUME_TYPES: &[&str] = &["standard", "gp2", "gp3", "io1", "io2", "sc1", "st1"];

#[async_trait]
impl ResourceKind for Volume {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("availability_zone", A::required(Type::String).force_new())
                .attr("size", A::optional_computed(Type::Number))
                .attr("type", A::optional_computed(Type::String))
                .attr("iops", A::optional_computed(Type::Number))
                .attr("throughput", A::optional_computed(Type::Number))
                .attr("encrypted", A::optional_computed(Type::Bool).force_new())
                .attr("kms_key_id", A::optional_computed(Type::String).force_new())
                .attr("snapshot_id", A::optional_computed(Type::String).force_new())
                .attr("multi_attach_enabled", A::optional(Type::Bool).force_new())
                .attr("arn", A::computed(Type::String))
                .attr("create_time", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        if config.get("size").is_none_or(Value::is_null) && config.get("snapshot_id").is_none_or(Value::is_null) {
            errors.push(attr_err("size", "one of size or snapshot_id must be set"));
        }
        if let Some(kind) = string(config, "type").filter(|t| !VOLUME_TYPES.contains(&t.as_str())) {
            errors.push(attr_err("type", format!("type must be one of {}, got {kind:?}", VOLUME_TYPES.join(", "))));
        }
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("multi_attach_enabled", Value::Bool(false))]
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        // A new type brings AWS's own iops and throughput unless they are set.
        let type_changed = req.prior.is_some_and(|p| p.get("type") != req.config.get("type") && !req.config.get("type").is_none_or(Value::is_null));
        if type_changed {
            for name in ["iops", "throughput"] {
                if req.config.get(name).is_none_or(Value::is_null) {
                    planned.insert(name.into(), Value::Unknown);
                }
            }
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .create_volume()
            .client_token(token)
            .set_availability_zone(string(planned, "availability_zone"))
            .set_size(int(planned, "size"))
            .set_volume_type(string(planned, "type").map(|t| VolumeType::from(t.as_str())))
            .set_iops(int(planned, "iops"))
            .set_throughput(int(planned, "throughput"))
            .set_encrypted(boolean(planned, "encrypted"))
            .set_kms_key_id(string(planned, "kms_key_id"))
            .set_snapshot_id(string(planned, "snapshot_id"))
            .set_multi_attach_enabled(boolean(planned, "multi_attach_enabled"))
            .set_tag_specifications(tag_spec(aws, ResourceType::Volume, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.volume_id().unwrap_or_default().to_string();
        wait_volume(aws, &Obj::from(planned).s("id", Some(&id)).build(), |s| s == "available").await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let sets = by_values("volume-id", &ids(objects));
        Ok(in_order(objects, describe(aws, sets, objects).await?))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let changed = |name: &str| prior.get(name) != planned.get(name) && planned.get(name).is_some_and(|v| !v.is_unknown());
        if ["size", "type", "iops", "throughput"].iter().any(|n| changed(n)) {
            aws.ec2
                .modify_volume()
                .volume_id(&id)
                .set_size(int(planned, "size").filter(|_| changed("size")))
                .set_volume_type(string(planned, "type").filter(|_| changed("type")).map(|t| VolumeType::from(t.as_str())))
                .set_iops(int(planned, "iops").filter(|_| changed("iops")))
                .set_throughput(int(planned, "throughput").filter(|_| changed("throughput")))
                .send()
                .await
                .map_err(|e| aws.error("ec2", e))?;
        }
        update_tags(aws, &id, prior, planned).await?;
        wait_volume(aws, &Obj::from(planned).s("id", Some(&id)).build(), |s| s != "creating").await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        aws.ec2.delete_volume().volume_id(&id).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e)).or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let sets = vec![vec![filter(&format!("tag:{}", crate::client::TOKEN_TAG), [token.to_string()])]];
        Ok(describe(aws, sets, std::slice::from_ref(planned)).await?.into_values().next())
    }
}

/// Waits until the volume's state passes `done`, then reads it.
async fn wait_volume(aws: &Aws, object: &Value, done: impl Fn(&str) -> bool) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let out = retry_new(|| async { aws.ec2.describe_volumes().volume_ids(&id).send().await.map_err(|e| aws.error("ec2", e)) }).await?;
        let state = out.volumes().first().and_then(|v| v.state()).map(|s| s.as_str().to_string()).unwrap_or_default();
        if done(&state) || tokio::time::Instant::now() > deadline {
            let mut found = describe(aws, vec![vec![filter("volume-id", [id.clone()])]], std::slice::from_ref(object)).await?;
            return found.remove(&id).ok_or_else(|| not_found("volume", &id));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn describe(aws: &Aws, filter_sets: Vec<Vec<Filter>>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let volumes = each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_volumes().set_filters(Some(filters)).into_paginator().items().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await?;
    let mut out = BTreeMap::new();
    for volume in volumes {
        let id = volume.volume_id().unwrap_or_default().to_string();
        let created = volume.create_time().and_then(|t| aws_smithy_types::DateTime::from_secs(t.secs()).fmt(Format::DateTime).ok());
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("arn", Some(&aws.arn("ec2", &format!("volume/{id}"))))
            .s("availability_zone", volume.availability_zone())
            .n("size", volume.size().map(f64::from))
            .s("type", volume.volume_type().map(|t| t.as_str()))
            .n("iops", Some(f64::from(volume.iops().unwrap_or(0))))
            .n("throughput", Some(f64::from(volume.throughput().unwrap_or(0))))
            .b("encrypted", Some(volume.encrypted().unwrap_or(false)))
            .s("kms_key_id", Some(volume.kms_key_id().unwrap_or_default()))
            .s("snapshot_id", Some(volume.snapshot_id().unwrap_or_default()))
            .b("multi_attach_enabled", Some(volume.multi_attach_enabled().unwrap_or(false)))
            .s("create_time", created.as_deref());
        out.insert(id.clone(), with_ec2_tags(obj, aws, volume.tags(), prior_for(priors, &id)).build());
    }
    Ok(out.into_iter().collect())
}

/// `aws_volume_attachment`: a volume attached to an instance at a device name.
pub struct VolumeAttachment;

/// Terraform's id for an attachment: a hash of device, instance and volume.
fn attachment_id(device: &str, instance: &str, volume: &str) -> String {
    format!("vai-{}", terraform_hashcode(&format!("{device}-{instance}-{volume}-")))
}

#[async_trait]
impl ResourceKind for VolumeAttachment {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("device_name", A::required(Type::String).force_new())
            .attr("instance_id", A::required(Type::String).force_new())
            .attr("volume_id", A::required(Type::String).force_new())
            .attr("force_detach", A::optional(Type::Bool))
            .attr("skip_destroy", A::optional(Type::Bool))
            .attr("stop_instance_before_detaching", A::optional(Type::Bool))
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let (device, instance, volume) = attachment_parts(planned);
        aws.ec2
            .attach_volume()
            .device(&device)
            .instance_id(&instance)
            .volume_id(&volume)
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        wait_attachment(aws, &volume, &instance, true).await?;
        Ok(Obj::from(planned).s("id", Some(&attachment_id(&device, &instance, &volume))).build())
    }

    /// One describe per 50 volumes answers for all their attachments.
    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let volumes: Vec<String> = objects.iter().filter_map(|o| string(o, "volume_id")).collect();
        let found = each_set(by_values("volume-id", &volumes), |filters| async move {
            let pages: Vec<_> = aws.ec2.describe_volumes().set_filters(Some(filters)).into_paginator().items().send().collect().await;
            pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
        })
        .await?;
        let attached: std::collections::BTreeSet<(String, String, String)> = found
            .iter()
            .flat_map(|v| v.attachments())
            .filter(|a| a.state().is_some_and(|s| matches!(s.as_str(), "attached" | "attaching")))
            .map(|a| {
                let field = |s: Option<&str>| s.unwrap_or_default().to_string();
                (field(a.device()), field(a.instance_id()), field(a.volume_id()))
            })
            .collect();
        Ok(objects
            .iter()
            .map(|o| {
                let (device, instance, volume) = attachment_parts(o);
                let id = attachment_id(&device, &instance, &volume);
                attached.contains(&(device, instance, volume)).then(|| Obj::from(o).s("id", Some(&id)).build())
            })
            .collect())
    }

    async fn update(&self, _aws: &Aws, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        // What can change in place only says how to detach.
        Ok(planned.clone())
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        if boolean(prior, "skip_destroy") == Some(true) {
            return Ok(());
        }
        let (device, instance, volume) = attachment_parts(prior);
        if boolean(prior, "stop_instance_before_detaching") == Some(true) {
            aws.ec2.stop_instances().instance_ids(&instance).send().await.map_err(|e| aws.error("ec2", e)).map(|_| ()).or_else(ignore_not_found)?;
        }
        let detached = aws
            .ec2
            .detach_volume()
            .device(&device)
            .instance_id(&instance)
            .volume_id(&volume)
            .set_force(boolean(prior, "force_detach"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws.error("ec2", e));
        match detached {
            Err(e) if is_detached(&e) => return Ok(()),
            other => other?,
        }
        wait_attachment(aws, &volume, &instance, false).await
    }

    /// Terraform's import id: `DEVICE_NAME:VOLUME_ID:INSTANCE_ID`.
    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        let parts: Vec<&str> = id.split(':').collect();
        let [device, volume, instance] = parts.as_slice() else {
            return Err(ProviderError::Invalid(format!("import id {id:?} must be DEVICE_NAME:VOLUME_ID:INSTANCE_ID")));
        };
        Ok(Obj::new()
            .s("id", Some(&attachment_id(device, instance, volume)))
            .s("device_name", Some(device))
            .s("volume_id", Some(volume))
            .s("instance_id", Some(instance))
            .build())
    }
}

fn attachment_parts(v: &Value) -> (String, String, String) {
    let field = |name: &str| string(v, name).unwrap_or_default();
    (field("device_name"), field("instance_id"), field("volume_id"))
}

/// A detach of what is no longer attached (or no longer exists) has nothing to do.
fn is_detached(e: &ProviderError) -> bool {
    crate::client::is_not_found(e) || matches!(e, ProviderError::Api { code, .. } if code == "IncorrectState")
}

/// Waits until the volume is attached to the instance, or no longer is.
async fn wait_attachment(aws: &Aws, volume: &str, instance: &str, attached: bool) -> Result<(), ProviderError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let out = match aws.ec2.describe_volumes().volume_ids(volume).send().await.map_err(|e| aws.error("ec2", e)) {
            Err(e) if !attached && crate::client::is_not_found(&e) => return Ok(()),
            other => other?,
        };
        let state = out
            .volumes()
            .iter()
            .flat_map(|v| v.attachments())
            .find(|a| a.instance_id() == Some(instance))
            .and_then(|a| a.state())
            .map(|s| s.as_str().to_string());
        let reached = if attached { state.as_deref() == Some("attached") } else { state.is_none() || state.as_deref() == Some("detached") };
        if reached {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            let want = if attached { "attached to" } else { "detached from" };
            return Err(ProviderError::Invalid(format!("volume {volume} was not {want} {instance} after 5 minutes")));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
