//! IAM policy documents: statements, principals and conditions, as read
//! from `get-account-authorization-details` (where a document is a JSON
//! object, or in some tool versions a URL-encoded JSON string), plus the
//! condition evaluation the chains need.

use crate::glob;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction`, `Resource` or `NotResource`: patterns, and
/// whether they name what is excluded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Patterns {
    pub patterns: Vec<String>,
    pub negated: bool,
}

impl Patterns {
    /// Does this element apply to `action` (IAM action names ignore case)?
    pub fn matches_action(&self, action: &str) -> bool {
        let hit = self
            .patterns
            .iter()
            .any(|p| glob::matches_ignore_case(p, action));
        hit != self.negated
    }

    /// Does this element apply to the resource `arn` (case-sensitive)?
    pub fn matches_resource(&self, arn: &str) -> bool {
        let hit = self.patterns.iter().any(|p| glob::matches(p, arn));
        hit != self.negated
    }

    /// The same patterns in lower case, for matching many action names
    /// (which ignore case) without lowering each pattern each time.
    pub fn lowered(&self) -> Patterns {
        Patterns {
            patterns: self
                .patterns
                .iter()
                .map(|p| p.to_ascii_lowercase())
                .collect(),
            negated: self.negated,
        }
    }

    /// Like [`Patterns::matches_action`], for lowered patterns and a
    /// lower-case action.
    pub fn matches_lower(&self, lower_action: &str) -> bool {
        let hit = self.patterns.iter().any(|p| glob::matches(p, lower_action));
        hit != self.negated
    }

    /// The element's name in the policy language.
    pub fn element(&self, kind: &str) -> String {
        if self.negated {
            format!("Not{kind}")
        } else {
            kind.to_string()
        }
    }
}

/// `Principal` / `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    /// `"Principal": "*"`.
    pub anyone: bool,
    pub aws: Vec<String>,
    pub federated: Vec<String>,
    pub service: Vec<String>,
    pub negated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the document's `Statement` list.
    pub index: usize,
    /// JSON pointer relative to the policy document (`/Statement/2`).
    pub pointer: String,
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Patterns,
    pub resources: Option<Patterns>,
    pub principal: Option<Principal>,
    /// The `Condition` block, when present and not empty.
    pub condition: Option<Map<String, Value>>,
}

impl Statement {
    /// `statement "ReadReports"` or `statement #2` (1-based, as people count).
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("statement \"{sid}\""),
            _ => format!("statement #{}", self.index + 1),
        }
    }

    pub fn condition_json(&self) -> Option<String> {
        self.condition
            .as_ref()
            .map(|c| Value::Object(c.clone()).to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyDocument {
    pub statements: Vec<Statement>,
    /// The document was a URL-encoded string: pointers cannot reach inside.
    pub encoded: bool,
}

impl PolicyDocument {
    /// Evidence pointer of a statement, given the pointer of the document.
    pub fn statement_pointer(&self, document_pointer: &str, statement: &Statement) -> String {
        if self.encoded {
            document_pointer.to_string()
        } else {
            format!("{document_pointer}{}", statement.pointer)
        }
    }
}

/// Read a policy document: a JSON object, JSON text, or URL-encoded JSON text.
pub fn parse_document(value: &Value) -> Result<PolicyDocument, String> {
    match value {
        Value::Object(_) => parse_object(value, false),
        Value::String(text) => {
            let trimmed = text.trim_start();
            let (json, encoded) = if trimmed.starts_with('{') {
                (text.clone(), false)
            } else {
                (percent_decode(text)?, true)
            };
            let value: Value = serde_json::from_str(&json)
                .map_err(|err| format!("the policy text is not JSON ({err})"))?;
            if !value.is_object() {
                return Err("the policy is not a JSON object".into());
            }
            parse_object(&value, encoded)
        }
        _ => Err("a policy document must be an object or a string".into()),
    }
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-escape at byte {i} of the policy text"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the decoded policy text is not UTF-8".into())
}

fn parse_object(value: &Value, encoded: bool) -> Result<PolicyDocument, String> {
    let statements = match value.get("Statement") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| parse_statement(s, i, format!("/Statement/{i}")))
            .collect::<Result<_, _>>()?,
        Some(single @ Value::Object(_)) => vec![parse_statement(single, 0, "/Statement".into())?],
        Some(_) => return Err("Statement is neither a list nor an object".into()),
    };
    Ok(PolicyDocument {
        statements,
        encoded,
    })
}

