//! Type constraints of the Terraform language and its conversion rules.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use crate::number::Number;
use crate::value::{format_path, AttrPath, PathStep, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Any,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Tuple(Vec<Type>),
    Object(BTreeMap<String, ObjectAttr>),
}

/// One attribute of an object type; `optional(T, default)` sets `optional` and `default`.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectAttr {
    pub ty: Type,
    pub optional: bool,
    pub default: Option<Value>,
}

impl ObjectAttr {
    pub fn required(ty: Type) -> ObjectAttr {
        ObjectAttr { ty, optional: false, default: None }
    }
}

/// Why a value does not fit a type, and where inside the value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{}: ", format_path(path)) })]
pub struct ConversionError {
    pub path: AttrPath,
    pub message: String,
}

fn fail(message: impl Into<String>) -> ConversionError {
    ConversionError { path: Vec::new(), message: message.into() }
}

impl ConversionError {
    /// Conversion errors collect their path innermost step first, on the way out, so
    /// a conversion that succeeds never builds one; `Type::convert` puts it in order.
    fn within(mut self, step: PathStep) -> ConversionError {
        self.path.push(step);
        self
    }
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    /// Converts `value` to this type with Terraform's automatic conversions.
    pub fn convert(&self, value: Value) -> Result<Value, ConversionError> {
        self.convert_in_place(value).map_err(|mut e| {
            e.path.reverse();
            e
        })
    }

    /// Lists and maps are converted in their own storage: state loading and refresh
    /// convert every stored object, and new storage for each was most of their memory.
    fn convert_in_place(&self, value: Value) -> Result<Value, ConversionError> {
        let (value, marked) = value.into_unmarked();
        if matches!(value, Value::Null | Value::Unknown) {
            return Ok(value.mark_if(marked));
        }
        let converted = match (self, value) {
            (Type::Any, v) => v,
            (Type::String, Value::String(s)) => Value::String(s),
            (Type::String, Value::Number(n)) => Value::String(n.to_string()),
            (Type::String, Value::Bool(b)) => Value::String(b.to_string()),
            (Type::Number, Value::Number(n)) => Value::Number(n),
            (Type::Number, Value::String(s)) => match Number::parse(&s) {
                Some(n) => Value::Number(n),
                None => return Err(fail(format!("a number is required, got the string {s:?}"))),
            },
            (Type::Bool, Value::Bool(b)) => Value::Bool(b),
            (Type::Bool, Value::String(s)) if s == "true" || s == "false" => Value::Bool(s == "true"),
            (Type::List(elem), Value::List(items) | Value::Set(items)) => {
                let elem = element_type(elem, items.iter(), "list")?;
                Value::List(common_element_type(convert_items(&elem, items)?, &elem)?)
            }
            (Type::Set(elem), Value::List(items) | Value::Set(items)) => {
                let elem = element_type(elem, items.iter(), "set")?;
                Value::set(common_element_type(convert_items(&elem, items)?, &elem)?)
            }
            (Type::Map(elem), Value::Map(mut map)) => {
                let elem = element_type(elem, map.values(), "map")?;
                for (k, v) in map.iter_mut() {
                    let item = std::mem::replace(v, Value::Null);
                    *v = elem.convert_in_place(item).map_err(|e| e.within(PathStep::Attr(k.clone())))?;
                }
                if elem.has_any() {
                    let keys: Vec<String> = map.keys().cloned().collect();
                    let values = common_element_type(map.into_values().collect(), &elem)?;
                    Value::Map(keys.into_iter().zip(values).collect())
                } else {
                    Value::Map(map)
                }
            }
            (Type::Tuple(types), Value::List(mut items)) => {
                if types.len() != items.len() {
                    return Err(fail(format!("a tuple of {} elements is required, got {}", types.len(), items.len())));
                }
                for (i, (t, v)) in types.iter().zip(items.iter_mut()).enumerate() {
                    let item = std::mem::replace(v, Value::Null);
                    *v = t.convert_in_place(item).map_err(|e| e.within(PathStep::Index(i)))?;
                }
                Value::List(items)
            }
            (Type::Object(attrs), Value::Map(map)) => {
                // Both are sorted by name: one walk pairs them, and a stored attribute
                // keeps its key's string. Attributes the type does not declare are dropped.
                let mut out = crate::ValueMap::with_capacity(attrs.len());
                let mut given = map.into_iter().peekable();
                for (name, attr) in attrs {
                    while given.next_if(|(k, _)| k < name).is_some() {}
                    let (key, found) = match given.next_if(|(k, _)| k == name) {
                        Some((k, v)) => (k, Some(v)),
                        None => (name.clone(), None),
                    };
                    let value = match found {
                        Some(v) if !v.is_null() => attr.ty.convert_in_place(v),
                        Some(_) | None if attr.optional => match &attr.default {
                            Some(d) => attr.ty.convert_in_place(d.clone()),
                            None => Ok(Value::Null),
                        },
                        Some(v) => Ok(v),
                        None => return Err(fail(format!("attribute {name:?} is required"))),
                    };
                    out.insert(key, value.map_err(|e| e.within(PathStep::Attr(name.clone())))?);
                }
                Value::Map(out)
            }
            (ty, v) => {
                return Err(fail(format!("{} required, got {}", ty.article(), describe(&v))));
            }
        };
        Ok(converted.mark_if(marked))
    }

