//! `aws_dynamodb_table`: keys, capacity, streams, TTL, point-in-time recovery
//! and tags. Secondary indexes, replicas, imports and restores are not
//! acted on yet (the schema check refuses them).
//!
//! Table names are unique in a region, so a create interrupted and made
//! again fails with ResourceInUseException rather than making a second
//! table. The create token is a tag until the table is active.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification, ProvisionedThroughput,
    ScalarAttributeType, StreamSpecification, StreamViewType, TableClass, TableStatus, Tag, TimeToLiveSpecification,
};
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, Nesting, PlanRequest, ProviderError, Schema};

use crate::attrs::{attr_err, blocks, boolean, int, string, string_map, Obj};
use crate::client::{is_not_found, read_each, retry_new, Aws, TOKEN_TAG};
use crate::ec2::vpc::tags_schema;
use crate::ec2::with_tags;
use crate::kind::ResourceKind;

fn db_err<E>(aws: &Aws) -> impl Fn(aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>) -> ProviderError + '_
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| aws.error("dynamodb", e)
}

use crate::schema::nested as block;

pub struct Table;

#[async_trait]
impl ResourceKind for Table {
    fn supported(&self) -> Schema {
        tags_schema(Schema::new())
            .attr("name", A::required(Type::String).force_new())
            .attr("billing_mode", A::optional(Type::String))
            .attr("hash_key", A::optional_computed(Type::String).force_new())
            .attr("range_key", A::optional(Type::String).force_new())
            .attr("read_capacity", A::optional_computed(Type::Number))
            .attr("write_capacity", A::optional_computed(Type::Number))
            .attr("stream_enabled", A::optional(Type::Bool))
            .attr("stream_view_type", A::optional_computed(Type::String))
            .attr("stream_arn", A::computed(Type::String))
            .attr("stream_label", A::computed(Type::String))
            .attr("table_class", A::optional(Type::String))
            .attr("deletion_protection_enabled", A::optional(Type::Bool))
            .attr("arn", A::computed(Type::String))
            .block(
                "attribute",
                block(Nesting::Set, None, Schema::new().attr("name", A::required(Type::String)).attr("type", A::required(Type::String))),
            )
            .block(
                "ttl",
                block(
                    Nesting::List,
                    Some(1),
                    Schema::new().attr("attribute_name", A::optional(Type::String)).attr("enabled", A::optional(Type::Bool)),
                ),
            )
            .block(
                "point_in_time_recovery",
                block(
                    Nesting::List,
                    Some(1),
                    Schema::new().attr("enabled", A::required(Type::Bool)).attr("recovery_period_in_days", A::optional_computed(Type::Number)),
                ),
            )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        crate::attrs::require(config, "hash_key", "terrane does not support restoring or importing tables yet", &mut errors);
        let mode = string(config, "billing_mode").unwrap_or_else(|| "PROVISIONED".into());
        match mode.as_str() {
            "PROVISIONED" => {
                for name in ["read_capacity", "write_capacity"] {
                    if config.get(name).is_none_or(Value::is_null) {
                        errors.push(attr_err(name, format!("{name} must be set when billing_mode is \"PROVISIONED\"")));
                    }
                }
            }
            "PAY_PER_REQUEST" => {}
            other => errors.push(attr_err("billing_mode", format!("billing_mode must be \"PROVISIONED\" or \"PAY_PER_REQUEST\", got {other:?}"))),
        }
        let defined: Vec<String> = blocks(config, "attribute").into_iter().filter_map(|a| string(a, "name")).collect();
        for key in ["hash_key", "range_key"] {
            if let Some(name) = string(config, key) {
                if !defined.contains(&name) {
                    errors.push(attr_err(key, format!("{key} {name:?} must be defined by an attribute block")));
                }
            }
        }
        for attribute in blocks(config, "attribute") {
            if let Some(t) = string(attribute, "type").filter(|t| !matches!(t.as_str(), "S" | "N" | "B")) {
                errors.push(attr_err("attribute", format!("attribute type must be \"S\", \"N\" or \"B\", got {t:?}")));
            }
        }
        if boolean(config, "stream_enabled") == Some(true) && config.get("stream_view_type").is_none_or(Value::is_null) {
            errors.push(attr_err("stream_view_type", "stream_view_type must be set when stream_enabled is true"));
        }
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("billing_mode", Value::string("PROVISIONED")),
            ("deletion_protection_enabled", Value::Bool(false)),
            ("stream_enabled", Value::Bool(false)),
            ("table_class", Value::string("STANDARD")),
        ]
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        // On demand, AWS reports no provisioned capacity: 0, as Terraform stores it.
        if string(&Value::Map(planned.clone()), "billing_mode").as_deref() == Some("PAY_PER_REQUEST") {
            for name in ["read_capacity", "write_capacity"] {
                if req.config.get(name).is_none_or(Value::is_null) {
                    planned.insert(name.into(), Value::number(0));
                }
            }
        }
        // Terraform's provider reads TTL and recovery back whether or not they
        // are configured: left out, they stay as they are.
        for (name, off) in [
            ("ttl", Value::map([("attribute_name", Value::string("")), ("enabled", Value::Bool(false))])),
            ("point_in_time_recovery", Value::map([("enabled", Value::Bool(false)), ("recovery_period_in_days", Value::number(0))])),
        ] {
            if blocks(req.config, name).is_empty() {
                let kept = req.prior.and_then(|p| p.get(name)).cloned().unwrap_or(Value::List(vec![off]));
                planned.insert(name.into(), kept);
            }
        }
        let stream_changed = req.prior.is_none_or(|p| p.get("stream_enabled") != req.config.get("stream_enabled"));
        if stream_changed && boolean(req.config, "stream_enabled") == Some(true) {
            planned.insert("stream_arn".into(), Value::Unknown);
            planned.insert("stream_label".into(), Value::Unknown);
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let name = string(planned, "name").unwrap_or_default();
        let mut tags = tags_to_send(aws, planned)?;
        tags.push(db_tag(TOKEN_TAG, token)?);
        aws.dynamodb
            .create_table()
            .table_name(&name)
            .set_attribute_definitions(Some(attribute_definitions(planned)?))
            .set_key_schema(Some(key_schema(planned)?))
            .billing_mode(BillingMode::from(billing_mode(planned).as_str()))
            .set_provisioned_throughput(throughput(planned)?)
            .set_stream_specification(stream(planned)?)
            .set_table_class(string(planned, "table_class").map(|c| TableClass::from(c.as_str())))
            .set_deletion_protection_enabled(boolean(planned, "deletion_protection_enabled"))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(db_err(aws))?;
        let arn = wait_active(aws, &name).await?;
        set_ttl(aws, &name, None, planned).await?;
        set_recovery(aws, &name, None, planned).await?;
        aws.dynamodb.untag_resource().resource_arn(&arn).tag_keys(TOKEN_TAG).send().await.map_err(db_err(aws))?;
        let stub = Obj::from(planned).s("id", Some(&name)).build();
        retry_new(|| async { read_table(aws, &stub).await?.ok_or_else(|| not_found(&name)) }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        read_each(objects, |o| async move { read_table(aws, &o).await }).await
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let name = string(prior, "name").unwrap_or_default();
        let changed = |attr: &str| prior.get(attr) != planned.get(attr);
        let mode_changed = changed("billing_mode");
        let capacity_changed = changed("read_capacity") || changed("write_capacity");
        if mode_changed || (capacity_changed && billing_mode(planned) == "PROVISIONED") {
            let call = aws.dynamodb.update_table().table_name(&name).billing_mode(BillingMode::from(billing_mode(planned).as_str()));
            call.set_provisioned_throughput(throughput(planned)?).send().await.map_err(db_err(aws))?;
            wait_active(aws, &name).await?;
        }
        if changed("stream_enabled") || changed("stream_view_type") {
            let spec = stream(planned)?.map_or_else(
                || StreamSpecification::builder().stream_enabled(false).build().map_err(|e| ProviderError::Invalid(e.to_string())),
                Ok,
            )?;
            aws.dynamodb.update_table().table_name(&name).stream_specification(spec).send().await.map_err(db_err(aws))?;
            wait_active(aws, &name).await?;
        }
        if changed("table_class") {
            let class = TableClass::from(string(planned, "table_class").unwrap_or_else(|| "STANDARD".into()).as_str());
            aws.dynamodb.update_table().table_name(&name).table_class(class).send().await.map_err(db_err(aws))?;
            wait_active(aws, &name).await?;
        }
        if changed("deletion_protection_enabled") {
            let on = boolean(planned, "deletion_protection_enabled").unwrap_or(false);
            aws.dynamodb.update_table().table_name(&name).deletion_protection_enabled(on).send().await.map_err(db_err(aws))?;
            wait_active(aws, &name).await?;
        }
        set_ttl(aws, &name, Some(prior), planned).await?;
        set_recovery(aws, &name, Some(prior), planned).await?;
        update_tags(aws, &string(prior, "arn").unwrap_or_default(), prior, planned).await?;
        read_table(aws, &Obj::from(planned).s("id", Some(&name)).build()).await?.ok_or_else(|| not_found(&name))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let name = string(prior, "name").unwrap_or_default();
        match aws.dynamodb.delete_table().table_name(&name).send().await.map_err(db_err(aws)) {
            Err(e) if is_not_found(&e) => return Ok(()),
            other => other?,
        };
        // Deleting takes a while; a table of the same name can be made only after.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        while tokio::time::Instant::now() < deadline {
            match aws.dynamodb.describe_table().table_name(&name).send().await.map_err(db_err(aws)) {
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) => return Err(e),
                Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        Err(ProviderError::Invalid(format!("table {name} was still being deleted after 10 minutes")))
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let name = string(planned, "name").unwrap_or_default();
        let described = match aws.dynamodb.describe_table().table_name(&name).send().await.map_err(db_err(aws)) {
            Err(e) if is_not_found(&e) => return Ok(None),
            other => other?,
        };
        let arn = described.table().and_then(|t| t.table_arn()).unwrap_or_default().to_string();
        let tags = list_tags(aws, &arn).await?;
        if !tags.iter().any(|t| t.key() == TOKEN_TAG && t.value() == token) {
            return Ok(None);
        }
        wait_active(aws, &name).await?;
        aws.dynamodb.untag_resource().resource_arn(&arn).tag_keys(TOKEN_TAG).send().await.map_err(db_err(aws))?;
        read_table(aws, &Obj::from(planned).s("id", Some(&name)).build()).await
    }

    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        Ok(Value::map([("id", Value::string(id)), ("name", Value::string(id))]))
    }
}

