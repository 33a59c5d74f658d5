//! `terrane fmt`: rewrites `.tf` and `.tfvars` files in the canonical layout.
//! A file that does not parse is reported and left alone.

use std::path::{Path, PathBuf};
use terrane_core::{Diagnostics, SourceFile};

use crate::commands::{Ctx, Outcome};

pub struct FmtOptions {
    pub check: bool,
    pub diff: bool,
    pub write: bool,
    pub recursive: bool,
    pub targets: Vec<PathBuf>,
}

/// Exit code of `-check` when some file is not formatted, as Terraform's.
const NOT_FORMATTED: u8 = 3;

fn is_config(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "tf" || e == "tfvars")
}

fn collect(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_dir() {
            if recursive && !hidden {
                collect(&path, recursive, out);
            }
        } else if is_config(&path) {
            out.push(path);
        }
    }
}

fn display(path: &Path) -> String {
    path.strip_prefix(".").unwrap_or(path).display().to_string()
}

pub fn fmt(ctx: &Ctx, options: FmtOptions) -> Outcome {
    let targets = if options.targets.is_empty() { vec![ctx.dir.clone()] } else { options.targets.clone() };
    let mut files = Vec::new();
    for target in &targets {
        if target.is_dir() {
            collect(target, options.recursive, &mut files);
        } else if target.is_file() {
            files.push(target.clone());
        } else {
            return Err(crate::commands::Failure::Message(format!("no file or directory {}", target.display())));
        }
    }
    let mut diags = Diagnostics::new();
    let mut unformatted = false;
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => return Err(crate::commands::Failure::Message(format!("cannot read {}: {e}", path.display()))),
        };
        let file = SourceFile::new(display(&path), text);
        let formatted = match terrane_lang::fmt::format_file(&file) {
            Ok(f) => f,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        if formatted == file.text {
            continue;
        }
        unformatted = true;
        outln!("{}", file.name);
        if options.diff {
            outln!("{}", unified_diff(&file.name, &file.text, &formatted));
        }
        if options.write && !options.check {
            if let Err(e) = std::fs::write(&path, &formatted) {
                return Err(crate::commands::Failure::Message(format!("cannot write {}: {e}", path.display())));
            }
        }
    }
    if diags.has_errors() {
        return Err(diags.into());
    }
    Ok(if options.check && unformatted { NOT_FORMATTED } else { 0 })
}

/// A unified diff of two texts, three lines of context around each change.
fn unified_diff(name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence over the part between a shared prefix and suffix.
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut lcs = vec![vec![0u32; mb.len() + 1]; ma.len() + 1];
    for i in (0..ma.len()).rev() {
        for j in (0..mb.len()).rev() {
            lcs[i][j] = if ma[i] == mb[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    // Each entry: ' ', '-' or '+', and the line.
    let mut ops: Vec<(char, &str)> = a[..prefix].iter().map(|l| (' ', *l)).collect();
    let (mut i, mut j) = (0, 0);
    while i < ma.len() || j < mb.len() {
        if i < ma.len() && j < mb.len() && ma[i] == mb[j] {
            ops.push((' ', ma[i]));
            i += 1;
            j += 1;
        } else if i < ma.len() && (j == mb.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', ma[i]));
            i += 1;
        } else {
            ops.push(('+', mb[j]));
            j += 1;
        }
    }
    ops.extend(a[a.len() - suffix..].iter().map(|l| (' ', *l)));
    let mut out = format!("--- old/{name}\n+++ new/{name}");
    let changed: Vec<usize> = ops.iter().enumerate().filter(|(_, (k, _))| *k != ' ').map(|(n, _)| n).collect();
    let mut n = 0;
    while n < changed.len() {
        let start = changed[n].saturating_sub(3);
        let mut end = changed[n];
        while n < changed.len() && changed[n] <= end + 6 {
            end = changed[n];
            n += 1;
        }
        let end = (end + 4).min(ops.len());
        let old_start = ops[..start].iter().filter(|(k, _)| *k != '+').count();
        let new_start = ops[..start].iter().filter(|(k, _)| *k != '-').count();
        let old_len = ops[start..end].iter().filter(|(k, _)| *k != '+').count();
        let new_len = ops[start..end].iter().filter(|(k, _)| *k != '-').count();
        out.push_str(&format!("\n@@ -{},{old_len} +{},{new_len} @@", old_start + 1, new_start + 1));
        for (kind, line) in &ops[start..end] {
            out.push('\n');
            out.push(*kind);
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unified_diff;

    #[test]
    fn diff_shows_changed_lines_with_context() {
        let d = unified_diff("a.tf", "a=1\nb = 2\n", "a = 1\nb = 2\n");
        assert_eq!(d, "--- old/a.tf\n+++ new/a.tf\n@@ -1,2 +1,2 @@\n-a=1\n+a = 1\n b = 2");
    }
}
