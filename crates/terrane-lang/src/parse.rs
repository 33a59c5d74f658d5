//! hcl-edit's parsers, taking number literals beyond a 64-bit float.
//!
//! hcl-edit reads a number literal as an `f64` and refuses one that
//! overflows it (`1e400`), though the language's numbers have no such
//! limit. Such a literal is parsed as zeros of the same length, so every
//! span still points into the source; the lowering reads the number from
//! the source text, so its value is kept.

use hcl_edit::parser::Error;

pub fn parse_body(text: &str) -> Result<hcl_edit::structure::Body, Error> {
    with_wide_numbers(text, hcl_edit::parser::parse_body)
}

pub fn parse_expr(text: &str) -> Result<hcl_edit::expr::Expression, Error> {
    with_wide_numbers(text, hcl_edit::parser::parse_expr)
}

pub fn parse_template(text: &str) -> Result<hcl_edit::template::Template, Error> {
    with_wide_numbers(text, hcl_edit::parser::parse_template)
}

fn with_wide_numbers<T>(text: &str, parse: impl Fn(&str) -> Result<T, Error>) -> Result<T, Error> {
    let mut err = match parse(text) {
        Ok(parsed) => return Ok(parsed),
        Err(err) => err,
    };
    let mut patched = text.to_string();
    // Each pass patches one literal; the patched text keeps every offset,
    // so any other error is reported where it is.
    while let Some(literal) = overflowing_literal_at(&patched, err.location().offset()) {
        patched.replace_range(literal.clone(), &"0".repeat(literal.len()));
        match parse(&patched) {
            Ok(parsed) => return Ok(parsed),
            Err(e) => err = e,
        }
    }
    Err(err)
}

/// The number literal around `offset` (hcl-edit stops at its exponent) when
/// its value is too large for an `f64`.
fn overflowing_literal_at(text: &str, offset: usize) -> Option<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut start = offset.min(bytes.len());
    while start > 0 && (bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.') {
        start -= 1;
    }
    if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
        return None;
    }
    let mut end = start;
    while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
        end += 1;
    }
    if end < bytes.len() && matches!(bytes[end], b'e' | b'E') {
        end += 1;
        if end < bytes.len() && matches!(bytes[end], b'+' | b'-') {
            end += 1;
        }
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    let literal = &text[start..end];
    let overflows = !literal.is_empty()
        && bytes[start].is_ascii_digit()
        && literal.parse::<f64>().is_ok_and(f64::is_infinite)
        && terrane_core::Number::parse(literal).is_some();
    overflows.then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_beyond_a_float_parses_with_its_spans_in_place() {
        for text in ["a = 1e400\n", "a = [1, 2E+999, 3]\n", "a = \"${1.5e400 * 2}\"\n", "a = 1e400 + 1e500\n"] {
            assert!(parse_body(text).is_ok(), "{text:?} parses");
        }
    }

    #[test]
    fn other_syntax_errors_are_reported_where_they_are() {
        let err = parse_body("a = 1e400\nb = ]\n").expect_err("a stray bracket is an error");
        assert_eq!((err.location().line(), err.location().column()), (2, 5), "{}", err.message());
        let plain = parse_body("a = 1e3x\n").expect_err("an identifier glued to a number is an error");
        assert_eq!(plain.location().offset(), hcl_edit::parser::parse_body("a = 1e3x\n").unwrap_err().location().offset());
    }
}
