//! Whole-run ingest throughput and peak memory on generated CloudTrail and
//! GCP Cloud Audit Logs, side by side with `jq -c` and bare `serde_json` on
//! the same bytes. Each contender runs on each data set and size in its
//! own process under `/usr/bin/time` for its peak RSS; the contenders take
//! turns, run after run, and the fastest run of each is reported (jq runs
//! once: it is far slower anyway).
//!
//! `cargo bench -p scopegraph-observe --bench ingest`; results in BENCHMARKS.md.
//!
//! Environment: `SCOPEGRAPH_BENCH_MB` (the largest size, default 1024; the
//! run also measures a quarter and a half of it), `SCOPEGRAPH_BENCH_RUNS`
//! (runs per contender, default 7) and `SCOPEGRAPH_BENCH_DIR` (generate
//! there and keep the data for the next run; default a temporary directory,
//! removed at the end).
//!
//! Subcommands, after `--`:
//!
//! - `generate DIR MB`: write the data sets of a quarter, a half and all of
//!   `MB` to `DIR/{size}mb/`.
//! - `run CONTENDER PATH...`: one contender (`ingest`, `serde-ignored`,
//!   `serde-value`, `serde-fields`) over the files, printing what it
//!   counted; wrap it in `/usr/bin/time -v` for its peak RSS.
//!
//! `serde-fields` is an experiment beside the two baselines: `serde_json`
//! into typed, borrowed structs of only the fields ingest reads, the rest
//! skipped, to show what a reader without `serde_json::Value` could cost.
//!
//! The data: 14 days of one AWS account and one GCP project. CloudTrail has
//! IRSA pods whose `AssumeRoleWithWebIdentity` (subject
//! `system:serviceaccount:NS:SA`) issues an access key every hour that
//! their S3, DynamoDB, KMS, SQS, Bedrock, Secrets Manager and SSM calls then
//! carry; EKS nodes on instance-profile sessions (issued by an `AWSService`
//! `AssumeRole`); IAM users in working hours; some `AccessDenied` calls.
//! It is written once as JSON lines and once as `{"Records":[...]}` files of
//! 1,000 events (one line each, as CloudTrail delivers to S3, uncompressed).
//! Cloud Audit Logs (exported JSON lines) have GKE Workload Identity through
//! Google service accounts (`serviceAccountDelegationInfo`), direct Workload
//! Identity Federation principals, a CI service account and users, with
//! `authorizationInfo[]` and some `PERMISSION_DENIED` calls.
//!
//! Every caller works on a fixed set of calls per hour (drawn from a seeded
//! generator) and makes each of them at least once before repeating any: a
//! larger size has more calls per hour but exactly the same (identity,
//! permission, day, resource) set, so the usage model is the same size at
//! every size and any growth of peak memory would be the ingest's own.

// The generator picks from fixed, non-empty tables.
#![allow(clippy::indexing_slicing)]

use scopegraph_observe::{Day, Ingest, Source};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess};
use serde_json::{Value, json};
use std::error::Error;
use std::fmt;
use std::fs::{self, File};
use std::hint::black_box;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const SEED: u64 = 0x5C09_E6A2_0250_0302;
const DAYS: u64 = 14;
const RECORDS_PER_FILE: usize = 1_000;
const MB: f64 = 1_000_000.0;
const TIME: &str = "/usr/bin/time";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("generate") => {
            let dir = PathBuf::from(args.get(1).ok_or("generate DIR MB")?);
            let mb: u64 = args.get(2).ok_or("generate DIR MB")?.parse()?;
            for set in generate(&dir, &sizes(mb))?.iter().flatten() {
                println!("{}: {} events, {} bytes", set.name, set.events, set.bytes);
            }
            Ok(())
        }
        Some("run") => {
            let contender = args.get(1).ok_or("run CONTENDER PATH...")?;
            let paths: Vec<PathBuf> = args.iter().skip(2).map(PathBuf::from).collect();
            run_one(contender, &paths)
        }
        None => whole_run(),
        Some(other) => Err(format!("unknown subcommand {other:?}: generate, run, or none").into()),
    }
}

// ------------------------------------------------------------------ runner

/// A generated data set: the files of one format and size.
struct DataSet {
    name: String,
    files: Vec<PathBuf>,
    events: u64,
    bytes: u64,
    /// The `jq` filter a user would run to print its events one a line.
    jq_filter: &'static str,
}

struct Measured {
    seconds: f64,
    peak_kib: Option<u64>,
    report: String,
}

/// The measured sizes: a quarter, a half and all of `largest` MB.
fn sizes(largest: u64) -> [u64; 3] {
    [largest / 4, largest / 2, largest]
}

fn whole_run() -> Result<()> {
    let largest: u64 = match std::env::var("SCOPEGRAPH_BENCH_MB") {
        Ok(mb) => mb.parse()?,
        Err(_) => 1024,
    };
    let runs: usize = match std::env::var("SCOPEGRAPH_BENCH_RUNS") {
        Ok(runs) => runs.parse()?,
        Err(_) => 7,
    };
    let kept = std::env::var_os("SCOPEGRAPH_BENCH_DIR").map(PathBuf::from);
    let temporary = match kept {
        Some(_) => None,
        None => Some(tempfile::tempdir()?),
    };
    let root = match (&kept, &temporary) {
        (Some(dir), _) => dir.clone(),
        (None, Some(temp)) => temp.path().to_path_buf(),
        (None, None) => return Err("no data directory".into()),
    };
    let jq = Command::new("jq").arg("--version").output();
    let jq_version = match &jq {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        _ => "not installed".to_string(),
    };
    let time = Path::new(TIME).exists();
    println!(
        "ingest bench: sizes {} / {} / {} MB, data in {}; best of {runs} interleaved runs (jq: one); {jq_version}; peak RSS {}; load average {}",
        largest / 4,
        largest / 2,
        largest,
        root.display(),
        if time {
            "by /usr/bin/time"
        } else {
            "not measured (no /usr/bin/time)"
        },
        load_average()
    );
    let by_size = generate(&root, &sizes(largest))?;
    let mut rows = Vec::new();
    const CONTENDERS: [&str; 5] = [
        "serde-ignored",
        "serde-value",
        "serde-fields",
        "ingest",
        "jq",
    ];
    for kind in 0..3 {
        for set in by_size.iter().filter_map(|sets| sets.get(kind)) {
            // Interleaved, run after run, so that a slow spell of a shared
            // machine falls on every contender rather than on one; the
            // fastest run of each is kept (jq runs once: it is far slower).
            let mut best: Vec<Option<Measured>> = CONTENDERS.iter().map(|_| None).collect();
            for run in 0..runs {
                for (contender, best) in CONTENDERS.iter().zip(&mut best) {
                    if *contender == "jq" && (jq.is_err() || run > 0) {
                        continue;
                    }
                    let next = measure(contender, set)?;
                    *best = Some(match best.take() {
                        Some(so_far) => faster(so_far, next),
                        None => next,
                    });
                }
            }
            let mut baseline = None;
            for (contender, measured) in CONTENDERS.into_iter().zip(best) {
                let Some(measured) = measured else { continue };
                let mbs = set.bytes as f64 / MB / measured.seconds;
                if contender == "serde-ignored" {
                    baseline = Some(mbs);
                }
                eprintln!(
                    "{} {contender}: {:.2} s, peak {:?} KiB, {}",
                    set.name, measured.seconds, measured.peak_kib, measured.report
                );
                rows.push(Row {
                    set: set.name.clone(),
                    mb: set.bytes as f64 / MB,
                    contender,
                    events: set.events,
                    seconds: measured.seconds,
                    mbs,
                    of_serde: baseline.map(|b| mbs / b),
                    peak_kib: measured.peak_kib,
                    report: measured.report,
                });
            }
        }
    }
    println!();
    println!(
        "| data | MB | contender | events | s | events/s | MB/s | vs serde IgnoredAny | peak RSS | counted |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---|");
    for row in &rows {
        println!("{row}");
    }
    println!();
    println!("load average at the end: {}", load_average());
    if let Some(temp) = temporary {
        temp.close()?;
    }
    Ok(())
}

struct Row {
    set: String,
    mb: f64,
    contender: &'static str,
    events: u64,
    seconds: f64,
    mbs: f64,
    of_serde: Option<f64>,
    peak_kib: Option<u64>,
    report: String,
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let of_serde = self
            .of_serde
            .map_or(String::new(), |r| format!("{:.0}%", r * 100.0));
        let peak = self.peak_kib.map_or("n/a".to_string(), |k| {
            format!("{:.0} MiB", k as f64 / 1024.0)
        });
        write!(
            f,
            "| {} | {:.0} | {} | {} | {:.2} | {:.0} | {:.1} | {} | {} | {} |",
            self.set,
            self.mb,
            self.contender,
            self.events,
            self.seconds,
            self.events as f64 / self.seconds,
            self.mbs,
            of_serde,
            peak,
            self.report
        )
    }
}

