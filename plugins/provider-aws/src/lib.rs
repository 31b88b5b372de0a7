//! The AWS provider: IAM roles and users, what they may do, and the chains
//! from Kubernetes ServiceAccounts to them (IRSA, EKS Pod Identity, node
//! instance roles, transitive `sts:AssumeRole`), following the graph
//! conventions of `plugins/README.md`.
//!
//! Inputs, recognised by content:
//!
//! - `aws iam get-account-authorization-details` (roles, users, groups,
//!   managed policies; policy documents as objects or URL-encoded strings);
//! - cluster descriptions (`aws eks describe-cluster`, `gcloud container
//!   clusters describe`, `az aks show`): cluster name -> OIDC issuer, so a
//!   role trusting any of them (cross-cloud included) is reconciled;
//! - `aws eks describe-pod-identity-association` (and
//!   `list-pod-identity-associations`, which names no role: diagnosed);
//! - Kubernetes ServiceAccounts (`eks.amazonaws.com/role-arn`,
//!   `eks.amazonaws.com/audience`), Pods (`AWS_ROLE_ARN` in a container's
//!   env) and Nodes (`spec.providerID`: does the cluster run EC2 nodes).
//!
//! Modules:
//!
//! - [`inputs`] reads the documents;
//! - [`policy`] reads policy documents and evaluates conditions;
//! - [`grants`] turns identity policies into grants (wildcards expanded,
//!   boundaries and explicit denies applied): the rules are in its docs;
//! - [`chains`] derives the edges: the rules (IRSA wildcards and latent
//!   trust, Pod Identity, node fallback, AssumeRole) are in its docs;
//! - [`catalogue`] embeds the action list and AWS managed policies;
//! - [`output`] keeps ids by convention and unique.
//!
//! Nodes: every IAM role and user is a `cloud-identity` node `aws:{arn}`
//! named by its ARN. Kubernetes nodes (ServiceAccounts, groups) are the
//! Kubernetes provider's: this provider only points edges at their ids.
//! IAM groups get no node: a user's group policies are evaluated as the
//! user's own (so the user's boundary and every deny apply to them), with
//! the membership in the grant's evidence. Node attributes: `type` (`role`
//! or `user`), `account`, `name`, `path`, `id`, `boundary`, `max-session`
//! (when the export has it), `instance-profiles`, `groups`, `last-used`,
//! `tag:{key}`.
//!
//! Cost: the expanded permissions dominate (a grant of `*` lists every
//! catalogued action, about 20,000). Under the host's default limits (2e9
//! fuel, 256 MiB) the test snapshot takes under 1e8 fuel, and a 400-role
//! account in which 50 roles have `AdministratorAccess`, 50
//! `ReadOnlyAccess` and every role trusts its account root (1.4 million
//! expanded permissions, 20,000 `assumes` edges) between 1.5e9 and 2e9
//! fuel and less than 128 MiB. Expansions are computed once per distinct
//! statement; `sts:AssumeRole` rights once per principal.

pub mod catalogue;
pub mod chains;
pub mod glob;
pub mod grants;
pub mod inputs;
pub mod output;
pub mod policy;

use inputs::{IamPrincipal, Inputs};
use output::{Output, aws_id};
use scopegraph_sdk::{Cloud, Document, Node, PluginError, Provider, ProviderOutput};
use std::collections::BTreeMap;

#[derive(Debug)]
pub struct AwsProvider;

impl Provider for AwsProvider {
    fn resolve(documents: Vec<Document>) -> Result<ProviderOutput, PluginError> {
        Ok(resolve(&documents))
    }
}

scopegraph_sdk::export_provider!(AwsProvider);

/// The whole derivation.
pub fn resolve(documents: &[Document]) -> ProviderOutput {
    let mut inputs = inputs::read(documents);
    let mut out = Output::default();
    out.extend_diagnostics(std::mem::take(&mut inputs.diagnostics));
    let inputs: &Inputs = &inputs;

    for principal in inputs.principals.values() {
        out.node(principal_node(principal));
    }
    for cluster in inputs.clusters.iter().filter(|c| c.cloud == Cloud::Aws) {
        out.node(cluster_node(cluster));
    }
    let library = grants::Library::build(inputs, &mut out);
    let effective: BTreeMap<String, grants::Effective> = inputs
        .principals
        .values()
        .map(|p| (p.arn.clone(), grants::effective(p, inputs, &library)))
        .collect();

    let mut expander = grants::Expander::default();
    for principal in inputs.principals.values() {
        if let Some(e) = effective.get(&principal.arn) {
            if let Some(arn) = &e.missing_boundary {
                out.diagnostic(
                    scopegraph_sdk::Level::Warn,
                    &principal.origin.document,
                    format!(
                        "permissions boundary {arn} of {} is neither in the snapshot nor in the catalogue: \
                         not applied to its grants",
                        principal.arn
                    ),
                );
            }
            grants::emit(principal, e, &mut expander, &mut out);
        }
    }
    expander.finish(&mut out);

    chains::Chains::new(inputs, &effective, &mut out).resolve(&mut out);
    out.finish()
}

