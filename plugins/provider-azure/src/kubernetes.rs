//! The Kubernetes objects workload identity depends on: ServiceAccounts
//! (their `azure.workload.identity/*` annotations) and the pod templates of
//! workloads (their service account and `azure.workload.identity/use`
//! label), from `kubectl get -o json` output: single objects, `List`s and
//! typed `*List`s.
//!
//! provider-kubernetes owns these objects: it describes their nodes and
//! reports objects it cannot read. This reader only looks, so it skips what
//! it cannot use without a diagnostic of its own.

use crate::output::{Origin, pointer_token};
use scopegraph_sdk::Document;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// `azure.workload.identity/client-id` on a ServiceAccount.
pub const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";
/// `azure.workload.identity/tenant-id` on a ServiceAccount.
pub const TENANT_ID_ANNOTATION: &str = "azure.workload.identity/tenant-id";
/// `azure.workload.identity/use: "true"` on a pod: the webhook mutates only those.
pub const USE_LABEL: &str = "azure.workload.identity/use";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
    pub origin: Origin,
}

impl ServiceAccount {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Evidence pointer of one of its annotations, relative to the object.
    pub fn annotation_pointer(key: &str) -> String {
        format!("/metadata/annotations/{}", pointer_token(key))
    }
}

/// A pod or a controller with a pod template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub cluster: String,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    /// The service account its pods run as (`default` when the spec is silent).
    pub service_account: String,
    /// Labels of its pods (a pod's own, a controller's template's).
    pub pod_labels: BTreeMap<String, String>,
    /// (kind, name) of its controlling owner, if any.
    pub controller: Option<(String, String)>,
    pub origin: Origin,
}

impl Workload {
    pub fn display(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }

    pub fn uses_workload_identity(&self) -> bool {
        self.pod_labels.get(USE_LABEL).map(String::as_str) == Some("true")
    }
}

#[derive(Debug, Default)]
pub struct Objects {
    pub service_accounts: Vec<ServiceAccount>,
    pub workloads: Vec<Workload>,
    /// (cluster, kind, namespace, name): an object exported twice counts once.
    seen: HashSet<(String, String, String, String)>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: Option<String>,
    namespace: Option<String>,
    #[serde(default, deserialize_with = "crate::roles::nullable")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "crate::roles::nullable")]
    annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "crate::roles::nullable")]
    owner_references: Vec<OwnerReference>,
}

#[derive(Deserialize)]
struct OwnerReference {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    controller: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    service_account_name: Option<String>,
    /// Deprecated alias of `serviceAccountName`, still accepted by the API.
    service_account: Option<String>,
}

#[derive(Default, Deserialize)]
struct PodTemplate {
    #[serde(default, deserialize_with = "crate::roles::nullable")]
    metadata: Meta,
    #[serde(default, deserialize_with = "crate::roles::nullable")]
    spec: PodSpec,
}

fn api_group(api_version: &str) -> &str {
    api_version
        .rsplit_once('/')
        .map(|(group, _)| group)
        .unwrap_or("")
}

fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

impl Objects {
    /// Read the ServiceAccounts and workloads of one Kubernetes document.
    pub fn read(&mut self, document: &Document, root: &Value) {
        let (Some(api_version), Some(kind)) =
            (str_field(root, "apiVersion"), str_field(root, "kind"))
        else {
            return;
        };
        let items = root.get("items").and_then(Value::as_array);
        let is_list = kind == "List" || (kind.ends_with("List") && items.is_some());
        if !is_list {
            self.read_object(document, root, api_version, kind, String::new());
            return;
        }
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        for (index, item) in items.into_iter().flatten().enumerate() {
            // Items of a typed list usually omit their own apiVersion and kind.
            let item_api = str_field(item, "apiVersion").unwrap_or(api_version);
            if let Some(item_kind) = str_field(item, "kind").or(item_kind) {
                let pointer = format!("/items/{index}");
                self.read_object(document, item, item_api, item_kind, pointer);
            }
        }
    }

