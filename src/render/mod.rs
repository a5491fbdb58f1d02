//! Rendering: the embedded templates, the manifest set they produce for an
//! environment, and the schema and policy checks every set passes before it
//! is printed or applied.

pub mod diff;
pub mod engine;
pub mod labels;
pub mod manifest;
pub mod policy;
pub mod schema;
pub mod selector;
pub mod yaml;

/// Quantities live below render (environment, cluster and checks use them
/// too); this keeps `render::quantity` working for the schema checks.
pub use crate::quantity;
pub use manifest::{Manifest, Phase};
