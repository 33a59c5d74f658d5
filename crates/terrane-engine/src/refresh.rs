//! Refresh: stored state turned into typed values, then brought up to date with
//! batched provider reads (one `read` call per provider and resource type).

use std::collections::{BTreeMap, HashMap};

use terrane_core::{AttrPath, Diagnostic, Diagnostics, InstanceAddr, Mode, PathStep, Type, Value};
use terrane_provider::Schema;
use terrane_state::{ResourceRecord, State, Status};

use crate::plan::Drift;
use crate::registry::{ProviderKey, ProviderRegistry};

#[derive(Debug, Clone)]
pub struct PriorInstance {
    pub provider: ProviderKey,
    /// The object as refresh found it (or as stored when refresh was skipped).
    pub value: Value,
    /// What planning needs of the stored record; the rest of it is not kept, as a
    /// large state's records are most of a plan's memory.
    pub schema_version: u64,
    pub dependencies: Vec<String>,
    pub tainted: bool,
    /// Refresh found the object different from what state holds.
    pub drifted: bool,
    /// Not in state: an `import` block read it for this plan.
    pub importing: Option<Importing>,
}

impl PriorInstance {
    /// A stored record's instance, its attributes already typed as `value`.
    pub fn stored(record: ResourceRecord, provider: ProviderKey, value: Value) -> PriorInstance {
        PriorInstance {
            provider,
            value,
            schema_version: record.schema_version,
            dependencies: record.dependencies,
            tainted: record.status == Status::Tainted,
            drifted: false,
            importing: None,
        }
    }
}

/// Where an instance that state does not hold yet came from.
#[derive(Debug, Clone)]
pub struct Importing {
    pub id: String,
    /// The `import` block.
    pub span: terrane_core::Span,
}

#[derive(Debug, Clone, Default)]
pub struct Refreshed {
    pub lineage: String,
    pub serial: u64,
    pub instances: BTreeMap<InstanceAddr, PriorInstance>,
    pub outputs: BTreeMap<String, Value>,
    pub drift: Vec<Drift>,
    /// `moved` renames already applied to `instances` (from, to).
    pub moves: Vec<(InstanceAddr, InstanceAddr)>,
}

impl Refreshed {
    /// Applies `moved` blocks: an instance at `from` (or every instance of a
    /// resource, keeping keys) is known at `to` from now on. Moves whose source is
    /// gone, or whose destination is taken, do nothing, as in Terraform.
    pub fn apply_moves(&mut self, moves: &[terrane_lang::config::Move]) {
        for m in moves {
            let whole = m.from.key == terrane_core::InstanceKey::None && m.to.key == terrane_core::InstanceKey::None;
            let sources: Vec<InstanceAddr> = self
                .instances
                .keys()
                .filter(|a| if whole { a.resource == m.from.resource } else { **a == m.from })
                .cloned()
                .collect();
            for from in sources {
                let to = if whole { m.to.resource.instance(from.key.clone()) } else { m.to.clone() };
                if self.instances.contains_key(&to) {
                    continue;
                }
                if let Some(instance) = self.instances.remove(&from) {
                    self.instances.insert(to.clone(), instance);
                    self.moves.push((from, to));
                }
            }
        }
    }
}

/// A stored record as a typed value with its sensitive marks restored.
pub fn typed_value(record: &ResourceRecord, schema: Option<&Schema>) -> Value {
    let raw = Value::from_json(&record.attributes);
    let value = match schema {
        Some(s) => s.implied_type().convert(raw.clone()).unwrap_or(raw),
        None => raw,
    };
    let mut paths = record.sensitive_paths.clone();
    if let Some(s) = schema {
        paths.extend(s.sensitive_attributes().into_iter().map(|n| vec![PathStep::Attr(n)]));
    }
    value.mark_paths(&paths)
}

