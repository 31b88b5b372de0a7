//! AKS workload identity and the kubelet identity fallback.
//!
//! A pod's projected service account token, issued by the cluster's OIDC
//! issuer for audience `api://AzureADTokenExchange`, is exchanged for an
//! Entra ID token of the identity whose federated credential names that
//! issuer and the subject `system:serviceaccount:{ns}:{sa}` — Azure compares
//! both exactly, so `https://…/` and `https://…` are different issuers. The
//! webhook injects the token and `AZURE_CLIENT_ID` into pods labelled
//! `azure.workload.identity/use: "true"` whose ServiceAccount is annotated
//! `azure.workload.identity/client-id`.
//!
//! - annotation + matching credential: `federates-to`;
//! - annotation without one: a "broken chain" warning, no edge;
//! - credential without the annotation: `latent-federates-to` and an info;
//! - a workload of a federated ServiceAccount without the label: an info
//!   (its pods get no token), the edge stays (a labelled pod can use it);
//! - every pod can reach IMDS on its node, which hands out tokens of the
//!   kubelet identity: `Group/system:serviceaccounts` -> `node-fallback`.

use crate::azure::{AzureRecords, Cluster, CredentialOwner, FederatedCredential, last_segment};
use crate::identities::{Directory, Principal};
use crate::kubernetes::{
    CLIENT_ID_ANNOTATION, Objects, ServiceAccount, TENANT_ID_ANNOTATION, USE_LABEL, Workload,
};
use crate::output::{Output, group_id, principal_id, service_account_id};
use scopegraph_sdk::{Cloud, Edge, Node};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The audience the workload identity webhook requests for the projected token.
pub const TOKEN_AUDIENCE: &str = "api://AzureADTokenExchange";

const SUBJECT_PREFIX: &str = "system:serviceaccount:";

/// `system:serviceaccount:{ns}:{sa}` -> (ns, sa).
fn service_account_of(subject: &str) -> Option<(&str, &str)> {
    let (namespace, name) = subject.strip_prefix(SUBJECT_PREFIX)?.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// A credential attributed to the principal it belongs to.
struct Trust<'a> {
    object_id: String,
    principal: String,
    credential: &'a FederatedCredential,
}

