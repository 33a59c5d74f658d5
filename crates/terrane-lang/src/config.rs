//! The configuration model: every `*.tf` file of a module directory, decoded into
//! blocks whose expressions stay unevaluated until the engine needs them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hcl_edit::structure::{Attribute as HclAttribute, Block as HclBlock, BlockLabel, Body as HclBody, Structure};
use hcl_edit::Span as _;
use indexmap::IndexMap;
use terrane_core::{Diagnostic, Diagnostics, Mode, SourceFile, Span, Type, Value};

use crate::ast::{Expr, ExprKind, Lowering, RefTarget, Reference, Traverser};
use crate::typeexpr::parse_type;

#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub expr: Expr,
    pub span: Span,
    pub name_span: Span,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub type_name: String,
    pub labels: Vec<String>,
    pub body: Body,
    pub span: Span,
    pub type_span: Span,
}

/// A block body: attributes by name (in source order) and nested blocks.
#[derive(Debug, Clone)]
pub struct Body {
    pub attrs: IndexMap<String, Attribute>,
    pub blocks: Vec<Block>,
    pub span: Span,
}

impl Body {
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attrs.get(name)
    }

    /// Every reference made anywhere in the body. Inside a `dynamic` block's
    /// content its iterator (`iterator = NAME`, else the block's label) is a
    /// local name, not a reference.
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        self.collect_references(&[], &mut out);
        out
    }

    fn collect_references(&self, bound: &[String], out: &mut Vec<Reference>) {
        for attr in self.attrs.values() {
            out.extend(attr.expr.references_with(bound));
        }
        for block in &self.blocks {
            if block.type_name != "dynamic" {
                block.body.collect_references(bound, out);
                continue;
            }
            let iterator = match block.body.attr("iterator").map(|a| &a.expr.kind) {
                Some(ExprKind::Variable(name)) => Some(name.clone()),
                _ => block.labels.first().cloned(),
            };
            // for_each and labels are evaluated outside the iteration.
            for attr in block.body.attrs.values().filter(|a| a.name != "iterator") {
                out.extend(attr.expr.references_with(bound));
            }
            let inner: Vec<String> = bound.iter().cloned().chain(iterator).collect();
            for content in &block.body.blocks {
                content.body.collect_references(&inner, out);
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequiredProvider {
    pub local_name: String,
    pub source: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Backend {
    pub kind: String,
    pub body: Body,
}

#[derive(Debug, Clone)]
pub struct ProviderBlock {
    pub name: String,
    pub alias: Option<String>,
    pub body: Body,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Validation {
    pub condition: Expr,
    pub error_message: Expr,
}

impl Condition {
    /// What the condition reads, apart from `self`.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = self.condition.references();
        refs.extend(self.error_message.references());
        refs.retain(|r| !matches!(&r.target, RefTarget::Builtin(name) if name == "self"));
        refs
    }
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub ty: Type,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Validation>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub expr: Expr,
    pub sensitive: bool,
    pub description: Option<String>,
    pub depends_on: Vec<Reference>,
    /// Checked before the output's value is accepted.
    pub preconditions: Vec<Condition>,
    pub span: Span,
}

impl Output {
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = self.expr.references();
        refs.extend(self.depends_on.iter().cloned());
        refs.extend(self.preconditions.iter().flat_map(Condition::references));
        refs
    }
}

#[derive(Debug, Clone, Default)]
pub enum IgnoreChanges {
    #[default]
    None,
    All,
    Attributes(Vec<Expr>),
}

#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    pub create_before_destroy: bool,
    pub prevent_destroy: bool,
    pub ignore_changes: IgnoreChanges,
    pub replace_triggered_by: Vec<Expr>,
    /// Checked before the resource is planned; a false condition stops the plan.
    pub preconditions: Vec<Condition>,
    /// Checked against the planned object (`self`), or after apply when the
    /// plan cannot know the answer yet.
    pub postconditions: Vec<Condition>,
}

/// `condition` and `error_message`, as in validation, precondition and assert blocks.
#[derive(Debug, Clone)]
pub struct Condition {
    pub condition: Expr,
    pub error_message: Expr,
}

/// A `check` block: assertions reported as warnings, never stopping a run.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub asserts: Vec<Condition>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
    pub body: Body,
    /// Boxed, as most resources have neither: a large configuration holds one
    /// `Resource` per block.
    pub count: Option<Box<Expr>>,
    pub for_each: Option<Box<Expr>>,
    pub depends_on: Vec<Reference>,
    /// `provider = aws.west`: the local name and alias.
    pub provider: Option<(String, Option<String>)>,
    /// Only when the block has a `lifecycle` block (see `Resource::lifecycle`).
    pub lifecycle: Option<Box<Lifecycle>>,
    pub span: Span,
}

/// What a resource without a `lifecycle` block has.
static NO_LIFECYCLE: Lifecycle = Lifecycle {
    create_before_destroy: false,
    prevent_destroy: false,
    ignore_changes: IgnoreChanges::None,
    replace_triggered_by: Vec::new(),
    preconditions: Vec::new(),
    postconditions: Vec::new(),
};

impl Resource {
    pub fn lifecycle(&self) -> &Lifecycle {
        self.lifecycle.as_deref().unwrap_or(&NO_LIFECYCLE)
    }

    /// The provider's local name: explicit, or the type's prefix as in Terraform.
    pub fn provider_name(&self) -> &str {
        match &self.provider {
            Some((name, _)) => name,
            None => self.type_name.split('_').next().unwrap_or(&self.type_name),
        }
    }

    /// `TYPE.NAME` or `data.TYPE.NAME`.
    pub fn display_addr(&self) -> String {
        match self.mode {
            Mode::Managed => format!("{}.{}", self.type_name, self.name),
            Mode::Data => format!("data.{}.{}", self.type_name, self.name),
        }
    }

    /// Every reference the resource makes, meta-arguments included.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = self.body.references();
        for e in self.count.iter().chain(self.for_each.iter()) {
            refs.extend(e.references());
        }
        for e in &self.lifecycle().replace_triggered_by {
            refs.extend(e.references());
        }
        for c in self.lifecycle().preconditions.iter().chain(&self.lifecycle().postconditions) {
            refs.extend(c.references());
        }
        refs.extend(self.depends_on.iter().cloned());
        refs
    }
}

/// `providers = { aws.west = aws.usw2 }` on a module call: the child's name
/// for a provider configuration, and the parent's configuration it gets.
#[derive(Debug, Clone)]
pub struct ProviderPass {
    pub child: (String, Option<String>),
    pub parent: (String, Option<String>),
    pub span: Span,
}

