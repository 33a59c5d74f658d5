//! `terrane fmt`: the canonical layout of `.tf` files. Indentation follows
//! bracket nesting (two spaces a level), the `=` of consecutive one-line
//! arguments line up, trailing comments of consecutive lines line up, and
//! spacing around `=` and at line ends is normalised. Comments, heredocs and
//! string contents are kept byte for byte; spacing inside expressions is left
//! as written, so formatting can never change what a file means.

use std::sync::Arc;

use terrane_core::{Diagnostic, SourceFile};

/// Formats one file; a file that does not parse is reported, not changed.
pub fn format_file(file: &Arc<SourceFile>) -> Result<String, Diagnostic> {
    hcl_edit::parser::parse_body(&file.text).map_err(|e| crate::config::syntax_error(file, &e))?;
    Ok(format(&file.text))
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

/// One line, split the way the layout rules need it.
struct Line {
    /// Kept verbatim: it starts inside a heredoc, comment or string.
    verbatim: bool,
    text: String,
    /// Byte offset of the `=` that assigns an argument on this line.
    equals: Option<usize>,
    /// Whether that argument's value ends on this line (it joins an alignment run).
    one_line: bool,
    /// Byte offset of a trailing comment.
    comment: Option<usize>,
    /// Brackets opened minus brackets closed on this line.
    net_brackets: i32,
}

fn scan(src: &str) -> Vec<Line> {
    let mut stack: Vec<Context> = Vec::new();
    let mut lines = Vec::new();
    for raw in src.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let verbatim = matches!(stack.last(), Some(Context::Heredoc { .. } | Context::BlockComment | Context::Quoted));
        if let Some(Context::Heredoc { marker }) = stack.last() {
            if raw.trim() == marker {
                stack.pop();
            }
            lines.push(Line { verbatim: true, text: raw.to_string(), equals: None, one_line: false, comment: None, net_brackets: 0 });
            continue;
        }
        let text = if verbatim { raw.to_string() } else { raw.trim().to_string() };
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
                    let start = i;
                    stack.push(Context::BlockComment);
                    i += 2;
                    while i < b.len() && !b[i..].starts_with(b"*/") {
                        i += 1;
                    }
                    if i < b.len() {
                        stack.pop();
                        i += 2;
                        // Only a comment that ends the line is a trailing comment.
                        if text[i..].trim().is_empty() {
                            comment.get_or_insert(start);
                        }
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
        lines.push(Line { verbatim, text, equals: assign, one_line, comment, net_brackets: net });
    }
    lines
}

pub fn format(src: &str) -> String {
    let mut lines = scan(src);
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
