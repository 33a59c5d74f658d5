//! The configuration graph: variables, locals, resources, data sources and outputs
//! as petgraph nodes, with an edge for every reference and `depends_on`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use terrane_core::{Diagnostic, Diagnostics, Mode, ResourceAddr, Span};
use terrane_lang::config::{suggest, Config, Resource};
use terrane_lang::{RefTarget, Reference};

/// A node of the configuration graph. The first field is the module's index in
/// `Config::modules`: the graph is static, one node per block whatever the
/// count or for_each of the module calls leading to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    Variable(usize, String),
    Local(usize, String),
    /// Index into that module's `resources`.
    Resource(usize, usize),
    Output(usize, String),
    /// A module call: expands its count or for_each into module instances.
    Call(usize, String),
}

impl Node {
    pub fn module(&self) -> usize {
        match self {
            Node::Variable(m, _) | Node::Local(m, _) | Node::Resource(m, _) | Node::Output(m, _) | Node::Call(m, _) => *m,
        }
    }
}

pub struct ConfigGraph {
    /// Edges point from a dependency to what depends on it; the weight is where
    /// the dependent makes the reference.
    pub graph: DiGraph<Node, Span>,
    pub order: Vec<NodeIndex>,
    pub index: HashMap<Node, NodeIndex>,
    /// For each resource node, the resources it depends on, directly or through
    /// variables, locals, module outputs and calls: `module.net.aws_vpc.main`.
    /// Shared with every planned change of the resource's instances.
    pub dependencies: HashMap<NodeIndex, Arc<[String]>>,
}

impl ConfigGraph {
    pub fn build(config: &Config) -> Result<ConfigGraph, Diagnostics> {
        match Self::build_with_problems(config) {
            (Some(graph), diags) if !diags.has_errors() => Ok(graph),
            (_, diags) => Err(diags),
        }
    }

