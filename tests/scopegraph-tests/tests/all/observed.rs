//! Observed behaviour end to end: Kubescape profiles and Kubernetes audit
//! events through `audit`, to the findings and the artifacts a user
//! applies, each artifact checked by the tools that would apply it.

use super::support::{
    DEMO, assert_parses_as_shell, audit_dir as audit, az_calls, copy_tree, gcloud_calls, strings,
};
use super::validate;
use serde_json::{Value, json};
use std::path::Path;

const KUBESCAPE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../plugins/provider-kubernetes/tests/fixtures/kubescape"
);

fn findings<'a>(report: &'a Value, category: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == category)
        .collect()
}

fn artifact(dir: &Path, finding: &Value) -> String {
    let path = finding["reduction"]["artifact"]
        .as_str()
        .unwrap_or_else(|| panic!("no artifact: {finding:#}"));
    std::fs::read_to_string(dir.join("artifacts-out").join(path)).unwrap()
}

fn yaml_documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

/// Egress rules with their peers in a canonical order, compared as a set.
fn canonical_rules(rules: &Value) -> Vec<Value> {
    let mut rules: Vec<Value> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| {
            let mut to = rule["to"].as_array().unwrap().clone();
            to.sort_by_key(|p| p.to_string());
            json!({"ports": rule["ports"], "to": to})
        })
        .collect();
    rules.sort_by_key(|r| r.to_string());
    rules
}

/// Kubescape's operator Deployment with its NetworkNeighborhood,
/// ApplicationProfile and the KnownServer list, as `kubectl get -o json`
/// writes them.
fn kubescape_snapshot(dir: &Path) {
    for file in [
        "operator-deployment.json",
        "nn-operator.json",
        "ap-operator.json",
    ] {
        std::fs::copy(Path::new(KUBESCAPE).join(file), dir.join(file)).unwrap();
    }
    let known: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(KUBESCAPE).join("known-servers.json")).unwrap(),
    )
    .unwrap();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": known, "metadata": {}});
    std::fs::write(dir.join("knownservers.json"), list.to_string()).unwrap();
}

#[test]
fn kubescape_profiles_give_a_network_policy_and_a_seccomp_profile_of_observed_behaviour() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    kubescape_snapshot(snapshot.path());
    let report = audit(snapshot.path(), cache.path());
    let unused = findings(&report, "unused-excess");
    let agent = "default/kubescape/Deployment/operator";

    // Egress: open to the world, used for seven kinds of connection.
    let egress = unused
        .iter()
        .find(|f| f["permissions"] == json!(["egress:connect"]))
        .unwrap_or_else(|| panic!("no egress finding: {report:#}"));
    assert_eq!(egress["agent"], agent);
    assert_eq!(egress["status"], "open");
    assert_eq!(egress["grant"]["owned"], true);
    assert_eq!(egress["resources"], json!(["0.0.0.0/0", "::/0"]));
    let policy_yaml = artifact(snapshot.path(), egress);
    validate::kubernetes_yaml(&policy_yaml);
    let policy = &yaml_documents(&policy_yaml)[0];
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert_eq!(policy["metadata"]["namespace"], "kubescape");
    assert_eq!(policy["spec"]["policyTypes"], json!(["Egress"]));
    assert_eq!(
        policy["spec"]["podSelector"],
        json!({"matchLabels": {
            "app.kubernetes.io/instance": "kubescape",
            "app.kubernetes.io/name": "operator",
            "tier": "ks-control-plane"
        }})
    );
    // Kubescape's own generator, on the same neighbourhood, allows the same.
    let theirs: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(KUBESCAPE).join("np-operator.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        canonical_rules(&policy["spec"]["egress"]),
        canonical_rules(&theirs["spec"]["spec"]["egress"])
    );

    // System calls: 49 observed of the 362 an unconfined container may make.
    let syscalls = unused
        .iter()
        .find(|f| {
            f["permissions"][0]
                .as_str()
                .is_some_and(|p| p.starts_with("syscall:"))
        })
        .unwrap_or_else(|| panic!("no system call finding: {report:#}"));
    assert_eq!(syscalls["status"], "open");
    let never: Vec<&str> = strings(&syscalls["permissions"]);
    assert_eq!(never.len(), 362 - 49);
    assert!(never.contains(&"syscall:ptrace"));
    assert!(!never.contains(&"syscall:openat"));
    let profile_json = artifact(snapshot.path(), syscalls);
    assert_eq!(
        validate::seccomp_profile(&profile_json),
        Vec::<String>::new(),
        "libseccomp knows every name"
    );
    let profile: Value = serde_json::from_str(&profile_json).unwrap();
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(
        profile["architectures"],
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    let allowed = profile["syscalls"][0]["names"].as_array().unwrap();
    assert_eq!(allowed.len(), 49);
    assert!(allowed.contains(&json!("epoll_pwait")));
}

