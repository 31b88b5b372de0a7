//! Who did something: the principal a log names, optionally narrowed to the
//! Kubernetes workload its credentials were issued to.

use std::fmt;

/// A Kubernetes service account, `system:serviceaccount:NAMESPACE:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
}

impl ServiceAccount {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ServiceAccount {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Parse `system:serviceaccount:NS:NAME`.
    pub fn from_username(username: &str) -> Option<Self> {
        let (namespace, name) = Self::names_in_username(username)?;
        Some(ServiceAccount::new(namespace, name))
    }

    /// The namespace and name in `system:serviceaccount:NS:NAME`, borrowed.
    pub(crate) fn names_in_username(username: &str) -> Option<(&str, &str)> {
        let rest = username.strip_prefix("system:serviceaccount:")?;
        let (namespace, name) = rest.split_once(':')?;
        (!namespace.is_empty() && !name.is_empty() && !name.contains(':'))
            .then_some((namespace, name))
    }
}

impl fmt::Display for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// A pod, as audit logs and EKS Pod Identity session tags name it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pod {
    pub name: Option<String>,
    pub uid: Option<String>,
}

impl Pod {
    /// `None` when neither name nor UID is known.
    pub fn new(name: Option<String>, uid: Option<String>) -> Option<Pod> {
        (name.is_some() || uid.is_some()).then_some(Pod { name, uid })
    }

    /// Whether this (possibly partial) pod describes `other`.
    fn covers(&self, other: &Pod) -> bool {
        self.name
            .as_ref()
            .is_none_or(|n| other.name.as_ref() == Some(n))
            && self
                .uid
                .as_ref()
                .is_none_or(|u| other.uid.as_ref() == Some(u))
    }
}

/// How an Azure principal is identified; the strongest the record offers wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AzureIdKind {
    /// The `oid` / `…/claims/objectidentifier` claim: a service principal's
    /// or managed identity's object (principal) id.
    ObjectId,
    /// The `appid` / `azp` claim: an application (client) id.
    AppId,
    /// The `xms_mirid` claim: a managed identity's resource id.
    ManagedIdentity,
    /// Only `caller` or a UPN/name claim.
    Caller,
}

/// The principal a log record names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// An IAM role, always spelled `arn:aws:iam::ACCOUNT:role/NAME` (the
    /// path dropped: role names are unique in an account, and an
    /// assumed-role ARN cannot carry the path). See [`IdentityKey::aws_role`].
    AwsRole(String),
    /// Any other AWS principal, by ARN: IAM user, root, federated user.
    Aws(String),
    /// A GCP principal: `authenticationInfo.principalEmail`, or
    /// `principalSubject` when there is no email (federated identities).
    Gcp(String),
    /// An Azure principal; ids are lower-cased GUIDs or resource ids.
    Azure { kind: AzureIdKind, id: String },
    /// A Kubernetes service account (the identity of audit events).
    KubernetesServiceAccount(ServiceAccount),
    /// Any other Kubernetes user: nodes, humans, `system:anonymous`.
    KubernetesUser(String),
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::AwsRole(arn) | Principal::Aws(arn) => f.write_str(arn),
            Principal::Gcp(p) => f.write_str(p),
            Principal::Azure { kind, id } => {
                let kind = match kind {
                    AzureIdKind::ObjectId => "oid",
                    AzureIdKind::AppId => "appid",
                    AzureIdKind::ManagedIdentity => "xms_mirid",
                    AzureIdKind::Caller => "caller",
                };
                write!(f, "azure:{kind}:{id}")
            }
            Principal::KubernetesServiceAccount(sa) => sa.fmt(f),
            Principal::KubernetesUser(user) => f.write_str(user),
        }
    }
}

/// An identity in the usage model: a principal, optionally narrowed to the
/// Kubernetes workload its credentials were tied to.
///
/// Narrowing is only what the logs prove: an IRSA `AssumeRoleWithWebIdentity`
/// or an EKS Pod Identity credential issue for the access key a call used,
/// GKE Workload Identity's `serviceAccountDelegationInfo` / `principalSubject`,
/// or `user.extra` pod fields in a Kubernetes audit event. A role whose
/// session could not be tied to a service account is keyed by the role alone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdentityKey {
    pub principal: Principal,
    /// The service account a cloud principal's credentials were issued to
    /// (always `None` for Kubernetes principals, whose account is the principal).
    pub service_account: Option<ServiceAccount>,
    /// The cluster, when the record or the reader's context names it.
    pub cluster: Option<String>,
    pub pod: Option<Pod>,
}

