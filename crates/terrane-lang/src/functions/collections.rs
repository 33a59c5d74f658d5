//! Collection, type-conversion and sensitivity functions.

use std::collections::BTreeMap;

use terrane_core::{unify, Type, Value, ValueMap};

use super::{arg_err, failed, integer_at, items_at, map_at, string_list, Context, Result};

/// An argument that must be a list or tuple (a set has no order to index by).
fn sequence_at<'a>(a: &'a [Value], i: usize, what: &str) -> Result<&'a [Value]> {
    match &a[i] {
        Value::List(items) => Ok(items),
        Value::Set(_) => Err(arg_err(i, format!("{what}: sets have no order; convert with tolist first"))),
        other => Err(arg_err(i, format!("{what}: a list or tuple is required, got {}", other.type_name()))),
    }
}

pub fn alltrue(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::Bool(items_at(a, 0)?.iter().all(|v| v.as_bool() == Some(true))))
}

pub fn anytrue(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::Bool(items_at(a, 0)?.iter().any(|v| v.as_bool() == Some(true))))
}

pub fn chunklist(a: &[Value], _: &Context) -> Result<Value> {
    let items = items_at(a, 0)?;
    let size = integer_at(a, 1)?;
    if size < 0 {
        return Err(arg_err(1, "the size argument must be positive"));
    }
    if items.is_empty() {
        return Ok(Value::List(vec![]));
    }
    if size == 0 {
        return Ok(Value::List(vec![Value::List(items.to_vec())]));
    }
    Ok(Value::List(items.chunks(size as usize).map(|c| Value::List(c.to_vec())).collect()))
}

/// The first argument that is neither null nor an empty string, converted to the
/// type all arguments unify to.
pub fn coalesce(args: Vec<Value>) -> Result<Value> {
    let marked = args.iter().any(Value::is_sensitive);
    let types: Vec<Type> = args.iter().map(Type::of).collect();
    let Some(ty) = unify(&types) else {
        return Err(failed("all arguments must have the same type"));
    };
    for v in args {
        let (v, _) = v.into_unmarked();
        match &v {
            Value::Unknown => return Ok(Value::Unknown.mark_if(marked)),
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            _ => return ty.convert(v).map(|v| v.mark_if(marked)).map_err(|e| failed(e.to_string())),
        }
    }
    Err(failed("no non-null, non-empty-string arguments"))
}

pub fn coalescelist(a: &[Value], _: &Context) -> Result<Value> {
    for (i, v) in a.iter().enumerate() {
        match v {
            Value::Null => {}
            Value::List(items) if !items.is_empty() => return Ok(v.clone()),
            Value::List(_) => {}
            other => return Err(arg_err(i, format!("coalescelist arguments must be lists or tuples, got {}", other.type_name()))),
        }
    }
    Err(failed("no non-null arguments"))
}

pub fn compact(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::List(items_at(a, 0)?.iter().filter(|v| !v.is_null() && v.as_str() != Some("")).cloned().collect()))
}

/// Lists and tuples end to end; the elements keep their own marks.
pub fn concat(args: Vec<Value>) -> Result<Value> {
    if args.is_empty() {
        return Err(failed("at least one argument is required"));
    }
    let mut marked = false;
    let mut out = Vec::new();
    for (i, v) in args.into_iter().enumerate() {
        let (v, m) = v.into_unmarked();
        marked |= m;
        match v {
            Value::Unknown => return Ok(Value::Unknown),
            Value::List(items) => out.extend(items),
            other => return Err(arg_err(i, format!("all arguments must be lists or tuples; got {}", other.type_name()))),
        }
    }
    Ok(Value::List(out).mark_if(marked))
}

pub fn contains(a: &[Value], _: &Context) -> Result<Value> {
    let items = items_at(a, 0).map_err(|_| arg_err(0, "argument must be list, tuple, or set"))?;
    Ok(Value::Bool(items.iter().any(|v| *v == a[1])))
}

