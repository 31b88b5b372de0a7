//! The provider on a realistic snapshot: one AWS account's IAM export, two
//! EKS clusters, a GKE and an AKS cluster (see `tests/fixtures/README.md`).

// Clippy exempts `#[test]` functions but not the helpers of a test binary.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use provider_aws::AwsProvider;
use provider_aws::catalogue;
use scopegraph_sdk::{
    Cloud, Document, Effect, Grant, Level, Node, Provider, ProviderOutput, mock::MockHost,
};
use std::collections::{BTreeSet, HashSet};

/// (id, cluster context, host kind, content): the snapshot as the host
/// would hand it over, cluster context from the directory's description.
const FIXTURES: &[(&str, Option<&str>, &str, &str)] = &[
    (
        "iam/authorization-details",
        None,
        "aws/iam-authorization-details",
        include_str!("fixtures/iam/authorization-details.json"),
    ),
    (
        "prod-eks/cluster",
        Some("prod-eks"),
        "aws/eks-cluster",
        include_str!("fixtures/prod-eks/cluster.json"),
    ),
    (
        "prod-eks/service-accounts",
        Some("prod-eks"),
        "kubernetes",
        include_str!("fixtures/prod-eks/service-accounts.json"),
    ),
    (
        "prod-eks/nodes",
        Some("prod-eks"),
        "kubernetes",
        include_str!("fixtures/prod-eks/nodes.json"),
    ),
    (
        "prod-eks/pia-trainer",
        Some("prod-eks"),
        "aws/eks-pod-identity-association",
        include_str!("fixtures/prod-eks/pod-identity-association-trainer.json"),
    ),
    (
        "prod-eks/pia-notebook",
        Some("prod-eks"),
        "aws/eks-pod-identity-association",
        include_str!("fixtures/prod-eks/pod-identity-association-notebook.json"),
    ),
    (
        "prod-eks/pia-list",
        Some("prod-eks"),
        "json",
        include_str!("fixtures/prod-eks/pod-identity-associations.json"),
    ),
    (
        "staging-eks/cluster",
        Some("staging-eks"),
        "aws/eks-cluster",
        include_str!("fixtures/staging-eks/cluster.json"),
    ),
    (
        "prod-gke/cluster",
        Some("prod-gke"),
        "gcp/gke-cluster",
        include_str!("fixtures/prod-gke/cluster.json"),
    ),
    (
        "prod-gke/exports",
        Some("prod-gke"),
        "kubernetes",
        include_str!("fixtures/prod-gke/exports.json"),
    ),
    (
        "prod-aks/cluster",
        Some("prod-aks"),
        "azure/aks-cluster",
        include_str!("fixtures/prod-aks/cluster.json"),
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

/// Through the SDK's mock host, as a plugin author's test would.
fn resolve(documents: Vec<Document>) -> ProviderOutput {
    let (out, logs) = MockHost::new().run(|| AwsProvider::resolve(documents));
    assert!(logs.is_empty(), "{logs:?}");
    out.unwrap()
}

const ACCOUNT: &str = "111122223333";

fn role(name: &str) -> String {
    format!("aws:arn:aws:iam::{ACCOUNT}:role/{name}")
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

fn grant<'a>(out: &'a ProviderOutput, holder: &str, source: &str, statement: usize) -> &'a Grant {
    let id = format!("{holder}#{source}#statement/{statement}");
    out.grants
        .iter()
        .find(|g| g.id == id)
        .unwrap_or_else(|| panic!("no grant {id}"))
}

fn grants_of<'a>(out: &'a ProviderOutput, holder: &str) -> Vec<&'a Grant> {
    out.grants.iter().filter(|g| g.holder == holder).collect()
}

fn strs(items: &[String]) -> Vec<&str> {
    items.iter().map(String::as_str).collect()
}

fn edge_kinds(out: &ProviderOutput) -> BTreeSet<(&str, &str, &str)> {
    out.edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str(), e.kind.as_str()))
        .collect()
}

fn edge<'a>(out: &'a ProviderOutput, from: &str, to: &str) -> &'a scopegraph_sdk::Edge {
    out.edges
        .iter()
        .find(|e| e.from == from && e.to == to)
        .unwrap_or_else(|| panic!("no edge {from} -> {to}"))
}