fn not_found(name: &str) -> ProviderError {
    ProviderError::Api { service: "dynamodb".into(), code: "ResourceNotFoundException".into(), message: format!("table {name} does not exist") }
}

fn billing_mode(planned: &Value) -> String {
    string(planned, "billing_mode").unwrap_or_else(|| "PROVISIONED".into())
}

fn built<T>(result: Result<T, aws_smithy_types::error::operation::BuildError>) -> Result<T, ProviderError> {
    result.map_err(|e| ProviderError::Invalid(e.to_string()))
}

fn db_tag(key: &str, value: &str) -> Result<Tag, ProviderError> {
    built(Tag::builder().key(key).value(value).build())
}

fn tags_to_send(aws: &Aws, planned: &Value) -> Result<Vec<Tag>, ProviderError> {
    aws.tags_all(&string_map(planned, "tags")).iter().map(|(k, v)| db_tag(k, v)).collect()
}

fn attribute_definitions(planned: &Value) -> Result<Vec<AttributeDefinition>, ProviderError> {
    blocks(planned, "attribute")
        .into_iter()
        .map(|a| {
            let kind = ScalarAttributeType::from(string(a, "type").unwrap_or_default().as_str());
            built(AttributeDefinition::builder().set_attribute_name(string(a, "name")).attribute_type(kind).build())
        })
        .collect()
}