pub fn resolve(
    records: &AzureRecords,
    objects: &Objects,
    directory: &mut Directory,
    out: &mut Output,
) {
    let clusters = clusters(records, out);
    for cluster in clusters.values() {
        kubelet_fallback(cluster, directory, out);
    }
    let trusts = attribute_credentials(records, directory, out);
    let mut by_principal: BTreeMap<&str, Vec<&Trust>> = BTreeMap::new();
    for trust in &trusts {
        by_principal
            .entry(trust.object_id.as_str())
            .or_default()
            .push(trust);
    }

    // Annotated service accounts, in a stable order.
    let mut accounts: Vec<&ServiceAccount> = objects.service_accounts.iter().collect();
    accounts.sort_by(|a, b| {
        (&a.cluster, &a.namespace, &a.name).cmp(&(&b.cluster, &b.namespace, &b.name))
    });
    // (service account id, principal object id) of every annotation that names a principal.
    let mut annotated: HashSet<(String, String)> = HashSet::new();
    // ServiceAccount id -> the identity names it federates to.
    let mut federated: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for account in &accounts {
        let Some(client_id) = account.annotation(CLIENT_ID_ANNOTATION) else {
            continue;
        };
        let Some(principal) = directory.by_client_id(client_id) else {
            out.warn(
                &account.origin.document,
                format!(
                    "broken chain: ServiceAccount {}/{} (cluster {}) is annotated {CLIENT_ID_ANNOTATION}: {client_id}, \
                     but no managed identity or service principal in the snapshot has that client id; no federates-to edge derived",
                    account.namespace, account.name, account.cluster
                ),
            );
            continue;
        };
        let sa_id = service_account_id(&account.cluster, &account.namespace, &account.name);
        annotated.insert((sa_id.clone(), principal.object_id.clone()));
        let candidates = by_principal
            .get(principal.object_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let cluster = clusters.get(account.cluster.as_str()).copied();
        if wire(account, client_id, principal, cluster, candidates, out) {
            federated
                .entry(sa_id)
                .or_default()
                .push(principal.name.clone());
        }
    }

    latent(&clusters, &trusts, objects, &annotated, out);
    unlabelled_workloads(objects, &federated, out);
}

/// AKS clusters by name; the first description of a name wins. Each is a
/// `cluster` node with what a rule needs to give an agent its own managed
/// identity: the OIDC issuer its federated credentials name, and where the
/// cluster lives (`plugins/README.md`, cluster nodes).
fn clusters<'a>(records: &'a AzureRecords, out: &mut Output) -> BTreeMap<&'a str, &'a Cluster> {
    let mut clusters: BTreeMap<&str, &Cluster> = BTreeMap::new();
    for cluster in &records.clusters {
        match clusters.get(cluster.name.as_str()) {
            None => {
                clusters.insert(&cluster.name, cluster);
                let mut attributes = vec![("aks:resource-id".to_string(), cluster.resource_id.clone())];
                if let Some(issuer) = &cluster.issuer {
                    attributes.push(("aks:oidc-issuer".into(), issuer.clone()));
                }
                out.node(scopegraph_sdk::Node {
                    id: format!("k8s:{}", cluster.name),
                    kind: "cluster".into(),
                    cloud: scopegraph_sdk::Cloud::Kubernetes,
                    name: cluster.name.clone(),
                    attributes,
                    evidence: vec![cluster.origin.evidence("document", format!("AKS cluster {}", cluster.name))],
                });
            }
            Some(first) if first.issuer != cluster.issuer => out.warn(
                &cluster.origin.document,
                format!(
                    "AKS cluster {} is described again with another OIDC issuer (first in {}); the first description is used",
                    cluster.name, first.origin.document
                ),
            ),
            Some(_) => {}
        }
    }
    clusters
}

fn kubelet_fallback(cluster: &Cluster, directory: &mut Directory, out: &mut Output) {
    let Some(kubelet) = &cluster.kubelet else {
        return;
    };
    let name = match last_segment(&kubelet.resource_id) {
        "" => format!("{} kubelet identity", cluster.name),
        name => name.to_string(),
    };
    let id = principal_id(&kubelet.object_id);
    let evidence = cluster.origin.evidence_at(
        "document",
        "/identityProfile/kubeletidentity",
        format!(
            "kubelet identity of AKS cluster {} (az aks show)",
            cluster.name
        ),
    );
    let attributes = [
        ("client-id", kubelet.client_id.as_str()),
        ("resource-id", kubelet.resource_id.as_str()),
        ("type", "Microsoft.ManagedIdentity/userAssignedIdentities"),
        ("kubelet-identity-of", cluster.name.as_str()),
        ("present", "true"),
    ];
    out.node(Node {
        id: id.clone(),
        kind: "cloud-identity".into(),
        cloud: Cloud::Azure,
        name: name.clone(),
        attributes: attributes
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        evidence: vec![evidence.clone()],
    });
    directory.add_known(Principal {
        object_id: kubelet.object_id.to_ascii_lowercase(),
        name,
        client_id: Some(kubelet.client_id.clone()).filter(|c| !c.is_empty()),
        tenant_id: None,
        resource_id: Some(kubelet.resource_id.clone()).filter(|r| !r.is_empty()),
    });
    out.edge(Edge {
        from: group_id(&cluster.name, "system:serviceaccounts"),
        to: id,
        kind: "node-fallback".into(),
        via: format!("IMDS on nodes of {} (kubelet identity)", cluster.name),
        evidence: vec![evidence],
    });
}

