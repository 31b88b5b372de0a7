//! A loaded plugin: checked, compiled, ready to instantiate under its limits.

use crate::bindings::provider::{ProviderPlugin, ProviderPluginPre};
use crate::bindings::{self, classifier::ClassifierPlugin, classifier::ClassifierPluginPre};
use crate::cache::CacheOutcome;
use crate::error::{ErrorKind, PluginError};
use crate::manifest::{API_VERSION, Limits, Manifest, PluginKind, api_compatible};
use crate::sandbox::{HostState, classify_failure};
use crate::validate;
use scopegraph_sdk::{Candidate, Document, ProviderOutput, Verdict};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
};
use wasmtime::{Engine, Store, component::Component};

/// The WIT package every plugin interface belongs to.
const PACKAGE: &str = "scopegraph:plugin/";

/// Ticks of the host's epoch clock (see `EPOCH_TICK`) per deadline.
pub(crate) fn deadline_ticks(timeout_ms: u64) -> u64 {
    timeout_ms
        .div_ceil(crate::EPOCH_TICK.as_millis() as u64)
        .max(1)
        + 1
}

/// What `plugins inspect` shows about a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub id: String,
    pub version: String,
    pub kind: PluginKind,
    pub api_version: String,
    pub description: String,
    /// Where the plugin came from: a manifest path, or `built-in`.
    pub origin: String,
    pub sha256: String,
    /// The limits in force (the manifest's request, clamped by the host).
    pub limits: Limits,
    pub config: BTreeMap<String, String>,
    /// Interfaces the component imports, as `package/interface@version`.
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub cache: CacheOutcome,
}

impl PluginInfo {
    /// `id@version`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }
}

enum Pre {
    Classifier(ClassifierPluginPre<HostState>),
    Provider(ProviderPluginPre<HostState>),
}

enum Bindings {
    Classifier(ClassifierPlugin),
    Provider(ProviderPlugin),
}

struct Live {
    store: Store<HostState>,
    bindings: Bindings,
}

/// A plugin ready to run. Calls are serialised; after any trap the instance
/// is discarded and the next call gets a fresh one.
pub struct Plugin {
    info: PluginInfo,
    engine: Engine,
    pre: Pre,
    config: Arc<BTreeMap<String, String>>,
    live: Mutex<Option<Live>>,
    _ticker: Arc<crate::EpochTicker>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    pub(crate) fn load(
        runtime: &crate::Runtime,
        manifest: Manifest,
        wasm: &[u8],
        origin: &str,
    ) -> Result<Plugin, PluginError> {
        let label = manifest.label();
        let fail = |kind| PluginError::new(label.clone(), kind);

        let actual = crate::sha256_hex(wasm);
        if !actual.eq_ignore_ascii_case(&manifest.sha256) {
            return Err(fail(ErrorKind::IntegrityMismatch {
                expected: manifest.sha256,
                actual,
            }));
        }
        if !api_compatible(&manifest.api_version) {
            return Err(fail(ErrorKind::BadApiVersion {
                found: manifest.api_version.to_string(),
                supported: API_VERSION.into(),
            }));
        }
        let (component, cache) = runtime.compile(&actual, wasm).map_err(|err| {
            fail(ErrorKind::Compile {
                message: format!("{err:#}"),
            })
        })?;

        let engine = runtime.engine();
        let ty = component.component_type();
        let imports: Vec<String> = ty
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let exports: Vec<String> = ty
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        check_imports(&imports).map_err(&fail)?;
        check_exports(manifest.kind, &exports).map_err(&fail)?;

        let pre = instantiate_pre(runtime, manifest.kind, &component).map_err(|err| {
            fail(ErrorKind::Compile {
                message: format!("{err:#}"),
            })
        })?;

        let info = PluginInfo {
            id: manifest.id,
            version: manifest.version.to_string(),
            kind: manifest.kind,
            api_version: manifest.api_version.to_string(),
            description: manifest.description,
            origin: origin.to_string(),
            sha256: actual,
            limits: manifest.limits.clamped(),
            config: manifest.config.clone(),
            imports,
            exports,
            cache,
        };
        Ok(Plugin {
            info,
            engine: engine.clone(),
            pre,
            config: Arc::new(manifest.config),
            live: Mutex::new(None),
            _ticker: runtime.ticker(),
        })
    }

    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    pub fn kind(&self) -> PluginKind {
        self.info.kind
    }

    /// `id@version`.
    pub fn label(&self) -> String {
        self.info.label()
    }

    fn error(&self, kind: ErrorKind) -> PluginError {
        PluginError::new(self.label(), kind)
    }

    /// Run a classifier over one batch.
    pub fn classify(&self, batch: &[Candidate]) -> Result<Vec<Verdict>, PluginError> {
        let input: Vec<_> = batch.iter().map(bindings::candidate_in).collect();
        let returned = self.call(|store, bindings| match bindings {
            Bindings::Classifier(b) => b
                .scopegraph_plugin_classifier()
                .call_classify(store, &input),
            Bindings::Provider(_) => Err(wasmtime::Error::msg("not a classifier")),
        })?;
        let verdicts: Vec<Verdict> = returned
            .map_err(|e| {
                self.error(ErrorKind::Reported {
                    message: bindings::error_out(e),
                })
            })?
            .into_iter()
            .map(bindings::verdict_out)
            .collect();
        validate::verdicts(batch, &verdicts)
            .map_err(|message| self.error(ErrorKind::MalformedOutput { message }))?;
        Ok(verdicts)
    }

