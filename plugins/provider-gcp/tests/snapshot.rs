//! The provider on a realistic snapshot: an organization with a folder, two
//! projects, two GKE clusters and their ServiceAccounts (see
//! `tests/fixtures/README.md`).

// Clippy exempts `#[test]` functions but not the helpers of a test binary.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use provider_gcp::GcpProvider;
use scopegraph_sdk::{Document, Grant, Level, Node, Provider, ProviderOutput, mock::MockHost};
use std::collections::{BTreeSet, HashSet};

/// (id, cluster context, host kind, content).
const FIXTURES: &[(&str, Option<&str>, &str, &str)] = &[
    (
        "org/organization-iam-policy",
        None,
        "gcp/resource-iam-policy",
        include_str!("fixtures/org/organization-iam-policy.json"),
    ),
    (
        "org/project-acme-data",
        None,
        "gcp/project",
        include_str!("fixtures/org/project-acme-data.json"),
    ),
    (
        "org/project-acme-prod",
        None,
        "gcp/project",
        include_str!("fixtures/org/project-acme-prod.json"),
    ),
    (
        "org/ancestors-acme-data",
        None,
        "gcp/ancestry",
        include_str!("fixtures/org/ancestors-acme-data.json"),
    ),
    (
        "org/role-etl-writer",
        None,
        "gcp/role",
        include_str!("fixtures/org/role-etl-writer.json"),
    ),
    (
        "org/sa-report-agent-iam-policy",
        None,
        "gcp/resource-iam-policy",
        include_str!("fixtures/org/sa-report-agent-iam-policy.json"),
    ),
    (
        "org/sa-etl-runner-iam-policy",
        None,
        "gcp/resource-iam-policy",
        include_str!("fixtures/org/sa-etl-runner-iam-policy.json"),
    ),
    (
        "org/unattributed-iam-policy",
        None,
        "gcp/iam-policy",
        include_str!("fixtures/org/unattributed-iam-policy.json"),
    ),
    (
        "prod-gke/cluster",
        Some("prod-gke"),
        "gcp/gke-cluster",
        include_str!("fixtures/prod-gke/cluster.json"),
    ),
    (
        "prod-gke/serviceaccounts",
        Some("prod-gke"),
        "kubernetes",
        include_str!("fixtures/prod-gke/serviceaccounts.json"),
    ),
    (
        "dev-gke/cluster",
        Some("dev-gke"),
        "gcp/gke-cluster",
        include_str!("fixtures/dev-gke/cluster.json"),
    ),
    (
        "dev-gke/serviceaccounts",
        Some("dev-gke"),
        "kubernetes",
        include_str!("fixtures/dev-gke/serviceaccounts.json"),
    ),
];

/// Cloud Asset Inventory IAM policies, one asset per line as the host
/// splits JSON lines: ids `org/iam-policies:1` to `:4`.
const ASSETS: &str = include_str!("fixtures/org/iam-policies.jsonl");

fn document(id: &str, cluster: Option<&str>, kind: &str, content: &str) -> Document {
    Document {
        id: id.into(),
        source: format!("snapshot/{id}.json"),
        kind: kind.into(),
        context: cluster
            .map(|c| vec![("cluster".to_string(), c.to_string())])
            .unwrap_or_default(),
        content: content.into(),
    }
}

fn snapshot() -> Vec<Document> {
    let mut documents: Vec<Document> = FIXTURES
        .iter()
        .map(|(id, cluster, kind, content)| document(id, *cluster, kind, content))
        .collect();
    for (index, line) in ASSETS.lines().enumerate() {
        let id = format!("org/iam-policies:{}", index + 1);
        documents.push(document(&id, None, "gcp/asset-iam-policy", line));
    }
    documents
}

