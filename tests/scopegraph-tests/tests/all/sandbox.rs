//! Misbehaving guests: each yields its typed error naming the plugin, and the
//! host keeps going with the other plugins' results intact.

use scopegraph_runtime::{ErrorKind, Limits, Manifest, PluginKind, Runtime, RuntimeOptions};
use scopegraph_sdk::{Candidate, Category, GrantContext, Usage};
use scopegraph_tests::*;

/// Tight limits so the misbehaving guests fail fast.
const TIGHT: Limits = Limits {
    fuel: 50_000_000,
    memory_mib: 32,
    timeout_ms: 5_000,
};

fn batch(ids: &[&str]) -> Vec<Candidate> {
    ids.iter()
        .map(|id| Candidate {
            id: id.to_string(),
            agent: "prod/analytics/Deployment/report-agent".into(),
            permissions: vec!["s3:GetObject".into(), "s3:PutObject".into()],
            usage: Usage {
                observed_days: 14,
                window_days: 14,
                ..Usage::default()
            },
            grant: GrantContext {
                owned: true,
                ..GrantContext::default()
            },
            ..Candidate::default()
        })
        .collect()
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load_classifier(&runtime(), dir.path(), "spin", FIXTURE_LOOP, TIGHT).unwrap();
    let err = plugin.classify(&batch(&["a"])).unwrap_err();
    assert_eq!(err.plugin(), "spin@0.0.1");
    assert_eq!(err.kind(), &ErrorKind::OutOfFuel { fuel: TIGHT.fuel });
    assert!(err.to_string().contains("ran out of fuel"), "{err}");
}

#[test]
fn infinite_loop_with_ample_fuel_hits_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        fuel: Limits::MAX.fuel,
        timeout_ms: 200,
        ..TIGHT
    };
    let plugin = load_classifier(&runtime(), dir.path(), "spin", FIXTURE_LOOP, limits).unwrap();
    let err = plugin.classify(&batch(&["a"])).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Timeout { ms: 200 });
}

#[test]
fn memory_bomb_hits_the_memory_cap() {
    let dir = tempfile::tempdir().unwrap();
    let plugin =
        load_classifier(&runtime(), dir.path(), "hoard", FIXTURE_MEMORY_BOMB, TIGHT).unwrap();
    let err = plugin.classify(&batch(&["a"])).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::MemoryLimit { mib: 32 });
    assert_eq!(err.code(), "memory-limit");
}

#[test]
fn panic_is_reported_with_message_and_location_then_a_fresh_instance_serves() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load_classifier(&runtime(), dir.path(), "fragile", FIXTURE_PANIC, TIGHT).unwrap();
    let err = plugin.classify(&batch(&["ok", "boom"])).unwrap_err();
    let ErrorKind::Panic { message, location } = err.kind() else {
        panic!("expected a panic, got {err}");
    };
    assert_eq!(message, "rule exploded on candidate boom");
    assert!(location.contains("fixture-panic/src/lib.rs:"), "{location}");

    // The trapped instance is gone; the next batch runs on a fresh one.
    let verdicts = plugin.classify(&batch(&["ok"])).unwrap();
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].candidate, "ok");
}

#[test]
fn wasi_import_is_refused_at_load_with_a_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_classifier(
        &runtime(),
        dir.path(),
        "clocked",
        FIXTURE_WASI_IMPORT,
        TIGHT,
    )
    .unwrap_err();
    let ErrorKind::ForbiddenImports { imports } = err.kind() else {
        panic!("expected forbidden imports, got {err}");
    };
    // wasm-component-ld normalises WASI 0.2 imports to the newest 0.2.x it knows.
    assert_eq!(imports.len(), 1);
    assert!(
        imports[0].starts_with("wasi:clocks/wall-clock@0.2."),
        "{imports:?}"
    );
    let help = err.kind().help().unwrap();
    assert!(help.contains("wasm32-unknown-unknown"), "{help}");
}

#[test]
fn component_built_against_a_future_api_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        load_classifier(&runtime(), dir.path(), "future", FIXTURE_FUTURE_API, TIGHT).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::BadApiVersion {
            found: "0.2.0".into(),
            supported: "0.1.0".into()
        }
    );
}

#[test]
fn manifest_declaring_a_future_api_is_refused_before_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = install(
        dir.path(),
        "fragile",
        "classifier",
        "0.2.0",
        FIXTURE_PANIC,
        TIGHT,
    )
    .unwrap();
    let err = runtime()
        .load_manifest_file(&plugin_dir.join("plugin.toml"))
        .unwrap_err();
    assert_eq!(err.code(), "bad-api-version");
    assert_eq!(err.plugin(), "fragile@0.0.1");
}