impl IdentityKey {
    /// A key with no narrowing.
    pub fn new(principal: Principal) -> Self {
        IdentityKey {
            principal,
            service_account: None,
            cluster: None,
            pod: None,
        }
    }

    /// The key of an AWS role from any ARN naming it: `arn:aws:iam::A:role/PATH/NAME`
    /// or `arn:aws:sts::A:assumed-role/NAME/SESSION`. `None` for other ARNs.
    pub fn aws_role(arn: &str) -> Option<Self> {
        role_key(arn).map(|k| IdentityKey::new(Principal::AwsRole(k)))
    }

    /// A Kubernetes service account (from `system:serviceaccount:NS:NAME`).
    pub fn kubernetes_service_account(username: &str) -> Option<Self> {
        ServiceAccount::from_username(username)
            .map(|sa| IdentityKey::new(Principal::KubernetesServiceAccount(sa)))
    }

    pub fn with_service_account(mut self, sa: ServiceAccount) -> Self {
        self.service_account = Some(sa);
        self
    }

    pub fn with_cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }

    pub fn with_pod(mut self, pod: Pod) -> Self {
        self.pod = Some(pod);
        self
    }

    /// The Kubernetes service account this identity is, or is narrowed to.
    pub fn kubernetes_service_account_of(&self) -> Option<&ServiceAccount> {
        match &self.principal {
            Principal::KubernetesServiceAccount(sa) => Some(sa),
            _ => self.service_account.as_ref(),
        }
    }

    /// Whether `other` is this identity or a narrowing of it: same principal,
    /// and every narrowing this key sets is equal in `other` (a pod may be
    /// partial). The role alone covers every service account that used it.
    pub fn covers(&self, other: &IdentityKey) -> bool {
        self.principal == other.principal
            && self
                .service_account
                .as_ref()
                .is_none_or(|sa| other.service_account.as_ref() == Some(sa))
            && self
                .cluster
                .as_ref()
                .is_none_or(|c| other.cluster.as_ref() == Some(c))
            && self
                .pod
                .as_ref()
                .is_none_or(|p| other.pod.as_ref().is_some_and(|o| p.covers(o)))
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.principal.fmt(f)?;
        if let Some(sa) = &self.service_account {
            write!(f, " as {sa}")?;
        }
        if let Some(cluster) = &self.cluster {
            write!(f, " in cluster {cluster}")?;
        }
        if let Some(pod) = &self.pod {
            write!(
                f,
                " (pod {}{})",
                pod.name.as_deref().unwrap_or("?"),
                pod.uid
                    .as_deref()
                    .map(|u| format!(" uid {u}"))
                    .unwrap_or_default()
            )?;
        }
        Ok(())
    }
}