#[test]
fn every_chain_of_the_snapshot_and_nothing_else() {
    let out = resolve(snapshot());
    let r = role;
    let expected: BTreeSet<(String, String, &str)> = [
        // IRSA, exact StringEquals trust.
        (
            "k8s:prod-eks/analytics/ServiceAccount/report-agent".to_string(),
            r("agents/report-agent"),
            "federates-to",
        ),
        // IRSA, StringLike analytics:* trust: the annotated SA, no group edge.
        (
            "k8s:prod-eks/analytics/ServiceAccount/batch-runner".into(),
            r("analytics-batch"),
            "federates-to",
        ),
        // The same wildcard with nothing annotated: namespace-wide, latent.
        (
            "k8s:prod-eks/Group/system:serviceaccounts:analytics".into(),
            r("analytics-shared"),
            "latent-federates-to",
        ),
        // Only an audience condition: any ServiceAccount of the cluster, latent.
        (
            "k8s:prod-eks/Group/system:serviceaccounts".into(),
            r("legacy-etl"),
            "latent-federates-to",
        ),
        // The trust of the broken chain names another ServiceAccount: latent.
        (
            "k8s:prod-eks/support/ServiceAccount/helpdesk".into(),
            r("support-agent"),
            "latent-federates-to",
        ),
        // EKS Pod Identity.
        (
            "k8s:prod-eks/ml/ServiceAccount/trainer".into(),
            r("ml-trainer"),
            "federates-to",
        ),
        // Node roles: the untagged one on every EKS cluster of the account.
        (
            "k8s:prod-eks/Group/system:serviceaccounts".into(),
            r("prod-eks-node"),
            "node-fallback",
        ),
        (
            "k8s:staging-eks/Group/system:serviceaccounts".into(),
            r("prod-eks-node"),
            "node-fallback",
        ),
        (
            "k8s:staging-eks/Group/system:serviceaccounts".into(),
            r("staging-eks-node"),
            "node-fallback",
        ),
        // Transitive AssumeRole.
        (r("agents/report-agent"), r("warehouse-reader"), "assumes"),
        (r("ops-automation"), r("warehouse-admin"), "assumes"),
        (
            format!("aws:arn:aws:iam::{ACCOUNT}:user/ci/ci-deployer"),
            r("warehouse-admin"),
            "assumes",
        ),
        // Cross-cloud: a GKE pod configured with AWS_ROLE_ARN.
        (
            "k8s:prod-gke/exports/ServiceAccount/bq-exporter".into(),
            r("gke-exporter"),
            "federates-to",
        ),
        // Cross-cloud: an AKS issuer trusted, nothing wired.
        (
            "k8s:prod-aks/sync/ServiceAccount/blob-sync".into(),
            r("aks-sync"),
            "latent-federates-to",
        ),
    ]
    .into_iter()
    .collect();
    let actual: BTreeSet<(String, String, &str)> = edge_kinds(&out)
        .into_iter()
        .map(|(f, t, k)| (f.to_string(), t.to_string(), k))
        .collect();
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
}

