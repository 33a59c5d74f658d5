//! String functions. Lengths and offsets count grapheme clusters (what a reader
//! sees as one character), and case mapping is one character to one, as in
//! Terraform.

use terrane_core::Value;
use unicode_segmentation::UnicodeSegmentation;

use super::{arg_err, failed, integer_at, items_at, string_at, string_list, CallError, Context, Result};

fn text(s: impl Into<String>) -> Result<Value> {
    Ok(Value::String(s.into()))
}

pub fn chomp(a: &[Value], _: &Context) -> Result<Value> {
    text(string_at(a, 0)?.trim_end_matches(['\n', '\r']))
}

pub fn trimspace(a: &[Value], _: &Context) -> Result<Value> {
    text(string_at(a, 0)?.trim())
}

pub fn trim(a: &[Value], _: &Context) -> Result<Value> {
    let cutset = string_at(a, 1)?;
    text(string_at(a, 0)?.trim_matches(|c| cutset.contains(c)))
}

pub fn trimprefix(a: &[Value], _: &Context) -> Result<Value> {
    let s = string_at(a, 0)?;
    text(s.strip_prefix(string_at(a, 1)?).unwrap_or(s))
}

pub fn trimsuffix(a: &[Value], _: &Context) -> Result<Value> {
    let s = string_at(a, 0)?;
    text(s.strip_suffix(string_at(a, 1)?).unwrap_or(s))
}

pub fn startswith(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::Bool(string_at(a, 0)?.starts_with(string_at(a, 1)?)))
}

pub fn endswith(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::Bool(string_at(a, 0)?.ends_with(string_at(a, 1)?)))
}

pub fn strcontains(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::Bool(string_at(a, 0)?.contains(string_at(a, 1)?)))
}

/// One character to one: a character whose full mapping is longer keeps itself.
fn simple_case(s: &str, map: impl Fn(char) -> Vec<char>) -> String {
    s.chars()
        .map(|c| match map(c).as_slice() {
            [one] => *one,
            _ => c,
        })
        .collect()
}

pub fn upper(a: &[Value], _: &Context) -> Result<Value> {
    text(simple_case(string_at(a, 0)?, |c| c.to_uppercase().collect()))
}

pub fn lower(a: &[Value], _: &Context) -> Result<Value> {
    // The one character whose full lowercase is longer but whose simple one is not.
    text(simple_case(string_at(a, 0)?, |c| if c == '\u{130}' { vec!['i'] } else { c.to_lowercase().collect() }))
}