/// `arn:aws:iam::ACCOUNT:role/NAME` from a role or assumed-role ARN.
pub(crate) fn role_key(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(_region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = match service {
        "iam" => resource.strip_prefix("role/")?.rsplit('/').next()?,
        "sts" => resource.strip_prefix("assumed-role/")?.split('/').next()?,
        _ => return None,
    };
    (!name.is_empty() && !account.is_empty())
        .then(|| format!("arn:{partition}:iam::{account}:role/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gcp_key_is_made_once_per_principal_and_service_account() {
        let mut keys = GcpKeys::default();
        let gsa = "agent@p.iam.gserviceaccount.com";
        let alone = keys.index(gsa, None);
        let narrowed = keys.index(gsa, Some(("agents", "planner")));
        let other = keys.index(gsa, Some(("agents", "summarizer")));
        assert_eq!(keys.index(gsa, Some(("agents", "planner"))), narrowed);
        assert_eq!(keys.index(gsa, None), alone);
        assert_eq!(keys.index("ci@p.iam.gserviceaccount.com", None), 3);
        assert_eq!([alone, narrowed, other], [0, 1, 2]);
        assert_eq!(
            keys.key(narrowed),
            Some(
                &IdentityKey::new(Principal::Gcp(gsa.into()))
                    .with_service_account(ServiceAccount::new("agents", "planner"))
            )
        );
        assert_eq!(
            keys.key(alone),
            Some(&IdentityKey::new(Principal::Gcp(gsa.into())))
        );
        assert_eq!(keys.key(4), None);
    }

    #[test]
    fn normalises_role_arns() {
        for arn in [
            "arn:aws:iam::111122223333:role/agent",
            "arn:aws:iam::111122223333:role/service-role/team/agent",
            "arn:aws:sts::111122223333:assumed-role/agent/botocore-session-1",
            "arn:aws:sts::111122223333:assumed-role/agent/eks-prod-pod-1234",
        ] {
            assert_eq!(
                role_key(arn).as_deref(),
                Some("arn:aws:iam::111122223333:role/agent"),
                "{arn}"
            );
        }
        assert_eq!(
            role_key("arn:aws-cn:sts::1:assumed-role/r/s").as_deref(),
            Some("arn:aws-cn:iam::1:role/r")
        );
        for other in [
            "arn:aws:iam::1:user/alice",
            "arn:aws:sts::1:federated-user/x",
            "role/x",
            "",
        ] {
            assert_eq!(role_key(other), None, "{other}");
        }
    }

    #[test]
    fn narrower_keys_are_covered() {
        let role = IdentityKey::aws_role("arn:aws:iam::1:role/r").unwrap();
        let sa = role
            .clone()
            .with_service_account(ServiceAccount::new("ns", "app"));
        let pod = sa
            .clone()
            .with_cluster("prod")
            .with_pod(Pod::new(Some("app-1".into()), Some("uid-1".into())).unwrap());
        assert!(role.covers(&sa) && role.covers(&pod) && sa.covers(&pod));
        assert!(!sa.covers(&role) && !pod.covers(&sa));
        let by_name = sa
            .clone()
            .with_pod(Pod::new(Some("app-1".into()), None).unwrap());
        assert!(
            by_name.covers(&pod),
            "a partial pod and no cluster cover the full key"
        );
        let other = sa
            .clone()
            .with_pod(Pod::new(Some("app-2".into()), None).unwrap());
        assert!(!other.covers(&pod));
        assert!(!by_name.clone().with_cluster("staging").covers(&pod));
        assert_eq!(
            ServiceAccount::from_username("system:serviceaccount:ns:app"),
            Some(ServiceAccount::new("ns", "app"))
        );
        assert_eq!(
            ServiceAccount::from_username("system:serviceaccount:ns"),
            None
        );
        assert_eq!(ServiceAccount::from_username("system:node:n1"), None);
    }
}

/// The identity keys of the GCP principals seen, by their text: a Cloud
/// Audit record's subject ([`crate::record::Subject::Gcp`]) is looked up
/// here, and copied into a key only when new.
#[derive(Debug, Default)]
pub(crate) struct GcpKeys {
    keys: Vec<IdentityKey>,
    /// Principal -> the indices in `keys` of its keys (one per service
    /// account it was narrowed to, or none).
    by_principal: foldhash::HashMap<Box<str>, Vec<usize>>,
}

impl GcpKeys {
    /// The index of the key of `principal` narrowed to `service_account`
    /// (namespace, name): `IdentityKey::new(Principal::Gcp(…))` with that
    /// account, made the first time.
    pub(crate) fn index(
        &mut self,
        principal: &str,
        service_account: Option<(&str, &str)>,
    ) -> usize {
        let same = |key: &IdentityKey| {
            key.service_account
                .as_ref()
                .map(|sa| (sa.namespace.as_str(), sa.name.as_str()))
                == service_account
        };
        let keys = &mut self.keys;
        let known = match self.by_principal.get_mut(principal) {
            Some(known) => known,
            None => self.by_principal.entry(principal.into()).or_default(),
        };
        if let Some(&at) = known.iter().find(|&&at| keys.get(at).is_some_and(same)) {
            return at;
        }
        let mut key = IdentityKey::new(Principal::Gcp(principal.to_string()));
        key.service_account =
            service_account.map(|(namespace, name)| ServiceAccount::new(namespace, name));
        keys.push(key);
        known.push(keys.len() - 1);
        keys.len() - 1
    }

    pub(crate) fn key(&self, index: usize) -> Option<&IdentityKey> {
        self.keys.get(index)
    }
}
