//! Builds the guest fixtures (and the SDK example plugins) to components for
//! the integration tests, and fails if a fixture is used by no test.

use std::{env, fmt::Write, fs, path::PathBuf};

/// Crate directories and the constant each path is exposed as.
const GUESTS: &[(&str, &str)] = &[
    ("tests/guest-fixtures/fixture-loop", "FIXTURE_LOOP"),
    (
        "tests/guest-fixtures/fixture-memory-bomb",
        "FIXTURE_MEMORY_BOMB",
    ),
    ("tests/guest-fixtures/fixture-panic", "FIXTURE_PANIC"),
    (
        "tests/guest-fixtures/fixture-malformed",
        "FIXTURE_MALFORMED",
    ),
    (
        "tests/guest-fixtures/fixture-wasi-import",
        "FIXTURE_WASI_IMPORT",
    ),
    (
        "tests/guest-fixtures/fixture-future-api",
        "FIXTURE_FUTURE_API",
    ),
    ("examples/plugin-template-classifier", "EXAMPLE_CLASSIFIER"),
    ("examples/plugin-template-provider", "EXAMPLE_PROVIDER"),
];

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());

    // Every fixture must be exercised by some test.
    let tests_dir = manifest_dir.join("tests/all");
    println!("cargo::rerun-if-changed={}", tests_dir.display());
    let mut test_sources = String::new();
    for entry in fs::read_dir(&tests_dir).into_iter().flatten().flatten() {
        test_sources.push_str(&fs::read_to_string(entry.path()).unwrap_or_default());
    }
    for (dir, name) in GUESTS {
        if !test_sources.contains(name) {
            println!("cargo::error=guest {dir} ({name}) is used by no test in tests/all");
        }
    }

    let dirs: Vec<&str> = GUESTS.iter().map(|(dir, _)| *dir).collect();
    let components = match scopegraph_wasm_build::build(&dirs) {
        Ok(components) => components,
        Err(err) => {
            for line in err.lines() {
                println!("cargo::error={line}");
            }
            return;
        }
    };
    let mut consts = String::new();
    for ((_, name), component) in GUESTS.iter().zip(components) {
        let _ = writeln!(
            consts,
            "/// The component built from `{}`.\npub const {name}: &str = {:?};",
            component.package,
            component.path.display().to_string()
        );
    }
    if let Err(err) = fs::write(out_dir.join("guests.rs"), consts) {
        println!("cargo::error=writing guests.rs: {err}");
    }
}
