//! End-to-end: real-schema records (panther-analysis rule tests, Stratus
//! Red Team detonations) and scenario fixtures in the logs' own shapes.

// The helpers of this test binary fail loudly, like the tests they serve.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use scopegraph_observe::{
    AzureIdKind, Day, Diagnostic, IdentityKey, Ingest, ObservedUsage, Pod, Principal,
    ServiceAccount, Source, UsageModel,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

fn days(list: &[&str]) -> BTreeSet<Day> {
    list.iter().map(|d| day(d)).collect()
}

const EVER: (Day, Day) = (
    Day::from_days_since_epoch(0),
    Day::from_days_since_epoch(100_000),
);

fn ever(model: &UsageModel, identity: &IdentityKey) -> ObservedUsage {
    model.usage(identity, EVER.0, EVER.1)
}

fn read(paths: &[&str]) -> (UsageModel, Vec<Diagnostic>) {
    let mut ingest = Ingest::new().with_diagnostic_limit(usize::MAX);
    for path in paths {
        ingest.read_path(&fixture(path));
    }
    ingest.finish()
}

fn permission_days(usage: &ObservedUsage) -> BTreeMap<&str, BTreeSet<Day>> {
    usage
        .permissions
        .iter()
        .map(|(p, u)| (p.as_str(), u.days.clone()))
        .collect()
}

fn role(name: &str) -> IdentityKey {
    IdentityKey::aws_role(name).unwrap()
}

// ---------------------------------------------------------------- labelled

struct Expect {
    source: Source,
    records: u64,
    used: u64,
    not_use: &'static [(&'static str, u64)],
    unattributable: u64,
    unknown_action: u64,
    malformed: u64,
}

/// Feed each line's `log` (one per line, so line numbers match the file)
/// and check that every record is accounted for exactly once.
fn check_labelled(
    name: &str,
    expected: &[Expect],
    unrecognised: u64,
) -> (UsageModel, Vec<Diagnostic>) {
    let text =
        std::fs::read_to_string(fixture(&format!("labelled/{name}.labelled.jsonl"))).unwrap();
    let logs: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["log"].to_string())
        .collect();
    let total = logs.len() as u64;
    let mut ingest = Ingest::new().with_diagnostic_limit(usize::MAX);
    ingest.read_reader(name, logs.join("\n").as_bytes());
    let (model, diagnostics) = ingest.finish();

    for source in Source::ALL {
        let stats = model.stats(source);
        assert_eq!(
            stats.used
                + stats.not_use_total()
                + stats.unattributable
                + stats.unknown_action
                + stats.malformed,
            stats.records,
            "{name}: {source} outcomes must add up"
        );
        match expected.iter().find(|e| e.source == source) {
            None => assert_eq!(stats.records, 0, "{name}: {source}"),
            Some(e) => {
                let not_use: BTreeMap<&str, u64> = e.not_use.iter().copied().collect();
                assert_eq!(
                    (
                        stats.records,
                        stats.used,
                        &stats.not_use,
                        stats.unattributable,
                        stats.unknown_action,
                        stats.malformed
                    ),
                    (
                        e.records,
                        e.used,
                        &not_use,
                        e.unattributable,
                        e.unknown_action,
                        e.malformed
                    ),
                    "{name}: {source}"
                );
            }
        }
    }
    assert_eq!(model.unrecognised(), unrecognised, "{name}");
    assert_eq!(model.invalid_json(), 0, "{name}");

    // Nothing is lost: every line is a record of some source, or reported.
    let records: u64 = Source::ALL.iter().map(|s| model.stats(*s).records).sum();
    assert_eq!(
        records + model.unrecognised() + model.invalid_json(),
        total,
        "{name}"
    );

    // Every record that did not land in the model has its own diagnostic,
    // naming its line, and no other line has one.
    let reported: u64 = Source::ALL
        .iter()
        .map(|s| {
            let st = model.stats(*s);
            st.unattributable + st.unknown_action + st.malformed
        })
        .sum::<u64>()
        + model.unrecognised();
    let prefix = format!("{name}:");
    let lines: Vec<u64> = diagnostics
        .iter()
        .filter_map(|d| d.source.strip_prefix(&prefix))
        .map(|l| l.parse().unwrap())
        .collect();
    let distinct: BTreeSet<u64> = lines.iter().copied().collect();
    assert_eq!(lines.len() as u64, reported, "{name}: {diagnostics:#?}");
    assert_eq!(
        distinct.len(),
        lines.len(),
        "{name}: one diagnostic per line"
    );
    assert!(distinct.iter().all(|l| (1..=total).contains(l)));
    (model, diagnostics)
}

