//! The operator CLI as an operator runs it: the real binary, with the functions' environment,
//! against moto and the Bedrock emulator, next to pollers wired as the Lambdas wire them.

use std::process::Output;
use std::sync::Arc;

use chrono::Utc;
use jobwatch::adapters::families::batch::BatchInferenceSource;
use jobwatch::testing::RecordingNotifier;
use jobwatch::Poller;
use serde_json::{json, Value};
use testkit::Stack;

/// Runs `jobwatch-cli` with the stack's environment (what the functions get).
async fn cli(stack: &Stack, args: &[&str]) -> Output {
    cli_with(stack.env(), args).await
}

async fn cli_with(env: Vec<(&'static str, String)>, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_jobwatch-cli"))
        .env_clear()
        .envs(env)
        .args(args)
        .output()
        .await
        .expect("jobwatch-cli runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        stderr(out)
    );
    stdout(out)
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("--json prints one JSON document")
}

async fn poll(stack: &Stack, run: &str) {
    stack.poller().run(Utc::now(), run).await.expect("poll");
}

/// A batch job that finished and whose notification was published (and drained).
async fn notified_job(stack: &Stack, name: &str) -> String {
    let arn = stack.create_batch(name).await;
    poll(stack, "watch").await;
    stack.set_status(&arn, "Completed").await;
    poll(stack, "finish").await;
    assert_eq!(stack.notifications().await.len(), 1);
    arn
}

fn family<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["families"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["family"] == name))
        .unwrap_or_else(|| panic!("family {name} in {status:#}"))
}

#[tokio::test]
async fn status_shows_open_jobs_pending_notices_and_the_last_run_per_family() {
    // given an open job, and a finished one whose publish failed (its notice is pending)
    let stack = Stack::start().await;
    let open = stack.create_batch("still-running").await;
    let stuck = stack.create_batch("stuck-notice").await;
    poll(&stack, "run-1").await;
    stack.set_status(&stuck, "Failed").await;
    let topic = Arc::new(RecordingNotifier::default());
    topic.fail_next(1);
    let failing = Poller::new(
        BatchInferenceSource::new(stack.bedrock.clone()),
        stack.store(),
        topic,
        stack.settings(),
    );
    failing.run(Utc::now(), "run-2").await.unwrap();

    // when
    let status = json_of(&cli(&stack, &["status", "--json"]).await);
    let text = ok(&cli(&stack, &["status"]).await);

    // then the batch family shows its open job, its pending notice and its last run
    let batch = family(&status, "batch-inference");
    assert_eq!(batch["open"].as_array().unwrap().len(), 1);
    assert_eq!(batch["open"][0]["arn"], open.as_str());
    assert!(batch["open"][0]["phase"].is_string());
    assert!(batch["open"][0]["ageSeconds"].as_i64().unwrap() >= 0);
    assert_eq!(batch["pending"][0]["arn"], stuck.as_str());
    assert_eq!(batch["pending"][0]["status"], "Failed");
    assert_eq!(batch["lastRun"]["runId"], "run-2");
    assert_eq!(batch["lastRun"]["ok"], true);
    // and a family that never ran says so
    assert!(family(&status, "model-import")["lastRun"].is_null());
    // and the table says the same to a person
    for expected in [
        "FAMILY",
        "batch-inference",
        "model-import",
        open.as_str(),
        stuck.as_str(),
        "Pending notices",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
}

#[tokio::test]
async fn status_shows_the_open_jobs_of_every_account_and_region() {
    // given a fleet of the own account and a member account in two regions, with a job
    // running in the member account's second region, recorded open by a run
    use jobwatch::targets::{Account, Regions, RoleArn, TargetSettings};
    let stack = Stack::start().await;
    let role = "arn:aws:iam::222222222222:role/bedrock-jobwatch-reader";
    let settings = TargetSettings {
        regions: Regions::Listed(vec!["us-east-1".into(), "eu-west-1".into()]),
        accounts: vec![Account::Own, Account::Member(RoleArn::parse(role).unwrap())],
        external_id: None,
        concurrency: 2,
    };
    let fleet = stack.batch_fleet(&settings).await;
    let member = stack.emulator.in_scope("222222222222", "eu-west-1");
    let arn = member.create_batch("far-away").await;
    fleet.run(Utc::now(), "fleet-run").await.unwrap();

    // when the CLI runs with the functions' configuration
    let mut env = stack.env();
    env.push(("REGIONS", "us-east-1,eu-west-1".to_owned()));
    env.push(("ACCOUNTS", format!("self,{role}")));
    let status = json_of(&cli_with(env.clone(), &["status", "--json"]).await);
    let text = ok(&cli_with(env, &["status"]).await);

    // then its open job is listed, by the ARN that names its account and region
    let batch = family(&status, "batch-inference");
    let open: Vec<&str> = batch["open"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["arn"].as_str())
        .collect();
    assert_eq!(open, [arn.as_str()]);
    assert!(arn.contains(":eu-west-1:222222222222:"), "{arn}");
    // and each of the four scopes shows the fleet's run
    let scopes: Vec<(&str, &str)> = batch["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let scope = s["scope"].as_str().unwrap_or_default();
            (scope, s["lastRun"]["runId"].as_str().unwrap_or_default())
        })
        .collect();
    assert_eq!(
        scopes,
        [
            ("self/us-east-1", "fleet-run"),
            ("self/eu-west-1", "fleet-run"),
            ("222222222222/us-east-1", "fleet-run"),
            ("222222222222/eu-west-1", "fleet-run"),
        ]
    );
    assert!(
        text.contains("Scopes (each account and region)")
            && text.contains("222222222222/eu-west-1"),
        "{text}"
    );
}

