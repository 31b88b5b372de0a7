//! The fast path: a CloudTrail or Cloud Audit Log record deserialised
//! straight into borrowed structs of the fields this crate reads, instead
//! of into a `serde_json::Value` tree that is then searched.
//!
//! It is only ever a shortcut. The structs are strict: a field of another
//! type than the one read, or a record of another format, fails (or is
//! declined) and the record goes down the `Value` path as before, which
//! decides how it lands or is reported. Where the typed path does decide,
//! it decides as the `Value` path would: duplicate keys keep the last
//! value, and skipped fields are parsed (not just scanned) so that what
//! `Value` rejects (a lone surrogate escape, a number out of range) is
//! rejected here too and falls back.

use crate::aws::typed::{Params, Resource, Response, UserIdentity};
use crate::day::Day;
use crate::gcp::typed::Payload;
use crate::stream::Container;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A string, borrowed from the input unless it had escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(StrVisitor(PhantomData))
    }
}

/// The field as a string, whatever it holds (`Value::as_str`).
pub(crate) fn as_str<'b>(field: &'b Option<Str<'_>>) -> Option<&'b str> {
    field.as_ref().map(|s| s.0.as_ref())
}

/// A non-empty string (`record::text`).
pub(crate) fn text<'b>(field: &'b Option<Str<'_>>) -> Option<&'b str> {
    as_str(field).filter(|s| !s.trim().is_empty())
}

/// `record::day_of` on typed fields: the day of the first candidate that
/// is present (and not null).
pub(crate) fn day_of(candidates: &[(&str, &Option<Str<'_>>)]) -> Result<Day, String> {
    if let Some((name, Some(Str(ts)))) = candidates.iter().find(|(_, field)| field.is_some()) {
        return Day::of_timestamp(ts).ok_or_else(|| format!("`{name}` {ts:?} is not a timestamp"));
    }
    let names: Vec<String> = candidates
        .iter()
        .map(|(name, _)| format!("`{name}`"))
        .collect();
    Err(format!("no timestamp ({})", names.join(" or ")))
}

/// Any JSON value, parsed as `Value` would parse it and dropped.
/// (`IgnoredAny` only scans, which lets through what `Value` rejects.)
pub(crate) struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

pub(crate) struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_key::<Skip>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

/// A struct of the named fields of a JSON object, each optional: others
/// are skipped, a repeated key keeps its last value (as in `Value`), and
/// anything but an object is an error.
macro_rules! object {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty = $key:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub(crate) struct $name<'a> {
            $(pub $field: Option<$ty>,)*
            _borrows: std::marker::PhantomData<&'a ()>,
        }

        impl<'de: 'a, 'a> serde::Deserialize<'de> for $name<'a> {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Fields<'a>(std::marker::PhantomData<&'a ()>);
                impl<'de: 'a, 'a> serde::de::Visitor<'de> for Fields<'a> {
                    type Value = $name<'a>;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name<'a>, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<$crate::typed::Str<'de>>()? {
                            match key.0.as_ref() {
                                $($key => out.$field = map.next_value()?,)*
                                _ => {
                                    map.next_value::<$crate::typed::Skip>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                deserializer.deserialize_map(Fields(std::marker::PhantomData))
            }
        }
    };
}
pub(crate) use object;

/// Keys of the other formats (Kubernetes audit events and lists, Azure
/// records, CloudTrail `Records` files): seeing one, the typed path gives
/// up at once and the record takes the `Value` path, whose classification
/// decides. Neither CloudTrail nor Cloud Audit Log records have them.
const FOREIGN: &[&str] = &[
    "apiVersion",
    "kind",
    "verb",
    "items",
    "Records",
    "operationName",
    "resourceId",
    "category",
    "properties",
];

/// The fields of a top-level record that classification and the two typed
/// formats read (a CloudTrail event and a Cloud Audit `LogEntry` side by
/// side: which it is is only known once every key has been seen).
#[derive(Debug, Default)]
pub(crate) struct Record<'a> {
    pub event_time: Option<Str<'a>>,
    pub event_source: Option<Str<'a>>,
    pub event_name: Option<Str<'a>>,
    pub event_type: Option<Str<'a>>,
    pub event_category: Option<Str<'a>>,
    pub error_code: Option<Str<'a>>,
    pub aws_region: Option<Str<'a>>,
    pub user_identity: Option<UserIdentity<'a>>,
    pub request_parameters: Option<Params<'a>>,
    pub response_elements: Option<Response<'a>>,
    pub resources: Option<Vec<Resource<'a>>>,
    pub proto_payload: Option<Payload<'a>>,
    pub timestamp: Option<Str<'a>>,
    pub receive_timestamp: Option<Str<'a>>,
    /// Keys present, null or not (classification asks `contains_key`).
    pub has_event_source: bool,
    pub has_cloudtrail_key: bool,
    pub has_proto_payload: bool,
}

