//! `aws_launch_template`. Every change to what instances launch with is a
//! new version of the template, as in Terraform; `update_default_version`
//! or `default_version` says which one instances get by default.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplateTagSpecificationRequest, LaunchTemplateVersion, LaunchTemplatesMonitoringRequest,
    RequestLaunchTemplateData, ResourceType, ShutdownBehavior, Tag, VolumeType,
};
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, Nesting, PlanRequest, ProviderError, Schema};

use super::vpc::{ignore_not_found, not_found, tags_schema};
use super::{tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{attr_err, blocks, boolean, int, string, string_set, strings, unique_id, Obj};
use crate::client::{read_each, Aws};
use crate::kind::ResourceKind;
use crate::schema::nested as block;

pub struct LaunchTemplate;


/// The arguments that are part of a version: changing any makes a new one.
const VERSIONED: &[&str] = &[
    "description",
    "image_id",
    "instance_type",
    "key_name",
    "user_data",
    "vpc_security_group_ids",
    "ebs_optimized",
    "disable_api_termination",
    "disable_api_stop",
    "instance_initiated_shutdown_behavior",
    "iam_instance_profile",
    "monitoring",
    "metadata_options",
    "tag_specifications",
    "block_device_mappings",
];

#[async_trait]
impl ResourceKind for LaunchTemplate {
    fn supported(&self) -> Schema {
        let ebs = Schema::new()
            .attr("delete_on_termination", A::optional(Type::String))
            .attr("encrypted", A::optional(Type::String))
            .attr("iops", A::optional_computed(Type::Number))
            .attr("kms_key_id", A::optional(Type::String))
            .attr("snapshot_id", A::optional(Type::String))
            .attr("throughput", A::optional_computed(Type::Number))
            .attr("volume_size", A::optional_computed(Type::Number))
            .attr("volume_type", A::optional_computed(Type::String));
        let mapping = Schema::new()
            .attr("device_name", A::optional(Type::String))
            .attr("no_device", A::optional(Type::String))
            .attr("virtual_name", A::optional(Type::String))
            .block("ebs", block(Nesting::List, Some(1), ebs));
        let metadata = Schema::new()
            .attr("http_endpoint", A::optional_computed(Type::String))
            .attr("http_protocol_ipv6", A::optional_computed(Type::String))
            .attr("http_put_response_hop_limit", A::optional_computed(Type::Number))
            .attr("http_tokens", A::optional_computed(Type::String))
            .attr("instance_metadata_tags", A::optional_computed(Type::String));
        tags_schema(
            Schema::new()
                .attr("name", A::optional_computed(Type::String).force_new())
                .attr("name_prefix", A::optional_computed(Type::String).force_new())
                .attr("description", A::optional(Type::String))
                .attr("image_id", A::optional(Type::String))
                .attr("instance_type", A::optional(Type::String))
                .attr("key_name", A::optional(Type::String))
                .attr("user_data", A::optional(Type::String))
                .attr("vpc_security_group_ids", A::optional(Type::set(Type::String)))
                .attr("ebs_optimized", A::optional(Type::String))
                .attr("disable_api_termination", A::optional(Type::Bool))
                .attr("disable_api_stop", A::optional(Type::Bool))
                .attr("instance_initiated_shutdown_behavior", A::optional(Type::String))
                .attr("update_default_version", A::optional(Type::Bool))
                .attr("default_version", A::optional_computed(Type::Number))
                .attr("arn", A::computed(Type::String))
                .attr("latest_version", A::computed(Type::Number)),
        )
        .block("iam_instance_profile", block(Nesting::List, Some(1), Schema::new().attr("arn", A::optional(Type::String)).attr("name", A::optional(Type::String))))
        .block("monitoring", block(Nesting::List, Some(1), Schema::new().attr("enabled", A::optional(Type::Bool))))
        .block("metadata_options", block(Nesting::List, Some(1), metadata))
        .block(
            "tag_specifications",
            block(Nesting::List, None, Schema::new().attr("resource_type", A::optional(Type::String)).attr("tags", A::optional(Type::map(Type::String)))),
        )
        .block("block_device_mappings", block(Nesting::List, None, mapping))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        if string(config, "name").is_some() && string(config, "name_prefix").is_some() {
            errors.push(attr_err("name_prefix", "name and name_prefix cannot both be set"));
        }
        if config.get("default_version").is_some_and(|v| !v.is_null()) && boolean(config, "update_default_version").is_some() {
            errors.push(attr_err("default_version", "default_version and update_default_version cannot both be set"));
        }
        if let Some(flag) = string(config, "ebs_optimized").filter(|f| !matches!(f.as_str(), "" | "true" | "false")) {
            errors.push(attr_err("ebs_optimized", format!("ebs_optimized must be \"true\", \"false\" or \"\", got {flag:?}")));
        }
        errors
    }

    /// A change to what instances launch with is a new version.
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        if let Some(name) = string(req.config, "name_prefix").filter(|_| req.prior.is_none()) {
            planned.insert("name".into(), Value::Unknown);
            planned.insert("name_prefix".into(), Value::string(name));
        }
        let Some(prior) = req.prior else { return };
        let changed = VERSIONED.iter().any(|name| prior.get(name) != planned.get(*name));
        if changed {
            planned.insert("latest_version".into(), Value::Unknown);
            if boolean(req.config, "update_default_version") == Some(true) {
                planned.insert("default_version".into(), Value::Unknown);
            }
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let name = string(planned, "name")
            .or_else(|| string(planned, "name_prefix").map(|prefix| unique_id(&prefix)))
            .unwrap_or_else(|| unique_id("terraform-"));
        let out = aws
            .ec2
            .create_launch_template()
            .client_token(token)
            .launch_template_name(&name)
            .set_version_description(string(planned, "description").filter(|d| !d.is_empty()))
            .launch_template_data(template_data(planned))
            .set_tag_specifications(tag_spec(aws, ResourceType::LaunchTemplate, planned, None))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.launch_template().and_then(|t| t.launch_template_id()).unwrap_or_default().to_string();
        let version = out.launch_template().and_then(|t| t.latest_version_number()).unwrap_or(1);
        let stub = Obj::from(planned).s("id", Some(&id)).s("name", Some(&name)).n("latest_version", Some(version as f64)).build();
        if let Some(version) = int(planned, "default_version").filter(|v| *v != 1) {
            set_default(aws, &id, version).await?;
        }
        read_template(aws, &stub).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        read_each(objects, |object| async move {
            match read_template(aws, &object).await {
                Ok(found) => Ok(Some(found)),
                Err(e) if crate::client::is_not_found(&e) || is_template_not_found(&e) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let mut latest = crate::attrs::number(prior, "latest_version").unwrap_or(1.0);
        if VERSIONED.iter().any(|name| prior.get(name) != planned.get(*name)) {
            let out = aws
                .ec2
                .create_launch_template_version()
                .launch_template_id(&id)
                .set_version_description(string(planned, "description").filter(|d| !d.is_empty()))
                .launch_template_data(template_data(planned))
                .send()
                .await
                .map_err(|e| aws.error("ec2", e))?;
            let version = out.launch_template_version().and_then(|v| v.version_number()).unwrap_or_default();
            if boolean(planned, "update_default_version") == Some(true) {
                set_default(aws, &id, version as i32).await?;
            }
            latest = version as f64;
        }
        if let Some(version) = int(planned, "default_version").filter(|v| Some(*v) != int(prior, "default_version")) {
            set_default(aws, &id, version).await?;
        }
        update_tags(aws, &id, prior, planned).await?;
        read_template(aws, &Obj::from(planned).s("id", Some(&id)).n("latest_version", Some(latest)).build()).await
    }

    /// Names are unique in a region: a create that landed is found by its name.
    async fn find_by_token(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Option<Value>, ProviderError> {
        let Some(name) = string(planned, "name") else { return Ok(None) };
        let out = match aws.ec2.describe_launch_templates().launch_template_names(&name).send().await.map_err(|e| aws.error("ec2", e)) {
            Err(e) if is_template_not_found(&e) || crate::client::is_not_found(&e) => return Ok(None),
            other => other?,
        };
        let Some(id) = out.launch_templates().first().and_then(|t| t.launch_template_id()) else { return Ok(None) };
        read_template(aws, &Obj::from(planned).s("id", Some(id)).build()).await.map(Some)
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        match aws.ec2.delete_launch_template().launch_template_id(&id).send().await.map_err(|e| aws.error("ec2", e)) {
            Err(e) if is_template_not_found(&e) => Ok(()),
            other => other.map(|_| ()).or_else(ignore_not_found),
        }
    }
}

fn is_template_not_found(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Api { code, .. } if code.starts_with("InvalidLaunchTemplateId") || code.starts_with("InvalidLaunchTemplateName"))
}

async fn set_default(aws: &Aws, id: &str, version: i32) -> Result<(), ProviderError> {
    let call = aws.ec2.modify_launch_template().launch_template_id(id).default_version(version.to_string());
    call.send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
}

/// What instances launch with, from the configuration.
fn template_data(planned: &Value) -> RequestLaunchTemplateData {
    let text = |v: &Value, name: &str| string(v, name).filter(|s| !s.is_empty());
    let flag = |v: &Value, name: &str| text(v, name).and_then(|s| s.parse::<bool>().ok());
    let groups = strings(planned, "vpc_security_group_ids");
    let mut data = RequestLaunchTemplateData::builder()
        .set_image_id(text(planned, "image_id"))
        .set_instance_type(text(planned, "instance_type").map(|t| aws_sdk_ec2::types::InstanceType::from(t.as_str())))
        .set_key_name(text(planned, "key_name"))
        .set_user_data(text(planned, "user_data"))
        .set_security_group_ids((!groups.is_empty()).then_some(groups))
        .set_ebs_optimized(flag(planned, "ebs_optimized"))
        .set_disable_api_termination(boolean(planned, "disable_api_termination").filter(|d| *d))
        .set_disable_api_stop(boolean(planned, "disable_api_stop").filter(|d| *d))
        .set_instance_initiated_shutdown_behavior(text(planned, "instance_initiated_shutdown_behavior").map(|b| ShutdownBehavior::from(b.as_str())));
    if let Some(profile) = blocks(planned, "iam_instance_profile").first() {
        data = data.iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder().set_arn(text(profile, "arn")).set_name(text(profile, "name")).build(),
        );
    }
    if let Some(monitoring) = blocks(planned, "monitoring").first() {
        data = data.monitoring(LaunchTemplatesMonitoringRequest::builder().set_enabled(boolean(monitoring, "enabled")).build());
    }
    if let Some(options) = blocks(planned, "metadata_options").first() {
        use aws_sdk_ec2::types::{LaunchTemplateHttpTokensState, LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataProtocolIpv6, LaunchTemplateInstanceMetadataTagsState};
        data = data.metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .set_http_endpoint(text(options, "http_endpoint").map(|e| LaunchTemplateInstanceMetadataEndpointState::from(e.as_str())))
                .set_http_protocol_ipv6(text(options, "http_protocol_ipv6").map(|p| LaunchTemplateInstanceMetadataProtocolIpv6::from(p.as_str())))
                .set_http_put_response_hop_limit(int(options, "http_put_response_hop_limit"))
                .set_http_tokens(text(options, "http_tokens").map(|t| LaunchTemplateHttpTokensState::from(t.as_str())))
                .set_instance_metadata_tags(text(options, "instance_metadata_tags").map(|t| LaunchTemplateInstanceMetadataTagsState::from(t.as_str())))
                .build(),
        );
    }
    for spec in blocks(planned, "tag_specifications") {
        let tags = crate::attrs::string_map(spec, "tags").into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        data = data.tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .set_resource_type(text(spec, "resource_type").map(|r| ResourceType::from(r.as_str())))
                .set_tags(Some(tags))
                .build(),
        );
    }
    for mapping in blocks(planned, "block_device_mappings") {
        let ebs = blocks(mapping, "ebs").first().map(|ebs| {
            LaunchTemplateEbsBlockDeviceRequest::builder()
                .set_delete_on_termination(flag(ebs, "delete_on_termination"))
                .set_encrypted(flag(ebs, "encrypted"))
                .set_iops(int(ebs, "iops").filter(|n| *n > 0))
                .set_kms_key_id(text(ebs, "kms_key_id"))
                .set_snapshot_id(text(ebs, "snapshot_id"))
                .set_throughput(int(ebs, "throughput").filter(|n| *n > 0))
                .set_volume_size(int(ebs, "volume_size").filter(|n| *n > 0))
                .set_volume_type(text(ebs, "volume_type").map(|t| VolumeType::from(t.as_str())))
                .build()
        });
        data = data.block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .set_device_name(text(mapping, "device_name"))
                .set_no_device(text(mapping, "no_device"))
                .set_virtual_name(text(mapping, "virtual_name"))
                .set_ebs(ebs)
                .build(),
        );
    }
    data.build()
}

