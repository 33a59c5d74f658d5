//! Which provider serves which resource: local names and aliases resolved to
//! provider sources, one configured provider instance per (source, alias).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use terrane_core::{Diagnostic, Diagnostics, Mode, Value};
use terrane_lang::config::{Module, Resource};
use terrane_provider::{Provider, ResourceSchema};

/// A configured provider instance: `provider["hashicorp/aws"].west`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderKey {
    pub source: String,
    pub alias: Option<String>,
}

impl fmt::Display for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "provider[{:?}]", self.source)?;
        if let Some(alias) = &self.alias {
            write!(f, ".{alias}")?;
        }
        Ok(())
    }
}

impl ProviderKey {
    pub fn parse(text: &str) -> Option<ProviderKey> {
        let rest = text.strip_prefix("provider[\"")?;
        let (source, rest) = rest.split_once("\"]")?;
        let alias = rest.strip_prefix('.').map(str::to_string);
        Some(ProviderKey { source: source.to_string(), alias })
    }
}

/// Makes a fresh provider for a source, or `None` when this build has none.
pub type ProviderFactory = dyn Fn(&str) -> Option<Arc<dyn Provider>> + Send + Sync;

pub struct ProviderRegistry {
    instances: BTreeMap<ProviderKey, Arc<dyn Provider>>,
    /// Local name -> source, from required_providers or Terraform's default.
    local_names: BTreeMap<String, String>,
}

impl ProviderRegistry {
    /// Creates one provider instance for every (source, alias) the module uses,
    /// and for every provider recorded in state, so orphans can be destroyed.
    pub fn resolve(
        module: &Module,
        state_providers: impl IntoIterator<Item = String>,
        factory: &ProviderFactory,
    ) -> Result<ProviderRegistry, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut registry = ProviderRegistry { instances: BTreeMap::new(), local_names: BTreeMap::new() };
        for resource in &module.resources {
            let local = resource.provider_name().to_string();
            let source = module.provider_source(&local);
            let key = ProviderKey { source: source.clone(), alias: resource.provider.as_ref().and_then(|p| p.1.clone()) };
            registry.local_names.insert(local.clone(), source.clone());
            if registry.instances.contains_key(&key) {
                continue;
            }
            match factory(&source) {
                Some(p) => {
                    registry.instances.insert(key, p);
                }
                None => diags.push(
                    Diagnostic::error("terrane::unknown_provider", format!("no provider for {source:?}"))
                        .detail(format!("{} needs the provider {source}, which this build of terrane does not include", resource.display_addr()))
                        .at(&resource.span)
                        .help("terrane includes hashicorp/aws, hashicorp/null, hashicorp/random, hashicorp/local, hashicorp/time and terraform_data"),
                ),
            }
        }
        for block in &module.providers {
            let source = module.provider_source(&block.name);
            registry.local_names.insert(block.name.clone(), source.clone());
            let key = ProviderKey { source: source.clone(), alias: block.alias.clone() };
            if !registry.instances.contains_key(&key) {
                match factory(&source) {
                    Some(p) => {
                        registry.instances.insert(key, p);
                    }
                    None => diags.push(
                        Diagnostic::error("terrane::unknown_provider", format!("no provider for {source:?}")).at(&block.span),
                    ),
                }
            }
        }
        for text in state_providers {
            if let Some(key) = ProviderKey::parse(&text) {
                if !registry.instances.contains_key(&key) {
                    if let Some(p) = factory(&key.source) {
                        registry.instances.insert(key, p);
                    }
                }
            }
        }
        diags.into_result(registry)
    }

    pub fn key_for(&self, module: &Module, resource: &Resource) -> ProviderKey {
        let local = resource.provider_name();
        ProviderKey {
            source: module.provider_source(local),
            alias: resource.provider.as_ref().and_then(|p| p.1.clone()),
        }
    }

    pub fn get(&self, key: &ProviderKey) -> Option<&Arc<dyn Provider>> {
        self.instances.get(key)
    }

    pub fn instances(&self) -> impl Iterator<Item = (&ProviderKey, &Arc<dyn Provider>)> {
        self.instances.iter()
    }

    /// The schema of a resource or data source type, if its provider has it.
    pub fn schema(&self, key: &ProviderKey, mode: Mode, type_name: &str) -> Option<&ResourceSchema> {
        let p = self.instances.get(key)?;
        match mode {
            Mode::Managed => p.schema().resources.get(type_name),
            Mode::Data => p.schema().data_sources.get(type_name),
        }
    }

    /// Configures every provider instance from its block (or an empty configuration).
    pub async fn configure(&self, configs: BTreeMap<ProviderKey, Value>) -> Result<(), Diagnostics> {
        let mut diags = Diagnostics::new();
        for (key, provider) in &self.instances {
            let config = configs.get(key).cloned().unwrap_or_else(|| Value::Map(Default::default()));
            if let Err(e) = provider.configure(config).await {
                diags.push(Diagnostic::error("terrane::provider_configure", format!("cannot configure {key}")).detail(e.to_string()));
            }
        }
        diags.into_result(())
    }
}
