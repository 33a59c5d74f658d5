//! The bucket settings that Terraform's AWS provider models as resources of their
//! own (`aws_s3_bucket_versioning`, `..._policy`, ...): one setting of one
//! bucket each, with the bucket's name as id. They share one `ResourceKind`.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketCannedAcl, BucketVersioningStatus, ErrorDocument, IndexDocument, MfaDelete, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration, WebsiteConfiguration,
};
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, BlockSchema, Nesting, PlanRequest, ProviderError, Schema};

use super::{check_bucket_name, read_where_bucket_exists, s3_error};
use crate::attrs::{attr_err, blocks, boolean, string, strings, Obj};
use crate::client::{is_not_found, retry_new, Aws};
use crate::kind::ResourceKind;

#[async_trait]
pub trait BucketSetting: Send + Sync {
    /// The attributes and blocks besides `bucket` and `id`.
    fn body(&self) -> Schema;
    fn validate(&self, _config: &Value) -> Vec<AttrError> {
        Vec::new()
    }
    /// Values S3 gives arguments the configuration leaves out.
    fn defaults(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
    /// See `ResourceKind::equivalent`.
    fn equivalent(&self, _attr: &str, _prior: &Value, _configured: &Value) -> bool {
        false
    }
    /// Terraform's id for the setting: the bucket's name, unless the type says more.
    fn id(&self, bucket: &str, _setting: &Value) -> String {
        bucket.to_string()
    }
    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError>;
    /// The setting as the bucket has it, or `None` when it has none.
    async fn get(&self, aws: &Aws, bucket: &str, prior: &Value) -> Result<Option<Obj>, ProviderError>;
    async fn remove(&self, aws: &Aws, bucket: &str, prior: &Value) -> Result<(), ProviderError>;
}

pub struct Setting<T>(pub T);

pub(super) fn block(nesting: Nesting, min_items: usize, max_items: Option<usize>, body: Schema) -> BlockSchema {
    BlockSchema { nesting, min_items, max_items, force_new: false, body }
}

/// `None` for the error S3 answers when a bucket has no such setting.
pub(super) fn absent(e: ProviderError, codes: &[&str]) -> Result<Option<Obj>, ProviderError> {
    match e {
        ProviderError::Api { ref code, .. } if codes.contains(&code.as_str()) => Ok(None),
        e if is_not_found(&e) => Ok(None),
        e => Err(e),
    }
}

pub(super) fn invalid(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Invalid(e.to_string())
}

#[async_trait]
impl<T: BucketSetting> ResourceKind for Setting<T> {
    fn supported(&self) -> Schema {
        let mut schema = self.0.body();
        schema = schema.attr("bucket", A::required(Type::String).force_new());
        schema
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        self.0.defaults()
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = self.0.validate(config);
        if let Some(m) = string(config, "bucket").and_then(|b| check_bucket_name(&b)) {
            errors.push(attr_err("bucket", m));
        }
        errors
    }

    fn equivalent(&self, attr: &str, prior: &Value, configured: &Value) -> bool {
        self.0.equivalent(attr, prior, configured)
    }

    /// An id made from the setting (an ACL's) changes with it.
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        let Some(prior_id) = req.prior.and_then(|p| string(p, "id")) else { return };
        let mut setting = planned.clone();
        setting.remove("id");
        let setting = Value::Map(setting);
        let id = self.0.id(&bucket_of(&setting), &setting);
        if setting.is_wholly_known() {
            planned.insert("id".into(), Value::string(id));
        } else if id != prior_id {
            planned.insert("id".into(), Value::Unknown);
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        let bucket = bucket_of(planned);
        retry_new(|| self.0.put(aws, &bucket, planned)).await?;
        self.read_one(aws, planned).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        read_where_bucket_exists(aws, objects, bucket_of, |i, bucket| async move {
            let found = self.0.get(aws, &bucket, &objects[i]).await?;
            Ok(found.map(|obj| self.with_id(obj, &bucket)))
        })
        .await
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        self.0.put(aws, &bucket_of(prior), planned).await?;
        self.read_one(aws, planned).await
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        match self.0.remove(aws, &bucket_of(prior), prior).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other,
        }
    }

