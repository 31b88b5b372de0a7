//! Kubernetes audit events (`audit.k8s.io/v1`), wherever they come from:
//! the API server's log or webhook, AKS `kube-audit` diagnostics, GKE's
//! `k8s.io` Cloud Audit Logs.

use crate::day::Day;
use crate::identity::{IdentityKey, Pod, Principal, ServiceAccount};
use crate::model::Source;
use crate::record::{Outcome, Subject, Use, day_of, path, reason, text};
use serde_json::Value;

/// The verbs RBAC authorises.
pub(crate) const VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "impersonate",
    "bind",
    "escalate",
    "approve",
    "sign",
    "use",
    "proxy",
];

/// Whether `v` is an audit event: `apiVersion: audit.k8s.io/*`, or an
/// unversioned `kind: Event` with a `verb` (as some exporters leave them;
/// a core `v1` Event has an apiVersion and no verb).
pub(crate) fn is_audit_event(v: &Value) -> bool {
    if text(v, &["apiVersion"]).is_some_and(|a| a.starts_with("audit.k8s.io/")) {
        return true;
    }
    v.get("apiVersion").is_none()
        && text(v, &["kind"]) == Some("Event")
        && text(v, &["verb"]).is_some()
}

/// `[group/]resource[/subresource]:verb`, the group only when not core.
pub(crate) fn permission(
    group: &str,
    resource: &str,
    subresource: Option<&str>,
    verb: &str,
) -> String {
    let mut p = String::new();
    if !group.is_empty() && group != "core" {
        p.push_str(group);
        p.push('/');
    }
    p.push_str(resource);
    if let Some(sub) = subresource.filter(|s| !s.is_empty()) {
        p.push('/');
        p.push_str(sub);
    }
    p.push(':');
    p.push_str(verb);
    p
}

/// `NS/[group/]resource[/sub]/NAME`, `*` for an absent namespace or name.
pub(crate) fn resource(
    namespace: Option<&str>,
    group: &str,
    resource: &str,
    subresource: Option<&str>,
    name: Option<&str>,
) -> String {
    let mut r = String::from(namespace.filter(|n| !n.is_empty()).unwrap_or("*"));
    r.push('/');
    if !group.is_empty() && group != "core" {
        r.push_str(group);
        r.push('/');
    }
    r.push_str(resource);
    if let Some(sub) = subresource.filter(|s| !s.is_empty()) {
        r.push('/');
        r.push_str(sub);
    }
    r.push('/');
    r.push_str(name.filter(|n| !n.is_empty()).unwrap_or("*"));
    r
}

/// The identity of a Kubernetes username, with the pod from `user.extra`.
pub(crate) fn identity(
    username: &str,
    extra: Option<&Value>,
    cluster: Option<&str>,
) -> IdentityKey {
    let mut key = match ServiceAccount::from_username(username) {
        Some(sa) => IdentityKey::new(Principal::KubernetesServiceAccount(sa)),
        None => IdentityKey::new(Principal::KubernetesUser(username.to_string())),
    };
    let first = |name: &str| {
        extra
            .and_then(|e| e.get(name))
            .and_then(|v| v.as_array().and_then(|a| a.first()).or(Some(v)))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    key.pod = Pod::new(
        first("authentication.kubernetes.io/pod-name"),
        first("authentication.kubernetes.io/pod-uid"),
    );
    key.cluster = cluster.map(String::from);
    key
}

/// One audit event. `fallback_day` is the day of a wrapper (AKS) when
/// the event carries no timestamp of its own.
pub(crate) fn audit_event<'a>(
    v: &Value,
    cluster: Option<&str>,
    fallback_day: Option<Day>,
) -> Outcome<'a> {
    let source = Source::KubernetesAudit;
    // The request was authorised when it was received; a long watch may
    // complete days later.
    let day = match (
        day_of(v, &[&["requestReceivedTimestamp"], &["stageTimestamp"]]),
        fallback_day,
    ) {
        (Ok(day), _) | (Err(_), Some(day)) => day,
        (Err(message), None) => return Outcome::Malformed { source, message },
    };
    let not_use = |reason| Outcome::NotUse {
        source,
        day,
        reason,
    };
    match text(v, &["stage"]) {
        Some("ResponseComplete") => {}
        Some(_) => return not_use(reason::STAGE_NOT_FINAL),
        None => return not_use(reason::STAGE_MISSING),
    }
    let decision = text(v, &["annotations", "authorization.k8s.io/decision"]);
    let code = path(v, &["responseStatus", "code"]).and_then(Value::as_u64);
    match (decision, code) {
        (Some("forbid"), _) | (None, Some(403)) => return not_use(reason::DENIED),
        (None, Some(401)) => return not_use(reason::UNAUTHENTICATED),
        _ => {}
    }
    let user = match v
        .get("impersonatedUser")
        .filter(|u| text(u, &["username"]).is_some())
    {
        Some(impersonated) => impersonated,
        None => v.get("user").unwrap_or(&Value::Null),
    };
    let Some(username) = text(user, &["username"]) else {
        return Outcome::Unattributable {
            source,
            day,
            message: "no `user.username`".into(),
        };
    };
    let Some(verb) = text(v, &["verb"]) else {
        return Outcome::Malformed {
            source,
            message: "no `verb`".into(),
        };
    };
    let object = v.get("objectRef");
    let used = match object.and_then(|o| text(o, &["resource"])) {
        Some(res) => {
            let object = object.unwrap_or(&Value::Null);
            let group = text(object, &["apiGroup"]).unwrap_or("");
            let sub = text(object, &["subresource"]);
            Use {
                permission: permission(group, res, sub, verb).into(),
                resources: smallvec::smallvec![
                    resource(
                        text(object, &["namespace"]),
                        group,
                        res,
                        sub,
                        text(object, &["name"]),
                    )
                    .into(),
                ],
            }
        }
        None => match text(v, &["requestURI"]) {
            Some(uri) => {
                let path = uri.split('?').next().unwrap_or(uri);
                Use {
                    permission: format!("{path}:{verb}").into(),
                    resources: smallvec::smallvec![path.to_string().into()],
                }
            }
            None => {
                return Outcome::Malformed {
                    source,
                    message: "no `objectRef.resource` and no `requestURI`".into(),
                };
            }
        },
    };
    Outcome::Used {
        source,
        day,
        subject: Subject::Identity(identity(username, user.get("extra"), cluster)),
        uses: smallvec::smallvec![used],
        aliases: Vec::new(),
    }
}

