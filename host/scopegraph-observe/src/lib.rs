//! Streaming ingest of observed activity into a usage model: which
//! permissions each identity exercised, on which UTC days, on what.
//!
//! Reads CloudTrail, GCP Cloud Audit Logs, Azure Activity Log and
//! Kubernetes audit events (also as AKS `kube-audit` diagnostics and GKE
//! `k8s.io` audit logs), recognised by content, record by record:
//!
//! ```no_run
//! use scopegraph_observe::{Day, IdentityKey, Ingest, ServiceAccount, Source};
//! # use std::path::Path;
//! let mut ingest = Ingest::new();
//! ingest.read_path(Path::new("logs/"));
//! let (model, diagnostics) = ingest.finish();
//! let agent = IdentityKey::aws_role("arn:aws:iam::111122223333:role/agent")
//!     .unwrap()
//!     .with_service_account(ServiceAccount::new("agents", "planner"));
//! let (start, end) = (Day::parse("2025-01-01").unwrap(), Day::parse("2025-04-01").unwrap());
//! let usage = model.usage(&agent, start, end);
//! let observed = model.log_days(Source::CloudTrail);
//! ```
//!
//! Invariant: every record either lands in the model (used, or counted in
//! its source's [`SourceStats`] by the reason it is not a use) or is
//! reported in a [`Diagnostic`] naming file and line, and counted.
//!
//! Memory does not grow with log size. Files are never read whole: records
//! are pulled one at a time from a buffered (and, for gzip,
//! `MultiGzDecoder`-wrapped) reader and dropped once aggregated. A line
//! holding one JSON value (JSON lines; a one-line `{"Records": [...]}`
//! CloudTrail file) is parsed from a line buffer of at most 8 MiB, its
//! records streamed out of it; anything else (pretty-printed arrays as
//! `gcloud` writes them, longer lines) goes through a `serde_json`
//! deserializer over the reader, still one record at a time.
//!
//! CloudTrail and Cloud Audit Log records are read one way (`typed`):
//! into borrowed structs of the fields read, whatever route they came by.
//! From a line (JSON lines, a `Records` file's objects, one-line arrays)
//! no `serde_json::Value` is built: a byte scanner (`scan`) reads the text
//! into the structs, and leaves what it does not read to `serde_json`
//! (which then reads the text afresh); a record read through a `Value`
//! (pretty-printed files) is deserialised from it into the same structs.
//! Attribution (`aws`, `gcp`) exists once, on those structs, and what a
//! record was used for borrows from it until the model needs a copy.
//!
//! The model keeps only (identity, permission, day) counts, at most
//! [`MAX_RESOURCES_PER_PERMISSION`] resources per identity and permission,
//! and the set of log days. What grows with the logs is bounded by
//! identities, sessions and days, never by events: CloudTrail role sessions
//! are aggregated per access key until [`Ingest::finish`], so that the
//! credential issue tying a key to a service account may be read in any
//! order, and every issue for a workload or a chained session is
//! remembered (one small entry per issued key). A session's aggregates are
//! flat (sorted vectors, not tree nodes), and permission and resource
//! names are stored once for the whole model (`model::Names`): a month
//! holds thousands of sessions, and their size is what ingest's memory
//! and much of its time go to.

mod aws;
mod azure;
mod day;
mod gcp;
mod identity;
mod k8s;
mod model;
mod record;
mod scan;
mod stream;
mod typed;

pub use day::Day;
pub use identity::{AzureIdKind, IdentityKey, Pod, Principal, ServiceAccount};
pub use model::{
    MAX_RESOURCES_PER_PERMISSION, MAX_UNKNOWN_ACTIONS, ObservedUsage, PermissionUsage, Source,
    SourceStats, UsageModel,
};
pub use scopegraph_core::{Diagnostic, Level};

use model::{Names, Permissions, merge_permissions};
use record::{Outcome, Subject};
use serde_json::Value;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use stream::{Container, Position};

const EXTENSIONS: &[&str] = &["json", "jsonl", "ndjson", "log"];
/// Enough buffer to see the gzip magic; the record reader buffers itself.
const MAGIC: usize = 8 * 1024;
/// Diagnostics of one kind listed per file before the rest are summarised.
pub const DEFAULT_DIAGNOSTIC_LIMIT: usize = 20;

