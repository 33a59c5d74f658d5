//! The configuration graph: variables, locals, resources, data sources and outputs
//! as petgraph nodes, with an edge for every reference and `depends_on`.

use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use terrane_core::{Diagnostic, Diagnostics, Mode, Span};
use terrane_lang::config::Module;
use terrane_lang::{RefTarget, Reference};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    Variable(String),
    Local(String),
    /// Index into `Module::resources`.
    Resource(usize),
    Output(String),
}

pub struct ConfigGraph {
    /// Edges point from a dependency to what depends on it; the weight is where
    /// the dependent makes the reference.
    pub graph: DiGraph<Node, Span>,
    pub order: Vec<NodeIndex>,
    pub index: HashMap<Node, NodeIndex>,
}

impl ConfigGraph {
    pub fn build(module: &Module) -> Result<ConfigGraph, Diagnostics> {
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        let mut add = |graph: &mut DiGraph<Node, Span>, node: Node| {
            let i = graph.add_node(node.clone());
            index.insert(node, i);
            i
        };
        for name in module.variables.keys() {
            add(&mut graph, Node::Variable(name.clone()));
        }
        for name in module.locals.keys() {
            add(&mut graph, Node::Local(name.clone()));
        }
        for i in 0..module.resources.len() {
            add(&mut graph, Node::Resource(i));
        }
        for name in module.outputs.keys() {
            add(&mut graph, Node::Output(name.clone()));
        }
        let mut resource_index: HashMap<(Mode, &str, &str), usize> = HashMap::new();
        for (i, r) in module.resources.iter().enumerate() {
            resource_index.insert((r.mode, &r.type_name, &r.name), i);
        }
        let mut diags = Diagnostics::new();
        let link = |graph: &mut DiGraph<Node, Span>, from: &Node, refs: Vec<Reference>, diags: &mut Diagnostics| {
            let to = index[from];
            for r in refs {
                let target = match &r.target {
                    RefTarget::Var(n) => {
                        if !module.variables.contains_key(n) {
                            diags.push(undeclared("variable", &format!("var.{n}"), &r.span));
                            continue;
                        }
                        Node::Variable(n.clone())
                    }
                    RefTarget::Local(n) => {
                        if !module.locals.contains_key(n) {
                            diags.push(undeclared("local value", &format!("local.{n}"), &r.span));
                            continue;
                        }
                        Node::Local(n.clone())
                    }
                    RefTarget::Resource(t, n) => match resource_index.get(&(Mode::Managed, t.as_str(), n.as_str())) {
                        Some(i) => Node::Resource(*i),
                        None => {
                            diags.push(undeclared("resource", &format!("{t}.{n}"), &r.span));
                            continue;
                        }
                    },
                    RefTarget::Data(t, n) => match resource_index.get(&(Mode::Data, t.as_str(), n.as_str())) {
                        Some(i) => Node::Resource(*i),
                        None => {
                            diags.push(undeclared("data source", &format!("data.{t}.{n}"), &r.span));
                            continue;
                        }
                    },
                    RefTarget::Module(_) | RefTarget::Builtin(_) => continue,
                };
                let from_index = index[&target];
                if graph.find_edge(from_index, to).is_none() {
                    graph.add_edge(from_index, to, r.span.clone());
                }
            }
        };
        for (name, local) in &module.locals {
            link(&mut graph, &Node::Local(name.clone()), local.expr.references(), &mut diags);
        }
        for (i, r) in module.resources.iter().enumerate() {
            link(&mut graph, &Node::Resource(i), r.references(), &mut diags);
        }
        for (name, output) in &module.outputs {
            let mut refs = output.expr.references();
            refs.extend(output.depends_on.iter().cloned());
            link(&mut graph, &Node::Output(name.clone()), refs, &mut diags);
        }
        for scc in petgraph::algo::tarjan_scc(&graph) {
            let cyclic = scc.len() > 1 || graph.find_edge(scc[0], scc[0]).is_some();
            if cyclic {
                diags.push(cycle_diagnostic(&graph, &scc, module));
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        let order = petgraph::algo::toposort(&graph, None).map_err(|_| {
            Diagnostics::from(Diagnostic::error("terrane::cycle", "the configuration has a dependency cycle"))
        })?;
        Ok(ConfigGraph { graph, order, index })
    }
}

fn undeclared(kind: &str, name: &str, span: &Span) -> Diagnostic {
    Diagnostic::error("terrane::undeclared_reference", format!("reference to undeclared {kind} {name}"))
        .at(span)
        .help(format!("declare the {kind}, or correct the reference"))
}

pub fn node_name(node: &Node, module: &Module) -> String {
    match node {
        Node::Variable(n) => format!("var.{n}"),
        Node::Local(n) => format!("local.{n}"),
        Node::Resource(i) => module.resources[*i].display_addr(),
        Node::Output(n) => format!("output.{n}"),
    }
}

/// One diagnostic naming every edge of a cycle, each with where the reference is made.
fn cycle_diagnostic(graph: &DiGraph<Node, Span>, scc: &[NodeIndex], module: &Module) -> Diagnostic {
    let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
    // Walk from the first member, always to a member, until a node repeats.
    let start = *scc.iter().min().unwrap_or(&scc[0]);
    let mut path = vec![start];
    let mut current = start;
    loop {
        let next = graph
            .edges(current)
            .map(|e| e.target())
            .filter(|t| members.contains(t))
            .min()
            .unwrap_or(start);
        if let Some(pos) = path.iter().position(|n| *n == next) {
            path = path[pos..].to_vec();
            path.push(next);
            break;
        }
        path.push(next);
        current = next;
    }
    let names: Vec<String> = path.iter().map(|n| node_name(&graph[*n], module)).collect();
    // Edges run dependency -> dependent, so the reference is made by the edge's target.
    let mut diag = Diagnostic::error("terrane::cycle", format!("dependency cycle: {}", names.join(" -> ")))
        .help("break the cycle by removing one of these references");
    let mut edges: Vec<(Span, String)> = path
        .windows(2)
        .filter_map(|pair| {
            let e = graph.find_edge(pair[0], pair[1])?;
            let label = format!("{} refers to {}", node_name(&graph[pair[1]], module), node_name(&graph[pair[0]], module));
            Some((graph[e].clone(), label))
        })
        .collect();
    // Point at the cycle's first reference in source order.
    edges.sort_by(|a, b| (&a.0.file.name, a.0.start).cmp(&(&b.0.file.name, b.0.start)));
    if let Some((span, _)) = edges.first() {
        diag = diag.at(span);
    }
    for (span, label) in &edges {
        diag = diag.related(span, label.clone());
    }
    diag
}
