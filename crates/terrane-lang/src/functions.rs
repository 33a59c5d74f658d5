//! Built-in functions, with Terraform's names, argument rules and edge cases.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use terrane_core::value::format_number;
use terrane_core::{Type, Value, ValueMap};

use crate::eval::to_number;

#[derive(Debug)]
pub enum CallError {
    Unknown,
    Arg { index: usize, message: String },
    Failed(String),
}

type Result<T> = std::result::Result<T, CallError>;

fn arg_err(index: usize, message: impl Into<String>) -> CallError {
    CallError::Arg { index, message: message.into() }
}

/// Every function name, for "did you mean" hints.
pub const NAMES: &[&str] = &[
    "abs", "abspath", "alltrue", "anytrue", "base64decode", "base64encode", "basename", "can", "ceil", "chomp",
    "chunklist", "cidrhost", "cidrnetmask", "cidrsubnet", "cidrsubnets", "coalesce",
    "coalescelist", "compact", "concat", "contains", "dirname", "distinct", "element", "endswith", "file",
    "fileexists", "flatten", "floor", "format", "formatdate", "formatlist", "indent", "index", "join", "jsondecode", "jsonencode",
    "keys", "length", "lookup", "lower", "max", "md5", "merge", "min", "nonsensitive", "one", "parseint", "pow",
    "range", "regex", "regexall", "replace", "reverse", "sensitive", "setintersection", "setsubtract", "setunion",
    "slice", "templatefile", "transpose", "urlencode",
    "sha1", "sha256", "signum", "timeadd", "timecmp", "timestamp", "uuid", "yamldecode", "yamlencode", "sort", "split", "startswith", "strcontains", "substr", "sum", "title", "tobool",
    "tolist", "tomap", "tonumber", "toset", "tostring", "trim", "trimprefix", "trimspace", "trimsuffix", "try",
    "upper", "values", "zipmap",
];

/// Functions that handle unknown arguments themselves instead of returning unknown.
const UNKNOWN_AWARE: &[&str] = &["length", "concat", "merge", "tolist", "toset", "tomap", "coalesce", "sensitive", "nonsensitive"];

pub fn call(name: &str, args: Vec<Value>, base_dir: &Path) -> Result<Value> {
    if !NAMES.contains(&name) {
        return Err(CallError::Unknown);
    }
    if !UNKNOWN_AWARE.contains(&name) && args.iter().any(|a| !a.is_wholly_known()) {
        return Ok(Value::Unknown);
    }
    match name {
        "sensitive" => return one_arg(args).map(Value::sensitive),
        "nonsensitive" => return one_arg(args).map(|v| v.unmark_deep().0),
        _ => {}
    }
    let marked = args.iter().any(Value::contains_sensitive);
    let args: Vec<Value> = args.into_iter().map(|a| a.unmark_deep().0).collect();
    let out = dispatch(name, args, base_dir)?;
    Ok(out.mark_if(marked))
}

fn one_arg(args: Vec<Value>) -> Result<Value> {
    let n = args.len();
    let mut it = args.into_iter();
    match (it.next(), n) {
        (Some(v), 1) => Ok(v),
        _ => Err(CallError::Failed(format!("expected 1 argument, got {n}"))),
    }
}

fn arity(args: &[Value], min: usize, max: Option<usize>) -> Result<()> {
    let n = args.len();
    if n < min || max.is_some_and(|m| n > m) {
        let expected = match max {
            Some(m) if m == min => format!("{min}"),
            Some(m) => format!("{min} to {m}"),
            None => format!("at least {min}"),
        };
        return Err(CallError::Failed(format!("expected {expected} argument{}, got {n}", if expected == "1" { "" } else { "s" })));
    }
    Ok(())
}

