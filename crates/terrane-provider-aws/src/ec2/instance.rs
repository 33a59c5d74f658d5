//! `aws_instance`, `aws_eip` and `aws_key_pair`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{
    AttributeValue, DomainType, Filter, Instance as AwsInstance, InstanceNetworkInterfaceSpecification, InstanceStateName,
    InstanceType, ResourceType,
};
use base64::Engine as _;
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, BlockSchema, Nesting, PlanRequest, ProviderError, Schema};

use super::vpc::{ignore_not_found, not_found, tags_schema};
use super::{by_values, each_set, filter, ids, in_order, prior_for, tag_spec, update_tags, with_ec2_tags};
use crate::attrs::{attr_err, boolean, string, string_set, strings, Obj};
use crate::client::{retry_new, Aws, TOKEN_TAG};
use crate::kind::ResourceKind;

/// How long an instance may take to reach the state a call waits for.
const STATE_WAIT: Duration = Duration::from_secs(600);

pub struct Instance;

#[async_trait]
impl ResourceKind for Instance {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("ami", A::optional_computed(Type::String).force_new())
                .attr("instance_type", A::optional_computed(Type::String))
                .attr("subnet_id", A::optional_computed(Type::String).force_new())
                .attr("vpc_security_group_ids", A::optional_computed(Type::set(Type::String)))
                .attr("key_name", A::optional_computed(Type::String).force_new())
                .attr("associate_public_ip_address", A::optional_computed(Type::Bool).force_new())
                .attr("private_ip", A::optional_computed(Type::String).force_new())
                .attr("availability_zone", A::optional_computed(Type::String).force_new())
                .attr("user_data", A::optional_computed(Type::String).force_new())
                .attr("iam_instance_profile", A::optional_computed(Type::String))
                .attr("arn", A::computed(Type::String))
                .attr("public_ip", A::computed(Type::String))
                .attr("public_dns", A::computed(Type::String))
                .attr("private_dns", A::computed(Type::String))
                .attr("instance_state", A::computed(Type::String))
                .attr("primary_network_interface_id", A::computed(Type::String))
                .attr("security_groups", A::optional_computed(Type::set(Type::String)).force_new()),
        )
        .block("metadata_options", metadata_options_block())
        .block("credit_specification", list_block(Some(1), Schema::new().attr("cpu_credits", A::optional(Type::String))))
        .block("root_block_device", list_block(Some(1), root_device_schema()))
        .block("ebs_block_device", BlockSchema { nesting: Nesting::Set, min_items: 0, max_items: None, force_new: true, body: ebs_device_schema() })
        .block(
            "network_interface",
            BlockSchema {
                nesting: Nesting::Set,
                min_items: 0,
                max_items: None,
                force_new: true,
                body: Schema::new()
                    .attr("device_index", A::required(Type::Number))
                    .attr("network_interface_id", A::required(Type::String))
                    .attr("delete_on_termination", A::optional(Type::Bool))
                    .attr("network_card_index", A::optional(Type::Number)),
            },
        )
    }

    fn computed_blocks(&self) -> &'static [&'static str] {
        &["credit_specification", "root_block_device", "ebs_block_device", "network_interface", "metadata_options"]
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        plan_root_device(req, planned);
        // Terraform's provider defaults for a given interface: kept at termination, first card.
        if let Some(Value::Set(interfaces)) = planned.get("network_interface") {
            let defaulted = interfaces.iter().map(|n| {
                let kept = |name: &str, zero: Value| n.get(name).filter(|v| !v.is_null()).cloned().unwrap_or(zero);
                Obj::from(n).set("delete_on_termination", kept("delete_on_termination", Value::Bool(false))).set("network_card_index", kept("network_card_index", Value::number(0))).build()
            });
            planned.insert("network_interface".into(), Value::set(defaulted.collect()));
        }
        // The defaults Terraform's provider gives the two arguments AWS does not compute.
        if let Some(Value::List(blocks)) = planned.get_mut("metadata_options") {
            for block in blocks.iter_mut() {
                if let Value::Map(fields) = block {
                    for (name, default) in [("http_endpoint", "enabled"), ("http_protocol_ipv6", "disabled")] {
                        if fields.get(name).is_none_or(Value::is_null) {
                            fields.insert(name.to_string(), Value::string(default));
                        }
                    }
                }
            }
        }
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        for name in ["ami", "instance_type"] {
            crate::attrs::require(config, name, "terrane does not support launch_template yet", &mut errors);
        }
        if let Some(t) = string(config, "instance_type") {
            if !InstanceType::values().contains(&t.as_str()) {
                errors.push(attr_err("instance_type", format!("{t:?} is not an EC2 instance type (such as t3.micro or m5.large)")));
            }
        }
        if let Some(ami) = string(config, "ami") {
            if !ami.starts_with("ami-") {
                errors.push(attr_err("ami", format!("{ami:?} is not an AMI id (ami-...)")));
            }
        }
        errors
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let groups = strings(planned, "vpc_security_group_ids");
        let mut call = aws
            .ec2
            .run_instances()
            .set_image_id(string(planned, "ami"))
            .set_instance_type(string(planned, "instance_type").map(|t| InstanceType::from(t.as_str())))
            .min_count(1)
            .max_count(1)
            .client_token(token)
            .set_key_name(string(planned, "key_name"))
            .set_user_data(string(planned, "user_data").map(|d| base64::engine::general_purpose::STANDARD.encode(d)))
            .set_tag_specifications(tag_spec(aws, ResourceType::Instance, planned, Some(token)));
        if let Some(options) = metadata_options_request(planned) {
            call = call.metadata_options(options);
        }
        if let Some(credits) = crate::attrs::blocks(planned, "credit_specification").first().and_then(|c| string(c, "cpu_credits")).filter(|c| !c.is_empty()) {
            call = call.credit_specification(aws_sdk_ec2::types::CreditSpecificationRequest::builder().cpu_credits(credits).build());
        }
        call = call.set_block_device_mappings(block_device_requests(aws, planned).await?);
        let names = strings(planned, "security_groups");
        if !names.is_empty() {
            call = call.set_security_groups(Some(names));
        }
        if !aws.default_tags.is_empty() {
            // Default tags go on the instance's volumes too, as with Terraform.
            call = call.set_tag_specifications(Some(
                tag_spec(aws, ResourceType::Instance, planned, Some(token)).into_iter().flatten().chain(tag_spec(aws, ResourceType::Volume, &Value::Null, None).into_iter().flatten()).collect(),
            ));
        }
        if let Some(profile) = string(planned, "iam_instance_profile") {
            call = call.iam_instance_profile(aws_sdk_ec2::types::IamInstanceProfileSpecification::builder().name(profile).build());
        }
        if let Some(zone) = string(planned, "availability_zone") {
            call = call.placement(aws_sdk_ec2::types::Placement::builder().availability_zone(zone).build());
        }
        let attached = crate::attrs::blocks(planned, "network_interface");
        call = match boolean(planned, "associate_public_ip_address") {
            // The configured interfaces carry the subnet, addresses and groups.
            _ if !attached.is_empty() => call.set_network_interfaces(Some(
                attached
                    .iter()
                    .map(|n| {
                        InstanceNetworkInterfaceSpecification::builder()
                            .set_network_interface_id(string(n, "network_interface_id"))
                            .set_device_index(crate::attrs::int(n, "device_index"))
                            .network_card_index(crate::attrs::int(n, "network_card_index").unwrap_or(0))
                            .delete_on_termination(boolean(n, "delete_on_termination").unwrap_or(false))
                            .build()
                    })
                    .collect(),
            )),
            // A public address can only be asked for on the network interface.
            Some(public) => call.network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .associate_public_ip_address(public)
                    .set_subnet_id(string(planned, "subnet_id"))
                    .set_private_ip_address(string(planned, "private_ip"))
                    .set_groups((!groups.is_empty()).then_some(groups))
                    .build(),
            ),
            None => call
                .set_subnet_id(string(planned, "subnet_id"))
                .set_private_ip_address(string(planned, "private_ip"))
                .set_security_group_ids((!groups.is_empty()).then_some(groups)),
        };
        let out = call.send().await.map_err(|e| aws.error("ec2", e))?;
        let id = out.instances().first().and_then(|i| i.instance_id()).unwrap_or_default().to_string();
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        wait_for(aws, &stub, |s| s != "pending").await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let sets = by_values("instance-id", &ids(objects));
        let mut found = in_order(objects, describe(aws, sets, objects).await?);
        // Describe leaves user data out; an import (whose prior has no user_data
        // at all) asks for it, and refresh keeps what was applied.
        for (prior, object) in objects.iter().zip(found.iter_mut()) {
            if let (None, Some(Value::Map(object))) = (prior.get("user_data"), object.as_mut()) {
                let id = object.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                object.insert("user_data".into(), user_data(aws, &id).await?);
            }
        }
        Ok(found)
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        if let Some(want) = string(planned, "instance_type").filter(|t| Some(t) != string(prior, "instance_type").as_ref()) {
            // The type of a running instance cannot change: stop, change, start.
            aws.ec2.stop_instances().instance_ids(&id).send().await.map_err(|e| aws.error("ec2", e))?;
            wait_for(aws, &stub, |s| s == "stopped").await?;
            aws.ec2
                .modify_instance_attribute()
                .instance_id(&id)
                .instance_type(AttributeValue::builder().value(want).build())
                .send()
                .await
                .map_err(|e| aws.error("ec2", e))?;
            aws.ec2.start_instances().instance_ids(&id).send().await.map_err(|e| aws.error("ec2", e))?;
        }
        let groups = strings(planned, "vpc_security_group_ids");
        if !groups.is_empty() && string_set(&groups) != string_set(strings(prior, "vpc_security_group_ids")) {
            aws.ec2.modify_instance_attribute().instance_id(&id).set_groups(Some(groups)).send().await.map_err(|e| aws.error("ec2", e))?;
        }
        if planned.get("metadata_options") != prior.get("metadata_options") {
            if let Some(options) = metadata_options_request(planned) {
                aws.ec2
                    .modify_instance_metadata_options()
                    .instance_id(&id)
                    .set_http_tokens(options.http_tokens().cloned().map(|t| aws_sdk_ec2::types::HttpTokensState::from(t.as_str())))
                    .set_http_endpoint(options.http_endpoint().cloned().map(|e| aws_sdk_ec2::types::InstanceMetadataEndpointState::from(e.as_str())))
                    .set_http_put_response_hop_limit(options.http_put_response_hop_limit())
                    .set_http_protocol_ipv6(options.http_protocol_ipv6().cloned().map(|p| aws_sdk_ec2::types::InstanceMetadataProtocolState::from(p.as_str())))
                    .set_instance_metadata_tags(options.instance_metadata_tags().cloned().map(|t| aws_sdk_ec2::types::InstanceMetadataTagsState::from(t.as_str())))
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2", e))?;
            }
        }
        if planned.get("iam_instance_profile") != prior.get("iam_instance_profile") {
            set_instance_profile(aws, &id, string(planned, "iam_instance_profile").filter(|p| !p.is_empty())).await?;
        }
        let credits = |v: &Value| crate::attrs::blocks(v, "credit_specification").first().and_then(|c| string(c, "cpu_credits")).filter(|c| !c.is_empty());
        if let Some(wanted) = credits(planned).filter(|c| Some(c) != credits(prior).as_ref()) {
            let spec = aws_sdk_ec2::types::InstanceCreditSpecificationRequest::builder().instance_id(&id).cpu_credits(wanted).build();
            aws.ec2.modify_instance_credit_specification().instance_credit_specifications(spec).send().await.map_err(|e| aws.error("ec2", e))?;
        }
        update_root_device(aws, &id, prior, planned).await?;
        update_tags(aws, &id, prior, planned).await?;
        wait_for(aws, &stub, |s| s == "running").await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        match aws.ec2.terminate_instances().instance_ids(&id).send().await.map_err(|e| aws.error("ec2", e)) {
            Ok(_) => {}
            Err(e) => return ignore_not_found(e),
        }
        // Until it is terminated its interfaces hold the subnet and security groups.
        match wait_for(aws, prior, |s| s == "terminated").await {
            Ok(_) => Ok(()),
            Err(e) => ignore_not_found(e),
        }
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let sets = vec![vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])]];
        Ok(describe(aws, sets, std::slice::from_ref(planned)).await?.into_values().next())
    }
}

