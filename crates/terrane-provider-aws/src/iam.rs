//! IAM: `aws_iam_role`, `aws_iam_policy`, `aws_iam_role_policy`,
//! `aws_iam_role_policy_attachment`, `aws_iam_instance_profile`.
//!
//! IAM names are unique in an account, so a create interrupted and made
//! again fails with EntityAlreadyExists rather than making a second object.
//! The create token is a tag only until the create returns; an object an
//! interrupted run left with its token is adopted by name.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use aws_smithy_types::date_time::Format;
use futures_util::{StreamExt as _, TryStreamExt as _};
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, PlanRequest, ProviderError, Schema};

use crate::attrs::{attr_err, int, string, unique_id, Obj};
use crate::client::{is_not_found, read_each, retry_new, Aws, TOKEN_TAG};
use crate::ec2::vpc::tags_schema;
use crate::ec2::with_tags;
use crate::kind::ResourceKind;
use crate::policy;

/// Roles whose attachments are listed at once.
const ROLE_LISTINGS_AT_ONCE: usize = 8;

fn iam_err<E>(aws: &Aws) -> impl Fn(aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>) -> ProviderError + '_
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| aws.error("iam", e)
}

/// `Ok(None)` for IAM's "no such entity".
fn absent<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(found) => Ok(Some(found)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn ignore_absent(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    absent(result).map(|_| ())
}

/// The name a create uses: the configured one, or one made from
/// `name_prefix` (or "terraform-") as Terraform makes it.
fn name_to_create(planned: &Value) -> String {
    string(planned, "name").unwrap_or_else(|| unique_id(&string(planned, "name_prefix").unwrap_or_else(|| "terraform-".into())))
}

/// What Terraform stores as `name_prefix`: the prefix of a generated name, "" otherwise.
fn prefix_of(name: &str) -> String {
    crate::attrs::unique_id_prefix(name).unwrap_or_default().to_string()
}

fn iam_date(date: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    date.and_then(|d| aws_smithy_types::DateTime::from_secs(d.secs()).fmt(Format::DateTime).ok())
}

fn tags_to_send(aws: &Aws, planned: &Value, token: Option<&str>) -> Result<Vec<Tag>, ProviderError> {
    let mut all = aws.tags_all(&crate::attrs::string_map(planned, "tags"));
    if let Some(token) = token {
        all.insert(TOKEN_TAG.to_string(), token.to_string());
    }
    all.into_iter().map(|(k, v)| iam_tag(k, v)).collect()
}

fn iam_tag(key: String, value: String) -> Result<Tag, ProviderError> {
    Tag::builder().key(key).value(value).build().map_err(|e| ProviderError::Invalid(e.to_string()))
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter(|t| t.key() != TOKEN_TAG).map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

fn has_token(tags: &[Tag], token: &str) -> bool {
    tags.iter().any(|t| t.key() == TOKEN_TAG && t.value() == token)
}

/// The IAM objects that carry tags, and their tagging calls.
#[derive(Clone, Copy)]
enum Tagged<'a> {
    Role(&'a str),
    Policy(&'a str),
    InstanceProfile(&'a str),
}

impl Tagged<'_> {
    async fn tag(self, aws: &Aws, tags: Vec<Tag>) -> Result<(), ProviderError> {
        if tags.is_empty() {
            return Ok(());
        }
        let tags = Some(tags);
        match self {
            Tagged::Role(name) => aws.iam.tag_role().role_name(name).set_tags(tags).send().await.map(|_| ()).map_err(iam_err(aws)),
            Tagged::Policy(arn) => aws.iam.tag_policy().policy_arn(arn).set_tags(tags).send().await.map(|_| ()).map_err(iam_err(aws)),
            Tagged::InstanceProfile(name) => {
                aws.iam.tag_instance_profile().instance_profile_name(name).set_tags(tags).send().await.map(|_| ()).map_err(iam_err(aws))
            }
        }
    }

    async fn untag(self, aws: &Aws, keys: Vec<String>) -> Result<(), ProviderError> {
        if keys.is_empty() {
            return Ok(());
        }
        let keys = Some(keys);
        match self {
            Tagged::Role(name) => aws.iam.untag_role().role_name(name).set_tag_keys(keys).send().await.map(|_| ()).map_err(iam_err(aws)),
            Tagged::Policy(arn) => aws.iam.untag_policy().policy_arn(arn).set_tag_keys(keys).send().await.map(|_| ()).map_err(iam_err(aws)),
            Tagged::InstanceProfile(name) => aws
                .iam
                .untag_instance_profile()
                .instance_profile_name(name)
                .set_tag_keys(keys)
                .send()
                .await
                .map(|_| ())
                .map_err(iam_err(aws)),
        }
    }

    /// Brings the object's tags from `prior`'s `tags_all` to what `planned` wants.
    async fn update(self, aws: &Aws, prior: &Value, planned: &Value) -> Result<(), ProviderError> {
        let before = crate::attrs::string_map(prior, "tags_all");
        let after = aws.tags_all(&crate::attrs::string_map(planned, "tags"));
        self.untag(aws, before.keys().filter(|k| !after.contains_key(*k)).cloned().collect()).await?;
        let changed = after.into_iter().filter(|(k, v)| before.get(k) != Some(v)).map(|(k, v)| iam_tag(k, v));
        self.tag(aws, changed.collect::<Result<_, _>>()?).await
    }

    async fn untag_token(self, aws: &Aws) -> Result<(), ProviderError> {
        self.untag(aws, vec![TOKEN_TAG.to_string()]).await
    }
}

fn name_schema(schema: Schema) -> Schema {
    schema
        .attr("name", A::optional_computed(Type::String).force_new())
        .attr("name_prefix", A::optional_computed(Type::String).force_new())
        .attr("path", A::optional(Type::String).force_new())
}

fn check_path(config: &Value, errors: &mut Vec<AttrError>) {
    if let Some(path) = string(config, "path") {
        if !path.starts_with('/') || !path.ends_with('/') {
            errors.push(attr_err("path", format!("path must begin and end with \"/\", got {path:?}")));
        }
    }
}

fn check_name_or_prefix(config: &Value, errors: &mut Vec<AttrError>) {
    if config.get("name").is_some_and(|v| !v.is_null()) && config.get("name_prefix").is_some_and(|v| !v.is_null()) {
        errors.push(attr_err("name_prefix", "name and name_prefix cannot both be set"));
    }
}

/// A name AWS makes from `name_prefix` is known only after the create.
fn plan_name(req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
    if req.prior.is_none() && req.config.get("name").is_none_or(Value::is_null) {
        planned.insert("name".into(), Value::Unknown);
        let prefix = req.config.get("name_prefix").filter(|v| !v.is_null()).cloned().unwrap_or(Value::string("terraform-"));
        planned.insert("name_prefix".into(), prefix);
    }
}

pub struct Role;

#[async_trait]
impl ResourceKind for Role {
    fn supported(&self) -> Schema {
        tags_schema(name_schema(Schema::new()))
            .attr("assume_role_policy", A::required(Type::String))
            .attr("description", A::optional(Type::String))
            .attr("force_detach_policies", A::optional(Type::Bool))
            .attr("max_session_duration", A::optional(Type::Number))
            .attr("permissions_boundary", A::optional(Type::String))
            .attr("arn", A::computed(Type::String))
            .attr("create_date", A::computed(Type::String))
            .attr("unique_id", A::computed(Type::String))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        policy::check(config, "assume_role_policy", &mut errors);
        check_path(config, &mut errors);
        check_name_or_prefix(config, &mut errors);
        if let Some(n) = crate::attrs::number(config, "max_session_duration") {
            if !(3600.0..=43200.0).contains(&n) {
                errors.push(attr_err("max_session_duration", format!("max_session_duration must be between 3600 and 43200 seconds, got {n}")));
            }
        }
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("path", Value::string("/")), ("force_detach_policies", Value::Bool(false)), ("max_session_duration", Value::number(3600))]
    }

    fn equivalent(&self, attr: &str, prior: &Value, configured: &Value) -> bool {
        attr == "assume_role_policy" && policy::equivalent_values(prior, configured)
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        plan_name(req, planned);
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let name = name_to_create(planned);
        aws.iam
            .create_role()
            .role_name(&name)
            .set_path(string(planned, "path"))
            .set_assume_role_policy_document(string(planned, "assume_role_policy"))
            .set_description(string(planned, "description"))
            .set_max_session_duration(int(planned, "max_session_duration"))
            .set_permissions_boundary(string(planned, "permissions_boundary"))
            .set_tags(Some(tags_to_send(aws, planned, Some(token))?))
            .send()
            .await
            .map_err(iam_err(aws))?;
        Tagged::Role(&name).untag_token(aws).await?;
        let stub = Obj::from(planned).s("id", Some(&name)).s("name", Some(&name)).build();
        retry_new(|| async { read_role(aws, &stub).await?.ok_or_else(|| not_found("role", &name)) }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        read_each(objects, |o| async move { read_role(aws, &o).await }).await
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let name = string(prior, "name").unwrap_or_default();
        let changed = |attr: &str| prior.get(attr) != planned.get(attr);
        if changed("assume_role_policy") {
            aws.iam
                .update_assume_role_policy()
                .role_name(&name)
                .set_policy_document(string(planned, "assume_role_policy"))
                .send()
                .await
                .map_err(iam_err(aws))?;
        }
        if changed("description") || changed("max_session_duration") {
            aws.iam
                .update_role()
                .role_name(&name)
                .description(string(planned, "description").unwrap_or_default())
                .set_max_session_duration(int(planned, "max_session_duration"))
                .send()
                .await
                .map_err(iam_err(aws))?;
        }
        if changed("permissions_boundary") {
            match string(planned, "permissions_boundary") {
                Some(arn) => aws
                    .iam
                    .put_role_permissions_boundary()
                    .role_name(&name)
                    .permissions_boundary(arn)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(iam_err(aws))?,
                None => aws.iam.delete_role_permissions_boundary().role_name(&name).send().await.map(|_| ()).map_err(iam_err(aws))?,
            }
        }
        Tagged::Role(&name).update(aws, prior, planned).await?;
        read_role(aws, &Obj::from(planned).s("id", Some(&name)).build()).await?.ok_or_else(|| not_found("role", &name))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let name = string(prior, "name").unwrap_or_default();
        // A role still in an instance profile cannot be deleted; Terraform takes it out.
        let profiles = absent(aws.iam.list_instance_profiles_for_role().role_name(&name).send().await.map_err(iam_err(aws)))?;
        for profile in profiles.iter().flat_map(|p| p.instance_profiles()) {
            let call = aws.iam.remove_role_from_instance_profile().instance_profile_name(profile.instance_profile_name()).role_name(&name);
            ignore_absent(call.send().await.map(|_| ()).map_err(iam_err(aws)))?;
        }
        if crate::attrs::boolean(prior, "force_detach_policies") == Some(true) {
            for arn in attached_policies(aws, &name).await? {
                ignore_absent(aws.iam.detach_role_policy().role_name(&name).policy_arn(arn).send().await.map(|_| ()).map_err(iam_err(aws)))?;
            }
            let inline = aws.iam.list_role_policies().role_name(&name).send().await.map_err(iam_err(aws))?;
            for policy_name in inline.policy_names() {
                let call = aws.iam.delete_role_policy().role_name(&name).policy_name(policy_name);
                ignore_absent(call.send().await.map(|_| ()).map_err(iam_err(aws)))?;
            }
        }
        ignore_absent(aws.iam.delete_role().role_name(&name).send().await.map(|_| ()).map_err(iam_err(aws)))
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let Some(name) = string(planned, "name") else { return Ok(None) };
        let Some(found) = absent(aws.iam.get_role().role_name(&name).send().await.map_err(iam_err(aws)))? else { return Ok(None) };
        if !found.role().is_some_and(|r| has_token(r.tags(), token)) {
            return Ok(None);
        }
        Tagged::Role(&name).untag_token(aws).await?;
        read_role(aws, &Obj::from(planned).s("id", Some(&name)).build()).await
    }

    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        Ok(Value::map([("id", Value::string(id)), ("name", Value::string(id))]))
    }
}

fn not_found(what: &str, id: &str) -> ProviderError {
    ProviderError::Api { service: "iam".into(), code: "NoSuchEntity".into(), message: format!("{what} {id} does not exist") }
}

async fn read_role(aws: &Aws, prior: &Value) -> Result<Option<Value>, ProviderError> {
    let name = string(prior, "id").or_else(|| string(prior, "name")).unwrap_or_default();
    let Some(out) = absent(aws.iam.get_role().role_name(&name).send().await.map_err(iam_err(aws)))? else { return Ok(None) };
    let Some(role) = out.role() else { return Ok(None) };
    let document = role.assume_role_policy_document().map(policy::url_decoded).unwrap_or_default();
    let obj = Obj::new()
        .s("id", Some(role.role_name()))
        .s("name", Some(role.role_name()))
        .s("name_prefix", Some(&prefix_of(role.role_name())))
        .s("path", Some(role.path()))
        .s("arn", Some(role.arn()))
        .s("unique_id", Some(role.role_id()))
        .s("create_date", iam_date(Some(role.create_date())).as_deref())
        .s("assume_role_policy", Some(&policy::keep_prior(string(prior, "assume_role_policy"), &document)))
        .s("description", Some(role.description().unwrap_or_default()))
        .n("max_session_duration", role.max_session_duration().map(f64::from))
        .s("permissions_boundary", Some(role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).unwrap_or_default()))
        .b("force_detach_policies", Some(crate::attrs::boolean(prior, "force_detach_policies").unwrap_or(false)));
    Ok(Some(with_tags(obj, aws, &tag_map(role.tags()), prior).build()))
}

async fn attached_policies(aws: &Aws, role: &str) -> Result<Vec<String>, ProviderError> {
    let pages: Vec<_> = aws.iam.list_attached_role_policies().role_name(role).into_paginator().items().send().collect().await;
    let attached = pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(iam_err(aws))?;
    Ok(attached.iter().filter_map(|p| p.policy_arn()).map(str::to_string).collect())
}

pub struct Policy;

#[async_trait]
impl ResourceKind for Policy {
    fn supported(&self) -> Schema {
        tags_schema(name_schema(Schema::new()))
            .attr("policy", A::required(Type::String))
            .attr("description", A::optional(Type::String).force_new())
            .attr("arn", A::computed(Type::String))
            .attr("policy_id", A::computed(Type::String))
            .attr("attachment_count", A::computed(Type::Number))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        policy::check(config, "policy", &mut errors);
        check_path(config, &mut errors);
        check_name_or_prefix(config, &mut errors);
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("path", Value::string("/"))]
    }

    fn equivalent(&self, attr: &str, prior: &Value, configured: &Value) -> bool {
        attr == "policy" && policy::equivalent_values(prior, configured)
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        plan_name(req, planned);
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let name = name_to_create(planned);
        let out = aws
            .iam
            .create_policy()
            .policy_name(&name)
            .set_path(string(planned, "path"))
            .set_policy_document(string(planned, "policy"))
            .set_description(string(planned, "description"))
            .set_tags(Some(tags_to_send(aws, planned, Some(token))?))
            .send()
            .await
            .map_err(iam_err(aws))?;
        let arn = out.policy().and_then(|p| p.arn()).unwrap_or_default().to_string();
        Tagged::Policy(&arn).untag_token(aws).await?;
        let stub = Obj::from(planned).s("id", Some(&arn)).build();
        retry_new(|| async { read_policy(aws, &stub).await?.ok_or_else(|| not_found("policy", &arn)) }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        read_each(objects, |o| async move { read_policy(aws, &o).await }).await
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let arn = string(prior, "arn").unwrap_or_default();
        if prior.get("policy") != planned.get("policy") {
            // A policy keeps at most five versions: the oldest one not in use makes room.
            let versions = aws.iam.list_policy_versions().policy_arn(&arn).send().await.map_err(iam_err(aws))?;
            let mut old: Vec<_> = versions.versions().iter().filter(|v| !v.is_default_version()).collect();
            if versions.versions().len() >= 5 {
                old.sort_by_key(|v| v.create_date().map(|d| d.secs()));
                if let Some(oldest) = old.first().and_then(|v| v.version_id()) {
                    aws.iam.delete_policy_version().policy_arn(&arn).version_id(oldest).send().await.map_err(iam_err(aws))?;
                }
            }
            aws.iam
                .create_policy_version()
                .policy_arn(&arn)
                .set_policy_document(string(planned, "policy"))
                .set_as_default(true)
                .send()
                .await
                .map_err(iam_err(aws))?;
        }
        Tagged::Policy(&arn).update(aws, prior, planned).await?;
        read_policy(aws, &Obj::from(planned).s("id", Some(&arn)).build()).await?.ok_or_else(|| not_found("policy", &arn))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let arn = string(prior, "arn").or_else(|| string(prior, "id")).unwrap_or_default();
        let Some(versions) = absent(aws.iam.list_policy_versions().policy_arn(&arn).send().await.map_err(iam_err(aws)))? else {
            return Ok(());
        };
        for version in versions.versions().iter().filter(|v| !v.is_default_version()) {
            let call = aws.iam.delete_policy_version().policy_arn(&arn).set_version_id(version.version_id().map(str::to_string));
            ignore_absent(call.send().await.map(|_| ()).map_err(iam_err(aws)))?;
        }
        ignore_absent(aws.iam.delete_policy().policy_arn(&arn).send().await.map(|_| ()).map_err(iam_err(aws)))
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let Some(name) = string(planned, "name") else { return Ok(None) };
        let path = string(planned, "path").unwrap_or_else(|| "/".into());
        let arn = format!("arn:aws:iam::{}:policy{path}{name}", aws.account_id);
        let Some(found) = absent(aws.iam.get_policy().policy_arn(&arn).send().await.map_err(iam_err(aws)))? else { return Ok(None) };
        if !found.policy().is_some_and(|p| has_token(p.tags(), token)) {
            return Ok(None);
        }
        Tagged::Policy(&arn).untag_token(aws).await?;
        read_policy(aws, &Obj::from(planned).s("id", Some(&arn)).build()).await
    }
}

async fn read_policy(aws: &Aws, prior: &Value) -> Result<Option<Value>, ProviderError> {
    let arn = string(prior, "id").unwrap_or_default();
    let Some(out) = absent(aws.iam.get_policy().policy_arn(&arn).send().await.map_err(iam_err(aws)))? else { return Ok(None) };
    let Some(found) = out.policy() else { return Ok(None) };
    let version = aws
        .iam
        .get_policy_version()
        .policy_arn(&arn)
        .set_version_id(found.default_version_id().map(str::to_string))
        .send()
        .await
        .map_err(iam_err(aws))?;
    let document = version.policy_version().and_then(|v| v.document()).map(policy::url_decoded).unwrap_or_default();
    let name = found.policy_name().unwrap_or_default();
    let obj = Obj::new()
        .s("id", Some(&arn))
        .s("arn", Some(&arn))
        .s("name", Some(name))
        .s("name_prefix", Some(&prefix_of(name)))
        .s("path", found.path())
        .s("description", Some(found.description().unwrap_or_default()))
        .s("policy_id", found.policy_id())
        .n("attachment_count", found.attachment_count().map(f64::from))
        .s("policy", Some(&policy::keep_prior(string(prior, "policy"), &document)));
    Ok(Some(with_tags(obj, aws, &tag_map(found.tags()), prior).build()))
}

pub struct RolePolicy;

#[async_trait]
impl ResourceKind for RolePolicy {
    fn supported(&self) -> Schema {
        Schema::new()
            .attr("role", A::required(Type::String).force_new())
            .attr("name", A::optional_computed(Type::String).force_new())
            .attr("name_prefix", A::optional_computed(Type::String).force_new())
            .attr("policy", A::required(Type::String))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        policy::check(config, "policy", &mut errors);
        check_name_or_prefix(config, &mut errors);
        errors
    }

    fn equivalent(&self, attr: &str, prior: &Value, configured: &Value) -> bool {
        attr == "policy" && policy::equivalent_values(prior, configured)
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        plan_name(req, planned);
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let name = name_to_create(planned);
        let stub = Obj::from(planned).s("name", Some(&name)).build();
        put_role_policy(aws, &stub).await?;
        let role = string(planned, "role").unwrap_or_default();
        let stub = Obj::from(&stub).s("id", Some(&format!("{role}:{name}"))).build();
        retry_new(|| async { read_role_policy(aws, &stub).await?.ok_or_else(|| not_found("role policy", &name)) }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        read_each(objects, |o| async move { read_role_policy(aws, &o).await }).await
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        put_role_policy(aws, planned).await?;
        read_role_policy(aws, &Obj::from(planned).set("id", prior.get("id").cloned().unwrap_or(Value::Null)).build())
            .await?
            .ok_or_else(|| not_found("role policy", &string(prior, "id").unwrap_or_default()))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let call = aws.iam.delete_role_policy().set_role_name(string(prior, "role")).set_policy_name(string(prior, "name"));
        ignore_absent(call.send().await.map(|_| ()).map_err(iam_err(aws)))
    }

    /// Terraform's import id: `role:name`.
    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        let (role, name) = id.split_once(':').ok_or_else(|| ProviderError::Invalid(format!("import id {id:?} must be ROLE:POLICY_NAME")))?;
        Ok(Value::map([("id", Value::string(id)), ("role", Value::string(role)), ("name", Value::string(name))]))
    }
}

async fn put_role_policy(aws: &Aws, planned: &Value) -> Result<(), ProviderError> {
    aws.iam
        .put_role_policy()
        .set_role_name(string(planned, "role"))
        .set_policy_name(string(planned, "name"))
        .set_policy_document(string(planned, "policy"))
        .send()
        .await
        .map(|_| ())
        .map_err(iam_err(aws))
}

async fn read_role_policy(aws: &Aws, prior: &Value) -> Result<Option<Value>, ProviderError> {
    let (role, name) = (string(prior, "role").unwrap_or_default(), string(prior, "name").unwrap_or_default());
    let Some(out) = absent(aws.iam.get_role_policy().role_name(&role).policy_name(&name).send().await.map_err(iam_err(aws)))? else {
        return Ok(None);
    };
    let document = policy::url_decoded(out.policy_document());
    Ok(Some(
        Obj::new()
            .s("id", Some(&format!("{role}:{name}")))
            .s("role", Some(out.role_name()))
            .s("name", Some(out.policy_name()))
            .s("name_prefix", Some(&prefix_of(out.policy_name())))
            .s("policy", Some(&policy::keep_prior(string(prior, "policy"), &document)))
            .build(),
    ))
}

pub struct RolePolicyAttachment;

#[async_trait]
impl ResourceKind for RolePolicyAttachment {
    fn supported(&self) -> Schema {
        Schema::new().attr("role", A::required(Type::String).force_new()).attr("policy_arn", A::required(Type::String).force_new())
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let role = string(planned, "role").unwrap_or_default();
        aws.iam
            .attach_role_policy()
            .role_name(&role)
            .set_policy_arn(string(planned, "policy_arn"))
            .send()
            .await
            .map_err(iam_err(aws))?;
        // Terraform's id for an attachment: the role, then a unique suffix.
        Ok(Obj::from(planned).s("id", Some(&unique_id(&format!("{role}-")))).build())
    }

    /// One listing per role answers for all of its attachments.
    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let roles: std::collections::BTreeSet<String> = objects.iter().filter_map(|o| string(o, "role")).collect();
        let attached: BTreeMap<String, Option<Vec<String>>> = futures_util::stream::iter(roles)
            .map(|role| async move { Ok::<_, ProviderError>((role.clone(), absent(attached_policies(aws, &role).await)?)) })
            .buffer_unordered(ROLE_LISTINGS_AT_ONCE)
            .try_collect()
            .await?;
        Ok(objects
            .iter()
            .map(|o| {
                let role = string(o, "role")?;
                let arn = string(o, "policy_arn")?;
                attached.get(&role)?.as_ref()?.contains(&arn).then(|| o.clone())
            })
            .collect())
    }

    async fn update(&self, _aws: &Aws, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        // Both arguments force a replacement: there is nothing to change in place.
        Ok(planned.clone())
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let call = aws.iam.detach_role_policy().set_role_name(string(prior, "role")).set_policy_arn(string(prior, "policy_arn"));
        ignore_absent(call.send().await.map(|_| ()).map_err(iam_err(aws)))
    }

    /// Terraform's import id: `role/policy_arn`.
    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        let (role, arn) = id.split_once('/').ok_or_else(|| ProviderError::Invalid(format!("import id {id:?} must be ROLE/POLICY_ARN")))?;
        Ok(Value::map([("id", Value::string(unique_id(&format!("{role}-")))), ("role", Value::string(role)), ("policy_arn", Value::string(arn))]))
    }
}