fn message_at<'a>(diagnostics: &'a [Diagnostic], at: &str) -> &'a str {
    diagnostics
        .iter()
        .find(|d| d.source == at)
        .map(|d| d.message.as_str())
        .unwrap_or_else(|| panic!("no diagnostic at {at}"))
}

#[test]
fn every_cloudtrail_labelled_record_is_accounted_for() {
    let (model, diagnostics) = check_labelled(
        "cloudtrail",
        &[
            Expect {
                source: Source::CloudTrail,
                records: 223,
                used: 174,
                not_use: &[
                    ("aws-service", 1),
                    ("console-sign-in", 8),
                    ("denied", 16),
                    ("unauthenticated", 1),
                    ("vpc-endpoint-event", 4),
                ],
                unattributable: 5,
                unknown_action: 8,
                malformed: 6,
            },
            // Three EKS audit events sit in the CloudTrail file.
            Expect {
                source: Source::KubernetesAudit,
                records: 3,
                used: 2,
                not_use: &[("stage-not-final", 1)],
                unattributable: 0,
                unknown_action: 0,
                malformed: 0,
            },
        ],
        5,
    );
    assert!(
        message_at(&diagnostics, "cloudtrail:169")
            .contains("`ec2:DeleteBucketEncryption`, which is not in the AWS action catalogue")
    );
    assert!(message_at(&diagnostics, "cloudtrail:16").contains("lower-cased"));
    assert!(message_at(&diagnostics, "cloudtrail:228").contains("\"...\" is not a timestamp"));
    assert!(message_at(&diagnostics, "cloudtrail:49").contains("AWSAccount"));
    let stats = model.stats(Source::CloudTrail);
    assert_eq!(
        stats.unknown_actions.get("cloudtrail:EnableRegion"),
        Some(&1)
    );
    // Lambda's versioned event names map to the action.
    let dev = role("arn:aws:iam::123456789012:role/AWSReservedSSO_DevAdmin_abc123");
    assert_eq!(
        ever(&model, &dev).permissions.keys().collect::<Vec<_>>(),
        [
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration"
        ]
    );
    // S3's own names: PutBucketEncryption -> s3:PutEncryptionConfiguration.
    let sample = role("arn:aws:iam::111111111111:role/sample-role-dreamy-yonath");
    assert!(
        ever(&model, &sample)
            .permission("s3:PutEncryptionConfiguration")
            .is_some()
    );
}

#[test]
fn every_gcp_labelled_record_is_accounted_for() {
    let (model, diagnostics) = check_labelled(
        "gcp-audit",
        &[
            Expect {
                source: Source::GcpAudit,
                records: 71,
                used: 37,
                not_use: &[("denied", 7)],
                unattributable: 5,
                unknown_action: 19,
                malformed: 3,
            },
            // GKE's Kubernetes audit logs (`io.k8s.*` methods).
            Expect {
                source: Source::KubernetesAudit,
                records: 7,
                used: 2,
                not_use: &[("denied", 1)],
                unattributable: 0,
                unknown_action: 0,
                malformed: 4,
            },
        ],
        5,
    );
    assert!(
        message_at(&diagnostics, "gcp-audit:20")
            .contains("no `authorizationInfo` names the permission")
    );
    assert!(message_at(&diagnostics, "gcp-audit:50").contains("protopayload"));
    let sa = IdentityKey::new(Principal::Gcp(
        "some-project@company.iam.gserviceaccount.com".into(),
    ));
    assert_eq!(
        permission_days(&ever(&model, &sa)),
        BTreeMap::from([("iam.serviceAccounts.signBlob", days(&["2024-02-26"]))])
    );
    let gke = ever(
        &model,
        &IdentityKey::new(Principal::KubernetesUser("some.user@company.com".into())),
    );
    assert_eq!(
        gke.permission("services:create").unwrap().calls,
        2,
        "ALREADY_EXISTS was still authorised"
    );
}