/// Gives the instance `profile`, or takes its profile away.
async fn set_instance_profile(aws: &Aws, id: &str, profile: Option<String>) -> Result<(), ProviderError> {
    let associations = aws
        .ec2
        .describe_iam_instance_profile_associations()
        .filters(filter("instance-id", [id.to_string()]))
        .send()
        .await
        .map_err(|e| aws.error("ec2", e))?;
    let current = associations
        .iam_instance_profile_associations()
        .iter()
        .find(|a| a.state().is_some_and(|s| matches!(s.as_str(), "associated" | "associating")))
        .and_then(|a| a.association_id())
        .map(str::to_string);
    let spec = |name: String| aws_sdk_ec2::types::IamInstanceProfileSpecification::builder().name(name).build();
    match (current, profile) {
        (Some(association), Some(name)) => {
            let call = aws.ec2.replace_iam_instance_profile_association().association_id(association).iam_instance_profile(spec(name));
            call.send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        }
        (Some(association), None) => {
            aws.ec2.disassociate_iam_instance_profile().association_id(association).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        }
        (None, Some(name)) => {
            let call = aws.ec2.associate_iam_instance_profile().instance_id(id).iam_instance_profile(spec(name));
            call.send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
        }
        (None, None) => Ok(()),
    }
}

async fn user_data(aws: &Aws, id: &str) -> Result<Value, ProviderError> {
    let out = aws
        .ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .map_err(|e| aws.error("ec2", e))?;
    let encoded = out.user_data().and_then(|u| u.value()).filter(|v| !v.is_empty());
    Ok(match encoded.map(|e| base64::engine::general_purpose::STANDARD.decode(e)) {
        Some(Ok(bytes)) => Value::string(String::from_utf8_lossy(&bytes)),
        _ => Value::Null,
    })
}