/// Through the SDK's mock host, as a plugin author's test would.
fn resolve(documents: Vec<Document>) -> ProviderOutput {
    let (out, logs) = MockHost::new().run(|| GcpProvider::resolve(documents));
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

fn edges<'a>(out: &'a ProviderOutput, kind: &str) -> BTreeSet<(&'a str, &'a str)> {
    out.edges
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect()
}

fn via<'a>(out: &'a ProviderOutput, from: &str, to: &str) -> &'a str {
    out.edges
        .iter()
        .find(|e| e.from == from && e.to == to)
        .map(|e| e.via.as_str())
        .unwrap_or_else(|| panic!("no edge {from} -> {to}"))
}

fn grant<'a>(out: &'a ProviderOutput, holder: &str, source: &str) -> &'a Grant {
    let found: Vec<&Grant> = out
        .grants
        .iter()
        .filter(|g| g.holder == holder && g.source == source)
        .collect();
    assert_eq!(found.len(), 1, "{holder} / {source}: {found:?}");
    found[0]
}

fn diagnostics(out: &ProviderOutput, level: Level) -> Vec<(&str, &str)> {
    out.diagnostics
        .iter()
        .filter(|d| d.level == level)
        .map(|d| (d.source.as_str(), d.message.as_str()))
        .collect()
}

const ORG: &str = "//cloudresourcemanager.googleapis.com/organizations/814400731652";
const ACME_DATA: &str = "//cloudresourcemanager.googleapis.com/projects/acme-data";
const ACME_PROD: &str = "//cloudresourcemanager.googleapis.com/projects/acme-prod";
const DATASET: &str = "//bigquery.googleapis.com/projects/acme-data/datasets/analytics";
const BUCKET: &str = "//storage.googleapis.com/projects/_/buckets/acme-research-scratch";
const REPORT_AGENT_POLICY: &str = "//iam.googleapis.com/projects/acme-data/serviceAccounts/report-agent@acme-data.iam.gserviceaccount.com";
const ETL_RUNNER_POLICY: &str = "//iam.googleapis.com/projects/acme-data/serviceAccounts/etl-runner@acme-data.iam.gserviceaccount.com";

const REPORT_AGENT: &str = "gcp:serviceAccount:report-agent@acme-data.iam.gserviceaccount.com";
const LEGACY_AGENT: &str = "gcp:serviceAccount:legacy-agent@acme-data.iam.gserviceaccount.com";
const ETL_RUNNER: &str = "gcp:serviceAccount:etl-runner@acme-data.iam.gserviceaccount.com";
const BATCH_NODES: &str = "gcp:serviceAccount:gke-batch-nodes@acme-prod.iam.gserviceaccount.com";
const DEFAULT_COMPUTE: &str =
    "gcp:serviceAccount:301938457316-compute@developer.gserviceaccount.com";
const CLOUD_SERVICES: &str = "gcp:serviceAccount:301938457316@cloudservices.gserviceaccount.com";
const GKE_ROBOT: &str =
    "gcp:serviceAccount:service-301938457316@container-engine-robot.iam.gserviceaccount.com";
const POOL_PRINCIPAL: &str = "principal://iam.googleapis.com/projects/301938457316/locations/global/workloadIdentityPools/acme-prod.svc.id.goog";
const POOL_SET: &str = "principalSet://iam.googleapis.com/projects/301938457316/locations/global/workloadIdentityPools/acme-prod.svc.id.goog";

const KSA_REPORT_AGENT: &str = "k8s:prod-gke/analytics/ServiceAccount/report-agent";
const KSA_LEGACY_AGENT: &str = "k8s:prod-gke/analytics/ServiceAccount/legacy-agent";
const KSA_BATCH_EXPORTER: &str = "k8s:prod-gke/analytics/ServiceAccount/batch-exporter";
const KSA_NOTEBOOK: &str = "k8s:prod-gke/research/ServiceAccount/notebook-agent";
const KSA_CI_RUNNER: &str = "k8s:prod-gke/ops/ServiceAccount/ci-runner";
const PROD_ALL_SAS: &str = "k8s:prod-gke/Group/system:serviceaccounts";

