//! Cloud Audit Log entries as typed records: the fields `audit_log` reads,
//! and the same reading of them (see `crate::typed` for when a record takes
//! this path). GKE's Kubernetes audit entries are declined: the
//! Kubernetes reader works on `Value`.

use super::{PERMISSION_DENIED, UNAUTHENTICATED, workload_identity_subject};
use crate::identity::{IdentityKey, Principal};
use crate::model::Source;
use crate::record::{Outcome, Subject, Use, reason};
use crate::typed::{Record, Str, day_of, object, text};

object!(
    /// `protoPayload`, a `google.cloud.audit.AuditLog`.
    Payload {
        service_name: Str<'a> = "serviceName",
        method_name: Str<'a> = "methodName",
        resource_name: Str<'a> = "resourceName",
        status: Status<'a> = "status",
        authentication_info: Authentication<'a> = "authenticationInfo",
        authorization_info: Vec<Check<'a>> = "authorizationInfo",
    }
);

object!(Status { code: u64 = "code" });

object!(Authentication {
    principal_email: Str<'a> = "principalEmail",
    principal_subject: Str<'a> = "principalSubject",
    service_account_delegation_info: Vec<Delegation<'a>> = "serviceAccountDelegationInfo",
});

object!(Delegation {
    principal_subject: Str<'a> = "principalSubject",
});

object!(Check {
    permission: Str<'a> = "permission",
    resource: Str<'a> = "resource",
    granted: bool = "granted",
    resource_attributes: ResourceAttributes<'a> = "resourceAttributes",
});

object!(ResourceAttributes {
    name: Str<'a> = "name",
});

/// `failed`, on a typed payload.
fn failed(payload: &Payload<'_>) -> Option<&'static str> {
    match payload.status.as_ref().and_then(|s| s.code) {
        Some(PERMISSION_DENIED) => return Some(reason::DENIED),
        Some(UNAUTHENTICATED) => return Some(reason::UNAUTHENTICATED),
        _ => {}
    }
    let checks = payload.authorization_info.as_ref()?;
    (!checks.is_empty() && !checks.iter().any(granted)).then_some(reason::DENIED)
}

fn granted(check: &Check<'_>) -> bool {
    check.granted == Some(true)
}

/// `audit_log`, on a typed record; `None` declines it (GKE's Kubernetes
/// entries, a null `protoPayload`) to the `Value` path.
pub(crate) fn audit_log(r: &Record<'_>) -> Option<Outcome> {
    let payload = r.proto_payload.as_ref()?;
    let kubernetes = text(&payload.service_name) == Some("k8s.io")
        || text(&payload.method_name).is_some_and(|m| m.starts_with("io.k8s."));
    if kubernetes {
        return None;
    }
    let source = Source::GcpAudit;
    let day = match day_of(&[
        ("timestamp", &r.timestamp),
        ("receiveTimestamp", &r.receive_timestamp),
    ]) {
        Ok(day) => day,
        Err(message) => return Some(Outcome::Malformed { source, message }),
    };
    if let Some(reason) = failed(payload) {
        return Some(Outcome::NotUse {
            source,
            day,
            reason,
        });
    }
    let auth = payload.authentication_info.as_ref();
    let email = auth.and_then(|a| text(&a.principal_email));
    let subject = auth.and_then(|a| text(&a.principal_subject));
    let Some(principal) = email.or(subject) else {
        return Some(Outcome::Unattributable {
            source,
            day,
            message: "no `authenticationInfo.principalEmail` or `principalSubject`".into(),
        });
    };
    let mut identity = IdentityKey::new(Principal::Gcp(principal.to_string()));
    let delegated = auth
        .and_then(|a| a.service_account_delegation_info.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|d| text(&d.principal_subject))
        .chain(subject);
    identity.service_account = delegated.into_iter().find_map(workload_identity_subject);
    let default_resource = text(&payload.resource_name);
    let mut uses: Vec<Use> = Vec::new();
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
            Some(existing) => existing.resources.extend(resource.map(String::from)),
            None => uses.push(Use {
                permission: permission.to_string(),
                resources: resource.map(String::from).into_iter().collect(),
            }),
        }
    }
    if uses.is_empty() {
        let method = text(&payload.method_name).unwrap_or("(no methodName)");
        return Some(Outcome::UnknownAction {
            source,
            day,
            action: method.to_string(),
            message: format!(
                "no `authorizationInfo` names the permission method `{method}` used: not counted"
            ),
        });
    }
    Some(Outcome::Used {
        source,
        day,
        subject: Subject::Identity(identity),
        uses,
        aliases: Vec::new(),
    })
}
