//! CloudTrail events and Cloud Audit Log entries as typed records: the
//! fields this crate reads, borrowed from the input, everything else
//! skipped unparsed (as `serde::de::IgnoredAny` skips it).
//!
//! One reading for every route a record takes: a line of text (the fast
//! path, no `Value` tree is built), an element of a CloudTrail `Records`
//! array, or a `serde_json::Value` that the streaming reader built (a
//! pretty-printed file) is deserialised into the same [`Record`], and
//! `aws`/`gcp` attribute only that.
//!
//! Fields are read leniently, as `Value::as_str` and friends read them: a
//! field holding another type than the one expected reads as absent (a
//! timestamp remembers that it was there), so a well-formed record never
//! fails to read; only malformed JSON does.

use crate::aws::typed::{Params, Resource, Response, UserIdentity};
use crate::day::Day;
use crate::gcp::typed::Payload;
use crate::stream::Container;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A string, borrowed from the input unless it had escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Str<'de>(pub Cow<'de, str>);

/// The field as a string, if it holds one.
pub(crate) fn as_str<'b>(field: &'b Option<Str<'_>>) -> Option<&'b str> {
    field.as_ref().map(|s| s.0.as_ref())
}

/// A non-empty string (`record::text`).
pub(crate) fn text<'b>(field: &'b Option<Str<'_>>) -> Option<&'b str> {
    as_str(field).filter(|s| !is_blank(s))
}

/// Empty or only whitespace; settled by the first byte for most values.
fn is_blank(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b) if b.is_ascii() && !b.is_ascii_whitespace() => false,
        _ => s.trim().is_empty(),
    }
}

/// A timestamp field: its text, or the fact that it held something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stamp<'de> {
    Text(Cow<'de, str>),
    NotText,
}

/// `record::day_of` on typed fields: the day of the first candidate that
/// is present (and not null).
pub(crate) fn day_of(candidates: &[(&str, &Option<Stamp<'_>>)]) -> Result<Day, String> {
    match candidates.iter().find(|(_, field)| field.is_some()) {
        Some((name, Some(Stamp::Text(ts)))) => {
            Day::of_timestamp(ts).ok_or_else(|| format!("`{name}` {ts:?} is not a timestamp"))
        }
        Some((name, _)) => Err(format!("`{name}` is not a string")),
        None => {
            let names: Vec<String> = candidates
                .iter()
                .map(|(name, _)| format!("`{name}`"))
                .collect();
            Err(format!("no timestamp ({})", names.join(" or ")))
        }
    }
}

/// How a field's value is read, whatever JSON it holds: each method gives
/// the field for one kind of JSON value, and `None` (the default) reads it
/// as absent. Objects and arrays of another shape are skipped unparsed.
///
/// A shape is written once, against [`Entries`] and [`Elements`], and
/// read by either reader: `serde` (a `Value`, or text the scanner leaves
/// to it) or the scanner (`crate::scan`).
pub(crate) trait Shape<'de>: Sized {
    fn from_str(_: Cow<'de, str>) -> Option<Self> {
        Self::other()
    }
    fn from_u64(_: u64) -> Option<Self> {
        Self::other()
    }
    fn from_bool(_: bool) -> Option<Self> {
        Self::other()
    }
    /// Any other non-null value (and the default of the others).
    fn other() -> Option<Self> {
        None
    }
    fn from_object<E: Entries<'de>>(mut entries: E) -> Result<Option<Self>, E::Error> {
        while entries.next_key()?.is_some() {
            entries.skip()?;
        }
        Ok(Self::other())
    }
    fn from_array<E: Elements<'de>>(mut elements: E) -> Result<Option<Self>, E::Error> {
        elements.skip_rest()?;
        Ok(Self::other())
    }
}