#[test]
fn edges_say_what_creates_them() {
    let out = resolve(snapshot());
    let irsa = edge(
        &out,
        "k8s:prod-eks/analytics/ServiceAccount/report-agent",
        &role("agents/report-agent"),
    );
    assert_eq!(
        irsa.via,
        "IRSA: annotation eks.amazonaws.com/role-arn + trust policy statement #1"
    );
    assert_eq!(
        strs(
            &irsa
                .evidence
                .iter()
                .map(|e| e.reference.clone())
                .collect::<Vec<_>>()
        ),
        [
            "prod-eks/service-accounts#/items/0/metadata/annotations",
            "iam/authorization-details#/RoleDetailList/0/AssumeRolePolicyDocument/Statement/0"
        ]
    );

    let wildcard = edge(
        &out,
        "k8s:prod-eks/analytics/ServiceAccount/batch-runner",
        &role("analytics-batch"),
    );
    assert!(
        wildcard.evidence[1].summary.contains(
            "the trust also admits every other ServiceAccount matching system:serviceaccount:analytics:*"
        ),
        "{}",
        wildcard.evidence[1].summary
    );

    let pod_identity = edge(
        &out,
        "k8s:prod-eks/ml/ServiceAccount/trainer",
        &role("ml-trainer"),
    );
    assert_eq!(
        pod_identity.via,
        "arn:aws:eks:eu-west-1:111122223333:podidentityassociation/prod-eks/a-7kq2mzfhd0vbl4xwc"
    );
    // SourceAccount and SourceArn were judged, not assumed.
    assert!(
        !pod_identity
            .evidence
            .iter()
            .any(|e| e.summary.contains("assumed"))
    );

    let fallback = edge(
        &out,
        "k8s:staging-eks/Group/system:serviceaccounts",
        &role("prod-eks-node"),
    );
    assert_eq!(
        fallback.via,
        "EC2 instance metadata (IMDS) on nodes of staging-eks"
    );
    assert!(fallback.evidence[0].summary.contains(
        "authorization details do not say which cluster's nodes use it, so it is connected to every EKS cluster of account 111122223333"
    ));
    assert!(
        fallback.evidence[0]
            .summary
            .contains("no Node objects in the snapshot")
    );
    let prod_fallback = edge(
        &out,
        "k8s:prod-eks/Group/system:serviceaccounts",
        &role("prod-eks-node"),
    );
    // The Fargate node does not count.
    assert!(
        prod_fallback.evidence[0].summary.contains(
            "2 EC2 node(s), e.g. ip-10-40-12-87.eu-west-1.compute.internal, ip-10-40-44-19.eu-west-1.compute.internal"
        ),
        "{}",
        prod_fallback.evidence[0].summary
    );
    let tagged = edge(
        &out,
        "k8s:staging-eks/Group/system:serviceaccounts",
        &role("staging-eks-node"),
    );
    assert!(!tagged.evidence[0].summary.contains("every EKS cluster"));

    // Same-account trust naming the role; the identity allow is shown too.
    let chain = edge(
        &out,
        &role("agents/report-agent"),
        &role("warehouse-reader"),
    );
    assert_eq!(
        chain.via,
        "trust policy statement #1 (arn:aws:iam::111122223333:role/agents/report-agent) + \
         inline policy report-bucket of role report-agent statement \"AssumeWarehouseReader\""
    );
    // Root trust with an MFA condition the snapshot cannot judge.
    let admin = edge(&out, &role("ops-automation"), &role("warehouse-admin"));
    assert!(
        admin.evidence[0]
            .summary
            .contains("conditions assumed satisfiable: Bool aws:MultiFactorAuthPresent")
    );
    let user = edge(
        &out,
        "aws:arn:aws:iam::111122223333:user/ci/ci-deployer",
        &role("warehouse-admin"),
    );
    assert!(
        user.via
            .ends_with("inline policy assume-warehouse-admin of group deployers statement #1"),
        "{}",
        user.via
    );

    let cross_cloud = edge(
        &out,
        "k8s:prod-gke/exports/ServiceAccount/bq-exporter",
        &role("gke-exporter"),
    );
    assert_eq!(
        cross_cloud.via,
        "IRSA: AWS_ROLE_ARN of Pod exports/bq-exporter-6d8f7c9b5-x2v7q + trust policy statement #1"
    );
    assert_eq!(
        cross_cloud.evidence[0].reference,
        "prod-gke/exports#/items/0/spec/containers/0/env/0"
    );
}

#[test]
fn diagnostics_name_broken_latent_and_unusable_chains() {
    let out = resolve(snapshot());
    let of = |level: Level| -> Vec<&str> {
        out.diagnostics
            .iter()
            .filter(|d| d.level == level)
            .map(|d| d.message.as_str())
            .collect()
    };
    let warnings = of(Level::Warn);
    assert_eq!(warnings.len(), 5, "{warnings:#?}");
    let has = |list: &[&str], needle: &str| {
        assert!(
            list.iter().any(|m| m.contains(needle)),
            "no diagnostic with {needle:?} in {list:#?}"
        );
    };
    has(
        &warnings,
        "broken chain: ServiceAccount support/support-agent of cluster prod-eks is wired to role \
         arn:aws:iam::111122223333:role/support-agent (annotation eks.amazonaws.com/role-arn), but its trust policy \
         allows sts:AssumeRoleWithWebIdentity from oidc.eks.eu-west-1.amazonaws.com/id/4F1C6A0E2B9D8E7F6A5B4C3D2E1F0A9B \
         only for system:serviceaccount:support:helpdesk",
    );
    has(
        &warnings,
        "broken chain: Pod Identity association arn:aws:eks:eu-west-1:111122223333:podidentityassociation/prod-eks/a-3hx9pq1rtz6wneu0d \
         maps ServiceAccount ml/notebook of cluster prod-eks to role arn:aws:iam::111122223333:role/ml-notebook, but the \
         role's trust policy does not allow pods.eks.amazonaws.com sts:TagSession",
    );
    has(
        &warnings,
        "unverified chain: ServiceAccount tools/partner-sync of cluster prod-eks uses role arn:aws:iam::444455556666:role/partner-export",
    );
    has(&warnings, "(ml/trainer in cluster prod-eks) has no roleArn");
    has(
        &warnings,
        "(ml/notebook in cluster prod-eks) has no roleArn",
    );

    let infos = of(Level::Info);
    for needle in [
        "latent trust: role arn:aws:iam::111122223333:role/analytics-shared trusts system:serviceaccount:analytics:* of cluster prod-eks",
        "latent trust: role arn:aws:iam::111122223333:role/legacy-etl trusts * of cluster prod-eks (statement \"AnyPodOfProd\")",
        "latent trust: role arn:aws:iam::111122223333:role/support-agent trusts system:serviceaccount:support:helpdesk of cluster prod-eks",
        "latent trust: role arn:aws:iam::111122223333:role/aks-sync trusts system:serviceaccount:sync:blob-sync of cluster prod-aks",
        "role arn:aws:iam::111122223333:role/legacy-etl trusts the OIDC issuer oidc.eks.eu-west-1.amazonaws.com/id/0D9E8F7A6B5C4D3E2F1A0B9C8D7E6F5A, which is the issuer of no cluster",
    ] {
        has(&infos, needle);
    }
    assert_eq!(infos.len(), 5, "{infos:#?}");
    assert!(of(Level::Error).is_empty());
}

