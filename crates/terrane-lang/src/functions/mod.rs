//! Built-in functions: one table of Terraform's names and signatures (held to
//! Terraform's own list by a test), one call path that checks arity, nulls and
//! unknowns, converts each argument to its parameter's type and carries
//! sensitive marks to the result.

mod collections;
mod encoding;

pub use encoding::bcrypt;
mod filesystem;
mod numeric;
mod strings;

use std::path::Path;

use terrane_core::{Number, Type, Value, ValueMap};

#[derive(Debug)]
pub enum CallError {
    Unknown,
    Arg { index: usize, message: String },
    Failed(String),
}

pub type Result<T> = std::result::Result<T, CallError>;

pub fn arg_err(index: usize, message: impl Into<String>) -> CallError {
    CallError::Arg { index, message: message.into() }
}

pub fn failed(message: impl Into<String>) -> CallError {
    CallError::Failed(message.into())
}

/// A parameter's type, as Terraform's function signatures give it.
#[derive(Clone, Copy, Debug)]
pub enum ParamType {
    String,
    Number,
    Bool,
    Dynamic,
    List(&'static ParamType),
    Set(&'static ParamType),
    Map(&'static ParamType),
}

impl ParamType {
    pub fn to_type(self) -> Type {
        match self {
            ParamType::String => Type::String,
            ParamType::Number => Type::Number,
            ParamType::Bool => Type::Bool,
            ParamType::Dynamic => Type::Any,
            ParamType::List(t) => Type::list(t.to_type()),
            ParamType::Set(t) => Type::set(t.to_type()),
            ParamType::Map(t) => Type::map(t.to_type()),
        }
    }

    /// Terraform's JSON spelling of the type (`"string"`, `["list", "dynamic"]`).
    pub fn to_json(self) -> serde_json::Value {
        match self {
            ParamType::String => "string".into(),
            ParamType::Number => "number".into(),
            ParamType::Bool => "bool".into(),
            ParamType::Dynamic => "dynamic".into(),
            ParamType::List(t) => serde_json::json!(["list", t.to_json()]),
            ParamType::Set(t) => serde_json::json!(["set", t.to_json()]),
            ParamType::Map(t) => serde_json::json!(["map", t.to_json()]),
        }
    }
}

#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub nullable: bool,
}

/// What a call needs besides its arguments.
pub struct Context<'a> {
    pub base_dir: &'a Path,
}

type Pure = fn(&[Value], &Context) -> Result<Value>;
type Raw = fn(Vec<Value>) -> Result<Value>;

pub enum Body {
    /// Gets known, unmarked arguments of its parameters' types; the result takes
    /// the arguments' sensitive marks.
    Pure(Pure),
    /// Sees unknown and sensitive arguments as they are.
    Raw(Raw),
    /// Evaluated by the evaluator: it needs unevaluated arguments or the scope.
    Evaluator,
}

pub struct Function {
    pub name: &'static str,
    pub params: &'static [Param],
    pub variadic: Option<Param>,
    pub body: Body,
}

const STR: ParamType = ParamType::String;
const NUM: ParamType = ParamType::Number;
const DYN: ParamType = ParamType::Dynamic;
const LIST_DYN: ParamType = ParamType::List(&DYN);
const LIST_STR: ParamType = ParamType::List(&STR);
const LIST_BOOL: ParamType = ParamType::List(&ParamType::Bool);
const SET_DYN: ParamType = ParamType::Set(&DYN);
const MAP_LIST_STR: ParamType = ParamType::Map(&LIST_STR);

const fn p(name: &'static str, ty: ParamType) -> Param {
    Param { name, ty, nullable: false }
}

const fn nullable(name: &'static str, ty: ParamType) -> Param {
    Param { name, ty, nullable: true }
}

const fn pure(name: &'static str, params: &'static [Param], variadic: Option<Param>, body: Pure) -> Function {
    Function { name, params, variadic, body: Body::Pure(body) }
}

const fn raw(name: &'static str, params: &'static [Param], variadic: Option<Param>, body: Raw) -> Function {
    Function { name, params, variadic, body: Body::Raw(body) }
}

const fn evaluator(name: &'static str, params: &'static [Param], variadic: Option<Param>) -> Function {
    Function { name, params, variadic, body: Body::Evaluator }
}

/// Every built-in function, sorted by name.
pub static FUNCTIONS: &[Function] = &[
    pure("abs", &[p("num", NUM)], None, numeric::abs),
    pure("abspath", &[p("path", STR)], None, filesystem::abspath),
    pure("alltrue", &[p("list", LIST_BOOL)], None, collections::alltrue),
    pure("anytrue", &[p("list", LIST_BOOL)], None, collections::anytrue),
    pure("base64decode", &[p("str", STR)], None, encoding::base64decode),
    pure("base64encode", &[p("str", STR)], None, encoding::base64encode),
    pure("base64gzip", &[p("str", STR)], None, encoding::base64gzip),
    pure("base64sha256", &[p("str", STR)], None, encoding::base64sha256),
    pure("base64sha512", &[p("str", STR)], None, encoding::base64sha512),
    pure("basename", &[p("path", STR)], None, filesystem::basename),
    evaluator("bcrypt", &[p("str", STR)], Some(p("cost", NUM))),
    evaluator("can", &[p("expression", DYN)], None),
    pure("ceil", &[p("num", NUM)], None, numeric::ceil),
    pure("chomp", &[p("str", STR)], None, strings::chomp),
    pure("chunklist", &[p("list", LIST_DYN), p("size", NUM)], None, collections::chunklist),
    pure("cidrhost", &[p("prefix", STR), p("hostnum", NUM)], None, numeric::cidrhost),
    pure("cidrnetmask", &[p("prefix", STR)], None, numeric::cidrnetmask),
    pure("cidrsubnet", &[p("prefix", STR), p("newbits", NUM), p("netnum", NUM)], None, numeric::cidrsubnet),
    pure("cidrsubnets", &[p("prefix", STR)], Some(p("newbits", NUM)), numeric::cidrsubnets),
    raw("coalesce", &[], Some(nullable("vals", DYN)), collections::coalesce),
    pure("coalescelist", &[], Some(nullable("vals", DYN)), collections::coalescelist),
    pure("compact", &[p("list", LIST_STR)], None, collections::compact),
    raw("concat", &[], Some(p("seqs", DYN)), collections::concat),
    pure("contains", &[p("list", DYN), p("value", DYN)], None, collections::contains),
    pure("csvdecode", &[p("str", STR)], None, encoding::csvdecode),
    pure("dirname", &[p("path", STR)], None, filesystem::dirname),
    pure("distinct", &[p("list", LIST_DYN)], None, collections::distinct),
    pure("element", &[p("list", DYN), p("index", NUM)], None, collections::element),
    pure("endswith", &[p("str", STR), p("suffix", STR)], None, strings::endswith),
    raw("ephemeralasnull", &[nullable("value", DYN)], None, collections::ephemeralasnull),
    pure("file", &[p("path", STR)], None, filesystem::file),
    pure("filebase64", &[p("path", STR)], None, filesystem::filebase64),
    pure("filebase64sha256", &[p("path", STR)], None, filesystem::filebase64sha256),
    pure("filebase64sha512", &[p("path", STR)], None, filesystem::filebase64sha512),
    pure("fileexists", &[p("path", STR)], None, filesystem::fileexists),
    pure("filemd5", &[p("path", STR)], None, filesystem::filemd5),
    pure("fileset", &[p("path", STR), p("pattern", STR)], None, filesystem::fileset),
    pure("filesha1", &[p("path", STR)], None, filesystem::filesha1),
    pure("filesha256", &[p("path", STR)], None, filesystem::filesha256),
    pure("filesha512", &[p("path", STR)], None, filesystem::filesha512),
    pure("flatten", &[p("list", DYN)], None, collections::flatten),
    pure("floor", &[p("num", NUM)], None, numeric::floor),
    pure("format", &[p("format", STR)], Some(nullable("args", DYN)), strings::format),
    pure("formatdate", &[p("format", STR), p("time", STR)], None, strings::formatdate),
    pure("formatlist", &[p("format", STR)], Some(nullable("args", DYN)), strings::formatlist),
    pure("indent", &[p("spaces", NUM), p("str", STR)], None, strings::indent),
    pure("index", &[p("list", DYN), p("value", DYN)], None, collections::index),
    raw("issensitive", &[nullable("value", DYN)], None, collections::issensitive),
    pure("join", &[p("separator", STR)], Some(p("lists", LIST_STR)), strings::join),
    pure("jsondecode", &[p("str", STR)], None, encoding::jsondecode),
    pure("jsonencode", &[nullable("val", DYN)], None, encoding::jsonencode),
    raw("keys", &[p("inputMap", DYN)], None, collections::keys),
    raw("length", &[p("value", DYN)], None, collections::length),
    pure("log", &[p("num", NUM), p("base", NUM)], None, numeric::log),
    pure("lookup", &[p("inputMap", DYN), p("key", STR)], Some(nullable("default", DYN)), collections::lookup),
    pure("lower", &[p("str", STR)], None, strings::lower),
    pure("matchkeys", &[p("values", LIST_DYN), p("keys", LIST_DYN), p("searchset", LIST_DYN)], None, collections::matchkeys),
    pure("max", &[], Some(p("numbers", NUM)), numeric::max),
    pure("md5", &[p("str", STR)], None, encoding::md5),
    raw("merge", &[], Some(nullable("maps", DYN)), collections::merge),
    pure("min", &[], Some(p("numbers", NUM)), numeric::min),
    raw("nonsensitive", &[nullable("value", DYN)], None, collections::nonsensitive),
    pure("one", &[p("list", DYN)], None, collections::one),
    pure("parseint", &[p("number", DYN), p("base", NUM)], None, numeric::parseint),
    pure("pathexpand", &[p("path", STR)], None, filesystem::pathexpand),
    evaluator("plantimestamp", &[], None),
    pure("pow", &[p("num", NUM), p("power", NUM)], None, numeric::pow),
    pure("range", &[], Some(p("params", NUM)), numeric::range),
    pure("regex", &[p("pattern", STR), p("string", STR)], None, strings::regex),
    pure("regexall", &[p("pattern", STR), p("string", STR)], None, strings::regexall),
    pure("replace", &[p("str", STR), p("substr", STR), p("replace", STR)], None, strings::replace),
    pure("reverse", &[p("list", DYN)], None, collections::reverse),
    pure("rsadecrypt", &[p("ciphertext", STR), p("privatekey", STR)], None, encoding::rsadecrypt),
    raw("sensitive", &[nullable("value", DYN)], None, collections::sensitive),
    pure("setintersection", &[p("first_set", SET_DYN)], Some(p("other_sets", SET_DYN)), collections::setintersection),
    pure("setproduct", &[], Some(p("sets", DYN)), collections::setproduct),
    pure("setsubtract", &[p("a", SET_DYN), p("b", SET_DYN)], None, collections::setsubtract),
    pure("setunion", &[p("first_set", SET_DYN)], Some(p("other_sets", SET_DYN)), collections::setunion),
    pure("sha1", &[p("str", STR)], None, encoding::sha1),
    pure("sha256", &[p("str", STR)], None, encoding::sha256),
    pure("sha512", &[p("str", STR)], None, encoding::sha512),
    pure("signum", &[p("num", NUM)], None, numeric::signum),
    pure("slice", &[p("list", DYN), p("start_index", NUM), p("end_index", NUM)], None, collections::slice),
    pure("sort", &[p("list", LIST_STR)], None, collections::sort),
    pure("split", &[p("separator", STR), p("str", STR)], None, strings::split),
    pure("startswith", &[p("str", STR), p("prefix", STR)], None, strings::startswith),
    pure("strcontains", &[p("str", STR), p("substr", STR)], None, strings::strcontains),
    pure("strrev", &[p("str", STR)], None, strings::strrev),
    pure("substr", &[p("str", STR), p("offset", NUM), p("length", NUM)], None, strings::substr),
    pure("sum", &[p("list", DYN)], None, numeric::sum),
    evaluator("templatefile", &[p("path", STR), p("vars", DYN)], None),
    evaluator("templatestring", &[p("template", STR), p("vars", DYN)], None),
    pure("textdecodebase64", &[p("source", STR), p("encoding", STR)], None, encoding::textdecodebase64),
    pure("textencodebase64", &[p("string", STR), p("encoding", STR)], None, encoding::textencodebase64),
    pure("timeadd", &[p("timestamp", STR), p("duration", STR)], None, strings::timeadd),
    pure("timecmp", &[p("timestamp_a", STR), p("timestamp_b", STR)], None, strings::timecmp),
    evaluator("timestamp", &[], None),
    pure("title", &[p("str", STR)], None, strings::title),
    pure("tobool", &[nullable("v", DYN)], None, collections::tobool),
    raw("tolist", &[nullable("v", DYN)], None, collections::tolist),
    raw("tomap", &[nullable("v", DYN)], None, collections::tomap),
    pure("tonumber", &[nullable("v", DYN)], None, collections::tonumber),
    raw("toset", &[nullable("v", DYN)], None, collections::toset),
    pure("tostring", &[nullable("v", DYN)], None, collections::tostring),
    pure("transpose", &[p("values", MAP_LIST_STR)], None, collections::transpose),
    pure("trim", &[p("str", STR), p("cutset", STR)], None, strings::trim),
    pure("trimprefix", &[p("str", STR), p("prefix", STR)], None, strings::trimprefix),
    pure("trimspace", &[p("str", STR)], None, strings::trimspace),
    pure("trimsuffix", &[p("str", STR), p("suffix", STR)], None, strings::trimsuffix),
    evaluator("try", &[], Some(p("expressions", DYN))),
    pure("upper", &[p("str", STR)], None, strings::upper),
    pure("urlencode", &[p("str", STR)], None, strings::urlencode),
    evaluator("uuid", &[], None),
    pure("uuidv5", &[p("namespace", STR), p("name", STR)], None, encoding::uuidv5),
    pure("values", &[p("mapping", DYN)], None, collections::values),
    pure("yamldecode", &[p("src", STR)], None, encoding::yamldecode),
    pure("yamlencode", &[nullable("value", DYN)], None, encoding::yamlencode),
    pure("zipmap", &[p("keys", LIST_STR), p("values", DYN)], None, collections::zipmap),
];

/// The function a call names; `core::NAME` is the same function as `NAME`.
pub fn lookup(name: &str) -> Option<&'static Function> {
    let name = name.strip_prefix("core::").unwrap_or(name);
    FUNCTIONS.binary_search_by(|f| f.name.cmp(name)).ok().map(|i| &FUNCTIONS[i])
}

pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.name)
}

impl Function {
    /// The parameter an argument at `index` is given for.
    pub fn param(&self, index: usize) -> Option<&Param> {
        self.params.get(index).or(self.variadic.as_ref())
    }

    pub fn check_arity(&self, given: usize) -> Result<()> {
        let wanted = self.params.len();
        if given < wanted {
            let missing = &self.params[given];
            return Err(failed(format!(
                "not enough function arguments: {} expects {wanted}{}, got {given}; \"{}\" is missing",
                self.name,
                if self.variadic.is_some() { " or more" } else { "" },
                missing.name
            )));
        }
        if given > wanted && self.variadic.is_none() {
            return Err(failed(format!(
                "too many function arguments: {} expects {wanted} argument{}, got {given}",
                self.name,
                if wanted == 1 { "" } else { "s" }
            )));
        }
        Ok(())
    }
}

pub fn call(name: &str, args: Vec<Value>, base_dir: &Path) -> Result<Value> {
    let function = lookup(name).ok_or(CallError::Unknown)?;
    function.check_arity(args.len())?;
    for (i, arg) in args.iter().enumerate() {
        let param = function.param(i).ok_or(CallError::Unknown)?;
        if arg.is_null() && !param.nullable {
            return Err(arg_err(i, format!("Invalid value for \"{}\" parameter: argument must not be null.", param.name)));
        }
    }
    match function.body {
        Body::Raw(body) => body(args),
        Body::Evaluator => Err(failed(format!("{name} cannot be called here"))),
        Body::Pure(body) => {
            if args.iter().any(|a| !a.is_wholly_known()) {
                return Ok(Value::Unknown);
            }
            let marked = args.iter().any(Value::contains_sensitive);
            let mut converted = Vec::with_capacity(args.len());
            for (i, arg) in args.into_iter().enumerate() {
                let param = function.param(i).ok_or(CallError::Unknown)?;
                let plain = arg.unmark_deep().0;
                let value = match param.ty {
                    ParamType::Dynamic => plain,
                    ty => ty.to_type().convert(plain).map_err(|e| arg_err(i, format!("Invalid value for \"{}\" parameter: {e}.", param.name)))?,
                };
                converted.push(value);
            }
            let out = body(&converted, &Context { base_dir })?;
            Ok(out.mark_if(marked))
        }
    }
}

