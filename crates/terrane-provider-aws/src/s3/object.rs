//! `aws_s3_object`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use futures_util::{StreamExt as _, TryStreamExt as _};
use terrane_core::{Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, PlanRequest, ProviderError, Schema};

use super::{s3_error, BUCKET_CALLS_AT_ONCE};
use crate::attrs::{attr_err, string, string_map, Obj};
use crate::client::{is_not_found, retry_new, Aws};
use crate::ec2::vpc::tags_schema;
use crate::ec2::with_tags;
use crate::kind::ResourceKind;

pub struct Object;

/// The bytes the configuration asks for: `content`, `content_base64` or the file `source`.
fn body(planned: &Value) -> Result<Vec<u8>, ProviderError> {
    if let Some(text) = string(planned, "content") {
        return Ok(text.into_bytes());
    }
    if let Some(b64) = string(planned, "content_base64") {
        return base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| ProviderError::Invalid(format!("content_base64 is not base64: {e}")));
    }
    if let Some(path) = string(planned, "source") {
        return std::fs::read(&path).map_err(|e| ProviderError::Io(format!("cannot read source {path}: {e}")));
    }
    Ok(Vec::new())
}

fn tagging(tags: &BTreeMap<String, String>) -> Option<String> {
    (!tags.is_empty()).then(|| url_form(tags.iter()))
}

/// `k=v&k2=v2`, percent-encoded as S3's x-amz-tagging header wants.
fn url_form<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

#[async_trait]
impl ResourceKind for Object {
    fn supported(&self) -> Schema {
        tags_schema(
            Schema::new()
                .attr("bucket", A::required(Type::String).force_new())
                .attr("key", A::required(Type::String).force_new())
                .attr("content", A::optional(Type::String))
                .attr("content_base64", A::optional(Type::String))
                .attr("source", A::optional(Type::String))
                .attr("content_type", A::optional_computed(Type::String))
                // Given (`filemd5(...)`), a new value uploads the object again.
                .attr("etag", A::optional_computed(Type::String))
                .attr("version_id", A::computed(Type::String)),
        )
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let given = ["content", "content_base64", "source"].iter().filter(|n| config.get(n).is_some_and(|v| !v.is_null())).count();
        if given > 1 {
            return vec![attr_err("content", "set at most one of content, content_base64 and source")];
        }
        Vec::new()
    }

    /// New bytes make a new ETag and version.
    fn refine_plan(&self, req: &PlanRequest<'_>, planned: &mut terrane_core::ValueMap<Value>) {
        let Some(prior) = req.prior else { return };
        let changed = ["content", "content_base64", "source", "content_type"].iter().any(|n| prior.get(n) != planned.get(*n));
        let etag_given = req.config.get("etag").is_some_and(|e| !e.is_null());
        if changed || (etag_given && prior.get("etag") != planned.get("etag")) {
            if !etag_given {
                planned.insert("etag".into(), Value::Unknown);
            }
            planned.insert("version_id".into(), Value::Unknown);
        }
    }

    async fn create(&self, aws: &Aws, planned: &Value, _token: &str) -> Result<Value, ProviderError> {
        put(aws, planned).await?;
        let stub = Obj::from(planned).set("id", planned.get("key").cloned().unwrap_or(Value::Null)).build();
        retry_new(|| async { read_object(aws, &stub).await?.ok_or_else(|| missing(&stub)) }).await
    }

    async fn read(&self, aws: &Aws, objects: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        futures_util::stream::iter(0..objects.len()).map(|i| read_object(aws, &objects[i])).buffered(BUCKET_CALLS_AT_ONCE).try_collect().await
    }

    async fn update(&self, aws: &Aws, _prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        put(aws, planned).await?;
        let stub = Obj::from(planned).set("id", planned.get("key").cloned().unwrap_or(Value::Null)).build();
        read_object(aws, &stub).await?.ok_or_else(|| missing(&stub))
    }