#[tokio::test]
async fn show_prints_the_item_and_its_notification_history() {
    // given a job that finished and was notified
    let stack = Stack::start().await;
    let arn = notified_job(&stack, "shown").await;

    // when
    let doc = json_of(&cli(&stack, &["show", &arn, "--json"]).await);
    let text = ok(&cli(&stack, &["show", &arn]).await);

    // then
    assert_eq!(doc["item"]["status"], "Completed");
    assert_eq!(doc["item"]["notified_status"], "Completed");
    let history = doc["notifications"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["status"], "Completed");
    for expected in [
        arn.as_str(),
        "notified_status",
        "Notifications",
        "transition",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
}

#[tokio::test]
async fn a_running_job_observed_over_three_runs_shows_its_rate_and_estimated_end() {
    // given a running batch job seen at 100, 250 and 400 of 1,000 records over 75 minutes
    let stack = Stack::start().await;
    let arn = stack.create_batch("moving").await;
    let start = Utc::now();
    stack.poller().run(start, "run-0").await.expect("poll");
    for (minute, processed) in [(5, 100), (40, 250), (80, 400)] {
        stack
            .set_progress(&arn, "InProgress", processed, 1000)
            .await;
        let at = start + chrono::Duration::minutes(minute);
        stack
            .poller()
            .run(at, &format!("run-{minute}"))
            .await
            .expect("poll");
    }

    // when an operator looks at it
    let doc = json_of(&cli(&stack, &["show", &arn, "--json"]).await);
    let text = ok(&cli(&stack, &["show", &arn]).await);
    let status = json_of(&cli(&stack, &["status", "--json"]).await);

    // then 300 records in 75 minutes: 240 an hour, 600 left, done 150 minutes after the last count
    let end = start + chrono::Duration::minutes(80 + 150);
    assert_eq!(doc["progress"]["recordsPerHour"], 240.0);
    assert_eq!(doc["progress"]["remaining"], 600);
    assert_eq!(doc["progress"]["basis"], "observed");
    let shown = doc["progress"]["end"].as_str().unwrap();
    let shown = chrono::DateTime::parse_from_rfc3339(shown).unwrap();
    assert!(
        (shown.timestamp() - end.timestamp()).abs() <= 1,
        "{shown} vs {end}"
    );
    assert_eq!(doc["item"]["observations"].as_array().unwrap().len(), 3);
    let line = text.lines().find(|l| l.starts_with("progress")).unwrap();
    assert!(
        line.contains("400 of 1000 records, 240/hour (observed)"),
        "{text}"
    );
    let eta = text
        .lines()
        .find(|l| l.starts_with("estimated end"))
        .unwrap();
    assert!(
        eta.contains(&end.format("%Y-%m-%dT%H:%M").to_string()),
        "{text}"
    );
    let open = &family(&status, "batch-inference")["open"][0];
    assert_eq!(
        (open["processed"].as_i64(), open["total"].as_i64()),
        (Some(400), Some(1000))
    );
    assert_eq!(open["progress"]["recordsPerHour"], 240.0);
    let table = ok(&cli(&stack, &["status"]).await);
    assert!(table.contains("400/1000 (240/h)"), "{table}");
}

#[tokio::test]
async fn renotify_sends_exactly_one_marked_message_and_nothing_else_follows() {
    // given a job whose notification was published
    let stack = Stack::start().await;
    let arn = notified_job(&stack, "missed-it").await;

    // when
    let out = cli(&stack, &["renotify", &arn]).await;

    // then exactly one message, marked as a re-send, valid against the schema
    ok(&out);
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].arn(), arn);
    assert_eq!(got[0].body["resend"], true);
    assert!(
        got[0].subject.starts_with("[re-sent]"),
        "{}",
        got[0].subject
    );
    // marked in the body; its attributes stay a terminal message's (at most 10 in all)
    assert_eq!(got[0].attributes["type"], "terminal");
    assert!(!got[0].attributes.contains_key("resend"));
    assert!(got[0].body["text"].as_str().unwrap().starts_with("RE-SENT"));
    // and the next poll sends nothing more
    poll(&stack, "after").await;
    assert!(stack.notifications().await.is_empty());
    // and the history has both, the re-send marked
    let record = stack.record(&arn).await.unwrap();
    let kinds: Vec<bool> = record.notifications.iter().map(|n| n.resend).collect();
    assert_eq!(kinds, vec![false, true]);
    assert_eq!((record.pending_status, record.watch), (None, None));
}