#[test]
fn a_profile_kubescape_has_not_finished_is_insufficient_observation() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    kubescape_snapshot(snapshot.path());
    let path = snapshot.path().join("ap-operator.json");
    let partial = std::fs::read_to_string(&path).unwrap().replace(
        "\"kubescape.io/status\": \"completed\"",
        "\"kubescape.io/status\": \"learning\"",
    );
    std::fs::write(&path, partial).unwrap();
    let report = audit(snapshot.path(), cache.path());
    let syscalls = findings(&report, "unused-excess")
        .into_iter()
        .find(|f| {
            f["permissions"][0]
                .as_str()
                .is_some_and(|p| p.starts_with("syscall:"))
        })
        .unwrap();
    assert_eq!(syscalls["status"], "insufficient-observation");
    assert_eq!(syscalls["reduction"]["artifact"], Value::Null);
}

/// An agent Deployment whose own ServiceAccount is bound to a Role with
/// more than it uses, as `kubectl get -o json` prints them.
fn planner_snapshot(dir: &Path) {
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "planner", "namespace": "agents", "creationTimestamp": "2026-10-01T09:00:00Z",
                      "labels": {"app": "planner", "scopegraph.io/agent": "true"}},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "planner"}},
                  "template": {"metadata": {"labels": {"app": "planner"}},
                               "spec": {"serviceAccountName": "planner",
                                        "containers": [{"name": "planner", "image": "ghcr.io/acme/planner:1.4.2"}]}}}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "planner", "namespace": "agents"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "planner", "namespace": "agents"},
         "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}
         ]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "planner", "namespace": "agents"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "planner"},
         "subjects": [{"kind": "ServiceAccount", "name": "planner", "namespace": "agents"}]}
    ]});
    std::fs::write(
        dir.join("agents.json"),
        serde_json::to_string_pretty(&list).unwrap(),
    )
    .unwrap();
}

