//! Workload Identity Federation into GCP from outside it: the principals of
//! a workload identity pool whose providers (`gcloud iam
//! workload-identity-pools providers list|describe`) trust a Kubernetes
//! cluster's OIDC issuer (EKS, AKS, or another GKE cluster) or an AWS
//! account.
//!
//! - An OIDC provider whose `issuerUri` is a described cluster's issuer
//!   (compared as the AWS provider compares issuers: scheme, trailing slash
//!   and case ignored, see [`normalise_issuer`]): the principal a
//!   ServiceAccount's token maps to is reached from that ServiceAccount
//!   (`google.subject=assertion.sub` gives `system:serviceaccount:NS:SA`),
//!   a namespace set from `Group/system:serviceaccounts:NS`, `*` and sets
//!   whose mapping is not evaluated from `Group/system:serviceaccounts`.
//! - An AWS provider (`aws.accountId`): with `google.subject=assertion.arn`
//!   and Google's default `attribute.aws_role` mapping, the principals an
//!   assumed-role session maps to are reached from the IAM role, matched by
//!   account and name (the `sts` ARN drops the role's path).
//!
//! `attributeCondition` is carried in the evidence, not evaluated. Edges are
//! `federates-to`; everything that cannot be matched is an info diagnostic.

use crate::input::{AwsPrincipal, Origin, PoolProvider, ProviderTrust, escape};
use crate::model::World;
use crate::output::Output;
use scopegraph_sdk::{Cloud, EvidenceRef, Node};

/// `google.subject` for a Kubernetes service account token.
const ASSERTION_SUB: &str = "assertion.sub";
/// `google.subject` of Google's default AWS mapping.
const ASSERTION_ARN: &str = "assertion.arn";
/// `attribute.aws_role` of Google's default AWS mapping.
pub const DEFAULT_AWS_ROLE: &str = "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn";

pub use scopegraph_sdk::spelling::{display_issuer, normalise_issuer};

/// A principal or principal set of a workload identity pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolMember<'m> {
    pub set: bool,
    pub project: &'m str,
    pub location: &'m str,
    pub pool: &'m str,
    /// `subject/…` of a principal without the prefix; a set's selector as
    /// written (`*`, `attribute.NAME/VALUE`, `group/GROUP`).
    pub selector: &'m str,
}

impl<'m> PoolMember<'m> {
    pub fn parse(member: &'m str) -> Option<PoolMember<'m>> {
        let (set, rest) = match member.strip_prefix("principal://iam.googleapis.com/") {
            Some(rest) => (false, rest),
            None => (
                true,
                member.strip_prefix("principalSet://iam.googleapis.com/")?,
            ),
        };
        let mut parts = rest.splitn(6, '/');
        let (
            Some("projects"),
            Some(project),
            Some("locations"),
            Some(location),
            Some("workloadIdentityPools"),
            Some(tail),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return None;
        };
        let (pool, selector) = tail.split_once('/')?;
        let selector = if set {
            selector
        } else {
            selector.strip_prefix("subject/")?
        };
        (!project.is_empty() && !location.is_empty() && !pool.is_empty() && !selector.is_empty())
            .then_some(PoolMember {
                set,
                project,
                location,
                pool,
                selector,
            })
    }
}

/// Whether a provider's pool is the member's pool (projects compared by id
/// when the snapshot maps numbers to ids).
fn same_pool(world: &World, provider: &PoolProvider, member: &PoolMember) -> bool {
    let hierarchy = world.hierarchy;
    provider.pool == member.pool
        && provider.location == member.location
        && hierarchy.project_id(&provider.project) == hierarchy.project_id(member.project)
}

fn inactive(provider: &PoolProvider) -> Option<&'static str> {
    if provider.state.as_deref() == Some("DELETED") {
        Some("deleted")
    } else if provider.disabled {
        Some("disabled")
    } else {
        None
    }
}

/// A cluster with an OIDC issuer.
#[derive(Debug)]
pub struct IssuerCluster<'a> {
    pub name: &'a str,
    /// `EKS`, `AKS`, `GKE`.
    pub platform: &'static str,
    pub spelled: String,
    pub normalised: String,
    pub origin: Origin,
}