    /// Run a provider over the documents of a snapshot.
    pub fn resolve(&self, documents: &[Document]) -> Result<ProviderOutput, PluginError> {
        let input: Vec<_> = documents.iter().map(bindings::document_in).collect();
        let returned = self.call(|store, bindings| match bindings {
            Bindings::Provider(b) => b.scopegraph_plugin_provider().call_resolve(store, &input),
            Bindings::Classifier(_) => Err(wasmtime::Error::msg("not a provider")),
        })?;
        let output = returned.map(bindings::output_out).map_err(|e| {
            self.error(ErrorKind::Reported {
                message: bindings::error_out(e),
            })
        })?;
        validate::provider_output(&output)
            .map_err(|message| self.error(ErrorKind::MalformedOutput { message }))?;
        Ok(output)
    }

    fn call<R>(
        &self,
        f: impl FnOnce(&mut Store<HostState>, &Bindings) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let limits = self.info.limits;
        let mut slot = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let mut live = match slot.take() {
            Some(live) => live,
            None => self.instantiate()?,
        };
        live.store.data_mut().begin_call();
        let budget = live.store.set_fuel(limits.fuel).map_err(|err| {
            self.error(ErrorKind::Trap {
                message: format!("{err:#}"),
            })
        });
        budget?;
        live.store
            .set_epoch_deadline(deadline_ticks(limits.timeout_ms));
        match f(&mut live.store, &live.bindings) {
            Ok(value) => {
                // Healthy: keep the instance for the next call.
                *slot = Some(live);
                Ok(value)
            }
            Err(err) => {
                // A trapped instance cannot be re-entered; `live` is dropped here.
                let kind = classify_failure(&err, live.store.data(), limits);
                Err(self.error(kind))
            }
        }
    }

    fn instantiate(&self) -> Result<Live, PluginError> {
        let limits = self.info.limits;
        let state = HostState::new(self.label(), Arc::clone(&self.config), limits);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        let fuel = store.set_fuel(limits.fuel);
        store.set_epoch_deadline(deadline_ticks(limits.timeout_ms));
        let instantiated = fuel.and_then(|()| match &self.pre {
            Pre::Classifier(pre) => pre.instantiate(&mut store).map(Bindings::Classifier),
            Pre::Provider(pre) => pre.instantiate(&mut store).map(Bindings::Provider),
        });
        match instantiated {
            Ok(bindings) => Ok(Live { store, bindings }),
            Err(err) => Err(self.error(classify_failure(&err, store.data(), limits))),
        }
    }
}

fn instantiate_pre(
    runtime: &crate::Runtime,
    kind: PluginKind,
    component: &Component,
) -> wasmtime::Result<Pre> {
    let pre = runtime.linker().instantiate_pre(component)?;
    Ok(match kind {
        PluginKind::Classifier => Pre::Classifier(ClassifierPluginPre::new(pre)?),
        PluginKind::Provider => Pre::Provider(ProviderPluginPre::new(pre)?),
    })
}

/// Split `scopegraph:plugin/host@0.1.0` into interface and version.
fn split_interface(name: &str) -> Option<(&str, Option<&str>)> {
    let rest = name.strip_prefix(PACKAGE)?;
    Some(match rest.split_once('@') {
        Some((iface, version)) => (iface, Some(version)),
        None => (rest, None),
    })
}

fn version_error(version: Option<&str>) -> Option<ErrorKind> {
    let found = version.unwrap_or("(unversioned)");
    let ok = version
        .and_then(|v| semver::Version::parse(v).ok())
        .is_some_and(|v| api_compatible(&v));
    (!ok).then(|| ErrorKind::BadApiVersion {
        found: found.into(),
        supported: API_VERSION.into(),
    })
}

fn check_imports(imports: &[String]) -> Result<(), ErrorKind> {
    let forbidden: Vec<String> = imports
        .iter()
        .filter(|name| split_interface(name).is_none())
        .cloned()
        .collect();
    if !forbidden.is_empty() {
        return Err(ErrorKind::ForbiddenImports { imports: forbidden });
    }
    for name in imports {
        if let Some((_, version)) = split_interface(name)
            && let Some(err) = version_error(version)
        {
            return Err(err);
        }
    }
    Ok(())
}

fn check_exports(kind: PluginKind, exports: &[String]) -> Result<(), ErrorKind> {
    let wanted = exports
        .iter()
        .filter_map(|name| split_interface(name))
        .find(|(iface, _)| *iface == kind.interface());
    match wanted {
        Some((_, version)) => version_error(version).map_or(Ok(()), Err),
        None => Err(ErrorKind::WrongKind {
            expected: kind.interface().to_string(),
            exports: exports.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wasi_imports_are_refused_by_name() {
        let err = check_imports(&names(&[
            "scopegraph:plugin/host@0.1.0",
            "wasi:clocks/wall-clock@0.2.0",
        ]))
        .unwrap_err();
        assert_eq!(
            err,
            ErrorKind::ForbiddenImports {
                imports: names(&["wasi:clocks/wall-clock@0.2.0"])
            }
        );
    }

    #[test]
    fn imports_of_another_api_version_are_bad_api_version() {
        let err = check_imports(&names(&["scopegraph:plugin/host@0.2.0"])).unwrap_err();
        assert_eq!(err.code(), "bad-api-version");
        assert!(check_imports(&names(&["scopegraph:plugin/host@0.1.3"])).is_ok());
    }

    #[test]
    fn exports_must_match_the_manifest_kind() {
        let exports = names(&["scopegraph:plugin/classifier@0.1.0"]);
        assert!(check_exports(PluginKind::Classifier, &exports).is_ok());
        assert_eq!(
            check_exports(PluginKind::Provider, &exports)
                .unwrap_err()
                .code(),
            "wrong-kind"
        );
        let future = names(&["scopegraph:plugin/classifier@0.2.0"]);
        assert_eq!(
            check_exports(PluginKind::Classifier, &future)
                .unwrap_err()
                .code(),
            "bad-api-version"
        );
    }
}
