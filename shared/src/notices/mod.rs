//! What notices say, pure: the v1 JSON document and its message attributes ([`Notice`]), the
//! email text, subjects, chat custom notifications, bus events, digests and alert notices, built
//! from the domain's records. No SDK types here; the sinks (`adapters`) only carry them.

mod alert_notice;
pub mod bus_event;
pub mod chat;
mod digest;
mod email;
mod locations;
mod marks;
mod notice;
mod presentation;
mod stage_note;
pub mod subject;

pub use bus_event::{detail_within, BusEvent};
pub use chat::chat_message;
pub use digest::{AlertDigest, AttributeValue, Digest, PeopleMessage, MAX_DIGEST_LINES};
pub use marks::{test_job_arn, test_record};
pub use notice::Notice;
pub use presentation::{tag_attribute, EmailDetail, Presentation, Tags};
pub use stage_note::{progress_cell, progress_note};
