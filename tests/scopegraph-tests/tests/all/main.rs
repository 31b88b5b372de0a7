//! The one integration-test binary: cross-crate and end-to-end tests.

mod cache;
mod sandbox;
mod sdk;
