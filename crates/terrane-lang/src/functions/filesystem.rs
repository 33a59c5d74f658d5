//! Path and file functions. Paths are cleaned lexically as Terraform cleans them
//! (`a//b/../c` is `a/c`); relative file paths are read from the module's directory.

use std::path::{Path, PathBuf};

use terrane_core::Value;

use super::encoding::{base64_bytes, base64_digest, hex_digest};
use super::{arg_err, string_at, Context, Result};

fn text(s: impl Into<String>) -> Result<Value> {
    Ok(Value::String(s.into()))
}

/// Lexical clean-up of a slash-separated path: no empty or `.` parts, `..` resolved
/// where it can be, `.` for nothing.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

pub fn basename(a: &[Value], _: &Context) -> Result<Value> {
    let path = string_at(a, 0)?;
    if path.is_empty() {
        return text(".");
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return text("/");
    }
    text(trimmed.rsplit('/').next().unwrap_or(trimmed))
}

pub fn dirname(a: &[Value], _: &Context) -> Result<Value> {
    let path = string_at(a, 0)?;
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    text(clean(dir))
}

pub fn abspath(a: &[Value], _: &Context) -> Result<Value> {
    let path = string_at(a, 0)?;
    if path.starts_with('/') {
        return text(clean(path));
    }
    let cwd = std::env::current_dir().map_err(|e| arg_err(0, format!("cannot find the working directory: {e}")))?;
    text(clean(&format!("{}/{path}", cwd.display())))
}

fn home() -> Option<String> {
    std::env::var("HOME").ok().filter(|h| !h.is_empty())
}

pub fn pathexpand(a: &[Value], _: &Context) -> Result<Value> {
    let path = string_at(a, 0)?;
    let expanded = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => match home() {
            Some(home) => format!("{home}{rest}"),
            None => return Err(arg_err(0, "cannot expand ~: HOME is not set")),
        },
        Some(_) => return Err(arg_err(0, "cannot expand user-specific home dir")),
        _ => path.to_string(),
    };
    text(expanded)
}

fn resolve(ctx: &Context, path: &str) -> PathBuf {
    let expanded = match path.strip_prefix("~/") {
        Some(rest) => home().map_or_else(|| PathBuf::from(path), |h| Path::new(&h).join(rest)),
        None => PathBuf::from(path),
    };
    ctx.base_dir.join(expanded)
}

fn read(a: &[Value], ctx: &Context) -> Result<Vec<u8>> {
    let path = string_at(a, 0)?;
    std::fs::read(resolve(ctx, path)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => arg_err(
            0,
            format!("no file exists at {path:?}; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource"),
        ),
        _ => arg_err(0, format!("failed to read file {path:?}: {e}")),
    })
}

pub fn file(a: &[Value], ctx: &Context) -> Result<Value> {
    let bytes = read(a, ctx)?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        arg_err(0, format!("contents of {:?} are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead", a[0].as_str().unwrap_or_default()))
    })
}

pub fn fileexists(a: &[Value], ctx: &Context) -> Result<Value> {
    let path = string_at(a, 0)?;
    match std::fs::metadata(resolve(ctx, path)) {
        Ok(m) if m.is_file() => Ok(Value::Bool(true)),
        Ok(_) => Err(arg_err(0, format!("{path} is not a regular file"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
        Err(e) => Err(arg_err(0, format!("failed to stat {path}: {e}"))),
    }
}

pub fn filebase64(a: &[Value], ctx: &Context) -> Result<Value> {
    text(base64_bytes(&read(a, ctx)?))
}

pub fn filemd5(a: &[Value], ctx: &Context) -> Result<Value> {
    text(hex_digest::<md5::Md5>(&read(a, ctx)?))
}

pub fn filesha1(a: &[Value], ctx: &Context) -> Result<Value> {
    text(hex_digest::<sha1::Sha1>(&read(a, ctx)?))
}

pub fn filesha256(a: &[Value], ctx: &Context) -> Result<Value> {
    text(hex_digest::<sha2::Sha256>(&read(a, ctx)?))
}

pub fn filesha512(a: &[Value], ctx: &Context) -> Result<Value> {
    text(hex_digest::<sha2::Sha512>(&read(a, ctx)?))
}

pub fn filebase64sha256(a: &[Value], ctx: &Context) -> Result<Value> {
    text(base64_digest::<sha2::Sha256>(&read(a, ctx)?))
}

pub fn filebase64sha512(a: &[Value], ctx: &Context) -> Result<Value> {
    text(base64_digest::<sha2::Sha512>(&read(a, ctx)?))
}

/// The files (not directories) under `path` whose path relative to it matches the
/// glob: `*` and `?` within a name, `**` across directories, `[...]` and `{a,b}`.
pub fn fileset(a: &[Value], ctx: &Context) -> Result<Value> {
    let root = resolve(ctx, string_at(a, 0)?);
    let pattern = string_at(a, 1)?;
    let matcher = glob_regex(&clean(pattern)).map_err(|e| arg_err(1, format!("failed to glob pattern {pattern:?}: {e}")))?;
    let mut found = Vec::new();
    let mut stack = vec![(root.clone(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push((entry.path(), relative)),
                Ok(_) if matcher.is_match(&relative) => found.push(Value::String(relative)),
                _ => {}
            }
        }
    }
    Ok(Value::set(found))
}

fn glob_regex(pattern: &str) -> std::result::Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    let mut in_braces = 0;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.next_if_eq(&'/').is_some() {
                    re.push_str("(?:.*/)?");
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                if chars.next_if(|c| *c == '!' || *c == '^').is_some() {
                    re.push('^');
                }
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some('\\') => re.push_str("\\\\"),
                        Some(c) => re.push(c),
                        None => return Err("unclosed character class".into()),
                    }
                }
                re.push(']');
            }
            '{' => {
                in_braces += 1;
                re.push_str("(?:");
            }
            '}' if in_braces > 0 => {
                in_braces -= 1;
                re.push(')');
            }
            ',' if in_braces > 0 => re.push('|'),
            '\\' => match chars.next() {
                Some(escaped) => re.push_str(&regex::escape(&escaped.to_string())),
                None => return Err("pattern ends with a backslash".into()),
            },
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    if in_braces > 0 {
        return Err("unclosed alternation".into());
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_clean_lexically() {
        assert_eq!(clean("a//b/../c/."), "a/c");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../../a"), "../../a");
        assert_eq!(clean(""), ".");
    }

    #[test]
    fn globs_cross_directories_only_with_double_stars() {
        let re = glob_regex("**/*.{tf,hcl}").unwrap();
        assert!(re.is_match("main.tf") && re.is_match("a/b/c.hcl") && !re.is_match("a.txt"));
        assert!(!glob_regex("*.tf").unwrap().is_match("a/b.tf"));
    }
}
