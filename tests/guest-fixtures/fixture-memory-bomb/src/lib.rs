//! Allocates until something stops it: the host's memory cap must.

use scopegraph_sdk::{Candidate, Classifier, PluginError, Verdict};

#[derive(Debug)]
pub struct Hoard;

impl Classifier for Hoard {
    fn classify(_batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![7u8; 1 << 20]));
        }
    }
}

scopegraph_sdk::export_classifier!(Hoard);
