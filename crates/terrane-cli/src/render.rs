//! Human-readable plans, state and outputs, in the shape Terraform users know:
//! `+`, `~`, `-/+`, `-`, "(known after apply)" and "(sensitive value)".

use std::fmt::Write as _;

use terrane_core::{InstanceAddr, Mode, Value};
use terrane_engine::{Action, Plan, ResourceChange};

#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
}

/// A value as HCL-ish text inside a plan line whose change symbol sits at `indent`.
pub fn value(v: &Value, indent: usize) -> String {
    value_block(v, indent + 2)
}

/// A value whose multi-line forms close at column `close` and nest items two further in.
pub fn value_block(v: &Value, close: usize) -> String {
    let pad = " ".repeat(close + 2);
    let end = " ".repeat(close);
    match v {
        Value::Sensitive(_) => "(sensitive value)".into(),
        Value::Unknown => "(known after apply)".into(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.contains('\n') => {
            let mut out = String::from("<<-EOT\n");
            for line in s.trim_end_matches('\n').split('\n') {
                let _ = writeln!(out, "{pad}{line}");
            }
            let _ = write!(out, "{end}EOT");
            out
        }
        Value::String(s) => quote(s),
        Value::List(items) | Value::Set(items) => {
            if items.is_empty() {
                return "[]".into();
            }
            let mut out = String::from("[\n");
            for item in items {
                let _ = writeln!(out, "{pad}{},", value_block(item, close + 2));
            }
            let _ = write!(out, "{end}]");
            out
        }
        Value::Map(m) => {
            if m.is_empty() {
                return "{}".into();
            }
            let width = m.keys().map(|k| key(k).len()).max().unwrap_or(0);
            let mut out = String::from("{\n");
            for (k, item) in m {
                let _ = writeln!(out, "{pad}{:width$} = {}", key(k), value_block(item, close + 2));
            }
            let _ = write!(out, "{end}}}");
            out
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn key(k: &str) -> String {
    let ident = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident {
        k.to_string()
    } else {
        quote(k)
    }
}

fn action_symbol(style: Style, action: Action) -> String {
    match action {
        Action::Create => format!("  {}", style.green("+")),
        Action::Update => format!("  {}", style.yellow("~")),
        Action::Replace { create_before_destroy: false } => style.red("-") + "/" + &style.green("+"),
        Action::Replace { create_before_destroy: true } => style.green("+") + "/" + &style.red("-"),
        Action::Delete => format!("  {}", style.red("-")),
        Action::Read => format!(" {}", style.paint("36", "<=")),
        Action::NoOp | Action::Forget => "   ".into(),
    }
}

fn header(addr: &InstanceAddr, change: &ResourceChange) -> String {
    let what = match change.action {
        Action::Create => "will be created".to_string(),
        Action::Update => "will be updated in-place".to_string(),
        Action::Replace { .. } => match change.reason.as_deref() {
            Some("tainted") => "is tainted, so must be replaced".to_string(),
            Some("replace_triggered_by") => "will be replaced due to changes in replace_triggered_by".to_string(),
            _ => "must be replaced".to_string(),
        },
        Action::Delete => match change.reason.as_deref() {
            Some("destroy") | None => "will be destroyed".to_string(),
            Some(reason) => format!("will be destroyed\n  # (because {reason})"),
        },
        Action::Read => "will be read during apply".to_string(),
        Action::NoOp => "has no changes".to_string(),
        Action::Forget => "will be removed from state".to_string(),
    };
    match (&change.importing, change.action) {
        (Some(_), Action::NoOp) => format!("  # {addr} will be imported"),
        (Some(id), _) => format!("  # {addr} {what}\n  # (imported from {})", quote(id)),
        (None, _) => format!("  # {addr} {what}"),
    }
}

fn block_open(addr: &InstanceAddr) -> String {
    let kind = if addr.resource.mode == Mode::Data { "data" } else { "resource" };
    format!("{kind} {:?} {:?}", addr.resource.type_name, addr.resource.name)
}

/// One attribute line of a diff, possibly spanning several lines.
fn attr_line(style: Style, indent: usize, name: &str, width: usize, before: Option<&Value>, after: Option<&Value>, forces: bool, out: &mut String) -> bool {
    let pad = " ".repeat(indent);
    let force = if forces { style.red(" # forces replacement") } else { String::new() };
    let name = format!("{name:width$}");
    match (before, after) {
        (None | Some(Value::Null), Some(a)) if !a.is_null() => {
            let _ = writeln!(out, "{pad}{} {name} = {}{force}", style.green("+"), value(a, indent));
            true
        }
        (Some(b), None | Some(Value::Null)) if !b.is_null() => {
            let _ = writeln!(out, "{pad}{} {name} = {} -> null{force}", style.red("-"), value(b, indent));
            true
        }
        (Some(b), Some(a)) if !terrane_provider::same_value(b, a) => {
            if let (Value::Map(bm), Value::Map(am)) = (b, a) {
                let _ = writeln!(out, "{pad}{} {name} = {{{force}", style.yellow("~"));
                let keys: std::collections::BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
                let kw = keys.iter().map(|k| key(k).len()).max().unwrap_or(0);
                let inner = " ".repeat(indent + 4);
                let mut hidden = 0;
                for k in keys {
                    let (bv, av) = (bm.get(k), am.get(k));
                    let shown = format!("{:kw$}", key(k));
                    match (bv, av) {
                        (None, Some(av)) => {
                            let _ = writeln!(out, "{inner}{} {shown} = {}", style.green("+"), value(av, indent + 4));
                        }
                        (Some(bv), None) => {
                            let _ = writeln!(out, "{inner}{} {shown} = {} -> null", style.red("-"), value(bv, indent + 4));
                        }
                        (Some(bv), Some(av)) if !terrane_provider::same_value(bv, av) => {
                            let _ = writeln!(out, "{inner}{} {shown} = {} -> {}", style.yellow("~"), value(bv, indent + 4), value(av, indent + 4));
                        }
                        _ => hidden += 1,
                    }
                }
                if hidden > 0 {
                    let _ = writeln!(out, "{inner}  # ({hidden} unchanged element{} hidden)", if hidden == 1 { "" } else { "s" });
                }
                let _ = writeln!(out, "{pad}  }}");
            } else {
                let _ = writeln!(out, "{pad}{} {name} = {} -> {}{force}", style.yellow("~"), value(b, indent), value(a, indent));
            }
            true
        }
        _ => false,
    }
}

pub fn change(style: Style, change: &ResourceChange, out: &mut String) {
    let _ = writeln!(out, "{}", style.bold(&header(&change.addr, change)));
    let _ = writeln!(out, "{} {} {{", action_symbol(style, change.action), block_open(&change.addr));
    let empty = terrane_core::ValueMap::new();
    let before = change.before.as_ref().and_then(|v| v.as_map()).unwrap_or(&empty);
    let after = change.after.as_ref().and_then(|v| v.as_map()).unwrap_or(&empty);
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let shown = |n: &&&String| before.get(**n).is_some_and(|v| !v.is_null()) || after.get(**n).is_some_and(|v| !v.is_null());
    let width = names.iter().filter(shown).map(|n| n.len()).max().unwrap_or(0);
    let mut unchanged = 0;
    for name in names {
        let forces = change.requires_replace.iter().any(|p| matches!(p.first(), Some(terrane_core::PathStep::Attr(a)) if a == name));
        if change.importing.is_some() && change.action == Action::NoOp {
            if let Some(v) = after.get(name).filter(|v| !v.is_null()) {
                let _ = writeln!(out, "        {name:width$} = {}", value(v, 6));
            }
            continue;
        }
        let (b, a) = match change.action {
            Action::Delete => (before.get(name), None),
            Action::Create | Action::Read => (None, after.get(name)),
            Action::Update | Action::Replace { .. } | Action::NoOp | Action::Forget => (before.get(name), after.get(name)),
        };
        if !attr_line(style, 6, name, width, b, a, forces, out) {
            let shown = b.or(a);
            // An import shows the whole object it brings under management.
            let whole = change.importing.is_some() || (change.action != Action::Delete && name == "id");
            if whole && shown.is_some_and(|v| !v.is_null()) {
                let _ = writeln!(out, "        {name:width$} = {}", value(shown.unwrap_or(&Value::Null), 6));
            } else if shown.is_some_and(|v| !v.is_null()) {
                unchanged += 1;
            }
        }
    }
    if unchanged > 0 {
        let _ = writeln!(out, "        # ({unchanged} unchanged attribute{} hidden)", if unchanged == 1 { "" } else { "s" });
    }
    let _ = writeln!(out, "    }}\n");
}

/// Writes the plan as `terrane plan` shows it. The text of a large plan is
/// megabytes: it goes out in pieces rather than as one string.
pub fn plan(style: Style, plan: &Plan, sink: &mut impl std::io::Write) {
    let mut out = String::new();
    plan_text(style, plan, &mut out, &mut |text: &mut String| {
        // A closed pipe is the reader's choice, not an error of the plan.
        let _ = sink.write_all(text.as_bytes());
        text.clear();
    });
    let _ = sink.write_all(out.as_bytes());
}

/// Below this many bytes, the text stays in one string.
const PIECE: usize = 64 * 1024;

fn plan_text(style: Style, plan: &Plan, out: &mut String, flush: &mut dyn FnMut(&mut String)) {
    let drift = plan.relevant_drift();
    if !drift.is_empty() {
        let _ = writeln!(out, "{}\n", style.bold("Note: Objects have changed outside of terrane"));
        let _ = writeln!(out, "terrane detected the following changes made outside of terrane since the last \"terrane apply\":\n");
        for d in &drift {
            let fake = ResourceChange {
                addr: d.addr.clone(),
                provider: terrane_engine::ProviderKey { source: String::new(), alias: None, module: None },
                action: if d.after.is_some() { Action::Update } else { Action::Delete },
                before: Some(d.before.clone()),
                after: d.after.clone(),
                requires_replace: Vec::new(),
                schema_version: 0,
                reason: None,
                each_value: None,
                dependencies: std::sync::Arc::new([]),
                drifted: true,
                importing: None,
            };
            let mut block = String::new();
            change(style, &fake, &mut block);
            let verb = if d.after.is_some() { "has changed" } else { "has been deleted" };
            let block = block.replacen(&header(&fake.addr, &fake), &format!("  # {} {verb}", d.addr), 1);
            out.push_str(&block);
        }
        let _ = writeln!(out, "Unless you have made equivalent changes to your configuration, or ignored the relevant attributes using ignore_changes, the following plan may include actions to undo or respond to these changes.\n");
        let _ = writeln!(out, "─────────────────────────────────────────────────────────────────────────────\n");
    }
    let visible: Vec<&ResourceChange> = plan.changes.iter().filter(|c| !matches!(c.action, Action::NoOp) || c.importing.is_some()).collect();
    let output_changes: Vec<_> = plan.outputs.iter().filter(|o| o.changed()).collect();
    for (from, to) in &plan.moves {
        let _ = writeln!(out, "  # {from} has moved to {to}");
    }
    if !plan.moves.is_empty() {
        out.push('\n');
    }
    if visible.is_empty() && output_changes.is_empty() && !plan.moves.is_empty() {
        let _ = writeln!(out, "{} 0 to add, 0 to change, 0 to destroy.", style.bold("Plan:"));
        return;
    }
    if visible.is_empty() && output_changes.is_empty() {
        let _ = writeln!(out, "{}", style.green(&style.bold("No changes.") ) + &style.bold(" Your infrastructure matches the configuration."));
        let _ = writeln!(out, "\nterrane has compared your real infrastructure against your configuration and found no differences, so no changes are needed.");
        return;
    }
    if !visible.is_empty() {
        let mut symbols = Vec::new();
        let has = |f: &dyn Fn(Action) -> bool| visible.iter().any(|c| f(c.action));
        if has(&|a| a == Action::Create) {
            symbols.push(format!("  {} create", style.green("+")));
        }
        if has(&|a| a == Action::Update) {
            symbols.push(format!("  {} update in-place", style.yellow("~")));
        }
        if has(&|a| a == Action::Delete) {
            symbols.push(format!("  {} destroy", style.red("-")));
        }
        if has(&|a| matches!(a, Action::Replace { create_before_destroy: false })) {
            symbols.push(format!("{} destroy and then create replacement", action_symbol(style, Action::Replace { create_before_destroy: false })));
        }
        if has(&|a| matches!(a, Action::Replace { create_before_destroy: true })) {
            symbols.push(format!("{} create replacement and then destroy", action_symbol(style, Action::Replace { create_before_destroy: true })));
        }
        if has(&|a| a == Action::Read) {
            symbols.push(format!("{} read (data resources)", action_symbol(style, Action::Read)));
        }
        let _ = writeln!(out, "terrane used the selected providers to generate the following execution plan. Resource actions are indicated with the following symbols:");
        for s in symbols {
            let _ = writeln!(out, "{s}");
        }
        let _ = writeln!(out, "\nterrane will perform the following actions:\n");
        for c in &visible {
            change(style, c, out);
            if out.len() >= PIECE {
                flush(out);
            }
        }
    }
    let counts = plan.counts();
    let imports = if counts.import > 0 { format!(" {} to import,", counts.import) } else { String::new() };
    let _ = writeln!(out, "{}{imports} {} to add, {} to change, {} to destroy.", style.bold("Plan:"), counts.add, counts.change, counts.destroy);
    if !output_changes.is_empty() {
        let _ = writeln!(out, "\nChanges to Outputs:");
        let width = output_changes.iter().map(|o| o.name.len()).max().unwrap_or(0);
        let mut sorted = output_changes;
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for o in sorted {
            let after = if plan.destroy { None } else { Some(&o.after) };
            attr_line(style, 2, &o.name, width, o.before.as_ref(), after, false, out);
        }
    }
}

/// A stored object, as `terrane show` and `state show` print it.
pub fn object(addr: &InstanceAddr, v: &Value) -> String {
    let mut out = format!("# {addr}:\n{} {{\n", block_open(addr));
    if let Some(m) = v.as_map() {
        let width = m.iter().filter(|(_, x)| !x.is_null()).map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, x) in m {
            if !x.is_null() {
                let _ = writeln!(out, "    {k:width$} = {}", value_block(x, 4));
            }
        }
    }
    out.push_str("}\n");
    out
}
