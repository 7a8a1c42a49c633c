//! An organisation watched end to end: moto serves Organizations, SQS, DynamoDB and SNS; the
//! emulator serves Bedrock in every account and region and STS (`AssumeRole` into any account,
//! refused for roles a test names). The refresh reads the organisation, the dispatcher queues
//! one work item per account on a real (moto) queue, and the worker handler takes SQS batches
//! built from what the queue delivers, the way the event source mapping does: the items in
//! `batchItemFailures` stay queued, the others are deleted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_organizations::Client as Organizations;
use chrono::{DateTime, Duration, Utc};
use futures::future::LocalBoxFuture;
use jobwatch::adapters::dynamodb::DynamoJobStore;
use jobwatch::adapters::organizations::OrganizationsDirectory;
use jobwatch::adapters::sqs::SqsWorkQueue;
use jobwatch::domain::RunId;
use jobwatch::error::Error;
use jobwatch::org::{RegistryStore, WorkItem};
use jobwatch::poller::Budget;
use jobwatch::ports::ScheduleStore;
use jobwatch::wiring::SdkAccountFleets;
use jobwatch::work::{self, AccountFleets, BatchReport, FamilyRun, Worker};
use jobwatch::Config;
use testkit::{Stack, DEFAULT_ACCOUNT};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const ROLE_NAME: &str = "bedrock-jobwatch-reader";
const PERIOD: Duration = Duration::minutes(5);

/// The organisation: three OUs of 14, 13 and 13 accounts; the third is excluded.
struct Org {
    client: Organizations,
    root: String,
    units: [String; 3],
    accounts: [Vec<String>; 3],
}

async fn organisation(stack: &Stack) -> Org {
    let client = Organizations::new(&testkit::sdk_config(&stack.moto.endpoint));
    client
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    let root = client.list_roots().send().await.unwrap().roots.unwrap()[0]
        .id
        .clone()
        .unwrap();
    let mut units: Vec<String> = Vec::new();
    let mut accounts: Vec<Vec<String>> = Vec::new();
    for (name, size) in [("a", 14), ("b", 13), ("c", 13)] {
        let unit = client
            .create_organizational_unit()
            .parent_id(&root)
            .name(format!("ou-{name}"))
            .send()
            .await
            .unwrap()
            .organizational_unit
            .unwrap()
            .id
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..size {
            ids.push(account_in(&client, &root, &unit, &format!("{name}{i}")).await);
        }
        units.push(unit);
        accounts.push(ids);
    }
    Org {
        client,
        root,
        units: units.try_into().unwrap(),
        accounts: accounts.try_into().unwrap(),
    }
}

/// A new account, moved from the root into `unit`.
async fn account_in(client: &Organizations, root: &str, unit: &str, name: &str) -> String {
    let status = client
        .create_account()
        .email(format!("{name}@example.com"))
        .account_name(name)
        .send()
        .await
        .unwrap()
        .create_account_status
        .unwrap();
    let id = status.account_id.unwrap();
    client
        .move_account()
        .account_id(&id)
        .source_parent_id(root)
        .destination_parent_id(unit)
        .send()
        .await
        .unwrap();
    id
}

fn role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/{ROLE_NAME}")
}

