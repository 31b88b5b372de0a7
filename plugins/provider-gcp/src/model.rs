//! The snapshot as the rules see it: policies attributed to resources with
//! their roles expanded, clusters and Kubernetes ServiceAccounts by name,
//! and every Google service account the snapshot mentions.

use crate::cross_cloud::{IssuerCluster, normalise_issuer};
use crate::hierarchy::{Hierarchy, Resource, Scope, email_project, is_service_agent};
use crate::input::{
    AwsPrincipal, Binding, Cluster, Inputs, KubeServiceAccount, NodePool, Origin, PolicyForm,
    PoolProvider,
};
use crate::members::{Member, service_account_id};
use crate::output::Output;
use crate::roles::{Expansion, Roles};
use scopegraph_sdk::EvidenceRef;
use std::collections::{BTreeMap, HashMap};

/// An IAM policy attached to a known resource.
#[derive(Debug)]
pub struct Policy {
    pub resource: Resource,
    /// The policy object.
    pub origin: Origin,
    pub bindings: Vec<ExpandedBinding>,
}

#[derive(Debug)]
pub struct ExpandedBinding {
    pub binding: Binding,
    pub expansion: Expansion,
}

impl ExpandedBinding {
    /// `{resource} IAM binding {role}`, the grant source.
    pub fn source(&self, resource: &Resource) -> String {
        format!("{} IAM binding {}", resource.full_name, self.binding.role)
    }

    /// The binding's index in its policy.
    pub fn index(&self) -> &str {
        self.binding
            .origin
            .pointer
            .rsplit_once('/')
            .map(|(_, i)| i)
            .unwrap_or_default()
    }

    /// ` if {condition}` or nothing, for `via` strings.
    pub fn condition_suffix(&self) -> String {
        self.binding
            .condition
            .as_deref()
            .map(|c| format!(" if {c}"))
            .unwrap_or_default()
    }
}

/// A Google service account the snapshot mentions.
#[derive(Debug)]
pub struct Gsa {
    pub email: String,
    pub project: Option<String>,
    pub disabled: bool,
    pub evidence: Vec<EvidenceRef>,
}

#[derive(Debug)]
pub struct World<'a> {
    pub hierarchy: &'a Hierarchy,
    pub policies: Vec<Policy>,
    pub clusters: BTreeMap<&'a str, &'a Cluster>,
    pub ksas: BTreeMap<(&'a str, &'a str, &'a str), &'a KubeServiceAccount>,
    pub gsas: BTreeMap<String, Gsa>,
    /// Workload identity pool providers.
    pub pool_providers: Vec<&'a PoolProvider>,
    /// Every described cluster with an OIDC issuer (GKE, EKS, AKS).
    pub issuer_clusters: Vec<IssuerCluster<'a>>,
    /// AWS roles and users, to name them by ARN.
    pub aws_principals: Vec<&'a AwsPrincipal>,
}

