//! Binding members as graph nodes, and how Kubernetes reaches the ones
//! GKE issues: direct Workload Identity Federation principals
//! (`principal://…/subject/ns/NS/sa/KSA`, `principalSet://…/namespace/NS`,
//! cluster- and attribute-wide sets) and legacy `serviceAccount:POOL[NS/KSA]`
//! members bound to anything but `roles/iam.workloadIdentityUser`.

use crate::cross_cloud::{self, Target};
use crate::hierarchy::Resource;
use crate::input::{Cluster, Origin, parse_cluster_url};
use crate::members::{Federated, Member, service_account_id};
use crate::model::World;
use crate::output::Output;
use crate::roles::WORKLOAD_IDENTITY_USER;
use scopegraph_sdk::EvidenceRef;
use std::collections::HashSet;

/// The node id of a member that can hold a grant; `None` for members that
/// are not identities (public, deleted, convenience, unrecognised).
pub fn node_id(member: &Member) -> Option<String> {
    match *member {
        Member::ServiceAccount(email) => Some(service_account_id(&email.to_ascii_lowercase())),
        Member::WorkloadIdentity {
            pool,
            namespace,
            name,
        } => Some(service_account_id(&format!("{pool}[{namespace}/{name}]"))),
        Member::User(email) => Some(format!("gcp:user:{}", email.to_ascii_lowercase())),
        Member::Group(email) => Some(format!("gcp:group:{}", email.to_ascii_lowercase())),
        Member::Principal(principal) | Member::PrincipalSet(principal) => {
            Some(format!("gcp:{principal}"))
        }
        Member::Public(_) | Member::Deleted(_) | Member::Convenience(_) | Member::Unknown(_) => {
            None
        }
    }
}

/// Whether a binding of this member is what the Workload Identity rule
/// reads (`roles/iam.workloadIdentityUser` to `serviceAccount:POOL[NS/KSA]`
/// on service accounts): it becomes a `federates-to` or
/// `latent-federates-to` edge, not a grant of its own.
pub fn consumed_by_workload_identity(member: &Member, role: &str, resource: &Resource) -> bool {
    matches!(member, Member::WorkloadIdentity { .. })
        && role == WORKLOAD_IDENTITY_USER
        && World::covers_service_accounts(resource)
}

/// Resolves members to holder nodes, creating each node (and its edges from
/// Kubernetes) once.
#[derive(Debug)]
pub struct Holders<'w, 'a> {
    world: &'w World<'a>,
    done: HashSet<String>,
}

impl<'w, 'a> Holders<'w, 'a> {
    pub fn new(world: &'w World<'a>) -> Self {
        Holders {
            world,
            done: HashSet::new(),
        }
    }

    /// The holder node of `raw` in a binding whose `source` is given; emits
    /// the node, and a diagnostic for members that hold nothing.
    pub fn holder(
        &mut self,
        out: &mut Output,
        raw: &str,
        source: &str,
        origin: &Origin,
    ) -> Option<String> {
        let member = Member::parse(raw);
        let document = origin.document.as_str();
        match member {
            Member::Public(_) => {
                out.info(
                    document,
                    format!("{source} grants {raw}: public access, part of no identity chain"),
                );
                return None;
            }
            Member::Deleted(_) => {
                out.info(
                    document,
                    format!("{source} names {raw}, a deleted principal; it grants nothing"),
                );
                return None;
            }
            Member::Convenience(_) => {
                out.info(
                    document,
                    format!(
                        "{source} names {raw}, a convenience value for the holders of a basic role; not expanded"
                    ),
                );
                return None;
            }
            Member::Unknown(_) => {
                out.warn(
                    document,
                    format!("{source} names member {raw:?}, which is not a recognised IAM principal; skipped"),
                );
                return None;
            }
            _ => {}
        }
        let id = node_id(&member)?;
        if !self.done.insert(id.clone()) {
            return Some(id);
        }
        match member {
            // The registry emits service-account nodes with their project.
            Member::ServiceAccount(_) => {}
            Member::User(email) => {
                out.identity(id.clone(), email, member_type("user"), Vec::new());
            }
            Member::Group(email) => {
                out.identity(id.clone(), email, member_type("group"), Vec::new());
            }
            Member::WorkloadIdentity {
                pool,
                namespace,
                name,
            } => {
                let mut attributes = member_type("workload-identity");
                attributes.push(("pool".into(), pool.into()));
                attributes.push(("namespace".into(), namespace.into()));
                attributes.push(("kubernetes-service-account".into(), name.into()));
                let display = format!("{pool}[{namespace}/{name}]");
                out.identity(id.clone(), &display, attributes, Vec::new());
                let via = format!("IAM member serviceAccount:{display} (Workload Identity)");
                let target = Target {
                    to: &id,
                    raw,
                    origin,
                };
                self.edges_from_service_account(out, &target, pool, namespace, name, &via);
            }
            Member::Principal(principal) | Member::PrincipalSet(principal) => {
                let kind = if matches!(member, Member::Principal(_)) {
                    "principal"
                } else {
                    "principalSet"
                };
                let mut attributes = member_type(kind);
                let federated = Federated::parse(principal);
                if let Some(federated) = federated {
                    attributes.push(("pool".into(), federated.pool().into()));
                }
                out.identity(id.clone(), principal, attributes, Vec::new());
                let target = Target {
                    to: &id,
                    raw,
                    origin,
                };
                if let Some(federated) = federated {
                    self.federate(out, &target, federated);
                }
                cross_cloud::federate(self.world, out, &target);
            }
            Member::Public(_)
            | Member::Deleted(_)
            | Member::Convenience(_)
            | Member::Unknown(_) => {}
        }
        Some(id)
    }

