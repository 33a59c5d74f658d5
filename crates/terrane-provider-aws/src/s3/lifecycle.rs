//! `aws_s3_bucket_lifecycle_configuration`: the bucket's whole list of lifecycle
//! rules, put and read as one document.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleAndOperator, LifecycleRuleFilter, NoncurrentVersionExpiration, NoncurrentVersionTransition, Tag,
    Transition, TransitionStorageClass,
};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use terrane_core::{PathStep, Type, Value};
use terrane_provider::{AttrError, AttributeSchema as A, Nesting, ProviderError, Schema};

use super::config::{absent, block, invalid, BucketSetting};
use super::s3_error;
use crate::attrs::{blocks, int, number, string, string_map, Obj};
use crate::client::Aws;

pub struct Lifecycle;

fn opt_number() -> A {
    A::optional_computed(Type::Number)
}

fn storage_class_schema(schema: Schema) -> Schema {
    schema.attr("storage_class", A::required(Type::String))
}

fn rule_schema() -> Schema {
    let tag = Schema::new().attr("key", A::required(Type::String)).attr("value", A::required(Type::String));
    let and = Schema::new()
        .attr("prefix", A::optional_computed(Type::String))
        .attr("tags", A::optional(Type::map(Type::String)))
        .attr("object_size_greater_than", opt_number())
        .attr("object_size_less_than", opt_number());
    let filter = Schema::new()
        .attr("prefix", A::optional_computed(Type::String))
        .attr("object_size_greater_than", opt_number())
        .attr("object_size_less_than", opt_number())
        .block("tag", block(Nesting::List, 0, None, tag))
        .block("and", block(Nesting::List, 0, None, and));
    let expiration = Schema::new()
        .attr("date", A::optional(Type::String))
        .attr("days", opt_number())
        .attr("expired_object_delete_marker", A::optional_computed(Type::Bool));
    let noncurrent_days = || A::required(Type::Number);
    let noncurrent_expiration = Schema::new().attr("noncurrent_days", noncurrent_days()).attr("newer_noncurrent_versions", opt_number());
    let noncurrent_transition =
        storage_class_schema(Schema::new().attr("noncurrent_days", noncurrent_days()).attr("newer_noncurrent_versions", opt_number()));
    let transition = storage_class_schema(Schema::new().attr("date", A::optional(Type::String)).attr("days", opt_number()));
    Schema::new()
        .attr("id", A::required(Type::String))
        .attr("status", A::required(Type::String))
        .attr("prefix", A::optional_computed(Type::String).deprecated())
        .block("filter", block(Nesting::List, 0, None, filter))
        .block("expiration", block(Nesting::List, 0, None, expiration))
        .block("noncurrent_version_expiration", block(Nesting::List, 0, None, noncurrent_expiration))
        .block("noncurrent_version_transition", block(Nesting::Set, 0, None, noncurrent_transition))
        .block("transition", block(Nesting::Set, 0, None, transition))
        .block("abort_incomplete_multipart_upload", block(Nesting::List, 0, None, Schema::new().attr("days_after_initiation", A::optional(Type::Number))))
}

/// A lifecycle date: RFC 3339, and midnight UTC as S3 requires.
fn parse_date(text: &str) -> Result<DateTime, String> {
    let date = DateTime::from_str(text, Format::DateTime).map_err(|_| format!("date {text:?} is not an RFC 3339 time such as \"2030-01-01T00:00:00Z\""))?;
    if date.secs() % 86_400 != 0 || date.subsec_nanos() != 0 {
        return Err(format!("date {text:?} must be midnight UTC (S3 runs lifecycle rules once a day)"));
    }
    Ok(date)
}

fn format_date(date: &DateTime) -> Option<String> {
    date.fmt(Format::DateTime).ok()
}

fn single<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    blocks(v, name).into_iter().next()
}

fn size(v: &Value, name: &str) -> Option<i64> {
    number(v, name).map(|n| n as i64)
}

fn tag(key: &str, value: &str) -> Result<Tag, ProviderError> {
    Tag::builder().key(key).value(value).build().map_err(invalid)
}

