//! Workload Identity Federation into GCP from EKS, AKS and AWS roles: pool
//! providers as `gcloud iam workload-identity-pools providers list|describe`
//! prints them, beside the clusters and roles they trust (see
//! `tests/fixtures/README.md`, "Cross-cloud").

// Clippy exempts `#[test]` functions but not the helpers of a test binary.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use provider_gcp::GcpProvider;
use scopegraph_sdk::{Document, Level, Provider, ProviderOutput, mock::MockHost};
use std::collections::{BTreeSet, HashSet};

/// (id, cluster context, host kind, content).
const FIXTURES: &[(&str, Option<&str>, &str, &str)] = &[
    (
        "gcp/project-acme-ml",
        None,
        "gcp/project",
        include_str!("fixtures/cross-cloud/gcp/project-acme-ml.json"),
    ),
    (
        "gcp/providers-multicloud",
        None,
        "gcp/workload-identity-pool-providers",
        include_str!("fixtures/cross-cloud/gcp/providers-multicloud.json"),
    ),
    (
        "gcp/provider-aks-legacy",
        None,
        "gcp/workload-identity-pool-provider",
        include_str!("fixtures/cross-cloud/gcp/provider-aks-legacy.json"),
    ),
    (
        "gcp/providers-retired",
        None,
        "gcp/workload-identity-pool-providers",
        include_str!("fixtures/cross-cloud/gcp/providers-retired.json"),
    ),
    (
        "gcp/providers-aws-federation",
        None,
        "gcp/workload-identity-pool-providers",
        include_str!("fixtures/cross-cloud/gcp/providers-aws-federation.json"),
    ),
    (
        "gcp/sa-warehouse-agent-iam-policy",
        None,
        "gcp/resource-iam-policy",
        include_str!("fixtures/cross-cloud/gcp/sa-warehouse-agent-iam-policy.json"),
    ),
    (
        "gcp/project-acme-ml-iam-policy",
        None,
        "gcp/resource-iam-policy",
        include_str!("fixtures/cross-cloud/gcp/project-acme-ml-iam-policy.json"),
    ),
    (
        "aws/authorization-details",
        None,
        "aws/iam-authorization-details",
        include_str!("fixtures/cross-cloud/aws/authorization-details.json"),
    ),
    (
        "prod-eks/cluster",
        Some("prod-eks"),
        "aws/eks-cluster",
        include_str!("fixtures/cross-cloud/prod-eks/cluster.json"),
    ),
    (
        "prod-eks/serviceaccounts",
        Some("prod-eks"),
        "kubernetes",
        include_str!("fixtures/cross-cloud/prod-eks/serviceaccounts.json"),
    ),
    (
        "prod-aks/cluster",
        Some("prod-aks"),
        "azure/aks-cluster",
        include_str!("fixtures/cross-cloud/prod-aks/cluster.json"),
    ),
    (
        "prod-aks/serviceaccounts",
        Some("prod-aks"),
        "kubernetes",
        include_str!("fixtures/cross-cloud/prod-aks/serviceaccounts.json"),
    ),
];

fn snapshot() -> Vec<Document> {
    FIXTURES
        .iter()
        .map(|(id, cluster, kind, content)| Document {
            id: (*id).into(),
            source: format!("snapshot/{id}.json"),
            kind: (*kind).into(),
            context: cluster
                .map(|c| vec![("cluster".to_string(), c.to_string())])
                .unwrap_or_default(),
            content: (*content).into(),
        })
        .collect()
}

/// The snapshot without the documents whose id starts with `prefix`.
fn without(prefix: &str) -> Vec<Document> {
    snapshot()
        .into_iter()
        .filter(|d| !d.id.starts_with(prefix))
        .collect()
}

fn resolve(documents: Vec<Document>) -> ProviderOutput {
    let (out, logs) = MockHost::new().run(|| GcpProvider::resolve(documents));
    assert!(logs.is_empty(), "{logs:?}");
    out.unwrap()
}

/// (from, to, kind, via) of every edge.
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

/// The evidence summaries of the edge `from` → `to`.
fn evidence<'a>(out: &'a ProviderOutput, from: &str, to: &str) -> Vec<&'a str> {
    out.edges
        .iter()
        .find(|e| e.from == from && e.to == to)
        .unwrap_or_else(|| panic!("no edge {from} -> {to}"))
        .evidence
        .iter()
        .map(|e| e.summary.as_str())
        .collect()
}