    /// Terraform's import ids: the bucket, or `bucket,acl` for an ACL.
    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        let mut parts = id.split(',');
        let bucket = parts.next().unwrap_or_default();
        let obj = Obj::new().s("id", Some(id)).s("bucket", Some(bucket));
        Ok(match parts.last() {
            Some(acl) => obj.s("acl", Some(acl)).build(),
            None => obj.build(),
        })
    }
}

/// The bucket a setting is on: its `bucket`, or the first part of its id.
fn bucket_of(object: &Value) -> String {
    string(object, "bucket").or_else(|| string(object, "id").and_then(|id| id.split(',').next().map(str::to_string))).unwrap_or_default()
}

impl<T: BucketSetting> Setting<T> {
    async fn read_one(&self, aws: &Aws, object: &Value) -> Result<Value, ProviderError> {
        let bucket = bucket_of(object);
        let found = retry_new(|| async { self.0.get(aws, &bucket, object).await?.ok_or_else(|| super::not_found(&bucket)) }).await?;
        Ok(self.with_id(found, &bucket))
    }

    fn with_id(&self, found: Obj, bucket: &str) -> Value {
        let setting = found.s("bucket", Some(bucket)).build();
        let id = self.0.id(bucket, &setting);
        Obj::from(&setting).s("id", Some(&id)).build()
    }
}

pub struct Versioning;