fn notebook_principal() -> String {
    format!("gcp:{POOL_PRINCIPAL}/subject/ns/research/sa/notebook-agent")
}

fn research_set() -> String {
    format!("gcp:{POOL_SET}/namespace/research")
}

fn cluster_set() -> String {
    format!(
        "gcp:{POOL_SET}/kubernetes.cluster/https://container.googleapis.com/v1/projects/acme-prod/locations/us-central1/clusters/prod-gke"
    )
}

#[test]
fn output_satisfies_the_hosts_checks() {
    let out = resolve(snapshot());
    let ids: HashSet<&str> = out.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), out.nodes.len(), "node ids are unique");
    let grant_ids: HashSet<&str> = out.grants.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(grant_ids.len(), out.grants.len(), "grant ids are unique");
    // Every edge and grant ends at a node this provider emits.
    let dangling: BTreeSet<&str> = out
        .edges
        .iter()
        .flat_map(|e| [e.from.as_str(), e.to.as_str()])
        .chain(out.grants.iter().map(|g| g.holder.as_str()))
        .filter(|id| !ids.contains(id))
        .collect();
    assert!(dangling.is_empty(), "{dangling:?}");
    assert!(out.grants.iter().all(|g| !g.permissions.is_empty()
        && g.resources.len() == 1
        && g.cloud == scopegraph_sdk::Cloud::Gcp
        && g.effect == scopegraph_sdk::Effect::Allow));
    let kinds: BTreeSet<&str> = out.nodes.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["cloud-identity", "cluster", "group", "service-account"])
    );
    // The GKE cluster's facts, for rules that give an agent its own GSA.
    // (dev-gke runs without Workload Identity: no pool to name.)
    let pools: BTreeSet<(&str, Option<&str>)> = out
        .nodes
        .iter()
        .filter(|n| n.kind == "cluster")
        .map(|n| {
            let pool = n
                .attributes
                .iter()
                .find(|(k, _)| k == "gke:workload-pool")
                .map(|(_, v)| v.as_str());
            (n.id.as_str(), pool)
        })
        .collect();
    assert!(pools.contains(&("k8s:dev-gke", None)), "{pools:?}");
    assert!(
        pools
            .iter()
            .any(|(_, pool)| pool.is_some_and(|p| p.ends_with(".svc.id.goog"))),
        "{pools:?}"
    );
    assert_eq!(resolve(snapshot()), out, "deterministic");
}

