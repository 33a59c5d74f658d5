//! yamlencode and yamldecode with Terraform's results: keys and strings in
//! double quotes, multi-line strings as literal blocks, long quoted strings
//! folded at 80 columns; decoding resolves plain scalars by YAML 1.1's rules
//! (`yes`, `on` and `y` are true, `0x10` is 16), as Terraform does.

use std::collections::BTreeMap;

use terrane_core::Number;
use terrane_core::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Quoted strings are folded at a space once a line passes this column.
const WIDTH: usize = 80;

pub fn encode(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    match value {
        Value::List(items) | Value::Set(items) if !items.is_empty() => sequence(items, 0, &mut out)?,
        Value::Map(map) if !map.is_empty() => mapping(map.iter(), 0, &mut out)?,
        other => {
            // A top-level block scalar's lines are indented, as the YAML Terraform writes.
            scalar(other, 0, 2, &mut out)?;
            out.push('\n');
        }
    }
    Ok(out)
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::List(items) | Value::Set(items) => !items.is_empty(),
        Value::Map(map) => !map.is_empty(),
        _ => false,
    }
}

fn mapping<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, indent: usize, out: &mut String) -> Result<(), String> {
    for (n, (key, value)) in entries.enumerate() {
        // The first key of a mapping inside a sequence item shares the "- " line.
        if n > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        let column = current_column(out);
        double_quoted(key, column, indent + 2, out);
        out.push(':');
        match value {
            Value::List(items) | Value::Set(items) if !items.is_empty() => {
                out.push('\n');
                sequence(items, indent, out)?;
            }
            Value::Map(map) if !map.is_empty() => {
                out.push('\n');
                mapping(map.iter(), indent + 2, out)?;
            }
            other => {
                out.push(' ');
                let column = current_column(out);
                scalar(other, column, indent + 2, out)?;
                out.push('\n');
            }
        }
    }
    Ok(())
}

fn sequence(items: &[Value], indent: usize, out: &mut String) -> Result<(), String> {
    for item in items {
        if !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Value::List(inner) | Value::Set(inner) if is_block(item) => sequence(inner, indent + 2, out)?,
            Value::Map(map) if is_block(item) => mapping(map.iter(), indent + 2, out)?,
            other => {
                let column = current_column(out);
                scalar(other, column, indent + 2, out)?;
                out.push('\n');
            }
        }
    }
    Ok(())
}

fn current_column(out: &str) -> usize {
    out.rsplit('\n').next().map_or(0, |line| line.chars().count())
}

/// A scalar (or an empty collection) at `column`; continuation lines at `indent`.
fn scalar(value: &Value, column: usize, indent: usize, out: &mut String) -> Result<(), String> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if !n.is_infinite() => out.push_str(&n.to_string()),
        Value::Number(_) => return Err("cannot encode an infinite number".into()),
        Value::String(s) if literal_allowed(s) => literal(s, indent, out),
        Value::String(s) => double_quoted(s, column, indent, out),
        Value::List(_) | Value::Set(_) => out.push_str("[]"),
        Value::Map(_) => out.push_str("{}"),
        Value::Unknown => return Err("the value is not known yet".into()),
        Value::Sensitive(inner) => scalar(inner, column, indent, out)?,
    }
    Ok(())
}

fn printable(c: char) -> bool {
    c == '\n' || (c >= ' ' && c != '\u{7f}' && !('\u{80}'..'\u{a0}').contains(&c) && c != '\u{feff}')
}

/// Multi-line strings become literal blocks unless a line ends in a space or
/// a character needs an escape.
fn literal_allowed(s: &str) -> bool {
    s.contains('\n') && s.chars().all(printable) && !s.contains(" \n") && !s.ends_with(' ')
}

fn literal(s: &str, indent: usize, out: &mut String) {
    out.push('|');
    if s.starts_with(' ') || s.starts_with('\n') {
        out.push('2');
    }
    let trailing = s.len() - s.trim_end_matches('\n').len();
    match trailing {
        0 => out.push('-'),
        1 if s.len() > 1 => {}
        _ => out.push('+'),
    }
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
    }
}

