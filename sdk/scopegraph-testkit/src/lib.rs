//! Run a plugin's real component the way `scopegraph` will: through the same
//! loader, with the same sandbox (no WASI, fuel, deadline, memory cap) and
//! the production default limits unless you ask for others.
//!
//! ```no_run
//! use scopegraph_testkit::{Kind, TestKit};
//!
//! let kit = TestKit::new().unwrap();
//! let plugin = kit.load_component("target/wasm32-unknown-unknown/release/my_rule.wasm", Kind::Classifier).unwrap();
//! let verdicts = plugin.classify(&[]).unwrap();
//! assert!(verdicts.is_empty());
//! ```

pub use scopegraph_runtime::{ErrorKind, Limits, Plugin, PluginError, PluginKind as Kind};
use scopegraph_runtime::{Runtime, RuntimeOptions};
use std::{
    fs, io,
    path::{Path, PathBuf},
};

/// A host for tests: a runtime without cache and a scratch directory.
#[derive(Debug)]
pub struct TestKit {
    runtime: Runtime,
    scratch: tempfile::TempDir,
}

/// Why the kit could not set up a plugin.
#[derive(Debug)]
pub enum KitError {
    Io(io::Error),
    Plugin(PluginError),
    Runtime(String),
}

impl std::fmt::Display for KitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KitError::Io(e) => write!(f, "{e}"),
            KitError::Plugin(e) => write!(f, "{e}"),
            KitError::Runtime(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for KitError {}

impl From<io::Error> for KitError {
    fn from(e: io::Error) -> Self {
        KitError::Io(e)
    }
}

impl From<PluginError> for KitError {
    fn from(e: PluginError) -> Self {
        KitError::Plugin(e)
    }
}

impl TestKit {
    pub fn new() -> Result<TestKit, KitError> {
        let runtime = Runtime::new(RuntimeOptions::default())
            .map_err(|e| KitError::Runtime(e.to_string()))?;
        let scratch = tempfile::tempdir()?;
        Ok(TestKit { runtime, scratch })
    }

    /// Load an installed plugin from its `plugin.toml`.
    pub fn load_manifest(&self, manifest: &Path) -> Result<Plugin, KitError> {
        Ok(self.runtime.load_manifest_file(manifest)?)
    }

    /// Install `wasm` with a generated manifest (production default limits)
    /// and load it.
    pub fn load_component(&self, wasm: impl AsRef<Path>, kind: Kind) -> Result<Plugin, KitError> {
        self.load_component_with(wasm, kind, Limits::default(), &[])
    }

    /// Like [`load_component`](Self::load_component) with chosen limits and
    /// configuration values.
    pub fn load_component_with(
        &self,
        wasm: impl AsRef<Path>,
        kind: Kind,
        limits: Limits,
        config: &[(&str, &str)],
    ) -> Result<Plugin, KitError> {
        let wasm = wasm.as_ref();
        let id = wasm
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plugin")
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let dir = install(
            self.scratch.path(),
            &id,
            kind,
            scopegraph_runtime::API_VERSION,
            wasm,
            limits,
            config,
        )?;
        self.load_manifest(&dir.join(scopegraph_runtime::MANIFEST_FILE))
    }
}

/// Lay out a plugin directory `root/id` (`plugin.toml` + component) as a
/// user would install it, and return it.
pub fn install(
    root: &Path,
    id: &str,
    kind: Kind,
    api_version: &str,
    wasm_path: &Path,
    limits: Limits,
    config: &[(&str, &str)],
) -> io::Result<PathBuf> {
    let dir = root.join(id);
    fs::create_dir_all(&dir)?;
    let wasm = fs::read(wasm_path)?;
    let file = format!("{id}.wasm");
    fs::write(dir.join(&file), &wasm)?;
    let mut manifest = format!(
        "id = \"{id}\"\nversion = \"0.0.1\"\nkind = \"{kind}\"\napi-version = \"{api_version}\"\n\
         component = \"{file}\"\nsha256 = \"{sha}\"\n\n[limits]\nfuel = {fuel}\nmemory-mib = {mem}\ntimeout-ms = {ms}\n",
        sha = scopegraph_runtime::sha256_hex(&wasm),
        fuel = limits.fuel,
        mem = limits.memory_mib,
        ms = limits.timeout_ms,
    );
    if !config.is_empty() {
        manifest.push_str("\n[config]\n");
        for (key, value) in config {
            manifest.push_str(&format!("{key:?} = {value:?}\n"));
        }
    }
    fs::write(dir.join(scopegraph_runtime::MANIFEST_FILE), manifest)?;
    Ok(dir)
}
