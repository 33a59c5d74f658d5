//! The expression evaluator: `Expr` to `Value`, with unknowns propagated and
//! sensitive marks carried through every operation.

use std::collections::BTreeMap;
use std::path::Path;

use terrane_core::{Diagnostic, Number, Span, Type, Value, ValueMap};

use crate::ast::{BinaryOp, Expr, ExprKind, ForExpr, TemplatePart, Traverser, UnaryOp};
use crate::functions;

/// Supplies the values of references (`var.x`, `aws_vpc.main`, `count.index`...).
pub trait Scope {
    /// Resolves the reference rooted at `root`. Returns the value and how many of the
    /// leading `steps` were consumed naming it (`var.x` consumes one, `data.t.n` two).
    fn resolve(&self, root: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic>;

    /// Directory that relative paths in `file()` and friends are read from.
    fn base_dir(&self) -> &Path;

    /// True while applying. Before that, functions whose result changes on
    /// every call (uuid, timestamp) are unknown, so a plan shows "known after
    /// apply" instead of a value that apply would not use.
    fn applying(&self) -> bool {
        false
    }
}

/// A scope with nothing in it: constants only.
pub struct EmptyScope;

impl Scope for EmptyScope {
    fn resolve(&self, root: &str, _steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        Err(Diagnostic::error("terrane::variables_not_allowed", "variables are not allowed here")
            .detail(format!("this value must be a constant, but it refers to {root:?}"))
            .at(span))
    }

    fn base_dir(&self) -> &Path {
        Path::new(".")
    }
}

pub fn eval_constant(expr: &Expr) -> Result<Value, Diagnostic> {
    eval(expr, &EmptyScope)
}

pub fn eval(expr: &Expr, scope: &dyn Scope) -> Result<Value, Diagnostic> {
    Evaluator { scope, bindings: Vec::new() }.eval(expr)
}

/// Evaluates with extra names bound (`each`-style iterators of dynamic blocks, tests).
pub fn eval_with(expr: &Expr, scope: &dyn Scope, bindings: Vec<(String, Value)>) -> Result<Value, Diagnostic> {
    Evaluator { scope, bindings }.eval(expr)
}

struct Evaluator<'a> {
    scope: &'a dyn Scope,
    /// Names bound by enclosing for-expressions, innermost last.
    bindings: Vec<(String, Value)>,
}

fn err(code: &'static str, summary: impl Into<String>, span: &Span) -> Diagnostic {
    Diagnostic::error(code, summary).at(span)
}

