//! The identity chains into AWS: IRSA and EKS Pod Identity (ServiceAccount
//! -> role), the node instance role fallback (every pod -> node role), and
//! transitive `sts:AssumeRole` (role or user -> role).
//!
//! # IRSA (`federates-to`, `latent-federates-to`)
//!
//! A ServiceAccount is *wired* to a role by its annotation
//! `eks.amazonaws.com/role-arn`, or by a pod of it setting `AWS_ROLE_ARN`
//! (what the webhook injects; what one configures by hand where there is
//! no webhook, e.g. a GKE or AKS pod using an AWS role). A wiring becomes a
//! `federates-to` edge only if the role's trust policy allows
//! `sts:AssumeRoleWithWebIdentity` for the `Federated` principal
//! `arn:aws:iam::{role account}:oidc-provider/{issuer}`, where `{issuer}` is
//! the OIDC issuer of the ServiceAccount's cluster (EKS, GKE or AKS, from
//! the cluster descriptions), with conditions that hold for
//! `{issuer}:sub = system:serviceaccount:{ns}:{name}` and `{issuer}:aud` =
//! the ServiceAccount's `eks.amazonaws.com/audience` annotation, else
//! `sts.amazonaws.com`. Condition keys the snapshot cannot know (source IP,
//! tags) are assumed satisfiable and named in the edge evidence; an
//! unconditional matching Deny blocks. A wiring whose role does not trust it
//! is a *broken chain* (warning naming ServiceAccount and role, no edge); a
//! wiring to a role or cluster the snapshot does not describe cannot be
//! checked (warning, no edge). The annotation and the `AWS_ROLE_ARN` of each
//! pod of a ServiceAccount make one chain (one edge or one warning), the
//! annotation naming it. IAM accepts only OIDC providers of the role's own
//! account: a trust naming another account's provider is reported (info)
//! and yields nothing. The issuer is matched ignoring case, scheme and a
//! trailing slash (AKS prints one, IAM provider ARNs have none).
//!
//! Trust that nothing is wired to is *latent* (`latent-federates-to`, plus an
//! info diagnostic), from the narrowest node that stands for who could use
//! it. Per trust statement and cluster, the subjects are read from the
//! positive `{issuer}:sub` conditions (`StringEquals`, `StringLike`, their
//! `IgnoreCase`/`IfExists`/`ForAnyValue:`/`ForAllValues:` variants); when a
//! statement has several, the narrowest one decides:
//!
//! - an exact subject `system:serviceaccount:{ns}:{name}` -> from that
//!   ServiceAccount, unless it is wired to the role (then the wiring's edge
//!   stands);
//! - a wildcard confined to one namespace (`system:serviceaccount:{ns}:*`,
//!   `...:{ns}:agent-*`) -> from `Group/system:serviceaccounts:{ns}`;
//! - any broader wildcard (`system:serviceaccount:*`, `*:agent`), or no
//!   positive `sub` condition at all (negated ones do not confine) -> from
//!   `Group/system:serviceaccounts` of that cluster;
//!
//! and a wildcard yields its group edge only when no ServiceAccount wired
//! to the role matches it: a wired ServiceAccount gets its own
//! `federates-to`, whose evidence says the trust also admits the rest of the
//! wildcard. The group edges are latent, not followed for scope, because no
//! pod is configured to use the role; but any pod of the group could, by
//! projecting a token with the right audience itself.
//!
//! # EKS Pod Identity (`federates-to`)
//!
//! An association (`describe-pod-identity-association`) maps a
//! ServiceAccount to a role; the edge exists if the role trusts the service
//! principal `pods.eks.amazonaws.com` for both `sts:AssumeRole` and
//! `sts:TagSession` (conditions judged with `aws:SourceAccount`,
//! `aws:SourceArn` = the cluster ARN and the session tags EKS sets), else
//! broken-chain warning; with `disableSessionTags` only `sts:AssumeRole` is
//! needed. A `targetRoleArn` adds role -> target `assumes`.
//!
//! # Node instance role fallback (`node-fallback`)
//!
//! Any pod that can reach the instance metadata service gets the node's
//! instance role. Per EKS cluster whose nodes are EC2 instances (a Node with
//! an `aws://` provider id that is not Fargate; or no Node objects in the
//! snapshot, assumed EC2 and said so), the candidate node roles are the
//! roles of the cluster's account whose trust lets `ec2.amazonaws.com`
//! `sts:AssumeRole`, and that either
//!
//! - are *marked* as node roles: `AmazonEKSWorkerNodePolicy` (or
//!   `...MinimalPolicy`) attached, or a cluster tag (`eks:cluster-name`,
//!   `alpha.eksctl.io/cluster-name`, `karpenter.sh/discovery`,
//!   `kubernetes.io/cluster/{name}`). A tagged role connects to its tagged
//!   clusters only; an untagged one to every EKS cluster of its account,
//!   since authorization details do not say which cluster's nodes use it
//!   (the edge evidence says so);
//! - or, only when the account has no marked role for that cluster, have
//!   an instance profile: then every such EC2 role may be the node role,
//!   and each is connected with evidence saying why.
//!
//! The edge goes from `Group/system:serviceaccounts` of the cluster. IMDS
//! hop limits and network policies that block pods from IMDS are not in the
//! snapshot; the evidence says so.
//!
//! # Transitive assumption (`assumes`)
//!
//! A role or user A -> role B when B's trust policy has an Allow statement
//! for `sts:AssumeRole` whose `AWS` principal names A (its ARN, its unique
//! id, or an `assumed-role` session ARN of it), A's account (root ARN or
//! bare account id), or `*`, with conditions not false for
//! `aws:PrincipalArn`/`aws:PrincipalAccount`, and no matching
//! unconditional trust Deny; and:
//!
//! - when the trust names A itself and A is in B's account, IAM needs no
//!   identity-policy allow (a resource-based policy naming a same-account
//!   principal suffices): the edge exists unless A's identity policies or
//!   boundary explicitly deny `sts:AssumeRole` on B;
//! - otherwise (account root, `*`, or another account), A's effective
//!   identity policy must allow `sts:AssumeRole` on B's ARN (no matching
//!   unconditional Deny, boundary allows it too).

