//! Azure Activity Log records, in both shapes: the REST / portal one
//! (`caller`, `claims`, `operationName.value`, `eventTimestamp`,
//! `authorization`) and the diagnostic-settings export (`operationName`
//! string, `time`, `identity.claims`, `identity.authorization`). Also the
//! AKS `kube-audit` diagnostic records, which wrap a Kubernetes audit event.

use crate::day::Day;
use crate::identity::{AzureIdKind, IdentityKey, Principal};
use crate::model::Source;
use crate::record::{Outcome, Subject, Use, day_of, reason, text};
use serde_json::Value;

const OBJECT_ID_CLAIM: &str = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const UPN_CLAIM: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";

/// A string field, or the `value` of a `{value, localizedValue}` object.
fn value_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    let field = v.get(key)?;
    field
        .as_str()
        .or_else(|| field.get("value").and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
}

/// Shaped like an Azure Monitor record (the same test as the snapshot reader's).
pub(crate) fn is_azure_record(v: &Value) -> bool {
    v.get("operationName").is_some()
        && ["resourceId", "callerIpAddress", "caller"]
            .iter()
            .any(|k| v.get(k).is_some())
        && ["time", "eventTimestamp", "category"]
            .iter()
            .any(|k| v.get(k).is_some())
}

pub(crate) fn is_kube_audit(v: &Value) -> bool {
    value_of(v, "category").is_some_and(|c| {
        c.eq_ignore_ascii_case("kube-audit") || c.eq_ignore_ascii_case("kube-audit-admin")
    }) && v.get("properties").and_then(|p| p.get("log")).is_some()
}

/// `Some(why)` when an Azure-shaped record is a resource (data-plane) log,
/// not an Activity Log record: its operation is not `Provider/…/verb`.
pub(crate) fn not_activity(v: &Value) -> Option<String> {
    let operation = value_of(v, "operationName").unwrap_or("");
    (!operation.contains('/')).then(|| {
        format!(
            "Azure resource log (category {}, operation {operation:?}), not an Activity Log record: not read",
            value_of(v, "category").unwrap_or("?")
        )
    })
}

pub(crate) fn activity<'a>(v: &Value) -> Outcome<'a> {
    let source = Source::AzureActivity;
    let day = match day_of(v, &[&["eventTimestamp"], &["time"]]) {
        Ok(day) => day,
        Err(message) => return Outcome::Malformed { source, message },
    };
    let not_use = |reason| Outcome::NotUse {
        source,
        day,
        reason,
    };
    if value_of(v, "category").is_some_and(|c| !c.eq_ignore_ascii_case("Administrative")) {
        return not_use(reason::NOT_ADMINISTRATIVE);
    }
    if let Some(reason) = failed(v) {
        return not_use(reason);
    }
    let claims = v
        .get("claims")
        .or_else(|| v.get("identity").and_then(|i| i.get("claims")))
        .unwrap_or(&Value::Null);
    let claim = |name: &str| text(claims, &[name]);
    let candidates = [
        (
            AzureIdKind::ObjectId,
            "oid",
            claim(OBJECT_ID_CLAIM).or_else(|| claim("oid")),
        ),
        (
            AzureIdKind::AppId,
            "appid",
            claim("appid").or_else(|| claim("azp")),
        ),
        (
            AzureIdKind::ManagedIdentity,
            "xms_mirid",
            claim("xms_mirid"),
        ),
        (
            AzureIdKind::Caller,
            "caller",
            text(v, &["caller"])
                .or_else(|| claim(UPN_CLAIM))
                .or_else(|| claim("unique_name"))
                .or_else(|| claim("name")),
        ),
    ];
    let mut present = candidates
        .iter()
        .filter_map(|(kind, label, id)| id.map(|id| (*kind, *label, id.to_ascii_lowercase())));
    let Some((kind, _, id)) = present.next() else {
        return Outcome::Unattributable {
            source,
            day,
            message: "no `caller` and no identity claims (oid, appid, xms_mirid, upn, name)".into(),
        };
    };
    let aliases = present
        .map(|(_, label, id)| format!("{label}:{id}"))
        .collect();
    let authorization = v
        .get("authorization")
        .or_else(|| v.get("identity").and_then(|i| i.get("authorization")))
        .unwrap_or(&Value::Null);
    let Some(action) = text(authorization, &["action"]).or_else(|| value_of(v, "operationName"))
    else {
        return Outcome::Malformed {
            source,
            message: "no `authorization.action` and no `operationName`".into(),
        };
    };
    let resource = text(authorization, &["scope"]).or_else(|| text(v, &["resourceId"]));
    Outcome::Used {
        source,
        day,
        subject: Subject::Identity(IdentityKey::new(Principal::Azure { kind, id })),
        uses: smallvec::smallvec![Use {
            permission: action.to_ascii_lowercase().into(),
            resources: resource
                .map(|r| r.to_ascii_lowercase().into())
                .into_iter()
                .collect(),
        }],
        aliases,
    }
}

/// 401/403-like results: `resultSignature`, `subStatus`, `status`,
/// `properties.statusCode`.
fn failed(v: &Value) -> Option<&'static str> {
    let signals = [
        value_of(v, "resultSignature"),
        value_of(v, "subStatus"),
        value_of(v, "status"),
        v.get("properties").and_then(|p| value_of(p, "statusCode")),
    ];
    for signal in signals.into_iter().flatten() {
        let s = signal.to_ascii_lowercase();
        if s == "403" || s.contains("forbidden") || s.contains("authorizationfailed") {
            return Some(reason::DENIED);
        }
        if s == "401" || s.contains("unauthorized") {
            return Some(reason::UNAUTHENTICATED);
        }
    }
    None
}

/// An AKS `kube-audit` record: the audit event is the JSON string in
/// `properties.log`; the cluster is the `managedClusters/NAME` of `resourceId`.
pub(crate) fn kube_audit<'a>(v: &Value, cluster: Option<&str>) -> Outcome<'a> {
    let source = Source::KubernetesAudit;
    let Some(log) = v
        .get("properties")
        .and_then(|p| p.get("log"))
        .and_then(Value::as_str)
    else {
        return Outcome::Malformed {
            source,
            message: "`properties.log` is not a string".into(),
        };
    };
    let event: Value = match serde_json::from_str(log) {
        Ok(event) => event,
        Err(e) => {
            return Outcome::Malformed {
                source,
                message: format!("`properties.log` is not a JSON audit event: {e}"),
            };
        }
    };
    let from_resource = text(v, &["resourceId"]).and_then(|id| {
        let lower = id.to_ascii_lowercase();
        let at = lower.find("/managedclusters/")? + "/managedclusters/".len();
        id.get(at..)?.split('/').next().filter(|n| !n.is_empty())
    });
    let wrapper_day = text(v, &["time"]).and_then(Day::of_timestamp);
    crate::k8s::audit_event(&event, from_resource.or(cluster), wrapper_day)
}