    /// The graph and every problem found building it. References to what is
    /// not declared are left out of the graph, so the rest can still be
    /// checked; a cycle leaves no order, so no graph.
    pub fn build_with_problems(config: &Config) -> (Option<ConfigGraph>, Diagnostics) {
        // Sized up front: on a large configuration, growing them was a tenth of a plan.
        let nodes: usize = config.modules.iter().map(|e| {
            let m = &e.module;
            m.variables.len() + m.locals.len() + m.resources.len() + m.outputs.len() + m.calls.len()
        }).sum();
        let mut graph = DiGraph::with_capacity(nodes, nodes);
        let mut index = HashMap::with_capacity(nodes);
        let mut add = |graph: &mut DiGraph<Node, Span>, node: Node| {
            let i = graph.add_node(node.clone());
            index.insert(node, i);
            i
        };
        for (m, entry) in config.modules.iter().enumerate() {
            let module = &entry.module;
            for name in module.variables.keys() {
                add(&mut graph, Node::Variable(m, name.clone()));
            }
            for name in module.locals.keys() {
                add(&mut graph, Node::Local(m, name.clone()));
            }
            for i in 0..module.resources.len() {
                add(&mut graph, Node::Resource(m, i));
            }
            for name in module.outputs.keys() {
                add(&mut graph, Node::Output(m, name.clone()));
            }
            for name in module.calls.keys() {
                add(&mut graph, Node::Call(m, name.clone()));
            }
        }
        let mut diags = Diagnostics::new();
        for (m, entry) in config.modules.iter().enumerate() {
            let module = &entry.module;
            let resource_index: HashMap<(Mode, &str, &str), usize> =
                module.resources.iter().enumerate().map(|(i, r)| ((r.mode, r.type_name.as_str(), r.name.as_str()), i)).collect();
            let link = |graph: &mut DiGraph<Node, Span>, to: NodeIndex, refs: Vec<Reference>, diags: &mut Diagnostics| {
                for r in refs {
                    let targets: Vec<Node> = match &r.target {
                        RefTarget::Var(n) => {
                            if !module.variables.contains_key(n) {
                                diags.push(undeclared("variable", &format!("var.{n}"), &r.span));
                                continue;
                            }
                            vec![Node::Variable(m, n.clone())]
                        }
                        RefTarget::Local(n) => {
                            if !module.locals.contains_key(n) {
                                diags.push(undeclared("local value", &format!("local.{n}"), &r.span));
                                continue;
                            }
                            vec![Node::Local(m, n.clone())]
                        }
                        RefTarget::Resource(t, n) => match resource_index.get(&(Mode::Managed, t.as_str(), n.as_str())) {
                            Some(i) => vec![Node::Resource(m, *i)],
                            None => {
                                diags.push(undeclared("resource", &format!("{t}.{n}"), &r.span));
                                continue;
                            }
                        },
                        RefTarget::Data(t, n) => match resource_index.get(&(Mode::Data, t.as_str(), n.as_str())) {
                            Some(i) => vec![Node::Resource(m, *i)],
                            None => {
                                diags.push(undeclared("data source", &format!("data.{t}.{n}"), &r.span));
                                continue;
                            }
                        },
                        RefTarget::Module(call, output) => {
                            let Some(&child) = entry.children.get(call) else {
                                if !module.calls.contains_key(call) {
                                    diags.push(undeclared("module", &format!("module.{call}"), &r.span));
                                }
                                continue;
                            };
                            let outputs = &config.modules[child].module.outputs;
                            let mut targets = vec![Node::Call(m, call.clone())];
                            match output {
                                Some(o) if outputs.contains_key(o) => targets.push(Node::Output(child, o.clone())),
                                Some(o) => {
                                    let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
                                    let mut d = Diagnostic::error(
                                        "terrane::undeclared_output",
                                        format!("module.{call} has no output {o:?}"),
                                    )
                                    .at(&r.span);
                                    if let Some(s) = suggest(o, &names) {
                                        d = d.help(format!("did you mean module.{call}.{s}?"));
                                    }
                                    diags.push(d);
                                    continue;
                                }
                                None => targets.extend(outputs.keys().map(|o| Node::Output(child, o.clone()))),
                            }
                            targets
                        }
                        RefTarget::Builtin(_) => continue,
                    };
                    for target in targets {
                        let from_index = index[&target];
                        if graph.find_edge(from_index, to).is_none() {
                            graph.add_edge(from_index, to, r.span.clone());
                        }
                    }
                }
            };
            for (name, local) in &module.locals {
                link(&mut graph, index[&Node::Local(m, name.clone())], local.expr.references(), &mut diags);
            }
            for (i, r) in module.resources.iter().enumerate() {
                link(&mut graph, index[&Node::Resource(m, i)], r.references(), &mut diags);
            }
            for (name, output) in &module.outputs {
                link(&mut graph, index[&Node::Output(m, name.clone())], output.references(), &mut diags);
            }
            for (name, call) in &module.calls {
                let call_node = index[&Node::Call(m, name.clone())];
                link(&mut graph, call_node, call.meta_references(), &mut diags);
                let Some(&child) = entry.children.get(name) else { continue };
                let child_module = &config.modules[child].module;
                for (input, attr) in &call.inputs {
                    match child_module.variables.get(input) {
                        Some(_) => {
                            let var_node = index[&Node::Variable(child, input.clone())];
                            link(&mut graph, var_node, attr.expr.references(), &mut diags);
                        }
                        None => {
                            let names: Vec<&str> = child_module.variables.keys().map(String::as_str).collect();
                            let mut d = Diagnostic::error(
                                "terrane::unexpected_input",
                                format!("module {name:?} has no input variable {input:?}"),
                            )
                            .at(&attr.name_span);
                            d = match suggest(input, &names) {
                                Some(s) => d.help(format!("did you mean {s:?}?")),
                                None => d.help(format!("the module declares: {}", names.join(", "))),
                            };
                            diags.push(d);
                        }
                    }
                }
                // Everything in the called module waits for the call's expansion
                // (and so for the call's depends_on).
                for ix in graph.node_indices().collect::<Vec<_>>() {
                    if graph[ix].module() == child && graph.find_edge(call_node, ix).is_none() {
                        graph.add_edge(call_node, ix, call.span.clone());
                    }
                }
            }
        }
        let Ok(order) = petgraph::algo::toposort(&graph, None) else {
            // Only a graph with a cycle has no order: name every cycle.
            for scc in petgraph::algo::tarjan_scc(&graph) {
                let cyclic = scc.len() > 1 || graph.find_edge(scc[0], scc[0]).is_some();
                if cyclic {
                    diags.push(cycle_diagnostic(&graph, &scc, config));
                }
            }
            return (None, diags);
        };
        let dependencies = resource_dependencies(&graph, &order, config);
        (Some(ConfigGraph { graph, order, index, dependencies }), diags)
    }
}