fn string_arg(args: &[Value], i: usize) -> Result<String> {
    match &args[i] {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(format_number(*n)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(arg_err(i, "argument must not be null")),
        other => Err(arg_err(i, format!("a string is required, got {}", other.type_name()))),
    }
}

fn number_arg(args: &[Value], i: usize) -> Result<f64> {
    to_number(&args[i]).map_err(|m| arg_err(i, m))
}

fn list_arg(args: &[Value], i: usize) -> Result<Vec<Value>> {
    match &args[i] {
        Value::List(items) | Value::Set(items) => Ok(items.clone()),
        other => Err(arg_err(i, format!("a list is required, got {}", other.type_name()))),
    }
}

fn map_arg(args: &[Value], i: usize) -> Result<ValueMap<Value>> {
    match &args[i] {
        Value::Map(m) => Ok(m.clone()),
        other => Err(arg_err(i, format!("a map is required, got {}", other.type_name()))),
    }
}

fn string_list(items: Vec<String>) -> Value {
    Value::List(items.into_iter().map(Value::String).collect())
}

fn dispatch(name: &str, args: Vec<Value>, base_dir: &Path) -> Result<Value> {
    let a = &args;
    match name {
        // Strings.
        "format" => {
            arity(a, 1, None)?;
            format(&string_arg(a, 0)?, &a[1..]).map(Value::String)
        }
        "formatlist" => {
            arity(a, 1, None)?;
            let fmt = string_arg(a, 0)?;
            let len = a[1..].iter().filter_map(|v| match v {
                Value::List(items) => Some(items.len()),
                _ => None,
            });
            let lens: Vec<usize> = len.collect();
            let n = lens.first().copied().unwrap_or(1);
            if lens.iter().any(|l| *l != n) {
                return Err(CallError::Failed("all list arguments must have the same length".into()));
            }
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let row: Vec<Value> = a[1..]
                    .iter()
                    .map(|v| match v {
                        Value::List(items) => items[i].clone(),
                        other => other.clone(),
                    })
                    .collect();
                out.push(Value::String(format(&fmt, &row)?));
            }
            Ok(Value::List(out))
        }
        "join" => {
            arity(a, 2, None)?;
            let sep = string_arg(a, 0)?;
            let mut parts = Vec::new();
            for i in 1..a.len() {
                for item in list_arg(a, i)? {
                    match item {
                        Value::Null => return Err(arg_err(i, "element is null; join cannot use null values")),
                        other => parts.push(string_arg(&[other], 0).map_err(|_| arg_err(i, "elements must be strings"))?),
                    }
                }
            }
            Ok(Value::String(parts.join(&sep)))
        }
        "split" => {
            arity(a, 2, Some(2))?;
            let sep = string_arg(a, 0)?;
            let s = string_arg(a, 1)?;
            if s.is_empty() {
                return Ok(Value::List(vec![]));
            }
            if sep.is_empty() {
                return Ok(string_list(s.chars().map(String::from).collect()));
            }
            Ok(string_list(s.split(sep.as_str()).map(str::to_string).collect()))
        }
        "upper" => str_map(a, |s| s.to_uppercase()),
        "lower" => str_map(a, |s| s.to_lowercase()),
        "title" => str_map(a, |s| {
            let mut out = String::with_capacity(s.len());
            let mut at_word_start = true;
            for c in s.chars() {
                if at_word_start && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                at_word_start = !c.is_alphanumeric();
            }
            out
        }),
        "trimspace" => str_map(a, |s| s.trim().to_string()),
        "chomp" => str_map(a, |s| s.trim_end_matches(['\n', '\r']).to_string()),
        "trim" => {
            arity(a, 2, Some(2))?;
            let chars = string_arg(a, 1)?;
            Ok(Value::String(string_arg(a, 0)?.trim_matches(|c| chars.contains(c)).to_string()))
        }
        "trimprefix" => {
            arity(a, 2, Some(2))?;
            let s = string_arg(a, 0)?;
            let p = string_arg(a, 1)?;
            Ok(Value::String(s.strip_prefix(p.as_str()).unwrap_or(&s).to_string()))
        }
        "trimsuffix" => {
            arity(a, 2, Some(2))?;
            let s = string_arg(a, 0)?;
            let p = string_arg(a, 1)?;
            Ok(Value::String(s.strip_suffix(p.as_str()).unwrap_or(&s).to_string()))
        }
        "startswith" => str_pred(a, |s, p| s.starts_with(p)),
        "endswith" => str_pred(a, |s, p| s.ends_with(p)),
        "strcontains" => str_pred(a, |s, p| s.contains(p)),
        "replace" => {
            arity(a, 3, Some(3))?;
            let s = string_arg(a, 0)?;
            let search = string_arg(a, 1)?;
            let with = string_arg(a, 2)?;
            if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
                let re = regex::Regex::new(&search[1..search.len() - 1])
                    .map_err(|e| arg_err(1, format!("invalid regular expression: {e}")))?;
                // Terraform writes capture references as $1 or ${name}; regex uses the same.
                return Ok(Value::String(re.replace_all(&s, with.as_str()).into_owned()));
            }
            Ok(Value::String(if search.is_empty() { s } else { s.replace(&search, &with) }))
        }
        "regex" | "regexall" => {
            arity(a, 2, Some(2))?;
            let re = regex::Regex::new(&string_arg(a, 0)?).map_err(|e| arg_err(0, format!("invalid regular expression: {e}")))?;
            let s = string_arg(a, 1)?;
            let capture = |c: regex::Captures<'_>| -> Value {
                let names: Vec<Option<&str>> = re.capture_names().collect();
                if names.iter().skip(1).any(Option::is_some) {
                    Value::Map(
                        names
                            .iter()
                            .enumerate()
                            .filter_map(|(i, n)| n.map(|n| (n.to_string(), c.get(i).map_or(Value::Null, |m| Value::string(m.as_str())))))
                            .collect(),
                    )
                } else if c.len() > 1 {
                    Value::List((1..c.len()).map(|i| c.get(i).map_or(Value::Null, |m| Value::string(m.as_str()))).collect())
                } else {
                    Value::string(c.get(0).map_or("", |m| m.as_str()))
                }
            };
            if name == "regexall" {
                return Ok(Value::List(re.captures_iter(&s).map(capture).collect()));
            }
            match re.captures(&s) {
                Some(c) => Ok(capture(c)),
                None => Err(CallError::Failed("the pattern did not match any part of the given string".into())),
            }
        }
        "substr" => {
            arity(a, 3, Some(3))?;
            let s: Vec<char> = string_arg(a, 0)?.chars().collect();
            let offset = number_arg(a, 1)? as i64;
            let length = number_arg(a, 2)? as i64;
            let len = s.len() as i64;
            let start = if offset < 0 { (len + offset).max(0) } else { offset.min(len) };
            let end = if length < 0 { len } else { (start + length).min(len) };
            Ok(Value::String(s[start as usize..end.max(start) as usize].iter().collect()))
        }
        // Collections.
        "length" => {
            arity(a, 1, Some(1))?;
            match &a[0] {
                Value::String(s) => Ok(Value::Number(s.chars().count() as f64)),
                Value::List(items) => Ok(Value::Number(items.len() as f64)),
                Value::Set(items) if items.iter().all(Value::is_wholly_known) => Ok(Value::Number(items.len() as f64)),
                Value::Map(m) => Ok(Value::Number(m.len() as f64)),
                Value::Unknown | Value::Set(_) => Ok(Value::Unknown),
                other => Err(arg_err(0, format!("length needs a string or a collection, got {}", other.type_name()))),
            }
        }
        "concat" => {
            let mut out = Vec::new();
            for (i, v) in a.iter().enumerate() {
                match v {
                    Value::Unknown => return Ok(Value::Unknown),
                    Value::List(items) | Value::Set(items) => out.extend(items.iter().cloned()),
                    other => return Err(arg_err(i, format!("all arguments must be lists, got {}", other.type_name()))),
                }
            }
            Ok(Value::List(out))
        }
        "merge" => {
            let mut out = BTreeMap::new();
            for (i, v) in a.iter().enumerate() {
                match v {
                    Value::Unknown => return Ok(Value::Unknown),
                    Value::Null => {}
                    Value::Map(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
                    other => return Err(arg_err(i, format!("arguments must be maps or objects, got {}", other.type_name()))),
                }
            }
            Ok(Value::Map(out.into_iter().collect()))
        }
        "keys" => {
            arity(a, 1, Some(1))?;
            Ok(string_list(map_arg(a, 0)?.into_keys().collect()))
        }
        "values" => {
            arity(a, 1, Some(1))?;
            Ok(Value::List(map_arg(a, 0)?.into_values().collect()))
        }
        "lookup" => {
            arity(a, 2, Some(3))?;
            let m = map_arg(a, 0)?;
            let key = string_arg(a, 1)?;
            match (m.get(&key), a.get(2)) {
                (Some(v), _) => Ok(v.clone()),
                (None, Some(default)) => Ok(default.clone()),
                (None, None) => Err(CallError::Failed(format!("the given key {key:?} does not exist in the map"))),
            }
        }
        "element" => {
            arity(a, 2, Some(2))?;
            let items = list_arg(a, 0)?;
            if items.is_empty() {
                return Err(arg_err(0, "cannot use element function with an empty list"));
            }
            let i = number_arg(a, 1)?;
            if i < 0.0 {
                return Err(arg_err(1, "cannot use element function with a negative index"));
            }
            Ok(items[(i as usize) % items.len()].clone())
        }
        "contains" => {
            arity(a, 2, Some(2))?;
            Ok(Value::Bool(list_arg(a, 0)?.iter().any(|v| v == &a[1])))
        }
        "range" => {
            arity(a, 1, Some(3))?;
            let nums: Vec<f64> = (0..a.len()).map(|i| number_arg(a, i)).collect::<Result<_>>()?;
            let (start, end, step) = match nums.as_slice() {
                [end] => (0.0, *end, 1.0),
                [start, end] => (*start, *end, if end >= start { 1.0 } else { -1.0 }),
                [start, end, step] => (*start, *end, *step),
                _ => unreachable_arity(),
            };
            if step == 0.0 {
                return Err(arg_err(a.len() - 1, "step must not be zero"));
            }
            if (step > 0.0 && start > end) || (step < 0.0 && start < end) {
                return Err(CallError::Failed("the step must move from start towards end".into()));
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
                if out.len() >= 1024 {
                    return Err(CallError::Failed("more than 1024 values were generated".into()));
                }
                out.push(Value::Number(x));
                x += step;
            }
            Ok(Value::List(out))
        }
        "coalesce" => {
            for v in a {
                match v {
                    Value::Unknown => return Ok(Value::Unknown),
                    Value::Null => {}
                    Value::String(s) if s.is_empty() => {}
                    other => return Ok(other.clone()),
                }
            }
            Err(CallError::Failed("no non-null, non-empty-string arguments".into()))
        }
        "coalescelist" => {
            for (i, v) in a.iter().enumerate() {
                match v {
                    Value::List(items) | Value::Set(items) if !items.is_empty() => return Ok(v.clone()),
                    Value::List(_) | Value::Set(_) => {}
                    other => return Err(arg_err(i, format!("arguments must be lists, got {}", other.type_name()))),
                }
            }
            Err(CallError::Failed("no non-empty list arguments".into()))
        }
        "flatten" => {
            arity(a, 1, Some(1))?;
            fn flat(items: Vec<Value>, out: &mut Vec<Value>) {
                for item in items {
                    match item {
                        Value::List(inner) | Value::Set(inner) => flat(inner, out),
                        other => out.push(other),
                    }
                }
            }
            let mut out = Vec::new();
            flat(list_arg(a, 0)?, &mut out);
            Ok(Value::List(out))
        }
        "distinct" => {
            arity(a, 1, Some(1))?;
            let mut out: Vec<Value> = Vec::new();
            for item in list_arg(a, 0)? {
                if !out.contains(&item) {
                    out.push(item);
                }
            }
            Ok(Value::List(out))
        }
        "compact" => {
            arity(a, 1, Some(1))?;
            Ok(Value::List(
                list_arg(a, 0)?.into_iter().filter(|v| !v.is_null() && v.as_str() != Some("")).collect(),
            ))
        }
        "reverse" => {
            arity(a, 1, Some(1))?;
            let mut items = list_arg(a, 0)?;
            items.reverse();
            Ok(Value::List(items))
        }
        "sort" => {
            arity(a, 1, Some(1))?;
            let mut items = list_arg(a, 0)?.iter().map(|v| string_arg(&[v.clone()], 0)).collect::<Result<Vec<_>>>()?;
            items.sort();
            Ok(string_list(items))
        }
        "zipmap" => {
            arity(a, 2, Some(2))?;
            let keys = list_arg(a, 0)?;
            let values = list_arg(a, 1)?;
            if keys.len() != values.len() {
                return Err(CallError::Failed(format!(
                    "the number of keys ({}) does not match the number of values ({})",
                    keys.len(),
                    values.len()
                )));
            }
            let mut out = BTreeMap::new();
            for (k, v) in keys.into_iter().zip(values) {
                out.insert(string_arg(&[k], 0)?, v);
            }
            Ok(Value::Map(out.into_iter().collect()))
        }
        "one" => {
            arity(a, 1, Some(1))?;
            let items = list_arg(a, 0)?;
            match items.len() {
                0 => Ok(Value::Null),
                1 => Ok(items[0].clone()),
                n => Err(arg_err(0, format!("must be a list with no more than one element, got {n}"))),
            }
        }
        "alltrue" | "anytrue" => {
            arity(a, 1, Some(1))?;
            let bools: Vec<bool> = list_arg(a, 0)?
                .iter()
                .map(|v| match v {
                    Value::Bool(b) => Ok(*b),
                    Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
                    other => Err(arg_err(0, format!("elements must be bools, got {}", other.type_name()))),
                })
                .collect::<Result<_>>()?;
            Ok(Value::Bool(if name == "alltrue" { bools.iter().all(|b| *b) } else { bools.iter().any(|b| *b) }))
        }
        "sum" => {
            arity(a, 1, Some(1))?;
            let items = list_arg(a, 0)?;
            if items.is_empty() {
                return Err(arg_err(0, "cannot sum an empty list"));
            }
            let mut total = 0.0;
            for item in &items {
                total += to_number(item).map_err(|m| arg_err(0, m))?;
            }
            Ok(Value::Number(total))
        }
        "index" => {
            arity(a, 2, Some(2))?;
            let items = list_arg(a, 0)?;
            items
                .iter()
                .position(|v| v == &a[1])
                .map(|i| Value::Number(i as f64))
                .ok_or_else(|| CallError::Failed("item not found".into()))
        }
        "slice" => {
            arity(a, 3, Some(3))?;
            let items = list_arg(a, 0)?;
            let (start, end) = (number_arg(a, 1)?, number_arg(a, 2)?);
            if start < 0.0 || end > items.len() as f64 || start > end || start.fract() != 0.0 || end.fract() != 0.0 {
                return Err(CallError::Failed(format!(
                    "invalid slice [{}:{}] of a list of {} elements",
                    format_number(start),
                    format_number(end),
                    items.len()
                )));
            }
            Ok(Value::List(items[start as usize..end as usize].to_vec()))
        }
        "setunion" | "setintersection" | "setsubtract" => {
            arity(a, if name == "setsubtract" { 2 } else { 1 }, if name == "setsubtract" { Some(2) } else { None })?;
            let sets: Vec<Vec<Value>> = (0..a.len()).map(|i| list_arg(a, i)).collect::<Result<_>>()?;
            let first = sets[0].clone();
            let out: Vec<Value> = match name {
                "setunion" => sets.into_iter().flatten().collect(),
                "setintersection" => first.into_iter().filter(|v| sets[1..].iter().all(|s| s.contains(v))).collect(),
                _ => first.into_iter().filter(|v| !sets[1].contains(v)).collect(),
            };
            Ok(Value::set(out))
        }
        "transpose" => {
            arity(a, 1, Some(1))?;
            let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for (k, v) in map_arg(a, 0)? {
                let (Value::List(items) | Value::Set(items)) = v else {
                    return Err(arg_err(0, "transpose needs a map of lists of strings"));
                };
                for item in items {
                    out.entry(string_arg(&[item], 0)?).or_default().push(Value::String(k.clone()));
                }
            }
            Ok(Value::Map(out.into_iter().map(|(k, v)| (k, Value::List(v))).collect()))
        }
        "chunklist" => {
            arity(a, 2, Some(2))?;
            let items = list_arg(a, 0)?;
            let size = number_arg(a, 1)?;
            if size < 0.0 || size.fract() != 0.0 {
                return Err(arg_err(1, "the chunk size must be a whole number of 0 or more"));
            }
            if size == 0.0 {
                return Ok(Value::List(vec![Value::List(items)]));
            }
            Ok(Value::List(items.chunks(size as usize).map(|c| Value::List(c.to_vec())).collect()))
        }
        "indent" => {
            arity(a, 2, Some(2))?;
            let spaces = " ".repeat(number_arg(a, 0)?.max(0.0) as usize);
            let text = string_arg(a, 1)?;
            Ok(Value::String(text.replace('\n', &format!("\n{spaces}"))))
        }
        "urlencode" => str_map(a, |s| {
            let mut out = String::new();
            for b in s.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out
        }),
        "abspath" => {
            arity(a, 1, Some(1))?;
            let path = std::path::PathBuf::from(string_arg(a, 0)?);
            let abs = if path.is_absolute() { path } else { std::env::current_dir().map(|d| d.join(path)).map_err(|e| CallError::Failed(e.to_string()))? };
            Ok(Value::String(abs.display().to_string()))
        }
        "cidrsubnet" => {
            arity(a, 3, Some(3))?;
            crate::netfuncs::cidrsubnet(&string_arg(a, 0)?, number_arg(a, 1)?, number_arg(a, 2)?).map(Value::String).map_err(CallError::Failed)
        }
        "cidrhost" => {
            arity(a, 2, Some(2))?;
            crate::netfuncs::cidrhost(&string_arg(a, 0)?, number_arg(a, 1)?).map(Value::String).map_err(CallError::Failed)
        }
        "cidrnetmask" => {
            arity(a, 1, Some(1))?;
            crate::netfuncs::cidrnetmask(&string_arg(a, 0)?).map(Value::String).map_err(CallError::Failed)
        }
        "cidrsubnets" => {
            arity(a, 1, None)?;
            let newbits: Vec<f64> = (1..a.len()).map(|i| number_arg(a, i)).collect::<Result<_>>()?;
            crate::netfuncs::cidrsubnets(&string_arg(a, 0)?, &newbits)
                .map(|v| Value::List(v.into_iter().map(Value::String).collect()))
                .map_err(CallError::Failed)
        }
        // Numbers.
        "pow" => {
            arity(a, 2, Some(2))?;
            Ok(Value::Number(number_arg(a, 0)?.powf(number_arg(a, 1)?)))
        }
        "parseint" => {
            arity(a, 2, Some(2))?;
            let base = number_arg(a, 1)?;
            if !(2.0..=62.0).contains(&base) || base.fract() != 0.0 {
                return Err(arg_err(1, "the base must be a whole number between 2 and 62"));
            }
            let text = string_arg(a, 0)?;
            let (negative, digits) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text.strip_prefix('+').unwrap_or(&text)),
            };
            if digits.is_empty() {
                return Err(arg_err(0, format!("cannot parse {text:?} as a base {} integer", base as u32)));
            }
            let mut n: f64 = 0.0;
            for c in digits.chars() {
                let d = match c {
                    '0'..='9' => c as u32 - '0' as u32,
                    'a'..='z' => c as u32 - 'a' as u32 + 10,
                    'A'..='Z' if base <= 36.0 => c as u32 - 'A' as u32 + 10,
                    'A'..='Z' => c as u32 - 'A' as u32 + 36,
                    _ => u32::MAX,
                };
                if f64::from(d) >= base {
                    return Err(arg_err(0, format!("cannot parse {text:?} as a base {} integer", base as u32)));
                }
                n = n * base + f64::from(d);
            }
            Ok(Value::Number(if negative { -n } else { n }))
        }
        "min" | "max" => {
            arity(a, 1, None)?;
            let nums: Vec<f64> = (0..a.len()).map(|i| number_arg(a, i)).collect::<Result<_>>()?;
            let pick = if name == "min" { f64::min } else { f64::max };
            Ok(Value::Number(nums.into_iter().reduce(pick).unwrap_or(0.0)))
        }
        "abs" => num_map(a, f64::abs),
        "ceil" => num_map(a, f64::ceil),
        "floor" => num_map(a, f64::floor),
        "signum" => num_map(a, |n| if n == 0.0 { 0.0 } else { n.signum() }),
        // Types.
        "tostring" => {
            arity(a, 1, Some(1))?;
            match &a[0] {
                Value::Null => Ok(Value::Null),
                Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(Value::String(string_arg(a, 0)?)),
                other => Err(arg_err(0, format!("cannot convert {} to string", other.type_name()))),
            }
        }
        "tonumber" => convert(a, Type::Number),
        "tobool" => convert(a, Type::Bool),
        "tolist" => convert(a, Type::list(Type::Any)),
        "toset" => {
            arity(a, 1, Some(1))?;
            match &a[0] {
                Value::List(items) | Value::Set(items) => Ok(Value::set(items.clone())),
                Value::Unknown => Ok(Value::Unknown),
                other => Err(arg_err(0, format!("cannot convert {} to set", other.type_name()))),
            }
        }
        "tomap" => convert(a, Type::map(Type::Any)),
        // Encoding.
        "jsonencode" => {
            arity(a, 1, Some(1))?;
            Ok(Value::String(a[0].to_json().to_string()))
        }
        "jsondecode" => {
            arity(a, 1, Some(1))?;
            let s = string_arg(a, 0)?;
            let json: serde_json::Value =
                serde_json::from_str(&s).map_err(|e| arg_err(0, format!("invalid JSON: {e}")))?;
            Ok(Value::from_json(&json))
        }
        "base64encode" => str_map(a, |s| base64::engine::general_purpose::STANDARD.encode(s)),
        "base64decode" => {
            arity(a, 1, Some(1))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(string_arg(a, 0)?)
                .map_err(|e| arg_err(0, format!("invalid base64: {e}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| arg_err(0, "the decoded bytes are not valid UTF-8"))
        }
        // Hashes.
        "yamlencode" => {
            arity(a, 1, Some(1))?;
            crate::yaml::encode(&a[0]).map(Value::String).map_err(|e| arg_err(0, e))
        }
        "yamldecode" => {
            arity(a, 1, Some(1))?;
            crate::yaml::decode(&string_arg(a, 0)?).map_err(CallError::Failed)
        }
        "formatdate" => {
            arity(a, 2, Some(2))?;
            crate::timefuncs::formatdate(&string_arg(a, 0)?, &string_arg(a, 1)?).map(Value::String).map_err(CallError::Failed)
        }
        "timeadd" => {
            arity(a, 2, Some(2))?;
            crate::timefuncs::timeadd(&string_arg(a, 0)?, &string_arg(a, 1)?).map(Value::String).map_err(CallError::Failed)
        }
        "timecmp" => {
            arity(a, 2, Some(2))?;
            crate::timefuncs::timecmp(&string_arg(a, 0)?, &string_arg(a, 1)?).map(|n| Value::Number(f64::from(n))).map_err(CallError::Failed)
        }
        "md5" => str_map(a, |s| hex::encode(<md5::Md5 as md5::Digest>::digest(s.as_bytes()))),
        "sha1" => str_map(a, |s| hex::encode(<sha1::Sha1 as sha1::Digest>::digest(s.as_bytes()))),
        "sha256" => str_map(a, |s| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(s.as_bytes()))),
        // Files.
        "file" => {
            arity(a, 1, Some(1))?;
            let path = base_dir.join(string_arg(a, 0)?);
            let bytes = std::fs::read(&path).map_err(|e| arg_err(0, format!("cannot read {}: {e}", path.display())))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| arg_err(0, format!("{} is not valid UTF-8", path.display())))
        }
        "fileexists" => {
            arity(a, 1, Some(1))?;
            Ok(Value::Bool(base_dir.join(string_arg(a, 0)?).is_file()))
        }
        "basename" => str_map(a, |s| Path::new(&s).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
        "dirname" => str_map(a, |s| {
            let parent = Path::new(&s).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            if parent.is_empty() {
                ".".into()
            } else {
                parent
            }
        }),
        _ => Err(CallError::Unknown),
    }
}