#[async_trait]
impl BucketSetting for Versioning {
    fn body(&self) -> Schema {
        Schema::new().block(
            "versioning_configuration",
            block(
                Nesting::List,
                1,
                Some(1),
                Schema::new().attr("status", A::required(Type::String)).attr("mfa_delete", A::optional_computed(Type::String)),
            ),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        match blocks(config, "versioning_configuration").first().and_then(|b| string(b, "status")) {
            Some(s) if !matches!(s.as_str(), "Enabled" | "Suspended" | "Disabled") => {
                vec![attr_err("versioning_configuration", format!("status must be Enabled, Suspended or Disabled, got {s:?}"))]
            }
            _ => Vec::new(),
        }
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        let config = blocks(planned, "versioning_configuration").first().copied().cloned().unwrap_or(Value::Null);
        let status = string(&config, "status").unwrap_or_else(|| "Enabled".into());
        if status == "Disabled" {
            // Versioning cannot be turned off once on; "Disabled" only names a bucket that never had it.
            return Ok(());
        }
        let mut versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::from(status.as_str()));
        if let Some(mfa) = string(&config, "mfa_delete") {
            versioning = versioning.mfa_delete(MfaDelete::from(mfa.as_str()));
        }
        aws.s3.put_bucket_versioning().bucket(bucket).versioning_configuration(versioning.build()).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_versioning().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &[]),
        };
        let prior_mfa = blocks(prior, "versioning_configuration").first().and_then(|b| string(b, "mfa_delete"));
        // S3 leaves MFA delete out until it was once set; unset and Disabled are the same.
        let mfa = match out.mfa_delete().map(|m| m.as_str()) {
            Some("Enabled") => Some("Enabled".to_string()),
            _ => prior_mfa.filter(|m| m == "Disabled"),
        };
        let config = Obj::new()
            .s("status", Some(out.status().map_or("Disabled", |s| s.as_str())))
            .s("mfa_delete", Some(mfa.as_deref().unwrap_or_default()))
            .build();
        Ok(Some(Obj::new().set("versioning_configuration", config)))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, prior: &Value) -> Result<(), ProviderError> {
        // As in Terraform: destroying the resource suspends versioning on the bucket.
        let enabled = blocks(prior, "versioning_configuration").first().and_then(|b| string(b, "status")).as_deref() == Some("Enabled");
        if !enabled {
            return Ok(());
        }
        let suspended = VersioningConfiguration::builder().status(BucketVersioningStatus::Suspended).build();
        aws.s3.put_bucket_versioning().bucket(bucket).versioning_configuration(suspended).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

pub struct PublicAccessBlock;

const ACCESS_FLAGS: [&str; 4] = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"];

#[async_trait]
impl BucketSetting for PublicAccessBlock {
    fn body(&self) -> Schema {
        ACCESS_FLAGS.iter().fold(Schema::new(), |s, f| s.attr(f, A::optional(Type::Bool)))
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        ACCESS_FLAGS.iter().map(|f| (*f, Value::Bool(false))).collect()
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        let flag = |name| Some(boolean(planned, name).unwrap_or(false));
        let config = PublicAccessBlockConfiguration::builder()
            .set_block_public_acls(flag("block_public_acls"))
            .set_block_public_policy(flag("block_public_policy"))
            .set_ignore_public_acls(flag("ignore_public_acls"))
            .set_restrict_public_buckets(flag("restrict_public_buckets"))
            .build();
        aws.s3.put_public_access_block().bucket(bucket).public_access_block_configuration(config).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_public_access_block().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &["NoSuchPublicAccessBlockConfiguration"]),
        };
        let Some(c) = out.public_access_block_configuration() else { return Ok(None) };
        Ok(Some(
            Obj::new()
                .b("block_public_acls", Some(c.block_public_acls().unwrap_or(false)))
                .b("block_public_policy", Some(c.block_public_policy().unwrap_or(false)))
                .b("ignore_public_acls", Some(c.ignore_public_acls().unwrap_or(false)))
                .b("restrict_public_buckets", Some(c.restrict_public_buckets().unwrap_or(false))),
        ))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        aws.s3.delete_public_access_block().bucket(bucket).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

pub struct Encryption;

#[async_trait]
impl BucketSetting for Encryption {
    fn body(&self) -> Schema {
        let default = Schema::new().attr("sse_algorithm", A::required(Type::String)).attr("kms_master_key_id", A::optional(Type::String));
        let rule = Schema::new()
            .attr("bucket_key_enabled", A::optional(Type::Bool))
            .block("apply_server_side_encryption_by_default", block(Nesting::List, 0, Some(1), default));
        Schema::new().block("rule", block(Nesting::Set, 1, None, rule))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        for rule in blocks(config, "rule") {
            for d in blocks(rule, "apply_server_side_encryption_by_default") {
                if let Some(a) = string(d, "sse_algorithm") {
                    if !matches!(a.as_str(), "AES256" | "aws:kms" | "aws:kms:dsse") {
                        errors.push(attr_err("rule", format!("sse_algorithm must be AES256, aws:kms or aws:kms:dsse, got {a:?}")));
                    }
                }
            }
        }
        errors
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        let mut rules = Vec::new();
        for rule in blocks(planned, "rule") {
            let mut builder = ServerSideEncryptionRule::builder().set_bucket_key_enabled(boolean(rule, "bucket_key_enabled"));
            if let Some(d) = blocks(rule, "apply_server_side_encryption_by_default").first() {
                let by_default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::from(string(d, "sse_algorithm").unwrap_or_default().as_str()))
                    .set_kms_master_key_id(string(d, "kms_master_key_id"))
                    .build()
                    .map_err(invalid)?;
                builder = builder.apply_server_side_encryption_by_default(by_default);
            }
            rules.push(builder.build());
        }
        let config = ServerSideEncryptionConfiguration::builder().set_rules(Some(rules)).build().map_err(invalid)?;
        aws.s3.put_bucket_encryption().bucket(bucket).server_side_encryption_configuration(config).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_encryption().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &["ServerSideEncryptionConfigurationNotFoundError"]),
        };
        let Some(config) = out.server_side_encryption_configuration() else { return Ok(None) };
        let rules = config
            .rules()
            .iter()
            .map(|r| {
                let defaults: Vec<Value> = r
                    .apply_server_side_encryption_by_default()
                    .map(|d| Obj::new().s("sse_algorithm", Some(d.sse_algorithm().as_str())).s("kms_master_key_id", Some(d.kms_master_key_id().unwrap_or_default())).build())
                    .into_iter()
                    .collect();
                Obj::new()
                    // Left out, it is off; S3 answers false.
                    .b("bucket_key_enabled", r.bucket_key_enabled().filter(|on| *on))
                    .set("apply_server_side_encryption_by_default", Value::List(defaults))
                    .build()
            })
            .collect();
        Ok(Some(Obj::new().set("rule", Value::set(rules))))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        aws.s3.delete_bucket_encryption().bucket(bucket).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