    fn article(&self) -> String {
        match self {
            Type::Any => "a value".into(),
            Type::Object(_) => "an object".into(),
            other => format!("a {other}"),
        }
    }
}

/// The element type a collection converts to: the constraint's own, or for `any`
/// the one type every element converts to (HCL's unification).
fn element_type<'t, 'a>(elem: &'t Type, items: impl Iterator<Item = &'a Value>, kind: &str) -> Result<Cow<'t, Type>, ConversionError> {
    if *elem != Type::Any {
        return Ok(Cow::Borrowed(elem));
    }
    let types: Vec<Type> = items.map(Type::of).collect();
    match unify(&types) {
        Some(t) => Ok(Cow::Owned(t)),
        None => Err(fail(format!("all {kind} elements must have the same type"))),
    }
}

impl Type {
    /// The type the language gives a value written as a literal: lists are tuples,
    /// maps are objects, null and unknown are of any type.
    pub fn of(value: &Value) -> Type {
        match value.unmarked() {
            Value::Null | Value::Unknown | Value::Sensitive(_) => Type::Any,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(items) => Type::Tuple(items.iter().map(Type::of).collect()),
            Value::Set(items) => {
                let types: Vec<Type> = items.iter().map(Type::of).collect();
                Type::set(unify(&types).unwrap_or(Type::Any))
            }
            Value::Map(map) => Type::Object(map.iter().map(|(k, v)| (k.clone(), ObjectAttr::required(Type::of(v)))).collect()),
        }
    }

    /// Whether `any` appears anywhere in the type.
    pub fn has_any(&self) -> bool {
        match self {
            Type::Any => true,
            Type::String | Type::Number | Type::Bool => false,
            Type::List(t) | Type::Set(t) | Type::Map(t) => t.has_any(),
            Type::Tuple(ts) => ts.iter().any(Type::has_any),
            Type::Object(attrs) => attrs.values().any(|a| a.ty.has_any()),
        }
    }

    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::String | Type::Number | Type::Bool)
    }
}

