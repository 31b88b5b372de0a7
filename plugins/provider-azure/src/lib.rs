//! The Azure provider: AKS workload identity, the kubelet identity fallback
//! and Azure RBAC role assignments, from `az … -o json` and `kubectl get -o
//! json` output, as identity-graph nodes, edges and grants.
//!
//! - [`azure`] reads the `az` documents into typed records, [`kubernetes`]
//!   the ServiceAccounts and pod templates workload identity depends on;
//! - [`identities`] indexes managed identities and service principals and
//!   describes their `cloud-identity` nodes (`azure:{principalId}`);
//! - [`federation`] derives `federates-to`, `latent-federates-to` and
//!   `node-fallback` edges from ServiceAccounts and
//!   `Group/system:serviceaccounts` to those identities;
//! - [`rbac`] turns role assignments into grants, expanding roles with
//!   [`roles`] (the embedded built-in catalogue) and [`actions`] (wildcards,
//!   `notActions`);
//! - [`output`] keeps ids by convention and unique.
//!
//! Kubernetes nodes (ServiceAccounts, groups) are provider-kubernetes's to
//! describe: this provider only draws edges from their ids. Documents it
//! does not recognise are ignored; a recognised record it cannot use is
//! reported as a warning and the rest is still resolved. The rules are
//! written down in `README.md`.

pub mod actions;
pub mod azure;
pub mod federation;
pub mod groups;
pub mod identities;
pub mod kubernetes;
pub mod output;
pub mod rbac;
pub mod roles;

use azure::{AzureRecords, Class};
use identities::Directory;
use kubernetes::Objects;
use output::Output;
use scopegraph_sdk::{Document, PluginError, Provider, ProviderOutput};
use serde_json::Value;

#[derive(Debug)]
pub struct AzureProvider;

impl Provider for AzureProvider {
    fn resolve(documents: Vec<Document>) -> Result<ProviderOutput, PluginError> {
        Ok(resolve(&documents))
    }
}

scopegraph_sdk::export_provider!(AzureProvider);

/// The whole derivation, for every cluster and subscription at once.
pub fn resolve(documents: &[Document]) -> ProviderOutput {
    let mut out = Output::default();
    let mut records = AzureRecords::default();
    let mut objects = Objects::default();
    for document in documents {
        let Ok(value) = serde_json::from_str::<Value>(&document.content) else {
            continue;
        };
        match azure::classify(document, &value) {
            Some(Class::Kubernetes) => objects.read(document, &value),
            Some(class) => records.read(document, &value, class, &mut out),
            None => {}
        }
    }
    let mut directory = Directory::build(&records, &mut out);
    groups::resolve(&records.groups, &mut out);
    federation::resolve(&records, &objects, &mut directory, &mut out);
    rbac::resolve(&records, &directory, &mut out);
    out.finish()
}

#[cfg(test)]
pub(crate) mod testing {
    use scopegraph_sdk::Document;

    /// A document of cluster `c`, as a host that did not sniff would pass it.
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
