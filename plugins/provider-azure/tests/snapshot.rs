//! The provider on a realistic snapshot: the AKS cluster `prod-aks`, its
//! workloads, and the subscription's identities, federated credentials and
//! role assignments (see `tests/fixtures/README.md`).

// Clippy exempts `#[test]` functions but not the helpers of a test binary.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use provider_azure::AzureProvider;
use scopegraph_sdk::{
    Document, EvidenceRef, Grant, Level, Node, Provider, ProviderOutput, mock::MockHost,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};

const SUBSCRIPTION: &str = "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c";
const PROD_ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/3b0f6c2e-8d41-4a7b-9c55-1e2f3a4b5c6d/8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f/";
const DEV_ISSUER: &str = "https://northeurope.oic.prod-aks.azure.com/3b0f6c2e-8d41-4a7b-9c55-1e2f3a4b5c6d/1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6/";

const REPORT_AGENT: &str = "azure:b2d3f4a5-2222-4b3c-9d4e-6f7a8b9c0d12";
const SUPPORT_AGENT: &str = "azure:d4f5a6b7-4444-4d5e-9f6a-8b9c0d1e2f34";
const EXPORTER: &str = "azure:5f6a7b8c-9999-4d0e-8f1a-2b3c4d5e6f78";
const ETL: &str = "azure:3c4d5e6f-bbbb-4071-9b82-c3d4e5f60718";
const KUBELET: &str = "azure:f6b7c8d9-6666-4f7a-9b8c-0d1e2f3a4b56";
const AGENTS_CI: &str = "azure:1a2b3c4d-7777-4a8b-9c0d-e1f2a3b4c5d6";
const PLATFORM_ADMINS: &str = "azure:4d3c2b1a-eeee-4f9e-8d7c-6b5a49382716";
const ALICE: &str = "azure:5e4d3c2b-ffff-4a0f-9e8d-7c6b5a493827";

const APP_CREDENTIALS_PATH: &str =
    "azure/apps/0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4/federated-credentials.json";

/// (document id, path under `fixtures/`, host kind, cluster context, content)
const FIXTURES: &[(&str, &str, &str, Option<&str>, &str)] = &[
    (
        "prod-aks/cluster",
        "prod-aks/cluster.json",
        "azure/aks-cluster",
        Some("prod-aks"),
        include_str!("fixtures/prod-aks/cluster.json"),
    ),
    (
        "prod-aks/workloads",
        "prod-aks/k8s/workloads.json",
        "kubernetes",
        Some("prod-aks"),
        include_str!("fixtures/prod-aks/k8s/workloads.json"),
    ),
    (
        "azure/identities",
        "azure/identities.json",
        "azure/identities",
        None,
        include_str!("fixtures/azure/identities.json"),
    ),
    (
        "azure/service-principals",
        "azure/service-principals.json",
        "azure/service-principals",
        None,
        include_str!("fixtures/azure/service-principals.json"),
    ),
    (
        "azure/fic-report-agent",
        "azure/federated-credentials/id-report-agent.json",
        "azure/federated-credentials",
        None,
        include_str!("fixtures/azure/federated-credentials/id-report-agent.json"),
    ),
    (
        "azure/fic-support-agent",
        "azure/federated-credentials/id-support-agent.json",
        "azure/federated-credentials",
        None,
        include_str!("fixtures/azure/federated-credentials/id-support-agent.json"),
    ),
    (
        "azure/fic-exporter",
        "azure/federated-credentials/id-exporter.json",
        "azure/federated-credentials",
        None,
        include_str!("fixtures/azure/federated-credentials/id-exporter.json"),
    ),
    (
        "azure/fic-etl",
        "azure/federated-credentials/id-etl.json",
        "azure/federated-credentials",
        None,
        include_str!("fixtures/azure/federated-credentials/id-etl.json"),
    ),
    (
        "azure/app-fic-agents-ci",
        APP_CREDENTIALS_PATH,
        "azure/federated-credentials",
        None,
        include_str!(
            "fixtures/azure/apps/0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4/federated-credentials.json"
        ),
    ),
    (
        "azure/role-assignments",
        "azure/role-assignments.json",
        "azure/role-assignments",
        None,
        include_str!("fixtures/azure/role-assignments.json"),
    ),
    (
        "azure/role-definitions",
        "azure/role-definitions.json",
        "azure/role-definitions",
        None,
        include_str!("fixtures/azure/role-definitions.json"),
    ),
];

fn document(id: &str, path: &str, kind: &str, cluster: Option<&str>, content: &str) -> Document {
    Document {
        id: id.into(),
        source: format!("snapshot/{path}"),
        kind: kind.into(),
        context: cluster
            .map(|c| vec![("cluster".to_string(), c.to_string())])
            .unwrap_or_default(),
        content: content.into(),
    }
}

fn snapshot() -> Vec<Document> {
    FIXTURES
        .iter()
        .map(|(id, path, kind, cluster, content)| document(id, path, kind, *cluster, content))
        .collect()
}

