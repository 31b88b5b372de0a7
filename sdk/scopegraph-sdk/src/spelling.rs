//! The spellings plugins read and write: agent ids, Kubernetes permissions
//! and resources as the findings schema spells them, and quoting for the
//! YAML and JSON files rules write as reduction artifacts.

/// An agent id, `CLUSTER/NAMESPACE/KIND/NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentId<'a> {
    pub cluster: &'a str,
    pub namespace: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
}

impl<'a> AgentId<'a> {
    /// `None` unless `agent` has exactly four `/`-separated parts.
    pub fn parse(agent: &'a str) -> Option<Self> {
        let mut parts = agent.split('/');
        let id = AgentId {
            cluster: parts.next()?,
            namespace: parts.next()?,
            kind: parts.next()?,
            name: parts.next()?,
        };
        parts.next().is_none().then_some(id)
    }

    /// `CLUSTER/NAMESPACE/kind-NAME`, the directory a rule writes the
    /// agent's artifacts under (below its own category directory).
    pub fn artifact_dir(&self) -> String {
        format!(
            "{}/{}/{}-{}",
            self.cluster,
            self.namespace,
            self.kind.to_ascii_lowercase(),
            self.name
        )
    }
}

/// The built-in API groups whose names have no dot. Every other group
/// (`rbac.authorization.k8s.io`, CRD groups) has one, which is how a
/// group prefix is told from a resource with a subresource.
pub const DOTLESS_GROUPS: &[&str] = &["apps", "batch", "policy", "autoscaling", "extensions", "*"];

/// A Kubernetes resource type as the findings schema spells it,
/// `[group/]resource[/subresource]`, split into the API group (empty for
/// core) and `resource[/subresource]` as RBAC rules name it.
pub fn kube_type(spelled: &str) -> (&str, &str) {
    match spelled.split_once('/') {
        Some((first, rest)) if first.contains('.') || DOTLESS_GROUPS.contains(&first) => {
            (first, rest)
        }
        _ => ("", spelled),
    }
}

/// A Kubernetes permission, `[group/]resource[/sub]:verb`, as
/// `(type, verb)`; `None` for non-resource URLs (`nonresource:URL:verb`)
/// and anything without a verb.
pub fn kube_permission(permission: &str) -> Option<(&str, &str)> {
    if permission.starts_with("nonresource:") {
        return None;
    }
    permission.rsplit_once(':')
}

/// A non-resource permission, `nonresource:URL:verb`, as `(URL, verb)`.
pub fn kube_nonresource(permission: &str) -> Option<(&str, &str)> {
    permission.strip_prefix("nonresource:")?.rsplit_once(':')
}

/// A Kubernetes resource, `NAMESPACE/[group/]resource[/sub]/NAME` with `*`
/// for a cluster-scoped object or any name, as `(namespace, type, name)`.
pub fn kube_resource(resource: &str) -> Option<(&str, &str, &str)> {
    let (namespace, rest) = resource.split_once('/')?;
    let (spelled, name) = rest.rsplit_once('/')?;
    Some((namespace, spelled, name))
}

/// Does the RBAC permission `pattern` allow the concrete `permission`?
/// As the Kubernetes authorizer matches a rule: `*` as group, resource or
/// verb matches any; `*` as the resource also matches every subresource;
/// `pods/*` matches every subresource of pods, `*/scale` the `scale`
/// subresource of any resource; a non-resource URL ending in `*` is a prefix.
pub fn kube_allows(pattern: &str, permission: &str) -> bool {
    if let (Some((p_url, p_verb)), Some((url, verb))) =
        (kube_nonresource(pattern), kube_nonresource(permission))
    {
        return (p_verb == "*" || p_verb == verb)
            && (p_url == url
                || p_url
                    .strip_suffix('*')
                    .is_some_and(|pre| url.starts_with(pre)));
    }
    let (Some((p_type, p_verb)), Some((c_type, verb))) =
        (kube_permission(pattern), kube_permission(permission))
    else {
        return false;
    };
    if !(p_verb == "*" || p_verb == verb) {
        return false;
    }
    let (p_group, p_res) = kube_type(p_type);
    let (c_group, c_res) = kube_type(c_type);
    if !(p_group == "*" || p_group == c_group) {
        return false;
    }
    if p_res == "*" {
        return true;
    }
    match (p_res.split_once('/'), c_res.split_once('/')) {
        (None, None) => p_res == c_res,
        (Some((pr, ps)), Some((cr, cs))) => (pr == "*" || pr == cr) && (ps == "*" || ps == cs),
        _ => false,
    }
}

/// An OIDC issuer as providers match it: no scheme, no trailing slash,
/// lower case. One rule for every provider, so that a cluster's issuer
/// matches the same spellings in IAM OIDC providers (which drop the scheme),
/// workload identity pool providers and cluster descriptions (AKS keeps a
/// trailing slash; EKS issuer ids are upper-case hex in some exports).
pub fn normalise_issuer(issuer: &str) -> String {
    display_issuer(issuer).to_ascii_lowercase()
}