#[test]
fn malformed_output_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load_classifier(&runtime(), dir.path(), "liar", FIXTURE_MALFORMED, TIGHT).unwrap();
    let err = plugin.classify(&batch(&["a"])).unwrap_err();
    let ErrorKind::MalformedOutput { message } = err.kind() else {
        panic!("expected malformed output, got {err}");
    };
    assert!(message.contains("\"not-in-the-batch\""), "{message}");
}

#[test]
fn tampered_component_fails_its_integrity_check() {
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = install(
        dir.path(),
        "fragile",
        "classifier",
        "0.1.0",
        FIXTURE_PANIC,
        TIGHT,
    )
    .unwrap();
    let wasm_path = plugin_dir.join("fragile.wasm");
    let mut wasm = std::fs::read(&wasm_path).unwrap();
    wasm.push(0);
    std::fs::write(&wasm_path, wasm).unwrap();
    let err = runtime()
        .load_manifest_file(&plugin_dir.join("plugin.toml"))
        .unwrap_err();
    assert_eq!(err.code(), "integrity-mismatch");
}

#[test]
fn provider_manifest_on_a_classifier_component_is_the_wrong_kind() {
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = install(
        dir.path(),
        "fragile",
        "provider",
        "0.1.0",
        FIXTURE_PANIC,
        TIGHT,
    )
    .unwrap();
    let err = runtime()
        .load_manifest_file(&plugin_dir.join("plugin.toml"))
        .unwrap_err();
    assert_eq!(err.code(), "wrong-kind");
}

/// One directory holding every misbehaving guest and two healthy ones: each
/// bad one fails alone, the healthy ones' verdicts are complete.
#[test]
fn bad_plugins_do_not_take_down_the_host_or_the_other_plugins() {
    let dir = tempfile::tempdir().unwrap();
    for (id, path) in [
        ("a-spin", FIXTURE_LOOP),
        ("b-hoard", FIXTURE_MEMORY_BOMB),
        ("c-fragile", FIXTURE_PANIC),
        ("d-liar", FIXTURE_MALFORMED),
        ("e-clocked", FIXTURE_WASI_IMPORT),
        ("f-future", FIXTURE_FUTURE_API),
    ] {
        install(dir.path(), id, "classifier", "0.1.0", path, TIGHT).unwrap();
    }
    for builtin in scopegraph_builtin_plugins::BUILTIN {
        let manifest = Manifest::parse(builtin.manifest, "built-in").unwrap();
        if manifest.kind != PluginKind::Classifier {
            continue;
        }
        let plugin_dir = dir.path().join(&manifest.id);
        std::fs::create_dir_all(&plugin_dir).unwrap();
        std::fs::write(plugin_dir.join("plugin.toml"), builtin.manifest).unwrap();
        std::fs::write(plugin_dir.join(builtin.file_name), builtin.wasm).unwrap();
    }

    let runtime = Runtime::new(RuntimeOptions::default()).unwrap();
    let loaded = runtime.load_dir(dir.path());
    assert_eq!(loaded.len(), 8);
    let load_errors: Vec<&str> = loaded
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| e.code())
        .collect();
    assert_eq!(load_errors, vec!["forbidden-imports", "bad-api-version"]);

    let mut candidates = batch(&["boom", "c2"]);
    candidates[1].grant.owned = false;
    let mut outcomes = Vec::new();
    for plugin in loaded.iter().filter_map(|r| r.as_ref().ok()) {
        outcomes.push((plugin.info().id.clone(), plugin.classify(&candidates)));
    }
    let summary: Vec<(String, Result<usize, &str>)> = outcomes
        .iter()
        .map(|(id, r)| (id.clone(), r.as_ref().map(Vec::len).map_err(|e| e.code())))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("a-spin".to_string(), Err("out-of-fuel")),
            ("b-hoard".to_string(), Err("memory-limit")),
            ("c-fragile".to_string(), Err("panic")),
            ("d-liar".to_string(), Err("malformed-output")),
            ("inherited-overreach".to_string(), Ok(1)),
            ("unused-excess".to_string(), Ok(2)),
        ]
    );
    let overreach = &outcomes[4].1.as_ref().unwrap()[0];
    assert_eq!(overreach.candidate, "c2");
    assert_eq!(overreach.category, Some(Category::InheritedOverreach));
}