fn infos(out: &ProviderOutput) -> Vec<(&str, &str)> {
    out.diagnostics
        .iter()
        .filter(|d| d.level == Level::Info)
        .map(|d| (d.source.as_str(), d.message.as_str()))
        .collect()
}

const POOLS: &str =
    "iam.googleapis.com/projects/627401938255/locations/global/workloadIdentityPools";
const PROVIDERS: &str = "projects/627401938255/locations/global/workloadIdentityPools";
const WAREHOUSE_AGENT: &str = "gcp:serviceAccount:warehouse-agent@acme-ml.iam.gserviceaccount.com";
const EKS_REPORT_AGENT: &str = "k8s:prod-eks/analytics/ServiceAccount/report-agent";
const AKS_LEDGER_AGENT: &str = "k8s:prod-aks/payments/ServiceAccount/ledger-agent";
/// The role's node keeps its path; the `sts` ARNs the members name do not.
const REPORT_EXPORTER: &str = "aws:arn:aws:iam::111122223333:role/agents/report-exporter";
const ML_PROJECT: &str = "//cloudresourcemanager.googleapis.com/projects/acme-ml";

fn member(tail: &str) -> String {
    format!("gcp:{tail}").replace("{POOLS}", POOLS)
}

#[test]
fn output_satisfies_the_hosts_checks() {
    let out = resolve(snapshot());
    let ids: HashSet<&str> = out.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), out.nodes.len(), "node ids are unique");
    let dangling: BTreeSet<&str> = out
        .edges
        .iter()
        .flat_map(|e| [e.from.as_str(), e.to.as_str()])
        .chain(out.grants.iter().map(|g| g.holder.as_str()))
        .filter(|id| !ids.contains(id))
        .collect();
    assert!(dangling.is_empty(), "{dangling:?}");
    // The AWS provider describes the role; this provider only names it.
    let role = out.nodes.iter().find(|n| n.id == REPORT_EXPORTER).unwrap();
    assert_eq!(
        (role.kind.as_str(), role.cloud, role.attributes.len()),
        ("cloud-identity", scopegraph_sdk::Cloud::Aws, 0)
    );
    // EKS and AKS cluster nodes are the AWS and Azure providers' to emit.
    assert!(out.nodes.iter().all(|n| n.kind != "cluster"));
    assert!(
        out.diagnostics.iter().all(|d| d.level == Level::Info),
        "{:?}",
        out.diagnostics
    );
    assert_eq!(resolve(snapshot()), out, "deterministic");
}

