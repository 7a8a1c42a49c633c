//! One deployment watching three regions of two accounts (its own, and a member account through
//! an assumed role), end to end: the emulator serves every scope and STS, moto the table, the
//! topic and a subscribed queue. The fleet is wired as the Lambda wires it.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use jobwatch::targets::{Account, Regions, RoleArn, TargetSettings};
use testkit::{RegionFault, Stack, StackFleet, DEFAULT_ACCOUNT};

const MEMBER: &str = "222222222222";
const ROLE: &str = "arn:aws:iam::222222222222:role/bedrock-jobwatch-reader";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-northeast-1"];

fn settings(external_id: Option<&str>) -> TargetSettings {
    TargetSettings {
        regions: Regions::Listed(REGIONS.map(str::to_owned).to_vec()),
        accounts: vec![Account::Own, Account::Member(RoleArn::parse(ROLE).unwrap())],
        external_id: external_id.map(str::to_owned),
        concurrency: 4,
    }
}

type BatchFleet = StackFleet<jobwatch::adapters::families::batch::BatchInferenceSource>;

/// A job of the fleet: (account, region, ARN).
type Job = (&'static str, &'static str, String);

/// Every (account, region) of the fleet.
fn scopes() -> Vec<(&'static str, &'static str)> {
    [DEFAULT_ACCOUNT, MEMBER]
        .into_iter()
        .flat_map(|account| REGIONS.map(|region| (account, region)))
        .collect()
}

/// One running job in every scope, recorded open by a first run; returns (account, region, arn).
async fn a_running_job_everywhere(stack: &Stack, fleet: &BatchFleet) -> Vec<Job> {
    a_running_job_everywhere_at(stack, fleet, Utc::now()).await
}

/// The same, with the first run at `at`.
async fn a_running_job_everywhere_at(
    stack: &Stack,
    fleet: &BatchFleet,
    at: chrono::DateTime<Utc>,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (account, region) in scopes() {
        let scoped = stack.emulator.in_scope(account, region);
        let arn = scoped
            .create_batch(&format!("nightly-{account}-{region}"))
            .await;
        jobs.push((account, region, arn));
    }
    let first = fleet.run(at, "first").await.unwrap();
    assert!(
        first.discovery_ok && first.scopes.iter().all(|s| s.ok),
        "{first:?}"
    );
    jobs
}

/// A fleet of six scopes, each with a job that was running at a first run and has finished since.
async fn jobs_finished_everywhere() -> (Stack, BatchFleet, Vec<Job>) {
    let stack = Stack::start().await;
    let fleet = stack.batch_fleet(&settings(None)).await;
    let jobs = a_running_job_everywhere(&stack, &fleet).await;
    finish(&stack, &jobs).await;
    (stack, fleet, jobs)
}

async fn finish(stack: &Stack, jobs: &[(&str, &str, String)]) {
    for (account, region, arn) in jobs {
        let scoped = stack.emulator.in_scope(account, region);
        scoped.set_status(arn, "Completed").await;
    }
}

/// Notifications received so far, by job ARN: (account, region) of the document and of the
/// message attributes, and how many times each came.
async fn received(stack: &Stack) -> BTreeMap<String, (String, String, String, String, usize)> {
    let mut out: BTreeMap<String, (String, String, String, String, usize)> = BTreeMap::new();
    for n in stack.notifications().await {
        let arn = n.body["jobArn"].as_str().unwrap().to_owned();
        let entry = out.entry(arn).or_insert_with(|| {
            (
                n.body["account"].as_str().unwrap_or_default().to_owned(),
                n.body["region"].as_str().unwrap_or_default().to_owned(),
                n.attributes.get("account").cloned().unwrap_or_default(),
                n.attributes.get("region").cloned().unwrap_or_default(),
                0,
            )
        });
        entry.4 += 1;
    }
    out
}

/// The jobs of the scopes `keep` selects (account, region).
fn jobs_where(jobs: &[Job], keep: impl Fn(&str, &str) -> bool) -> Vec<Job> {
    jobs.iter()
        .filter(|(a, r, _)| keep(a, r))
        .cloned()
        .collect()
}

