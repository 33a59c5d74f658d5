//! Diagnostics on the terminal (miette, with source snippets) and as JSON.

use miette::{LabeledSpan, MietteDiagnostic, NamedSource, Report, Severity as MSeverity};
use terrane_core::{Diagnostic, Diagnostics, Severity};

pub fn install_handler(color: bool) {
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().color(color).terminal_links(false).unicode(color).width(110).build())
    }));
}

fn report(d: &Diagnostic) -> Report {
    let mut m = MietteDiagnostic::new(d.summary.clone()).with_code(d.code).with_severity(match d.severity {
        Severity::Error => MSeverity::Error,
        Severity::Warning => MSeverity::Warning,
    });
    let mut help = Vec::new();
    if let Some(h) = &d.help {
        help.push(h.clone());
    }
    match &d.span {
        Some(span) => {
            let (line, col) = span.line_col();
            let same_place = d.related.iter().find(|(r, _)| r == span).map(|(r, text)| format!("{text} ({r})"));
            let label = d.detail.clone().or(same_place).unwrap_or_else(|| format!("here ({}:{line}:{col})", span.file.name));
            let mut labels = vec![LabeledSpan::new_primary_with_span(Some(label), (span.start as usize, (span.end - span.start) as usize))];
            for (related, text) in &d.related {
                if std::sync::Arc::ptr_eq(&related.file, &span.file) && related != span {
                    labels.push(LabeledSpan::new_with_span(Some(format!("{text} ({related})")), (related.start as usize, (related.end - related.start) as usize)));
                } else if related != span {
                    help.push(format!("{text} at {related}"));
                }
            }
            m = m.with_labels(labels);
            if !help.is_empty() {
                m = m.with_help(help.join("\n"));
            }
            Report::new(m).with_source_code(NamedSource::new(span.file.name.clone(), span.file.text.clone()).with_language("hcl"))
        }
        None => {
            if let Some(detail) = &d.detail {
                m.message = format!("{}: {detail}", d.summary);
            }
            for (related, text) in &d.related {
                help.push(format!("{text} at {related}"));
            }
            if !help.is_empty() {
                m = m.with_help(help.join("\n"));
            }
            Report::new(m)
        }
    }
}

/// Prints every diagnostic to stderr, each with its `file:line:column`.
pub fn print(diags: &Diagnostics) {
    for d in diags.iter() {
        if let Some(span) = &d.span {
            errln!("{}: {span}: {}", if d.is_error() { "Error" } else { "Warning" }, d.summary);
        }
        errln!("{:?}", report(d));
    }
}

pub fn to_json(diags: &Diagnostics) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let range = d.span.as_ref().map(|s| {
                let (sl, sc) = s.line_col();
                let (el, ec) = s.file.line_col(s.end);
                serde_json::json!({
                    "filename": s.file.name,
                    "start": { "line": sl, "column": sc, "byte": s.start },
                    "end": { "line": el, "column": ec, "byte": s.end },
                })
            });
            serde_json::json!({
                "severity": if d.is_error() { "error" } else { "warning" },
                "code": d.code,
                "summary": d.summary,
                "detail": d.detail.clone().unwrap_or_default(),
                "help": d.help,
                "range": range,
            })
        })
        .collect();
    serde_json::Value::Array(items)
}