fn to_filter(rule: &Value) -> Result<Option<LifecycleRuleFilter>, ProviderError> {
    let Some(filter) = single(rule, "filter") else {
        // S3 needs a filter or a prefix; a rule with neither covers every object.
        return Ok(string(rule, "prefix").is_none().then(|| LifecycleRuleFilter::builder().prefix("").build()));
    };
    let mut out = LifecycleRuleFilter::builder()
        .set_prefix(string(filter, "prefix"))
        .set_object_size_greater_than(size(filter, "object_size_greater_than"))
        .set_object_size_less_than(size(filter, "object_size_less_than"));
    if let Some(t) = single(filter, "tag") {
        out = out.tag(tag(&string(t, "key").unwrap_or_default(), &string(t, "value").unwrap_or_default())?);
    }
    if let Some(and) = single(filter, "and") {
        let tags = string_map(and, "tags").iter().map(|(k, v)| tag(k, v)).collect::<Result<Vec<_>, _>>()?;
        out = out.and(
            LifecycleRuleAndOperator::builder()
                .set_prefix(string(and, "prefix"))
                .set_tags((!tags.is_empty()).then_some(tags))
                .set_object_size_greater_than(size(and, "object_size_greater_than"))
                .set_object_size_less_than(size(and, "object_size_less_than"))
                .build(),
        );
    }
    Ok(Some(out.build()))
}

fn to_rule(rule: &Value) -> Result<LifecycleRule, ProviderError> {
    let date = |v: &Value| string(v, "date").map(|d| parse_date(&d).map_err(ProviderError::Invalid)).transpose();
    let storage_class = |v: &Value| string(v, "storage_class").map(|s| TransitionStorageClass::from(s.as_str()));
    let mut out = LifecycleRule::builder()
        .id(string(rule, "id").unwrap_or_default())
        .status(ExpirationStatus::from(string(rule, "status").unwrap_or_default().as_str()))
        .set_filter(to_filter(rule)?);
    #[allow(deprecated)]
    {
        out = out.set_prefix(string(rule, "prefix"));
    }
    if let Some(e) = single(rule, "expiration") {
        out = out.expiration(
            LifecycleExpiration::builder()
                .set_date(date(e)?)
                .set_days(int(e, "days"))
                .set_expired_object_delete_marker(crate::attrs::boolean(e, "expired_object_delete_marker"))
                .build(),
        );
    }
    if let Some(e) = single(rule, "noncurrent_version_expiration") {
        out = out.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .set_noncurrent_days(int(e, "noncurrent_days"))
                .set_newer_noncurrent_versions(int(e, "newer_noncurrent_versions"))
                .build(),
        );
    }
    for t in blocks(rule, "transition") {
        out = out.transitions(Transition::builder().set_date(date(t)?).set_days(int(t, "days")).set_storage_class(storage_class(t)).build());
    }
    for t in blocks(rule, "noncurrent_version_transition") {
        out = out.noncurrent_version_transitions(
            NoncurrentVersionTransition::builder()
                .set_noncurrent_days(int(t, "noncurrent_days"))
                .set_newer_noncurrent_versions(int(t, "newer_noncurrent_versions"))
                .set_storage_class(storage_class(t))
                .build(),
        );
    }
    if let Some(a) = single(rule, "abort_incomplete_multipart_upload") {
        out = out.abort_incomplete_multipart_upload(AbortIncompleteMultipartUpload::builder().set_days_after_initiation(int(a, "days_after_initiation")).build());
    }
    out.build().map_err(invalid)
}

fn int_value(n: Option<i32>) -> Value {
    n.map_or(Value::Null, Value::number)
}

fn size_value(n: Option<i64>) -> Value {
    n.map_or(Value::Null, Value::number)
}

