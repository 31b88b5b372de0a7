//! The provider on a realistic snapshot: the Kubernetes default RBAC plus a
//! hand-written `prod` cluster (see `tests/fixtures/README.md`).

// Clippy exempts `#[test]` functions but not the helpers of a test binary.
#![allow(clippy::unwrap_used, clippy::panic)]

use provider_kubernetes::KubernetesProvider;
use scopegraph_sdk::{Document, Grant, Level, Node, Provider, ProviderOutput, mock::MockHost};
use std::collections::{BTreeMap, BTreeSet, HashSet};

const FIXTURES: &[(&str, &str)] = &[
    (
        "bootstrap/cluster-roles",
        include_str!("fixtures/bootstrap-policy/cluster-roles.json"),
    ),
    (
        "bootstrap/cluster-role-bindings",
        include_str!("fixtures/bootstrap-policy/cluster-role-bindings.json"),
    ),
    (
        "bootstrap/namespace-roles",
        include_str!("fixtures/bootstrap-policy/namespace-roles.json"),
    ),
    (
        "bootstrap/namespace-role-bindings",
        include_str!("fixtures/bootstrap-policy/namespace-role-bindings.json"),
    ),
    (
        "prod/analytics-workloads",
        include_str!("fixtures/prod/analytics-workloads.json"),
    ),
    (
        "prod/kube-system-pods",
        include_str!("fixtures/prod/kube-system-pods.json"),
    ),
    (
        "prod/analytics-rbac",
        include_str!("fixtures/prod/analytics-rbac.json"),
    ),
    (
        "prod/crb-report-agent-tools",
        include_str!("fixtures/prod/clusterrolebinding-report-agent-tools.json"),
    ),
    (
        "prod/rolebinding-broken",
        include_str!("fixtures/prod/rolebinding-broken.json"),
    ),
];

fn document(id: &str, content: &str, cluster: &str) -> Document {
    Document {
        id: id.into(),
        source: format!("snapshot/{id}.json"),
        kind: "kubernetes/v1/List".into(),
        context: vec![("cluster".into(), cluster.into())],
        content: content.into(),
    }
}

fn snapshot(cluster: &str) -> Vec<Document> {
    FIXTURES
        .iter()
        .map(|(id, content)| document(id, content, cluster))
        .collect()
}

/// Through the SDK's mock host, as a plugin author's test would.
fn resolve(documents: Vec<Document>) -> ProviderOutput {
    let (out, logs) = MockHost::new().run(|| KubernetesProvider::resolve(documents));
    assert!(logs.is_empty(), "{logs:?}");
    out.unwrap()
}

fn node<'a>(out: &'a ProviderOutput, id: &str) -> &'a Node {
    out.nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("no node {id}"))
}

fn attribute<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn grants<'a>(out: &'a ProviderOutput, holder: &str, source: &str) -> Vec<&'a Grant> {
    out.grants
        .iter()
        .filter(|g| g.holder == holder && g.source == source)
        .collect()
}

fn permissions(grants: &[&Grant]) -> BTreeSet<String> {
    grants
        .iter()
        .flat_map(|g| g.permissions.iter().cloned())
        .collect()
}

fn strs(items: &[String]) -> Vec<&str> {
    items.iter().map(String::as_str).collect()
}

const REPORT_AGENT_SA: &str = "k8s:prod/analytics/ServiceAccount/report-agent";

#[test]
fn output_satisfies_the_hosts_checks() {
    let out = resolve(snapshot("prod"));
    let ids: HashSet<&str> = out.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), out.nodes.len(), "node ids are unique");
    let grant_ids: HashSet<&str> = out.grants.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(grant_ids.len(), out.grants.len(), "grant ids are unique");
    // Every edge and grant ends at a node, except the role nobody exported.
    let dangling: BTreeSet<&str> = out
        .edges
        .iter()
        .flat_map(|e| [e.from.as_str(), e.to.as_str()])
        .chain(out.grants.iter().map(|g| g.holder.as_str()))
        .filter(|id| !ids.contains(id))
        .collect();
    assert_eq!(
        dangling,
        BTreeSet::from(["k8s:prod/analytics/Role/exporter-legacy"])
    );
    assert!(
        out.grants
            .iter()
            .all(|g| !g.permissions.is_empty() && !g.resources.is_empty())
    );
    assert_eq!(resolve(snapshot("prod")), out, "deterministic");
}