/// The scopes a run names as failing.
fn failing(run: &jobwatch::RunSummary) -> Vec<&jobwatch::poller::ScopeReport> {
    run.scopes.iter().filter(|s| !s.ok).collect()
}

fn expected(
    jobs: &[(&str, &str, String)],
) -> BTreeMap<String, (String, String, String, String, usize)> {
    jobs.iter()
        .map(|(account, region, arn)| {
            let (a, r) = (account.to_string(), region.to_string());
            (arn.clone(), (a.clone(), r.clone(), a, r, 1))
        })
        .collect()
}

#[tokio::test]
async fn every_job_of_three_regions_and_two_accounts_is_notified_once_with_its_account_and_region()
{
    // given a running job in each of six scopes, known to a first run
    let stack = Stack::start().await;
    let fleet = stack.batch_fleet(&settings(None)).await;
    let jobs = a_running_job_everywhere(&stack, &fleet).await;
    // when they all finish and the fleet polls twice
    finish(&stack, &jobs).await;
    let second = fleet
        .run(Utc::now() + Duration::minutes(5), "second")
        .await
        .unwrap();
    let third = fleet
        .run(Utc::now() + Duration::minutes(10), "third")
        .await
        .unwrap();
    // then each job is notified exactly once, with its own account and region in the document
    // and as message attributes
    assert_eq!(received(&stack).await, expected(&jobs));
    assert_eq!(
        (second.notifications_sent, third.notifications_sent),
        (6, 0)
    );
    assert_eq!(second.scopes.len(), 6);
    // and the member role was assumed once for all three of its regions and all three runs
    assert_eq!(stack.emulator.assume_role_calls().await, 1);
    assert_eq!(fleet.credential_calls(), 1);
}

#[tokio::test]
async fn a_steady_run_reads_every_scopes_open_jobs_in_one_query_and_each_is_told_once() {
    // given a running job in each of six scopes, known to a first run an hour from now, so
    // that later listings (from its watermark on) no longer return them: only the watch index
    // knows they are open
    let stack = Stack::start().await;
    let together = stack.batch_fleet(&settings(None)).await;
    let mut apart = stack.batch_fleet(&settings(None)).await;
    apart.read_together_max = 0;
    let later = Utc::now() + Duration::hours(1);
    let jobs = a_running_job_everywhere_at(&stack, &together, later).await;
    // when a steady run reads each scope's open jobs with its own Query, and another reads
    // them all in one
    let apart_run = apart
        .run(later + Duration::hours(1), "apart")
        .await
        .unwrap();
    let together_run = together
        .run(later + Duration::minutes(61), "together")
        .await
        .unwrap();
    // then both reconcile the six jobs, and reading together takes five DynamoDB requests fewer
    assert_eq!((apart_run.watched, together_run.watched), (6, 6));
    assert_eq!(
        apart_run.store_calls as i64 - together_run.store_calls as i64,
        5,
        "apart {apart_run:?} together {together_run:?}"
    );
    // and when the jobs finish, the next run tells each once, with its account and region
    finish(&stack, &jobs).await;
    let done = together
        .run(later + Duration::hours(2), "done")
        .await
        .unwrap();
    assert_eq!((done.watched, done.notifications_sent), (6, 6));
    assert_eq!(received(&stack).await, expected(&jobs));
}

#[tokio::test]
async fn a_region_answering_errors_is_named_while_the_others_notify_then_catches_up() {
    // given a running job in every scope, and eu-west-1 answering 503s in both accounts
    let (stack, fleet, jobs) = jobs_finished_everywhere().await;
    stack
        .emulator
        .fail_region("eu-west-1", RegionFault::Unavailable)
        .await;
    // when three runs poll while it fails
    let t = Utc::now();
    for n in 1..=3 {
        let run = fleet
            .run(t + Duration::minutes(5 * n), format!("down-{n}"))
            .await
            .unwrap();
        // then each run works, and names the two failing scopes
        assert!(run.discovery_ok, "{run:?}");
        let names: Vec<&str> = failing(&run).iter().map(|s| s.scope.as_str()).collect();
        assert_eq!(names, ["self/eu-west-1", "222222222222/eu-west-1"]);
    }
    let healthy = jobs_where(&jobs, |_, region| region != "eu-west-1");
    assert_eq!(received(&stack).await, expected(&healthy));
    // when the region heals
    stack.emulator.heal_region("eu-west-1").await;
    let healed = fleet
        .run(t + Duration::minutes(30), "healed")
        .await
        .unwrap();
    // then its two jobs are notified, and no job twice
    assert!(healed.scopes.iter().all(|s| s.ok), "{healed:?}");
    let late = jobs_where(&jobs, |_, region| region == "eu-west-1");
    assert_eq!(received(&stack).await, expected(&late));
}

