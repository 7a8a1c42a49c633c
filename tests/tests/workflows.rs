//! Job-completion workflows end to end: Step Functions executing on moto (the example state
//! machine's wait, from `examples/workflows/wait-for-batch-job.asl.json`), the register queue on
//! moto, the jobs table on moto, batch jobs in the emulator. Lambda's event source mapping is
//! not emulated: the register messages reach the handler as the `SqsEvent` it would send,
//! built from the messages received from moto's queue.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sfn::types::ExecutionStatus;
use chrono::{Duration, Utc};
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::adapters::step_functions::StepFunctions;
use jobwatch::adapters::waits::DynamoWaitStore;
use jobwatch::domain::{JobKind, RunId};
use jobwatch::workflows::register::RegisterSummary;
use jobwatch::workflows::{FixedPlaces, Registrar, Resumed, Resumer, WaitStore, Workflows};
use serde_json::{json, Value};
use testkit::{eventually, unique, Stack};

type LiveRegistrar = Registrar<DynamoWaitStore, DynamoJobStore, StepFunctions>;

/// The stack, a register queue, the example's state machine (starting at its wait) and the
/// register consumer wired as the Lambda wires it.
struct Flows {
    stack: Stack,
    sfn: aws_sdk_sfn::Client,
    queue_url: String,
    queue_arn: String,
    state_machine: String,
    registrar: LiveRegistrar,
}

const EXAMPLE: &str = include_str!("../../examples/workflows/wait-for-batch-job.asl.json");

impl Flows {
    async fn start() -> Flows {
        let stack = Stack::start().await;
        let aws = testkit::sdk_config(&stack.moto.endpoint);
        let sfn = aws_sdk_sfn::Client::new(&aws);
        let (queue_url, queue_arn) = queue(&stack.sqs).await;
        let state_machine = example_from_its_wait(&sfn, &queue_url).await;
        let registrar = registrar(&stack, sfn.clone());
        Flows {
            stack,
            sfn,
            queue_url,
            queue_arn,
            state_machine,
            registrar,
        }
    }

    /// Starts an execution waiting on `arn` (as if CreateJob had created it).
    async fn execute(&self, arn: &str) -> String {
        self.sfn
            .start_execution()
            .state_machine_arn(&self.state_machine)
            .name(unique("run"))
            .input(json!({"job": {"jobArn": arn}}).to_string())
            .send()
            .await
            .expect("start execution")
            .execution_arn
    }

    /// Receives `n` register messages and hands them to the consumer as one SQS event.
    async fn deliver(&self, n: usize) -> (SqsBatchResponse, RegisterSummary) {
        let records = self.receive(n).await;
        let event: SqsEvent =
            serde_json::from_value(json!({"Records": records})).expect("an SqsEvent");
        self.registrar
            .handle(event, Utc::now(), &RunId::new(unique("register")), None)
            .await
    }

    /// `n` register messages as the records of Lambda's SQS event.
    async fn receive(&self, n: usize) -> Vec<Value> {
        let mut records = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while records.len() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{n} register messages within 10 s"
            );
            // Long polling: the call itself waits for a message, no sleep.
            let got = self
                .stack
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            records.extend(
                got.messages
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| self.record(m)),
            );
        }
        records
    }

    /// One record as Lambda's SQS event source mapping shows it.
    fn record(&self, message: aws_sdk_sqs::types::Message) -> Value {
        json!({
            "messageId": message.message_id, "receiptHandle": message.receipt_handle,
            "body": message.body, "md5OfBody": message.md5_of_body, "attributes": {},
            "messageAttributes": {}, "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn, "awsRegion": "us-east-1",
        })
    }

    /// A scheduled poller invocation: the poll, then its family's waits.
    async fn poll(&self) -> Resumed {
        let run = unique("poll");
        self.stack
            .poller()
            .run(Utc::now(), run.as_str())
            .await
            .expect("poll");
        self.registrar
            .resumer
            .resume_family(JobKind::BatchInference, Utc::now(), &RunId::new(run), true)
            .await
    }

    /// The execution's end: status, output, error.
    async fn ended(&self, execution: &str) -> (ExecutionStatus, Option<String>, Option<String>) {
        eventually(|| async {
            let out = self
                .sfn
                .describe_execution()
                .execution_arn(execution)
                .send()
                .await
                .expect("describe");
            (out.status != ExecutionStatus::Running).then_some((out.status, out.output, out.error))
        })
        .await
    }

    async fn running(&self, execution: &str) -> bool {
        let out = self
            .sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .expect("describe");
        out.status == ExecutionStatus::Running
    }
}