/// The snapshot with one document's content replaced.
fn snapshot_with(id: &str, content: &str) -> Vec<Document> {
    let mut documents = snapshot();
    documents.iter_mut().find(|d| d.id == id).unwrap().content = content.into();
    documents
}

/// Through the SDK's mock host, as a plugin author's test would.
fn resolve(documents: Vec<Document>) -> ProviderOutput {
    let (out, logs) = MockHost::new().run(|| AzureProvider::resolve(documents));
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

fn grant<'a>(out: &'a ProviderOutput, id: &str) -> &'a Grant {
    out.grants
        .iter()
        .find(|g| g.id == id)
        .unwrap_or_else(|| panic!("no grant {id}"))
}

fn assignment(n: u8, scope: &str) -> String {
    format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-000{n}-4e5f-8a9b-0c1d2e3f4a0{n}"
    )
}

fn grant_id(n: u8, scope: &str, suffix: &str) -> String {
    format!("azure:{}#{suffix}", assignment(n, scope))
}

fn edges(out: &ProviderOutput) -> BTreeSet<(&str, &str, &str, &str)> {
    out.edges
        .iter()
        .map(|e| {
            (
                e.from.as_str(),
                e.to.as_str(),
                e.kind.as_str(),
                e.via.as_str(),
            )
        })
        .collect()
}

fn diagnostics(out: &ProviderOutput, level: Level) -> Vec<(&str, &str)> {
    out.diagnostics
        .iter()
        .filter(|d| d.level == level)
        .map(|d| (d.source.as_str(), d.message.as_str()))
        .collect()
}

fn rg(name: &str) -> String {
    format!("{SUBSCRIPTION}/resourceGroups/{name}")
}

const MANAGEMENT_GROUP: &str = "/providers/Microsoft.Management/managementGroups/mg-agents";

fn storage_account() -> String {
    format!(
        "{}/providers/Microsoft.Storage/storageAccounts/streportsprod",
        rg("rg-data-prod")
    )
}

fn registry() -> String {
    format!(
        "{}/providers/Microsoft.ContainerRegistry/registries/acragentsprod",
        rg("rg-agents-prod")
    )
}

#[test]
fn output_satisfies_the_hosts_checks() {
    let out = resolve(snapshot());
    let ids: HashSet<&str> = out.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), out.nodes.len(), "node ids are unique");
    let grant_ids: HashSet<&str> = out.grants.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(grant_ids.len(), out.grants.len(), "grant ids are unique");
    // Every grant's holder and every edge's cloud end is described here; the
    // Kubernetes ends are provider-kubernetes's nodes.
    for holder in out.grants.iter().map(|g| g.holder.as_str()) {
        assert!(ids.contains(holder), "{holder}");
    }
    for edge in &out.edges {
        assert!(ids.contains(edge.to.as_str()), "{}", edge.to);
        assert!(edge.from.starts_with("k8s:prod-aks/"), "{}", edge.from);
        assert!(!edge.evidence.is_empty());
    }
    assert!(out.grants.iter().all(|g| {
        !g.permissions.is_empty()
            && g.resources.len() == 1
            && g.cloud == scopegraph_sdk::Cloud::Azure
            && g.effect == scopegraph_sdk::Effect::Allow
    }));
    assert_eq!(resolve(snapshot()), out, "deterministic");
}

#[test]
fn group_membership_from_graph_lets_members_and_nested_groups_inherit_the_groups_roles() {
    let mut documents = snapshot();
    documents.push(document(
        "graph/groups",
        "graph/groups-with-members.json",
        "azure/group-members",
        None,
        include_str!("fixtures/graph/groups-with-members.json"),
    ));
    let out = resolve(documents);
    let member_of: BTreeSet<(&str, &str, &str)> = out
        .edges
        .iter()
        .filter(|e| e.kind == "member-of")
        .map(|e| (e.from.as_str(), e.to.as_str(), e.via.as_str()))
        .collect();
    let readers = "azure:8a7b6c5d-1234-4e5f-9a0b-1c2d3e4f5a6b";
    assert_eq!(
        member_of,
        BTreeSet::from([
            (ALICE, PLATFORM_ADMINS, "Entra ID group platform-admins"),
            (
                REPORT_AGENT,
                PLATFORM_ADMINS,
                "Entra ID group platform-admins"
            ),
            (readers, PLATFORM_ADMINS, "Entra ID group platform-admins"),
            (SUPPORT_AGENT, readers, "Entra ID group agents-readers"),
        ])
    );
    assert_eq!(node(&out, readers).kind, "group");
    // The group's Reader assignment is its grant; members reach it through the edges.
    assert!(out.grants.iter().any(|g| g.holder == PLATFORM_ADMINS));
    // Membership was read, so the group is no longer reported as unread.
    assert!(
        !diagnostics(&out, Level::Info)
            .iter()
            .any(|(_, m)| m.contains("group membership is not read"))
    );
}