/// Kubernetes audit events (`audit.k8s.io/v1`, one per line as the API
/// server's log backend writes them) of the planner's pods over the days
/// `days` of November 2026. `pod_of(day)` names the pod that made each
/// day's requests: a new one every day is a workload that restarts.
fn planner_audit(days: std::ops::RangeInclusive<u32>, pod_of: impl Fn(u32) -> String) -> String {
    let mut lines = Vec::new();
    for day in days {
        let pod = pod_of(day);
        let requests = [
            (
                "get",
                "pods",
                None,
                Some("planner-job-1"),
                "/api/v1/namespaces/agents/pods/planner-job-1",
            ),
            (
                "list",
                "pods",
                None,
                None,
                "/api/v1/namespaces/agents/pods?limit=500",
            ),
            (
                "get",
                "pods",
                Some("log"),
                Some("planner-job-1"),
                "/api/v1/namespaces/agents/pods/planner-job-1/log",
            ),
            (
                "get",
                "configmaps",
                None,
                Some("planner-tools"),
                "/api/v1/namespaces/agents/configmaps/planner-tools",
            ),
        ];
        for (i, (verb, resource, sub, name, uri)) in requests.into_iter().enumerate() {
            let at = format!("2026-11-{day:02}T10:{:02}:07.512345Z", 10 + i);
            let mut object =
                json!({"resource": resource, "namespace": "agents", "apiVersion": "v1"});
            if let Some(sub) = sub {
                object["subresource"] = json!(sub);
            }
            if let Some(name) = name {
                object["name"] = json!(name);
            }
            lines.push(json!({
                "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
                "auditID": format!("6f1c2a7e-{day:04}-4c1d-9d7e-{i:012}"),
                "stage": "ResponseComplete", "requestURI": uri, "verb": verb,
                "user": {"username": "system:serviceaccount:agents:planner",
                         "uid": "0b5d1f43-8f1e-4b7a-9a51-3c2f6f0f9a11",
                         "groups": ["system:serviceaccounts", "system:serviceaccounts:agents", "system:authenticated"],
                         "extra": {"authentication.kubernetes.io/credential-id": [format!("JTI=8d2f{day:02}c1-1b1e-4f5e-a1d2-77e3b1c0e9a{}", day % 10)],
                                   "authentication.kubernetes.io/node-name": ["ip-10-0-12-34.eu-west-1.compute.internal"],
                                   "authentication.kubernetes.io/node-uid": ["5a1e0c1d-2f3b-4a5c-8d9e-0f1a2b3c4d5e"],
                                   "authentication.kubernetes.io/pod-name": [pod],
                                   "authentication.kubernetes.io/pod-uid": [format!("c0ffee00-0000-4000-8000-{day:012}")]}},
                "sourceIPs": ["10.0.12.77"], "userAgent": "planner/1.4.2 (linux/amd64) kubernetes-python/29.0.0",
                "objectRef": object,
                "responseStatus": {"metadata": {}, "code": 200},
                "requestReceivedTimestamp": at, "stageTimestamp": at,
                "annotations": {"authorization.k8s.io/decision": "allow",
                                "authorization.k8s.io/reason": "RBAC: allowed by RoleBinding \"planner/agents\" of Role \"planner\" to ServiceAccount \"planner/agents\""}
            }));
        }
    }
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

/// The planner's Kubernetes findings: one per rule of its Role with
/// something unused.
fn rbac_findings(report: &Value) -> Vec<Value> {
    findings(report, "unused-excess")
        .into_iter()
        .filter(|f| f["agent"] == "default/agents/Deployment/planner" && f["cloud"] == "kubernetes")
        .cloned()
        .collect()
}

#[test]
fn audit_events_of_restarting_pods_give_the_same_findings_and_an_rbac_role_of_what_was_used() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    planner_snapshot(snapshot.path());
    let logs = snapshot.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();

    // Fourteen days, a new pod (name and uid) every day.
    let restarting = |day: u32| format!("planner-7c9d5b8f4-{:05x}", day * 7919);
    std::fs::write(logs.join("audit.log"), planner_audit(6..=19, restarting)).unwrap();
    let report = audit(snapshot.path(), cache.path());
    let unused = rbac_findings(&report);
    let mut by_rule: Vec<(&str, Value)> = unused
        .iter()
        .map(|f| {
            assert_eq!(f["status"], "open");
            assert_eq!(f["grant"]["owned"], true);
            (
                f["grant"]["source"].as_str().unwrap(),
                f["permissions"].clone(),
            )
        })
        .collect();
    by_rule.sort_by_key(|(_, p)| p.to_string());
    // Exactly what no pod of the fourteen ever asked for, rule by rule;
    // the pods/log rule was wholly used and has no finding.
    assert_eq!(
        by_rule,
        vec![
            (
                "RoleBinding agents/planner -> Role agents/planner",
                json!(["apps/deployments:get", "apps/deployments:patch"])
            ),
            (
                "RoleBinding agents/planner -> Role agents/planner",
                json!(["configmaps:list"])
            ),
            (
                "RoleBinding agents/planner -> Role agents/planner",
                json!(["pods:watch", "pods:delete"])
            ),
        ]
    );
    let agent = report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "default/agents/Deployment/planner")
        .unwrap();
    assert_eq!(agent["observed_days"], 14);

    // One replacement for the binding, covering every rule's use.
    let files: std::collections::BTreeSet<&str> = unused
        .iter()
        .map(|f| f["reduction"]["artifact"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let rbac = artifact(snapshot.path(), &unused[0]);
    validate::kubernetes_yaml(&rbac);
    let docs = yaml_documents(&rbac);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["kind"], "Role");
    assert_eq!(docs[0]["metadata"]["namespace"], "agents");
    assert_eq!(
        docs[0]["rules"],
        json!([
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        ])
    );
    assert_eq!(docs[1]["kind"], "RoleBinding");
    assert_eq!(
        docs[1]["subjects"],
        json!([{"kind": "ServiceAccount", "name": "planner", "namespace": "agents"}])
    );

    // The same requests from one long-lived pod: nothing in the findings
    // depends on which pod made them.
    std::fs::write(
        logs.join("audit.log"),
        planner_audit(6..=19, |_| "planner-7c9d5b8f4-x2x7q".to_string()),
    )
    .unwrap();
    let steady = audit(snapshot.path(), cache.path());
    let strip = |report: &Value| -> Vec<Value> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                json!([
                    f["id"],
                    f["category"],
                    f["status"],
                    f["permissions"],
                    f["reduction"]
                ])
            })
            .collect()
    };
    assert_eq!(strip(&report), strip(&steady));
}

