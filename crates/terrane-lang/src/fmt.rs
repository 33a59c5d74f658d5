//! `terrane fmt`: the canonical layout of `.tf` files. Indentation follows
//! bracket nesting (two spaces a level), the `=` of consecutive one-line
//! arguments line up, trailing comments of consecutive lines line up, and
//! tokens are spaced by Terraform's rules. Comments, heredocs and string
//! contents are kept byte for byte; a line the tokenizer does not understand
//! keeps its spacing, so formatting can never change what a file means.

use std::sync::Arc;

use terrane_core::{Diagnostic, SourceFile};

/// Formats one file; a file that does not parse is reported, not changed.
/// A result that would not parse, or would change when formatted again, is
/// a case the scanner misread; the file then gets the layout without token
/// spacing, or stays as it is.
pub fn format_file(file: &Arc<SourceFile>) -> Result<String, Diagnostic> {
    crate::parse::parse_body(&file.text).map_err(|e| crate::config::syntax_error(file, &e, 0))?;
    let sound = |text: &String, respacing: bool| {
        crate::parse::parse_body(text).is_ok() && layout(text, respacing) == *text
    };
    for respacing in [true, false] {
        let formatted = layout(&file.text, respacing);
        if sound(&formatted, respacing) {
            return Ok(formatted);
        }
    }
    Ok(file.text.clone())
}

/// What the scanner is inside of at some point in the file.
#[derive(Debug, Clone, PartialEq)]
enum Context {
    /// Code inside a bracket: `{`, `[`, `(` or a template's `${` / `%{`.
    Bracket,
    /// A quoted string.
    Quoted,
    Heredoc { marker: String },
    BlockComment,
}

/// One line, split the way the layout rules need it (and the way the loader
/// finds where top-level blocks end).
pub(crate) struct Line {
    /// Kept verbatim: it starts inside a heredoc, comment or string.
    pub(crate) verbatim: bool,
    /// The line, trimmed unless verbatim.
    pub(crate) text: String,
    /// Byte offset of the `=` that assigns an argument on this line.
    equals: Option<usize>,
    /// Whether that argument's value ends on this line (it joins an alignment run).
    one_line: bool,
    /// Byte offset of a trailing comment.
    pub(crate) comment: Option<usize>,
    /// Brackets opened minus brackets closed on this line.
    pub(crate) net_brackets: i32,
}

/// One `Line` per `\n`-separated line of `src`.
pub(crate) fn scan(src: &str, respacing: bool) -> Vec<Line> {
    let mut lines = Vec::new();
    scan_each(src, respacing, |line| lines.push(line));
    lines
}

