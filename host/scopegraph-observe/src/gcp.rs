//! GCP Cloud Audit Logs (`protoPayload` of type `google.cloud.audit.AuditLog`).

use crate::identity::ServiceAccount;
use crate::model::Source;
use crate::record::{Outcome, Subject, Use, Uses, reason};
use crate::typed::{Record, day_of, text};
use memchr::memmem;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::LazyLock;
use typed::{Check, Payload};

pub(crate) mod typed;

/// gRPC `PERMISSION_DENIED` and `UNAUTHENTICATED`.
const PERMISSION_DENIED: u64 = 7;
const UNAUTHENTICATED: u64 = 16;

/// Why a payload is not a use, if it says it failed authorisation:
/// `status.code` 7 or 16, or authorization checks none of which was
/// granted (proto3 JSON omits `granted: false`, so absent means denied).
fn failed(payload: &Payload<'_>) -> Option<&'static str> {
    match payload.status.as_ref().and_then(|s| s.code) {
        Some(PERMISSION_DENIED) => return Some(reason::DENIED),
        Some(UNAUTHENTICATED) => return Some(reason::UNAUTHENTICATED),
        _ => {}
    }
    let checks = payload.authorization_info.as_ref()?;
    (!checks.is_empty() && !checks.iter().any(granted)).then_some(reason::DENIED)
}

/// `failed`, for a GKE Kubernetes entry (which the Kubernetes reader
/// holds as a `Value`).
pub(crate) fn entry_failed(v: &Value) -> Option<&'static str> {
    Record::of_value(v)?.proto_payload.as_ref().and_then(failed)
}

fn granted(check: &Check<'_>) -> bool {
    check.granted == Some(true)
}

/// The namespace and name of the Kubernetes service account a Workload
/// Identity subject names: `serviceAccount:PROJECT.svc.id.goog[NS/KSA]`,
/// `principal://…/subject/ns/NS/sa/KSA`, `…/subject/system:serviceaccount:NS:KSA`.
pub(crate) fn workload_identity_names(subject: &str) -> Option<(&str, &str)> {
    if let Some(rest) = subject.strip_prefix("serviceAccount:") {
        let (pool, member) = rest.split_once('[')?;
        let (ns, ksa) = member.strip_suffix(']')?.split_once('/')?;
        return (pool.ends_with(".svc.id.goog") && !ns.is_empty() && !ksa.is_empty())
            .then_some((ns, ksa));
    }
    static SUBJECT: LazyLock<memmem::Finder> = LazyLock::new(|| memmem::Finder::new("/subject/"));
    static SA: LazyLock<memmem::Finder> = LazyLock::new(|| memmem::Finder::new("/sa/"));
    let (_, rest) = split_once(&SUBJECT, subject)?;
    if let Some(ns_sa) = rest.strip_prefix("ns/") {
        let (ns, ksa) = split_once(&SA, ns_sa)?;
        return (!ns.is_empty() && !ksa.is_empty() && !ksa.contains('/')).then_some((ns, ksa));
    }
    ServiceAccount::names_in_username(rest)
}

/// `str::split_once` with a search set up once: most entries of a
/// Workload Identity Federation pool carry a `principal://` subject, and
/// the standard library prepares its search anew on every call.
fn split_once<'t>(needle: &memmem::Finder<'_>, text: &'t str) -> Option<(&'t str, &'t str)> {
    let at = needle.find(text.as_bytes())?;
    let (before, rest) = text.split_at_checked(at)?;
    Some((before, rest.get(needle.needle().len()..)?))
}

/// Whether an entry is GKE's record of a Kubernetes API call, which the
/// Kubernetes reader reads.
fn is_kubernetes(service_name: Option<&str>, method_name: Option<&str>) -> bool {
    service_name == Some("k8s.io") || method_name.is_some_and(|m| m.starts_with("io.k8s."))
}

