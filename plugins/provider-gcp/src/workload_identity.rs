//! GKE Workload Identity through a Google service account.
//!
//! A pod's Kubernetes ServiceAccount `NS/KSA` gets tokens of GSA `G` when
//! both halves exist:
//!
//! - the KSA is annotated `iam.gke.io/gcp-service-account: G`, and
//! - an IAM binding lets `serviceAccount:POOL[NS/KSA]` mint `G`'s tokens
//!   (`roles/iam.workloadIdentityUser`, or any role including
//!   `iam.serviceAccounts.getAccessToken`), on `G` itself or on its
//!   project, folder or organization; `POOL` is the workload pool of the
//!   KSA's cluster.
//!
//! Both: `federates-to`. The annotation alone: a broken chain (warning; the
//! metadata server refuses the token). A `workloadIdentityUser` binding
//! alone: `latent-federates-to` (one annotation away from working), with an
//! info diagnostic.

use crate::hierarchy::Scope;
use crate::input::{KubeServiceAccount, Origin};
use crate::members::{Member, service_account_id};
use crate::model::{ExpandedBinding, Policy, World};
use crate::output::{Output, ksa_id};
use crate::roles::{GET_ACCESS_TOKEN, WORKLOAD_IDENTITY_USER};
use scopegraph_sdk::EvidenceRef;

/// One `serviceAccount:POOL[NS/KSA]` member of a token-minting binding.
#[derive(Debug)]
struct WiBinding<'w> {
    pool: &'w str,
    namespace: &'w str,
    name: &'w str,
    policy: &'w Policy,
    binding: &'w ExpandedBinding,
    member: Origin,
}

impl WiBinding<'_> {
    fn via(&self) -> String {
        format!(
            "{}{}",
            self.binding.source(&self.policy.resource),
            self.binding.condition_suffix()
        )
    }

    fn evidence(&self) -> EvidenceRef {
        self.member.evidence(
            "binding",
            format!(
                "serviceAccount:{}[{}/{}] holds {} on {}",
                self.pool,
                self.namespace,
                self.name,
                self.binding.binding.role,
                self.policy.resource.full_name
            ),
        )
    }

    fn names(&self, account: &KubeServiceAccount) -> bool {
        self.namespace == account.namespace && self.name == account.name
    }
}

pub fn resolve(world: &World, out: &mut Output) {
    let bindings = collect(world);
    annotated(world, &bindings, out);
    latent(world, &bindings, out);
}

fn collect<'w>(world: &'w World) -> Vec<WiBinding<'w>> {
    let mut found = Vec::new();
    for policy in &world.policies {
        if !World::covers_service_accounts(&policy.resource) {
            continue;
        }
        for binding in &policy.bindings {
            if !binding.expansion.allows(GET_ACCESS_TOKEN) {
                continue;
            }
            for (index, raw) in binding.binding.members.iter().enumerate() {
                if let Member::WorkloadIdentity {
                    pool,
                    namespace,
                    name,
                } = Member::parse(raw)
                {
                    found.push(WiBinding {
                        pool,
                        namespace,
                        name,
                        policy,
                        binding,
                        member: binding.binding.origin.child(&format!("/members/{index}")),
                    });
                }
            }
        }
    }
    found
}