/// A `module "NAME" { source = "./dir" ... }` block.
#[derive(Debug, Clone)]
pub struct ModuleCall {
    pub name: String,
    pub source: String,
    pub source_span: Span,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    /// The child module's input variables, evaluated in the calling module.
    pub inputs: IndexMap<String, Attribute>,
    pub providers: Vec<ProviderPass>,
    pub depends_on: Vec<Reference>,
    pub span: Span,
    pub type_span: Span,
}

impl ModuleCall {
    /// References made by the call's meta-arguments (count, for_each, depends_on).
    pub fn meta_references(&self) -> Vec<Reference> {
        let mut refs: Vec<Reference> = self.count.iter().chain(self.for_each.iter()).flat_map(|e| e.references()).collect();
        refs.extend(self.depends_on.iter().cloned());
        refs
    }
}

/// One module directory, decoded.
#[derive(Debug, Clone, Default)]
pub struct Module {
    pub dir: PathBuf,
    pub files: Vec<Arc<SourceFile>>,
    pub required_providers: IndexMap<String, RequiredProvider>,
    pub backend: Option<Backend>,
    pub providers: Vec<ProviderBlock>,
    pub variables: IndexMap<String, Variable>,
    pub locals: IndexMap<String, Local>,
    pub resources: Vec<Resource>,
    pub outputs: IndexMap<String, Output>,
    /// `moved { from = ..., to = ... }`: renames that keep the object.
    pub moves: Vec<Move>,
    /// `import { to = ..., id = ... }`: existing objects to bring under management.
    pub imports: Vec<Import>,
    pub checks: Vec<Check>,
    pub calls: IndexMap<String, ModuleCall>,
}

#[derive(Debug, Clone)]
pub struct Move {
    pub from: terrane_core::InstanceAddr,
    pub to: terrane_core::InstanceAddr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Import {
    /// The target instance. With `key` set, its own key is a placeholder.
    pub to: terrane_core::InstanceAddr,
    /// The instance key as written when it is an expression (`[each.key]`).
    pub key: Option<Expr>,
    pub id: Expr,
    pub for_each: Option<Expr>,
    pub span: Span,
}

impl Module {
    pub fn resource(&self, mode: Mode, type_name: &str, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.mode == mode && r.type_name == type_name && r.name == name)
    }

    /// The provider source a local name resolves to (`hashicorp/null` for `null`
    /// when nothing is declared, as in Terraform).
    pub fn provider_source(&self, local_name: &str) -> String {
        match self.required_providers.get(local_name) {
            Some(rp) => rp.source.clone(),
            None => format!("hashicorp/{local_name}"),
        }
    }
}

/// Loads every `*.tf` file of `dir` (sorted by name): the module as far as it
/// decodes, with every problem found; an error only when there is nothing to
/// decode (no directory, no `.tf` files).
fn load_module(dir: &Path) -> Result<(Module, Diagnostics), Diagnostics> {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "tf") && p.is_file())
            .collect(),
        Err(err) => {
            return Err(Diagnostic::error("terrane::config_dir", format!("cannot read {}: {err}", dir.display()))
                .into())
        }
    };
    entries.sort();
    if entries.is_empty() {
        return Err(Diagnostic::error("terrane::no_config", format!("no .tf files in {}", dir.display()))
            .help("run terrane in a directory that holds your configuration, or pass -chdir=DIR")
            .into());
    }
    let mut sources = Vec::new();
    let mut diags = Diagnostics::new();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push(SourceFile::new(display_name(dir, &name), text)),
                Err(_) => diags.push(Diagnostic::error("terrane::not_utf8", format!("{name} is not valid UTF-8"))),
            },
            Err(err) => diags.push(Diagnostic::error("terrane::read_file", format!("cannot read {name}: {err}"))),
        }
    }
    let module = parse_module(dir, sources, &mut diags);
    Ok((module, diags))
}

/// A configuration: the root module and every module it calls, each call
/// loaded on its own (a directory called twice is two entries, sharing nothing).
#[derive(Debug, Clone)]
pub struct Config {
    /// Index 0 is the root module.
    pub modules: Vec<ConfigModule>,
}

#[derive(Debug, Clone)]
pub struct ConfigModule {
    pub module: Module,
    /// The call names leading here from the root: `["net", "subnets"]`.
    pub path: Vec<String>,
    /// The calling module and the call's name in it.
    pub parent: Option<(usize, String)>,
    /// Call name to the called module's index.
    pub children: IndexMap<String, usize>,
}

/// How deep module calls may nest: deeper is almost surely a module calling itself.
const MAX_MODULE_DEPTH: usize = 32;

impl Config {
    pub fn root(&self) -> &Module {
        &self.modules[0].module
    }

    pub fn call(&self, module: usize) -> Option<&ModuleCall> {
        let (parent, name) = self.modules[module].parent.as_ref()?;
        self.modules[*parent].module.calls.get(name)
    }

    /// A module's path without instance keys (`module.a.module.b`).
    pub fn module_path(&self, module: usize) -> terrane_core::ModulePath {
        terrane_core::ModulePath(self.modules[module].path.iter().map(|n| (n.clone(), terrane_core::InstanceKey::None)).collect())
    }

    /// The module a static path (call names from the root) leads to.
    pub fn find(&self, path: &[String]) -> Option<usize> {
        let mut at = 0;
        for name in path {
            at = *self.modules[at].children.get(name)?;
        }
        Some(at)
    }

    /// A configuration of one module, calling nothing.
    pub fn single(module: Module) -> Config {
        Config { modules: vec![ConfigModule { module, path: Vec::new(), parent: None, children: IndexMap::new() }] }
    }
}

/// Loads the root module in `dir` and, recursively, every module it calls from
/// a local path, reporting all problems at once.
pub fn load_config(dir: &Path) -> Result<Config, Diagnostics> {
    let (config, diags) = load_config_with_problems(dir)?;
    diags.into_result(config)
}

/// The name of the call, on the way from the root to module `at`, that has
/// count, for_each or depends_on, if any does.
fn expanded_call(config: &Config, mut at: usize) -> Option<String> {
    while let Some((parent, name)) = &config.modules[at].parent {
        let call = &config.modules[*parent].module.calls[name];
        if call.count.is_some() || call.for_each.is_some() || !call.depends_on.is_empty() {
            return Some(name.clone());
        }
        at = *parent;
    }
    None
}

