//! One emulator serves many accounts and regions: the region from the SigV4 credential scope,
//! the account from the access key id; STS `AssumeRole` hands out keys of the role's account;
//! faults can hit one region. Driven through the real SDK clients (bedrock, bedrock-runtime,
//! sts), the AWS CLI and the control API.

use aws_config::Region;
use aws_sdk_bedrock::operation::get_model_invocation_job::GetModelInvocationJobError;
use aws_sdk_bedrock::operation::list_model_invocation_jobs::ListModelInvocationJobsError;
use serde_json::{json, Value};
use testkit::{Emulator, RegionFault, DEFAULT_ACCOUNT};

const MEMBER: &str = "222222222222";
const ROLE: &str = "arn:aws:iam::222222222222:role/bedrock-jobwatch-reader";

async fn listed(emulator: &Emulator) -> Vec<String> {
    emulator
        .bedrock
        .list_model_invocation_jobs()
        .send()
        .await
        .expect("ListModelInvocationJobs")
        .invocation_job_summaries()
        .iter()
        .map(|j| j.job_arn().to_owned())
        .collect()
}

/// The four scopes of two accounts in two regions, each with one batch job.
async fn four_scopes(emulator: &Emulator) -> Vec<(Emulator, String)> {
    let mut scopes = Vec::new();
    for account in [DEFAULT_ACCOUNT, MEMBER] {
        for region in ["us-east-1", "eu-west-1"] {
            let handle = emulator.in_scope(account, region);
            let arn = handle.create_batch(&format!("job-{region}")).await;
            scopes.push((handle, arn));
        }
    }
    scopes
}