use crate::glob;
use crate::grants::{Effective, Rights};
use crate::inputs::{Cluster, IamPrincipal, Inputs, Origin, PrincipalKind, Wiring, arn_account};
use crate::output::{ALL_SERVICE_ACCOUNTS, Output, aws_id, group_id, service_account_id};
use crate::policy::{self, Effect, RequestContext, Statement, Truth};
use scopegraph_sdk::{Cloud, EvidenceRef, Level};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";
const ASSUME_ROLE: &str = "sts:AssumeRole";
const TAG_SESSION: &str = "sts:TagSession";
const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
/// Evidence for humans to find the wiring again (pods of one workload repeat it).
const MAX_WIRING_EVIDENCE: usize = 5;
const POD_IDENTITY_SERVICE: &str = "pods.eks.amazonaws.com";
const EC2_SERVICE: &str = "ec2.amazonaws.com";
const WORKER_NODE_POLICIES: &[&str] = &[
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKSWorkerNodeMinimalPolicy",
];
const CLUSTER_TAGS: &[&str] = &[
    "eks:cluster-name",
    "alpha.eksctl.io/cluster-name",
    "karpenter.sh/discovery",
];

/// What the chains work on.
#[derive(Debug)]
pub struct Chains<'a> {
    pub inputs: &'a Inputs,
    /// Every role and user, and what its policies say about `sts:AssumeRole`.
    principals: Vec<(&'a IamPrincipal, Rights<'a>)>,
    /// ARN and unique id -> index in `principals`.
    by_name: HashMap<&'a str, usize>,
    /// The principals some identity statement lets call `sts:AssumeRole`.
    can_assume: Vec<usize>,
    clusters: BTreeMap<&'a str, &'a Cluster>,
    /// Normalised issuer -> cluster.
    issuers: BTreeMap<&'a str, &'a Cluster>,
}

impl<'a> Chains<'a> {
    pub fn new(
        inputs: &'a Inputs,
        effective: &'a BTreeMap<String, Effective<'a>>,
        out: &mut Output,
    ) -> Self {
        let mut clusters = BTreeMap::new();
        let mut issuers = BTreeMap::new();
        for cluster in &inputs.clusters {
            if clusters.insert(cluster.name.as_str(), cluster).is_some() {
                out.diagnostic(
                    Level::Info,
                    &cluster.origin.document,
                    format!(
                        "cluster {} is described more than once; the last description is used",
                        cluster.name
                    ),
                );
            }
            if let Some(issuer) = &cluster.issuer {
                issuers.insert(issuer.as_str(), cluster);
            }
        }
        let principals: Vec<(&IamPrincipal, Rights)> = inputs
            .principals
            .values()
            .filter_map(|p| Some((p, Rights::new(effective.get(&p.arn)?, ASSUME_ROLE))))
            .collect();
        let mut by_name = HashMap::new();
        for (i, (p, _)) in principals.iter().enumerate() {
            by_name.insert(p.arn.as_str(), i);
            if !p.id.is_empty() {
                by_name.insert(p.id.as_str(), i);
            }
        }
        let can_assume = principals
            .iter()
            .enumerate()
            .filter(|(_, (_, rights))| !rights.is_empty())
            .map(|(i, _)| i)
            .collect();
        Chains {
            inputs,
            principals,
            by_name,
            can_assume,
            clusters,
            issuers,
        }
    }

