//! AWS IAM documents: identity policies, the resources a durable policy
//! names for observed ones, and the trust policy of a role federated to one
//! Kubernetes ServiceAccount through an OIDC issuer (IRSA).

use crate::text::json_list;
use scopegraph_sdk::spelling::json_str;
use std::collections::{BTreeMap, BTreeSet};

/// The audience IRSA tokens carry.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// The parts of an ARN, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// `None` unless `arn` has the six parts and a non-empty partition.
    pub fn parse(arn: &'a str) -> Option<Arn<'a>> {
        let mut parts = arn.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        (!arn.partition.is_empty()).then_some(arn)
    }
}

/// Whether `name` is a valid IAM role name: 1 to 64 of `[A-Za-z0-9+=,.@_-]`.
pub fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// An identity policy document with one statement `sid` (IAM allows only
/// `[A-Za-z0-9]` there) allowing `actions` (sorted, deduplicated) on
/// `resources`.
pub fn identity_policy(sid: &str, actions: &[String], resources: &[String]) -> String {
    let mut actions = actions.to_vec();
    actions.sort();
    actions.dedup();
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Sid\": {},\n      \"Effect\": \"Allow\",\n      \"Action\": {},\n      \"Resource\": {}\n    }}\n  ]\n}}\n",
        json_str(sid),
        json_list(&actions, "      "),
        json_list(resources, "      ")
    )
}

/// Observed resources as a durable policy names them: deduplicated, sorted,
/// S3 object ARNs folded to `bucket/{longest common key directory}/*`.
pub fn generalise(resources: &[String]) -> Vec<String> {
    let mut kept: BTreeSet<String> = BTreeSet::new();
    let mut objects: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for resource in resources {
        match resource
            .strip_prefix("arn:aws:s3:::")
            .and_then(|rest| rest.split_once('/'))
        {
            Some((bucket, key)) => objects.entry(bucket).or_default().push(key),
            None => {
                kept.insert(resource.clone());
            }
        }
    }
    for (bucket, keys) in objects {
        // The longest directory prefix shared by every key.
        let mut prefix: &str = keys
            .first()
            .map(|k| k.rsplit_once('/').map_or("", |(dir, _)| dir))
            .unwrap_or("");
        for key in &keys {
            while !prefix.is_empty()
                && !key
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
            {
                prefix = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
            }
        }
        if prefix.is_empty() {
            kept.insert(format!("arn:aws:s3:::{bucket}/*"));
        } else {
            kept.insert(format!("arn:aws:s3:::{bucket}/{prefix}/*"));
        }
    }
    kept.into_iter().collect()
}

/// An OIDC issuer URL as IAM names its provider and condition keys: without
/// `https://` and trailing `/`. `None` unless the issuer is an `https` URL
/// with a host.
pub fn issuer_host_path(issuer: &str) -> Option<&str> {
    let rest = issuer.strip_prefix("https://")?.trim_end_matches('/');
    let host = rest.split('/').next().unwrap_or_default();
    (!host.is_empty() && !rest.chars().any(char::is_whitespace)).then_some(rest)
}

/// `arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST-PATH`.
pub fn oidc_provider_arn(partition: &str, account: &str, host_path: &str) -> String {
    format!("arn:{partition}:iam::{account}:oidc-provider/{host_path}")
}

/// The trust policy of a role that only `subject` (a token's `sub`, e.g.
/// `system:serviceaccount:NS:SA`) from the OIDC provider `provider_arn`
/// (issuer `host_path`) may assume with `sts:AssumeRoleWithWebIdentity`,
/// for tokens of audience [`STS_AUDIENCE`].
pub fn web_identity_trust_policy(provider_arn: &str, host_path: &str, subject: &str) -> String {
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Sid\": \"ServiceAccountWebIdentity\",\n      \"Effect\": \"Allow\",\n      \"Principal\": {{\n        \"Federated\": {}\n      }},\n      \"Action\": \"sts:AssumeRoleWithWebIdentity\",\n      \"Condition\": {{\n        \"StringEquals\": {{\n          {}: {},\n          {}: {}\n        }}\n      }}\n    }}\n  ]\n}}\n",
        json_str(provider_arn),
        json_str(&format!("{host_path}:sub")),
        json_str(subject),
        json_str(&format!("{host_path}:aud")),
        json_str(STS_AUDIENCE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str =
        "https://oidc.eks.eu-west-1.amazonaws.com/id/4F1C6A0E2B9D8E7F6A5B4C3D2E1F0A9B";

    #[test]
    fn trust_policy_names_the_provider_and_pins_subject_and_audience() {
        let host = issuer_host_path(ISSUER).unwrap();
        let provider = oidc_provider_arn("aws", "111122223333", host);
        let subject = "system:serviceaccount:support:support-agent";
        let parsed: serde_json::Value =
            serde_json::from_str(&web_identity_trust_policy(&provider, host, subject)).unwrap();
        let key = "oidc.eks.eu-west-1.amazonaws.com/id/4F1C6A0E2B9D8E7F6A5B4C3D2E1F0A9B";
        assert_eq!(
            parsed,
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "ServiceAccountWebIdentity",
                    "Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{key}")},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {
                        format!("{key}:sub"): subject,
                        format!("{key}:aud"): "sts.amazonaws.com",
                    }},
                }]
            })
        );
    }

    #[test]
    fn issuers_lose_scheme_and_trailing_slash() {
        assert_eq!(
            issuer_host_path("https://westeurope.oic.prod-aks.azure.com/tenant/guid/"),
            Some("westeurope.oic.prod-aks.azure.com/tenant/guid")
        );
        assert_eq!(issuer_host_path("http://insecure.example"), None);
        assert_eq!(issuer_host_path("https:///path"), None);
        assert_eq!(issuer_host_path("https://a b"), None);
    }

    #[test]
    fn arns_and_role_names() {
        let arn = Arn::parse("arn:aws-cn:iam::111122223333:role/path/node").unwrap();
        assert_eq!(
            (arn.partition, arn.service, arn.account, arn.resource),
            ("aws-cn", "iam", "111122223333", "role/path/node")
        );
        assert_eq!(Arn::parse("role/x"), None);
        assert!(valid_role_name("scopegraph-support-agent_1+=,.@"));
        assert!(!valid_role_name(&"a".repeat(65)));
        assert!(!valid_role_name("a b"));
        assert!(!valid_role_name(""));
    }

    #[test]
    fn identity_policies_parse_and_sort_their_actions() {
        let actions = vec![
            "s3:PutObject".to_string(),
            "s3:GetObject".to_string(),
            "s3:GetObject".to_string(),
        ];
        let parsed: serde_json::Value =
            serde_json::from_str(&identity_policy("Carried", &actions, &["*".to_string()]))
                .unwrap();
        assert_eq!(parsed["Statement"][0]["Sid"], "Carried");
        assert_eq!(
            parsed["Statement"][0]["Action"],
            json!(["s3:GetObject", "s3:PutObject"])
        );
        assert_eq!(parsed["Statement"][0]["Resource"], json!(["*"]));
    }
}