/// One type that every given type converts to, as HCL unifies the element types of
/// a collection or the two results of a conditional: equal types stay, strings win
/// over numbers and bools, tuples of one length and objects of one shape unify
/// element by element. A value does not carry whether it came from a list or a
/// map variable or from a literal, so tuples of other lengths unify as lists and
/// objects of other shapes as maps (what list- and map-typed values would do).
pub fn unify(types: &[Type]) -> Option<Type> {
    let known: Vec<&Type> = types.iter().filter(|t| **t != Type::Any).collect();
    let Some(first) = known.first() else { return Some(Type::Any) };
    if known.iter().all(|t| t == first) {
        return Some((*first).clone());
    }
    if known.iter().all(|t| t.is_primitive()) {
        // Numbers and bools both convert to strings; they do not convert to each other.
        return known.contains(&&Type::String).then_some(Type::String);
    }
    let sequence = |t: &Type| matches!(t, Type::List(_) | Type::Tuple(_));
    let record = |t: &Type| matches!(t, Type::Map(_) | Type::Object(_));
    if known.iter().all(|t| sequence(t)) {
        if let Some(Type::Tuple(first)) = known.first() {
            let same_length = known.iter().all(|t| matches!(t, Type::Tuple(ts) if ts.len() == first.len()));
            if same_length {
                let unified = (0..first.len())
                    .map(|i| {
                        let column: Vec<Type> = known.iter().map(|t| if let Type::Tuple(ts) = t { ts[i].clone() } else { Type::Any }).collect();
                        unify(&column)
                    })
                    .collect::<Option<Vec<Type>>>()?;
                return Some(Type::Tuple(unified));
            }
        }
        let elements: Vec<Type> = known.iter().flat_map(|t| element_types(t)).collect();
        return unify(&elements).map(Type::list);
    }
    if known.iter().all(|t| matches!(t, Type::Set(_))) {
        let elements: Vec<Type> = known.iter().flat_map(|t| element_types(t)).collect();
        return unify(&elements).map(Type::set);
    }
    // Sets with lists make a list (a set converts to a list, not the other
    // way); sets with only tuples stay a set.
    if known.iter().all(|t| sequence(t) || matches!(t, Type::Set(_))) {
        let elements: Vec<Type> = known.iter().flat_map(|t| element_types(t)).collect();
        let collection = if known.iter().any(|t| matches!(t, Type::List(_))) { Type::list } else { Type::set };
        return unify(&elements).map(collection);
    }
    if known.iter().all(|t| record(t)) {
        if let Some(Type::Object(first)) = known.first() {
            let same_shape = known.iter().all(|t| matches!(t, Type::Object(a) if a.keys().eq(first.keys())));
            if same_shape {
                let mut attrs = BTreeMap::new();
                for name in first.keys() {
                    let column: Vec<Type> = known.iter().map(|t| if let Type::Object(a) = t { a[name].ty.clone() } else { Type::Any }).collect();
                    attrs.insert(name.clone(), ObjectAttr::required(unify(&column)?));
                }
                return Some(Type::Object(attrs));
            }
        }
        let elements: Vec<Type> = known.iter().flat_map(|t| element_types(t)).collect();
        return unify(&elements).map(Type::map);
    }
    None
}

fn element_types(t: &Type) -> Vec<Type> {
    match t {
        Type::List(e) | Type::Set(e) | Type::Map(e) => vec![(**e).clone()],
        Type::Tuple(ts) => ts.clone(),
        Type::Object(attrs) => attrs.values().map(|a| a.ty.clone()).collect(),
        other => vec![other.clone()],
    }
}

fn describe(value: &Value) -> String {
    match value.unmarked() {
        Value::String(_) => "a string".into(),
        Value::Number(_) => "a number".into(),
        Value::Bool(_) => "a bool".into(),
        Value::List(_) => "a list".into(),
        Value::Set(_) => "a set".into(),
        Value::Map(_) => "an object".into(),
        other => other.type_name().into(),
    }
}

/// A collection's elements all have one type: where the element type leaves
/// some of it open (`list(map(any))`), the elements, each converted on its
/// own, are converted again to the type they unify to.
fn common_element_type(items: Vec<Value>, elem: &Type) -> Result<Vec<Value>, ConversionError> {
    if !elem.has_any() || items.len() < 2 {
        return Ok(items);
    }
    let types: Vec<Type> = items.iter().map(Type::of).collect();
    let common = unify(&types).ok_or_else(|| fail("cannot find a common base type for all elements".to_string()))?;
    convert_items(&common, items)
}