pub struct Ownership;

#[async_trait]
impl BucketSetting for Ownership {
    fn body(&self) -> Schema {
        Schema::new().block("rule", block(Nesting::List, 1, Some(1), Schema::new().attr("object_ownership", A::required(Type::String))))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        match blocks(config, "rule").first().and_then(|r| string(r, "object_ownership")) {
            Some(o) if !ObjectOwnership::values().contains(&o.as_str()) => {
                vec![attr_err("rule", format!("object_ownership must be one of {}, got {o:?}", ObjectOwnership::values().join(", ")))]
            }
            _ => Vec::new(),
        }
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        let ownership = blocks(planned, "rule").first().and_then(|r| string(r, "object_ownership")).unwrap_or_default();
        let rule = OwnershipControlsRule::builder().object_ownership(ObjectOwnership::from(ownership.as_str())).build().map_err(invalid)?;
        let controls = OwnershipControls::builder().rules(rule).build().map_err(invalid)?;
        aws.s3.put_bucket_ownership_controls().bucket(bucket).ownership_controls(controls).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_ownership_controls().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &["OwnershipControlsNotFoundError"]),
        };
        let Some(rule) = out.ownership_controls().and_then(|c| c.rules().first()) else { return Ok(None) };
        Ok(Some(Obj::new().set("rule", Obj::new().s("object_ownership", Some(rule.object_ownership().as_str())).build())))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        aws.s3.delete_bucket_ownership_controls().bucket(bucket).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

pub struct Policy;

#[async_trait]
impl BucketSetting for Policy {
    fn body(&self) -> Schema {
        Schema::new().attr("policy", A::required(Type::String))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        crate::policy::check(config, "policy", &mut errors);
        errors
    }

    fn equivalent(&self, attr: &str, prior: &Value, configured: &Value) -> bool {
        attr == "policy" && crate::policy::equivalent_values(prior, configured)
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        aws.s3.put_bucket_policy().bucket(bucket).set_policy(string(planned, "policy")).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_policy().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &["NoSuchBucketPolicy"]),
        };
        let Some(remote) = out.policy() else { return Ok(None) };
        Ok(Some(Obj::new().s("policy", Some(&crate::policy::keep_prior(string(prior, "policy"), remote)))))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        aws.s3.delete_bucket_policy().bucket(bucket).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

pub struct Acl;

/// The canned ACLs S3 takes for a bucket, as Terraform's provider lists them
/// (the SDK's enum names only the first four).
const CANNED_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
];

#[async_trait]
impl BucketSetting for Acl {
    fn body(&self) -> Schema {
        Schema::new().attr("acl", A::optional(Type::String))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut missing = Vec::new();
        crate::attrs::require(config, "acl", "terrane does not support access_control_policy yet", &mut missing);
        if !missing.is_empty() {
            return missing;
        }
        match string(config, "acl") {
            Some(a) if !CANNED_ACLS.contains(&a.as_str()) => {
                vec![attr_err("acl", format!("acl must be a canned ACL ({}), got {a:?}", CANNED_ACLS.join(", ")))]
            }
            _ => Vec::new(),
        }
    }

