//! A whole audit with a misbehaving plugin installed: the run completes,
//! the other plugins' findings are all there, the report names what failed,
//! and the exit code says "incomplete".

use scopegraph_runtime::Limits;
use scopegraph_tests::*;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo-org");

fn audit(cache: &std::path::Path, extra: &[&str]) -> (u8, serde_json::Value, String) {
    let cache = cache.to_str().unwrap();
    let mut args = vec![
        "scopegraph",
        "--cache-dir",
        cache,
        "audit",
        DEMO,
        "--format",
        "json",
        "--now",
        "2026-11-20T00:00:00Z",
    ];
    args.extend_from_slice(extra);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = scopegraph_cli::run(args, &mut out, &mut err);
    (
        code,
        serde_json::from_slice(&out).unwrap(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

#[test]
fn a_looping_classifier_makes_the_run_incomplete_without_losing_findings() {
    let cache = tempfile::tempdir().unwrap();
    let (clean_code, clean, _) = audit(cache.path(), &[]);
    assert_eq!(clean_code, 0);

    let dir = tempfile::tempdir().unwrap();
    let tight = Limits {
        fuel: 20_000_000,
        memory_mib: 32,
        timeout_ms: 5_000,
    };
    install(
        dir.path(),
        "spin",
        "classifier",
        "0.1.0",
        FIXTURE_LOOP,
        tight,
    )
    .unwrap();
    install(
        dir.path(),
        "clocked",
        "classifier",
        "0.1.0",
        FIXTURE_WASI_IMPORT,
        tight,
    )
    .unwrap();
    let plugins = dir.path().to_str().unwrap();
    let (code, report, stderr) = audit(cache.path(), &["--plugins", plugins]);

    assert_eq!(code, 2, "incomplete");
    assert_eq!(
        report["findings"], clean["findings"],
        "every other plugin's finding is intact"
    );
    let errors: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["level"] == "error")
        .map(|d| {
            format!(
                "{} | {}",
                d["source"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("plugin spin@0.0.1 | ran out of fuel")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("plugin clocked@0.0.1 | imports outside scopegraph:plugin/*")),
        "{errors:#?}"
    );
    assert!(stderr.contains("spin@0.0.1"), "{stderr}");
}

/// The Azure provider's fixture tree (AKS cluster, workloads, identities,
/// federated credentials, role assignments) through the whole pipeline.
#[test]
fn aks_workload_identity_is_owned_and_the_kubelet_identity_is_inherited() {
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../plugins/provider-azure/tests/fixtures"
    );
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "scopegraph",
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "audit",
        fixtures,
        "--format",
        "json",
        "--now",
        "2026-11-20T00:00:00Z",
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = scopegraph_cli::run(args, &mut out, &mut err);
    assert_eq!(
        code,
        0,
        "broken chains are warnings, not failures: {}",
        String::from_utf8_lossy(&err)
    );
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let agent = "prod-aks/analytics/Deployment/report-agent";
    assert_eq!(report["agents"][0]["id"], agent);
    let findings = report["findings"].as_array().unwrap();
    let blob_read = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read";
    let owned_data_read = findings.iter().find(|f| {
        f["grant"]["owned"] == true
            && f["permissions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == blob_read)
    });
    let owned_data_read = owned_data_read.expect("the agent's own identity reads blobs");
    let chain: Vec<&str> = owned_data_read["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(chain, ["workload", "service-account", "cloud-identity"]);

    let kubelet: Vec<_> = findings
        .iter()
        .filter(|f| f["category"] == "inherited-overreach")
        .collect();
    assert_eq!(kubelet.len(), 1);
    assert_eq!(
        kubelet[0]["permissions"],
        serde_json::json!(["Microsoft.ContainerRegistry/registries/pull/read"])
    );
    assert!(
        kubelet[0]["grant"]["reason"]
            .as_str()
            .unwrap()
            .contains("node identity fallback")
    );

    let warnings: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["level"] == "warning")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        warnings
            .iter()
            .filter(|m| m.starts_with("broken chain"))
            .count(),
        2,
        "{warnings:#?}"
    );
}