/// Every annotated KSA: `federates-to`, or a broken-chain warning.
fn annotated(world: &World, bindings: &[WiBinding], out: &mut Output) {
    for account in world.ksas.values() {
        let Some(gsa) = &account.gsa else {
            continue;
        };
        let from = out.ksa(account);
        let who = format!(
            "ServiceAccount {}/{} of cluster {}",
            account.namespace, account.name, account.cluster
        );
        let document = account.origin.document.as_str();
        let Some(cluster) = world.clusters.get(account.cluster.as_str()) else {
            out.warn(
                document,
                format!(
                    "{who} is annotated iam.gke.io/gcp-service-account: {gsa}, but the cluster has no description in the snapshot (`gcloud container clusters describe {} --format=json`), so its workload pool is unknown; the chain to {gsa} is not followed",
                    account.cluster
                ),
            );
            continue;
        };
        let Some(pool) = cluster.pool.as_deref() else {
            out.warn(
                document,
                format!(
                    "{who} is annotated iam.gke.io/gcp-service-account: {gsa}, but the cluster does not have Workload Identity enabled (no workloadIdentityConfig.workloadPool): the annotation has no effect and its pods get the node's identity"
                ),
            );
            continue;
        };
        let matching: Vec<&WiBinding> = bindings
            .iter()
            .filter(|b| b.pool == pool && b.names(account) && world.covers(&b.policy.resource, gsa))
            .collect();
        let Some(first) = matching.first() else {
            let has_policy = world
                .policies
                .iter()
                .any(|p| matches!(&p.resource.scope, Scope::ServiceAccount(e) if e == gsa));
            let hint = if has_policy {
                ""
            } else {
                " (the service account's own IAM policy is not in the snapshot: `gcloud iam service-accounts get-iam-policy`, wrapped with its resource name)"
            };
            out.warn(
                document,
                format!(
                    "broken chain: {who} is annotated iam.gke.io/gcp-service-account: {gsa}, but no IAM binding in the snapshot grants roles/iam.workloadIdentityUser on it to serviceAccount:{pool}[{}/{}]; its pods get no token for {gsa}{hint}",
                    account.namespace, account.name
                ),
            );
            continue;
        };
        let mut evidence = vec![account.annotation_origin().evidence(
            "document",
            format!("annotation iam.gke.io/gcp-service-account: {gsa}"),
        )];
        evidence.extend(matching.iter().map(|b| b.evidence()));
        out.edge(
            from,
            service_account_id(gsa),
            "federates-to",
            format!("annotation iam.gke.io/gcp-service-account; {}", first.via()),
            evidence,
        );
    }
}

/// `roles/iam.workloadIdentityUser` bindings no annotation uses.
fn latent(world: &World, bindings: &[WiBinding], out: &mut Output) {
    for binding in bindings {
        if binding.binding.binding.role != WORKLOAD_IDENTITY_USER {
            // Other token-minting roles are real impersonation paths (see
            // `impersonation`), not latent ones.
            continue;
        }
        let document = binding.member.document.as_str();
        let member = format!(
            "serviceAccount:{}[{}/{}]",
            binding.pool, binding.namespace, binding.name
        );
        let clusters = world.pool_clusters(binding.pool);
        if clusters.is_empty() {
            out.info(
                document,
                format!(
                    "{member} holds {} on {}, but no cluster described in the snapshot uses workload pool {}",
                    WORKLOAD_IDENTITY_USER, binding.policy.resource.full_name, binding.pool
                ),
            );
            continue;
        }
        let targets = world.covered(&binding.policy.resource);
        let mut present = false;
        for cluster in clusters {
            let Some(account) = world.ksa(&cluster.name, binding.namespace, binding.name) else {
                continue;
            };
            present = true;
            let from = ksa_id(&account.cluster, &account.namespace, &account.name);
            let unwired: Vec<&str> = targets
                .iter()
                .copied()
                .filter(|t| !out.has_edge(&from, &service_account_id(t), "federates-to"))
                .collect();
            if unwired.is_empty() {
                continue;
            }
            let annotation = match &account.gsa {
                Some(other) => format!("annotated with {other} instead"),
                None => "not annotated".to_string(),
            };
            out.info(
                document,
                format!(
                    "latent Workload Identity: {member} holds {} on {}, but ServiceAccount {}/{} of cluster {} is {annotation}; one annotation away from {}",
                    WORKLOAD_IDENTITY_USER,
                    binding.policy.resource.full_name,
                    account.namespace,
                    account.name,
                    cluster.name,
                    unwired.join(", ")
                ),
            );
            let from = out.ksa(account);
            for target in unwired {
                out.edge(
                    from.clone(),
                    service_account_id(target),
                    "latent-federates-to",
                    format!(
                        "{} without annotation iam.gke.io/gcp-service-account",
                        binding.via()
                    ),
                    vec![binding.evidence()],
                );
            }
        }
        if !present {
            out.info(
                document,
                format!(
                    "{member} holds {} on {}, but ServiceAccount {}/{} is in no cluster of pool {} in the snapshot",
                    WORKLOAD_IDENTITY_USER,
                    binding.policy.resource.full_name,
                    binding.namespace,
                    binding.name,
                    binding.pool
                ),
            );
        }
    }
}