    fn id(&self, bucket: &str, setting: &Value) -> String {
        match string(setting, "acl") {
            Some(acl) => format!("{bucket},{acl}"),
            None => bucket.to_string(),
        }
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        let acl = string(planned, "acl").unwrap_or_default();
        aws.s3.put_bucket_acl().bucket(bucket).acl(BucketCannedAcl::from(acl.as_str())).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_acl().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &[]),
        };
        // S3 answers with grants, not the canned name they came from: the grants
        // of the common canned ACLs are recognised, anything else keeps the name
        // that was applied.
        let grants: Vec<(String, String)> = out
            .grants()
            .iter()
            .filter_map(|g| {
                let grantee = g.grantee()?;
                let who = grantee.uri().map(|u| u.rsplit('/').next().unwrap_or(u).to_string()).unwrap_or_else(|| "owner".into());
                Some((who, g.permission()?.as_str().to_string()))
            })
            .collect();
        let has = |who: &str, what: &str| grants.iter().any(|(w, p)| w == who && p == what);
        let others = grants.iter().filter(|(w, _)| w != "owner").count();
        let canned = match others {
            0 => Some("private"),
            1 if has("AllUsers", "READ") => Some("public-read"),
            2 if has("AllUsers", "READ") && has("AllUsers", "WRITE") => Some("public-read-write"),
            1 if has("AuthenticatedUsers", "READ") => Some("authenticated-read"),
            _ => None,
        };
        let acl = canned.map(Value::string).or_else(|| prior.get("acl").cloned()).unwrap_or(Value::Null);
        Ok(Some(Obj::new().set("acl", acl)))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        // A bucket always has an ACL; destroying the resource returns it to private.
        aws.s3.put_bucket_acl().bucket(bucket).acl(BucketCannedAcl::Private).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

pub struct Website;

#[async_trait]
impl BucketSetting for Website {
    fn body(&self) -> Schema {
        Schema::new()
            .block("index_document", block(Nesting::List, 0, Some(1), Schema::new().attr("suffix", A::required(Type::String))))
            .block("error_document", block(Nesting::List, 0, Some(1), Schema::new().attr("key", A::required(Type::String))))
            .attr("website_endpoint", A::computed(Type::String))
            .attr("website_domain", A::computed(Type::String))
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        let mut config = WebsiteConfiguration::builder();
        if let Some(suffix) = blocks(planned, "index_document").first().and_then(|b| string(b, "suffix")) {
            config = config.index_document(IndexDocument::builder().suffix(suffix).build().map_err(invalid)?);
        }
        if let Some(key) = blocks(planned, "error_document").first().and_then(|b| string(b, "key")) {
            config = config.error_document(ErrorDocument::builder().key(key).build().map_err(invalid)?);
        }
        aws.s3.put_bucket_website().bucket(bucket).website_configuration(config.build()).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_website().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &["NoSuchWebsiteConfiguration"]),
        };
        let index = out.index_document().map_or(Value::Null, |d| Obj::new().s("suffix", Some(d.suffix())).build());
        let error = out.error_document().map_or(Value::Null, |d| Obj::new().s("key", Some(d.key())).build());
        let domain = format!("s3-website-{}.amazonaws.com", aws.region);
        Ok(Some(
            Obj::new()
                .set("index_document", index)
                .set("error_document", error)
                .s("website_endpoint", Some(&format!("{bucket}.{domain}")))
                .s("website_domain", Some(&domain)),
        ))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        aws.s3.delete_bucket_website().bucket(bucket).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

pub struct Logging;

#[async_trait]
impl BucketSetting for Logging {
    fn body(&self) -> Schema {
        Schema::new().attr("target_bucket", A::required(Type::String)).attr("target_prefix", A::required(Type::String))
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        let enabled = aws_sdk_s3::types::LoggingEnabled::builder()
            .set_target_bucket(string(planned, "target_bucket"))
            .set_target_prefix(string(planned, "target_prefix"))
            .build()
            .map_err(invalid)?;
        let status = aws_sdk_s3::types::BucketLoggingStatus::builder().logging_enabled(enabled).build();
        aws.s3.put_bucket_logging().bucket(bucket).bucket_logging_status(status).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_logging().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &[]),
        };
        Ok(out.logging_enabled().map(|l| Obj::new().s("target_bucket", Some(l.target_bucket())).s("target_prefix", Some(l.target_prefix()))))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        let off = aws_sdk_s3::types::BucketLoggingStatus::builder().build();
        aws.s3.put_bucket_logging().bucket(bucket).bucket_logging_status(off).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

pub struct Cors;

