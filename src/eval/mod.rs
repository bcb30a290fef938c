//! Evaluation of rules over the repository model: values and entities, the model as rules
//! see it, the engine that produces findings, and the indexes it joins with.

pub mod builtins;
pub mod compile;
pub mod engine;
pub mod join;
pub mod members;
pub mod native;
pub mod scope;
pub mod suppression;
pub mod value;
pub mod world;
