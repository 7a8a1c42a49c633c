//! What the families' operations share: request parsing and validation (`input`), the generic
//! job operations (`jobs`), rendering helpers (`render`), the resource families' helpers
//! (`resources`), tagging, and the knowledge bases and data sources ingestion jobs run in
//! (`bedrock_agent`). The operations themselves live with their family in `families/`.

pub mod bedrock_agent;
pub mod input;
pub mod jobs;
pub mod render;
pub mod resources;
pub mod tagging;