fn from_filter(filter: Option<&LifecycleRuleFilter>, prior_filter: Option<&Value>) -> Value {
    let Some(f) = filter else { return Value::Null };
    // An empty prefix is how S3 says "every object": it stands for no filter
    // (or no prefix) unless the configuration spelled it out.
    let prior_prefix = prior_filter.and_then(|p| string(p, "prefix"));
    let prefix = f.prefix().filter(|p| !p.is_empty() || prior_prefix.as_deref() == Some(""));
    let tag = f.tag().map_or(Value::Null, |t| Obj::new().s("key", Some(t.key())).s("value", Some(t.value())).build());
    let and = f.and().map_or(Value::Null, |a| {
        let tags: std::collections::BTreeMap<String, String> = a.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
        Obj::new()
            .s("prefix", a.prefix())
            .set("tags", if tags.is_empty() { Value::Null } else { crate::attrs::map_value(&tags) })
            .set("object_size_greater_than", size_value(a.object_size_greater_than()))
            .set("object_size_less_than", size_value(a.object_size_less_than()))
            .build()
    });
    let nothing = prefix.is_none() && tag.is_null() && and.is_null() && f.object_size_greater_than().is_none() && f.object_size_less_than().is_none();
    if nothing && prior_filter.is_none() {
        return Value::Null;
    }
    Obj::new()
        .s("prefix", prefix)
        .set("object_size_greater_than", size_value(f.object_size_greater_than()))
        .set("object_size_less_than", size_value(f.object_size_less_than()))
        .set("tag", tag)
        .set("and", and)
        .build()
}

fn from_rule(rule: &LifecycleRule, prior: Option<&Value>) -> Value {
    let date = |d: Option<&DateTime>| d.and_then(format_date);
    let expiration = rule.expiration().map_or(Value::Null, |e| {
        Obj::new()
            .s("date", date(e.date()).as_deref())
            .set("days", int_value(e.days()))
            .b("expired_object_delete_marker", e.expired_object_delete_marker())
            .build()
    });
    let noncurrent_expiration = rule.noncurrent_version_expiration().map_or(Value::Null, |e| {
        Obj::new()
            .set("noncurrent_days", int_value(e.noncurrent_days()))
            .set("newer_noncurrent_versions", int_value(e.newer_noncurrent_versions()))
            .build()
    });
    let transitions = rule
        .transitions()
        .iter()
        .map(|t| {
            Obj::new()
                .s("date", date(t.date()).as_deref())
                .set("days", int_value(t.days()))
                .s("storage_class", t.storage_class().map(|s| s.as_str()))
                .build()
        })
        .collect();
    let noncurrent_transitions = rule
        .noncurrent_version_transitions()
        .iter()
        .map(|t| {
            Obj::new()
                .set("noncurrent_days", int_value(t.noncurrent_days()))
                .set("newer_noncurrent_versions", int_value(t.newer_noncurrent_versions()))
                .s("storage_class", t.storage_class().map(|s| s.as_str()))
                .build()
        })
        .collect();
    let abort = rule
        .abort_incomplete_multipart_upload()
        .map_or(Value::Null, |a| Obj::new().set("days_after_initiation", int_value(a.days_after_initiation())).build());
    #[allow(deprecated)]
    let prefix = rule.prefix();
    Obj::new()
        .s("id", rule.id())
        .s("status", Some(rule.status().as_str()))
        .s("prefix", prefix)
        .set("filter", from_filter(rule.filter(), prior.and_then(|p| single(p, "filter"))))
        .set("expiration", expiration)
        .set("noncurrent_version_expiration", noncurrent_expiration)
        .set("transition", Value::set(transitions))
        .set("noncurrent_version_transition", Value::set(noncurrent_transitions))
        .set("abort_incomplete_multipart_upload", abort)
        .build()
}

#[async_trait]
impl BucketSetting for Lifecycle {
    fn body(&self) -> Schema {
        Schema::new().block("rule", block(Nesting::List, 0, None, rule_schema()))
    }