/// Polls until the instance's state satisfies `done`; terminated ones count as
/// gone for every other wait.
async fn wait_for(aws: &Aws, object: &Value, done: impl Fn(&str) -> bool) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let deadline = tokio::time::Instant::now() + STATE_WAIT;
    let mut delay = Duration::from_millis(200);
    loop {
        let found = retry_new(|| async {
            let sets = vec![vec![filter("instance-id", [id.clone()])]];
            let mut all = describe_all(aws, sets, std::slice::from_ref(object)).await?;
            all.remove(&id).ok_or_else(|| not_found("instance", &id))
        })
        .await?;
        let state = string(&found, "instance_state").unwrap_or_default();
        if done(&state) {
            return Ok(found);
        }
        if tokio::time::Instant::now() + delay > deadline {
            return Err(ProviderError::Api {
                service: "ec2".into(),
                code: "Timeout".into(),
                message: format!("instance {id} is still {state} after {} s", STATE_WAIT.as_secs()),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Instances that still exist (not terminated), keyed by id.
async fn describe(aws: &Aws, filter_sets: Vec<Vec<Filter>>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let mut all = describe_all(aws, filter_sets, priors).await?;
    all.retain(|_, v| !matches!(string(v, "instance_state").as_deref(), Some("terminated" | "shutting-down")));
    Ok(all)
}

async fn describe_all(aws: &Aws, filter_sets: Vec<Vec<Filter>>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let pages = each_set(filter_sets, |filters| async move {
        let pages: Vec<_> = aws.ec2.describe_instances().set_filters(Some(filters)).into_paginator().send().collect().await;
        pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
    })
    .await?;
    let instances: Vec<&AwsInstance> = pages.iter().flat_map(|p| p.reservations()).flat_map(|r| r.instances()).collect();
    let details = InstanceDetails::read(aws, &instances).await?;
    let mut out = BTreeMap::new();
    for instance in instances {
        let id = instance.instance_id().unwrap_or_default().to_string();
        out.insert(id.clone(), instance_value(aws, instance, prior_for(priors, &id), &details));
    }
    Ok(out.into_iter().collect())
}

/// What DescribeInstances leaves out, read for many instances at once:
/// their volumes, and the CPU credit option of burstable ones.
pub(crate) struct InstanceDetails {
    volumes: BTreeMap<String, aws_sdk_ec2::types::Volume>,
    credits: BTreeMap<String, String>,
}

/// Instance ids one DescribeInstanceCreditSpecifications call takes.
const CREDIT_IDS_PER_CALL: usize = 100;

impl InstanceDetails {
    pub(crate) async fn read(aws: &Aws, instances: &[&AwsInstance]) -> Result<InstanceDetails, ProviderError> {
        let volume_ids: Vec<String> = instances
            .iter()
            .flat_map(|i| i.block_device_mappings())
            .filter_map(|m| m.ebs().and_then(|e| e.volume_id()).map(str::to_string))
            .collect();
        let volumes = each_set(by_values("volume-id", &volume_ids), |filters| async move {
            let pages: Vec<_> = aws.ec2.describe_volumes().set_filters(Some(filters)).into_paginator().items().send().collect().await;
            pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| aws.error("ec2", e))
        });
        // Only burstable types (t2, t3, t3a, t4g) have a credit option.
        let burstable: Vec<String> = instances
            .iter()
            .filter(|i| i.instance_type().is_some_and(|t| t.as_str().starts_with('t')))
            .filter(|i| i.state().and_then(|s| s.name()).is_none_or(|n| !matches!(n, InstanceStateName::Terminated | InstanceStateName::ShuttingDown)))
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        let credits = futures_util::future::try_join_all(burstable.chunks(CREDIT_IDS_PER_CALL).map(|chunk| async move {
            let out = aws.ec2.describe_instance_credit_specifications().set_instance_ids(Some(chunk.to_vec())).send().await.map_err(|e| aws.error("ec2", e))?;
            Ok::<_, ProviderError>(
                out.instance_credit_specifications()
                    .iter()
                    .filter_map(|c| Some((c.instance_id()?.to_string(), c.cpu_credits()?.to_string())))
                    .collect::<Vec<_>>(),
            )
        }));
        let (volumes, credits) = tokio::try_join!(volumes, credits)?;
        Ok(InstanceDetails {
            volumes: volumes.into_iter().filter_map(|v| Some((v.volume_id()?.to_string(), v))).collect(),
            credits: credits.into_iter().flatten().collect(),
        })
    }

    /// The instance's root device and its other EBS devices, as Terraform
    /// stores them; `prior` gives the tags the configuration set itself.
    pub(crate) fn block_devices(&self, aws: &Aws, instance: &AwsInstance, prior: &Value) -> (Vec<Value>, Vec<Value>) {
        let root_name = instance.root_device_name();
        let (mut root, mut others) = (Vec::new(), Vec::new());
        for mapping in instance.block_device_mappings() {
            let Some(ebs) = mapping.ebs() else { continue };
            let is_root = mapping.device_name() == root_name;
            let volume = ebs.volume_id().and_then(|id| self.volumes.get(id));
            let prior_block = crate::attrs::blocks(prior, if is_root { "root_block_device" } else { "ebs_block_device" })
                .into_iter()
                .find(|b| is_root || string(b, "device_name").as_deref() == mapping.device_name())
                .cloned()
                .unwrap_or(Value::Null);
            let obj = Obj::new()
                .b("delete_on_termination", Some(ebs.delete_on_termination().unwrap_or(true)))
                .s("device_name", mapping.device_name())
                .s("volume_id", ebs.volume_id())
                .b("encrypted", Some(volume.and_then(|v| v.encrypted()).unwrap_or(false)))
                .n("iops", Some(f64::from(volume.and_then(|v| v.iops()).unwrap_or(0))))
                .s("kms_key_id", Some(volume.and_then(|v| v.kms_key_id()).unwrap_or_default()))
                .n("throughput", Some(f64::from(volume.and_then(|v| v.throughput()).unwrap_or(0))))
                .n("volume_size", volume.and_then(|v| v.size()).map(f64::from))
                .s("volume_type", Some(volume.and_then(|v| v.volume_type()).map(|t| t.as_str()).unwrap_or_default()));
            let obj = super::with_tags(obj, aws, &super::tag_map(volume.map(|v| v.tags()).unwrap_or_default()), &prior_block);
            if is_root {
                root.push(obj.build());
            } else {
                others.push(obj.s("snapshot_id", Some(volume.and_then(|v| v.snapshot_id()).unwrap_or_default())).build());
            }
        }
        (root, others)
    }

    /// `credit_specification` as Terraform stores it: one block for a burstable instance.
    pub(crate) fn credit_specification(&self, instance: &AwsInstance) -> Value {
        let credits = instance.instance_id().and_then(|id| self.credits.get(id));
        Value::List(credits.map(|c| Obj::new().s("cpu_credits", Some(c)).build()).into_iter().collect())
    }
}

fn list_block(max_items: Option<usize>, body: Schema) -> BlockSchema {
    crate::schema::nested(Nesting::List, max_items, body)
}

fn root_device_schema() -> Schema {
    Schema::new()
        .attr("delete_on_termination", A::optional(Type::Bool))
        .attr("device_name", A::computed(Type::String))
        .attr("encrypted", A::optional_computed(Type::Bool).force_new())
        .attr("iops", A::optional_computed(Type::Number))
        .attr("kms_key_id", A::optional_computed(Type::String).force_new())
        .attr("throughput", A::optional_computed(Type::Number))
        .attr("volume_id", A::computed(Type::String))
        .attr("volume_size", A::optional_computed(Type::Number))
        .attr("volume_type", A::optional_computed(Type::String))
}

fn ebs_device_schema() -> Schema {
    Schema::new()
        .attr("device_name", A::required(Type::String))
        .attr("delete_on_termination", A::optional(Type::Bool))
        .attr("encrypted", A::optional_computed(Type::Bool))
        .attr("iops", A::optional_computed(Type::Number))
        .attr("kms_key_id", A::optional_computed(Type::String))
        .attr("snapshot_id", A::optional_computed(Type::String))
        .attr("throughput", A::optional_computed(Type::Number))
        .attr("volume_id", A::computed(Type::String))
        .attr("volume_size", A::optional_computed(Type::Number))
        .attr("volume_type", A::optional_computed(Type::String))
}

/// A configured root device: what it leaves out is what the volume has
/// (unknown until it exists); a new volume type brings AWS's own iops and
/// throughput unless they are set.
fn plan_root_device(req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
    let Some(configured) = crate::attrs::blocks(req.config, "root_block_device").first().copied() else { return };
    let prior = req.prior.and_then(|p| crate::attrs::blocks(p, "root_block_device").first().copied()).cloned().unwrap_or(Value::Null);
    let type_changed = !prior.is_null() && configured.get("volume_type").is_some_and(|t| !t.is_null() && prior.get("volume_type") != Some(t));
    let mut block = Obj::from(configured);
    for name in ["device_name", "encrypted", "iops", "kms_key_id", "throughput", "volume_id", "volume_size", "volume_type", "tags", "tags_all"] {
        if configured.get(name).is_none_or(Value::is_null) {
            let renewed = type_changed && matches!(name, "iops" | "throughput");
            let kept = prior.get(name).cloned().filter(|_| !renewed && !prior.is_null()).unwrap_or(if name == "tags" { Value::Null } else { Value::Unknown });
            block = block.set(name, kept);
        }
    }
    if configured.get("delete_on_termination").is_none_or(Value::is_null) {
        block = block.b("delete_on_termination", Some(true));
    }
    planned.insert("root_block_device".into(), Value::List(vec![block.build()]));
}

/// The block devices a launch asks for: the root device (named as the AMI
/// names it) and each EBS device.
async fn block_device_requests(aws: &Aws, planned: &Value) -> Result<Option<Vec<aws_sdk_ec2::types::BlockDeviceMapping>>, ProviderError> {
    use aws_sdk_ec2::types::{BlockDeviceMapping, EbsBlockDevice};
    let ebs = |b: &Value| {
        EbsBlockDevice::builder()
            .set_delete_on_termination(boolean(b, "delete_on_termination"))
            .set_encrypted(boolean(b, "encrypted"))
            .set_iops(crate::attrs::int(b, "iops").filter(|n| *n > 0))
            .set_kms_key_id(string(b, "kms_key_id").filter(|k| !k.is_empty()))
            .set_snapshot_id(string(b, "snapshot_id").filter(|s| !s.is_empty()))
            .set_throughput(crate::attrs::int(b, "throughput").filter(|n| *n > 0))
            .set_volume_size(crate::attrs::int(b, "volume_size").filter(|n| *n > 0))
            .set_volume_type(string(b, "volume_type").filter(|t| !t.is_empty()).map(|t| aws_sdk_ec2::types::VolumeType::from(t.as_str())))
            .build()
    };
    let mut mappings: Vec<BlockDeviceMapping> = crate::attrs::blocks(planned, "ebs_block_device")
        .into_iter()
        .map(|b| BlockDeviceMapping::builder().set_device_name(string(b, "device_name")).ebs(ebs(b)).build())
        .collect();
    if let Some(root) = crate::attrs::blocks(planned, "root_block_device").first() {
        let image = string(planned, "ami").unwrap_or_default();
        let out = aws.ec2.describe_images().image_ids(&image).send().await.map_err(|e| aws.error("ec2", e))?;
        let device = out.images().first().and_then(|i| i.root_device_name()).map(str::to_string).ok_or_else(|| not_found("image", &image))?;
        mappings.push(BlockDeviceMapping::builder().device_name(device).ebs(ebs(root)).build());
    }
    Ok((!mappings.is_empty()).then_some(mappings))
}

/// Changes the root volume in place: size, type, iops and throughput
/// through ModifyVolume, delete-on-termination on the instance.
async fn update_root_device(aws: &Aws, id: &str, prior: &Value, planned: &Value) -> Result<(), ProviderError> {
    let (Some(before), Some(after)) = (crate::attrs::blocks(prior, "root_block_device").first().copied(), crate::attrs::blocks(planned, "root_block_device").first().copied())
    else {
        return Ok(());
    };
    let changed = |name: &str| after.get(name).is_some_and(|v| !v.is_null() && !v.is_unknown()) && before.get(name) != after.get(name);
    let volume = string(before, "volume_id").unwrap_or_default();
    if ["volume_size", "volume_type", "iops", "throughput"].iter().any(|n| changed(n)) {
        aws.ec2
            .modify_volume()
            .volume_id(&volume)
            .set_size(crate::attrs::int(after, "volume_size").filter(|_| changed("volume_size")))
            .set_volume_type(string(after, "volume_type").filter(|_| changed("volume_type")).map(|t| aws_sdk_ec2::types::VolumeType::from(t.as_str())))
            .set_iops(crate::attrs::int(after, "iops").filter(|_| changed("iops")))
            .set_throughput(crate::attrs::int(after, "throughput").filter(|_| changed("throughput")))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
    }
    if changed("delete_on_termination") {
        let spec = aws_sdk_ec2::types::InstanceBlockDeviceMappingSpecification::builder()
            .set_device_name(string(before, "device_name"))
            .ebs(aws_sdk_ec2::types::EbsInstanceBlockDeviceSpecification::builder().set_delete_on_termination(boolean(after, "delete_on_termination")).build())
            .build();
        aws.ec2.modify_instance_attribute().instance_id(id).block_device_mappings(spec).send().await.map_err(|e| aws.error("ec2", e))?;
    }
    Ok(())
}

fn metadata_options_block() -> BlockSchema {
    let body = Schema::new()
        .attr("http_endpoint", A::optional(Type::String))
        .attr("http_protocol_ipv6", A::optional(Type::String))
        .attr("http_put_response_hop_limit", A::optional_computed(Type::Number))
        .attr("http_tokens", A::optional_computed(Type::String))
        .attr("instance_metadata_tags", A::optional_computed(Type::String));
    list_block(Some(1), body)
}

/// The configured metadata options, if a block sets any.
fn metadata_options_request(planned: &Value) -> Option<aws_sdk_ec2::types::InstanceMetadataOptionsRequest> {
    use aws_sdk_ec2::types::{HttpTokensState, InstanceMetadataEndpointState, InstanceMetadataProtocolState, InstanceMetadataTagsState};
    let block = crate::attrs::blocks(planned, "metadata_options").into_iter().next()?;
    let text = |name: &str| string(block, name).filter(|v| !v.is_empty());
    Some(
        aws_sdk_ec2::types::InstanceMetadataOptionsRequest::builder()
            .set_http_tokens(text("http_tokens").map(|t| HttpTokensState::from(t.as_str())))
            .set_http_endpoint(text("http_endpoint").map(|e| InstanceMetadataEndpointState::from(e.as_str())))
            .set_http_put_response_hop_limit(crate::attrs::int(block, "http_put_response_hop_limit"))
            .set_http_protocol_ipv6(text("http_protocol_ipv6").map(|p| InstanceMetadataProtocolState::from(p.as_str())))
            .set_instance_metadata_tags(text("instance_metadata_tags").map(|t| InstanceMetadataTagsState::from(t.as_str())))
            .build(),
    )
}

/// The instance's metadata options as Terraform stores them: one block.
pub(crate) fn metadata_options_value(instance: &AwsInstance, prior: &Value) -> Value {
    let Some(options) = instance.metadata_options() else {
        return prior.get("metadata_options").cloned().unwrap_or(Value::List(Vec::new()));
    };
    let block = Obj::new()
        .s("http_endpoint", options.http_endpoint().map(|e| e.as_str()))
        .s("http_protocol_ipv6", options.http_protocol_ipv6().map(|p| p.as_str()))
        .n("http_put_response_hop_limit", options.http_put_response_hop_limit().map(f64::from))
        .s("http_tokens", options.http_tokens().map(|t| t.as_str()))
        .s("instance_metadata_tags", options.instance_metadata_tags().map(|t| t.as_str()))
        .build();
    Value::List(vec![block])
}

fn instance_value(aws: &Aws, instance: &AwsInstance, prior: &Value, details: &InstanceDetails) -> Value {
    let id = instance.instance_id().unwrap_or_default();
    let state = instance.state().and_then(|s| s.name()).map(InstanceStateName::as_str);
    let groups: Vec<&str> = instance.security_groups().iter().filter_map(|g| g.group_id()).collect();
    let primary = instance.network_interfaces().iter().find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0));
    let public = prior.get("associate_public_ip_address").and_then(Value::as_bool).or(Some(instance.public_ip_address().is_some()));
    let (root, others) = details.block_devices(aws, instance, prior);
    // Groups by name only where the configuration names them (or outside a VPC).
    let by_name = !crate::attrs::strings(prior, "security_groups").is_empty() || instance.vpc_id().is_none();
    let names: Vec<&str> = if by_name { instance.security_groups().iter().filter_map(|g| g.group_name()).collect() } else { Vec::new() };
    let obj = Obj::new()
        .s("id", Some(id))
        .s("arn", Some(&aws.arn("ec2", &format!("instance/{id}"))))
        .s("ami", instance.image_id())
        .s("instance_type", instance.instance_type().map(|t| t.as_str()))
        .s("subnet_id", instance.subnet_id())
        .set("vpc_security_group_ids", string_set(groups))
        .s("key_name", instance.key_name())
        .b("associate_public_ip_address", public)
        .s("private_ip", instance.private_ip_address())
        .s("availability_zone", instance.placement().and_then(|p| p.availability_zone()))
        // AWS does not give user data back in a describe; it is kept as configured.
        .set("user_data", prior.get("user_data").cloned().unwrap_or(Value::Null))
        .s("public_ip", instance.public_ip_address())
        .s("public_dns", instance.public_dns_name())
        .s("private_dns", instance.private_dns_name())
        .s("instance_state", state)
        .s("primary_network_interface_id", primary.and_then(|n| n.network_interface_id()))
        // Terraform stores the profile's name, the last part of its ARN.
        .s("iam_instance_profile", Some(instance.iam_instance_profile().and_then(|p| p.arn()).and_then(|arn| arn.rsplit('/').next()).unwrap_or_default()))
        .set("metadata_options", metadata_options_value(instance, prior))
        .set("credit_specification", details.credit_specification(instance))
        .set("root_block_device", Value::List(root))
        .set("ebs_block_device", Value::set(others))
        .set("network_interface", configured_interfaces(instance, prior))
        .set("security_groups", string_set(names));
    with_ec2_tags(obj, aws, instance.tags(), prior).build()
}

/// The interfaces the instance was launched with, where the configuration
/// names them; an instance launched without gets [].
fn configured_interfaces(instance: &AwsInstance, prior: &Value) -> Value {
    let named = crate::attrs::blocks(prior, "network_interface");
    if named.is_empty() {
        return Value::Set(Vec::new());
    }
    let interfaces = instance.network_interfaces().iter().filter_map(|n| {
        let attachment = n.attachment()?;
        let configured = named.iter().find(|b| string(b, "network_interface_id").as_deref() == n.network_interface_id())?;
        Some(
            Obj::new()
                .n("device_index", attachment.device_index().map(f64::from))
                .s("network_interface_id", n.network_interface_id())
                .b("delete_on_termination", Some(attachment.delete_on_termination().unwrap_or(false)))
                .set("network_card_index", configured.get("network_card_index").cloned().filter(|v| !v.is_null()).unwrap_or(Value::number(attachment.network_card_index().unwrap_or(0))))
                .build(),
        )
    });
    Value::set(interfaces.collect())
}

pub struct Eip;

#[async_trait]
impl ResourceKind for Eip {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("domain", A::optional_computed(Type::String).force_new())
                // The older spelling of domain = "vpc".
                .attr("vpc", A::optional_computed(Type::Bool).deprecated().force_new())
                .attr("instance", A::optional_computed(Type::String))
                .attr("allocation_id", A::computed(Type::String))
                .attr("association_id", A::computed(Type::String))
                .attr("public_ip", A::computed(Type::String))
                .attr("private_ip", A::computed(Type::String))
                .attr("arn", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        match (string(config, "domain"), boolean(config, "vpc")) {
            (Some(d), _) if d != "vpc" => {
                vec![attr_err("domain", format!("domain must be \"vpc\", got {d:?}: addresses outside a VPC (\"standard\") ended with EC2-Classic"))]
            }
            (_, Some(false)) => vec![attr_err("vpc", "vpc = false asks for an EC2-Classic address, which no longer exist: leave it out")],
            _ => Vec::new(),
        }
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("domain", Value::string("vpc"))]
    }

    /// A new instance means a new association and private address.
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        let Some(prior) = req.prior else { return };
        if prior.get("instance") != planned.get("instance") {
            planned.insert("association_id".into(), Value::Unknown);
            planned.insert("private_ip".into(), Value::Unknown);
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let out = aws
            .ec2
            .allocate_address()
            .domain(DomainType::from(string(planned, "domain").unwrap_or_else(|| "vpc".into()).as_str()))
            .set_tag_specifications(tag_spec(aws, ResourceType::ElasticIp, planned, Some(token)))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let id = out.allocation_id().unwrap_or_default().to_string();
        if let Some(instance) = string(planned, "instance") {
            retry_new(|| associate(aws, &id, &instance)).await?;
        }
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        retry_new(|| read_eip(aws, &stub)).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let found = each_set(by_values("allocation-id", &ids(objects)), |filters| async move {
            Ok(describe_eips(aws, filters, objects).await?.into_iter().collect())
        })
        .await?;
        Ok(in_order(objects, found.into_iter().collect()))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let id = string(prior, "id").unwrap_or_default();
        if string(prior, "instance") != string(planned, "instance") {
            if let Some(association) = string(prior, "association_id") {
                aws.ec2.disassociate_address().association_id(association).send().await.map_err(|e| aws.error("ec2", e))?;
            }
            if let Some(instance) = string(planned, "instance") {
                associate(aws, &id, &instance).await?;
            }
        }
        update_tags(aws, &id, prior, planned).await?;
        read_eip(aws, &Obj::from(planned).s("id", Some(&id)).build()).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        if let Some(association) = string(prior, "association_id") {
            aws.ec2.disassociate_address().association_id(association).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e)).or_else(ignore_not_found)?;
        }
        aws.ec2
            .release_address()
            .set_allocation_id(string(prior, "id"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws.error("ec2", e))
            .or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let found = describe_eips(aws, vec![filter(&format!("tag:{TOKEN_TAG}"), [token.to_string()])], std::slice::from_ref(planned)).await?;
        Ok(found.into_values().next())
    }
}