fn double_quoted(s: &str, column: usize, indent: usize, out: &mut String) {
    out.push('"');
    let mut column = column + 1;
    let chars: Vec<char> = s.chars().collect();
    let mut after_space = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            if !after_space && column > WIDTH && i != 0 && i + 1 != chars.len() {
                // Fold: the space becomes the line break; a following space is escaped.
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                column = indent;
                if chars.get(i + 1) == Some(&' ') {
                    out.push('\\');
                    column += 1;
                }
            } else {
                out.push(' ');
                column += 1;
            }
            after_space = true;
            continue;
        }
        after_space = false;
        let escaped = match c {
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            '\0' => "\\0".to_string(),
            '\u{7}' => "\\a".to_string(),
            '\u{8}' => "\\b".to_string(),
            '\t' => "\\t".to_string(),
            '\n' => "\\n".to_string(),
            '\u{b}' => "\\v".to_string(),
            '\u{c}' => "\\f".to_string(),
            '\r' => "\\r".to_string(),
            '\u{1b}' => "\\e".to_string(),
            '\u{85}' => "\\N".to_string(),
            '\u{a0}' => "\\_".to_string(),
            '\u{2028}' => "\\L".to_string(),
            '\u{2029}' => "\\P".to_string(),
            c if !printable(c) && (c as u32) <= 0xff => format!("\\x{:02X}", c as u32),
            c if !printable(c) => format!("\\u{:04X}", c as u32),
            c => c.to_string(),
        };
        column += escaped.chars().count();
        out.push_str(&escaped);
    }
    out.push('"');
}

/// Builds values from parser events.
#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: BTreeMap<usize, Value>,
    documents: usize,
    result: Option<Value>,
    error: Option<String>,
}

enum Frame {
    Sequence { items: Vec<Value>, anchor: usize },
    Mapping { map: BTreeMap<String, Value>, key: Option<String>, anchor: usize },
}

impl Builder {
    fn push(&mut self, value: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.result = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { map, key, .. }) => match key.take() {
                Some(k) => {
                    map.insert(k, value);
                }
                None => *key = Some(key_text(&value)),
            },
        }
    }
}

/// Keys of any scalar type become strings, as Terraform's maps need.
fn key_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.error = Some(format!("on line {}, column {}: unexpected extra content after the first document", mark.line(), mark.col() + 1));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = match (style, tag) {
                    (TScalarStyle::Plain, None) => resolve_plain(&text),
                    (_, Some(tag)) if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" => match tag.suffix.as_str() {
                        "null" => Value::Null,
                        "bool" | "int" | "float" => resolve_plain(&text),
                        _ => Value::String(text),
                    },
                    _ => Value::String(text),
                };
                self.push(value, anchor);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(v) => self.push(v.clone(), 0),
                None => self.error = Some(format!("on line {}, column {}: unknown alias", mark.line(), mark.col() + 1)),
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Sequence { items: Vec::new(), anchor }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Mapping { map: BTreeMap::new(), key: None, anchor }),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Sequence { items, anchor }) => self.push(Value::List(items), anchor),
                Some(Frame::Mapping { map, anchor, .. }) => self.push(Value::Map(map.into_iter().collect()), anchor),
                None => {}
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

pub fn decode(text: &str) -> Result<Value, String> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| {
        let m = e.marker();
        format!("on line {}, column {}: {}", m.line(), m.col() + 1, e.info())
    })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    builder.result.ok_or_else(|| "the document is empty".into())
}

/// YAML 1.1's implicit types for plain (unquoted, untagged) scalars.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Value::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Number::from(1).div(&Number::ZERO).map_or(Value::Null, Value::Number),
        "-.inf" | "-.Inf" | "-.INF" => return Number::from(-1).div(&Number::ZERO).map_or(Value::Null, Value::Number),
        _ => {}
    }
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let radix = [("0x", 16), ("0o", 8), ("0b", 2)].into_iter().find_map(|(p, r)| digits.strip_prefix(p).map(|d| (d, r)));
    if let Some((d, r)) = radix {
        if let Ok(n) = i64::from_str_radix(d, r) {
            return Value::number(if negative { -n } else { n });
        }
        return Value::String(text.to_string());
    }
    let numeric = !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        && digits.bytes().next().is_some_and(|c| c.is_ascii_digit() || c == b'.');
    if numeric {
        if let Some(n) = Number::parse(text) {
            return Value::Number(n);
        }
    }
    if let Some(date) = timestamp(text) {
        return Value::String(date);
    }
    Value::String(text.to_string())
}

