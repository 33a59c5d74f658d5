//! terrane's own expression tree: hcl-edit's expressions reduced to what evaluation
//! needs, each node carrying its source span for diagnostics.

use std::sync::Arc;

use hcl_edit::expr::{self as hx, Expression, TraversalOperator};
use hcl_edit::template::{self as ht, Element, Template};
use hcl_edit::Span as _;
use terrane_core::{SourceFile, Span, Value};

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Eq,
    NotEq,
    LessEq,
    GreaterEq,
    Less,
    Greater,
    Plus,
    Minus,
    Mul,
    Div,
    Mod,
    And,
    Or,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Literal(Value),
    Template(Vec<TemplatePart>),
    Tuple(Vec<Expr>),
    /// Keys are expressions; a bare identifier key is a string literal.
    Object(Vec<(Expr, Expr)>),
    /// A bare name: `var` in `var.x`, or a for-expression's bound variable.
    Variable(String),
    Traversal(Box<Expr>, Vec<Traverser>),
    Call { name: String, args: Vec<Expr>, expand_final: bool },
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    For(Box<ForExpr>),
}

#[derive(Debug, Clone)]
pub enum Traverser {
    Attr(String, Span),
    Index(Expr),
    /// `.*`: applies the attribute accesses that follow to each element.
    AttrSplat(Span),
    /// `[*]`: applies every operation that follows to each element.
    FullSplat(Span),
}

#[derive(Debug, Clone)]
pub struct ForExpr {
    pub key_var: Option<String>,
    pub value_var: String,
    pub collection: Expr,
    pub key_expr: Option<Expr>,
    pub value_expr: Expr,
    pub grouping: bool,
    pub cond: Option<Expr>,
}

#[derive(Debug, Clone)]
pub enum TemplatePart {
    Literal(String),
    Interpolation(Expr),
    If { cond: Expr, then: Vec<TemplatePart>, otherwise: Vec<TemplatePart> },
    For { key_var: Option<String>, value_var: String, collection: Expr, body: Vec<TemplatePart> },
}

/// Strings of the language are in Unicode normal form C, as Terraform's are, so
/// `"e\u0301"` is the one character `é` to every function.
fn normalized(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    if s.is_ascii() {
        s.to_string()
    } else {
        s.nfc().collect()
    }
}

/// Converts hcl-edit expressions, resolving spans against one file.
pub struct Lowering<'a> {
    pub file: &'a Arc<SourceFile>,
    /// Where in the file the parsed text starts (a file can be parsed in pieces).
    pub base: usize,
}