#[test]
fn every_azure_labelled_record_is_accounted_for() {
    let (model, diagnostics) = check_labelled(
        "azure-activity",
        &[Expect {
            source: Source::AzureActivity,
            records: 92,
            used: 8,
            not_use: &[("denied", 3)],
            unattributable: 81,
            unknown_action: 0,
            malformed: 0,
        }],
        11,
    );
    assert!(
        message_at(&diagnostics, "azure-activity:74")
            .contains("Azure resource log (category StorageWrite")
    );
    let app = IdentityKey::new(Principal::Azure {
        kind: AzureIdKind::AppId,
        id: "12345678-1234-1234-1234-123456789abc".into(),
    });
    assert!(
        ever(&model, &app)
            .permission("microsoft.keyvault/vaults/secrets/getsecret/action")
            .is_some()
    );
}

#[test]
fn every_kubernetes_labelled_record_is_accounted_for() {
    // The rule tests strip audit timestamps: such events cannot be placed
    // on a day and are reported, not guessed.
    let (_, diagnostics) = check_labelled(
        "k8s-audit",
        &[
            Expect {
                source: Source::KubernetesAudit,
                records: 118,
                used: 1,
                not_use: &[],
                unattributable: 0,
                unknown_action: 0,
                malformed: 117,
            },
            Expect {
                source: Source::GcpAudit,
                records: 1,
                used: 0,
                not_use: &[],
                unattributable: 0,
                unknown_action: 0,
                malformed: 1,
            },
        ],
        1,
    );
    assert!(
        message_at(&diagnostics, "k8s-audit:2").contains("no timestamp"),
        "AKS kube-audit is unwrapped"
    );
}

// ---------------------------------------------------------------- stratus

#[test]
fn stratus_detonations_parse() {
    let (model, diagnostics) = read(&["stratus"]);
    assert_eq!(model.files_read(), 35);
    assert_eq!(
        (model.unrecognised(), model.invalid_json()),
        (0, 0),
        "{diagnostics:#?}"
    );
    let stats = model.stats(Source::CloudTrail);
    assert_eq!(
        (
            stats.records,
            stats.used,
            stats.unattributable,
            stats.unknown_action,
            stats.malformed
        ),
        (310, 258, 0, 0, 0)
    );
    assert_eq!(
        stats.not_use,
        BTreeMap::from([("console-sign-in", 1), ("denied", 51)])
    );

    let secrets = ever(
        &model,
        &IdentityKey::new(Principal::Aws(
            "arn:aws:iam::903144391865:user/christophe".into(),
        )),
    );
    let get = secrets.permission("secretsmanager:GetSecretValue").unwrap();
    assert_eq!((get.calls, get.days.clone()), (20, days(&["2024-07-31"])));
    assert_eq!(get.resources.len(), 20);
    assert!(secrets.permission("secretsmanager:ListSecrets").is_some());

    let batch = ever(
        &model,
        &IdentityKey::new(Principal::Aws(
            "arn:aws:iam::165109126369:user/christophe".into(),
        )),
    );
    assert!(
        batch
            .permission("secretsmanager:BatchGetSecretValue")
            .is_some()
    );
    assert!(
        batch.permission("secretsmanager:GetSecretValue").is_some(),
        "BatchGetSecretValue needs both"
    );

    let ssm = ever(
        &model,
        &IdentityKey::new(Principal::Aws(
            "arn:aws:iam::933175858973:user/christophe".into(),
        )),
    );
    assert!(ssm.permission("ssm:GetParameters").is_some());

    let bedrock = ever(&model, &role("arn:aws:iam::494659789341:role/test-role"));
    assert!(bedrock.permission("bedrock:InvokeModel").is_some());

    let lambda = ever(
        &model,
        &IdentityKey::new(Principal::Aws(
            "arn:aws:iam::266106314375:user/christophe".into(),
        )),
    );
    assert!(
        lambda.permission("lambda:UpdateFunctionCode").is_some(),
        "UpdateFunctionCode20150331v2"
    );

    // GetPasswordData was denied 30 times: no use.
    assert!(
        model
            .identities()
            .all(|id| ever(&model, id).permission("ec2:GetPasswordData").is_none())
    );
    assert!(
        model
            .log_days(Source::CloudTrail)
            .contains(&day("2024-07-31"))
    );
}