pub struct InstanceProfile;

#[async_trait]
impl ResourceKind for InstanceProfile {
    fn supported(&self) -> Schema {
        tags_schema(name_schema(Schema::new()))
            .attr("role", A::optional(Type::String))
            .attr("arn", A::computed(Type::String))
            .attr("create_date", A::computed(Type::String))
            .attr("unique_id", A::computed(Type::String))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        check_path(config, &mut errors);
        check_name_or_prefix(config, &mut errors);
        errors
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("path", Value::string("/"))]
    }

    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        plan_name(req, planned);
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let name = name_to_create(planned);
        aws.iam
            .create_instance_profile()
            .instance_profile_name(&name)
            .set_path(string(planned, "path"))
            .set_tags(Some(tags_to_send(aws, planned, Some(token))?))
            .send()
            .await
            .map_err(iam_err(aws))?;
        Tagged::InstanceProfile(&name).untag_token(aws).await?;
        if let Some(role) = string(planned, "role") {
            retry_new(|| add_role(aws, &name, &role)).await?;
        }
        let stub = Obj::from(planned).s("id", Some(&name)).build();
        retry_new(|| async { read_profile(aws, &stub).await?.ok_or_else(|| not_found("instance profile", &name)) }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        read_each(objects, |o| async move { read_profile(aws, &o).await }).await
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let name = string(prior, "name").unwrap_or_default();
        let (before, after) = (string(prior, "role"), string(planned, "role"));
        if before != after {
            if let Some(role) = before {
                remove_role(aws, &name, &role).await?;
            }
            if let Some(role) = after {
                add_role(aws, &name, &role).await?;
            }
        }
        Tagged::InstanceProfile(&name).update(aws, prior, planned).await?;
        read_profile(aws, &Obj::from(planned).s("id", Some(&name)).build()).await?.ok_or_else(|| not_found("instance profile", &name))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let name = string(prior, "name").unwrap_or_default();
        if let Some(role) = string(prior, "role") {
            remove_role(aws, &name, &role).await?;
        }
        ignore_absent(aws.iam.delete_instance_profile().instance_profile_name(&name).send().await.map(|_| ()).map_err(iam_err(aws)))
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let Some(name) = string(planned, "name") else { return Ok(None) };
        let call = aws.iam.get_instance_profile().instance_profile_name(&name);
        let Some(found) = absent(call.send().await.map_err(iam_err(aws)))? else { return Ok(None) };
        if !found.instance_profile().is_some_and(|p| has_token(p.tags(), token)) {
            return Ok(None);
        }
        Tagged::InstanceProfile(&name).untag_token(aws).await?;
        read_profile(aws, &Obj::from(planned).s("id", Some(&name)).build()).await
    }

    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        Ok(Value::map([("id", Value::string(id)), ("name", Value::string(id))]))
    }
}

