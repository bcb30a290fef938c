//! Renderers: turn the model and findings into what users read. Byte spans become lines and
//! columns only here.

pub mod dump;