// ---------------------------------------------------------------- scenarios

const RESEARCH_ROLE: &str = "arn:aws:iam::111122223333:role/research-agent-role";

#[test]
fn irsa_calls_are_attributed_to_the_service_account() {
    let (model, diagnostics) = read(&["scenarios/irsa.records.json"]);
    let stats = model.stats(Source::CloudTrail);
    assert_eq!((stats.records, stats.used), (11, 7));
    assert_eq!(
        stats.not_use,
        BTreeMap::from([("credential-issue", 3), ("denied", 1)])
    );

    let role = role(RESEARCH_ROLE);
    let agent = role
        .clone()
        .with_service_account(ServiceAccount::new("agents", "research-agent"));
    let usage = ever(&model, &agent);
    assert_eq!(
        permission_days(&usage),
        BTreeMap::from([
            // HeadObject and GetObject on 03-03; a GetObject logged before its
            // key's AssumeRoleWithWebIdentity on 03-06.
            ("s3:GetObject", days(&["2025-03-03", "2025-03-06"])),
            // ListObjects (list-type 2) before and after midnight.
            ("s3:ListBucket", days(&["2025-03-04", "2025-03-05"])),
        ])
    );
    let get = usage.permission("s3:GetObject").unwrap();
    assert_eq!(get.calls, 4);
    assert!(
        get.resources
            .contains("arn:aws:s3:::acme-research-corpus/papers/2024/attention.pdf")
    );
    assert!(usage.permission("s3:PutObject").is_none(), "denied");

    // Someone else's session of the role stays with the role alone.
    let untied = model.usage_exact(&role, EVER.0, EVER.1);
    assert_eq!(
        permission_days(&untied),
        BTreeMap::from([("s3:ListBucket", days(&["2025-03-06"]))])
    );
    // The role alone covers both.
    assert_eq!(
        ever(&model, &role)
            .permission("s3:ListBucket")
            .unwrap()
            .days
            .len(),
        3
    );
    // A window.
    let first_days = model.usage(&agent, day("2025-03-03"), day("2025-03-05"));
    assert_eq!(
        permission_days(&first_days),
        BTreeMap::from([
            ("s3:GetObject", days(&["2025-03-03"])),
            ("s3:ListBucket", days(&["2025-03-04"])),
        ])
    );
    assert_eq!(
        model.log_days(Source::CloudTrail),
        days(&["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"])
    );
    assert!(
        diagnostics
            .iter()
            .any(|d| d.message.starts_with("1 role session(s) could not be tied")),
        "{diagnostics:#?}"
    );
}

fn summary(model: &UsageModel) -> Vec<String> {
    let mut out: Vec<String> = model
        .identities()
        .map(|id| format!("{id}: {:?}", model.usage_exact(id, EVER.0, EVER.1)))
        .collect();
    for source in Source::ALL {
        out.push(format!(
            "{source}: {:?} {:?}",
            model.stats(source),
            model.log_days(source)
        ));
    }
    out.push(format!("{} {}", model.unrecognised(), model.invalid_json()));
    out
}

#[test]
fn gzipped_json_lines_and_a_records_file_give_the_same_model() {
    let gz = std::fs::read(fixture("scenarios/irsa.jsonl.gz")).unwrap();
    let mut lines = String::new();
    flate2::read::MultiGzDecoder::new(gz.as_slice())
        .read_to_string(&mut lines)
        .unwrap();
    let from_lines: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records: Value =
        serde_json::from_slice(&std::fs::read(fixture("scenarios/irsa.records.json")).unwrap())
            .unwrap();
    assert_eq!(
        records["Records"].as_array().unwrap(),
        &from_lines,
        "the two fixtures hold the same events"
    );

    let (a, _) = read(&["scenarios/irsa.records.json"]);
    let (b, _) = read(&["scenarios/irsa.jsonl.gz"]);
    assert_eq!(summary(&a), summary(&b));
    assert!(a.stats(Source::CloudTrail).used > 0);

    // Concatenated gzip members (as `cat a.gz b.gz` makes) are one stream.
    let mut twice = gz.clone();
    twice.extend_from_slice(&gz);
    let mut ingest = Ingest::new();
    ingest.read_reader("twice.jsonl.gz", twice.as_slice());
    let (c, _) = ingest.finish();
    assert_eq!(c.stats(Source::CloudTrail).records, 22);
}

