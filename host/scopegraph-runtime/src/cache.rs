//! Compiled components on disk, keyed by content hash and engine configuration.
//!
//! Loading a precompiled component is `unsafe` in wasmtime: the bytes are
//! trusted to be wasmtime's own output. So every entry carries the sha256 of
//! its payload, checked before wasmtime sees it, and anything that does not
//! check out (truncated, corrupted, written by another engine version) is a
//! miss that gets recompiled and overwritten, never an error.

use sha2::{Digest, Sha256};
use std::{
    fs,
    hash::{Hash, Hasher},
    io::Write,
    path::{Path, PathBuf},
};
use wasmtime::{Engine, component::Component};

const MAGIC: &[u8; 8] = b"SGCWASM1";

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
    engine_key: String,
}

/// How a component was obtained, for `plugins inspect` and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded precompiled from the cache.
    Hit,
    /// Compiled and written to the cache.
    Miss,
    /// Compiled; no cache configured or writing it failed.
    Uncached,
}

impl Cache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> Cache {
        // The compatibility hash covers wasmtime's version and every engine
        // setting that changes compiled code (fuel, epochs, target).
        let mut hasher = StableHasher::default();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());
        Cache { dir, engine_key }
    }

    fn entry_path(&self, component_sha256: &str) -> PathBuf {
        self.dir.join(format!(
            "{component_sha256}-{}-{}.cwasm",
            env!("CARGO_PKG_VERSION"),
            self.engine_key
        ))
    }

    /// Load a compiled component, or compile and store it.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        component_sha256: &str,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.entry_path(component_sha256);
        if let Some(component) = read_entry(engine, &path) {
            return Ok((component, CacheOutcome::Hit));
        }
        let compiled = engine.precompile_component(wasm)?;
        // Deserialize what we just compiled rather than compiling twice.
        let component = deserialize_trusted(engine, &compiled)?;
        let outcome = match write_entry(&path, &compiled) {
            Ok(()) => CacheOutcome::Miss,
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "cannot write the plugin cache");
                CacheOutcome::Uncached
            }
        };
        Ok((component, outcome))
    }
}

fn read_entry(engine: &Engine, path: &Path) -> Option<Component> {
    let bytes = fs::read(path).ok()?;
    let payload = verified_payload(&bytes);
    let component = payload.and_then(|payload| deserialize_trusted(engine, payload).ok());
    if component.is_none() {
        tracing::debug!(path = %path.display(), "stale or corrupt cache entry; recompiling");
        let _ = fs::remove_file(path);
    }
    component
}

/// The payload of a cache entry whose header and checksum are intact.
fn verified_payload(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (digest, payload) = rest.split_at_checked(32)?;
    (Sha256::digest(payload).as_slice() == digest).then_some(payload)
}

fn write_entry(path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    // Write to a temporary file and rename, so a concurrent reader never sees
    // half an entry (and would reject it anyway by its checksum).
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(MAGIC)?;
    tmp.write_all(&Sha256::digest(compiled))?;
    tmp.write_all(compiled)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// The one place the host deserializes compiled code.
#[allow(unsafe_code)]
fn deserialize_trusted(engine: &Engine, payload: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `payload` is either what `Engine::precompile_component` just
    // returned, or a cache entry this host wrote whose sha256 matches the one
    // stored beside it; wasmtime further checks its own header and the
    // engine's compatibility before using it.
    unsafe { Component::deserialize(engine, payload) }
}

/// FNV-1a: a hasher whose output does not change between Rust releases, so
/// cache keys survive a toolchain upgrade that leaves wasmtime's settings alone.
#[derive(Debug)]
struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_checksum_rejects_truncation_and_corruption() {
        let payload = b"compiled code".to_vec();
        let mut entry = MAGIC.to_vec();
        entry.extend_from_slice(&Sha256::digest(&payload));
        entry.extend_from_slice(&payload);
        assert_eq!(verified_payload(&entry), Some(payload.as_slice()));

        let mut corrupt = entry.clone();
        if let Some(last) = corrupt.last_mut() {
            *last ^= 1;
        }
        assert_eq!(verified_payload(&corrupt), None);
        assert_eq!(verified_payload(&entry[..20]), None);
        assert_eq!(verified_payload(b"not a cache entry"), None);
    }
}
