//! Helpers shared by the integration tests: paths of the guest components
//! built by this crate's build script, and plugin directories made on the fly.

use scopegraph_runtime::{Limits, Plugin, PluginError, Runtime, RuntimeOptions};
use std::{fs, path::Path};

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// A runtime without a compiled-component cache.
pub fn runtime() -> Runtime {
    match Runtime::new(RuntimeOptions::default()) {
        Ok(runtime) => runtime,
        Err(err) => unreachable_runtime(err),
    }
}

#[allow(clippy::panic)]
fn unreachable_runtime(err: impl std::fmt::Display) -> ! {
    panic!("the runtime must start: {err}")
}

/// Lay out a plugin directory (`plugin.toml` + component) under `root/id`
/// for the component at `wasm_path`, with the given kind, API version and
/// limits, as a user would install it.
pub fn install(
    root: &Path,
    id: &str,
    kind: &str,
    api_version: &str,
    wasm_path: &str,
    limits: Limits,
) -> std::io::Result<std::path::PathBuf> {
    let dir = root.join(id);
    fs::create_dir_all(&dir)?;
    let wasm = fs::read(wasm_path)?;
    let file = format!("{id}.wasm");
    fs::write(dir.join(&file), &wasm)?;
    let manifest = format!(
        "id = \"{id}\"\nversion = \"0.0.1\"\nkind = \"{kind}\"\napi-version = \"{api_version}\"\n\
         component = \"{file}\"\nsha256 = \"{sha}\"\n\n[limits]\nfuel = {fuel}\nmemory-mib = {mem}\ntimeout-ms = {ms}\n",
        sha = scopegraph_runtime::sha256_hex(&wasm),
        fuel = limits.fuel,
        mem = limits.memory_mib,
        ms = limits.timeout_ms,
    );
    fs::write(dir.join("plugin.toml"), manifest)?;
    Ok(dir)
}

/// Install and load a classifier in one step.
pub fn load_classifier(
    runtime: &Runtime,
    root: &Path,
    id: &str,
    wasm_path: &str,
    limits: Limits,
) -> Result<Plugin, PluginError> {
    let dir = match install(root, id, "classifier", "0.1.0", wasm_path, limits) {
        Ok(dir) => dir,
        Err(err) => unreachable_runtime(format!("installing {id}: {err}")),
    };
    runtime.load_manifest_file(&dir.join("plugin.toml"))
}