#[test]
fn one_workload_per_top_level_controller() {
    let out = resolve(snapshot("prod"));
    let workloads: BTreeMap<&str, (&str, &str, &str)> = out
        .nodes
        .iter()
        .filter(|n| n.kind == "workload")
        .map(|n| {
            let a = |k| attribute(n, k).unwrap();
            (
                n.id.as_str(),
                (a("pods"), a("service-account"), a("present")),
            )
        })
        .collect();
    assert_eq!(
        workloads,
        BTreeMap::from([
            // Three pods across two ReplicaSets of one Deployment.
            (
                "k8s:prod/analytics/Deployment/report-agent",
                ("3", "report-agent", "true")
            ),
            // Job pods belong to the CronJob that made the Job.
            (
                "k8s:prod/analytics/CronJob/nightly-export",
                ("1", "exporter", "true")
            ),
            (
                "k8s:prod/analytics/Pod/debug-shell",
                ("1", "default", "true")
            ),
            // Only the pods were exported: owners inferred from their references.
            (
                "k8s:prod/kube-system/Deployment/coredns",
                ("2", "coredns", "false")
            ),
            (
                "k8s:prod/kube-system/DaemonSet/kube-proxy",
                ("1", "kube-proxy", "false")
            ),
            (
                "k8s:prod/kube-system/Pod/etcd-cp-1",
                ("1", "default", "true")
            ),
            (
                "k8s:prod/kube-system/ReplicaSet/legacy-worker",
                ("1", "default", "false")
            ),
        ])
    );
}

#[test]
fn workload_attributes_merge_controller_and_pods() {
    let out = resolve(snapshot("prod"));
    let agent = node(&out, "k8s:prod/analytics/Deployment/report-agent");
    assert_eq!(agent.name, "report-agent");
    let expected = [
        ("namespace", "analytics"),
        ("workload-kind", "Deployment"),
        ("service-account", "report-agent"),
        // The pod spec is silent; the ServiceAccount opts out.
        ("automount-token", "false"),
        // Labelled on the pod template only.
        ("agent", "true"),
        ("created", "2026-09-14T08:12:03Z"),
        ("pods", "3"),
        ("label:app.kubernetes.io/part-of", "reporting"),
    ];
    for (key, value) in expected {
        assert_eq!(attribute(agent, key), Some(value), "{key}");
    }
    assert_eq!(
        agent.evidence.first().unwrap().reference,
        "prod/analytics-workloads#/items/0"
    );

    let cron = node(&out, "k8s:prod/analytics/CronJob/nightly-export");
    assert_eq!(attribute(cron, "agent"), Some("false"));
    assert_eq!(attribute(cron, "automount-token"), Some("true"));
    assert_eq!(attribute(cron, "workload-kind"), Some("CronJob"));

    // Without the controller, labels come from the pods minus generated ones.
    let coredns = node(&out, "k8s:prod/kube-system/Deployment/coredns");
    assert_eq!(attribute(coredns, "label:k8s-app"), Some("kube-dns"));
    assert_eq!(attribute(coredns, "label:pod-template-hash"), None);
    assert_eq!(attribute(coredns, "created"), Some("2026-03-02T11:00:40Z"));
}

