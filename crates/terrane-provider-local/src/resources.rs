//! What each local resource type does on plan, create, read, update and delete.

use std::path::Path;

use base64::Engine as _;
use rand::Rng as _;
use sha2::Digest as _;
use terrane_core::{PathStep, Value, ValueMap};
use terrane_provider::{AttrError, PlanResponse, ProviderError};

use terrane_core::time::now_rfc3339;

const DEFAULT_SPECIAL: &str = "!@#$%&*()-_=+[]{}<>:?";

fn attr_err(name: &str, message: impl Into<String>) -> AttrError {
    AttrError { path: vec![PathStep::Attr(name.to_string())], message: message.into() }
}

fn io_err(what: &str, path: &str, err: std::io::Error) -> ProviderError {
    ProviderError::Io(format!("cannot {what} {path}: {err}"))
}

fn num(v: &Value, name: &str) -> Option<f64> {
    v.get(name).and_then(Value::as_f64)
}

fn string(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(Value::as_str).map(str::to_string)
}

fn set(mut v: Value, name: &str, value: Value) -> Value {
    if let Value::Map(m) = &mut v {
        m.insert(name.to_string(), value);
    }
    v
}

pub fn validate(type_name: &str, config: &Value) -> Vec<AttrError> {
    let mut errors = Vec::new();
    match type_name {
        "random_id" => {
            if let Some(n) = num(config, "byte_length") {
                if n < 1.0 || n.fract() != 0.0 {
                    errors.push(attr_err("byte_length", "byte_length must be a whole number of at least 1"));
                }
            }
        }
        "random_string" | "random_password" => {
            if let Some(n) = num(config, "length") {
                if n < 1.0 || n.fract() != 0.0 {
                    errors.push(attr_err("length", "length must be a whole number of at least 1"));
                }
            }
        }
        "local_file" | "local_sensitive_file" => {
            for name in ["file_permission", "directory_permission"] {
                if let Some(p) = string(config, name) {
                    if u32::from_str_radix(&p, 8).map_or(true, |m| m > 0o7777) || p.is_empty() {
                        errors.push(attr_err(name, format!("{name} must be an octal mode such as \"0644\", got {p:?}")));
                    }
                }
            }
            if config.get("content").is_some_and(Value::is_null) {
                errors.push(attr_err("content", "content is required"));
            }
        }
        "time_sleep" => {
            for name in ["create_duration", "destroy_duration"] {
                if let Some(d) = string(config, name) {
                    if let Err(e) = sleep_length(&d) {
                        errors.push(attr_err(name, e));
                    }
                }
            }
        }
        _ => {}
    }
    errors
}

/// Fills optional attributes that have a default, so the plan shows the value.
pub fn with_defaults(type_name: &str, proposed: Value) -> Value {
    let defaults: &[(&str, Value)] = match type_name {
        "random_string" | "random_password" => &[
            ("special", Value::Bool(true)),
            ("upper", Value::Bool(true)),
            ("lower", Value::Bool(true)),
            ("numeric", Value::Bool(true)),
            ("min_special", Value::number(0)),
            ("min_upper", Value::number(0)),
            ("min_lower", Value::number(0)),
            ("min_numeric", Value::number(0)),
        ],
        "local_file" | "local_sensitive_file" => &[
            ("file_permission", Value::String(String::new())),
            ("directory_permission", Value::String(String::new())),
        ],
        _ => &[],
    };
    let mut out = proposed;
    for (name, default) in defaults {
        if out.get(name).is_none_or(Value::is_null) {
            let value = match default {
                Value::String(s) if s.is_empty() => Value::string("0777"),
                other => other.clone(),
            };
            out = set(out, name, value);
        }
    }
    out
}

/// Computed attributes the plan can already know.
pub fn refine_plan(type_name: &str, resp: &mut PlanResponse) {
    let planned = std::mem::replace(&mut resp.planned, Value::Null);
    resp.planned = match type_name {
        "terraform_data" => {
            let input = planned.get("input").cloned().unwrap_or(Value::Null);
            set(planned, "output", input)
        }
        "local_file" | "local_sensitive_file" => match planned.get("content").and_then(Value::as_str).map(str::to_string) {
            Some(content) => with_content_hashes(planned, &content),
            None => planned,
        },
        _ => planned,
    };
}

fn with_content_hashes(v: Value, content: &str) -> Value {
    let sha1 = hex::encode(<sha1_smol::Sha1Hasher>::digest(content.as_bytes()));
    let v = set(v, "id", Value::String(sha1.clone()));
    let v = set(v, "content_sha1", Value::String(sha1));
    let v = set(v, "content_md5", Value::String(hex::encode(md5_digest(content.as_bytes()))));
    set(v, "content_sha256", Value::String(hex::encode(sha2::Sha256::digest(content.as_bytes()))))
}