async fn queue(sqs: &aws_sdk_sqs::Client) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(unique("register"))
        .send()
        .await
        .expect("queue")
        .queue_url
        .unwrap_or_default();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes");
    let arn = attributes.attributes.unwrap_or_default()
        [&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    (url, arn)
}

/// The example state machine, its queue URL substituted, started at its wait (moto cannot
/// create the job in the emulator through the `aws-sdk:bedrock` integration).
async fn example_from_its_wait(sfn: &aws_sdk_sfn::Client, queue_url: &str) -> String {
    let mut definition: Value =
        serde_json::from_str(&EXAMPLE.replace("${RegisterQueueUrl}", queue_url)).expect("ASL");
    definition["StartAt"] = json!("WaitForJob");
    sfn.create_state_machine()
        .name(unique("wait-for-job"))
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/workflow")
        .send()
        .await
        .expect("moto accepts the example")
        .state_machine_arn
}

fn registrar(stack: &Stack, sfn: aws_sdk_sfn::Client) -> LiveRegistrar {
    let reader = BatchInferenceSource::new(stack.bedrock.clone());
    let places = FixedPlaces::default().with(JobKind::BatchInference, None, "us-east-1", reader);
    Registrar {
        resumer: Resumer {
            waits: DynamoWaitStore::new(stack.dynamodb.clone(), &stack.table),
            store: stack.store(),
            workflows: StepFunctions::new(sfn),
            presentation: Default::default(),
            scopes: None,
            lease: Duration::minutes(5),
        },
        places: Box::new(places),
        settings: stack.settings(),
    }
}

#[tokio::test]
async fn given_a_waiting_execution_when_the_job_completes_then_it_succeeds_with_the_jobs_document()
{
    let flows = Flows::start().await;
    let arn = flows.stack.create_batch("wf-complete").await;
    let execution = flows.execute(&arn).await;
    let (_, registered) = flows.deliver(1).await;
    let open = flows.poll().await;
    assert_eq!(
        (registered.waiting, open.heartbeats),
        (1, 1),
        "{registered:?} {open:?}"
    );
    assert!(flows.running(&execution).await);

    flows.stack.set_status(&arn, "Completed").await;
    let settled = flows.poll().await;

    let (status, output, _) = flows.ended(&execution).await;
    assert_eq!((status, settled.succeeded), (ExecutionStatus::Succeeded, 1));
    let document: Value = serde_json::from_str(&output.expect("output")).expect("JSON");
    let topic = flows.stack.notifications().await;
    assert_eq!(document, topic.last().expect("the topic's notice").body);
    assert_eq!(document["jobArn"], arn.as_str());
    let errors: Vec<String> = testkit::schema()
        .iter_errors(&document)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the output follows schemas/notification-v1.json: {errors:?}"
    );
    assert!(flows.poll().await.is_empty(), "nothing left to resume");
}

#[tokio::test]
async fn given_a_waiting_execution_when_the_job_fails_then_the_catch_branch_is_taken() {
    let flows = Flows::start().await;
    let arn = flows.stack.create_batch("wf-fail").await;
    let execution = flows.execute(&arn).await;
    flows.deliver(1).await;
    flows.stack.set_status(&arn, "Failed").await;
    let settled = flows.poll().await;
    let (status, _, error) = flows.ended(&execution).await;
    assert_eq!(settled.failed, 1);
    // BatchJobFailed is the example's JobFailed state, reached only through its Catch of Bedrock.Failed.
    assert_eq!(
        (status, error.as_deref()),
        (ExecutionStatus::Failed, Some("BatchJobFailed"))
    );
    let history = flows
        .sfn
        .get_execution_history()
        .execution_arn(&execution)
        .send()
        .await
        .expect("history");
    let failed_with = history
        .events
        .iter()
        .find_map(|e| e.task_failed_event_details.as_ref()?.error.clone());
    assert_eq!(failed_with.as_deref(), Some("Bedrock.Failed"));
}