/// `scan`, handing each line over as it is made: the loader looks at a large
/// file's lines once and keeps none of them.
pub(crate) fn scan_each(src: &str, respacing: bool, mut each: impl FnMut(Line)) {
    let mut stack: Vec<Context> = Vec::new();
    for raw in src.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let verbatim = matches!(stack.last(), Some(Context::Heredoc { .. } | Context::BlockComment | Context::Quoted));
        if let Some(Context::Heredoc { marker }) = stack.last() {
            if raw.trim() == marker {
                stack.pop();
            }
            each(Line { verbatim: true, text: raw.to_string(), equals: None, one_line: false, comment: None, net_brackets: 0 });
            continue;
        }
        let text = match (verbatim, respacing) {
            (true, _) => raw.to_string(),
            (false, true) => respace(raw.trim()),
            (false, false) => raw.trim().to_string(),
        };
        let b = text.as_bytes();
        let mut i = 0;
        let mut net = 0i32;
        let mut assign = None;
        let mut comment = None;
        // Brackets opened on this line before the `=` candidate, to check that
        // what follows it closes on this line too.
        let mut assign_net = 0;
        while i < b.len() {
            match stack.last() {
                Some(Context::BlockComment) => {
                    if b[i..].starts_with(b"*/") {
                        stack.pop();
                        i += 2;
                    } else {
                        i += 1;
                    }
                    continue;
                }
                Some(Context::Quoted) => {
                    match b[i] {
                        b'\\' => i += 1,
                        b'"' => {
                            stack.pop();
                        }
                        b'$' | b'%' if b.get(i + 1) == Some(&b'{') && !(i > 0 && b[i - 1] == b[i]) => {
                            stack.push(Context::Bracket);
                            net += 1;
                            i += 1;
                        }
                        _ => {}
                    }
                    i += 1;
                    continue;
                }
                Some(Context::Heredoc { .. }) => break,
                Some(Context::Bracket) | None => {}
            }
            match b[i] {
                b'#' => {
                    comment.get_or_insert(i);
                    break;
                }
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    comment.get_or_insert(i);
                    break;
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    // Block comments are never aligned, as in Terraform.
                    stack.push(Context::BlockComment);
                    i += 2;
                    while i < b.len() && !b[i..].starts_with(b"*/") {
                        i += 1;
                    }
                    if i < b.len() {
                        stack.pop();
                        i += 2;
                    }
                    continue;
                }
                b'"' => stack.push(Context::Quoted),
                b'<' if b.get(i + 1) == Some(&b'<') => {
                    let rest = &text[i + 2..];
                    let rest = rest.strip_prefix('-').unwrap_or(rest);
                    let marker: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !marker.is_empty() && rest[marker.len()..].trim().is_empty() {
                        stack.push(Context::Heredoc { marker });
                        break;
                    }
                }
                b'{' | b'[' | b'(' => {
                    stack.push(Context::Bracket);
                    net += 1;
                }
                b'}' | b']' | b')' => {
                    if stack.last() == Some(&Context::Bracket) {
                        stack.pop();
                    }
                    net -= 1;
                }
                b'=' if assign.is_none() && comment.is_none() && i > 0 => {
                    let before = b[i - 1];
                    let after = b.get(i + 1).copied();
                    if !matches!(before, b'=' | b'!' | b'<' | b'>') && !matches!(after, Some(b'=' | b'>')) {
                        assign = Some(i);
                        assign_net = net;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        // An `=` followed by an unclosed bracket opens a multi-line value: that
        // line is not part of an alignment run.
        let one_line = assign.is_some() && net == assign_net;
        each(Line { verbatim, text, equals: assign, one_line, comment, net_brackets: net });
    }
}

pub fn format(src: &str) -> String {
    layout(src, true)
}

fn layout(src: &str, respacing: bool) -> String {
    let mut lines = scan(src, respacing);
    indent(&mut lines);
    normalise_assignments(&mut lines);
    align(&mut lines, |l| l.equals.filter(|_| l.one_line), |l, pad| {
        let at = l.equals.unwrap_or(0);
        l.text.insert_str(at, &" ".repeat(pad));
        l.comment = l.comment.map(|c| c + pad);
    });
    align(&mut lines, |l| l.comment.filter(|&c| c > indentation(&l.text)), |l, pad| {
        let at = l.comment.unwrap_or(0);
        l.text.insert_str(at, &" ".repeat(pad));
    });
    let newline = if src.contains("\r\n") { "\r\n" } else { "\n" };
    lines.into_iter().map(|l| l.text).collect::<Vec<_>>().join(newline)
}

fn indentation(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

/// Two spaces for each line whose brackets are still open, as Terraform
/// counts them: a line opening several brackets adds one level.
fn indent(lines: &mut [Line]) {
    let mut levels: Vec<i32> = Vec::new();
    for line in lines.iter_mut() {
        if line.verbatim {
            continue;
        }
        if line.text.is_empty() {
            continue;
        }
        let depth = match line.net_brackets {
            n if n > 0 => {
                let depth = levels.len();
                levels.push(n);
                depth
            }
            n if n < 0 => {
                let mut closed = -n;
                while closed > 0 {
                    let Some(last) = levels.last_mut() else { break };
                    if closed >= *last {
                        closed -= *last;
                        levels.pop();
                    } else {
                        *last -= closed;
                        closed = 0;
                    }
                }
                levels.len()
            }
            _ => levels.len(),
        };
        let pad = " ".repeat(2 * depth);
        line.text.insert_str(0, &pad);
        line.equals = line.equals.map(|a| a + pad.len());
        line.comment = line.comment.map(|c| c + pad.len());
    }
}

/// `name=value` and `name   =   value` become `name = value`; a trailing
/// comment keeps one space before it.
fn normalise_assignments(lines: &mut [Line]) {
    for line in lines.iter_mut().filter(|l| !l.verbatim) {
        if let Some(c) = line.comment {
            let before = line.text[..c].trim_end().len();
            if before > indentation(&line.text) {
                line.text.replace_range(before..c, " ");
                line.comment = Some(before + 1);
            }
        }
        let Some(at) = line.equals else { continue };
        let name_end = line.text[..at].trim_end().len();
        let value_start = at + 1 + (line.text[at + 1..].len() - line.text[at + 1..].trim_start().len());
        let shift = (value_start - name_end) as isize - 3;
        line.text.replace_range(name_end..value_start, " = ");
        line.equals = Some(name_end + 1);
        line.comment = line.comment.map(|c| (c as isize - shift) as usize);
    }
}

/// Lines up a column (`=` or a comment) across runs of consecutive lines that
/// all have it, padding each before the column.
fn align(lines: &mut [Line], column: impl Fn(&Line) -> Option<usize>, mut pad: impl FnMut(&mut Line, usize)) {
    let mut start = 0;
    while start < lines.len() {
        if lines[start].verbatim || column(&lines[start]).is_none() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < lines.len() && !lines[end].verbatim && column(&lines[end]).is_some() {
            end += 1;
        }
        let width = |l: &Line| column(l).map_or(0, |c| l.text[..c].chars().count());
        let widest = lines[start..end].iter().map(width).max().unwrap_or(0);
        for line in &mut lines[start..end] {
            let w = width(line);
            pad(line, widest - w);
        }
        start = end;
    }
}

/// Token kinds, as far as spacing needs to tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ident,
    Number,
    /// `]` or `)`.
    Close,
    OBrace,
    CBrace,
    OBrack,
    OParen,
    Comma,
    Dot,
    Ellipsis,
    DoubleColon,
    Minus,
    Bang,
    /// `=`, `==`, `?`, `:` and every other operator that takes spaces.
    Operator,
    OQuote,
    CQuote,
    QuotedLit,
    /// `${` or `%{` (with an optional `~`).
    TemplateOpen,
    /// The `}` (or `~}`) that closes one.
    TemplateClose,
    /// A comment, a heredoc opener or anything left as written.
    Verbatim,
}

/// Splits a code line into tokens; `None` when the line holds something the
/// spacing rules do not cover (it is then left as written).
fn tokens(text: &str) -> Option<Vec<(Tok, &str)>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Open brackets: true for a template's `${`/`%{`, false for code brackets.
    let mut stack: Vec<bool> = Vec::new();
    let mut in_quote = false;
    while i < b.len() {
        let start = i;
        if in_quote {
            match b[i] {
                b'"' => {
                    in_quote = false;
                    out.push((Tok::CQuote, &text[i..i + 1]));
                    i += 1;
                }
                b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                    i += 2;
                    if b.get(i) == Some(&b'~') {
                        i += 1;
                    }
                    stack.push(true);
                    in_quote = false;
                    out.push((Tok::TemplateOpen, &text[start..i]));
                }
                _ => {
                    while i < b.len() && b[i] != b'"' && !((b[i] == b'$' || b[i] == b'%') && b.get(i + 1) == Some(&b'{')) {
                        if (b[i] == b'$' || b[i] == b'%') && b.get(i + 1) == Some(&b[i]) {
                            i += 1;
                        } else if b[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    out.push((Tok::QuotedLit, &text[start..i.min(b.len())]));
                }
            }
            continue;
        }
        let c = b[i];
        if c == b' ' || c == b'\t' {
            i += 1;
            continue;
        }
        let two = text.get(i..i + 2).unwrap_or("");
        let (kind, len) = match c {
            b'#' => (Tok::Verbatim, b.len() - i),
            b'/' if two == "//" => (Tok::Verbatim, b.len() - i),
            b'/' if two == "/*" => match text[i + 2..].find("*/") {
                Some(end) => (Tok::Verbatim, end + 4),
                None => (Tok::Verbatim, b.len() - i),
            },
            b'<' if two == "<<" => (Tok::Verbatim, b.len() - i),
            b'"' => (Tok::OQuote, 1),
            b'~' if b.get(i + 1) == Some(&b'}') && stack.last() == Some(&true) => (Tok::TemplateClose, 2),
            b'}' if stack.last() == Some(&true) => (Tok::TemplateClose, 1),
            b'{' => (Tok::OBrace, 1),
            b'}' => (Tok::CBrace, 1),
            b'[' => (Tok::OBrack, 1),
            b'(' => (Tok::OParen, 1),
            b']' | b')' => (Tok::Close, 1),
            b',' => (Tok::Comma, 1),
            b'.' if text[i..].starts_with("...") => (Tok::Ellipsis, 3),
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) || out.last().is_some_and(|(k, _)| *k != Tok::Operator) => (Tok::Dot, 1),
            b':' if two == "::" => (Tok::DoubleColon, 2),
            b'-' => (Tok::Minus, 1),
            b'!' if two != "!=" => (Tok::Bang, 1),
            b'=' | b'!' | b'<' | b'>' | b'&' | b'|' if matches!(two, "==" | "!=" | "<=" | ">=" | "&&" | "||" | "=>") => (Tok::Operator, 2),
            b'=' | b'<' | b'>' | b'+' | b'*' | b'/' | b'%' | b'?' | b':' => (Tok::Operator, 1),
            c if c.is_ascii_digit() || c == b'.' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || ((b[j] == b'+' || b[j] == b'-') && matches!(b[j - 1], b'e' | b'E'))) {
                    j += 1;
                }
                (Tok::Number, j - i)
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-' || b[j] >= 0x80) {
                    j += 1;
                }
                (Tok::Ident, j - i)
            }
            _ => return None,
        };
        let len = len.min(b.len() - i);
        match kind {
            Tok::OQuote => in_quote = true,
            Tok::OBrace | Tok::OBrack | Tok::OParen => stack.push(false),
            Tok::CBrace | Tok::Close => {
                stack.pop();
            }
            Tok::TemplateClose => {
                stack.pop();
                in_quote = true;
            }
            _ => {}
        }
        out.push((kind, &text[i..i + len]));
        i += len;
    }
    Some(out)
}

