//! Resource tags: given at create time in each operation's tag member, read and changed with
//! `ListTagsForResource`, `TagResource` and `UntagResource` through the SDK and the AWS CLI.

use std::process::Command;

use aws_sdk_bedrock::types::{ModelDataSource, S3DataSource, Tag};
use testkit::Emulator;

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn tags_of(emulator: &Emulator, arn: &str) -> Vec<(String, String)> {
    let out = emulator
        .bedrock
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("list tags");
    out.tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn tags_given_at_create_time_are_listed_for_every_family() {
    // given a job of each family created with tags in the member botocore names for it
    let emulator = Emulator::start().await;
    let batch = emulator
        .create_batch_with_tags("tagged", &[("team", "search"), ("owner", "ana")])
        .await;
    let invocation = emulator
        .start_async_invoke_with_tags("clips/", &[("team", "video")])
        .await;
    let import = emulator
        .bedrock
        .create_model_import_job()
        .job_name("tagged-import")
        .imported_model_name("tagged-model")
        .role_arn("arn:aws:iam::123456789012:role/ImportRole")
        .model_data_source(ModelDataSource::S3DataSource(
            S3DataSource::builder()
                .s3_uri("s3://model-bucket/weights/")
                .build()
                .unwrap(),
        ))
        .job_tags(tag("team", "research"))
        .send()
        .await
        .unwrap()
        .job_arn;

    // when / then
    assert_eq!(
        tags_of(&emulator, &batch).await,
        pairs(&[("owner", "ana"), ("team", "search")])
    );
    assert_eq!(
        tags_of(&emulator, &invocation).await,
        pairs(&[("team", "video")])
    );
    assert_eq!(
        tags_of(&emulator, &import).await,
        pairs(&[("team", "research")])
    );
    let untagged = emulator.create_customization("plain").await;
    assert!(tags_of(&emulator, &untagged).await.is_empty());
}

#[tokio::test]
async fn tag_and_untag_change_what_is_listed() {
    // given
    let emulator = Emulator::start().await;
    let arn = emulator
        .create_batch_with_tags("retag", &[("team", "ads")])
        .await;

    // when
    emulator
        .bedrock
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("team", "search"))
        .tags(tag("project", "p1"))
        .send()
        .await
        .unwrap();
    emulator
        .bedrock
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("project")
        .send()
        .await
        .unwrap();

    // then the value was replaced and the removed key is gone
    assert_eq!(tags_of(&emulator, &arn).await, pairs(&[("team", "search")]));
}

#[tokio::test]
async fn unknown_resources_and_bad_tags_are_clear_errors() {
    let emulator = Emulator::start().await;
    let missing = emulator
        .bedrock
        .list_tags_for_resource()
        .resource_arn("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef")
        .send()
        .await
        .unwrap_err();
    assert!(missing
        .into_service_error()
        .is_resource_not_found_exception());
    let arn = emulator.create_batch("bad-tags").await;
    let bad = emulator
        .bedrock
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("team", "not*allowed"))
        .send()
        .await
        .unwrap_err();
    assert!(bad.into_service_error().is_validation_exception());
}

// Multi-threaded: the CLI runs as a blocking child process while the emulator serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_lists_and_sets_tags() {
    // given a tagged job
    let emulator = Emulator::start().await;
    let arn = emulator
        .create_batch_with_tags("cli", &[("team", "search")])
        .await;
    let cli = |args: &[&str]| {
        let out = Command::new("aws")
            .args(args)
            .args(["--endpoint-url", &emulator.endpoint(), "--output", "json"])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .expect("aws CLI on PATH (pip install awscli)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };

    // when the CLI tags it and lists the tags
    cli(&[
        "bedrock",
        "tag-resource",
        "--resource-arn",
        &arn,
        "--tags",
        "key=owner,value=ana",
    ]);
    let listed: serde_json::Value = serde_json::from_str(&cli(&[
        "bedrock",
        "list-tags-for-resource",
        "--resource-arn",
        &arn,
    ]))
    .unwrap();

    // then
    assert_eq!(
        listed["tags"],
        serde_json::json!([{"key": "owner", "value": "ana"}, {"key": "team", "value": "search"}])
    );
}
