//! Terraform's JSON state format (version 4), for `state pull`: what tools built
//! around Terraform state can read.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};
use terrane_core::{InstanceKey, Mode, PathStep};

use crate::model::State;

/// Terraform's provider address for a terrane provider key: `provider["registry.terraform.io/hashicorp/null"]`.
fn provider_address(key: &str) -> String {
    let Some(rest) = key.strip_prefix("provider[\"") else { return key.to_string() };
    let Some((source, alias)) = rest.split_once("\"]") else { return key.to_string() };
    let full = if source.matches('/').count() == 1 { format!("registry.terraform.io/{source}") } else { source.to_string() };
    format!("provider[\"{full}\"]{alias}")
}

/// The cty type of a JSON value, as Terraform writes output types.
fn type_of(v: &Json) -> Json {
    match v {
        Json::Null => json!("dynamic"),
        Json::Bool(_) => json!("bool"),
        Json::Number(_) => json!("number"),
        Json::String(_) => json!("string"),
        Json::Array(items) => json!(["tuple", items.iter().map(type_of).collect::<Vec<_>>()]),
        Json::Object(map) => json!(["object", map.iter().map(|(k, v)| (k.clone(), type_of(v))).collect::<serde_json::Map<_, _>>()]),
    }
}

fn sensitive_path(path: &[PathStep]) -> Json {
    Json::Array(
        path.iter()
            .map(|step| match step {
                PathStep::Attr(name) => json!({ "type": "get_attr", "value": name }),
                PathStep::Index(i) => json!({ "type": "index", "value": { "value": i, "type": "number" } }),
            })
            .collect(),
    )
}

/// Replaces the value at `path` with null.
fn mask(value: &mut Json, path: &[PathStep]) {
    let Some((first, rest)) = path.split_first() else {
        *value = Json::Null;
        return;
    };
    let next = match (first, value) {
        (PathStep::Attr(name), Json::Object(map)) => map.get_mut(name),
        (PathStep::Index(i), Json::Array(items)) => items.get_mut(*i),
        _ => None,
    };
    if let Some(v) = next {
        mask(v, rest);
    }
}

/// The state as Terraform's v4 JSON. Sensitive values are written as null unless
/// `reveal_sensitive`: a pulled state is often pasted into tickets and logs.
pub fn to_tfstate(state: &State, terrane_version: &str, reveal_sensitive: bool) -> Json {
    // Group instances by resource, keeping state's address order.
    let mut resources: BTreeMap<(String, Mode, String, String), (String, Vec<Json>)> = BTreeMap::new();
    for (addr, record) in &state.resources {
        let module = addr.resource.module.to_string();
        let entry = resources
            .entry((module, addr.resource.mode, addr.resource.type_name.clone(), addr.resource.name.clone()))
            .or_insert_with(|| (provider_address(&record.provider), Vec::new()));
        let mut attributes = record.attributes.clone();
        if !reveal_sensitive {
            for path in &record.sensitive_paths {
                mask(&mut attributes, path);
            }
        }
        let mut instance = json!({
            "schema_version": record.schema_version,
            "attributes": attributes,
            "sensitive_attributes": record.sensitive_paths.iter().map(|p| sensitive_path(p)).collect::<Vec<_>>(),
            "dependencies": record.dependencies,
        });
        match &addr.key {
            InstanceKey::None => {}
            InstanceKey::Int(i) => instance["index_key"] = json!(i),
            InstanceKey::Str(s) => instance["index_key"] = json!(s),
        }
        if record.status == crate::Status::Tainted {
            instance["status"] = json!("tainted");
        }
        entry.1.push(instance);
    }
    let resources: Vec<Json> = resources
        .into_iter()
        .map(|((module, mode, type_name, name), (provider, instances))| {
            let mut r = json!({
                "mode": if mode == Mode::Data { "data" } else { "managed" },
                "type": type_name,
                "name": name,
                "provider": provider,
                "instances": instances,
            });
            if !module.is_empty() {
                r["module"] = json!(module);
            }
            r
        })
        .collect();
    let outputs: serde_json::Map<String, Json> = state
        .outputs
        .values()
        .map(|o| {
            let value = if o.sensitive && !reveal_sensitive { Json::Null } else { o.value.clone() };
            let mut out = json!({ "value": value, "type": type_of(&o.value) });
            if o.sensitive {
                out["sensitive"] = json!(true);
            }
            (o.name.clone(), out)
        })
        .collect();
    json!({
        "version": 4,
        "terraform_version": terrane_version,
        "serial": state.serial,
        "lineage": state.lineage,
        "outputs": outputs,
        "resources": resources,
        "check_results": null,
    })
}