    /// Deletes every version of the key, as Terraform does: in a versioned
    /// bucket a plain delete only hides the object, and the bucket could not
    /// be deleted after it.
    async fn delete(&self, aws: &Aws, prior: &Value) -> Result<(), ProviderError> {
        let (bucket, key) = (string(prior, "bucket").unwrap_or_default(), string(prior, "key").unwrap_or_default());
        let mut versions = Vec::new();
        let mut after: (Option<String>, Option<String>) = (None, None);
        loop {
            let call = aws.s3.list_object_versions().bucket(&bucket).prefix(&key).set_key_marker(after.0).set_version_id_marker(after.1);
            let page = match call.send().await.map_err(|e| s3_error(aws, e)) {
                Err(e) if is_not_found(&e) => return Ok(()),
                other => other?,
            };
            let listed = page.versions().iter().map(|v| (v.key(), v.version_id()));
            let markers = page.delete_markers().iter().map(|m| (m.key(), m.version_id()));
            versions.extend(listed.chain(markers).filter(|(k, _)| *k == Some(key.as_str())).filter_map(|(_, v)| v.map(str::to_string)));
            if page.is_truncated() != Some(true) {
                break;
            }
            after = (page.next_key_marker().map(str::to_string), page.next_version_id_marker().map(str::to_string));
        }
        if versions.is_empty() {
            versions.push(String::new());
        }
        for version in versions {
            let call = aws.s3.delete_object().bucket(&bucket).key(&key).set_version_id(Some(version).filter(|v| !v.is_empty()));
            match call.send().await.map_err(|e| s3_error(aws, e)) {
                Err(e) if !is_not_found(&e) => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn import_stub(&self, id: &str) -> Result<Value, ProviderError> {
        let (bucket, key) = id
            .split_once('/')
            .ok_or_else(|| ProviderError::Invalid(format!("import id {id:?} must be BUCKET/KEY")))?;
        Ok(Obj::new().s("id", Some(key)).s("bucket", Some(bucket)).s("key", Some(key)).build())
    }
}

fn missing(object: &Value) -> ProviderError {
    ProviderError::Api {
        service: "s3".into(),
        code: "NoSuchKey".into(),
        message: format!("object {} does not exist in {}", string(object, "key").unwrap_or_default(), string(object, "bucket").unwrap_or_default()),
    }
}

async fn put(aws: &Aws, planned: &Value) -> Result<(), ProviderError> {
    let bytes = body(planned)?;
    let tags = aws.tags_all(&string_map(planned, "tags"));
    aws.s3
        .put_object()
        .set_bucket(string(planned, "bucket"))
        .set_key(string(planned, "key"))
        .body(ByteStream::from(bytes))
        .set_content_type(string(planned, "content_type"))
        .set_tagging(tagging(&tags))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| s3_error(aws, e))
}

async fn read_object(aws: &Aws, prior: &Value) -> Result<Option<Value>, ProviderError> {
    let (bucket, key) = (string(prior, "bucket").unwrap_or_default(), string(prior, "key").unwrap_or_default());
    let head = match aws.s3.head_object().bucket(&bucket).key(&key).send().await {
        Ok(head) => head,
        Err(e) => {
            let e = s3_error(aws, e);
            return if is_not_found(&e) { Ok(None) } else { Err(e) };
        }
    };
    let etag = head.e_tag().map(|t| t.trim_matches('"').to_string());
    let mut obj = Obj::new()
        .s("id", Some(&key))
        .s("bucket", Some(&bucket))
        .s("key", Some(&key))
        .s("content_type", head.content_type())
        .s("etag", etag.as_deref())
        .s("version_id", Some(head.version_id().unwrap_or_default()));
    let unchanged = etag.is_some() && string(prior, "etag") == etag;
    for name in ["content", "content_base64", "source"] {
        obj = obj.set(name, prior.get(name).cloned().unwrap_or(Value::Null));
    }
    let imported = prior.get("etag").is_none();
    if !unchanged && (imported || string(prior, "etag").is_some()) {
        // Changed out of band, or being imported: show what the object now holds.
        let out = aws.s3.get_object().bucket(&bucket).key(&key).send().await.map_err(|e| s3_error(aws, e))?;
        let bytes = out.body.collect().await.map_err(|e| ProviderError::Io(format!("reading s3://{bucket}/{key}: {e}")))?.into_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        obj = obj.set("content", Value::string(text)).set("content_base64", Value::Null).set("source", Value::Null);
    }
    let tags = aws.s3.get_object_tagging().bucket(&bucket).key(&key).send().await.map_err(|e| s3_error(aws, e))?;
    let tags: BTreeMap<String, String> = tags.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
    Ok(Some(with_tags(obj, aws, &tags, prior).build()))
}