/// A GKE Kubernetes audit record (Cloud Audit Logs, `serviceName: k8s.io`).
pub(crate) fn gke_event<'a>(v: &Value, payload: &Value, cluster: Option<&str>) -> Outcome<'a> {
    let source = Source::KubernetesAudit;
    let day = match day_of(v, &[&["timestamp"], &["receiveTimestamp"]]) {
        Ok(day) => day,
        Err(message) => return Outcome::Malformed { source, message },
    };
    if let Some(reason) = crate::gcp::entry_failed(v) {
        return Outcome::NotUse {
            source,
            day,
            reason,
        };
    }
    let Some(username) = text(payload, &["authenticationInfo", "principalEmail"]) else {
        return Outcome::Unattributable {
            source,
            day,
            message: "no `protoPayload.authenticationInfo.principalEmail`".into(),
        };
    };
    let Some(method) = text(payload, &["methodName"]) else {
        return Outcome::Malformed {
            source,
            message: "no `protoPayload.methodName`".into(),
        };
    };
    let verb = method.rsplit('.').next().unwrap_or(method);
    if !VERBS.contains(&verb) {
        return Outcome::UnknownAction {
            source,
            day,
            action: method.to_string(),
            message: format!(
                "cannot tell the Kubernetes verb of GKE method `{method}`: not counted"
            ),
        };
    }
    let name = text(payload, &["resourceName"]).or_else(|| {
        path(payload, &["authorizationInfo"])
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|a| text(a, &["resource"]))
    });
    let Some(name) = name else {
        return Outcome::Malformed {
            source,
            message: format!("GKE method `{method}` names no `resourceName`"),
        };
    };
    let used = if name.starts_with('/') {
        Use {
            permission: format!("{name}:{verb}").into(),
            resources: smallvec::smallvec![name.to_string().into()],
        }
    } else {
        // GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]
        let segments: Vec<&str> = name.split('/').collect();
        let (group, namespace, res, tail) = match segments.as_slice() {
            [group, _version, "namespaces", ns, res, tail @ ..] => (*group, Some(*ns), *res, tail),
            [group, _version, res, tail @ ..] => (*group, None, *res, tail),
            _ => {
                return Outcome::Malformed {
                    source,
                    message: format!("GKE resourceName `{name}` is not GROUP/VERSION/…"),
                };
            }
        };
        let (object, sub) = (tail.first().copied(), tail.get(1).copied());
        Use {
            permission: permission(group, res, sub, verb).into(),
            resources: smallvec::smallvec![resource(namespace, group, res, sub, object).into()],
        }
    };
    let cluster = text(v, &["resource", "labels", "cluster_name"]).or(cluster);
    Outcome::Used {
        source,
        day,
        subject: Subject::Identity(identity(username, None, cluster)),
        uses: smallvec::smallvec![used],
        aliases: Vec::new(),
    }
}