async fn associate(aws: &Aws, allocation: &str, instance: &str) -> Result<(), ProviderError> {
    aws.ec2.associate_address().allocation_id(allocation).instance_id(instance).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e))
}

async fn read_eip(aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
    let id = string(object, "id").unwrap_or_default();
    let mut found = describe_eips(aws, vec![filter("allocation-id", [id.clone()])], std::slice::from_ref(object)).await?;
    found.remove(&id).ok_or_else(|| not_found("elastic IP", &id))
}

async fn describe_eips(aws: &Aws, filters: Vec<Filter>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let out = aws.ec2.describe_addresses().set_filters(Some(filters)).send().await.map_err(|e| aws.error("ec2", e))?;
    let mut found = BTreeMap::new();
    for address in out.addresses() {
        let Some(id) = address.allocation_id() else { continue };
        let obj = Obj::new()
            .s("id", Some(id))
            .s("allocation_id", Some(id))
            .s("arn", Some(&aws.arn("ec2", &format!("elastic-ip/{id}"))))
            .s("domain", address.domain().map(|d| d.as_str()))
            .b("vpc", address.domain().map(|d| d.as_str() == "vpc"))
            .s("instance", address.instance_id())
            .s("association_id", address.association_id())
            .s("public_ip", address.public_ip())
            .s("private_ip", address.private_ip_address());
        found.insert(id.to_string(), with_ec2_tags(obj, aws, address.tags(), prior_for(priors, id)).build());
    }
    Ok(found.into_iter().collect())
}