// Argument accessors: the call path has converted each argument to its
// parameter's type, so a mismatch here is a null or a dynamic parameter.

pub fn string_at(a: &[Value], i: usize) -> Result<&str> {
    match a.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(arg_err(i, format!("a string is required, got {}", other.type_name()))),
        None => Err(failed("missing argument")),
    }
}

pub fn number_at(a: &[Value], i: usize) -> Result<&Number> {
    match a.get(i) {
        Some(Value::Number(n)) => Ok(n),
        Some(other) => Err(arg_err(i, format!("a number is required, got {}", other.type_name()))),
        None => Err(failed("missing argument")),
    }
}

/// A whole number that fits in 64 bits.
pub fn integer_at(a: &[Value], i: usize) -> Result<i64> {
    let n = number_at(a, i)?;
    n.to_i64().ok_or_else(|| arg_err(i, format!("a whole number is required, got {n}")))
}

pub fn items_at(a: &[Value], i: usize) -> Result<&[Value]> {
    match a.get(i) {
        Some(Value::List(items) | Value::Set(items)) => Ok(items),
        Some(other) => Err(arg_err(i, format!("a list, set or tuple is required, got {}", other.type_name()))),
        None => Err(failed("missing argument")),
    }
}

pub fn map_at(a: &[Value], i: usize) -> Result<&ValueMap<Value>> {
    match a.get(i) {
        Some(Value::Map(m)) => Ok(m),
        Some(other) => Err(arg_err(i, format!("a map or object is required, got {}", other.type_name()))),
        None => Err(failed("missing argument")),
    }
}

pub fn string_list(items: impl IntoIterator<Item = String>) -> Value {
    Value::List(items.into_iter().map(Value::String).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_lookup() {
        assert!(FUNCTIONS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(lookup("core::upper").map(|f| f.name), Some("upper"));
        assert!(lookup("nosuch").is_none());
    }
}