#[test]
fn an_event_no_workload_can_be_tied_to_is_reported_with_its_line_not_guessed() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    planner_snapshot(snapshot.path());
    let logs = snapshot.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut events = planner_audit(6..=19, |_| "planner-7c9d5b8f4-x2x7q".to_string());
    // Line 57: an event whose user the API server did not record.
    let mut anonymous: Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    anonymous["user"] = json!({});
    anonymous["objectRef"]["resource"] = json!("secrets");
    events.push_str(&(anonymous.to_string() + "\n"));
    std::fs::write(logs.join("audit.log"), events).unwrap();
    let report = audit(snapshot.path(), cache.path());
    // The secret read is nobody's: nothing of it reaches the findings.
    assert_eq!(rbac_findings(&report).len(), 3);
    assert!(!report["findings"].to_string().contains("secrets"));
    let diagnostics: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} | {}",
                d["source"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    let line = diagnostics
        .iter()
        .find(|d| d.contains("audit.log:57"))
        .unwrap_or_else(|| panic!("the event is not reported by line: {diagnostics:#?}"));
    assert!(
        line.contains("user") || line.contains("unattributable"),
        "{line}"
    );
    let summary = diagnostics
        .iter()
        .find(|d| d.starts_with("k8s-audit |"))
        .unwrap();
    assert!(
        summary.contains("57 record(s): 56 credited as use"),
        "{summary}"
    );
}

/// BigQuery data-access audit entries of the demo's `bq-agent` GSA, as
/// `gcloud logging read --format=json` prints them (one pretty JSON array).
fn bigquery_audit(days: std::ops::RangeInclusive<u32>) -> String {
    let email = "bq-agent@acme-data.iam.gserviceaccount.com";
    let mut entries = Vec::new();
    for day in days {
        for (permission, resource, method, minute) in [
            (
                "bigquery.jobs.create",
                "projects/acme-data/jobs/bquxjob_4e1d_{day}",
                "google.cloud.bigquery.v2.JobService.InsertJob",
                5,
            ),
            (
                "bigquery.tables.getData",
                "projects/acme-data/datasets/analytics/tables/revenue",
                "google.cloud.bigquery.v2.JobService.InsertJob",
                6,
            ),
        ] {
            let resource = resource.replace("{day}", &day.to_string());
            let at = format!("2026-11-{day:02}T07:{minute:02}:41.204817Z");
            entries.push(json!({
                "insertId": format!("-7x2kq3e{day:02}{minute:02}"),
                "logName": "projects/acme-data/logs/cloudaudit.googleapis.com%2Fdata_access",
                "protoPayload": {
                    "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                    "authenticationInfo": {
                        "principalEmail": email,
                        "serviceAccountDelegationInfo": [{"principalSubject": "serviceAccount:acme-prod.svc.id.goog[analytics/bq-agent]"}]
                    },
                    "authorizationInfo": [{"granted": true, "permission": permission, "resource": resource,
                                           "resourceAttributes": {}}],
                    "methodName": method,
                    "requestMetadata": {"callerIp": "10.8.0.23", "callerSuppliedUserAgent": "gl-python/3.12.3 gccl/3.25.0"},
                    "resourceName": resource,
                    "serviceName": "bigquery.googleapis.com",
                    "status": {}
                },
                "receiveTimestamp": at,
                "resource": {"labels": {"project_id": "acme-data"}, "type": "bigquery_project"},
                "severity": "INFO",
                "timestamp": at
            }));
        }
    }
    serde_json::to_string_pretty(&entries).unwrap()
}