pub fn distinct(a: &[Value], _: &Context) -> Result<Value> {
    let mut out: Vec<Value> = Vec::new();
    for item in items_at(a, 0)? {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(Value::List(out))
}

pub fn element(a: &[Value], _: &Context) -> Result<Value> {
    let items = sequence_at(a, 0, "cannot read elements")?;
    let index = integer_at(a, 1)?;
    if items.is_empty() {
        return Err(arg_err(0, "cannot use element function with an empty list"));
    }
    if index < 0 {
        return Err(arg_err(1, "cannot use element function with a negative index"));
    }
    Ok(items[(index as usize) % items.len()].clone())
}

pub fn flatten(a: &[Value], _: &Context) -> Result<Value> {
    fn flat(items: &[Value], out: &mut Vec<Value>) {
        for item in items {
            match item {
                Value::List(inner) | Value::Set(inner) => flat(inner, out),
                other => out.push(other.clone()),
            }
        }
    }
    let items = items_at(a, 0).map_err(|_| arg_err(0, "can only flatten lists, sets and tuples"))?;
    let mut out = Vec::new();
    flat(items, &mut out);
    Ok(Value::List(out))
}

pub fn index(a: &[Value], _: &Context) -> Result<Value> {
    let items = sequence_at(a, 0, "argument must be a list or tuple")?;
    if items.is_empty() {
        return Err(arg_err(0, "cannot search an empty list"));
    }
    items.iter().position(|v| *v == a[1]).map(Value::number).ok_or_else(|| failed("item not found"))
}

/// Keys are not secret when only the values are: the result is sensitive only
/// when the whole map is.
pub fn keys(args: Vec<Value>) -> Result<Value> {
    let (v, marked) = args.into_iter().next().unwrap_or(Value::Null).into_unmarked();
    match v {
        Value::Unknown => Ok(Value::Unknown.mark_if(marked)),
        Value::Map(m) => Ok(string_list(m.into_keys()).mark_if(marked)),
        other => Err(arg_err(0, format!("a map or object is required, got {}", other.type_name()))),
    }
}

pub fn values(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::List(map_at(a, 0)?.values().cloned().collect()))
}

/// A string's length in grapheme clusters; a collection's in elements.
pub fn length(args: Vec<Value>) -> Result<Value> {
    let (v, marked) = args.into_iter().next().unwrap_or(Value::Null).into_unmarked();
    let n = match &v {
        Value::Unknown => return Ok(Value::Unknown),
        Value::String(s) => unicode_segmentation::UnicodeSegmentation::graphemes(s.as_str(), true).count(),
        Value::List(items) => items.len(),
        // A set's unknown elements may turn out equal to others.
        Value::Set(items) if items.iter().all(Value::is_wholly_known) => items.len(),
        Value::Set(_) => return Ok(Value::Unknown.mark_if(marked)),
        Value::Map(m) => m.len(),
        other => return Err(arg_err(0, format!("argument must be a string, a collection type, or a structural type, got {}", other.type_name()))),
    };
    Ok(Value::number(n).mark_if(marked))
}

pub fn lookup(a: &[Value], _: &Context) -> Result<Value> {
    if a.len() > 3 {
        return Err(failed("lookup() takes no more than one default argument"));
    }
    let map = map_at(a, 0)?;
    let key = super::string_at(a, 1)?;
    match (map.get(key), a.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(failed(format!("lookup failed to find key {key:?}"))),
    }
}

pub fn matchkeys(a: &[Value], _: &Context) -> Result<Value> {
    let (values, keys, search) = (items_at(a, 0)?, items_at(a, 1)?, items_at(a, 2)?);
    if values.len() != keys.len() {
        return Err(failed("length of keys and values should be equal"));
    }
    let types: Vec<Type> = keys.iter().chain(search).map(Type::of).collect();
    let Some(ty) = unify(&types) else {
        return Err(arg_err(2, "keys and searchset must be of the same type"));
    };
    let convert = |items: &[Value]| items.iter().map(|v| ty.convert(v.clone())).collect::<std::result::Result<Vec<_>, _>>();
    let keys = convert(keys).map_err(|e| arg_err(1, e.to_string()))?;
    let search = convert(search).map_err(|e| arg_err(2, e.to_string()))?;
    Ok(Value::List(values.iter().zip(&keys).filter(|(_, k)| search.contains(k)).map(|(v, _)| v.clone()).collect()))
}

