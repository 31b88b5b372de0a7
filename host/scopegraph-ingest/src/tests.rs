use super::*;
use serde_json::json;

#[test]
fn recognises_real_shapes() {
    let cases = [
        (
            json!({"apiVersion": "v1", "kind": "List", "items": []}),
            DocumentClass::Config("kubernetes"),
        ),
        (
            json!({"apiVersion": "audit.k8s.io/v1", "kind": "Event", "verb": "get"}),
            DocumentClass::Activity("kubernetes-audit"),
        ),
        (
            json!({"Records": []}),
            DocumentClass::Activity("cloudtrail"),
        ),
        (
            json!({"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "GetObject"}),
            DocumentClass::Activity("cloudtrail"),
        ),
        (
            json!({"protoPayload": {}, "logName": "projects/p/logs/cloudaudit.googleapis.com%2Fdata_access"}),
            DocumentClass::Activity("gcp-audit"),
        ),
        (
            json!({"cluster": {"name": "prod", "arn": "arn:aws:eks:us-east-1:111122223333:cluster/prod"}}),
            DocumentClass::Config("aws/eks-cluster"),
        ),
        (
            json!({"RoleDetailList": [], "Policies": []}),
            DocumentClass::Config("aws/iam-authorization-details"),
        ),
        (
            json!({"bindings": [], "etag": "BwX="}),
            DocumentClass::Config("gcp/iam-policy"),
        ),
        (
            json!([{"roleDefinitionId": "/x", "principalId": "y"}]),
            DocumentClass::Config("azure/role-assignments"),
        ),
        (
            json!({"name": "prod-aks", "type": "Microsoft.ContainerService/ManagedClusters"}),
            DocumentClass::Config("azure/aks-cluster"),
        ),
        (
            json!({"agents": [{"workload": "a/b/Deployment/c"}]}),
            DocumentClass::DeclaredWork,
        ),
        (
            json!([{"id": "acme-data", "type": "project"}, {"id": "1", "type": "organization"}]),
            DocumentClass::Config("gcp/ancestry"),
        ),
        (
            json!([{"email": "a@p.iam.gserviceaccount.com", "uniqueId": "1"}]),
            DocumentClass::Config("gcp/service-accounts"),
        ),
        (
            json!([{"name": "//x", "asset_type": "bigquery.googleapis.com/Dataset", "iam_policy": {}}]),
            DocumentClass::Config("gcp/asset-iam-policy"),
        ),
        (
            json!({"name": "//x", "asset_type": "storage.googleapis.com/Bucket", "iam_policy": {}}),
            DocumentClass::Config("gcp/asset-iam-policy"),
        ),
        (
            json!({"associations": [{"clusterName": "prod", "namespace": "a", "serviceAccount": "b", "associationArn": "arn:aws:eks:…", "associationId": "a-1"}]}),
            DocumentClass::Config("aws/eks-pod-identity-associations"),
        ),
        (
            json!({"name": "projects/1/locations/global/workloadIdentityPools/p/providers/eks", "state": "ACTIVE",
                "attributeMapping": {"google.subject": "assertion.sub"}, "oidc": {"issuerUri": "https://oidc.eks.eu-west-1.amazonaws.com/id/A"}}),
            DocumentClass::Config("gcp/workload-identity-pool-provider"),
        ),
        (
            json!([{"name": "projects/1/locations/global/workloadIdentityPools/p/providers/aws", "state": "ACTIVE",
                "aws": {"accountId": "111122223333"}}]),
            DocumentClass::Config("gcp/workload-identity-pool-providers"),
        ),
        (
            // A pool (`workload-identity-pools describe`) is not a provider.
            json!({"name": "projects/1/locations/global/workloadIdentityPools/p", "state": "ACTIVE"}),
            DocumentClass::Unknown,
        ),
        (json!([]), DocumentClass::Empty),
        (json!({"hello": "world"}), DocumentClass::Unknown),
    ];
    for (value, expected) in cases {
        assert_eq!(sniff(&value), expected, "{value}");
    }
}

#[test]
fn reads_a_snapshot_tree_and_reports_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cluster_dir = root.join("prod");
    fs::create_dir_all(cluster_dir.join("k8s")).unwrap();
    fs::write(
        cluster_dir.join("cluster.json"),
        r#"{"cluster": {"name": "prod-eks", "arn": "arn:aws:eks:us-east-1:111122223333:cluster/prod-eks"}}"#,
    )
    .unwrap();
    fs::write(
        cluster_dir.join("k8s/objects.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: n}\n---\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n}\n",
    )
    .unwrap();
    // gzipped JSON lines
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\"}\n\n{\"eventSource\":\"sts.amazonaws.com\",\"eventName\":\"GetCallerIdentity\"}\n").unwrap();
    fs::write(root.join("trail.jsonl.gz"), gz.finish().unwrap()).unwrap();
    fs::write(root.join("broken.json"), "{\"a\": [1, 2,\n  }").unwrap();
    fs::write(root.join("mystery.json"), "{\"hello\": 1}").unwrap();
    fs::write(
        root.join("scopegraph.yaml"),
        "agents:\n  - workload: prod-eks/n/Deployment/a\n  - workload: nope\n",
    )
    .unwrap();
    fs::write(root.join("notes.txt"), "not an input").unwrap();

    let snapshot = read_snapshot(&[root.to_path_buf(), root.join("missing")]);
    assert_eq!(snapshot.files_read, 6, "notes.txt is not an input file");
    let kinds: Vec<(&str, Option<&str>)> = snapshot
        .documents
        .iter()
        .map(|d| (d.kind.as_str(), d.context.first().map(|(_, v)| v.as_str())))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("aws/eks-cluster", Some("prod-eks")),
            ("kubernetes", Some("prod-eks")),
            ("kubernetes", Some("prod-eks")),
        ]
    );
    assert!(
        snapshot.documents[2]
            .source
            .ends_with("objects.yaml (document 3)"),
        "{}",
        snapshot.documents[2].source
    );
    assert_eq!(snapshot.activity.get("cloudtrail"), Some(&1), "one file");
    assert_eq!(snapshot.activity_files, vec![root.join("trail.jsonl.gz")]);
    assert_eq!(snapshot.declared_agents, vec!["prod-eks/n/Deployment/a"]);

    let messages: Vec<String> = snapshot
        .diagnostics
        .iter()
        .map(|d| format!("{} | {}", d.source, d.message))
        .collect();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("missing | no such file"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("broken.json:2:3 | invalid JSON")),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("mystery.json | unrecognised document"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("agents[1].workload \"nope\""))
    );
}
