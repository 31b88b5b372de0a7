//! The GCP provider: IAM policies, roles, the resource hierarchy and GKE's
//! identity mechanisms as identity-graph nodes, edges and grants.
//!
//! - [`input`] recognises documents by content (gcloud, Cloud Asset
//!   Inventory and Kubernetes shapes) and reads the fields the graph needs;
//! - [`hierarchy`] places projects under folders and organizations and
//!   spells resource names one way;
//! - [`roles`] expands roles to permissions (custom roles from the
//!   snapshot, predefined roles from the embedded [`catalogue`]);
//! - [`model`] attributes policies to resources and collects the Google
//!   service accounts the snapshot mentions;
//! - [`grants`], [`federation`], [`cross_cloud`], [`workload_identity`],
//!   [`node_pools`] and [`impersonation`] are the rules; [`output`] keeps
//!   ids unique.
//!
//! Documents of no recognised shape are ignored; a recognised one the
//! provider cannot use is reported as a diagnostic and the rest of the
//! snapshot is still resolved. The rules and the choices behind them are
//! listed in `README.md`.

pub mod catalogue;
pub mod cross_cloud;
pub mod federation;
pub mod grants;
pub mod hierarchy;
pub mod impersonation;
pub mod input;
pub mod members;
pub mod model;
pub mod node_pools;
pub mod output;
pub mod roles;
pub mod workload_identity;

use federation::Holders;
use hierarchy::Hierarchy;
use model::World;
use output::Output;
use roles::Roles;
use scopegraph_sdk::{Document, PluginError, Provider, ProviderOutput};

#[derive(Debug)]
pub struct GcpProvider;

impl Provider for GcpProvider {
    fn resolve(documents: Vec<Document>) -> Result<ProviderOutput, PluginError> {
        Ok(resolve(&documents))
    }
}

scopegraph_sdk::export_provider!(GcpProvider);

/// The whole derivation, for every project and cluster at once.
pub fn resolve(documents: &[Document]) -> ProviderOutput {
    let mut out = Output::default();
    let mut inputs = input::read(documents);
    out.extend_diagnostics(std::mem::take(&mut inputs.diagnostics));
    for cluster in &inputs.clusters {
        out.node(cluster_node(cluster));
    }
    let hierarchy = Hierarchy::build(&inputs, &mut out);
    let mut roles = Roles::new(&inputs.roles, &hierarchy, &mut out);
    let world = World::build(&inputs, &hierarchy, &mut roles, &mut out);
    world.emit_service_accounts(&mut out);
    cross_cloud::report_providers(&world, &mut out);
    let mut holders = Holders::new(&world);
    grants::resolve(&world, &mut holders, &mut out);
    workload_identity::resolve(&world, &mut out);
    node_pools::resolve(&world, &mut out);
    impersonation::resolve(&world, &mut out);
    out.finish()
}