/// Info diagnostics about the providers themselves: inactive ones, and OIDC
/// issuers no described cluster has.
pub fn report_providers(world: &World, out: &mut Output) {
    for provider in &world.pool_providers {
        let document = provider.origin.document.as_str();
        if let Some(state) = inactive(provider) {
            out.info(
                document,
                format!(
                    "workload identity pool provider {} is {state}: it exchanges no tokens, so no edge goes through it",
                    provider.name
                ),
            );
            continue;
        }
        if let ProviderTrust::Oidc { issuer, .. } = &provider.trust {
            let wanted = normalise_issuer(issuer);
            if !world.issuer_clusters.iter().any(|c| c.normalised == wanted) {
                out.info(
                    document,
                    format!(
                        "workload identity pool provider {} trusts the OIDC issuer {}, which is the issuer of no cluster described in the snapshot (add `aws eks describe-cluster`, `az aks show` or `gcloud container clusters describe`); no edge from Kubernetes",
                        provider.name,
                        display_issuer(issuer)
                    ),
                );
            }
        }
    }
}

/// The node a member's edges lead to, and the member as the binding spells it.
#[derive(Debug, Clone, Copy)]
pub struct Target<'x> {
    pub to: &'x str,
    pub raw: &'x str,
    pub origin: &'x Origin,
}

impl Target<'_> {
    fn evidence(&self) -> EvidenceRef {
        self.origin
            .evidence("binding", format!("IAM member {}", self.raw))
    }
}

/// `federates-to` edges into a pool principal from what its pool's
/// providers trust; an info when the pool's providers are in the snapshot
/// but none of them admits the principal.
pub fn federate(world: &World, out: &mut Output, target: &Target) {
    let Some(member) = PoolMember::parse(target.raw) else {
        return;
    };
    let providers: Vec<&PoolProvider> = world
        .pool_providers
        .iter()
        .copied()
        .filter(|p| same_pool(world, p, &member))
        .collect();
    if providers.is_empty() {
        return;
    }
    let mut reasons = Vec::new();
    let mut reached = false;
    for provider in providers {
        if let Some(state) = inactive(provider) {
            reasons.push(format!("{} is {state}", provider.name));
            continue;
        }
        let result = match &provider.trust {
            ProviderTrust::Oidc { issuer, .. } => {
                oidc(world, out, target, &member, provider, issuer)
            }
            ProviderTrust::Aws { account } => aws(world, out, target, &member, provider, account),
            ProviderTrust::Other(what) => Err(format!(
                "{} is a {what} provider, which no cluster or AWS role reaches",
                provider.name
            )),
        };
        match result {
            Ok(()) => reached = true,
            Err(reason) => reasons.push(reason),
        }
    }
    if !reached {
        out.info(
            &target.origin.document,
            format!(
                "{} names pool {}, whose providers are in the snapshot, but none of them admits it: {}; no edge into it",
                target.raw,
                member.pool,
                reasons.join("; ")
            ),
        );
    }
}

/// What a principal or set of an OIDC provider trusting a cluster selects.
#[derive(Debug)]
enum Selection<'m> {
    Account {
        namespace: &'m str,
        name: &'m str,
    },
    AccountName(&'m str),
    AccountUid(&'m str),
    Namespace(&'m str),
    /// Every ServiceAccount of the cluster; `Some(reason)` when that is an
    /// over-approximation of a mapping not evaluated.
    Everyone(Option<String>),
}

/// `system:serviceaccount:NS:SA` → `(NS, SA)`.
fn service_account_subject(subject: &str) -> Option<(&str, &str)> {
    let (namespace, name) = subject
        .strip_prefix("system:serviceaccount:")?
        .split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// The Kubernetes claim a simple mapping expression reads:
/// `assertion['kubernetes.io']['namespace']` (either quote) → `namespace`.
fn kubernetes_claim(expression: &str) -> Option<String> {
    let compact: String = expression
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '"' { '\'' } else { c })
        .collect();
    let path = compact.strip_prefix("assertion['kubernetes.io']")?;
    let mut keys = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let inner = rest.strip_prefix("['")?;
        let (key, after) = inner.split_once("']")?;
        keys.push(key);
        rest = after;
    }
    Some(keys.join("."))
}

/// How `key`'s mapping selects ServiceAccounts by `value`.
fn select_by_mapping<'m>(
    key: &str,
    expression: &str,
    value: &'m str,
) -> Result<Selection<'m>, String> {
    if expression.trim() == ASSERTION_SUB {
        return service_account_subject(value)
            .map(|(namespace, name)| Selection::Account { namespace, name })
            .ok_or_else(|| {
                format!("{key}={ASSERTION_SUB} never gives {value:?}, which is not system:serviceaccount:NS:SA")
            });
    }
    match kubernetes_claim(expression).as_deref() {
        Some("namespace") => Ok(Selection::Namespace(value)),
        Some("serviceaccount.name") => Ok(Selection::AccountName(value)),
        Some("serviceaccount.uid") => Ok(Selection::AccountUid(value)),
        _ => Ok(Selection::Everyone(Some(format!(
            "{key}={expression} is not evaluated"
        )))),
    }
}