#[tokio::test]
async fn given_a_job_that_already_ended_when_a_wait_registers_then_it_resumes_at_once() {
    let flows = Flows::start().await;
    let arn = flows.stack.create_batch("wf-done-before").await;
    flows.stack.set_status(&arn, "Completed").await;
    let execution = flows.execute(&arn).await;
    let (_, registered) = flows.deliver(1).await;
    let (status, output, _) = flows.ended(&execution).await;
    assert_eq!(
        (registered.answered, status),
        (1, ExecutionStatus::Succeeded)
    );
    let document: Value = serde_json::from_str(&output.expect("output")).expect("JSON");
    assert_eq!(
        (document["jobArn"].as_str(), document["status"].as_str()),
        (Some(arn.as_str()), Some("Completed"))
    );
}

#[tokio::test]
async fn given_an_unknown_open_job_when_a_wait_registers_then_it_is_recorded_open_for_the_pollers()
{
    let flows = Flows::start().await;
    let arn = flows.stack.create_batch("wf-unknown").await;
    flows.execute(&arn).await;
    flows.deliver(1).await;
    let record = flows
        .stack
        .record(&arn)
        .await
        .expect("recorded by the register");
    assert!(record.is_open() && record.watch.is_some(), "{record:?}");
    let waits = flows
        .registrar
        .resumer
        .waits
        .waits_on(JobKind::BatchInference, &record.pk)
        .await
        .expect("waits");
    assert_eq!(waits.len(), 1);
}

#[tokio::test]
async fn given_two_executions_on_one_job_then_both_resume_once() {
    let flows = Flows::start().await;
    let arn = flows.stack.create_batch("wf-two").await;
    let (first, second) = (flows.execute(&arn).await, flows.execute(&arn).await);
    let (_, registered) = flows.deliver(2).await;
    flows.stack.set_status(&arn, "Completed").await;
    let settled = flows.poll().await;
    let again = flows.poll().await;
    assert_eq!(
        (registered.waiting, settled.succeeded, settled.dropped),
        (2, 2, 0)
    );
    assert!(again.is_empty(), "{again:?}");
    for execution in [first, second] {
        assert_eq!(flows.ended(&execution).await.0, ExecutionStatus::Succeeded);
    }
}

#[tokio::test]
async fn given_a_token_step_functions_no_longer_accepts_then_the_wait_is_dropped_without_retries() {
    // Moto has no task timers: a token it never issued answers as an expired one would
    // (InvalidToken; TaskTimedOut is handled alike).
    let flows = Flows::start().await;
    let arn = flows.stack.create_batch("wf-expired").await;
    let body = json!({"jobArn": arn, "taskToken": "expired-token"}).to_string();
    flows
        .stack
        .sqs
        .send_message()
        .queue_url(&flows.queue_url)
        .message_body(body)
        .send()
        .await
        .expect("send");
    let (_, registered) = flows.deliver(1).await;
    let first = flows.poll().await;
    let calls = flows.registrar.resumer.workflows.calls();
    let second = flows.poll().await;
    assert_eq!(
        (registered.waiting, first.dropped, first.heartbeats),
        (1, 1, 0)
    );
    assert!(second.is_empty());
    assert_eq!(
        flows.registrar.resumer.workflows.calls(),
        calls,
        "no call after the drop"
    );
}