/// What a rule needs of a GKE cluster to give an agent its own GSA: the
/// workload pool its Workload Identity members name, and the project
/// (`plugins/README.md`, cluster nodes).
fn cluster_node(cluster: &input::Cluster) -> scopegraph_sdk::Node {
    let mut attributes = Vec::new();
    for (key, value) in [
        ("gke:workload-pool", &cluster.pool),
        ("gke:project", &cluster.project),
        ("gke:location", &cluster.location),
    ] {
        if let Some(value) = value {
            attributes.push((key.to_string(), value.clone()));
        }
    }
    if let (Some(project), Some(location)) = (&cluster.project, &cluster.location) {
        attributes.push((
            "gke:oidc-issuer".to_string(),
            format!(
                "https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{}",
                cluster.name
            ),
        ));
    }
    scopegraph_sdk::Node {
        id: format!("k8s:{}", cluster.name),
        kind: "cluster".into(),
        cloud: scopegraph_sdk::Cloud::Kubernetes,
        name: cluster.name.clone(),
        attributes,
        evidence: vec![scopegraph_sdk::EvidenceRef {
            kind: "document".into(),
            reference: cluster.origin.document.clone(),
            summary: format!("GKE cluster {}", cluster.name),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopegraph_sdk::Level;

    fn document(id: &str, cluster: Option<&str>, content: &str) -> Document {
        Document {
            id: id.into(),
            source: format!("{id}.json"),
            kind: "json".into(),
            context: cluster
                .map(|c| vec![("cluster".to_string(), c.to_string())])
                .unwrap_or_default(),
            content: content.into(),
        }
    }

    const PROJECT: &str = r#"{"projectId": "acme", "projectNumber": "42", "parent": {"type": "organization", "id": "1"}}"#;
    const CLUSTER: &str = r#"{"name": "c", "location": "europe-west1",
        "selfLink": "https://container.googleapis.com/v1/projects/acme/locations/europe-west1/clusters/c",
        "workloadIdentityConfig": {"workloadPool": "acme.svc.id.goog"},
        "nodePools": [{"name": "p", "config": {"workloadMetadataConfig": {"mode": "GKE_METADATA"}}}]}"#;

    fn ksa(namespace: &str, name: &str, annotation: Option<&str>) -> String {
        let annotations = annotation
            .map(|a| format!(r#", "annotations": {{"iam.gke.io/gcp-service-account": "{a}"}}"#))
            .unwrap_or_default();
        format!(
            r#"{{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {{"name": "{name}", "namespace": "{namespace}", "uid": "uid-{name}"{annotations}}}}}"#
        )
    }

    fn messages(out: &ProviderOutput, level: Level) -> Vec<&str> {
        out.diagnostics
            .iter()
            .filter(|d| d.level == level)
            .map(|d| d.message.as_str())
            .collect()
    }

    #[test]
    fn a_bare_policy_belongs_to_the_only_project_described() {
        let out = resolve(&[
            document("project", None, PROJECT),
            document(
                "policy",
                None,
                r#"{"bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"]}], "etag": "e", "version": 1}"#,
            ),
        ]);
        assert_eq!(out.grants.len(), 1);
        assert_eq!(
            out.grants[0].resources,
            ["//cloudresourcemanager.googleapis.com/projects/acme"]
        );
        assert_eq!(
            messages(&out, Level::Info),
            [
                "IAM policy without a resource name attributed to //cloudresourcemanager.googleapis.com/projects/acme, the only project described in the snapshot (wrap it as {\"resource\": …, \"policy\": …} to say so explicitly)"
            ]
        );
        // Without any project description it cannot be placed.
        let out = resolve(&[document(
            "policy",
            None,
            r#"{"bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"]}], "etag": "e"}"#,
        )]);
        assert!(out.grants.is_empty());
        assert_eq!(messages(&out, Level::Warn).len(), 1);
    }

    #[test]
    fn legacy_workload_identity_members_hold_other_roles_directly() {
        let out = resolve(&[
            document("cluster", Some("c"), CLUSTER),
            document("ksa", Some("c"), &ksa("ns", "reader", None)),
            document(
                "bucket",
                None,
                r#"{"resource": "//storage.googleapis.com/projects/_/buckets/b", "policy": {"bindings": [
                    {"role": "roles/storage.objectViewer", "members": ["serviceAccount:acme.svc.id.goog[ns/reader]", "serviceAccount:acme.svc.id.goog[ns/ghost]"]}]}}"#,
            ),
        ]);
        let member = "gcp:serviceAccount:acme.svc.id.goog[ns/reader]";
        let edge = out.edges.iter().find(|e| e.to == member).unwrap();
        assert_eq!(
            (edge.from.as_str(), edge.kind.as_str()),
            ("k8s:c/ns/ServiceAccount/reader", "federates-to")
        );
        assert!(out.grants.iter().any(|g| g.holder == member));
        // A member naming a ServiceAccount the snapshot does not have.
        assert_eq!(
            messages(&out, Level::Info),
            [
                "serviceAccount:acme.svc.id.goog[ns/ghost] is ServiceAccount ns/ghost of workload pool acme.svc.id.goog, which is in no cluster of that pool in the snapshot; no edge from Kubernetes"
            ]
        );
    }

    #[test]
    fn token_creator_on_a_workload_identity_member_is_impersonation() {
        let gsa = "g@acme.iam.gserviceaccount.com";
        let out = resolve(&[
            document("cluster", Some("c"), CLUSTER),
            document("ksa", Some("c"), &ksa("ns", "k", Some(gsa))),
            document(
                "sa-policy",
                None,
                &format!(
                    r#"{{"resource": "//iam.googleapis.com/projects/acme/serviceAccounts/{gsa}", "policy": {{"bindings": [
                        {{"role": "roles/iam.serviceAccountTokenCreator", "members": ["serviceAccount:acme.svc.id.goog[ns/k]", "serviceAccount:{gsa}"]}}]}}}}"#
                ),
            ),
        ]);
        let kinds: Vec<(&str, &str, &str)> = out
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.kind.as_str(), e.to.as_str()))
            .collect();
        let member = "gcp:serviceAccount:acme.svc.id.goog[ns/k]";
        let target = "gcp:serviceAccount:g@acme.iam.gserviceaccount.com";
        assert_eq!(
            kinds,
            [
                ("k8s:c/ns/ServiceAccount/k", "federates-to", member),
                ("k8s:c/ns/ServiceAccount/k", "federates-to", target),
                (member, "impersonates", target),
            ],
            "no self-impersonation, no latent edge for a real path"
        );
    }

    #[test]
    fn what_cannot_be_verified_is_reported_not_guessed() {
        let out = resolve(&[
            // An annotated KSA of a cluster nobody described.
            document(
                "ksa",
                Some("unknown"),
                &ksa("ns", "k", Some("g@acme.iam.gserviceaccount.com")),
            ),
            // The default node account of a project whose number is unknown.
            document(
                "cluster",
                Some("c"),
                r#"{"name": "c", "selfLink": "https://container.googleapis.com/v1/projects/other/locations/l/clusters/c",
                    "nodePools": [{"name": "p", "config": {"serviceAccount": "default"}}]}"#,
            ),
            // A service-account policy named by unique id.
            document(
                "asset",
                None,
                r#"{"name": "//iam.googleapis.com/projects/acme/serviceAccounts/1234", "assetType": "iam.googleapis.com/ServiceAccount",
                    "iamPolicy": {"bindings": [{"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:u@x.com"]}]}}"#,
            ),
            // A principal of a pool no described cluster uses.
            document(
                "dataset",
                None,
                r#"{"resource": "//bigquery.googleapis.com/projects/acme/datasets/d", "policy": {"bindings": [
                    {"role": "roles/bigquery.dataViewer", "members": ["principal://iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/elsewhere.svc.id.goog/subject/ns/a/sa/b", "deleted:user:old@x.com?uid=1", "robot:r2d2"]}]}}"#,
            ),
        ]);
        assert!(out.edges.is_empty(), "{:?}", out.edges);
        let warnings = messages(&out, Level::Warn);
        assert_eq!(warnings.len(), 4, "{warnings:#?}");
        assert!(warnings[0].starts_with("IAM policy of //iam.googleapis.com/projects/acme/serviceAccounts/1234: the service account's email is not in the snapshot"));
        assert!(warnings[1].contains("robot:r2d2"));
        assert!(warnings[2].contains("but the cluster has no description in the snapshot"));
        assert!(warnings[3].starts_with("node pool p of cluster c runs as the default compute service account of project other, whose number the snapshot does not give"));
        // The grants are kept on the resource as named.
        assert!(out.grants.iter().any(|g| g.resources == ["//iam.googleapis.com/projects/acme/serviceAccounts/1234"]));
        let infos = messages(&out, Level::Info);
        assert_eq!(infos.len(), 2, "{infos:#?}");
        assert!(
            infos[0].contains("which no cluster described in the snapshot uses"),
            "{infos:#?}"
        );
        assert!(infos[1].contains("a deleted principal; it grants nothing"));

        // With `gcloud iam service-accounts list`, the unique id resolves.
        let out = resolve(&[
            document(
                "accounts",
                None,
                r#"[{"email": "g@acme.iam.gserviceaccount.com", "uniqueId": "1234", "projectId": "acme", "name": "projects/acme/serviceAccounts/g@acme.iam.gserviceaccount.com"}]"#,
            ),
            document(
                "asset",
                None,
                r#"{"name": "//iam.googleapis.com/projects/acme/serviceAccounts/1234", "assetType": "iam.googleapis.com/ServiceAccount",
                    "iamPolicy": {"bindings": [{"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:u@x.com"]}]}}"#,
            ),
        ]);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert_eq!(out.edges.len(), 1);
        assert_eq!(
            out.edges[0].to,
            "gcp:serviceAccount:g@acme.iam.gserviceaccount.com"
        );
    }

    #[test]
    fn duplicates_and_disabled_roles_grant_once_or_not_at_all() {
        let policy = r#"{"resource": "projects/acme", "policy": {"bindings": [
            {"role": "projects/acme/roles/old", "members": ["user:a@x.com"]},
            {"role": "roles/viewer", "members": ["user:a@x.com", "user:a@x.com"]}]}}"#;
        let out = resolve(&[
            document("one", None, policy),
            document("two", None, policy),
            document(
                "role",
                None,
                r#"{"name": "projects/42/roles/old", "includedPermissions": ["a.b.c"], "stage": "DISABLED"}"#,
            ),
            document("project", None, PROJECT),
        ]);
        assert_eq!(out.grants.len(), 1, "{:?}", out.grants);
        assert_eq!(
            out.grants[0].id,
            "//cloudresourcemanager.googleapis.com/projects/acme#bindings/1/user:a@x.com"
        );
        let infos = messages(&out, Level::Info);
        assert_eq!(infos.len(), 2, "{infos:#?}");
        assert!(
            infos[0].contains("appears again (first in one#/policy)"),
            "{infos:#?}"
        );
        assert!(infos[1].contains("role projects/acme/roles/old is disabled (role); no grant"));
    }

    #[test]
    fn pool_mappings_not_evaluated_reach_from_every_service_account() {
        let provider = r#"{"name": "projects/42/locations/global/workloadIdentityPools/ext/providers/eks", "state": "ACTIVE",
            "attributeMapping": {"google.subject": "assertion.sub", "attribute.team": "assertion.sub.extract('system:serviceaccount:{team}:')"},
            "oidc": {"issuerUri": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"}}"#;
        let eks = r#"{"cluster": {"name": "e", "arn": "arn:aws:eks:eu-west-1:1:cluster/e", "identity": {"oidc": {"issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/abc"}}}}"#;
        let set = "principalSet://iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/ext";
        let out = resolve(&[
            document("provider", None, provider),
            document("cluster", Some("e"), eks),
            document(
                "policy",
                None,
                &format!(
                    r#"{{"resource": "projects/acme", "policy": {{"bindings": [{{"role": "roles/viewer", "members": ["{set}/attribute.team/data", "{set}/*", "{set}/attribute.missing/x"]}}]}}}}"#
                ),
            ),
        ]);
        let edges: Vec<(&str, &str, &str)> = out
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.via.as_str()))
            .collect();
        let team = format!("gcp:{set}/attribute.team/data");
        let all = format!("gcp:{set}/*");
        assert_eq!(
            edges,
            [
                (
                    "k8s:e/Group/system:serviceaccounts",
                    team.as_str(),
                    "workload identity pool provider projects/42/locations/global/workloadIdentityPools/ext/providers/eks, attribute.team=assertion.sub.extract('system:serviceaccount:{team}:') is not evaluated: any ServiceAccount may match"
                ),
                (
                    "k8s:e/Group/system:serviceaccounts",
                    all.as_str(),
                    "workload identity pool provider projects/42/locations/global/workloadIdentityPools/ext/providers/eks, principal set * (every identity of pool ext)"
                ),
            ]
        );
        assert_eq!(
            messages(&out, Level::Info),
            [
                format!("{set}/attribute.team/data: attribute.team=assertion.sub.extract('system:serviceaccount:{{team}}:') is not evaluated (mapping of projects/42/locations/global/workloadIdentityPools/ext/providers/eks); every ServiceAccount of the trusted cluster is taken to match").as_str(),
                format!("{set}/attribute.missing/x names pool ext, whose providers are in the snapshot, but none of them admits it: projects/42/locations/global/workloadIdentityPools/ext/providers/eks maps no attribute.missing; no edge into it").as_str(),
            ]
        );
    }

    #[test]
    fn malformed_documents_never_panic() {
        let contents = [
            r#"{"bindings": "x", "etag": 1}"#,
            r#"{"bindings": [{"role": 5, "members": [1, null]}, {"role": "roles/viewer", "members": [7, "user:"]}], "etag": "e"}"#,
            r#"{"nodePools": 5, "name": "c"}"#,
            r#"{"nodePools": [{"config": {"serviceAccount": 3}}, {"name": "p", "config": null}], "name": "c", "selfLink": "https://container.googleapis.com/v1/projects/x"}"#,
            r#"{"resource": 5, "policy": {"bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"]}]}}"#,
            r#"{"resource": "//", "policy": {"bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"]}]}}"#,
            r#"{"resource": "//iam.googleapis.com/projects/-/serviceAccounts/", "policy": {"bindings": [{"role": "roles/iam.workloadIdentityUser", "members": ["serviceAccount:[/]", "serviceAccount:p[a/b"]}]}}"#,
            r#"{"assetType": "x", "iamPolicy": {"bindings": [{"role": "roles/viewer", "members": ["principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/acme.svc.id.goog/kubernetes.cluster/nonsense"]}]}, "ancestors": [1, "projects/"]}"#,
            r#"{"ancestor": [1, {"resourceId": null}]}"#,
            r#"[{"id": "p", "type": "planet"}, {"id": "q", "type": "project"}]"#,
            r#"{"projectId": "", "projectNumber": {}}"#,
            r#"{"includedPermissions": [1, "a.b"], "name": null}"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "ServiceAccount"}, 3, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "k", "annotations": {"iam.gke.io/gcp-service-account": 5}}}]}"#,
            r#"{"name": "folders/1", "parent": "folders/1"}"#,
            r#"[{"name": "projects/1/locations/global/workloadIdentityPools/p/providers/q", "oidc": {"issuerUri": 5}, "attributeMapping": {"google.subject": 3}, "disabled": "yes"}, {"name": "projects/1/locations/global/workloadIdentityPools/p/providers/", "aws": {}}]"#,
            r#"{"name": "projects/1/locations/global/workloadIdentityPools/p/providers/a", "aws": {"accountId": 7}, "attributeMapping": null}"#,
            r#"{"cluster": {"arn": "arn:aws:eks:r:1:cluster/x", "identity": {"oidc": {"issuer": 1}}}}"#,
            r#"{"type": "Microsoft.ContainerService/ManagedClusters", "oidcIssuerProfile": {"issuerUrl": null}}"#,
            r#"{"resource": "projects/x", "policy": {"bindings": [{"role": "roles/viewer", "members": ["principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/arn:aws:sts::7:assumed-role//", "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/attribute.aws_role/", "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/"]}]}}"#,
            "[]",
            "null",
            "\"text\"",
            "{",
        ];
        let documents: Vec<Document> = contents
            .iter()
            .enumerate()
            .map(|(i, c)| document(&format!("d{i}"), Some("c"), c))
            .collect();
        let out = resolve(&documents);
        // Each document alone, too.
        for document in &documents {
            let _ = resolve(std::slice::from_ref(document));
        }
        let ids: std::collections::HashSet<&str> =
            out.grants.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids.len(), out.grants.len());
    }
}
