//! The shape of a CloudTrail event: the fields `CloudTrail::event` reads
//! (see `crate::typed`).

use crate::typed::{Elements, Entries, Shape, Str, object};
use smallvec::SmallVec;
use std::borrow::Cow;

object!(UserIdentity {
    kind: Str<'de> = "type",
    arn: Str<'de> = "arn",
    access_key_id: Str<'de> = "accessKeyId",
    principal_id: Str<'de> = "principalId",
    user_name: Str<'de> = "userName",
    session_context: SessionContext<'de> = "sessionContext",
});

object!(SessionContext {
    session_issuer: Issuer<'de> = "sessionIssuer",
});

object!(Issuer {
    arn: Str<'de> = "arn",
});

object!(Response {
    credentials: Credentials<'de> = "credentials",
    subject_from_web_identity_token: Str<'de> = "subjectFromWebIdentityToken",
    subject: PodSubject<'de> = "subject",
});

object!(Credentials {
    access_key_id: Str<'de> = "accessKeyId",
});

object!(
    /// `AssumeRoleForPodIdentity`'s `responseElements.subject`.
    PodSubject {
        namespace: Str<'de> = "namespace",
        service_account: Str<'de> = "serviceAccount",
    }
);

object!(Resource {
    arn_upper: Str<'de> = "ARN",
    arn: Str<'de> = "arn",
    arn_prefix: Str<'de> = "ARNPrefix",
});

object!(
    /// A session tag of `sts:AssumeRole`, in either capitalisation.
    Tag {
        key: Str<'de> = "key",
        key_upper: Str<'de> = "Key",
        value: Str<'de> = "value",
        value_upper: Str<'de> = "Value",
    }
);

/// `requestParameters`: its shape depends on the call, so it is kept as
/// a list of the values that can matter (the [`NAMED`] parameters, any
/// ARN-valued one, the session tags), in key order as `Value` keeps them
/// (ARN-valued parameters are taken in that order). Calls keep a few at
/// most, so they are held inline and found by a linear search.
#[derive(Debug, Default)]
pub(crate) struct Params<'de> {
    entries: SmallVec<[(Cow<'de, str>, Param<'de>); 3]>,
}

/// The parameters read by name (`Params::str`).
pub(crate) const NAMED: &[&str] = &["bucketName", "key", "versionId", "clusterName"];

#[derive(Debug)]
pub(crate) enum Param<'de> {
    Text(Cow<'de, str>),
    /// `tags`, when it is an array (its elements that are objects).
    Tags(Vec<Tag<'de>>),
    Other,
}

impl<'de> Params<'de> {
    /// The parameter `key` (one of [`NAMED`]) when it is a string
    /// (`Value::as_str`).
    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        debug_assert!(NAMED.contains(&key), "{key} is not kept");
        match self.get(key) {
            Some(Param::Text(s)) => Some(s),
            _ => None,
        }
    }

    /// A kept parameter.
    pub(crate) fn get(&self, key: &str) -> Option<&Param<'de>> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value)
    }

    /// The kept parameters' values, in key order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Param<'de>> {
        self.entries.iter().map(|(_, value)| value)
    }

    /// Keep `value` under `key` (a repeated key keeps its last value, as
    /// in `Value`).
    fn keep(&mut self, key: Cow<'de, str>, value: Param<'de>) {
        match self.find(&key) {
            Ok(at) => {
                if let Some(entry) = self.entries.get_mut(at) {
                    entry.1 = value;
                }
            }
            Err(at) => self.entries.insert(at, (key, value)),
        }
    }

    /// Forget `key`: a repeated key whose last value does not matter.
    fn forget(&mut self, key: &str) {
        if let Ok(at) = self.find(key) {
            self.entries.remove(at);
        }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_ref().cmp(key))
    }
}

impl<'de> Shape<'de> for Params<'de> {
    fn from_object<E: Entries<'de>>(mut entries: E) -> Result<Option<Self>, E::Error> {
        let mut params = Params::default();
        while let Some(key) = entries.next_key()? {
            let value = match entries.value::<Param>()? {
                Some(Param::Tags(_)) if key != "tags" => Param::Other,
                Some(value) => value,
                None => Param::Other,
            };
            let matters = match &value {
                Param::Text(text) => NAMED.contains(&key.as_ref()) || text.starts_with("arn:"),
                Param::Tags(_) => true,
                Param::Other => false,
            };
            if matters {
                params.keep(key, value);
            } else if !params.entries.is_empty() {
                params.forget(&key);
            }
        }
        Ok(Some(params))
    }
}

/// One parameter: its text, the session tags (any array is read as tags;
/// `Params` keeps it only under `tags`), or nothing that matters.
impl<'de> Shape<'de> for Param<'de> {
    fn from_str(s: Cow<'de, str>) -> Option<Self> {
        Some(Param::Text(s))
    }
    fn other() -> Option<Self> {
        Some(Param::Other)
    }
    fn from_array<E: Elements<'de>>(elements: E) -> Result<Option<Self>, E::Error> {
        Ok(Vec::<Tag<'de>>::from_array(elements)?.map(Param::Tags))
    }
}
