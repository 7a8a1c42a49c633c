//! Adapters: the ports implemented on the AWS SDKs. SDK types stop here.

pub mod bedrock;
pub mod dynamodb;
pub mod sns;

use chrono::{DateTime, Utc};

/// SDK timestamp to domain timestamp.
pub fn from_smithy(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

/// Domain timestamp to SDK timestamp.
pub fn to_smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos())
}
