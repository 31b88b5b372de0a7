//! Plugin-boundary costs: a batched classifier in wasm against the same rule
//! compiled natively, and plugin start-up cold versus from the cache.
//!
//! `cargo bench -p scopegraph-tests --bench plugins`; results in BENCHMARKS.md.
#![allow(clippy::expect_used)] // a benchmark that cannot set up should stop loudly

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use scopegraph_runtime::{Manifest, Runtime, RuntimeOptions};
use scopegraph_sdk::{Candidate, Classifier, Cloud, GrantContext, Usage, mock::MockHost};
use std::hint::black_box;

/// A realistic candidate: an IRSA role's S3 grant, half of it used.
fn candidate(i: usize) -> Candidate {
    Candidate {
        id: format!("candidate-{i:06}"),
        agent: format!("prod-eks/team-{}/Deployment/agent-{i}", i % 40),
        cloud: Cloud::Aws,
        principal: format!("arn:aws:iam::111122223333:role/agent-{i}"),
        permissions: [
            "s3:GetObject",
            "s3:ListBucket",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:GetObjectTagging",
            "s3:PutObjectAcl",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        resources: vec![format!("arn:aws:s3:::reports-{}/*", i % 100)],
        grant: GrantContext {
            source: format!("arn:aws:iam::111122223333:policy/agent-{i}-s3"),
            owned: !i.is_multiple_of(3),
            ownership_reason: "bound directly to the agent's own identity".into(),
            ..GrantContext::default()
        },
        usage: Usage {
            observed_days: 14,
            window_days: 14,
            used_permissions: vec![
                "s3:GetObject".into(),
                "s3:ListBucket".into(),
                "s3:GetObjectTagging".into(),
            ],
            ..Usage::default()
        },
        ..Candidate::default()
    }
}

fn unused_excess() -> (Manifest, &'static [u8]) {
    let builtin = scopegraph_builtin_plugins::BUILTIN
        .iter()
        .find(|p| p.file_name == "classifier_unused_excess.wasm")
        .expect("unused-excess is built in");
    (
        Manifest::parse(builtin.manifest, "built-in").expect("manifest"),
        builtin.wasm,
    )
}

fn classify(c: &mut Criterion) {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let (manifest, wasm) = unused_excess();
    let plugin = runtime.load(manifest, wasm, "built-in").expect("load");
    let mut group = c.benchmark_group("classify");
    for size in [1usize, 100, 10_000] {
        let batch: Vec<Candidate> = (0..size).map(candidate).collect();
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("wasm", size), &batch, |b, batch| {
            b.iter(|| plugin.classify(black_box(batch)).expect("classify"))
        });
        group.bench_with_input(BenchmarkId::new("native", size), &batch, |b, batch| {
            // The native rule gets its batch by value, as the guest does after lifting it.
            b.iter(|| {
                MockHost::new()
                    .run(|| {
                        classifier_unused_excess::UnusedExcess::classify(black_box(batch.clone()))
                    })
                    .0
                    .expect("classify")
            })
        });
    }
    group.finish();
}

fn startup(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    let (manifest, wasm) = unused_excess();
    group.bench_function("load-one-cold", |b| {
        let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
        b.iter(|| {
            runtime
                .load(manifest.clone(), wasm, "built-in")
                .expect("load")
        })
    });
    let cache = tempfile::tempdir().expect("tempdir");
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(cache.path().to_path_buf()),
    })
    .expect("runtime");
    runtime
        .load(manifest.clone(), wasm, "built-in")
        .expect("warm the cache");
    group.bench_function("load-one-cached", |b| {
        b.iter(|| {
            runtime
                .load(manifest.clone(), wasm, "built-in")
                .expect("load")
        })
    });
    // A warm run start: a new runtime, every first-party plugin from the cache,
    // and one call each (so instantiation is included).
    group.bench_function("warm-start-all-builtin", |b| {
        b.iter(|| {
            let runtime = Runtime::new(RuntimeOptions {
                cache_dir: Some(cache.path().to_path_buf()),
            })
            .expect("runtime");
            for builtin in scopegraph_builtin_plugins::BUILTIN {
                let manifest = Manifest::parse(builtin.manifest, "built-in").expect("manifest");
                let plugin = runtime
                    .load(manifest, builtin.wasm, "built-in")
                    .expect("load");
                match plugin.kind() {
                    scopegraph_runtime::PluginKind::Classifier => {
                        plugin.classify(&[]).expect("classify");
                    }
                    scopegraph_runtime::PluginKind::Provider => {
                        plugin.resolve(&[]).expect("resolve");
                    }
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, classify, startup);
criterion_main!(benches);
