//! Read a snapshot: every `.json`, `.yaml`, `.yml`, `.jsonl`, `.ndjson` and
//! `.log` file under the given paths (gzipped or not), parsed and
//! recognised by content, never by name.
//!
//! Invariant: every file is either turned into documents or reported in the
//! diagnostics with its path and position; nothing is dropped silently.

mod sniff;

pub use sniff::{DocumentClass, sniff};

use scopegraph_core::{Diagnostic, Document};
use serde_json::Value;
use std::{
    collections::BTreeMap,
    fs,
    io::Read,
    path::{Path, PathBuf},
};

const EXTENSIONS: &[&str] = &["json", "yaml", "yml", "jsonl", "ndjson", "log"];

/// What a snapshot holds.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Configuration documents (Kubernetes objects, IAM exports, cluster
    /// descriptions), for the provider plugins.
    pub documents: Vec<Document>,
    /// Activity files (audit logs, traces) counted by class; their records
    /// are streamed by the observe crate, not loaded here.
    pub activity: BTreeMap<&'static str, u64>,
    /// The activity files, in path order.
    pub activity_files: Vec<PathBuf>,
    /// Agents declared in `scopegraph.yaml` documents.
    pub declared_agents: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
    pub files_read: usize,
}

/// Read every input file under `roots` (files or directories).
pub fn read_snapshot(roots: &[PathBuf]) -> Snapshot {
    let mut snapshot = Snapshot::default();
    let mut files = Vec::new();
    for root in roots {
        if root.is_dir() {
            collect_files(root, &mut files, &mut snapshot.diagnostics);
        } else if root.is_file() {
            files.push(root.clone());
        } else {
            snapshot.diagnostics.push(Diagnostic::error(
                root.display().to_string(),
                "no such file or directory",
            ));
        }
    }
    files.sort();
    files.dedup();

    let mut parsed = Vec::new();
    for file in &files {
        snapshot.files_read += 1;
        // Logs can be gigabytes: recognise them from their first record and
        // leave them to the streaming reader.
        if let Some(kind) = activity_class(file) {
            *snapshot.activity.entry(kind).or_default() += 1;
            snapshot.activity_files.push(file.clone());
            continue;
        }
        match read_file(file) {
            Ok(values) => parsed.extend(values.into_iter().map(|(pos, v)| (file.clone(), pos, v))),
            Err(diag) => snapshot.diagnostics.push(diag),
        }
    }

    // Cluster descriptions name the cluster of every document beside or below them.
    let mut clusters: Vec<(PathBuf, String)> = Vec::new();
    for (file, _, value) in &parsed {
        if let Some(name) = sniff::cluster_name(value) {
            let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
            clusters.push((dir, name));
        }
    }
    clusters.sort_by_key(|(dir, _)| std::cmp::Reverse(dir.components().count()));

    for (file, position, value) in parsed {
        let source = match position {
            Position::Whole => file.display().to_string(),
            Position::Document(n) => format!("{} (document {n})", file.display()),
            Position::Line(n) => format!("{}:{n}", file.display()),
        };
        let class = sniff(&value);
        match class {
            DocumentClass::Unknown => snapshot.diagnostics.push(Diagnostic::warning(
                source,
                "unrecognised document: not a format scopegraph reads (see the snapshot formats in the README)",
            )),
            DocumentClass::Empty => {}
            DocumentClass::DeclaredWork => {
                snapshot.declared_agents.extend(declared_agents(&value, &source, &mut snapshot.diagnostics));
            }
            DocumentClass::Activity(kind) => {
                if !snapshot.activity_files.contains(&file) {
                    *snapshot.activity.entry(kind).or_default() += 1;
                    snapshot.activity_files.push(file.clone());
                }
            }
            DocumentClass::Config(kind) => {
                let cluster = clusters
                    .iter()
                    .find(|(dir, _)| file.starts_with(dir))
                    .map(|(_, name)| name.clone());
                let id = format!("doc-{}", snapshot.documents.len() + 1);
                snapshot.documents.push(Document {
                    id,
                    source,
                    kind: kind.to_string(),
                    context: cluster.map(|c| vec![("cluster".to_string(), c)]).unwrap_or_default(),
                    content: value.to_string(),
                });
            }
        }
    }
    snapshot
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            diagnostics.push(Diagnostic::error(
                dir.display().to_string(),
                format!("cannot list: {err}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, files, diagnostics);
        } else if has_input_extension(&path) {
            files.push(path);
        }
    }
}

fn has_input_extension(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

#[derive(Debug, Clone, Copy)]
enum Position {
    Whole,
    Document(usize),
    Line(usize),
}

fn read_file(path: &Path) -> Result<Vec<(Position, Value)>, Diagnostic> {
    let display = path.display().to_string();
    let bytes =
        fs::read(path).map_err(|e| Diagnostic::error(&display, format!("cannot read: {e}")))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let (bytes, name) = match name.strip_suffix(".gz") {
        Some(inner) => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| Diagnostic::error(&display, format!("not valid gzip: {e}")))?;
            (out, inner.to_string())
        }
        None => (bytes, name),
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(
            &display,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "yaml" | "yml" => parse_yaml(&text, &display),
        "json" => match serde_json::from_str::<Value>(&text) {
            Ok(value) => Ok(vec![(Position::Whole, value)]),
            // Many tools write one JSON value per line into `.json` files.
            Err(err) if looks_like_json_lines(&text) => {
                parse_json_lines(&text, &display).map_err(|_| json_error(&display, &err))
            }
            Err(err) => Err(json_error(&display, &err)),
        },
        _ => parse_json_lines(&text, &display),
    }
}

fn json_error(file: &str, err: &serde_json::Error) -> Diagnostic {
    Diagnostic::error(
        format!("{file}:{}:{}", err.line(), err.column()),
        format!("invalid JSON: {err}"),
    )
}

fn looks_like_json_lines(text: &str) -> bool {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .count()
        > 1
        && text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('{'))
}