#[test]
fn gcp_audit_logs_scope_an_owned_binding_down_to_a_custom_role_of_what_was_used() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    copy_tree(Path::new(DEMO), snapshot.path());
    let logs = snapshot.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("bigquery.json"), bigquery_audit(8..=17)).unwrap();
    let report = audit(snapshot.path(), cache.path());
    let job_user = findings(&report, "unused-excess")
        .into_iter()
        .find(|f| {
            f["agent"] == "prod-gke/analytics/Deployment/bq-agent"
                && f["grant"]["source"]
                    .as_str()
                    .unwrap()
                    .ends_with("projects/acme-data IAM binding roles/bigquery.jobUser")
        })
        .unwrap_or_else(|| panic!("no jobUser finding: {report:#}"));
    assert_eq!(job_user["status"], "open");
    // The role, expanded to its nine permissions, less the one used, less
    // the reads only Data Access logs would show (BigQuery's are always on,
    // the others' were never seen): those cannot be judged and are kept.
    let never: Vec<&str> = strings(&job_user["permissions"]);
    assert_eq!(
        never,
        [
            "bigquery.config.get",
            "dataform.folders.create",
            "dataform.repositories.create"
        ]
    );
    assert!(
        job_user["rationale"]
            .as_str()
            .unwrap()
            .contains("5 more cannot be judged (GCP records these reads")
    );

    let dir = snapshot.path().join("artifacts-out");
    let role_path = job_user["reduction"]["artifact"].as_str().unwrap();
    let role: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join(role_path)).unwrap()).unwrap();
    assert_eq!(role["stage"], "GA");
    assert_eq!(
        role["includedPermissions"],
        json!([
            "bigquery.jobs.create",
            "dataform.locations.get",
            "dataform.locations.list",
            "dataform.repositories.list",
            "resourcemanager.projects.get",
            "resourcemanager.projects.list"
        ])
    );
    // The script that swaps the binding parses as shell and names both roles.
    let script_path = std::fs::read_dir(dir.join(Path::new(role_path).parent().unwrap()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "sh")
                && std::fs::read_to_string(p)
                    .unwrap()
                    .contains("roles/bigquery.jobUser")
        })
        .unwrap();
    let script = std::fs::read_to_string(&script_path).unwrap();
    assert_parses_as_shell(&script_path);
    assert!(
        script.contains("gcloud projects add-iam-policy-binding acme-data"),
        "{script}"
    );
    assert!(
        script.contains("gcloud projects remove-iam-policy-binding acme-data"),
        "{script}"
    );
    assert!(
        script.contains("--member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com"),
        "{script}"
    );
    // Run with a gcloud that records its arguments: the role is found and
    // updated from the file, then the binding swapped, exactly the one
    // without a condition (the project's policy holds a conditional one,
    // so gcloud would otherwise prompt, or refuse without a terminal).
    let calls = gcloud_calls(&script_path);
    let verbs: Vec<String> = calls.iter().map(|c| c[..3].join(" ")).collect();
    assert_eq!(
        verbs,
        [
            "iam roles describe",
            "iam roles update",
            "projects add-iam-policy-binding acme-data",
            "projects remove-iam-policy-binding acme-data"
        ],
        "{calls:?}"
    );
    assert_eq!(
        calls[2].last().map(String::as_str),
        Some("--condition=None")
    );
    assert_eq!(
        calls[3].last().map(String::as_str),
        Some("--condition=None")
    );

    // The Data Editor binding holds only under an IAM condition: its
    // replacement is bound under the same condition, and the old binding
    // removed by it, word for word (gcloud matches expression, title and
    // description exactly), from a file next to the script.
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(DEMO).join("gcp/acme-data-iam-policy.json")).unwrap(),
    )
    .unwrap();
    let condition = &fixture["policy"]["bindings"][1]["condition"];
    assert!(
        condition["expression"]
            .as_str()
            .unwrap()
            .ends_with("timestamp(\"2027-01-01T00:00:00Z\")\n"),
        "{condition}"
    );
    let editor = findings(&report, "unused-excess")
        .into_iter()
        .find(|f| {
            f["agent"] == "prod-gke/analytics/Deployment/bq-agent"
                && f["grant"]["source"]
                    .as_str()
                    .unwrap()
                    .ends_with("projects/acme-data IAM binding roles/bigquery.dataEditor")
        })
        .unwrap_or_else(|| panic!("no dataEditor finding: {report:#}"));
    assert_eq!(editor["status"], "open", "{editor:#}");
    let summary = editor["reduction"]["summary"].as_str().unwrap();
    let role_path = dir.join(editor["reduction"]["artifact"].as_str().unwrap());
    let short = role_path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_start_matches("gcp-role-")
        .trim_end_matches(".yaml")
        .to_string();
    assert!(
        summary.contains(&format!(
            " on the same resource under the old binding's IAM condition (gcp-condition-{short}.yaml) and removes"
        )),
        "{summary}"
    );
    let condition_path = role_path.with_file_name(format!("gcp-condition-{short}.yaml"));
    let written: Value =
        serde_yaml::from_str(&std::fs::read_to_string(&condition_path).unwrap()).unwrap();
    assert_eq!(&written, condition);
    let script_path = role_path.with_file_name(format!("gcp-rebind-{short}.sh"));
    assert_parses_as_shell(&script_path);
    let calls = gcloud_calls(&script_path);
    let bindings: Vec<&Vec<String>> = calls
        .iter()
        .filter(|c| c[0] == "projects" && c[1].ends_with("-iam-policy-binding"))
        .collect();
    assert_eq!(bindings.len(), 2, "{calls:?}");
    let role = format!("--role=projects/acme-data/roles/scopegraph_analytics_bq_agent_{short}");
    let flag = format!("--condition-from-file={}", condition_path.display());
    assert_eq!(
        bindings[0][1..],
        [
            "add-iam-policy-binding",
            "acme-data",
            "--member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com",
            role.as_str(),
            flag.as_str()
        ]
    );
    assert_eq!(
        bindings[1][1..],
        [
            "remove-iam-policy-binding",
            "acme-data",
            "--member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com",
            "--role=roles/bigquery.dataEditor",
            flag.as_str()
        ]
    );
}

const AZURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../plugins/provider-azure/tests/fixtures"
);