#[test]
fn workloads_run_as_service_accounts_in_their_implicit_groups() {
    let out = resolve(snapshot("prod"));
    let runs_as: BTreeSet<(&str, &str)> = out
        .edges
        .iter()
        .filter(|e| e.kind == "runs-as")
        .inspect(|e| assert_eq!(e.via, "spec.serviceAccountName"))
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert!(runs_as.contains(&(
        "k8s:prod/analytics/Deployment/report-agent",
        REPORT_AGENT_SA
    )));
    assert!(runs_as.contains(&(
        "k8s:prod/analytics/CronJob/nightly-export",
        "k8s:prod/analytics/ServiceAccount/exporter"
    )));
    assert_eq!(runs_as.len(), 7, "one per workload");

    let sa = node(&out, REPORT_AGENT_SA);
    assert_eq!(
        (sa.kind.as_str(), sa.name.as_str()),
        (
            "service-account",
            "system:serviceaccount:analytics:report-agent"
        )
    );
    assert_eq!(attribute(sa, "present"), Some("true"));
    assert_eq!(attribute(sa, "automount-token"), Some("false"));
    let exporter = node(&out, "k8s:prod/analytics/ServiceAccount/exporter");
    assert_eq!(attribute(exporter, "present"), Some("false"));
    // Known only as a binding subject in the default RBAC.
    assert_eq!(
        attribute(
            node(&out, "k8s:prod/kube-system/ServiceAccount/bootstrap-signer"),
            "present"
        ),
        Some("false")
    );

    let groups: BTreeSet<&str> = out
        .edges
        .iter()
        .filter(|e| e.from == REPORT_AGENT_SA && e.kind == "member-of")
        .inspect(|e| assert_eq!(e.via, "implicit group"))
        .map(|e| e.to.as_str())
        .collect();
    assert_eq!(
        groups,
        BTreeSet::from([
            "k8s:prod/Group/system:authenticated",
            "k8s:prod/Group/system:serviceaccounts",
            "k8s:prod/Group/system:serviceaccounts:analytics",
        ])
    );
    assert!(groups.iter().all(|g| node(&out, g).kind == "group"));
}

#[test]
fn cluster_admin_is_everything_everywhere_for_system_masters() {
    let out = resolve(snapshot("prod"));
    let masters = "k8s:prod/Group/system:masters";
    let found = grants(
        &out,
        masters,
        "ClusterRoleBinding cluster-admin -> ClusterRole cluster-admin",
    );
    let summary: Vec<(&str, Vec<&str>, Vec<&str>)> = found
        .iter()
        .map(|g| (g.id.as_str(), strs(&g.permissions), strs(&g.resources)))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "k8s:prod/ClusterRoleBinding cluster-admin#0#0",
                vec!["*/*:*"],
                vec!["*/*/*/*"]
            ),
            (
                "k8s:prod/ClusterRoleBinding cluster-admin#0#1",
                vec!["nonresource:*:*"],
                vec!["*"]
            ),
        ]
    );
    let evidence: Vec<&str> = found[0]
        .evidence
        .iter()
        .map(|e| e.reference.as_str())
        .collect();
    assert_eq!(
        evidence,
        [
            "bootstrap/cluster-role-bindings#/items/0",
            "bootstrap/cluster-roles#/items/1/rules/0"
        ]
    );
    // The v1beta1 binding still yields its edge.
    assert!(out.edges.iter().any(|e| e.from == masters
        && e.to == "k8s:prod/ClusterRole/cluster-admin"
        && e.kind == "bound-to"
        && e.via == "ClusterRoleBinding cluster-admin"));
}

#[test]
fn role_binding_to_aggregated_edit_is_scoped_to_its_namespace() {
    let out = resolve(snapshot("prod"));
    let found = grants(
        &out,
        REPORT_AGENT_SA,
        "RoleBinding analytics/report-agent-edit -> ClusterRole edit",
    );
    let granted = permissions(&found);
    // From system:aggregate-to-edit, and from view, which edit aggregates too.
    for permission in [
        "apps/deployments:patch",
        "pods/exec:create",
        "secrets:get",
        "pods:get",
        "batch/cronjobs:list",
    ] {
        assert!(granted.contains(permission), "{permission}");
    }
    // Admin's own additions stay out of edit.
    assert!(!granted.contains("rbac.authorization.k8s.io/rolebindings:create"));
    let deployments = found
        .iter()
        .find(|g| {
            g.permissions
                .contains(&"apps/deployments:patch".to_string())
        })
        .unwrap();
    assert!(
        deployments
            .resources
            .contains(&"analytics/apps/deployments/*".to_string())
    );
    assert!(
        found
            .iter()
            .flat_map(|g| &g.resources)
            .all(|r| r.starts_with("analytics/"))
    );
    assert!(
        deployments.evidence.iter().any(|e| e
            .summary
            .contains("ClusterRole system:aggregate-to-edit, aggregated into ClusterRole edit")),
        "{:?}",
        deployments.evidence
    );
}