    fn role(&self, arn: &str) -> Option<&'a IamPrincipal> {
        self.inputs
            .principals
            .get(arn)
            .filter(|p| p.kind == PrincipalKind::Role)
    }

    fn roles(&self) -> impl Iterator<Item = &'a IamPrincipal> + use<'a> {
        self.inputs
            .principals
            .values()
            .filter(|p| p.kind == PrincipalKind::Role)
    }

    pub fn resolve(&self, out: &mut Output) {
        self.irsa_wirings(out);
        self.irsa_latent(out);
        self.pod_identity(out);
        self.node_fallback(out);
        self.assumptions(out);
    }

    // ------------------------------------------------------------------ IRSA

    fn irsa_wirings(&self, out: &mut Output) {
        // One chain per (ServiceAccount, role): the annotation and the env of
        // each of its pods (which the webhook copies it into) say the same.
        let mut chains: BTreeMap<(&str, &str, &str, &str), Vec<&Wiring>> = BTreeMap::new();
        for w in &self.inputs.wirings {
            chains
                .entry((&w.cluster, &w.namespace, &w.service_account, &w.role_arn))
                .or_default()
                .push(w);
        }
        for mut wirings in chains.into_values() {
            // Annotations first: they are what the webhook acts on.
            wirings.sort_by_key(|w| !w.how.starts_with("annotation"));
            let Some(&wiring) = wirings.first() else {
                continue;
            };
            let how = match wirings.len() {
                1 => wiring.how.clone(),
                n => format!("{}, and {} more", wiring.how, n - 1),
            };
            let audience = wirings.iter().find_map(|w| w.audience.as_deref());
            let sa = format!(
                "ServiceAccount {}/{} of cluster {}",
                wiring.namespace, wiring.service_account, wiring.cluster
            );
            let Some(role) = self.role(&wiring.role_arn) else {
                out.diagnostic(
                    Level::Warn,
                    &wiring.origin.document,
                    format!(
                        "unverified chain: {sa} uses role {} ({}), which no IAM authorization details in the \
                         snapshot describe: its trust cannot be checked; no edge",
                        wiring.role_arn, how
                    ),
                );
                continue;
            };
            let Some((issuer, shown)) = self
                .clusters
                .get(wiring.cluster.as_str())
                .and_then(|c| Some((c.issuer.as_deref()?, c.issuer_display.as_deref()?)))
            else {
                out.diagnostic(
                    Level::Warn,
                    &wiring.origin.document,
                    format!(
                        "unverified chain: {sa} uses role {} ({}), but the snapshot has no description of cluster {} \
                         with an OIDC issuer: the trust cannot be checked; no edge",
                        role.arn, how, wiring.cluster
                    ),
                );
                continue;
            };
            let sub = subject(&wiring.namespace, &wiring.service_account);
            let aud = audience.unwrap_or(DEFAULT_AUDIENCE);
            let decision = web_identity(role, issuer, Some(&sub), aud);
            match &decision.allowed {
                Some((statement, unknown)) if decision.denied.is_none() => {
                    let mut summary = format!(
                        "trust policy of role {} {} allows {WEB_IDENTITY} from {shown} for {sub}",
                        role.name,
                        statement.label()
                    );
                    if !unknown.is_empty() {
                        summary.push_str(&format!(
                            "; conditions the snapshot cannot judge, assumed satisfiable: {}",
                            unknown.join(", ")
                        ));
                    }
                    let wildcards: Vec<String> = sub_values(statement, issuer)
                        .into_iter()
                        .filter(|v| glob::has_wildcard(v))
                        .collect();
                    if !wildcards.is_empty() {
                        summary.push_str(&format!(
                            "; the trust also admits every other ServiceAccount matching {}",
                            wildcards.join(", ")
                        ));
                    }
                    let mut evidence: Vec<EvidenceRef> = wirings
                        .iter()
                        .take(MAX_WIRING_EVIDENCE)
                        .map(|w| w.origin.evidence(format!("{sa}: {}={}", w.how, role.arn)))
                        .collect();
                    evidence.push(trust_evidence(role, statement, summary));
                    out.edge(
                        service_account_id(
                            &wiring.cluster,
                            &wiring.namespace,
                            &wiring.service_account,
                        ),
                        aws_id(&role.arn),
                        "federates-to",
                        format!("IRSA: {} + trust policy {}", wiring.how, statement.label()),
                        evidence,
                    );
                }
                _ => {
                    let reason = match (&decision.denied, &decision.allowed) {
                        (Some(deny), _) => format!("its trust policy {} denies it", deny.label()),
                        (None, _) => {
                            let trusted = trusted_subjects(role, issuer);
                            if trusted.is_empty() {
                                format!(
                                    "its trust policy allows no {WEB_IDENTITY} from the cluster's issuer {shown}"
                                )
                            } else {
                                format!(
                                    "its trust policy allows {WEB_IDENTITY} from {shown} only for {} (audience {aud} assumed)",
                                    trusted.join(", ")
                                )
                            }
                        }
                    };
                    out.diagnostic(
                        Level::Warn,
                        &wiring.origin.document,
                        format!(
                            "broken chain: {sa} is wired to role {} ({how}), but {reason}; no edge",
                            role.arn
                        ),
                    );
                }
            }
        }
    }

    fn wired(&self, cluster: &str, role: &str) -> Vec<&'a Wiring> {
        self.inputs
            .wirings
            .iter()
            .filter(|w| w.cluster == cluster && w.role_arn == role)
            .collect()
    }

    fn irsa_latent(&self, out: &mut Output) {
        for role in self.roles() {
            let Some(trust) = &role.trust else {
                continue;
            };
            let mut unknown_issuers = BTreeSet::new();
            for statement in &trust.statements {
                if statement.effect != Effect::Allow
                    || !statement.actions.matches_action(WEB_IDENTITY)
                {
                    continue;
                }
                for provider in federated(statement) {
                    let Some((account, issuer)) = oidc_provider(provider) else {
                        continue;
                    };
                    let Some(cluster) = self.issuers.get(issuer.as_str()) else {
                        let spelled = provider
                            .split_once(":oidc-provider/")
                            .map_or(provider, |(_, i)| i);
                        unknown_issuers.insert(crate::inputs::display_issuer(spelled));
                        continue;
                    };
                    if account != role.account {
                        out.diagnostic(
                            Level::Info,
                            &role.origin.document,
                            format!(
                                "role {} trusts OIDC provider {provider} of another account; IAM only accepts \
                                 providers of the role's own account, so no ServiceAccount can use it",
                                role.arn
                            ),
                        );
                        continue;
                    }
                    self.latent_for(role, statement, cluster, &issuer, out);
                }
            }
            for issuer in unknown_issuers {
                out.diagnostic(
                    Level::Info,
                    &role.origin.document,
                    format!(
                        "role {} trusts the OIDC issuer {issuer}, which is the issuer of no cluster in the snapshot",
                        role.arn
                    ),
                );
            }
        }
    }

    fn latent_for(
        &self,
        role: &IamPrincipal,
        statement: &Statement,
        cluster: &Cluster,
        issuer: &str,
        out: &mut Output,
    ) {
        let wired = self.wired(&cluster.name, &role.arn);
        for scope in subject_scopes(statement, issuer) {
            let (from, who, decision) = match &scope {
                Scope::Exact { namespace, name } => {
                    if wired
                        .iter()
                        .any(|w| w.namespace == *namespace && w.service_account == *name)
                    {
                        continue;
                    }
                    let sub = subject(namespace, name);
                    let decision = web_identity(role, issuer, Some(&sub), DEFAULT_AUDIENCE);
                    (
                        service_account_id(&cluster.name, namespace, name),
                        sub,
                        decision,
                    )
                }
                Scope::Namespace { namespace, pattern } | Scope::Cluster { namespace, pattern } => {
                    let admits_wired = wired.iter().any(|w| {
                        glob::matches(pattern, &subject(&w.namespace, &w.service_account))
                    });
                    if admits_wired {
                        continue;
                    }
                    let group = match namespace {
                        Some(ns) => format!("{ALL_SERVICE_ACCOUNTS}:{ns}"),
                        None => ALL_SERVICE_ACCOUNTS.to_string(),
                    };
                    let decision = web_identity(role, issuer, None, DEFAULT_AUDIENCE);
                    (group_id(&cluster.name, &group), pattern.clone(), decision)
                }
            };
            if decision.denied.is_some() || decision.allowed.is_none() {
                continue;
            }
            let shown = cluster.issuer_display.as_deref().unwrap_or(issuer);
            let summary = format!(
                "trust policy of role {} {} allows {WEB_IDENTITY} from {shown} for {who}, but no ServiceAccount \
                 or pod of cluster {} that it admits is wired to the role",
                role.name,
                statement.label(),
                cluster.name
            );
            out.edge(
                from,
                aws_id(&role.arn),
                "latent-federates-to",
                format!("trust policy {} ({who})", statement.label()),
                vec![trust_evidence(role, statement, summary)],
            );
            out.diagnostic(
                Level::Info,
                &role.origin.document,
                format!(
                    "latent trust: role {} trusts {who} of cluster {} ({}), but nothing there is annotated \
                     eks.amazonaws.com/role-arn or sets AWS_ROLE_ARN for it",
                    role.arn,
                    cluster.name,
                    statement.label()
                ),
            );
        }
    }

    // ---------------------------------------------------------- Pod Identity

    fn pod_identity(&self, out: &mut Output) {
        for association in &self.inputs.associations {
            let sa = format!(
                "ServiceAccount {}/{} of cluster {}",
                association.namespace, association.service_account, association.cluster
            );
            let Some(role) = self.role(&association.role_arn) else {
                out.diagnostic(
                    Level::Warn,
                    &association.origin.document,
                    format!(
                        "unverified chain: Pod Identity association {} maps {sa} to role {}, which no IAM \
                         authorization details in the snapshot describe; no edge",
                        association.arn, association.role_arn
                    ),
                );
                continue;
            };
            let cluster_arn = self
                .clusters
                .get(association.cluster.as_str())
                .and_then(|c| c.arn.clone())
                .or_else(|| cluster_arn_from_association(&association.arn));
            let mut context = RequestContext::default();
            if association.session_tags {
                context = context
                    .with("aws:RequestTag/eks-cluster-name", &association.cluster)
                    .with(
                        "aws:RequestTag/kubernetes-namespace",
                        &association.namespace,
                    )
                    .with(
                        "aws:RequestTag/kubernetes-service-account",
                        &association.service_account,
                    );
            }
            if let Some(arn) = &cluster_arn {
                context = context.with("aws:SourceArn", arn);
                if association.session_tags {
                    context = context.with("aws:RequestTag/eks-cluster-arn", arn);
                }
                if let Some(account) = arn_account(arn) {
                    context = context.with("aws:SourceAccount", account);
                }
            }
            // Without session tags EKS does not call sts:TagSession.
            let actions: &[&str] = if association.session_tags {
                &[ASSUME_ROLE, TAG_SESSION]
            } else {
                &[ASSUME_ROLE]
            };
            let mut allowing = Vec::new();
            let mut missing = Vec::new();
            for &action in actions {
                match service_decision(role, POD_IDENTITY_SERVICE, action, &context) {
                    Some(found) => allowing.push(found),
                    None => missing.push(action),
                }
            }
            if !missing.is_empty() {
                out.diagnostic(
                    Level::Warn,
                    &association.origin.document,
                    format!(
                        "broken chain: Pod Identity association {} maps {sa} to role {}, but the role's trust policy \
                         does not allow {POD_IDENTITY_SERVICE} {}; no edge",
                        association.arn,
                        role.arn,
                        missing.join(" and ")
                    ),
                );
                continue;
            }
            let mut evidence = vec![association.origin.evidence(format!(
                "Pod Identity association {} maps {sa} to role {}",
                association.arn, role.arn
            ))];
            let mut seen = BTreeSet::new();
            for (statement, unknown) in &allowing {
                if !seen.insert(statement.index) {
                    continue;
                }
                let actions: Vec<&str> = actions
                    .iter()
                    .copied()
                    .zip(&allowing)
                    .filter(|(_, (s, _))| s.index == statement.index)
                    .map(|(a, _)| a)
                    .collect();
                let mut summary = format!(
                    "trust policy of role {} {} allows {POD_IDENTITY_SERVICE} {}",
                    role.name,
                    statement.label(),
                    actions.join(" and ")
                );
                if !unknown.is_empty() {
                    summary.push_str(&format!(
                        "; conditions assumed satisfiable: {}",
                        unknown.join(", ")
                    ));
                }
                evidence.push(trust_evidence(role, statement, summary));
            }
            out.edge(
                service_account_id(
                    &association.cluster,
                    &association.namespace,
                    &association.service_account,
                ),
                aws_id(&role.arn),
                "federates-to",
                association.arn.clone(),
                evidence,
            );
            if let Some(target) = &association.target_role_arn {
                out.edge(
                    aws_id(&role.arn),
                    aws_id(target),
                    "assumes",
                    format!("{} targetRoleArn", association.arn),
                    vec![association.origin.evidence(format!(
                        "EKS assumes target role {target} with role {} for {sa}",
                        role.arn
                    ))],
                );
            }
        }
    }

    // --------------------------------------------------------- node fallback

    fn node_fallback(&self, out: &mut Output) {
        // (role, marked reason, tagged clusters)
        let mut marked: Vec<(&IamPrincipal, String, Vec<String>)> = Vec::new();
        let mut profiled: Vec<&IamPrincipal> = Vec::new();
        for role in self.roles() {
            if service_decision(role, EC2_SERVICE, ASSUME_ROLE, &RequestContext::default())
                .is_none()
            {
                continue;
            }
            let worker = role.attached.iter().find_map(|a| {
                let name = a.arn.rsplit('/').next()?;
                WORKER_NODE_POLICIES
                    .contains(&name)
                    .then(|| format!("{name} is attached"))
            });
            let tagged: Vec<String> = role
                .tags
                .iter()
                .filter_map(|(k, v)| {
                    if CLUSTER_TAGS.contains(&k.as_str()) {
                        Some(v.clone())
                    } else {
                        k.strip_prefix("kubernetes.io/cluster/").map(String::from)
                    }
                })
                .collect();
            if worker.is_some() || !tagged.is_empty() {
                let reason =
                    worker.unwrap_or_else(|| format!("tagged for cluster {}", tagged.join(", ")));
                marked.push((role, reason, tagged));
            } else if !role.instance_profiles.is_empty() {
                profiled.push(role);
            }
        }
        for cluster in self.clusters.values().filter(|c| c.cloud == Cloud::Aws) {
            let Some(account) = cluster.account.as_deref() else {
                continue;
            };
            let nodes: Vec<_> = self
                .inputs
                .nodes
                .iter()
                .filter(|n| n.cluster == cluster.name)
                .collect();
            let node_note = if nodes.is_empty() {
                "no Node objects in the snapshot, so EC2 nodes are assumed".to_string()
            } else {
                let ec2: Vec<&str> = nodes
                    .iter()
                    .filter(|n| n.ec2)
                    .map(|n| n.name.as_str())
                    .collect();
                if ec2.is_empty() {
                    out.diagnostic(
                        Level::Info,
                        &cluster.origin.document,
                        format!("cluster {}: no Node runs on EC2 (Fargate or other providers): no node role fallback", cluster.name),
                    );
                    continue;
                }
                format!(
                    "{} EC2 node(s), e.g. {}",
                    ec2.len(),
                    ec2.iter().take(3).copied().collect::<Vec<_>>().join(", ")
                )
            };
            let caveat = "unless pods are kept from IMDS (hop limit 1, network policy), which the snapshot does not show";
            let from = group_id(&cluster.name, ALL_SERVICE_ACCOUNTS);
            let via = format!("EC2 instance metadata (IMDS) on nodes of {}", cluster.name);
            let mut connected = false;
            for (role, reason, tagged) in &marked {
                if role.account != account
                    || (!tagged.is_empty() && !tagged.contains(&cluster.name))
                {
                    continue;
                }
                let scope = if tagged.is_empty() {
                    format!(
                        "; authorization details do not say which cluster's nodes use it, so it is connected to every \
                         EKS cluster of account {account}"
                    )
                } else {
                    String::new()
                };
                let summary = format!(
                    "node role {} ({reason}; trusted by {EC2_SERVICE}) reachable by every pod of {} through IMDS \
                     ({node_note}){scope}; {caveat}",
                    role.name, cluster.name
                );
                out.edge(
                    from.clone(),
                    aws_id(&role.arn),
                    "node-fallback",
                    via.clone(),
                    vec![role.origin.evidence(summary)],
                );
                connected = true;
            }
            if connected {
                continue;
            }
            for role in profiled.iter().filter(|r| r.account == account) {
                let summary = format!(
                    "role {} is trusted by {EC2_SERVICE} and has instance profile(s) {}; no role of account {account} \
                     has AmazonEKSWorkerNodePolicy or a tag for cluster {}, so any EC2 role with an instance profile \
                     may be its node role ({node_note}); {caveat}",
                    role.name,
                    role.instance_profiles.join(", "),
                    cluster.name
                );
                out.edge(
                    from.clone(),
                    aws_id(&role.arn),
                    "node-fallback",
                    via.clone(),
                    vec![role.origin.evidence(summary)],
                );
            }
        }
    }

    // ------------------------------------------------------------- AssumeRole

    fn assumptions(&self, out: &mut Output) {
        for target in self.roles() {
            let Some(trust) = &target.trust else {
                continue;
            };
            for statement in &trust.statements {
                if statement.effect != Effect::Allow
                    || !statement.actions.matches_action(ASSUME_ROLE)
                {
                    continue;
                }
                let Some(principal) = statement.principal.as_ref().filter(|p| !p.negated) else {
                    continue;
                };
                let mut candidates: Vec<(usize, Naming, &str)> = Vec::new();
                if principal.anyone {
                    candidates.extend(self.can_assume.iter().map(|&i| (i, Naming::Anyone, "*")));
                }
                for name in &principal.aws {
                    candidates.extend(
                        self.named(name)
                            .into_iter()
                            .map(|(i, n)| (i, n, name.as_str())),
                    );
                }
                for (index, naming, written) in candidates {
                    let Some((source, rights)) = self.principals.get(index) else {
                        continue;
                    };
                    if source.arn == target.arn {
                        continue;
                    }
                    self.assumption(source, rights, target, statement, naming, written, out);
                }
            }
        }
    }

    /// The principals an `AWS` principal entry names, as indexes into
    /// `principals`. An account or `*` needs an identity allow as well, so
    /// only principals that have one for `sts:AssumeRole` are listed.
    fn named(&self, entry: &str) -> Vec<(usize, Naming)> {
        let in_account = |account: &str| -> Vec<(usize, Naming)> {
            self.can_assume
                .iter()
                .filter(|&&i| {
                    self.principals
                        .get(i)
                        .is_some_and(|(p, _)| p.account == account)
                })
                .map(|&i| (i, Naming::Account))
                .collect()
        };
        if entry == "*" {
            return self
                .can_assume
                .iter()
                .map(|&i| (i, Naming::Anyone))
                .collect();
        }
        if entry.len() == 12 && entry.bytes().all(|b| b.is_ascii_digit()) {
            return in_account(entry);
        }
        if entry.starts_with("arn:") {
            let account = arn_account(entry).unwrap_or_default();
            let resource = entry.splitn(6, ':').nth(5).unwrap_or_default();
            if resource == "root" {
                return in_account(account);
            }
            if let Some(session) = resource.strip_prefix("assumed-role/") {
                let role_name = session.split('/').next().unwrap_or_default();
                return self
                    .principals
                    .iter()
                    .enumerate()
                    .filter(|(_, (p, _))| {
                        p.kind == PrincipalKind::Role && p.account == account && p.name == role_name
                    })
                    .map(|(i, _)| (i, Naming::Itself))
                    .collect();
            }
        }
        // A principal ARN, or the unique id IAM shows for a deleted one.
        self.by_name
            .get(entry)
            .map(|&i| (i, Naming::Itself))
            .into_iter()
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn assumption(
        &self,
        source: &IamPrincipal,
        rights: &Rights,
        target: &IamPrincipal,
        statement: &Statement,
        naming: Naming,
        written: &str,
        out: &mut Output,
    ) {
        let same_account = source.account == target.account;
        let needs_allow = naming != Naming::Itself || !same_account;
        if needs_allow && rights.is_empty() {
            return;
        }
        let identity = rights.allows(&target.arn);
        if identity.is_none() && (needs_allow || rights.denies(&target.arn).is_some()) {
            return;
        }
        // Conditions are judged against what is known of the caller; most
        // trust statements have none, so the context is built on demand.
        let context = || {
            RequestContext::default()
                .with("aws:PrincipalArn", &source.arn)
                .with("aws:PrincipalAccount", &source.account)
                .with(
                    "aws:PrincipalType",
                    if source.kind == PrincipalKind::Role {
                        "AssumedRole"
                    } else {
                        "User"
                    },
                )
        };
        let (truth, unknown) = match &statement.condition {
            Some(c) => policy::evaluate(c, &context()),
            None => (Truth::True, Vec::new()),
        };
        if !truth.possible() {
            return;
        }
        let has_deny = target
            .trust
            .iter()
            .flat_map(|t| &t.statements)
            .any(|s| s.effect == Effect::Deny);
        if has_deny
            && trust_denies(
                target,
                ASSUME_ROLE,
                |p| aws_principal_matches(p, source),
                &context(),
            )
        {
            return;
        }
        let mut summary = format!(
            "trust policy of role {} {} allows {ASSUME_ROLE} to {written}",
            target.name,
            statement.label()
        );
        if !unknown.is_empty() {
            summary.push_str(&format!(
                "; conditions assumed satisfiable: {}",
                unknown.join(", ")
            ));
        }
        let mut evidence = vec![trust_evidence(target, statement, summary)];
        let via = match &identity {
            None => {
                evidence.push(source.origin.evidence(format!(
                    "the trust names {} {} of the same account, so no identity-policy allow is needed",
                    source.kind_name(),
                    source.name
                )));
                format!("trust policy {} names {}", statement.label(), written)
            }
            Some(allowance) => {
                let mut e = allowance.evidence.clone();
                if allowance.conditional {
                    e.summary.push_str(" (under conditions)");
                }
                evidence.push(e);
                format!(
                    "trust policy {} ({written}) + {}",
                    statement.label(),
                    allowance.description
                )
            }
        };
        out.edge(
            aws_id(&source.arn),
            aws_id(&target.arn),
            "assumes",
            via,
            evidence,
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// The trust names the principal itself.
    Itself,
    /// The trust names the principal's account.
    Account,
    Anyone,
}

fn aws_principal_matches(principal: &policy::Principal, source: &IamPrincipal) -> bool {
    principal.anyone
        || principal.aws.iter().any(|entry| {
            entry == &source.arn
                || (!source.id.is_empty() && entry == &source.id)
                || entry == &source.account
                || (entry.starts_with("arn:")
                    && arn_account(entry) == Some(source.account.as_str())
                    && entry.ends_with(":root"))
        })
}

/// `system:serviceaccount:{ns}:{name}`.
fn subject(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

fn federated(statement: &Statement) -> Vec<&str> {
    statement
        .principal
        .iter()
        .filter(|p| !p.negated)
        .flat_map(|p| p.federated.iter().map(String::as_str))
        .collect()
}

/// `arn:aws:iam::{account}:oidc-provider/{issuer}` -> (account, normalised issuer).
fn oidc_provider(arn: &str) -> Option<(String, String)> {
    let (head, issuer) = arn.split_once(":oidc-provider/")?;
    let account = arn_account(&format!("{head}:x"))?.to_string();
    Some((account, crate::inputs::normalise_issuer(issuer)))
}

fn cluster_arn_from_association(association: &str) -> Option<String> {
    // arn:aws:eks:{region}:{account}:podidentityassociation/{cluster}/{id}
    let mut parts = association.splitn(6, ':');
    let (arn, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let cluster = resource
        .strip_prefix("podidentityassociation/")?
        .split('/')
        .next()?;
    Some(format!(
        "{arn}:{partition}:{service}:{region}:{account}:cluster/{cluster}"
    ))
}

fn trust_evidence(role: &IamPrincipal, statement: &Statement, summary: String) -> EvidenceRef {
    let document = role.origin.at("/AssumeRolePolicyDocument");
    let pointer = match &role.trust {
        Some(trust) => trust.statement_pointer(&document.pointer, statement),
        None => document.pointer.clone(),
    };
    Origin::new(&document.document, pointer).evidence(summary)
}

/// The outcome of a web-identity request against a role's trust.
#[derive(Debug)]
struct Decision<'a> {
    /// The first Allow statement that may apply, and the condition keys it
    /// depends on that the snapshot cannot judge.
    allowed: Option<(&'a Statement, Vec<String>)>,
    /// A Deny statement that certainly applies.
    denied: Option<&'a Statement>,
}

fn trusts_provider(statement: &Statement, account: &str, issuer: &str) -> bool {
    let Some(principal) = &statement.principal else {
        return false;
    };
    let named = principal.anyone
        || principal
            .federated
            .iter()
            .any(|p| oidc_provider(p).is_some_and(|(a, i)| a == account && i == issuer));
    named != principal.negated
}

/// `sub` None: ignore the subject (what does the trust allow apart from it).
fn web_identity<'a>(
    role: &'a IamPrincipal,
    issuer: &str,
    sub: Option<&str>,
    aud: &str,
) -> Decision<'a> {
    let mut decision = Decision {
        allowed: None,
        denied: None,
    };
    let Some(trust) = &role.trust else {
        return decision;
    };
    let sub_key = format!("{issuer}:sub");
    let mut context = RequestContext::default().with(&format!("{issuer}:aud"), aud);
    context = match sub {
        Some(sub) => context.with(&sub_key, sub),
        None => context.ignoring(&sub_key),
    };
    for statement in &trust.statements {
        if !statement.actions.matches_action(WEB_IDENTITY)
            || !trusts_provider(statement, &role.account, issuer)
        {
            continue;
        }
        let (truth, unknown) = match &statement.condition {
            Some(c) => policy::evaluate(c, &context),
            None => (Truth::True, Vec::new()),
        };
        match statement.effect {
            Effect::Allow if truth.possible() && decision.allowed.is_none() => {
                decision.allowed = Some((statement, unknown));
            }
            Effect::Deny if truth == Truth::True && decision.denied.is_none() => {
                decision.denied = Some(statement)
            }
            _ => {}
        }
    }
    decision
}

/// The `{issuer}:sub` values of a statement's positive conditions.
fn sub_values(statement: &Statement, issuer: &str) -> Vec<String> {
    let key = format!("{issuer}:sub");
    statement
        .condition
        .as_ref()
        .map(policy::entries)
        .unwrap_or_default()
        .into_iter()
        .filter(|(op, k, _)| {
            k.eq_ignore_ascii_case(&key) && policy::positive_string_operator(op).is_some()
        })
        .flat_map(|(_, _, values)| values)
        .collect()
}

/// Who a role's web-identity trust names for an issuer, for messages.
fn trusted_subjects(role: &IamPrincipal, issuer: &str) -> Vec<String> {
    let mut subjects = Vec::new();
    for statement in role.trust.iter().flat_map(|t| &t.statements) {
        if statement.effect == Effect::Allow
            && statement.actions.matches_action(WEB_IDENTITY)
            && trusts_provider(statement, &role.account, issuer)
        {
            let values = sub_values(statement, issuer);
            if values.is_empty() {
                subjects.push("any subject".to_string());
            }
            subjects.extend(values);
        }
    }
    subjects
}

/// Who a web-identity trust statement admits, in graph terms.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Exact {
        namespace: String,
        name: String,
    },
    /// A wildcard confined to one namespace.
    Namespace {
        namespace: Option<String>,
        pattern: String,
    },
    /// A wildcard (or no condition) reaching across namespaces.
    Cluster {
        namespace: Option<String>,
        pattern: String,
    },
}