/// What the typed path makes of a record.
pub(crate) enum Typed<'a> {
    CloudTrail(Record<'a>),
    Gcp(Record<'a>),
    /// Another format, or a shape only the `Value` path reads.
    Declined,
}

impl<'a> Record<'a> {
    /// Parse `json` (one record, nothing else) and tell its format the way
    /// `classify` would, or decline.
    /// (From `str`: its UTF-8 is checked once, not string by string.)
    pub(crate) fn read(json: &'a str, container: Container) -> Typed<'a> {
        if container == Container::AuditEventList {
            return Typed::Declined;
        }
        let Ok(record) = serde_json::from_str::<Record<'a>>(json) else {
            return Typed::Declined;
        };
        let event_name_is_string = record.event_name.is_some();
        if container == Container::CloudTrailRecords
            || record.has_event_source
            || (event_name_is_string && record.has_cloudtrail_key)
        {
            Typed::CloudTrail(record)
        } else if record.has_proto_payload {
            Typed::Gcp(record)
        } else {
            Typed::Declined
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Record<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Fields<'a> {
            type Value = Record<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a log record")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record<'a>, A::Error> {
                let mut r = Record::default();
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    match key.0.as_ref() {
                        "eventTime" => {
                            r.has_cloudtrail_key = true;
                            r.event_time = map.next_value()?;
                        }
                        "eventSource" => {
                            r.has_event_source = true;
                            r.event_source = map.next_value()?;
                        }
                        "eventName" => r.event_name = map.next_value()?,
                        "eventType" => r.event_type = map.next_value()?,
                        "eventCategory" => r.event_category = map.next_value()?,
                        "errorCode" => r.error_code = map.next_value()?,
                        "awsRegion" => r.aws_region = map.next_value()?,
                        "eventVersion" => {
                            r.has_cloudtrail_key = true;
                            map.next_value::<Skip>()?;
                        }
                        "userIdentity" => {
                            r.has_cloudtrail_key = true;
                            r.user_identity = map.next_value()?;
                        }
                        "requestParameters" => r.request_parameters = map.next_value()?,
                        "responseElements" => r.response_elements = map.next_value()?,
                        "resources" => r.resources = map.next_value()?,
                        "protoPayload" => {
                            r.has_proto_payload = true;
                            r.proto_payload = map.next_value()?;
                        }
                        "timestamp" => r.timestamp = map.next_value()?,
                        "receiveTimestamp" => r.receive_timestamp = map.next_value()?,
                        foreign if FOREIGN.contains(&foreign) => {
                            return Err(de::Error::custom("not a typed format"));
                        }
                        _ => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(r)
            }
        }
        deserializer.deserialize_map(Fields(PhantomData))
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

    /// The model and diagnostics, typed path on and off, as text.
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
        match Record::read(json, Container::None) {
            Typed::CloudTrail(_) => "cloudtrail",
            Typed::Gcp(record) => match crate::gcp::typed::audit_log(&record) {
                Some(_) => "gcp",
                None => "declined",
            },
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
        let Typed::CloudTrail(record) = Record::read(&escaped, Container::None) else {
            panic!("not typed");
        };
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
    fn wrong_types_and_what_value_rejects_fall_back() {
        for (name, record) in [
            ("time a number", CALL.replace(r#""2025-03-02T10:00:00Z""#, "20250302")),
            ("identity a string", CALL.replace(r#""type":"AssumedRole""#, r#""type":7"#)),
            ("parameters an array", CALL.replace(r#"{"bucketName":"b","key":"k","versionId":"3"}"#, "[1]")),
            ("tags not objects", CALL.replace(r#""versionId":"3""#, r#""tags":["x"]"#)),
            ("code a string", ENTRY.replace(r#""resourceName""#, r#""status":{"code":"7"},"resourceName""#)),
            ("code a float", ENTRY.replace(r#""resourceName""#, r#""status":{"code":7.0},"resourceName""#)),
            ("granted a string", ENTRY.replace("true", r#""true""#)),
            ("checks an object", ENTRY.replace(r#"[{"permission""#, r#"{"x":[{"permission""#).replace("o\"}]", "o\"}]}")),
            ("payload null", ENTRY.replace(r#"{"serviceName":"storage.googleapis.com","methodName":"storage.objects.get","resourceName":"projects/_/buckets/b","authenticationInfo":{"principalEmail":"ci@p.iam.gserviceaccount.com"},"authorizationInfo":[{"permission":"storage.objects.get","granted":true,"resource":"projects/_/buckets/b/objects/o"}]}"#, "null")),
            ("GKE", ENTRY.replace("storage.googleapis.com", "k8s.io")),
            ("number out of range", CALL.replace(r#""awsRegion""#, r#""x":1e400,"awsRegion""#)),
            ("lone surrogate", CALL.replace(r#""awsRegion""#, r#""x":"\ud800","awsRegion""#)),
            ("Azure", r#"{"operationName":"Microsoft.Storage/x/read","resourceId":"/s","time":"2025-03-02T10:00:00Z","eventSource":"x"}"#.to_string()),
        ] {
            assert_eq!(kind(&record), "declined", "{name}");
            assert_same(name, &record);
        }
        // A repeated key keeps its last value, typed or not (each value
        // still of the type read).
        let twice = CALL.replace(
            r#""eventName":"GetObject""#,
            r#""eventName":"ListBuckets","eventName":"PutObject""#,
        );
        assert_eq!(kind(&twice), "cloudtrail");
        assert_same("twice", &twice);
        let retyped = CALL.replace(
            r#""eventName":"GetObject""#,
            r#""eventName":7,"eventName":"PutObject""#,
        );
        assert_eq!(kind(&retyped), "declined");
        assert_same("retyped", &retyped);
    }

    #[test]
    fn a_bad_record_in_a_records_line_is_reported_as_before() {
        let bad = CALL.replace(r#""awsRegion""#, r#""x":1e400,"awsRegion""#);
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
