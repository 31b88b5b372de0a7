//! A custom identity-chain provider, written only against `scopegraph-sdk`.
//!
//! HashiCorp Vault's Kubernetes auth method lets a pod trade its service
//! account token for a Vault token carrying the role's policies. This
//! provider reads the output of
//! `vault read -format=json auth/kubernetes/role/NAME` and adds the chain
//! ServiceAccount -> Vault role -> Vault policies to the identity graph.
//!
//! Documents are recognised by content: a `data` object with
//! `bound_service_account_names`. Anything else is ignored.

use scopegraph_sdk::{
    Cloud, Diagnostic, Document, Edge, EvidenceRef, Grant, Level, Node, PluginError, Provider,
    ProviderOutput,
};
use serde_json::Value;

#[derive(Debug)]
pub struct VaultKubernetesAuth;

impl Provider for VaultKubernetesAuth {
    fn resolve(documents: Vec<Document>) -> Result<ProviderOutput, PluginError> {
        let mut out = ProviderOutput::default();
        for doc in &documents {
            let Ok(value) = serde_json::from_str::<Value>(&doc.content) else {
                continue;
            };
            let Some(data) = value
                .get("data")
                .filter(|d| d.get("bound_service_account_names").is_some())
            else {
                continue;
            };
            add_role(doc, data, &mut out);
        }
        Ok(out)
    }
}

scopegraph_sdk::export_provider!(VaultKubernetesAuth);

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `vault read` does not repeat the role's name; the file it was saved to does.
fn role_name(doc: &Document) -> String {
    let file = doc.source.rsplit('/').next().unwrap_or(&doc.source);
    file.split('.').next().unwrap_or(file).to_string()
}

fn add_role(doc: &Document, data: &Value, out: &mut ProviderOutput) {
    let cluster = doc.context("cluster").unwrap_or("default");
    let name = role_name(doc);
    let role_id = format!("vault:auth/kubernetes/role/{name}");
    let evidence = vec![EvidenceRef {
        kind: "document".into(),
        reference: doc.id.clone(),
        summary: format!("Vault Kubernetes auth role {name}"),
    }];
    out.nodes.push(Node {
        id: role_id.clone(),
        kind: "role".into(),
        cloud: Cloud::Kubernetes,
        name: format!("vault role {name}"),
        attributes: vec![("system".into(), "vault".into())],
        evidence: evidence.clone(),
    });

    let names = strings(data.get("bound_service_account_names"));
    let namespaces = strings(data.get("bound_service_account_namespaces"));
    if names.is_empty() || namespaces.is_empty() {
        out.diagnostics.push(Diagnostic {
            level: Level::Warn,
            source: doc.id.clone(),
            message: format!(
                "role {name} binds no service account or no namespace; Vault refuses every login"
            ),
        });
    }
    for namespace in &namespaces {
        for sa in &names {
            // A `*` binds every service account of the namespace (or every
            // namespace): the subject is then the matching implicit group.
            let from = match (namespace.as_str(), sa.as_str()) {
                ("*", _) => format!("k8s:{cluster}/Group/system:serviceaccounts"),
                (ns, "*") => format!("k8s:{cluster}/Group/system:serviceaccounts:{ns}"),
                (ns, sa) => format!("k8s:{cluster}/{ns}/ServiceAccount/{sa}"),
            };
            out.edges.push(Edge {
                from,
                to: role_id.clone(),
                kind: "federates-to".into(),
                via: format!("vault auth/kubernetes/role/{name}"),
                evidence: evidence.clone(),
            });
        }
    }
    let policies = strings(data.get("token_policies"));
    if !policies.is_empty() {
        out.grants.push(Grant {
            id: format!("{role_id}#token_policies"),
            holder: role_id,
            cloud: Cloud::Kubernetes,
            permissions: policies
                .iter()
                .map(|p| format!("vault:policy/{p}"))
                .collect(),
            resources: vec!["*".into()],
            source: format!("vault auth/kubernetes/role/{name}"),
            evidence,
            ..Grant::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shape of `vault read -format=json auth/kubernetes/role/report-agent`
    /// (Vault 1.15; fields the provider does not use trimmed).
    const ROLE: &str = r#"{
      "request_id": "7a1f2c3e-0000-4000-8000-000000000000",
      "lease_id": "", "lease_duration": 0, "renewable": false,
      "data": {
        "alias_name_source": "serviceaccount_uid",
        "bound_service_account_names": ["report-agent"],
        "bound_service_account_namespaces": ["analytics", "*"],
        "token_policies": ["reports-read", "default"],
        "token_ttl": 3600
      },
      "warnings": null
    }"#;

    fn doc(content: &str) -> Document {
        Document {
            id: "d1".into(),
            source: "vault/report-agent.json".into(),
            kind: "json".into(),
            context: vec![("cluster".into(), "prod".into())],
            content: content.into(),
        }
    }

    #[test]
    fn role_becomes_a_chain_from_the_service_account_to_its_policies() {
        let out =
            VaultKubernetesAuth::resolve(vec![doc(ROLE), doc("{\"kind\": \"Pod\"}")]).unwrap();
        assert_eq!(out.nodes.len(), 1);
        let froms: Vec<&str> = out.edges.iter().map(|e| e.from.as_str()).collect();
        assert_eq!(
            froms,
            vec![
                "k8s:prod/analytics/ServiceAccount/report-agent",
                "k8s:prod/Group/system:serviceaccounts"
            ]
        );
        assert_eq!(
            out.grants[0].permissions,
            vec!["vault:policy/reports-read", "vault:policy/default"]
        );
        assert!(out.diagnostics.is_empty());
    }
}
