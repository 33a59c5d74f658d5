//! EC2 resource types, and what they share: tags, filters, batched describes.

pub mod acl;
pub mod defaults;
pub mod endpoint;
pub mod gateway;
pub mod instance;
pub mod interface;
pub mod launch_template;
pub mod lookup;
pub mod route;
pub mod security_group;
pub mod subnet;
pub mod volume;
pub mod vpc;

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use futures_util::{StreamExt as _, TryStreamExt as _};
use terrane_core::Value;
use terrane_provider::ProviderError;

use crate::attrs::{map_value, string_map, Obj};
use crate::client::{Aws, TOKEN_TAG};

/// Filter values one describe call carries. AWS takes up to 200, but a call's
/// cost on the server grows faster than its number of values (measured against
/// moto: 200 ids cost ten times what 50 do), so reads of many objects are split
/// into calls of this many, made several at a time.
pub const IDS_PER_CALL: usize = 50;

/// Describe calls of one read in flight at once.
pub const CALLS_AT_ONCE: usize = 4;

pub fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().collect())).build()
}

/// One filter set per IDS_PER_CALL of `values`, each matching `name` against them.
pub fn by_values(name: &str, values: &[String]) -> Vec<Vec<Filter>> {
    values.chunks(IDS_PER_CALL).map(|chunk| vec![filter(name, chunk.to_vec())]).collect()
}

/// Makes `call` once per filter set, CALLS_AT_ONCE at a time, and gathers what
/// the calls answer.
pub async fn each_set<T, F, Fut>(filter_sets: Vec<Vec<Filter>>, call: F) -> Result<Vec<T>, ProviderError>
where
    F: FnMut(Vec<Filter>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let answers: Vec<Vec<T>> = futures_util::stream::iter(filter_sets).map(call).buffered(CALLS_AT_ONCE).try_collect().await?;
    Ok(answers.into_iter().flatten().collect())
}

/// Describes objects through a call that takes their ids, for types whose
/// describe has no id filter on every endpoint: IDS_PER_CALL ids a call,
/// CALLS_AT_ONCE calls at a time. AWS refuses a whole call that names one
/// id it no longer has, so such a call is made again one id at a time, and
/// the ids that are gone are left out.
pub async fn each_id_chunk<T, F, Fut>(ids: &[String], call: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let call = &call;
    let chunks = ids.chunks(IDS_PER_CALL).map(<[String]>::to_vec).map(|chunk: Vec<String>| async move {
        match call(chunk.clone()).await {
            Err(e) if crate::client::is_not_found(&e) => {
                let mut found = Vec::new();
                for id in chunk.iter().filter(|_| chunk.len() > 1) {
                    match call(vec![id.clone()]).await {
                        Err(e) if crate::client::is_not_found(&e) => {}
                        other => found.extend(other?),
                    }
                }
                Ok(found)
            }
            other => other,
        }
    });
    let answers: Vec<Vec<T>> = futures_util::stream::iter(chunks).buffered(CALLS_AT_ONCE).try_collect().await?;
    Ok(answers.into_iter().flatten().collect())
}

/// The tags a create sends: default and resource tags, plus the idempotency
/// token. `None` when there are none: AWS refuses an empty tag specification.
pub fn tag_spec(aws: &Aws, kind: ResourceType, planned: &Value, token: Option<&str>) -> Option<Vec<TagSpecification>> {
    let mut tags = aws.tags_all(&string_map(planned, "tags"));
    if let Some(token) = token {
        tags.insert(TOKEN_TAG.to_string(), token.to_string());
    }
    if tags.is_empty() {
        return None;
    }
    let spec = TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .build();
    Some(vec![spec])
}

pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .filter(|(k, _)| k != TOKEN_TAG)
        .collect()
}

/// `with_tags` for EC2's tags. An object read with the create token still on
/// it is noted, so the apply's end takes the token off.
pub fn with_ec2_tags(obj: Obj, aws: &Aws, remote: &[Tag], prior: &Value) -> Obj {
    if remote.iter().any(|t| t.key() == Some(TOKEN_TAG)) {
        if let Some(id) = obj.get("id").and_then(Value::as_str) {
            aws.note_token(id);
        }
    }
    with_tags(obj, aws, &tag_map(remote), prior)
}

/// Sets `tags` and `tags_all` from what AWS holds, but for the tags
/// `ignore_tags` leaves to others: `tags_all` is everything, `tags` leaves
/// out default tags the resource does not set itself.
pub fn with_tags(obj: Obj, aws: &Aws, remote: &BTreeMap<String, String>, prior: &Value) -> Obj {
    let remote: BTreeMap<String, String> = remote.iter().filter(|(k, _)| !aws.ignores_tag(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let remote = &remote;
    let own = string_map(prior, "tags");
    let tags: BTreeMap<String, String> = remote
        .iter()
        .filter(|(k, v)| own.contains_key(*k) || aws.default_tags.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let prior_tags_null = prior.get("tags").is_none_or(Value::is_null);
    let tags_value = if tags.is_empty() && prior_tags_null { Value::Null } else { map_value(&tags) };
    obj.set("tags", tags_value).set("tags_all", map_value(remote))
}

/// Brings an object's tags from `prior`'s `tags_all` to what `planned` wants.
pub async fn update_tags(aws: &Aws, id: &str, prior: &Value, planned: &Value) -> Result<(), ProviderError> {
    let before = string_map(prior, "tags_all");
    let after = aws.tags_all(&string_map(planned, "tags"));
    let removed: Vec<Tag> =
        before.keys().filter(|k| !after.contains_key(*k)).map(|k| Tag::builder().key(k).build()).collect();
    let changed: Vec<Tag> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    if !removed.is_empty() {
        aws.ec2.delete_tags().resources(id).set_tags(Some(removed)).send().await.map_err(|e| aws.error("ec2", e))?;
    }
    if !changed.is_empty() {
        aws.ec2.create_tags().resources(id).set_tags(Some(changed)).send().await.map_err(|e| aws.error("ec2", e))?;
    }
    Ok(())
}

/// EC2 takes this many resources in one DeleteTags call.
const UNTAG_AT_ONCE: usize = 500;

/// Takes the create token's tag off objects.
pub async fn untag_token(aws: &Aws, ids: &[String]) -> Result<(), ProviderError> {
    for batch in ids.chunks(UNTAG_AT_ONCE) {
        let tag = Tag::builder().key(TOKEN_TAG).build();
        aws.ec2.delete_tags().set_resources(Some(batch.to_vec())).tags(tag).send().await.map_err(|e| aws.error("ec2", e))?;
    }
    Ok(())
}

/// The `id` of each prior object, in order.
pub fn ids(objects: &[Value]) -> Vec<String> {
    objects.iter().filter_map(|o| o.get("id").and_then(Value::as_str)).map(str::to_string).collect()
}

/// Answers in the order of `objects`: the read object, or `None` when AWS has no
/// object with that id.
pub fn in_order(objects: &[Value], mut found: terrane_core::ValueMap<Value>) -> Vec<Option<Value>> {
    objects
        .iter()
        .map(|o| o.get("id").and_then(Value::as_str).and_then(|id| found.remove(id)))
        .collect()
}

/// The prior object a read object answers: the one with its id, or the only one
/// there is (a lookup by token or an import, where the prior has no id yet).
pub fn prior_for<'a>(objects: &'a [Value], id: &str) -> &'a Value {
    static NONE: Value = Value::Null;
    objects
        .iter()
        .find(|o| o.get("id").and_then(Value::as_str) == Some(id))
        .or(if objects.len() == 1 { objects.first() } else { None })
        .unwrap_or(&NONE)
}