fn md5_digest(bytes: &[u8]) -> Vec<u8> {
    use md5::Digest as _;
    md5::Md5::digest(bytes).to_vec()
}

mod sha1_smol {
    pub struct Sha1Hasher;
    impl Sha1Hasher {
        pub fn digest(bytes: &[u8]) -> Vec<u8> {
            use sha1::Digest as _;
            sha1::Sha1::digest(bytes).to_vec()
        }
    }
}

/// A `time_sleep` duration: Go's syntax, never negative.
fn sleep_length(text: &str) -> Result<std::time::Duration, String> {
    let nanos = terrane_core::time::parse_duration(text)?;
    u64::try_from(nanos).map(std::time::Duration::from_nanos).map_err(|_| format!("{text:?} must not be negative or this long"))
}

pub async fn create(type_name: &str, planned: Value) -> Result<Value, ProviderError> {
    if type_name == "time_sleep" {
        if let Some(d) = string(&planned, "create_duration") {
            tokio::time::sleep(sleep_length(&d).map_err(ProviderError::Invalid)?).await;
        }
        return Ok(set(planned, "id", Value::String(now_rfc3339())));
    }
    create_now(type_name, planned)
}

fn create_now(type_name: &str, planned: Value) -> Result<Value, ProviderError> {
    let mut rng = rand::rng();
    Ok(match type_name {
        "null_resource" => set(planned, "id", Value::String(rng.random::<u64>().to_string())),
        "terraform_data" => set(planned, "id", Value::String(uuid::Uuid::new_v4().to_string())),
        "random_id" => {
            let len = num(&planned, "byte_length").unwrap_or(8.0) as usize;
            let mut bytes = vec![0u8; len];
            rng.fill(bytes.as_mut_slice());
            let prefix = string(&planned, "prefix").unwrap_or_default();
            let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
            let hex = hex::encode(&bytes);
            let dec = decimal_of(&bytes);
            let v = set(planned, "id", Value::String(b64_url.clone()));
            let v = set(v, "b64_url", Value::String(format!("{prefix}{b64_url}")));
            let v = set(v, "b64_std", Value::String(format!("{prefix}{}", base64::engine::general_purpose::STANDARD.encode(&bytes))));
            let v = set(v, "hex", Value::String(format!("{prefix}{hex}")));
            set(v, "dec", Value::String(format!("{prefix}{dec}")))
        }
        "random_string" | "random_password" => {
            let result = random_string(&planned)?;
            let id = if type_name == "random_password" { "none".to_string() } else { result.clone() };
            let v = set(planned, "result", Value::String(result));
            set(v, "id", Value::String(id))
        }
        "local_file" | "local_sensitive_file" => write_file(planned)?,
        other => return Err(ProviderError::UnknownType { kind: "resource", name: other.into() }),
    })
}