/// Terraform's provider address back to terrane's key: `registry.terraform.io/` is implied.
fn provider_key(address: &str) -> String {
    address.replacen("registry.terraform.io/", "", 1)
}

fn path_of(steps: &Json) -> Vec<PathStep> {
    steps
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter_map(|step| match step["type"].as_str() {
                    Some("get_attr") => step["value"].as_str().map(|s| PathStep::Attr(s.to_string())),
                    Some("index") => match &step["value"]["value"] {
                        Json::Number(n) => n.as_u64().map(|i| PathStep::Index(i as usize)),
                        Json::String(s) => Some(PathStep::Attr(s.clone())),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A state in Terraform's v4 JSON format (from Terraform itself, or `state pull`).
pub fn from_tfstate(text: &str) -> Result<State, crate::StateError> {
    let bad = |why: &str| crate::StateError::Data(format!("not a Terraform v4 state file: {why}"));
    let json: Json = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    if json["version"].as_u64() != Some(4) {
        return Err(bad(&format!("version {} (terrane reads version 4)", json["version"])));
    }
    let mut state = State {
        lineage: json["lineage"].as_str().ok_or_else(|| bad("no lineage"))?.to_string(),
        serial: json["serial"].as_u64().unwrap_or(0),
        ..State::default()
    };
    for resource in json["resources"].as_array().into_iter().flatten() {
        let mode = if resource["mode"] == "data" { Mode::Data } else { Mode::Managed };
        let module_path = match resource["module"].as_str() {
            Some(m) => format!("{m}."),
            None => String::new(),
        };
        let kind = if mode == Mode::Data { "data." } else { "" };
        let type_name = resource["type"].as_str().ok_or_else(|| bad("a resource without a type"))?;
        let name = resource["name"].as_str().ok_or_else(|| bad("a resource without a name"))?;
        let provider = provider_key(resource["provider"].as_str().unwrap_or(""));
        for instance in resource["instances"].as_array().into_iter().flatten() {
            let key = match &instance["index_key"] {
                Json::Number(n) => format!("[{n}]"),
                Json::String(s) => format!("[{}]", serde_json::to_string(s).unwrap_or_default()),
                _ => String::new(),
            };
            let address = format!("{module_path}{kind}{type_name}.{name}{key}");
            let addr: terrane_core::InstanceAddr = address.parse().map_err(|e: terrane_core::AddressError| bad(&e.to_string()))?;
            let record = crate::ResourceRecord {
                addr: addr.clone(),
                provider: provider.clone(),
                schema_version: instance["schema_version"].as_u64().unwrap_or(0),
                attributes: instance["attributes"].clone(),
                sensitive_paths: instance["sensitive_attributes"].as_array().into_iter().flatten().map(path_of).collect(),
                dependencies: instance["dependencies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect(),
                status: if instance["status"] == "tainted" { crate::Status::Tainted } else { crate::Status::Ready },
                create_token: None,
            };
            state.resources.insert(addr, record);
        }
    }
    for (name, output) in json["outputs"].as_object().into_iter().flatten() {
        state.outputs.insert(
            name.clone(),
            crate::OutputRecord { name: name.clone(), value: output["value"].clone(), sensitive: output["sensitive"] == true },
        );
    }
    Ok(state)
}