/// Later arguments win; null arguments are skipped.
pub fn merge(args: Vec<Value>) -> Result<Value> {
    let mut marked = false;
    let mut out = BTreeMap::new();
    for (i, v) in args.into_iter().enumerate() {
        let (v, m) = v.into_unmarked();
        marked |= m;
        match v {
            Value::Unknown => return Ok(Value::Unknown.mark_if(marked)),
            Value::Null => {}
            Value::Map(m) => out.extend(m),
            other => return Err(arg_err(i, format!("arguments must be maps or objects, got {}", other.type_name()))),
        }
    }
    Ok(Value::Map(out.into_iter().collect()).mark_if(marked))
}

pub fn one(a: &[Value], _: &Context) -> Result<Value> {
    let items = items_at(a, 0).map_err(|_| arg_err(0, "must be a list, set, or tuple value with either zero or one elements"))?;
    match items {
        [] => Ok(Value::Null),
        [only] => Ok(only.clone()),
        _ => Err(arg_err(0, "must be a list, set, or tuple value with either zero or one elements")),
    }
}

pub fn reverse(a: &[Value], _: &Context) -> Result<Value> {
    let mut items = items_at(a, 0).map_err(|_| arg_err(0, "can only reverse list, set or tuple values"))?.to_vec();
    items.reverse();
    Ok(Value::List(items))
}

pub fn sensitive(args: Vec<Value>) -> Result<Value> {
    Ok(args.into_iter().next().unwrap_or(Value::Null).sensitive())
}

pub fn nonsensitive(args: Vec<Value>) -> Result<Value> {
    Ok(args.into_iter().next().unwrap_or(Value::Null).unmark_deep().0)
}

pub fn issensitive(args: Vec<Value>) -> Result<Value> {
    match args.first() {
        Some(v) if v.is_unknown() => Ok(Value::Unknown),
        v => Ok(Value::Bool(v.is_some_and(Value::is_sensitive))),
    }
}

/// terrane has no ephemeral values, so every value passes through unchanged.
pub fn ephemeralasnull(args: Vec<Value>) -> Result<Value> {
    Ok(args.into_iter().next().unwrap_or(Value::Null))
}

/// Every set's elements converted to the one type all of them unify to.
fn unified_sets(a: &[Value]) -> Result<Vec<Vec<Value>>> {
    let sets: Vec<&[Value]> = (0..a.len()).map(|i| items_at(a, i)).collect::<Result<_>>()?;
    let types: Vec<Type> = sets.iter().flat_map(|s| s.iter().map(Type::of)).collect();
    let Some(ty) = unify(&types) else {
        return Err(failed("given sets must all have compatible element types"));
    };
    sets.iter()
        .enumerate()
        .map(|(i, s)| s.iter().map(|v| ty.convert(v.clone()).map_err(|e| arg_err(i, e.to_string()))).collect())
        .collect()
}

pub fn setunion(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::set(unified_sets(a)?.into_iter().flatten().collect()))
}

pub fn setintersection(a: &[Value], _: &Context) -> Result<Value> {
    let mut sets = unified_sets(a)?.into_iter();
    let first = sets.next().unwrap_or_default();
    let rest: Vec<Vec<Value>> = sets.collect();
    Ok(Value::set(first.into_iter().filter(|v| rest.iter().all(|s| s.contains(v))).collect()))
}

pub fn setsubtract(a: &[Value], _: &Context) -> Result<Value> {
    let mut sets = unified_sets(a)?.into_iter();
    let (first, second) = (sets.next().unwrap_or_default(), sets.next().unwrap_or_default());
    Ok(Value::set(first.into_iter().filter(|v| !second.contains(v)).collect()))
}

/// Every combination, one element from each argument; a set if any argument is one.
pub fn setproduct(a: &[Value], _: &Context) -> Result<Value> {
    if a.len() < 2 {
        return Err(failed("at least two arguments are required"));
    }
    let any_set = a.iter().any(|v| matches!(v, Value::Set(_)));
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for i in 0..a.len() {
        let items = items_at(a, i)?;
        rows = rows.into_iter().flat_map(|row| items.iter().map(move |item| [row.clone(), vec![item.clone()]].concat())).collect();
    }
    let rows: Vec<Value> = rows.into_iter().map(Value::List).collect();
    Ok(if any_set { Value::set(rows) } else { Value::List(rows) })
}

