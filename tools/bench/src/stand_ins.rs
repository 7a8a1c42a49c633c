//! The local stand-ins the benchmark measures against: moto (DynamoDB, SNS) and the emulator.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use bedrock_emulator::Running;

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// `moto_server -p 0`, reading the port it chose from its start-up line.
    pub fn start() -> std::io::Result<Moto> {
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                l.split("Running on http://127.0.0.1:")
                    .nth(1)
                    .map(|p| p.trim().to_owned())
            })
            .ok_or_else(|| std::io::Error::other("moto_server did not start"))?;
        // Keep draining its request log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }
}

pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("bench", "bench", None, None, "static"),
        ))
        .endpoint_url(endpoint)
        .build()
}

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