#[tokio::test]
async fn a_region_the_member_account_has_not_enabled_is_named_with_what_to_check() {
    // given a job finishing in every scope, and ap-northeast-1 not enabled in the member
    // account (AWS answers every call there: the security token is invalid)
    let (stack, fleet, jobs) = jobs_finished_everywhere().await;
    stack
        .emulator
        .fail_region_in(MEMBER, "ap-northeast-1", RegionFault::NotEnabled)
        .await;
    // when the fleet polls
    let run = fleet
        .run(Utc::now() + Duration::minutes(5), "run")
        .await
        .unwrap();
    // then that one scope is named, with what to check, and the other five jobs are notified
    let failing = failing(&run);
    assert_eq!(failing.len(), 1, "{run:?}");
    assert_eq!(failing[0].scope, "222222222222/ap-northeast-1");
    let error = failing[0].error.as_deref().unwrap_or_default();
    assert!(
        error.contains("UnrecognizedClientException")
            && error.contains("is the region enabled for this account?"),
        "{error}"
    );
    let elsewhere = jobs_where(&jobs, |account, region| {
        (account, region) != (MEMBER, "ap-northeast-1")
    });
    assert_eq!(received(&stack).await, expected(&elsewhere));
}

#[tokio::test]
async fn a_role_whose_trust_is_missing_is_named_and_the_own_account_still_notifies() {
    // given a running job in every scope, then the member role's trust removed
    let (stack, _first, jobs) = jobs_finished_everywhere().await;
    stack.emulator.refuse_assume_role(ROLE).await;
    // when a fresh deployment (no cached credentials) polls
    let fresh = stack.batch_fleet(&settings(None)).await;
    let run = fresh
        .run(Utc::now() + Duration::minutes(5), "denied")
        .await
        .unwrap();
    // then every member scope fails with an error naming the role and STS's refusal
    for report in run.scopes.iter().filter(|s| s.scope.starts_with(MEMBER)) {
        let error = report.error.as_deref().unwrap_or_default();
        assert!(!report.ok, "{report:?}");
        assert!(
            error.contains(&format!("cannot assume role {ROLE}")),
            "{error}"
        );
        assert!(
            error.contains("not authorized to perform: sts:AssumeRole"),
            "{error}"
        );
    }
    // and the own account's jobs are notified
    let own: Vec<_> = jobs
        .iter()
        .filter(|(a, _, _)| *a == DEFAULT_ACCOUNT)
        .cloned()
        .collect();
    assert_eq!(received(&stack).await, expected(&own));
}