fn select_kubernetes<'m>(
    member: &PoolMember<'m>,
    provider: &PoolProvider,
) -> Result<(Selection<'m>, Option<String>), String> {
    let name = &provider.name;
    if !member.set {
        let Some(expression) = provider.mapped("google.subject") else {
            return Err(format!("{name} maps no google.subject"));
        };
        let key = "google.subject";
        return select_by_mapping(key, expression, member.selector)
            .map(|s| (s, Some(format!("{key}={expression}"))));
    }
    if member.selector == "*" {
        return Ok((Selection::Everyone(None), None));
    }
    if let Some(rest) = member.selector.strip_prefix("attribute.")
        && let Some((attribute, value)) = rest.split_once('/')
    {
        let key = format!("attribute.{attribute}");
        let Some(expression) = provider.mapped(&key) else {
            return Err(format!("{name} maps no {key}"));
        };
        return select_by_mapping(&key, expression, value)
            .map(|s| (s, Some(format!("{key}={expression}"))));
    }
    if member.selector.starts_with("group/") {
        let mapping = provider
            .mapped("google.groups")
            .map(|e| format!("google.groups={e} is not evaluated"))
            .unwrap_or_else(|| "google.groups is not mapped".into());
        if provider.mapped("google.groups").is_none() {
            return Err(format!("{name}: {mapping}"));
        }
        return Ok((Selection::Everyone(Some(mapping)), None));
    }
    Err(format!(
        "{:?} is not a principal-set form of a workload identity pool",
        member.selector
    ))
}

