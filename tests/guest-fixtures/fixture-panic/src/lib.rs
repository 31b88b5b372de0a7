//! Panics on a candidate named `boom`, and works on any other: the host must
//! report the panic's message and location, then run the next batch on a
//! fresh instance.

use scopegraph_sdk::{Candidate, Category, Classifier, PluginError, Verdict};

#[derive(Debug)]
pub struct Fragile;

impl Classifier for Fragile {
    fn classify(batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError> {
        let mut verdicts = Vec::new();
        for candidate in batch {
            if candidate.id == "boom" {
                #[allow(clippy::panic)]
                {
                    panic!("rule exploded on candidate {}", candidate.id);
                }
            }
            verdicts.push(Verdict {
                candidate: candidate.id,
                category: Some(Category::UnusedExcess),
                rationale: "fragile rule".into(),
                ..Verdict::default()
            });
        }
        Ok(verdicts)
    }
}

scopegraph_sdk::export_classifier!(Fragile);
