//! The configured provider: SDK clients, default tags, and how AWS errors become
//! provider errors.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use terrane_core::Value;
use terrane_provider::ProviderError;

use crate::attrs::{blocks, boolean, int, string, string_map, strings};

/// The tag that carries a create's idempotency token where the API has no ClientToken.
pub const TOKEN_TAG: &str = "terrane:token";

/// Codes AWS answers with when the credential itself is at fault: retrying cannot help.
const CREDENTIAL_CODES: &[&str] = &[
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidToken",
];

/// `ignore_tags`: tag keys, and key prefixes, that refresh never reads
/// and updates never touch.
#[derive(Default)]
struct IgnoredTags {
    keys: std::collections::BTreeSet<String>,
    prefixes: Vec<String>,
}

impl IgnoredTags {
    fn from_config(config: &Value) -> IgnoredTags {
        let block = blocks(config, "ignore_tags");
        IgnoredTags {
            keys: block.iter().flat_map(|b| crate::attrs::strings(b, "keys")).collect(),
            prefixes: block.iter().flat_map(|b| crate::attrs::strings(b, "key_prefixes")).collect(),
        }
    }
}

pub struct Aws {
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub iam: aws_sdk_iam::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub region: String,
    pub account_id: String,
    pub default_tags: BTreeMap<String, String>,
    /// Tags the provider's `ignore_tags` says someone else manages.
    ignored_tags: IgnoredTags,
    /// Where the credentials came from, for messages about rejected ones.
    pub credential_source: String,
    /// Ids of objects read with a create token still on them.
    tokened: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Aws {
    pub async fn connect(config: &Value) -> Result<Aws, ProviderError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = string(config, "region") {
            loader = loader.region(Region::new(region));
        }
        if let Some(profile) = string(config, "profile") {
            loader = loader.profile_name(profile);
        }
        if let Some(files) = shared_files(config)? {
            loader = loader.profile_files(files);
        }
        let access_key = string(config, "access_key");
        let secret_key = string(config, "secret_key");
        let credential_source = match (access_key, secret_key) {
            (Some(access), Some(secret)) => {
                let credentials = Credentials::new(access, secret, string(config, "token"), None, "provider-block");
                loader = loader.credentials_provider(credentials);
                "access_key and secret_key in the provider block".to_string()
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(ProviderError::Invalid("access_key and secret_key must be set together".into()));
            }
            (None, None) => describe_credential_chain(config),
        };
        let attempts = int(config, "max_retries").map_or(8, |n| n.max(0) as u32 + 1);
        let retry = match string(config, "retry_mode").as_deref() {
            None | Some("standard") => RetryConfig::standard(),
            // Adaptive retries also slow the client down when AWS throttles it.
            Some("adaptive") => RetryConfig::adaptive(),
            Some(other) => return Err(ProviderError::Invalid(format!("retry_mode must be \"standard\" or \"adaptive\", got {other:?}"))),
        };
        loader = loader
            .retry_config(
                retry
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(20)),
            )
            // Bounds each call with all its retries, so a throttled run ends.
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_timeout(Duration::from_secs(300))
                    .build(),
            );
        let sdk = loader.load().await;
        // An empty region (AWS_REGION= ) is how people unset it: treat it as none.
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ProviderError::Invalid("no AWS region: set region in the provider block, or AWS_REGION".into()))?;
        let endpoint = |service: &str| blocks(config, "endpoints").first().and_then(|b| string(b, service));
        let (sdk, credential_source) = match blocks(config, "assume_role").first() {
            Some(role) if string(role, "role_arn").is_some_and(|a| !a.is_empty()) => {
                let described = format!("role {} assumed with {credential_source}", string(role, "role_arn").unwrap_or_default());
                (with_assumed_role(sdk, role, endpoint("sts")).await?, described)
            }
            _ => (sdk, credential_source),
        };
        let mut ec2 = aws_sdk_ec2::config::Builder::from(&sdk);
        if let Some(url) = endpoint("ec2") {
            ec2 = ec2.endpoint_url(url);
        }
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk);
        if let Some(url) = endpoint("s3") {
            s3 = s3.endpoint_url(url);
        }
        let path_style_env = std::env::var("AWS_S3_USE_PATH_STYLE").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        if boolean(config, "s3_use_path_style").unwrap_or(path_style_env) {
            s3 = s3.force_path_style(true);
        }
        let mut sts = aws_sdk_sts::config::Builder::from(&sdk);
        if let Some(url) = endpoint("sts") {
            sts = sts.endpoint_url(url);
        }
        let mut iam = aws_sdk_iam::config::Builder::from(&sdk);
        if let Some(url) = endpoint("iam") {
            iam = iam.endpoint_url(url);
        }
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(url) = endpoint("dynamodb") {
            dynamodb = dynamodb.endpoint_url(url);
        }
        let default_tags =
            blocks(config, "default_tags").first().map(|b| string_map(b, "tags")).unwrap_or_default();
        let mut aws = Aws {
            ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            region,
            account_id: String::new(),
            default_tags,
            ignored_tags: IgnoredTags::from_config(config),
            credential_source,
            tokened: Default::default(),
        };
        let skip_validation = boolean(config, "skip_credentials_validation").unwrap_or(false);
        let skip_account = boolean(config, "skip_requesting_account_id").unwrap_or(false);
        if !skip_validation || !skip_account {
            let who = aws.sts.get_caller_identity().send().await.map_err(|e| aws.error("sts", e))?;
            aws.account_id = who.account().unwrap_or_default().to_string();
        }
        Ok(aws)
    }

    pub fn note_token(&self, id: &str) {
        self.tokened.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.to_string());
    }

    /// The ids noted by `note_token` since last asked.
    pub fn take_tokened(&self) -> Vec<String> {
        std::mem::take(&mut *self.tokened.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_iter().collect()
    }

    /// An AWS error as a provider error: rejected credentials say where they came from.
    pub fn error<E>(&self, service: &str, err: SdkError<E, HttpResponse>) -> ProviderError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let body = err.raw_response().and_then(|r| r.body().bytes()).map(String::from_utf8_lossy).unwrap_or_default();
        // Some endpoints wrap errors in a way the SDK does not parse for the
        // service; the code and message are still in the body.
        let code = err.code().map(str::to_string).or_else(|| xml_element(&body, "Code")).unwrap_or_default();
        let message = err.message().map(str::to_string).or_else(|| xml_element(&body, "Message")).unwrap_or_else(|| match err.raw_response() {
            Some(raw) => format!("HTTP {} with no AWS error in the answer", raw.status().as_u16()),
            None => DisplayErrorContext(&err).to_string(),
        });
        if CREDENTIAL_CODES.contains(&code.as_str()) || message.contains("no credentials") || message.contains("failed to load credentials") {
            return ProviderError::Credentials { source_name: self.credential_source.clone(), message: format!("{code}: {message}") };
        }
        ProviderError::Api { service: service.to_string(), code, message }
    }

    /// The tags to send: default tags, overridden by the resource's own.
    /// Whether `ignore_tags` leaves the tag `key` to someone else.
    pub fn ignores_tag(&self, key: &str) -> bool {
        self.ignored_tags.keys.contains(key) || self.ignored_tags.prefixes.iter().any(|p| key.starts_with(p.as_str()))
    }

    pub fn tags_all(&self, tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = self.default_tags.clone();
        all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }

    pub fn arn(&self, service: &str, resource: &str) -> String {
        self.owned_arn(service, None, resource)
    }

    /// The ARN of an object AWS names an owner for: the owner's account, which
    /// is right for an object shared from another account too, and known when
    /// the provider skips looking up its own (`skip_requesting_account_id`).
    pub fn owned_arn(&self, service: &str, owner: Option<&str>, resource: &str) -> String {
        let account = owner.filter(|o| !o.is_empty()).unwrap_or(&self.account_id);
        format!("arn:aws:{service}:{}:{account}:{resource}", self.region)
    }
}