/// Incremental ingest: feed files, then [`finish`](Ingest::finish).
#[derive(Debug)]
pub struct Ingest {
    model: UsageModel,
    /// Access key -> (role alone, uses), until the key is resolved. By
    /// key, hashed: a month of hourly sessions is thousands of keys, and
    /// every CloudTrail call looks its own up.
    sessions: foldhash::HashMap<String, Vec<(Arc<str>, Permissions)>>,
    /// The permission and resource names the model and the sessions hold.
    names: Names,
    /// The GCP principals' identity keys, by their text.
    gcp_keys: identity::GcpKeys,
    cloudtrail: aws::CloudTrail,
    diagnostics: Vec<Diagnostic>,
    limit: usize,
    cluster: Option<String>,
    /// The line buffer, kept from file to file.
    buffer: Vec<u8>,
    /// Read CloudTrail and Cloud Audit Log records straight from a line's
    /// text (see `typed`); off, every record is first built into a `Value`,
    /// which only tests do, to check that both routes read the same.
    fast_path: bool,
}

impl Default for Ingest {
    fn default() -> Self {
        Ingest::new()
    }
}

impl Ingest {
    pub fn new() -> Self {
        let (catalogue, problems) = aws::Catalogue::load();
        Ingest {
            model: UsageModel::default(),
            sessions: foldhash::HashMap::default(),
            names: Names::default(),
            gcp_keys: identity::GcpKeys::default(),
            buffer: Vec::new(),
            cloudtrail: aws::CloudTrail::new(catalogue),
            diagnostics: problems
                .into_iter()
                .map(|p| Diagnostic::error("scopegraph-observe", p))
                .collect(),
            limit: DEFAULT_DIAGNOSTIC_LIMIT,
            cluster: None,
            fast_path: true,
        }
    }

    /// List at most `per_kind` diagnostics of each kind (malformed,
    /// unattributable, unknown action, …) per file, then one summary line;
    /// `usize::MAX` lists them all. The model's counts are exact either way.
    pub fn with_diagnostic_limit(mut self, per_kind: usize) -> Self {
        self.limit = per_kind;
        self
    }

    /// The cluster to attribute Kubernetes identities to in records read
    /// from now on whose format does not name one (EKS and self-managed
    /// audit logs; AKS and GKE records name theirs).
    pub fn set_cluster(&mut self, cluster: Option<&str>) {
        self.cluster = cluster.map(String::from);
    }

    /// Read a file (`.json`, `.jsonl`, `.ndjson`, `.log`, gzipped or not,
    /// recognised by content), or every such file under a directory, in
    /// path order.
    pub fn read_path(&mut self, path: &Path) {
        if path.is_dir() {
            let mut files = Vec::new();
            self.collect_files(path, &mut files);
            files.sort();
            for file in files {
                self.read_file(&file);
            }
        } else if path.is_file() {
            self.read_file(path);
        } else {
            self.diagnostics.push(Diagnostic::error(
                path.display().to_string(),
                "no such file or directory",
            ));
        }
    }

    /// Read one stream (gzipped or not, told by its magic bytes); `name`
    /// is what diagnostics call it.
    pub fn read_reader(&mut self, name: &str, reader: impl Read) {
        self.read_stream(name, BufReader::with_capacity(MAGIC, reader));
    }

    /// Resolve role sessions to workloads and hand over the model.
    pub fn finish(mut self) -> (UsageModel, Vec<Diagnostic>) {
        let mut untied = 0u64;
        // In (role, key) order, so that merging is the same every run.
        let mut sessions: Vec<(Arc<str>, String, Permissions)> = std::mem::take(&mut self.sessions)
            .into_iter()
            .flat_map(|(key, roles)| {
                roles
                    .into_iter()
                    .map(move |(role, permissions)| (role, key.clone(), permissions))
            })
            .collect();
        sessions.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        for (role, access_key, permissions) in sessions {
            let role = IdentityKey::new(Principal::AwsRole(role.to_string()));
            let identity = self.cloudtrail.resolve(&role, &access_key);
            if identity == role {
                untied += 1;
            }
            merge_permissions(self.model.usage.entry(identity).or_default(), permissions);
        }
        if untied > 0 {
            self.diagnostics.push(Diagnostic::info(
                "cloudtrail",
                format!(
                    "{untied} role session(s) could not be tied to a Kubernetes workload (no AssumeRoleWithWebIdentity \
                     or EKS Pod Identity credential issue for their access key was read, directly or through role \
                     chaining; {} were): their calls are attributed to the role alone",
                    self.cloudtrail.attributions()
                ),
            ));
        }
        (self.model, self.diagnostics)
    }