/// The entries of a JSON object, one key at a time, each followed by
/// exactly one call to `value` or `skip` (or `decline`, which ends it).
pub(crate) trait Entries<'de> {
    type Error;
    /// The next key; `None` after the last.
    fn next_key(&mut self) -> Result<Option<Cow<'de, str>>, Self::Error>;
    /// The value of the key just read, as a field of shape `T`.
    fn value<T: Shape<'de>>(&mut self) -> Result<Option<T>, Self::Error>;
    /// Pass over the value of the key just read.
    fn skip(&mut self) -> Result<(), Self::Error>;
    /// The error that gives the record up (a key of another format).
    fn decline(&mut self) -> Self::Error;
}

/// The elements of a JSON array.
pub(crate) trait Elements<'de> {
    type Error;
    /// The next element as a field of shape `T`; `None` after the last.
    fn next<T: Shape<'de>>(&mut self) -> Result<Option<Option<T>>, Self::Error>;
    /// Pass over the elements left.
    fn skip_rest(&mut self) -> Result<(), Self::Error>;
}

/// serde's side of [`Entries`] and [`Elements`].
pub(crate) struct Serde<A>(pub A);

impl<'de, A: MapAccess<'de>> Entries<'de> for Serde<A> {
    type Error = A::Error;
    fn next_key(&mut self) -> Result<Option<Cow<'de, str>>, A::Error> {
        Ok(self.0.next_key::<Key<'de>>()?.map(|Key(key)| key))
    }
    fn value<T: Shape<'de>>(&mut self) -> Result<Option<T>, A::Error> {
        self.0.next_value_seed(Field::new())
    }
    fn skip(&mut self) -> Result<(), A::Error> {
        self.0.next_value::<IgnoredAny>().map(drop)
    }
    fn decline(&mut self) -> A::Error {
        de::Error::custom("not a typed format")
    }
}

impl<'de, A: SeqAccess<'de>> Elements<'de> for Serde<A> {
    type Error = A::Error;
    fn next<T: Shape<'de>>(&mut self) -> Result<Option<Option<T>>, A::Error> {
        self.0.next_element_seed(Field::new())
    }
    fn skip_rest(&mut self) -> Result<(), A::Error> {
        while self.0.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

impl<'de> Shape<'de> for Str<'de> {
    fn from_str(s: Cow<'de, str>) -> Option<Self> {
        Some(Str(s))
    }
}

impl<'de> Shape<'de> for Stamp<'de> {
    fn from_str(s: Cow<'de, str>) -> Option<Self> {
        Some(Stamp::Text(s))
    }
    fn other() -> Option<Self> {
        Some(Stamp::NotText)
    }
}

impl<'de> Shape<'de> for u64 {
    fn from_u64(v: u64) -> Option<Self> {
        Some(v)
    }
}

impl<'de> Shape<'de> for bool {
    fn from_bool(v: bool) -> Option<Self> {
        Some(v)
    }
}

/// An array of `T`: elements of another shape are left out.
impl<'de, T: Shape<'de>> Shape<'de> for Vec<T> {
    fn from_array<E: Elements<'de>>(mut elements: E) -> Result<Option<Self>, E::Error> {
        let mut out = Vec::new();
        while let Some(item) = elements.next::<T>()? {
            out.extend(item);
        }
        Ok(Some(out))
    }
}

/// The seed that reads one field as `T` (see [`Shape`]).
pub(crate) struct Field<T>(PhantomData<T>);

impl<T> Field<T> {
    pub(crate) fn new() -> Self {
        Field(PhantomData)
    }
}