/// The 1, 5 and 15 minute load averages, where the system tells them.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The faster of two measurements (the machine may be shared), with the
/// higher peak RSS.
fn faster(a: Measured, b: Measured) -> Measured {
    let peak_kib = a.peak_kib.max(b.peak_kib);
    let mut best = if b.seconds < a.seconds { b } else { a };
    best.peak_kib = peak_kib;
    best
}

/// Run one contender over a data set in a child process (under
/// `/usr/bin/time` when there is one), timed from spawn to exit.
fn measure(contender: &str, set: &DataSet) -> Result<Measured> {
    let rss_file = tempfile::NamedTempFile::new()?;
    let time = Path::new(TIME).exists();
    let mut command = if time {
        let mut command = Command::new(TIME);
        command.arg("-f").arg("%M").arg("-o").arg(rss_file.path());
        command
    } else {
        Command::new("env")
    };
    if contender == "jq" {
        command.arg("jq").arg("-c").arg(set.jq_filter);
        command.stdout(Stdio::null());
    } else {
        command
            .arg(std::env::current_exe()?)
            .arg("run")
            .arg(contender);
        command.stdout(Stdio::piped());
    }
    command.args(&set.files);
    let started = Instant::now();
    let output = command.output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!(
            "{contender} on {} failed: {}",
            set.name,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let peak_kib = if time {
        fs::read_to_string(rss_file.path())?
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
    } else {
        None
    };
    let report = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if let Some(events) = report
        .split_whitespace()
        .find_map(|w| w.strip_prefix("events="))
        && events != set.events.to_string()
    {
        return Err(format!(
            "{contender} counted {events} events in {}, not {}",
            set.name, set.events
        )
        .into());
    }
    Ok(Measured {
        seconds,
        peak_kib,
        report,
    })
}

/// One contender over `paths`, in this process.
fn run_one(contender: &str, paths: &[PathBuf]) -> Result<()> {
    match contender {
        "ingest" => {
            let mut ingest = Ingest::new();
            for path in paths {
                ingest.read_path(path);
            }
            let (model, diagnostics) = ingest.finish();
            let events: u64 = Source::ALL
                .iter()
                .map(|s| model.stats(*s).records)
                .sum::<u64>()
                + model.unrecognised()
                + model.invalid_json();
            println!(
                "events={events} identities={} tuples={} diagnostics={}",
                model.identities().count(),
                model.stored_tuples(),
                diagnostics.len()
            );
            for diagnostic in &diagnostics {
                eprintln!("{}: {}", diagnostic.source, diagnostic.message);
            }
        }
        "serde-ignored" => {
            let events = parse_all::<Ignored>(paths)?;
            println!("events={events}");
        }
        "serde-value" => {
            let events = parse_all::<Whole>(paths)?;
            println!("events={events}");
        }
        "serde-fields" => {
            let events = parse_all::<Fields>(paths)?;
            println!("events={events}");
        }
        other => {
            return Err(format!(
                "unknown contender {other:?}: ingest, serde-ignored, serde-value, serde-fields"
            )
            .into());
        }
    }
    Ok(())
}

/// Bare `serde_json`: every record of every file deserialised into `T`
/// and dropped. JSON lines are parsed a line at a time from a buffer; a
/// `{"Records":[...]}` file is read whole (it is one line) and its records
/// deserialised one by one.
fn parse_all<T: Parse>(paths: &[PathBuf]) -> Result<u64> {
    let mut events = 0;
    let mut buf = Vec::with_capacity(1 << 16);
    for path in paths {
        let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
        if reader.fill_buf()?.starts_with(b"{\"Records\"") {
            buf.clear();
            reader.read_to_end(&mut buf)?;
            let mut deserializer = serde_json::Deserializer::from_slice(&buf);
            events += RecordsFile::<T>(PhantomData).deserialize(&mut deserializer)?;
            deserializer.end()?;
            continue;
        }
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            black_box(serde_json::from_slice::<T::Out<'_>>(&buf)?);
            events += 1;
        }
    }
    Ok(events)
}

/// What each record is deserialised into.
trait Parse {
    type Out<'de>: Deserialize<'de>;
}

/// `serde::de::IgnoredAny`: the syntax checked, nothing kept.
struct Ignored;
impl Parse for Ignored {
    type Out<'de> = IgnoredAny;
}

/// `serde_json::Value`: the whole record as a tree, as ingest reads it.
struct Whole;
impl Parse for Whole {
    type Out<'de> = Value;
}

/// Only the fields ingest reads, borrowed where unescaped (an experiment:
/// what a typed reader could cost).
struct Fields;
impl Parse for Fields {
    type Out<'de> = fields::Record<'de>;
}

/// The fields of CloudTrail and Cloud Audit Log records that ingest reads.
#[allow(dead_code)] // read by nothing: only their parsing is measured
mod fields {
    use serde::Deserialize;
    use serde::de::{self, IgnoredAny};
    use std::borrow::Cow;
    use std::collections::BTreeMap;
    use std::fmt;

    type Text<'a> = Option<Cow<'a, str>>;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Record<'a> {
        #[serde(borrow)]
        event_time: Text<'a>,
        #[serde(borrow)]
        event_source: Text<'a>,
        #[serde(borrow)]
        event_name: Text<'a>,
        #[serde(borrow)]
        event_type: Text<'a>,
        #[serde(borrow)]
        event_category: Text<'a>,
        #[serde(borrow)]
        error_code: Text<'a>,
        #[serde(borrow)]
        aws_region: Text<'a>,
        #[serde(borrow)]
        user_identity: Option<UserIdentity<'a>>,
        #[serde(borrow)]
        request_parameters: Option<BTreeMap<Cow<'a, str>, Param<'a>>>,
        #[serde(borrow)]
        response_elements: Option<Response<'a>>,
        #[serde(borrow)]
        resources: Option<Vec<Resource<'a>>>,
        #[serde(borrow)]
        proto_payload: Option<Payload<'a>>,
        #[serde(borrow)]
        timestamp: Text<'a>,
        #[serde(borrow)]
        receive_timestamp: Text<'a>,
    }

    /// A request parameter: its text when it is a string, else skipped.
    pub enum Param<'a> {
        Text(Cow<'a, str>),
        Other,
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Param<'a> {
        fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ParamVisitor(std::marker::PhantomData))
        }
    }

    struct ParamVisitor<'a>(std::marker::PhantomData<&'a ()>);

    impl<'de: 'a, 'a> de::Visitor<'de> for ParamVisitor<'a> {
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
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Param<'a>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Param::Other)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Param<'a>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Param::Other)
        }
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct UserIdentity<'a> {
        #[serde(borrow, rename = "type")]
        kind: Text<'a>,
        #[serde(borrow)]
        arn: Text<'a>,
        #[serde(borrow)]
        access_key_id: Text<'a>,
        #[serde(borrow)]
        user_name: Text<'a>,
        #[serde(borrow)]
        session_context: Option<SessionContext<'a>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct SessionContext<'a> {
        #[serde(borrow)]
        session_issuer: Option<Issuer<'a>>,
    }

    #[derive(Deserialize)]
    pub struct Issuer<'a> {
        #[serde(borrow)]
        arn: Text<'a>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response<'a> {
        #[serde(borrow)]
        credentials: Option<Credentials<'a>>,
        #[serde(borrow)]
        subject_from_web_identity_token: Text<'a>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Credentials<'a> {
        #[serde(borrow)]
        access_key_id: Text<'a>,
    }

    #[derive(Deserialize)]
    pub struct Resource<'a> {
        #[serde(borrow, rename = "ARN")]
        arn: Text<'a>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Payload<'a> {
        #[serde(borrow)]
        service_name: Text<'a>,
        #[serde(borrow)]
        method_name: Text<'a>,
        #[serde(borrow)]
        resource_name: Text<'a>,
        status: Option<Status>,
        #[serde(borrow)]
        authentication_info: Option<Authentication<'a>>,
        #[serde(borrow)]
        authorization_info: Option<Vec<Check<'a>>>,
    }

    #[derive(Deserialize)]
    pub struct Status {
        code: Option<u64>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Authentication<'a> {
        #[serde(borrow)]
        principal_email: Text<'a>,
        #[serde(borrow)]
        principal_subject: Text<'a>,
        #[serde(borrow)]
        service_account_delegation_info: Option<Vec<Delegation<'a>>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Delegation<'a> {
        #[serde(borrow)]
        principal_subject: Text<'a>,
    }

    #[derive(Deserialize)]
    pub struct Check<'a> {
        #[serde(borrow)]
        permission: Text<'a>,
        #[serde(borrow)]
        resource: Text<'a>,
        granted: Option<bool>,
    }
}

/// `{"Records":[...]}`: the number of records, each deserialised into `T`.
struct RecordsFile<T>(PhantomData<T>);

impl<'de, T: Parse> DeserializeSeed<'de> for RecordsFile<T> {
    type Value = u64;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<u64, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: Parse> de::Visitor<'de> for RecordsFile<T> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail Records object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<u64, A::Error> {
        let mut records = 0;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                records += map.next_value_seed(Elements::<T>(PhantomData))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(records)
    }
}