#[test]
fn a_group_at_graphs_expand_limit_is_reported_as_possibly_truncated() {
    let members: Vec<serde_json::Value> = (0..20)
        .map(|i| {
            serde_json::json!({"@odata.type": "#microsoft.graph.user",
                               "id": format!("00000000-0000-4000-8000-{i:012}")})
        })
        .collect();
    let graph = serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups(members())",
        "value": [{"id": "4d3c2b1a-eeee-4f9e-8d7c-6b5a49382716", "displayName": "platform-admins", "members": members}]
    });
    let mut documents = snapshot();
    documents.push(document(
        "graph/groups",
        "graph/groups.json",
        "azure/group-members",
        None,
        &graph.to_string(),
    ));
    let out = resolve(documents);
    assert_eq!(
        out.edges.iter().filter(|e| e.kind == "member-of").count(),
        20
    );
    assert!(
        diagnostics(&out, Level::Warn)
            .iter()
            .any(|(_, m)| m.contains("lists 20 members, Graph's limit for $expand=members"))
    );
}

#[test]
fn identity_nodes_merge_identity_and_service_principal_exports() {
    let out = resolve(snapshot());
    let kinds: BTreeMap<&str, (&str, &str)> = out
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), (n.kind.as_str(), n.name.as_str())))
        .collect();
    assert_eq!(
        kinds,
        BTreeMap::from([
            (REPORT_AGENT, ("cloud-identity", "id-report-agent")),
            (SUPPORT_AGENT, ("cloud-identity", "id-support-agent")),
            (EXPORTER, ("cloud-identity", "id-exporter")),
            (ETL, ("cloud-identity", "id-etl")),
            (KUBELET, ("cloud-identity", "prod-aks-agentpool")),
            (AGENTS_CI, ("cloud-identity", "agents-ci")),
            // Known only from role assignments.
            (PLATFORM_ADMINS, ("group", "platform-admins")),
            (ALICE, ("user", "alice@acme.example")),
            // The AKS cluster's facts, for rules that give an agent its own identity.
            ("k8s:prod-aks", ("cluster", "prod-aks")),
        ])
    );
    let cluster = node(&out, "k8s:prod-aks");
    let issuer = cluster
        .attributes
        .iter()
        .find(|(k, _)| k == "aks:oidc-issuer")
        .map(|(_, v)| v.as_str());
    assert!(
        issuer.is_some_and(|i| i.starts_with("https://") && i.ends_with('/')),
        "{cluster:?}"
    );

    let report = node(&out, REPORT_AGENT);
    let expected = [
        ("client-id", "a1c2e3f4-1111-4a2b-8c3d-5e6f7a8b9c01"),
        (
            "resource-id",
            "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/resourcegroups/rg-agents-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-report-agent",
        ),
        ("type", "Microsoft.ManagedIdentity/userAssignedIdentities"),
        ("tenant-id", "3b0f6c2e-8d41-4a7b-9c55-1e2f3a4b5c6d"),
        ("resource-group", "rg-agents-prod"),
        ("present", "true"),
    ];
    for (key, value) in expected {
        assert_eq!(attribute(report, key), Some(value), "{key}");
    }
    let evidence: Vec<&str> = report
        .evidence
        .iter()
        .map(|e| e.reference.as_str())
        .collect();
    assert_eq!(
        evidence,
        ["azure/identities#/0", "azure/service-principals#/1"]
    );

    let ci = node(&out, AGENTS_CI);
    assert_eq!(
        attribute(ci, "client-id"),
        Some("0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4")
    );
    assert_eq!(attribute(ci, "type"), Some("Application"));

    let kubelet = node(&out, KUBELET);
    assert_eq!(attribute(kubelet, "kubelet-identity-of"), Some("prod-aks"));
    assert_eq!(
        attribute(kubelet, "client-id"),
        Some("e5a6b7c8-5555-4e6f-8a7b-9c0d1e2f3a45")
    );
    let evidence: Vec<&str> = kubelet
        .evidence
        .iter()
        .map(|e| e.reference.as_str())
        .collect();
    assert_eq!(
        evidence,
        [
            "azure/identities#/4",
            "prod-aks/cluster#/identityProfile/kubeletidentity"
        ]
    );

    let group = node(&out, PLATFORM_ADMINS);
    assert_eq!(attribute(group, "present"), Some("false"));
    assert_eq!(attribute(group, "principal-type"), Some("Group"));
}

