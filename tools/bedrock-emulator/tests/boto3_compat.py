"""Drives every emulated operation through boto3 (botocore parses strictly by the service model).

Usage: python3 boto3_compat.py http://127.0.0.1:PORT   (exits non-zero on any mismatch)
"""
import datetime
import json
import sys
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x",
          aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
bedrock = boto3.client("bedrock", **kw)
runtime = boto3.client("bedrock-runtime", **kw)


def control(path, body):
    req = urllib.request.Request(f"{endpoint}/_emulator/{path}", json.dumps(body).encode(),
                                 {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))


def expect_error(code, fn, **args):
    try:
        fn(**args)
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response
        return
    raise AssertionError(f"expected {code}")


arn = bedrock.create_model_invocation_job(
    jobName="boto-job", roleArn="arn:aws:iam::123456789012:role/r", modelId="amazon.nova-lite-v1:0",
    inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://in-bucket/a.jsonl"}},
    outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://out-bucket/"}},
    timeoutDurationInHours=72, modelInvocationType="Converse",
    vpcConfig={"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]})["jobArn"]
control(f"jobs/{arn.split('/')[-1]}/status",
        {"status": "PartiallyCompleted", "counts": {"totalRecordCount": 5, "successRecordCount": 4,
                                                    "errorRecordCount": 1, "processedRecordCount": 5}})
job = bedrock.get_model_invocation_job(jobIdentifier=arn)
assert isinstance(job["submitTime"], datetime.datetime)
assert isinstance(job["endTime"], datetime.datetime)
assert isinstance(job["jobExpirationTime"], datetime.datetime)
assert job["status"] == "PartiallyCompleted" and job["errorRecordCount"] == 1
assert job["vpcConfig"]["subnetIds"] == ["subnet-1"] and job["modelInvocationType"] == "Converse"
listed = bedrock.list_model_invocation_jobs(
    submitTimeAfter=datetime.datetime(2020, 1, 1), sortBy="CreationTime", sortOrder="Ascending",
    nameContains="boto", statusEquals="PartiallyCompleted", maxResults=10)
assert [j["jobArn"] for j in listed["invocationJobSummaries"]] == [arn]
bedrock.stop_model_invocation_job  # exists in the model
expect_error("ConflictException", bedrock.stop_model_invocation_job, jobIdentifier=arn)
expect_error("ResourceNotFoundException", bedrock.get_model_invocation_job, jobIdentifier="abcdefabcdef")

control("seed", {"kind": "batch-inference", "count": 2500})
pages = list(bedrock.get_paginator("list_model_invocation_jobs").paginate(PaginationConfig={"PageSize": 1000}))
assert sum(len(p["invocationJobSummaries"]) for p in pages) == 2501, len(pages)

imp = bedrock.create_model_import_job(
    jobName="boto-import", importedModelName="boto-model", roleArn="arn:aws:iam::123456789012:role/r",
    modelDataSource={"s3DataSource": {"s3Uri": "s3://model-bucket/m/"}})
assert imp["ResponseMetadata"]["HTTPStatusCode"] == 201
got = bedrock.get_model_import_job(jobIdentifier="boto-import")
assert got["jobArn"] == imp["jobArn"] and isinstance(got["creationTime"], datetime.datetime)
assert bedrock.list_model_import_jobs(creationTimeAfter=datetime.datetime(2020, 1, 1))["modelImportJobSummaries"]

inv = runtime.start_async_invoke(modelId="amazon.nova-reel-v1:0", modelInput={"taskType": "TEXT_VIDEO"},
                                 outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://video-bucket/o"}})
got = runtime.get_async_invoke(invocationArn=inv["invocationArn"])
assert got["status"] == "InProgress" and isinstance(got["submitTime"], datetime.datetime)
assert runtime.list_async_invokes(sortBy="SubmissionTime", maxResults=5)["asyncInvokeSummaries"]
tagged = bedrock.create_model_import_job(
    jobName="boto-tagged", importedModelName="boto-tagged-model", roleArn="arn:aws:iam::123456789012:role/r",
    modelDataSource={"s3DataSource": {"s3Uri": "s3://model-bucket/m/"}},
    jobTags=[{"key": "team", "value": "search"}])["jobArn"]
bedrock.tag_resource(resourceARN=tagged, tags=[{"key": "owner", "value": "ana"}])
bedrock.untag_resource(resourceARN=tagged, tagKeys=["team"])
assert bedrock.list_tags_for_resource(resourceARN=tagged)["tags"] == [{"key": "owner", "value": "ana"}]
print("boto3 compatibility: ok")
