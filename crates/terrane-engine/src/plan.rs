//! The plan: what apply will do, per resource instance and output.

use terrane_core::{AttrPath, InstanceAddr, Value};

use crate::registry::ProviderKey;

/// What happens to one resource instance. Matched everywhere without `_` arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NoOp,
    Create,
    /// A data source read that must wait for apply.
    Read,
    Update,
    Replace { create_before_destroy: bool },
    Delete,
    /// Removed from state without destroying the object.
    Forget,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Replace { create_before_destroy: false } => "delete-then-create",
            Action::Replace { create_before_destroy: true } => "create-then-delete",
            Action::Delete => "delete",
            Action::Forget => "forget",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResourceChange {
    pub addr: InstanceAddr,
    pub provider: ProviderKey,
    pub action: Action,
    /// The refreshed prior object.
    pub before: Option<Value>,
    /// The planned object; unknowns are known only after apply.
    pub after: Option<Value>,
    pub requires_replace: Vec<AttrPath>,
    pub schema_version: u64,
    /// Why this action, when it is not obvious (tainted, gone, no longer in configuration).
    pub reason: Option<String>,
    /// `each.value` for an instance of a `for_each` resource.
    pub each_value: Option<Value>,
    /// `TYPE.NAME` of every resource this instance depends on.
    pub dependencies: std::sync::Arc<[String]>,
    /// The refreshed object differs from what state holds.
    pub drifted: bool,
    /// The object is imported by an `import` block, by this id, as part of this change.
    pub importing: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OutputChange {
    pub name: String,
    pub before: Option<Value>,
    pub after: Value,
    pub sensitive: bool,
}

impl OutputChange {
    pub fn changed(&self) -> bool {
        match &self.before {
            Some(b) => !terrane_provider::same_value(b, &self.after),
            None => true,
        }
    }
}

/// An object that changed outside terrane since the last apply.
#[derive(Debug, Clone)]
pub struct Drift {
    pub addr: InstanceAddr,
    pub before: Value,
    /// `None` when the object is gone.
    pub after: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub format_version: u32,
    pub workspace: String,
    pub lineage: String,
    /// The state serial the plan was made against.
    pub serial: u64,
    pub destroy: bool,
    pub changes: Vec<ResourceChange>,
    pub outputs: Vec<OutputChange>,
    pub drift: Vec<Drift>,
    /// Failed `check` assertions: shown, never fatal.
    pub warnings: Vec<terrane_core::Diagnostic>,
    /// Instances renamed by `moved` blocks, applied to state before anything else.
    pub moves: Vec<(InstanceAddr, InstanceAddr)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub import: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for change in &self.changes {
            c.import += usize::from(change.importing.is_some());
            match change.action {
                Action::Create => c.add += 1,
                Action::Update => c.change += 1,
                Action::Replace { .. } => {
                    c.add += 1;
                    c.destroy += 1
                }
                Action::Delete => c.destroy += 1,
                Action::NoOp | Action::Read | Action::Forget => {}
            }
        }
        c
    }

    /// The drift Terraform reports with a plan: changes outside terrane to
    /// objects that a planned change reads from, directly or through other
    /// resources. Other drift is refreshed into state without a word, since
    /// nothing planned answers to it. Terraform narrows this to the
    /// attributes read; terrane shows the whole object.
    pub fn relevant_drift(&self) -> Vec<&Drift> {
        let mut depends_on: std::collections::HashMap<String, &[String]> = std::collections::HashMap::new();
        for change in &self.changes {
            depends_on.entry(change.addr.resource.to_string()).or_insert(&change.dependencies);
        }
        let mut relevant: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut pending: Vec<&str> = self
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .flat_map(|c| c.dependencies.iter().map(String::as_str))
            .collect();
        while let Some(name) = pending.pop() {
            if relevant.insert(name) {
                pending.extend(depends_on.get(name).into_iter().flat_map(|deps| deps.iter().map(String::as_str)));
            }
        }
        self.drift.iter().filter(|d| relevant.contains(d.addr.resource.to_string().as_str())).collect()
    }

    /// True when apply would change any resource or output.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| match c.action {
            Action::NoOp | Action::Read => false,
            Action::Create | Action::Update | Action::Replace { .. } | Action::Delete | Action::Forget => true,
        }) || self.changes.iter().any(|c| c.importing.is_some())
            || self.outputs.iter().any(OutputChange::changed)
            || !self.moves.is_empty()
    }
}