/// Walks the graph in order, carrying each node's upstream resources through the
/// nodes that are not resources, so a resource that reads a module output depends
/// on the resources behind it (what destroy ordering needs).
fn resource_dependencies(graph: &DiGraph<Node, Span>, order: &[NodeIndex], config: &Config) -> HashMap<NodeIndex, Arc<[String]>> {
    let mut through: HashMap<NodeIndex, BTreeSet<String>> = HashMap::new();
    let mut out = HashMap::with_capacity(order.len());
    for &ix in order {
        let mut upstream = BTreeSet::new();
        for dep in graph.neighbors_directed(ix, Direction::Incoming) {
            match &graph[dep] {
                Node::Resource(m, i) => {
                    upstream.insert(config_name(config, *m, &config.modules[*m].module.resources[*i]));
                }
                Node::Variable(..) | Node::Local(..) | Node::Output(..) | Node::Call(..) => {
                    if let Some(set) = through.get(&dep) {
                        upstream.extend(set.iter().cloned());
                    }
                }
            }
        }
        match &graph[ix] {
            Node::Resource(..) => {
                out.insert(ix, upstream.into_iter().collect());
            }
            Node::Variable(..) | Node::Local(..) | Node::Output(..) | Node::Call(..) => {
                if !upstream.is_empty() {
                    through.insert(ix, upstream);
                }
            }
        }
    }
    out
}

/// A resource's address without instance keys: `module.net.aws_subnet.public`.
pub fn config_name(config: &Config, module: usize, r: &Resource) -> String {
    ResourceAddr { module: config.module_path(module), mode: r.mode, type_name: r.type_name.clone(), name: r.name.clone() }.to_string()
}

fn undeclared(kind: &str, name: &str, span: &Span) -> Diagnostic {
    Diagnostic::error("terrane::undeclared_reference", format!("reference to undeclared {kind} {name}"))
        .at(span)
        .help(format!("declare the {kind}, or correct the reference"))
}

pub fn node_name(node: &Node, config: &Config) -> String {
    let prefix = |m: usize| {
        let p = config.module_path(m);
        if p.is_root() {
            String::new()
        } else {
            format!("{p}.")
        }
    };
    match node {
        Node::Variable(m, n) => format!("{}var.{n}", prefix(*m)),
        Node::Local(m, n) => format!("{}local.{n}", prefix(*m)),
        Node::Resource(m, i) => config_name(config, *m, &config.modules[*m].module.resources[*i]),
        Node::Output(m, n) => format!("{}output.{n}", prefix(*m)),
        Node::Call(m, n) => format!("{}module.{n}", prefix(*m)),
    }
}

/// One diagnostic naming every edge of a cycle, each with where the reference is made.
fn cycle_diagnostic(graph: &DiGraph<Node, Span>, scc: &[NodeIndex], config: &Config) -> Diagnostic {
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
    let names: Vec<String> = path.iter().map(|n| node_name(&graph[*n], config)).collect();
    // Edges run dependency -> dependent, so the reference is made by the edge's target.
    let mut diag = Diagnostic::error("terrane::cycle", format!("dependency cycle: {}", names.join(" -> ")))
        .help("break the cycle by removing one of these references");
    let mut edges: Vec<(Span, String)> = path
        .windows(2)
        .filter_map(|pair| {
            let e = graph.find_edge(pair[0], pair[1])?;
            let label = format!("{} refers to {}", node_name(&graph[pair[1]], config), node_name(&graph[pair[0]], config));
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