fn unreachable_arity() -> (f64, f64, f64) {
    (0.0, 0.0, 1.0)
}

fn convert(a: &[Value], ty: Type) -> Result<Value> {
    arity(a, 1, Some(1))?;
    ty.convert(a[0].clone()).map_err(|e| arg_err(0, e.to_string()))
}

fn str_map(a: &[Value], f: impl Fn(String) -> String) -> Result<Value> {
    arity(a, 1, Some(1))?;
    Ok(Value::String(f(string_arg(a, 0)?)))
}

fn str_pred(a: &[Value], f: impl Fn(&str, &str) -> bool) -> Result<Value> {
    arity(a, 2, Some(2))?;
    Ok(Value::Bool(f(&string_arg(a, 0)?, &string_arg(a, 1)?)))
}

fn num_map(a: &[Value], f: impl Fn(f64) -> f64) -> Result<Value> {
    arity(a, 1, Some(1))?;
    Ok(Value::Number(f(number_arg(a, 0)?)))
}

/// Terraform's `format` verbs: %s %d %f %q %v %t %%, with width, precision and `-`/`0` flags.
fn format(fmt: &str, args: &[Value]) -> Result<String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if matches!(f, '-' | '+' | ' ' | '0' | '#') {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse::<usize>().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            return Err(CallError::Failed("format string ends with an incomplete verb".into()));
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            return Err(CallError::Failed(format!("not enough arguments for the format verb %{verb}")));
        };
        next_arg += 1;
        let idx = next_arg;
        let text = match verb {
            's' => string_arg(args, idx - 1).map_err(|e| remap(e, idx))?,
            'v' => match arg {
                Value::String(s) => s.clone(),
                Value::Number(n) => format_number(*n),
                Value::Bool(b) => b.to_string(),
                other => other.to_json().to_string(),
            },
            'q' => serde_json::to_string(&string_arg(args, idx - 1).map_err(|e| remap(e, idx))?).unwrap_or_default(),
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                other => return Err(arg_err(idx, format!("%t needs a bool, got {}", other.type_name()))),
            },
            'd' => {
                let n = to_number(arg).map_err(|m| arg_err(idx, m))?;
                if n.fract() != 0.0 {
                    return Err(arg_err(idx, "%d needs a whole number"));
                }
                let s = format!("{}", n as i64);
                if flags.contains('+') && n >= 0.0 {
                    format!("+{s}")
                } else {
                    s
                }
            }
            'f' | 'e' | 'g' => {
                let n = to_number(arg).map_err(|m| arg_err(idx, m))?;
                match verb {
                    'f' => format!("{:.*}", precision.unwrap_or(6), n),
                    'e' => format!("{:.*e}", precision.unwrap_or(6), n),
                    _ => format_number(n),
                }
            }
            'x' | 'X' => {
                let n = to_number(arg).map_err(|m| arg_err(idx, m))?;
                if verb == 'x' {
                    format!("{:x}", n as i64)
                } else {
                    format!("{:X}", n as i64)
                }
            }
            other => return Err(CallError::Failed(format!("unsupported format verb %{other}"))),
        };
        let text = match (verb, precision) {
            ('s' | 'q' | 'v', Some(p)) => text.chars().take(p).collect(),
            _ => text,
        };
        let width: usize = width.parse().unwrap_or(0);
        let len = text.chars().count();
        if len < width {
            let pad = width - len;
            if flags.contains('-') {
                out.push_str(&text);
                out.extend(std::iter::repeat_n(' ', pad));
            } else if flags.contains('0') && matches!(verb, 'd' | 'f' | 'e') {
                let (sign, digits) = text.split_at(usize::from(text.starts_with(['-', '+'])));
                out.push_str(sign);
                out.extend(std::iter::repeat_n('0', pad));
                out.push_str(digits);
            } else {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(&text);
            }
        } else {
            out.push_str(&text);
        }
    }
    if next_arg < args.len() {
        return Err(CallError::Failed(format!("too many arguments; only {next_arg} used by the format string")));
    }
    Ok(out)
}

fn remap(e: CallError, index: usize) -> CallError {
    match e {
        CallError::Arg { message, .. } => CallError::Arg { index, message },
        other => other,
    }
}
