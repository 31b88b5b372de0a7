//! scopegraph's plugin host.
//!
//! Loads WebAssembly components that implement the `scopegraph:plugin` WIT
//! package and runs them as untrusted code: no WASI, imports outside the
//! package refused at load, fuel and a wall-clock deadline per call, a
//! memory cap, a fresh instance after any trap. Every failure is a
//! [`PluginError`] naming the plugin and what it hit; nothing here panics
//! or exits.
//!
//! The public API speaks the SDK's plain types; no wasmtime type crosses it.

mod bindings;
mod cache;
mod error;
mod manifest;
mod plugin;
mod sandbox;
mod validate;

pub use cache::CacheOutcome;
pub use error::{ErrorKind, PluginError};
pub use manifest::{API_VERSION, Limits, Manifest, PluginKind, api_compatible};
pub use plugin::{Plugin, PluginInfo};

use sha2::{Digest, Sha256};
use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use wasmtime::{Config, Engine, component::Component, component::Linker};

/// How often the deadline clock ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The file name a plugin directory's manifest must have.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// How the host is set up.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
}

/// The engine, its linker and the compiled-component cache, shared by all plugins.
pub struct Runtime {
    engine: Engine,
    linker: Linker<sandbox::HostState>,
    cache: Option<cache::Cache>,
    ticker: Arc<EpochTicker>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// The engine could not be set up (a host misconfiguration, not a plugin's fault).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot start the plugin runtime: {0}")]
#[diagnostic(code(scopegraph::runtime))]
pub struct RuntimeError(String);

impl Runtime {
    pub fn new(options: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(1 << 20);
        let engine = Engine::new(&config).map_err(|e| RuntimeError(format!("{e:#}")))?;

        let mut linker = Linker::new(&engine);
        // Only the host interface is linked: no WASI, nothing else.
        bindings::host::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| RuntimeError(format!("{e:#}")))?;

        let ticker = Arc::new(EpochTicker::spawn(engine.clone())?);
        let cache = options.cache_dir.map(|dir| cache::Cache::new(dir, &engine));
        Ok(Runtime {
            engine,
            linker,
            cache,
            ticker,
        })
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Plugins keep the deadline clock running for as long as they live,
    /// even when the runtime that loaded them is gone.
    pub(crate) fn ticker(&self) -> Arc<EpochTicker> {
        Arc::clone(&self.ticker)
    }

    pub(crate) fn linker(&self) -> &Linker<sandbox::HostState> {
        &self.linker
    }

    pub(crate) fn compile(
        &self,
        sha256: &str,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        match &self.cache {
            Some(cache) => cache.load_or_compile(&self.engine, sha256, wasm),
            None => Ok((Component::new(&self.engine, wasm)?, CacheOutcome::Uncached)),
        }
    }

    /// Load a plugin from its manifest and component bytes; `origin` says
    /// where they came from (shown by `plugins list`).
    pub fn load(
        &self,
        manifest: Manifest,
        wasm: &[u8],
        origin: &str,
    ) -> Result<Plugin, PluginError> {
        Plugin::load(self, manifest, wasm, origin)
    }

    /// Load the plugin whose manifest is at `manifest_path`.
    pub fn load_manifest_file(&self, manifest_path: &Path) -> Result<Plugin, PluginError> {
        let origin = manifest_path.display().to_string();
        let io = |path: &Path, err: std::io::Error| {
            PluginError::unnamed(
                &origin,
                ErrorKind::Io {
                    path: path.display().to_string(),
                    message: err.to_string(),
                },
            )
        };
        let text = std::fs::read_to_string(manifest_path).map_err(|e| io(manifest_path, e))?;
        let manifest = Manifest::parse(&text, &origin)?;
        let wasm_path = manifest_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&manifest.component);
        let wasm = std::fs::read(&wasm_path).map_err(|e| {
            PluginError::new(
                manifest.label(),
                ErrorKind::Io {
                    path: wasm_path.display().to_string(),
                    message: e.to_string(),
                },
            )
        })?;
        self.load(manifest, &wasm, &origin)
    }

    /// Load every plugin in `dir`: the directory itself when it holds a
    /// `plugin.toml`, otherwise each subdirectory that does. One result per
    /// plugin found, so one bad plugin does not hide the others.
    pub fn load_dir(&self, dir: &Path) -> Vec<Result<Plugin, PluginError>> {
        match discover(dir) {
            Ok(manifests) => manifests
                .iter()
                .map(|m| self.load_manifest_file(m))
                .collect(),
            Err(err) => vec![Err(err)],
        }
    }
}

/// The manifests of the plugins in `dir`, sorted by path.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, PluginError> {
    let here = dir.join(MANIFEST_FILE);
    if here.is_file() {
        return Ok(vec![here]);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        PluginError::unnamed(
            &dir.display().to_string(),
            ErrorKind::Io {
                path: dir.display().to_string(),
                message: e.to_string(),
            },
        )
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join(MANIFEST_FILE))
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// Lowercase hex sha256, as manifests carry it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Advances the engine's epoch every `EPOCH_TICK`, which is what makes
/// per-call deadlines fire; stops when the last holder drops it.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn spawn(engine: Engine) -> Result<EpochTicker, RuntimeError> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("scopegraph-epoch".into())
            .spawn(move || {
                while !thread_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| RuntimeError(format!("cannot start the deadline clock: {e}")))?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