#[tokio::test]
async fn each_account_and_region_lists_only_its_own_jobs() {
    let emulator = Emulator::start().await;
    let scopes = four_scopes(&emulator).await;
    for (handle, arn) in &scopes {
        let scope = handle.scope.clone().unwrap();
        assert_eq!(listed(handle).await, vec![arn.clone()]);
        assert!(
            arn.starts_with(&format!(
                "arn:aws:bedrock:{}:{}:model-invocation-job/",
                scope.region, scope.account
            )),
            "{arn}"
        );
    }
    // The default handle signs with `testing` in us-east-1: the default account's scope.
    assert_eq!(listed(&emulator).await, vec![scopes[0].1.clone()]);
    let ground_truth = emulator.control_get("jobs").await;
    assert_eq!(ground_truth["jobs"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_job_of_another_scope_is_not_found() {
    let emulator = Emulator::start().await;
    let scopes = four_scopes(&emulator).await;
    let (member_west, _) = &scopes[3];
    for (_, other) in &scopes[..3] {
        let err = member_west.get_batch(other).await.unwrap_err();
        assert!(matches!(
            err.into_service_error(),
            GetModelInvocationJobError::ResourceNotFoundException(_)
        ));
    }
    let own = member_west.get_batch(&scopes[3].1).await.expect("own job");
    assert_eq!(own.job_arn(), scopes[3].1);
}

#[tokio::test]
async fn other_families_are_scoped_too() {
    let emulator = Emulator::start().await;
    let west = emulator.in_scope(MEMBER, "us-west-2");
    let invocation = west.start_async_invoke("video").await;
    assert!(invocation.starts_with("arn:aws:bedrock:us-west-2:222222222222:async-invoke/"));
    let evaluation = west.create_evaluation("scoped-eval", false).await;
    assert!(evaluation.starts_with("arn:aws:bedrock:us-west-2:222222222222:evaluation-job/"));
    let bda = west.invoke_data_automation("invoice.pdf", None).await;
    assert!(bda.starts_with("arn:aws:bedrock:us-west-2:222222222222:data-automation-invocation/"));
    let default_list = emulator.runtime.list_async_invokes().send().await.unwrap();
    assert!(default_list.async_invoke_summaries().is_empty());
    let kb = west.create_knowledge_base("scoped-kb").await;
    let kb_elsewhere = emulator
        .agent
        .get_knowledge_base()
        .knowledge_base_id(&kb)
        .send()
        .await;
    assert!(kb_elsewhere.is_err(), "a knowledge base lives in one scope");
}

#[tokio::test]
async fn seeding_and_control_take_account_and_region() {
    let emulator = Emulator::start().await;
    emulator
        .control(
            "seed",
            json!({"kind": "batch-inference", "count": 3, "account": MEMBER, "region": "ap-northeast-1"}),
        )
        .await;
    let tokyo = emulator.in_scope(MEMBER, "ap-northeast-1");
    let arns = listed(&tokyo).await;
    assert_eq!(arns.len(), 3);
    assert!(listed(&emulator).await.is_empty());
    assert_eq!(tokyo.job_arns().await.len(), 3);
    // A pasted ARN finds its scope; the event carries the job's account and region.
    emulator.set_status(&arns[0], "Failed").await;
    let job = tokyo.get_batch(&arns[0]).await.unwrap();
    assert_eq!(job.status().unwrap().as_str(), "Failed");
    let event = emulator.event_of(&arns[0]).await;
    assert_eq!(event["account"], MEMBER);
    assert_eq!(event["region"], "ap-northeast-1");
    assert_eq!(event["detail"]["accountId"], MEMBER);
}

fn sts_client(emulator: &Emulator) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&emulator.sdk_config_for(DEFAULT_ACCOUNT, "us-east-1"))
}

#[tokio::test]
async fn assumed_role_credentials_act_in_the_roles_account() {
    let emulator = Emulator::start().await;
    let member_job = emulator
        .in_scope(MEMBER, "eu-west-1")
        .create_batch("member")
        .await;
    let out = sts_client(&emulator)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("jobwatch-run-1")
        .send()
        .await
        .expect("AssumeRole");
    let credentials = out.credentials().expect("credentials");
    assert!(credentials.access_key_id().ends_with(MEMBER));
    assert_eq!(credentials.access_key_id().len(), 20);
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::222222222222:assumed-role/bedrock-jobwatch-reader/jobwatch-run-1"
    );
    let assumed = aws_sdk_bedrock::config::Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        None,
        "assumed",
    );
    let config = aws_sdk_bedrock::config::Builder::from(&emulator.base)
        .endpoint_url(emulator.endpoint())
        .region(Region::new("eu-west-1"))
        .credentials_provider(assumed)
        .build();
    let jobs = aws_sdk_bedrock::Client::from_conf(config)
        .list_model_invocation_jobs()
        .send()
        .await
        .unwrap();
    assert_eq!(jobs.invocation_job_summaries()[0].job_arn(), member_job);
    assert_eq!(emulator.assume_role_calls().await, 1);
}

#[tokio::test]
async fn a_refused_role_is_access_denied_naming_the_role() {
    let emulator = Emulator::start().await;
    emulator.refuse_assume_role(ROLE).await;
    let err = sts_client(&emulator)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("jobwatch")
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&err),
        Some("AccessDenied")
    );
    let message = aws_sdk_sts::error::ProvideErrorMetadata::message(&err).unwrap();
    assert_eq!(
        message,
        format!("User: arn:aws:iam::{DEFAULT_ACCOUNT}:user/emulator is not authorized to perform: sts:AssumeRole on resource: {ROLE}")
    );
    assert_eq!(emulator.assume_role_calls().await, 1);
}

#[tokio::test]
async fn a_role_requiring_an_external_id_refuses_calls_without_it() {
    let emulator = Emulator::start().await;
    emulator.require_external_id(ROLE, "org-secret-1").await;
    let sts = sts_client(&emulator);
    for wrong in [None, Some("guess")] {
        let err = sts
            .assume_role()
            .role_arn(ROLE)
            .role_session_name("jobwatch")
            .set_external_id(wrong.map(str::to_owned))
            .send()
            .await
            .unwrap_err();
        assert!(format!("{:?}", err.into_service_error()).contains("AccessDenied"));
    }
    sts.assume_role()
        .role_arn(ROLE)
        .role_session_name("jobwatch")
        .external_id("org-secret-1")
        .send()
        .await
        .expect("the right external id is let in");
}