/// Azure Activity Log records (`az monitor activity-log list` output) of
/// the report agent's managed identity listing the storage account's keys.
fn list_keys_activity(days: std::ops::RangeInclusive<u32>) -> String {
    let account = "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/streportsprod";
    let records: Vec<Value> = days
        .map(|day| {
            json!({
                "authorization": {"action": "Microsoft.Storage/storageAccounts/listKeys/action", "scope": account},
                "caller": "a1c2e3f4-1111-4a2b-8c3d-5e6f7a8b9c01",
                "category": {"localizedValue": "Administrative", "value": "Administrative"},
                "claims": {
                    "appid": "a1c2e3f4-1111-4a2b-8c3d-5e6f7a8b9c01",
                    "http://schemas.microsoft.com/identity/claims/objectidentifier": "b2d3f4a5-2222-4b3c-9d4e-6f7a8b9c0d12",
                    "xms_mirid": "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/resourcegroups/rg-agents-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-report-agent",
                    "idtyp": "app"
                },
                "correlationId": format!("5d1e{day:04}-7a3b-4c2d-9e8f-0a1b2c3d4e5f"),
                "eventDataId": format!("9c8b{day:04}-1d2e-4f3a-8b7c-6d5e4f3a2b1c"),
                "eventName": {"localizedValue": "End request", "value": "EndRequest"},
                "eventTimestamp": format!("2026-11-{day:02}T06:30:12.4871234Z"),
                "level": "Informational",
                "operationName": {"localizedValue": "List Storage Account Keys", "value": "Microsoft.Storage/storageAccounts/listKeys/action"},
                "resourceGroupName": "rg-data-prod",
                "resourceId": account,
                "resourceProviderName": {"localizedValue": "Microsoft Storage", "value": "Microsoft.Storage"},
                "status": {"localizedValue": "Succeeded", "value": "Succeeded"},
                "subStatus": {"localizedValue": "OK (HTTP Status Code: 200)", "value": "OK"},
                "subscriptionId": "7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c",
                "tenantId": "3b0f6c2e-8d41-4a7b-9c55-1e2f3a4b5c6d"
            })
        })
        .collect();
    serde_json::to_string_pretty(&records).unwrap()
}