#[test]
fn an_eks_service_account_reaches_a_gsa_through_a_pool_oidc_provider() {
    let out = resolve(snapshot());
    let principal = member(
        "principal://{POOLS}/multicloud/subject/system:serviceaccount:analytics:report-agent",
    );
    let namespace = member("principalSet://{POOLS}/multicloud/attribute.namespace/analytics");
    let from_eks: BTreeSet<_> = edges(&out)
        .into_iter()
        .filter(|(from, to, ..)| from.starts_with("k8s:prod-eks/") || *to == WAREHOUSE_AGENT)
        .collect();
    let provider =
        format!("workload identity pool provider {PROVIDERS}/multicloud/providers/prod-eks");
    assert_eq!(
        from_eks,
        BTreeSet::from([
            (
                EKS_REPORT_AGENT,
                principal.as_str(),
                "federates-to",
                format!("{provider}, google.subject=assertion.sub").as_str(),
            ),
            (
                "k8s:prod-eks/Group/system:serviceaccounts:analytics",
                namespace.as_str(),
                "federates-to",
                format!("{provider}, attribute.namespace=assertion['kubernetes.io']['namespace']")
                    .as_str(),
            ),
            // Federation's designed last step: the GSA is the workload's identity.
            (
                principal.as_str(),
                WAREHOUSE_AGENT,
                "federates-to",
                "//iam.googleapis.com/projects/acme-ml/serviceAccounts/warehouse-agent@acme-ml.iam.gserviceaccount.com IAM binding roles/iam.workloadIdentityUser",
            ),
        ])
    );
    // The condition is carried, not evaluated.
    let notes = evidence(&out, EKS_REPORT_AGENT, &principal);
    assert_eq!(
        notes[1..],
        [
            format!("{PROVIDERS}/multicloud/providers/prod-eks trusts the OIDC issuer https://oidc.eks.eu-west-1.amazonaws.com/id/5C8F2B1A9E3D4C6B7A8F9E0D1C2B3A4F").as_str(),
            "EKS cluster prod-eks has the OIDC issuer https://oidc.eks.eu-west-1.amazonaws.com/id/5C8F2B1A9E3D4C6B7A8F9E0D1C2B3A4F",
            format!("{PROVIDERS}/multicloud/providers/prod-eks maps google.subject=assertion.sub").as_str(),
            format!("condition: {PROVIDERS}/multicloud/providers/prod-eks admits only tokens where assertion['kubernetes.io']['namespace'] in ['analytics'] (carried, not evaluated)").as_str(),
        ]
    );
    // The GSA's grants are what the principal reaches.
    let gsa_grants: Vec<&str> = out
        .grants
        .iter()
        .filter(|g| g.holder == WAREHOUSE_AGENT)
        .map(|g| g.source.as_str())
        .collect();
    assert_eq!(
        gsa_grants,
        [format!("{ML_PROJECT} IAM binding roles/bigquery.dataViewer").as_str()]
    );

    // Without the cluster description the issuer matches nothing.
    let out = resolve(without("prod-eks/cluster"));
    assert!(
        !out.edges
            .iter()
            .any(|e| e.from.starts_with("k8s:prod-eks/"))
    );
    assert!(infos(&out).iter().any(|(_, m)| m.starts_with(&format!(
        "workload identity pool provider {PROVIDERS}/multicloud/providers/prod-eks trusts the OIDC issuer oidc.eks.eu-west-1.amazonaws.com/id/5C8F2B1A9E3D4C6B7A8F9E0D1C2B3A4F, which is the issuer of no cluster"
    ))));
}

#[test]
fn aks_issuers_match_with_or_without_the_trailing_slash() {
    let out = resolve(snapshot());
    // prod-aks's issuer ends in `/` (as `az aks show` prints it); the
    // multicloud provider drops it, the aks-legacy one keeps it.
    let without_slash = member(
        "principal://{POOLS}/multicloud/subject/system:serviceaccount:payments:ledger-agent",
    );
    let with_slash = member(
        "principal://{POOLS}/aks-legacy/subject/system:serviceaccount:payments:ledger-agent",
    );
    let from_aks: BTreeSet<_> = edges(&out)
        .into_iter()
        .filter(|(from, ..)| from.starts_with("k8s:prod-aks/"))
        .collect();
    assert_eq!(
        from_aks,
        BTreeSet::from([
            (
                AKS_LEDGER_AGENT,
                without_slash.as_str(),
                "federates-to",
                format!("workload identity pool provider {PROVIDERS}/multicloud/providers/prod-aks, google.subject=assertion.sub").as_str(),
            ),
            (
                AKS_LEDGER_AGENT,
                with_slash.as_str(),
                "federates-to",
                format!("workload identity pool provider {PROVIDERS}/aks-legacy/providers/prod-aks, google.subject=assertion.sub").as_str(),
            ),
        ])
    );
    const ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/7d1e3b5a-2c4f-4e8a-9b6d-0f1a2c3e4d5b/c2a94f1e-5b7d-4e3a-8f6c-9d0b1a2e3f4c";
    assert_eq!(
        evidence(&out, AKS_LEDGER_AGENT, &without_slash)[2],
        format!(
            "AKS cluster prod-aks has the OIDC issuer {ISSUER}/ (the provider spells it {ISSUER}; matched ignoring scheme, case and a trailing slash)"
        )
    );
    assert_eq!(
        evidence(&out, AKS_LEDGER_AGENT, &with_slash)[2],
        format!("AKS cluster prod-aks has the OIDC issuer {ISSUER}/")
    );
}