impl Lowering<'_> {
    pub fn span(&self, range: Option<std::ops::Range<usize>>) -> Span {
        Span::new(self.file, range.map_or(0..0, |r| r.start + self.base..r.end + self.base))
    }

    /// A number literal read from its source text, so no digit is lost on the way.
    fn number(&self, n: &hcl_edit::Formatted<hcl_edit::Number>, span: &Span) -> terrane_core::Number {
        terrane_core::Number::parse(span.text())
            .or_else(|| n.value().as_f64().and_then(terrane_core::Number::from_f64))
            .unwrap_or(terrane_core::Number::ZERO)
    }

    pub fn expr(&self, e: &Expression) -> Expr {
        let span = self.span(e.span());
        let kind = match e {
            Expression::Null(_) => ExprKind::Literal(Value::Null),
            Expression::Bool(b) => ExprKind::Literal(Value::Bool(*b.value())),
            Expression::Number(n) => ExprKind::Literal(Value::Number(self.number(n, &span))),
            Expression::String(s) => ExprKind::Literal(Value::String(normalized(s.value()))),
            Expression::Array(items) => ExprKind::Tuple({
                let mut elements = Vec::with_capacity(items.len());
                elements.extend(items.iter().map(|i| self.expr(i)));
                elements
            }),
            // Collected into exact sizes: hcl-edit's iterators give no size hint, and a
            // vector grown from empty holds four entries (a 50,000-resource plan kept
            // ~20 MB of empty object slots).
            Expression::Object(obj) => ExprKind::Object({
                let mut entries = Vec::with_capacity(obj.len());
                entries.extend(obj.iter().map(|(k, v)| {
                        let key = match k {
                            hx::ObjectKey::Ident(id) => Expr {
                                kind: ExprKind::Literal(Value::string(id.as_str())),
                                span: self.span(id.span()),
                            },
                            hx::ObjectKey::Expression(e) => self.object_key(e),
                        };
                    (key, self.expr(v.expr()))
                }));
                entries
            }),
            Expression::StringTemplate(t) => self.template_expr(t, &span),
            Expression::HeredocTemplate(h) => self.template_expr(&h.template, &span),
            Expression::Parenthesis(p) => return self.expr(p.inner()),
            Expression::Variable(v) => ExprKind::Variable(v.as_str().to_string()),
            Expression::Conditional(c) => ExprKind::Conditional(
                Box::new(self.expr(&c.cond_expr)),
                Box::new(self.expr(&c.true_expr)),
                Box::new(self.expr(&c.false_expr)),
            ),
            Expression::FuncCall(call) => {
                let mut name = String::new();
                for ns in &call.name.namespace {
                    name.push_str(ns.as_str());
                    name.push_str("::");
                }
                name.push_str(call.name.name.as_str());
                ExprKind::Call {
                    name,
                    args: call.args.iter().map(|a| self.expr(a)).collect(),
                    expand_final: call.args.expand_final(),
                }
            }
            Expression::Traversal(t) => {
                let ops = t
                    .operators
                    .iter()
                    .map(|op| match op.value() {
                        TraversalOperator::AttrSplat(s) => Traverser::AttrSplat(self.span(s.span())),
                        TraversalOperator::FullSplat(s) => Traverser::FullSplat(self.span(s.span())),
                        TraversalOperator::GetAttr(id) => {
                            Traverser::Attr(id.as_str().to_string(), self.span(id.span()))
                        }
                        TraversalOperator::Index(e) => Traverser::Index(self.expr(e)),
                        TraversalOperator::LegacyIndex(i) => Traverser::Index(Expr {
                            kind: ExprKind::Literal(Value::number(*i.value() as usize)),
                            span: self.span(i.span()),
                        }),
                    })
                    .collect();
                ExprKind::Traversal(Box::new(self.expr(&t.expr)), ops)
            }
            Expression::UnaryOp(op) => ExprKind::Unary(
                match op.operator.value() {
                    hx::UnaryOperator::Neg => UnaryOp::Neg,
                    hx::UnaryOperator::Not => UnaryOp::Not,
                },
                Box::new(self.expr(&op.expr)),
            ),
            Expression::BinaryOp(op) => ExprKind::Binary(
                match op.operator.value() {
                    hx::BinaryOperator::Eq => BinaryOp::Eq,
                    hx::BinaryOperator::NotEq => BinaryOp::NotEq,
                    hx::BinaryOperator::LessEq => BinaryOp::LessEq,
                    hx::BinaryOperator::GreaterEq => BinaryOp::GreaterEq,
                    hx::BinaryOperator::Less => BinaryOp::Less,
                    hx::BinaryOperator::Greater => BinaryOp::Greater,
                    hx::BinaryOperator::Plus => BinaryOp::Plus,
                    hx::BinaryOperator::Minus => BinaryOp::Minus,
                    hx::BinaryOperator::Mul => BinaryOp::Mul,
                    hx::BinaryOperator::Div => BinaryOp::Div,
                    hx::BinaryOperator::Mod => BinaryOp::Mod,
                    hx::BinaryOperator::And => BinaryOp::And,
                    hx::BinaryOperator::Or => BinaryOp::Or,
                },
                Box::new(self.expr(&op.lhs_expr)),
                Box::new(self.expr(&op.rhs_expr)),
            ),
            Expression::ForExpr(f) => ExprKind::For(Box::new(ForExpr {
                key_var: f.intro.key_var.as_ref().map(|k| k.as_str().to_string()),
                value_var: f.intro.value_var.as_str().to_string(),
                collection: self.expr(&f.intro.collection_expr),
                key_expr: f.key_expr.as_ref().map(|k| self.expr(k)),
                value_expr: self.expr(&f.value_expr),
                grouping: f.grouping,
                cond: f.cond.as_ref().map(|c| self.expr(&c.expr)),
            })),
        };
        Expr { kind, span }
    }

    /// Object keys written as a bare name inside parentheses are still expressions,
    /// but a plain variable key such as `{ a = 1 }` written as `a` is a literal.
    fn object_key(&self, e: &Expression) -> Expr {
        match e {
            Expression::Variable(v) => Expr {
                kind: ExprKind::Literal(Value::string(v.as_str())),
                span: self.span(e.span()),
            },
            other => self.expr(other),
        }
    }

    fn template_expr(&self, t: &Template, span: &Span) -> ExprKind {
        let parts = self.template(t);
        match parts.as_slice() {
            [] => ExprKind::Literal(Value::string("")),
            [TemplatePart::Literal(s)] => ExprKind::Literal(Value::string(s.clone())),
            [TemplatePart::Interpolation(e)] if t.iter().count() == 1 => {
                // "${x}" alone keeps x's type, as in Terraform.
                let _ = span;
                return e.kind.clone();
            }
            _ => ExprKind::Template(parts),
        }
    }

    /// The parts of a whole template (a `templatefile` file).
    pub fn template_parts(&self, t: &Template) -> Vec<TemplatePart> {
        self.template(t)
    }

    fn template(&self, t: &Template) -> Vec<TemplatePart> {
        self.template_trimmed(t, false, false)
    }

    /// A template body; `trim_first`/`trim_last` come from `~` strip markers on the
    /// directive tags around it.
    fn template_trimmed(&self, t: &Template, trim_first: bool, trim_last: bool) -> Vec<TemplatePart> {
        let elements: Vec<&Element> = t.iter().collect();
        let mut parts = Vec::with_capacity(elements.len());
        for (i, el) in elements.iter().enumerate() {
            match el {
                Element::Literal(lit) => {
                    let mut text: &str = lit.value();
                    if (i > 0 && strip_after(elements[i - 1])) || (i == 0 && trim_first) {
                        text = text.trim_start();
                    }
                    if (i + 1 < elements.len() && strip_before(elements[i + 1])) || (i + 1 == elements.len() && trim_last) {
                        text = text.trim_end();
                    }
                    parts.push(TemplatePart::Literal(normalized(text)));
                }
                Element::Interpolation(interp) => parts.push(TemplatePart::Interpolation(self.expr(&interp.expr))),
                Element::Directive(d) => match d.as_ref() {
                    ht::Directive::If(dir) => {
                        let then_end = match &dir.else_expr {
                            Some(e) => e.strip.strip_start(),
                            None => dir.endif_expr.strip.strip_start(),
                        };
                        parts.push(TemplatePart::If {
                            cond: self.expr(&dir.if_expr.cond_expr),
                            then: self.template_trimmed(&dir.if_expr.template, dir.if_expr.strip.strip_end(), then_end),
                            otherwise: dir
                                .else_expr
                                .as_ref()
                                .map(|e| self.template_trimmed(&e.template, e.strip.strip_end(), dir.endif_expr.strip.strip_start()))
                                .unwrap_or_default(),
                        })
                    }
                    ht::Directive::For(dir) => parts.push(TemplatePart::For {
                        key_var: dir.for_expr.key_var.as_ref().map(|k| k.as_str().to_string()),
                        value_var: dir.for_expr.value_var.as_str().to_string(),
                        collection: self.expr(&dir.for_expr.collection_expr),
                        body: self.template_trimmed(
                            &dir.for_expr.template,
                            dir.for_expr.strip.strip_end(),
                            dir.endfor_expr.strip.strip_start(),
                        ),
                    }),
                },
            }
        }
        parts
    }
}