/// The configuration as far as it decodes, with every problem found, so a
/// validator can check the rest of it too. An error only when the root module
/// has nothing to decode.
pub fn load_config_with_problems(dir: &Path) -> Result<(Config, Diagnostics), Diagnostics> {
    let (root, mut diags) = load_module(dir)?;
    let mut config = Config::single(root);
    let mut queue = vec![0usize];
    while let Some(at) = queue.pop() {
        let calls: Vec<ModuleCall> = config.modules[at].module.calls.values().cloned().collect();
        let dir = config.modules[at].module.dir.clone();
        // Terraform's legacy rule: a module may configure a provider unless it,
        // or a module calling it, is called with count, for_each or depends_on.
        if let (Some(expanded), false) = (expanded_call(&config, at), config.modules[at].module.providers.is_empty()) {
            for block in &config.modules[at].module.providers {
                diags.push(
                    Diagnostic::error("terrane::provider_in_module", format!("{} configures a provider", config.module_path(at)))
                        .at(&block.span)
                        .detail(format!("module {expanded:?} is called with count, for_each or depends_on, so its instances could not share one provider configuration"))
                        .help("configure it in the root module and pass it with providers = { ... } on the module call"),
                );
            }
        }
        if at != 0 {
            // Only the root's moves are applied: one here would be silently ignored.
            for m in &config.modules[at].module.moves {
                diags.push(
                    Diagnostic::error("terrane::unsupported", format!("{} has a moved block: terrane reads them in the root module only", config.module_path(at)))
                        .at(&m.span)
                        .help("write it in the root module with full addresses, e.g. module.NAME.TYPE.NAME"),
                );
            }
            for i in &config.modules[at].module.imports {
                diags.push(
                    Diagnostic::error("terrane::import_in_module", format!("{} has an import block: they belong in the root module", config.module_path(at)))
                        .at(&i.span)
                        .help("write it in the root module with the full address, e.g. to = module.NAME.TYPE.NAME"),
                );
            }
        }
        for call in calls {
            let path: Vec<String> = config.modules[at].path.iter().cloned().chain([call.name.clone()]).collect();
            if !(call.source.starts_with("./") || call.source.starts_with("../")) {
                diags.push(
                    Diagnostic::error("terrane::module_source", format!("module {:?}: only local module sources are supported", call.name))
                        .at(&call.source_span)
                        .help("use a path that starts with ./ or ../, relative to the calling module"),
                );
                continue;
            }
            if path.len() > MAX_MODULE_DEPTH {
                diags.push(
                    Diagnostic::error("terrane::module_depth", format!("modules nest more than {MAX_MODULE_DEPTH} deep"))
                        .at(&call.source_span)
                        .help("a module that calls itself, directly or through others, never ends"),
                );
                continue;
            }
            let child_dir = normalize(&dir.join(&call.source));
            if !child_dir.is_dir() {
                diags.push(
                    Diagnostic::error("terrane::module_source", format!("module {:?}: no directory {}", call.name, child_dir.display()))
                        .at(&call.source_span),
                );
                continue;
            }
            match load_module(&child_dir) {
                Ok((module, problems)) => {
                    diags.extend(problems);
                    let index = config.modules.len();
                    config.modules.push(ConfigModule { module, path, parent: Some((at, call.name.clone())), children: IndexMap::new() });
                    config.modules[at].children.insert(call.name.clone(), index);
                    queue.push(index);
                }
                Err(d) => diags.extend(d),
            }
        }
    }
    Ok((config, diags))
}

/// Removes `.` and resolves `..` in a path without touching the file system,
/// so file names in diagnostics read `modules/net/main.tf`.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// What the `terraform` block says about state: its `backend` and `encryption`
/// blocks, undecoded beyond their bodies.
#[derive(Debug, Clone, Default)]
pub struct StateSettings {
    pub backend: Option<Backend>,
    pub encryption: Option<Block>,
}

/// Reads only the `terraform { backend "..." {} encryption {} }` blocks of a
/// module directory, so commands that manage state still work while the rest of
/// the configuration is being fixed. Syntax errors still stop it: the blocks
/// could be in that file.
pub fn load_state_settings(dir: &Path) -> Result<StateSettings, Diagnostics> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "tf")).collect())
        .unwrap_or_default();
    entries.sort();
    let mut diags = Diagnostics::new();
    let mut found = StateSettings::default();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        // A file that never spells either block's name cannot hold it: skip the
        // parse, which is most of the cost on a large configuration.
        if !text.contains("backend") && !text.contains("encryption") {
            continue;
        }
        let file = SourceFile::new(display_name(dir, &name), text);
        let body = match crate::parse::parse_body(&file.text) {
            Ok(body) => body,
            Err(err) => {
                diags.push(syntax_error(&file, &err, 0));
                continue;
            }
        };
        let mut decoder = Decoder { lower: Lowering { file: &file, base: 0 }, diags: &mut diags };
        for block in body.blocks().filter(|b| b.ident.as_str() == "terraform") {
            for inner in block.body.blocks() {
                match inner.ident.as_str() {
                    "backend" => {
                        let decoded = decoder.block(inner);
                        if let Some(kind) = decoded.labels.first() {
                            found.backend = Some(Backend { kind: kind.clone(), body: decoded.body });
                        }
                    }
                    "encryption" => found.encryption = Some(decoder.block(inner)),
                    _ => {}
                }
            }
        }
    }
    diags.into_result(found)
}

/// hcl-edit's parse error as a diagnostic at the place it points to.
pub(crate) fn syntax_error(file: &Arc<SourceFile>, err: &hcl_edit::parser::Error, base: usize) -> Diagnostic {
    let offset = base + err.location().offset();
    Diagnostic::error("terrane::syntax", "invalid HCL syntax")
        .detail(err.message().to_string())
        .at(&Span::new(file, offset..offset + 1))
}

fn display_name(dir: &Path, name: &str) -> String {
    if dir == Path::new(".") || dir.as_os_str().is_empty() {
        name.to_string()
    } else {
        dir.join(name).display().to_string()
    }
}

/// Decodes already-read sources; used by `load_module` and by tests.
pub fn parse_module(dir: &Path, sources: Vec<Arc<SourceFile>>, diags: &mut Diagnostics) -> Module {
    parse_module_in_pieces(dir, sources, diags, PIECE_BYTES)
}

/// About this much source is parsed at a time. hcl-edit's syntax tree takes
/// some seventy times the bytes of its source; parsed whole, a large file's
/// tree was most of a plan's peak memory.
const PIECE_BYTES: usize = 64 * 1024;