    fn validate(&self, config: &Value) -> Vec<AttrError> {
        let mut errors = Vec::new();
        // Terraform's schema takes any number of rule blocks; S3 needs one.
        if config.get("rule").is_some_and(|r| matches!(r, Value::List(rules) if rules.is_empty())) {
            errors.push(AttrError { path: vec![PathStep::Attr("rule".into())], message: "a lifecycle configuration needs at least one rule block".into() });
        }
        for (i, rule) in blocks(config, "rule").into_iter().enumerate() {
            let mut err = |within: &[&str], message: String| {
                let mut path = vec![PathStep::Attr("rule".into()), PathStep::Index(i)];
                path.extend(within.iter().map(|name| PathStep::Attr(name.to_string())));
                errors.push(AttrError { path, message });
            };
            let id = string(rule, "id").unwrap_or_default();
            if let Some(s) = string(rule, "status") {
                if !matches!(s.as_str(), "Enabled" | "Disabled") {
                    err(&["status"], format!("status must be Enabled or Disabled, got {s:?}"));
                }
            }
            if rule.get("id").is_some_and(|v| !v.is_unknown()) && !(1..=255).contains(&id.len()) {
                err(&["id"], format!("a rule id must be 1 to 255 characters, got {}", id.len()));
            }
            if string(rule, "prefix").is_some() && single(rule, "filter").is_some() {
                err(&["prefix"], format!("rule {id:?}: give prefix or filter, not both"));
            }
            for (block, dates) in [("expiration", single(rule, "expiration").into_iter().collect()), ("transition", blocks(rule, "transition"))] {
                for date in dates.iter().filter_map(|b| string(b, "date")) {
                    if let Err(m) = parse_date(&date) {
                        err(&[block, "date"], format!("rule {id:?}: {m}"));
                    }
                }
            }
            for block in ["transition", "noncurrent_version_transition"] {
                for class in blocks(rule, block).iter().filter_map(|t| string(t, "storage_class")) {
                    if !TransitionStorageClass::values().contains(&class.as_str()) {
                        let known = TransitionStorageClass::values().join(", ");
                        err(&[block, "storage_class"], format!("rule {id:?}: storage_class must be one of {known}, got {class:?}"));
                    }
                }
            }
        }
        errors
    }

    async fn put(&self, aws: &Aws, bucket: &str, planned: &Value) -> Result<(), ProviderError> {
        let rules = blocks(planned, "rule").into_iter().map(to_rule).collect::<Result<Vec<_>, _>>()?;
        let config = BucketLifecycleConfiguration::builder().set_rules(Some(rules)).build().map_err(invalid)?;
        aws.s3
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(config)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| s3_error(aws, e))
    }

    async fn get(&self, aws: &Aws, bucket: &str, prior: &Value) -> Result<Option<Obj>, ProviderError> {
        let out = match aws.s3.get_bucket_lifecycle_configuration().bucket(bucket).send().await {
            Ok(out) => out,
            Err(e) => return absent(s3_error(aws, e), &["NoSuchLifecycleConfiguration"]),
        };
        let prior_rules = blocks(prior, "rule");
        let rules = out
            .rules()
            .iter()
            .map(|r| {
                let prior = prior_rules.iter().copied().find(|p| string(p, "id").as_deref() == r.id());
                from_rule(r, prior)
            })
            .collect();
        Ok(Some(Obj::new().set("rule", Value::List(rules))))
    }

    async fn remove(&self, aws: &Aws, bucket: &str, _prior: &Value) -> Result<(), ProviderError> {
        aws.s3.delete_bucket_lifecycle().bucket(bucket).send().await.map(|_| ()).map_err(|e| s3_error(aws, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_dates_must_be_rfc3339_midnights() {
        assert!(parse_date("2030-01-01T00:00:00Z").is_ok());
        assert!(parse_date("2030-01-01").unwrap_err().contains("not an RFC 3339 time"));
        assert!(parse_date("2030-01-01T12:00:00Z").unwrap_err().contains("midnight UTC"));
    }

    #[test]
    fn a_rule_reads_back_as_it_was_written() {
        let config = Value::map([
            ("id", Value::string("logs")),
            ("status", Value::string("Enabled")),
            ("prefix", Value::Null),
            ("filter", Value::Null),
            ("expiration", Value::map([("date", Value::Null), ("days", Value::number(30)), ("expired_object_delete_marker", Value::Null)])),
            ("noncurrent_version_expiration", Value::Null),
            (
                "transition",
                Value::set(vec![Value::map([("date", Value::Null), ("days", Value::number(7)), ("storage_class", Value::string("GLACIER"))])]),
            ),
            ("noncurrent_version_transition", Value::set(vec![])),
            ("abort_incomplete_multipart_upload", Value::map([("days_after_initiation", Value::number(2))])),
        ]);
        let rule = to_rule(&config).expect("a valid rule");
        assert_eq!(rule.filter().and_then(|f| f.prefix()), Some(""), "a rule with no filter covers every object");
        assert_eq!(from_rule(&rule, Some(&config)), config);
    }
}