fn strip_before(el: &Element) -> bool {
    match el {
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            ht::Directive::If(dir) => dir.if_expr.strip.strip_start(),
            ht::Directive::For(dir) => dir.for_expr.strip.strip_start(),
        },
        Element::Literal(_) => false,
    }
}

fn strip_after(el: &Element) -> bool {
    match el {
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            ht::Directive::If(dir) => dir.endif_expr.strip.strip_end(),
            ht::Directive::For(dir) => dir.endfor_expr.strip.strip_end(),
        },
        Element::Literal(_) => false,
    }
}

/// What an expression refers to outside itself; the graph's edges come from these.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefTarget {
    Var(String),
    Local(String),
    /// A managed resource, `TYPE.NAME`.
    Resource(String, String),
    /// A data source, `data.TYPE.NAME`.
    Data(String, String),
    /// `module.NAME`, with the output when the reference names one
    /// (`module.NAME.OUT` or `module.NAME[KEY].OUT`).
    Module(String, Option<String>),
    /// `count.index`, `each.key`, `path.module`, `terraform.workspace`, `self`.
    Builtin(String),
}

#[derive(Debug, Clone)]
pub struct Reference {
    pub target: RefTarget,
    pub span: Span,
}

impl Expr {
    /// Every reference in the expression, skipping names bound by for-expressions.
    pub fn references(&self) -> Vec<Reference> {
        self.references_with(&[])
    }

    /// References other than to the names in `bound` (a dynamic block's iterator, say).
    pub fn references_with(&self, bound: &[String]) -> Vec<Reference> {
        let mut out = Vec::new();
        collect_refs(self, &mut bound.to_vec(), &mut out);
        out
    }
}