/// An OIDC issuer without scheme and trailing slash, case kept (for
/// messages and evidence).
pub fn display_issuer(issuer: &str) -> String {
    let trimmed = issuer.trim();
    let without_scheme = trimmed
        .get(..8)
        .filter(|s| s.eq_ignore_ascii_case("https://"))
        .and_then(|_| trimmed.get(8..))
        .unwrap_or(trimmed);
    without_scheme.trim_end_matches('/').to_string()
}

/// Eight hex digits naming `parts` stably across runs and machines
/// (FNV-1a, 64-bit, over the parts joined by NUL), for artifact file names.
pub fn short_hash(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        let separator: &[u8] = if i == 0 { b"" } else { b"\0" };
        for &byte in separator.iter().chain(part.as_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{:08x}", hash >> 32)
}

/// A YAML double-quoted scalar, valid for any string. Backslash and quote
/// are escaped, and so is everything YAML does not allow or would fold in a
/// quoted scalar: C0 and C1 control characters, DEL, the byte-order mark and
/// the Unicode line and paragraph separators.
pub fn yaml_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            '\u{2028}' | '\u{2029}' | '\u{feff}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON string literal (RFC 8259 escaping).
pub fn json_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` on one line, for a summary: its runs of control characters
/// (line breaks, tabs) and the blanks around them become one space.
pub fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A YAML flow sequence of double-quoted strings: `["a", "b"]`.
pub fn yaml_list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|i| yaml_str(i.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_joins_lines_with_one_space() {
        assert_eq!(one_line("a ||\n  b\r\n\tc "), "a || b c");
        assert_eq!(one_line("\n"), "");
    }

    #[test]
    fn issuers_are_normalised() {
        assert_eq!(
            normalise_issuer("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"),
            "oidc.eks.eu-west-1.amazonaws.com/id/abc"
        );
        assert_eq!(
            normalise_issuer("https://westeurope.oic.prod-aks.azure.com/t/u/"),
            "westeurope.oic.prod-aks.azure.com/t/u"
        );
        assert_eq!(normalise_issuer("HTTPS://x/"), "x");
        assert_eq!(normalise_issuer("é"), "é");
        assert_eq!(
            display_issuer(" https://oidc.eks.eu-west-1.amazonaws.com/id/ABC/ "),
            "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
        );
    }

    #[test]
    fn agent_ids_have_four_parts() {
        let id = AgentId::parse("prod/ns/Deployment/a").expect("parses");
        assert_eq!(id.artifact_dir(), "prod/ns/deployment-a");
        assert_eq!(AgentId::parse("prod/ns/Deployment"), None);
        assert_eq!(AgentId::parse("prod/ns/Deployment/a/b"), None);
    }

    #[test]
    fn kubernetes_spellings_split_group_resource_and_subresource() {
        assert_eq!(kube_type("pods/log"), ("", "pods/log"));
        assert_eq!(kube_type("apps/deployments"), ("apps", "deployments"));
        assert_eq!(
            kube_type("apps/deployments/scale"),
            ("apps", "deployments/scale")
        );
        assert_eq!(
            kube_type("rbac.authorization.k8s.io/roles"),
            ("rbac.authorization.k8s.io", "roles")
        );
        assert_eq!(
            kube_permission("pods/exec:create"),
            Some(("pods/exec", "create"))
        );
        assert_eq!(kube_permission("nonresource:/healthz:get"), None);
        assert_eq!(
            kube_nonresource("nonresource:/healthz:get"),
            Some(("/healthz", "get"))
        );
        assert_eq!(
            kube_resource("ns/apps/deployments/web"),
            Some(("ns", "apps/deployments", "web"))
        );
        assert_eq!(kube_resource("*/nodes/*"), Some(("*", "nodes", "*")));
    }

    #[test]
    fn rbac_wildcards_match_as_the_authorizer_does() {
        assert!(kube_allows("*/*:*", "apps/deployments/scale:update"));
        assert!(kube_allows("*:*", "pods/log:get"));
        assert!(!kube_allows("*:*", "apps/deployments:get"));
        assert!(kube_allows("pods/*:get", "pods/log:get"));
        assert!(!kube_allows("pods/*:get", "pods:get"));
        assert!(kube_allows(
            "apps/*/scale:patch",
            "apps/deployments/scale:patch"
        ));
        assert!(!kube_allows("pods:get", "pods:list"));
        assert!(!kube_allows("pods:*", "pods/exec:create"));
        assert!(kube_allows(
            "nonresource:/api/*:get",
            "nonresource:/api/v1:get"
        ));
        assert!(!kube_allows("nonresource:/healthz:get", "pods:get"));
    }

    #[test]
    fn quoting_escapes_what_each_language_needs() {
        assert_eq!(yaml_str("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(yaml_str("\u{1b}"), r#""\x1b""#);
        assert_eq!(short_hash(&["a", "b"]), short_hash(&["a", "b"]));
        assert_ne!(short_hash(&["a", "b"]), short_hash(&["ab"]));
        assert_eq!(json_str("a\"b\u{1}"), r#""a\"b\u0001""#);
        assert_eq!(yaml_list(&["x", "y"]), r#"["x", "y"]"#);
    }
}