#[test]
fn eks_pod_identity_and_role_chaining() {
    let (model, diagnostics) = read(&["scenarios/pod-identity.jsonl"]);
    let stats = model.stats(Source::CloudTrail);
    assert_eq!((stats.records, stats.used), (4, 3));
    assert_eq!(stats.not_use, BTreeMap::from([("aws-service", 1)]));
    let workload = |role_arn: &str| {
        role(role_arn)
            .with_service_account(ServiceAccount::new("agents", "planner"))
            .with_cluster("prod")
            .with_pod(
                Pod::new(
                    Some("planner-7d9c5b6f4-x2x8k".into()),
                    Some("5b0f4d2e-8a1c-4f6e-9d3b-2c7a1e9f0b64".into()),
                )
                .unwrap(),
            )
    };
    let planner = workload("arn:aws:iam::111122223333:role/planner-role");
    assert_eq!(
        permission_days(&model.usage_exact(&planner, EVER.0, EVER.1)),
        BTreeMap::from([
            ("bedrock:InvokeModel", days(&["2025-03-10"])),
            ("sts:AssumeRole", days(&["2025-03-10"])),
        ])
    );
    // The session it assumed in another account belongs to the same pod,
    // though its call was logged first.
    let chained = workload("arn:aws:iam::444455556666:role/shared-models-reader");
    let secret = model.usage_exact(&chained, EVER.0, EVER.1);
    assert_eq!(
        secret
            .permission("secretsmanager:GetSecretValue")
            .unwrap()
            .resources,
        BTreeSet::from([
            "arn:aws:secretsmanager:us-west-2:444455556666:secret:models/api-key-Ab12Cd"
                .to_string()
        ])
    );
    // Asking by service account alone finds it too.
    let by_sa = role("arn:aws:iam::444455556666:role/shared-models-reader")
        .with_service_account(ServiceAccount::new("agents", "planner"));
    assert!(!ever(&model, &by_sa).is_empty());
    assert!(
        !diagnostics
            .iter()
            .any(|d| d.message.contains("could not be tied")),
        "{diagnostics:#?}"
    );
}

#[test]
fn eks_auth_assume_role_for_pod_identity() {
    // The EKS Pod Identity Agent's call (by the node role), shaped after the
    // EKS Auth API reference, then a call with the credentials it returned.
    let issue = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/eks-node-role/i-0abc","accessKeyId":"ASIA5EXAMPLENODE0001","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/eks-node-role"}}},"eventTime":"2025-03-14T08:00:00Z","eventSource":"eks-auth.amazonaws.com","eventName":"AssumeRoleForPodIdentity","awsRegion":"us-west-2","requestParameters":{"clusterName":"prod","token":"HIDDEN_DUE_TO_SECURITY_REASONS"},"responseElements":{"subject":{"namespace":"agents","serviceAccount":"critic"},"audience":"pods.eks.amazonaws.com","podIdentityAssociation":{"associationArn":"arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-1","associationId":"a-1"},"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/critic-role/eks-prod-critic-5f1d","assumeRoleId":"AROA5EXAMPLECRITIC01:eks-prod-critic-5f1d"},"credentials":{"accessKeyId":"ASIA5EXAMPLECRITIC01","expiration":1741946400}},"eventType":"AwsApiCall"}"#;
    let call = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/critic-role/eks-prod-critic-5f1d","accessKeyId":"ASIA5EXAMPLECRITIC01","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/critic-role"}}},"eventTime":"2025-03-14T08:00:02Z","eventSource":"sqs.amazonaws.com","eventName":"SendMessageBatch","awsRegion":"us-west-2","requestParameters":{"queueUrl":"https://sqs.us-west-2.amazonaws.com/111122223333/reviews"},"eventType":"AwsApiCall"}"#;
    let mut ingest = Ingest::new();
    ingest.read_reader(
        "pod-identity-agent.jsonl",
        format!("{call}\n{issue}\n").as_bytes(),
    );
    let (model, _) = ingest.finish();
    let critic = role("arn:aws:iam::111122223333:role/critic-role")
        .with_service_account(ServiceAccount::new("agents", "critic"))
        .with_cluster("prod");
    assert_eq!(
        permission_days(&model.usage_exact(&critic, EVER.0, EVER.1)),
        BTreeMap::from([("sqs:SendMessage", days(&["2025-03-14"]))])
    );
    // The agent's own call is the node role's use.
    let node = role("arn:aws:iam::111122223333:role/eks-node-role");
    assert!(
        ever(&model, &node)
            .permission("eks-auth:AssumeRoleForPodIdentity")
            .is_some()
    );
}