fn oidc(
    world: &World,
    out: &mut Output,
    target: &Target,
    member: &PoolMember,
    provider: &PoolProvider,
    issuer: &str,
) -> Result<(), String> {
    let wanted = normalise_issuer(issuer);
    let clusters: Vec<&IssuerCluster> = world
        .issuer_clusters
        .iter()
        .filter(|c| c.normalised == wanted)
        .collect();
    if clusters.is_empty() {
        return Err(format!(
            "{} trusts {}, the issuer of no cluster in the snapshot",
            provider.name,
            display_issuer(issuer)
        ));
    }
    let (selection, mapping) = select_kubernetes(member, provider)?;
    let base = format!("workload identity pool provider {}", provider.name);
    let via = match (&selection, &mapping) {
        (Selection::Everyone(None), _) => {
            format!(
                "{base}, principal set * (every identity of pool {})",
                member.pool
            )
        }
        (Selection::Everyone(Some(reason)), _) => {
            out.info(
                &target.origin.document,
                format!(
                    "{}: {reason} (mapping of {}); every ServiceAccount of the trusted cluster is taken to match",
                    target.raw, provider.name
                ),
            );
            format!("{base}, {reason}: any ServiceAccount may match")
        }
        (_, Some(mapping)) => format!("{base}, {mapping}"),
        (_, None) => base,
    };
    let mut missing = Vec::new();
    let mut reached = false;
    for cluster in clusters {
        let mut evidence = vec![
            target.evidence(),
            provider.origin.child("/oidc/issuerUri").evidence(
                "document",
                format!("{} trusts the OIDC issuer {}", provider.name, issuer),
            ),
            cluster_evidence(cluster, issuer),
        ];
        evidence.extend(mapping_evidence(provider, mapping.as_deref()));
        evidence.extend(condition_evidence(provider));
        let mut from = Vec::new();
        match selection {
            Selection::Account { namespace, name } => {
                match world.ksa(cluster.name, namespace, name) {
                    Some(account) => from.push(out.ksa(account)),
                    None => missing.push(format!(
                        "ServiceAccount {namespace}/{name} is not in the snapshot of cluster {}",
                        cluster.name
                    )),
                }
            }
            Selection::AccountName(name) => {
                let accounts = world
                    .ksas
                    .values()
                    .filter(|a| a.cluster == cluster.name && a.name == name);
                for account in accounts {
                    from.push(out.ksa(account));
                }
                if from.is_empty() {
                    missing.push(format!(
                        "no ServiceAccount named {name} in the snapshot of cluster {}",
                        cluster.name
                    ));
                }
            }
            Selection::AccountUid(uid) => {
                let accounts = world
                    .ksas
                    .values()
                    .filter(|a| a.cluster == cluster.name && a.uid.as_deref() == Some(uid));
                for account in accounts {
                    from.push(out.ksa(account));
                }
                if from.is_empty() {
                    missing.push(format!(
                        "no ServiceAccount with uid {uid} in the snapshot of cluster {}",
                        cluster.name
                    ));
                }
            }
            Selection::Namespace(namespace) => {
                from.push(out.group(cluster.name, &format!("system:serviceaccounts:{namespace}")));
            }
            Selection::Everyone(_) => {
                from.push(out.group(cluster.name, "system:serviceaccounts"));
            }
        }
        for from in from {
            out.edge(
                from,
                target.to.into(),
                "federates-to",
                via.clone(),
                evidence.clone(),
            );
            reached = true;
        }
    }
    if reached {
        Ok(())
    } else {
        Err(format!("{}: {}", provider.name, missing.join(", ")))
    }
}

fn cluster_evidence(cluster: &IssuerCluster, issuer: &str) -> EvidenceRef {
    let mut summary = format!(
        "{} cluster {} has the OIDC issuer {}",
        cluster.platform, cluster.name, cluster.spelled
    );
    if issuer.trim() != cluster.spelled.trim() {
        summary.push_str(&format!(
            " (the provider spells it {issuer}; matched ignoring scheme, case and a trailing slash)"
        ));
    }
    cluster.origin.evidence("document", summary)
}

fn mapping_evidence(provider: &PoolProvider, mapping: Option<&str>) -> Option<EvidenceRef> {
    let mapping = mapping?;
    let key = mapping.split_once('=').map(|(k, _)| k).unwrap_or(mapping);
    let origin = if provider.mapped(key).is_some() {
        provider
            .origin
            .child(&format!("/attributeMapping/{}", escape(key)))
    } else {
        provider.origin.clone()
    };
    Some(origin.evidence("document", format!("{} maps {mapping}", provider.name)))
}

fn condition_evidence(provider: &PoolProvider) -> Option<EvidenceRef> {
    let condition = provider.condition.as_deref()?;
    Some(provider.origin.child("/attributeCondition").evidence(
        "document",
        format!(
            "condition: {} admits only tokens where {condition} (carried, not evaluated)",
            provider.name
        ),
    ))
}

/// An AWS principal a pool member names.
#[derive(Debug)]
enum AwsSelection<'m> {
    /// An assumed-role session of `role`; `session` when the member names one.
    Role {
        partition: &'m str,
        account: &'m str,
        role: &'m str,
        session: Option<&'m str>,
    },
    /// `arn:aws:iam::ACCOUNT:user/PATH/NAME`.
    User {
        arn: &'m str,
        account: &'m str,
        name: &'m str,
    },
}

/// `arn:P:sts::A:assumed-role/ROLE[/SESSION]` or `arn:P:iam::A:user/…/NAME`.
fn parse_aws_arn(arn: &str, with_session: bool) -> Option<AwsSelection<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if account.is_empty() || partition.is_empty() {
        return None;
    }
    match service {
        "sts" => {
            let rest = resource.strip_prefix("assumed-role/")?;
            let (role, session) = match rest.split_once('/') {
                Some((role, session)) => (role, Some(session)),
                None => (rest, None),
            };
            if role.is_empty()
                || session.is_some_and(str::is_empty)
                || session.is_some() != with_session
            {
                return None;
            }
            Some(AwsSelection::Role {
                partition,
                account,
                role,
                session,
            })
        }
        "iam" => {
            let path = resource.strip_prefix("user/")?;
            let name = path.rsplit('/').next().filter(|n| !n.is_empty())?;
            Some(AwsSelection::User { arn, account, name })
        }
        _ => None,
    }
}

