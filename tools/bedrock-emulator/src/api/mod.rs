//! The emulated AWS operations.

pub mod bedrock;
pub mod bedrock_agent;
pub mod bedrock_runtime;
pub mod data_automation;
pub mod evaluation;
pub mod input;
pub mod render;
pub mod resources;
pub mod tagging;
