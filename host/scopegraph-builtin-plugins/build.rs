//! Builds every first-party plugin into a component and writes its manifest,
//! so the CLI embeds them and a fresh checkout needs no extra step.

use scopegraph_wasm_build::{build, toml_string};
use std::{env, fmt::Write, fs, path::PathBuf};

/// The first-party plugins, as crate directories under the workspace root.
const PLUGINS: &[&str] = &[
    "plugins/provider-kubernetes",
    "plugins/provider-aws",
    "plugins/provider-gcp",
    "plugins/provider-azure",
    "plugins/classifier-unused-excess",
    "plugins/classifier-inherited-overreach",
];

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let components = match build(PLUGINS) {
        Ok(components) => components,
        Err(err) => {
            for line in err.lines() {
                println!("cargo::error={line}");
            }
            return;
        }
    };
    let mut registry = String::from("pub static BUILTIN: &[BuiltinPlugin] = &[\n");
    for component in components {
        let meta = component.metadata.unwrap_or_default();
        let field = |name: &str| meta.get(name).and_then(|v| v.as_str()).unwrap_or_default();
        let file = format!("{}.wasm", component.package.replace('-', "_"));
        let manifest = format!(
            "id = {id}\nversion = {version}\nkind = {kind}\napi-version = {api}\n\
             component = {file}\nsha256 = {sha}\ndescription = {description}\n",
            id = toml_string(field("id")),
            version = toml_string(&component.version),
            kind = toml_string(field("kind")),
            api = toml_string(field("api-version")),
            file = toml_string(&file),
            sha = toml_string(&component.sha256),
            description = toml_string(field("description")),
        );
        let wasm_out = out_dir.join(&file);
        let manifest_out = out_dir.join(format!("{}.plugin.toml", component.package));
        if let Err(err) =
            fs::copy(&component.path, &wasm_out).and_then(|_| fs::write(&manifest_out, &manifest))
        {
            println!("cargo::error=writing {}: {err}", wasm_out.display());
            return;
        }
        let _ = writeln!(
            registry,
            "    BuiltinPlugin {{ file_name: {file:?}, manifest: include_str!({m:?}), wasm: include_bytes!({w:?}) }},",
            m = manifest_out.display().to_string(),
            w = wasm_out.display().to_string(),
        );
    }
    registry.push_str("];\n");
    if let Err(err) = fs::write(out_dir.join("builtin.rs"), registry) {
        println!("cargo::error=writing builtin.rs: {err}");
    }
}