#[test]
fn workload_identity_chains_exactly() {
    let out = resolve(snapshot());
    let via_annotation = "(azure.workload.identity/client-id)";
    assert_eq!(
        edges(&out),
        BTreeSet::from([
            // The kubelet identity, reachable from every pod through IMDS.
            (
                "k8s:prod-aks/Group/system:serviceaccounts",
                KUBELET,
                "node-fallback",
                "IMDS on nodes of prod-aks (kubelet identity)",
            ),
            // A correct chain: annotation, credential with the cluster's issuer and the subject.
            (
                "k8s:prod-aks/analytics/ServiceAccount/report-agent",
                REPORT_AGENT,
                "federates-to",
                &*format!(
                    "federated credential fic-prod-aks-report-agent of id-report-agent {via_annotation}"
                ),
            ),
            // An app registration's credential, attributed by the appId in its file's path.
            (
                "k8s:prod-aks/ci/ServiceAccount/deployer",
                AGENTS_CI,
                "federates-to",
                &*format!(
                    "federated credential prod-aks-ci-deployer of agents-ci {via_annotation}"
                ),
            ),
            // A credential without the annotation.
            (
                "k8s:prod-aks/analytics/ServiceAccount/nightly-export",
                EXPORTER,
                "latent-federates-to",
                "federated credential fic-prod-aks-nightly-export of id-exporter",
            ),
            // The support identity trusts another ServiceAccount, absent from the snapshot.
            (
                "k8s:prod-aks/support/ServiceAccount/support-bot",
                SUPPORT_AGENT,
                "latent-federates-to",
                "federated credential fic-prod-aks-support-bot of id-support-agent",
            ),
        ])
    );
    // No edge at all from a credential of another cluster's issuer, nor from
    // one whose issuer lacks the trailing slash.
    assert!(!out.edges.iter().any(|e| e.to == ETL));

    let federation = out.edges.iter().find(|e| e.to == REPORT_AGENT).unwrap();
    let evidence: Vec<&str> = federation
        .evidence
        .iter()
        .map(|e| e.reference.as_str())
        .collect();
    assert_eq!(
        evidence,
        [
            "prod-aks/workloads#/items/0/metadata/annotations/azure.workload.identity~1client-id",
            "azure/fic-report-agent#/0",
            "prod-aks/cluster#/oidcIssuerProfile/issuerUrl",
        ]
    );
}

#[test]
fn broken_chains_say_why() {
    let out = resolve(snapshot());
    let warnings = diagnostics(&out, Level::Warn);
    let etl = format!(
        "broken chain: ServiceAccount data/etl (cluster prod-aks) is annotated azure.workload.identity/client-id: \
         2b3c4d5e-aaaa-4f60-8a71-b2c3d4e5f607 (id-etl), but no federated credential of the identity trusts issuer \
         {PROD_ISSUER} with subject system:serviceaccount:data:etl: credential fic-dev-aks-etl trusts that subject \
         from another issuer, {DEV_ISSUER}; credential fic-prod-aks-etl names issuer {}, which differs from the \
         cluster's only by the trailing slash (Azure compares issuers exactly); no federates-to edge derived",
        PROD_ISSUER.trim_end_matches('/')
    );
    let support = format!(
        "broken chain: ServiceAccount support/support-agent (cluster prod-aks) is annotated \
         azure.workload.identity/client-id: c3e4f5a6-3333-4c4d-8e5f-7a8b9c0d1e23 (id-support-agent), but no \
         federated credential of the identity trusts issuer {PROD_ISSUER} with subject \
         system:serviceaccount:support:support-agent: credential fic-prod-aks-support-bot trusts subject \
         system:serviceaccount:support:support-bot; no federates-to edge derived"
    );
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert_eq!(warnings[0], ("prod-aks/workloads", etl.as_str()));
    assert_eq!(warnings[1], ("prod-aks/workloads", support.as_str()));
    assert_eq!(warnings[2].0, "azure/role-assignments");
    assert!(
        warnings[2].1.starts_with(&format!(
            "role assignment {} names role Legacy Report Publisher (9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a), which is neither",
            assignment(6, &rg("rg-data-prod"))
        )),
        "{}",
        warnings[2].1
    );
}

#[test]
fn latent_credentials_and_unlabelled_pods_are_reported() {
    let out = resolve(snapshot());
    let infos = diagnostics(&out, Level::Info);
    let latent: Vec<(&str, &str)> = infos
        .iter()
        .filter(|(_, m)| m.starts_with("latent federation"))
        .copied()
        .collect();
    assert_eq!(
        latent,
        [
            (
                "azure/fic-support-agent",
                "latent federation: federated credential fic-prod-aks-support-bot of id-support-agent trusts \
                 ServiceAccount support/support-bot of AKS cluster prod-aks, but it is not in the snapshot; a pod of \
                 that ServiceAccount that projects a token for api://AzureADTokenExchange can still use it"
            ),
            (
                "azure/fic-exporter",
                "latent federation: federated credential fic-prod-aks-nightly-export of id-exporter trusts \
                 ServiceAccount analytics/nightly-export of AKS cluster prod-aks, but it has no \
                 azure.workload.identity/client-id annotation; a pod of that ServiceAccount that projects a token \
                 for api://AzureADTokenExchange can still use it"
            ),
        ]
    );
    // The Deployment is reported; its pod (whose ReplicaSet was not
    // exported) is left to it by its pod-template-hash.
    let unlabelled: Vec<(&str, &str)> = infos
        .iter()
        .filter(|(_, m)| m.contains("lack the label"))
        .copied()
        .collect();
    assert_eq!(
        unlabelled,
        [(
            "prod-aks/workloads",
            "Deployment ci/deployer (cluster prod-aks) runs as ServiceAccount deployer, which federates to agents-ci, \
             but its pods lack the label azure.workload.identity/use: \"true\": the workload identity webhook does \
             not inject the token into them"
        )]
    );
    // The edge stays: a labelled pod of the ServiceAccount would get the token.
    assert!(
        out.edges
            .iter()
            .any(|e| e.to == AGENTS_CI && e.kind == "federates-to")
    );
    let groups: Vec<&str> = infos
        .iter()
        .filter(|(_, m)| m.starts_with("group "))
        .map(|(_, m)| *m)
        .collect();
    assert_eq!(
        groups,
        [
            "group platform-admins (4d3c2b1a-eeee-4f9e-8d7c-6b5a49382716) holds 1 role assignment(s); group \
          membership is not read, so identities in the group are not shown to inherit them"
        ]
    );
    assert_eq!(infos.len(), 4, "{infos:#?}");
}