fn opens(t: Tok) -> bool {
    matches!(t, Tok::OBrace | Tok::OBrack | Tok::OParen | Tok::TemplateOpen)
}

fn closes(t: Tok) -> bool {
    matches!(t, Tok::CBrace | Tok::Close | Tok::TemplateClose)
}

/// Whether a space goes between `subject` and `after`, as Terraform decides.
fn space_after(before: Option<(Tok, &str)>, subject: (Tok, &str), after: (Tok, &str)) -> bool {
    let (s, a) = (subject.0, after.0);
    match () {
        _ if s == Tok::Ident && a == Tok::OParen => false,
        _ if (s == Tok::Ident && a == Tok::DoubleColon) || (s == Tok::DoubleColon && a == Tok::Ident) => false,
        _ if s == Tok::Dot || a == Tok::Dot => false,
        _ if a == Tok::Comma || a == Tok::Ellipsis => false,
        _ if s == Tok::Comma => true,
        _ if matches!(s, Tok::OQuote | Tok::QuotedLit) || matches!(a, Tok::QuotedLit | Tok::CQuote) => false,
        // Adjacent interpolations ("${a}${b}"): a space would change the string.
        _ if s == Tok::TemplateClose && a == Tok::TemplateOpen => false,
        // `in [x]` in a for-expression: a keyword, not a reference being indexed.
        _ if subject.1 == "in" && before.is_some_and(|(t, _)| t == Tok::Ident) => true,
        _ if a == Tok::OBrack && (matches!(s, Tok::Ident | Tok::Number) || closes(s)) => false,
        _ if s == Tok::Bang => false,
        _ if s == Tok::Minus => {
            // A minus after something that can end an operand is a subtraction.
            match before {
                None => false,
                Some((t, _)) => !(opens(t) || matches!(t, Tok::Comma | Tok::Minus | Tok::Bang | Tok::Operator)),
            }
        }
        _ if s == Tok::OBrace || a == Tok::CBrace => !(s == Tok::OBrace && a == Tok::CBrace),
        _ if s == Tok::TemplateOpen && a == Tok::OBrace => true,
        _ if s == Tok::CBrace && a == Tok::TemplateClose => true,
        _ if opens(s) => false,
        _ if closes(a) => false,
        _ => true,
    }
}