fn key_schema(planned: &Value) -> Result<Vec<KeySchemaElement>, ProviderError> {
    [("hash_key", KeyType::Hash), ("range_key", KeyType::Range)]
        .into_iter()
        .filter_map(|(attr, kind)| string(planned, attr).map(|name| built(KeySchemaElement::builder().attribute_name(name).key_type(kind).build())))
        .collect()
}

fn throughput(planned: &Value) -> Result<Option<ProvisionedThroughput>, ProviderError> {
    if billing_mode(planned) != "PROVISIONED" {
        return Ok(None);
    }
    let units = |name: &str| int(planned, name).map(i64::from);
    built(ProvisionedThroughput::builder().set_read_capacity_units(units("read_capacity")).set_write_capacity_units(units("write_capacity")).build())
        .map(Some)
}

fn stream(planned: &Value) -> Result<Option<StreamSpecification>, ProviderError> {
    if boolean(planned, "stream_enabled") != Some(true) {
        return Ok(None);
    }
    let view = string(planned, "stream_view_type").map(|v| StreamViewType::from(v.as_str()));
    built(StreamSpecification::builder().stream_enabled(true).set_stream_view_type(view).build()).map(Some)
}

/// (attribute name, enabled) of a `ttl` block; none is TTL off.
fn ttl_of(v: &Value) -> (String, bool) {
    match blocks(v, "ttl").first() {
        Some(ttl) => (string(ttl, "attribute_name").unwrap_or_default(), boolean(ttl, "enabled").unwrap_or(false)),
        None => (String::new(), false),
    }
}