#[test]
fn workload_identity_needs_the_annotation_and_the_binding() {
    let out = resolve(snapshot());
    assert_eq!(
        edges(&out, "federates-to")
            .into_iter()
            .filter(|(_, to)| to.starts_with("gcp:serviceAccount:"))
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([
            // Annotation + binding on the GSA itself.
            (KSA_REPORT_AGENT, REPORT_AGENT),
            // Annotation + a project-level binding, which covers every GSA of acme-data.
            (KSA_CI_RUNNER, ETL_RUNNER),
        ])
    );
    assert_eq!(
        via(&out, KSA_REPORT_AGENT, REPORT_AGENT),
        format!(
            "annotation iam.gke.io/gcp-service-account; {REPORT_AGENT_POLICY} IAM binding roles/iam.workloadIdentityUser"
        )
    );
    assert_eq!(
        via(&out, KSA_CI_RUNNER, ETL_RUNNER),
        format!(
            "annotation iam.gke.io/gcp-service-account; {ACME_DATA} IAM binding roles/iam.workloadIdentityUser"
        )
    );
    let wi = out
        .edges
        .iter()
        .find(|e| e.from == KSA_REPORT_AGENT && e.to == REPORT_AGENT)
        .unwrap();
    let references: Vec<&str> = wi.evidence.iter().map(|e| e.reference.as_str()).collect();
    assert_eq!(
        references,
        [
            "prod-gke/serviceaccounts#/items/1/metadata/annotations/iam.gke.io~1gcp-service-account",
            "org/sa-report-agent-iam-policy#/policy/bindings/0/members/0",
        ]
    );

    // A binding nobody is annotated for: latent, never followed.
    assert_eq!(
        edges(&out, "latent-federates-to"),
        BTreeSet::from([
            (KSA_BATCH_EXPORTER, REPORT_AGENT),
            // The project-level binding reaches every other GSA of the project too.
            (KSA_CI_RUNNER, LEGACY_AGENT),
            (KSA_CI_RUNNER, REPORT_AGENT),
        ])
    );
    assert_eq!(
        via(&out, KSA_BATCH_EXPORTER, REPORT_AGENT),
        format!(
            "{REPORT_AGENT_POLICY} IAM binding roles/iam.workloadIdentityUser without annotation iam.gke.io/gcp-service-account"
        )
    );
    let infos = diagnostics(&out, Level::Info);
    assert!(infos.contains(&(
        "org/sa-report-agent-iam-policy",
        "latent Workload Identity: serviceAccount:acme-prod.svc.id.goog[analytics/batch-exporter] holds roles/iam.workloadIdentityUser on //iam.googleapis.com/projects/acme-data/serviceAccounts/report-agent@acme-data.iam.gserviceaccount.com, but ServiceAccount analytics/batch-exporter of cluster prod-gke is not annotated; one annotation away from report-agent@acme-data.iam.gserviceaccount.com"
    )), "{infos:#?}");
    assert!(infos.contains(&(
        "org/iam-policies:1",
        "latent Workload Identity: serviceAccount:acme-prod.svc.id.goog[ops/ci-runner] holds roles/iam.workloadIdentityUser on //cloudresourcemanager.googleapis.com/projects/acme-data, but ServiceAccount ops/ci-runner of cluster prod-gke is annotated with etl-runner@acme-data.iam.gserviceaccount.com instead; one annotation away from legacy-agent@acme-data.iam.gserviceaccount.com, report-agent@acme-data.iam.gserviceaccount.com"
    )), "{infos:#?}");

    // The annotation without a binding, and on a cluster without Workload Identity.
    let warnings = diagnostics(&out, Level::Warn);
    assert!(warnings.iter().any(|(source, message)| *source == "prod-gke/serviceaccounts"
        && message.starts_with("broken chain: ServiceAccount analytics/legacy-agent of cluster prod-gke is annotated iam.gke.io/gcp-service-account: legacy-agent@acme-data.iam.gserviceaccount.com, but no IAM binding in the snapshot grants roles/iam.workloadIdentityUser on it to serviceAccount:acme-prod.svc.id.goog[analytics/legacy-agent]")));
    assert!(!out.edges.iter().any(|e| e.from == KSA_LEGACY_AGENT));
    assert!(
        warnings
            .iter()
            .any(|(source, message)| *source == "dev-gke/serviceaccounts"
                && message.contains("the cluster does not have Workload Identity enabled"))
    );
    assert!(
        !out.edges
            .iter()
            .any(|e| e.from == "k8s:dev-gke/analytics/ServiceAccount/report-agent")
    );

    // Bindings the Workload Identity rule reads are not grants of their own.
    assert!(
        !out.grants
            .iter()
            .any(|g| g.source.ends_with("roles/iam.workloadIdentityUser"))
    );
    let ksa = node(&out, KSA_REPORT_AGENT);
    assert_eq!(
        (ksa.kind.as_str(), ksa.name.as_str()),
        (
            "service-account",
            "system:serviceaccount:analytics:report-agent"
        )
    );
    assert_eq!(
        attribute(ksa, "gcp-service-account"),
        Some("report-agent@acme-data.iam.gserviceaccount.com")
    );
}