#[test]
fn azure_activity_scopes_an_owned_assignment_down_and_leaves_unloggable_reads_unjudged() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    copy_tree(Path::new(AZURE), snapshot.path());
    // The report agent also holds Storage Account Contributor on the account.
    let assignments_path = snapshot.path().join("azure/role-assignments.json");
    let mut assignments: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&assignments_path).unwrap()).unwrap();
    let mut contributor = assignments[3].clone();
    let scope = contributor["scope"].as_str().unwrap().to_string();
    contributor["condition"] = Value::Null;
    contributor["conditionVersion"] = Value::Null;
    contributor["name"] = json!("0a1b2c3d-0010-4e5f-8a9b-0c1d2e3f4a10");
    contributor["id"] = json!(format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-0010-4e5f-8a9b-0c1d2e3f4a10"
    ));
    contributor["roleDefinitionName"] = json!("Storage Account Contributor");
    contributor["roleDefinitionId"] = json!(
        "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/providers/Microsoft.Authorization/roleDefinitions/17d1049b-9a84-46fb-8f53-869881c3d3ab"
    );
    assignments.push(contributor);
    std::fs::write(
        &assignments_path,
        serde_json::to_string_pretty(&assignments).unwrap(),
    )
    .unwrap();
    let logs = snapshot.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("activity.json"), list_keys_activity(6..=19)).unwrap();

    let report = audit(snapshot.path(), cache.path());
    let of_assignment = |suffix: &str| -> Vec<Value> {
        findings(&report, "unused-excess")
            .into_iter()
            .filter(|f| f["grant"]["source"].as_str().unwrap().ends_with(suffix))
            .cloned()
            .collect()
    };
    let contributor = of_assignment("0a1b2c3d-0010-4e5f-8a9b-0c1d2e3f4a10");
    let open: Vec<&Value> = contributor
        .iter()
        .filter(|f| f["status"] == "open")
        .collect();
    assert_eq!(open.len(), 1, "{contributor:#?}");
    let never: Vec<&str> = strings(&open[0]["permissions"]);
    assert!(
        never.contains(&"Microsoft.Storage/storageAccounts/delete"),
        "{never:?}"
    );
    assert!(
        !never.iter().any(|p| p.ends_with("/read")),
        "reads are not judged: {never:?}"
    );
    assert!(!never.contains(&"Microsoft.Storage/storageAccounts/listKeys/action"));

    let dir = snapshot.path().join("artifacts-out");
    let role_path = open[0]["reduction"]["artifact"].as_str().unwrap();
    let role: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(role_path)).unwrap()).unwrap();
    assert_eq!(role["IsCustom"], true);
    // The observed action, plus the reads the Activity Log cannot show
    // (kept, not judged); none of the writes and deletes never seen.
    let actions: Vec<&str> = strings(&role["Actions"]);
    assert!(actions.contains(&"Microsoft.Storage/storageAccounts/listKeys/action"));
    assert!(actions.contains(&"Microsoft.Storage/storageAccounts/read"));
    assert!(
        actions.iter().all(|a| a.ends_with("/read")
            || a.ends_with("/Read")
            || a.ends_with("listKeys/action")),
        "{actions:?}"
    );
    assert_eq!(role["DataActions"], json!([]));
    // Azure takes no resource as a custom role's assignable scope: the
    // storage account's resource group; the assignment stays on the account.
    let group = "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/resourceGroups/rg-data-prod";
    assert!(scope.starts_with(group) && scope != group, "{scope}");
    assert_eq!(role["AssignableScopes"], json!([group]));
    // Every script written parses, the reassign script among them (it
    // creates the custom role if it does not exist yet and updates it from
    // the file if it does, so that it can be run again).
    let scripts = super::support::scripts_that_parse(&dir);
    let reassign = format!(
        "azure-reassign-{}.sh",
        role_path
            .rsplit("azure-role-")
            .next()
            .unwrap()
            .trim_end_matches(".json")
    );
    assert!(scripts.contains(&reassign), "{scripts:?}");
    let text = std::fs::read_to_string(dir.join(role_path).with_file_name(&reassign)).unwrap();
    assert!(
        text.contains("EXISTING_ROLE=\"$(az role definition list --custom-role-only true --name "),
        "{text}"
    );
    assert!(
        text.contains(
            "if [ -n \"$EXISTING_ROLE\" ]; then az role definition update --role-definition "
        ),
        "{text}"
    );
    // Run with an az that records its arguments: the role is looked up at
    // its assignable scope, created from the file, assigned at the
    // assignment's scope with no condition (the assignment has none), and
    // the old assignment deleted.
    let calls = az_calls(&dir.join(role_path).with_file_name(&reassign));
    let verbs: Vec<String> = calls.iter().map(|c| c[..3].join(" ")).collect();
    assert_eq!(
        verbs,
        [
            "role definition list",
            "role definition create",
            "role assignment create",
            "role assignment delete"
        ],
        "{calls:?}"
    );
    let flag = |call: &[String], name: &str| -> Option<String> {
        let at = call.iter().position(|w| w == name)?;
        call.get(at + 1).cloned()
    };
    assert_eq!(flag(&calls[0], "--scope").as_deref(), Some(group));
    assert_eq!(flag(&calls[2], "--scope").as_deref(), Some(scope.as_str()));
    assert_eq!(flag(&calls[2], "--condition"), None);

    // The Storage Blob Data Reader assignment grants control-plane actions
    // and data actions (a grant each). Every finding of it with files
    // points to one role for the whole assignment, which keeps the data
    // actions the Activity Log cannot judge: its script deletes the
    // assignment, and with it both planes.
    let blob_reader = of_assignment("0a1b2c3d-0004-4e5f-8a9b-0c1d2e3f4a04");
    let files: Vec<&str> = blob_reader
        .iter()
        .filter_map(|f| f["reduction"]["artifact"].as_str())
        .collect();
    assert!(!files.is_empty(), "{blob_reader:#?}");
    assert!(files.iter().all(|f| *f == files[0]), "{files:?}");
    let role: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(files[0])).unwrap()).unwrap();
    assert_eq!(
        strings(&role["DataActions"]),
        ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
        "{role:#}"
    );
    assert!(!strings(&role["Actions"]).is_empty(), "{role:#}");
    // The assignment reads blobs in container `reports` only (its ABAC
    // condition): the new one is made under the same condition, word for
    // word, or it would read every container of the account.
    let fixture: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(Path::new(AZURE).join("azure/role-assignments.json")).unwrap(),
    )
    .unwrap();
    let condition = fixture[3]["condition"].as_str().unwrap();
    assert!(condition.contains("StringEquals 'reports'"), "{condition}");
    assert_eq!(fixture[3]["conditionVersion"], "2.0");
    let script = dir.join(
        files[0]
            .replace("/azure-role-", "/azure-reassign-")
            .replace(".json", ".sh"),
    );
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(
        text.contains(
            " --condition '((!(ActionMatches{'\\''Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'\\''})) \
             OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals '\\''reports'\\''))' \
             --condition-version 2.0\n"
        ),
        "{text}"
    );
    let calls = az_calls(&script);
    let create: Vec<&Vec<String>> = calls
        .iter()
        .filter(|c| c[..3] == ["role", "assignment", "create"])
        .collect();
    assert_eq!(create.len(), 1, "{calls:?}");
    assert_eq!(
        create[0][create[0].len() - 4..],
        ["--condition", condition, "--condition-version", "2.0"]
    );
    assert_eq!(
        role["AssignableScopes"],
        json!(["/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/resourceGroups/rg-data-prod"])
    );

    // The Reader assignment at the management group is all reads: the
    // Activity Log cannot tell, so it is not called unused.
    let reader = of_assignment("0a1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a01");
    assert_eq!(reader.len(), 1);
    assert_eq!(reader[0]["status"], "insufficient-observation");
}