async fn set_ttl(aws: &Aws, name: &str, prior: Option<&Value>, planned: &Value) -> Result<(), ProviderError> {
    let (attribute, enabled) = ttl_of(planned);
    let (before_attribute, before_enabled) = prior.map(ttl_of).unwrap_or_default();
    if enabled == before_enabled && (!enabled || attribute == before_attribute) {
        return Ok(());
    }
    // Turning TTL off names the attribute it was on.
    let attribute = if enabled { attribute } else { before_attribute };
    let spec = built(TimeToLiveSpecification::builder().enabled(enabled).attribute_name(attribute).build())?;
    aws.dynamodb.update_time_to_live().table_name(name).time_to_live_specification(spec).send().await.map_err(db_err(aws))?;
    Ok(())
}

fn recovery_of(v: &Value) -> (bool, Option<i32>) {
    match blocks(v, "point_in_time_recovery").first() {
        Some(p) => (boolean(p, "enabled").unwrap_or(false), int(p, "recovery_period_in_days")),
        None => (false, None),
    }
}

async fn set_recovery(aws: &Aws, name: &str, prior: Option<&Value>, planned: &Value) -> Result<(), ProviderError> {
    let (enabled, days) = recovery_of(planned);
    let (before, before_days) = prior.map(recovery_of).unwrap_or_default();
    if enabled == before && (days.is_none() || days == before_days) {
        return Ok(());
    }
    let spec = built(PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(enabled).set_recovery_period_in_days(days).build())?;
    aws.dynamodb.update_continuous_backups().table_name(name).point_in_time_recovery_specification(spec).send().await.map_err(db_err(aws))?;
    Ok(())
}

async fn update_tags(aws: &Aws, arn: &str, prior: &Value, planned: &Value) -> Result<(), ProviderError> {
    let before = string_map(prior, "tags_all");
    let after = aws.tags_all(&string_map(planned, "tags"));
    let removed: Vec<String> = before.keys().filter(|k| !after.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        aws.dynamodb.untag_resource().resource_arn(arn).set_tag_keys(Some(removed)).send().await.map_err(db_err(aws))?;
    }
    let changed: Vec<Tag> = after.iter().filter(|(k, v)| before.get(*k) != Some(v)).map(|(k, v)| db_tag(k, v)).collect::<Result<_, _>>()?;
    if !changed.is_empty() {
        aws.dynamodb.tag_resource().resource_arn(arn).set_tags(Some(changed)).send().await.map_err(db_err(aws))?;
    }
    Ok(())
}