/// The template, and its latest version's data as Terraform stores it.
/// A version never changes once made: when the latest one is the one
/// `object` holds (made by this provider, or read before), its data is
/// kept rather than read again: one call per template on refresh.
async fn read_template(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let out = aws.ec2.describe_launch_templates().launch_template_ids(&id).send().await.map_err(|e| aws.error("ec2", e))?;
    let template = out.launch_templates().first().ok_or_else(|| not_found("launch template", &id))?;
    let latest = template.latest_version_number().unwrap_or(1);
    let known = object.get("latest_version").and_then(Value::as_f64) == Some(latest as f64) && object.get("image_id").is_some();
    let data = if known {
        settled(&LaunchTemplate.supported(), object)
    } else {
        let versions = aws
            .ec2
            .describe_launch_template_versions()
            .launch_template_id(&id)
            .versions(latest.to_string())
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let version = versions.launch_template_versions().first().ok_or_else(|| not_found("launch template version", &id))?;
        version_value(version)
    };
    let obj = VERSIONED.iter().fold(Obj::from(object), |o, name| o.set(name, data.get(*name).cloned().unwrap_or(Value::Null)))
        .s("kernel_id", Some(&string(&data, "kernel_id").unwrap_or_default()))
        .s("ram_disk_id", Some(&string(&data, "ram_disk_id").unwrap_or_default()))
        .s("id", Some(&id))
        .s("arn", Some(&aws.arn("ec2", &format!("launch-template/{id}"))))
        .s("name", template.launch_template_name())
        .set("name_prefix", object.get("name_prefix").cloned().filter(|v| !v.is_null() && !v.is_unknown()).unwrap_or_else(|| Value::string("")))
        .n("default_version", template.default_version_number().map(|n| n as f64))
        .n("latest_version", Some(latest as f64))
        .set("update_default_version", object.get("update_default_version").cloned().unwrap_or(Value::Null));
    Ok(with_ec2_tags(obj, aws, template.tags(), object).build())
}