fn strings(value: &Value, element: &str) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(String::from)
                    .ok_or_else(|| format!("{element} holds a non-string"))
            })
            .collect(),
        _ => Err(format!("{element} is neither a string nor a list")),
    }
}

/// Whichever of `Name` / `NotName` the statement has (both is an error).
fn pair(statement: &Value, name: &str, index: usize) -> Result<Option<Patterns>, String> {
    let not_name = format!("Not{name}");
    match (statement.get(name), statement.get(&not_name)) {
        (Some(_), Some(_)) => Err(format!(
            "statement #{} has both {name} and {not_name}",
            index + 1
        )),
        (Some(v), None) => Ok(Some(Patterns {
            patterns: strings(v, name)?,
            negated: false,
        })),
        (None, Some(v)) => Ok(Some(Patterns {
            patterns: strings(v, &not_name)?,
            negated: true,
        })),
        (None, None) => Ok(None),
    }
}

fn parse_statement(value: &Value, index: usize, pointer: String) -> Result<Statement, String> {
    if !value.is_object() {
        return Err(format!("statement #{} is not an object", index + 1));
    }
    let effect = match value.get("Effect").and_then(Value::as_str) {
        Some(e) if e.eq_ignore_ascii_case("allow") => Effect::Allow,
        Some(e) if e.eq_ignore_ascii_case("deny") => Effect::Deny,
        _ => {
            return Err(format!(
                "statement #{} has no Effect Allow or Deny",
                index + 1
            ));
        }
    };
    let actions = pair(value, "Action", index)?
        .ok_or_else(|| format!("statement #{} has no Action or NotAction", index + 1))?;
    let resources = pair(value, "Resource", index)?;
    let principal = match (value.get("Principal"), value.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "statement #{} has both Principal and NotPrincipal",
                index + 1
            ));
        }
        (Some(p), None) => Some(parse_principal(p, false)?),
        (None, Some(p)) => Some(parse_principal(p, true)?),
        (None, None) => None,
    };
    let condition = match value.get("Condition") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) if map.is_empty() => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => {
            return Err(format!(
                "statement #{} has a Condition that is not an object",
                index + 1
            ));
        }
    };
    Ok(Statement {
        index,
        pointer,
        sid: value.get("Sid").and_then(Value::as_str).map(String::from),
        effect,
        actions,
        resources,
        principal,
        condition,
    })
}

fn parse_principal(value: &Value, negated: bool) -> Result<Principal, String> {
    let mut principal = Principal {
        negated,
        ..Principal::default()
    };
    match value {
        Value::String(s) if s == "*" => principal.anyone = true,
        Value::Object(map) => {
            for (key, v) in map {
                let list = strings(v, "Principal")?;
                match key.as_str() {
                    "AWS" => {
                        if list.iter().any(|p| p == "*") {
                            principal.anyone = true;
                        }
                        principal.aws.extend(list);
                    }
                    "Federated" => principal.federated.extend(list),
                    "Service" => principal.service.extend(list),
                    // CanonicalUser and others never name what this provider follows.
                    _ => {}
                }
            }
        }
        _ => return Err("Principal is neither \"*\" nor an object".into()),
    }
    Ok(principal)
}

/// The outcome of evaluating a statement's conditions against what is
/// known of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    /// Depends on request facts the snapshot does not show.
    Unknown,
}

impl Truth {
    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
            _ => Truth::True,
        }
    }

    /// Possibly true: `True` or `Unknown`.
    pub fn possible(self) -> bool {
        self != Truth::False
    }
}

/// The condition keys known of a request; keys are compared ignoring case.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    known: BTreeMap<String, Vec<String>>,
    /// Keys whose conditions are taken as satisfied (the subject when
    /// asking "what does this statement allow apart from the subject").
    ignored: Vec<String>,
}

impl RequestContext {
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.known
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push(value.to_string());
        self
    }

    pub fn ignoring(mut self, key: &str) -> Self {
        self.ignored.push(key.to_ascii_lowercase());
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equals,
    EqualsIgnoreCase,
    Like,
}

/// Evaluate a `Condition` block; keys the context does not know make the
/// result `Unknown` (listed in the second value as `Operator key`).
pub fn evaluate(condition: &Map<String, Value>, context: &RequestContext) -> (Truth, Vec<String>) {
    let mut truth = Truth::True;
    let mut unknown = Vec::new();
    for (operator, entries) in condition {
        let Value::Object(entries) = entries else {
            truth = truth.and(Truth::Unknown);
            unknown.push(operator.clone());
            continue;
        };
        for (key, values) in entries {
            let result = evaluate_one(operator, key, values, context);
            if result == Truth::Unknown {
                unknown.push(format!("{operator} {key}"));
            }
            truth = truth.and(result);
        }
    }
    (truth, unknown)
}

