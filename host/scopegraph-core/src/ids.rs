//! Stable identifiers: the same agent, grant and category give the same id
//! on every run and every machine, so findings keep their history.

/// FNV-1a 64-bit: stable across Rust releases, unlike `DefaultHasher`.
pub fn stable_hash(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// `k8s:prod/analytics/Deployment/report-agent` -> `prod/analytics/Deployment/report-agent`.
pub fn agent_id(workload_node: &str) -> String {
    workload_node
        .strip_prefix("k8s:")
        .unwrap_or(workload_node)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_hash_is_stable_and_separates_parts() {
        assert_eq!(stable_hash(&["a", "b"]), stable_hash(&["a", "b"]));
        assert_ne!(stable_hash(&["ab", ""]), stable_hash(&["a", "b"]));
        // Pinned: changing the hash would orphan every stored finding's history.
        assert_eq!(stable_hash(&["agent", "grant"]), "eed78a70a80fded4");
    }
}
