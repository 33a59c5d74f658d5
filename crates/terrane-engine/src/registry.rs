//! Which provider serves which resource: local names and aliases resolved to
//! provider sources, one configured provider instance per (source, alias).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use terrane_core::{Diagnostic, Diagnostics, Mode, Value};
use terrane_lang::config::{Config, ProviderBlock, Resource};
use terrane_provider::{Provider, ResourceSchema};

/// A configured provider instance: `provider["hashicorp/aws"].west`, or
/// `module.west.provider["hashicorp/aws"]` for a provider block in a module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderKey {
    pub source: String,
    pub alias: Option<String>,
    /// The module whose provider block configures it; `None` for the root's.
    pub module: Option<String>,
}

impl fmt::Display for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(module) = &self.module {
            write!(f, "{module}.")?;
        }
        write!(f, "provider[{:?}]", self.source)?;
        if let Some(alias) = &self.alias {
            write!(f, ".{alias}")?;
        }
        Ok(())
    }
}

impl ProviderKey {
    pub fn parse(text: &str) -> Option<ProviderKey> {
        let (module, rest) = text.split_once("provider[\"")?;
        let module = match module {
            "" => None,
            prefix => Some(prefix.strip_suffix('.').filter(|m| m.starts_with("module."))?.to_string()),
        };
        let (source, rest) = rest.split_once("\"]")?;
        let alias = rest.strip_prefix('.').map(str::to_string);
        Some(ProviderKey { source: source.to_string(), alias, module })
    }
}

/// Makes a fresh provider for a source, or `None` when this build has none.
pub type ProviderFactory = dyn Fn(&str) -> Option<Arc<dyn Provider>> + Send + Sync;

pub struct ProviderRegistry {
    instances: BTreeMap<ProviderKey, Arc<dyn Provider>>,
}

/// Follows a provider reference (`aws` or `aws.west`) made in module `module` up
/// to the root's configuration. A call's `providers` argument maps names
/// explicitly; without it a module inherits its caller's default (unaliased)
/// configuration of the same provider, as in Terraform. An alias must be passed.
pub fn provider_for(config: &Config, module: usize, local: &str, alias: Option<&str>) -> Result<ProviderKey, String> {
    let here = &config.modules[module];
    let source = here.module.provider_source(local);
    let Some((parent, call_name)) = &here.parent else {
        return Ok(ProviderKey { source, alias: alias.map(str::to_string), module: None });
    };
    // A module's own provider block serves it (Terraform's legacy rule; the
    // loader refuses one in a module called with count or for_each).
    if here.module.providers.iter().any(|b| b.name == local && b.alias.as_deref() == alias) {
        return Ok(ProviderKey { source, alias: alias.map(str::to_string), module: Some(config.module_path(module).to_string()) });
    }
    let call = &config.modules[*parent].module.calls[call_name];
    let passed = call.providers.iter().find(|p| p.child.0 == local && p.child.1.as_deref() == alias);
    if let Some(pass) = passed {
        return provider_for(config, *parent, &pass.parent.0, pass.parent.1.as_deref());
    }
    if let Some(alias) = alias {
        return Err(format!("the provider configuration {local}.{alias} is not passed to module {call_name:?}"));
    }
    // The caller's local name for the same source (usually the same name).
    let caller = &config.modules[*parent].module;
    let caller_name = caller
        .required_providers
        .values()
        .find(|rp| rp.source == source)
        .map(|rp| rp.local_name.clone())
        .unwrap_or_else(|| local.to_string());
    provider_for(config, *parent, &caller_name, None)
}

/// Every provider block of the configuration, root first, with the key of
/// the provider instance it configures, and the module it is written in.
pub fn provider_blocks(config: &Config) -> Vec<(usize, &ProviderBlock, ProviderKey)> {
    let mut out = Vec::new();
    for (m, entry) in config.modules.iter().enumerate() {
        for block in &entry.module.providers {
            let module = (m != 0).then(|| config.module_path(m).to_string());
            out.push((m, block, ProviderKey { source: entry.module.provider_source(&block.name), alias: block.alias.clone(), module }));
        }
    }
    out
}

impl ProviderRegistry {
    /// Creates one provider instance for every (source, alias) the configuration
    /// uses, and for every provider recorded in state, so orphans can be destroyed.
    pub fn resolve(
        config: &Config,
        state_providers: impl IntoIterator<Item = String>,
        factory: &ProviderFactory,
    ) -> Result<ProviderRegistry, Diagnostics> {
        let (registry, diags) = Self::resolve_with_problems(config, state_providers, factory);
        diags.into_result(registry)
    }

    /// The providers that could be had, and a problem for each that could not.
    pub fn resolve_with_problems(
        config: &Config,
        state_providers: impl IntoIterator<Item = String>,
        factory: &ProviderFactory,
    ) -> (ProviderRegistry, Diagnostics) {
        let mut diags = Diagnostics::new();
        let mut registry = ProviderRegistry { instances: BTreeMap::new() };
        for (m, entry) in config.modules.iter().enumerate() {
            for resource in &entry.module.resources {
                let key = match provider_for(config, m, resource.provider_name(), resource.provider.as_ref().and_then(|p| p.1.as_deref())) {
                    Ok(key) => key,
                    Err(message) => {
                        diags.push(
                            Diagnostic::error("terrane::unknown_provider_config", format!("{}: {message}", resource.display_addr()))
                                .at(&resource.span)
                                .help("pass it from the calling module with providers = { NAME.ALIAS = NAME.ALIAS }"),
                        );
                        continue;
                    }
                };
                if registry.instances.contains_key(&key) {
                    continue;
                }
                match factory(&key.source) {
                    Some(p) => {
                        registry.instances.insert(key, p);
                    }
                    None => diags.push(
                        Diagnostic::error("terrane::unknown_provider", format!("no provider for {:?}", key.source))
                            .detail(format!("{} needs the provider {}, which this build of terrane does not include", resource.display_addr(), key.source))
                            .at(&resource.span)
                            .help("terrane includes hashicorp/aws, hashicorp/null, hashicorp/random, hashicorp/local, hashicorp/time and terraform_data"),
                    ),
                }
            }
        }
        for (_, block, key) in provider_blocks(config) {
            let source = key.source.clone();
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
        (registry, diags)
    }

    /// The provider configuration a resource of module `module` uses. An
    /// unresolvable one was reported by `resolve`; this falls back to the source.
    pub fn key_for(&self, config: &Config, module: usize, resource: &Resource) -> ProviderKey {
        let alias = resource.provider.as_ref().and_then(|p| p.1.as_deref());
        provider_for(config, module, resource.provider_name(), alias).unwrap_or_else(|_| ProviderKey {
            source: config.modules[module].module.provider_source(resource.provider_name()),
            alias: alias.map(str::to_string),
            module: None,
        })
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