fn collect_refs(e: &Expr, bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    match &e.kind {
        ExprKind::Literal(_) => {}
        ExprKind::Variable(name) => {
            if !bound.contains(name) {
                if let Some(target) = ref_target(name, &[]) {
                    out.push(Reference { target, span: e.span.clone() });
                }
            }
        }
        ExprKind::Traversal(root, ops) => {
            if let ExprKind::Variable(name) = &root.kind {
                if !bound.contains(name) {
                    let attrs: Vec<&str> = ops
                        .iter()
                        .map_while(|op| match op {
                            Traverser::Attr(a, _) => Some(a.as_str()),
                            _ => None,
                        })
                        .collect();
                    let target = if name == "module" { module_target(ops) } else { ref_target(name, &attrs) };
                    if let Some(target) = target {
                        out.push(Reference { target, span: e.span.clone() });
                    }
                }
            } else {
                collect_refs(root, bound, out);
            }
            for op in ops {
                if let Traverser::Index(ix) = op {
                    collect_refs(ix, bound, out);
                }
            }
        }
        ExprKind::Template(parts) => collect_template_refs(parts, bound, out),
        ExprKind::Tuple(items) => items.iter().for_each(|i| collect_refs(i, bound, out)),
        ExprKind::Object(items) => items.iter().for_each(|(k, v)| {
            collect_refs(k, bound, out);
            collect_refs(v, bound, out);
        }),
        ExprKind::Call { args, .. } => args.iter().for_each(|a| collect_refs(a, bound, out)),
        ExprKind::Unary(_, a) => collect_refs(a, bound, out),
        ExprKind::Binary(_, a, b) => {
            collect_refs(a, bound, out);
            collect_refs(b, bound, out);
        }
        ExprKind::Conditional(c, t, f) => {
            collect_refs(c, bound, out);
            collect_refs(t, bound, out);
            collect_refs(f, bound, out);
        }
        ExprKind::For(f) => {
            collect_refs(&f.collection, bound, out);
            let depth = bound.len();
            bound.extend(f.key_var.iter().cloned());
            bound.push(f.value_var.clone());
            if let Some(k) = &f.key_expr {
                collect_refs(k, bound, out);
            }
            collect_refs(&f.value_expr, bound, out);
            if let Some(c) = &f.cond {
                collect_refs(c, bound, out);
            }
            bound.truncate(depth);
        }
    }
}

fn collect_template_refs(parts: &[TemplatePart], bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    for part in parts {
        match part {
            TemplatePart::Literal(_) => {}
            TemplatePart::Interpolation(e) => collect_refs(e, bound, out),
            TemplatePart::If { cond, then, otherwise } => {
                collect_refs(cond, bound, out);
                collect_template_refs(then, bound, out);
                collect_template_refs(otherwise, bound, out);
            }
            TemplatePart::For { key_var, value_var, collection, body } => {
                collect_refs(collection, bound, out);
                let depth = bound.len();
                bound.extend(key_var.iter().cloned());
                bound.push(value_var.clone());
                collect_template_refs(body, bound, out);
                bound.truncate(depth);
            }
        }
    }
}

/// `module.NAME`, `module.NAME.OUT` or `module.NAME[KEY].OUT`.
fn module_target(ops: &[Traverser]) -> Option<RefTarget> {
    let Some(Traverser::Attr(name, _)) = ops.first() else { return None };
    let output = match (ops.get(1), ops.get(2)) {
        (Some(Traverser::Attr(out, _)), _) | (Some(Traverser::Index(_)), Some(Traverser::Attr(out, _))) => Some(out.clone()),
        _ => None,
    };
    Some(RefTarget::Module(name.clone(), output))
}

/// Maps a root name and its leading attributes to what it refers to.
pub fn ref_target(root: &str, attrs: &[&str]) -> Option<RefTarget> {
    match root {
        "var" => attrs.first().map(|n| RefTarget::Var(n.to_string())),
        "local" => attrs.first().map(|n| RefTarget::Local(n.to_string())),
        "module" => attrs.first().map(|n| RefTarget::Module(n.to_string(), attrs.get(1).map(|o| o.to_string()))),
        "data" => match attrs {
            [t, n, ..] => Some(RefTarget::Data(t.to_string(), n.to_string())),
            _ => None,
        },
        "count" | "each" | "path" | "terraform" | "self" => Some(RefTarget::Builtin(root.to_string())),
        _ => attrs.first().map(|n| RefTarget::Resource(root.to_string(), n.to_string())),
    }
}
