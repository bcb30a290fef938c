//! Renderers: turn the model, diagnostics and findings into what users read. Byte spans
//! become lines and columns only here.

pub mod diagnostics;
pub mod dump;
pub mod size;
pub mod text;