async fn add_role(aws: &Aws, profile: &str, role: &str) -> Result<(), ProviderError> {
    let call = aws.iam.add_role_to_instance_profile().instance_profile_name(profile).role_name(role);
    call.send().await.map(|_| ()).map_err(iam_err(aws))
}

async fn remove_role(aws: &Aws, profile: &str, role: &str) -> Result<(), ProviderError> {
    let call = aws.iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(role);
    ignore_absent(call.send().await.map(|_| ()).map_err(iam_err(aws)))
}

async fn read_profile(aws: &Aws, prior: &Value) -> Result<Option<Value>, ProviderError> {
    let name = string(prior, "id").unwrap_or_default();
    let call = aws.iam.get_instance_profile().instance_profile_name(&name);
    let Some(out) = absent(call.send().await.map_err(iam_err(aws)))? else { return Ok(None) };
    let Some(profile) = out.instance_profile() else { return Ok(None) };
    let obj = Obj::new()
        .s("id", Some(profile.instance_profile_name()))
        .s("name", Some(profile.instance_profile_name()))
        .s("name_prefix", Some(&prefix_of(profile.instance_profile_name())))
        .s("path", Some(profile.path()))
        .s("arn", Some(profile.arn()))
        .s("unique_id", Some(profile.instance_profile_id()))
        .s("create_date", iam_date(Some(profile.create_date())).as_deref())
        .s("role", profile.roles().first().map(|r| r.role_name()));
    Ok(Some(with_tags(obj, aws, &tag_map(profile.tags()), prior).build()))
}