/// The functions' configuration: the organisation less OU c, two regions, batch inference.
fn config(stack: &Stack, excluded: &str) -> Config {
    let vars: std::collections::HashMap<String, String> = [
        ("JOBS_TABLE", stack.table.as_str()),
        ("NOTIFY_TOPIC_ARN", stack.topic_arn.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("REGIONS", "us-east-1,eu-west-1"),
        ("ORG_UNITS", "all"),
        ("ORG_EXCLUDE", excluded),
        ("READER_ROLE_NAME", ROLE_NAME),
        ("WATCHED_FAMILIES", "batch-inference"),
        ("QUIET_REFRESH_HOURS", "24"),
        ("SCOPE_ALARM_AFTER", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Config::from_vars(&vars).expect("config")
}

/// The worker's fleets, and a switch that ends the invocation's budget once `after` accounts
/// have started (a worker whose time runs out in the middle of a batch).
struct Fleets {
    inner: SdkAccountFleets<DynamoJobStore, Arc<jobwatch::adapters::notifier::Sinks>>,
    started: AtomicUsize,
    end_after: AtomicUsize,
    ended: Arc<AtomicBool>,
}

impl AccountFleets for Fleets {
    #[allow(clippy::type_complexity)]
    fn fleets<'a>(
        &'a self,
        item: &'a WorkItem,
    ) -> LocalBoxFuture<'a, Result<(Vec<Box<dyn FamilyRun>>, u64), Error>> {
        let started = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        if started > self.end_after.load(Ordering::SeqCst) {
            self.ended.store(true, Ordering::SeqCst);
        }
        self.inner.fleets(item)
    }
}

struct World {
    stack: Stack,
    org: Org,
    config: Config,
    store: DynamoJobStore,
    queue_url: String,
    queue: SqsWorkQueue,
    fleets: Fleets,
    start: DateTime<Utc>,
}

impl World {
    async fn new() -> World {
        let stack = Stack::start().await;
        let org = organisation(&stack).await;
        let config = config(&stack, &org.units[2]);
        let queue_url = stack
            .sqs
            .create_queue()
            .queue_name(testkit::unique("work"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue = SqsWorkQueue::new(stack.sqs.clone(), &queue_url);
        let fleets = Fleets {
            inner: SdkAccountFleets {
                base: stack.poller_sdk(),
                config: config.clone(),
                store: stack.store(),
                notifier: Arc::new(stack.notifier()),
            },
            started: AtomicUsize::new(0),
            end_after: AtomicUsize::new(usize::MAX),
            ended: Arc::new(AtomicBool::new(false)),
        };
        World {
            store: stack.store(),
            stack,
            org,
            config,
            queue_url,
            queue,
            fleets,
            start: Utc::now(),
        }
    }

    fn at(&self, period: i32) -> DateTime<Utc> {
        self.start + PERIOD * period
    }

    async fn refresh(&self, period: i32) -> work::RefreshReport {
        let directory = OrganizationsDirectory::new(self.org.client.clone());
        let selection = self.config.fanout.org.as_ref().unwrap();
        work::refresh(
            &directory,
            &self.store,
            selection,
            Some(DEFAULT_ACCOUNT),
            self.at(period),
        )
        .await
        .expect("refresh")
    }

    async fn dispatch(&self, period: i32) -> work::DispatchReport {
        let registry = self.store.registry().await.unwrap().expect("a registry");
        let run = RunId::new(format!("dispatch-{period}"));
        work::dispatch_once(
            &registry,
            &self.store,
            &self.queue,
            self.at(period),
            &run,
            PERIOD,
            10_000,
        )
        .await
        .expect("dispatch")
    }

    /// Lambda's part: batches of up to 10 messages to the worker handler until the queue is
    /// empty (or only returned items are left); returned items become visible again at once
    /// (their visibility timeout passed). One invocation per batch.
    async fn work(&self, period: i32) -> Vec<(SqsBatchResponse, BatchReport)> {
        let mut invocations = Vec::new();
        for invocation in 0.. {
            let messages = self.receive().await;
            if messages.is_empty() || invocation > 50 {
                break;
            }
            let outcome = self.invoke(period, invocation, messages).await;
            let returned = !outcome.0.batch_item_failures.is_empty();
            invocations.push(outcome);
            if returned && self.fleets.ended.load(Ordering::SeqCst) {
                break;
            }
        }
        invocations
    }

    async fn receive(&self) -> Vec<aws_sdk_sqs::types::Message> {
        let out = self
            .stack
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        out.messages.unwrap_or_default()
    }

    async fn invoke(
        &self,
        period: i32,
        invocation: usize,
        messages: Vec<aws_sdk_sqs::types::Message>,
    ) -> (SqsBatchResponse, BatchReport) {
        let records = messages
            .iter()
            .map(|m| SqsMessage {
                message_id: m.message_id.clone(),
                receipt_handle: m.receipt_handle.clone(),
                body: m.body.clone(),
                event_source: Some("aws:sqs".into()),
                ..Default::default()
            })
            .collect();
        let event = SqsEvent { records };
        let worker = Worker {
            fleets: &self.fleets,
            schedule: &self.store as &dyn ScheduleStore,
            period: PERIOD,
            alarm_after: self.config.fanout.alarm_after,
        };
        let budget = Budget::until_signal(self.fleets.ended.clone());
        let id = format!("invocation-{period}-{invocation}");
        let (response, report) =
            work::handle_batch(&worker, event, self.at(period), &id, &budget).await;
        // The event source mapping deletes what the response does not return.
        let returned: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        for message in &messages {
            let handle = message.receipt_handle.clone().unwrap_or_default();
            let id = message.message_id.as_deref().unwrap_or_default();
            let sqs = &self.stack.sqs;
            match returned.contains(&id) {
                false => {
                    let delete = sqs.delete_message().queue_url(&self.queue_url);
                    delete.receipt_handle(handle).send().await.unwrap();
                }
                true => {
                    let visible = sqs.change_message_visibility().queue_url(&self.queue_url);
                    let visible = visible.receipt_handle(handle).visibility_timeout(0);
                    visible.send().await.unwrap();
                }
            }
        }
        (response, report)
    }

    /// A running batch job in each of `accounts` x both regions.
    async fn jobs_in(&self, accounts: &[String]) -> Vec<String> {
        let mut arns = Vec::new();
        for account in accounts {
            for region in REGIONS {
                let scoped = self.stack.emulator.in_scope(account, region);
                arns.push(
                    scoped
                        .create_batch(&format!("nightly-{account}-{region}"))
                        .await,
                );
            }
        }
        arns
    }

    async fn finish(&self, arns: &[String]) {
        for arn in arns {
            let parts: Vec<&str> = arn.split(':').collect();
            let scoped = self.stack.emulator.in_scope(parts[4], parts[3]);
            scoped.set_status(arn, "Completed").await;
        }
    }

    /// Notifications per job ARN.
    async fn notified(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for n in self.stack.notifications().await {
            let arn = n.body["jobArn"].as_str().unwrap_or_default().to_owned();
            *counts.entry(arn).or_default() += 1;
        }
        counts
    }
}

/// The metrics namespace, as the template sets it for a stack named `org-e2e`.
const NAMESPACE: &str = "BedrockJobwatch/org-e2e";

/// The `ScopeFailing` series the worker's metric documents make, by their `Scope` dimension
/// (their highest value), as `FailingScopesAlarm`'s `GROUP BY Scope` sees them.
fn scope_failing_series(lines: &[String]) -> BTreeMap<String, f64> {
    let mut series = BTreeMap::new();
    for doc in lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        let named = directive["Metrics"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["Name"] == "ScopeFailing"));
        if !named || directive["Namespace"] != NAMESPACE {
            continue;
        }
        // the query's SCHEMA(namespace, Scope) takes series of exactly that one dimension
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Scope"]]),
            "{doc}"
        );
        let value = doc["ScopeFailing"].as_f64().unwrap();
        let scope = doc["Scope"].as_str().unwrap().to_owned();
        let max = series.entry(scope).or_insert(value);
        *max = value.max(*max);
    }
    series
}

