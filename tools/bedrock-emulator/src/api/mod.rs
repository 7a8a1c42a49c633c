//! The emulated AWS operations.

pub mod bedrock;
pub mod input;
pub mod render;
pub mod runtime;
