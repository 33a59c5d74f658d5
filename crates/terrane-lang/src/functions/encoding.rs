//! Encoding, hashing and crypto functions: JSON as Terraform writes it (HTML
//! characters escaped, keys sorted, numbers exact), YAML, CSV, base64, text
//! encodings, digests, UUIDv5, bcrypt and RSA decryption.

use base64::Engine as _;
use terrane_core::Value;

use super::{arg_err, failed, integer_at, string_at, Context, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn text(s: impl Into<String>) -> Result<Value> {
    Ok(Value::String(s.into()))
}

pub fn base64encode(a: &[Value], _: &Context) -> Result<Value> {
    text(B64.encode(string_at(a, 0)?))
}

fn decode_base64(s: &str, index: usize) -> Result<Vec<u8>> {
    // Line breaks inside base64 text are ignored, as Terraform ignores them.
    let compact: String = s.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    B64.decode(compact).map_err(|e| arg_err(index, format!("failed to decode base64 data: {e}")))
}

pub fn base64decode(a: &[Value], _: &Context) -> Result<Value> {
    let bytes = decode_base64(string_at(a, 0)?, 0)?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| arg_err(0, "the result of decoding the provided string is not valid UTF-8"))
}

/// Gzip laid out as Terraform's writes it: the data in blocks ended by a sync
/// flush, then an empty final block, so equal input gives equal bytes.
pub fn base64gzip(a: &[Value], _: &Context) -> Result<Value> {
    let data = string_at(a, 0)?.as_bytes();
    let mut deflate = flate2::Compress::new(flate2::Compression::default(), false);
    let mut body = Vec::with_capacity(data.len() + 64);
    let mut input = data;
    loop {
        body.reserve(1024);
        let before = deflate.total_in();
        deflate
            .compress_vec(input, &mut body, flate2::FlushCompress::Sync)
            .map_err(|e| failed(format!("failed to compress: {e}")))?;
        input = &input[(deflate.total_in() - before) as usize..];
        if input.is_empty() && body.len() < body.capacity() {
            break;
        }
    }
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(body);
    out.extend([1, 0, 0, 0xff, 0xff]);
    out.extend(crc.sum().to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    text(B64.encode(out))
}

fn digest<D: sha2::Digest>(s: &str) -> Vec<u8> {
    D::digest(s.as_bytes()).to_vec()
}

pub fn md5(a: &[Value], _: &Context) -> Result<Value> {
    text(hex::encode(digest::<md5::Md5>(string_at(a, 0)?)))
}

pub fn sha1(a: &[Value], _: &Context) -> Result<Value> {
    text(hex::encode(digest::<sha1::Sha1>(string_at(a, 0)?)))
}

pub fn sha256(a: &[Value], _: &Context) -> Result<Value> {
    text(hex::encode(digest::<sha2::Sha256>(string_at(a, 0)?)))
}

pub fn sha512(a: &[Value], _: &Context) -> Result<Value> {
    text(hex::encode(digest::<sha2::Sha512>(string_at(a, 0)?)))
}

pub fn base64sha256(a: &[Value], _: &Context) -> Result<Value> {
    text(B64.encode(digest::<sha2::Sha256>(string_at(a, 0)?)))
}

pub fn base64sha512(a: &[Value], _: &Context) -> Result<Value> {
    text(B64.encode(digest::<sha2::Sha512>(string_at(a, 0)?)))
}

/// Hex and base64 digests of bytes, for the file functions.
pub fn hex_digest<D: sha2::Digest>(bytes: &[u8]) -> String {
    hex::encode(D::digest(bytes))
}

pub fn base64_digest<D: sha2::Digest>(bytes: &[u8]) -> String {
    B64.encode(D::digest(bytes))
}

pub fn base64_bytes(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn uuidv5(a: &[Value], _: &Context) -> Result<Value> {
    let given = string_at(a, 0)?;
    let namespace = match given {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other).map_err(|e| arg_err(0, format!("uuidv5() doesn't support namespace {other} ({e})")))?,
    };
    text(uuid::Uuid::new_v5(&namespace, string_at(a, 1)?.as_bytes()).to_string())
}

/// A salted hash in the `$2a$` form, cost 10 unless given. Each call gives a new
/// salt, so like `uuid` it is known only while applying.
pub fn bcrypt(a: &[Value]) -> Result<Value> {
    if a.len() > 2 {
        return Err(failed("bcrypt() takes no more than two arguments"));
    }
    let cost = if a.len() == 2 { integer_at(a, 1)? } else { 10 };
    let cost = u32::try_from(cost).ok().filter(|c| (4..=31).contains(c)).ok_or_else(|| arg_err(1, format!("crypto/bcrypt: cost {cost} is outside allowed range (4,31)")))?;
    let hashed = bcrypt::hash_with_result(string_at(a, 0)?, cost).map_err(|e| failed(format!("error occurred generating password {e}")))?;
    text(hashed.format_for_version(bcrypt::Version::TwoA))
}

/// PKCS #1 v1.5 decryption with a PEM private key (PKCS #1 or PKCS #8).
pub fn rsadecrypt(a: &[Value], _: &Context) -> Result<Value> {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let ciphertext = B64.decode(string_at(a, 0)?).map_err(|_| arg_err(0, "failed to decode input \"cipher_text\": cipher text must be base64-encoded"))?;
    let pem = string_at(a, 1)?;
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(pem))
        .map_err(|_| arg_err(1, "invalid private key: failed to parse key: not a PEM-encoded RSA private key"))?;
    let plain = key.decrypt(rsa::Pkcs1v15Encrypt, &ciphertext).map_err(|_| failed("failed to decrypt: crypto/rsa: decryption error"))?;
    String::from_utf8(plain).map(Value::String).map_err(|_| failed("the decrypted text is not valid UTF-8"))
}