fn convert_items(elem: &Type, mut items: Vec<Value>) -> Result<Vec<Value>, ConversionError> {
    for (i, v) in items.iter_mut().enumerate() {
        let item = std::mem::replace(v, Value::Null);
        *v = elem.convert_in_place(item).map_err(|e| e.within(PathStep::Index(i)))?;
    }
    Ok(items)
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => write!(f, "any"),
            Type::String => write!(f, "string"),
            Type::Number => write!(f, "number"),
            Type::Bool => write!(f, "bool"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Tuple(ts) => {
                write!(f, "tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{t}")?;
                }
                write!(f, "])")
            }
            Type::Object(attrs) => {
                write!(f, "object({{")?;
                for (i, (k, a)) in attrs.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    if a.optional {
                        write!(f, "{k} = optional({})", a.ty)?;
                    } else {
                        write!(f, "{k} = {}", a.ty)?;
                    }
                }
                write!(f, "}})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ty: Type, input: Value, expected: Result<&str, &str>) {
        let got = ty.convert(input).map(|v| v.to_string()).map_err(|e| e.to_string());
        assert_eq!(got.as_deref().map_err(String::as_str), expected);
    }

    #[test]
    fn conversions_follow_terraform_rules() {
        check(Type::String, Value::number(5), Ok("\"5\""));
        check(Type::Number, Value::string("5"), Ok("5"));
        check(Type::Number, Value::string("five"), Err("a number is required, got the string \"five\""));
        check(Type::Bool, Value::string("true"), Ok("true"));
        check(Type::list(Type::String), Value::List(vec![Value::number(1)]), Ok("[\"1\"]"));
        check(Type::set(Type::String), Value::List(vec![Value::string("b"), Value::string("a")]), Ok("[\"a\", \"b\"]"));
        check(Type::String, Value::List(vec![]), Err("a string required, got a list"));
        check(Type::map(Type::Number), Value::map([("a", Value::string("x"))]), Err("a: a number is required, got the string \"x\""));
    }

    #[test]
    fn objects_fill_optional_attributes_and_require_the_rest() {
        let ty = Type::Object(BTreeMap::from([
            ("name".to_string(), ObjectAttr::required(Type::String)),
            ("size".to_string(), ObjectAttr { ty: Type::Number, optional: true, default: Some(Value::number(1)) }),
        ]));
        check(ty.clone(), Value::map([("name", Value::string("a"))]), Ok("{name = \"a\", size = 1}"));
        check(ty, Value::map([("size", Value::number(2))]), Err("attribute \"name\" is required"));
    }

    #[test]
    fn a_nested_error_names_the_path_outermost_first() {
        let ty = Type::Object(BTreeMap::from([(
            "rules".to_string(),
            ObjectAttr::required(Type::list(Type::map(Type::Number))),
        )]));
        let input = Value::map([(
            "rules",
            Value::List(vec![Value::map([("a", Value::number(1))]), Value::map([("a", Value::number(2)), ("b", Value::string("x"))])]),
        )]);
        let e = ty.convert(input).unwrap_err();
        assert_eq!(e.path, vec![PathStep::Attr("rules".into()), PathStep::Index(1), PathStep::Attr("b".into())]);
        check(Type::Tuple(vec![Type::String, Type::Number]), Value::List(vec![Value::string("a"), Value::string("b")]), Err("[1]: a number is required, got the string \"b\""));
    }

    #[test]
    fn objects_keep_declared_attributes_in_order_and_drop_the_rest() {
        let ty = Type::Object(BTreeMap::from([
            ("b".to_string(), ObjectAttr::required(Type::String)),
            ("d".to_string(), ObjectAttr { ty: Type::String, optional: true, default: None }),
            ("f".to_string(), ObjectAttr::required(Type::Number)),
        ]));
        let input = Value::map([("a", Value::Bool(true)), ("b", Value::number(1)), ("c", Value::Null), ("e", Value::Null), ("f", Value::string("2"))]);
        check(ty, input, Ok("{b = \"1\", d = null, f = 2}"));
    }

    fn obj(attrs: &[(&str, Type)]) -> Type {
        Type::Object(attrs.iter().map(|(k, t)| (k.to_string(), ObjectAttr::required(t.clone()))).collect())
    }

    /// Each pair of kinds, with the type Terraform 1.11 unifies it to (None where
    /// it reports inconsistent types); checked against `terraform console`.
    #[test]
    fn unification_of_every_pair_of_kinds() {
        use Type::{Any, Bool, Number, String as Str};
        let tuple = Type::Tuple;
        let cases: Vec<(Type, Type, Option<Type>)> = vec![
            (Number, Str, Some(Str)),
            (Bool, Str, Some(Str)),
            (Number, Bool, None),
            (Any, Number, Some(Number)),
            (Any, Any, Some(Any)),
            (Type::list(Number), Type::list(Str), Some(Type::list(Str))),
            (tuple(vec![Number]), tuple(vec![Str]), Some(tuple(vec![Str]))),
            (tuple(vec![Number, Str]), tuple(vec![Str, Str]), Some(tuple(vec![Str, Str]))),
            // `tolist([[1], ["a", "b"]])` is a list of lists of strings.
            (tuple(vec![Number]), tuple(vec![Str, Str]), Some(Type::list(Str))),
            (tuple(vec![]), Type::list(Str), Some(Type::list(Str))),
            (Type::set(Number), Type::set(Str), Some(Type::set(Str))),
            (Type::map(Number), Type::map(Bool), None),
            (Type::map(Number), obj(&[("a", Str)]), Some(Type::map(Str))),
            (obj(&[("a", Number)]), obj(&[("a", Str)]), Some(obj(&[("a", Str)]))),
            // `true ? {a = 1} : {b = 2}` is a map of numbers.
            (obj(&[("a", Number)]), obj(&[("b", Number)]), Some(Type::map(Number))),
            (obj(&[("a", Number)]), obj(&[("b", Bool)]), None),
            // `true ? tolist(["a"]) : toset(["b"])` is a list.
            (Type::list(Str), Type::set(Str), Some(Type::list(Str))),
            (tuple(vec![Str]), obj(&[("a", Str)]), None),
            (Str, Type::list(Str), None),
            (tuple(vec![tuple(vec![Number])]), tuple(vec![tuple(vec![Str])]), Some(tuple(vec![tuple(vec![Str])]))),
            (tuple(vec![obj(&[("a", Number)])]), tuple(vec![obj(&[("a", Bool)])]), None),
            // The collection kinds that never meet.
            (Type::list(Str), Type::map(Str), None),
            (Type::list(Str), obj(&[("a", Str)]), None),
            (Type::set(Str), Type::map(Str), None),
            (Type::set(Str), obj(&[("a", Str)]), None),
            (Type::map(Str), tuple(vec![Number]), None),
            (tuple(vec![]), obj(&[]), None),
            // A tuple meets a set or list element by element.
            (Type::set(Str), tuple(vec![Number]), Some(Type::set(Str))),
            (Type::set(Str), tuple(vec![Number, Bool]), Some(Type::set(Str))),
            (Type::list(Number), tuple(vec![Number, Str]), Some(Type::list(Str))),
            // `{a = [1]}` and `{a = ["x", "y"]}`: the same keys, tuples of two lengths.
            (obj(&[("a", tuple(vec![Number]))]), obj(&[("a", tuple(vec![Str, Str]))]), Some(obj(&[("a", Type::list(Str))]))),
            // `tomap({a = [1]})` and `{b = ["x"]}`.
            (Type::map(tuple(vec![Number])), obj(&[("b", tuple(vec![Str]))]), Some(Type::map(tuple(vec![Str])))),
            (Type::list(Type::list(Number)), tuple(vec![Type::list(Number)]), Some(Type::list(Type::list(Number)))),
        ];
        for (a, b, want) in cases {
            assert_eq!(unify(&[a.clone(), b.clone()]), want, "unify({a}, {b})");
            assert_eq!(unify(&[b.clone(), a.clone()]), want, "unify({b}, {a})");
        }
    }

    /// Three or more types meet at one: `[{a = 1}]` and `[{a = "x"}, {a = true}]`
    /// give a list of `object({a = string})`, though number and bool alone do not meet.
    #[test]
    fn unification_of_many_types_finds_one_they_all_convert_to() {
        use Type::{Bool, Number, String as Str};
        let obj_a = |t: Type| obj(&[("a", t)]);
        let got = unify(&[Type::Tuple(vec![obj_a(Number)]), Type::Tuple(vec![obj_a(Str), obj_a(Bool)])]);
        assert_eq!(got, Some(Type::list(obj_a(Str))));
        assert_eq!(unify(&[Number, Bool, Str]), Some(Str));
        assert_eq!(unify(&[Number, Bool]), None);
    }

    #[test]
    fn conversion_to_collections_of_any_unifies_the_elements() {
        let n = |i: i64| Value::number(i);
        check(Type::list(Type::Any), Value::List(vec![n(1), Value::string("a")]), Ok(r#"["1", "a"]"#));
        check(Type::list(Type::Any), Value::List(vec![n(1), Value::Bool(true)]), Err("all list elements must have the same type"));
        check(Type::set(Type::Any), Value::List(vec![n(1), Value::string("1")]), Ok(r#"["1"]"#));
        check(Type::map(Type::Any), Value::map([("a", n(1)), ("b", Value::string("x"))]), Ok(r#"{a = "1", b = "x"}"#));
        check(Type::list(Type::Any), Value::List(vec![Value::List(vec![n(1)]), Value::List(vec![Value::string("a"), Value::string("b")])]), Ok(r#"[["1"], ["a", "b"]]"#));
        check(Type::list(Type::Any), Value::List(vec![Value::Null, Value::string("a")]), Ok(r#"[null, "a"]"#));
        check(Type::map(Type::Any), Value::map([("a", Value::List(vec![n(1)])), ("b", Value::map([("x", n(1))]))]), Err("all map elements must have the same type"));
    }

    /// A value of each collection kind converted to each other kind, as
    /// `tolist`, `toset`, `tomap` and type constraints convert in Terraform 1.11.
    #[test]
    fn conversion_between_every_pair_of_collection_kinds() {
        let s = Value::string;
        let list = || Value::List(vec![s("b"), s("a"), s("b")]);
        let set = || Value::set(vec![s("b"), s("a")]);
        let record = || Value::map([("a", Value::number(1)), ("b", s("2"))]);
        let strings = Type::String;
        // list or tuple to set: sorted, duplicates gone; set to list: the set's order.
        check(Type::set(strings.clone()), list(), Ok(r#"["a", "b"]"#));
        check(Type::list(strings.clone()), set(), Ok(r#"["a", "b"]"#));
        // A set has no order to give a tuple's positions ("tuple required").
        check(Type::Tuple(vec![strings.clone(), strings.clone()]), set(), Err("a tuple([string, string]) required, got a set"));
        // object to map and map to object.
        check(Type::map(Type::Number), record(), Ok("{a = 1, b = 2}"));
        let object = Type::Object(BTreeMap::from([("a".to_string(), ObjectAttr::required(strings.clone()))]));
        check(object, Value::map([("a", Value::number(1))]), Ok(r#"{a = "1"}"#));
        // Sequences and records never convert into each other.
        check(Type::map(strings.clone()), list(), Err("a map(string) required, got a list"));
        check(Type::list(strings.clone()), record(), Err("a list(string) required, got an object"));
        check(Type::set(strings.clone()), record(), Err("a set(string) required, got an object"));
        check(Type::map(strings.clone()), set(), Err("a map(string) required, got a set"));
        // Nested: a tuple of objects to a list of maps, unifying on the way.
        let nested = Value::List(vec![Value::map([("x", Value::number(1))]), Value::map([("y", Value::Bool(true))])]);
        check(Type::list(Type::map(Type::Any)), nested.clone(), Err("cannot find a common base type for all elements"));
        let mixed = Value::List(vec![Value::map([("x", Value::number(1))]), Value::map([("y", s("a"))])]);
        check(Type::list(Type::map(Type::Any)), mixed, Ok(r#"[{x = "1"}, {y = "a"}]"#));
        check(Type::list(Type::map(strings.clone())), nested, Ok(r#"[{x = "1"}, {y = "true"}]"#));
    }

    #[test]
    fn sensitive_marks_survive_conversion() {
        let v = Type::String.convert(Value::number(1).sensitive()).unwrap();
        assert!(v.is_sensitive());
    }
}
