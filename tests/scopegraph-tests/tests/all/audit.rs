//! A whole audit with a misbehaving plugin installed: the run completes,
//! the other plugins' findings are all there, the report names what failed,
//! and the exit code says "incomplete".

use scopegraph_runtime::Limits;
use scopegraph_tests::*;

use super::support::{DEMO, audit_dir, copy_tree};

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

    let inherited: Vec<_> = findings
        .iter()
        .filter(|f| f["category"] == "inherited-overreach")
        .collect();
    assert_eq!(inherited.len(), 2);
    // The identity is a member of the Entra ID group platform-admins
    // (Microsoft Graph export), which holds Reader on the subscription.
    let group: Vec<_> = inherited
        .iter()
        .filter(|f| {
            f["grant"]["reason"]
                .as_str()
                .unwrap()
                .contains("platform-admins")
        })
        .collect();
    assert_eq!(group.len(), 1, "{inherited:#?}");
    assert!(
        group[0]["grant"]["source"]
            .as_str()
            .unwrap()
            .ends_with("0a1b2c3d-0007-4e5f-8a9b-0c1d2e3f4a07")
    );
    let kubelet: Vec<_> = inherited
        .iter()
        .filter(|f| {
            !f["grant"]["reason"]
                .as_str()
                .unwrap()
                .contains("platform-admins")
        })
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

/// Ten days of CloudTrail for the demo's report-agent, in the shape EKS
/// IRSA produces: each day a fresh web-identity session, then S3 reads with
/// its access key.
fn irsa_trail(days: std::ops::RangeInclusive<u32>) -> String {
    let role = "arn:aws:iam::111122223333:role/agents/report-agent";
    let subject = "system:serviceaccount:analytics:report-agent";
    let mut lines = Vec::new();
    for day in days {
        let key = format!("ASIAEXAMPLEREPORT{day:03}");
        let at = |hh: u32| format!("2026-11-{day:02}T{hh:02}:15:00Z");
        lines.push(serde_json::json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "WebIdentityUser", "userName": subject,
                "identityProvider": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/4F1C6A0E2B9D8E7F6A5B4C3D2E1F0A9B"},
            "eventTime": at(8), "eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithWebIdentity",
            "awsRegion": "eu-west-1", "sourceIPAddress": "10.0.12.34",
            "requestParameters": {"roleArn": role, "roleSessionName": format!("botocore-session-{day}")},
            "responseElements": {"credentials": {"accessKeyId": key, "expiration": "Nov 1, 2026, 9:15:00 AM"},
                "subjectFromWebIdentityToken": subject,
                "assumedRoleUser": {"arn": format!("arn:aws:sts::111122223333:assumed-role/report-agent/botocore-session-{day}")}},
            "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
        }));
        for (event, params) in [
            (
                "GetObject",
                serde_json::json!({"bucketName": "acme-reports", "key": "q3/revenue.pdf"}),
            ),
            (
                "ListObjectsV2",
                serde_json::json!({"bucketName": "acme-reports", "prefix": "q3/"}),
            ),
        ] {
            lines.push(serde_json::json!({
                "eventVersion": "1.10",
                "userIdentity": {"type": "AssumedRole", "accessKeyId": key,
                    "arn": format!("arn:aws:sts::111122223333:assumed-role/report-agent/botocore-session-{day}"),
                    "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role, "userName": "report-agent"}}},
                "eventTime": at(9), "eventSource": "s3.amazonaws.com", "eventName": event,
                "awsRegion": "eu-west-1", "requestParameters": params,
                "eventType": "AwsApiCall", "recipientAccountId": "111122223333", "eventCategory": "Data"
            }));
        }
    }
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

#[test]
fn cloudtrail_usage_turns_unused_excess_from_insufficient_to_open_with_only_the_unused_actions() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    copy_tree(std::path::Path::new(DEMO), snapshot.path());
    let logs = snapshot.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();

    // Three days of logs: too thin to call anything unused.
    std::fs::write(logs.join("trail.jsonl"), irsa_trail(15..=17)).unwrap();
    let thin = audit_dir(snapshot.path(), cache.path());
    let own_s3 = |report: &serde_json::Value| -> serde_json::Value {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["category"] == "unused-excess"
                    && f["grant"]["source"]
                        .as_str()
                        .unwrap()
                        .ends_with("#inline/report-bucket")
                    && f["permissions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p == "s3:PutObject")
            })
            .cloned()
            .unwrap_or_else(|| panic!("no finding for the inline S3 grant: {report:#}"))
    };
    let finding = own_s3(&thin);
    assert_eq!(finding["status"], "insufficient-observation");
    assert_eq!(
        finding["rationale"],
        "insufficient observation: 3 of 7 days"
    );

    // Ten days (restarts, new sessions every day): the finding is open and
    // names exactly the actions never used.
    std::fs::write(logs.join("trail.jsonl"), irsa_trail(8..=17)).unwrap();
    let full = audit_dir(snapshot.path(), cache.path());
    let finding = own_s3(&full);
    assert_eq!(finding["status"], "open");
    assert_eq!(
        finding["permissions"],
        serde_json::json!(["s3:PutObject", "s3:ReplicateObject", "s3:RestoreObject"]),
        "s3:GetObject was used every day"
    );
    // The replacement policy: what was used, where it was used.
    let policy_path = finding["reduction"]["artifact"]
        .as_str()
        .expect("an artifact");
    let written = snapshot.path().join("artifacts-out").join(policy_path);
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(written).unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Action"],
        serde_json::json!(["s3:GetObject"])
    );
    assert_eq!(
        policy["Statement"][0]["Resource"],
        serde_json::json!(["arn:aws:s3:::acme-reports/q3/*"])
    );
    assert_eq!(
        super::validate::iam_policy(&policy.to_string()),
        "[]",
        "parliament finds nothing wrong with it"
    );
    let agent = full["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "prod-eks/analytics/Deployment/report-agent")
        .unwrap();
    assert_eq!(agent["observed_days"], 10);
    let summary: Vec<&str> = full["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["source"] == "cloudtrail")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(summary.len(), 1);
    assert!(
        summary[0].starts_with("30 record(s): 20 credited as use"),
        "{summary:?}"
    );
}
