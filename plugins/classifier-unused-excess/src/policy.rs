//! The replacement an AWS grant is scoped down to: exactly the observed
//! actions, on the observed resources (S3 objects generalised to the
//! narrowest common key prefix of their bucket).

use std::collections::{BTreeMap, BTreeSet};

/// JSON string literal (RFC 8259 escaping).
fn json_string(value: &str) -> String {
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

pub(crate) fn json_list(items: &[String], indent: &str) -> String {
    let body: Vec<String> = items
        .iter()
        .map(|i| format!("{indent}  {}", json_string(i)))
        .collect();
    format!("[\n{}\n{indent}]", body.join(",\n"))
}

/// Observed resources, with S3 object ARNs folded to `bucket/prefix/*`.
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

/// An identity policy document allowing `actions` on `resources`.
pub fn identity_policy(actions: &[String], resources: &[String]) -> String {
    let mut actions = actions.to_vec();
    actions.sort();
    actions.dedup();
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Sid\": \"ObservedUse\",\n      \"Effect\": \"Allow\",\n      \"Action\": {},\n      \"Resource\": {}\n    }}\n  ]\n}}\n",
        json_list(&actions, "      "),
        json_list(resources, "      ")
    )
}
