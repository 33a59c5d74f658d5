//! Diagnostics with source locations: every user-facing problem is one of these.

use std::fmt;
use std::sync::Arc;

/// One loaded source file, kept whole so diagnostics can show a snippet.
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<u32>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        let text = text.into();
        let mut line_starts = vec![0u32];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i as u32 + 1);
            }
        }
        Arc::new(SourceFile { name: name.into(), text, line_starts })
    }

    /// One-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let offset = offset.min(self.text.len() as u32);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let end = (offset as usize).max(start);
        let col = self.text.get(start..end).map_or(end - start, |s| s.chars().count());
        (line as u32 + 1, col as u32 + 1)
    }
}

/// A byte range in a source file.
#[derive(Clone)]
pub struct Span {
    pub file: Arc<SourceFile>,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: &Arc<SourceFile>, range: std::ops::Range<usize>) -> Span {
        Span { file: file.clone(), start: range.start as u32, end: range.end as u32 }
    }

    pub fn line_col(&self) -> (u32, u32) {
        self.file.line_col(self.start)
    }

    /// The source text the span covers.
    pub fn text(&self) -> &str {
        self.file.text.get(self.start as usize..self.end as usize).unwrap_or("")
    }

    /// The smallest span covering both.
    pub fn to(&self, other: &Span) -> Span {
        if !Arc::ptr_eq(&self.file, &other.file) {
            return self.clone();
        }
        Span { file: self.file.clone(), start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, col) = self.line_col();
        write!(f, "{}:{}:{}", self.file.name, line, col)
    }
}

impl PartialEq for Span {
    fn eq(&self, other: &Span) -> bool {
        Arc::ptr_eq(&self.file, &other.file) && self.start == other.start && self.end == other.end
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A problem found in the user's input, with a stable code and a place.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier, e.g. `terrane::unknown_attribute`.
    pub code: &'static str,
    pub summary: String,
    pub detail: Option<String>,
    pub help: Option<String>,
    pub span: Option<Span>,
    /// Further places that explain the problem (each edge of a cycle, say).
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(code: &'static str, summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            summary: summary.into(),
            detail: None,
            help: None,
            span: None,
            related: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, summary: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, summary) }
    }

    pub fn at(mut self, span: &Span) -> Diagnostic {
        self.span = Some(span.clone());
        self
    }

    pub fn at_opt(mut self, span: Option<&Span>) -> Diagnostic {
        self.span = span.cloned();
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Diagnostic {
        self.detail = Some(detail.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: &Span, label: impl Into<String>) -> Diagnostic {
        self.related.push((span.clone(), label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        write!(f, "{}", self.summary)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

/// Every problem found in one pass; an error when any of them is an error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics(Vec::new())
    }

    /// Adds a diagnostic unless an identical one was just reported: every
    /// instance of a module reports the same mistake in its source once.
    pub fn push(&mut self, diag: Diagnostic) {
        if !self.0.iter().rev().take(64).any(|d| *d == diag) {
            self.0.push(diag);
        }
    }

    pub fn extend(&mut self, other: Diagnostics) {
        for diag in other.0 {
            self.push(diag);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Err(self)` when any error was recorded, else `Ok(value)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.has_errors() {
            Err(self)
        } else {
            Ok(value)
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diag: Diagnostic) -> Diagnostics {
        Diagnostics(vec![diag])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let file = SourceFile::new("main.tf", "a = 1\nbé = \"x\"\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(6), (2, 1));
        // "bé " is 4 bytes and 3 characters before '='.
        assert_eq!(file.line_col(10), (2, 4));
    }
}
