//! The local stand-ins the benchmark measures against: moto (DynamoDB, SNS) and the emulator.

use bedrock_emulator::Running;
pub use jobwatch_tests::{sdk_config, Moto};

/// A fresh emulator plus tables and a topic on moto.
pub struct Stand {
    pub emulator: Running,
    pub moto_endpoint: String,
    pub topic_arn: String,
    dynamodb: aws_sdk_dynamodb::Client,
}

impl Stand {
    pub async fn start(moto: &Moto, tables: &[&str]) -> Result<Stand, Box<dyn std::error::Error>> {
        let emulator = bedrock_emulator::start(bedrock_emulator::Settings::default()).await?;
        let aws = sdk_config(&moto.endpoint);
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        for table in tables {
            jobwatch::adapters::dynamodb::create_table(&dynamodb, table).await?;
        }
        let topic_arn = aws_sdk_sns::Client::new(&aws)
            .create_topic()
            .name("bench")
            .send()
            .await?
            .topic_arn
            .unwrap_or_default();
        Ok(Stand {
            emulator,
            moto_endpoint: moto.endpoint.clone(),
            topic_arn,
            dynamodb,
        })
    }

    /// The environment of a poller process pointed at these stand-ins.
    pub fn env(&self, table: &str) -> Vec<(String, String)> {
        [
            ("JOBS_TABLE", table.to_owned()),
            ("NOTIFY_TOPIC_ARN", self.topic_arn.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "bench".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "bench".to_owned()),
            ("AWS_ENDPOINT_URL", self.moto_endpoint.clone()),
            ("AWS_ENDPOINT_URL_BEDROCK", self.emulator.endpoint()),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", self.emulator.endpoint()),
            ("GET_CONCURRENCY", "16".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    pub async fn teardown(&self, tables: &[&str]) {
        for table in tables {
            let _ = self.dynamodb.delete_table().table_name(*table).send().await;
        }
    }
}
