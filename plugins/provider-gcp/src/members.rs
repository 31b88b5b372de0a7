//! IAM policy members (`serviceAccount:…`, `principal://…`, …) and the
//! Workload Identity principals GKE pools issue.

/// One member of a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member<'a> {
    /// `serviceAccount:EMAIL`, a Google service account.
    ServiceAccount(&'a str),
    /// `serviceAccount:POOL[NAMESPACE/KSA]`: a Kubernetes ServiceAccount of
    /// a cluster in workload pool `POOL`, the legacy Workload Identity spelling.
    WorkloadIdentity {
        pool: &'a str,
        namespace: &'a str,
        name: &'a str,
    },
    User(&'a str),
    Group(&'a str),
    /// `principal://…`
    Principal(&'a str),
    /// `principalSet://…`
    PrincipalSet(&'a str),
    /// `allUsers`, `allAuthenticatedUsers`, `domain:…`, `principalSet://goog/public:all`.
    Public(&'a str),
    /// `deleted:…`: a principal deleted after it was bound; it grants nothing.
    Deleted(&'a str),
    /// `projectOwner:P`, `projectEditor:P`, `projectViewer:P` (bucket ACL
    /// convenience values: whoever holds the basic role on P).
    Convenience(&'a str),
    Unknown(&'a str),
}

impl<'a> Member<'a> {
    pub fn parse(member: &'a str) -> Member<'a> {
        if member == "allUsers"
            || member == "allAuthenticatedUsers"
            || member.starts_with("domain:")
            || member == "principalSet://goog/public:all"
        {
            return Member::Public(member);
        }
        if member.starts_with("deleted:") {
            return Member::Deleted(member);
        }
        if member.starts_with("principal://") {
            return Member::Principal(member);
        }
        if member.starts_with("principalSet://") {
            return Member::PrincipalSet(member);
        }
        let Some((kind, name)) = member.split_once(':') else {
            return Member::Unknown(member);
        };
        if name.is_empty() {
            return Member::Unknown(member);
        }
        match kind {
            "serviceAccount" => match workload_identity(name) {
                Some((pool, namespace, ksa)) => Member::WorkloadIdentity {
                    pool,
                    namespace,
                    name: ksa,
                },
                None => Member::ServiceAccount(name),
            },
            "user" => Member::User(name),
            "group" => Member::Group(name),
            "projectOwner" | "projectEditor" | "projectViewer" => Member::Convenience(member),
            _ => Member::Unknown(member),
        }
    }
}

/// `POOL[NS/KSA]` → `(POOL, NS, KSA)`.
fn workload_identity(name: &str) -> Option<(&str, &str, &str)> {
    let (pool, rest) = name.split_once('[')?;
    let inner = rest.strip_suffix(']')?;
    let (namespace, ksa) = inner.split_once('/')?;
    (!pool.is_empty() && !namespace.is_empty() && !ksa.is_empty()).then_some((pool, namespace, ksa))
}

/// The node id of a Google service account.
pub fn service_account_id(email: &str) -> String {
    format!("gcp:serviceAccount:{email}")
}

/// A Workload Identity Federation principal or principal set of a GKE
/// workload pool (`PROJECT.svc.id.goog`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Federated<'a> {
    /// `principal://…/workloadIdentityPools/POOL/subject/ns/NS/sa/KSA`.
    Subject {
        pool: &'a str,
        namespace: &'a str,
        name: &'a str,
    },
    /// `principalSet://…/workloadIdentityPools/POOL/namespace/NS`.
    Namespace { pool: &'a str, namespace: &'a str },
    /// `principalSet://…/workloadIdentityPools/POOL/kubernetes.cluster/https://container.googleapis.com/v1/projects/P/locations/L/clusters/C`.
    Cluster { pool: &'a str, url: &'a str },
    /// `principalSet://…/workloadIdentityPools/POOL/kubernetes.serviceaccount.uid/UID`.
    ServiceAccountUid { pool: &'a str, uid: &'a str },
    /// Any other set of the pool (`*`, `attribute.NAME/VALUE`, `group/…`).
    PoolWide { pool: &'a str, selector: &'a str },
}

impl<'a> Federated<'a> {
    /// The workload pool; `None` for principals outside workload pools
    /// (workforce pools, Google accounts).
    pub fn parse(member: &'a str) -> Option<Federated<'a>> {
        let (is_set, rest) = match member.strip_prefix("principal://iam.googleapis.com/") {
            Some(rest) => (false, rest),
            None => (
                true,
                member.strip_prefix("principalSet://iam.googleapis.com/")?,
            ),
        };
        // projects/NUMBER/locations/global/workloadIdentityPools/POOL/…
        let mut parts = rest.splitn(6, '/');
        let (Some("projects"), Some(_), Some("locations"), Some(_), Some("workloadIdentityPools")) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let (pool, selector) = parts.next()?.split_once('/')?;
        if pool.is_empty() || selector.is_empty() {
            return None;
        }
        if !is_set {
            let subject = selector.strip_prefix("subject/")?;
            let (namespace, name) = match subject.strip_prefix("ns/") {
                Some(path) => {
                    let (namespace, name) = path.split_once("/sa/")?;
                    (namespace, name)
                }
                None => subject
                    .strip_prefix("system:serviceaccount:")?
                    .split_once(':')?,
            };
            if namespace.is_empty() || name.is_empty() || name.contains('/') {
                return None;
            }
            return Some(Federated::Subject {
                pool,
                namespace,
                name,
            });
        }
        if let Some(namespace) = selector.strip_prefix("namespace/")
            && !namespace.is_empty()
            && !namespace.contains('/')
        {
            return Some(Federated::Namespace { pool, namespace });
        }
        if let Some(url) = selector.strip_prefix("kubernetes.cluster/") {
            return Some(Federated::Cluster { pool, url });
        }
        if let Some(uid) = selector.strip_prefix("kubernetes.serviceaccount.uid/") {
            return Some(Federated::ServiceAccountUid { pool, uid });
        }
        Some(Federated::PoolWide { pool, selector })
    }

    pub fn pool(&self) -> &'a str {
        match *self {
            Federated::Subject { pool, .. }
            | Federated::Namespace { pool, .. }
            | Federated::Cluster { pool, .. }
            | Federated::ServiceAccountUid { pool, .. }
            | Federated::PoolWide { pool, .. } => pool,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/acme.svc.id.goog";
    const SET: &str = "principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/acme.svc.id.goog";

    #[test]
    fn members_by_prefix() {
        assert_eq!(
            Member::parse("serviceAccount:a@p.iam.gserviceaccount.com"),
            Member::ServiceAccount("a@p.iam.gserviceaccount.com")
        );
        assert_eq!(
            Member::parse("serviceAccount:acme.svc.id.goog[ns/ksa]"),
            Member::WorkloadIdentity {
                pool: "acme.svc.id.goog",
                namespace: "ns",
                name: "ksa"
            }
        );
        assert_eq!(Member::parse("group:g@x.com"), Member::Group("g@x.com"));
        assert_eq!(Member::parse("user:u@x.com"), Member::User("u@x.com"));
        for public in ["allUsers", "allAuthenticatedUsers", "domain:x.com"] {
            assert_eq!(Member::parse(public), Member::Public(public));
        }
        let deleted = "deleted:serviceAccount:a@p.iam.gserviceaccount.com?uid=1";
        assert_eq!(Member::parse(deleted), Member::Deleted(deleted));
        assert_eq!(
            Member::parse("projectViewer:p"),
            Member::Convenience("projectViewer:p")
        );
        for odd in ["", "user:", "robot:r", "nonsense"] {
            assert_eq!(Member::parse(odd), Member::Unknown(odd));
        }
    }

    #[test]
    fn gke_principals_name_service_accounts_namespaces_and_clusters() {
        let subject = format!("{POOL}/subject/ns/analytics/sa/report-agent");
        assert_eq!(
            Federated::parse(&subject),
            Some(Federated::Subject {
                pool: "acme.svc.id.goog",
                namespace: "analytics",
                name: "report-agent"
            })
        );
        let legacy = format!("{POOL}/subject/system:serviceaccount:analytics:report-agent");
        assert!(matches!(
            Federated::parse(&legacy),
            Some(Federated::Subject {
                name: "report-agent",
                ..
            })
        ));
        let namespace = format!("{SET}/namespace/analytics");
        assert_eq!(
            Federated::parse(&namespace),
            Some(Federated::Namespace {
                pool: "acme.svc.id.goog",
                namespace: "analytics"
            })
        );
        let cluster = format!(
            "{SET}/kubernetes.cluster/https://container.googleapis.com/v1/projects/acme/locations/us-central1/clusters/prod"
        );
        assert!(matches!(
            Federated::parse(&cluster),
            Some(Federated::Cluster { url, .. }) if url.ends_with("/clusters/prod")
        ));
        let any = format!("{SET}/attribute.team/data");
        assert_eq!(
            Federated::parse(&any),
            Some(Federated::PoolWide {
                pool: "acme.svc.id.goog",
                selector: "attribute.team/data"
            })
        );
        assert_eq!(
            Federated::parse(
                "principal://iam.googleapis.com/locations/global/workforcePools/p/subject/u"
            ),
            None
        );
        assert_eq!(Federated::parse(&format!("{POOL}/subject/ns/a")), None);
    }
}