    fn collect_files(&mut self, dir: &Path, files: &mut Vec<PathBuf>) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                self.diagnostics.push(Diagnostic::error(
                    dir.display().to_string(),
                    format!("cannot list: {err}"),
                ));
                return;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                self.collect_files(&path, files);
            } else if has_log_extension(&path) {
                files.push(path);
            }
        }
    }

    fn read_file(&mut self, path: &Path) {
        let name = path.display().to_string();
        match File::open(path) {
            Ok(file) => self.read_reader(&name, file),
            Err(err) => self
                .diagnostics
                .push(Diagnostic::error(name, format!("cannot read: {err}"))),
        }
    }

    fn read_stream<R: Read>(&mut self, name: &str, mut reader: BufReader<R>) {
        self.model.files_read += 1;
        let gzipped = match reader.fill_buf() {
            Ok(head) => head.starts_with(&[0x1f, 0x8b]),
            Err(err) => {
                self.diagnostics
                    .push(Diagnostic::error(name, format!("cannot read: {err}")));
                return;
            }
        };
        let mut buffer = std::mem::take(&mut self.buffer);
        let mut sink = FileSink {
            ingest: self,
            file: name,
            listed: HashMap::new(),
        };
        if gzipped {
            let reader = flate2::read::MultiGzDecoder::new(reader);
            stream::read_records(reader, &mut sink, &mut buffer);
        } else {
            stream::read_records(reader, &mut sink, &mut buffer);
        }
        sink.summarise();
        self.buffer = buffer;
    }
}

fn has_log_extension(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// What a record is, by content.
enum Format {
    CloudTrail,
    Gcp,
    Azure,
    AksKubeAudit,
    Kubernetes,
    Unknown(String),
}

fn classify(value: &Value, container: Container) -> Format {
    let Some(object) = value.as_object() else {
        let kind = match value {
            Value::Array(_) => "array",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Bool(_) => "boolean",
            _ => "null",
        };
        return Format::Unknown(format!("a JSON {kind}, not a log record"));
    };
    // A `Records` array holds CloudTrail events, whatever they look like.
    if container == Container::CloudTrailRecords {
        return Format::CloudTrail;
    }
    if container == Container::AuditEventList || k8s::is_audit_event(value) {
        return Format::Kubernetes;
    }
    let cloudtrail = object.contains_key("eventSource")
        || (value.get("eventName").is_some_and(Value::is_string)
            && ["eventTime", "userIdentity", "eventVersion"]
                .iter()
                .any(|k| object.contains_key(*k)));
    if cloudtrail {
        return Format::CloudTrail;
    }
    if object.contains_key("protoPayload") {
        return Format::Gcp;
    }
    if azure::is_kube_audit(value) {
        return Format::AksKubeAudit;
    }
    if azure::is_azure_record(value) {
        return match azure::not_activity(value) {
            Some(why) => Format::Unknown(why),
            None => Format::Azure,
        };
    }
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let lowered: Vec<&str> = ["eventsource", "eventname", "protopayload", "useridentity"]
        .into_iter()
        .filter(|k| object.contains_key(*k))
        .collect();
    if !lowered.is_empty() {
        return Format::Unknown(format!(
            "field names are lower-cased ({}): a re-keyed export, not the log's own shape",
            lowered.join(", ")
        ));
    }
    keys.truncate(8);
    Format::Unknown(format!(
        "unrecognised record (keys: {}): not CloudTrail, GCP Cloud Audit, Azure Activity or Kubernetes audit",
        keys.join(", ")
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    InvalidJson,
    Io,
    Unrecognised,
    Malformed,
    Unattributable,
    UnknownAction,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::InvalidJson => "invalid JSON",
            Kind::Io => "read error",
            Kind::Unrecognised => "unrecognised record",
            Kind::Malformed => "malformed record",
            Kind::Unattributable => "unattributable record",
            Kind::UnknownAction => "unknown action",
        }
    }

    fn level(self) -> Level {
        match self {
            Kind::InvalidJson | Kind::Io => Level::Error,
            Kind::Unrecognised | Kind::Malformed | Kind::UnknownAction => Level::Warn,
            Kind::Unattributable => Level::Info,
        }
    }
}

/// One file's records into the ingest, with its diagnostics capped.
struct FileSink<'a> {
    ingest: &'a mut Ingest,
    file: &'a str,
    listed: HashMap<Kind, usize>,
}