fn evaluate_one(operator: &str, key: &str, values: &Value, context: &RequestContext) -> Truth {
    let lower_key = key.to_ascii_lowercase();
    if context.ignored.contains(&lower_key) {
        return Truth::True;
    }
    let Some(present) = context.known.get(&lower_key) else {
        return Truth::Unknown;
    };
    let policy_values: Vec<String> = match values {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    };
    let (set, base) = match operator.split_once(':') {
        Some((set, base)) => (Some(set.to_ascii_lowercase()), base),
        None => (None, operator),
    };
    let base = base.strip_suffix("IfExists").unwrap_or(base);
    if base.eq_ignore_ascii_case("Null") {
        // The key is present: `"Null": "true"` asks for its absence.
        return match policy_values.first().map(String::as_str) {
            Some("true") => Truth::False,
            Some("false") => Truth::True,
            _ => Truth::Unknown,
        };
    }
    let (op, negated) = match base.to_ascii_lowercase().as_str() {
        "stringequals" | "arnequals" => (Operator::Equals, false),
        "stringnotequals" | "arnnotequals" => (Operator::Equals, true),
        "stringequalsignorecase" => (Operator::EqualsIgnoreCase, false),
        "stringnotequalsignorecase" => (Operator::EqualsIgnoreCase, true),
        "stringlike" | "arnlike" => (Operator::Like, false),
        "stringnotlike" | "arnnotlike" => (Operator::Like, true),
        _ => return Truth::Unknown,
    };
    // ArnEquals takes wildcards like ArnLike.
    let op = if base.to_ascii_lowercase().starts_with("arn") {
        Operator::Like
    } else {
        op
    };
    let hit = |value: &String| {
        policy_values.iter().any(|p| match op {
            Operator::Equals => p == value,
            Operator::EqualsIgnoreCase => p.eq_ignore_ascii_case(value),
            Operator::Like => glob::matches(p, value),
        })
    };
    let satisfied = |value: &String| hit(value) != negated;
    let result = match set.as_deref() {
        Some("forallvalues") => present.iter().all(satisfied),
        // Single-valued keys and ForAnyValue: some value satisfies it.
        _ => present.iter().any(satisfied),
    };
    if result { Truth::True } else { Truth::False }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A condition entry: (operator as written, key, values as strings).
pub fn entries(condition: &Map<String, Value>) -> Vec<(&str, &str, Vec<String>)> {
    let mut out = Vec::new();
    for (operator, keys) in condition {
        if let Value::Object(keys) = keys {
            for (key, values) in keys {
                let values = match values {
                    Value::Array(items) => items.iter().map(scalar).collect(),
                    other => vec![scalar(other)],
                };
                out.push((operator.as_str(), key.as_str(), values));
            }
        }
    }
    out
}

/// Whether an operator (as written) positively matches values: the
/// `StringEquals`/`StringLike` family with or without set prefix and
/// `IfExists`, and whether it takes wildcards.
pub fn positive_string_operator(operator: &str) -> Option<bool> {
    let base = operator.rsplit(':').next().unwrap_or(operator);
    let base = base.strip_suffix("IfExists").unwrap_or(base);
    match base.to_ascii_lowercase().as_str() {
        "stringequals" | "stringequalsignorecase" => Some(false),
        "stringlike" => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_may_be_objects_json_text_or_url_encoded() {
        let object = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}});
        let doc = parse_document(&object).unwrap();
        assert_eq!(doc.statements.len(), 1);
        assert_eq!(doc.statements[0].pointer, "/Statement");
        assert!(!doc.encoded);

        let text = json!(object.to_string());
        assert_eq!(parse_document(&text).unwrap().statements, doc.statements);

        let encoded = json!(
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22NotAction%22%3A%5B%22iam%3A%2A%22%5D%2C%22NotResource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%7D%5D%7D"
        );
        let doc = parse_document(&encoded).unwrap();
        assert!(doc.encoded);
        let statement = &doc.statements[0];
        assert_eq!(statement.effect, Effect::Deny);
        assert_eq!(
            statement.actions,
            Patterns {
                patterns: vec!["iam:*".into()],
                negated: true
            }
        );
        assert_eq!(
            statement.resources,
            Some(Patterns {
                patterns: vec!["arn:aws:s3:::b/*".into()],
                negated: true
            })
        );
        assert_eq!(statement.label(), "statement #1");

        for bad in [
            json!(42),
            json!("%ZZ"),
            json!("[1]"),
            json!({"Statement": [{"Effect": "Maybe", "Action": "*"}]}),
        ] {
            assert!(parse_document(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn principals_read_every_shape() {
        let doc = parse_document(&json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
            {"Sid": "Pods", "Effect": "Allow", "Principal": {"Service": ["pods.eks.amazonaws.com"], "AWS": "arn:aws:iam::1:root"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
        ]}))
        .unwrap();
        assert!(doc.statements[0].principal.as_ref().unwrap().anyone);
        let p = doc.statements[1].principal.as_ref().unwrap();
        assert_eq!(p.service, ["pods.eks.amazonaws.com"]);
        assert_eq!(p.aws, ["arn:aws:iam::1:root"]);
        assert_eq!(doc.statements[1].label(), "statement \"Pods\"");
    }

    fn eval(condition: serde_json::Value, context: &RequestContext) -> Truth {
        evaluate(condition.as_object().unwrap(), context).0
    }

    #[test]
    fn conditions_evaluate_with_iam_semantics() {
        let sub = "oidc.example/id/X:sub";
        let ctx = RequestContext::default()
            .with(sub, "system:serviceaccount:analytics:report-agent")
            .with("oidc.example/id/X:aud", "sts.amazonaws.com");
        let t = |c| eval(c, &ctx);
        assert_eq!(
            t(json!({"StringEquals": {sub: "system:serviceaccount:analytics:report-agent"}})),
            Truth::True
        );
        assert_eq!(
            t(
                json!({"StringEquals": {"OIDC.EXAMPLE/id/x:SUB": "system:serviceaccount:analytics:report-agent"}})
            ),
            Truth::True
        );
        assert_eq!(
            t(json!({"StringEquals": {sub: "system:serviceaccount:analytics:other"}})),
            Truth::False
        );
        assert_eq!(
            t(
                json!({"StringEquals": {sub: ["a", "system:serviceaccount:analytics:report-agent"]}})
            ),
            Truth::True
        );
        assert_eq!(
            t(json!({"StringLike": {sub: "system:serviceaccount:analytics:*"}})),
            Truth::True
        );
        assert_eq!(
            t(json!({"StringLike": {sub: "system:serviceaccount:support:*"}})),
            Truth::False
        );
        assert_eq!(
            t(json!({"ForAnyValue:StringLike": {sub: "system:serviceaccount:*:report-?gent"}})),
            Truth::True
        );
        assert_eq!(
            t(json!({"ForAllValues:StringEquals": {sub: "x"}})),
            Truth::False
        );
        assert_eq!(
            t(json!({"StringNotEquals": {sub: "system:serviceaccount:analytics:report-agent"}})),
            Truth::False
        );
        assert_eq!(
            t(json!({"StringNotLike": {sub: "system:serviceaccount:kube-system:*"}})),
            Truth::True
        );
        assert_eq!(
            t(
                json!({"StringEqualsIgnoreCase": {sub: "SYSTEM:serviceaccount:analytics:report-agent"}})
            ),
            Truth::True
        );
        assert_eq!(
            t(
                json!({"StringEqualsIfExists": {sub: "system:serviceaccount:analytics:report-agent"}})
            ),
            Truth::True
        );
        assert_eq!(t(json!({"Null": {sub: "true"}})), Truth::False);
        assert_eq!(
            t(
                json!({"StringEquals": {sub: "system:serviceaccount:analytics:report-agent", "oidc.example/id/X:aud": "sts.amazonaws.com"}})
            ),
            Truth::True
        );
        // Unknown keys and operators make the outcome unknown, unless another entry is false.
        let (truth, unknown) = evaluate(
            json!({"StringEquals": {sub: "system:serviceaccount:analytics:report-agent"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}).as_object().unwrap(),
            &ctx,
        );
        assert_eq!(
            (truth, unknown),
            (Truth::Unknown, vec!["IpAddress aws:SourceIp".to_string()])
        );
        assert_eq!(
            t(json!({"StringEquals": {sub: "nope", "aws:PrincipalTag/team": "x"}})),
            Truth::False
        );
        let ignoring = RequestContext::default().ignoring(sub);
        assert_eq!(
            eval(json!({"StringEquals": {sub: "anything"}}), &ignoring),
            Truth::True
        );
    }
}