#[test]
fn roles_and_users_are_cloud_identities() {
    let out = resolve(snapshot());
    let report = node(&out, &role("agents/report-agent"));
    assert_eq!(report.kind, "cloud-identity");
    assert_eq!(report.cloud, Cloud::Aws);
    assert_eq!(
        report.name,
        "arn:aws:iam::111122223333:role/agents/report-agent"
    );
    assert_eq!(attribute(report, "account"), Some(ACCOUNT));
    assert_eq!(attribute(report, "path"), Some("/agents/"));
    assert_eq!(attribute(report, "type"), Some("role"));
    assert_eq!(attribute(report, "tag:team"), Some("analytics"));
    assert_eq!(
        attribute(report, "last-used"),
        Some("2026-05-10T08:12:44+00:00")
    );
    assert_eq!(
        report.evidence[0].reference,
        "iam/authorization-details#/RoleDetailList/0"
    );
    let trainer = node(&out, &role("ml-trainer"));
    assert_eq!(
        attribute(trainer, "boundary"),
        Some("arn:aws:iam::111122223333:policy/agent-boundary")
    );
    let node_role = node(&out, &role("prod-eks-node"));
    assert_eq!(
        attribute(node_role, "instance-profiles"),
        Some("eks-a2c4e6f8-1b3d-5f7a-9c1e-3a5c7e9b1d3f")
    );
    let user = node(&out, "aws:arn:aws:iam::111122223333:user/ci/ci-deployer");
    assert_eq!(attribute(user, "type"), Some("user"));
    assert_eq!(attribute(user, "groups"), Some("deployers"));
    // IAM principals, and the EKS clusters' facts; other Kubernetes nodes
    // are the Kubernetes provider's.
    let (clusters, principals): (Vec<&Node>, Vec<&Node>) =
        out.nodes.iter().partition(|n| n.kind == "cluster");
    assert_eq!(principals.len(), 16);
    assert!(
        principals
            .iter()
            .all(|n| n.id.starts_with("aws:arn:aws:iam::"))
    );
    let eks: Vec<(&str, Option<&str>)> = clusters
        .iter()
        .map(|n| (n.id.as_str(), attribute(n, "eks:oidc-issuer")))
        .collect();
    assert_eq!(eks.len(), 2, "{eks:?}");
    assert!(eks.iter().all(|(id, issuer)| id.starts_with("k8s:")
        && issuer.is_some_and(|i| i.starts_with("https://oidc.eks."))));
}