/// The expression `key` maps from, Google's default when the provider has
/// no mapping at all (an AWS provider created without `--attribute-mapping`).
fn aws_mapping<'p>(provider: &'p PoolProvider, key: &str) -> Option<(&'p str, bool)> {
    if provider.mapping.is_empty() {
        return match key {
            "google.subject" => Some((ASSERTION_ARN, true)),
            "attribute.aws_role" => Some((DEFAULT_AWS_ROLE, true)),
            _ => None,
        };
    }
    provider.mapped(key).map(|e| (e, false))
}

fn compact(expression: &str) -> String {
    expression
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '"' { '\'' } else { c })
        .collect()
}

fn aws(
    world: &World,
    out: &mut Output,
    target: &Target,
    member: &PoolMember,
    provider: &PoolProvider,
    provider_account: &str,
) -> Result<(), String> {
    let name = &provider.name;
    let (selection, key, expression, default) = if !member.set {
        let Some((expression, default)) = aws_mapping(provider, "google.subject") else {
            return Err(format!("{name} maps no google.subject"));
        };
        if expression.trim() != ASSERTION_ARN {
            return Err(format!(
                "{name} maps google.subject={expression}, which is not evaluated"
            ));
        }
        let selection = parse_aws_arn(member.selector, true).ok_or_else(|| {
            format!(
                "{name}: subject {} is not an assumed-role session or IAM user ARN",
                member.selector
            )
        })?;
        (selection, "google.subject", expression, default)
    } else if let Some(value) = member.selector.strip_prefix("attribute.aws_role/") {
        let Some((expression, default)) = aws_mapping(provider, "attribute.aws_role") else {
            return Err(format!("{name} maps no attribute.aws_role"));
        };
        if compact(expression) != compact(DEFAULT_AWS_ROLE) {
            return Err(format!(
                "{name} maps attribute.aws_role={expression}, which is not evaluated (only Google's default AWS mapping is)"
            ));
        }
        let selection = parse_aws_arn(value, false).ok_or_else(|| {
            format!("{name}: attribute.aws_role {value} is not an assumed-role or IAM user ARN")
        })?;
        (selection, "attribute.aws_role", expression, default)
    } else if member.selector == "*" {
        return Err(format!(
            "{name}: principal set * admits every principal of AWS account {provider_account}, which is not expanded to roles"
        ));
    } else {
        return Err(format!(
            "{name}: {:?} is not evaluated for AWS providers",
            member.selector
        ));
    };
    let account = match &selection {
        AwsSelection::Role { account, .. } | AwsSelection::User { account, .. } => *account,
    };
    if account != provider_account {
        return Err(format!(
            "{name} trusts AWS account {provider_account}, not account {account} the member names"
        ));
    }
    let (from, found, note) = match &selection {
        AwsSelection::Role {
            partition,
            role,
            session,
            ..
        } => {
            let found = world
                .aws_principals
                .iter()
                .copied()
                .find(|p| p.kind == "role" && p.account == account && p.name == *role);
            let arn = found
                .map(|p| p.arn.clone())
                .unwrap_or_else(|| format!("arn:{partition}:iam::{account}:role/{role}"));
            let note = match session {
                Some(session) => format!(
                    "session name {session}: chosen by whoever assumes role {role}, so not known statically; any holder of the role can use it"
                ),
                None => format!("every session of role {role}"),
            };
            (arn, found, note)
        }
        AwsSelection::User { arn, name, .. } => {
            let found = world.aws_principals.iter().copied().find(|p| {
                p.kind == "user" && (p.arn == *arn || (p.account == account && p.name == *name))
            });
            let arn = found
                .map(|p| p.arn.clone())
                .unwrap_or_else(|| (*arn).into());
            (arn, found, format!("IAM user {name}"))
        }
    };
    let from = format!("aws:{from}");
    let mut evidence = vec![
        target.evidence(),
        provider.origin.child("/aws/accountId").evidence(
            "document",
            format!("{name} trusts AWS account {provider_account}"),
        ),
    ];
    let shown = if key == "attribute.aws_role" {
        "Google's default AWS role mapping".to_string()
    } else {
        expression.to_string()
    };
    let mapping_origin = if default {
        provider.origin.clone()
    } else {
        provider
            .origin
            .child(&format!("/attributeMapping/{}", escape(key)))
    };
    evidence.push(mapping_origin.evidence(
        "document",
        format!(
            "{name} maps {key}={expression}{}; {note}",
            if default {
                " (no attributeMapping: Google's default)"
            } else {
                ""
            }
        ),
    ));
    evidence.extend(condition_evidence(provider));
    match found {
        Some(principal) => out.node(aws_node(&from, principal)),
        None => out.info(
            &target.origin.document,
            format!(
                "{}: {from} is not in the snapshot (`aws iam get-account-authorization-details`), so its path is unknown and taken to be /",
                target.raw
            ),
        ),
    }
    out.edge(
        from,
        target.to.into(),
        "federates-to",
        format!("workload identity pool provider {name}, {key}={shown}"),
        evidence,
    );
    Ok(())
}

