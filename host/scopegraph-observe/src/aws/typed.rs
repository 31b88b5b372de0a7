//! CloudTrail events as typed records: the fields `CloudTrail::event`
//! reads, and the same reading of them (see `crate::typed` for when a
//! record takes this path).

use super::{Attribution, CloudTrail, Rejected, failed_auth};
use crate::identity::{IdentityKey, Pod, Principal, ServiceAccount, role_key};
use crate::model::Source;
use crate::record::{Outcome, Subject, Use, reason};
use crate::typed::{Record, Skip, Str, day_of, object, text};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

object!(UserIdentity {
    kind: Str<'a> = "type",
    arn: Str<'a> = "arn",
    access_key_id: Str<'a> = "accessKeyId",
    principal_id: Str<'a> = "principalId",
    user_name: Str<'a> = "userName",
    session_context: SessionContext<'a> = "sessionContext",
});

object!(SessionContext {
    session_issuer: Issuer<'a> = "sessionIssuer",
});

object!(Issuer {
    arn: Str<'a> = "arn",
});

object!(Response {
    credentials: Credentials<'a> = "credentials",
    subject_from_web_identity_token: Str<'a> = "subjectFromWebIdentityToken",
    subject: PodSubject<'a> = "subject",
});

object!(Credentials {
    access_key_id: Str<'a> = "accessKeyId",
});

object!(
    /// `AssumeRoleForPodIdentity`'s `responseElements.subject`.
    PodSubject {
        namespace: Str<'a> = "namespace",
        service_account: Str<'a> = "serviceAccount",
    }
);

object!(Resource {
    arn_upper: Str<'a> = "ARN",
    arn: Str<'a> = "arn",
    arn_prefix: Str<'a> = "ARNPrefix",
});

object!(
    /// A session tag of `sts:AssumeRole`, in either capitalisation.
    Tag {
        key: Str<'a> = "key",
        key_upper: Str<'a> = "Key",
        value: Str<'a> = "value",
        value_upper: Str<'a> = "Value",
    }
);

/// `requestParameters`: its shape depends on the call, so it is kept as
/// a map of the values that can matter, in key order as `Value` keeps them
/// (ARN-valued parameters are taken in that order).
#[derive(Debug, Default)]
pub(crate) struct Params<'a> {
    entries: BTreeMap<Cow<'a, str>, Param<'a>>,
}

