//! Returns a verdict for a candidate that was never in the batch.

use scopegraph_sdk::{Candidate, Category, Classifier, PluginError, Verdict};

#[derive(Debug)]
pub struct Liar;

impl Classifier for Liar {
    fn classify(_batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError> {
        Ok(vec![Verdict {
            candidate: "not-in-the-batch".into(),
            category: Some(Category::InheritedOverreach),
            ..Verdict::default()
        }])
    }
}

scopegraph_sdk::export_classifier!(Liar);
