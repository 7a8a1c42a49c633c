"""The local demo: the whole system on this machine, no AWS account.

moto (DynamoDB, SNS, SQS) and the Bedrock emulator (auto-advance) start on free ports; the
pollers are the binaries scripts/demo.sh built, running against the Lambda runtime API that
`cargo lambda watch --only-lambda-apis` emulates (so nothing is compiled a second time), and are
invoked with `cargo lambda invoke` and the EventBridge Scheduler payload the deployed schedules
send. Jobs are submitted with boto3, the notifications are read back from an SQS queue subscribed
to the topic, and every process is stopped at the end (also on Ctrl-C).
"""
import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".demo"
# where scripts/demo.sh's `cargo build` put the binaries (CARGO_TARGET_DIR or the default)
TARGET = Path(json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                                        capture_output=True, text=True, check=True).stdout)["target_directory"])
# function name (as `cargo lambda invoke` calls it) -> its family, from the template's Families
# mapping (`Name`, `Poller`): the one binary, JOB_FAMILY set
FUNCTIONS = dict((poller, name) for name, poller in re.findall(
    r"^      Name: ([a-z-]+)\n(?:      .*\n)*?      Poller: ([a-z-]+)$", (ROOT / "template.yaml").read_text(), re.M))
TIMEOUT_S = 240
CREDS = dict(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
procs = []


def say(msg=""):
    print(msg, flush=True)


def start(cmd, log, env=None, pattern=None):
    """Starts a process in its own group; with `pattern`, waits for it in the log and returns the match."""
    out = open(WORK / log, "w")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True)
    procs.append(p)
    if not pattern:
        return p, None
    deadline = time.time() + 60
    while time.time() < deadline:
        m = re.search(pattern, (WORK / log).read_text(errors="replace"))
        if m:
            return p, m
        if p.poll() is not None:
            raise SystemExit(f"{cmd[0]} exited early; see {WORK / log}")
        time.sleep(0.05)
    raise SystemExit(f"{cmd[0]} did not start; see {WORK / log}")