#[tokio::test]
async fn renotify_reaches_every_sink_the_pollers_deliver_to() {
    // given a notified job, and the functions' configuration with an event bus too
    let stack = Stack::start().await;
    let arn = notified_job(&stack, "to-every-sink").await;
    let bus = stack.bus_to_queue(&stack.bus_name()).await;
    let mut env = stack.env();
    env.push(("EVENT_BUS_NAME", bus.bus.clone()));

    // when
    let out = cli_with(env, &["renotify", &arn]).await;

    // then the topic and the bus each get the re-send once
    let said = ok(&out);
    assert!(said.contains("topic (") && said.contains("bus ("), "{said}");
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["resend"], true);
    let events = stack.bodies(&bus.queue_url).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail"]["jobArn"], arn.as_str());
    assert_eq!(events[0]["detail"]["resend"], true);
}

#[tokio::test]
async fn a_renotify_a_sink_refuses_keeps_what_went_out_and_the_next_poll_sends_the_rest_only() {
    // given a notified job, and an event bus that does not exist
    let stack = Stack::start().await;
    let arn = notified_job(&stack, "bus-missing").await;
    let mut env = stack.env();
    env.push(("EVENT_BUS_NAME", "no-such-bus".to_owned()));

    // when
    let out = cli_with(env, &["renotify", &arn]).await;

    // then it fails naming the bus, the topic has the re-send, and the item remembers that
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("bus sink"), "{}", stderr(&out));
    assert_eq!(stack.notifications().await.len(), 1);
    let record = stack.record(&arn).await.unwrap();
    let delivered = record.delivered.expect("the sinks that have the re-send");
    assert_eq!(
        delivered
            .sinks
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        ["topic"]
    );
    assert!(record.pending_status.is_some() && record.lease_owner.is_none());
    // and the next poll (topic only) completes it without sending the topic again
    poll(&stack, "after").await;
    assert!(stack.notifications().await.is_empty());
    let record = stack.record(&arn).await.unwrap();
    assert_eq!((record.pending_status, record.delivered), (None, None));
}

#[tokio::test]
async fn renotify_refuses_an_open_job_that_was_never_notified() {
    let stack = Stack::start().await;
    let arn = stack.create_batch("running").await;
    poll(&stack, "run-1").await;

    let out = cli(&stack, &["renotify", &arn]).await;

    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("never notified"), "{}", stderr(&out));
    assert!(stack.notifications().await.is_empty());
}

#[tokio::test]
async fn backfill_watches_an_old_open_job_that_is_then_notified_once() {
    // given an open job submitted long before the first run's look-back (336 h)
    let stack = Stack::start().await;
    stack
        .control("seed", json!({"kind": "batch-inference", "count": 1, "statuses": {"InProgress": 1}, "spreadHours": 1, "newestHoursAgo": 500}))
        .await;
    let old = stack.job_arns().await.remove(0);
    poll(&stack, "first").await;
    assert!(stack.record(&old).await.is_none(), "outside the look-back");

    // when
    let out = cli(
        &stack,
        &["backfill", "--since", "30d", "--family", "batch-inference"],
    )
    .await;

    // then it is watched, silently
    let text = ok(&out);
    assert!(
        text.contains("batch-inference: listed 1, recorded 1"),
        "{text}"
    );
    assert!(stack.record(&old).await.unwrap().watch.is_some());
    poll(&stack, "next").await;
    assert!(stack.notifications().await.is_empty());
    // and when it finishes, it is notified once
    stack.set_status(&old, "Completed").await;
    poll(&stack, "finished").await;
    poll(&stack, "again").await;
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].arn(), got[0].status()), (old.as_str(), "Completed"));
}