impl Scope {
    fn rank(&self) -> u8 {
        match self {
            Scope::Exact { .. } => 0,
            Scope::Namespace { .. } => 1,
            Scope::Cluster { .. } => 2,
        }
    }
}

const SA_PREFIX: &str = "system:serviceaccount:";

/// One `sub` value -> the scope it admits; None when it can match no
/// ServiceAccount.
fn classify(value: &str, wildcards: bool) -> Option<Scope> {
    if !wildcards || !glob::has_wildcard(value) {
        let (namespace, name) = value.strip_prefix(SA_PREFIX)?.split_once(':')?;
        let valid = |s: &str| !s.is_empty() && !s.contains(':') && !glob::has_wildcard(s);
        return (valid(namespace) && valid(name)).then(|| Scope::Exact {
            namespace: namespace.into(),
            name: name.into(),
        });
    }
    if let Some(rest) = value.strip_prefix(SA_PREFIX) {
        if let Some((namespace, _)) = rest.split_once(':')
            && !namespace.is_empty()
            && !glob::has_wildcard(namespace)
        {
            return Some(Scope::Namespace {
                namespace: Some(namespace.into()),
                pattern: value.into(),
            });
        }
        return Some(Scope::Cluster {
            namespace: None,
            pattern: value.into(),
        });
    }
    // The literal text before the first wildcard must be able to start a
    // ServiceAccount subject (`system:*`, `*`).
    let literal = value.split(['*', '?']).next().unwrap_or_default();
    SA_PREFIX.starts_with(literal).then(|| Scope::Cluster {
        namespace: None,
        pattern: value.into(),
    })
}

