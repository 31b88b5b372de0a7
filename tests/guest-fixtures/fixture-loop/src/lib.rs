//! Never returns: the host must stop it with its fuel budget or deadline.

use scopegraph_sdk::{Candidate, Classifier, PluginError, Verdict};

#[derive(Debug)]
pub struct Spin;

impl Classifier for Spin {
    fn classify(_batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError> {
        let mut counter = 0u64;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }
}

scopegraph_sdk::export_classifier!(Spin);