/// `FailingScopesAlarm`'s Metrics Insights query as template.yaml writes it, for `NAMESPACE`.
fn alarm_query() -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"));
    let template: serde_yaml::Value = serde_yaml::from_str(&text.unwrap()).unwrap();
    let query = &template["Resources"]["FailingScopesAlarm"]["Properties"]["Metrics"][0];
    let serde_yaml::Value::Tagged(sub) = &query["Expression"] else {
        panic!("the alarm's Expression is not a !Sub: {query:?}");
    };
    let query = sub.value.as_str().unwrap();
    assert!(query.contains("GROUP BY Scope"), "{query}");
    query.replace("BedrockJobwatch/${AWS::StackName}", NAMESPACE)
}

/// Puts the series into moto's CloudWatch (as CloudWatch ingests the worker's EMF lines),
/// creates the template's alarm there, and returns the `Scope`s moto lists for ScopeFailing:
/// the contributors the alarm's query groups.
async fn alarm_on_moto(endpoint: &str, series: &BTreeMap<String, f64>) -> Vec<String> {
    let http = reqwest::Client::new();
    let call = |params: Vec<(String, String)>| {
        let http = http.clone();
        async move {
            let mut form = vec![("Version".to_owned(), "2010-08-01".to_owned())];
            form.extend(params);
            // moto routes a request by the service in its credential scope
            let scope = "Credential=test/20260101/us-east-1/monitoring/aws4_request";
            let auth = format!("AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0");
            let request = http
                .post(endpoint)
                .header("Authorization", auth)
                .form(&form);
            let response = request.send().await.unwrap();
            let ok = response.status().is_success();
            let body = response.text().await.unwrap();
            assert!(ok, "{form:?}: {body}");
            body
        }
    };
    let p = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    for (scope, value) in series {
        call(vec![
            p("Action", "PutMetricData"),
            p("Namespace", NAMESPACE),
            p("MetricData.member.1.MetricName", "ScopeFailing"),
            p("MetricData.member.1.Dimensions.member.1.Name", "Scope"),
            p("MetricData.member.1.Dimensions.member.1.Value", scope),
            p("MetricData.member.1.Value", &value.to_string()),
        ])
        .await;
    }
    let query = alarm_query();
    call(vec![
        p("Action", "PutMetricAlarm"),
        p("AlarmName", "org-e2e-FailingScopesAlarm"),
        p("Metrics.member.1.Id", "failing"),
        p("Metrics.member.1.Expression", &query),
        p("Metrics.member.1.Period", "300"),
        p("Metrics.member.1.ReturnData", "true"),
        p("EvaluationPeriods", "1"),
        p("Threshold", "1"),
        p("ComparisonOperator", "GreaterThanOrEqualToThreshold"),
        p("TreatMissingData", "notBreaching"),
    ])
    .await;
    let alarms = call(vec![
        p("Action", "DescribeAlarms"),
        p("AlarmNames.member.1", "org-e2e-FailingScopesAlarm"),
    ])
    .await;
    assert!(alarms.contains("GROUP BY Scope"), "{alarms}");
    let listed = call(vec![
        p("Action", "ListMetrics"),
        p("Namespace", NAMESPACE),
        p("MetricName", "ScopeFailing"),
    ])
    .await;
    let mut scopes: Vec<String> = listed
        .split("<Value>")
        .skip(1)
        .filter_map(|v| v.split("</Value>").next())
        .map(str::to_owned)
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

fn items(invocations: &[(SqsBatchResponse, BatchReport)]) -> Vec<&work::ItemReport> {
    invocations.iter().flat_map(|(_, r)| &r.items).collect()
}

#[tokio::test]
async fn an_organisation_is_watched_through_the_queue_each_job_told_once_and_its_failures_named() {
    // given 40 accounts in 3 OUs (the third excluded), one suspended, two without the role
    let world = World::new().await;
    let [a, b, c] = &world.org.accounts;
    let suspended = a[13].clone();
    world
        .org
        .client
        .close_account()
        .account_id(&suspended)
        .send()
        .await
        .unwrap();
    let roleless = [a[12].clone(), b[12].clone()];
    for account in &roleless {
        world
            .stack
            .emulator
            .refuse_assume_role(&role(account))
            .await;
    }
    let busy: Vec<String> = a[..5].iter().chain(&b[..5]).cloned().collect();
    let arns = world.jobs_in(&busy).await;

    // when the refresh reads the organisation
    let refreshed = world.refresh(0).await;
    // then OUs a and b are watched less the suspended account; OU c is not; the suspended one
    // is reported
    assert_eq!(refreshed.watched, 14 + 13 - 1);
    assert!(c.iter().all(|id| !refreshed.added.contains(id)));
    let unwatched: Vec<(&str, &str)> = refreshed
        .unwatched
        .iter()
        .map(|u| (u.id.as_str(), u.reason.as_str()))
        .collect();
    assert_eq!(unwatched, [(suspended.as_str(), "SUSPENDED")]);

    // when three periods are dispatched and worked, the jobs finishing after the first
    let metrics = jobwatch::metrics::MetricsSink::capture(NAMESPACE);
    for period in 0..3 {
        if period == 1 {
            world.finish(&arns).await;
        }
        let dispatched = world.dispatch(period).await;
        assert_eq!(
            (dispatched.members, dispatched.queued),
            (26, 26),
            "period {period}"
        );
        let invocations = world.work(period).await;
        for (_, report) in &invocations {
            jobwatch::fanout::emit_work(&metrics, report);
        }
        let worked = items(&invocations);
        assert_eq!(worked.len(), 26, "period {period}");
        assert!(invocations
            .iter()
            .all(|(r, _)| r.batch_item_failures.is_empty()));
        // one AssumeRole per account and period (refused ones included), never one per scope
        let sts: u64 = worked.iter().map(|i| i.sts_calls).sum();
        assert!(sts <= 24, "period {period}: {sts} STS calls");
    }
    // then each job of 10 accounts x 2 regions was told exactly once
    let notified = world.notified().await;
    let expected: BTreeMap<String, usize> = arns.iter().map(|a| (a.clone(), 1)).collect();
    assert_eq!(notified, expected);

    // and the two accounts without the role are named: one failing scope each (their access),
    // in the account's clock with STS's refusal
    for account in &roleless {
        let clocks = world
            .store
            .shard(&jobwatch::org::account_shard(account))
            .await
            .unwrap()
            .clocks;
        assert_eq!(clocks.len(), 1, "{clocks:?}");
        let access = &clocks[&work::access_scope(account)];
        assert_eq!(access.failures, 3);
        assert!(
            access.error.as_deref().unwrap().contains("AccessDenied"),
            "{access:?}"
        );
    }
    // and each is one series of ScopeFailing by its Scope, the alarm's contributors: what the
    // worker emits, as CloudWatch keeps it (moto), under the template's alarm (moto stores it;
    // it does not evaluate Metrics Insights queries: grouped here as the query groups)
    let series = scope_failing_series(&metrics.lines());
    let expected: BTreeMap<String, f64> = roleless
        .iter()
        .map(|a| (work::access_scope(a), 3.0))
        .collect();
    assert_eq!(series, expected, "one contributor per roleless account");
    let contributors = alarm_on_moto(&world.stack.moto.endpoint, &series).await;
    assert_eq!(contributors, expected.keys().cloned().collect::<Vec<_>>());

    let healthy = world
        .store
        .shard(&jobwatch::org::account_shard(&a[0]))
        .await
        .unwrap();
    assert_eq!(
        healthy.clocks.len(),
        3,
        "access + 2 regions: {:?}",
        healthy.clocks
    );
    assert!(healthy
        .clocks
        .values()
        .all(|c| c.failures == 0 && c.polled_at == Some(world.at(2))));
}

#[tokio::test]
async fn an_account_added_to_an_ou_is_watched_from_the_next_refresh() {
    // given a watched organisation, dispatched and worked once
    let world = World::new().await;
    world.refresh(0).await;
    world.dispatch(0).await;
    world.work(0).await;
    // when an account joins OU b and a job runs there
    let joined = account_in(
        &world.org.client,
        &world.org.root,
        &world.org.units[1],
        "joined",
    )
    .await;
    let arns = world.jobs_in(std::slice::from_ref(&joined)).await;
    let before = world.dispatch(1).await;
    assert_eq!(before.members, 27, "not watched before the refresh");
    world.work(1).await;
    let refreshed = world.refresh(2).await;
    // then the refresh adds it, the next period polls it, and its jobs are told once finished
    assert_eq!(refreshed.added, std::slice::from_ref(&joined));
    let dispatched = world.dispatch(2).await;
    assert_eq!((dispatched.members, dispatched.queued), (28, 28));
    world.work(2).await;
    world.finish(&arns).await;
    world.dispatch(3).await;
    world.work(3).await;
    let notified = world.notified().await;
    assert!(
        arns.iter().all(|a| notified.get(a) == Some(&1)),
        "{notified:?}"
    );
}

#[tokio::test]
async fn a_worker_whose_time_runs_out_mid_batch_returns_only_its_unfinished_items() {
    // given a watched organisation with a job finishing in each of three accounts
    let world = World::new().await;
    world.refresh(0).await;
    let accounts: Vec<String> = world.org.accounts[0][..3].to_vec();
    let arns = world.jobs_in(&accounts).await;
    world.dispatch(0).await;
    world.work(0).await;
    world.finish(&arns).await;
    world.dispatch(1).await;
    // when the first invocation's time runs out as its second item starts
    world.fleets.started.store(0, Ordering::SeqCst);
    world.fleets.end_after.store(1, Ordering::SeqCst);
    let messages = world.receive().await;
    assert_eq!(messages.len(), 10);
    let (response, report) = world.invoke(1, 0, messages).await;
    // then the first item is done and deleted, and the nine others are returned, the second
    // one unfinished with its scopes not started
    assert_eq!(response.batch_item_failures.len(), 9);
    assert_eq!(report.items[0].result, "done");
    assert_eq!(report.items[1].result, "unfinished");
    assert_eq!(report.items[1].scopes_polled, 0);
    assert_eq!(report.items[1].scopes_not_started, 2);
    assert_eq!(report.returned.len(), 9);
    // and when the queue redelivers them to a worker with time, every item of the period is
    // worked once, and every job told once
    world.fleets.end_after.store(usize::MAX, Ordering::SeqCst);
    world.fleets.ended.store(false, Ordering::SeqCst);
    let rest = world.work(1).await;
    let done = items(&rest)
        .iter()
        .filter(|i| i.result == "done" || i.result == "failed")
        .count();
    assert_eq!(done + 1, 14 + 13, "each of OU a's and b's accounts once");
    let notified = world.notified().await;
    assert!(
        arns.iter().all(|a| notified.get(a) == Some(&1)),
        "{notified:?}"
    );
}