#[tokio::test]
async fn test_notify_publishes_one_clearly_marked_message() {
    let stack = Stack::start().await;

    let out = cli(&stack, &["test-notify", "--status", "Failed"]).await;

    assert!(ok(&out).contains("delivered to topic ("));
    let got = stack.notifications().await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["test"], true);
    assert!(got[0].subject.starts_with("[TEST]"), "{}", got[0].subject);
    assert_eq!(got[0].attributes["type"], "test");
    assert_eq!(got[0].attributes["outcome"], "failure");
    assert!(got[0].body["text"]
        .as_str()
        .unwrap()
        .contains("no Bedrock job finished"));
}

#[tokio::test]
async fn bad_input_gets_a_clear_message_and_exit_code_2() {
    let stack = Stack::start().await;
    let unknown = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/nosuchjob000";
    let cases: [(&[&str], &str); 7] = [
        (&["show", unknown], "no job"),
        (&["renotify", unknown], "no job"),
        (&["show", "not-an-arn"], "not a Bedrock job ARN"),
        (&["backfill", "--since", "last tuesday"], "not a time"),
        (&["backfill", "--since", "2099-01-01"], "not in the past"),
        (
            &["backfill", "--since", "30d", "--family", "nope"],
            "unknown family",
        ),
        (
            &["test-notify", "--status", "InProgress"],
            "not a finished batch inference status",
        ),
    ];
    for (args, message) in cases {
        let out = cli(&stack, args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let mut env = stack.env();
    env.retain(|(k, _)| *k != "JOBS_TABLE");
    let out = cli_with(env, &["status"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("JOBS_TABLE"), "{}", stderr(&out));
    assert!(stack.notifications().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn status_shows_an_account_whose_role_is_refused_as_failing_with_its_error() {
    // given a worker's clocks for a member account whose role was refused three periods in a
    // row, and a healthy one
    use jobwatch::ports::ScheduleStore;
    use jobwatch::schedule::{Clock, Clocks, Outcome};
    let stack = Stack::start().await;
    let store = stack.store();
    let refused = "arn:aws:iam::222222222222:role/bedrock-jobwatch-reader";
    let healthy = "arn:aws:iam::333333333333:role/bedrock-jobwatch-reader";
    let now = Utc::now();
    let denied = Outcome::Failed("cannot assume role: AccessDenied".into());
    let mut clock = Clock::default();
    for _ in 0..3 {
        clock = clock.after(now, &denied);
    }
    let failing: Clocks = [("access#222222222222".to_owned(), clock)].into();
    let fine: Clocks = [(
        "batch-inference#333333333333#us-east-1".to_owned(),
        Clock::default().after(now, &Outcome::Ok),
    )]
    .into();
    let owner = jobwatch::domain::RunId::new("worker");
    for (shard, clocks) in [
        ("account#222222222222", &failing),
        ("account#333333333333", &fine),
    ] {
        store
            .save_shard(shard, &owner, 0, clocks, Some(now))
            .await
            .unwrap();
    }
    // when the CLI runs with the functions' ACCOUNTS
    let mut env = stack.env();
    env.push(("ACCOUNTS", format!("{refused},{healthy}")));
    let status = json_of(&cli_with(env.clone(), &["status", "--json"]).await);
    let text = ok(&cli_with(env, &["status"]).await);
    // then the refused account reads failing, with its error, and the healthy one ok
    let scopes = status["health"]["scopes"].as_array().unwrap();
    assert_eq!(scopes[0]["scope"], "access#222222222222");
    assert_eq!(scopes[0]["failures"], 3);
    assert!(scopes[0]["error"]
        .as_str()
        .unwrap()
        .contains("AccessDenied"));
    assert_eq!(scopes[1]["failures"], 0);
    for expected in [
        "1 scopes ok, 1 failing",
        "access#222222222222",
        "FAILING x3",
        "AccessDenied",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
}