/// A date alone (`2020-01-01`) becomes midnight UTC in RFC 3339, as Terraform
/// decodes YAML timestamps.
fn timestamp(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let is_date = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && text.bytes().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    is_date.then(|| format!("{text}T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn encodes_as_terraform_does() {
        let v = map(&[
            ("a", Value::string("b")),
            ("c", Value::List(vec![Value::number(1), map(&[("d", Value::Bool(true)), ("e", Value::Null)])])),
            ("f", map(&[])),
            ("h", Value::string("multi\nline")),
            ("m", Value::List(vec![Value::List(vec![Value::number(1), Value::number(2)]), Value::List(vec![])])),
            ("n", map(&[("o", map(&[("p", Value::number(1))]))])),
        ]);
        let expected = "\"a\": \"b\"\n\"c\":\n- 1\n- \"d\": true\n  \"e\": null\n\"f\": {}\n\"h\": |-\n  multi\n  line\n\"m\":\n- - 1\n  - 2\n- []\n\"n\":\n  \"o\":\n    \"p\": 1\n";
        assert_eq!(encode(&v).unwrap(), expected);
    }

    #[test]
    fn literal_blocks_carry_indentation_and_chomping_hints() {
        let v = map(&[
            ("h", Value::string(" lead\nx")),
            ("i", Value::string("trail \nx")),
            ("j", Value::string("x\n\n")),
            ("k", Value::string("\n")),
            ("l", Value::string("a\tb\nc")),
            ("z", Value::string("line\n")),
        ]);
        let expected = "\"h\": |2-\n   lead\n  x\n\"i\": \"trail \\nx\"\n\"j\": |+\n  x\n\n\"k\": |2+\n\n\"l\": \"a\\tb\\nc\"\n\"z\": |\n  line\n";
        assert_eq!(encode(&v).unwrap(), expected);
    }

    #[test]
    fn long_quoted_strings_fold_at_eighty_columns() {
        let words = vec!["word"; 23].join(" ");
        let out = encode(&map(&[("a", Value::string(words))])).unwrap();
        let first = format!("\"a\": \"{}", vec!["word"; 16].join(" "));
        assert_eq!(out, format!("{first}\n  {}\"\n", vec!["word"; 7].join(" ")));
    }

    #[test]
    fn decodes_plain_scalars_by_yaml_1_1_rules() {
        let v = decode("a: [1, 2]\nb: {c: yes, d: null, g: off, j: y}\ng: 0x10\nh: 010\ni: 1e3\no: +12\np: 1_000\nq: -.5\nr: 12:30\ns: 2020-01-01\nt: '1'\n").unwrap();
        let expected = map(&[
            ("a", Value::List(vec![Value::number(1), Value::number(2)])),
            ("b", map(&[("c", Value::Bool(true)), ("d", Value::Null), ("g", Value::Bool(false)), ("j", Value::Bool(true))])),
            ("g", Value::number(16)),
            ("h", Value::number(10)),
            ("i", Value::number(1000)),
            ("o", Value::number(12)),
            ("p", Value::string("1_000")),
            ("q", Value::Number(Number::parse("-0.5").unwrap_or(Number::ZERO))),
            ("r", Value::string("12:30")),
            ("s", Value::string("2020-01-01T00:00:00Z")),
            ("t", Value::string("1")),
        ]);
        assert_eq!(decode("a: &x 1\nb: *x\n").unwrap(), map(&[("a", Value::number(1)), ("b", Value::number(1))]));
        assert_eq!(v, expected);
    }

    #[test]
    fn decoding_refuses_several_documents_and_empty_input() {
        assert_eq!(decode("a: 1\n---\nb: 2\n").unwrap_err(), "on line 2, column 1: unexpected extra content after the first document");
        assert!(decode("").is_err());
        assert!(decode("a: [1, 2").unwrap_err().starts_with("on line"));
    }
}