#[test]
fn admin_aggregates_edit_and_view_transitively() {
    let mut documents = snapshot("prod");
    documents.push(document(
        "alice-admin",
        r#"{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "alice-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice@acme.io"}]}"#,
        "prod",
    ));
    let out = resolve(documents);
    let alice = "k8s:prod/User/alice@acme.io";
    assert_eq!(node(&out, alice).kind, "user");
    let granted = permissions(&grants(
        &out,
        alice,
        "ClusterRoleBinding alice-admin -> ClusterRole admin",
    ));
    for permission in [
        "rbac.authorization.k8s.io/rolebindings:create",
        "apps/deployments:patch",
        "pods:get",
    ] {
        assert!(granted.contains(permission), "{permission}");
    }
    let role_rules = |name: &str| {
        attribute(node(&out, &format!("k8s:prod/ClusterRole/{name}")), "rules")
            .unwrap()
            .parse::<usize>()
            .unwrap()
    };
    // view: aggregate-to-view's 10 rules; edit adds aggregate-to-edit's 13; admin adds 2 more.
    assert_eq!(
        (role_rules("view"), role_rules("edit"), role_rules("admin")),
        (10, 23, 25)
    );
}

#[test]
fn view_for_a_namespace_group_lacks_secrets() {
    let out = resolve(snapshot("prod"));
    let group = "k8s:prod/Group/system:serviceaccounts:analytics";
    let found = grants(
        &out,
        group,
        "ClusterRoleBinding analytics-sa-view -> ClusterRole view",
    );
    let granted = permissions(&found);
    assert!(granted.contains("pods:get"));
    assert!(!granted.iter().any(|p| p.starts_with("secrets:")));
    assert!(
        found
            .iter()
            .flat_map(|g| &g.resources)
            .any(|r| r == "*/pods/*")
    );
}

#[test]
fn role_with_resource_names_grants_those_objects_only() {
    let out = resolve(snapshot("prod"));
    let found = grants(
        &out,
        REPORT_AGENT_SA,
        "RoleBinding analytics/report-agent-reader -> Role analytics/report-reader",
    );
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].permissions, ["secrets:get"]);
    assert_eq!(
        found[0].resources,
        ["analytics/secrets/report-db-credentials"]
    );
    assert_eq!(found[1].resources, ["analytics/configmaps/*"]);
    assert!(out.edges.iter().any(|e| e.from == REPORT_AGENT_SA
        && e.to == "k8s:prod/analytics/Role/report-reader"
        && e.via == "RoleBinding analytics/report-agent-reader"));
}

#[test]
fn custom_aggregation_with_match_expressions() {
    let out = resolve(snapshot("prod"));
    // The subject is a User spelled as the service account's user name.
    let found = grants(
        &out,
        REPORT_AGENT_SA,
        "ClusterRoleBinding report-agent-tools -> ClusterRole agent-tools",
    );
    assert_eq!(
        permissions(&found),
        BTreeSet::from(["pods/exec:create".into(), "nonresource:/metrics:get".into()])
    );
    assert!(
        !out.nodes
            .iter()
            .any(|n| n.id == "k8s:prod/User/system:serviceaccount:analytics:report-agent")
    );
}

#[test]
fn broken_and_dangling_bindings_are_reported_not_fatal() {
    let out = resolve(snapshot("prod"));
    let warnings: Vec<(&str, &str)> = out
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Warn)
        .map(|d| (d.source.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(
        warnings,
        [
            (
                "prod/analytics-rbac",
                "RoleBinding analytics/exporter-legacy: Role analytics/exporter-legacy is not in the snapshot; no grants derived from it"
            ),
            (
                "prod/rolebinding-broken",
                "RoleBinding analytics/half-written has no roleRef; it grants nothing"
            ),
        ]
    );
    assert!(
        !out.grants
            .iter()
            .any(|g| g.source.contains("exporter-legacy") || g.source.contains("half-written"))
    );
    // The dangling binding's subject and edge are still there.
    assert!(
        out.edges
            .iter()
            .any(|e| e.via == "RoleBinding analytics/exporter-legacy")
    );
}

#[test]
fn clusters_are_kept_apart() {
    let mut documents = snapshot("prod");
    documents.extend(snapshot("staging"));
    let out = resolve(documents);
    assert!(
        out.nodes
            .iter()
            .any(|n| n.id == "k8s:staging/analytics/Deployment/report-agent")
    );
    assert_eq!(
        attribute(
            node(&out, "k8s:prod/analytics/Deployment/report-agent"),
            "pods"
        ),
        Some("3")
    );
    let ids: HashSet<&str> = out.grants.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids.len(), out.grants.len());
    assert_eq!(out.grants.len(), 2 * resolve(snapshot("prod")).grants.len());
}

