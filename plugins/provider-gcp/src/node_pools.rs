//! Node identity fallback: on a node pool whose workload metadata mode is
//! not `GKE_METADATA`, every pod reaches the metadata server of the node
//! and with it the node pool's service account.

use crate::members::service_account_id;
use crate::model::World;
use crate::output::Output;

pub fn resolve(world: &World, out: &mut Output) {
    for cluster in world.clusters.values() {
        for pool in &cluster.node_pools {
            if pool.gke_metadata {
                continue;
            }
            let email = match world.node_service_account(cluster, pool) {
                Ok(email) => email,
                Err(message) => {
                    out.warn(&pool.origin.document, message);
                    continue;
                }
            };
            let mode = pool.mode.as_deref().unwrap_or("mode unset");
            let scopes = if pool.oauth_scopes.is_empty() {
                "none listed".to_string()
            } else {
                pool.oauth_scopes.join(" ")
            };
            let from = out.group(&cluster.name, "system:serviceaccounts");
            out.edge(
                from,
                service_account_id(&email),
                "node-fallback",
                format!("node pool {} metadata server ({mode})", pool.name),
                vec![pool.origin.child("/config").evidence(
                    "document",
                    format!(
                        "node pool {} of cluster {} runs as {email}; workload metadata {mode}; OAuth scopes: {scopes}",
                        pool.name, cluster.name
                    ),
                )],
            );
        }
    }
}
