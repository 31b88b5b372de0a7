//! Plugins written against the SDK: the native mock host and the real
//! component agree, and the SDK-only examples load and run end to end.

use scopegraph_runtime::{Limits, PluginKind};
use scopegraph_sdk::{
    Candidate, Classifier, Cloud, Document, GrantContext, Provider, Usage, mock::MockHost,
};
use scopegraph_tests::*;

/// A batch that exercises every branch of the unused-excess rule.
fn mixed_batch() -> Vec<Candidate> {
    let base = Candidate {
        agent: "prod-eks/analytics/Deployment/report-agent".into(),
        cloud: Cloud::Aws,
        principal: "arn:aws:iam::111122223333:role/report-agent".into(),
        permissions: vec![
            "s3:GetObject".into(),
            "s3:ListBucket".into(),
            "s3:PutObject".into(),
        ],
        resources: vec!["arn:aws:s3:::reports/*".into()],
        grant: GrantContext {
            source: "arn:aws:iam::111122223333:policy/reports".into(),
            owned: true,
            ownership_reason: "bound to the agent's own IRSA role".into(),
            ..GrantContext::default()
        },
        usage: Usage {
            observed_days: 14,
            window_days: 14,
            used_permissions: vec!["s3:getobject".into(), "s3:ListBucket".into()],
            ..Usage::default()
        },
        ..Candidate::default()
    };
    let thin = Candidate {
        id: "thin".into(),
        usage: Usage {
            observed_days: 3,
            ..base.usage.clone()
        },
        ..base.clone()
    };
    let inherited = Candidate {
        id: "inherited".into(),
        grant: GrantContext {
            owned: false,
            ..base.grant.clone()
        },
        ..base.clone()
    };
    let all_used = Candidate {
        id: "all-used".into(),
        permissions: vec!["s3:GetObject".into()],
        ..base.clone()
    };
    vec![
        Candidate {
            id: "owned".into(),
            ..base
        },
        thin,
        inherited,
        all_used,
    ]
}

#[test]
fn unused_excess_native_and_wasm_agree() {
    let batch = mixed_batch();
    let (native, _) =
        MockHost::new().run(|| classifier_unused_excess::UnusedExcess::classify(batch.clone()));
    let native = native.unwrap();
    assert_eq!(native.len(), 3, "all-used has no verdict");

    let builtin = scopegraph_builtin_plugins::BUILTIN
        .iter()
        .find(|p| p.file_name == "classifier_unused_excess.wasm")
        .unwrap();
    let manifest = scopegraph_runtime::Manifest::parse(builtin.manifest, "built-in").unwrap();
    let plugin = runtime().load(manifest, builtin.wasm, "built-in").unwrap();
    let wasm = plugin.classify(&batch).unwrap();
    assert_eq!(wasm, native);
}

#[test]
fn inherited_overreach_native_and_wasm_agree() {
    let batch = mixed_batch();
    let (native, _) = MockHost::new()
        .run(|| classifier_inherited_overreach::InheritedOverreach::classify(batch.clone()));
    let builtin = scopegraph_builtin_plugins::BUILTIN
        .iter()
        .find(|p| p.file_name == "classifier_inherited_overreach.wasm")
        .unwrap();
    let manifest = scopegraph_runtime::Manifest::parse(builtin.manifest, "built-in").unwrap();
    let plugin = runtime().load(manifest, builtin.wasm, "built-in").unwrap();
    assert_eq!(plugin.classify(&batch).unwrap(), native.unwrap());
}

#[test]
fn example_org_rule_builds_loads_and_runs_with_its_config() {
    // Through the test kit, as a plugin author's own tests would: production
    // default limits, configuration as the manifest would carry it.
    let kit = scopegraph_testkit::TestKit::new().unwrap();
    let plugin = kit
        .load_component_with(
            EXAMPLE_CLASSIFIER,
            PluginKind::Classifier,
            Limits::default(),
            &[("forbidden", "s3:Put*")],
        )
        .unwrap();
    assert_eq!(plugin.info().limits, Limits::default());
    assert_eq!(
        plugin.info().config.get("forbidden").map(String::as_str),
        Some("s3:Put*")
    );
    assert_eq!(plugin.kind(), PluginKind::Classifier);
    assert!(
        plugin
            .info()
            .imports
            .iter()
            .all(|i| i.starts_with("scopegraph:plugin/"))
    );

    let batch = mixed_batch();
    let wasm = plugin.classify(&batch).unwrap();
    let (native, _) = MockHost::new()
        .with_config("forbidden", "s3:Put*")
        .run(|| plugin_template_classifier::ForbiddenPermissions::classify(batch.clone()));
    assert_eq!(wasm, native.unwrap());
    assert_eq!(
        wasm.len(),
        3,
        "every candidate but all-used holds s3:PutObject"
    );
    assert!(
        wasm.iter()
            .all(|v| v.permissions == vec!["s3:PutObject".to_string()])
    );
}

#[test]
fn example_provider_builds_loads_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = install(
        dir.path(),
        "vault",
        "provider",
        "0.1.0",
        EXAMPLE_PROVIDER,
        Limits::default(),
    )
    .unwrap();
    let plugin = runtime()
        .load_manifest_file(&plugin_dir.join("plugin.toml"))
        .unwrap();
    let documents = vec![Document {
        id: "doc-1".into(),
        source: "snapshot/vault/report-agent.json".into(),
        kind: "json".into(),
        context: vec![("cluster".into(), "prod-eks".into())],
        content: r#"{"data": {"bound_service_account_names": ["report-agent"],
                     "bound_service_account_namespaces": ["analytics"],
                     "token_policies": ["reports-read"]}}"#
            .into(),
    }];
    let wasm = plugin.resolve(&documents).unwrap();
    let (native, _) = MockHost::new()
        .run(|| plugin_template_provider::VaultKubernetesAuth::resolve(documents.clone()));
    assert_eq!(wasm, native.unwrap());
    assert_eq!(
        wasm.edges[0].from,
        "k8s:prod-eks/analytics/ServiceAccount/report-agent"
    );
    assert_eq!(
        wasm.grants[0].permissions,
        vec!["vault:policy/reports-read"]
    );
}