#[test]
fn assignments_at_every_scope_level_keep_their_scope() {
    let out = resolve(snapshot());
    let summary: Vec<(&str, &str, usize, Vec<&str>)> = out
        .grants
        .iter()
        .map(|g| {
            (
                g.id.as_str(),
                g.holder.as_str(),
                g.permissions.len(),
                g.resources.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let sub = SUBSCRIPTION;
    let (agents, data) = (rg("rg-agents-prod"), rg("rg-data-prod"));
    let (storage, acr) = (storage_account(), registry());
    let expected: Vec<(String, &str, usize, Vec<&str>)> = vec![
        // Reader (`*/read`) at a management group.
        (
            grant_id(1, MANAGEMENT_GROUP, "0/actions"),
            REPORT_AGENT,
            1087,
            vec![MANAGEMENT_GROUP],
        ),
        // Contributor at the subscription.
        (grant_id(2, sub, "0/actions"), ETL, 3159, vec![sub]),
        // A custom role at a resource group: both planes.
        (
            grant_id(3, &agents, "0/actions"),
            SUPPORT_AGENT,
            4,
            vec![&*agents],
        ),
        (
            grant_id(3, &agents, "0/dataActions"),
            SUPPORT_AGENT,
            8,
            vec![&*agents],
        ),
        // Storage Blob Data Reader on a storage account.
        (
            grant_id(4, &storage, "0/actions"),
            REPORT_AGENT,
            2,
            vec![&*storage],
        ),
        (
            grant_id(4, &storage, "0/dataActions"),
            REPORT_AGENT,
            1,
            vec![&*storage],
        ),
        (grant_id(5, &acr, "0/actions"), KUBELET, 1, vec![&*acr]),
        // The unknown role.
        (grant_id(6, &data, "role"), REPORT_AGENT, 1, vec![&*data]),
        (
            grant_id(7, sub, "0/actions"),
            PLATFORM_ADMINS,
            1087,
            vec![sub],
        ),
        // Owner: `*`, every control-plane operation of the catalogue.
        (grant_id(8, sub, "0/actions"), ALICE, 3172, vec![sub]),
        (grant_id(9, &acr, "0/actions"), AGENTS_CI, 1, vec![&*acr]),
    ];
    let expected: Vec<(&str, &str, usize, Vec<&str>)> = expected
        .iter()
        .map(|(id, h, n, r)| (id.as_str(), *h, *n, r.clone()))
        .collect();
    assert_eq!(summary, expected);

    for g in &out.grants {
        let (id, _) = g.id.rsplit_once('#').unwrap();
        assert_eq!(
            g.source,
            id.trim_start_matches("azure:"),
            "source is the assignment id"
        );
    }
    let mg = grant(&out, &grant_id(1, MANAGEMENT_GROUP, "0/actions"));
    assert_eq!(mg.evidence[0].reference, "azure/role-assignments#/0");
    assert_eq!(
        mg.evidence[0].summary,
        format!(
            "role assignment of Reader to a1c2e3f4-1111-4a2b-8c3d-5e6f7a8b9c01 at management group {MANAGEMENT_GROUP}; \
             Azure applies it to that scope and everything below it"
        )
    );
    assert_eq!(
        mg.evidence[1].reference,
        "azure-built-in-roles:acdd72a7-3385-48ef-bd42-f606fba81ae7#/permissions/0/actions"
    );
    assert_eq!(
        mg.evidence[1].summary,
        "built-in role Reader: actions [*/read]"
    );
    assert!(
        mg.permissions
            .contains(&"Microsoft.Storage/storageAccounts/read".to_string())
    );
    assert!(
        mg.permissions
            .iter()
            .all(|p| p.to_ascii_lowercase().ends_with("/read"))
    );
}

#[test]
fn storage_blob_data_reader_expands_into_both_planes() {
    let out = resolve(snapshot());
    let storage = storage_account();
    let data = grant(&out, &grant_id(4, &storage, "0/dataActions"));
    assert_eq!(
        data.permissions,
        ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]
    );
    let condition = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) \
                     OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'reports'))";
    assert_eq!(data.conditions, [condition]);
    let control = grant(&out, &grant_id(4, &storage, "0/actions"));
    assert_eq!(
        control.permissions,
        [
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ]
    );
    assert_eq!(control.conditions, [condition]);
    assert_eq!(
        data.evidence[1].summary,
        "built-in role Storage Blob Data Reader: dataActions \
         [Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read]"
    );
    // Both grants cite the condition and its version, exactly, for a
    // replacement assignment to carry.
    for g in [data, control] {
        let cited: Vec<&EvidenceRef> = g
            .evidence
            .iter()
            .filter(|e| e.kind == "role-assignment-condition")
            .collect();
        assert_eq!(cited.len(), 1, "{:?}", g.evidence);
        assert_eq!(
            cited[0].reference,
            format!("{{\"condition\":\"{condition}\",\"conditionVersion\":\"2.0\"}}")
        );
        let parsed: serde_json::Value = serde_json::from_str(&cited[0].reference).unwrap();
        assert_eq!(parsed["condition"], condition);
        assert_eq!(
            cited[0].summary,
            format!(
                "role assignment {} applies only where its condition (version 2.0) holds: {condition}",
                assignment(4, &storage)
            )
        );
        assert!(!g.evidence.iter().any(|e| e.kind == "role-condition"));
    }
    // Assignments without a condition cite none.
    let contributor = grant(&out, &grant_id(2, SUBSCRIPTION, "0/actions"));
    assert!(
        !contributor
            .evidence
            .iter()
            .any(|e| e.kind == "role-assignment-condition")
    );
}

