//! Numeric functions. Terraform computes `pow` and `log` in 64-bit floats and
//! everything else in its arbitrary-precision numbers; so does this module.

use terrane_core::{Number, Type, Value};

use super::{arg_err, failed, integer_at, items_at, number_at, string_at, Context, Result};

fn float_result(f: f64) -> Result<Value> {
    Number::from_f64(f).map(Value::Number).ok_or_else(|| failed("the result is not a number"))
}

pub fn abs(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::Number(number_at(a, 0)?.abs()))
}

pub fn ceil(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::Number(number_at(a, 0)?.ceil()))
}

pub fn floor(a: &[Value], _: &Context) -> Result<Value> {
    Ok(Value::Number(number_at(a, 0)?.floor()))
}

/// Terraform's signum takes whole numbers only.
pub fn signum(a: &[Value], _: &Context) -> Result<Value> {
    integer_at(a, 0)?;
    Ok(Value::Number(number_at(a, 0)?.signum()))
}

pub fn log(a: &[Value], _: &Context) -> Result<Value> {
    float_result(number_at(a, 0)?.to_f64().ln() / number_at(a, 1)?.to_f64().ln())
}

pub fn pow(a: &[Value], _: &Context) -> Result<Value> {
    float_result(number_at(a, 0)?.to_f64().powf(number_at(a, 1)?.to_f64()))
}

pub fn max(a: &[Value], _: &Context) -> Result<Value> {
    extreme(a, std::cmp::Ordering::Greater)
}

pub fn min(a: &[Value], _: &Context) -> Result<Value> {
    extreme(a, std::cmp::Ordering::Less)
}

fn extreme(a: &[Value], wanted: std::cmp::Ordering) -> Result<Value> {
    let mut best: Option<&Number> = None;
    for i in 0..a.len() {
        let n = number_at(a, i)?;
        if best.is_none_or(|b| n.cmp(b) == wanted) {
            best = Some(n);
        }
    }
    best.cloned().map(Value::Number).ok_or_else(|| failed("must pass at least one number"))
}

pub fn sum(a: &[Value], _: &Context) -> Result<Value> {
    let items = items_at(a, 0).map_err(|_| arg_err(0, "argument must be list, set, or tuple"))?;
    if items.is_empty() {
        return Err(arg_err(0, "cannot sum an empty list"));
    }
    let mut total: Option<Number> = None;
    for item in items {
        if item.is_null() {
            return Err(arg_err(0, "argument must be list, set, or tuple of number values"));
        }
        let Value::Number(n) = Type::Number.convert(item.clone()).map_err(|e| arg_err(0, e.to_string()))? else {
            return Err(arg_err(0, "argument must be list, set, or tuple of number values"));
        };
        total = Some(match total {
            Some(t) => t.add(&n),
            None => n,
        });
    }
    Ok(Value::Number(total.unwrap_or(Number::ZERO)))
}

/// Terraform's `range`: without a step it counts toward the limit, down if need be;
/// a step that leads away from the limit is an error.
pub fn range(a: &[Value], _: &Context) -> Result<Value> {
    let one = Number::from(1);
    let (start, end, step) = match a.len() {
        1 => {
            let end = number_at(a, 0)?.clone();
            let step = if end.is_negative() { one.neg() } else { one };
            (Number::ZERO, end, step)
        }
        2 => {
            let (start, end) = (number_at(a, 0)?.clone(), number_at(a, 1)?.clone());
            let step = if end < start { one.neg() } else { one };
            (start, end, step)
        }
        3 => (number_at(a, 0)?.clone(), number_at(a, 1)?.clone(), number_at(a, 2)?.clone()),
        _ => return Err(failed("must have one, two, or three arguments")),
    };
    if step.is_zero() {
        return Err(failed("step must not be zero"));
    }
    let down = step.is_negative();
    if down && start < end {
        return Err(arg_err(2, "step must be positive when start is less than end"));
    }
    if !down && start > end {
        return Err(arg_err(2, "step must be negative when start is greater than end"));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (down && i > end) || (!down && i < end) {
        if out.len() >= 1024 {
            return Err(failed(
                "more than 1024 values were generated; either decrease the difference between start and end or use a smaller step",
            ));
        }
        let next = i.add(&step);
        out.push(Value::Number(i));
        i = next;
    }
    Ok(Value::List(out))
}

/// Digits of bases up to 36 in either case; above 36 the capitals count from 36.
pub fn parseint(a: &[Value], _: &Context) -> Result<Value> {
    let text = match &a[0] {
        Value::String(s) => s.as_str(),
        other => return Err(arg_err(0, format!("first argument must be a string, not {}", other.type_name()))),
    };
    let base = integer_at(a, 1).ok().filter(|b| (2..=62).contains(b));
    let Some(base) = base else {
        return Err(arg_err(1, "base must be a whole number between 2 and 62 inclusive"));
    };
    let bad = || arg_err(0, format!("cannot parse {text:?} as a base {base} integer"));
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut n = Number::ZERO;
    let radix = Number::from(base);
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as i64 - '0' as i64,
            'a'..='z' => c as i64 - 'a' as i64 + 10,
            'A'..='Z' if base <= 36 => c as i64 - 'A' as i64 + 10,
            'A'..='Z' => c as i64 - 'A' as i64 + 36,
            _ => return Err(bad()),
        };
        if d >= base {
            return Err(bad());
        }
        n = n.mul(&radix).add(&Number::from(d));
    }
    Ok(Value::Number(if negative { n.neg() } else { n }))
}

fn net(result: std::result::Result<String, String>) -> Result<Value> {
    result.map(Value::String).map_err(failed)
}

pub fn cidrsubnet(a: &[Value], _: &Context) -> Result<Value> {
    net(crate::netfuncs::cidrsubnet(string_at(a, 0)?, number_at(a, 1)?.to_f64(), number_at(a, 2)?.to_f64()))
}

pub fn cidrhost(a: &[Value], _: &Context) -> Result<Value> {
    net(crate::netfuncs::cidrhost(string_at(a, 0)?, number_at(a, 1)?.to_f64()))
}

pub fn cidrnetmask(a: &[Value], _: &Context) -> Result<Value> {
    net(crate::netfuncs::cidrnetmask(string_at(a, 0)?))
}

pub fn cidrsubnets(a: &[Value], _: &Context) -> Result<Value> {
    let newbits: Vec<f64> = (1..a.len()).map(|i| number_at(a, i).map(Number::to_f64)).collect::<Result<_>>()?;
    crate::netfuncs::cidrsubnets(string_at(a, 0)?, &newbits)
        .map(super::string_list)
        .map_err(failed)
}