/// `parse_module` with a chosen piece size (a file is decoded the same in any
/// size of pieces; the tests check it).
pub fn parse_module_in_pieces(dir: &Path, sources: Vec<Arc<SourceFile>>, diags: &mut Diagnostics, piece_bytes: usize) -> Module {
    let mut module = Module { dir: dir.to_path_buf(), ..Module::default() };
    for file in sources {
        // A syntax error anywhere in a file hides what decoding its other
        // pieces found, as when the file is parsed whole.
        let mut file_diags = Diagnostics::new();
        let resources_before = module.resources.len();
        let mut pieces = top_level_pieces(&file.text, piece_bytes).into_iter();
        while let Some(piece) = pieces.next() {
            let parsed = match crate::parse::parse_body(&file.text[piece.clone()]) {
                Ok(body) => Ok(body),
                // Should the scan ever cut where it must not, the rest of the
                // file is parsed in one go, as it would be without pieces.
                Err(_) => {
                    pieces = Vec::new().into_iter();
                    crate::parse::parse_body(&file.text[piece.start..])
                }
            };
            match parsed {
                Ok(body) => Decoder { lower: Lowering { file: &file, base: piece.start }, diags: &mut file_diags }.top_level(&body, &mut module),
                Err(err) => {
                    file_diags = syntax_error(&file, &err, piece.start).into();
                    // Nor are its earlier pieces' resources checked for duplicates.
                    module.resources.truncate(resources_before);
                }
            }
        }
        diags.extend(file_diags);
        module.files.push(file);
    }
    check_duplicates(&module, diags);
    module
}

/// Splits a file into runs of whole top-level blocks of about `piece_bytes`
/// each, with the scanner `fmt` lays files out by (it knows strings,
/// templates, heredocs and comments). A cut is made only after a line that
/// closes a top-level block and holds nothing else but a comment.
fn top_level_pieces(text: &str, piece_bytes: usize) -> Vec<std::ops::Range<usize>> {
    if text.len() <= piece_bytes {
        return vec![0..text.len()];
    }
    let mut pieces = Vec::new();
    let (mut start, mut end, mut depth) = (0, 0, 0i32);
    // Where a piece could end (after the line just scanned), if the next line is code.
    let mut cut_after: Option<usize> = None;
    let mut raws = text.split('\n');
    crate::fmt::scan_each(text, false, |line| {
        if let Some(at) = cut_after.take() {
            if !line.verbatim {
                pieces.push(start..at);
                start = at;
            }
        }
        end += raws.next().map_or(0, str::len) + 1;
        depth += line.net_brackets;
        let code = line.comment.map_or(line.text.as_str(), |at| &line.text[..at]).trim_end();
        if depth == 0 && !line.verbatim && code.ends_with('}') && end - start >= piece_bytes && end < text.len() {
            cut_after = Some(end);
        }
    });
    pieces.push(start..text.len());
    pieces
}

fn check_duplicates(module: &Module, diags: &mut Diagnostics) {
    let mut seen: BTreeMap<(Mode, &str, &str), &Span> = BTreeMap::new();
    for r in &module.resources {
        if let Some(first) = seen.insert((r.mode, &r.type_name, &r.name), &r.span) {
            diags.push(
                Diagnostic::error("terrane::duplicate_resource", format!("duplicate {} block", r.display_addr()))
                    .at(&r.span)
                    .related(first, "first declared here")
                    .help("each resource needs a unique TYPE and NAME within its module"),
            );
        }
    }
}

struct Decoder<'a, 'd> {
    lower: Lowering<'a>,
    diags: &'d mut Diagnostics,
}

impl Decoder<'_, '_> {
    fn span(&self, range: Option<std::ops::Range<usize>>) -> Span {
        self.lower.span(range)
    }

    fn body(&mut self, body: &HclBody) -> Body {
        let mut attrs = IndexMap::with_capacity(body.attributes().count());
        let mut blocks = Vec::new();
        for structure in body.iter() {
            match structure {
                Structure::Attribute(a) => {
                    let attr = self.attribute(a);
                    if let Some(prev) = attrs.get(&attr.name) {
                        let prev: &Attribute = prev;
                        self.diags.push(
                            Diagnostic::error("terrane::duplicate_attribute", format!("attribute {:?} is set twice", attr.name))
                                .at(&attr.name_span)
                                .related(&prev.name_span, "first set here"),
                        );
                    }
                    attrs.insert(attr.name.clone(), attr);
                }
                Structure::Block(b) => blocks.push(self.block(b)),
            }
        }
        Body { attrs, blocks, span: self.span(body.span()) }
    }

    fn attribute(&mut self, a: &HclAttribute) -> Attribute {
        Attribute {
            name: a.key.as_str().to_string(),
            expr: self.lower.expr(&a.value),
            span: self.span(a.span()),
            name_span: self.span(a.key.span()),
        }
    }

    fn block(&mut self, b: &HclBlock) -> Block {
        Block {
            type_name: b.ident.as_str().to_string(),
            labels: b.labels.iter().map(|l| label_text(l).to_string()).collect(),
            body: self.body(&b.body),
            span: self.span(b.span()),
            type_span: self.span(b.ident.span()),
        }
    }