struct Elements<T>(PhantomData<T>);

impl<'de, T: Parse> DeserializeSeed<'de> for Elements<T> {
    type Value = u64;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<u64, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Parse> de::Visitor<'de> for Elements<T> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<u64, A::Error> {
        let mut records = 0;
        while let Some(record) = seq.next_element::<T::Out<'de>>()? {
            black_box(record);
            records += 1;
        }
        Ok(records)
    }
}

// --------------------------------------------------------------- generator

/// SplitMix64: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn derive(&self, salt: u64) -> Rng {
        let mut rng = Rng(self.0 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// True `per_mille` times in 1,000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.next()));
        }
        out.truncate(len);
        out
    }

    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    /// `ASIA` / `AKIA` / `AIDA` style identifiers.
    fn key_id(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::from(prefix);
        for _ in 0..16 {
            out.push(*self.pick(ALPHABET) as char);
        }
        out
    }
}

/// Seconds since the epoch as `2025-03-02T09:12:11Z`, or with `fraction`
/// digits of sub-second `nanos` (`…09:12:11.123456Z`).
fn timestamp(seconds: u64, nanos: u64, fraction: usize) -> String {
    let day = Day::from_days_since_epoch((seconds / 86_400) as i32);
    let (y, m, d) = day.ymd();
    let s = seconds % 86_400;
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    );
    if fraction == 0 {
        format!("{base}Z")
    } else {
        let digits = format!("{nanos:09}");
        format!("{base}.{}Z", &digits[..fraction.min(9)])
    }
}

/// STS's credential expiry as CloudTrail writes it: `Mar 3, 2025, 10:12:09 AM`.
fn expiration(seconds: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = Day::from_days_since_epoch((seconds / 86_400) as i32).ymd();
    let s = seconds % 86_400;
    let (hour, half) = match s / 3600 {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{} {d}, {y}, {hour}:{:02}:{:02} {half}",
        MONTHS[(m as usize + 11) % 12],
        s % 3600 / 60,
        s % 60
    )
}

fn start_seconds() -> u64 {
    Day::from_ymd(2025, 3, 2).map_or(0, |d| d.days_since_epoch() as u64 * 86_400)
}

/// How busy an hour of the day is, in tenths.
fn load(hour_of_day: u64) -> u64 {
    match hour_of_day {
        0..=5 => 4,
        6..=8 | 19..=23 => 8,
        _ => 14,
    }
}

fn working_hours(hour: u64) -> bool {
    let day = hour / 24;
    let weekday = (day + 6) % 7 < 5; // 2025-03-02 is a Sunday
    weekday && (8..18).contains(&(hour % 24))
}

/// One hour of one caller: the calls it makes, each at least once.
struct Slot<C> {
    calls: Vec<C>,
    /// Relative volume, in tenths.
    weight: u64,
}

/// How many events a slot gets at each scale: its calls at least.
fn volumes<C>(slot: &Slot<C>, scales: &[f64]) -> Vec<usize> {
    scales
        .iter()
        .map(|s| ((slot.weight as f64 * s).round() as usize).max(slot.calls.len()))
        .collect()
}

/// The smallest scale at which a slot of these `volumes` makes its `i`th call.
fn first_scale(volumes: &[usize], i: usize) -> usize {
    volumes.iter().position(|n| i < *n).unwrap_or(volumes.len())
}

// CloudTrail ---------------------------------------------------------------

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-west-2";
const OIDC: &str = "oidc.eks.us-west-2.amazonaws.com/id/5C4C3E2B1A09F8E7D6C5B4A3F2E1D0C9";