/// Waits until the table is active; gives its ARN.
async fn wait_active(aws: &Aws, name: &str) -> Result<String, ProviderError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let mut delay = Duration::from_millis(200);
    loop {
        let out = retry_new(|| async { aws.dynamodb.describe_table().table_name(name).send().await.map_err(db_err(aws)) }).await?;
        let table = out.table();
        if table.and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(table.and_then(|t| t.table_arn()).unwrap_or_default().to_string());
        }
        if tokio::time::Instant::now() + delay > deadline {
            return Err(ProviderError::Invalid(format!("table {name} did not become active within 10 minutes")));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

async fn read_table(aws: &Aws, prior: &Value) -> Result<Option<Value>, ProviderError> {
    let name = string(prior, "id").or_else(|| string(prior, "name")).unwrap_or_default();
    let out = match aws.dynamodb.describe_table().table_name(&name).send().await.map_err(db_err(aws)) {
        Err(e) if is_not_found(&e) => return Ok(None),
        other => other?,
    };
    let Some(table) = out.table() else { return Ok(None) };
    let arn = table.table_arn().unwrap_or_default().to_string();
    let (ttl, backups, tags) = tokio::try_join!(
        async { aws.dynamodb.describe_time_to_live().table_name(&name).send().await.map_err(db_err(aws)) },
        async { aws.dynamodb.describe_continuous_backups().table_name(&name).send().await.map_err(db_err(aws)) },
        list_tags(aws, &arn),
    )?;
    let key = |kind: KeyType| table.key_schema().iter().find(|k| k.key_type() == &kind).map(|k| k.attribute_name().to_string());
    let attributes: Vec<Value> = table
        .attribute_definitions()
        .iter()
        .map(|a| Value::map([("name", Value::string(a.attribute_name())), ("type", Value::string(a.attribute_type().as_str()))]))
        .collect();
    let mode = table.billing_mode_summary().and_then(|b| b.billing_mode()).map_or("PROVISIONED", |m| m.as_str());
    let capacity = table.provisioned_throughput();
    let stream = table.stream_specification();
    let ttl = ttl.time_to_live_description();
    let ttl_on = ttl.and_then(|t| t.time_to_live_status()).is_some_and(|s| s.as_str() == "ENABLED");
    let recovery = backups.continuous_backups_description().and_then(|c| c.point_in_time_recovery_description());
    let recovery_on = recovery.and_then(|r| r.point_in_time_recovery_status()).is_some_and(|s| s.as_str() == "ENABLED");
    let tag_map = tags.iter().filter(|t| t.key() != TOKEN_TAG).map(|t| (t.key().to_string(), t.value().to_string())).collect();
    let obj = Obj::new()
        .s("id", Some(&name))
        .s("name", Some(&name))
        .s("arn", Some(&arn))
        .s("billing_mode", Some(mode))
        .s("hash_key", key(KeyType::Hash).as_deref())
        .s("range_key", key(KeyType::Range).as_deref())
        .n("read_capacity", Some(capacity.and_then(|c| c.read_capacity_units()).unwrap_or(0) as f64))
        .n("write_capacity", Some(capacity.and_then(|c| c.write_capacity_units()).unwrap_or(0) as f64))
        .b("stream_enabled", Some(stream.is_some_and(|s| s.stream_enabled())))
        .s("stream_view_type", Some(stream.and_then(|s| s.stream_view_type()).map_or("", |v| v.as_str())))
        .s("stream_arn", Some(table.latest_stream_arn().unwrap_or_default()))
        .s("stream_label", Some(table.latest_stream_label().unwrap_or_default()))
        .s("table_class", Some(table.table_class_summary().and_then(|c| c.table_class()).map_or("STANDARD", |c| c.as_str())))
        .b("deletion_protection_enabled", Some(table.deletion_protection_enabled().unwrap_or(false)))
        .set("attribute", Value::set(attributes))
        .set(
            "ttl",
            Value::List(vec![Value::map([
                ("attribute_name", Value::string(if ttl_on { ttl.and_then(|t| t.attribute_name()).unwrap_or_default() } else { "" })),
                ("enabled", Value::Bool(ttl_on)),
            ])]),
        )
        .set(
            "point_in_time_recovery",
            Value::List(vec![Value::map([
                ("enabled", Value::Bool(recovery_on)),
                ("recovery_period_in_days", Value::number(if recovery_on { recovery.and_then(|r| r.recovery_period_in_days()).unwrap_or(0) } else { 0 })),
            ])]),
        );
    Ok(Some(with_tags(obj, aws, &tag_map, prior).build()))
}

async fn list_tags(aws: &Aws, arn: &str) -> Result<Vec<Tag>, ProviderError> {
    let mut tags = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = aws.dynamodb.list_tags_of_resource().resource_arn(arn).set_next_token(next).send().await.map_err(db_err(aws))?;
        tags.extend(page.tags().iter().cloned());
        match page.next_token() {
            Some(token) => next = Some(token.to_string()),
            None => return Ok(tags),
        }
    }
}