/// An entry GKE's Kubernetes audit reader must read (on `Value`).
pub(crate) fn is_kubernetes_entry(r: &Record<'_>) -> bool {
    r.proto_payload
        .as_ref()
        .is_some_and(|p| is_kubernetes(text(&p.service_name), text(&p.method_name)))
}

/// What one Cloud Audit Log entry (not GKE's Kubernetes entries) amounts to.
pub(crate) fn entry<'r>(r: &'r Record<'_>) -> Outcome<'r> {
    let source = Source::GcpAudit;
    let Some(payload) = r.proto_payload.as_ref() else {
        return Outcome::Malformed {
            source,
            message: "`protoPayload` is not an object".into(),
        };
    };
    let day = match day_of(&[
        ("timestamp", &r.timestamp),
        ("receiveTimestamp", &r.receive_timestamp),
    ]) {
        Ok(day) => day,
        Err(message) => return Outcome::Malformed { source, message },
    };
    if let Some(reason) = failed(payload) {
        return Outcome::NotUse {
            source,
            day,
            reason,
        };
    }
    let auth = payload.authentication_info.as_ref();
    let email = auth.and_then(|a| text(&a.principal_email));
    let subject = auth.and_then(|a| text(&a.principal_subject));
    let Some(principal) = email.or(subject) else {
        return Outcome::Unattributable {
            source,
            day,
            message: "no `authenticationInfo.principalEmail` or `principalSubject`".into(),
        };
    };
    let delegated = auth
        .and_then(|a| a.service_account_delegation_info.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|d| text(&d.principal_subject))
        .chain(subject);
    let service_account = delegated.into_iter().find_map(workload_identity_names);
    let default_resource = text(&payload.resource_name);
    let mut uses = Uses::new();
    for check in payload
        .authorization_info
        .iter()
        .flatten()
        .filter(|c| granted(c))
    {
        let Some(permission) = text(&check.permission) else {
            continue;
        };
        let resource = text(&check.resource)
            .or_else(|| {
                check
                    .resource_attributes
                    .as_ref()
                    .and_then(|a| text(&a.name))
            })
            .or(default_resource);
        match uses.iter_mut().find(|u| u.permission == permission) {
            Some(existing) => existing.resources.extend(resource.map(Cow::Borrowed)),
            None => uses.push(Use {
                permission: Cow::Borrowed(permission),
                resources: resource.map(Cow::Borrowed).into_iter().collect(),
            }),
        }
    }
    if uses.is_empty() {
        let method = text(&payload.method_name).unwrap_or("(no methodName)");
        return Outcome::UnknownAction {
            source,
            day,
            action: method.to_string(),
            message: format!(
                "no `authorizationInfo` names the permission method `{method}` used: not counted"
            ),
        };
    }
    Outcome::Used {
        source,
        day,
        subject: Subject::Gcp {
            principal,
            service_account,
        },
        uses,
        aliases: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload_identity_subject(subject: &str) -> Option<ServiceAccount> {
        let (namespace, name) = workload_identity_names(subject)?;
        Some(ServiceAccount::new(namespace, name))
    }

    #[test]
    fn reads_workload_identity_subjects() {
        let sa = Some(ServiceAccount::new("agents", "planner"));
        for subject in [
            "serviceAccount:acme-prod.svc.id.goog[agents/planner]",
            "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/acme-prod.svc.id.goog/subject/ns/agents/sa/planner",
            "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/subject/system:serviceaccount:agents:planner",
        ] {
            assert_eq!(workload_identity_subject(subject), sa, "{subject}");
        }
        for other in [
            "serviceAccount:planner@acme-prod.iam.gserviceaccount.com",
            "user:alice@example.com",
            "serviceAccount:evil.example[agents/planner]",
            "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/subject/ns/agents/sa/",
            "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/subject/ns/agents",
            "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/subject/alice",
            "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/subjects/ns/a/sa/b",
        ] {
            assert_eq!(workload_identity_subject(other), None, "{other}");
        }
    }
}