#[async_trait]
impl BucketSetting for Cors {
    fn body(&self) -> Schema {
        let rule = Schema::new()
            .attr("allowed_headers", A::optional(Type::set(Type::String)))
            .attr("allowed_methods", A::required(Type::set(Type::String)))
            .attr("allowed_origins", A::required(Type::set(Type::String)))
            .attr("expose_headers", A::optional(Type::set(Type::String)))
            .attr("id", A::optional(Type::String))
            .attr("max_age_seconds", A::optional(Type::Number));
        Schema::new().block("cors_rule", block(Nesting::Set, 1, Some(100), rule))
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        let rules = blocks(planned, "cors_rule")
            .into_iter()
            .map(|r| {
                aws_sdk_s3::types::CorsRule::builder()
                    .set_id(string(r, "id").filter(|id| !id.is_empty()))
                    .set_allowed_headers(Some(strings(r, "allowed_headers")).filter(|h| !h.is_empty()))
                    .set_allowed_methods(Some(strings(r, "allowed_methods")))
                    .set_allowed_origins(Some(strings(r, "allowed_origins")))
                    .set_expose_headers(Some(strings(r, "expose_headers")).filter(|h| !h.is_empty()))
                    .set_max_age_seconds(crate::attrs::int(r, "max_age_seconds"))
                    .build()
                    .map_err(invalid)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let configuration = aws_sdk_s3::types::CorsConfiguration::builder().set_cors_rules(Some(rules)).build().map_err(invalid)?;
        aws.s3.put_bucket_cors().bucket(bucket).cors_configuration(configuration).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_cors().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &["NoSuchCORSConfiguration"]),
        };
        // Terraform's provider stores [] and "" for what a rule leaves out.
        let rules: Vec<Value> = out
            .cors_rules()
            .iter()
            .map(|r| {
                Obj::new()
                    .s("id", Some(r.id().unwrap_or_default()))
                    .set("allowed_headers", crate::attrs::string_set(r.allowed_headers()))
                    .set("allowed_methods", crate::attrs::string_set(r.allowed_methods()))
                    .set("allowed_origins", crate::attrs::string_set(r.allowed_origins()))
                    .set("expose_headers", crate::attrs::string_set(r.expose_headers()))
                    .n("max_age_seconds", r.max_age_seconds().map(f64::from))
                    .build()
            })
            .collect();
        Ok((!rules.is_empty()).then(|| Obj::new().set("cors_rule", Value::set(rules))))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        aws.s3.delete_bucket_cors().bucket(bucket).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

/// `aws_s3_bucket_notification`: where S3 sends a bucket's events. The
/// resource is the bucket's whole notification setting.
pub struct Notification;

/// The three kinds of destination: block name and ARN attribute.
const DESTINATIONS: [(&str, &str); 3] = [("queue", "queue_arn"), ("topic", "topic_arn"), ("lambda_function", "lambda_function_arn")];

#[async_trait]
impl BucketSetting for Notification {
    fn body(&self) -> Schema {
        let destination = |arn: &str| {
            let arn_attr = if arn == "lambda_function_arn" { A::optional(Type::String) } else { A::required(Type::String) };
            Schema::new()
                .attr("events", A::required(Type::set(Type::String)))
                .attr("filter_prefix", A::optional(Type::String))
                .attr("filter_suffix", A::optional(Type::String))
                .attr("id", A::optional_computed(Type::String))
                .attr(arn, arn_attr)
        };
        DESTINATIONS
            .iter()
            .fold(Schema::new().attr("eventbridge", A::optional(Type::Bool)), |s, (name, arn)| s.block(name, block(Nesting::List, 0, None, destination(arn))))
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("eventbridge", Value::Bool(false))]
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        use aws_sdk_s3::types::{
            Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration, NotificationConfigurationFilter,
            QueueConfiguration, S3KeyFilter, TopicConfiguration,
        };
        let filter = |d: &Value| {
            let rules: Vec<FilterRule> = [("filter_prefix", FilterRuleName::Prefix), ("filter_suffix", FilterRuleName::Suffix)]
                .into_iter()
                .filter_map(|(name, rule)| string(d, name).filter(|v| !v.is_empty()).map(|v| FilterRule::builder().name(rule).value(v).build()))
                .collect();
            (!rules.is_empty()).then(|| NotificationConfigurationFilter::builder().key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build()).build())
        };
        let events = |d: &Value| strings(d, "events").iter().map(|e| Event::from(e.as_str())).collect::<Vec<_>>();
        let id = |d: &Value, prefix: &str| string(d, "id").filter(|i| !i.is_empty()).unwrap_or_else(|| crate::attrs::unique_id(prefix));
        let mut config = NotificationConfiguration::builder();
        for d in blocks(planned, "queue") {
            let queue = QueueConfiguration::builder().id(id(d, "tf-s3-queue-")).set_queue_arn(string(d, "queue_arn")).set_events(Some(events(d))).set_filter(filter(d));
            config = config.queue_configurations(queue.build().map_err(invalid)?);
        }
        for d in blocks(planned, "topic") {
            let topic = TopicConfiguration::builder().id(id(d, "tf-s3-topic-")).set_topic_arn(string(d, "topic_arn")).set_events(Some(events(d))).set_filter(filter(d));
            config = config.topic_configurations(topic.build().map_err(invalid)?);
        }
        for d in blocks(planned, "lambda_function") {
            let lambda = LambdaFunctionConfiguration::builder()
                .id(id(d, "tf-s3-lambda-"))
                .set_lambda_function_arn(string(d, "lambda_function_arn"))
                .set_events(Some(events(d)))
                .set_filter(filter(d));
            config = config.lambda_function_configurations(lambda.build().map_err(invalid)?);
        }
        if boolean(planned, "eventbridge") == Some(true) {
            config = config.event_bridge_configuration(aws_sdk_s3::types::EventBridgeConfiguration::builder().build());
        }
        let call = aws.s3.put_bucket_notification_configuration().bucket(bucket).notification_configuration(config.build());
        call.send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }

    /// Every bucket has a notification setting, if only an empty one.
    async fn get(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_notification_configuration().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &[]),
        };
        let destination = |id: Option<&str>, arn_name: &str, arn: Option<&str>, events: Vec<String>, filter: Option<&aws_sdk_s3::types::NotificationConfigurationFilter>| {
            let rule = |name: &str| {
                let rules = filter.and_then(|f| f.key()).map(|k| k.filter_rules()).unwrap_or_default();
                rules.iter().find(|r| r.name().is_some_and(|n| n.as_str().eq_ignore_ascii_case(name))).and_then(|r| r.value()).unwrap_or_default().to_string()
            };
            Obj::new()
                .s("id", Some(id.unwrap_or_default()))
                .s(arn_name, arn)
                .set("events", crate::attrs::string_set(events))
                .s("filter_prefix", Some(&rule("prefix")))
                .s("filter_suffix", Some(&rule("suffix")))
                .build()
        };
        let event_names = |events: &[aws_sdk_s3::types::Event]| events.iter().map(|e| e.as_str().to_string()).collect::<Vec<_>>();
        let queues = out.queue_configurations().iter().map(|q| destination(q.id(), "queue_arn", Some(q.queue_arn()), event_names(q.events()), q.filter()));
        let topics = out.topic_configurations().iter().map(|t| destination(t.id(), "topic_arn", Some(t.topic_arn()), event_names(t.events()), t.filter()));
        let lambdas = out
            .lambda_function_configurations()
            .iter()
            .map(|l| destination(l.id(), "lambda_function_arn", Some(l.lambda_function_arn()), event_names(l.events()), l.filter()));
        Ok(Some(
            Obj::new()
                .b("eventbridge", Some(out.event_bridge_configuration().is_some()))
                .set("queue", Value::List(queues.collect()))
                .set("topic", Value::List(topics.collect()))
                .set("lambda_function", Value::List(lambdas.collect())),
        ))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        let none = aws_sdk_s3::types::NotificationConfiguration::builder().build();
        let call = aws.s3.put_bucket_notification_configuration().bucket(bucket).notification_configuration(none);
        call.send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}