impl<'a> World<'a> {
    pub fn build(
        inputs: &'a Inputs,
        hierarchy: &'a Hierarchy,
        roles: &mut Roles,
        out: &mut Output,
    ) -> World<'a> {
        let mut world = World {
            hierarchy,
            policies: Vec::new(),
            clusters: BTreeMap::new(),
            ksas: BTreeMap::new(),
            gsas: BTreeMap::new(),
            pool_providers: inputs.pool_providers.iter().collect(),
            issuer_clusters: Vec::new(),
            aws_principals: inputs.aws_principals.iter().collect(),
        };
        for cluster in &inputs.clusters {
            if let Some(first) = world.clusters.get(cluster.name.as_str()) {
                out.info(
                    &cluster.origin.document,
                    format!(
                        "cluster {} is described again (first in {}); the first description is used",
                        cluster.name,
                        first.origin.reference()
                    ),
                );
                continue;
            }
            world.clusters.insert(&cluster.name, cluster);
        }
        world.issuer_clusters = world.issuers(inputs);
        for account in &inputs.service_accounts {
            let key = (
                account.cluster.as_str(),
                account.namespace.as_str(),
                account.name.as_str(),
            );
            // The Kubernetes provider reports objects exported twice.
            world.ksas.entry(key).or_insert(account);
        }
        let emails: HashMap<String, String> = inputs
            .accounts
            .iter()
            .filter_map(|a| Some((a.unique_id.clone()?, a.email.clone())))
            .collect();
        world.attribute_policies(inputs, &emails, roles, out);
        world.register_service_accounts(inputs);
        world
    }

    /// GKE issuers are built from the description (`gcloud` does not print
    /// them), with the project's id; EKS and AKS issuers are as described.
    fn issuers(&self, inputs: &'a Inputs) -> Vec<IssuerCluster<'a>> {
        let mut issuers = Vec::new();
        for cluster in self.clusters.values() {
            let (Some(project), Some(location)) = (&cluster.project, &cluster.location) else {
                continue;
            };
            let spelled = format!(
                "https://container.googleapis.com/v1/projects/{}/locations/{location}/clusters/{}",
                self.hierarchy.project_id(project),
                cluster.name
            );
            issuers.push(IssuerCluster {
                name: &cluster.name,
                platform: "GKE",
                normalised: normalise_issuer(&spelled),
                spelled,
                origin: cluster.origin.clone(),
            });
        }
        for cluster in &inputs.foreign_clusters {
            if let Some(issuer) = &cluster.issuer {
                issuers.push(IssuerCluster {
                    name: &cluster.name,
                    platform: cluster.platform,
                    spelled: issuer.clone(),
                    normalised: normalise_issuer(issuer),
                    origin: cluster.origin.clone(),
                });
            }
        }
        issuers
    }

    fn attribute_policies(
        &mut self,
        inputs: &Inputs,
        emails: &HashMap<String, String>,
        roles: &mut Roles,
        out: &mut Output,
    ) {
        let mut seen: HashMap<String, String> = HashMap::new();
        for raw in &inputs.policies {
            let document = raw.origin.document.as_str();
            let resource = match (&raw.resource, raw.form) {
                (Some(name), _) => {
                    let mut resource = self.hierarchy.resource(name, &raw.ancestors, emails);
                    if resource.project.is_none() {
                        resource.project = raw
                            .project
                            .as_deref()
                            .and_then(|p| p.strip_prefix("projects/"))
                            .map(|p| self.hierarchy.project_id(p).to_string());
                    }
                    if resource.scope == Scope::Other
                        && resource.full_name.starts_with("//iam.googleapis.com/")
                        && resource.full_name.contains("/serviceAccounts/")
                    {
                        out.warn(
                            document,
                            format!(
                                "IAM policy of {}: the service account's email is not in the snapshot (add `gcloud iam service-accounts list --format=json`), so its bindings are granted but give no impersonation or Workload Identity edge",
                                resource.full_name
                            ),
                        );
                    }
                    resource
                }
                (None, PolicyForm::Bare) => {
                    let projects = &self.hierarchy.described_projects;
                    let mut only = projects.iter();
                    match (only.next(), only.next()) {
                        (Some(project), None) => {
                            let resource = self.hierarchy.resource(
                                &format!("projects/{project}"),
                                &[],
                                emails,
                            );
                            out.info(
                                document,
                                format!(
                                    "IAM policy without a resource name attributed to {}, the only project described in the snapshot (wrap it as {{\"resource\": …, \"policy\": …}} to say so explicitly)",
                                    resource.full_name
                                ),
                            );
                            resource
                        }
                        _ => {
                            out.warn(
                                document,
                                format!(
                                    "IAM policy without a resource name cannot be attributed ({} projects are described in the snapshot, attribution needs exactly one): wrap it as {{\"resource\": \"//cloudresourcemanager.googleapis.com/projects/ID\", \"policy\": …}} or export it with Cloud Asset Inventory; its {} bindings are skipped",
                                    projects.len(),
                                    raw.bindings.len()
                                ),
                            );
                            continue;
                        }
                    }
                }
                (None, _) => {
                    out.warn(
                        document,
                        format!(
                            "IAM policy at {} names no resource; skipped",
                            raw.origin.reference()
                        ),
                    );
                    continue;
                }
            };
            if let Some(first) = seen.get(&resource.full_name) {
                out.info(
                    document,
                    format!(
                        "the IAM policy of {} appears again (first in {first}); the first copy is used",
                        resource.full_name
                    ),
                );
                continue;
            }
            seen.insert(resource.full_name.clone(), raw.origin.reference());
            let bindings = raw
                .bindings
                .iter()
                .map(|binding| ExpandedBinding {
                    expansion: roles.expand(&binding.role, self.hierarchy),
                    binding: binding.clone(),
                })
                .collect();
            self.policies.push(Policy {
                resource,
                origin: raw.origin.clone(),
                bindings,
            });
        }
    }

    fn register(&mut self, email: &str, project: Option<&str>, evidence: EvidenceRef) {
        let email = email.to_ascii_lowercase();
        let project = project
            .or_else(|| email_project(&email))
            .filter(|p| !p.is_empty() && *p != "-")
            .map(|p| self.hierarchy.project_id(p).to_string());
        let gsa = self.gsas.entry(email.clone()).or_insert_with(|| Gsa {
            email,
            project: None,
            disabled: false,
            evidence: Vec::new(),
        });
        if gsa.project.is_none() {
            gsa.project = project;
        }
        if !gsa.evidence.contains(&evidence) {
            gsa.evidence.push(evidence);
        }
    }

    fn register_service_accounts(&mut self, inputs: &Inputs) {
        for account in &inputs.accounts {
            let summary = format!("service account {}", account.email);
            self.register(
                &account.email,
                account.project.as_deref(),
                account.origin.evidence("document", summary),
            );
            if account.disabled
                && let Some(gsa) = self.gsas.get_mut(&account.email)
            {
                gsa.disabled = true;
            }
        }
        let mut sightings: Vec<(String, Option<String>, EvidenceRef)> = Vec::new();
        for policy in &self.policies {
            if let Scope::ServiceAccount(email) = &policy.resource.scope {
                sightings.push((
                    email.clone(),
                    policy.resource.project.clone(),
                    policy
                        .origin
                        .evidence("document", format!("IAM policy of {email}")),
                ));
            }
            for binding in &policy.bindings {
                for (index, member) in binding.binding.members.iter().enumerate() {
                    if let Member::ServiceAccount(email) = Member::parse(member) {
                        let origin = binding.binding.origin.child(&format!("/members/{index}"));
                        sightings.push((
                            email.to_string(),
                            None,
                            origin.evidence(
                                "binding",
                                format!("member of {}", binding.source(&policy.resource)),
                            ),
                        ));
                    }
                }
            }
        }
        for account in self.ksas.values() {
            if let Some(gsa) = &account.gsa {
                sightings.push((
                    gsa.clone(),
                    None,
                    account.annotation_origin().evidence(
                        "document",
                        format!(
                            "iam.gke.io/gcp-service-account of ServiceAccount {}/{} in cluster {}",
                            account.namespace, account.name, account.cluster
                        ),
                    ),
                ));
            }
        }
        for cluster in self.clusters.values() {
            for pool in &cluster.node_pools {
                // An unresolvable default is reported by the node-pool rule.
                if let Ok(email) = self.node_service_account(cluster, pool) {
                    sightings.push((
                        email,
                        cluster.project.clone(),
                        pool.origin.child("/config/serviceAccount").evidence(
                            "document",
                            format!(
                                "node service account of node pool {} in cluster {}",
                                pool.name, cluster.name
                            ),
                        ),
                    ));
                }
            }
        }
        for (email, project, evidence) in sightings {
            self.register(&email, project.as_deref(), evidence);
        }
    }

    /// The node pool's service account; `default` is the project's default
    /// compute service account, which needs the project's number.
    pub fn node_service_account(
        &self,
        cluster: &Cluster,
        pool: &NodePool,
    ) -> Result<String, String> {
        if let Some(email) = &pool.service_account {
            return Ok(email.clone());
        }
        let Some(project) = &cluster.project else {
            return Err(format!(
                "node pool {} of cluster {} runs as the default compute service account, but the cluster's project is unknown (no selfLink or workload pool)",
                pool.name, cluster.name
            ));
        };
        match self.hierarchy.project_number(project) {
            Some(number) => Ok(format!("{number}-compute@developer.gserviceaccount.com")),
            None => Err(format!(
                "node pool {} of cluster {} runs as the default compute service account of project {project}, whose number the snapshot does not give (add `gcloud projects describe {project} --format=json`)",
                pool.name, cluster.name
            )),
        }
    }

    /// Emit a node per Google service account.
    pub fn emit_service_accounts(&self, out: &mut Output) {
        for gsa in self.gsas.values() {
            let mut attributes = vec![
                ("member-type".to_string(), "serviceAccount".to_string()),
                ("email".to_string(), gsa.email.clone()),
            ];
            if let Some(project) = &gsa.project {
                attributes.push(("project".into(), project.clone()));
                if let Some(number) = self.hierarchy.project_number(project) {
                    attributes.push(("project-number".into(), number.to_string()));
                }
                let ancestors: Vec<&str> = self
                    .hierarchy
                    .ancestors(&format!("projects/{project}"))
                    .into_iter()
                    .map(|(a, _)| a)
                    .collect();
                if !ancestors.is_empty() {
                    attributes.push(("ancestors".into(), ancestors.join(" ")));
                }
            }
            if gsa
                .email
                .ends_with("-compute@developer.gserviceaccount.com")
            {
                attributes.push(("default-compute".into(), "true".into()));
            }
            if is_service_agent(&gsa.email) {
                attributes.push(("google-managed".into(), "true".into()));
            }
            if gsa.disabled {
                attributes.push(("disabled".into(), "true".into()));
            }
            out.identity(
                service_account_id(&gsa.email),
                &gsa.email,
                attributes,
                gsa.evidence.clone(),
            );
        }
    }

    /// Whether a binding on `resource` applies to service account `email`:
    /// the account's own policy, or its project or an ancestor of it.
    pub fn covers(&self, resource: &Resource, email: &str) -> bool {
        match &resource.scope {
            Scope::ServiceAccount(target) => target == email,
            Scope::Container(container) => self
                .gsas
                .get(email)
                .and_then(|g| g.project.as_deref())
                .is_some_and(|p| self.hierarchy.contains(container, &format!("projects/{p}"))),
            Scope::Other => false,
        }
    }

    /// Every known service account a binding on `resource` applies to, sorted.
    pub fn covered(&self, resource: &Resource) -> Vec<&str> {
        self.gsas
            .keys()
            .filter(|email| self.covers(resource, email))
            .map(String::as_str)
            .collect()
    }

    /// Whether bindings on `resource` apply to service accounts at all.
    pub fn covers_service_accounts(resource: &Resource) -> bool {
        !matches!(resource.scope, Scope::Other)
    }

    /// The described clusters whose workload pool is `pool`.
    pub fn pool_clusters(&self, pool: &str) -> Vec<&'a Cluster> {
        self.clusters
            .values()
            .copied()
            .filter(|c| c.pool.as_deref() == Some(pool))
            .collect()
    }

    pub fn ksa(
        &self,
        cluster: &str,
        namespace: &str,
        name: &str,
    ) -> Option<&'a KubeServiceAccount> {
        self.ksas.get(&(cluster, namespace, name)).copied()
    }
}
