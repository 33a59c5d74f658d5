//! The evaluator and functions, case by case: an expression in, a value or an
//! error message out.

use std::path::Path;

use terrane_core::{Diagnostic, SourceFile, Span, Value};
use terrane_lang::ast::Lowering;
use terrane_lang::{eval, Scope, Traverser};

/// `var.NAME` for a few fixed values, including a secret and an unknown.
struct Vars;

impl Scope for Vars {
    fn resolve(&self, root: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        let name = match (root, steps.first()) {
            ("var", Some(Traverser::Attr(name, _))) => name.as_str(),
            _ => return Err(Diagnostic::error("test::scope", format!("no {root}")).at(span)),
        };
        let value = match name {
            "name" => Value::string("web"),
            "n" => Value::number(3),
            "list" => Value::List(vec![Value::string("a"), Value::string("b"), Value::string("c")]),
            "map" => Value::map([("x", Value::number(1)), ("y", Value::number(2))]),
            "objs" => Value::List(vec![
                Value::map([("id", Value::string("i-1")), ("tags", Value::map([("env", Value::string("dev"))]))]),
                Value::map([("id", Value::string("i-2")), ("tags", Value::map([("env", Value::string("prd"))]))]),
            ]),
            "secret" => Value::string("hunter2").sensitive(),
            "later" => Value::Unknown,
            _ => return Err(Diagnostic::error("test::scope", format!("no var.{name}")).at(span)),
        };
        Ok((value, 1))
    }

    /// cargo runs tests in the package's directory; a path fixed at build time
    /// would point at whichever checkout built the binary.
    fn base_dir(&self) -> &Path {
        Path::new(".")
    }
}

/// Evaluates `src`: `Ok(value as text)` or `Err(summary: detail)`.
fn run(src: &str) -> Result<String, String> {
    let file = SourceFile::new("test.tf", src);
    let expr = terrane_lang::parse::parse_expr(src).map_err(|e| format!("parse: {}", e.message()))?;
    let expr = Lowering { file: &file, base: 0 }.expr(&expr);
    eval(&expr, &Vars).map(|v| v.to_string()).map_err(|d| match d.detail {
        Some(detail) => format!("{}: {detail}", d.summary),
        None => d.summary,
    })
}