/// The subjects a statement admits for an issuer: from the narrowest
/// positive `sub` condition, or the whole cluster when there is none.
fn subject_scopes(statement: &Statement, issuer: &str) -> Vec<Scope> {
    let key = format!("{issuer}:sub");
    let mut best: Option<Vec<Scope>> = None;
    for (operator, k, values) in statement
        .condition
        .as_ref()
        .map(policy::entries)
        .unwrap_or_default()
    {
        if !k.eq_ignore_ascii_case(&key) {
            continue;
        }
        let Some(wildcards) = policy::positive_string_operator(operator) else {
            continue;
        };
        let scopes: Vec<Scope> = values
            .iter()
            .filter_map(|v| classify(v, wildcards))
            .collect();
        let rank = scopes.iter().map(Scope::rank).max().unwrap_or(0);
        let better = best
            .as_ref()
            .is_none_or(|b| rank < b.iter().map(Scope::rank).max().unwrap_or(0));
        if better {
            best = Some(scopes);
        }
    }
    best.unwrap_or_else(|| {
        vec![Scope::Cluster {
            namespace: None,
            pattern: "*".into(),
        }]
    })
}

/// The first trust Allow statement letting `service` call `action` under
/// `context` (with the keys it cannot judge), unless a Deny certainly applies.
fn service_decision<'a>(
    role: &'a IamPrincipal,
    service: &str,
    action: &str,
    context: &RequestContext,
) -> Option<(&'a Statement, Vec<String>)> {
    let names = |p: &policy::Principal| {
        p.anyone || p.service.iter().any(|s| s.eq_ignore_ascii_case(service))
    };
    if trust_denies(role, action, names, context) {
        return None;
    }
    role.trust
        .iter()
        .flat_map(|t| &t.statements)
        .find_map(|statement| {
            let principal = statement.principal.as_ref()?;
            if statement.effect != Effect::Allow
                || principal.negated
                || !names(principal)
                || !statement.actions.matches_action(action)
            {
                return None;
            }
            let (truth, unknown) = match &statement.condition {
                Some(c) => policy::evaluate(c, context),
                None => (Truth::True, Vec::new()),
            };
            truth.possible().then_some((statement, unknown))
        })
}