/// What a rule needs of an EKS cluster to give an agent its own IAM role:
/// the issuer its IRSA trust names (`plugins/README.md`, cluster nodes).
fn cluster_node(cluster: &inputs::Cluster) -> Node {
    let mut attributes = Vec::new();
    if let Some(issuer) = &cluster.issuer_display {
        attributes.push(("eks:oidc-issuer".to_string(), format!("https://{issuer}")));
    }
    if let Some(arn) = &cluster.arn {
        attributes.push(("eks:cluster-arn".to_string(), arn.clone()));
    }
    Node {
        id: format!("k8s:{}", cluster.name),
        kind: "cluster".into(),
        cloud: Cloud::Kubernetes,
        name: cluster.name.clone(),
        attributes,
        evidence: vec![scopegraph_sdk::EvidenceRef {
            kind: "document".into(),
            reference: cluster.origin.document.clone(),
            summary: format!("EKS cluster {}", cluster.name),
        }],
    }
}

fn principal_node(principal: &IamPrincipal) -> Node {
    let mut attributes = vec![
        ("type".to_string(), principal.kind_name().to_string()),
        ("account".into(), principal.account.clone()),
        ("name".into(), principal.name.clone()),
        ("path".into(), principal.path.clone()),
    ];
    if !principal.id.is_empty() {
        attributes.push(("id".into(), principal.id.clone()));
    }
    if let Some(boundary) = &principal.boundary {
        attributes.push(("boundary".into(), boundary.arn.clone()));
    }
    if let Some(seconds) = &principal.max_session {
        attributes.push(("max-session".into(), seconds.clone()));
    }
    if !principal.instance_profiles.is_empty() {
        attributes.push((
            "instance-profiles".into(),
            principal.instance_profiles.join(","),
        ));
    }
    if !principal.groups.is_empty() {
        attributes.push(("groups".into(), principal.groups.join(",")));
    }
    if let Some(date) = &principal.last_used {
        attributes.push(("last-used".into(), date.clone()));
    }
    attributes.extend(
        principal
            .tags
            .iter()
            .map(|(k, v)| (format!("tag:{k}"), v.clone())),
    );
    Node {
        id: aws_id(&principal.arn),
        kind: "cloud-identity".into(),
        cloud: Cloud::Aws,
        name: principal.arn.clone(),
        attributes,
        evidence: vec![principal.origin.evidence(format!(
            "IAM {} {} in account {}",
            principal.kind_name(),
            principal.name,
            principal.account
        ))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopegraph_sdk::Level;
    use serde_json::json;

    const ISSUER: &str = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";

    fn document(id: &str, cluster: Option<&str>, content: serde_json::Value) -> Document {
        Document {
            id: id.into(),
            source: format!("{id}.json"),
            kind: "json".into(),
            context: cluster
                .map(|c| vec![("cluster".to_string(), c.to_string())])
                .unwrap_or_default(),
            content: content.to_string(),
        }
    }

    fn cluster() -> Document {
        document(
            "cluster",
            Some("c"),
            json!({"cluster": {"name": "c", "arn": "arn:aws:eks:eu-west-1:1:cluster/c",
                "identity": {"oidc": {"issuer": format!("https://{ISSUER}")}}}}),
        )
    }

    fn roles(roles: serde_json::Value) -> Document {
        document("iam", None, json!({ "RoleDetailList": roles }))
    }

    fn role(name: &str, account: &str, trust: serde_json::Value) -> serde_json::Value {
        json!({"RoleName": name, "RoleId": format!("AROA{name}"), "Path": "/",
               "Arn": format!("arn:aws:iam::{account}:role/{name}"),
               "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": trust}})
    }

    fn web_identity(account: &str, condition: serde_json::Value) -> serde_json::Value {
        json!([{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/{ISSUER}")},
                "Condition": condition}])
    }

    fn edges(out: &ProviderOutput) -> Vec<(&str, &str, &str)> {
        out.edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.kind.as_str()))
            .collect()
    }

    #[test]
    fn annotation_and_pod_env_make_one_chain() {
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "a", "namespace": "n",
                         "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}}});
        let pod = |name: &str| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "n"},
                   "spec": {"serviceAccountName": "a", "containers": [{"name": "c",
                       "env": [{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::1:role/r"}]}]}})
        };
        let k8s = document(
            "k8s",
            Some("c"),
            json!({"apiVersion": "v1", "kind": "List", "items": [pod("p1"), sa, pod("p2")]}),
        );
        let good = roles(json!([role(
            "r",
            "1",
            web_identity(
                "1",
                json!({"StringEquals": {format!("{ISSUER}:sub"): "system:serviceaccount:n:a"}})
            )
        )]));
        let out = resolve(&[cluster(), k8s.clone(), good]);
        assert_eq!(
            edges(&out),
            [(
                "k8s:c/n/ServiceAccount/a",
                "aws:arn:aws:iam::1:role/r",
                "federates-to"
            )]
        );
        let edge = &out.edges[0];
        assert_eq!(
            edge.via,
            "IRSA: annotation eks.amazonaws.com/role-arn + trust policy statement #1"
        );
        // Three wirings, then the trust statement.
        assert_eq!(edge.evidence.len(), 4);

        let bad = roles(json!([role(
            "r",
            "1",
            web_identity(
                "1",
                json!({"StringEquals": {format!("{ISSUER}:sub"): "system:serviceaccount:n:b"}})
            )
        )]));
        let out = resolve(&[cluster(), k8s, bad]);
        let warnings: Vec<&str> = out
            .diagnostics
            .iter()
            .filter(|d| d.level == Level::Warn)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:#?}");
        assert!(
            warnings[0].contains("(annotation eks.amazonaws.com/role-arn, and 2 more)"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn trust_denies_other_accounts_providers_and_broad_wildcards() {
        let sub = format!("{ISSUER}:sub");
        let iam = roles(json!([
            // Allowed for the namespace, but a Deny removes one account.
            role(
                "denied",
                "1",
                json!([
                    {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                     "Principal": {"Federated": format!("arn:aws:iam::1:oidc-provider/{ISSUER}")},
                     "Condition": {"StringLike": {&sub: "system:serviceaccount:n:*"}}},
                    {"Effect": "Deny", "Action": "sts:AssumeRoleWithWebIdentity",
                     "Principal": {"Federated": format!("arn:aws:iam::1:oidc-provider/{ISSUER}")},
                     "Condition": {"StringEquals": {&sub: "system:serviceaccount:n:a"}}}
                ])
            ),
            // The provider belongs to another account: IAM refuses it.
            role(
                "foreign",
                "1",
                web_identity(
                    "2",
                    json!({"StringEquals": {&sub: "system:serviceaccount:n:a"}})
                )
            ),
            // A wildcard across namespaces: every ServiceAccount of the cluster.
            role(
                "broad",
                "1",
                web_identity(
                    "1",
                    json!({"ForAnyValue:StringLike": {&sub: "system:serviceaccount:*:agent"}})
                )
            ),
        ]));
        let k8s = document(
            "sa",
            Some("c"),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n",
                   "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/denied"}}}),
        );
        let out = resolve(&[cluster(), iam, k8s]);
        assert_eq!(
            edges(&out),
            [(
                "k8s:c/Group/system:serviceaccounts",
                "aws:arn:aws:iam::1:role/broad",
                "latent-federates-to"
            )]
        );
        let messages: Vec<&str> = out.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages.iter().any(|m| m.contains("broken chain")
                && m.contains("its trust policy statement #2 denies it")),
            "{messages:#?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("role arn:aws:iam::1:role/foreign trusts OIDC provider")),
            "{messages:#?}"
        );
    }

    #[test]
    fn pod_identity_without_session_tags_needs_no_tag_session() {
        let association = |disable: bool| {
            document(
                "pia",
                Some("c"),
                json!({"association": {"clusterName": "c", "namespace": "n", "serviceAccount": "a",
                    "roleArn": "arn:aws:iam::1:role/r",
                    "associationArn": "arn:aws:eks:eu-west-1:1:podidentityassociation/c/a-1",
                    "disableSessionTags": disable}}),
            )
        };
        let iam = roles(json!([role(
            "r",
            "1",
            json!([
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "pods.eks.amazonaws.com"}}
            ])
        )]));
        let out = resolve(&[cluster(), iam.clone(), association(true)]);
        assert_eq!(
            edges(&out),
            [(
                "k8s:c/n/ServiceAccount/a",
                "aws:arn:aws:iam::1:role/r",
                "federates-to"
            )]
        );
        let out = resolve(&[cluster(), iam, association(false)]);
        assert!(out.edges.is_empty());
        assert!(
            out.diagnostics
                .iter()
                .any(|d| d.message.contains("sts:TagSession"))
        );
    }
}