    fn top_level(&mut self, body: &HclBody, module: &mut Module) {
        for structure in body.iter() {
            let block = match structure {
                Structure::Attribute(a) => {
                    let span = self.span(a.key.span());
                    self.diags.push(
                        Diagnostic::error("terrane::unexpected_attribute", format!("unexpected attribute {:?}", a.key.as_str()))
                            .at(&span)
                            .detail("attributes are not allowed at the top level of a configuration file")
                            .help("put it inside a resource, locals or other block"),
                    );
                    continue;
                }
                Structure::Block(b) => self.block(b),
            };
            match block.type_name.as_str() {
                "terraform" => self.terraform(block, module),
                "provider" => {
                    if let Some([name]) = self.labels::<1>(&block, "provider", "NAME") {
                        let alias = self.const_string(&block.body, "alias");
                        module.providers.push(ProviderBlock { name, alias, body: block.body, span: block.span });
                    }
                }
                "variable" => {
                    if let Some([name]) = self.labels::<1>(&block, "variable", "NAME") {
                        if let Some(v) = self.variable(name, block) {
                            if module.variables.contains_key(&v.name) {
                                self.diags.push(
                                    Diagnostic::error("terrane::duplicate_variable", format!("variable {:?} is declared twice", v.name))
                                        .at(&v.span),
                                );
                            }
                            module.variables.insert(v.name.clone(), v);
                        }
                    }
                }
                "locals" => {
                    self.no_labels(&block, "locals");
                    for (name, attr) in block.body.attrs {
                        if module.locals.contains_key(&name) {
                            self.diags.push(
                                Diagnostic::error("terrane::duplicate_local", format!("local value {name:?} is defined twice"))
                                    .at(&attr.name_span),
                            );
                        }
                        module.locals.insert(name.clone(), Local { name, expr: attr.expr, span: attr.name_span });
                    }
                    for b in block.body.blocks {
                        self.unexpected_block(&b, "locals");
                    }
                }
                "resource" | "data" => {
                    let mode = if block.type_name == "resource" { Mode::Managed } else { Mode::Data };
                    let kind = block.type_name.clone();
                    if let Some([type_name, name]) = self.labels::<2>(&block, &kind, "TYPE\" \"NAME") {
                        let r = self.resource(mode, type_name, name, block);
                        module.resources.push(r);
                    }
                }
                "output" => {
                    if let Some([name]) = self.labels::<1>(&block, "output", "NAME") {
                        if let Some(o) = self.output(name, block) {
                            module.outputs.insert(o.name.clone(), o);
                        }
                    }
                }
                "moved" => {
                    self.no_labels(&block, "moved");
                    let addr = |name: &str, this: &mut Self| -> Option<terrane_core::InstanceAddr> {
                        let Some(attr) = block.body.attr(name) else {
                            this.diags.push(
                                Diagnostic::error("terrane::missing_attribute", format!("a moved block needs {name}")).at(&block.type_span),
                            );
                            return None;
                        };
                        match attr.expr.span.text().parse::<terrane_core::InstanceAddr>() {
                            Ok(a) => Some(a),
                            // A module address is what is left of a resource address without TYPE.NAME.
                            Err(_) if attr.expr.span.text().starts_with("module.")
                                && format!("{}.t.n", attr.expr.span.text()).parse::<terrane_core::InstanceAddr>().is_ok() =>
                            {
                                this.diags.push(
                                    Diagnostic::error("terrane::unsupported", "moving a whole module is not supported yet")
                                        .at(&attr.expr.span)
                                        .help("move each of its resources with its own moved block"),
                                );
                                None
                            }
                            Err(e) => {
                                this.diags.push(
                                    Diagnostic::error("terrane::invalid_address", format!("{name} must be a resource address"))
                                        .detail(e.reason)
                                        .at(&attr.expr.span),
                                );
                                None
                            }
                        }
                    };
                    let from = addr("from", self);
                    let to = addr("to", self);
                    if let (Some(from), Some(to)) = (from, to) {
                        if from.resource.type_name != to.resource.type_name {
                            self.diags.push(
                                Diagnostic::error("terrane::invalid_move", format!("cannot move {from} to {to}: the resource type must stay the same"))
                                    .at(&block.span),
                            );
                        } else {
                            module.moves.push(Move { from, to, span: block.span.clone() });
                        }
                    }
                }
                "check" => {
                    if let Some([name]) = self.labels::<1>(&block, "check", "NAME") {
                        let mut asserts = Vec::new();
                        for inner in &block.body.blocks {
                            match inner.type_name.as_str() {
                                "assert" => asserts.extend(self.condition(inner)),
                                "data" => self.diags.push(
                                    Diagnostic::error("terrane::unsupported", "scoped data sources in check blocks are not supported yet")
                                        .at(&inner.type_span),
                                ),
                                _ => self.unexpected_block(inner, "check"),
                            }
                        }
                        module.checks.push(Check { name, asserts });
                    }
                }
                "module" => {
                    if let Some([name]) = self.labels::<1>(&block, "module", "NAME") {
                        if let Some(call) = self.module_call(name, block) {
                            if let Some(first) = module.calls.get(&call.name) {
                                self.diags.push(
                                    Diagnostic::error("terrane::duplicate", format!("module {:?} is declared twice", call.name))
                                        .at(&call.type_span)
                                        .related(&first.type_span, "first declared here"),
                                );
                            } else {
                                module.calls.insert(call.name.clone(), call);
                            }
                        }
                    }
                }
                "import" => {
                    self.no_labels(&block, "import");
                    if let Some(import) = self.import(block) {
                        module.imports.push(import);
                    }
                }
                other => {
                    self.diags.push(
                        Diagnostic::error("terrane::unknown_block", format!("unsupported block type {other:?}"))
                            .at(&block.type_span)
                            .help(suggest(other, TOP_LEVEL_BLOCKS).map_or_else(
                                || format!("top-level blocks are: {}", TOP_LEVEL_BLOCKS.join(", ")),
                                |s| format!("did you mean {s:?}?"),
                            )),
                    );
                }
            }
        }
    }

    fn import(&mut self, block: Block) -> Option<Import> {
        const ALLOWED: &[&str] = &["to", "id", "for_each"];
        for attr in block.body.attrs.values() {
            if attr.name == "provider" {
                self.diags.push(
                    Diagnostic::error("terrane::unsupported", "provider in an import block is not supported yet")
                        .at(&attr.name_span)
                        .help("the import uses the provider of its target resource; set provider there"),
                );
            } else if !ALLOWED.contains(&attr.name.as_str()) {
                self.unexpected_attr(attr, "import", ALLOWED);
            }
        }
        for inner in &block.body.blocks {
            self.unexpected_block(inner, "import");
        }
        let mut required = |name: &str| {
            let attr = block.body.attr(name);
            if attr.is_none() {
                self.diags.push(
                    Diagnostic::error("terrane::missing_attribute", format!("an import block needs {name}")).at(&block.type_span),
                );
            }
            attr
        };
        let (to_attr, id_attr) = (required("to")?, required("id")?);
        let (to, key) = self.import_target(&to_attr.expr)?;
        let for_each = block.body.attr("for_each").map(|a| a.expr.clone());
        if key.is_some() && for_each.is_none() {
            self.diags.push(
                Diagnostic::error("terrane::invalid_address", "the import target's key must be a literal without for_each")
                    .at(&to_attr.expr.span)
                    .help("write the key as a literal, e.g. aws_instance.web[\"a\"], or add for_each to the import block"),
            );
            return None;
        }
        Some(Import { to, key, id: id_attr.expr.clone(), for_each, span: block.span.clone() })
    }

    /// `TYPE.NAME[KEY]`, or with the key an expression (`[each.key]`): the
    /// address with that expression kept to evaluate per for_each element.
    fn import_target(&mut self, expr: &Expr) -> Option<(terrane_core::InstanceAddr, Option<Expr>)> {
        let text = expr.span.text();
        let parsed = match text.parse::<terrane_core::InstanceAddr>() {
            Ok(addr) => Ok((addr, None)),
            Err(e) => match &expr.kind {
                ExprKind::Traversal(_, ops) => match ops.last() {
                    Some(Traverser::Index(key)) if !matches!(key.kind, ExprKind::Literal(_)) => {
                        let prefix = &expr.span.file.text[expr.span.start as usize..key.span.start as usize];
                        let prefix = prefix.trim_end().trim_end_matches('[').trim_end();
                        prefix.parse::<terrane_core::InstanceAddr>().map(|a| (a, Some(key.clone()))).map_err(|_| e)
                    }
                    _ => Err(e),
                },
                _ => Err(e),
            },
        };
        match parsed {
            Ok((addr, _)) if addr.resource.mode != Mode::Managed => {
                self.diags.push(Diagnostic::error("terrane::invalid_address", "an import target must be a managed resource").at(&expr.span));
                None
            }
            Ok(found) => Some(found),
            Err(e) => {
                self.diags.push(
                    Diagnostic::error("terrane::invalid_address", "to must be a resource address")
                        .detail(e.reason)
                        .at(&expr.span),
                );
                None
            }
        }
    }