#[track_caller]
fn check(cases: &[(&str, &str)]) {
    for (src, expected) in cases {
        let got = match run(src) {
            Ok(v) => v,
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(&got, expected, "for {src}");
    }
}

#[test]
fn operators_and_references() {
    check(&[
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7 % 4", "3"),
        ("10 / 4", "2.5"),
        ("\"5\" + 1", "6"),
        ("1 == 1", "true"),
        ("1 == \"1\"", "false"),
        ("!true || false", "false"),
        ("var.n > 2 && var.name == \"web\"", "true"),
        ("var.list[1]", "\"b\""),
        ("var.map.y", "2"),
        ("var.map[\"x\"]", "1"),
        ("var.objs[*].id", "[\"i-1\", \"i-2\"]"),
        ("var.objs.*.tags.env", "[\"dev\", \"prd\"]"),
        ("var.n > 1 ? \"many\" : \"one\"", "\"many\""),
        ("-var.n", "-3"),
        ("1 / 0", "+Inf"),
        ("0 / 0", "error: can't divide zero by zero or infinity by infinity"),
        ("5 % 0", "5"),
        ("var.list[5]", "error: index 5 is out of range for a list of 3 elements"),
        ("var.map.z", "error: this object has no attribute named \"z\""),
        ("var.nope", "error: no var.nope"),
    ]);
}

#[test]
fn templates_and_for_expressions() {
    check(&[
        ("\"${var.name}-${var.n}\"", "\"web-3\""),
        ("\"${var.n}\"", "3"),
        ("\"%{ for x in var.list }${x}%{ endfor }\"", "\"abc\""),
        ("\"%{ if var.n > 5 }big%{ else }small%{ endif }\"", "\"small\""),
        ("[for x in var.list : upper(x)]", "[\"A\", \"B\", \"C\"]"),
        ("[for i, x in var.list : \"${i}${x}\" if x != \"b\"]", "[\"0a\", \"2c\"]"),
        ("{for k, v in var.map : k => v * 10}", "{x = 10, y = 20}"),
        ("{for x in [\"a\", \"b\", \"a\"] : x => x...}", "{a = [\"a\", \"a\"], b = [\"b\"]}"),
        ("{for x in [\"a\", \"a\"] : x => x}", "error: duplicate object key \"a\""),
        ("\"${var.list}\"", "[\"a\", \"b\", \"c\"]"),
        ("\"x${var.list}\"", "error: cannot include a list in a string template"),
        ("\"a${null}\"", "error: invalid template interpolation value: the expression result is null; only strings, numbers and bools can be interpolated"),
    ]);
}

#[test]
fn unknown_values_propagate() {
    check(&[
        ("var.later", "(known after apply)"),
        ("var.later + 1", "(known after apply)"),
        ("\"x-${var.later}\"", "(known after apply)"),
        ("var.later == var.later", "(known after apply)"),
        ("var.later ? 1 : 2", "(known after apply)"),
        ("upper(var.later)", "(known after apply)"),
        ("length([var.later, 1])", "2"),
        ("[for x in var.later : x]", "(known after apply)"),
        ("false && var.later", "false"),
        ("true || var.later", "true"),
    ]);
}

#[test]
fn sensitive_values_stay_marked() {
    check(&[
        ("var.secret", "(sensitive value)"),
        ("upper(var.secret)", "(sensitive value)"),
        ("\"user:${var.secret}\"", "(sensitive value)"),
        ("length(var.secret)", "(sensitive value)"),
        ("var.secret == \"x\"", "(sensitive value)"),
        ("[var.secret, \"public\"]", "[(sensitive value), \"public\"]"),
        ("nonsensitive(var.secret)", "\"hunter2\""),
        ("sensitive(\"x\")", "(sensitive value)"),
    ]);
}

#[test]
fn string_functions() {
    check(&[
        ("format(\"%s-%03d\", \"web\", 7)", "\"web-007\""),
        ("format(\"%-5s|\", \"ab\")", "\"ab   |\""),
        ("format(\"%.2f\", 3.14159)", "\"3.14\""),
        ("format(\"%q\", \"a\")", "\"\\\"a\\\"\""),
        ("format(\"%d\")", "error: call to format failed: not enough arguments for \"%d\" at 0: need index 1, but have 0 total"),
        ("formatlist(\"%s=%s\", [\"a\", \"b\"], \"x\")", "[\"a=x\", \"b=x\"]"),
        ("join(\",\", [\"a\", \"b\"], [\"c\"])", "\"a,b,c\""),
        ("split(\",\", \"a,,b\")", "[\"a\", \"\", \"b\"]"),
        ("split(\",\", \"\")", "[\"\"]"),
        ("replace(\"a-b-c\", \"-\", \"_\")", "\"a_b_c\""),
        ("replace(\"v1.2.3\", \"/v(\\\\d+)\\\\..*/\", \"$1\")", "\"1\""),
        ("regex(\"[a-z]+\", \"123abc456\")", "\"abc\""),
        ("regex(\"(\\\\d+)-(\\\\d+)\", \"10-20\")", "[\"10\", \"20\"]"),
        ("regexall(\"\\\\d\", \"a1b2\")", "[\"1\", \"2\"]"),
        ("regex(\"x\", \"abc\")", "error: call to regex failed: pattern did not match any part of the given string"),
        ("substr(\"hello\", 1, 3)", "\"ell\""),
        ("substr(\"hello\", -3, -1)", "\"llo\""),
        ("title(\"hello world\")", "\"Hello World\""),
        ("trimspace(\"  x \")", "\"x\""),
        ("trimprefix(\"prefix-x\", \"prefix-\")", "\"x\""),
        ("chomp(\"x\\n\")", "\"x\""),
        ("startswith(\"terrane\", \"terr\")", "true"),
        ("upper(\"é\")", "\"É\""),
        ("lower(\"ABC\")", "\"abc\""),
    ]);
}

#[test]
fn collection_functions() {
    check(&[
        ("length(\"héllo\")", "5"),
        ("length(var.map)", "2"),
        ("length(5)", "error: invalid function argument: length: argument must be a string, a collection type, or a structural type, got number"),
        ("concat([1], [2, 3])", "[1, 2, 3]"),
        ("merge({a = 1}, {b = 2}, {a = 3})", "{a = 3, b = 2}"),
        ("keys({b = 1, a = 2})", "[\"a\", \"b\"]"),
        ("values({b = 1, a = 2})", "[2, 1]"),
        ("lookup({a = 1}, \"a\", 0)", "1"),
        ("lookup({a = 1}, \"z\", 0)", "0"),
        ("lookup({a = 1}, \"z\")", "error: call to lookup failed: lookup failed to find key \"z\""),
        ("element([\"a\", \"b\"], 3)", "\"b\""),
        ("element([], 0)", "error: invalid function argument: element: cannot use element function with an empty list"),
        ("contains([\"a\"], \"a\")", "true"),
        ("range(3)", "[0, 1, 2]"),
        ("range(1, 7, 2)", "[1, 3, 5]"),
        ("range(3, 0)", "[3, 2, 1]"),
        ("coalesce(\"\", null, \"x\")", "\"x\""),
        ("coalesce(null)", "error: call to coalesce failed: no non-null, non-empty-string arguments"),
        ("flatten([[1], [2, [3]]])", "[1, 2, 3]"),
        ("distinct([1, 2, 1])", "[1, 2]"),
        ("compact([\"a\", \"\", null])", "[\"a\"]"),
        ("zipmap([\"a\", \"b\"], [1, 2])", "{a = 1, b = 2}"),
        ("sort([\"b\", \"a\"])", "[\"a\", \"b\"]"),
        ("one([])", "null"),
        ("sum([1, 2, 3.5])", "6.5"),
        ("alltrue([true, \"true\"])", "true"),
        ("min(3, 1, 2)", "1"),
        ("max(3, 1, 2)", "3"),
        ("toset([\"b\", \"a\", \"b\"])", "[\"a\", \"b\"]"),
        ("tolist(toset([\"b\", \"a\"]))", "[\"a\", \"b\"]"),
        ("tomap({a = 1})", "{a = 1}"),
    ]);
}

#[test]
fn type_and_encoding_functions() {
    check(&[
        ("tostring(5)", "\"5\""),
        ("tostring([])", "error: invalid function argument: tostring: cannot convert list to string"),
        ("tonumber(\"42\")", "42"),
        ("tonumber(\"x\")", "error: invalid function argument: tonumber: cannot convert \"x\" to number; given string must be a decimal representation of a number"),
        ("tobool(\"true\")", "true"),
        ("try(var.map.z, \"fallback\")", "\"fallback\""),
        ("can(var.map.z)", "false"),
        ("can(var.map.x)", "true"),
        ("jsonencode({b = [1, true, null], a = \"x\"})", "\"{\\\"a\\\":\\\"x\\\",\\\"b\\\":[1,true,null]}\""),
        ("jsondecode(\"{\\\"a\\\": [1, 2]}\")", "{a = [1, 2]}"),
        ("jsondecode(\"{\")", "error: invalid function argument: jsondecode: invalid JSON: EOF while parsing an object at line 1 column 1"),
        ("base64encode(\"hi\")", "\"aGk=\""),
        ("base64decode(\"aGk=\")", "\"hi\""),
        ("md5(\"a\")", "\"0cc175b9c0f1b6a831c399e269772661\""),
        ("sha256(\"a\")", "\"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\""),
        ("abs(-2)", "2"),
        ("ceil(1.2)", "2"),
        ("floor(1.8)", "1"),
        ("basename(\"a/b/c.txt\")", "\"c.txt\""),
        ("dirname(\"a/b/c.txt\")", "\"a/b\""),
        ("fileexists(\"Cargo.toml\")", "true"),
        ("nosuch(1)", "error: there is no function named \"nosuch\""),
    ]);
}

#[test]
fn network_functions() {
    check(&[
        ("cidrsubnet(\"10.0.0.0/16\", 8, 2)", "\"10.0.2.0/24\""),
        ("cidrsubnet(\"10.1.2.0/24\", 4, 15)", "\"10.1.2.240/28\""),
        ("cidrsubnet(\"fd00:fd12:3456:7890::/56\", 16, 162)", "\"fd00:fd12:3456:7800:a200::/72\""),
        ("cidrsubnet(\"10.0.0.0/16\", 8, 256)", "error: call to cidrsubnet failed: prefix extension of 8 does not accommodate a subnet numbered 256"),
        ("cidrsubnet(\"10.0.0.0/30\", 4, 0)", "error: call to cidrsubnet failed: insufficient address space to extend prefix of 30 by 4"),
        ("cidrsubnet(\"10.0.0.300/16\", 8, 0)", "error: call to cidrsubnet failed: invalid CIDR address \"10.0.0.300/16\""),
        ("cidrhost(\"10.12.112.0/20\", 16)", "\"10.12.112.16\""),
        ("cidrhost(\"10.12.112.0/20\", 268)", "\"10.12.113.12\""),
        ("cidrhost(\"10.12.112.0/20\", -1)", "\"10.12.127.255\""),
        ("cidrhost(\"10.0.0.0/30\", 4)", "error: call to cidrhost failed: prefix of 30 does not accommodate a host numbered 4"),
        ("cidrnetmask(\"172.16.0.0/12\")", "\"255.240.0.0\""),
        ("cidrsubnets(\"10.1.0.0/16\", 4, 4, 8, 4)", "[\"10.1.0.0/20\", \"10.1.16.0/20\", \"10.1.32.0/24\", \"10.1.48.0/20\"]"),
        ("cidrsubnets(\"10.0.0.0/30\", 1, 1, 1)", "error: call to cidrsubnets failed: argument 4: not enough remaining address space for a subnet with a prefix of 31 bits"),
    ]);
}

#[test]
fn more_collection_and_number_functions() {
    check(&[
        ("index([\"a\", \"b\", \"c\"], \"b\")", "1"),
        ("index([\"a\"], \"z\")", "error: call to index failed: item not found"),
        ("slice([\"a\", \"b\", \"c\", \"d\"], 1, 3)", "[\"b\", \"c\"]"),
        ("slice([\"a\"], 0, 2)", "error: invalid function argument: slice: to index must be smaller than or equal to the length of the list"),
        ("setunion([\"a\", \"b\"], [\"b\", \"c\"])", "[\"a\", \"b\", \"c\"]"),
        ("setintersection([\"a\", \"b\"], [\"b\", \"c\"])", "[\"b\"]"),
        ("setsubtract([\"a\", \"b\", \"c\"], [\"a\", \"c\"])", "[\"b\"]"),
        ("transpose({a = [\"1\", \"2\"], b = [\"2\", \"3\"]})", "{1 = [\"a\"], 2 = [\"a\", \"b\"], 3 = [\"b\"]}"),
        ("chunklist([\"a\", \"b\", \"c\"], 2)", "[[\"a\", \"b\"], [\"c\"]]"),
        ("indent(2, \"a\\nb\")", "\"a\\n  b\""),
        ("urlencode(\"Hello World/?\")", "\"Hello+World%2F%3F\""),
        ("pow(2, 10)", "1024"),
        ("parseint(\"FF\", 16)", "255"),
        ("parseint(\"-1010\", 2)", "-10"),
        ("parseint(\"12\", 2)", "error: invalid function argument: parseint: cannot parse \"12\" as a base 2 integer"),
        ("parseint(\"1\", 1)", "error: invalid function argument: parseint: base must be a whole number between 2 and 62 inclusive"),
    ]);
}

#[test]
fn network_functions_at_the_edges_of_the_address_space() {
    check(&[
        ("cidrsubnets(\"::/0\", 1, 1)", "[\"::/1\", \"8000::/1\"]"),
        ("cidrsubnets(\"::/0\", 1, 1, 1)", "error: call to cidrsubnets failed: argument 4: not enough remaining address space for a subnet with a prefix of 1 bits"),
        ("cidrhost(\"::/0\", -1)", "\"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\""),
        ("cidrsubnet(\"0.0.0.0/0\", 32, 4294967295)", "\"255.255.255.255/32\""),
        ("cidrnetmask(\"0.0.0.0/0\")", "\"0.0.0.0\""),
    ]);
}

#[test]
fn templatefile_renders_with_its_own_variables_only() {
    check(&[
        (
            "templatefile(\"tests/fixtures/greeting.tftpl\", { name = \"web\", ports = [80, 443] })",
            "\"Hello, web!\\nlisten 80\\nlisten 443\\n\"",
        ),
        ("templatefile(\"tests/fixtures/leaky.tftpl\", {})", "error: the template refers to \"var\", which is not in its variables"),
        ("templatefile(\"tests/fixtures/missing.tftpl\", {})", "error: cannot read template tests/fixtures/missing.tftpl: No such file or directory (os error 2)"),
        ("templatefile(\"tests/fixtures/greeting.tftpl\", { name = var.secret, ports = [] })", "(sensitive value)"),
    ]);
}

#[test]
fn yaml_functions() {
    check(&[
        ("yamlencode({a = \"b\", c = [1, 2]})", "\"\\\"a\\\": \\\"b\\\"\\n\\\"c\\\":\\n- 1\\n- 2\\n\""),
        ("yamlencode(\"x\")", "\"\\\"x\\\"\\n\""),
        ("yamlencode([])", "\"[]\\n\""),
        ("yamldecode(\"a: [1, 2]\\nb: yes\\nc: ~\\n\")", "{a = [1, 2], b = true, c = null}"),
        ("yamldecode(\"on\")", "true"),
        ("yamldecode(\"'on'\")", "\"on\""),
        ("yamldecode(\"a: [1\")", "error: call to yamldecode failed: on line 2, column 1: while parsing a flow sequence, expected ',' or ']'"),
        ("yamldecode(yamlencode({k = [\"v\", {n = 1.5}]}))", "{k = [\"v\", {n = 1.5}]}"),
    ]);
}

#[test]
fn time_functions() {
    // plantimestamp is known while planning and the same for the whole run.
    let first = run("plantimestamp()").expect("plantimestamp evaluates");
    assert_eq!(run("plantimestamp()"), Ok(first.clone()));
    assert!(first.len() == 22 && first.ends_with("Z\""), "{first}");
    check(&[
        ("formatdate(\"DD MMM YYYY hh:mm ZZZ\", \"2018-01-02T23:12:01Z\")", "\"02 Jan 2018 23:12 UTC\""),
        ("formatdate(\"EEEE, DD-MMM-YY hh:mm:ss ZZZ\", \"2018-01-02T23:12:01Z\")", "\"Tuesday, 02-Jan-18 23:12:01 UTC\""),
        ("formatdate(\"EEE, DD MMM YYYY hh:mm:ss ZZZ\", \"2018-01-02T23:12:01-08:00\")", "\"Tue, 02 Jan 2018 23:12:01 -0800\""),
        ("formatdate(\"HH:mmaa\", \"2018-01-02T23:12:01Z\")", "\"11:12pm\""),
        ("formatdate(\"'o''clock' h H AA Z ZZZZZ\", \"2018-01-02T03:02:01.123+05:30\")", "\"o'clock 3 3 AM +05:30 +05:30\""),
        ("formatdate(\"MMMM D EEEE\", \"2024-02-29T10:00:00Z\")", "\"February 29 Thursday\""),
        ("formatdate(\"YYY\", \"2018-01-02T23:12:01Z\")", "error: call to formatdate failed: invalid date format sequence \"YYY\"; letters must be quoted, like 'T'"),
        ("formatdate(\"DD\", \"2017-02-29T00:00:00Z\")", "error: call to formatdate failed: \"2017-02-29T00:00:00Z\" is not a valid RFC 3339 timestamp: the date does not exist"),
        ("formatdate(\"DD\", \"2018-01-02\")", "error: call to formatdate failed: \"2018-01-02\" is not a valid RFC 3339 timestamp: the time of day is missing"),
        ("timeadd(\"2017-11-22T00:00:00Z\", \"-1h30m10s\")", "\"2017-11-21T22:29:50Z\""),
        ("timeadd(\"2017-11-22T00:00:00+05:30\", \"1.5h\")", "\"2017-11-22T01:30:00+05:30\""),
        ("timeadd(\"2017-12-31T23:59:59Z\", \"1s\")", "\"2018-01-01T00:00:00Z\""),
        ("timeadd(\"2017-11-22T00:00:00Z\", \"1d\")", "error: call to timeadd failed: \"1d\" is not a duration: write a number and a unit (ns, us, ms, s, m, h), like \"1h30m\""),
        ("timeadd(\"9999-12-31T23:59:59Z\", \"1s\")", "error: call to timeadd failed: adding \"1s\" to \"9999-12-31T23:59:59Z\" leaves the years 0000 to 9999"),
        ("timeadd(\"2017-11-22T00:00:00Z\", \"1e400h\")", "error: call to timeadd failed: \"1e400h\" is not a duration: write a number and a unit (ns, us, ms, s, m, h), like \"1h30m\""),
        ("timecmp(\"2017-11-22T00:00:00Z\", \"2017-11-22T01:00:00+01:00\")", "0"),
        ("timecmp(\"2017-11-22T00:00:01Z\", \"2017-11-22T00:00:00Z\")", "1"),
        // Impure functions are unknown until apply.
        ("timestamp()", "(known after apply)"),
        ("uuid()", "(known after apply)"),
        ("uuid(1)", "error: call to uuid failed: too many function arguments: uuid expects 0 arguments, got 1"),
    ]);
}