pub struct KeyPair;

/// An OpenSSH public key without its comment: the type and the key itself.
fn key_material(key: &str) -> String {
    key.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// The public key as AWS reports it; AWS may add its own comment, so the same
/// key type and material keep the configured text. An endpoint that does not
/// report the key leaves what is known.
fn public_key(reported: Option<&str>, prior: &Value) -> Value {
    let known = prior.get("public_key").cloned().unwrap_or(Value::Null);
    let Some(reported) = reported.map(str::trim).filter(|k| !k.is_empty()) else { return known };
    match known.as_str() {
        Some(mine) if key_material(mine) == key_material(reported) => known,
        _ => Value::string(reported),
    }
}

#[async_trait]
impl ResourceKind for KeyPair {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("key_name", A::optional_computed(Type::String).force_new())
                .attr("public_key", A::required(Type::String).force_new())
                .attr("key_pair_id", A::computed(Type::String))
                .attr("fingerprint", A::computed(Type::String))
                .attr("key_type", A::computed(Type::String))
                .attr("arn", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        match string(config, "public_key") {
            Some(key) if !(key.starts_with("ssh-rsa ") || key.starts_with("ssh-ed25519 ") || key.starts_with("ecdsa-sha2-")) => {
                vec![attr_err("public_key", "public_key must be an OpenSSH public key (ssh-rsa, ssh-ed25519 or ecdsa-sha2-...)")]
            }
            _ => Vec::new(),
        }
    }

    /// A key's comment is not part of the key: an imported key pair, whose
    /// key AWS reports without the configured comment, is the same key.
    fn equivalent(&self, attr: &str, prior: &Value, configured: &Value) -> bool {
        attr == "public_key" && matches!((prior.as_str(), configured.as_str()), (Some(a), Some(b)) if key_material(a) == key_material(b))
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        // The name is the idempotency key: the same create finds the same key pair.
        let name = string(planned, "key_name").unwrap_or_else(|| format!("terrane-{}", token.replace('-', "")));
        aws.ec2
            .import_key_pair()
            .key_name(&name)
            .public_key_material(Blob::new(string(planned, "public_key").unwrap_or_default()))
            .set_tag_specifications(tag_spec(aws, ResourceType::KeyPair, planned, None))
            .send()
            .await
            .map_err(|e| aws.error("ec2", e))?;
        let stub = Obj::from(planned).s("id", Some(&name)).build();
        retry_new(|| async { self.read(aws, std::slice::from_ref(&stub)).await?.pop().flatten().ok_or_else(|| not_found("key pair", &name)) }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let keys = each_set(by_values("key-name", &ids(objects)), |filters| async move {
            let out = aws.ec2.describe_key_pairs().set_filters(Some(filters)).include_public_key(true).send().await;
            Ok(out.map_err(|e| aws.error("ec2", e))?.key_pairs.unwrap_or_default())
        })
        .await?;
        let mut found = BTreeMap::new();
        for key in &keys {
            let Some(name) = key.key_name() else { continue };
            let prior = prior_for(objects, name);
            let obj = Obj::new()
                .s("id", Some(name))
                .s("key_name", Some(name))
                .s("key_pair_id", key.key_pair_id())
                .s("fingerprint", key.key_fingerprint())
                .s("key_type", Some(key.key_type().map_or("", |t| t.as_str())))
                .s("arn", Some(&aws.arn("ec2", &format!("key-pair/{name}"))))
                .set("public_key", public_key(key.public_key(), prior));
            found.insert(name.to_string(), with_ec2_tags(obj, aws, key.tags(), prior).build());
        }
        Ok(in_order(objects, found.into_iter().collect()))
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let key_id = string(prior, "key_pair_id").unwrap_or_default();
        update_tags(aws, &key_id, prior, planned).await?;
        let stub = Obj::from(planned).set("id", prior.get("id").cloned().unwrap_or(Value::Null)).build();
        self.read(aws, std::slice::from_ref(&stub)).await?.pop().flatten().ok_or_else(|| not_found("key pair", &key_id))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        aws.ec2.delete_key_pair().set_key_name(string(prior, "id")).send().await.map(|_| ()).map_err(|e| aws.error("ec2", e)).or_else(ignore_not_found)
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let name = string(planned, "key_name").unwrap_or_else(|| format!("terrane-{}", token.replace('-', "")));
        let stub = Obj::from(planned).s("id", Some(&name)).build();
        Ok(self.read(aws, std::slice::from_ref(&stub)).await?.pop().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reported_public_key_is_compared_by_its_material_not_its_comment() {
        let mine = Value::string("ssh-ed25519 AAAAkey deploy@laptop");
        let configured = Value::map([("public_key", mine.clone())]);
        assert_eq!(public_key(Some("ssh-ed25519 AAAAkey deploy"), &configured), mine, "same key, other comment");
        assert_eq!(public_key(Some("ssh-ed25519 AAAAother"), &configured), Value::string("ssh-ed25519 AAAAother"), "a different key is drift");
        assert_eq!(public_key(None, &configured), mine, "not reported: what is known stays");
        assert_eq!(public_key(Some("ssh-rsa AAAAimported"), &Value::map([("id", Value::string("k"))])), Value::string("ssh-rsa AAAAimported"), "import learns the key");
    }
}

/// `aws_eip_association`: an Elastic IP associated with an instance or interface.
pub struct EipAssociation;

#[async_trait]
impl ResourceKind for EipAssociation {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("allocation_id", A::optional_computed(Type::String).force_new())
            .attr("instance_id", A::optional_computed(Type::String).force_new())
            .attr("network_interface_id", A::optional_computed(Type::String).force_new())
            .attr("private_ip_address", A::optional_computed(Type::String).force_new())
            .attr("allow_reassociation", A::optional(Type::Bool).force_new())
            .attr("public_ip", A::optional_computed(Type::String).force_new())
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        crate::attrs::require(config, "allocation_id", "terrane does not support EC2-Classic public_ip associations", &mut errors);
        if config.get("instance_id").is_none_or(Value::is_null) && config.get("network_interface_id").is_none_or(Value::is_null) {
            errors.push(attr_err("instance_id", "one of instance_id or network_interface_id must be set"));
        }
        errors
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let out = retry_new(|| async {
            aws.ec2
                .associate_address()
                .set_allocation_id(string(planned, "allocation_id"))
                .set_instance_id(string(planned, "instance_id"))
                .set_network_interface_id(string(planned, "network_interface_id"))
                .set_private_ip_address(string(planned, "private_ip_address"))
                .set_allow_reassociation(boolean(planned, "allow_reassociation"))
                .send()
                .await
                .map_err(|e| aws.error("ec2", e))
        })
        .await?;
        let id = out.association_id().unwrap_or_default().to_string();
        let stub = Obj::from(planned).s("id", Some(&id)).build();
        let mut found = retry_new(|| async {
            let mut found = describe_associations(aws, by_values("association-id", std::slice::from_ref(&id)), std::slice::from_ref(&stub)).await?;
            found.remove(&id).ok_or_else(|| not_found("EIP association", &id))
        })
        .await?;
        if let Value::Map(fields) = &mut found {
            fields.insert("allow_reassociation".into(), planned.get("allow_reassociation").cloned().unwrap_or(Value::Null));
        }
        Ok(found)
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        Ok(in_order(objects, describe_associations(aws, by_values("association-id", &ids(objects)), objects).await?))
    }

    async fn update(&self, _aws: &Aws, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        // Every argument forces a new association.
        Ok(planned.clone())
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let call = aws.ec2.disassociate_address().set_association_id(string(prior, "id"));
        call.send().await.map(|_| ()).map_err(|e| aws.error("ec2", e)).or_else(ignore_not_found)
    }
}

async fn describe_associations(aws: &Aws, filter_sets: Vec<Vec<Filter>>, priors: &[Value]) -> Result<terrane_core::ValueMap<Value>, ProviderError> {
    let addresses = each_set(filter_sets, |filters| async move {
        let out = aws.ec2.describe_addresses().set_filters(Some(filters)).send().await.map_err(|e| aws.error("ec2", e))?;
        Ok(out.addresses().to_vec())
    })
    .await?;
    let mut out = BTreeMap::new();
    for address in addresses {
        let Some(id) = address.association_id().map(str::to_string) else { continue };
        let prior = prior_for(priors, &id);
        let obj = Obj::new()
            .s("id", Some(&id))
            .s("allocation_id", address.allocation_id())
            .s("instance_id", Some(address.instance_id().unwrap_or_default()))
            .s("network_interface_id", Some(address.network_interface_id().unwrap_or_default()))
            .s("private_ip_address", Some(address.private_ip_address().unwrap_or_default()))
            .s("public_ip", Some(address.public_ip().unwrap_or_default()))
            .set("allow_reassociation", prior.get("allow_reassociation").cloned().unwrap_or(Value::Null));
        out.insert(id, obj.build());
    }
    Ok(out.into_iter().collect())
}