#[test]
fn inherited_cloud_grants_get_a_dedicated_identity_federated_to_the_agents_service_account() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    copy_tree(Path::new(DEMO), snapshot.path());
    let report = audit(snapshot.path(), cache.path());
    let dir = snapshot.path().join("artifacts-out");
    let inherited = findings(&report, "inherited-overreach");
    // The EKS support agent inherits the node role's ECR read-only policy.
    let node_role = inherited
        .iter()
        .find(|f| {
            f["agent"] == "prod-eks/support/Deployment/support-agent"
                && f["grant"]["source"]
                    == "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
        })
        .unwrap_or_else(|| panic!("no node-role finding: {report:#}"));
    let files: Vec<String> = std::fs::read_dir(
        dir.join("inherited-overreach/prod-eks/support/deployment-support-agent"),
    )
    .unwrap()
    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
    .collect();
    assert_eq!(node_role["grant"]["owned"], false);
    // The script for this grant names it; its short id names the rest.
    let script = files
        .iter()
        .find(|f| {
            f.starts_with("aws-dedicated-")
                && std::fs::read_to_string(
                    dir.join("inherited-overreach/prod-eks/support/deployment-support-agent")
                        .join(f),
                )
                .unwrap()
                .contains("AmazonEC2ContainerRegistryReadOnly")
        })
        .unwrap_or_else(|| panic!("no script for the node role grant in {files:?}"));
    let short = script
        .trim_start_matches("aws-dedicated-")
        .trim_end_matches(".sh")
        .to_string();
    for name in [
        format!("aws-role-trust-{short}.json"),
        format!("aws-role-policy-{short}.json"),
        format!("aws-dedicated-{short}.sh"),
    ] {
        assert!(files.contains(&name), "{name} not in {files:?}");
    }
    let read = |name: String| {
        std::fs::read_to_string(
            dir.join("inherited-overreach/prod-eks/support/deployment-support-agent")
                .join(name),
        )
        .unwrap()
    };
    let trust: Value = serde_json::from_str(&read(format!("aws-role-trust-{short}.json"))).unwrap();
    let issuer = "oidc.eks.eu-west-1.amazonaws.com/id/4F1C6A0E2B9D8E7F6A5B4C3D2E1F0A9B";
    assert_eq!(
        trust["Statement"][0]["Principal"]["Federated"],
        format!("arn:aws:iam::111122223333:oidc-provider/{issuer}")
    );
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"][format!("{issuer}:sub")],
        "system:serviceaccount:support:support-agent"
    );
    // The carried policy is valid IAM; the grant itself was on `*`.
    let lint = validate::iam_policy(&read(format!("aws-role-policy-{short}.json")));
    let issues: Vec<String> = serde_json::from_str::<Vec<(String, String)>>(&lint)
        .unwrap()
        .into_iter()
        .map(|(issue, _)| issue)
        .collect();
    assert!(issues.iter().all(|i| i == "RESOURCE_STAR"), "{lint}");
    // Every script parses as shell.
    for script in files.iter().filter(|f| f.ends_with(".sh")) {
        let path = dir
            .join("inherited-overreach/prod-eks/support/deployment-support-agent")
            .join(script);
        assert_parses_as_shell(&path);
    }

    // The GKE agent on a GCE_METADATA pool gets its own GSA, bound for
    // Workload Identity to its KSA.
    let gke_dir = dir.join("inherited-overreach/prod-gke/analytics/deployment-bq-agent");
    let scripts: Vec<String> = std::fs::read_dir(&gke_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(!scripts.is_empty());
    for script in &scripts {
        assert!(
            script.contains("gcloud iam service-accounts create"),
            "{script}"
        );
        assert!(
            script.contains("--member='serviceAccount:acme-prod.svc.id.goog[analytics/bq-agent]'"),
            "{script}"
        );
        assert!(
            script.contains("iam.gke.io/gcp-service-account="),
            "{script}"
        );
    }
}