/// The SDK configuration with credentials from `assume_role { role_arn }`:
/// the role is assumed with the credentials the rest of the provider block
/// (or the SDK's chain) gives, through `endpoints { sts }` when set.
async fn with_assumed_role(sdk: SdkConfig, role: &Value, sts_endpoint: Option<String>) -> Result<SdkConfig, ProviderError> {
    let Some(arn) = string(role, "role_arn").filter(|a| !a.is_empty()) else { return Ok(sdk) };
    let mut builder = AssumeRoleProvider::builder(arn);
    if let Some(name) = string(role, "session_name") {
        builder = builder.session_name(name);
    }
    if let Some(id) = string(role, "external_id") {
        builder = builder.external_id(id);
    }
    if let Some(policy) = string(role, "policy") {
        builder = builder.policy(policy);
    }
    let policy_arns = strings(role, "policy_arns");
    if !policy_arns.is_empty() {
        builder = builder.policy_arns(policy_arns);
    }
    if let Some(text) = string(role, "duration") {
        let length = go_duration(&text).ok_or_else(|| {
            ProviderError::Invalid(format!("assume_role duration {text:?} is not a duration (such as \"1h\" or \"15m\")"))
        })?;
        builder = builder.session_length(length);
    }
    let tags = string_map(role, "tags");
    if !tags.is_empty() {
        builder = builder.tags(tags);
    }
    let base = match sts_endpoint {
        Some(url) => sdk.to_builder().endpoint_url(url).build(),
        None => sdk.clone(),
    };
    let provider = builder.configure(&base).build().await;
    Ok(sdk.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build())
}