/// The line with its tokens re-spaced; unchanged when it cannot be tokenised.
fn respace(text: &str) -> String {
    let Some(toks) = tokens(text) else { return text.to_string() };
    let mut out = String::with_capacity(text.len());
    for (n, &tok) in toks.iter().enumerate() {
        if n > 0 && space_after(n.checked_sub(2).map(|p| toks[p]), toks[n - 1], tok) {
            out.push(' ');
        }
        out.push_str(tok.1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn indents_aligns_and_keeps_comments() {
        let src = "resource \"a\" \"b\" {\n# why\nname=\"x\" # trailing\n    longer_name   =  1 // note\ntags= {\nk = \"v\"\n}\n  list = [\n1,\n  2,\n]\n}\n";
        let want = "resource \"a\" \"b\" {\n  # why\n  name        = \"x\" # trailing\n  longer_name = 1   // note\n  tags = {\n    k = \"v\"\n  }\n  list = [\n    1,\n    2,\n  ]\n}\n";
        assert_eq!(format(src), want);
    }

    #[test]
    fn heredocs_and_strings_are_untouched() {
        let src = "x = <<EOT\n  keep   = this\n    as is\nEOT\ny = \"a  =  b { \"\nz = [for s in [\"{\"] : s]\n";
        let want = "x = <<EOT\n  keep   = this\n    as is\nEOT\ny = \"a  =  b { \"\nz = [for s in [\"{\"] : s]\n";
        assert_eq!(format(src), want);
    }

    #[test]
    fn tokens_are_spaced_as_terraform_spaces_them() {
        let cases = [
            ("a = !var.x", "a = !var.x"),
            ("b = foo( a,b )", "b = foo(a, b)"),
            ("c = [ 1,2 ]", "c = [1, 2]"),
            ("d = {a=1,b=2}", "d = { a = 1, b = 2 }"),
            ("f = x ? -1 : 2-1", "f = x ? -1 : 2 - 1"),
            ("g = {for k,v in var.m: k=>v...}", "g = { for k, v in var.m : k => v... }"),
            ("h = \"${ var.x }-%{ if y }z%{ endif }\"", "h = \"${var.x}-%{if y}z%{endif}\""),
            ("i = a.b[0].c[*].d", "i = a.b[0].c[*].d"),
            ("j = var.list[ 0 ]", "j = var.list[0]"),
            ("l = a==b&&c||!d", "l = a == b && c || !d"),
            ("n = x * -2", "n = x * -2"),
            ("p = [for x in [1]: x]", "p = [for x in [1] : x]"),
            ("q = provider::aws::arn_parse(x)", "q = provider::aws::arn_parse(x)"),
            ("s = (a+b)*c", "s = (a + b) * c"),
            ("v = try(a,b)[\"x\"]", "v = try(a, b)[\"x\"]"),
            ("w = \"${a}${b}  ${c}\"", "w = \"${a}${b}  ${c}\""),
            ("y = tomap( {a=1} )", "y = tomap({ a = 1 })"),
            ("resource \"a\" \"b\" {}", "resource \"a\" \"b\" {}"),
            ("z = a-b", "z = a-b"),
        ];
        for (src, want) in cases {
            assert_eq!(format(src), want, "for {src}");
        }
    }

    #[test]
    fn several_brackets_on_one_line_add_one_level() {
        let src = "x = [{\na = 1\n}]\ny = 2\n";
        assert_eq!(format(src), "x = [{\n  a = 1\n}]\ny = 2\n");
    }

    #[test]
    fn formatting_is_idempotent() {
        let src = include_str!("../../../examples/quickstart/main.tf");
        let once = format(src);
        assert_eq!(format(&once), once);
    }
}