#[tokio::test]
async fn a_role_that_requires_an_external_id_is_assumed_with_it_and_refused_without() {
    // given a member role that requires an external id
    let stack = Stack::start().await;
    stack
        .emulator
        .require_external_id(ROLE, "jobwatch-7f3a")
        .await;
    let member = stack.emulator.in_scope(MEMBER, "us-east-1");
    member.create_batch("member-job").await;
    // when one deployment has the id and one does not
    let with = stack.batch_fleet(&settings(Some("jobwatch-7f3a"))).await;
    let without = stack.batch_fleet(&settings(None)).await;
    let ok = with.run(Utc::now(), "with").await.unwrap();
    let denied = without.run(Utc::now(), "without").await.unwrap();
    // then the first lists the member's job, the second's member scopes fail naming the role
    let listed: usize = ok
        .scopes
        .iter()
        .filter(|s| s.scope.starts_with(MEMBER))
        .map(|s| s.listed)
        .sum();
    assert!(ok.scopes.iter().all(|s| s.ok), "{ok:?}");
    assert_eq!(listed, 1);
    let member_errors: Vec<&str> = denied
        .scopes
        .iter()
        .filter(|s| s.scope.starts_with(MEMBER))
        .map(|s| s.error.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(member_errors.len(), 3);
    assert!(
        member_errors.iter().all(|e| e.contains(ROLE)),
        "{member_errors:?}"
    );
}

#[tokio::test]
async fn an_event_from_a_member_region_is_confirmed_there_and_one_from_elsewhere_is_ignored() {
    // given a member job in ap-northeast-1, running when the fleet first polled, then finished
    let stack = Stack::start().await;
    let fleet = stack.batch_fleet(&settings(None)).await;
    let scoped = stack.emulator.in_scope(MEMBER, "ap-northeast-1");
    let arn = scoped.create_batch("tokyo").await;
    fleet.run(Utc::now(), "first").await.unwrap();
    scoped.set_status(&arn, "Completed").await;
    // when its state-change event comes to the handler
    let encoded = arn.replace('/', "%2F").replace(':', "%3A");
    let event = scoped.control_get(&format!("jobs/{encoded}/event")).await;
    assert_eq!(event["account"], MEMBER, "{event}");
    let metrics = jobwatch::metrics::MetricsSink::capture("Test/Fleet");
    let lambda =
        lambda_runtime::LambdaEvent::new(event.clone(), lambda_runtime::Context::default());
    let output = jobwatch::handler::handle(&fleet, &metrics, lambda)
        .await
        .unwrap();
    // then it is confirmed through the member's role in its region and notified
    let jobwatch::handler::Output::Event(summary) = output else {
        panic!("not handled: {output:?}");
    };
    assert_eq!((summary.fetched, summary.notifications_sent), (1, 1));
    let got = received(&stack).await;
    assert_eq!(
        got[&arn],
        (
            MEMBER.into(),
            "ap-northeast-1".into(),
            MEMBER.into(),
            "ap-northeast-1".into(),
            1
        )
    );
    // when an event names an account the fleet does not watch
    let mut stranger = event;
    stranger["account"] = "333333333333".into();
    stranger["resources"] = serde_json::json!([arn.replace(MEMBER, "333333333333")]);
    stranger["detail"]["batchJobArn"] = stranger["resources"][0].clone();
    // (as Lambda runs it: the function's own ARN names the own account)
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        format!("arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:batch-inference-poller");
    let lambda = lambda_runtime::LambdaEvent::new(stranger, context);
    let output = jobwatch::handler::handle(&fleet, &metrics, lambda)
        .await
        .unwrap();
    // then it is ignored, saying why
    let jobwatch::handler::Output::Ignored { reason } = output else {
        panic!("not ignored: {output:?}");
    };
    assert!(
        reason.contains("333333333333") && reason.contains("not a scope"),
        "{reason}"
    );
}

#[tokio::test]
async fn the_invocation_fails_only_when_every_scope_failed() {
    // given a fleet whose regions all answer errors but one
    let stack = Stack::start().await;
    let fleet = stack.batch_fleet(&settings(None)).await;
    for region in ["eu-west-1", "ap-northeast-1"] {
        stack
            .emulator
            .fail_region(region, RegionFault::Unavailable)
            .await;
    }
    let metrics = jobwatch::metrics::MetricsSink::capture("Test/Fleet");
    let poll = || lambda_runtime::LambdaEvent::new(serde_json::json!({}), Default::default());
    // when the scheduled poll runs, then it succeeds (us-east-1 answered in both accounts)
    let output = jobwatch::handler::handle(&fleet, &metrics, poll()).await;
    assert!(
        matches!(output, Ok(jobwatch::handler::Output::Polled(_))),
        "{output:?}"
    );
    // when us-east-1 fails too, then the invocation fails, naming a scope
    stack
        .emulator
        .fail_region("us-east-1", RegionFault::Unavailable)
        .await;
    let error = jobwatch::handler::handle(&fleet, &metrics, poll())
        .await
        .unwrap_err();
    let message = error.chain();
    assert!(
        message.contains("run incomplete after 6 failure(s)"),
        "{message}"
    );
    assert!(message.contains("self/us-east-1: list: "), "{message}");
}