/// The AWS provider describes the principal; this only names it, so the
/// edge does not dangle in this provider's output.
fn aws_node(id: &str, principal: &AwsPrincipal) -> Node {
    Node {
        id: id.into(),
        kind: "cloud-identity".into(),
        cloud: Cloud::Aws,
        name: principal.arn.clone(),
        attributes: Vec::new(),
        evidence: vec![principal.origin.evidence(
            "document",
            format!(
                "IAM {} {} in account {}",
                principal.kind, principal.name, principal.account
            ),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ext";

    #[test]
    fn pool_members_name_project_pool_and_selector() {
        assert_eq!(
            PoolMember::parse(&format!(
                "principal://{POOL}/subject/arn:aws:sts::1:assumed-role/r/s"
            )),
            Some(PoolMember {
                set: false,
                project: "123",
                location: "global",
                pool: "ext",
                selector: "arn:aws:sts::1:assumed-role/r/s"
            })
        );
        assert_eq!(
            PoolMember::parse(&format!("principalSet://{POOL}/*")).map(|m| m.selector),
            Some("*")
        );
        assert_eq!(PoolMember::parse(&format!("principal://{POOL}/x")), None);
        assert_eq!(PoolMember::parse("principalSet://goog/public:all"), None);
    }

    #[test]
    fn simple_kubernetes_mappings_are_read() {
        assert_eq!(
            kubernetes_claim("assertion['kubernetes.io']['namespace']").as_deref(),
            Some("namespace")
        );
        assert_eq!(
            kubernetes_claim(r#"assertion["kubernetes.io"]["serviceaccount"]["name"]"#).as_deref(),
            Some("serviceaccount.name")
        );
        assert_eq!(kubernetes_claim("assertion.sub.extract('{x}')"), None);
        assert_eq!(
            service_account_subject("system:serviceaccount:ns:sa"),
            Some(("ns", "sa"))
        );
        assert_eq!(service_account_subject("system:serviceaccount:ns"), None);
    }

    #[test]
    fn aws_arns_name_roles_and_users() {
        assert!(matches!(
            parse_aws_arn("arn:aws:sts::111122223333:assumed-role/agent/s-1", true),
            Some(AwsSelection::Role {
                account: "111122223333",
                role: "agent",
                session: Some("s-1"),
                ..
            })
        ));
        assert!(parse_aws_arn("arn:aws:sts::111122223333:assumed-role/agent", true).is_none());
        assert!(matches!(
            parse_aws_arn("arn:aws:sts::111122223333:assumed-role/agent", false),
            Some(AwsSelection::Role { session: None, .. })
        ));
        assert!(matches!(
            parse_aws_arn("arn:aws:iam::1:user/team/alice", true),
            Some(AwsSelection::User { name: "alice", .. })
        ));
        assert!(parse_aws_arn("arn:aws:iam::1:role/x", true).is_none());
    }
}