impl Evaluator<'_> {
    fn eval(&mut self, e: &Expr) -> Result<Value, Diagnostic> {
        match &e.kind {
            ExprKind::Literal(v) => Ok(v.clone()),
            ExprKind::Template(parts) => {
                let mut out = String::new();
                let mut state = TemplateState::default();
                self.template(parts, &mut out, &mut state)?;
                Ok(if state.unknown { Value::Unknown } else { Value::String(out) }.mark_if(state.sensitive))
            }
            ExprKind::Tuple(items) => Ok(Value::List(items.iter().map(|i| self.eval(i)).collect::<Result<_, _>>()?)),
            ExprKind::Object(items) => {
                let mut map = ValueMap::new();
                let mut unknown_key = false;
                for (k, v) in items {
                    let key = self.eval(k)?;
                    let value = self.eval(v)?;
                    match key.unmarked() {
                        Value::Unknown => unknown_key = true,
                        Value::String(s) => {
                            map.insert(s.clone(), value);
                        }
                        Value::Number(n) => {
                            map.insert(n.to_string(), value);
                        }
                        Value::Bool(b) => {
                            map.insert(b.to_string(), value);
                        }
                        other => {
                            return Err(err(
                                "terrane::invalid_object_key",
                                format!("object keys must be strings, got {}", other.type_name()),
                                &k.span,
                            ))
                        }
                    }
                }
                Ok(if unknown_key { Value::Unknown } else { Value::Map(map) })
            }
            ExprKind::Variable(name) => self.traverse_root(name, &[], &e.span),
            ExprKind::Traversal(root, ops) => match &root.kind {
                ExprKind::Variable(name) => self.traverse_root(name, ops, &e.span),
                _ => {
                    let base = self.eval(root)?;
                    self.apply_steps(base, ops)
                }
            },
            ExprKind::Call { name, args, expand_final } => self.call(name, args, *expand_final, &e.span),
            ExprKind::Unary(op, operand) => {
                let v = self.eval(operand)?;
                let (v, marked) = v.into_unmarked();
                let out = match (op, v) {
                    (_, Value::Unknown) => Value::Unknown,
                    (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnaryOp::Neg, v) => Value::Number(to_number(&v).map_err(|m| err("terrane::type_mismatch", m, &operand.span))?.neg()),
                    (UnaryOp::Not, other) => {
                        return Err(err(
                            "terrane::type_mismatch",
                            format!("the ! operator needs a bool, got {}", other.type_name()),
                            &operand.span,
                        ))
                    }
                };
                Ok(out.mark_if(marked))
            }
            ExprKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs),
            ExprKind::Conditional(cond, then, otherwise) => self.conditional(cond, then, otherwise),
            ExprKind::For(f) => self.for_expr(f, &e.span),
        }
    }

    fn traverse_root(&mut self, name: &str, ops: &[Traverser], span: &Span) -> Result<Value, Diagnostic> {
        if let Some((_, v)) = self.bindings.iter().rev().find(|(n, _)| n == name) {
            let v = v.clone();
            return self.apply_steps(v, ops);
        }
        let (value, consumed) = self.scope.resolve(name, ops, span)?;
        self.apply_steps(value, &ops[consumed.min(ops.len())..])
    }

    fn apply_steps(&mut self, mut value: Value, ops: &[Traverser]) -> Result<Value, Diagnostic> {
        let mut i = 0;
        while i < ops.len() {
            match &ops[i] {
                Traverser::Attr(name, span) => value = get_attr(value, name, span)?,
                Traverser::Index(ix) => {
                    let key = self.eval(ix)?;
                    value = index(value, key, &ix.span)?;
                }
                Traverser::AttrSplat(_) | Traverser::FullSplat(_) => {
                    let full = matches!(ops[i], Traverser::FullSplat(_));
                    let rest_end = if full {
                        ops.len()
                    } else {
                        i + 1 + ops[i + 1..].iter().take_while(|o| matches!(o, Traverser::Attr(..))).count()
                    };
                    let rest = &ops[i + 1..rest_end];
                    let (base, marked) = value.into_unmarked();
                    let items = match base {
                        Value::Unknown => return Ok(Value::Unknown),
                        Value::Null => Vec::new(),
                        Value::List(items) | Value::Set(items) => items,
                        single => vec![single],
                    };
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        out.push(self.apply_steps(item, rest)?);
                    }
                    value = Value::List(out).mark_if(marked);
                    i = rest_end;
                    continue;
                }
            }
            i += 1;
        }
        Ok(value)
    }

    /// Both results are evaluated and unified to one type, as HCL does, so
    /// `cond ? 1 : "x"` is a string either way; only the chosen result's errors count.
    fn conditional(&mut self, cond: &Expr, then: &Expr, otherwise: &Expr) -> Result<Value, Diagnostic> {
        let c = self.eval(cond)?;
        let (c, marked) = c.into_unmarked();
        let chosen = match c {
            Value::Unknown => None,
            Value::Bool(b) => Some(b),
            Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
            other => {
                return Err(err(
                    "terrane::type_mismatch",
                    format!("the condition must be a bool, got {}", other.type_name()),
                    &cond.span,
                ))
            }
        };
        let (yes, no) = (self.eval(then), self.eval(otherwise));
        let type_of = |r: &Result<Value, Diagnostic>| r.as_ref().map_or(Type::Any, Type::of);
        let types = [type_of(&yes), type_of(&no)];
        let unified = terrane_core::unify(&types);
        let Some(chosen) = chosen else {
            return Ok(Value::Unknown);
        };
        let (result, expr) = if chosen { (yes?, then) } else { (no?, otherwise) };
        let result = match unified {
            Some(ty) => ty.convert(result).map_err(|e| err("terrane::type_mismatch", e.to_string(), &expr.span))?,
            // unify already treats tuples and objects as the lists and maps they may
            // have been declared as, so what it cannot unify Terraform cannot either.
            None => {
                return Err(err(
                    "terrane::inconsistent_conditional",
                    "inconsistent conditional result types: the true and false results must have types that convert to one type",
                    &expr.span,
                ))
            }
        };
        Ok(result.mark_if(marked))
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr) -> Result<Value, Diagnostic> {
        let l = self.eval(lhs)?;
        // Short-circuit where the left side alone decides.
        match (op, l.unmarked()) {
            (BinaryOp::And, Value::Bool(false)) => return Ok(l),
            (BinaryOp::Or, Value::Bool(true)) => return Ok(l),
            _ => {}
        }
        let r = self.eval(rhs)?;
        let marked = l.contains_sensitive() || r.contains_sensitive();
        let (l, _) = l.unmark_deep();
        let (r, _) = r.unmark_deep();
        let out = match op {
            BinaryOp::Eq | BinaryOp::NotEq => {
                if !l.is_wholly_known() || !r.is_wholly_known() {
                    Value::Unknown
                } else {
                    let same = values_equal(&l, &r);
                    Value::Bool(if op == BinaryOp::Eq { same } else { !same })
                }
            }
            BinaryOp::And | BinaryOp::Or => {
                let a = to_bool(&l).map_err(|m| err("terrane::type_mismatch", m, &lhs.span))?;
                let b = to_bool(&r).map_err(|m| err("terrane::type_mismatch", m, &rhs.span))?;
                match (a, b) {
                    (Some(a), Some(b)) => Value::Bool(if op == BinaryOp::And { a && b } else { a || b }),
                    (_, Some(false)) if op == BinaryOp::And => Value::Bool(false),
                    (_, Some(true)) if op == BinaryOp::Or => Value::Bool(true),
                    _ => Value::Unknown,
                }
            }
            _ => {
                if l.is_unknown() || r.is_unknown() {
                    return Ok(Value::Unknown.mark_if(marked));
                }
                let a = to_number(&l).map_err(|m| err("terrane::type_mismatch", m, &lhs.span))?;
                let b = to_number(&r).map_err(|m| err("terrane::type_mismatch", m, &rhs.span))?;
                match op {
                    BinaryOp::Plus => Value::Number(a.add(&b)),
                    BinaryOp::Minus => Value::Number(a.sub(&b)),
                    BinaryOp::Mul => Value::Number(a.mul(&b)),
                    BinaryOp::Div => Value::Number(a.div(&b).ok_or_else(|| {
                        err("terrane::division_by_zero", "can't divide zero by zero or infinity by infinity", &rhs.span)
                    })?),
                    BinaryOp::Mod => Value::Number(a.rem(&b).ok_or_else(|| {
                        err("terrane::division_by_zero", "can't take the remainder of an infinity", &rhs.span)
                    })?),
                    BinaryOp::Less => Value::Bool(a < b),
                    BinaryOp::LessEq => Value::Bool(a <= b),
                    BinaryOp::Greater => Value::Bool(a > b),
                    BinaryOp::GreaterEq => Value::Bool(a >= b),
                    BinaryOp::Eq | BinaryOp::NotEq | BinaryOp::And | BinaryOp::Or => Value::Unknown,
                }
            }
        };
        Ok(out.mark_if(marked))
    }

    fn call(&mut self, name: &str, args: &[Expr], expand_final: bool, span: &Span) -> Result<Value, Diagnostic> {
        let Some(function) = functions::lookup(name) else {
            let names: Vec<&str> = functions::names().collect();
            return Err(Diagnostic::error("terrane::unknown_function", format!("there is no function named {name:?}"))
                .at(span)
                .help(crate::config::suggest(name, &names).map_or_else(
                    || "see the list of supported functions in the documentation".to_string(),
                    |s| format!("did you mean {s:?}?"),
                )));
        };
        let name = function.name;
        if let functions::Body::Evaluator = function.body {
            function.check_arity(args.len()).map_err(|e| call_error(name, e, args, span))?;
            return self.evaluator_function(name, args, span);
        }
        let mut values = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let v = self.eval(arg)?;
            if expand_final && i + 1 == args.len() {
                match v.into_unmarked() {
                    (Value::List(items) | Value::Set(items), marked) => {
                        values.extend(items.into_iter().map(|x| x.mark_if(marked)))
                    }
                    (Value::Unknown, _) => return Ok(Value::Unknown),
                    (other, _) => {
                        return Err(err(
                            "terrane::function_call",
                            format!("the expanded argument must be a list, got {}", other.type_name()),
                            &arg.span,
                        ))
                    }
                }
            } else {
                values.push(v);
            }
        }
        functions::call(name, values, self.scope.base_dir()).map_err(|e| call_error(name, e, args, span))
    }

    /// The functions that see errors (try, can), read the scope (timestamps) or
    /// evaluate templates.
    fn evaluator_function(&mut self, name: &str, args: &[Expr], span: &Span) -> Result<Value, Diagnostic> {
        match name {
            "try" => {
                let mut last = None;
                for arg in args {
                    match self.eval(arg) {
                        Ok(v) if v.is_wholly_known() || v.is_unknown() => return Ok(v),
                        Ok(_) => return Ok(Value::Unknown),
                        Err(d) => last = Some(d),
                    }
                }
                Err(match last {
                    Some(d) => Diagnostic::error("terrane::function_call", "no expression given to try succeeded")
                        .detail(d.summary)
                        .at(span),
                    None => err("terrane::function_call", "try needs at least one argument", span),
                })
            }
            "can" => Ok(match self.eval(&args[0]) {
                Ok(v) if v.is_unknown() => Value::Unknown,
                Ok(_) => Value::Bool(true),
                Err(_) => Value::Bool(false),
            }),
            "templatefile" => self.templatefile(args, span),
            "templatestring" => self.templatestring(args),
            "plantimestamp" => Ok(Value::string(plan_timestamp())),
            _ if !self.scope.applying() => Ok(Value::Unknown),
            "bcrypt" => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(arg)?);
                }
                let marked = values.iter().any(Value::contains_sensitive);
                if values.iter().any(|v| !v.is_wholly_known()) {
                    return Ok(Value::Unknown);
                }
                let values: Vec<Value> = values.into_iter().map(|v| v.unmark_deep().0).collect();
                functions::bcrypt(&values).map(|v| v.mark_if(marked)).map_err(|e| call_error(name, e, args, span))
            }
            "uuid" => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
            _ => Ok(Value::String(terrane_core::time::now_rfc3339())),
        }
    }

    /// `templatestring(template, vars)`: a string value rendered as a template. As in
    /// Terraform the template must be a reference, so a template written in place is
    /// not evaluated twice.
    fn templatestring(&mut self, args: &[Expr]) -> Result<Value, Diagnostic> {
        if !matches!(args[0].kind, ExprKind::Variable(_) | ExprKind::Traversal(..)) {
            return Err(err(
                "terrane::function_call",
                "invalid template argument: templatestring's first argument must be a reference to a string, such as local.template",
                &args[0].span,
            ));
        }
        let template = self.eval(&args[0])?;
        let vars = self.eval(&args[1])?;
        if !template.is_wholly_known() || !vars.is_wholly_known() {
            return Ok(Value::Unknown);
        }
        let (template, template_marked) = template.into_unmarked();
        let Value::String(text) = template else {
            return Err(err("terrane::function_call", "templatestring's template must be a string", &args[0].span));
        };
        let file = terrane_core::SourceFile::new(args[0].span.file.name.clone(), text);
        let rendered = self.render_template(&file, vars, &args[1])?;
        Ok(rendered.mark_if(template_marked))
    }

    /// `templatefile(path, vars)`: the file is a template whose bare names are the
    /// keys of `vars`; nothing else from the calling module is in scope.
    fn templatefile(&mut self, args: &[Expr], span: &Span) -> Result<Value, Diagnostic> {
        let [path_expr, vars_expr] = args else {
            return Err(err("terrane::function_call", "templatefile takes a path and a map of variables", span));
        };
        let path = self.eval(path_expr)?;
        let vars = self.eval(vars_expr)?;
        if !path.is_wholly_known() || !vars.is_wholly_known() {
            return Ok(Value::Unknown);
        }
        let Some(path) = path.as_str().map(str::to_string) else {
            return Err(err("terrane::function_call", "templatefile's path must be a string", &path_expr.span));
        };
        let full = self.scope.base_dir().join(&path);
        let text = std::fs::read_to_string(&full)
            .map_err(|e| err("terrane::function_call", format!("cannot read template {path}: {e}"), &path_expr.span))?;
        let file = terrane_core::SourceFile::new(full.display().to_string(), text);
        self.render_template(&file, vars, vars_expr)
    }

    /// Renders a template whose only names are the keys of `vars`.
    fn render_template(&mut self, file: &std::sync::Arc<terrane_core::SourceFile>, vars: Value, vars_expr: &Expr) -> Result<Value, Diagnostic> {
        let (vars, marked) = vars.into_unmarked();
        let Value::Map(vars) = vars else {
            return Err(err("terrane::function_call", "a template's variables must be a map or object", &vars_expr.span));
        };
        let template = crate::parse::parse_template(&file.text).map_err(|e| crate::config::syntax_error(file, &e, 0))?;
        let lowering = crate::ast::Lowering { file, base: 0 };
        let expr = Expr {
            kind: ExprKind::Template(lowering.template_parts(&template)),
            span: Span::new(file, 0..file.text.len()),
        };
        let scope = TemplateScope { dir: self.scope.base_dir().to_path_buf() };
        let result = eval_with(&expr, &scope, vars.into_iter().collect())?;
        Ok(result.mark_if(marked))
    }

    fn for_expr(&mut self, f: &ForExpr, span: &Span) -> Result<Value, Diagnostic> {
        let collection = self.eval(&f.collection)?;
        let (collection, marked) = collection.into_unmarked();
        let pairs: Vec<(Value, Value)> = match collection {
            Value::Unknown => return Ok(Value::Unknown),
            Value::List(items) => items.into_iter().enumerate().map(|(i, v)| (Value::number(i), v)).collect(),
            Value::Set(items) => items.into_iter().map(|v| (v.clone(), v)).collect(),
            Value::Map(map) => map.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            Value::Null => {
                return Err(err("terrane::null_value", "cannot iterate over a null value", &f.collection.span))
            }
            other => {
                return Err(err(
                    "terrane::type_mismatch",
                    format!("a for expression needs a list, set, map or object, got {}", other.type_name()),
                    &f.collection.span,
                ))
            }
        };
        let depth = self.bindings.len();
        let mut list = Vec::new();
        let mut object: BTreeMap<String, Value> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown = false;
        for (k, v) in pairs {
            self.bindings.truncate(depth);
            if let Some(kv) = &f.key_var {
                self.bindings.push((kv.clone(), k));
            }
            self.bindings.push((f.value_var.clone(), v));
            let result = (|| -> Result<(), Diagnostic> {
                if let Some(cond) = &f.cond {
                    match self.eval(cond)?.unmarked() {
                        Value::Bool(true) => {}
                        Value::Bool(false) => return Ok(()),
                        Value::Unknown => {
                            unknown = true;
                            return Ok(());
                        }
                        other => {
                            return Err(err(
                                "terrane::type_mismatch",
                                format!("a for expression's condition must be a bool, got {}", other.type_name()),
                                &cond.span,
                            ))
                        }
                    }
                }
                let value = self.eval(&f.value_expr)?;
                match &f.key_expr {
                    None => list.push(value),
                    Some(key_expr) => {
                        let key = self.eval(key_expr)?;
                        let key = match key.unmarked() {
                            Value::Unknown => {
                                unknown = true;
                                return Ok(());
                            }
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            Value::Bool(b) => b.to_string(),
                            other => {
                                return Err(err(
                                    "terrane::invalid_object_key",
                                    format!("object keys must be strings, got {}", other.type_name()),
                                    &key_expr.span,
                                ))
                            }
                        };
                        if f.grouping {
                            groups.entry(key).or_default().push(value);
                        } else if object.insert(key.clone(), value).is_some() {
                            return Err(err("terrane::duplicate_key", format!("duplicate object key {key:?}"), span)
                                .help("add ... after the value to group values with the same key into a list"));
                        }
                    }
                }
                Ok(())
            })();
            if let Err(d) = result {
                self.bindings.truncate(depth);
                return Err(d);
            }
        }
        self.bindings.truncate(depth);
        if unknown {
            return Ok(Value::Unknown);
        }
        let out = if f.key_expr.is_none() {
            Value::List(list)
        } else if f.grouping {
            Value::Map(groups.into_iter().map(|(k, v)| (k, Value::List(v))).collect())
        } else {
            Value::Map(object.into_iter().collect())
        };
        Ok(out.mark_if(marked))
    }

    fn template(&mut self, parts: &[TemplatePart], out: &mut String, state: &mut TemplateState) -> Result<(), Diagnostic> {
        for part in parts {
            match part {
                TemplatePart::Literal(s) => out.push_str(s),
                TemplatePart::Interpolation(e) => {
                    let v = self.eval(e)?;
                    let (v, marked) = v.into_unmarked();
                    state.sensitive |= marked || v.contains_sensitive();
                    match v {
                        Value::Unknown => state.unknown = true,
                        Value::String(s) => out.push_str(&s),
                        Value::Number(n) => out.push_str(&n.to_string()),
                        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                        Value::Null => {
                            return Err(err("terrane::null_value", "invalid template interpolation value", &e.span)
                                .detail("the expression result is null; only strings, numbers and bools can be interpolated"))
                        }
                        other => {
                            return Err(err(
                                "terrane::type_mismatch",
                                format!("cannot include a {} in a string template", other.type_name()),
                                &e.span,
                            )
                            .help("use jsonencode() or join() to turn it into a string"))
                        }
                    }
                }
                TemplatePart::If { cond, then, otherwise } => match self.eval(cond)?.into_unmarked() {
                    (Value::Unknown, _) => state.unknown = true,
                    (Value::Bool(b), marked) => {
                        state.sensitive |= marked;
                        self.template(if b { then } else { otherwise }, out, state)?;
                    }
                    (other, _) => {
                        return Err(err(
                            "terrane::type_mismatch",
                            format!("a template if needs a bool, got {}", other.type_name()),
                            &cond.span,
                        ))
                    }
                },
                TemplatePart::For { key_var, value_var, collection, body } => {
                    let (coll, marked) = self.eval(collection)?.into_unmarked();
                    state.sensitive |= marked;
                    let pairs: Vec<(Value, Value)> = match coll {
                        Value::Unknown => {
                            state.unknown = true;
                            continue;
                        }
                        Value::List(items) => {
                            items.into_iter().enumerate().map(|(i, v)| (Value::number(i), v)).collect()
                        }
                        Value::Set(items) => items.into_iter().map(|v| (v.clone(), v)).collect(),
                        Value::Map(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
                        other => {
                            return Err(err(
                                "terrane::type_mismatch",
                                format!("a template for needs a collection, got {}", other.type_name()),
                                &collection.span,
                            ))
                        }
                    };
                    let depth = self.bindings.len();
                    for (k, v) in pairs {
                        self.bindings.truncate(depth);
                        if let Some(kv) = key_var {
                            self.bindings.push((kv.clone(), k));
                        }
                        self.bindings.push((value_var.clone(), v));
                        let r = self.template(body, out, state);
                        if r.is_err() {
                            self.bindings.truncate(depth);
                            return r;
                        }
                    }
                    self.bindings.truncate(depth);
                }
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct TemplateState {
    unknown: bool,
    sensitive: bool,
}

/// What a template file sees besides its variables: nothing.
struct TemplateScope {
    dir: std::path::PathBuf,
}

impl Scope for TemplateScope {
    fn resolve(&self, root: &str, _steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        Err(Diagnostic::error("terrane::template_variable", format!("the template refers to {root:?}, which is not in its variables"))
            .at(span)
            .help("pass it in templatefile's second argument"))
    }

    fn base_dir(&self) -> &Path {
        &self.dir
    }
}

/// `.name` on a value.
pub fn get_attr(value: Value, name: &str, span: &Span) -> Result<Value, Diagnostic> {
    let (value, marked) = value.into_unmarked();
    let out = match value {
        Value::Unknown => Value::Unknown,
        Value::Map(mut map) => match map.remove(name) {
            Some(v) => v,
            None => {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                let mut d = err("terrane::unsupported_attribute", format!("this object has no attribute named {name:?}"), span);
                if let Some(s) = crate::config::suggest(name, &keys) {
                    d = d.help(format!("did you mean {s:?}?"));
                }
                return Err(d);
            }
        },
        Value::Null => {
            return Err(err("terrane::null_value", format!("attempt to get attribute {name:?} from a null value"), span))
        }
        Value::List(_) | Value::Set(_) => {
            return Err(err(
                "terrane::unsupported_attribute",
                format!("cannot access attribute {name:?} on a list"),
                span,
            )
            .help("a resource with count or for_each is a collection: index it first, or use [*] to take the attribute of every element"))
        }
        other => {
            return Err(err(
                "terrane::unsupported_attribute",
                format!("cannot access attribute {name:?} on a {}", other.type_name()),
                span,
            ))
        }
    };
    Ok(out.mark_if(marked))
}

/// `[key]` on a value.
pub fn index(value: Value, key: Value, span: &Span) -> Result<Value, Diagnostic> {
    let (value, marked) = value.into_unmarked();
    let (key, key_marked) = key.into_unmarked();
    let marked = marked || key_marked;
    let out = match (value, key) {
        (Value::Unknown, _) | (_, Value::Unknown) => Value::Unknown,
        (Value::List(items), k) => {
            let n = to_number(&k).map_err(|m| err("terrane::invalid_index", m, span))?;
            let Some(i) = n.to_i64().and_then(|i| usize::try_from(i).ok()).filter(|i| *i < items.len()) else {
                return Err(err(
                    "terrane::invalid_index",
                    format!("index {n} is out of range for a list of {} elements", items.len()),
                    span,
                ));
            };
            items.into_iter().nth(i).unwrap_or(Value::Null)
        }
        (Value::Map(mut map), k) => {
            let key = match k {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(err(
                        "terrane::invalid_index",
                        format!("a map key must be a string, got {}", other.type_name()),
                        span,
                    ))
                }
            };
            match map.remove(&key) {
                Some(v) => v,
                None => return Err(err("terrane::invalid_index", format!("the given key {key:?} does not exist"), span)),
            }
        }
        (Value::Set(_), _) => {
            return Err(err("terrane::invalid_index", "elements of a set cannot be indexed", span)
                .help("convert it with tolist() first"))
        }
        (Value::Null, _) => return Err(err("terrane::null_value", "cannot index a null value", span)),
        (other, _) => {
            return Err(err("terrane::invalid_index", format!("a {} cannot be indexed", other.type_name()), span))
        }
    };
    Ok(out.mark_if(marked))
}

/// One timestamp for the whole run, known while planning (Terraform's plantimestamp).
fn plan_timestamp() -> &'static str {
    static PLAN_TIMESTAMP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PLAN_TIMESTAMP.get_or_init(terrane_core::time::now_rfc3339)
}

fn call_error(name: &str, e: functions::CallError, args: &[Expr], span: &Span) -> Diagnostic {
    match e {
        functions::CallError::Unknown => Diagnostic::error("terrane::unknown_function", format!("there is no function named {name:?}")).at(span),
        functions::CallError::Arg { index, message } => {
            Diagnostic::error("terrane::function_call", format!("invalid function argument: {name}"))
                .detail(message)
                .at(args.get(index).or(args.last()).map_or(span, |a| &a.span))
        }
        functions::CallError::Failed(message) => {
            Diagnostic::error("terrane::function_call", format!("call to {name} failed")).detail(message).at(span)
        }
    }
}

pub fn to_number(v: &Value) -> Result<Number, String> {
    match v.unmarked() {
        Value::Number(n) => Ok(n.clone()),
        Value::String(s) => Number::parse(s).ok_or_else(|| format!("a number is required, got the string {s:?}")),
        Value::Null => Err("a number is required, got null".into()),
        other => Err(format!("a number is required, got {}", other.type_name())),
    }
}

fn to_bool(v: &Value) -> Result<Option<bool>, String> {
    match v.unmarked() {
        Value::Bool(b) => Ok(Some(*b)),
        Value::Unknown => Ok(None),
        Value::String(s) if s == "true" => Ok(Some(true)),
        Value::String(s) if s == "false" => Ok(Some(false)),
        other => Err(format!("a bool is required, got {}", other.type_name())),
    }
}

/// Equality for `==`: no conversion between kinds, as in Terraform.
fn values_equal(a: &Value, b: &Value) -> bool {
    a == b
}