/// The error a batch List in `scope` ends with.
async fn list_fails(
    scope: &Emulator,
) -> aws_sdk_bedrock::error::SdkError<
    ListModelInvocationJobsError,
    aws_sdk_bedrock::config::http::HttpResponse,
> {
    let listing = scope.bedrock.list_model_invocation_jobs().send().await;
    listing.expect_err("the region is failing")
}

#[tokio::test]
async fn a_failing_region_fails_alone_until_healed() {
    let emulator = Emulator::start().await;
    let east = emulator.in_scope(MEMBER, "us-east-1");
    let west = emulator.in_scope(MEMBER, "eu-west-1");
    emulator
        .fail_region("eu-west-1", RegionFault::Throttling)
        .await;
    let err = list_fails(&west).await;
    assert!(matches!(
        err.into_service_error(),
        ListModelInvocationJobsError::ThrottlingException(_)
    ));
    assert!(listed(&east).await.is_empty(), "the other region answers");
    sts_client(&west)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("still-works")
        .send()
        .await
        .expect("STS is not a Bedrock operation: a region fault leaves it alone");
    emulator.heal_region("eu-west-1").await;
    assert!(listed(&west).await.is_empty());
    emulator
        .fail_region("eu-west-1", RegionFault::Unavailable)
        .await;
    let err = list_fails(&west).await;
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(503));
    assert!(emulator.requests_in(MEMBER, "eu-west-1").await >= 3);
}

/// `aws <args> --endpoint-url ...` signing with `key` in `region`: the parsed JSON output.
async fn aws(emulator: &Emulator, key: &str, region: &str, args: &[&str]) -> Result<Value, String> {
    let out = tokio::process::Command::new("aws")
        .args(args)
        .args(["--endpoint-url", &emulator.endpoint(), "--output", "json"])
        .args(["--region", region])
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .output()
        .await
        .expect("the AWS CLI is installed (pip install awscli)");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_addresses_a_scope_by_region_and_credentials() {
    let emulator = Emulator::start().await;
    let member_west = emulator
        .in_scope(MEMBER, "eu-west-1")
        .create_batch("cli")
        .await;
    let list = ["bedrock", "list-model-invocation-jobs"];
    let member_key = testkit::access_key_for(MEMBER);
    let found = aws(&emulator, &member_key, "eu-west-1", &list)
        .await
        .unwrap();
    assert_eq!(
        found["invocationJobSummaries"][0]["jobArn"],
        member_west.as_str()
    );
    let default_west = aws(&emulator, "testing", "eu-west-1", &list).await.unwrap();
    assert_eq!(default_west["invocationJobSummaries"], json!([]));
    let member_east = aws(&emulator, &member_key, "us-east-1", &list)
        .await
        .unwrap();
    assert_eq!(member_east["invocationJobSummaries"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_assumes_a_role_and_sees_its_refusal() {
    let emulator = Emulator::start().await;
    let assume = [
        "sts",
        "assume-role",
        "--role-arn",
        ROLE,
        "--role-session-name",
        "cli-session",
        "--duration-seconds",
        "900",
    ];
    let out = aws(&emulator, "testing", "us-east-1", &assume)
        .await
        .unwrap();
    let key = out["Credentials"]["AccessKeyId"].as_str().unwrap();
    assert!(key.ends_with(MEMBER), "{out}");
    assert!(out["Credentials"]["Expiration"].is_string());
    assert_eq!(
        out["AssumedRoleUser"]["Arn"],
        "arn:aws:sts::222222222222:assumed-role/bedrock-jobwatch-reader/cli-session"
    );
    let who = aws(&emulator, key, "us-east-1", &["sts", "get-caller-identity"])
        .await
        .unwrap();
    assert_eq!(who["Account"], MEMBER);
    emulator.refuse_assume_role(ROLE).await;
    let err = aws(&emulator, "testing", "us-east-1", &assume)
        .await
        .unwrap_err();
    assert!(err.contains("AccessDenied"), "{err}");
    assert!(
        err.contains(&format!("sts:AssumeRole on resource: {ROLE}")),
        "{err}"
    );
}
