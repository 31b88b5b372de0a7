//! Workloads: one node per top-level controller, found by following
//! `ownerReferences` from pods and intermediate controllers upwards.
//!
//! A snapshot is rarely complete (RBAC may forbid listing ReplicaSets, or the
//! user exported only pods), so owners are followed by name even when the
//! owner object is absent, and a Deployment is inferred from a pod's
//! `pod-template-hash` when only its ReplicaSet's name is known.

use crate::objects::{Body, Kind, Object, PodTemplate};
use crate::output::{Output, namespaced_id};
use crate::runtime;
use scopegraph_sdk::{Cloud, Level, Node};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Owner chains are Pod -> ReplicaSet -> Deployment at most, in practice;
/// the bound only guards against reference cycles in hand-edited input.
const MAX_OWNER_DEPTH: usize = 8;

/// Evidence for humans to find the objects again; the full count is in `pods`.
const MAX_POD_EVIDENCE: usize = 5;

/// Labels the controllers stamp on what they create; not the user's labels.
const GENERATED_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/job-completion-index",
];

const AGENT_LABEL: &str = "scopegraph.io/agent";

/// (cluster, namespace, kind, name)
type Key<'a> = (&'a str, &'a str, String, String);

/// Everything seen of one top-level workload.
#[derive(Debug)]
struct Workload<'a> {
    /// The top-level controller itself, when it is in the snapshot.
    top: Option<&'a Object>,
    /// Pods and intermediate controllers (ReplicaSets, Jobs) under it.
    members: Vec<&'a Object>,
}

impl Workload<'_> {
    /// Pods under the top-level object (not the top-level object itself).
    fn member_pods(&self) -> impl Iterator<Item = &Object> {
        self.members.iter().copied().filter(|o| o.kind == Kind::Pod)
    }

    /// Every pod of the workload, a bare pod included.
    fn pods(&self) -> impl Iterator<Item = &Object> {
        self.top
            .filter(|t| t.kind == Kind::Pod)
            .into_iter()
            .chain(self.member_pods())
    }

    /// The top-level object, then intermediate controllers, then pods: the
    /// first that says what the pods run is the most authoritative.
    fn by_authority(&self) -> impl Iterator<Item = &Object> {
        let controllers = self.members.iter().copied().filter(|o| o.kind != Kind::Pod);
        self.top
            .into_iter()
            .chain(controllers)
            .chain(self.member_pods())
    }

    fn template(&self) -> Option<&PodTemplate> {
        self.by_authority().find_map(pod_template)
    }
}

fn pod_template(object: &Object) -> Option<&PodTemplate> {
    match &object.body {
        Body::Workload { template } => template.as_ref(),
        _ => None,
    }
}

fn is_workload(object: &Object) -> bool {
    matches!(object.body, Body::Workload { .. })
}

/// Index of workload objects by (cluster, namespace, kind, name).
struct Index<'a>(HashMap<(&'a str, &'a str, &'a str, &'a str), &'a Object>);

impl<'a> Index<'a> {
    fn get(&self, of: &Object, kind: &str, name: &str) -> Option<&'a Object> {
        self.0
            .get(&(of.cluster.as_str(), of.namespace.as_str(), kind, name))
            .copied()
    }
}

/// The top-level controller of `start`: its (kind, name) and the object when present.
fn top_level<'a>(index: &Index<'a>, start: &'a Object) -> (String, String, Option<&'a Object>) {
    let mut kind = start.kind.as_str().to_string();
    let mut name = start.name.clone();
    let mut current = Some(start);
    let mut visited = HashSet::from([(kind.clone(), name.clone())]);
    for _ in 0..MAX_OWNER_DEPTH {
        let Some(object) = current else {
            break; // an absent owner: nothing further to follow
        };
        let Some(owner) = object.meta.controller() else {
            break;
        };
        // Mirror pods of static pods are "owned" by their Node: still bare pods.
        if owner.kind.is_empty() || owner.name.is_empty() || owner.kind == "Node" {
            break;
        }
        let (mut next_kind, mut next_name) = (owner.kind.clone(), owner.name.clone());
        let mut next = index.get(object, &next_kind, &next_name);
        if next.is_none()
            && next_kind == "ReplicaSet"
            && object.kind == Kind::Pod
            && let Some(deployment) = deployment_of_replica_set(object, &next_name)
        {
            next = index.get(object, "Deployment", deployment);
            (next_kind, next_name) = ("Deployment".into(), deployment.into());
        }
        if !visited.insert((next_kind.clone(), next_name.clone())) {
            break;
        }
        (kind, name, current) = (next_kind, next_name, next);
    }
    (kind, name, current)
}