impl<'de, T: Shape<'de>> DeserializeSeed<'de> for Field<T> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Shape<'de>> Visitor<'de> for Field<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Option<T>, E> {
        Ok(T::from_str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
        Ok(T::from_str(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<T>, E> {
        Ok(T::from_u64(v))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<T>, E> {
        Ok(T::other())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<T>, E> {
        Ok(T::other())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<T>, E> {
        Ok(T::from_bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
        T::from_object(Serde(map))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<T>, A::Error> {
        T::from_array(Serde(seq))
    }
}

/// A struct of the named fields of a JSON object, each optional and read
/// as a [`Field`]: other keys are skipped, a repeated key keeps its last
/// value (as in `Value`), and anything but an object reads as absent.
macro_rules! object {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty = $key:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub(crate) struct $name<'de> {
            $(pub $field: Option<$ty>,)*
            _borrows: std::marker::PhantomData<&'de ()>,
        }

        impl<'de> $crate::typed::Shape<'de> for $name<'de> {
            fn from_object<E: $crate::typed::Entries<'de>>(mut entries: E) -> Result<Option<Self>, E::Error> {
                let mut out = $name::default();
                while let Some(key) = entries.next_key()? {
                    match key.as_ref() {
                        $($key => out.$field = entries.value()?,)*
                        _ => entries.skip()?,
                    }
                }
                Ok(Some(out))
            }
        }
    };
}
pub(crate) use object;

/// An object key, borrowed from the input unless it had escapes.
pub(crate) struct Key<'de>(pub Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The fields of a top-level record that classification and the two typed
/// formats read (a CloudTrail event and a Cloud Audit `LogEntry` side by
/// side: which it is is only known once every key has been seen).
#[derive(Debug, Default)]
pub(crate) struct Record<'de> {
    pub event_time: Option<Stamp<'de>>,
    pub event_source: Option<Str<'de>>,
    pub event_name: Option<Str<'de>>,
    pub event_type: Option<Str<'de>>,
    pub event_category: Option<Str<'de>>,
    pub error_code: Option<Str<'de>>,
    pub aws_region: Option<Str<'de>>,
    pub user_identity: Option<UserIdentity<'de>>,
    pub request_parameters: Option<Params<'de>>,
    pub response_elements: Option<Response<'de>>,
    pub resources: Option<Vec<Resource<'de>>>,
    pub proto_payload: Option<Payload<'de>>,
    pub timestamp: Option<Stamp<'de>>,
    pub receive_timestamp: Option<Stamp<'de>>,
    /// Keys present, null or not (classification asks `contains_key`).
    pub has_event_source: bool,
    pub has_cloudtrail_key: bool,
    pub has_proto_payload: bool,
}

/// What the text reader makes of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typed {
    CloudTrail,
    Gcp,
    /// Another format (or not JSON): read as a `Value` and classified.
    Declined,
}

impl<'de> Record<'de> {
    /// Parse `json` (one record, nothing else) into `out` and tell its
    /// format the way `classify` would, or decline. (Into `out`: the
    /// record is large, and moving it costs more than filling it where it
    /// stays. From `str`: its UTF-8 is checked once, not string by string.)
    pub(crate) fn read(json: &'de str, container: Container, out: &mut Record<'de>) -> Typed {
        if container == Container::AuditEventList {
            return Typed::Declined;
        }
        let in_records = container == Container::CloudTrailRecords;
        // The scanner first; what it leaves, serde_json reads afresh.
        match crate::scan::record(json, !in_records, out) {
            Ok(()) => return out.classify(in_records),
            Err(crate::scan::Stop::Foreign) => return Typed::Declined,
            Err(crate::scan::Stop::Unsure) => *out = Record::default(),
        }
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let seed = RecordSeed {
            foreign_declines: !in_records,
            out: &mut *out,
        };
        if seed
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .is_err()
        {
            return Typed::Declined;
        }
        out.classify(in_records)
    }

    /// Tell the format as `classify` does.
    pub(crate) fn classify(&self, in_records: bool) -> Typed {
        let event_name_is_string = self.event_name.is_some();
        if in_records || self.has_event_source || (event_name_is_string && self.has_cloudtrail_key)
        {
            Typed::CloudTrail
        } else if self.has_proto_payload {
            Typed::Gcp
        } else {
            Typed::Declined
        }
    }

    /// The record a `Value` holds, once classified as CloudTrail or GCP;
    /// `None` when it is not an object.
    pub(crate) fn of_value(value: &'de Value) -> Option<Record<'de>> {
        let mut record = Record::default();
        RecordSeed {
            foreign_declines: false,
            out: &mut record,
        }
        .deserialize(value)
        .ok()?;
        Some(record)
    }
}

/// Reads a [`Record`] into `out`; with `foreign_declines`, a key of
/// another format stops the reading with an error.
pub(crate) struct RecordSeed<'r, 'de> {
    pub foreign_declines: bool,
    pub out: &'r mut Record<'de>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a log record")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.out.read_entries(Serde(map), self.foreign_declines)
    }
}

impl<'de> Record<'de> {
    /// Read a record object's entries into `self`; with
    /// `foreign_declines`, a key of another format stops the reading with
    /// the reader's `decline` error.
    pub(crate) fn read_entries<E: Entries<'de>>(
        &mut self,
        mut entries: E,
        foreign_declines: bool,
    ) -> Result<(), E::Error> {
        let r = self;
        while let Some(key) = entries.next_key()? {
            match key.as_ref() {
                "eventTime" => {
                    r.has_cloudtrail_key = true;
                    r.event_time = entries.value()?;
                }
                "eventSource" => {
                    r.has_event_source = true;
                    r.event_source = entries.value()?;
                }
                "eventName" => r.event_name = entries.value()?,
                "eventType" => r.event_type = entries.value()?,
                "eventCategory" => r.event_category = entries.value()?,
                "errorCode" => r.error_code = entries.value()?,
                "awsRegion" => r.aws_region = entries.value()?,
                "eventVersion" => {
                    r.has_cloudtrail_key = true;
                    entries.skip()?;
                }
                "userIdentity" => {
                    r.has_cloudtrail_key = true;
                    r.user_identity = entries.value()?;
                }
                "requestParameters" => r.request_parameters = entries.value()?,
                "responseElements" => r.response_elements = entries.value()?,
                "resources" => r.resources = entries.value()?,
                "protoPayload" => {
                    r.has_proto_payload = true;
                    r.proto_payload = entries.value()?;
                }
                "timestamp" => r.timestamp = entries.value()?,
                "receiveTimestamp" => r.receive_timestamp = entries.value()?,
                // Keys of the other formats (Kubernetes audit events and
                // lists, Azure records, CloudTrail `Records` files): seeing
                // one in a record not already known to be CloudTrail, the
                // text reader gives up at once and the record takes the
                // `Value` path, whose classification decides. Neither
                // CloudTrail nor Cloud Audit Log records have them.
                "apiVersion" | "kind" | "verb" | "items" | "Records" | "operationName"
                | "resourceId" | "category" | "properties"
                    if foreign_declines =>
                {
                    return Err(entries.decline());
                }
                _ => entries.skip()?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Diagnostic, Ingest, UsageModel};
    use std::path::{Path, PathBuf};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    fn ingest(fast_path: bool, read: impl Fn(&mut Ingest)) -> (UsageModel, Vec<Diagnostic>) {
        let mut ingest = Ingest::new().with_diagnostic_limit(usize::MAX);
        ingest.fast_path = fast_path;
        read(&mut ingest);
        ingest.finish()
    }

    /// The model and diagnostics, line path on and off, as text.
    fn both_ways(read: impl Fn(&mut Ingest)) -> (String, String) {
        let (model, diagnostics) = ingest(true, &read);
        let typed = format!("{model:#?}\n{diagnostics:#?}");
        let (model, diagnostics) = ingest(false, &read);
        (typed, format!("{model:#?}\n{diagnostics:#?}"))
    }

    fn assert_same(name: &str, text: &str) {
        let (typed, value) = both_ways(|i| i.read_reader(name, text.as_bytes()));
        assert_eq!(typed, value, "{name}:\n{text}");
    }

    fn kind(json: &str) -> &'static str {
        let mut record = Record::default();
        match Record::read(json, Container::None, &mut record) {
            Typed::CloudTrail => "cloudtrail",
            Typed::Gcp if crate::gcp::is_kubernetes_entry(&record) => "declined",
            Typed::Gcp => "gcp",
            Typed::Declined => "declined",
        }
    }

    const CALL: &str = r#"{"eventVersion":"1.08","eventTime":"2025-03-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-west-2","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/agent/s","accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/agent"}}},"requestParameters":{"bucketName":"b","key":"k","versionId":"3"},"responseElements":null}"#;
    const ENTRY: &str = r#"{"protoPayload":{"serviceName":"storage.googleapis.com","methodName":"storage.objects.get","resourceName":"projects/_/buckets/b","authenticationInfo":{"principalEmail":"ci@p.iam.gserviceaccount.com"},"authorizationInfo":[{"permission":"storage.objects.get","granted":true,"resource":"projects/_/buckets/b/objects/o"}]},"timestamp":"2025-03-02T10:00:00Z"}"#;

    #[test]
    fn every_fixture_reads_the_same_typed_or_not() {
        for dir in ["scenarios", "stratus"] {
            let path = fixtures().join(dir);
            let (typed, value) = both_ways(|i| i.read_path(&path));
            assert_eq!(typed, value, "{dir}");
        }
        // The labelled samples, unwrapped into JSON lines and a Records file.
        for file in ["cloudtrail", "gcp-audit", "azure-activity", "k8s-audit"] {
            let path = fixtures().join(format!("labelled/{file}.labelled.jsonl"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let records: Vec<String> = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v.get("log").map(|log| log.to_string()))
                .collect();
            assert!(!records.is_empty(), "{file}");
            assert_same(file, &records.join("\n"));
            assert_same(file, &format!("{{\"Records\":[{}]}}", records.join(",")));
            assert_same(file, &format!("[{}]", records.join(", ")));
        }
    }

    #[test]
    fn the_benchmarked_formats_are_typed() {
        assert_eq!(kind(CALL), "cloudtrail");
        assert_eq!(kind(ENTRY), "gcp");
        assert_eq!(
            kind(r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1"}"#),
            "declined"
        );
        assert_eq!(kind(r#"{"Records":[]}"#), "declined");
        assert_eq!(kind("[1]"), "declined");
    }

    #[test]
    fn escaped_strings_are_read() {
        let escaped = CALL
            .replace("GetObject", r"Get\u004fbject")
            .replace(r#""key":"k""#, r#""key":"a\/b \"c\"""#);
        let mut record = Record::default();
        assert_eq!(
            Record::read(&escaped, Container::None, &mut record),
            Typed::CloudTrail
        );
        assert_eq!(text(&record.event_name), Some("GetObject"));
        assert!(matches!(record.event_name, Some(Str(Cow::Owned(_)))));
        assert!(matches!(record.event_source, Some(Str(Cow::Borrowed(_)))));
        assert_same("escaped.jsonl", &escaped);
        let (model, _) = ingest(true, |i| i.read_reader("e", escaped.as_bytes()));
        let summary = format!("{model:?}");
        assert!(summary.contains(r#"arn:aws:s3:::b/a/b \"c\""#), "{summary}");
        assert!(summary.contains("s3:GetObjectVersion"), "{summary}");
    }

    #[test]
    fn missing_optional_fields_are_read_as_the_value_path_reads_them() {
        for (name, record) in [
            ("no parameters", CALL.replace(r#""requestParameters":{"bucketName":"b","key":"k","versionId":"3"},"#, "")),
            ("no response", CALL.replace(r#","responseElements":null"#, "")),
            ("no identity", CALL.replace(r#""userIdentity":"#, r#""x":"#)),
            ("no time", CALL.replace(r#""eventTime":"2025-03-02T10:00:00Z","#, "")),
            ("null time", CALL.replace(r#""2025-03-02T10:00:00Z""#, "null")),
            ("empty name", CALL.replace(r#""GetObject""#, r#""  ""#)),
            ("no issuer", CALL.replace(r#","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/agent"}}"#, "")),
            ("no authentication", ENTRY.replace(r#""authenticationInfo":{"principalEmail":"ci@p.iam.gserviceaccount.com"},"#, "")),
            ("no checks", ENTRY.replace(r#","authorizationInfo":[{"permission":"storage.objects.get","granted":true,"resource":"projects/_/buckets/b/objects/o"}]"#, "")),
            ("not granted", ENTRY.replace(r#""granted":true,"#, "")),
            ("receive time", ENTRY.replace(r#""timestamp""#, r#""receiveTimestamp""#)),
            ("no entry time", ENTRY.replace(r#","timestamp":"2025-03-02T10:00:00Z""#, "")),
        ] {
            assert_ne!(kind(&record), "declined", "{name}");
            assert_same(name, &record);
        }
    }

    #[test]
    fn fields_of_another_type_read_as_absent_the_same_either_way() {
        for (name, record, expected) in [
            ("time a number", CALL.replace(r#""2025-03-02T10:00:00Z""#, "20250302"), "cloudtrail"),
            ("identity a string", CALL.replace(r#""type":"AssumedRole""#, r#""type":7"#), "cloudtrail"),
            ("parameters an array", CALL.replace(r#"{"bucketName":"b","key":"k","versionId":"3"}"#, "[1]"), "cloudtrail"),
            ("tags not objects", CALL.replace(r#""versionId":"3""#, r#""tags":["x"]"#), "cloudtrail"),
            ("code a string", ENTRY.replace(r#""resourceName""#, r#""status":{"code":"7"},"resourceName""#), "gcp"),
            ("code a float", ENTRY.replace(r#""resourceName""#, r#""status":{"code":7.0},"resourceName""#), "gcp"),
            ("granted a string", ENTRY.replace("true", r#""true""#), "gcp"),
            ("checks an object", ENTRY.replace(r#"[{"permission""#, r#"{"x":[{"permission""#).replace("o\"}]", "o\"}]}"), "gcp"),
            ("checks not objects", ENTRY.replace(r#"[{"permission""#, r#"[1,{"permission""#), "gcp"),
            ("payload null", ENTRY.replace(r#"{"serviceName":"storage.googleapis.com","methodName":"storage.objects.get","resourceName":"projects/_/buckets/b","authenticationInfo":{"principalEmail":"ci@p.iam.gserviceaccount.com"},"authorizationInfo":[{"permission":"storage.objects.get","granted":true,"resource":"projects/_/buckets/b/objects/o"}]}"#, "null"), "gcp"),
            ("GKE", ENTRY.replace("storage.googleapis.com", "k8s.io"), "declined"),
            ("Azure", r#"{"operationName":"Microsoft.Storage/x/read","resourceId":"/s","time":"2025-03-02T10:00:00Z","eventSource":"x"}"#.to_string(), "declined"),
        ] {
            assert_eq!(kind(&record), expected, "{name}");
            assert_same(name, &record);
        }
        // Each reads as the reader expects it to.
        let (_, diagnostics) = ingest(true, |i| {
            let time = CALL.replace(r#""2025-03-02T10:00:00Z""#, "20250302");
            i.read_reader("t.jsonl", time.as_bytes());
        });
        assert!(
            diagnostics
                .iter()
                .any(|d| d.message.contains("`eventTime` is not a string")),
            "{diagnostics:?}"
        );
        let (model, _) = ingest(true, |i| {
            let checks = ENTRY.replace(r#"[{"permission""#, r#"[1,{"permission""#);
            i.read_reader("c.jsonl", checks.as_bytes());
        });
        assert_eq!(model.stats(crate::Source::GcpAudit).used, 1);
        // A repeated key keeps its last value, typed or not, whatever the
        // type of the ones before.
        for first in [r#""ListBuckets""#, "7"] {
            let twice = CALL.replace(
                r#""eventName":"GetObject""#,
                &format!(r#""eventName":{first},"eventName":"PutObject""#),
            );
            assert_eq!(kind(&twice), "cloudtrail");
            assert_same("twice", &twice);
            let (model, _) = ingest(true, |i| i.read_reader("t", twice.as_bytes()));
            assert!(format!("{model:?}").contains("s3:PutObject"), "{first}");
        }
    }

    /// A value the reader does not read is skipped, not parsed (as
    /// `IgnoredAny` skips it): what `Value` cannot hold there (a lone
    /// surrogate escape, a number out of range) does not cost the record
    /// on the line path. The streaming reader builds a `Value`, so a
    /// pretty-printed file holding one is reported as invalid JSON.
    #[test]
    fn values_not_read_are_skipped_unparsed() {
        for (name, record) in [
            (
                "number out of range",
                CALL.replace(r#""awsRegion""#, r#""x":1e400,"awsRegion""#),
            ),
            (
                "lone surrogate",
                CALL.replace(r#""awsRegion""#, r#""x":"\ud800","awsRegion""#),
            ),
        ] {
            assert_eq!(kind(&record), "cloudtrail", "{name}");
            let (model, diagnostics) = ingest(true, |i| i.read_reader("r", record.as_bytes()));
            assert_eq!(model.stats(crate::Source::CloudTrail).used, 1, "{name}");
            assert!(
                !diagnostics.iter().any(|d| d.message.contains("JSON")),
                "{name}: {diagnostics:?}"
            );
            let (model, _) = ingest(false, |i| i.read_reader("r", record.as_bytes()));
            assert_eq!(model.invalid_json(), 1, "{name}");
        }
        // In a field that is read, they are invalid JSON either way.
        let lone = CALL.replace("us-west-2", r"us-west-\ud800");
        assert_eq!(kind(&lone), "declined");
        assert_same("lone", &lone);
    }

    /// A line that starts as a CloudTrail file is parsed where it stands;
    /// when it is not one whole value after all, it is read again and no
    /// record is delivered twice.
    #[test]
    fn a_records_line_that_is_not_one_whole_value_is_read_once() {
        let escaped = CALL.replace(r#""eventName""#, r#""event\u004eame""#);
        for (text, records) in [
            (format!("{{\"Records\":[{CALL},\n{CALL}]}}"), 2),
            (format!("{{\"Records\":[{CALL}\n,{CALL},{CALL}]}}"), 3),
            (
                format!("{{\"Records\":[{CALL}]}} {{\"Records\":[{CALL},{CALL}]}}"),
                3,
            ),
            (format!("{{\"Records\":[{CALL},{CALL}]}}{CALL}\n{CALL}"), 4),
            (format!("{{\"Records\":[{CALL},{ENTRY},[1],7]}}"), 2),
            // The scanner stops at the escaped key; serde_json reads on.
            (format!("{{\"Records\":[{CALL},{escaped},{CALL}]}}"), 3),
        ] {
            assert_same("split.json", &text);
            let (model, diagnostics) = ingest(true, |i| i.read_reader("s", text.as_bytes()));
            assert_eq!(
                model.stats(crate::Source::CloudTrail).records,
                records,
                "{text}\n{diagnostics:?}"
            );
            assert_eq!(model.invalid_json(), 0, "{text}");
        }
    }

    #[test]
    fn a_bad_record_in_a_records_line_is_reported_as_before() {
        let bad = CALL.replace(r#""awsRegion""#, r#""x":tru,"awsRegion""#);
        for line in [
            format!("{{\"Records\":[{CALL},{bad},{CALL}]}}"),
            format!("{{\"Records\":[{CALL},{{\"eventTime\":tru}},{CALL}]}}"),
            format!("{{\"Records\":[{CALL},{CALL}],\"x\":1}}"),
            format!("{{\"Records\":[{CALL} {CALL}]}}"),
            format!("[{ENTRY},{bad},{ENTRY}]\n{CALL}"),
            format!("[{ENTRY},1,\"x\",null,[],{{}}]"),
        ] {
            assert_same("records.json", &line);
        }
        let (model, diagnostics) = ingest(true, |i| {
            i.read_reader(
                "r.json",
                format!("{{\"Records\":[{CALL},{bad},{CALL}]}}").as_bytes(),
            );
        });
        assert_eq!(model.stats(crate::Source::CloudTrail).records, 1);
        assert_eq!(model.invalid_json(), 1);
        assert!(
            diagnostics.iter().any(|d| d.source == "r.json:1"),
            "{diagnostics:?}"
        );
    }
}