/// Data source `aws_iam_role`: a role by name.
pub struct RoleLookup;

#[async_trait]
impl crate::kind::DataKind for RoleLookup {
    fn supported(&self) -> Schema {
        let field = |name: &str| (name.to_string(), terrane_core::types::ObjectAttr::required(Type::String));
        let last_used = Type::list(Type::Object([field("last_used_date"), field("region")].into_iter().collect()));
        ["arn", "assume_role_policy", "create_date", "description", "path", "permissions_boundary", "unique_id"]
            .iter()
            .fold(Schema::new(), |s, n| s.attr(n, A::computed(Type::String)))
            .attr("name", A::required(Type::String))
            .attr("max_session_duration", A::computed(Type::Number))
            .attr("role_last_used", A::computed(last_used))
            .attr("tags", A::optional_computed(Type::map(Type::String)))
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let name = string(config, "name").unwrap_or_default();
        let out = aws.iam.get_role().role_name(&name).send().await.map_err(iam_err(aws))?;
        let role = out.role().ok_or_else(|| not_found("role", &name))?;
        let last_used = role.role_last_used();
        let last_used = Value::List(vec![Value::map([
            ("last_used_date", Value::string(iam_date(last_used.and_then(|u| u.last_used_date())).unwrap_or_default())),
            ("region", Value::string(last_used.and_then(|u| u.region()).unwrap_or_default())),
        ])]);
        Ok(Obj::from(config)
            .s("id", Some(role.role_name()))
            .s("arn", Some(role.arn()))
            .s("assume_role_policy", Some(&role.assume_role_policy_document().map(policy::url_decoded).unwrap_or_default()))
            .s("create_date", iam_date(Some(role.create_date())).as_deref())
            .s("description", Some(role.description().unwrap_or_default()))
            .s("path", Some(role.path()))
            .s("permissions_boundary", Some(role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).unwrap_or_default()))
            .s("unique_id", Some(role.role_id()))
            .n("max_session_duration", role.max_session_duration().map(f64::from))
            .set("role_last_used", last_used)
            .set("tags", crate::attrs::map_value(&tag_map(role.tags())))
            .build())
    }
}