/// Big-endian bytes as a decimal string, for random_id's `dec`.
fn decimal_of(bytes: &[u8]) -> String {
    let mut digits = vec![0u8];
    for &b in bytes {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            let x = u32::from(*d) * 256 + carry;
            *d = (x % 10) as u8;
            carry = x / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

fn random_string(planned: &Value) -> Result<String, ProviderError> {
    let length = num(planned, "length").unwrap_or(16.0) as usize;
    let flag = |n: &str| planned.get(n).and_then(Value::as_bool).unwrap_or(true);
    let min = |n: &str| num(planned, n).unwrap_or(0.0) as usize;
    let special = string(planned, "override_special").unwrap_or_else(|| DEFAULT_SPECIAL.to_string());
    let classes: Vec<(bool, Vec<char>, usize)> = vec![
        (flag("upper"), ('A'..='Z').collect(), min("min_upper")),
        (flag("lower"), ('a'..='z').collect(), min("min_lower")),
        (flag("numeric"), ('0'..='9').collect(), min("min_numeric")),
        (flag("special"), special.chars().collect(), min("min_special")),
    ];
    let mut rng = rand::rng();
    let mut out: Vec<char> = Vec::with_capacity(length);
    let mut all = Vec::new();
    for (enabled, chars, minimum) in &classes {
        if *enabled && !chars.is_empty() {
            all.extend(chars.iter().copied());
            for _ in 0..*minimum {
                out.push(chars[rng.random_range(0..chars.len())]);
            }
        }
    }
    if all.is_empty() {
        return Err(ProviderError::Invalid("at least one of upper, lower, numeric and special must be true".into()));
    }
    if out.len() > length {
        return Err(ProviderError::Invalid("the min_* counts add up to more than length".into()));
    }
    while out.len() < length {
        out.push(all[rng.random_range(0..all.len())]);
    }
    // Shuffle so the guaranteed characters are not all at the front.
    for i in (1..out.len()).rev() {
        out.swap(i, rng.random_range(0..=i));
    }
    Ok(out.into_iter().collect())
}

fn mode(v: &Value, name: &str) -> u32 {
    string(v, name).and_then(|p| u32::from_str_radix(&p, 8).ok()).unwrap_or(0o777)
}

fn write_file(planned: Value) -> Result<Value, ProviderError> {
    let filename = string(&planned, "filename").unwrap_or_default();
    let content = string(&planned, "content").unwrap_or_default();
    let path = Path::new(&filename);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_err("create the directory for", &filename, e))?;
        set_mode(dir, mode(&planned, "directory_permission"));
    }
    std::fs::write(path, content.as_bytes()).map_err(|e| io_err("write", &filename, e))?;
    set_mode(path, mode(&planned, "file_permission"));
    Ok(with_content_hashes(planned, &content))
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    // Best effort, as Terraform's provider: a failed chmod leaves the default mode.
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

pub fn read(type_name: &str, object: Value) -> Result<Option<Value>, ProviderError> {
    match type_name {
        "local_file" | "local_sensitive_file" => {
            let filename = string(&object, "filename").unwrap_or_default();
            match std::fs::read(&filename) {
                Ok(bytes) => {
                    let content = String::from_utf8_lossy(&bytes).into_owned();
                    let v = set(object, "content", Value::String(content.clone()));
                    Ok(Some(with_content_hashes(v, &content)))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_err("read", &filename, e)),
            }
        }
        _ => Ok(Some(object)),
    }
}

pub async fn update(type_name: &str, prior: Value, planned: Value) -> Result<Value, ProviderError> {
    match type_name {
        "local_file" | "local_sensitive_file" => write_file(planned),
        "terraform_data" => {
            let input = planned.get("input").cloned().unwrap_or(Value::Null);
            let id = prior.get("id").cloned().unwrap_or(Value::Null);
            Ok(set(set(planned, "output", input), "id", id))
        }
        _ => Ok(planned),
    }
}

pub async fn delete(type_name: &str, prior: Value) -> Result<(), ProviderError> {
    match type_name {
        "local_file" | "local_sensitive_file" => {
            let filename = string(&prior, "filename").unwrap_or_default();
            match std::fs::remove_file(&filename) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_err("delete", &filename, e)),
            }
        }
        "time_sleep" => {
            if let Some(d) = string(&prior, "destroy_duration") {
                tokio::time::sleep(sleep_length(&d).map_err(ProviderError::Invalid)?).await;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

pub fn import(type_name: &str, id: &str) -> Result<Value, ProviderError> {
    let mut m = ValueMap::new();
    m.insert("id".to_string(), Value::string(id));
    match type_name {
        "null_resource" => {
            m.insert("triggers".into(), Value::Null);
        }
        "random_string" | "random_password" => {
            // The id is the value itself, and the settings are the defaults:
            // a configuration that says otherwise plans a replacement.
            m.insert("result".into(), Value::string(id));
            m.insert("length".into(), Value::number(id.chars().count()));
            if type_name == "random_password" {
                m.insert("id".into(), Value::string("none"));
            }
            return Ok(with_defaults(type_name, Value::Map(m)));
        }
        other => return Err(ProviderError::Invalid(format!("{other} cannot be imported"))),
    }
    Ok(Value::Map(m))
}

pub fn read_data(type_name: &str, config: Value) -> Result<Value, ProviderError> {
    match type_name {
        "local_file" => {
            let filename = string(&config, "filename").unwrap_or_default();
            let bytes = std::fs::read(&filename).map_err(|e| io_err("read", &filename, e))?;
            let content = String::from_utf8_lossy(&bytes).into_owned();
            let v = set(config, "content", Value::String(content.clone()));
            let v = set(v, "content_base64", Value::String(base64::engine::general_purpose::STANDARD.encode(&bytes)));
            let v = set(v, "content_sha256", Value::String(hex::encode(sha2::Sha256::digest(&bytes))));
            Ok(set(v, "id", Value::String(hex::encode(<sha1_smol::Sha1Hasher>::digest(&bytes)))))
        }
        other => Err(ProviderError::UnknownType { kind: "data source", name: other.into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_matches_big_endian_integer() {
        assert_eq!(decimal_of(&[0x01, 0x00]), "256");
        assert_eq!(decimal_of(&[0xff, 0xff, 0xff, 0xff]), "4294967295");
    }

    #[test]
    fn random_strings_honour_length_and_classes() {
        let planned = Value::map([
            ("length", Value::number(24)),
            ("special", Value::Bool(false)),
            ("upper", Value::Bool(false)),
            ("min_numeric", Value::number(5)),
        ]);
        let s = random_string(&planned).unwrap();
        assert_eq!(s.chars().count(), 24);
        assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert!(s.chars().filter(char::is_ascii_digit).count() >= 5);
    }
}