    fn labels<const N: usize>(&mut self, block: &Block, kind: &str, shape: &str) -> Option<[String; N]> {
        if block.labels.len() == N {
            return block.labels.clone().try_into().ok();
        }
        self.diags.push(
            Diagnostic::error("terrane::block_labels", format!("a {kind} block needs {N} label{}", if N == 1 { "" } else { "s" }))
                .at(&block.type_span)
                .help(format!("write it as {kind} \"{shape}\" {{ ... }}")),
        );
        None
    }

    fn no_labels(&mut self, block: &Block, kind: &str) {
        if !block.labels.is_empty() {
            self.diags.push(
                Diagnostic::error("terrane::block_labels", format!("a {kind} block takes no labels")).at(&block.type_span),
            );
        }
    }

    fn unexpected_block(&mut self, block: &Block, within: &str) {
        self.diags.push(
            Diagnostic::error("terrane::unknown_block", format!("unexpected block {:?} in {within}", block.type_name))
                .at(&block.type_span),
        );
    }

    fn unexpected_attr(&mut self, attr: &Attribute, within: &str, allowed: &[&str]) {
        let mut diag = Diagnostic::error(
            "terrane::unknown_attribute",
            format!("unsupported argument {:?} in {within}", attr.name),
        )
        .at(&attr.name_span);
        if let Some(s) = suggest(&attr.name, allowed) {
            diag = diag.help(format!("did you mean {s:?}?"));
        }
        self.diags.push(diag);
    }