impl FileSink<'_> {
    fn report(&mut self, kind: Kind, at: impl std::fmt::Display, message: String) {
        let listed = self.listed.entry(kind).or_default();
        *listed += 1;
        if *listed <= self.ingest.limit {
            self.ingest.diagnostics.push(Diagnostic {
                level: kind.level(),
                source: format!("{}:{at}", self.file),
                message,
            });
        }
    }

    fn summarise(self) {
        let mut kinds: Vec<(Kind, usize)> = self.listed.into_iter().collect();
        kinds.sort_by_key(|(kind, _)| kind.describe());
        for (kind, count) in kinds {
            if count > self.ingest.limit {
                self.ingest.diagnostics.push(Diagnostic {
                    level: kind.level(),
                    source: self.file.to_string(),
                    message: format!(
                        "{} more {} diagnostics not listed (the model counts them all)",
                        count - self.ingest.limit,
                        kind.describe()
                    ),
                });
            }
        }
    }

    fn observe(&mut self, value: Value, at: Position, container: Container) {
        // An EventList whose `items` came before its `kind` was not streamed.
        if container == Container::None
            && text_field(&value, "kind") == Some("EventList")
            && value.get("items").is_some_and(Value::is_array)
        {
            let Value::Object(mut object) = value else {
                return;
            };
            let items = match object.remove("items") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            for (i, item) in items.into_iter().enumerate() {
                let at = Position {
                    line: at.line,
                    element: Some(("items", i as u64)),
                };
                self.observe(item, at, Container::AuditEventList);
            }
            return;
        }
        let cluster = self.ingest.cluster.clone();
        let cluster = cluster.as_deref();
        // CloudTrail and Cloud Audit records are read from the `Value` into
        // the typed record the line path reads, and attributed the same way;
        // the outcome borrows from it until it is applied.
        let record;
        let outcome = match classify(&value, container) {
            Format::Kubernetes => k8s::audit_event(&value, cluster, None),
            Format::CloudTrail => {
                record = typed::Record::of_value(&value);
                match &record {
                    Some(r) => self.ingest.cloudtrail.event(r),
                    None => not_an_object(Source::CloudTrail),
                }
            }
            Format::Gcp => {
                record = typed::Record::of_value(&value);
                match (&record, value.get("protoPayload")) {
                    // GKE's Kubernetes entries: the Kubernetes reader.
                    (Some(r), Some(payload)) if gcp::is_kubernetes_entry(r) => {
                        k8s::gke_event(&value, payload, cluster)
                    }
                    (Some(r), _) => gcp::entry(r),
                    (None, _) => not_an_object(Source::GcpAudit),
                }
            }
            Format::AksKubeAudit => azure::kube_audit(&value, cluster),
            Format::Azure => azure::activity(&value),
            Format::Unknown(message) => Outcome::Unrecognised { message },
        };
        self.apply(outcome, at);
    }

    fn apply(&mut self, outcome: Outcome, at: Position) {
        let model = &mut self.ingest.model;
        match outcome {
            Outcome::Used {
                source,
                day,
                subject,
                uses,
                aliases,
            } => {
                let stats = model.stats.entry(source).or_default();
                stats.records += 1;
                stats.used += 1;
                model.log_days.entry(source).or_default().insert(day);
                let permissions = match subject {
                    Subject::Identity(identity) => {
                        if !aliases.is_empty() {
                            model
                                .aliases
                                .entry(identity.principal.clone())
                                .or_default()
                                .extend(aliases);
                        }
                        model.usage.entry(identity).or_default()
                    }
                    Subject::Gcp {
                        principal,
                        service_account,
                    } => {
                        let keys = &mut self.ingest.gcp_keys;
                        let at = keys.index(principal, service_account);
                        let Some(identity) = keys.key(at) else {
                            return;
                        };
                        // Looked up before it is copied: most records name
                        // an identity the model holds.
                        match model.usage.get_mut(identity) {
                            Some(permissions) => permissions,
                            None => model.usage.entry(identity.clone()).or_default(),
                        }
                    }
                    Subject::AwsSession { role, access_key } => {
                        let sessions = &mut self.ingest.sessions;
                        let roles = match sessions.get_mut(access_key.as_ref()) {
                            Some(roles) => roles,
                            None => sessions.entry(access_key.into_owned()).or_default(),
                        };
                        let found = match roles.iter().position(|(r, _)| *r == role) {
                            Some(at) => roles.get_mut(at),
                            None => {
                                roles.push((role, Permissions::default()));
                                roles.last_mut()
                            }
                        };
                        let Some((_, permissions)) = found else {
                            return;
                        };
                        permissions
                    }
                };
                let names = &mut self.ingest.names;
                for used in uses {
                    // Looked up before it is stored: most uses repeat one.
                    let record = match permissions.get_mut(used.permission.as_ref()) {
                        Some(record) => record,
                        None => permissions.entry(names.get(&used.permission)).or_default(),
                    };
                    record.add(day, 1, used.resources, names);
                }
            }
            other => self.count(other, at),
        }
    }

    /// Every outcome but a use: counted, and reported where it says so.
    /// (Out of line, so that the per-use code `apply` runs stays small.)
    #[inline(never)]
    fn count(&mut self, outcome: Outcome, at: Position) {
        let here = at;
        let model = &mut self.ingest.model;
        match outcome {
            // (`apply` takes uses itself; one passed here is still counted.)
            used @ Outcome::Used { .. } => self.apply(used, at),
            Outcome::NotUse {
                source,
                day,
                reason,
            } => {
                let stats = model.stats.entry(source).or_default();
                stats.records += 1;
                *stats.not_use.entry(reason).or_default() += 1;
                model.log_days.entry(source).or_default().insert(day);
            }
            Outcome::Unattributable {
                source,
                day,
                message,
            } => {
                let stats = model.stats.entry(source).or_default();
                stats.records += 1;
                stats.unattributable += 1;
                model.log_days.entry(source).or_default().insert(day);
                self.report(
                    Kind::Unattributable,
                    here,
                    format!("{source} record: {message}: not attributed to any identity"),
                );
            }
            Outcome::UnknownAction {
                source,
                day,
                action,
                message,
            } => {
                let stats = model.stats.entry(source).or_default();
                stats.records += 1;
                stats.unknown_action += 1;
                let known = stats.unknown_actions.len() < model::MAX_UNKNOWN_ACTIONS
                    || stats.unknown_actions.contains_key(&action);
                let action = if known { action } else { "(other)".to_string() };
                *stats.unknown_actions.entry(action).or_default() += 1;
                model.log_days.entry(source).or_default().insert(day);
                self.report(
                    Kind::UnknownAction,
                    here,
                    format!("{source} record: {message}"),
                );
            }
            Outcome::Malformed { source, message } => {
                let stats = model.stats.entry(source).or_default();
                stats.records += 1;
                stats.malformed += 1;
                self.report(
                    Kind::Malformed,
                    here,
                    format!("{source} record: {message}: not counted"),
                );
            }
            Outcome::Unrecognised { message } => {
                model.unrecognised += 1;
                self.report(Kind::Unrecognised, here, message);
            }
        }
    }
}