pub fn slice(a: &[Value], _: &Context) -> Result<Value> {
    let items = sequence_at(a, 0, "cannot slice")?;
    let (start, end) = (integer_at(a, 1)?, integer_at(a, 2)?);
    if start < 0 {
        return Err(arg_err(1, "from index must be greater than or equal to 0"));
    }
    if end > items.len() as i64 {
        return Err(arg_err(2, "to index must be smaller than or equal to the length of the list"));
    }
    if start > end {
        return Err(arg_err(1, "from index must be less than or equal to index"));
    }
    Ok(Value::List(items[start as usize..end as usize].to_vec()))
}

pub fn sort(a: &[Value], _: &Context) -> Result<Value> {
    let mut strings = Vec::new();
    for (i, item) in items_at(a, 0)?.iter().enumerate() {
        match item {
            Value::String(s) => strings.push(s.clone()),
            _ => return Err(arg_err(0, format!("given list element {i} is null; a null string cannot be sorted"))),
        }
    }
    strings.sort();
    Ok(string_list(strings))
}

pub fn tobool(a: &[Value], _: &Context) -> Result<Value> {
    match &a[0] {
        Value::String(s) if s != "true" && s != "false" => {
            Err(arg_err(0, format!("cannot convert {s:?} to bool; only the strings \"true\" or \"false\" are allowed")))
        }
        other => Type::Bool.convert(other.clone()).map_err(|_| arg_err(0, format!("cannot convert {} to bool", other.type_name()))),
    }
}

pub fn tonumber(a: &[Value], _: &Context) -> Result<Value> {
    match &a[0] {
        Value::String(s) => Type::Number.convert(a[0].clone()).map_err(|_| arg_err(0, format!("cannot convert {s:?} to number; given string must be a decimal representation of a number"))),
        other => Type::Number.convert(other.clone()).map_err(|_| arg_err(0, format!("cannot convert {} to number", other.type_name()))),
    }
}

pub fn tostring(a: &[Value], _: &Context) -> Result<Value> {
    match &a[0] {
        Value::List(_) | Value::Set(_) | Value::Map(_) => Err(arg_err(0, format!("cannot convert {} to string", a[0].type_name()))),
        other => Type::String.convert(other.clone()).map_err(|e| arg_err(0, e.to_string())),
    }
}

fn convert_raw(args: Vec<Value>, ty: Type, kind: &str) -> Result<Value> {
    let v = args.into_iter().next().unwrap_or(Value::Null);
    let shape = v.type_name();
    ty.convert(v).map_err(|e| arg_err(0, format!("cannot convert {shape} to {kind}: {e}")))
}

pub fn tolist(args: Vec<Value>) -> Result<Value> {
    convert_raw(args, Type::list(Type::Any), "list")
}

pub fn toset(args: Vec<Value>) -> Result<Value> {
    convert_raw(args, Type::set(Type::Any), "set")
}

pub fn tomap(args: Vec<Value>) -> Result<Value> {
    convert_raw(args, Type::map(Type::Any), "map")
}

pub fn transpose(a: &[Value], _: &Context) -> Result<Value> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, v) in map_at(a, 0)? {
        for item in items_at(std::slice::from_ref(v), 0).map_err(|_| arg_err(0, "input must be a map of lists of strings"))? {
            let Value::String(s) = item else {
                return Err(arg_err(0, "input must be a map of lists of strings"));
            };
            out.entry(s.clone()).or_default().push(Value::String(k.clone()));
        }
    }
    Ok(Value::Map(out.into_iter().map(|(k, v)| (k, Value::List(v))).collect()))
}

pub fn zipmap(a: &[Value], _: &Context) -> Result<Value> {
    let keys = items_at(a, 0)?;
    let values = items_at(a, 1)?;
    if keys.len() != values.len() {
        return Err(failed(format!("number of keys ({}) does not match number of values ({})", keys.len(), values.len())));
    }
    let mut out = ValueMap::with_capacity(keys.len());
    let mut sorted: BTreeMap<&str, &Value> = BTreeMap::new();
    for (i, (k, v)) in keys.iter().zip(values).enumerate() {
        let Value::String(k) = k else {
            return Err(arg_err(0, format!("element {i} is null; cannot use a null value as a map key")));
        };
        sorted.insert(k, v);
    }
    for (k, v) in sorted {
        out.insert(k.to_string(), v.clone());
    }
    Ok(Value::Map(out))
}