    /// An attribute that must be a constant: evaluated with no variables in scope.
    fn const_value(&mut self, body: &Body, name: &str) -> Option<Value> {
        let attr = body.attr(name)?;
        match crate::eval::eval_constant(&attr.expr) {
            Ok(v) => Some(v),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    fn const_string(&mut self, body: &Body, name: &str) -> Option<String> {
        let attr = body.attr(name)?;
        match self.const_value(body, name)? {
            Value::String(s) => Some(s),
            other => {
                self.diags.push(
                    Diagnostic::error("terrane::type_mismatch", format!("{name} must be a string, got {}", other.type_name()))
                        .at(&attr.expr.span),
                );
                None
            }
        }
    }

    fn const_bool(&mut self, body: &Body, name: &str) -> Option<bool> {
        let attr = body.attr(name)?;
        match self.const_value(body, name)? {
            Value::Bool(b) => Some(b),
            other => {
                self.diags.push(
                    Diagnostic::error("terrane::type_mismatch", format!("{name} must be true or false, got {}", other.type_name()))
                        .at(&attr.expr.span),
                );
                None
            }
        }
    }

    fn terraform(&mut self, block: Block, module: &mut Module) {
        self.no_labels(&block, "terraform");
        for attr in block.body.attrs.values() {
            if attr.name != "required_version" && attr.name != "experiments" {
                self.unexpected_attr(attr, "terraform", &["required_version"]);
            }
        }
        for inner in &block.body.blocks {
            match inner.type_name.as_str() {
                "required_providers" => {
                    for (local_name, attr) in &inner.body.attrs {
                        let source = match crate::eval::eval_constant(&attr.expr) {
                            Ok(Value::Map(m)) => m.get("source").and_then(|s| s.as_str()).map(str::to_string),
                            Ok(Value::String(_)) => None,
                            Ok(_) => None,
                            Err(d) => {
                                self.diags.push(d);
                                continue;
                            }
                        };
                        let source = source.unwrap_or_else(|| format!("hashicorp/{local_name}"));
                        module.required_providers.insert(
                            local_name.clone(),
                            RequiredProvider { local_name: local_name.clone(), source, span: attr.expr.span.clone() },
                        );
                    }
                }
                "backend" => {
                    if let Some(kind) = inner.labels.first() {
                        module.backend = Some(Backend { kind: kind.clone(), body: inner.body.clone() });
                    }
                }
                "cloud" | "provider_meta" | "encryption" => {}
                _ => self.unexpected_block(inner, "terraform"),
            }
        }
    }

    fn variable(&mut self, name: String, block: Block) -> Option<Variable> {
        const ALLOWED: &[&str] = &["type", "default", "description", "sensitive", "nullable", "ephemeral"];
        for attr in block.body.attrs.values() {
            if !ALLOWED.contains(&attr.name.as_str()) {
                self.unexpected_attr(attr, "variable", ALLOWED);
            }
        }
        let ty = match block.body.attr("type") {
            Some(attr) => match parse_type(&attr.expr) {
                Ok(t) => t,
                Err(d) => {
                    self.diags.push(d);
                    Type::Any
                }
            },
            None => Type::Any,
        };
        let mut default = self.const_value(&block.body, "default");
        if let (Some(d), Some(attr)) = (default.take(), block.body.attr("default")) {
            match ty.convert(d) {
                Ok(v) => default = Some(v),
                Err(e) => self.diags.push(
                    Diagnostic::error("terrane::type_mismatch", format!("invalid default value for variable {name:?}"))
                        .detail(format!("this default does not fit the type {ty}: {e}"))
                        .at(&attr.expr.span),
                ),
            }
        }
        let mut validations = Vec::new();
        for inner in &block.body.blocks {
            if inner.type_name != "validation" {
                self.unexpected_block(inner, "variable");
                continue;
            }
            match (inner.body.attr("condition"), inner.body.attr("error_message")) {
                (Some(c), Some(m)) => {
                    validations.push(Validation { condition: c.expr.clone(), error_message: m.expr.clone() })
                }
                _ => self.diags.push(
                    Diagnostic::error("terrane::missing_attribute", "a validation block needs condition and error_message")
                        .at(&inner.type_span),
                ),
            }
        }
        Some(Variable {
            description: self.const_string(&block.body, "description"),
            sensitive: self.const_bool(&block.body, "sensitive").unwrap_or(false),
            nullable: self.const_bool(&block.body, "nullable").unwrap_or(true),
            name,
            ty,
            default,
            validations,
            span: block.span,
        })
    }

    fn output(&mut self, name: String, block: Block) -> Option<Output> {
        const ALLOWED: &[&str] = &["value", "sensitive", "description", "depends_on", "ephemeral"];
        for attr in block.body.attrs.values() {
            if !ALLOWED.contains(&attr.name.as_str()) {
                self.unexpected_attr(attr, "output", ALLOWED);
            }
        }
        let Some(value) = block.body.attr("value") else {
            self.diags.push(
                Diagnostic::error("terrane::missing_attribute", format!("output {name:?} has no value"))
                    .at(&block.type_span)
                    .help("add value = <expression>"),
            );
            return None;
        };
        let mut preconditions = Vec::new();
        for inner in &block.body.blocks {
            match inner.type_name.as_str() {
                "precondition" => preconditions.extend(self.condition(inner)),
                _ => self.unexpected_block(inner, "output"),
            }
        }
        Some(Output {
            preconditions,
            expr: value.expr.clone(),
            sensitive: self.const_bool(&block.body, "sensitive").unwrap_or(false),
            description: self.const_string(&block.body, "description"),
            depends_on: self.depends_on(&block.body),
            name,
            span: block.span,
        })
    }

    fn depends_on(&mut self, body: &Body) -> Vec<Reference> {
        let Some(attr) = body.attr("depends_on") else { return Vec::new() };
        let ExprKind::Tuple(items) = &attr.expr.kind else {
            self.diags.push(
                Diagnostic::error("terrane::invalid_depends_on", "depends_on must be a list of resource references")
                    .at(&attr.expr.span),
            );
            return Vec::new();
        };
        let mut refs = Vec::new();
        for item in items {
            let found = item.references();
            match found.as_slice() {
                [r] if matches!(r.target, RefTarget::Resource(..) | RefTarget::Data(..) | RefTarget::Module(..)) => {
                    refs.push(r.clone())
                }
                _ => self.diags.push(
                    Diagnostic::error("terrane::invalid_depends_on", "depends_on entries must name a resource, data source or module")
                        .at(&item.span),
                ),
            }
        }
        refs
    }

    /// Takes `count`, `for_each` and `depends_on` out of a resource or module body.
    fn repetition(&mut self, body: &mut Body) -> (Option<Expr>, Option<Expr>, Vec<Reference>) {
        let count = body.attrs.shift_remove("count").map(|a| a.expr);
        let for_each = body.attrs.shift_remove("for_each").map(|a| a.expr);
        if let (Some(c), Some(_)) = (&count, &for_each) {
            self.diags.push(
                Diagnostic::error("terrane::count_and_for_each", "count and for_each cannot both be set")
                    .at(&c.span)
                    .help("use one of them to make several instances"),
            );
        }
        let depends_on = self.depends_on(body);
        body.attrs.shift_remove("depends_on");
        (count, for_each, depends_on)
    }

    fn resource(&mut self, mode: Mode, type_name: String, name: String, block: Block) -> Resource {
        let mut body = block.body;
        let (count, for_each, depends_on) = self.repetition(&mut body);
        let provider = body.attrs.shift_remove("provider").and_then(|a| self.provider_ref(&a));
        let mut lifecycle = None;
        let mut rest = Vec::new();
        for inner in std::mem::take(&mut body.blocks) {
            if inner.type_name == "lifecycle" {
                lifecycle = Some(Box::new(self.lifecycle(&inner)));
            } else {
                rest.push(inner);
            }
        }
        body.blocks = rest;
        Resource { mode, type_name, name, body, count: count.map(Box::new), for_each: for_each.map(Box::new), depends_on, provider, lifecycle, span: block.span }
    }

    fn module_call(&mut self, name: String, block: Block) -> Option<ModuleCall> {
        let mut body = block.body;
        let Some(source_attr) = body.attrs.shift_remove("source") else {
            self.diags.push(
                Diagnostic::error("terrane::missing_attribute", format!("module {name:?} has no source"))
                    .at(&block.type_span)
                    .help("add source = \"./path/to/module\""),
            );
            return None;
        };
        let source = match &source_attr.expr.kind {
            ExprKind::Literal(Value::String(s)) => s.clone(),
            _ => {
                self.diags.push(
                    Diagnostic::error("terrane::invalid_module_source", "a module source must be a literal string")
                        .at(&source_attr.expr.span),
                );
                return None;
            }
        };
        body.attrs.shift_remove("version");
        let (count, for_each, depends_on) = self.repetition(&mut body);
        let providers = body.attrs.shift_remove("providers").map(|a| self.provider_passes(&a)).unwrap_or_default();
        for inner in &body.blocks {
            self.diags.push(
                Diagnostic::error("terrane::unexpected_block", format!("a module block takes no {:?} block", inner.type_name))
                    .at(&inner.type_span)
                    .help("module inputs are attributes: name = value"),
            );
        }
        Some(ModuleCall {
            name,
            source,
            source_span: source_attr.expr.span,
            count,
            for_each,
            inputs: body.attrs,
            providers,
            depends_on,
            span: block.span,
            type_span: block.type_span,
        })
    }

    fn provider_passes(&mut self, attr: &Attribute) -> Vec<ProviderPass> {
        let ExprKind::Object(items) = &attr.expr.kind else {
            self.diags.push(
                Diagnostic::error("terrane::invalid_providers", "providers must be a map like { aws = aws.west }").at(&attr.expr.span),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in items {
            match (provider_name_of(key), provider_name_of(value)) {
                (Some(child), Some(parent)) => out.push(ProviderPass { child, parent, span: key.span.clone() }),
                _ => self.diags.push(
                    Diagnostic::error("terrane::invalid_providers", "each entry of providers must be NAME or NAME.ALIAS = NAME or NAME.ALIAS")
                        .at(&key.span),
                ),
            }
        }
        out
    }

    fn provider_ref(&mut self, attr: &Attribute) -> Option<(String, Option<String>)> {
        match &attr.expr.kind {
            ExprKind::Variable(name) => Some((name.clone(), None)),
            ExprKind::Traversal(root, ops) => match (&root.kind, ops.as_slice()) {
                (ExprKind::Variable(name), [crate::ast::Traverser::Attr(alias, _)]) => {
                    Some((name.clone(), Some(alias.clone())))
                }
                _ => {
                    self.diags.push(
                        Diagnostic::error("terrane::invalid_provider_ref", "provider must be NAME or NAME.ALIAS")
                            .at(&attr.expr.span),
                    );
                    None
                }
            },
            _ => {
                self.diags.push(
                    Diagnostic::error("terrane::invalid_provider_ref", "provider must be NAME or NAME.ALIAS")
                        .at(&attr.expr.span),
                );
                None
            }
        }
    }

    fn condition(&mut self, block: &Block) -> Option<Condition> {
        match (block.body.attr("condition"), block.body.attr("error_message")) {
            (Some(c), Some(m)) => Some(Condition { condition: c.expr.clone(), error_message: m.expr.clone() }),
            _ => {
                self.diags.push(
                    Diagnostic::error("terrane::missing_attribute", format!("a {} block needs condition and error_message", block.type_name))
                        .at(&block.type_span),
                );
                None
            }
        }
    }

    fn lifecycle(&mut self, block: &Block) -> Lifecycle {
        const ALLOWED: &[&str] =
            &["create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"];
        let mut lc = Lifecycle {
            create_before_destroy: self.const_bool(&block.body, "create_before_destroy").unwrap_or(false),
            prevent_destroy: self.const_bool(&block.body, "prevent_destroy").unwrap_or(false),
            ..Lifecycle::default()
        };
        for attr in block.body.attrs.values() {
            match attr.name.as_str() {
                "ignore_changes" => {
                    lc.ignore_changes = match &attr.expr.kind {
                        ExprKind::Variable(v) if v == "all" => IgnoreChanges::All,
                        ExprKind::Literal(Value::String(s)) if s == "all" => IgnoreChanges::All,
                        ExprKind::Tuple(items) => IgnoreChanges::Attributes(items.clone()),
                        _ => {
                            self.diags.push(
                                Diagnostic::error("terrane::invalid_ignore_changes", "ignore_changes must be a list of attributes or all")
                                    .at(&attr.expr.span),
                            );
                            IgnoreChanges::None
                        }
                    }
                }
                "replace_triggered_by" => match &attr.expr.kind {
                    ExprKind::Tuple(items) => lc.replace_triggered_by = items.clone(),
                    _ => self.diags.push(
                        Diagnostic::error("terrane::invalid_replace_triggered_by", "replace_triggered_by must be a list of references")
                            .at(&attr.expr.span),
                    ),
                },
                name if ALLOWED.contains(&name) => {}
                _ => self.unexpected_attr(attr, "lifecycle", ALLOWED),
            }
        }
        for inner in &block.body.blocks {
            match inner.type_name.as_str() {
                "precondition" => {
                    if let Some(c) = self.condition(inner) {
                        lc.preconditions.push(c);
                    }
                }
                "postcondition" => {
                    if let Some(c) = self.condition(inner) {
                        lc.postconditions.push(c);
                    }
                }
                _ => self.unexpected_block(inner, "lifecycle"),
            }
        }
        lc
    }
}

const TOP_LEVEL_BLOCKS: &[&str] = &["terraform", "provider", "variable", "locals", "resource", "data", "output", "module", "moved", "import", "check"];

/// `aws` or `aws.west` written as an expression (a map key or value in `providers`).
fn provider_name_of(e: &Expr) -> Option<(String, Option<String>)> {
    match &e.kind {
        ExprKind::Variable(name) => Some((name.clone(), None)),
        ExprKind::Literal(Value::String(s)) => match s.split_once('.') {
            Some((n, a)) => Some((n.to_string(), Some(a.to_string()))),
            None => Some((s.clone(), None)),
        },
        ExprKind::Traversal(root, ops) => match (&root.kind, ops.as_slice()) {
            (ExprKind::Variable(name), [crate::ast::Traverser::Attr(alias, _)]) => Some((name.clone(), Some(alias.clone()))),
            _ => None,
        },
        _ => None,
    }
}

fn label_text(label: &BlockLabel) -> &str {
    match label {
        BlockLabel::Ident(i) => i.as_str(),
        BlockLabel::String(s) => s.value(),
    }
}

/// The closest allowed word, for "did you mean" hints.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `text` whole and in the smallest pieces the scan allows; both
    /// must give the same diagnostics and, when they hold no error, the same
    /// module (after a syntax error the module is never used).
    fn same_in_pieces(name: &str, text: &str) {
        let decode = |piece_bytes: usize| {
            let mut diags = Diagnostics::new();
            let module = parse_module_in_pieces(Path::new("."), vec![SourceFile::new(name, text)], &mut diags, piece_bytes);
            let module = if diags.has_errors() { String::new() } else { format!("{module:?}") };
            (format!("{diags:?}"), module)
        };
        assert_eq!(decode(1), decode(usize::MAX), "{name} decodes differently in pieces");
    }

    fn tf_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                tf_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "tf") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_configuration_in_the_repository_decodes_the_same_in_pieces() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in ["examples", "modules", "tests/conformance"] {
            tf_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 30, "found only {} files", files.len());
        for path in files {
            same_in_pieces(&path.display().to_string(), &std::fs::read_to_string(&path).expect("read a .tf file"));
        }
    }

    #[test]
    fn braces_in_strings_comments_and_templates_do_not_cut_a_block() {
        for text in [
            "resource \"a\" \"b\" {\n  x = \"}\"\n}\nresource \"a\" \"c\" {}\n",
            "resource \"a\" \"b\" {\n  x = \"${format(\"%s}\", \"}\")}\"\n}\n# }\nresource \"a\" \"c\" {} # trailing }\n",
            "locals {\n  s = \"$${not} %%{not}\"\n}\n/* }\n} */\nlocals {\n  t = 1\n}\n",
            "locals {\n  h = <<EOT\n}\nresource \"x\" \"y\" {}\nEOT\n}\nlocals { u = 2 }\n",
            "locals {\n  t = \"%{ for x in [1] }${x}%{ endfor }\"\n}\nlocals { v = 3 } locals { w = 4 }\n",
            "locals {\n  a = 1\n}\n}\nlocals { b = 2 }\n",
            "locals {\n  a = \"unterminated\n}\nlocals { b = 2 }\n",
            "x = 1\nlocals {\n  a = [1, {b = 2}]\n}\nlocals { c = (1 + 2) }\n",
        ] {
            same_in_pieces("case.tf", text);
        }
    }

    #[test]
    fn a_large_file_is_cut_between_top_level_blocks() {
        let text: String = (0..50).map(|i| format!("resource \"null_resource\" \"r{i}\" {{\n  triggers = {{ a = \"}}\" }}\n}}\n")).collect();
        let pieces = top_level_pieces(&text, 100);
        assert!(pieces.len() > 10, "{} pieces", pieces.len());
        assert_eq!(pieces.first().map(|p| p.start), Some(0));
        assert_eq!(pieces.last().map(|p| p.end), Some(text.len()));
        for pair in pieces.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert!(text[pair[1].clone()].starts_with("resource "), "cut inside a block: {:?}", &text[pair[1].clone()]);
        }
        same_in_pieces("large.tf", &text);
    }
}