def stop_all():
    for p in reversed(procs):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except Exception:
                os.killpg(p.pid, signal.SIGKILL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    deadline = time.time() + 300
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("cargo lambda watch did not open its port")


def email(n):
    """The notification as an email subscriber reads it: the message's own email variant (the
    JSON document carries the same text in `text`)."""
    body = "\n".join("  " + line for line in n["body"]["text"].splitlines())
    return f"Subject: {n['subject']}\n\n{body}"


def main():
    WORK.mkdir(exist_ok=True)
    say("==> starting moto (DynamoDB, SNS, SQS) and the Bedrock emulator (auto-advance)")
    _, m = start(["moto_server", "-H", "127.0.0.1", "-p", "0"], "moto.log", pattern=r"Running on http://127\.0\.0\.1:(\d+)")
    moto = f"http://127.0.0.1:{m.group(1)}"
    emulator_bin = str(TARGET / "debug" / "bedrock-emulator")
    _, m = start([emulator_bin, "--port", "0", "--auto-advance", "--step-ms", "1500", "--seed", "7"], "emulator.log",
                 pattern=r"listening on (http://\S+)")
    emulator = m.group(1)
    say(f"    moto {moto}   emulator {emulator}")

    cfg = Config(retries={"max_attempts": 3})
    ddb = boto3.client("dynamodb", endpoint_url=moto, config=cfg, **CREDS)
    sns = boto3.client("sns", endpoint_url=moto, config=cfg, **CREDS)
    sqs = boto3.client("sqs", endpoint_url=moto, config=cfg, **CREDS)
    bedrock = boto3.client("bedrock", endpoint_url=emulator, config=cfg, **CREDS)
    runtime = boto3.client("bedrock-runtime", endpoint_url=emulator, config=cfg, **CREDS)
    agent = boto3.client("bedrock-agent", endpoint_url=emulator, config=cfg, **CREDS)
    bda = boto3.client("bedrock-data-automation-runtime", endpoint_url=emulator, config=cfg, **CREDS)
    agentcore = boto3.client("bedrock-agentcore", endpoint_url=emulator, config=cfg, **CREDS)
    flows = boto3.client("bedrock-agent-runtime", endpoint_url=emulator, config=cfg, **CREDS)
    libraries = boto3.client("bedrock-data-automation", endpoint_url=emulator, config=cfg, **CREDS)

    say("==> creating the jobs table, the topic and an SQS subscriber")
    ddb.create_table(TableName="bedrock-jobwatch-jobs", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "kind", "AttributeType": "S"},
                                           {"AttributeName": "watch", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     GlobalSecondaryIndexes=[{"IndexName": "family-watch-index",
                                              "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"},
                                                            {"AttributeName": "watch", "KeyType": "RANGE"}],
                                              "Projection": {"ProjectionType": "ALL"}}])
    topic = sns.create_topic(Name="bedrock-jobwatch")["TopicArn"]
    queue = sqs.create_queue(QueueName="demo-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    port = free_port()
    say(f"==> the pollers on the Lambda runtime API of cargo lambda watch, port {port} (logs in .demo/)")
    # Only the runtime API: `cargo lambda watch` would otherwise compile the pollers again, with
    # other settings than the `cargo build` of scripts/demo.sh.
    start(["cargo", "lambda", "watch", "--only-lambda-apis", "--invoke-address", "127.0.0.1", "--invoke-port", str(port)], "watch.log")
    wait_port(port)
    for f in FUNCTIONS:
        env = dict(os.environ, JOBS_TABLE="bedrock-jobwatch-jobs", NOTIFY_TOPIC_ARN=topic, AWS_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_ENDPOINT_URL=moto,
                   AWS_ENDPOINT_URL_BEDROCK=emulator, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=emulator, RUST_LOG="warn",
                   AWS_ENDPOINT_URL_BEDROCK_AGENT=emulator, AWS_ENDPOINT_URL_BEDROCK_DATA_AUTOMATION_RUNTIME=emulator,
                   AWS_ENDPOINT_URL_BEDROCK_AGENTCORE=emulator,
                   AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME=emulator, AWS_ENDPOINT_URL_BEDROCK_DATA_AUTOMATION=emulator,
                   # what Lambda sets, pointing at the emulated runtime API of this function
                   AWS_LAMBDA_RUNTIME_API=f"http://127.0.0.1:{port}/.rt/{f}", AWS_LAMBDA_FUNCTION_NAME=f,
                   AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", JOB_FAMILY=FUNCTIONS[f])
        start([str(TARGET / "debug" / "jobwatch-poller")], f"{f}.log", env=env)

    def invoke(function, data_file="events/scheduler.json"):
        out = subprocess.run(["cargo", "lambda", "invoke", function, "--invoke-address", "127.0.0.1", "--invoke-port", str(port), "--data-file",
                              str(data_file)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise SystemExit(f"invoke {function} failed:\n{out.stdout}\n{out.stderr}")
        return json.loads(out.stdout)

    say("==> an account with history: 300 old jobs, then the first run records them silently")
    requests = __import__("urllib.request").request
    seed = json.dumps({"kind": "batch-inference", "count": 300, "statuses": {"Completed": 8, "Failed": 2},
                       "spreadHours": 200, "newestHoursAgo": 2, "namePrefix": "last-month"}).encode()
    requests.urlopen(requests.Request(f"{emulator}/_emulator/seed", seed, {"content-type": "application/json"}))
    for f in FUNCTIONS:
        s = invoke(f)
        say(f"    {f}: first run, listed {s['listed']}, recorded {s['transitions']}, notified {s['notifications_sent']}")
        if s["failures"] or s["deferred"]:
            raise SystemExit(f"{f}: the first run did not complete: {s}")

    say("==> submitting today's jobs (the emulator decides how each ends)")
    plan = [("summarise-tickets", "Completed"), ("translate-catalogue", "Completed"), ("score-leads", "Failed"),
            ("embed-wiki", "PartiallyCompleted"), ("nightly-eval", "Expired"), ("backfill-2019", None)]
    expected = {}
    for name, outcome in plan:
        args = dict(jobName=name, roleArn="arn:aws:iam::123456789012:role/BedrockBatch",
                    modelId="anthropic.claude-3-haiku-20240307-v1:0",
                    inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://demo-input/{name}.jsonl"}},
                    outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://demo-output/{name}/"}})
        if outcome:
            args["tags"] = [{"key": "emulator:outcome", "value": outcome}]
        arn = bedrock.create_model_invocation_job(**args)["jobArn"]
        expected[arn] = outcome or "Stopped"
        say(f"    {name:22} -> {outcome or 'will be stopped by hand'}")
    role = "arn:aws:iam::123456789012:role/BedrockJobs"
    for name, outcome in [("import-llama-3-8b", "Completed"), ("import-mistral-broken", "Failed")]:
        arn = bedrock.create_model_import_job(
            jobName=name, importedModelName=f"{name}-model", roleArn=role,
            modelDataSource={"s3DataSource": {"s3Uri": f"s3://demo-models/{name}/"}},
            jobTags=[{"key": "emulator:outcome", "value": outcome}])["jobArn"]
        expected[arn] = outcome
        say(f"    {name:22} -> {outcome} (model import)")
    for prompt, outcome in [("launch-video", "Completed"), ("banned-video", "Failed")]:
        arn = runtime.start_async_invoke(
            modelId="amazon.nova-reel-v1:0", modelInput={"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": prompt}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://demo-videos/{prompt}"}},
            tags=[{"key": "emulator:outcome", "value": outcome}])["invocationArn"]
        expected[arn] = outcome
        say(f"    {prompt:22} -> {outcome} (async invocation)")
    tune_stop = None
    for name, outcome in [("tune-support-bot", "Completed"), ("tune-abandoned", None)]:
        args = dict(jobName=name, customModelName=f"{name}-model", roleArn=role,
                    baseModelIdentifier="amazon.titan-text-express-v1",
                    trainingDataConfig={"s3Uri": f"s3://demo-train/{name}.jsonl"},
                    outputDataConfig={"s3Uri": f"s3://demo-train/{name}/"})
        if outcome:
            args["jobTags"] = [{"key": "emulator:outcome", "value": outcome}]
        arn = bedrock.create_model_customization_job(**args)["jobArn"]
        expected[arn] = outcome or "Stopped"
        tune_stop = tune_stop if outcome else arn
        say(f"    {name:22} -> {outcome or 'will be stopped by hand'} (fine-tuning)")
    kb = {"knowledgeBaseConfig": {"retrieveConfig": {"knowledgeBaseId": "KBSUPPORT01", "knowledgeBaseRetrievalConfiguration":
                                                     {"vectorSearchConfiguration": {"numberOfResults": 5}}}}}
    for name, outcome, inference in [
            ("eval-support-rag", "Completed", {"ragConfigs": [kb]}),
            ("eval-haiku-summaries", "Failed", {"models": [{"bedrockModel": {"modelIdentifier": "anthropic.claude-3-haiku-20240307-v1:0"}}]})]:
        arn = bedrock.create_evaluation_job(
            jobName=name, roleArn=role, inferenceConfig=inference, outputDataConfig={"s3Uri": f"s3://demo-evals/{name}/"},
            evaluationConfig={"automated": {"datasetMetricConfigs": [{
                "taskType": "QuestionAndAnswer", "dataset": {"name": "Builtin.BoolQ"}, "metricNames": ["Builtin.Accuracy"]}]}},
            jobTags=[{"key": "emulator:outcome", "value": outcome}])["jobArn"]
        expected[arn] = outcome
        say(f"    {name:22} -> {outcome} (model evaluation)")
    arn = bedrock.create_model_copy_job(
        sourceModelArn="arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/sup0rtb0t001",
        targetModelName="support-bot-eu", targetModelTags=[{"key": "emulator:outcome", "value": "Completed"}])["jobArn"]
    expected[arn] = "Completed"
    say(f"    {'support-bot-eu':22} -> Completed (model copy from us-west-2)")
    kb = agent.create_knowledge_base(
        name="support-docs", roleArn="arn:aws:iam::123456789012:role/KnowledgeBase",
        knowledgeBaseConfiguration={"type": "VECTOR", "vectorKnowledgeBaseConfiguration": {
            "embeddingModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"}})["knowledgeBase"]
    for source, outcome in [("product-manuals", "COMPLETE"), ("faq-pages", "FAILED")]:
        ds = agent.create_data_source(knowledgeBaseId=kb["knowledgeBaseId"], name=source, dataSourceConfiguration={
            "type": "S3", "s3Configuration": {"bucketArn": f"arn:aws:s3:::demo-{source}"}})["dataSource"]
        job = agent.start_ingestion_job(knowledgeBaseId=kb["knowledgeBaseId"], dataSourceId=ds["dataSourceId"],
                                        description=f"nightly re-sync emulator:outcome={outcome}")["ingestionJob"]
        expected[f"{kb['knowledgeBaseArn']}/data-source/{ds['dataSourceId']}/ingestion-job/{job['ingestionJobId']}"] = outcome
        say(f"    {'support-docs/' + source:22} -> {outcome} (knowledge-base ingestion)")
    for document, outcome in [("invoice-0042.pdf", "Success"), ("scan-unreadable.tiff", "ClientError")]:
        arn = bda.invoke_data_automation_async(
            inputConfiguration={"s3Uri": f"s3://demo-documents/{document}"}, outputConfiguration={"s3Uri": "s3://demo-bda-output/"},
            dataAutomationProfileArn="arn:aws:bedrock:us-east-1:123456789012:data-automation-profile/us.data-automation-v1",
            tags=[{"key": "emulator:outcome", "value": outcome}])["invocationArn"]
        expected[arn] = outcome
        # Data Automation has no List: Bedrock's "Job Created" event is how the poller learns of it.
        event = WORK / f"bda-created-{arn.rsplit('/', 1)[-1]}.json"
        event.write_bytes(requests.urlopen(f"{emulator}/_emulator/jobs/{arn.rsplit('/', 1)[-1]}/event").read())
        s = invoke("data-automation-poller", event)
        say(f"    {document:22} -> {outcome} (Data Automation; its Created event registered it: {s['result']})")
    arn = bedrock.create_advanced_prompt_optimization_job(
        jobName="support-bot-prompts", inputConfig={"s3Uri": "s3://demo-prompts/support-bot.jsonl"},
        outputConfig={"s3Uri": "s3://demo-prompts/optimized/support-bot/"},
        modelConfigurations=[{"modelId": "amazon.nova-lite-v1:0"}, {"modelId": "anthropic.claude-3-haiku-20240307-v1:0"}],
        tags=[{"key": "emulator:outcome", "value": "PartiallyCompleted"}])["jobArn"]
    expected[arn] = "PartiallyCompleted"
    say(f"    {'support-bot-prompts':22} -> PartiallyCompleted (advanced prompt optimization)")
    policy = bedrock.create_automated_reasoning_policy(name="HR leave policy")["policyArn"]
    document = {"document": b"Full-time employees get 20 days of leave a year.", "documentContentType": "txt",
                "documentName": "hr-leave.txt", "documentDescription": "leave rules emulator:outcome=COMPLETED"}
    build = bedrock.start_automated_reasoning_policy_build_workflow(
        policyArn=policy, buildWorkflowType="INGEST_CONTENT",
        sourceContent={"workflowContent": {"documents": [document]}})["buildWorkflowId"]
    expected[f"{policy}/build-workflow/{build}"] = "COMPLETED"
    say(f"    {'HR leave policy':22} -> COMPLETED (Automated Reasoning policy build)")
    # AgentCore batch evaluations (bedrock-agentcore): the results go to a CloudWatch Logs group.
    for name, outcome in [("support_agent_nightly", "COMPLETED"), ("support_agent_regression", "COMPLETED_WITH_ERRORS")]:
        arn = agentcore.start_batch_evaluation(
            batchEvaluationName=name,
            dataSourceConfig={"cloudWatchLogs": {"serviceNames": ["support_agent.DEFAULT"],
                                                 "logGroupNames": ["/aws/bedrock-agentcore/runtimes/support_agent-DEFAULT"]}},
            evaluators=[{"evaluatorId": "Builtin.Helpfulness"}, {"evaluatorId": "Builtin.GoalSuccessRate"}],
            outputConfig={"cloudWatchConfig": {"logGroupName": "/aws/bedrock-agentcore/evaluations/results",
                                               "logStreamName": name, "resultDestination": "DEDICATED_LOG_GROUP"}},
            tags={"emulator:outcome": outcome})["batchEvaluationArn"]
        expected[arn] = outcome
        say(f"    {name:22} -> {outcome} (AgentCore batch evaluation)")
    # Flows: an asynchronous run of a flow's alias (bedrock-agent-runtime), found by walking the flows.
    held_runs = []
    flow = agent.create_flow(name="ticket-triage", executionRoleArn="arn:aws:iam::123456789012:role/FlowRole")
    alias = agent.create_flow_alias(flowIdentifier=flow["id"], name="live", routingConfiguration=[{"flowVersion": "1"}])
    arn = flows.start_flow_execution(flowIdentifier=flow["id"], flowAliasIdentifier=alias["id"], inputs=[{
        "nodeName": "FlowInputNode", "nodeOutputName": "document", "content": {"document": "ticket 4711"}}])["executionArn"]
    expected[arn] = "Succeeded"
    held_runs.append((arn, "Running", "Succeeded"))
    say(f"    {'ticket-triage/live':22} -> Succeeded (flow run)")
    # A vocabulary upsert into a Data Automation library (bedrock-data-automation), found by walking the libraries.
    library = libraries.create_data_automation_library(libraryName="medical-terms")["libraryArn"]
    job = libraries.invoke_data_automation_library_ingestion_job(
        libraryArn=library, inputConfiguration={"s3Object": {"s3Uri": "s3://demo-vocabulary/terms.jsonl"}},
        entityType="VOCABULARY", operationType="UPSERT", outputConfiguration={"s3Uri": "s3://demo-vocabulary/results/"})["jobArn"]
    arn = f"{library}/library-ingestion-job/{job.rsplit('/', 1)[-1]}"
    expected[arn] = "COMPLETED_WITH_ERRORS"
    held_runs.append((arn, "IN_PROGRESS", "COMPLETED_WITH_ERRORS"))
    say(f"    {'medical-terms':22} -> COMPLETED_WITH_ERRORS (Data Automation library ingestion)")
    # Resources that become ready, and re-open: a model deployed once it is Active, a throughput
    # updated once it is InService; each settling is told once (pending: what to do after a sighting).
    outcome = lambda value: [{"key": "emulator:outcome", "value": value}]  # noqa: E731
    resources = []
    weights = bedrock.create_custom_model(
        modelName="support-bot-weights", modelSourceConfig={"s3DataSource": {"s3Uri": "s3://demo-models/support-bot/"}},
        roleArn=role, modelTags=outcome("Active"))["modelArn"]
    resources.append((weights, "Active"))
    say(f"    {'support-bot-weights':22} -> Active, then deployed on demand (custom model)")
    throughput = bedrock.create_provisioned_model_throughput(
        provisionedModelName="pt-support", modelId="anthropic.claude-3-haiku-20240307-v1:0:200k", modelUnits=2,
        commitmentDuration="OneMonth", tags=outcome("InService"))["provisionedModelArn"]
    resources.append((throughput, "InService"))
    say(f"    {'pt-support':22} -> InService, then updated -> InService again (provisioned throughput)")
    no_capacity = bedrock.create_provisioned_model_throughput(
        provisionedModelName="pt-no-capacity", modelId="anthropic.claude-3-haiku-20240307-v1:0:200k", modelUnits=40,
        tags=outcome("Failed"))["provisionedModelArn"]
    resources.append((no_capacity, "Failed"))
    say(f"    {'pt-no-capacity':22} -> Failed (provisioned throughput)")
    expected_times = collections.Counter(expected.items()) + collections.Counter(resources)

    held = {}  # ARN -> (the status it is held in, the one it is released to once a poller saw it held)

    def control_status(arn, status):
        body = json.dumps({"status": status}).encode()
        requests.urlopen(requests.Request(f"{emulator}/_emulator/jobs/{arn}/status", body, {"content-type": "application/json"}))

    def hold(arn, held_in, settles_in):
        # Held until a poller has seen it (a real update or run takes minutes, not a demo step).
        control_status(arn, held_in)
        held[arn] = (held_in, settles_in)

    def hold_updating(arn, settles_in):
        hold(arn, "Updating", settles_in)

    def release_seen_updates():
        for arn, (held_in, status) in list(held.items()):
            item = ddb.get_item(TableName="bedrock-jobwatch-jobs", Key={"pk": {"S": arn}}, ConsistentRead=True).get("Item", {})
            if item.get("status", {}).get("S") == held_in:
                control_status(arn, status)
                del held[arn]

    # A flow run and a library ingestion end in one step: held until their pollers saw them
    # running, so that their end is told.
    for arn, held_in, settles_in in held_runs:
        hold(arn, held_in, settles_in)

    def follow_up(arn, status):
        """What the demo does once a resource settled: deploy the model, update the throughput and the deployment."""
        if (arn, status) == (weights, "Active"):
            d = bedrock.create_custom_model_deployment(modelDeploymentName="support-bot-on-demand", modelArn=weights,
                                                       tags=outcome("Active"))["customModelDeploymentArn"]
            expected_times[(d, "Active")] += 1
        elif (arn, status) == (throughput, "InService") and expected_times[(arn, status)] == 1:
            bedrock.update_provisioned_model_throughput(provisionedModelId=arn, desiredProvisionedModelName="pt-support-v2")
            hold_updating(arn, "InService")
            expected_times[(arn, status)] += 1
        elif ":custom-model-deployment/" in arn and status == "Active":
            bedrock.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=weights)
            hold_updating(arn, "UpdateCompleted")
            expected_times[(arn, "UpdateCompleted")] += 1
    stop_arn = [a for a, o in expected.items() if o == "Stopped" and ":model-invocation-job/" in a][0]
    time.sleep(1)
    bedrock.stop_model_invocation_job(jobIdentifier=stop_arn)
    bedrock.stop_model_customization_job(jobIdentifier=tune_stop)

    say("==> polling every 2 s until every job has been notified")
    seen = {}  # dedupKey -> deliveries; a resource's settlings have one key each
    told = collections.Counter()  # (ARN, status) -> settlings told
    started = time.time()
    run = 0
    while +(expected_times - told) and time.time() - started < TIMEOUT_S:
        run += 1
        for f in FUNCTIONS:
            s = invoke(f)
            say(f"    run {run:2} {f}: listed {s['listed']}, open {s['watched']}, transitions {s['transitions']}, "
                f"notified {s['notifications_sent']}, pending {s['notifications_pending']}, failures {s['failures']}, "
                f"{s['duration_ms']} ms")
        release_seen_updates()
        while True:
            msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not msgs:
                break
            for msg in msgs:
                env = json.loads(msg["Body"])
                n = {"subject": env.get("Subject", ""), "body": json.loads(env["Message"])}
                key = (n["body"]["jobArn"], n["body"]["status"])
                dedup = n["body"]["dedupKey"]
                seen[dedup] = seen.get(dedup, 0) + 1
                if seen[dedup] == 1:
                    told[key] += 1
                    follow_up(*key)
                say("")
                say(email(n))
                say("")
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"])
        time.sleep(2)

    say("==> job states in DynamoDB (today's jobs)")
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName="bedrock-jobwatch-jobs"):
        items += [i for i in page["Items"] if any(i["pk"]["S"] == a for a, _ in expected_times)]
    say(f"    {'kind':24} {'job':30} {'status':20} {'previous':12} notified")
    for i in sorted(items, key=lambda i: (i["kind"]["S"], i.get("name", {}).get("S", ""))):
        name = i.get("name", {}).get("S") or i["pk"]["S"].rsplit("/", 1)[-1]
        name = name if len(name) <= 30 else name[:29] + "…"
        say(f"    {i['kind']['S']:24} {name:30} {i['status']['S']:20} "
            f"{i.get('previous_status', {}).get('S', '-'):12} {i.get('notified_status', {}).get('S', '-')}")
    dupes = sum(c - 1 for c in seen.values())
    missing = [f"{a} {s} x{n}" for (a, s), n in (expected_times - told).items()]
    arns = {a for a, _ in expected_times}
    say(f"\n==> {len(seen)} notifications for {len(arns)} jobs and resources, {dupes} duplicates, {len(missing)} missing, "
        f"{int(time.time() - started)} s")
    say("\n==> what an operator sees: jobwatch-cli status (same configuration as the pollers)")
    cli_env = dict(os.environ, JOBS_TABLE="bedrock-jobwatch-jobs", NOTIFY_TOPIC_ARN=topic, AWS_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_ENDPOINT_URL=moto,
                   AWS_ENDPOINT_URL_BEDROCK=emulator, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=emulator)
    status = subprocess.run([str(TARGET / "debug" / "jobwatch-cli"), "status"], env=cli_env, cwd=ROOT,
                            capture_output=True, text=True)
    say(status.stdout.rstrip() or status.stderr.rstrip())
    if missing or dupes:
        raise SystemExit(f"demo failed: missing {missing}, duplicates {dupes}")
    if status.returncode != 0:
        raise SystemExit(f"demo failed: jobwatch-cli status exited {status.returncode}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        main()
    except KeyboardInterrupt:
        say("\ninterrupted")
        sys.exit(130)
    finally:
        stop_all()