#[test]
fn direct_federation_principals_are_reached_from_kubernetes() {
    let out = resolve(snapshot());
    let notebook = notebook_principal();
    let research = research_set();
    let cluster = cluster_set();
    assert_eq!(
        edges(&out, "federates-to")
            .into_iter()
            .filter(|(_, to)| to.starts_with("gcp:principal"))
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([
            (KSA_NOTEBOOK, notebook.as_str()),
            (
                "k8s:prod-gke/Group/system:serviceaccounts:research",
                research.as_str()
            ),
            (PROD_ALL_SAS, cluster.as_str()),
        ])
    );
    assert_eq!(
        via(&out, KSA_NOTEBOOK, &notebook),
        "Workload Identity Federation principal for ServiceAccount research/notebook-agent (pool acme-prod.svc.id.goog)"
    );
    let principal = node(&out, &notebook);
    assert_eq!(principal.kind, "cloud-identity");
    assert_eq!(principal.name, notebook.trim_start_matches("gcp:"));
    assert_eq!(attribute(principal, "member-type"), Some("principal"));
    assert_eq!(attribute(principal, "pool"), Some("acme-prod.svc.id.goog"));
    assert_eq!(
        node(&out, "k8s:prod-gke/Group/system:serviceaccounts:research").kind,
        "group"
    );

    // The principals hold their grants directly.
    assert_eq!(
        grant(
            &out,
            &notebook,
            &format!("{DATASET} IAM binding roles/bigquery.dataViewer")
        )
        .resources,
        [DATASET]
    );
    assert_eq!(
        grant(
            &out,
            &research,
            &format!("{BUCKET} IAM binding roles/storage.objectViewer")
        )
        .permissions
        .len(),
        8
    );
    assert_eq!(
        grant(
            &out,
            &cluster,
            &format!("{ACME_PROD} IAM binding roles/monitoring.viewer")
        )
        .resources,
        [ACME_PROD]
    );
}

#[test]
fn node_pools_without_the_gke_metadata_server_fall_back_to_the_node_identity() {
    let out = resolve(snapshot());
    assert_eq!(
        edges(&out, "node-fallback"),
        BTreeSet::from([
            // batch-pool: GCE_METADATA. default-pool (GKE_METADATA) has no edge.
            (PROD_ALL_SAS, BATCH_NODES),
            // dev-gke: no Workload Identity, mode unset, `default` account of acme-prod.
            ("k8s:dev-gke/Group/system:serviceaccounts", DEFAULT_COMPUTE),
        ])
    );
    assert_eq!(
        via(&out, PROD_ALL_SAS, BATCH_NODES),
        "node pool batch-pool metadata server (GCE_METADATA)"
    );
    assert_eq!(
        via(
            &out,
            "k8s:dev-gke/Group/system:serviceaccounts",
            DEFAULT_COMPUTE
        ),
        "node pool default-pool metadata server (mode unset)"
    );
    let fallback = out
        .edges
        .iter()
        .find(|e| e.kind == "node-fallback" && e.to == BATCH_NODES)
        .unwrap();
    assert_eq!(
        fallback.evidence[0].reference,
        "prod-gke/cluster#/nodePools/1/config"
    );
    assert!(
        fallback.evidence[0]
            .summary
            .contains("https://www.googleapis.com/auth/devstorage.read_only")
    );
    let compute = node(&out, DEFAULT_COMPUTE);
    assert_eq!(attribute(compute, "default-compute"), Some("true"));
    assert_eq!(attribute(compute, "project"), Some("acme-prod"));
    assert_eq!(attribute(compute, "project-number"), Some("301938457316"));
    // The classic default: the node identity is a project editor.
    assert_eq!(
        grant(
            &out,
            DEFAULT_COMPUTE,
            &format!("{ACME_PROD} IAM binding roles/editor")
        )
        .permissions
        .len(),
        provider_gcp::catalogue::get()
            .unwrap()
            .role("roles/editor")
            .unwrap()
            .unwrap()
            .len()
    );
}

