//! Policy documents as AWS hands them back: URL-encoded by IAM, reformatted by
//! both IAM and S3. A document that means the same as the stored one keeps
//! the stored text, as Terraform's provider does, so re-reading never shows
//! drift that is only formatting.

use serde_json::Value as Json;

/// Whether two policy documents say the same: equal as JSON, where a single
/// string and a list of just that string are the same (AWS accepts both and
/// may answer with either).
pub fn equivalent(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Json>(a), serde_json::from_str::<Json>(b)) {
        (Ok(a), Ok(b)) => normalized(a) == normalized(b),
        _ => false,
    }
}

fn normalized(value: Json) -> Json {
    match value {
        Json::Array(items) if items.len() == 1 => normalized(items.into_iter().next().unwrap_or(Json::Null)),
        Json::Array(items) => Json::Array(items.into_iter().map(normalized).collect()),
        Json::Object(fields) => Json::Object(fields.into_iter().map(|(k, v)| (k, normalized(v))).collect()),
        other => other,
    }
}

/// `equivalent` for two attribute values: false unless both are strings.
pub fn equivalent_values(a: &terrane_core::Value, b: &terrane_core::Value) -> bool {
    matches!((a.as_str(), b.as_str()), (Some(a), Some(b)) if equivalent(a, b))
}

/// The text to store for a document AWS returned: the prior text when it
/// means the same.
pub fn keep_prior(prior: Option<String>, remote: &str) -> String {
    match prior {
        Some(prior) if equivalent(&prior, remote) => prior,
        _ => remote.to_string(),
    }
}

/// A document AWS returned, as Terraform's provider stores one it
/// normalizes: compact JSON with keys sorted (or the prior text, when it
/// means the same).
pub fn sorted_or_prior(prior: Option<String>, remote: &str) -> String {
    fn sorted(value: Json) -> Json {
        match value {
            Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
            Json::Object(fields) => {
                let mut fields: Vec<(String, Json)> = fields.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Json::Object(fields.into_iter().collect())
            }
            other => other,
        }
    }
    match (prior, serde_json::from_str::<Json>(remote)) {
        (Some(prior), _) if equivalent(&prior, remote) => prior,
        (_, Ok(json)) => sorted(json).to_string(),
        (_, Err(_)) => remote.to_string(),
    }
}

/// IAM returns documents percent-encoded (RFC 3986).
pub fn url_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A check for plan time: the document must be JSON.
pub fn check(config: &terrane_core::Value, name: &str, errors: &mut Vec<terrane_provider::AttrError>) {
    if let Some(Err(e)) = crate::attrs::string(config, name).map(|p| serde_json::from_str::<Json>(&p)) {
        errors.push(crate::attrs::attr_err(name, format!("{name} is not valid JSON: {e}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_that_differ_only_in_form_are_the_same() {
        let mine = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ec2.amazonaws.com"}}]}"#;
        let theirs = "{\n  \"Statement\": {\"Principal\": {\"Service\": [\"ec2.amazonaws.com\"]}, \"Action\": [\"sts:AssumeRole\"], \"Effect\": \"Allow\"},\n  \"Version\": \"2012-10-17\"}";
        assert!(equivalent(mine, theirs));
        assert_eq!(keep_prior(Some(mine.into()), theirs), mine);
        let other = mine.replace("Allow", "Deny");
        assert!(!equivalent(mine, &other));
        assert_eq!(keep_prior(Some(mine.into()), &other), other);
        assert!(!equivalent("not json", "not json"));
    }

    #[test]
    fn a_document_aws_wrote_is_stored_compact_with_sorted_keys() {
        let remote = "{ \"Version\": \"2008-10-17\", \"Statement\": [{\"Resource\": \"*\", \"Action\": \"*\"}] }";
        assert_eq!(sorted_or_prior(None, remote), r#"{"Statement":[{"Action":"*","Resource":"*"}],"Version":"2008-10-17"}"#);
        let mine = r#"{"Version":"2008-10-17","Statement":{"Action":"*","Resource":"*"}}"#;
        assert_eq!(sorted_or_prior(Some(mine.into()), remote), mine);
    }

    #[test]
    fn iam_documents_are_url_decoded() {
        assert_eq!(url_decoded("%7B%22Version%22%3A%222012-10-17%22%7D"), r#"{"Version":"2012-10-17"}"#);
        assert_eq!(url_decoded("a+b%2"), "a b%2");
        assert_eq!(url_decoded("caf%C3%A9"), "café");
    }
}