/// Each credential with the principal it belongs to; credentials that
/// cannot be attributed are reported.
fn attribute_credentials<'a>(
    records: &'a AzureRecords,
    directory: &Directory,
    out: &mut Output,
) -> Vec<Trust<'a>> {
    let mut trusts = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for credential in &records.credentials {
        let principal = match &credential.owner {
            CredentialOwner::ManagedIdentity { resource_id, name } => {
                match directory.by_resource_id(resource_id) {
                    Some(principal) => principal,
                    None => {
                        out.warn(
                            &credential.origin.document,
                            format!(
                                "federated credential {} at {} belongs to managed identity {name}, which no identity export \
                                 (az identity list) in the snapshot describes: its principal id is unknown, so it is not used",
                                credential.name,
                                credential.origin.reference()
                            ),
                        );
                        continue;
                    }
                }
            }
            CredentialOwner::Application { path_guids } => {
                let mut owners: Vec<&Principal> = Vec::new();
                for guid in path_guids {
                    if let Some(p) = directory.by_client_id(guid)
                        && !owners.iter().any(|o| o.object_id == p.object_id)
                    {
                        owners.push(p);
                    }
                }
                match *owners.as_slice() {
                    [principal] => principal,
                    _ => {
                        let why = if owners.is_empty() {
                            "its document's path names no appId of a service principal in the snapshot".to_string()
                        } else {
                            format!(
                                "its document's path names several applications ({})",
                                owners
                                    .iter()
                                    .map(|o| o.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        };
                        out.warn(
                            &credential.origin.document,
                            format!(
                                "federated credential {} at {} is an app registration's (az ad app federated-credential list), \
                                 whose output does not name the application, and {why}: it is not used \
                                 (keep each application's credentials in a file or directory named after its appId)",
                                credential.name,
                                credential.origin.reference()
                            ),
                        );
                        continue;
                    }
                }
            }
        };
        let key = (
            principal.object_id.clone(),
            credential.name.to_ascii_lowercase(),
        );
        if !seen.insert(key) {
            continue; // the same credential exported twice
        }
        trusts.push(Trust {
            object_id: principal.object_id.clone(),
            principal: principal.name.clone(),
            credential,
        });
    }
    trusts
}

/// Derive the `federates-to` edge of one annotated ServiceAccount, or say
/// why the chain is broken. Returns whether the edge exists.
fn wire(
    account: &ServiceAccount,
    client_id: &str,
    principal: &Principal,
    cluster: Option<&Cluster>,
    candidates: &[&Trust],
    out: &mut Output,
) -> bool {
    let subject = format!("{SUBJECT_PREFIX}{}:{}", account.namespace, account.name);
    let broken = |out: &mut Output, why: String| {
        out.warn(
            &account.origin.document,
            format!(
                "broken chain: ServiceAccount {}/{} (cluster {}) is annotated {CLIENT_ID_ANNOTATION}: {client_id} ({}), \
                 but {why}; no federates-to edge derived",
                account.namespace, account.name, account.cluster, principal.name
            ),
        );
    };
    if let (Some(wanted), Some(actual)) = (
        account.annotation(TENANT_ID_ANNOTATION),
        principal.tenant_id.as_deref(),
    ) && !wanted.eq_ignore_ascii_case(actual)
    {
        broken(
            out,
            format!("its {TENANT_ID_ANNOTATION} {wanted} is not the identity's tenant {actual}"),
        );
        return false;
    }
    let Some(cluster) = cluster else {
        broken(
            out,
            format!(
                "no AKS cluster description (az aks show) of cluster {} is in the snapshot, so its OIDC issuer is unknown",
                account.cluster
            ),
        );
        return false;
    };
    let Some(issuer) = cluster.issuer.as_deref() else {
        broken(
            out,
            format!(
                "AKS cluster {} has no OIDC issuer (oidcIssuerProfile is not enabled)",
                cluster.name
            ),
        );
        return false;
    };
    let exact: Vec<&&Trust> = candidates
        .iter()
        .filter(|t| t.credential.issuer == issuer && t.credential.subject == subject)
        .collect();
    let Some(trust) = exact
        .iter()
        .find(|t| t.credential.audiences.iter().any(|a| a == TOKEN_AUDIENCE))
    else {
        broken(
            out,
            format!(
                "no federated credential of the identity trusts issuer {issuer} with subject {subject}: {}",
                near_misses(candidates, &exact, issuer, &subject)
            ),
        );
        return false;
    };
    let credential = trust.credential;
    let sa_id = service_account_id(&account.cluster, &account.namespace, &account.name);
    out.edge(Edge {
        from: sa_id,
        to: principal.node_id(),
        kind: "federates-to".into(),
        via: format!(
            "federated credential {} of {} ({CLIENT_ID_ANNOTATION})",
            credential.name, trust.principal
        ),
        evidence: vec![
            account.origin.evidence_at(
                "document",
                &ServiceAccount::annotation_pointer(CLIENT_ID_ANNOTATION),
                format!(
                    "ServiceAccount {}/{} annotated {CLIENT_ID_ANNOTATION}: {client_id}",
                    account.namespace, account.name
                ),
            ),
            credential.origin.evidence(
                "document",
                format!(
                    "federated credential {} of {}: issuer {}, subject {}",
                    credential.name, trust.principal, credential.issuer, credential.subject
                ),
            ),
            cluster.origin.evidence_at(
                "document",
                "/oidcIssuerProfile/issuerUrl",
                format!("OIDC issuer of AKS cluster {}: {issuer}", cluster.name),
            ),
        ],
    });
    if !cluster.workload_identity {
        out.info(
            &cluster.origin.document,
            format!(
                "ServiceAccount {}/{} federates to {}, but workload identity is not enabled on AKS cluster {} \
                 (securityProfile.workloadIdentity.enabled): no webhook injects the token, only pods that project \
                 a token for {TOKEN_AUDIENCE} themselves can use the federation",
                account.namespace, account.name, principal.name, cluster.name
            ),
        );
    }
    true
}

/// Why none of `candidates` completes the chain, in one phrase.
fn near_misses(candidates: &[&Trust], exact: &[&&Trust], issuer: &str, subject: &str) -> String {
    if candidates.is_empty() {
        return "the identity has no federated credentials in the snapshot".into();
    }
    let mut reasons: Vec<String> = Vec::new();
    for trust in exact {
        reasons.push(format!(
            "credential {} has audiences [{}], not {TOKEN_AUDIENCE}",
            trust.credential.name,
            trust.credential.audiences.join(", ")
        ));
    }
    for trust in candidates {
        let credential = trust.credential;
        if credential.issuer == issuer && credential.subject != subject {
            reasons.push(format!(
                "credential {} trusts subject {}",
                credential.name, credential.subject
            ));
        } else if credential.issuer != issuer && credential.subject == subject {
            if credential.issuer.trim_end_matches('/') == issuer.trim_end_matches('/') {
                reasons.push(format!(
                    "credential {} names issuer {}, which differs from the cluster's only by the trailing slash \
                     (Azure compares issuers exactly)",
                    credential.name, credential.issuer
                ));
            } else {
                reasons.push(format!(
                    "credential {} trusts that subject from another issuer, {}",
                    credential.name, credential.issuer
                ));
            }
        }
    }
    if reasons.is_empty() {
        format!(
            "none of its {} federated credential(s) names this issuer or subject",
            candidates.len()
        )
    } else {
        reasons.join("; ")
    }
}

/// Credentials that trust a ServiceAccount of a cluster in the snapshot
/// whose annotation does not name the credential's identity.
fn latent(
    clusters: &BTreeMap<&str, &Cluster>,
    trusts: &[Trust],
    objects: &Objects,
    annotated: &HashSet<(String, String)>,
    out: &mut Output,
) {
    let present: BTreeMap<String, &ServiceAccount> = objects
        .service_accounts
        .iter()
        .map(|sa| (service_account_id(&sa.cluster, &sa.namespace, &sa.name), sa))
        .collect();
    for trust in trusts {
        let credential = trust.credential;
        let Some((namespace, name)) = service_account_of(&credential.subject) else {
            continue;
        };
        for cluster in clusters.values() {
            if cluster.issuer.as_deref() != Some(credential.issuer.as_str()) {
                continue;
            }
            let sa_id = service_account_id(&cluster.name, namespace, name);
            let to = principal_id(&trust.object_id);
            if out.has_edge(&sa_id, &to, "federates-to") {
                continue;
            }
            let why = if annotated.contains(&(sa_id.clone(), trust.object_id.clone())) {
                "its annotation names the identity but the chain is broken (see the warning)"
                    .to_string()
            } else {
                match present
                    .get(&sa_id)
                    .and_then(|sa| sa.annotation(CLIENT_ID_ANNOTATION))
                {
                    Some(other) => format!("it is annotated with another client id ({other})"),
                    None if present.contains_key(&sa_id) => {
                        format!("it has no {CLIENT_ID_ANNOTATION} annotation")
                    }
                    None => "it is not in the snapshot".to_string(),
                }
            };
            out.info(
                &credential.origin.document,
                format!(
                    "latent federation: federated credential {} of {} trusts ServiceAccount {namespace}/{name} of AKS cluster {}, \
                     but {why}; a pod of that ServiceAccount that projects a token for {TOKEN_AUDIENCE} can still use it",
                    credential.name, trust.principal, cluster.name
                ),
            );
            out.edge(Edge {
                from: sa_id,
                to,
                kind: "latent-federates-to".into(),
                via: format!(
                    "federated credential {} of {}",
                    credential.name, trust.principal
                ),
                evidence: vec![credential.origin.evidence(
                    "document",
                    format!(
                        "federated credential {} of {}: issuer {}, subject {}",
                        credential.name, trust.principal, credential.issuer, credential.subject
                    ),
                )],
            });
        }
    }
}

/// Workloads running as a federated ServiceAccount whose pods the webhook
/// leaves alone. A workload whose controller is in the snapshot and lacks
/// the label too is left to that controller's message.
fn unlabelled_workloads(
    objects: &Objects,
    federated: &BTreeMap<String, Vec<String>>,
    out: &mut Output,
) {
    let unlabelled: BTreeSet<(&str, &str, &str, &str)> = objects
        .workloads
        .iter()
        .filter(|w| !w.uses_workload_identity())
        .map(|w| {
            (
                w.cluster.as_str(),
                w.namespace.as_str(),
                w.kind.as_str(),
                w.name.as_str(),
            )
        })
        .collect();
    let covered_by_owner = |w: &Workload| {
        let Some((kind, name)) = &w.controller else {
            return false;
        };
        let owner_unlabelled = |kind: &str, name: &str| {
            unlabelled.contains(&(w.cluster.as_str(), w.namespace.as_str(), kind, name))
        };
        // A Deployment names its ReplicaSets `{deployment}-{pod-template-hash}`
        // and labels their pods with the hash: the ReplicaSet need not be exported.
        let deployment = (kind == "ReplicaSet")
            .then(|| w.pod_labels.get("pod-template-hash"))
            .flatten()
            .and_then(|hash| name.strip_suffix(hash.as_str()))
            .and_then(|rest| rest.strip_suffix('-'))
            .filter(|d| !d.is_empty());
        owner_unlabelled(kind, name)
            || deployment.is_some_and(|d| owner_unlabelled("Deployment", d))
    };
    for workload in &objects.workloads {
        if workload.uses_workload_identity() || covered_by_owner(workload) {
            continue;
        }
        let sa_id = service_account_id(
            &workload.cluster,
            &workload.namespace,
            &workload.service_account,
        );
        let Some(identities) = federated.get(&sa_id) else {
            continue;
        };
        out.info(
            &workload.origin.document,
            format!(
                "{} (cluster {}) runs as ServiceAccount {}, which federates to {}, but its pods lack the label \
                 {USE_LABEL}: \"true\": the workload identity webhook does not inject the token into them",
                workload.display(),
                workload.cluster,
                workload.service_account,
                identities.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_service_accounts() {
        assert_eq!(
            service_account_of("system:serviceaccount:analytics:report-agent"),
            Some(("analytics", "report-agent"))
        );
        assert_eq!(service_account_of("system:serviceaccount:analytics"), None);
        assert_eq!(service_account_of("system:serviceaccount::x"), None);
        assert_eq!(
            service_account_of("repo:acme/agents:ref:refs/heads/main"),
            None
        );
    }
}