#[test]
fn a_role_blocks_own_condition_is_cited() {
    // The data reader's assignment, of Key Vault Data Access Administrator
    // instead: its block limits which roles it may assign. A multi-line
    // assignment condition without a version is cited as it is.
    let assignments = include_str!("fixtures/azure/role-assignments.json")
        .replace(
            "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
            "8b54135c-b56d-4d72-a534-26097cfdc8d8",
        )
        .replace(
            "\"conditionVersion\": \"2.0\"",
            "\"conditionVersion\": null",
        )
        .replace("((!(ActionMatches", "(\\r\\n (!(ActionMatches");
    let out = resolve(snapshot_with("azure/role-assignments", &assignments));
    let control = grant(&out, &grant_id(4, &storage_account(), "0/actions"));
    let block: Vec<&EvidenceRef> = control
        .evidence
        .iter()
        .filter(|e| e.kind == "role-condition")
        .collect();
    assert_eq!(block.len(), 1, "{:?}", control.evidence);
    assert_eq!(
        block[0].reference,
        "azure-built-in-roles:8b54135c-b56d-4d72-a534-26097cfdc8d8#/permissions/0/condition"
    );
    assert!(
        block[0].summary.starts_with(
            "built-in role Key Vault Data Access Administrator: permission block 0 applies only where its condition holds: ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'}))"
        ),
        "{}",
        block[0].summary
    );
    let condition = control
        .evidence
        .iter()
        .find(|e| e.kind == "role-assignment-condition")
        .unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&condition.reference).unwrap();
    assert!(
        parsed["condition"]
            .as_str()
            .unwrap()
            .starts_with("(\r\n (!(ActionMatches{")
    );
    assert_eq!(parsed["conditionVersion"], serde_json::Value::Null);
    assert!(
        condition
            .summary
            .contains(" applies only where its condition holds: ( (!(ActionMatches{"),
        "{}",
        condition.summary
    );
}

#[test]
fn contributor_is_everything_but_its_not_actions() {
    let out = resolve(snapshot());
    let contributor = grant(&out, &grant_id(2, SUBSCRIPTION, "0/actions"));
    let lower: BTreeSet<String> = contributor
        .permissions
        .iter()
        .map(|p| p.to_ascii_lowercase())
        .collect();
    assert_eq!(
        lower.len(),
        contributor.permissions.len(),
        "no case duplicates"
    );
    for kept in [
        "microsoft.authorization/roleassignments/read",
        "microsoft.storage/storageaccounts/listkeys/action",
        "microsoft.containerservice/managedclusters/listclusteradmincredential/action",
    ] {
        assert!(lower.contains(kept), "{kept}");
    }
    // notActions `Microsoft.Authorization/*/Write`, `*/Delete`, `elevateAccess/Action`, ...
    assert!(!lower.iter().any(|p| {
        p.starts_with("microsoft.authorization/")
            && (p.ends_with("/write") || p.ends_with("/delete"))
    }));
    for removed in [
        "microsoft.authorization/roleassignments/write",
        "microsoft.authorization/elevateaccess/action",
        "microsoft.subscription/cancel/action",
        "microsoft.compute/galleries/share/action",
    ] {
        assert!(!lower.contains(removed), "{removed}");
    }
    // Owner holds them: `*` with no notActions.
    let owner = grant(&out, &grant_id(8, SUBSCRIPTION, "0/actions"));
    assert!(
        owner
            .permissions
            .contains(&"Microsoft.Authorization/roleAssignments/write".to_string())
    );
    assert_eq!(owner.permissions.len() - contributor.permissions.len(), 13);
    // Neither `*` reaches the data plane.
    assert!(
        !out.grants
            .iter()
            .any(|g| g.id.ends_with("dataActions") && (g.holder == ALICE || g.holder == ETL))
    );
}

