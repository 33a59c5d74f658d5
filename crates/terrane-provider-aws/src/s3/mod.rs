//! S3 resource types. S3 has no batch describe: a refresh lists the buckets once
//! and asks per bucket only for what the listing does not carry.

pub mod config;
pub mod lifecycle;
pub mod object;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, ObjectIdentifier, Tag, Tagging};
use futures_util::{StreamExt as _, TryStreamExt as _};
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, ProviderError, Schema};

use crate::attrs::{attr_err, boolean, string, string_map, Obj};
use crate::client::{is_not_found, retry_new, Aws};
use crate::ec2::vpc::tags_schema;
use crate::ec2::with_tags;
use crate::kind::ResourceKind;

/// Per-bucket calls of a refresh run this many at a time.
pub const BUCKET_CALLS_AT_ONCE: usize = 16;

/// S3's bucket naming rules, checked at plan time.
pub fn check_bucket_name(name: &str) -> Option<String> {
    let problem = if !(3..=63).contains(&name.len()) {
        "must be between 3 and 63 characters long"
    } else if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-') {
        "may contain only lowercase letters, digits, dots and hyphens"
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        "must begin and end with a letter or digit"
    } else if name.contains("..") {
        "must not contain two adjacent dots"
    } else if name.parse::<std::net::Ipv4Addr>().is_ok() {
        "must not be formatted as an IP address"
    } else if name.starts_with("xn--") || name.starts_with("sthree-") {
        "must not start with the reserved prefixes xn-- or sthree-"
    } else if name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        "must not end with the reserved suffixes -s3alias or --ol-s3"
    } else {
        return None;
    };
    Some(format!("bucket name {name:?} {problem}"))
}

pub fn s3_error<E>(aws: &Aws, err: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>) -> ProviderError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    aws.error("s3", err)
}

/// Reads each object whose bucket still exists, a bounded number at a time, in
/// order; `None` where the bucket is gone. `read` gets the object's index (a
/// closure over borrowed items trips the Send check of async traits) and its bucket.
pub async fn read_where_bucket_exists<F, Fut>(
    aws: &Aws,
    objects: &[Value],
    bucket_of: impl Fn(&Value) -> String,
    read: F,
) -> Result<Vec<Option<Value>>, ProviderError>
where
    F: Fn(usize, String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Value>, ProviderError>>,
{
    let existing = bucket_names(aws).await?;
    let buckets: Vec<String> = objects.iter().map(bucket_of).collect();
    futures_util::stream::iter(buckets.into_iter().enumerate())
        .map(|(i, bucket)| {
            let wanted = existing.contains(&bucket).then(|| read(i, bucket));
            async move {
                match wanted {
                    Some(reading) => reading.await,
                    None => Ok(None),
                }
            }
        })
        .buffered(BUCKET_CALLS_AT_ONCE)
        .try_collect()
        .await
}

/// The names of all buckets the account has.
pub async fn bucket_names(aws: &Aws) -> Result<BTreeSet<String>, ProviderError> {
    let mut names = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws.s3.list_buckets().set_continuation_token(token.clone()).send().await.map_err(|e| s3_error(aws, e))?;
        names.extend(out.buckets().iter().filter_map(|b| b.name()).map(str::to_string));
        match out.continuation_token() {
            Some(next) if Some(next) != token.as_deref() => token = Some(next.to_string()),
            _ => return Ok(names),
        }
    }
}

pub struct Bucket;

/// The name a bucket gets when the configuration gives none: derived from the
/// create's token, so a retried create finds the bucket it made.
fn generated_name(token: &str) -> String {
    format!("terrane-{}", token.replace('-', "").to_ascii_lowercase())
}

#[async_trait]
impl ResourceKind for Bucket {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("bucket", A::optional_computed(Type::String).force_new())
                .attr("force_destroy", A::optional(Type::Bool))
                .attr("arn", A::computed(Type::String))
                .attr("region", A::computed(Type::String))
                .attr("bucket_domain_name", A::computed(Type::String))
                .attr("bucket_regional_domain_name", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        string(config, "bucket").and_then(|name| check_bucket_name(&name)).map(|m| vec![attr_err("bucket", m)]).unwrap_or_default()
    }

    fn defaults(&self) -> Vec<(&'static str, Value)> {
        vec![("force_destroy", Value::Bool(false))]
    }

    async fn create(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Value, ProviderError> {
        let name = string(planned, "bucket").unwrap_or_else(|| generated_name(token));
        let mut call = aws.s3.create_bucket().bucket(&name);
        // us-east-1 is the one region that takes no location constraint.
        if aws.region != "us-east-1" {
            call = call.create_bucket_configuration(
                CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(aws.region.as_str())).build(),
            );
        }
        match call.send().await.map_err(|e| s3_error(aws, e)) {
            Ok(_) => {}
            // Our own earlier, interrupted create of this very bucket.
            Err(ProviderError::Api { code, .. }) if code == "BucketAlreadyOwnedByYou" => {}
            Err(e) => return Err(e),
        }
        let stub = Obj::from(planned).s("id", Some(&name)).s("bucket", Some(&name)).build();
        put_tags(aws, &name, &aws.tags_all(&string_map(planned, "tags"))).await?;
        retry_new(|| async { read_bucket(aws, &stub).await?.ok_or_else(|| not_found(&name)) }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let bucket_of = |o: &Value| string(o, "id").unwrap_or_default();
        read_where_bucket_exists(aws, objects, bucket_of, |i, _| read_bucket(aws, &objects[i])).await
    }

    async fn update(&self, aws: &Aws, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        let name = string(prior, "id").unwrap_or_default();
        let (before, after) = (string_map(prior, "tags_all"), aws.tags_all(&string_map(planned, "tags")));
        if before != after {
            put_tags(aws, &name, &after).await?;
        }
        let stub = Obj::from(planned).s("id", Some(&name)).build();
        read_bucket(aws, &stub).await?.ok_or_else(|| not_found(&name))
    }

    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let name = string(prior, "id").unwrap_or_default();
        if boolean(prior, "force_destroy") == Some(true) {
            empty_bucket(aws, &name).await?;
        }
        match aws.s3.delete_bucket().bucket(&name).send().await.map_err(|e| s3_error(aws, e)) {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(ProviderError::Api { code, message, .. }) if code == "BucketNotEmpty" => Err(ProviderError::Api {
                service: "s3".into(),
                code,
                message: format!("{message}: set force_destroy = true to delete a bucket with objects in it"),
            }),
            Err(e) => Err(e),
        }
    }