#[test]
fn explicit_denies_remove_covered_actions_and_annotate_the_rest() {
    let out = resolve(snapshot());
    let holder = role("agents/report-agent");
    let inline = "arn:aws:iam::111122223333:role/agents/report-agent#inline/report-bucket";
    let allow = grant(&out, &holder, inline, 0);
    // s3:*Object minus s3:DeleteObject (denied on `*`).
    assert_eq!(
        strs(&allow.permissions),
        [
            "s3:GetObject",
            "s3:PutObject",
            "s3:ReplicateObject",
            "s3:RestoreObject"
        ]
    );
    assert_eq!(strs(&allow.resources), ["arn:aws:s3:::acme-reports/*"]);
    assert_eq!(allow.effect, Effect::Allow);
    assert_eq!(allow.cloud, Cloud::Aws);
    // The conditional deny of unencrypted puts leaves PutObject, noted.
    assert_eq!(
        strs(&allow.conditions),
        [format!("partially denied by {inline} statement \"EncryptedPutsOnly\"").as_str()]
    );
    assert_eq!(
        allow.evidence[0].reference,
        "iam/authorization-details#/RoleDetailList/0/RolePolicyList/0/PolicyDocument/Statement/0"
    );
    assert!(
        allow.evidence[0]
            .summary
            .contains("removed: 1 by explicit deny"),
        "{}",
        allow.evidence[0].summary
    );

    // The denies themselves, for information.
    let no_deletes = grant(&out, &holder, inline, 1);
    assert_eq!(no_deletes.effect, Effect::Deny);
    assert_eq!(strs(&no_deletes.resources), ["*"]);
    // Informational: as written, not expanded.
    assert_eq!(strs(&no_deletes.permissions), ["s3:DeleteObject*"]);
    let encrypted = grant(&out, &holder, inline, 2);
    assert_eq!(encrypted.effect, Effect::Deny);
    assert_eq!(
        strs(&encrypted.conditions),
        [r#"{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}"#]
    );

    let assume = grant(&out, &holder, inline, 3);
    assert_eq!(strs(&assume.permissions), ["sts:AssumeRole"]);
    assert_eq!(
        strs(&assume.resources),
        ["arn:aws:iam::111122223333:role/warehouse-reader"]
    );
}

#[test]
fn a_managed_policy_missing_from_the_export_comes_from_the_catalogue() {
    let out = resolve(snapshot());
    let source = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
    let read_only = grant(&out, &role("agents/report-agent"), source, 0);
    assert_eq!(read_only.source, source);
    assert_eq!(strs(&read_only.resources), ["*"]);
    let permissions: HashSet<&str> = read_only.permissions.iter().map(String::as_str).collect();
    for action in [
        "s3:GetObject",
        "s3:ListBucket",
        "s3:ListAllMyBuckets",
        "s3:DescribeJob",
        "s3-object-lambda:GetObject",
    ] {
        assert!(permissions.contains(action), "{action}");
    }
    assert!(!permissions.contains("s3:PutObject"));
    assert_eq!(read_only.permissions.len(), 90);
    assert_eq!(
        read_only.evidence[0].reference,
        "aws-managed-policy-catalogue#/AmazonS3ReadOnlyAccess/document/Statement/0"
    );
    assert_eq!(
        read_only.evidence[1].reference,
        "iam/authorization-details#/RoleDetailList/0/AttachedManagedPolicies/0"
    );

    // An AWS managed policy the export does carry is taken from the export.
    let cni = grant(
        &out,
        &role("prod-eks-node"),
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        1,
    );
    assert_eq!(strs(&cni.permissions), ["ec2:CreateTags"]);
    assert_eq!(
        strs(&cni.resources),
        ["arn:aws:ec2:*:*:network-interface/*"]
    );
    assert_eq!(
        cni.evidence[0].reference,
        "iam/authorization-details#/Policies/2/PolicyVersionList/0/Document/Statement/1"
    );
}

#[test]
fn s3_star_expands_to_every_s3_action() {
    let out = resolve(snapshot());
    let scratch = grant(
        &out,
        &role("analytics-batch"),
        "arn:aws:iam::111122223333:role/analytics-batch#inline/scratch-bucket",
        0,
    );
    let catalogue = catalogue::actions();
    assert_eq!(scratch.permissions.len(), catalogue.service_len("s3"));
    assert_eq!(scratch.permissions.len(), 168);
    for action in [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteBucket",
        "s3:PutBucketPolicy",
    ] {
        assert!(
            scratch.permissions.contains(&action.to_string()),
            "{action}"
        );
    }
    assert!(scratch.permissions.iter().all(|p| p.starts_with("s3:")));
    assert_eq!(
        strs(&scratch.resources),
        [
            "arn:aws:s3:::acme-analytics-scratch",
            "arn:aws:s3:::acme-analytics-scratch/*"
        ]
    );
    assert!(scratch.conditions.is_empty());
}

#[test]
fn a_permissions_boundary_removes_what_it_does_not_allow() {
    let out = resolve(snapshot());
    let holder = role("ml-trainer");
    // Customer managed, URL-encoded in the export, default version v1.
    let source = "arn:aws:iam::111122223333:policy/ml-training-data";
    let data = grant(&out, &holder, source, 0);
    assert_eq!(
        strs(&data.permissions),
        ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]
    );
    assert!(
        data.evidence[0].summary.contains(
            "removed: 165 outside permissions boundary arn:aws:iam::111122223333:policy/agent-boundary"
        ),
        "{}",
        data.evidence[0].summary
    );
    // An encoded document cannot be pointed into: the evidence names it.
    assert_eq!(
        data.evidence[0].reference,
        "iam/authorization-details#/Policies/0/PolicyVersionList/0/Document"
    );
    let jobs = grant(&out, &holder, source, 1);
    assert_eq!(
        strs(&jobs.permissions),
        [
            "sagemaker:CreateTrainingJob",
            "sagemaker:DescribeTrainingJob"
        ]
    );
    // iam:PassRole is outside the boundary: no grant at all.
    assert_eq!(grants_of(&out, &holder).len(), 2);
    // The boundary's default version (v2) applies, not the older `*` one.
    assert!(
        !out.grants
            .iter()
            .any(|g| g.permissions.contains(&"iam:PassRole".into()))
    );
}