#[tokio::test]
async fn given_a_malformed_register_message_then_its_task_fails_with_invalid_request_and_it_is_not_redelivered(
) {
    let flows = Flows::start().await;
    let execution = flows.execute("not-an-arn").await;
    let tokenless =
        json!({"jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/x"});
    flows
        .stack
        .sqs
        .send_message()
        .queue_url(&flows.queue_url)
        .message_body(tokenless.to_string())
        .send()
        .await
        .expect("send");
    let (response, registered) = flows.deliver(2).await;
    eprintln!("{registered:?} {response:?}");
    let history = flows
        .sfn
        .get_execution_history()
        .execution_arn(&execution)
        .send()
        .await
        .expect("history");
    for e in history.events {
        eprintln!(
            "EV {:?} {:?}",
            e.r#type,
            e.task_failed_event_details.map(|d| (d.error, d.cause))
        );
    }
    let (status, _, error) = flows.ended(&execution).await;
    assert_eq!(
        (status, error.as_deref()),
        (ExecutionStatus::Failed, Some("JobWatch.InvalidRequest"))
    );
    assert_eq!(registered.refused, 2);
    assert!(
        response.batch_item_failures.is_empty(),
        "processed, not sent back: {response:?}"
    );
}

/// The emulator's Bedrock state-change event for the job's current state.
async fn event_for(stack: &Stack, arn: &str) -> Value {
    let id = arn.rsplit('/').next().expect("an id");
    let url = format!("{}/_emulator/jobs/{id}/event", stack.emulator.endpoint());
    let response = stack.http.get(url).send().await.expect("event");
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn given_a_waiting_execution_when_bedrocks_event_arrives_first_then_the_event_invocation_resumes_it(
) {
    use jobwatch::handler::{handle, Output};
    use jobwatch::workflows::startup::{after_invocation, Invocation};
    use lambda_runtime::{Context, LambdaEvent};

    let flows = Flows::start().await;
    let arn = flows.stack.create_batch("wf-event").await;
    let execution = flows.execute(&arn).await;
    flows.deliver(1).await;
    flows.stack.set_status(&arn, "Completed").await;
    // When the poller is invoked with Bedrock's event (no scheduled poll in between)
    let metrics = jobwatch::metrics::MetricsSink::capture("Test/Workflows");
    let event = LambdaEvent::new(event_for(&flows.stack, &arn).await, Context::default());
    let output = handle(&flows.stack.poller(), &metrics, event).await;
    assert!(matches!(output, Ok(Output::Event(_))), "{output:?}");
    let run_id = RunId::new(unique("event"));
    after_invocation(
        Some(&flows.registrar.resumer),
        JobKind::BatchInference,
        Invocation {
            run_id: &run_id,
            own_account: None,
        },
        &output,
        &metrics,
    )
    .await;
    // Then the execution is resumed by that invocation
    let (status, output, _) = flows.ended(&execution).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    let document: Value = serde_json::from_str(&output.expect("output")).expect("JSON");
    assert_eq!(document["status"], "Completed");
}

/// The resume path's two crash windows on the real services: a run that crashes between the
/// job's terminal write and the resume (the next invocation resumes), and one that crashes
/// between `SendTaskSuccess` and the wait's delete (after the lease, the next run's callback
/// meets `InvalidToken` and deletes the wait). The execution succeeds exactly once and no wait
/// is left.
#[tokio::test]
async fn given_crashes_around_the_resume_then_the_execution_is_resumed_exactly_once() {
    use jobwatch::testing::CrashAfterCallback;

    let flows = Flows::start().await;
    let arn = flows.stack.create_batch("wf-crash").await;
    let execution = flows.execute(&arn).await;
    flows.deliver(1).await;
    flows.stack.set_status(&arn, "Completed").await;
    // Crash 1: the poll records the end, the invocation dies before resuming.
    flows
        .stack
        .poller()
        .run(Utc::now(), "crashed-poll")
        .await
        .expect("poll");
    assert!(flows.running(&execution).await);
    // Crash 2: the next invocation resumes, then dies before deleting the wait.
    let sfn = StepFunctions::new(flows.sfn.clone());
    let crashing = Resumer {
        waits: CrashAfterCallback::new(
            DynamoWaitStore::new(flows.stack.dynamodb.clone(), &flows.stack.table),
            1,
        ),
        store: flows.stack.store(),
        workflows: sfn,
        presentation: Default::default(),
        scopes: None,
        lease: Duration::minutes(5),
    };
    let now = Utc::now();
    let crashed = crashing
        .resume_family(JobKind::BatchInference, now, &RunId::new("crashes"), true)
        .await;
    assert_eq!(
        (crashed.succeeded, crashed.errors.len()),
        (1, 1),
        "{crashed:?}"
    );
    // A run within the lease leaves the wait alone; the first one after it finds the token closed.
    let resumer = &flows.registrar.resumer;
    let within = resumer
        .resume_family(
            JobKind::BatchInference,
            now + Duration::minutes(1),
            &RunId::new("within"),
            true,
        )
        .await;
    let after = resumer
        .resume_family(
            JobKind::BatchInference,
            now + Duration::minutes(6),
            &RunId::new("after"),
            true,
        )
        .await;
    assert_eq!((within.pending, within.succeeded), (1, 0), "{within:?}");
    assert_eq!((after.dropped, after.succeeded), (1, 0), "{after:?}");
    let (status, _, _) = flows.ended(&execution).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    let history = flows
        .sfn
        .get_execution_history()
        .execution_arn(&execution)
        .send()
        .await
        .expect("history");
    let resumed = history
        .events
        .iter()
        .filter(|e| e.r#type == aws_sdk_sfn::types::HistoryEventType::TaskSucceeded)
        .count();
    assert_eq!(resumed, 1, "resumed once");
    let left = resumer
        .waits
        .waits_on(
            JobKind::BatchInference,
            &jobwatch::domain::JobArn::new(&arn),
        )
        .await
        .expect("waits");
    assert!(left.is_empty(), "{left:?}");
}

const MEMBER: &str = "222222222222";
const MEMBER_ROLE: &str = "arn:aws:iam::222222222222:role/bedrock-jobwatch-reader";

/// A deployment watching its own account and a member account (`ACCOUNTS=self,<role>`) with
/// `NOTIFY_TAGS=team`: the register consumer's places wired as the Lambda wires them (the
/// member's role assumed on the emulator's STS), and the batch poller's fleet over both
/// accounts, which the resumer reads documents through.
struct Members {
    flows: Flows,
    registrar: LiveRegistrar,
    fleet: std::sync::Arc<testkit::StackFleet<BatchInferenceSource>>,
}

impl Members {
    async fn start() -> Members {
        let flows = Flows::start().await;
        let stack = &flows.stack;
        let mut vars: std::collections::HashMap<String, String> = stack
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        for (k, v) in [
            ("ACCOUNTS", format!("self,{MEMBER_ROLE}")),
            ("WATCHED_FAMILIES", "batch-inference".into()),
            ("NOTIFY_TAGS", "team".into()),
        ] {
            vars.insert(k.into(), v);
        }
        let config = jobwatch::Config::from_vars(&vars).expect("config");
        let fleet = jobwatch::wiring::build_fleet(
            &stack.poller_sdk(),
            &config.targets,
            JobKind::BatchInference,
            &config.poll,
            |sdk| BatchInferenceSource::new(aws_sdk_bedrock::Client::new(sdk)),
            || stack.store(),
            std::sync::Arc::new(stack.notifier()),
        )
        .await;
        let fleet = std::sync::Arc::new(fleet);
        let registry = Box::new(stack.store());
        let places =
            jobwatch::workflows::LivePlaces::new(&stack.poller_sdk(), &config, registry).await;
        let registrar = Registrar {
            resumer: Resumer {
                waits: DynamoWaitStore::new(stack.dynamodb.clone(), &stack.table),
                store: stack.store(),
                workflows: StepFunctions::new(flows.sfn.clone()),
                presentation: config.poll.presentation.clone(),
                scopes: Some(fleet.clone()),
                lease: Duration::minutes(5),
            },
            places: Box::new(places),
            settings: config.poll.clone(),
        };
        Members {
            flows,
            registrar,
            fleet,
        }
    }

    /// The register consumer, invoked as the deployed function (its own account from its ARN).
    async fn deliver(&self, n: usize) -> RegisterSummary {
        let records = self.flows.receive(n).await;
        let event: SqsEvent =
            serde_json::from_value(json!({"Records": records})).expect("an SqsEvent");
        let run = RunId::new(unique("register"));
        let own = Some(testkit::DEFAULT_ACCOUNT);
        self.registrar.handle(event, Utc::now(), &run, own).await.1
    }

    /// A scheduled invocation of the batch poller: every scope's poll, then the family's waits.
    async fn poll(&self) -> Resumed {
        let run = unique("poll");
        self.fleet
            .run(Utc::now(), run.as_str())
            .await
            .expect("poll");
        self.registrar
            .resumer
            .resume_family(JobKind::BatchInference, Utc::now(), &RunId::new(run), true)
            .await
    }
}

#[tokio::test]
async fn given_a_workflow_waiting_on_a_member_accounts_job_when_it_completes_then_it_resumes_with_the_member_scopes_document(
) {
    // given a tagged batch job in the member account, unknown to the table
    let members = Members::start().await;
    let (stack, flows) = (&members.flows.stack, &members.flows);
    let member = stack.emulator.in_scope(MEMBER, "us-east-1");
    let arn = member
        .create_batch_with_tags("wf-member", &[("team", "vision"), ("cost-center", "42")])
        .await;
    assert!(arn.contains(&format!(":{MEMBER}:")), "{arn}");
    // when a workflow waits on it
    let execution = flows.execute(&arn).await;
    let registered = members.deliver(1).await;
    // then the job is read through the member's role and recorded in the member's scope
    assert_eq!(
        (registered.waiting, registered.refused),
        (1, 0),
        "{registered:?}"
    );
    let record = stack.record(&arn).await.expect("recorded by the register");
    let scope = jobwatch::domain::Scope::member(JobKind::BatchInference, MEMBER, "us-east-1");
    assert_eq!(record.watch, Some(scope));
    let open = members.poll().await;
    assert_eq!((open.heartbeats, open.succeeded), (1, 0), "{open:?}");

    // when the member's job completes and the next scheduled invocation polls
    member.set_status(&arn, "Completed").await;
    let settled = members.poll().await;

    // then the workflow succeeds with the document the topic got, the member's tag included
    let (status, output, _) = flows.ended(&execution).await;
    assert_eq!(
        (status, settled.succeeded),
        (ExecutionStatus::Succeeded, 1),
        "{settled:?}"
    );
    let document: Value = serde_json::from_str(&output.expect("output")).expect("JSON");
    let notice = stack
        .notifications()
        .await
        .into_iter()
        .find(|n| n.body["jobArn"] == arn.as_str())
        .expect("the member job's notice");
    assert_eq!(document, notice.body);
    assert_eq!(document["account"], MEMBER);
    assert_eq!(document["tags"], json!({"team": "vision"}));
}

#[tokio::test]
async fn given_a_job_of_an_account_the_deployment_does_not_watch_then_its_task_fails_naming_the_account(
) {
    let members = Members::start().await;
    let flows = &members.flows;
    let stranger = "333333333333";
    let arn = format!("arn:aws:bedrock:us-east-1:{stranger}:model-invocation-job/abcdefghijkl");
    let execution = flows.execute(&arn).await;
    // The message as the consumer gets it (moto's SendTaskFailure keeps the error, drops the
    // cause: the reason is read from the outcome the consumer returns).
    let records = flows.receive(1).await;
    let body = records[0]["body"].as_str().expect("a body");
    let run = RunId::new(unique("register"));
    let own = Some(testkit::DEFAULT_ACCOUNT);
    let outcome = members
        .registrar
        .register(body, Utc::now(), &run, own)
        .await;
    let reason = match outcome {
        Ok(jobwatch::workflows::Registered::Refused(reason)) => reason,
        other => panic!("refused, not {other:?}"),
    };
    assert!(
        reason.contains(&format!("does not watch account {stranger}")),
        "{reason}"
    );
    let (status, _, error) = flows.ended(&execution).await;
    assert_eq!(
        (status, error.as_deref()),
        (ExecutionStatus::Failed, Some("JobWatch.InvalidRequest"))
    );
    assert!(flows.stack.record(&arn).await.is_none(), "nothing recorded");
}