    async fn find_by_token(&self, aws: &Aws, planned: &Value, token: &str) -> Result<Option<Value>, ProviderError> {
        let name = string(planned, "bucket").unwrap_or_else(|| generated_name(token));
        if !bucket_names(aws).await?.contains(&name) {
            return Ok(None);
        }
        read_bucket(aws, &Obj::from(planned).s("id", Some(&name)).build()).await
    }
}

pub fn not_found(bucket: &str) -> ProviderError {
    ProviderError::Api { service: "s3".into(), code: "NoSuchBucket".into(), message: format!("bucket {bucket} does not exist") }
}

async fn read_bucket(aws: &Aws, prior: &Value) -> Result<Option<Value>, ProviderError> {
    let name = string(prior, "id").unwrap_or_default();
    let tags = match aws.s3.get_bucket_tagging().bucket(&name).send().await {
        Ok(out) => out.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
        Err(e) => match s3_error(aws, e) {
            ProviderError::Api { code, .. } if code == "NoSuchTagSet" => BTreeMap::new(),
            e if is_not_found(&e) => return Ok(None),
            e => return Err(e),
        },
    };
    let obj = Obj::new()
        .s("id", Some(&name))
        .s("bucket", Some(&name))
        .s("arn", Some(&format!("arn:aws:s3:::{name}")))
        .s("region", Some(&aws.region))
        .s("bucket_domain_name", Some(&format!("{name}.s3.amazonaws.com")))
        .s("bucket_regional_domain_name", Some(&format!("{name}.s3.{}.amazonaws.com", aws.region)))
        .b("force_destroy", Some(boolean(prior, "force_destroy").unwrap_or(false)));
    Ok(Some(with_tags(obj, aws, &tags, prior).build()))
}

async fn put_tags(aws: &Aws, bucket: &str, tags: &BTreeMap<String, String>) -> Result<(), ProviderError> {
    if tags.is_empty() {
        return aws.s3.delete_bucket_tagging().bucket(bucket).send().await.map(|_| ()).map_err(|e| s3_error(aws, e));
    }
    let tag_set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| ProviderError::Invalid(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let tagging = Tagging::builder().set_tag_set(Some(tag_set)).build().map_err(|e| ProviderError::Invalid(e.to_string()))?;
    retry_new(|| async { aws.s3.put_bucket_tagging().bucket(bucket).tagging(tagging.clone()).send().await.map(|_| ()).map_err(|e| s3_error(aws, e)) }).await
}

/// Deletes every object version and delete marker, a page at a time. Versions go
/// in batches; delete markers one call each, which every S3-compatible server
/// handles (moto fails on markers in a batch).
async fn empty_bucket(aws: &Aws, bucket: &str) -> Result<(), ProviderError> {
    loop {
        let out = aws.s3.list_object_versions().bucket(bucket).send().await.map_err(|e| s3_error(aws, e))?;
        let versions = out
            .versions()
            .iter()
            .map(|v| ObjectIdentifier::builder().set_key(v.key().map(str::to_string)).set_version_id(v.version_id().map(str::to_string)).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        if versions.is_empty() && out.delete_markers().is_empty() {
            return Ok(());
        }
        for marker in out.delete_markers() {
            aws.s3
                .delete_object()
                .bucket(bucket)
                .set_key(marker.key().map(str::to_string))
                .set_version_id(marker.version_id().map(str::to_string))
                .send()
                .await
                .map_err(|e| s3_error(aws, e))?;
        }
        if !versions.is_empty() {
            let delete = aws_sdk_s3::types::Delete::builder().set_objects(Some(versions)).quiet(true).build().map_err(|e| ProviderError::Invalid(e.to_string()))?;
            aws.s3.delete_objects().bucket(bucket).delete(delete).send().await.map_err(|e| s3_error(aws, e))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_bucket_name;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for good in ["abc", "my-bucket.logs", "a1-b2", &"a".repeat(63)] {
            assert_eq!(check_bucket_name(good), None, "{good}");
        }
        for (bad, why) in [
            ("ab", "between 3 and 63"),
            (&"a".repeat(64), "between 3 and 63"),
            ("My_Bucket", "only lowercase"),
            ("-bucket", "begin and end"),
            ("bucket-", "begin and end"),
            ("a..b", "two adjacent dots"),
            ("192.168.1.1", "IP address"),
            ("xn--bucket", "reserved prefixes"),
            ("bucket-s3alias", "reserved suffixes"),
        ] {
            let message = check_bucket_name(bad).unwrap_or_default();
            assert!(message.contains(why), "{bad}: {message:?}");
        }
    }
}