fn parse_json_lines(text: &str, file: &str) -> Result<Vec<(Position, Value)>, Diagnostic> {
    let mut values = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str::<Value>(line).map_err(|err| {
            Diagnostic::error(
                format!("{file}:{}:{}", i + 1, err.column()),
                format!("invalid JSON line: {err}"),
            )
        })?;
        values.push((Position::Line(i + 1), value));
    }
    Ok(values)
}

fn parse_yaml(text: &str, file: &str) -> Result<Vec<(Position, Value)>, Diagnostic> {
    let mut values = Vec::new();
    for (i, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document).map_err(|err| {
            let at = err
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            Diagnostic::error(format!("{file}{at}"), format!("invalid YAML: {err}"))
        })?;
        if !value.is_null() {
            values.push((Position::Document(i + 1), value));
        }
    }
    Ok(values)
}

use serde::Deserialize as _;

/// The activity class of a log file, judged from its first record without
/// reading the rest: a JSON-lines file whose first line is an activity
/// record, or a CloudTrail `{"Records": [...]}` file.
fn activity_class(path: &Path) -> Option<&'static str> {
    let file = fs::File::open(path).ok()?;
    let name = path.file_name()?.to_str()?;
    let reader: Box<dyn Read> = if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut head = Vec::with_capacity(64 * 1024);
    reader.take(64 * 1024).read_to_end(&mut head).ok()?;
    let head = String::from_utf8_lossy(&head);
    let trimmed = head.trim_start();
    if let Some(rest) = trimmed.strip_prefix('{')
        && rest.trim_start().starts_with("\"Records\"")
    {
        return Some("cloudtrail");
    }
    let first_line = trimmed.lines().next()?;
    match sniff(&serde_json::from_str::<Value>(first_line).ok()?) {
        DocumentClass::Activity(kind) => Some(kind),
        _ => None,
    }
}

fn declared_agents(value: &Value, source: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, agent) in value
        .get("agents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        match agent.get("workload").and_then(Value::as_str) {
            Some(id) if id.split('/').count() == 4 => out.push(id.to_string()),
            Some(id) => diagnostics.push(Diagnostic::error(
                source,
                format!("agents[{i}].workload {id:?} is not CLUSTER/NAMESPACE/KIND/NAME"),
            )),
            None => diagnostics.push(Diagnostic::error(
                source,
                format!("agents[{i}] has no `workload`"),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests;
