//! GCP Cloud Audit Logs (`protoPayload` of type `google.cloud.audit.AuditLog`).

use crate::identity::{IdentityKey, Principal, ServiceAccount};
use crate::model::Source;
use crate::record::{Outcome, Subject, Use, day_of, path, reason, text};
use serde_json::Value;

pub(crate) mod typed;

/// gRPC `PERMISSION_DENIED` and `UNAUTHENTICATED`.
const PERMISSION_DENIED: u64 = 7;
const UNAUTHENTICATED: u64 = 16;

/// Why a payload is not a use, if it says it failed authorisation:
/// `status.code` 7 or 16, or authorization checks none of which was
/// granted (proto3 JSON omits `granted: false`, so absent means denied).
pub(crate) fn failed(payload: &Value) -> Option<&'static str> {
    match path(payload, &["status", "code"]).and_then(Value::as_u64) {
        Some(PERMISSION_DENIED) => return Some(reason::DENIED),
        Some(UNAUTHENTICATED) => return Some(reason::UNAUTHENTICATED),
        _ => {}
    }
    let checks = payload.get("authorizationInfo").and_then(Value::as_array)?;
    (!checks.is_empty() && !checks.iter().any(granted)).then_some(reason::DENIED)
}

fn granted(check: &Value) -> bool {
    check.get("granted").and_then(Value::as_bool) == Some(true)
}

/// The Kubernetes service account a Workload Identity subject names:
/// `serviceAccount:PROJECT.svc.id.goog[NS/KSA]`,
/// `principal://…/subject/ns/NS/sa/KSA`, `…/subject/system:serviceaccount:NS:KSA`.
pub(crate) fn workload_identity_subject(subject: &str) -> Option<ServiceAccount> {
    if let Some(rest) = subject.strip_prefix("serviceAccount:") {
        let (pool, member) = rest.split_once('[')?;
        let (ns, ksa) = member.strip_suffix(']')?.split_once('/')?;
        return (pool.ends_with(".svc.id.goog") && !ns.is_empty() && !ksa.is_empty())
            .then(|| ServiceAccount::new(ns, ksa));
    }
    let (_, rest) = subject.split_once("/subject/")?;
    if let Some(ns_sa) = rest.strip_prefix("ns/") {
        let (ns, ksa) = ns_sa.split_once("/sa/")?;
        return (!ns.is_empty() && !ksa.is_empty() && !ksa.contains('/'))
            .then(|| ServiceAccount::new(ns, ksa));
    }
    ServiceAccount::from_username(rest)
}

pub(crate) fn audit_log(v: &Value, cluster: Option<&str>) -> Outcome {
    let Some(payload) = v.get("protoPayload").filter(|p| p.is_object()) else {
        return Outcome::Malformed {
            source: Source::GcpAudit,
            message: "`protoPayload` is not an object".into(),
        };
    };
    let kubernetes = text(payload, &["serviceName"]) == Some("k8s.io")
        || text(payload, &["methodName"]).is_some_and(|m| m.starts_with("io.k8s."));
    if kubernetes {
        return crate::k8s::gke_event(v, payload, cluster);
    }
    let source = Source::GcpAudit;
    let day = match day_of(v, &[&["timestamp"], &["receiveTimestamp"]]) {
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
    let auth = payload.get("authenticationInfo").unwrap_or(&Value::Null);
    let email = text(auth, &["principalEmail"]);
    let subject = text(auth, &["principalSubject"]);
    let Some(principal) = email.or(subject) else {
        return Outcome::Unattributable {
            source,
            day,
            message: "no `authenticationInfo.principalEmail` or `principalSubject`".into(),
        };
    };
    let mut identity = IdentityKey::new(Principal::Gcp(principal.to_string()));
    let delegated = auth
        .get("serviceAccountDelegationInfo")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| text(d, &["principalSubject"]))
        .chain(subject);
    identity.service_account = delegated.into_iter().find_map(workload_identity_subject);
    let default_resource = text(payload, &["resourceName"]);
    let mut uses: Vec<Use> = Vec::new();
    for check in payload
        .get("authorizationInfo")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| granted(c))
    {
        let Some(permission) = text(check, &["permission"]) else {
            continue;
        };
        let resource = text(check, &["resource"])
            .or_else(|| text(check, &["resourceAttributes", "name"]))
            .or(default_resource);
        match uses.iter_mut().find(|u| u.permission == permission) {
            Some(existing) => existing.resources.extend(resource.map(String::from)),
            None => uses.push(Use {
                permission: permission.to_string(),
                resources: resource.map(String::from).into_iter().collect(),
            }),
        }
    }
    if uses.is_empty() {
        let method = text(payload, &["methodName"]).unwrap_or("(no methodName)");
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
        subject: Subject::Identity(identity),
        uses,
        aliases: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            assert_eq!(workload_identity_subject(other), None, "{other}");
        }
    }
}