/// A Deployment names its ReplicaSets `{deployment}-{pod-template-hash}` and
/// labels their pods with the hash; without the label the name proves nothing.
fn deployment_of_replica_set<'a>(pod: &Object, replica_set: &'a str) -> Option<&'a str> {
    let hash = pod
        .meta
        .label("pod-template-hash")
        .filter(|h| !h.is_empty())?;
    replica_set
        .strip_suffix(hash)?
        .strip_suffix('-')
        .filter(|d| !d.is_empty())
}

/// Emit a workload node per top-level controller, its runs-as edges and the
/// service accounts they name.
pub fn resolve(objects: &[Object], out: &mut Output) {
    let index = Index(
        objects
            .iter()
            .filter(|o| is_workload(o))
            .map(|o| {
                (
                    (
                        o.cluster.as_str(),
                        o.namespace.as_str(),
                        o.kind.as_str(),
                        o.name.as_str(),
                    ),
                    o,
                )
            })
            .collect(),
    );
    let mut workloads: BTreeMap<Key, Workload> = BTreeMap::new();
    for object in objects.iter().filter(|o| is_workload(o)) {
        let (kind, name, top) = top_level(&index, object);
        let workload = workloads
            .entry((
                object.cluster.as_str(),
                object.namespace.as_str(),
                kind,
                name,
            ))
            .or_insert(Workload {
                top: None,
                members: Vec::new(),
            });
        match top {
            Some(top) if std::ptr::eq(top, object) => workload.top = Some(object),
            Some(top) => {
                workload.top = Some(top);
                workload.members.push(object);
            }
            None => workload.members.push(object),
        }
    }
    let automount: HashMap<(&str, &str, &str), Option<bool>> = objects
        .iter()
        .filter_map(|o| match o.body {
            Body::ServiceAccount { automount_token } => Some((
                (o.cluster.as_str(), o.namespace.as_str(), o.name.as_str()),
                automount_token,
            )),
            _ => None,
        })
        .collect();
    let runtime = runtime::Context::new(objects);
    for ((cluster, namespace, kind, name), workload) in &workloads {
        emit(
            cluster, namespace, kind, name, workload, &automount, &runtime, out,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn emit(
    cluster: &str,
    namespace: &str,
    kind: &str,
    name: &str,
    workload: &Workload,
    automount: &HashMap<(&str, &str, &str), Option<bool>>,
    runtime: &runtime::Context<'_>,
    out: &mut Output,
) {
    let Some(source) = workload.by_authority().next() else {
        return; // every workload comes from at least one object
    };
    let id = namespaced_id(cluster, namespace, kind, name);
    let display = format!("{kind} {namespace}/{name}");
    let template = workload.template();
    let service_account = template
        .and_then(|t| t.spec.service_account())
        .unwrap_or("default");
    let automount_token = template
        .and_then(|t| t.spec.automount_service_account_token)
        .or_else(|| {
            automount
                .get(&(cluster, namespace, service_account))
                .copied()
                .flatten()
        })
        .unwrap_or(true);
    let agent = workload.by_authority().any(|o| {
        o.meta.label(AGENT_LABEL) == Some("true")
            || pod_template(o).is_some_and(|t| t.metadata.label(AGENT_LABEL) == Some("true"))
    });
    // The controller's own creation time; without it, the oldest thing seen.
    let created = match workload.top {
        Some(top) => top.meta.creation_timestamp.clone(),
        None => workload
            .members
            .iter()
            .filter_map(|o| o.meta.creation_timestamp.clone())
            .min(),
    };
    let mut attributes = vec![
        ("namespace".to_string(), namespace.to_string()),
        ("workload-kind".into(), kind.into()),
        ("service-account".into(), service_account.into()),
        ("automount-token".into(), automount_token.to_string()),
        ("agent".into(), agent.to_string()),
    ];
    if let Some(created) = created {
        attributes.push(("created".into(), created));
    }
    attributes.push(("pods".into(), workload.pods().count().to_string()));
    attributes.push(("present".into(), workload.top.is_some().to_string()));
    attributes.extend(labels(workload).map(|(k, v)| (format!("label:{k}"), v.clone())));
    attributes.extend(runtime::observed_attributes(
        runtime, cluster, namespace, kind, name,
    ));

    let controllers = workload
        .members
        .iter()
        .copied()
        .filter(|o| o.kind != Kind::Pod);
    let mut evidence: Vec<_> = workload
        .top
        .into_iter()
        .chain(controllers)
        .map(|o| o.origin.evidence("document", o.display()))
        .collect();
    evidence.extend(workload.member_pods().take(MAX_POD_EVIDENCE).map(|o| {
        o.origin
            .evidence("document", format!("{} of {display}", o.display()))
    }));
    runtime::grants(
        runtime, cluster, namespace, kind, name, template, &evidence, out,
    );
    out.node(Node {
        id: id.clone(),
        kind: "workload".into(),
        cloud: Cloud::Kubernetes,
        name: name.into(),
        attributes,
        evidence,
    });

    let sa = out.referenced_service_account(
        cluster,
        namespace,
        service_account,
        &source.origin,
        format!("service account of {}", source.display()),
    );
    let evidence = source.origin.evidence(
        "document",
        format!("{} runs as {service_account}", source.display()),
    );
    out.edge(
        id,
        sa,
        "runs-as",
        "spec.serviceAccountName".into(),
        vec![evidence],
    );

    // The host follows one runs-as edge per workload; pods left over from an
    // earlier rollout that still run as another account are worth a note.
    for pod in workload.pods() {
        let account = pod_template(pod)
            .and_then(|t| t.spec.service_account())
            .unwrap_or("default");
        if account != service_account {
            let message = format!(
                "{} runs as service account {account}, not {service_account} like the rest of {display}",
                pod.display()
            );
            out.diagnostic(Level::Info, &pod.origin.document, message);
        }
    }
}

/// The top-level object's labels; without it, the nearest object's minus
/// the labels its controller generated.
fn labels<'a>(workload: &'a Workload) -> impl Iterator<Item = (&'a String, &'a String)> {
    let (object, generated) = match workload.top {
        Some(top) => (Some(top), false),
        None => (workload.by_authority().next(), true),
    };
    object
        .into_iter()
        .flat_map(|o| o.meta.labels.iter())
        .filter(move |(key, _)| !generated || !GENERATED_LABELS.contains(&key.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::parse;
    use crate::testing::document;
    use scopegraph_sdk::ProviderOutput;
    use serde_json::{Value, json};

    fn object(kind: &str, name: &str, meta: Value, spec: Value) -> Value {
        let api = match kind {
            "Pod" | "ServiceAccount" => "v1",
            "Job" | "CronJob" => "batch/v1",
            _ => "apps/v1",
        };
        let mut metadata = json!({"name": name, "namespace": "ns"});
        if let (Some(m), Some(extra)) = (metadata.as_object_mut(), meta.as_object()) {
            m.extend(extra.clone());
        }
        json!({"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec})
    }

    fn owned_by(kind: &str, name: &str) -> Value {
        json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "controller": true}])
    }

    fn run(items: Vec<Value>) -> ProviderOutput {
        let content = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
        let objects = parse(&document("d", &content)).objects;
        let mut out = Output::default();
        resolve(&objects, &mut out);
        out.finish()
    }

    /// (id, pods, service-account) of every workload node.
    fn workloads(out: &ProviderOutput) -> Vec<(String, String, String)> {
        let attribute = |n: &Node, key: &str| {
            n.attributes
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        out.nodes
            .iter()
            .filter(|n| n.kind == "workload")
            .map(|n| {
                (
                    n.id.clone(),
                    attribute(n, "pods"),
                    attribute(n, "service-account"),
                )
            })
            .collect()
    }

    fn w(id: &str, pods: &str, sa: &str) -> (String, String, String) {
        (format!("k8s:c/ns/{id}"), pods.into(), sa.into())
    }

    #[test]
    fn absent_replica_set_leads_to_its_deployment_when_the_hash_matches() {
        let out = run(vec![
            object(
                "Pod",
                "api-6b8f7-abcde",
                json!({"labels": {"pod-template-hash": "6b8f7"}, "ownerReferences": owned_by("ReplicaSet", "api-6b8f7")}),
                json!({}),
            ),
            object(
                "Pod",
                "odd-x",
                json!({"labels": {"pod-template-hash": "zzz"}, "ownerReferences": owned_by("ReplicaSet", "odd-6b8f7")}),
                json!({}),
            ),
        ]);
        assert_eq!(
            workloads(&out),
            [
                w("Deployment/api", "1", "default"),
                w("ReplicaSet/odd-6b8f7", "1", "default")
            ]
        );
    }

    #[test]
    fn owned_intermediates_are_not_workloads_even_when_the_owner_is_absent() {
        let template = json!({"template": {"spec": {"serviceAccountName": "runner"}}});
        let out = run(vec![
            object(
                "ReplicaSet",
                "web-1",
                json!({"ownerReferences": owned_by("Deployment", "web")}),
                template.clone(),
            ),
            object(
                "Pod",
                "web-1-a",
                json!({"ownerReferences": owned_by("ReplicaSet", "web-1")}),
                json!({"serviceAccountName": "runner"}),
            ),
            object("ReplicaSet", "standalone", json!({}), template.clone()),
            object("Job", "once", json!({}), template),
        ]);
        assert_eq!(
            workloads(&out),
            [
                w("Deployment/web", "1", "runner"),
                w("Job/once", "0", "runner"),
                w("ReplicaSet/standalone", "0", "runner")
            ]
        );
    }

    #[test]
    fn a_controller_owned_by_an_unmodelled_kind_belongs_to_that_kind() {
        // Argo Rollouts own ReplicaSets the way Deployments do.
        let out = run(vec![object(
            "ReplicaSet",
            "canary-1",
            json!({"ownerReferences": owned_by("Rollout", "canary")}),
            json!({}),
        )]);
        assert_eq!(workloads(&out), [w("Rollout/canary", "0", "default")]);
    }

    #[test]
    fn automount_comes_from_the_pod_spec_then_the_service_account() {
        let sa = |name: &str, automount: bool| {
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "ns"},
                   "automountServiceAccountToken": automount})
        };
        let out = run(vec![
            sa("quiet", false),
            object(
                "Pod",
                "a",
                json!({}),
                json!({"serviceAccountName": "quiet"}),
            ),
            object(
                "Pod",
                "b",
                json!({}),
                json!({"serviceAccountName": "quiet", "automountServiceAccountToken": true}),
            ),
            object("Pod", "c", json!({}), json!({"serviceAccount": "unknown"})),
        ]);
        let automount: Vec<(&str, &str)> = out
            .nodes
            .iter()
            .filter(|n| n.kind == "workload")
            .map(|n| {
                let value = n
                    .attributes
                    .iter()
                    .find(|(k, _)| k == "automount-token")
                    .map(|(_, v)| v.as_str());
                (n.name.as_str(), value.unwrap_or_default())
            })
            .collect();
        assert_eq!(automount, [("a", "false"), ("b", "true"), ("c", "true")]);
    }

    #[test]
    fn pods_of_a_controller_in_the_snapshot_merge_into_it() {
        let out = run(vec![
            object(
                "Pod",
                "db-0",
                json!({"ownerReferences": owned_by("StatefulSet", "db")}),
                json!({"serviceAccountName": "db"}),
            ),
            object(
                "Pod",
                "db-1",
                json!({"ownerReferences": owned_by("StatefulSet", "db")}),
                json!({"serviceAccountName": "db-old"}),
            ),
            object(
                "StatefulSet",
                "db",
                json!({"labels": {"team": "data"}, "creationTimestamp": "2026-01-01T00:00:00Z"}),
                json!({"template": {"metadata": {"labels": {"scopegraph.io/agent": "true"}}, "spec": {"serviceAccountName": "db"}}}),
            ),
        ]);
        assert_eq!(workloads(&out), [w("StatefulSet/db", "2", "db")]);
        let node = out.nodes.iter().find(|n| n.kind == "workload").unwrap();
        for pair in [
            ("agent", "true"),
            ("present", "true"),
            ("label:team", "data"),
            ("created", "2026-01-01T00:00:00Z"),
        ] {
            assert!(
                node.attributes.contains(&(pair.0.into(), pair.1.into())),
                "{pair:?}"
            );
        }
        assert_eq!(node.evidence.len(), 3, "the controller and both pods");
        let runs_as: Vec<&str> = out
            .edges
            .iter()
            .filter(|e| e.kind == "runs-as")
            .map(|e| e.to.as_str())
            .collect();
        assert_eq!(
            runs_as,
            ["k8s:c/ns/ServiceAccount/db"],
            "one runs-as edge, from the template"
        );
        assert_eq!(
            out.diagnostics.len(),
            1,
            "the pod still running as db-old is noted"
        );
    }

    #[test]
    fn owner_cycles_end() {
        let out = run(vec![
            object(
                "ReplicaSet",
                "a",
                json!({"ownerReferences": owned_by("ReplicaSet", "b")}),
                json!({}),
            ),
            object(
                "ReplicaSet",
                "b",
                json!({"ownerReferences": owned_by("ReplicaSet", "a")}),
                json!({}),
            ),
        ]);
        assert!(!workloads(&out).is_empty());
    }

    #[test]
    fn mirror_pods_owned_by_their_node_are_bare_pods() {
        let node_owner =
            json!([{"apiVersion": "v1", "kind": "Node", "name": "cp-1", "controller": true}]);
        let out = run(vec![object(
            "Pod",
            "etcd-cp-1",
            json!({"ownerReferences": node_owner}),
            json!({}),
        )]);
        assert_eq!(workloads(&out), [w("Pod/etcd-cp-1", "1", "default")]);
    }
}
