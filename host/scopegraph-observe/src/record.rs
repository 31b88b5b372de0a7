//! What one log record amounts to, whatever its format.

use crate::day::Day;
use crate::identity::IdentityKey;
use crate::model::Source;
use serde_json::Value;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::sync::Arc;

/// Who a use is charged to.
#[derive(Debug, Clone)]
pub(crate) enum Subject<'a> {
    Identity(IdentityKey),
    /// A call made with the temporary credentials `access_key` of `role`
    /// (the role alone, as `identity::role_key` spells it): tied to a
    /// workload, or not, when ingest finishes, so that the
    /// credential-issuing event may come in any file, any order.
    AwsSession {
        role: Arc<str>,
        access_key: Cow<'a, str>,
    },
    /// A GCP principal (`Principal::Gcp`), narrowed to the namespace and
    /// name of the Kubernetes service account its Workload Identity
    /// subject names: borrowed from the record, and made an `IdentityKey`
    /// only the first time it is seen (`identity::GcpKeys`), since every
    /// Cloud Audit record names one.
    Gcp {
        principal: &'a str,
        service_account: Option<(&'a str, &'a str)>,
    },
}

/// One permission exercised, on these resources. Borrowed from the record
/// where it can be: most calls repeat what the model already holds, and
/// then nothing is copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Use<'a> {
    pub permission: Cow<'a, str>,
    pub resources: Resources<'a>,
}

/// A record's uses: most records exercise one permission, on one or two
/// resources, so both are held inline (no allocation per record).
pub(crate) type Uses<'a> = SmallVec<[Use<'a>; 1]>;
pub(crate) type Resources<'a> = SmallVec<[Cow<'a, str>; 2]>;

/// Why a recognised record is not a use.
pub(crate) mod reason {
    /// Authorisation failed: AWS `AccessDenied`-like error codes, GCP
    /// `granted: false` or `PERMISSION_DENIED`, Azure 403/`Forbidden`,
    /// Kubernetes `authorization.k8s.io/decision: forbid` or 403.
    pub const DENIED: &str = "denied";
    /// Authentication failed (GCP `UNAUTHENTICATED`, Kubernetes 401, AWS
    /// expired or invalid tokens).
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    /// A Kubernetes audit stage other than `ResponseComplete`.
    pub const STAGE_NOT_FINAL: &str = "stage-not-final";
    /// A Kubernetes audit event without a `stage`.
    pub const STAGE_MISSING: &str = "stage-missing";
    /// CloudTrail `AwsConsoleSignIn`: a sign-in, not an authorised call.
    pub const CONSOLE_SIGN_IN: &str = "console-sign-in";
    /// CloudTrail `AwsServiceEvent`: something a service did.
    pub const SERVICE_EVENT: &str = "service-event";
    /// CloudTrail `AwsVpceEvent`: a VPC endpoint owner's copy of a call.
    pub const VPC_ENDPOINT_EVENT: &str = "vpc-endpoint-event";
    /// CloudTrail `AwsConsoleAction` / Insight events.
    pub const NOT_AN_API_CALL: &str = "not-an-api-call";
    /// A call an AWS service made (`userIdentity.type: AWSService`), such as
    /// EKS Pod Identity assuming a role: used for attribution only.
    pub const AWS_SERVICE: &str = "aws-service";
    /// STS issuing credentials to a web or SAML identity
    /// (`AssumeRoleWithWebIdentity`): used for attribution only.
    pub const CREDENTIAL_ISSUE: &str = "credential-issue";
    /// An Azure Activity Log category that is not a caller's operation
    /// (Policy, ServiceHealth, ResourceHealth, Alert, Autoscale, …).
    pub const NOT_ADMINISTRATIVE: &str = "not-administrative";
}

// `Used` is the common case and holds its uses inline; boxing it would
// cost the allocation per record that inlining saves.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Outcome<'a> {
    Used {
        source: Source,
        day: Day,
        subject: Subject<'a>,
        uses: Uses<'a>,
        /// Other names of the principal (Azure app id, managed identity).
        aliases: Vec<String>,
    },
    NotUse {
        source: Source,
        day: Day,
        reason: &'static str,
    },
    Unattributable {
        source: Source,
        day: Day,
        message: String,
    },
    UnknownAction {
        source: Source,
        day: Day,
        /// The action as mapped (or the method), for the tally.
        action: String,
        message: String,
    },
    Malformed {
        source: Source,
        message: String,
    },
    Unrecognised {
        message: String,
    },
}

pub(crate) fn path<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |v, k| v.get(k))
}

/// A non-empty string at `keys`.
pub(crate) fn text<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a str> {
    path(value, keys)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The day of the first of `candidates` that is present; `Err` names what
/// is missing or unreadable.
pub(crate) fn day_of(value: &Value, candidates: &[&[&str]]) -> Result<Day, String> {
    for keys in candidates {
        if let Some(found) = path(value, keys).filter(|v| !v.is_null()) {
            let name = keys.join(".");
            return match found.as_str() {
                Some(ts) => Day::of_timestamp(ts)
                    .ok_or_else(|| format!("`{name}` {ts:?} is not a timestamp")),
                None => Err(format!("`{name}` is not a string")),
            };
        }
    }
    let names: Vec<String> = candidates
        .iter()
        .map(|k| format!("`{}`", k.join(".")))
        .collect();
    Err(format!("no timestamp ({})", names.join(" or ")))
}