/// `aws_iam_policy`: a managed policy, by ARN or by name (and path prefix).
pub struct PolicyLookup;

#[async_trait]
impl crate::kind::DataKind for PolicyLookup {
    fn supported(&self) -> Schema {
        ["description", "path", "policy", "policy_id"]
            .iter()
            .fold(Schema::new(), |s, n| s.attr(n, A::computed(Type::String)))
            .attr("arn", A::optional_computed(Type::String))
            .attr("name", A::optional_computed(Type::String))
            .attr("path_prefix", A::optional(Type::String))
            .attr("attachment_count", A::computed(Type::Number))
            .attr("tags", A::optional_computed(Type::map(Type::String)))
    }

    async fn read(&self, aws: &Aws, config: &Value) -> Result<Value, ProviderError> {
        let arn = match (string(config, "arn"), string(config, "name")) {
            (Some(arn), _) => arn,
            (None, Some(name)) => {
                let pages: Vec<_> = aws
                    .iam
                    .list_policies()
                    .set_path_prefix(string(config, "path_prefix"))
                    .into_paginator()
                    .items()
                    .send()
                    .collect()
                    .await;
                let policies = pages.into_iter().collect::<Result<Vec<_>, _>>().map_err(iam_err(aws))?;
                let matching: Vec<String> = policies.iter().filter(|p| p.policy_name() == Some(name.as_str())).filter_map(|p| p.arn().map(str::to_string)).collect();
                match matching.as_slice() {
                    [one] => one.clone(),
                    [] => return Err(not_found("policy", &name)),
                    many => return Err(ProviderError::Invalid(format!("{} IAM policies are named {name:?}: give path_prefix or arn", many.len()))),
                }
            }
            (None, None) => return Err(ProviderError::Invalid("aws_iam_policy needs arn or name".into())),
        };
        let found = read_policy(aws, &Obj::new().s("id", Some(&arn)).build()).await?.ok_or_else(|| not_found("policy", &arn))?;
        let tags = found.get("tags").filter(|t| !t.is_null()).cloned().unwrap_or_else(|| Value::Map(Default::default()));
        Ok(Obj::from(config)
            .s("id", Some(&arn))
            .s("arn", Some(&arn))
            .set("name", found.get("name").cloned().unwrap_or(Value::Null))
            .set("path", found.get("path").cloned().unwrap_or(Value::Null))
            .set("description", found.get("description").cloned().unwrap_or(Value::Null))
            .set("policy", found.get("policy").cloned().unwrap_or(Value::Null))
            .set("policy_id", found.get("policy_id").cloned().unwrap_or(Value::Null))
            .set("attachment_count", found.get("attachment_count").cloned().unwrap_or(Value::Null))
            .set("tags", tags)
            .build())
    }
}