    /// `federates-to` edges from whatever in Kubernetes a GKE principal names.
    fn federate(&mut self, out: &mut Output, target: &Target, federated: Federated) {
        let (raw, origin) = (target.raw, target.origin);
        let pool = federated.pool();
        let clusters = self.world.pool_clusters(pool);
        if clusters.is_empty() {
            if pool.ends_with(".svc.id.goog") {
                out.info(
                    &origin.document,
                    format!(
                        "{raw} belongs to workload pool {pool}, which no cluster described in the snapshot uses; no edge from Kubernetes"
                    ),
                );
            }
            return;
        }
        match federated {
            Federated::Subject {
                namespace, name, ..
            } => {
                let via = format!(
                    "Workload Identity Federation principal for ServiceAccount {namespace}/{name} (pool {pool})"
                );
                self.edges_from_service_account(out, target, pool, namespace, name, &via);
            }
            Federated::Namespace { namespace, .. } => {
                let group = format!("system:serviceaccounts:{namespace}");
                let via = format!(
                    "Workload Identity Federation principal set: every ServiceAccount of namespace {namespace} (pool {pool})"
                );
                for cluster in clusters {
                    self.edge_from_group(out, target, cluster, &group, &via);
                }
            }
            Federated::Cluster { url, .. } => {
                let via = format!(
                    "Workload Identity Federation principal set: every ServiceAccount of cluster {url}"
                );
                let matching: Vec<&Cluster> = clusters
                    .into_iter()
                    .filter(|c| self.is_cluster(c, url))
                    .collect();
                if matching.is_empty() {
                    out.info(
                        &origin.document,
                        format!(
                            "{raw} names cluster {url}, which matches no cluster described in the snapshot; no edge from Kubernetes"
                        ),
                    );
                }
                for cluster in matching {
                    self.edge_from_group(out, target, cluster, "system:serviceaccounts", &via);
                }
            }
            Federated::ServiceAccountUid { uid, .. } => {
                let via = format!(
                    "Workload Identity Federation principal set: the ServiceAccount with uid {uid} (pool {pool})"
                );
                let mut found = false;
                for cluster in clusters {
                    let accounts = self
                        .world
                        .ksas
                        .values()
                        .filter(|a| a.cluster == cluster.name && a.uid.as_deref() == Some(uid));
                    for account in accounts {
                        let from = out.ksa(account);
                        out.edge(
                            from,
                            target.to.into(),
                            "federates-to",
                            via.clone(),
                            vec![member_evidence(target), pool_evidence(cluster)],
                        );
                        found = true;
                    }
                }
                if !found {
                    out.info(
                        &origin.document,
                        format!(
                            "{raw} names the ServiceAccount with uid {uid}, which is in no described cluster of pool {pool}; no edge from Kubernetes"
                        ),
                    );
                }
            }
            Federated::PoolWide { selector, .. } => {
                let via = format!(
                    "Workload Identity Federation principal set {selector} of pool {pool}: any ServiceAccount may match"
                );
                for cluster in clusters {
                    self.edge_from_group(out, target, cluster, "system:serviceaccounts", &via);
                }
            }
        }
    }

    fn edges_from_service_account(
        &self,
        out: &mut Output,
        target: &Target,
        pool: &str,
        namespace: &str,
        name: &str,
        via: &str,
    ) {
        let mut found = false;
        for cluster in self.world.pool_clusters(pool) {
            if let Some(account) = self.world.ksa(&cluster.name, namespace, name) {
                let from = out.ksa(account);
                out.edge(
                    from,
                    target.to.into(),
                    "federates-to",
                    via.into(),
                    vec![member_evidence(target), pool_evidence(cluster)],
                );
                found = true;
            }
        }
        if !found {
            out.info(
                &target.origin.document,
                format!(
                    "{} is ServiceAccount {namespace}/{name} of workload pool {pool}, which is in no cluster of that pool in the snapshot; no edge from Kubernetes",
                    target.raw
                ),
            );
        }
    }

    fn edge_from_group(
        &self,
        out: &mut Output,
        target: &Target,
        cluster: &Cluster,
        group: &str,
        via: &str,
    ) {
        let from = out.group(&cluster.name, group);
        out.edge(
            from,
            target.to.into(),
            "federates-to",
            via.into(),
            vec![member_evidence(target), pool_evidence(cluster)],
        );
    }

    /// Whether `url` (`https://container.googleapis.com/v1/projects/P/locations/L/clusters/C`)
    /// names `cluster`.
    fn is_cluster(&self, cluster: &Cluster, url: &str) -> bool {
        let Some((project, location, name)) = parse_cluster_url(url) else {
            return false;
        };
        let hierarchy = self.world.hierarchy;
        name == cluster.name
            && cluster.location.as_deref().is_none_or(|l| l == location)
            && cluster
                .project
                .as_deref()
                .is_none_or(|p| hierarchy.project_id(p) == hierarchy.project_id(project))
    }
}

fn member_type(kind: &str) -> Vec<(String, String)> {
    vec![("member-type".to_string(), kind.to_string())]
}

fn member_evidence(target: &Target) -> EvidenceRef {
    target
        .origin
        .evidence("binding", format!("IAM member {}", target.raw))
}

fn pool_evidence(cluster: &Cluster) -> EvidenceRef {
    cluster
        .origin
        .child("/workloadIdentityConfig/workloadPool")
        .evidence(
            "document",
            format!(
                "cluster {} uses workload pool {}",
                cluster.name,
                cluster.pool.as_deref().unwrap_or_default()
            ),
        )
}
