//! The emulated AWS operations.

pub mod bedrock;
pub mod bedrock_runtime;
pub mod evaluation;
pub mod input;
pub mod render;
