//! Build plugin crates of this workspace into WebAssembly components from a
//! build script, so `cargo build` and `cargo test` produce the `.wasm` files
//! with no extra step (the pattern of wasmtime's test-programs artifacts).
//!
//! The nested `cargo build` targets `wasm32-unknown-unknown` and links with
//! `wasm-component-ld`, which ships with the toolchain and emits a component
//! that imports nothing from WASI. It uses its own target directory beside
//! the outer one, so it neither waits on the outer build's lock nor is
//! rebuilt for every profile.

use sha2::{Digest, Sha256};
use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

/// The target plugins are built for.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// One component produced by [`build`].
#[derive(Debug, Clone)]
pub struct Component {
    /// The cargo package name.
    pub package: String,
    /// The `.wasm` file.
    pub path: PathBuf,
    pub sha256: String,
    /// The package's version, for its manifest.
    pub version: String,
    /// `[package.metadata.scopegraph]` of the package, if any.
    pub metadata: Option<toml::Table>,
}

/// The workspace root, found from the calling build script's manifest dir.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    manifest_dir
        .ancestors()
        .find(|dir| {
            fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|text| text.contains("[workspace]"))
        })
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// Where the nested build puts its output: `<target>/wasm-plugins`.
fn nested_target_dir() -> PathBuf {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    // Cargo marks the root of every target directory with CACHEDIR.TAG.
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|target| target.join("wasm-plugins"))
        .unwrap_or_else(|| out_dir.join("wasm-plugins"))
}

/// Build `packages` (crate directories relative to the workspace root) as
/// components. Call from a build script; it also prints the
/// `rerun-if-changed` lines for those crates, the SDK crates they use and
/// the WIT.
pub fn build(crate_dirs: &[&str]) -> Result<Vec<Component>, String> {
    let root = workspace_root();
    for watched in
        crate_dirs
            .iter()
            .copied()
            .chain(["sdk/scopegraph-sdk", "sdk/scopegraph-artifacts", "wit"])
    {
        println!("cargo::rerun-if-changed={}", root.join(watched).display());
    }
    let mut packages = Vec::new();
    for dir in crate_dirs {
        packages.push(read_package(&root.join(dir))?);
    }

    let target_dir = nested_target_dir();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    for (name, _, _) in &packages {
        cmd.args(["-p", name]);
    }
    // The outer build's flags and wrappers are for the host, not the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER",
        "wasm-component-ld",
    )
    .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
    .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");

    let output = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`")
            || stderr.contains("can't find crate for `std`")
        {
            "\nthe wasm target is missing: run `rustup target add wasm32-unknown-unknown`"
        } else {
            ""
        };
        return Err(format!(
            "building plugin components failed:\n{stderr}{hint}"
        ));
    }

    let release = target_dir.join(TARGET).join("release");
    packages
        .into_iter()
        .map(|(package, version, metadata)| {
            let path = release.join(format!("{}.wasm", package.replace('-', "_")));
            let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if !bytes.starts_with(b"\0asm") || bytes.get(4..8) == Some(&[1, 0, 0, 0]) {
                return Err(format!(
                    "{} is not a component (was it linked with wasm-component-ld?)",
                    path.display()
                ));
            }
            let sha256 = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Ok(Component {
                package,
                path,
                sha256,
                version,
                metadata,
            })
        })
        .collect()
}

/// Name, version and `[package.metadata.scopegraph]` of the crate in `dir`.
fn read_package(dir: &Path) -> Result<(String, String, Option<toml::Table>), String> {
    let manifest_path = dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest_path)
        .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let manifest: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let package = manifest.get("package").and_then(|p| p.as_table());
    let field = |name: &str| package.and_then(|p| p.get(name)).and_then(|v| v.as_str());
    let name = field("name")
        .ok_or_else(|| format!("{}: no package.name", manifest_path.display()))?
        .to_string();
    let version = field("version").unwrap_or("0.0.0").to_string();
    let metadata = package
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("scopegraph"))
        .and_then(|s| s.as_table())
        .cloned();
    Ok((name, version, metadata))
}

/// Quote a string for TOML (basic string).
pub fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}