/// Encodes `s` as the named encoding (an IANA name, case-insensitive).
fn encode_text(s: &str, name: &str) -> Option<std::result::Result<Vec<u8>, ()>> {
    let utf16 = |big_endian: bool, bom: bool| {
        let mut out = Vec::new();
        if bom {
            out.extend([0xfe, 0xff]);
        }
        for unit in s.encode_utf16() {
            out.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        Ok(out)
    };
    let single_byte = |limit: u32| s.chars().map(|c| u8::try_from(c as u32).ok().filter(|b| u32::from(*b) <= limit).ok_or(())).collect();
    Some(match name.to_ascii_uppercase().as_str() {
        "UTF-8" | "UTF8" | "CSUTF8" => Ok(s.as_bytes().to_vec()),
        "UTF-16LE" | "CSUTF16LE" => utf16(false, false),
        "UTF-16BE" | "CSUTF16BE" => utf16(true, false),
        "UTF-16" | "CSUTF16" => utf16(true, true),
        "US-ASCII" | "ASCII" | "CSASCII" => single_byte(0x7f),
        "ISO-8859-1" | "ISO_8859-1" | "LATIN1" | "L1" | "CSISOLATIN1" => single_byte(0xff),
        other => {
            let encoding = encoding_rs::Encoding::for_label(other.as_bytes())?;
            let (bytes, _, unmappable) = encoding.encode(s);
            if unmappable || encoding.output_encoding() != encoding {
                Err(())
            } else {
                Ok(bytes.into_owned())
            }
        }
    })
}

fn decode_text(bytes: &[u8], name: &str) -> Option<std::result::Result<String, ()>> {
    let utf16 = |big_endian: bool, bom: bool| {
        let bytes = if bom && bytes.starts_with(&[0xfe, 0xff]) { &bytes[2..] } else { bytes };
        if bytes.len() % 2 != 0 {
            return Err(());
        }
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| if big_endian { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) })
            .collect();
        String::from_utf16(&units).map_err(|_| ())
    };
    Some(match name.to_ascii_uppercase().as_str() {
        "UTF-8" | "UTF8" | "CSUTF8" => String::from_utf8(bytes.to_vec()).map_err(|_| ()),
        "UTF-16LE" | "CSUTF16LE" => utf16(false, false),
        "UTF-16BE" | "CSUTF16BE" => utf16(true, false),
        "UTF-16" | "CSUTF16" => utf16(true, true),
        "US-ASCII" | "ASCII" | "CSASCII" => bytes.iter().map(|b| if *b < 0x80 { Ok(char::from(*b)) } else { Err(()) }).collect(),
        "ISO-8859-1" | "ISO_8859-1" | "LATIN1" | "L1" | "CSISOLATIN1" => Ok(bytes.iter().map(|b| char::from(*b)).collect()),
        other => {
            let encoding = encoding_rs::Encoding::for_label(other.as_bytes())?;
            let (text, malformed) = encoding.decode_without_bom_handling(bytes);
            if malformed {
                Err(())
            } else {
                Ok(text.into_owned())
            }
        }
    })
}

fn unsupported(name: &str) -> super::CallError {
    arg_err(1, format!("{name:?} is not a supported IANA encoding name or alias in this Terraform version"))
}

pub fn textencodebase64(a: &[Value], _: &Context) -> Result<Value> {
    let name = string_at(a, 1)?;
    match encode_text(string_at(a, 0)?, name) {
        Some(Ok(bytes)) => text(B64.encode(bytes)),
        Some(Err(())) => Err(arg_err(0, format!("the given string contains characters that cannot be represented in {name}"))),
        None => Err(unsupported(name)),
    }
}

