#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

//! The `scopegraph` binary end to end: commands, exit codes, error formats.

use std::process::{Command, Output};

fn scopegraph(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scopegraph"))
        .args(args)
        .env(
            "SCOPEGRAPH_CACHE_DIR",
            std::env::temp_dir().join("scopegraph-cli-tests-cache"),
        )
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn plugins_list_shows_the_first_party_plugins_with_versions() {
    let out = scopegraph(&["plugins", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for id in [
        "kubernetes",
        "gcp",
        "azure",
        "unused-excess",
        "inherited-overreach",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} missing:\n{stdout}"));
        assert!(
            line.contains("0.1.0") && line.contains("built-in"),
            "{line}"
        );
    }
}

#[test]
fn plugins_inspect_prints_manifest_imports_and_limits() {
    let out = scopegraph(&["plugins", "inspect", "kubernetes"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("kind:        provider"), "{stdout}");
    assert!(
        stdout.contains("imports:     scopegraph:plugin/types@0.1.0, scopegraph:plugin/host@0.1.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("exports:     scopegraph:plugin/provider@0.1.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("limits:      fuel 2000000000 per call, memory 256 MiB"),
        "{stdout}"
    );

    let out = scopegraph(&["plugins", "inspect", "nope"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("loaded plugins:"));
}

#[test]
fn a_broken_plugin_directory_makes_check_incomplete_and_names_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("mine");
    std::fs::create_dir_all(&plugin).unwrap();
    std::fs::write(plugin.join("mine.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        plugin.join("plugin.toml"),
        format!(
            "id = \"mine\"\nversion = \"1.2.3\"\nkind = \"classifier\"\napi-version = \"0.1.0\"\ncomponent = \"mine.wasm\"\nsha256 = \"{}\"\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let out = scopegraph(&[
        "--error-format",
        "json",
        "plugins",
        "check",
        "--plugins",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stdout).contains("FAILED  mine@1.2.3: component sha256 is"),
        "{}",
        text(&out.stdout)
    );
    let line = text(&out.stderr)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let json: serde_json::Value = serde_json::from_str(&line).expect("stderr is JSON lines");
    assert_eq!(json["source"], "plugin mine@1.2.3");
    assert_eq!(json["level"], "error");
}

#[test]
fn usage_errors_exit_3_and_unreadable_inputs_exit_2() {
    assert_eq!(scopegraph(&["audit"]).status.code(), Some(3));
    assert_eq!(
        scopegraph(&["audit", ".", "--now", "yesterday"])
            .status
            .code(),
        Some(3)
    );

    let out = scopegraph(&[
        "audit",
        "/does/not/exist",
        "--format",
        "json",
        "--now",
        "2026-11-20T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "scopegraph.findings/v1");
    assert_eq!(report["window"]["start"], "2026-11-06T00:00:00Z");
    assert_eq!(report["diagnostics"][0]["source"], "/does/not/exist");
    assert!(text(&out.stderr).contains("no such file or directory"));
}

#[test]
fn demo_classifies_owned_and_inherited_grants_of_the_example_org() {
    let dir = tempfile::tempdir().unwrap();
    let out = scopegraph(&["demo", "--output", dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("findings.json")).unwrap())
            .unwrap();
    let agents: Vec<&str> = report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        agents,
        [
            "prod-eks/analytics/Deployment/report-agent",
            "prod-eks/support/Deployment/support-agent",
            "prod-gke/analytics/Deployment/bq-agent",
        ]
    );
    assert_eq!(report["agents"][0]["pods"], 2);

    let findings = report["findings"].as_array().unwrap();
    // Kubernetes findings only; the clouds' are checked below.
    let of = |agent: &str, category: &str| -> Vec<&serde_json::Value> {
        findings
            .iter()
            .filter(|f| {
                f["agent"] == agent && f["category"] == category && f["cloud"] == "kubernetes"
            })
            .collect()
    };
    let of_cloud = |agent: &str, category: &str, cloud: &str| -> Vec<&serde_json::Value> {
        findings
            .iter()
            .filter(|f| f["agent"] == agent && f["category"] == category && f["cloud"] == cloud)
            .collect()
    };
    // EKS: IRSA to the agent's own role is owned (S3 after the explicit deny);
    // the role it can assume and the node instance role are inherited.
    let report_agent = "prod-eks/analytics/Deployment/report-agent";
    let irsa: Vec<_> = of_cloud(report_agent, "unused-excess", "aws")
        .into_iter()
        .filter(|f| f["grant"]["owned"] == true)
        .collect();
    assert!(
        irsa.iter().any(|f| f["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "s3:GetObject")),
        "{irsa:#?}"
    );
    assert!(irsa.iter().all(|f| {
        !f["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "s3:DeleteObject")
    }));
    let aws_inherited = of_cloud(report_agent, "inherited-overreach", "aws");
    let reasons: Vec<&str> = aws_inherited
        .iter()
        .map(|f| f["grant"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("transitive role assumption into")),
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("node identity fallback")),
        "{reasons:#?}"
    );
    // The inherited secrets grant of report-agent is category 3, with the group in its chain.
    let inherited = of(
        "prod-eks/analytics/Deployment/report-agent",
        "inherited-overreach",
    );
    assert_eq!(inherited.len(), 1, "{inherited:#?}");
    assert_eq!(
        inherited[0]["permissions"],
        serde_json::json!(["secrets:get", "secrets:list"])
    );
    assert_eq!(inherited[0]["grant"]["owned"], false);
    let chain: Vec<&str> = inherited[0]["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["node"].as_str().unwrap())
        .collect();
    assert!(
        chain.contains(&"k8s:prod-eks/Group/system:serviceaccounts:analytics"),
        "{chain:?}"
    );
    // Its own Role is owned: no category 3, and unused excess waits for observation.
    let unused = of(
        "prod-eks/analytics/Deployment/report-agent",
        "unused-excess",
    );
    let owned: Vec<_> = unused
        .iter()
        .filter(|f| f["grant"]["owned"] == true)
        .collect();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0]["status"], "insufficient-observation");
    // support-agent's default SA is shared with `web`: its grants are inherited.
    let shared = of(
        "prod-eks/support/Deployment/support-agent",
        "inherited-overreach",
    );
    assert!(!shared.is_empty());
    assert!(shared.iter().all(|f| {
        f["grant"]["reason"]
            .as_str()
            .unwrap()
            .contains("shared with 1 other workload")
    }));
    assert!(dir.path().join("findings.md").is_file());
    // GKE: the agent's own GSA (Workload Identity) is owned; the batch pool's
    // node service account, reachable through its metadata server, is inherited.
    let gke = "prod-gke/analytics/Deployment/bq-agent";
    let owned_bq: Vec<_> = of_cloud(gke, "unused-excess", "gcp")
        .into_iter()
        .filter(|f| f["grant"]["owned"] == true)
        .collect();
    assert_eq!(
        owned_bq.len(),
        3,
        "jobUser and (under a condition) dataEditor on the project, dataViewer on the dataset"
    );
    assert!(owned_bq.iter().any(|f| {
        f["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "bigquery.tables.getData")
    }));
    let fallback = of_cloud(gke, "inherited-overreach", "gcp");
    assert_eq!(fallback.len(), 2, "{fallback:#?}");
    for f in &fallback {
        let chain: Vec<&str> = f["chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["node"].as_str().unwrap())
            .collect();
        assert_eq!(
            chain.last(),
            Some(&"gcp:serviceAccount:gke-nodes@acme-prod.iam.gserviceaccount.com")
        );
        assert!(
            f["grant"]["reason"]
                .as_str()
                .unwrap()
                .contains("node identity fallback"),
            "{f:#}"
        );
    }
    // The reduction artifacts for the shared `default` account: a dedicated one, and the move onto it.
    let artifacts = dir
        .path()
        .join("artifacts/inherited-overreach/prod-eks/support/deployment-support-agent");
    let sa = std::fs::read_to_string(artifacts.join("serviceaccount.yaml")).unwrap();
    assert!(sa.contains("name: \"support-agent\""), "{sa}");
    assert!(artifacts.join("workload-patch.yaml").is_file());
    let artifact_refs: Vec<&str> = shared
        .iter()
        .filter_map(|f| f["reduction"]["artifact"].as_str())
        .collect();
    assert_eq!(
        artifact_refs.len(),
        shared.len(),
        "every overreach finding points at its artifact"
    );
}

/// The Kubernetes default RBAC (bootstrap policy, as the provider's fixtures carry it).
const BOOTSTRAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../plugins/provider-kubernetes/tests/fixtures/bootstrap-policy"
);

fn who_can(args: &[&str]) -> Vec<(String, String, Option<String>)> {
    let mut full = vec!["who-can"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--format", "json", BOOTSTRAP]);
    let out = scopegraph(&full);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["name"].as_str().unwrap().to_string(),
                s["namespace"].as_str().map(String::from),
            )
        })
        .collect()
}

fn subject(kind: &str, name: &str, ns: Option<&str>) -> (String, String, Option<String>) {
    (kind.into(), name.into(), ns.map(String::from))
}

#[test]
fn who_can_get_secrets_in_the_default_rbac() {
    // Cluster-wide: cluster-admin's group, the nodes (this older bindings file
    // still binds system:node to the group), the controller manager, and the
    // two kube-system controllers whose Roles read bootstrap token secrets.
    assert_eq!(
        who_can(&["get", "secrets"]),
        vec![
            subject("Group", "system:masters", None),
            subject("Group", "system:nodes", None),
            subject("ServiceAccount", "bootstrap-signer", Some("kube-system")),
            subject("ServiceAccount", "token-cleaner", Some("kube-system")),
            subject("User", "system:kube-controller-manager", None),
        ]
    );
    // In `default`, the kube-system RoleBindings do not apply.
    assert_eq!(
        who_can(&["get", "secret", "-n", "default"]),
        vec![
            subject("Group", "system:masters", None),
            subject("Group", "system:nodes", None),
            subject("User", "system:kube-controller-manager", None),
        ]
    );
}

#[test]
fn who_can_distinguishes_subresources_and_groups() {
    // `admin` and `edit` may exec into pods but are bound to nobody by default.
    assert_eq!(
        who_can(&["create", "po", "--subresource", "exec"]),
        vec![subject("Group", "system:masters", None)]
    );
    // The controller manager lists everything (`*` in group `*`).
    assert_eq!(
        who_can(&["list", "deploy.apps", "-n", "default"]),
        vec![
            subject("Group", "system:masters", None),
            subject("User", "system:kube-controller-manager", None)
        ]
    );
    let out = scopegraph(&["who-can", "get", "a/b/c", BOOTSTRAP]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn state_file_keeps_history_and_resolves_what_disappears() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot");
    std::fs::create_dir_all(&snapshot).unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo-org");
    for file in ["analytics.yaml", "support.yaml"] {
        std::fs::copy(format!("{demo}/prod-eks/k8s/{file}"), snapshot.join(file)).unwrap();
    }
    std::fs::copy(
        format!("{demo}/scopegraph.yaml"),
        snapshot.join("scopegraph.yaml"),
    )
    .unwrap();
    std::fs::copy(
        format!("{demo}/prod-eks/cluster.json"),
        snapshot.join("cluster.json"),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let audit = |now: &str| {
        let out = scopegraph(&[
            "audit",
            snapshot.to_str().unwrap(),
            "--format",
            "json",
            "--now",
            now,
            "--state",
            state.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let first = audit("2026-11-01T00:00:00Z");
    let overreach = |report: &serde_json::Value| -> Vec<serde_json::Value> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["category"] == "inherited-overreach")
            .cloned()
            .collect()
    };
    assert_eq!(overreach(&first).len(), 3, "{first:#}");
    assert_eq!(overreach(&first)[0]["history"].as_array().unwrap().len(), 1);

    // The leftover group binding is removed: its finding resolves, the others carry two entries.
    let analytics = snapshot.join("analytics.yaml");
    let text_before = std::fs::read_to_string(&analytics).unwrap();
    let cut = text_before.find("- apiVersion: rbac.authorization.k8s.io/v1\n  kind: RoleBinding\n  metadata:\n    name: all-sas-read-secrets").unwrap();
    std::fs::write(&analytics, &text_before[..cut]).unwrap();
    let second = audit("2026-11-08T00:00:00Z");
    let statuses: Vec<(String, usize)> = overreach(&second)
        .iter()
        .map(|f| {
            (
                f["status"].as_str().unwrap().to_string(),
                f["history"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|(s, n)| s == "resolved" && *n == 2)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|(s, n)| s == "open" && *n == 2)
            .count(),
        2,
        "{statuses:?}"
    );

    // A corrupt state file is reported (exit 2) and left as it was.
    std::fs::write(&state, "{not json").unwrap();
    let out = scopegraph(&[
        "audit",
        snapshot.to_str().unwrap(),
        "--format",
        "json",
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{not json");
}

#[test]
fn sarif_results_point_at_the_binding_file_and_carry_the_finding_id() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo-org");
    let run = |format: &str| {
        let out = scopegraph(&[
            "audit",
            demo,
            "--format",
            format,
            "--now",
            "2026-11-20T00:00:00Z",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let sarif = run("sarif");
    let json = run("json");
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    let rules: Vec<&str> = run0["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["unused-excess", "unjustified-use", "inherited-overreach"]
    );
    assert_eq!(run0["invocations"][0]["executionSuccessful"], true);
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), json["findings"].as_array().unwrap().len());
    for (result, finding) in results.iter().zip(json["findings"].as_array().unwrap()) {
        assert_eq!(result["ruleId"], finding["category"]);
        assert_eq!(
            result["partialFingerprints"]["scopegraphFinding/v1"],
            finding["id"]
        );
        let level = if finding["status"] == "open" {
            "warning"
        } else {
            "note"
        };
        assert_eq!(result["level"], level);
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        // The file of the binding or policy the finding is about.
        let expected = match finding["cloud"].as_str().unwrap() {
            "gcp" => "-iam-policy.json",
            "aws" => "authorization-details.json",
            _ => ".yaml",
        };
        assert!(uri.ends_with(expected), "{uri} for {finding:#}");
    }
}