#[test]
fn kubernetes_audit_service_accounts_and_pods() {
    let mut ingest = Ingest::new().with_diagnostic_limit(usize::MAX);
    ingest.set_cluster(Some("eks-prod"));
    ingest.read_path(&fixture("scenarios/k8s-audit.log"));
    let (model, diagnostics) = ingest.finish();
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let stats = model.stats(Source::KubernetesAudit);
    assert_eq!((stats.records, stats.used), (9, 6));
    assert_eq!(
        stats.not_use,
        BTreeMap::from([("denied", 1), ("stage-not-final", 2)])
    );

    let planner =
        IdentityKey::kubernetes_service_account("system:serviceaccount:agents:planner").unwrap();
    let usage = ever(&model, &planner);
    assert_eq!(
        permission_days(&usage),
        BTreeMap::from([
            ("/version:get", days(&["2025-03-11"])),
            ("batch/jobs:create", days(&["2025-03-10"])),
            // A watch that completed the next day was authorised when received.
            ("batch/jobs:watch", days(&["2025-03-10"])),
            ("secrets:get", days(&["2025-03-10", "2025-03-12"])),
        ])
    );
    assert_eq!(
        usage.permission("secrets:get").unwrap().resources,
        BTreeSet::from(["agents/secrets/openai-key".to_string()])
    );
    assert_eq!(
        usage.permission("batch/jobs:create").unwrap().resources,
        BTreeSet::from(["agents/batch/jobs/*".to_string()])
    );
    let pod_b = planner
        .clone()
        .with_cluster("eks-prod")
        .with_pod(Pod::new(Some("planner-7d9c5b6f4-q7wzp".into()), None).unwrap());
    assert_eq!(
        ever(&model, &pod_b).permissions.keys().collect::<Vec<_>>(),
        ["/version:get", "secrets:get"]
    );
    let node = IdentityKey::new(Principal::KubernetesUser(
        "system:node:ip-10-0-1-23.us-west-2.compute.internal".into(),
    ))
    .with_cluster("eks-prod");
    assert_eq!(
        ever(&model, &node)
            .permission("pods/status:patch")
            .unwrap()
            .resources,
        BTreeSet::from(["agents/pods/status/planner-7d9c5b6f4-q7wzp".to_string()])
    );
    assert_eq!(
        model.log_days(Source::KubernetesAudit),
        days(&["2025-03-10", "2025-03-11", "2025-03-12"])
    );
}