    fn read_object(
        &mut self,
        document: &Document,
        object: &Value,
        api_version: &str,
        kind: &str,
        pointer: String,
    ) {
        let group = api_group(api_version);
        let template_path: &[&str] = match (group, kind) {
            ("", "ServiceAccount") | ("", "Pod") => &[],
            ("apps" | "extensions", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
            | ("batch", "Job") => &["spec", "template"],
            ("batch", "CronJob") => &["spec", "jobTemplate", "spec", "template"],
            _ => return,
        };
        let Some(Ok(meta)) = object.get("metadata").map(Meta::deserialize) else {
            return;
        };
        let Some(name) = meta.name.clone().filter(|n| !n.is_empty()) else {
            return;
        };
        let namespace = meta
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| document.context("namespace").map(String::from))
            .unwrap_or_else(|| "default".into());
        let cluster = document.context("cluster").unwrap_or("default").to_string();
        let key = (
            cluster.clone(),
            kind.to_string(),
            namespace.clone(),
            name.clone(),
        );
        if !self.seen.insert(key) {
            return;
        }
        let origin = Origin::new(&document.id, pointer);
        if kind == "ServiceAccount" {
            self.service_accounts.push(ServiceAccount {
                cluster,
                namespace,
                name,
                annotations: meta.annotations,
                origin,
            });
            return;
        }
        let template = if kind == "Pod" {
            let spec = object
                .get("spec")
                .and_then(|s| PodSpec::deserialize(s).ok())
                .unwrap_or_default();
            PodTemplate {
                metadata: Meta {
                    labels: meta.labels.clone(),
                    ..Meta::default()
                },
                spec,
            }
        } else {
            let mut at = object;
            for step in template_path {
                match at.get(step) {
                    Some(next) => at = next,
                    None => return,
                }
            }
            match PodTemplate::deserialize(at) {
                Ok(template) => template,
                Err(_) => return,
            }
        };
        let service_account = [
            template.spec.service_account_name,
            template.spec.service_account,
        ]
        .into_iter()
        .flatten()
        .find(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
        let controller = meta
            .owner_references
            .iter()
            .find(|o| o.controller == Some(true) && !o.kind.is_empty() && !o.name.is_empty())
            .map(|o| (o.kind.clone(), o.name.clone()));
        self.workloads.push(Workload {
            cluster,
            namespace,
            kind: kind.to_string(),
            name,
            service_account,
            pod_labels: template.metadata.labels,
            controller,
            origin,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::document;

    fn read(content: &str) -> Objects {
        let mut objects = Objects::default();
        objects.read(
            &document("d", content),
            &serde_json::from_str(content).unwrap(),
        );
        objects
    }

    #[test]
    fn reads_service_accounts_and_pod_templates_from_lists() {
        let objects = read(
            r#"{"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": "sa", "namespace": "ns",
                              "annotations": {"azure.workload.identity/client-id": "c"}}},
                {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
                 "spec": {"template": {"metadata": {"labels": {"azure.workload.identity/use": "true"}},
                                       "spec": {"serviceAccountName": "sa"}}}},
                {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "ns"},
                 "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccount": "old"}}}}}},
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns",
                 "ownerReferences": [{"kind": "ReplicaSet", "name": "d-5f", "controller": true}]}},
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": "ns"}},
                {"apiVersion": "iam.aws.crossplane.io/v1beta1", "kind": "Role", "metadata": {"name": "x"}},
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "ns"}}]}"#,
        );
        assert_eq!(objects.service_accounts.len(), 1, "the copy is ignored");
        let sa = &objects.service_accounts[0];
        assert_eq!(sa.annotation(CLIENT_ID_ANNOTATION), Some("c"));
        assert_eq!(sa.origin.reference(), "d#/items/0");
        assert_eq!(sa.cluster, "c");
        let summary: Vec<(&str, &str, bool, Option<&str>)> = objects
            .workloads
            .iter()
            .map(|w| {
                (
                    w.name.as_str(),
                    w.service_account.as_str(),
                    w.uses_workload_identity(),
                    w.controller.as_ref().map(|(_, n)| n.as_str()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("d", "sa", true, None),
                ("c", "old", false, None),
                ("p", "default", false, Some("d-5f")),
            ]
        );
    }

    #[test]
    fn typed_lists_lend_their_kind_to_items() {
        let objects = read(
            r#"{"apiVersion": "v1", "kind": "ServiceAccountList", "items": [
                {"metadata": {"name": "a"}}]}"#,
        );
        assert_eq!(objects.service_accounts[0].namespace, "default");
        assert_eq!(
            ServiceAccount::annotation_pointer(CLIENT_ID_ANNOTATION),
            "/metadata/annotations/azure.workload.identity~1client-id"
        );
    }
}