#[test]
fn custom_roles_expand_and_keep_what_the_catalogue_cannot() {
    let out = resolve(snapshot());
    let agents = rg("rg-agents-prod");
    let control = grant(&out, &grant_id(3, &agents, "0/actions"));
    assert_eq!(
        control.permissions,
        [
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.Storage/storageAccounts/read",
            "Microsoft.StorageCache/caches/*/read",
        ]
    );
    assert_eq!(
        control.conditions,
        [
            "scopegraph: actions pattern \"Microsoft.StorageCache/caches/*/read\" matches no operation in the \
          catalogue of built-in-role operations; kept unexpanded"
        ]
    );
    assert_eq!(
        control.evidence[1].reference,
        "azure/role-definitions#/0/permissions/0/actions"
    );
    assert!(
        control.evidence[1]
            .summary
            .starts_with("custom role Agent Runtime Operator: actions [")
    );
    let data = grant(&out, &grant_id(3, &agents, "0/dataActions"));
    let blobs = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
    let expected: Vec<String> = [
        "add/action",
        "immutableStorage/runAsSuperUser/action",
        "move/action",
        "read",
        "runAsSuperUser/action",
        "tags/read",
        "tags/write",
        "write",
    ]
    .iter()
    .map(|op| format!("{blobs}/{op}"))
    .collect();
    assert_eq!(data.permissions, expected);
    assert!(data.conditions.is_empty());
}

#[test]
fn an_unknown_role_keeps_its_name() {
    let out = resolve(snapshot());
    let unknown = grant(&out, &grant_id(6, &rg("rg-data-prod"), "role"));
    assert_eq!(unknown.permissions, ["Legacy Report Publisher"]);
    assert_eq!(unknown.holder, REPORT_AGENT);
}