pub fn textdecodebase64(a: &[Value], _: &Context) -> Result<Value> {
    let name = string_at(a, 1)?;
    let bytes = decode_base64(string_at(a, 0)?, 0)?;
    match decode_text(&bytes, name) {
        Some(Ok(s)) => text(s),
        Some(Err(())) => Err(arg_err(0, format!("the given value is has an invalid base64 symbol for {name}"))),
        None => Err(unsupported(name)),
    }
}

pub fn jsonencode(a: &[Value], _: &Context) -> Result<Value> {
    text(json_text(&a[0]))
}

/// JSON as Terraform writes it: no spaces, object keys sorted, numbers exact, and
/// `<`, `>`, `&`, U+2028 and U+2029 escaped.
pub fn json_text(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value.unmarked() {
        Value::Null | Value::Unknown | Value::Sensitive(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_json_string(s, out),
        Value::List(items) | Value::Set(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

pub fn jsondecode(a: &[Value], _: &Context) -> Result<Value> {
    let json: serde_json::Value = serde_json::from_str(string_at(a, 0)?).map_err(|e| arg_err(0, format!("invalid JSON: {e}")))?;
    Ok(Value::from_json(&json))
}

pub fn yamlencode(a: &[Value], _: &Context) -> Result<Value> {
    crate::yaml::encode(&a[0]).map(Value::String).map_err(|e| arg_err(0, e))
}

pub fn yamldecode(a: &[Value], _: &Context) -> Result<Value> {
    crate::yaml::decode(string_at(a, 0)?).map_err(super::CallError::Failed)
}

/// CSV with a header line: a list of objects of strings, one per row. Every row
/// has the header's number of fields; blank lines are skipped.
pub fn csvdecode(a: &[Value], _: &Context) -> Result<Value> {
    let records = parse_csv(string_at(a, 0)?).map_err(|e| arg_err(0, e))?;
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Err(arg_err(0, "missing header line"));
    };
    let mut seen = std::collections::BTreeSet::new();
    for name in &header {
        if !seen.insert(name) {
            return Err(arg_err(0, format!("duplicate column name {name:?}")));
        }
    }
    let rows = records
        .map(|fields| Value::Map(header.iter().cloned().zip(fields.into_iter().map(Value::String)).collect()))
        .collect();
    Ok(Value::List(rows))
}

fn parse_csv(input: &str) -> std::result::Result<Vec<Vec<String>>, String> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut chars = input.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        // Blank lines are not records.
        if chars.next_if(|c| *c == '\n').is_some() {
            line += 1;
            continue;
        }
        if chars.peek() == Some(&'\r') {
            let mut ahead = chars.clone();
            ahead.next();
            if matches!(ahead.peek(), Some('\n') | None) {
                chars.next();
                continue;
            }
        }
        let mut fields = Vec::new();
        loop {
            let mut field = String::new();
            if chars.next_if_eq(&'"').is_some() {
                loop {
                    match chars.next() {
                        Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                        Some('"') => break,
                        Some('\r') if chars.peek() == Some(&'\n') => {}
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c)
                        }
                        None => return Err(format!("parse error on line {line}: extraneous or missing \" in quoted-field")),
                    }
                }
                if !matches!(chars.peek(), Some(',' | '\n' | '\r') | None) {
                    return Err(format!("parse error on line {line}: extraneous or missing \" in quoted-field"));
                }
            } else {
                while let Some(c) = chars.next_if(|c| !matches!(c, ',' | '\n')) {
                    if c == '"' {
                        return Err(format!("parse error on line {line}: bare \" in non-quoted-field"));
                    }
                    field.push(c);
                }
                if field.ends_with('\r') && chars.peek() != Some(&',') {
                    field.pop();
                }
            }
            fields.push(field);
            match chars.next() {
                Some(',') => continue,
                Some('\r') => {
                    chars.next_if_eq(&'\n');
                    break;
                }
                _ => break,
            }
        }
        if let Some(first) = records.first() {
            if first.len() != fields.len() {
                return Err(format!("record on line {line}: wrong number of fields"));
            }
        }
        line += 1;
        records.push(fields);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use terrane_core::Number;

    #[test]
    fn json_escapes_html_and_keeps_numbers_exact() {
        let v = Value::map([("a", Value::string("<&>")), ("n", Value::Number(Number::parse("12345678901234567890").unwrap()))]);
        assert_eq!(json_text(&v), r#"{"a":"\u003c\u0026\u003e","n":12345678901234567890}"#);
    }

    #[test]
    fn csv_rows_need_the_headers_field_count() {
        assert_eq!(parse_csv("a,b\n1,\"x,\"\"y\"\n\n").unwrap(), vec![vec!["a", "b"], vec!["1", "x,\"y"]]);
        assert!(parse_csv("a,b\n1\n").is_err());
    }
}
