//! The compiled-component cache: keyed by content and engine, and a corrupt
//! or stale entry is a miss that gets rewritten, never a crash.

use scopegraph_runtime::{CacheOutcome, Manifest, Runtime, RuntimeOptions};

fn unused_excess() -> (Manifest, &'static [u8]) {
    let builtin = scopegraph_builtin_plugins::BUILTIN
        .iter()
        .find(|p| p.file_name == "classifier_unused_excess.wasm")
        .unwrap();
    (
        Manifest::parse(builtin.manifest, "built-in").unwrap(),
        builtin.wasm,
    )
}

fn cached_runtime(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.to_path_buf()),
    })
    .unwrap()
}

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    files.sort();
    files
}

#[test]
fn second_load_hits_and_a_corrupt_entry_is_a_miss_that_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, wasm) = unused_excess();

    let first = cached_runtime(dir.path())
        .load(manifest.clone(), wasm, "built-in")
        .unwrap();
    assert_eq!(first.info().cache, CacheOutcome::Miss);
    let files = entries(dir.path());
    assert_eq!(files.len(), 1);
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(&first.info().sha256),
        "entries are keyed by the component's sha256"
    );

    let second = cached_runtime(dir.path())
        .load(manifest.clone(), wasm, "built-in")
        .unwrap();
    assert_eq!(second.info().cache, CacheOutcome::Hit);
    assert!(second.classify(&[]).unwrap().is_empty());

    // Flip a byte in the middle of the compiled code.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();
    let third = cached_runtime(dir.path())
        .load(manifest.clone(), wasm, "built-in")
        .unwrap();
    assert_eq!(
        third.info().cache,
        CacheOutcome::Miss,
        "a corrupt entry is recompiled"
    );
    assert!(third.classify(&[]).unwrap().is_empty());

    // Truncated, and then plain garbage: still misses.
    std::fs::write(&files[0], &bytes[..100]).unwrap();
    assert_eq!(
        cached_runtime(dir.path())
            .load(manifest.clone(), wasm, "built-in")
            .unwrap()
            .info()
            .cache,
        CacheOutcome::Miss
    );
    std::fs::write(&files[0], b"not a cache entry").unwrap();
    assert_eq!(
        cached_runtime(dir.path())
            .load(manifest, wasm, "built-in")
            .unwrap()
            .info()
            .cache,
        CacheOutcome::Miss
    );
    assert_eq!(
        entries(dir.path()).len(),
        1,
        "rewritten in place, nothing left behind"
    );
}

#[test]
fn an_unwritable_cache_directory_degrades_to_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"a file where the cache directory should be").unwrap();
    let (manifest, wasm) = unused_excess();
    let plugin = cached_runtime(&blocker)
        .load(manifest, wasm, "built-in")
        .unwrap();
    assert_eq!(plugin.info().cache, CacheOutcome::Uncached);
}