#[test]
fn token_creators_impersonate_service_accounts() {
    let out = resolve(snapshot());
    assert_eq!(
        edges(&out, "impersonates"),
        BTreeSet::from([
            // On the service account itself.
            (REPORT_AGENT, ETL_RUNNER),
            // On the project: every service account of acme-data the snapshot knows.
            ("gcp:group:data-platform@acme.example", ETL_RUNNER),
            ("gcp:group:data-platform@acme.example", LEGACY_AGENT),
            ("gcp:group:data-platform@acme.example", REPORT_AGENT),
        ])
    );
    assert_eq!(
        via(&out, REPORT_AGENT, ETL_RUNNER),
        format!("{ETL_RUNNER_POLICY} IAM binding roles/iam.serviceAccountTokenCreator")
    );
    // The chain an agent follows: KSA -> report-agent -> etl-runner -> etlWriter.
    let writer = grant(
        &out,
        ETL_RUNNER,
        &format!("{ACME_DATA} IAM binding projects/acme-data/roles/etlWriter"),
    );
    assert!(
        writer
            .permissions
            .contains(&"bigquery.tables.updateData".to_string())
    );
}

#[test]
fn every_grant_names_holder_role_and_resource() {
    let out = resolve(snapshot());
    let notebook = notebook_principal();
    let research = research_set();
    let cluster = cluster_set();
    let found: BTreeSet<(&str, &str, Vec<&str>)> = out
        .grants
        .iter()
        .map(|g| {
            assert_eq!(g.resources.len(), 1);
            assert!(g.source.starts_with(&g.resources[0]), "{}", g.source);
            let role = g.source.rsplit_once(" IAM binding ").unwrap().1;
            (
                g.holder.as_str(),
                role,
                g.resources.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let expected: BTreeSet<(&str, &str, Vec<&str>)> = BTreeSet::from([
        (REPORT_AGENT, "roles/logging.viewer", vec![ORG]),
        (
            "gcp:group:security-auditors@acme.example",
            "roles/iam.securityReviewer",
            vec![ORG],
        ),
        (
            "gcp:user:it-admin@acme.example",
            "roles/resourcemanager.organizationAdmin",
            vec![ORG],
        ),
        (
            REPORT_AGENT,
            "roles/iam.serviceAccountTokenCreator",
            vec![ETL_RUNNER_POLICY],
        ),
        (
            ETL_RUNNER,
            "projects/acme-data/roles/etlWriter",
            vec![ACME_DATA],
        ),
        (
            "gcp:group:data-stewards@acme.example",
            "organizations/814400731652/roles/dataSteward",
            vec![ACME_DATA],
        ),
        (ETL_RUNNER, "roles/bigquery.dataEditor", vec![ACME_DATA]),
        (REPORT_AGENT, "roles/bigquery.jobUser", vec![ACME_DATA]),
        (notebook.as_str(), "roles/bigquery.jobUser", vec![ACME_DATA]),
        (
            "gcp:group:data-platform@acme.example",
            "roles/iam.serviceAccountTokenCreator",
            vec![ACME_DATA],
        ),
        ("gcp:user:dana@acme.example", "roles/owner", vec![ACME_DATA]),
        (GKE_ROBOT, "roles/container.serviceAgent", vec![ACME_PROD]),
        (DEFAULT_COMPUTE, "roles/editor", vec![ACME_PROD]),
        (CLOUD_SERVICES, "roles/editor", vec![ACME_PROD]),
        (BATCH_NODES, "roles/logging.logWriter", vec![ACME_PROD]),
        (
            BATCH_NODES,
            "roles/monitoring.metricWriter",
            vec![ACME_PROD],
        ),
        (cluster.as_str(), "roles/monitoring.viewer", vec![ACME_PROD]),
        (
            "gcp:user:ops-lead@acme.example",
            "roles/owner",
            vec![ACME_PROD],
        ),
        (REPORT_AGENT, "roles/bigquery.dataViewer", vec![DATASET]),
        (
            notebook.as_str(),
            "roles/bigquery.dataViewer",
            vec![DATASET],
        ),
        (
            research.as_str(),
            "roles/storage.objectViewer",
            vec![BUCKET],
        ),
    ]);
    assert_eq!(found, expected);
    assert_eq!(found.len(), out.grants.len());

    let conditional = grant(
        &out,
        ETL_RUNNER,
        &format!("{ACME_DATA} IAM binding roles/bigquery.dataEditor"),
    );
    assert_eq!(
        conditional.conditions,
        [r#"request.time < timestamp("2027-01-01T00:00:00Z")"#]
    );
    assert_eq!(
        conditional.id,
        format!(
            "{ACME_DATA}#bindings/2/serviceAccount:etl-runner@acme-data.iam.gserviceaccount.com"
        )
    );
    assert_eq!(
        conditional.evidence[0].reference,
        "org/iam-policies:1#/iamPolicy/bindings/2/members/0"
    );
    // The whole condition, for a rule that replaces the binding: exactly as
    // the policy has it, the description it lacks `null`.
    let cited: Vec<(&str, &str, &str)> = conditional
        .evidence
        .iter()
        .filter(|e| e.kind == "binding-condition")
        .map(|e| (e.kind.as_str(), e.reference.as_str(), e.summary.as_str()))
        .collect();
    assert_eq!(
        cited,
        [(
            "binding-condition",
            r#"{"expression":"request.time < timestamp(\"2027-01-01T00:00:00Z\")","title":"expires-2027","description":null}"#,
            r#"the binding of roles/bigquery.dataEditor applies only where its condition "expires-2027" holds: request.time < timestamp("2027-01-01T00:00:00Z")"#
        )]
    );
    // Unconditional bindings cite none.
    let unconditional = grant(
        &out,
        ETL_RUNNER,
        &format!("{ACME_DATA} IAM binding projects/acme-data/roles/etlWriter"),
    );
    assert!(
        unconditional
            .evidence
            .iter()
            .all(|e| e.kind != "binding-condition")
    );
}

#[test]
fn organization_bindings_are_inherited_by_the_projects_below() {
    let out = resolve(snapshot());
    let logging = grant(
        &out,
        REPORT_AGENT,
        &format!("{ORG} IAM binding roles/logging.viewer"),
    );
    // The grant names the organization; the projects below it inherit it.
    assert_eq!(logging.resources, [ORG]);
    let inherited: Vec<(&str, &str)> = logging
        .evidence
        .iter()
        .skip(1)
        .map(|e| (e.reference.as_str(), e.summary.as_str()))
        .collect();
    assert_eq!(
        inherited,
        [
            (
                "org/project-acme-data#/parent",
                "projects/acme-data (under folders/442081339251) inherits the bindings of organizations/814400731652"
            ),
            (
                "org/project-acme-prod#/parent",
                "projects/acme-prod (under organizations/814400731652) inherits the bindings of organizations/814400731652"
            ),
        ]
    );
    // The hierarchy is recorded on the service accounts.
    let agent = node(&out, REPORT_AGENT);
    assert_eq!(attribute(agent, "project"), Some("acme-data"));
    assert_eq!(attribute(agent, "project-number"), Some("552913650188"));
    assert_eq!(
        attribute(agent, "ancestors"),
        Some("folders/442081339251 organizations/814400731652")
    );
    assert_eq!(
        attribute(node(&out, BATCH_NODES), "ancestors"),
        Some("organizations/814400731652")
    );
    // Cloud Asset Inventory names projects by number: rewritten to the id.
    assert!(
        out.grants
            .iter()
            .all(|g| !g.resources[0].contains("552913650188"))
    );
}

#[test]
fn roles_expand_from_the_catalogue_and_the_snapshot() {
    let out = resolve(snapshot());
    // Predefined: the embedded catalogue.
    let viewer = grant(
        &out,
        REPORT_AGENT,
        &format!("{DATASET} IAM binding roles/bigquery.dataViewer"),
    );
    assert!(
        viewer
            .permissions
            .contains(&"bigquery.tables.getData".to_string())
    );
    assert_eq!(viewer.permissions.len(), 23);
    let catalogue = provider_gcp::catalogue::get().unwrap();
    let expected: Vec<&str> = catalogue
        .role("roles/bigquery.dataViewer")
        .unwrap()
        .unwrap();
    assert_eq!(viewer.permissions, expected);

    // Custom: the `gcloud iam roles describe` document.
    let writer = grant(
        &out,
        ETL_RUNNER,
        &format!("{ACME_DATA} IAM binding projects/acme-data/roles/etlWriter"),
    );
    assert_eq!(
        writer.permissions,
        [
            "bigquery.datasets.get",
            "bigquery.tables.create",
            "bigquery.tables.get",
            "bigquery.tables.getData",
            "bigquery.tables.updateData",
            "storage.objects.create",
            "storage.objects.get",
        ]
    );
    assert!(
        writer
            .evidence
            .iter()
            .any(|e| e.reference == "org/role-etl-writer")
    );

    // Unknown: the role name stands in for its permissions, with a warning.
    let steward = grant(
        &out,
        "gcp:group:data-stewards@acme.example",
        &format!("{ACME_DATA} IAM binding organizations/814400731652/roles/dataSteward"),
    );
    assert_eq!(
        steward.permissions,
        ["organizations/814400731652/roles/dataSteward"]
    );
    assert!(diagnostics(&out, Level::Warn).iter().any(|(source, message)| *source == "org/iam-policies:1"
        && message.contains("role organizations/814400731652/roles/dataSteward is neither in the predefined-role catalogue nor described in the snapshot")));
}

#[test]
fn every_diagnostic_is_accounted_for() {
    let out = resolve(snapshot());
    let warnings: Vec<&str> = diagnostics(&out, Level::Warn)
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        warnings,
        [
            // A bare policy with two projects described: unattributable.
            "org/unattributed-iam-policy",
            // The custom organization role nobody exported.
            "org/iam-policies:1",
            // Workload Identity disabled on dev-gke.
            "dev-gke/serviceaccounts",
            // The broken chain.
            "prod-gke/serviceaccounts",
        ]
    );
    assert!(
        out.diagnostics[0]
            .message
            .starts_with("IAM policy without a resource name cannot be attributed (2 projects")
    );
    let infos: Vec<(&str, &str)> = diagnostics(&out, Level::Info)
        .into_iter()
        .map(|(s, m)| (s, m.split_once(':').map(|(head, _)| head).unwrap_or(m)))
        .collect();
    assert_eq!(
        infos,
        [
            (
                "org/iam-policies:3",
                "//bigquery.googleapis.com/projects/acme-data/datasets/analytics IAM binding roles/bigquery.dataOwner names projectOwner"
            ),
            (
                "org/iam-policies:4",
                "//storage.googleapis.com/projects/_/buckets/acme-research-scratch IAM binding roles/storage.legacyBucketOwner names projectEditor"
            ),
            (
                "org/iam-policies:4",
                "//storage.googleapis.com/projects/_/buckets/acme-research-scratch IAM binding roles/storage.legacyBucketOwner names projectOwner"
            ),
            (
                "org/iam-policies:4",
                "//storage.googleapis.com/projects/_/buckets/acme-research-scratch IAM binding roles/storage.objectViewer grants allUsers"
            ),
            ("org/sa-report-agent-iam-policy", "latent Workload Identity"),
            ("org/iam-policies:1", "latent Workload Identity"),
        ]
    );
    assert_eq!(out.diagnostics.len(), warnings.len() + infos.len());
}
