//! Evaluation of rules over the repository model: values and entities, the model as rules
//! see it, and the engine that produces findings.

pub mod builtins;
pub mod engine;
pub mod scope;
pub mod suppression;
pub mod value;
pub mod world;