/// (Classification reads only objects as records, so this does not happen.)
fn not_an_object<'a>(source: Source) -> Outcome<'a> {
    Outcome::Malformed {
        source,
        message: "not a JSON object".into(),
    }
}

fn text_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

impl stream::Sink for FileSink<'_> {
    fn record(&mut self, value: Value, at: Position, container: Container) {
        self.observe(value, at, container);
    }

    fn fast_path(&self) -> bool {
        self.ingest.fast_path
    }

    fn takes_cloudtrail_records(&self) -> bool {
        self.ingest.fast_path
    }

    fn cloudtrail_record(&mut self, record: &typed::Record<'_>, at: Position) {
        let outcome = self.ingest.cloudtrail.event(record);
        self.apply(outcome, at);
    }

    fn typed(&mut self, json: &str, at: Position, container: Container) -> bool {
        let mut record = typed::Record::default();
        let outcome = match typed::Record::read(json, container, &mut record) {
            typed::Typed::CloudTrail => self.ingest.cloudtrail.event(&record),
            // GKE's Kubernetes entries: the Kubernetes reader reads `Value`.
            typed::Typed::Gcp if gcp::is_kubernetes_entry(&record) => return false,
            typed::Typed::Gcp => gcp::entry(&record),
            typed::Typed::Declined => return false,
        };
        self.apply(outcome, at);
        true
    }

    fn invalid(&mut self, start: u64, line: u64, message: String) {
        self.ingest.model.invalid += 1;
        let message = if line > start {
            format!("invalid JSON: {message} (at line {line}); lines {start} to {line} skipped")
        } else {
            format!("invalid JSON: {message}; the rest of the line skipped")
        };
        self.report(Kind::InvalidJson, start, message);
    }

    fn io_error(&mut self, line: u64, error: &io::Error) {
        self.report(
            Kind::Io,
            line,
            format!("cannot read: {error}; the rest of the file skipped"),
        );
    }
}
