//! The Kubernetes provider: workloads, service accounts and RBAC from
//! `kubectl get -o json` output, as identity-graph nodes, edges and grants.
//!
//! - [`objects`] reads documents (single objects, `List`s, typed `*List`s)
//!   into the typed objects the rest works on;
//! - [`workloads`] folds pods and controllers into one node per top-level
//!   controller, with the service account its pods run as;
//! - [`aggregation`] and [`rbac`] turn roles and bindings into `bound-to`
//!   edges and grants;
//! - [`runtime`] grants each workload its network egress and system calls
//!   when no NetworkPolicy or seccomp profile confines them, and reads what
//!   Kubescape saw it do;
//! - [`output`] keeps node ids by convention and unique.
//!
//! Documents that are not Kubernetes objects, and kinds this provider does
//! not model, are ignored; a recognised object it cannot use is reported as
//! a warning diagnostic and the rest of the snapshot is still resolved.

pub mod aggregation;
pub mod objects;
pub mod output;
pub mod rbac;
pub mod runtime;
pub mod workloads;

use objects::{Body, Object};
use output::Output;
use scopegraph_sdk::{Document, Level, PluginError, Provider, ProviderOutput};
use std::collections::HashMap;

#[derive(Debug)]
pub struct KubernetesProvider;

impl Provider for KubernetesProvider {
    fn resolve(documents: Vec<Document>) -> Result<ProviderOutput, PluginError> {
        Ok(resolve(&documents))
    }
}

scopegraph_sdk::export_provider!(KubernetesProvider);

/// The whole derivation, for all clusters at once: ids carry the cluster.
pub fn resolve(documents: &[Document]) -> ProviderOutput {
    let mut out = Output::default();
    let objects = read_objects(documents, &mut out);
    // Service accounts first, so references to them find the real node.
    for account in &objects {
        if let Body::ServiceAccount { automount_token } = account.body {
            let mut attributes = vec![("present".to_string(), "true".to_string())];
            if let Some(automount) = automount_token {
                attributes.push(("automount-token".into(), automount.to_string()));
            }
            attributes.extend(
                account
                    .meta
                    .labels
                    .iter()
                    .map(|(k, v)| (format!("label:{k}"), v.clone())),
            );
            let evidence = account.origin.evidence("document", account.display());
            out.service_account(
                &account.cluster,
                &account.namespace,
                &account.name,
                attributes,
                evidence,
            );
        }
    }
    workloads::resolve(&objects, &mut out);
    rbac::resolve(&objects, &mut out);
    out.finish()
}

/// Every recognised object once: the same object exported twice (say in
/// `all.json` and `pods.json`) must not count twice.
fn read_objects(documents: &[Document], out: &mut Output) -> Vec<Object> {
    let mut objects: Vec<Object> = Vec::new();
    let mut seen: HashMap<(String, objects::Kind, String, String), String> = HashMap::new();
    for document in documents {
        let parsed = objects::parse(document);
        out.extend_diagnostics(parsed.diagnostics);
        for object in parsed.objects {
            let key = (
                object.cluster.clone(),
                object.kind,
                object.namespace.clone(),
                object.name.clone(),
            );
            if let Some(first) = seen.get(&key) {
                let message = format!(
                    "{} at {} appears again (first in {first}); the first copy is used",
                    object.display(),
                    object.origin.reference(),
                );
                out.diagnostic(Level::Info, &object.origin.document, message);
                continue;
            }
            seen.insert(key, object.origin.reference());
            objects.push(object);
        }
    }
    objects
}

#[cfg(test)]
pub(crate) mod testing {
    use scopegraph_sdk::Document;

    /// A document of cluster `c`, as the host would pass it.
    pub fn document(id: &str, content: &str) -> Document {
        Document {
            id: id.into(),
            source: format!("{id}.json"),
            kind: "json".into(),
            context: vec![("cluster".into(), "c".into())],
            content: content.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::document;

    #[test]
    fn an_object_exported_twice_counts_once() {
        let pod =
            r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}}"#;
        let out = resolve(&[document("all", pod), document("pods", pod)]);
        let workload = out.nodes.iter().find(|n| n.kind == "workload").unwrap();
        assert!(workload.attributes.contains(&("pods".into(), "1".into())));
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].level, Level::Info);
        assert_eq!(out.diagnostics[0].source, "pods");
    }
}