/// Whether a trust Deny statement certainly applies to the caller
/// `names` recognises.
fn trust_denies(
    role: &IamPrincipal,
    action: &str,
    names: impl Fn(&policy::Principal) -> bool,
    context: &RequestContext,
) -> bool {
    role.trust
        .iter()
        .flat_map(|t| &t.statements)
        .any(|statement| {
            let Some(principal) = &statement.principal else {
                return false;
            };
            statement.effect == Effect::Deny
                && statement.actions.matches_action(action)
                && names(principal) != principal.negated
                && match &statement.condition {
                    Some(c) => policy::evaluate(c, context).0 == Truth::True,
                    None => true,
                }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_values_classify_into_scopes() {
        assert_eq!(
            classify("system:serviceaccount:analytics:report-agent", false),
            Some(Scope::Exact {
                namespace: "analytics".into(),
                name: "report-agent".into()
            })
        );
        assert_eq!(
            classify("system:serviceaccount:analytics:report-agent", true),
            Some(Scope::Exact {
                namespace: "analytics".into(),
                name: "report-agent".into()
            })
        );
        // StringEquals takes `*` literally: no ServiceAccount is called that.
        assert_eq!(classify("system:serviceaccount:analytics:*", false), None);
        assert_eq!(
            classify("system:serviceaccount:analytics:*", true),
            Some(Scope::Namespace {
                namespace: Some("analytics".into()),
                pattern: "system:serviceaccount:analytics:*".into()
            })
        );
        for broad in [
            "system:serviceaccount:*",
            "system:serviceaccount:*:agent",
            "system:*",
            "*",
            "system:serviceaccount:team-?:x",
        ] {
            assert!(
                matches!(classify(broad, true), Some(Scope::Cluster { .. })),
                "{broad}"
            );
        }
        assert_eq!(classify("repo:acme/*", true), None);
        assert_eq!(classify("system:node:*", true), None);
    }

    #[test]
    fn association_arns_name_their_cluster() {
        assert_eq!(
            cluster_arn_from_association(
                "arn:aws:eks:eu-west-1:111122223333:podidentityassociation/prod-eks/a-1"
            ),
            Some("arn:aws:eks:eu-west-1:111122223333:cluster/prod-eks".into())
        );
        assert_eq!(cluster_arn_from_association("nonsense"), None);
    }

    #[test]
    fn oidc_providers_are_split_into_account_and_issuer() {
        assert_eq!(
            oidc_provider(
                "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
            ),
            Some((
                "111122223333".into(),
                "oidc.eks.eu-west-1.amazonaws.com/id/abc".into()
            ))
        );
        assert_eq!(oidc_provider("cognito-identity.amazonaws.com"), None);
    }
}