#[test]
fn an_aws_role_reaches_the_principals_of_its_sessions() {
    let out = resolve(snapshot());
    let role_set = member(
        "principalSet://{POOLS}/aws-federation/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/report-exporter",
    );
    let session = member(
        "principal://{POOLS}/aws-federation/subject/arn:aws:sts::111122223333:assumed-role/report-exporter/nightly-export",
    );
    let provider = format!(
        "workload identity pool provider {PROVIDERS}/aws-federation/providers/acme-aws-prod"
    );
    let from_aws: BTreeSet<_> = edges(&out)
        .into_iter()
        .filter(|(from, ..)| from.starts_with("aws:"))
        .collect();
    assert_eq!(
        from_aws,
        BTreeSet::from([
            (
                REPORT_EXPORTER,
                role_set.as_str(),
                "federates-to",
                format!("{provider}, attribute.aws_role=Google's default AWS role mapping")
                    .as_str(),
            ),
            (
                REPORT_EXPORTER,
                session.as_str(),
                "federates-to",
                format!("{provider}, google.subject=assertion.arn").as_str(),
            ),
        ])
    );
    assert_eq!(
        evidence(&out, REPORT_EXPORTER, &session)[2],
        format!(
            "{PROVIDERS}/aws-federation/providers/acme-aws-prod maps google.subject=assertion.arn; session name nightly-export: chosen by whoever assumes role report-exporter, so not known statically; any holder of the role can use it"
        )
    );

    // Without the role's description its path is unknown: `/` is assumed.
    let out = resolve(without("aws/"));
    assert!(out.edges.iter().any(|e| e.from
        == "aws:arn:aws:iam::111122223333:role/report-exporter"
        && e.to == session));
    assert!(infos(&out).iter().any(|(_, m)| m.ends_with("aws:arn:aws:iam::111122223333:role/report-exporter is not in the snapshot (`aws iam get-account-authorization-details`), so its path is unknown and taken to be /")));
}

#[test]
fn disabled_and_deleted_providers_give_no_edge() {
    let out = resolve(snapshot());
    assert!(!out.edges.iter().any(|e| e.to.contains("/retired/")));
    let retired: Vec<(&str, &str)> = infos(&out)
        .into_iter()
        .filter(|(_, m)| m.contains("/retired/"))
        .collect();
    assert_eq!(
        retired,
        [
            ("gcp/providers-retired", format!("workload identity pool provider {PROVIDERS}/retired/providers/prod-eks-old is disabled: it exchanges no tokens, so no edge goes through it").as_str()),
            ("gcp/providers-retired", format!("workload identity pool provider {PROVIDERS}/retired/providers/prod-eks-deleted is deleted: it exchanges no tokens, so no edge goes through it").as_str()),
            ("gcp/project-acme-ml-iam-policy", format!("principal://{POOLS}/retired/subject/system:serviceaccount:analytics:report-agent names pool retired, whose providers are in the snapshot, but none of them admits it: {PROVIDERS}/retired/providers/prod-eks-old is disabled; {PROVIDERS}/retired/providers/prod-eks-deleted is deleted; no edge into it").as_str()),
        ]
    );
    // The principal keeps its grant, as every principal does.
    assert!(out.grants.iter().any(|g| g.holder.contains("/retired/")
        && g.source == format!("{ML_PROJECT} IAM binding roles/viewer")));
}

#[test]
fn a_principal_of_another_aws_account_is_not_reached() {
    let out = resolve(snapshot());
    let other = member(
        "principalSet://{POOLS}/aws-federation/attribute.aws_role/arn:aws:sts::444455556666:assumed-role/report-exporter",
    );
    assert!(!out.edges.iter().any(|e| e.to == other));
    assert!(
        out.nodes.iter().any(|n| n.id == other),
        "still a node with its grant"
    );
    assert!(infos(&out).contains(&(
        "gcp/project-acme-ml-iam-policy",
        format!("principalSet://{POOLS}/aws-federation/attribute.aws_role/arn:aws:sts::444455556666:assumed-role/report-exporter names pool aws-federation, whose providers are in the snapshot, but none of them admits it: {PROVIDERS}/aws-federation/providers/acme-aws-prod trusts AWS account 111122223333, not account 444455556666 the member names; no edge into it").as_str()
    )));
}

#[test]
fn every_diagnostic_is_accounted_for() {
    let out = resolve(snapshot());
    // Two inactive providers, the retired pool's principal, the other
    // account's principal (each asserted above).
    assert_eq!(out.diagnostics.len(), 4, "{:#?}", out.diagnostics);
}
