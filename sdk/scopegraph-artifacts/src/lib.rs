//! Render the files a scopegraph rule writes as reduction artifacts: text in
//! the languages of the systems it reduces, for a user to apply unchanged.
//!
//! - [`text`]: shell words, comment text, JSON string lists, name slugs.
//! - [`aws`]: IAM identity policies and the web-identity trust policy of a
//!   role federated to one Kubernetes ServiceAccount.
//! - [`gcp`]: where an IAM binding sits ([`gcp::Level`]), the `gcloud`
//!   command that edits it, custom role YAML, and a binding's IAM
//!   condition, read back from its evidence and written for
//!   `--condition-from-file`.
//! - [`azure`]: the plane of a role assignment's grant, custom role
//!   definitions and the `az` commands that create and assign them.
//!
//! Invariant: every function is pure and deterministic, and what it returns
//! is valid in its target language for any input: names and values from the
//! snapshot are always quoted or escaped, never pasted raw into JSON, YAML
//! or shell. The crate depends on the SDK alone, so it builds for
//! `wasm32-unknown-unknown` inside a plugin.

pub mod aws;
pub mod azure;
pub mod gcp;
pub mod text;

use scopegraph_sdk::Candidate;

/// The one condition a candidate's evidence of `kind` cites (GCP binding
/// and Azure assignment conditions both ride as evidence), read by `parse`:
/// `Ok(None)` when it cites none, `Err` (saying why, `what` naming the
/// condition and `plural` the kind) when one cannot be read or two differ.
fn cited_condition<C: PartialEq>(
    candidate: &Candidate,
    kind: &str,
    parse: impl Fn(&str) -> Option<C>,
    what: &str,
    plural: &str,
) -> Result<Option<C>, String> {
    let mut found: Option<C> = None;
    for evidence in candidate.evidence.iter().filter(|e| e.kind == kind) {
        let Some(condition) = parse(&evidence.reference) else {
            return Err(format!(
                "{what} cannot be read from its evidence ({})",
                evidence.summary
            ));
        };
        match &found {
            Some(other) if *other != condition => {
                return Err(format!("the grant cites two different {plural}"));
            }
            _ => found = Some(condition),
        }
    }
    Ok(found)
}