#[derive(Debug)]
enum Param<'a> {
    Text(Cow<'a, str>),
    /// `tags`, when it is an array (of objects, or the record declines).
    Tags(Vec<Tag<'a>>),
    Other,
}

impl Params<'_> {
    /// The parameter `key` when it is a string (`Value::as_str`).
    fn str(&self, key: &str) -> Option<&str> {
        match self.entries.get(key) {
            Some(Param::Text(s)) => Some(s),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Params<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Entries<'a> {
            type Value = Params<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a requestParameters object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params<'a>, A::Error> {
                let mut params = Params::default();
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    let tags = key == "tags";
                    let value = map.next_value_seed(ParamSeed {
                        tags,
                        _borrows: PhantomData,
                    })?;
                    // A repeated key keeps its last value, as in `Value`.
                    params.entries.insert(key, value);
                }
                Ok(params)
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

/// One parameter: its text, the session tags, or nothing that matters.
struct ParamSeed<'a> {
    tags: bool,
    _borrows: PhantomData<&'a ()>,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for ParamSeed<'a> {
    type Value = Param<'a>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Param<'a>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ParamSeed<'a> {
    type Value = Param<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Param<'a>, E> {
        Ok(Param::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Param<'a>, E> {
        Ok(Param::Text(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Param<'a>, E> {
        Ok(Param::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Param<'a>, E> {
        Ok(Param::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Param<'a>, E> {
        Ok(Param::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Param<'a>, E> {
        Ok(Param::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Param<'a>, E> {
        Ok(Param::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Param<'a>, A::Error> {
        if self.tags {
            let mut tags = Vec::new();
            while let Some(tag) = seq.next_element::<Tag<'a>>()? {
                tags.push(tag);
            }
            return Ok(Param::Tags(tags));
        }
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Param::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Param<'a>, A::Error> {
        while map.next_key::<Skip>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Param::Other)
    }
}

impl CloudTrail {
    /// `event`, on a typed record.
    pub(crate) fn typed_event(&mut self, r: &Record<'_>) -> Outcome {
        let source = Source::CloudTrail;
        let day = match day_of(&[("eventTime", &r.event_time)]) {
            Ok(day) => day,
            Err(message) => return Outcome::Malformed { source, message },
        };
        let (Some(event_source), Some(event_name)) = (text(&r.event_source), text(&r.event_name))
        else {
            return Outcome::Malformed {
                source,
                message: "no `eventSource` or no `eventName`".into(),
            };
        };
        let not_use = |reason| Outcome::NotUse {
            source,
            day,
            reason,
        };
        match text(&r.event_type) {
            Some("AwsConsoleSignIn") => return not_use(reason::CONSOLE_SIGN_IN),
            Some("AwsServiceEvent") => return not_use(reason::SERVICE_EVENT),
            Some("AwsVpceEvent") => return not_use(reason::VPC_ENDPOINT_EVENT),
            Some("AwsConsoleAction" | "AwsCloudTrailInsight") => {
                return not_use(reason::NOT_AN_API_CALL);
            }
            _ => {}
        }
        if text(&r.event_category) == Some("Insight") {
            return not_use(reason::NOT_AN_API_CALL);
        }
        if let Some(failed) = text(&r.error_code).and_then(failed_auth) {
            return not_use(failed);
        }
        self.typed_note_credentials(r, event_source, event_name);
        let subject = match typed_subject(r.user_identity.as_ref()) {
            Ok(subject) => subject,
            Err(Rejected::NotUse(reason)) => return not_use(reason),
            Err(Rejected::Unattributable(message)) => {
                return Outcome::Unattributable {
                    source,
                    day,
                    message,
                };
            }
        };
        let versioned = r
            .request_parameters
            .as_ref()
            .and_then(|p| p.str("versionId"))
            .is_some_and(|v| !v.is_empty() && v != "null");
        let actions = match self.catalogue.actions_for_versioned(
            event_source,
            event_name,
            versioned,
        ) {
            Ok(actions) => actions,
            Err(action) => {
                return Outcome::UnknownAction {
                    source,
                    day,
                    message: format!(
                        "{event_source} {event_name} maps to `{action}`, which is not in the AWS action catalogue: not counted"
                    ),
                    action,
                };
            }
        };
        let resources = typed_resources(r);
        Outcome::Used {
            source,
            day,
            subject,
            uses: actions
                .into_iter()
                .map(|a| Use {
                    permission: a.to_string(),
                    resources: resources.clone(),
                })
                .collect(),
            aliases: Vec::new(),
        }
    }

    /// `note_credentials`, on a typed record.
    fn typed_note_credentials(&mut self, r: &Record<'_>, event_source: &str, event_name: &str) {
        if !super::issues_credentials(event_source, event_name) {
            return;
        }
        let response = r.response_elements.as_ref();
        let Some(access_key) = response
            .and_then(|re| re.credentials.as_ref())
            .and_then(|c| text(&c.access_key_id))
        else {
            return;
        };
        let user = r.user_identity.as_ref();
        let params = r.request_parameters.as_ref();
        let mut attribution = Attribution {
            service_account: None,
            cluster: None,
            pod: None,
            parent: None,
        };
        match event_name {
            "AssumeRoleWithWebIdentity" => {
                attribution.service_account = response
                    .and_then(|re| text(&re.subject_from_web_identity_token))
                    .or_else(|| user.and_then(|u| text(&u.user_name)))
                    .and_then(ServiceAccount::from_username);
            }
            "AssumeRoleForPodIdentity" => {
                let subject = response.and_then(|re| re.subject.as_ref());
                if let Some((ns, sa)) =
                    subject.and_then(|s| Some((text(&s.namespace)?, text(&s.service_account)?)))
                {
                    attribution.service_account = Some(ServiceAccount::new(ns, sa));
                }
                attribution.cluster = params
                    .and_then(|p| p.str("clusterName"))
                    .filter(|s| !s.trim().is_empty())
                    .map(String::from);
            }
            _ => {
                let tag = |name: &str| params.and_then(|p| session_tag(p, name));
                if let (Some(ns), Some(sa)) = (
                    tag("kubernetes-namespace"),
                    tag("kubernetes-service-account"),
                ) {
                    attribution.service_account = Some(ServiceAccount::new(ns, sa));
                    attribution.cluster = tag("eks-cluster-name");
                    attribution.pod =
                        Pod::new(tag("kubernetes-pod-name"), tag("kubernetes-pod-uid"));
                } else if user.and_then(|u| text(&u.kind)) == Some("AssumedRole") {
                    attribution.parent =
                        user.and_then(|u| text(&u.access_key_id)).map(String::from);
                }
            }
        }
        if attribution.service_account.is_some() || attribution.parent.is_some() {
            self.attributions
                .insert(access_key.to_string(), attribution);
        }
    }
}

fn session_tag(params: &Params<'_>, name: &str) -> Option<String> {
    let Some(Param::Tags(tags)) = params.entries.get("tags") else {
        return None;
    };
    tags.iter()
        .find(|t| text(&t.key).or_else(|| text(&t.key_upper)) == Some(name))
        .and_then(|t| text(&t.value).or_else(|| text(&t.value_upper)))
        .map(String::from)
}

/// `subject`, on a typed `userIdentity`.
fn typed_subject(user: Option<&UserIdentity<'_>>) -> Result<Subject, Rejected> {
    let Some(user) = user else {
        return Err(Rejected::Unattributable("no `userIdentity`".into()));
    };
    let arn = text(&user.arn);
    let role = || {
        user.session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref())
            .and_then(|i| text(&i.arn))
            .and_then(role_key)
            .or_else(|| arn.and_then(role_key))
    };
    let session = |role: String| {
        let role = IdentityKey::new(Principal::AwsRole(role));
        match text(&user.access_key_id) {
            Some(key) => Subject::AwsSession {
                role,
                access_key: key.to_string(),
            },
            None => Subject::Identity(role),
        }
    };
    match text(&user.kind) {
        Some("AssumedRole") => role().map(session).ok_or_else(|| {
            Rejected::Unattributable(
                "an AssumedRole identity without a role ARN (`arn`, `sessionContext.sessionIssuer.arn`)".into(),
            )
        }),
        Some(kind @ ("IAMUser" | "Root" | "FederatedUser")) => arn
            .map(|arn| Subject::Identity(IdentityKey::new(Principal::Aws(arn.to_string()))))
            .ok_or_else(|| Rejected::Unattributable(format!("userIdentity.type {kind} without `userIdentity.arn`"))),
        Some("AWSService") => Err(Rejected::NotUse(reason::AWS_SERVICE)),
        Some("WebIdentityUser" | "SAMLUser") => Err(Rejected::NotUse(reason::CREDENTIAL_ISSUE)),
        Some(other) => Err(Rejected::Unattributable(format!(
            "userIdentity.type {other} names no principal of this account (only {})",
            text(&user.principal_id).map_or("no principalId".to_string(), |p| format!("principalId {p}"))
        ))),
        None => match (role(), arn) {
            (Some(role), _) => Ok(session(role)),
            (None, Some(arn)) if arn.starts_with("arn:") => {
                Ok(Subject::Identity(IdentityKey::new(Principal::Aws(arn.to_string()))))
            }
            _ => Err(Rejected::Unattributable("`userIdentity` has no type and no ARN".into())),
        },
    }
}

/// `resources`, on a typed record.
fn typed_resources(r: &Record<'_>) -> Vec<String> {
    fn push(out: &mut Vec<String>, r: String) {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    let mut out: Vec<String> = Vec::new();
    for resource in r.resources.iter().flatten() {
        if let Some(arn) = text(&resource.arn_upper).or_else(|| text(&resource.arn)) {
            push(&mut out, arn.to_string());
        } else if let Some(prefix) = text(&resource.arn_prefix) {
            push(&mut out, format!("{prefix}*"));
        }
    }
    if !out.is_empty() {
        return out;
    }
    let Some(params) = &r.request_parameters else {
        return out;
    };
    if let Some(bucket) = params.str("bucketName") {
        let partition = match text(&r.aws_region) {
            Some(r) if r.starts_with("cn-") => "aws-cn",
            Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
            _ => "aws",
        };
        match params.str("key") {
            Some(key) => push(&mut out, format!("arn:{partition}:s3:::{bucket}/{key}")),
            None => push(&mut out, format!("arn:{partition}:s3:::{bucket}")),
        }
    }
    for value in params.entries.values() {
        if let Param::Text(arn) = value
            && arn.starts_with("arn:")
        {
            push(&mut out, arn.to_string());
        }
    }
    out
}