#[test]
fn document_order_does_not_change_the_answer() {
    let forward = resolve(snapshot("prod"));
    let mut reversed = snapshot("prod");
    reversed.reverse();
    let backward = resolve(reversed);
    let by_id = |out: &ProviderOutput| -> BTreeMap<String, (String, Vec<String>, Vec<String>)> {
        out.grants
            .iter()
            .map(|g| {
                (
                    g.id.clone(),
                    (g.holder.clone(), g.permissions.clone(), g.resources.clone()),
                )
            })
            .collect()
    };
    assert_eq!(by_id(&forward), by_id(&backward));
    assert_eq!(forward.nodes, backward.nodes);
}

#[test]
fn documents_of_other_systems_are_ignored_quietly() {
    let others = [
        r#"{"data": {"bound_service_account_names": ["report-agent"]}}"#,
        r#"{"Records": [{"eventSource": "s3.amazonaws.com", "eventName": "GetObject"}]}"#,
        r#"{"apiVersion": "audit.k8s.io/v1", "kind": "Event", "verb": "get"}"#,
        r#"{"apiVersion": "iam.aws.crossplane.io/v1beta1", "kind": "Role", "metadata": {"name": "x"}}"#,
        "not json at all",
        "[1, 2, 3]",
    ];
    let documents = others
        .iter()
        .enumerate()
        .map(|(i, c)| document(&format!("other-{i}"), c, "prod"))
        .collect();
    assert_eq!(resolve(documents), ProviderOutput::default());
}

#[test]
fn a_bindings_manager_is_named_as_the_owner_of_its_grants() {
    let binding = |metadata: serde_json::Value| {
        serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "Group", "name": "system:serviceaccounts", "apiGroup": "rbac.authorization.k8s.io"}]
        })
        .to_string()
    };
    let role = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "view"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    })
    .to_string();
    let owner_of = |metadata: serde_json::Value| -> Option<String> {
        let out = KubernetesProvider::resolve(vec![
            document("role", &role, "prod"),
            document("binding", &binding(metadata), "prod"),
        ])
        .unwrap();
        let grant = out.grants.first().unwrap();
        grant
            .evidence
            .iter()
            .find(|e| e.kind == "owner")
            .map(|e| e.summary.clone())
    };
    assert_eq!(
        owner_of(serde_json::json!({
            "name": "all-sa-view",
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "platform-rbac", "meta.helm.sh/release-namespace": "platform"}
        })),
        Some("ClusterRoleBinding all-sa-view is managed by Helm release platform-rbac in namespace platform".into())
    );
    assert_eq!(
        owner_of(serde_json::json!({
            "name": "all-sa-view",
            "annotations": {"argocd.argoproj.io/tracking-id": "platform-rbac:rbac.authorization.k8s.io/ClusterRoleBinding:/all-sa-view"}
        })),
        Some(
            "ClusterRoleBinding all-sa-view is managed by Argo CD application platform-rbac".into()
        )
    );
    assert_eq!(
        owner_of(serde_json::json!({
            "name": "all-sa-view",
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "rbac.authorization.k8s.io/v1",
                               "time": "2026-03-02T10:11:12Z", "fieldsType": "FieldsV1", "fieldsV1": {}}]
        })),
        Some(
            "ClusterRoleBinding all-sa-view is managed by field manager kubectl-client-side-apply"
                .into()
        )
    );
    assert_eq!(owner_of(serde_json::json!({"name": "all-sa-view"})), None);
}