#[test]
fn snapshot_role_definitions_take_precedence_over_the_catalogue() {
    // A tenant export that includes the built-in Reader, as it is today there.
    let definitions = r#"[{"id": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "name": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "roleName": "Reader", "roleType": "BuiltInRole",
        "permissions": [{"actions": ["Microsoft.Storage/*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]}]"#;
    let out = resolve(snapshot_with("azure/role-definitions", definitions));
    let reader = grant(&out, &grant_id(1, MANAGEMENT_GROUP, "0/actions"));
    assert!(
        reader
            .permissions
            .iter()
            .all(|p| p.starts_with("Microsoft.Storage/"))
    );
    assert_eq!(
        reader.evidence[1].reference,
        "azure/role-definitions#/0/permissions/0/actions"
    );
    assert!(reader.evidence[1].summary.starts_with("role Reader: "));
    // Without its custom role's definition, the assignment keeps the role name.
    let custom = grant(&out, &grant_id(3, &rg("rg-agents-prod"), "role"));
    assert_eq!(custom.permissions, ["Agent Runtime Operator"]);
}

#[test]
fn the_webhook_and_the_tenant_matter() {
    let cluster = include_str!("fixtures/prod-aks/cluster.json").replace(
        "\"workloadIdentity\": {\n      \"enabled\": true",
        "\"workloadIdentity\": {\n      \"enabled\": false",
    );
    let out = resolve(snapshot_with("prod-aks/cluster", &cluster));
    assert!(
        out.edges
            .iter()
            .any(|e| e.to == REPORT_AGENT && e.kind == "federates-to")
    );
    let webhook: Vec<&str> = diagnostics(&out, Level::Info)
        .into_iter()
        .filter(|(s, _)| *s == "prod-aks/cluster")
        .map(|(_, m)| m)
        .collect();
    assert_eq!(webhook.len(), 2, "{webhook:?}");
    assert!(webhook[0].starts_with(
        "ServiceAccount analytics/report-agent federates to id-report-agent, but workload identity is not enabled on AKS cluster prod-aks"
    ));

    let workloads = include_str!("fixtures/prod-aks/k8s/workloads.json").replace(
        "\"azure.workload.identity/tenant-id\": \"3b0f6c2e-8d41-4a7b-9c55-1e2f3a4b5c6d\"",
        "\"azure.workload.identity/tenant-id\": \"0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f\"",
    );
    let out = resolve(snapshot_with("prod-aks/workloads", &workloads));
    assert!(
        !out.edges
            .iter()
            .any(|e| e.to == REPORT_AGENT && e.kind == "federates-to")
    );
    assert!(diagnostics(&out, Level::Warn).iter().any(|(_, m)| m.contains(
        "its azure.workload.identity/tenant-id 0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f is not the identity's tenant"
    )));
    // The trust is still there, not wired: latent.
    assert!(
        out.edges
            .iter()
            .any(|e| e.to == REPORT_AGENT && e.kind == "latent-federates-to")
    );
}

#[test]
fn without_the_cluster_description_nothing_federates() {
    let documents: Vec<Document> = snapshot()
        .into_iter()
        .filter(|d| d.id != "prod-aks/cluster")
        .collect();
    let out = resolve(documents);
    assert!(out.edges.is_empty(), "{:?}", out.edges);
    let warnings = diagnostics(&out, Level::Warn);
    assert!(warnings.iter().any(|(_, m)| m.contains(
        "report-agent (cluster prod-aks) is annotated azure.workload.identity/client-id: a1c2e3f4-1111-4a2b-8c3d-5e6f7a8b9c01 \
         (id-report-agent), but no AKS cluster description (az aks show) of cluster prod-aks is in the snapshot"
    )));
}

#[test]
fn app_credentials_need_their_app_id_in_the_path() {
    let mut documents = snapshot();
    let app = documents
        .iter_mut()
        .find(|d| d.id == "azure/app-fic-agents-ci")
        .unwrap();
    app.source = "snapshot/azure/app-federated-credentials.json".into();
    let out = resolve(documents);
    assert!(!out.edges.iter().any(|e| e.to == AGENTS_CI));
    let warnings: Vec<&str> = diagnostics(&out, Level::Warn)
        .into_iter()
        .filter(|(s, _)| *s == "azure/app-fic-agents-ci")
        .map(|(_, m)| m)
        .collect();
    assert_eq!(warnings.len(), 2, "one per credential: {warnings:?}");
    assert!(warnings[1].starts_with(
        "federated credential prod-aks-ci-deployer at azure/app-fic-agents-ci#/1 is an app registration's"
    ));
    // The annotation now names an identity without a matching credential.
    assert!(diagnostics(&out, Level::Warn).iter().any(|(_, m)| {
        m.starts_with("broken chain: ServiceAccount ci/deployer (cluster prod-aks)")
            && m.contains("the identity has no federated credentials in the snapshot")
    }));
}

#[test]
fn duplicate_exports_count_once() {
    let mut documents = snapshot();
    documents.extend(snapshot().into_iter().map(|mut d| {
        d.id = format!("copy/{}", d.id);
        d
    }));
    let out = resolve(documents);
    let single = resolve(snapshot());
    assert_eq!(out.grants.len(), single.grants.len());
    assert_eq!(edges(&out), edges(&single));
    assert_eq!(
        out.nodes.iter().map(|n| &n.id).collect::<Vec<_>>(),
        single.nodes.iter().map(|n| &n.id).collect::<Vec<_>>()
    );
}

#[test]
fn document_order_does_not_change_the_answer() {
    let forward = resolve(snapshot());
    let mut reversed = snapshot();
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
    assert_eq!(edges(&forward), edges(&backward));
    let ids = |out: &ProviderOutput| out.nodes.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&forward), ids(&backward));
}

#[test]
fn documents_of_other_systems_are_ignored_quietly() {
    let others = [
        r#"{"cluster": {"name": "prod-eks", "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eks"}}"#,
        r#"{"Records": [{"eventSource": "s3.amazonaws.com", "eventName": "GetObject"}]}"#,
        r#"{"bindings": [{"role": "roles/viewer", "members": ["user:a@b.c"]}], "etag": "BwX="}"#,
        r#"[{"operationName": {"value": "Microsoft.Storage/storageAccounts/listKeys/action"}, "resourceId": "/x", "time": "t"}]"#,
        r#"{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "x"}}"#,
        "not json at all",
        "[1, 2, 3]",
        "[]",
    ];
    let documents = others
        .iter()
        .enumerate()
        .map(|(i, c)| document(&format!("other-{i}"), "other.json", "json", None, c))
        .collect();
    assert_eq!(resolve(documents), ProviderOutput::default());
}

#[test]
fn unusable_records_are_reported_and_the_rest_read() {
    let assignments = r#"[
        {"id": "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x", "principalId": "p",
         "roleDefinitionId": "/x/acdd72a7-3385-48ef-bd42-f606fba81ae7", "scope": "/subscriptions/s"},
        {"principalId": "p", "roleDefinitionId": "/x/acdd72a7-3385-48ef-bd42-f606fba81ae7"},
        {"id": "y", "principalId": ["p"], "roleDefinitionId": "r"},
        null]"#;
    let out = resolve(snapshot_with("azure/role-assignments", assignments));
    assert_eq!(out.grants.len(), 1);
    assert_eq!(out.grants[0].holder, "azure:p");
    let warnings: Vec<&str> = diagnostics(&out, Level::Warn)
        .into_iter()
        .filter(|(s, _)| *s == "azure/role-assignments")
        .map(|(_, m)| m)
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert_eq!(
        warnings[0],
        "role assignment at /1 has no id, principalId or roleDefinitionId; skipped"
    );
    assert!(warnings[1].starts_with("role assignment at /2 is malformed"));
    assert_eq!(
        warnings[2],
        "role assignment at /3 is not an object; skipped"
    );
}

#[test]
fn an_assignments_creator_is_named_as_its_owner() {
    let out = resolve(snapshot());
    let blob_reader = out
        .grants
        .iter()
        .find(|g| g.source.ends_with("0a1b2c3d-0004-4e5f-8a9b-0c1d2e3f4a04"))
        .unwrap();
    let owner: Vec<&str> = blob_reader
        .evidence
        .iter()
        .filter(|e| e.kind == "owner")
        .map(|e| e.summary.as_str())
        .collect();
    assert_eq!(owner.len(), 1);
    assert!(
        owner[0].ends_with("was created by object 5e4d3c2b-ffff-4a0f-9e8d-7c6b5a493827"),
        "{owner:?}"
    );
}
