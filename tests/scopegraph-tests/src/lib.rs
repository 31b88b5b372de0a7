//! Helpers shared by the integration tests: paths of the guest components
//! built by this crate's build script, and plugin directories made on the fly.

use scopegraph_runtime::{Limits, Plugin, PluginError, PluginKind, Runtime, RuntimeOptions};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// A runtime without a compiled-component cache.
pub fn runtime() -> Runtime {
    match Runtime::new(RuntimeOptions::default()) {
        Ok(runtime) => runtime,
        Err(err) => fail(err),
    }
}

#[allow(clippy::panic)]
fn fail(err: impl std::fmt::Display) -> ! {
    panic!("test setup failed: {err}")
}

/// Install the component at `wasm_path` as plugin `id` under `root`, as a
/// user would; `kind` and `api_version` are what the manifest claims.
pub fn install(
    root: &Path,
    id: &str,
    kind: &str,
    api_version: &str,
    wasm_path: &str,
    limits: Limits,
) -> std::io::Result<PathBuf> {
    let kind = if kind == "provider" {
        PluginKind::Provider
    } else {
        PluginKind::Classifier
    };
    scopegraph_testkit::install(
        root,
        id,
        kind,
        api_version,
        Path::new(wasm_path),
        limits,
        &[],
    )
}

/// Install and load a classifier in one step.
pub fn load_classifier(
    runtime: &Runtime,
    root: &Path,
    id: &str,
    wasm_path: &str,
    limits: Limits,
) -> Result<Plugin, PluginError> {
    let dir =
        install(root, id, "classifier", "0.1.0", wasm_path, limits).unwrap_or_else(|err| fail(err));
    runtime.load_manifest_file(&dir.join("plugin.toml"))
}