/// A duration as Go writes one (Terraform's `duration`): "1h", "90m", "1h30m", "3600s".
fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total += digits.parse::<u64>().ok()? * unit;
        digits.clear();
    }
    (digits.is_empty() && total > 0).then(|| Duration::from_secs(total))
}

/// The text of the first `<name>` element of an XML error answer.
fn xml_element(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + body[start..].find(&format!("</{name}>"))?;
    let text = body[start..end].trim();
    let text = text.strip_prefix("<![CDATA[").and_then(|t| t.strip_suffix("]]>")).unwrap_or(text);
    Some(text.to_string()).filter(|t| !t.is_empty())
}

/// The shared config and credentials files the provider block names, as
/// Terraform reads them: `~` is the home directory, and a kind of file not
/// named is read from its default place.
fn shared_files(config: &Value) -> Result<Option<EnvConfigFiles>, ProviderError> {
    let credentials = strings(config, "shared_credentials_files");
    let configs = strings(config, "shared_config_files");
    if credentials.is_empty() && configs.is_empty() {
        return Ok(None);
    }
    let mut files = EnvConfigFiles::builder()
        .include_default_credentials_file(credentials.is_empty())
        .include_default_config_file(configs.is_empty());
    for (kind, paths) in [(EnvConfigFileKind::Credentials, credentials), (EnvConfigFileKind::Config, configs)] {
        for path in paths {
            let path = expand_home(&path);
            if !path.is_file() {
                return Err(ProviderError::Invalid(format!("shared AWS file {} does not exist", path.display())));
            }
            files = files.with_file(kind.clone(), path);
        }
    }
    Ok(Some(files.build()))
}

fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

fn describe_credential_chain(config: &Value) -> String {
    let files = strings(config, "shared_credentials_files");
    if let (Some(profile), false) = (string(config, "profile"), files.is_empty()) {
        return format!("profile {profile:?} in {}", files.join(", "));
    }
    if let Some(profile) = string(config, "profile") {
        return format!("profile {profile:?} in the shared AWS config");
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        return "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment".into();
    }
    if let Some(profile) = std::env::var_os("AWS_PROFILE") {
        return format!("profile {:?} (AWS_PROFILE) in the shared AWS config", profile.to_string_lossy());
    }
    "the SDK's default credential chain".into()
}

/// True for the "does not exist" answers of EC2, S3, IAM and DynamoDB.
pub fn is_not_found(err: &ProviderError) -> bool {
    match err {
        ProviderError::Api { code, .. } => {
            code.ends_with(".NotFound") || code.ends_with("NotFound") || code == "NoSuchBucket" || code == "NoSuchKey"
                || code == "InvalidGroup.NotFound" || code == "404" || code == "NoSuchEntity" || code == "ResourceNotFoundException"
        }
        _ => false,
    }
}

/// Runs `call` until it stops answering "not found", for an object that was just
/// created and that AWS may not show everywhere yet. Only for new objects: an
/// existing one that is not found is gone.
pub async fn retry_new<T, F, Fut>(mut call: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut delay = Duration::from_millis(100);
    loop {
        match call().await {
            Err(e) if is_not_found(&e) && tokio::time::Instant::now() + delay < deadline => {
                let jitter = rand::random_range(0..=delay.as_millis() as u64 / 2);
                tokio::time::sleep(delay + Duration::from_millis(jitter)).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// Reads of types AWS answers one object at a time (IAM, DynamoDB) in flight at once.
const PER_OBJECT_READS_AT_ONCE: usize = 8;

/// Reads each object with its own call, several at once; answers in order.
pub async fn read_each<F, Fut>(objects: &[Value], read: F) -> Result<Vec<Option<Value>>, ProviderError>
where
    F: FnMut(Value) -> Fut,
    Fut: Future<Output = Result<Option<Value>, ProviderError>>,
{
    use futures_util::{StreamExt as _, TryStreamExt as _};
    futures_util::stream::iter(objects.to_vec()).map(read).buffered(PER_OBJECT_READS_AT_ONCE).try_collect().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_as_go_writes_them() {
        assert_eq!(go_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("900s"), Some(Duration::from_secs(900)));
        for bad in ["", "1", "an hour", "1d", "0s"] {
            assert_eq!(go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_error_body_the_sdk_did_not_parse_still_gives_its_code_and_message() {
        let body = "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code>\n<Message><![CDATA[The security token is invalid.]]></Message></Error></Errors></ErrorResponse>";
        assert_eq!(xml_element(body, "Code").as_deref(), Some("InvalidClientTokenId"));
        assert_eq!(xml_element(body, "Message").as_deref(), Some("The security token is invalid."));
        assert_eq!(xml_element("<html>500</html>", "Code"), None);
    }
}