#[test]
fn gcp_workload_identity() {
    let (model, diagnostics) = read(&["scenarios/gcp-audit.json"]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let stats = model.stats(Source::GcpAudit);
    assert_eq!((stats.records, stats.used), (4, 3));
    assert_eq!(stats.not_use, BTreeMap::from([("denied", 1)]));
    let gsa = IdentityKey::new(Principal::Gcp(
        "research-agent@acme-ml.iam.gserviceaccount.com".into(),
    ))
    .with_service_account(ServiceAccount::new("agents", "research-agent"));
    assert_eq!(
        permission_days(&ever(&model, &gsa)),
        BTreeMap::from([
            ("storage.objects.get", days(&["2025-03-12"])),
            ("storage.objects.list", days(&["2025-03-13"])),
        ])
    );
    let direct = model
        .identities()
        .find(|id| matches!(&id.principal, Principal::Gcp(p) if p.starts_with("principal://")))
        .unwrap();
    assert_eq!(
        direct.service_account,
        Some(ServiceAccount::new("agents", "summarizer"))
    );
    assert!(
        ever(&model, direct)
            .permission("bigquery.jobs.create")
            .is_some()
    );
    let ksa =
        IdentityKey::kubernetes_service_account("system:serviceaccount:agents:research-agent")
            .unwrap()
            .with_cluster("ml-prod");
    assert_eq!(
        ever(&model, &ksa)
            .permission("configmaps:get")
            .unwrap()
            .resources,
        BTreeSet::from(["agents/configmaps/prompts".to_string()])
    );
}

#[test]
fn azure_managed_identity_and_aks() {
    let (model, diagnostics) = read(&[
        "scenarios/azure-activity.json",
        "scenarios/azure-diagnostics.jsonl",
    ]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let stats = model.stats(Source::AzureActivity);
    assert_eq!((stats.records, stats.used), (5, 3));
    assert_eq!(
        stats.not_use,
        BTreeMap::from([("denied", 1), ("not-administrative", 1)])
    );
    let identity = Principal::Azure {
        kind: AzureIdKind::ObjectId,
        id: "7f1c2a3b-9d8e-4f60-a1b2-c3d4e5f60718".into(),
    };
    let usage = ever(&model, &IdentityKey::new(identity.clone()));
    assert_eq!(
        permission_days(&usage),
        BTreeMap::from([
            ("microsoft.keyvault/vaults/write", days(&["2025-03-13"])),
            (
                "microsoft.storage/storageaccounts/listkeys/action",
                days(&["2025-03-11", "2025-03-12"])
            ),
        ])
    );
    let aliases: Vec<&str> = model.aliases(&identity).collect();
    assert!(
        aliases.contains(&"appid:5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"),
        "{aliases:?}"
    );
    assert!(
        aliases.iter().any(|a| a.starts_with("xms_mirid:")
            && a.ends_with("/userassignedidentities/planner-identity"))
    );
    let summarizer =
        IdentityKey::kubernetes_service_account("system:serviceaccount:agents:summarizer")
            .unwrap()
            .with_cluster("AKS-PROD");
    assert!(
        ever(&model, &summarizer)
            .permission("configmaps:get")
            .is_some()
    );
}

#[test]
fn bad_input_is_reported_with_file_and_line() {
    let text = "{\"eventVersion\":\"1.08\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\"}\n\
                not json at all\n\
                {\"hello\":\"world\"}\n\
                [1, 2]\n";
    let mut ingest = Ingest::new().with_diagnostic_limit(usize::MAX);
    ingest.read_reader("bad.jsonl", text.as_bytes());
    ingest.read_path(Path::new("/nonexistent/scopegraph-observe/logs"));
    let (model, diagnostics) = ingest.finish();
    let at: Vec<(&str, &str)> = diagnostics
        .iter()
        .map(|d| (d.source.as_str(), d.message.as_str()))
        .collect();
    assert!(
        at[0].0 == "bad.jsonl:1" && at[0].1.contains("no timestamp (`eventTime`)"),
        "{at:#?}"
    );
    assert!(
        at[1].0 == "bad.jsonl:2" && at[1].1.starts_with("invalid JSON"),
        "{at:#?}"
    );
    assert!(
        at[2].0 == "bad.jsonl:3" && at[2].1.starts_with("unrecognised record (keys: hello)"),
        "{at:#?}"
    );
    assert!(
        at[3].0 == "bad.jsonl:4 ([0])" && at[3].1 == "a JSON number, not a log record",
        "{at:#?}"
    );
    assert!(at[5].1 == "no such file or directory", "{at:#?}");
    assert_eq!((model.unrecognised(), model.invalid_json()), (3, 1));
    assert_eq!(model.stats(Source::CloudTrail).malformed, 1);

    // Capped: the first ones listed, the rest summarised and still counted.
    let many: String = (0..30).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    let mut ingest = Ingest::new().with_diagnostic_limit(5);
    ingest.read_reader("many.jsonl", many.as_bytes());
    let (model, diagnostics) = ingest.finish();
    assert_eq!(model.unrecognised(), 30);
    assert_eq!(diagnostics.len(), 6);
    assert_eq!(
        diagnostics[5].message,
        "25 more unrecognised record diagnostics not listed (the model counts them all)"
    );
}

// ---------------------------------------------------------------- memory

/// 50,000 CloudTrail events, produced as they are read (never held whole):
/// ten IRSA credential issues, then calls by those ten sessions with five
/// event names over seven days, each on a different object.
struct Generated {
    next: usize,
    total: usize,
    wrapped: bool,
    pending: Vec<u8>,
    at: usize,
    done: bool,
}

impl Generated {
    fn new(total: usize, wrapped: bool) -> Self {
        let pending = if wrapped {
            b"{\"Records\":[".to_vec()
        } else {
            Vec::new()
        };
        Generated {
            next: 0,
            total,
            wrapped,
            pending,
            at: 0,
            done: false,
        }
    }

    fn event(i: usize) -> String {
        let agent = i % 10;
        let key = format!("ASIAGENERATED{agent:07}");
        if i < 10 {
            return format!(
                r#"{{"eventVersion":"1.08","userIdentity":{{"type":"WebIdentityUser","userName":"system:serviceaccount:agents:agent-{agent}"}},"eventTime":"2025-03-01T00:00:0{agent}Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity","awsRegion":"us-east-1","requestParameters":{{"roleArn":"arn:aws:iam::111122223333:role/agent-{agent}","roleSessionName":"s"}},"responseElements":{{"credentials":{{"accessKeyId":"{key}"}},"subjectFromWebIdentityToken":"system:serviceaccount:agents:agent-{agent}"}},"eventType":"AwsApiCall"}}"#
            );
        }
        let name = [
            "GetObject",
            "PutObject",
            "DeleteObject",
            "ListObjects",
            "GetBucketLocation",
        ][(i / 10) % 5];
        let day = 1 + (i / 50) % 7;
        let key = if name.contains("Object") && !name.starts_with("List") {
            format!(r#","key":"data/{i}.json""#)
        } else {
            String::new()
        };
        let access_key = format!("ASIAGENERATED{agent:07}");
        format!(
            r#"{{"eventVersion":"1.10","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/agent-{agent}/s","accessKeyId":"{access_key}","sessionContext":{{"sessionIssuer":{{"type":"Role","arn":"arn:aws:iam::111122223333:role/agent-{agent}"}}}}}},"eventTime":"2025-03-0{day}T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","requestParameters":{{"bucketName":"corpus"{key}}},"eventType":"AwsApiCall","eventCategory":"Data"}}"#
        )
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.pending.len() {
            if self.done {
                return Ok(0);
            }
            self.pending.clear();
            self.at = 0;
            if self.next == self.total {
                if self.wrapped {
                    self.pending.extend_from_slice(b"]}");
                }
                self.done = true;
                continue;
            }
            if self.wrapped && self.next > 0 {
                self.pending.push(b',');
            }
            self.pending
                .extend_from_slice(Self::event(self.next).as_bytes());
            if !self.wrapped {
                self.pending.push(b'\n');
            }
            self.next += 1;
        }
        let end = (self.at + buf.len()).min(self.pending.len());
        let n = end - self.at;
        buf[..n].copy_from_slice(&self.pending[self.at..end]);
        self.at = end;
        Ok(n)
    }
}

#[test]
fn the_model_holds_aggregates_not_events() {
    const EVENTS: usize = 50_000;
    for wrapped in [false, true] {
        let mut ingest = Ingest::new();
        ingest.read_reader("generated", Generated::new(EVENTS, wrapped));
        let (model, diagnostics) = ingest.finish();
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let stats = model.stats(Source::CloudTrail);
        assert_eq!(
            (stats.records, stats.used),
            (EVENTS as u64, EVENTS as u64 - 10)
        );
        // 10 identities x 5 permissions x 7 days, however many events.
        assert_eq!(model.identities().count(), 10);
        assert_eq!(model.stored_tuples(), 350);
        let mut calls = 0;
        for identity in model.identities() {
            assert_eq!(
                identity
                    .service_account
                    .as_ref()
                    .map(|sa| sa.namespace.as_str()),
                Some("agents")
            );
            let usage = ever(&model, identity);
            assert_eq!(usage.permissions.len(), 5);
            let get = usage.permission("s3:GetObject").unwrap();
            assert_eq!(get.days.len(), 7);
            // A thousand distinct objects were read; a bounded sample is kept.
            assert_eq!(
                get.resources.len(),
                scopegraph_observe::MAX_RESOURCES_PER_PERMISSION
            );
            assert!(get.resources_truncated);
            let list = usage.permission("s3:ListBucket").unwrap();
            assert!(!list.resources_truncated);
            calls += usage.permissions.values().map(|p| p.calls).sum::<u64>();
        }
        assert_eq!(calls, EVENTS as u64 - 10);
    }
}