#[test]
fn user_grants_include_their_groups_policies() {
    let out = resolve(snapshot());
    let holder = "aws:arn:aws:iam::111122223333:user/ci/ci-deployer";
    let grants = grants_of(&out, holder);
    assert_eq!(grants.len(), 1);
    assert_eq!(
        grants[0].source,
        "arn:aws:iam::111122223333:group/deployers#inline/assume-warehouse-admin"
    );
    assert_eq!(strs(&grants[0].permissions), ["sts:AssumeRole"]);
    assert_eq!(
        grants[0].evidence[1].reference,
        "iam/authorization-details#/UserDetailList/0/GroupList"
    );
}

#[test]
fn output_satisfies_the_hosts_checks_and_is_deterministic() {
    let out = resolve(snapshot());
    let ids: HashSet<&str> = out.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), out.nodes.len(), "node ids are unique");
    let grant_ids: HashSet<&str> = out.grants.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(grant_ids.len(), out.grants.len(), "grant ids are unique");
    assert!(out.grants.iter().all(|g| !g.permissions.is_empty()
        && !g.resources.is_empty()
        && ids.contains(g.holder.as_str())));
    // Every AWS end of an edge is a node of this output.
    assert!(
        out.edges
            .iter()
            .flat_map(|e| [&e.from, &e.to])
            .filter(|id| id.starts_with("aws:"))
            .all(|id| ids.contains(id.as_str()))
    );
    assert_eq!(resolve(snapshot()), out, "deterministic");
    // Documents in another order give the same graph.
    let mut reversed = snapshot();
    reversed.reverse();
    let again = resolve(reversed);
    assert_eq!(edge_kinds(&again), edge_kinds(&out));
    assert_eq!(again.grants.len(), out.grants.len());
}

#[test]
fn without_the_iam_export_nothing_is_guessed() {
    let documents: Vec<Document> = snapshot()
        .into_iter()
        .filter(|d| !d.id.starts_with("iam/"))
        .collect();
    let out = resolve(documents);
    // The clusters' own facts are known; no identity, chain or grant is.
    assert!(out.nodes.iter().all(|n| n.kind == "cluster"));
    assert!(out.edges.is_empty() && out.grants.is_empty());
    assert!(
        out.diagnostics
            .iter()
            .filter(|d| d.level == Level::Warn)
            .all(|d| d.message.contains("unverified chain") || d.message.contains("no roleArn")),
        "{:#?}",
        out.diagnostics
    );
}

#[test]
fn a_principals_tags_name_the_owner_of_its_grants() {
    let out = resolve(snapshot());
    let owners = |holder: &str| -> BTreeSet<String> {
        grants_of(&out, holder)
            .iter()
            .flat_map(|g| g.evidence.iter())
            .filter(|e| e.kind == "owner")
            .map(|e| e.summary.clone())
            .collect()
    };
    let report_agent = owners(&role("agents/report-agent"));
    assert_eq!(report_agent.len(), 1, "{report_agent:?}");
    assert!(
        report_agent
            .iter()
            .all(|s| s.ends_with("report-agent is tagged team=analytics"))
    );
    let node = owners(&role("staging-eks-node"));
    assert_eq!(node.len(), 1, "{node:?}");
    assert!(
        node.iter()
            .all(|s| s.ends_with("was created by eksctl for cluster staging-eks, node group ng-1"))
    );
    assert!(owners(&role("prod-eks-node")).is_empty());
}
