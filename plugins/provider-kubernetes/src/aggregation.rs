//! The rules each Role and ClusterRole grants, with ClusterRole aggregation
//! resolved the way kube-controller-manager's `clusterrole-aggregation`
//! controller does it: an aggregated ClusterRole holds the rules of every other
//! ClusterRole its selectors match. Matched roles may be aggregated themselves
//! (`admin` aggregates `edit`, which aggregates `view`), so the union is
//! iterated to a fixed point, as the controller's repeated syncs would.

use crate::objects::{Body, Kind, LabelSelector, Object, Rule};
use crate::output::Output;
use std::collections::{BTreeMap, HashMap};

/// One rule a role grants, and the role (and rule index) it is written in.
#[derive(Debug, Clone, Copy)]
pub struct EffectiveRule<'a> {
    pub rule: &'a Rule,
    pub from: &'a Object,
    pub index: usize,
}

/// (cluster, kind, namespace, name); namespace is empty for ClusterRoles.
pub type RoleKey<'a> = (&'a str, Kind, &'a str, &'a str);

pub fn role_key(object: &Object) -> RoleKey<'_> {
    (
        object.cluster.as_str(),
        object.kind,
        object.namespace.as_str(),
        object.name.as_str(),
    )
}

/// Does `selector` match `labels`? An empty selector matches everything (as
/// `metav1.LabelSelectorAsSelector` makes it); an unknown operator is an error.
pub fn matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    let by_labels = selector
        .match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let mut by_expressions = true;
    for requirement in &selector.match_expressions {
        let value = labels.get(&requirement.key);
        let ok = match requirement.operator.as_str() {
            "In" => value.is_some_and(|v| requirement.values.contains(v)),
            "NotIn" => value.is_none_or(|v| !requirement.values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            other => return Err(format!("unknown selector operator {other:?}")),
        };
        by_expressions &= ok;
    }
    Ok(by_labels && by_expressions)
}

fn push_unique<'a>(rules: &mut Vec<EffectiveRule<'a>>, rule: EffectiveRule<'a>) -> bool {
    let known = rules.iter().any(|r| r.rule == rule.rule);
    if !known {
        rules.push(rule);
    }
    !known
}

/// The effective rules of every Role and ClusterRole among `objects`.
pub fn effective_rules<'a>(
    objects: &'a [Object],
    out: &mut Output,
) -> HashMap<RoleKey<'a>, Vec<EffectiveRule<'a>>> {
    let mut effective: HashMap<RoleKey<'a>, Vec<EffectiveRule<'a>>> = HashMap::new();
    // Aggregated ClusterRoles, in name order so the rule order is stable.
    let mut aggregated: BTreeMap<RoleKey<'a>, (&'a Object, &'a [LabelSelector])> = BTreeMap::new();
    for object in objects {
        let Body::Role { rules, aggregation } = &object.body else {
            continue;
        };
        let own = effective.entry(role_key(object)).or_default();
        for (index, rule) in rules.iter().enumerate() {
            push_unique(
                own,
                EffectiveRule {
                    rule,
                    from: object,
                    index,
                },
            );
        }
        if let (Kind::ClusterRole, Some(aggregation)) = (object.kind, aggregation) {
            aggregated.insert(
                role_key(object),
                (object, &aggregation.cluster_role_selectors),
            );
        }
    }

    let cluster_roles: Vec<&Object> = objects
        .iter()
        .filter(|o| o.kind == Kind::ClusterRole)
        .collect();
    let mut sources: Vec<(RoleKey<'a>, Vec<RoleKey<'a>>)> = Vec::new();
    for (key, (aggregator, selectors)) in &aggregated {
        let (cluster, _, _, name) = *key;
        let mut matched: Vec<RoleKey<'a>> = Vec::new();
        for selector in selectors.iter() {
            for role in &cluster_roles {
                // The controller never aggregates a role into itself.
                if role.cluster != cluster || role.name == name || matched.contains(&role_key(role))
                {
                    continue;
                }
                match matches(selector, &role.meta.labels) {
                    Ok(true) => matched.push(role_key(role)),
                    Ok(false) => {}
                    Err(err) => {
                        let message =
                            format!("ClusterRole {name}: aggregation selector ignored: {err}");
                        out.warn(&aggregator.origin.document, message);
                        break;
                    }
                }
            }
        }
        matched.sort_by_key(|k| k.3);
        sources.push((*key, matched));
    }

    // Monotone and finite (rules only get added, from a fixed set), so this ends.
    let mut changed = true;
    while changed {
        changed = false;
        for (key, matched) in &sources {
            let incoming: Vec<EffectiveRule<'a>> = matched
                .iter()
                .filter_map(|m| effective.get(m))
                .flatten()
                .copied()
                .collect();
            let Some(rules) = effective.get_mut(key) else {
                continue;
            };
            for rule in incoming {
                changed |= push_unique(rules, rule);
            }
        }
    }
    effective
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::SelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expression(key: &str, operator: &str, values: &[&str]) -> SelectorRequirement {
        SelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn match_labels_and_expressions_must_all_hold() {
        let selector = LabelSelector {
            match_labels: labels(&[("team", "data")]),
            match_expressions: vec![
                expression("tier", "In", &["a", "b"]),
                expression("legacy", "DoesNotExist", &[]),
                expression("env", "NotIn", &["prod"]),
                expression("owner", "Exists", &[]),
            ],
        };
        let ok = labels(&[("team", "data"), ("tier", "b"), ("owner", "x")]);
        assert_eq!(matches(&selector, &ok), Ok(true));
        let cases = [
            labels(&[("team", "ops"), ("tier", "b"), ("owner", "x")]),
            labels(&[("team", "data"), ("tier", "c"), ("owner", "x")]),
            labels(&[
                ("team", "data"),
                ("tier", "b"),
                ("owner", "x"),
                ("legacy", "1"),
            ]),
            labels(&[
                ("team", "data"),
                ("tier", "b"),
                ("owner", "x"),
                ("env", "prod"),
            ]),
            labels(&[("team", "data"), ("tier", "b")]),
        ];
        for case in cases {
            assert_eq!(matches(&selector, &case), Ok(false), "{case:?}");
        }
    }

    #[test]
    fn empty_selector_matches_everything_and_bad_operators_are_errors() {
        assert_eq!(matches(&LabelSelector::default(), &labels(&[])), Ok(true));
        let bad = LabelSelector {
            match_expressions: vec![expression("a", "Gt", &["1"])],
            ..LabelSelector::default()
        };
        assert!(matches(&bad, &labels(&[("a", "2")])).is_err());
    }
}