/// What a CloudTrail call acts on.
#[derive(Clone, Copy)]
enum On {
    Object(&'static str, &'static str),
    Bucket(&'static str, &'static str),
    Table(&'static str),
    Key(&'static str),
    Secret(&'static str),
    Queue(&'static str),
    Model(&'static str),
    Parameter(&'static str),
    Role(&'static str),
    Repository(&'static str),
    Function(&'static str),
    Nothing,
}

#[derive(Clone, Copy)]
struct Api {
    source: &'static str,
    name: &'static str,
    on: On,
}

const fn api(source: &'static str, name: &'static str, on: On) -> Api {
    Api { source, name, on }
}

const S3: &str = "s3.amazonaws.com";
const DDB: &str = "dynamodb.amazonaws.com";
const KMS: &str = "kms.amazonaws.com";

struct Workload {
    namespace: &'static str,
    account: &'static str,
    replicas: u64,
    weight: u64,
    apis: &'static [Api],
    /// Calls its role does not allow (AccessDenied).
    denied: &'static [Api],
}

const WORKLOADS: &[Workload] = &[
    Workload {
        namespace: "agents",
        account: "research-agent",
        replicas: 3,
        weight: 40,
        apis: &[
            api(
                S3,
                "GetObject",
                On::Object("acme-research-corpus", "papers/"),
            ),
            api(
                S3,
                "HeadObject",
                On::Object("acme-research-corpus", "papers/"),
            ),
            api(
                S3,
                "ListObjectsV2",
                On::Bucket("acme-research-corpus", "papers/"),
            ),
            api(
                S3,
                "PutObject",
                On::Object("acme-agent-scratch", "research/"),
            ),
            api(
                "bedrock.amazonaws.com",
                "InvokeModel",
                On::Model("anthropic.claude-3-5-sonnet-20240620-v1:0"),
            ),
            api(
                KMS,
                "Decrypt",
                On::Key("0f3c5a1e-9b7d-4c2a-8e6f-1a2b3c4d5e6f"),
            ),
        ],
        denied: &[
            api(S3, "PutObject", On::Object("acme-prod-reports", "q1/")),
            api("iam.amazonaws.com", "ListRoles", On::Nothing),
        ],
    },
    Workload {
        namespace: "agents",
        account: "support-agent",
        replicas: 2,
        weight: 30,
        apis: &[
            api(DDB, "GetItem", On::Table("support-tickets")),
            api(DDB, "Query", On::Table("support-tickets")),
            api(DDB, "PutItem", On::Table("support-replies")),
            api(
                "bedrock.amazonaws.com",
                "Converse",
                On::Model("anthropic.claude-3-haiku-20240307-v1:0"),
            ),
            api(
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                On::Secret("agents/support/zendesk-token-Xk2p9Q"),
            ),
        ],
        denied: &[api(DDB, "Scan", On::Table("customers"))],
    },
    Workload {
        namespace: "agents",
        account: "billing-agent",
        replicas: 1,
        weight: 20,
        apis: &[
            api(DDB, "GetItem", On::Table("invoices")),
            api(DDB, "UpdateItem", On::Table("invoices")),
            api(
                KMS,
                "GenerateDataKey",
                On::Key("7d2e4f60-3a1b-4c5d-9e8f-0a1b2c3d4e5f"),
            ),
            api(
                "sqs.amazonaws.com",
                "SendMessage",
                On::Queue("billing-events"),
            ),
            api(
                "ssm.amazonaws.com",
                "GetParameter",
                On::Parameter("/agents/billing/stripe-endpoint"),
            ),
        ],
        denied: &[api(
            KMS,
            "Decrypt",
            On::Key("c4d5e6f7-0a1b-4c2d-8e3f-9a8b7c6d5e4f"),
        )],
    },
    Workload {
        namespace: "ingest",
        account: "log-shipper",
        replicas: 4,
        weight: 35,
        apis: &[
            api(S3, "PutObject", On::Object("acme-log-archive", "k8s/")),
            api(
                "sqs.amazonaws.com",
                "ReceiveMessage",
                On::Queue("ingest-jobs"),
            ),
            api(
                "sqs.amazonaws.com",
                "DeleteMessage",
                On::Queue("ingest-jobs"),
            ),
            api(
                KMS,
                "GenerateDataKey",
                On::Key("1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"),
            ),
        ],
        denied: &[],
    },
    Workload {
        namespace: "search",
        account: "indexer",
        replicas: 2,
        weight: 30,
        apis: &[
            api(
                S3,
                "GetObject",
                On::Object("acme-research-corpus", "papers/"),
            ),
            api(S3, "ListObjects", On::Bucket("acme-research-corpus", "")),
            api(DDB, "BatchWriteItem", On::Table("search-index")),
            api(DDB, "Query", On::Table("search-index")),
            api("monitoring.amazonaws.com", "PutMetricData", On::Nothing),
        ],
        denied: &[api(
            S3,
            "DeleteObject",
            On::Object("acme-research-corpus", "papers/"),
        )],
    },
    Workload {
        namespace: "platform",
        account: "external-dns",
        replicas: 1,
        weight: 6,
        apis: &[
            api("route53.amazonaws.com", "ListHostedZones", On::Nothing),
            api(
                "route53.amazonaws.com",
                "ListResourceRecordSets",
                On::Nothing,
            ),
            api("sts.amazonaws.com", "GetCallerIdentity", On::Nothing),
        ],
        denied: &[],
    },
    Workload {
        namespace: "ml-train",
        account: "trainer",
        replicas: 2,
        weight: 25,
        apis: &[
            api(S3, "GetObject", On::Object("acme-training-data", "shards/")),
            api(
                S3,
                "PutObject",
                On::Object("acme-model-artifacts", "checkpoints/"),
            ),
            api(
                S3,
                "ListObjectsV2",
                On::Bucket("acme-training-data", "shards/"),
            ),
            api(
                KMS,
                "Decrypt",
                On::Key("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
            ),
        ],
        denied: &[api(S3, "GetObject", On::Object("acme-prod-reports", "q1/"))],
    },
];

struct User {
    name: &'static str,
    apis: &'static [Api],
    denied: &'static [Api],
}

const USERS: &[User] = &[
    User {
        name: "terraform",
        apis: &[
            api(S3, "GetObject", On::Object("acme-terraform-state", "prod/")),
            api(S3, "PutObject", On::Object("acme-terraform-state", "prod/")),
            api(DDB, "GetItem", On::Table("terraform-locks")),
            api(DDB, "PutItem", On::Table("terraform-locks")),
            api(
                "iam.amazonaws.com",
                "GetRole",
                On::Role("eks/agents-research-agent"),
            ),
            api(
                "iam.amazonaws.com",
                "ListAttachedRolePolicies",
                On::Role("eks/agents-research-agent"),
            ),
            api("ec2.amazonaws.com", "DescribeSecurityGroups", On::Nothing),
        ],
        denied: &[],
    },
    User {
        name: "ci-deployer",
        apis: &[
            api("ecr.amazonaws.com", "GetAuthorizationToken", On::Nothing),
            api(
                "ecr.amazonaws.com",
                "BatchGetImage",
                On::Repository("agents/research-agent"),
            ),
            api(
                "lambda.amazonaws.com",
                "UpdateFunctionCode20150331v2",
                On::Function("report-builder"),
            ),
            api(S3, "PutObject", On::Object("acme-ci-artifacts", "builds/")),
        ],
        denied: &[api(
            "iam.amazonaws.com",
            "AttachRolePolicy",
            On::Role("admin"),
        )],
    },
    User {
        name: "alice",
        apis: &[
            api(
                S3,
                "ListObjectsV2",
                On::Bucket("acme-research-corpus", "papers/"),
            ),
            api(
                S3,
                "GetObject",
                On::Object("acme-research-corpus", "papers/"),
            ),
            api("ec2.amazonaws.com", "DescribeInstances", On::Nothing),
            api("logs.amazonaws.com", "FilterLogEvents", On::Nothing),
        ],
        denied: &[api("iam.amazonaws.com", "CreateAccessKey", On::Nothing)],
    },
    User {
        name: "backup-bot",
        apis: &[
            api(DDB, "Scan", On::Table("invoices")),
            api(S3, "PutObject", On::Object("acme-backups", "dynamodb/")),
            api(
                KMS,
                "GenerateDataKey",
                On::Key("1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"),
            ),
        ],
        denied: &[],
    },
];

/// The EKS nodes' instance role: sessions issued by EC2, never tied to a pod.
const NODE_APIS: &[Api] = &[
    api("ecr.amazonaws.com", "GetAuthorizationToken", On::Nothing),
    api(
        "ecr.amazonaws.com",
        "BatchGetImage",
        On::Repository("agents/research-agent"),
    ),
    api(
        "ecr.amazonaws.com",
        "GetDownloadUrlForLayer",
        On::Repository("agents/research-agent"),
    ),
    api("ec2.amazonaws.com", "DescribeInstances", On::Nothing),
    api(
        "ec2.amazonaws.com",
        "DescribeNetworkInterfaces",
        On::Nothing,
    ),
];
const NODES: u64 = 4;

/// One call a slot makes, with its resource drawn.
#[derive(Clone)]
struct Aws {
    api: Api,
    /// The object key or name suffix, when it has one.
    item: String,
    denied: bool,
}

/// Who makes a slot's calls.
enum Caller {
    /// A pod's IRSA session: its role, subject and access key.
    Pod {
        workload: &'static Workload,
        ip: String,
        key: String,
        session: String,
    },
    Node {
        instance: String,
        ip: String,
        key: String,
    },
    User {
        user: &'static User,
        key: String,
        ip: String,
    },
}

fn role_name(w: &Workload) -> String {
    format!("{}-{}", w.namespace, w.account)
}

fn draw_calls(rng: &mut Rng, apis: &[Api], denied: &[Api], max: usize) -> Vec<Aws> {
    let mut calls = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let wanted = 2 + rng.below(max as u64 - 1) as usize;
    for _ in 0..wanted * 3 {
        if calls.len() >= wanted {
            break;
        }
        let api = *rng.pick(apis);
        let item = match api.on {
            On::Object(_, prefix) | On::Bucket(_, prefix) if !prefix.is_empty() => {
                format!("{prefix}{:04}/{}.json", rng.below(40), rng.hex(8))
            }
            _ => String::new(),
        };
        if seen.insert((api.source, api.name, item.clone())) {
            calls.push(Aws {
                api,
                item,
                denied: false,
            });
        }
    }
    if !denied.is_empty() && rng.chance(300) {
        let api = *rng.pick(denied);
        let item = match api.on {
            On::Object(_, prefix) => format!("{prefix}{}.csv", rng.hex(6)),
            _ => String::new(),
        };
        calls.push(Aws {
            api,
            item,
            denied: true,
        });
    }
    calls
}

/// Every slot of the 14 days, hour by hour.
fn cloudtrail_slots(rng: &Rng, hour: u64) -> Vec<(Caller, Slot<Aws>)> {
    let mut slots = Vec::new();
    let busy = load(hour % 24);
    for (w, workload) in WORKLOADS.iter().enumerate() {
        for replica in 0..workload.replicas {
            let mut r = rng.derive(hour << 16 | (w as u64) << 8 | replica);
            let calls = draw_calls(&mut r, workload.apis, workload.denied, 8);
            let pod_rng = &mut rng.derive(0xB0D0 + ((w as u64) << 8 | replica));
            let ip = format!("10.0.{}.{}", 32 + pod_rng.below(64), 2 + pod_rng.below(250));
            slots.push((
                Caller::Pod {
                    workload,
                    ip,
                    key: r.key_id("ASIA"),
                    session: format!(
                        "botocore-session-{}",
                        1_740_873_600 + hour * 3600 + r.below(90)
                    ),
                },
                Slot {
                    calls,
                    weight: workload.weight * busy,
                },
            ));
        }
    }
    for node in 0..NODES {
        let mut r = rng.derive(hour << 16 | 0xA000 | node);
        let calls = draw_calls(&mut r, NODE_APIS, &[], 4);
        let node_rng = &mut rng.derive(0xA0DE + node);
        slots.push((
            Caller::Node {
                instance: format!("i-0{}", node_rng.hex(16)),
                ip: format!("10.0.{}.{}", node_rng.below(16), 10 + node_rng.below(200)),
                key: r.key_id("ASIA"),
            },
            Slot {
                calls,
                weight: 6 * busy,
            },
        ));
    }
    for (u, user) in USERS.iter().enumerate() {
        let mut r = rng.derive(hour << 16 | 0xC000 | u as u64);
        let automated = user.name != "alice";
        if !(working_hours(hour) || automated && hour.is_multiple_of(6)) || !r.chance(700) {
            continue;
        }
        let calls = draw_calls(&mut r, user.apis, user.denied, 6);
        let user_rng = &mut rng.derive(0xC0DE + u as u64);
        slots.push((
            Caller::User {
                user,
                key: user_rng.key_id("AKIA"),
                ip: format!("203.0.113.{}", 10 + user_rng.below(200)),
            },
            Slot { calls, weight: 60 },
        ));
    }
    slots
}

fn user_agent(caller: &Caller) -> &'static str {
    match caller {
        Caller::Pod { workload, .. } if workload.namespace == "platform" => {
            "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/route53#1.42.3"
        }
        Caller::Pod { .. } => {
            "Boto3/1.35.90 md/Botocore#1.35.90 ua/2.0 os/linux#6.1.119 md/arch#x86_64 lang/python#3.12.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.90"
        }
        Caller::Node { .. } => "aws-sdk-go/1.55.5 (go1.22.5; linux; amd64)",
        Caller::User { user, .. } if user.name == "terraform" => {
            "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.66.0"
        }
        Caller::User { .. } => {
            "aws-cli/2.17.40 md/awscrt#0.21.2 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe command/s3.cp"
        }
    }
}

fn caller_identity(caller: &Caller) -> (Value, String) {
    match caller {
        Caller::Pod {
            workload,
            key,
            session,
            ..
        } => {
            let role = role_name(workload);
            let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}");
            let role_id = format!("AROA{}", role.len() * 7919 % 10_000 + 10_000);
            (
                json!({
                    "type": "AssumedRole",
                    "principalId": format!("{role_id}:{session}"),
                    "arn": arn,
                    "accountId": ACCOUNT,
                    "accessKeyId": key,
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": role_id,
                            "arn": format!("arn:aws:iam::{ACCOUNT}:role/eks/{role}"),
                            "accountId": ACCOUNT,
                            "userName": role,
                        },
                        "webIdFederationData": {
                            "federatedProvider": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC}"),
                            "attributes": {},
                        },
                        "attributes": {"creationDate": "", "mfaAuthenticated": "false"},
                    },
                }),
                arn,
            )
        }
        Caller::Node { instance, key, .. } => {
            let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/eks-node-group-role/{instance}");
            (
                json!({
                    "type": "AssumedRole",
                    "principalId": format!("AROAEKSNODEGROUP0001:{instance}"),
                    "arn": arn,
                    "accountId": ACCOUNT,
                    "accessKeyId": key,
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": "AROAEKSNODEGROUP0001",
                            "arn": format!("arn:aws:iam::{ACCOUNT}:role/eks-node-group-role"),
                            "accountId": ACCOUNT,
                            "userName": "eks-node-group-role",
                        },
                        "attributes": {"creationDate": "", "mfaAuthenticated": "false"},
                        "ec2RoleDelivery": "2.0",
                    },
                }),
                arn,
            )
        }
        Caller::User { user, key, .. } => {
            let arn = format!("arn:aws:iam::{ACCOUNT}:user/{}", user.name);
            (
                json!({
                    "type": "IAMUser",
                    "principalId": format!("AIDA{:016}", user.name.len() * 104_729),
                    "arn": arn,
                    "accountId": ACCOUNT,
                    "accessKeyId": key,
                    "userName": user.name,
                }),
                arn,
            )
        }
    }
}

fn caller_ip(caller: &Caller) -> &str {
    match caller {
        Caller::Pod { ip, .. } | Caller::Node { ip, .. } | Caller::User { ip, .. } => ip,
    }
}

/// The call's request parameters and `resources[]`, and the ARN named in a denial.
fn request(call: &Aws, rng: &mut Rng) -> (Value, Value, String) {
    let region = REGION;
    match call.api.on {
        On::Object(bucket, _) => {
            let arn = format!("arn:aws:s3:::{bucket}/{}", call.item);
            (
                json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": call.item}),
                json!([
                    {"type": "AWS::S3::Object", "ARN": arn},
                    {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")},
                ]),
                arn,
            )
        }
        On::Bucket(bucket, prefix) => {
            let arn = format!("arn:aws:s3:::{bucket}");
            let params = if call.api.name == "ListObjectsV2" {
                json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "list-type": "2", "prefix": prefix, "encoding-type": "url"})
            } else {
                json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "prefix": prefix})
            };
            (
                params,
                json!([{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": arn}]),
                arn,
            )
        }
        On::Table(table) => {
            let arn = format!("arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}");
            let params = match call.api.name {
                "Query" | "Scan" => {
                    json!({"tableName": table, "limit": 100, "consistentRead": false, "select": "ALL_ATTRIBUTES"})
                }
                "BatchWriteItem" => json!({"requestItems": [{"tableName": table}]}),
                _ => {
                    json!({"tableName": table, "key": {"pk": format!("{}#{}", table, rng.hex(12)), "sk": "v0"}, "consistentRead": false})
                }
            };
            (
                params,
                json!([{"accountId": ACCOUNT, "type": "AWS::DynamoDB::Table", "ARN": arn}]),
                arn,
            )
        }
        On::Key(id) => {
            let arn = format!("arn:aws:kms:{region}:{ACCOUNT}:key/{id}");
            let params = if call.api.name == "Decrypt" {
                json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:s3:arn": "arn:aws:s3:::acme-research-corpus"}})
            } else {
                json!({"keyId": arn, "keySpec": "AES_256", "encryptionContext": {"aws:s3:arn": "arn:aws:s3:::acme-log-archive"}})
            };
            (
                params,
                json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}]),
                arn,
            )
        }
        On::Secret(name) => {
            let arn = format!("arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{name}");
            (json!({"secretId": arn}), Value::Null, arn)
        }
        On::Queue(queue) => {
            let arn = format!("arn:aws:sqs:{region}:{ACCOUNT}:{queue}");
            let url = format!("https://sqs.{region}.amazonaws.com/{ACCOUNT}/{queue}");
            let params = match call.api.name {
                "ReceiveMessage" => {
                    json!({"queueUrl": url, "maxNumberOfMessages": 10, "waitTimeSeconds": 20})
                }
                "DeleteMessage" => json!({"queueUrl": url, "receiptHandle": rng.hex(48)}),
                _ => json!({"queueUrl": url, "messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            };
            (
                params,
                json!([{"accountId": ACCOUNT, "type": "AWS::SQS::Queue", "ARN": arn}]),
                arn,
            )
        }
        On::Model(model) => (
            json!({"modelId": model}),
            Value::Null,
            format!("arn:aws:bedrock:{region}::foundation-model/{model}"),
        ),
        On::Parameter(name) => (
            json!({"name": name, "withDecryption": true}),
            Value::Null,
            format!("arn:aws:ssm:{region}:{ACCOUNT}:parameter{name}"),
        ),
        On::Role(role) => {
            let arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
            let name = role.rsplit('/').next().unwrap_or(role);
            (json!({"roleName": name}), Value::Null, arn)
        }
        On::Repository(repo) => (
            json!({"repositoryName": repo, "registryId": ACCOUNT, "imageIds": [{"imageTag": "v1.4.2"}], "acceptedMediaTypes": ["application/vnd.oci.image.manifest.v1+json"]}),
            json!([{"accountId": ACCOUNT, "ARN": format!("arn:aws:ecr:{region}:{ACCOUNT}:repository/{repo}")}]),
            format!("arn:aws:ecr:{region}:{ACCOUNT}:repository/{repo}"),
        ),
        On::Function(function) => {
            let arn = format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{function}");
            (
                json!({"functionName": arn, "publish": false, "dryRun": false}),
                Value::Null,
                arn,
            )
        }
        On::Nothing => (Value::Null, Value::Null, "*".to_string()),
    }
}

fn action_name(api: &Api) -> String {
    let prefix = match api.source {
        "monitoring.amazonaws.com" => "cloudwatch",
        s => s.split('.').next().unwrap_or(s),
    };
    format!("{prefix}:{}", api.name.trim_end_matches("20150331v2"))
}

fn cloudtrail_call(caller: &Caller, call: &Aws, time: u64, rng: &mut Rng) -> Value {
    let (mut identity, arn) = caller_identity(caller);
    if let Some(attributes) = identity.pointer_mut("/sessionContext/attributes/creationDate") {
        *attributes = Value::String(timestamp(time - time % 3600, 0, 0));
    }
    let (params, resources, target) = request(call, rng);
    // S3 object and bucket reads, DynamoDB item calls and SQS messages are data events.
    let data = matches!(call.api.on, On::Object(..) | On::Bucket(..) | On::Queue(..))
        || call.api.source == DDB;
    let read_only = [
        "Get", "Head", "List", "Describe", "Query", "Scan", "Decrypt", "Receive", "Filter",
        "BatchGet",
    ]
    .iter()
    .any(|p| call.api.name.starts_with(p));
    let host = match call.api.on {
        On::Object(bucket, _) | On::Bucket(bucket, _) => {
            format!("{bucket}.s3.{REGION}.amazonaws.com")
        }
        _ => {
            let service = call.api.source.split('.').next().unwrap_or("sts");
            format!("{service}.{REGION}.amazonaws.com")
        }
    };
    let mut event = json!({
        "eventVersion": if data { "1.10" } else { "1.09" },
        "userIdentity": identity,
        "eventTime": timestamp(time, 0, 0),
        "eventSource": call.api.source,
        "eventName": call.api.name,
        "awsRegion": REGION,
        "sourceIPAddress": caller_ip(caller),
        "userAgent": user_agent(caller),
        "requestParameters": params,
        "responseElements": Value::Null,
        "requestID": rng.hex(16).to_uppercase(),
        "eventID": rng.uuid(),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": !data,
        "recipientAccountId": ACCOUNT,
        "eventCategory": if data { "Data" } else { "Management" },
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": host,
        },
    });
    if let Some(object) = event.as_object_mut() {
        if !resources.is_null() {
            object.insert("resources".into(), resources);
        }
        if call.api.source == S3 {
            object.insert(
                "additionalEventData".into(),
                json!({
                    "SignatureVersion": "SigV4",
                    "CipherSuite": "TLS_AES_128_GCM_SHA256",
                    "bytesTransferredIn": if call.api.name == "PutObject" { rng.below(200_000) } else { 0 },
                    "AuthenticationMethod": "AuthHeader",
                    "x-amz-id-2": format!("{}=", rng.hex(56)),
                    "bytesTransferredOut": if call.api.name == "GetObject" && !call.denied { rng.below(2_000_000) } else { 0 },
                }),
            );
        }
        if call.denied {
            let action = action_name(&call.api);
            object.insert("errorCode".into(), json!("AccessDenied"));
            object.insert(
                "errorMessage".into(),
                json!(format!(
                    "User: {arn} is not authorized to perform: {action} on resource: {target} because no identity-based policy allows the {action} action"
                )),
            );
        } else if call.api.name == "GetCallerIdentity" {
            object.insert(
                "responseElements".into(),
                json!({"userId": arn.clone(), "account": ACCOUNT, "arn": arn}),
            );
        }
    }
    event
}

/// The credential issue opening a slot: IRSA's `AssumeRoleWithWebIdentity`,
/// or EC2 assuming the node role for an instance profile.
fn cloudtrail_issue(caller: &Caller, time: u64, rng: &mut Rng) -> Option<Value> {
    let expiration = expiration(time + 3600);
    match caller {
        Caller::Pod {
            workload,
            key,
            session,
            ip,
            ..
        } => {
            let role = role_name(workload);
            let subject = format!(
                "system:serviceaccount:{}:{}",
                workload.namespace, workload.account
            );
            let provider = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC}");
            let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/eks/{role}");
            Some(json!({
                "eventVersion": "1.08",
                "userIdentity": {
                    "type": "WebIdentityUser",
                    "principalId": format!("{provider}:sts.amazonaws.com:{subject}"),
                    "userName": subject,
                    "identityProvider": provider,
                },
                "eventTime": timestamp(time, 0, 0),
                "eventSource": "sts.amazonaws.com",
                "eventName": "AssumeRoleWithWebIdentity",
                "awsRegion": REGION,
                "sourceIPAddress": ip,
                "userAgent": user_agent(caller),
                "requestParameters": {"roleArn": role_arn, "roleSessionName": session},
                "responseElements": {
                    "credentials": {
                        "accessKeyId": key,
                        "sessionToken": format!("IQoJb3JpZ2luX2Vj{}", rng.hex(96)),
                        "expiration": expiration,
                    },
                    "subjectFromWebIdentityToken": subject,
                    "assumedRoleUser": {
                        "assumedRoleId": format!("AROA{}:{session}", role.len() * 7919 % 10_000 + 10_000),
                        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
                    },
                    "provider": provider,
                    "audience": "sts.amazonaws.com",
                },
                "requestID": rng.uuid(),
                "eventID": rng.uuid(),
                "readOnly": true,
                "resources": [{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn}],
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": ACCOUNT,
                "eventCategory": "Management",
                "tlsDetails": {
                    "tlsVersion": "TLSv1.3",
                    "cipherSuite": "TLS_AES_128_GCM_SHA256",
                    "clientProvidedHostHeader": format!("sts.{REGION}.amazonaws.com"),
                },
            }))
        }
        Caller::Node { instance, key, .. } => {
            let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/eks-node-group-role");
            Some(json!({
                "eventVersion": "1.08",
                "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
                "eventTime": timestamp(time, 0, 0),
                "eventSource": "sts.amazonaws.com",
                "eventName": "AssumeRole",
                "awsRegion": REGION,
                "sourceIPAddress": "ec2.amazonaws.com",
                "userAgent": "ec2.amazonaws.com",
                "requestParameters": {"roleArn": role_arn, "roleSessionName": instance},
                "responseElements": {
                    "credentials": {
                        "accessKeyId": key,
                        "sessionToken": format!("IQoJb3JpZ2luX2Vj{}", rng.hex(96)),
                        "expiration": expiration,
                    },
                },
                "requestID": rng.uuid(),
                "eventID": rng.uuid(),
                "readOnly": true,
                "resources": [{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn}],
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": ACCOUNT,
                "sharedEventID": rng.uuid(),
                "eventCategory": "Management",
            }))
        }
        Caller::User { .. } => None,
    }
}

/// Generate CloudTrail for `hours` at every scale at once, hour by hour,
/// each event serialised and handed to `emit` in time order with the index
/// of the smallest scale it belongs to: a slot's calls at a smaller scale
/// are a prefix of its calls at a larger one. Returns the total weight.
fn cloudtrail(hours: Range<u64>, scales: &[f64], emit: Emit<'_>) -> Result<u64> {
    let base = Rng::new(SEED);
    let start = start_seconds();
    let mut weight = 0;
    let mut line = Vec::with_capacity(4096);
    for hour in hours {
        let hour_start = start + hour * 3600;
        let mut batch = Vec::new();
        for (s, (caller, slot)) in cloudtrail_slots(&base, hour).into_iter().enumerate() {
            weight += slot.weight;
            let mut rng = base.derive(hour << 20 | 0xE0000 | s as u64);
            let issued = hour_start + rng.below(120);
            if let Some(issue) = cloudtrail_issue(&caller, issued, &mut rng) {
                batch.push((issued, 0, issue));
            }
            let volumes = volumes(&slot, scales);
            for i in 0..volumes.last().copied().unwrap_or(0) {
                let call = match slot.calls.get(i) {
                    Some(call) => call,
                    None => rng.pick(&slot.calls),
                };
                let time = issued + 1 + rng.below(hour_start + 3599 - issued);
                let first = first_scale(&volumes, i);
                batch.push((time, first, cloudtrail_call(&caller, call, time, &mut rng)));
            }
        }
        batch.sort_by_key(|(t, _, _)| *t);
        for (time, first, event) in batch {
            line.clear();
            serde_json::to_writer(&mut line, &event)?;
            emit(time, &line, first)?;
        }
    }
    Ok(weight)
}

// Cloud Audit Logs ----------------------------------------------------------

const PROJECT: &str = "acme-ml";
const PROJECT_NUMBER: &str = "482915730164";

#[derive(Clone, Copy)]
struct Gcp {
    service: &'static str,
    method: &'static str,
    permission: &'static str,
    /// `{}` stands for the drawn item.
    resource: &'static str,
    /// A second check the call makes (BigQuery reads the table it queries).
    also: Option<(&'static str, &'static str)>,
    activity: bool,
}

const fn gcp(
    service: &'static str,
    method: &'static str,
    permission: &'static str,
    resource: &'static str,
) -> Gcp {
    Gcp {
        service,
        method,
        permission,
        resource,
        also: None,
        activity: false,
    }
}

const GCS_GET: Gcp = gcp(
    "storage.googleapis.com",
    "storage.objects.get",
    "storage.objects.get",
    "projects/_/buckets/acme-ml-corpus/objects/{}",
);
const GCS_LIST: Gcp = gcp(
    "storage.googleapis.com",
    "storage.objects.list",
    "storage.objects.list",
    "projects/_/buckets/acme-ml-corpus",
);
const GCS_CREATE: Gcp = gcp(
    "storage.googleapis.com",
    "storage.objects.create",
    "storage.objects.create",
    "projects/_/buckets/acme-ml-scratch/objects/{}",
);
const BQ_QUERY: Gcp = Gcp {
    also: Some((
        "bigquery.tables.getData",
        "projects/acme-ml/datasets/support/tables/tickets",
    )),
    ..gcp(
        "bigquery.googleapis.com",
        "google.cloud.bigquery.v2.JobService.InsertJob",
        "bigquery.jobs.create",
        "projects/acme-ml",
    )
};
const PUBLISH: Gcp = gcp(
    "pubsub.googleapis.com",
    "google.pubsub.v1.Publisher.Publish",
    "pubsub.topics.publish",
    "projects/acme-ml/topics/agent-events",
);
const SECRET: Gcp = gcp(
    "secretmanager.googleapis.com",
    "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
    "secretmanager.versions.access",
    "projects/482915730164/secrets/agent-api-key/versions/latest",
);
const DECRYPT: Gcp = gcp(
    "cloudkms.googleapis.com",
    "Decrypt",
    "cloudkms.cryptoKeyVersions.useToDecrypt",
    "projects/acme-ml/locations/global/keyRings/agents/cryptoKeys/corpus",
);
const PREDICT: Gcp = gcp(
    "aiplatform.googleapis.com",
    "google.cloud.aiplatform.v1.PredictionService.GenerateContent",
    "aiplatform.endpoints.predict",
    "projects/acme-ml/locations/us-central1/publishers/google/models/gemini-1.5-pro-002",
);
const INSTANCES: Gcp = gcp(
    "compute.googleapis.com",
    "v1.compute.instances.list",
    "compute.instances.list",
    "projects/acme-ml/zones/us-central1-a",
);
const SET_IAM: Gcp = Gcp {
    activity: true,
    ..gcp(
        "cloudresourcemanager.googleapis.com",
        "SetIamPolicy",
        "resourcemanager.projects.setIamPolicy",
        "projects/acme-ml",
    )
};
const DEPLOY: Gcp = Gcp {
    activity: true,
    ..gcp(
        "run.googleapis.com",
        "google.cloud.run.v1.Services.ReplaceService",
        "run.services.update",
        "namespaces/acme-ml/services/report-builder",
    )
};

/// Who a Cloud Audit Log entry names.
enum GcpCaller {
    /// GKE Workload Identity through a Google service account.
    Delegated {
        ns: &'static str,
        ksa: &'static str,
        gsa: &'static str,
    },
    /// Direct Workload Identity Federation, no Google service account.
    Federated {
        ns: &'static str,
        ksa: &'static str,
    },
    ServiceAccount(&'static str),
    User(&'static str),
}

struct GcpWorkload {
    caller: GcpCaller,
    weight: u64,
    always: bool,
    calls: &'static [Gcp],
    denied: &'static [Gcp],
}

const GCP_WORKLOADS: &[GcpWorkload] = &[
    GcpWorkload {
        caller: GcpCaller::Delegated {
            ns: "agents",
            ksa: "research-agent",
            gsa: "research-agent",
        },
        weight: 40,
        always: true,
        calls: &[GCS_GET, GCS_LIST, GCS_CREATE, PREDICT, DECRYPT],
        denied: &[SET_IAM],
    },
    GcpWorkload {
        caller: GcpCaller::Delegated {
            ns: "agents",
            ksa: "support-agent",
            gsa: "support-agent",
        },
        weight: 30,
        always: true,
        calls: &[BQ_QUERY, PUBLISH, SECRET, PREDICT],
        denied: &[GCS_GET],
    },
    GcpWorkload {
        caller: GcpCaller::Delegated {
            ns: "agents",
            ksa: "planner",
            gsa: "agent-planner",
        },
        weight: 25,
        always: true,
        calls: &[PREDICT, PUBLISH, GCS_GET, SECRET],
        denied: &[INSTANCES],
    },
    GcpWorkload {
        caller: GcpCaller::Delegated {
            ns: "ingest",
            ksa: "log-shipper",
            gsa: "log-shipper",
        },
        weight: 35,
        always: true,
        calls: &[GCS_CREATE, PUBLISH, DECRYPT],
        denied: &[],
    },
    GcpWorkload {
        caller: GcpCaller::Federated {
            ns: "search",
            ksa: "indexer",
        },
        weight: 30,
        always: true,
        calls: &[GCS_GET, GCS_LIST, BQ_QUERY],
        denied: &[GCS_CREATE],
    },
    GcpWorkload {
        caller: GcpCaller::Federated {
            ns: "ml-train",
            ksa: "trainer",
        },
        weight: 25,
        always: true,
        calls: &[GCS_GET, GCS_LIST, GCS_CREATE, DECRYPT],
        denied: &[],
    },
    GcpWorkload {
        caller: GcpCaller::ServiceAccount("ci-deployer@acme-ml.iam.gserviceaccount.com"),
        weight: 20,
        always: false,
        calls: &[DEPLOY, GCS_CREATE, INSTANCES],
        denied: &[SET_IAM],
    },
    GcpWorkload {
        caller: GcpCaller::ServiceAccount(
            "service-482915730164@gcp-sa-aiplatform.iam.gserviceaccount.com",
        ),
        weight: 10,
        always: true,
        calls: &[GCS_GET, DECRYPT],
        denied: &[],
    },
    GcpWorkload {
        caller: GcpCaller::User("alice@acme.example"),
        weight: 15,
        always: false,
        calls: &[GCS_LIST, GCS_GET, INSTANCES, BQ_QUERY],
        denied: &[SET_IAM],
    },
];

#[derive(Clone)]
struct GcpCall {
    api: Gcp,
    item: String,
    denied: bool,
}

fn gcp_slots(rng: &Rng, hour: u64) -> Vec<(&'static GcpWorkload, Slot<GcpCall>)> {
    let busy = load(hour % 24);
    let mut slots = Vec::new();
    for (w, workload) in GCP_WORKLOADS.iter().enumerate() {
        let mut r = rng.derive(hour << 16 | 0xD000 | w as u64);
        if !(workload.always || working_hours(hour) && r.chance(700)) {
            continue;
        }
        let mut calls: Vec<GcpCall> = Vec::new();
        let wanted = 2 + r.below(5) as usize;
        for _ in 0..wanted * 3 {
            if calls.len() >= wanted {
                break;
            }
            let api = *r.pick(workload.calls);
            let item = if api.resource.contains("{}") {
                format!("papers/{:04}/{}.pdf", r.below(40), r.hex(8))
            } else {
                String::new()
            };
            if !calls
                .iter()
                .any(|c| c.api.method == api.method && c.item == item)
            {
                calls.push(GcpCall {
                    api,
                    item,
                    denied: false,
                });
            }
        }
        if !workload.denied.is_empty() && r.chance(300) {
            let api = *r.pick(workload.denied);
            calls.push(GcpCall {
                api,
                item: format!("restricted/{}.pdf", r.hex(6)),
                denied: true,
            });
        }
        slots.push((
            workload,
            Slot {
                calls,
                weight: workload.weight * busy,
            },
        ));
    }
    slots
}

fn gcp_entry(
    workload: &GcpWorkload,
    call: &GcpCall,
    time: u64,
    nanos: u64,
    rng: &mut Rng,
) -> Value {
    let api = &call.api;
    let resource = api.resource.replace("{}", &call.item);
    let mut authentication = match &workload.caller {
        GcpCaller::Delegated { ns, ksa, gsa } => json!({
            "principalEmail": format!("{gsa}@{PROJECT}.iam.gserviceaccount.com"),
            "serviceAccountDelegationInfo": [
                {"principalSubject": format!("serviceAccount:{PROJECT}.svc.id.goog[{ns}/{ksa}]")},
            ],
            "principalSubject": format!("serviceAccount:{gsa}@{PROJECT}.iam.gserviceaccount.com"),
        }),
        GcpCaller::Federated { ns, ksa } => json!({
            "principalSubject": format!(
                "principal://iam.googleapis.com/projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/{PROJECT}.svc.id.goog/subject/ns/{ns}/sa/{ksa}"
            ),
        }),
        GcpCaller::ServiceAccount(email) => json!({
            "principalEmail": email,
            "principalSubject": format!("serviceAccount:{email}"),
        }),
        GcpCaller::User(email) => json!({
            "principalEmail": email,
            "principalSubject": format!("user:{email}"),
        }),
    };
    if let GcpCaller::ServiceAccount(email) = workload.caller
        && rng.chance(100)
        && let Some(object) = authentication.as_object_mut()
    {
        object.insert(
            "serviceAccountKeyName".into(),
            json!(format!(
                "//iam.googleapis.com/projects/{PROJECT}/serviceAccounts/{email}/keys/{}",
                rng.hex(40)
            )),
        );
    }
    let mut checks = vec![json!({
        "resource": resource,
        "permission": api.permission,
        "granted": true,
        "resourceAttributes": {},
    })];
    if let Some((permission, on)) = api.also {
        checks.push(json!({"resource": on, "permission": permission, "granted": true, "resourceAttributes": {}}));
    }
    let status = if call.denied {
        for check in &mut checks {
            if let Some(object) = check.as_object_mut() {
                object.remove("granted");
            }
        }
        json!({"code": 7, "message": "PERMISSION_DENIED"})
    } else {
        json!({})
    };
    let when = timestamp(time, nanos, 9);
    let agent = match workload.caller {
        GcpCaller::User(_) => {
            "google-cloud-sdk gcloud/497.0.0 command/gcloud.storage.ls invocation-id/5f2c environment/None environment-version/None client-os/LINUX client-os-ver/6.8.0 client-pltf-arch/x86_64 interactive/True from-script/False python/3.12.7 term/xterm-256color (Linux 6.8.0-45-generic),gzip(gfe)"
        }
        _ => "gcloud-python/3.1.0 gl-python/3.12.8 grpc/1.68.1 gax/2.24.0 gccl/3.1.0,gzip(gfe)",
    };
    let mut payload = json!({
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "status": status,
        "authenticationInfo": authentication,
        "requestMetadata": {
            "callerIp": format!("10.8.{}.{}", rng.below(8), 2 + rng.below(250)),
            "callerSuppliedUserAgent": agent,
            "requestAttributes": {"time": timestamp(time, nanos, 6), "auth": {}},
            "destinationAttributes": {},
        },
        "serviceName": api.service,
        "methodName": api.method,
        "authorizationInfo": checks,
        "resourceName": resource,
    });
    if let Some(object) = payload.as_object_mut() {
        if api.service == "storage.googleapis.com" {
            object.insert(
                "resourceLocation".into(),
                json!({"currentLocations": ["us-central1"]}),
            );
        }
        if api.method == PUBLISH.method {
            object.insert(
                "request".into(),
                json!({"@type": "type.googleapis.com/google.pubsub.v1.PublishRequest", "topic": resource}),
            );
        }
        if api.activity {
            object.insert(
                "request".into(),
                json!({"@type": "type.googleapis.com/google.iam.v1.SetIamPolicyRequest", "resource": PROJECT}),
            );
        }
    }
    let (resource_type, labels) = match api.service {
        "storage.googleapis.com" => (
            "gcs_bucket",
            json!({"bucket_name": resource.split('/').nth(3).unwrap_or(""), "project_id": PROJECT, "location": "us-central1"}),
        ),
        "bigquery.googleapis.com" => (
            "bigquery_project",
            json!({"project_id": PROJECT, "location": "US"}),
        ),
        _ => (
            "audited_resource",
            json!({"project_id": PROJECT, "service": api.service, "method": api.method}),
        ),
    };
    let log = if api.activity {
        "activity"
    } else {
        "data_access"
    };
    json!({
        "protoPayload": payload,
        "insertId": rng.hex(12),
        "resource": {"type": resource_type, "labels": labels},
        "timestamp": when,
        "severity": if call.denied { "ERROR" } else if api.activity { "NOTICE" } else { "INFO" },
        "logName": format!("projects/{PROJECT}/logs/cloudaudit.googleapis.com%2F{log}"),
        "receiveTimestamp": timestamp(time, (nanos + 31_000_000 + rng.below(400_000_000)) % 1_000_000_000, 9),
    })
}

/// Generate Cloud Audit Logs for `hours` at every scale (see [`cloudtrail`]).
fn cloud_audit(hours: Range<u64>, scales: &[f64], emit: Emit<'_>) -> Result<u64> {
    let base = Rng::new(SEED ^ 0x6C0D);
    let start = start_seconds();
    let mut weight = 0;
    let mut line = Vec::with_capacity(4096);
    for hour in hours {
        let hour_start = start + hour * 3600;
        let mut batch = Vec::new();
        for (s, (workload, slot)) in gcp_slots(&base, hour).into_iter().enumerate() {
            weight += slot.weight;
            let mut rng = base.derive(hour << 20 | 0xF0000 | s as u64);
            let volumes = volumes(&slot, scales);
            for i in 0..volumes.last().copied().unwrap_or(0) {
                let call = match slot.calls.get(i) {
                    Some(call) => call,
                    None => rng.pick(&slot.calls),
                };
                let time = hour_start + rng.below(3600);
                let nanos = rng.below(1_000_000_000);
                let first = first_scale(&volumes, i);
                batch.push((
                    time,
                    first,
                    gcp_entry(workload, call, time, nanos, &mut rng),
                ));
            }
        }
        batch.sort_by_key(|(t, _, _)| *t);
        for (time, first, entry) in batch {
            line.clear();
            serde_json::to_writer(&mut line, &entry)?;
            emit(time, &line, first)?;
        }
    }
    Ok(weight)
}

// Writing -------------------------------------------------------------------

/// Receives each event: its time, its JSON, the index of the smallest size it is part of.
type Emit<'a> = &'a mut dyn FnMut(u64, &[u8], usize) -> Result<()>;
type Generator = fn(Range<u64>, &[f64], Emit<'_>) -> Result<u64>;

/// The scale per size that makes `generator` write about that many
/// megabytes: the mean event size from the first two days at a small
/// scale, and the total weight of all slots (slots keep at least their
/// calls, so this is close, not exact).
fn scales_for(generator: Generator, sizes: &[u64]) -> Result<Vec<f64>> {
    let (mut bytes, mut events) = (0u64, 0u64);
    generator(0..48, &[0.5], &mut |_, line, _| {
        bytes += line.len() as u64 + 1;
        events += 1;
        Ok(())
    })?;
    let weight = generator(0..DAYS * 24, &[0.0], &mut |_, _, _| Ok(()))?;
    let mean = bytes as f64 / events.max(1) as f64;
    Ok(sizes
        .iter()
        .map(|mb| *mb as f64 * MB / mean / weight.max(1) as f64)
        .collect())
}

/// Write the data sets of each size (in MB, ascending) under `root/{size}mb`
/// in one pass, unless they are already there; return them by size.
fn generate(root: &Path, sizes: &[u64]) -> Result<Vec<Vec<DataSet>>> {
    let dirs: Vec<PathBuf> = sizes
        .iter()
        .map(|mb| root.join(format!("{mb}mb")))
        .collect();
    if !dirs.iter().all(|d| d.join("manifest.txt").exists()) {
        for dir in &dirs {
            if dir.exists() {
                fs::remove_dir_all(dir)?;
            }
            fs::create_dir_all(dir)?;
        }
        let started = Instant::now();
        let trail = write_cloudtrail(&dirs, sizes)?;
        let audit = write_cloud_audit(&dirs, sizes)?;
        for (dir, (trail, audit)) in dirs.iter().zip(trail.iter().zip(&audit)) {
            let text = format!(
                "cloudtrail.jsonl {trail}\ncloudtrail-records {trail}\ncloud-audit.jsonl {audit}\n"
            );
            fs::write(dir.join("manifest.txt"), text)?;
        }
        eprintln!(
            "generated {sizes:?} MB in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    dirs.iter()
        .zip(sizes)
        .map(|(dir, mb)| data_sets(dir, *mb))
        .collect()
}

fn data_sets(dir: &Path, mb: u64) -> Result<Vec<DataSet>> {
    let counts = fs::read_to_string(dir.join("manifest.txt"))?;
    let mut sets = Vec::new();
    for line in counts.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(events)) = (words.next(), words.next()) else {
            continue;
        };
        let path = dir.join(name);
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = fs::read_dir(&path)?
                .map(|e| e.map(|e| e.path()))
                .collect::<io::Result<_>>()?;
            files.sort();
            files
        } else {
            vec![path]
        };
        let mut bytes = 0;
        for file in &files {
            bytes += fs::metadata(file)?.len();
        }
        sets.push(DataSet {
            name: format!("{name} ({mb} MB)"),
            jq_filter: if name.contains("records") {
                ".Records[]"
            } else {
                "."
            },
            files,
            events: events.parse()?,
            bytes,
        });
    }
    Ok(sets)
}

/// One size's CloudTrail: JSON lines, and `{"Records":[...]}` files.
struct TrailOut {
    lines: BufWriter<File>,
    records_dir: PathBuf,
    records: Vec<u8>,
    in_file: usize,
    first_time: u64,
    events: u64,
}

impl TrailOut {
    fn push(&mut self, time: u64, line: &[u8], names: &mut Rng) -> Result<()> {
        self.lines.write_all(line)?;
        self.lines.write_all(b"\n")?;
        if self.in_file == 0 {
            self.records.extend_from_slice(b"{\"Records\":[");
            self.first_time = time;
        } else {
            self.records.push(b',');
        }
        self.records.extend_from_slice(line);
        self.in_file += 1;
        self.events += 1;
        if self.in_file == RECORDS_PER_FILE {
            self.flush_records(names)?;
        }
        Ok(())
    }

    /// Close the current file as CloudTrail names them:
    /// `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json`.
    fn flush_records(&mut self, names: &mut Rng) -> Result<()> {
        if self.in_file == 0 {
            return Ok(());
        }
        self.records.extend_from_slice(b"]}");
        let stamp: String = timestamp(self.first_time - self.first_time % 300, 0, 0)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(13)
            .collect();
        let name = format!(
            "{ACCOUNT}_CloudTrail_{REGION}_{stamp}Z_{}.json",
            names.hex(16)
        );
        fs::write(self.records_dir.join(name), &self.records)?;
        self.records.clear();
        self.in_file = 0;
        Ok(())
    }
}

fn write_cloudtrail(dirs: &[PathBuf], sizes: &[u64]) -> Result<Vec<u64>> {
    let scales = scales_for(cloudtrail, sizes)?;
    let mut outs = Vec::new();
    for dir in dirs {
        let records_dir = dir.join("cloudtrail-records");
        fs::create_dir_all(&records_dir)?;
        outs.push(TrailOut {
            lines: BufWriter::with_capacity(1 << 20, File::create(dir.join("cloudtrail.jsonl"))?),
            records_dir,
            records: Vec::with_capacity(4 << 20),
            in_file: 0,
            first_time: 0,
            events: 0,
        });
    }
    let mut names = Rng::new(SEED ^ 0xF11E);
    cloudtrail(0..DAYS * 24, &scales, &mut |time, line, first| {
        for out in outs.iter_mut().skip(first) {
            out.push(time, line, &mut names)?;
        }
        Ok(())
    })?;
    let mut events = Vec::new();
    for mut out in outs {
        out.flush_records(&mut names)?;
        out.lines.flush()?;
        events.push(out.events);
    }
    Ok(events)
}

fn write_cloud_audit(dirs: &[PathBuf], sizes: &[u64]) -> Result<Vec<u64>> {
    let scales = scales_for(cloud_audit, sizes)?;
    let mut outs = Vec::new();
    for dir in dirs {
        let file = File::create(dir.join("cloud-audit.jsonl"))?;
        outs.push((BufWriter::with_capacity(1 << 20, file), 0u64));
    }
    cloud_audit(0..DAYS * 24, &scales, &mut |_, line, first| {
        for (out, events) in outs.iter_mut().skip(first) {
            out.write_all(line)?;
            out.write_all(b"\n")?;
            *events += 1;
        }
        Ok(())
    })?;
    let mut events = Vec::new();
    for (mut out, count) in outs {
        out.flush()?;
        events.push(count);
    }
    Ok(events)
}