/// Capitalises the first letter of each word; words are separated by spaces and,
/// among ASCII characters, by anything but letters, digits and `_`.
pub fn title(a: &[Value], _: &Context) -> Result<Value> {
    let s = string_at(a, 0)?;
    let mut out = String::with_capacity(s.len());
    let mut previous_separates = true;
    for c in s.chars() {
        if previous_separates {
            let upper: Vec<char> = c.to_uppercase().collect();
            match upper.as_slice() {
                [one] => out.push(*one),
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
        previous_separates = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        };
    }
    text(out)
}

pub fn strrev(a: &[Value], _: &Context) -> Result<Value> {
    text(string_at(a, 0)?.graphemes(true).rev().collect::<String>())
}

/// Offsets and lengths in grapheme clusters; a negative offset counts from the end
/// and a negative length takes the rest.
pub fn substr(a: &[Value], _: &Context) -> Result<Value> {
    let s = string_at(a, 0)?;
    let mut offset = integer_at(a, 1)?;
    let length = integer_at(a, 2)?;
    let clusters: Vec<&str> = s.graphemes(true).collect();
    let count = clusters.len() as i64;
    if offset < 0 {
        offset += count;
    } else if length == 0 {
        return text("");
    }
    let start = offset.clamp(0, count) as usize;
    let rest = &clusters[start..];
    // A zero length after a negative offset takes the rest, as Terraform's does.
    let taken = if length <= 0 { rest.len() } else { (length as usize).min(rest.len()) };
    text(rest[..taken].concat())
}

/// Widths beyond this are refused rather than allocated.
const MAX_PADDING: usize = 1 << 20;

pub fn indent(a: &[Value], _: &Context) -> Result<Value> {
    let spaces = usize::try_from(integer_at(a, 0)?.max(0)).ok().filter(|n| *n <= MAX_PADDING).ok_or_else(|| arg_err(0, "too many spaces"))?;
    let spaces = " ".repeat(spaces);
    text(string_at(a, 1)?.replace('\n', &format!("\n{spaces}")))
}

/// Go's `strings.Split`: an empty string splits into one empty element, an empty
/// separator into characters.
pub fn split(a: &[Value], _: &Context) -> Result<Value> {
    let sep = string_at(a, 0)?;
    let s = string_at(a, 1)?;
    if sep.is_empty() {
        return Ok(string_list(s.chars().map(String::from)));
    }
    Ok(string_list(s.split(sep).map(str::to_string)))
}

pub fn join(a: &[Value], _: &Context) -> Result<Value> {
    let sep = string_at(a, 0)?;
    if a.len() < 2 {
        return Err(failed("at least one list is required"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for i in 1..a.len() {
        for (j, item) in items_at(a, i)?.iter().enumerate() {
            match item {
                Value::String(s) => parts.push(s),
                _ => return Err(arg_err(i, format!("element {j} is null; cannot concatenate null values"))),
            }
        }
    }
    text(parts.join(sep))
}

/// A slash-delimited search string is a regular expression; an empty one inserts
/// the replacement between every character, as Go's `strings.Replace` does.
pub fn replace(a: &[Value], _: &Context) -> Result<Value> {
    let s = string_at(a, 0)?;
    let search = string_at(a, 1)?;
    let with = string_at(a, 2)?;
    if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
        let re = compile(&search[1..search.len() - 1], 1)?;
        return text(re.replace_all(s, with));
    }
    if search.is_empty() {
        let mut out = String::with_capacity(s.len() * (with.len() + 1) + with.len());
        out.push_str(with);
        for c in s.chars() {
            out.push(c);
            out.push_str(with);
        }
        return text(out);
    }
    text(s.replace(search, with))
}

fn compile(pattern: &str, index: usize) -> Result<regex::Regex> {
    regex::Regex::new(pattern).map_err(|e| arg_err(index, format!("invalid regular expression pattern: {e}")))
}

/// Named groups give an object, unnamed ones a tuple, none the whole match.
fn capture(re: &regex::Regex, c: &regex::Captures<'_>) -> Value {
    let group = |i: usize| c.get(i).map_or(Value::Null, |m| Value::string(m.as_str()));
    let names: Vec<Option<&str>> = re.capture_names().collect();
    if names.iter().skip(1).any(Option::is_some) {
        Value::Map(names.iter().enumerate().filter_map(|(i, n)| n.map(|n| (n.to_string(), group(i)))).collect())
    } else if c.len() > 1 {
        Value::List((1..c.len()).map(group).collect())
    } else {
        group(0)
    }
}

pub fn regex(a: &[Value], _: &Context) -> Result<Value> {
    let re = compile(string_at(a, 0)?, 0)?;
    match re.captures(string_at(a, 1)?) {
        Some(c) => Ok(capture(&re, &c)),
        None => Err(failed("pattern did not match any part of the given string")),
    }
}

pub fn regexall(a: &[Value], _: &Context) -> Result<Value> {
    let re = compile(string_at(a, 0)?, 0)?;
    Ok(Value::List(re.captures_iter(string_at(a, 1)?).map(|c| capture(&re, &c)).collect()))
}

/// Query escaping, as Go's `url.QueryEscape`: a space becomes `+`.
pub fn urlencode(a: &[Value], _: &Context) -> Result<Value> {
    let mut out = String::new();
    for b in string_at(a, 0)?.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    text(out)
}

pub fn formatdate(a: &[Value], _: &Context) -> Result<Value> {
    crate::timefuncs::formatdate(string_at(a, 0)?, string_at(a, 1)?).map(Value::String).map_err(CallError::Failed)
}

pub fn timeadd(a: &[Value], _: &Context) -> Result<Value> {
    crate::timefuncs::timeadd(string_at(a, 0)?, string_at(a, 1)?).map(Value::String).map_err(CallError::Failed)
}

pub fn timecmp(a: &[Value], _: &Context) -> Result<Value> {
    crate::timefuncs::timecmp(string_at(a, 0)?, string_at(a, 1)?).map(Value::number).map_err(CallError::Failed)
}

pub fn format(a: &[Value], _: &Context) -> Result<Value> {
    text(format_values(string_at(a, 0)?, &a[1..])?)
}

/// Lists are iterated together (all of one length); other arguments repeat.
pub fn formatlist(a: &[Value], _: &Context) -> Result<Value> {
    let spec = string_at(a, 0)?;
    let mut length: Option<(usize, usize)> = None;
    for (i, arg) in a.iter().enumerate().skip(1) {
        if let Value::List(items) | Value::Set(items) = arg {
            match length {
                Some((n, first)) if n != items.len() => {
                    return Err(arg_err(
                        i,
                        format!("argument {} has length {}, which is inconsistent with argument {first} of length {n}", i + 1, items.len()),
                    ))
                }
                Some(_) => {}
                None => length = Some((items.len(), i + 1)),
            }
        }
    }
    let n = length.map_or(1, |(n, _)| n);
    let mut out = Vec::with_capacity(n);
    for row in 0..n {
        let args: Vec<Value> = a[1..]
            .iter()
            .map(|v| match v {
                Value::List(items) | Value::Set(items) => items[row].clone(),
                other => other.clone(),
            })
            .collect();
        out.push(Value::String(format_values(spec, &args).map_err(|e| shift(e, 1))?));
    }
    Ok(Value::List(out))
}

/// Errors from `format_values` name arguments after the format string.
fn shift(e: CallError, by: usize) -> CallError {
    match e {
        CallError::Arg { index, message } => CallError::Arg { index: index + by, message },
        other => other,
    }
}

struct Verb {
    flags: String,
    width: Option<usize>,
    precision: Option<usize>,
    kind: char,
}

/// Terraform's `format` verbs: %v %#v %t %s %q %d %b %o %x %X %e %E %f %g %G and
/// %%, with flags, width, precision and explicit argument indexes (`%[2]s`).
pub fn format_values(spec: &str, args: &[Value]) -> Result<String> {
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next_arg = 0;
    let mut used = vec![false; args.len()];
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek().filter(|f| matches!(f, '-' | '+' | ' ' | '0' | '#')) {
            flags.push(f);
            chars.next();
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            let mut index = String::new();
            while let Some(d) = chars.next_if(|d| d.is_ascii_digit()) {
                index.push(d);
            }
            if chars.next() != Some(']') {
                return Err(failed("unclosed argument index in format string"));
            }
            next_arg = index.parse::<usize>().ok().and_then(|i| i.checked_sub(1)).ok_or_else(|| failed("invalid argument index in format string"))?;
        }
        let mut width = String::new();
        while let Some(d) = chars.next_if(|d| d.is_ascii_digit()) {
            width.push(d);
        }
        let mut precision = None;
        if chars.next_if_eq(&'.').is_some() {
            let mut p = String::new();
            while let Some(d) = chars.next_if(|d| d.is_ascii_digit()) {
                p.push(d);
            }
            precision = Some(p.parse::<usize>().unwrap_or(0));
        }
        let Some(kind) = chars.next() else {
            return Err(failed("format string ends with an incomplete verb"));
        };
        if kind == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            return Err(failed(format!("not enough arguments for \"%{kind}\" at {}: need index {}, but have {} total", out.len(), next_arg + 1, args.len())));
        };
        used[next_arg] = true;
        let verb = Verb { flags, width: width.parse().ok(), precision, kind };
        if verb.width.unwrap_or(0) > MAX_PADDING || verb.precision.unwrap_or(0) > MAX_PADDING {
            return Err(failed(format!("the width or precision of %{kind} is too large")));
        }
        let rendered = render(&verb, arg).map_err(|m| arg_err(next_arg + 1, m))?;
        pad(&verb, rendered, &mut out);
        next_arg += 1;
    }
    if let Some(unused) = used.iter().position(|u| !u) {
        return Err(failed(format!("too many arguments; no verbs refer to argument {}", unused + 1)));
    }
    Ok(out)
}

fn render(verb: &Verb, arg: &Value) -> std::result::Result<String, String> {
    if arg.is_null() && verb.kind != 'v' {
        return Err("null value cannot be formatted".into());
    }
    let number = |arg: &Value| match terrane_core::Type::Number.convert(arg.clone()) {
        Ok(Value::Number(n)) => Ok(n),
        _ => Err(format!("%{} requires a number, got {}", verb.kind, arg.type_name())),
    };
    let whole = |arg: &Value| {
        let n = number(arg)?;
        if !n.is_integer() {
            return Err("value must be a whole number".to_string());
        }
        Ok(n)
    };
    let signed = |digits: String, negative: bool| {
        if negative {
            format!("-{digits}")
        } else if verb.flags.contains('+') {
            format!("+{digits}")
        } else if verb.flags.contains(' ') {
            format!(" {digits}")
        } else {
            digits
        }
    };
    let text = match verb.kind {
        'v' if verb.flags.contains('#') => crate::functions::encoding::json_text(arg),
        'v' => match arg {
            Value::Null => "null".into(),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => crate::functions::encoding::json_text(other),
        },
        's' => match terrane_core::Type::String.convert(arg.clone()) {
            Ok(Value::String(s)) => s,
            _ => return Err(format!("%s requires a string, got {}", arg.type_name())),
        },
        'q' => match terrane_core::Type::String.convert(arg.clone()) {
            Ok(Value::String(s)) => go_quote(&s),
            _ => return Err(format!("%q requires a string, got {}", arg.type_name())),
        },
        't' => match arg {
            Value::Bool(b) => b.to_string(),
            Value::String(s) if s == "true" || s == "false" => s.clone(),
            other => return Err(format!("%t requires a bool, got {}", other.type_name())),
        },
        'd' => {
            let n = whole(arg)?;
            signed(n.abs().to_string(), n.is_negative())
        }
        'b' | 'o' | 'x' | 'X' => {
            let n = whole(arg)?;
            let magnitude = n.abs().to_i64().ok_or("value is too large for this verb")? as u64;
            let digits = match verb.kind {
                'b' => format!("{magnitude:b}"),
                'o' => format!("{magnitude:o}"),
                'x' => format!("{magnitude:x}"),
                _ => format!("{magnitude:X}"),
            };
            signed(digits, n.is_negative())
        }
        'f' | 'F' => {
            let n = number(arg)?;
            let s = n.format_fixed(verb.precision.unwrap_or(6));
            signed(s.trim_start_matches('-').to_string(), s.starts_with('-'))
        }
        'e' | 'E' => {
            let n = number(arg)?;
            let s = n.format_exponent(verb.precision.unwrap_or(6));
            let s = signed(s.trim_start_matches('-').to_string(), s.starts_with('-'));
            if verb.kind == 'E' {
                s.to_uppercase()
            } else {
                s
            }
        }
        'g' | 'G' => {
            let n = number(arg)?;
            signed(n.abs().to_string(), n.is_negative())
        }
        other => return Err(format!("unrecognized format character {other:?}")),
    };
    Ok(match (verb.kind, verb.precision) {
        ('s' | 'v', Some(p)) => text.chars().take(p).collect(),
        _ => text,
    })
}

fn pad(verb: &Verb, text: String, out: &mut String) {
    let width = verb.width.unwrap_or(0);
    let len = text.chars().count();
    if len >= width {
        out.push_str(&text);
        return;
    }
    let fill = width - len;
    if verb.flags.contains('-') {
        out.push_str(&text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if verb.flags.contains('0') && matches!(verb.kind, 'd' | 'b' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G') {
        let (sign, digits) = text.split_at(usize::from(text.starts_with(['-', '+', ' '])));
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(&text);
    }
}

/// Go's `%q`: a double-quoted string with Go escapes; printable characters stay.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_control() => {
                if (c as u32) < 0x80 {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                } else if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_arguments_render_exactly() {
        let third = terrane_core::Number::parse("1").unwrap().div(&terrane_core::Number::from(3)).unwrap();
        assert_eq!(format_values("%.3f|%5d|%-4s|%x", &[Value::Number(third), Value::number(42), Value::string("ab"), Value::number(255)]).unwrap(), "0.333|   42|ab  |ff");
    }
}