/// Refreshes a state (taken by value: its records move into the result).
pub async fn refresh(state: State, registry: &ProviderRegistry, read: bool) -> Result<Refreshed, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = Refreshed { lineage: state.lineage.clone(), serial: state.serial, ..Refreshed::default() };
    for (name, output) in &state.outputs {
        out.outputs.insert(name.clone(), Value::from_json(&output.value).mark_if(output.sensitive));
    }
    // One implied type per resource type, not per instance.
    let mut types: HashMap<(ProviderKey, Mode, String), Option<(Type, Vec<AttrPath>)>> = HashMap::new();
    // Each with the sensitive paths state recorded, to mark what the provider reads.
    let mut groups: BTreeMap<(ProviderKey, String), Vec<(InstanceAddr, Vec<AttrPath>, PriorInstance)>> = BTreeMap::new();
    // Collected first and made into the map at the end: built from a list, a
    // map's nodes are full; grown one insert at a time, half of them are empty.
    let mut known: Vec<(InstanceAddr, PriorInstance)> = Vec::with_capacity(state.resources.len());
    for (addr, mut record) in state.resources {
        let Some(provider) = ProviderKey::parse(&record.provider) else {
            diags.push(Diagnostic::error("terrane::state_provider", format!("{addr} names an invalid provider {:?}", record.provider)));
            continue;
        };
        let typing = types
            .entry((provider.clone(), addr.resource.mode, addr.resource.type_name.clone()))
            .or_insert_with(|| {
                registry.schema(&provider, addr.resource.mode, &addr.resource.type_name).map(|s| {
                    let paths = s.schema.sensitive_attributes().into_iter().map(|n| vec![PathStep::Attr(n)]).collect();
                    (s.schema.implied_type(), paths)
                })
            })
            .clone();
        let value = typed_with(&record, typing.as_ref());
        let read_now = read && addr.resource.mode == Mode::Managed && registry.get(&provider).is_some();
        let group = read_now.then(|| (provider.clone(), addr.resource.type_name.clone()));
        // `PriorInstance` keeps no sensitive paths: only a read needs them.
        let sensitive_paths = if read_now { std::mem::take(&mut record.sensitive_paths) } else { Vec::new() };
        let instance = PriorInstance::stored(record, provider, value);
        match group {
            Some(group) => groups.entry(group).or_default().push((addr, sensitive_paths, instance)),
            None => known.push((addr, instance)),
        }
    }
    for ((key, type_name), instances) in groups {
        let Some(provider) = registry.get(&key) else { continue };
        let typing = types.get(&(key.clone(), Mode::Managed, type_name.clone())).cloned().flatten();
        let objects: Vec<Value> = instances.iter().map(|(_, _, i)| i.value.clone().unmark_deep().0).collect();
        match provider.read(&type_name, objects).await {
            Ok(results) => {
                for ((addr, sensitive_paths, instance), found) in instances.into_iter().zip(results) {
                    match found {
                        Some(v) => {
                            let v = match &typing {
                                Some((ty, schema_paths)) => {
                                    let typed = ty.convert(v.clone()).unwrap_or(v);
                                    typed.mark_paths(&sensitive_paths).mark_paths(schema_paths)
                                }
                                None => v,
                            };
                            let drifted = !terrane_provider::same_value(&v, &instance.value);
                            if drifted {
                                out.drift.push(Drift { addr: addr.clone(), before: instance.value.clone(), after: Some(v.clone()) });
                            }
                            known.push((addr, PriorInstance { value: v, drifted, ..instance }));
                        }
                        None => out.drift.push(Drift { addr, before: instance.value, after: None }),
                    }
                }
            }
            Err(e) => diags.push(
                Diagnostic::error("terrane::refresh", format!("cannot read {type_name} objects from {key}")).detail(e.to_string()),
            ),
        }
    }
    out.instances = known.into_iter().collect();
    diags.into_result(out)
}

fn typed_with(record: &ResourceRecord, typing: Option<&(Type, Vec<AttrPath>)>) -> Value {
    let raw = Value::from_json(&record.attributes);
    match typing {
        Some((ty, schema_paths)) => {
            let value = ty.convert(raw.clone()).unwrap_or(raw);
            value.mark_paths(&record.sensitive_paths).mark_paths(schema_paths)
        }
        None => raw.mark_paths(&record.sensitive_paths),
    }
}