/// `object` with what is still unknown in it (what AWS leaves unset in a
/// version) given the zero value Terraform stores for its type.
fn settled(schema: &Schema, object: &Value) -> Value {
    let Some(fields) = object.as_map() else { return object.clone() };
    let mut out = fields.clone();
    for (name, attr) in &schema.attributes {
        if out.get(name).is_some_and(Value::is_unknown) {
            let zero = match attr.ty {
                Type::String => Value::string(""),
                Type::Number => Value::number(0),
                Type::Bool => Value::Bool(false),
                _ => Value::Null,
            };
            out.insert(name.clone(), zero);
        }
    }
    for (name, block) in &schema.blocks {
        let items = match out.get(name).map(Value::unmarked) {
            Some(Value::List(items)) => items.iter().map(|i| settled(&block.body, i)).collect(),
            _ => continue,
        };
        out.insert(name.clone(), Value::List(items));
    }
    Value::Map(out)
}

fn version_value(version: &LaunchTemplateVersion) -> Value {
    let Some(data) = version.launch_template_data() else { return Obj::new().build() };
    let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    let list = |items: Vec<Value>| Value::List(items);
    let profile = data.iam_instance_profile().map(|p| Obj::new().s("arn", Some(p.arn().unwrap_or_default())).s("name", Some(p.name().unwrap_or_default())).build());
    let monitoring = data.monitoring().map(|m| Obj::new().b("enabled", Some(m.enabled().unwrap_or(false))).build());
    let metadata = data.metadata_options().map(|o| {
        Obj::new()
            .s("http_endpoint", Some(o.http_endpoint().map(|e| e.as_str()).unwrap_or_default()))
            .s("http_protocol_ipv6", Some(o.http_protocol_ipv6().map(|p| p.as_str()).unwrap_or_default()))
            .n("http_put_response_hop_limit", Some(f64::from(o.http_put_response_hop_limit().unwrap_or(0))))
            .s("http_tokens", Some(o.http_tokens().map(|t| t.as_str()).unwrap_or_default()))
            .s("instance_metadata_tags", Some(o.instance_metadata_tags().map(|t| t.as_str()).unwrap_or_default()))
            .build()
    });
    // A template's own tags are not instance tags, whatever an endpoint reports.
    let tag_specs: Vec<Value> = data
        .tag_specifications()
        .iter()
        .filter(|t| t.resource_type().is_some_and(|r| *r != ResourceType::LaunchTemplate))
        .map(|t| {
            let tags: BTreeMap<String, String> = t.tags().iter().filter_map(|tag| Some((tag.key()?.to_string(), tag.value().unwrap_or_default().to_string()))).collect();
            Obj::new().s("resource_type", t.resource_type().map(|r| r.as_str())).set("tags", crate::attrs::map_value(&tags)).build()
        })
        .collect();
    let mappings: Vec<Value> = data
        .block_device_mappings()
        .iter()
        .map(|m| {
            let ebs = m.ebs().map(|e| {
                Obj::new()
                    .s("delete_on_termination", Some(&flag(e.delete_on_termination())))
                    .s("encrypted", Some(&flag(e.encrypted())))
                    .n("iops", Some(f64::from(e.iops().unwrap_or(0))))
                    .s("kms_key_id", Some(e.kms_key_id().unwrap_or_default()))
                    .s("snapshot_id", Some(e.snapshot_id().unwrap_or_default()))
                    .n("throughput", Some(f64::from(e.throughput().unwrap_or(0))))
                    .n("volume_size", Some(f64::from(e.volume_size().unwrap_or(0))))
                    .s("volume_type", Some(e.volume_type().map(|t| t.as_str()).unwrap_or_default()))
                    .build()
            });
            Obj::new()
                .s("device_name", Some(m.device_name().unwrap_or_default()))
                .s("no_device", Some(m.no_device().unwrap_or_default()))
                .s("virtual_name", Some(m.virtual_name().unwrap_or_default()))
                .set("ebs", list(ebs.into_iter().collect()))
                .build()
        })
        .collect();
    Obj::new()
        .s("description", Some(version.version_description().unwrap_or_default()))
        .s("image_id", Some(data.image_id().unwrap_or_default()))
        .s("instance_type", Some(data.instance_type().map(|t| t.as_str()).unwrap_or_default()))
        .s("key_name", Some(data.key_name().unwrap_or_default()))
        .s("user_data", Some(data.user_data().unwrap_or_default()))
        .set("vpc_security_group_ids", string_set(data.security_group_ids()))
        .s("ebs_optimized", Some(&flag(data.ebs_optimized())))
        .b("disable_api_termination", Some(data.disable_api_termination().unwrap_or(false)))
        .b("disable_api_stop", Some(data.disable_api_stop().unwrap_or(false)))
        .s("instance_initiated_shutdown_behavior", Some(data.instance_initiated_shutdown_behavior().map(|b| b.as_str()).unwrap_or_default()))
        .set("iam_instance_profile", list(profile.into_iter().collect()))
        .set("monitoring", list(monitoring.into_iter().collect()))
        .set("metadata_options", list(metadata.into_iter().collect()))
        .set("tag_specifications", list(tag_specs))
        .set("block_device_mappings", list(mappings))
        // What terrane does not configure yet, as Terraform stores it unset.
        .s("kernel_id", Some(data.kernel_id().unwrap_or_default()))
        .s("ram_disk_id", Some(data.ram_disk_id().unwrap_or_default()))
        .build()
}
