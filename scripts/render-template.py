"""Renders template.yaml as CloudFormation will receive it (AWS::LanguageExtensions as SAM CLI
expands it, then the SAM transform, offline) for a few parameter combinations, checks what a real account needs of each rendering, and lints each with
cfn-lint.

The SAM transform generates resources the template does not spell out (function roles, event
invoke configs, event rules, schedules), so these checks look at its output, with the
combination's conditions evaluated: an `Fn::If` is resolved, resources whose condition is false
are dropped.

Usage: python3 scripts/render-template.py [--template FILE] [--keep DIR]   (exit 1 if a check fails)
       python3 scripts/render-template.py --expanded FILE   (writes template.yaml with its loops expanded)
       python3 scripts/render-template.py --resolved-member FILE   (writes member-account.yaml with
           its conditions resolved at the defaults, in the role's region and forwarding events:
           checkov does not look inside Fn::If)
       python3 scripts/render-template.py --compare OLD_TEMPLATE   (a refactoring's check: for every
           combination, each role's grants (its own and attached policies'), every other resource
           and the outputs of OLD_TEMPLATE's rendering against template.yaml's; exit 1 if any
           differs. E.g. OLD_TEMPLATE from `git show main:template.yaml`)
"""

import collections
import copy
import fnmatch
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
logging.getLogger("samtranslator").setLevel(logging.ERROR)

from cfnlint.decode import cfn_yaml  # noqa: E402
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
# The fan-out's functions (docs/deploying/organisation-fan-out.md).
FANOUT = {"Worker", "Dispatcher", "OrganizationRefresh"}


def template_families():
    """{poller function: its family's key}, from template.yaml's Families mapping: the
    template's one family list (nothing here names a family)."""
    text = cfn_yaml.load(str(ROOT / "template.yaml"))
    return {f"{key}Poller": key for key in text["Mappings"]["Families"]}


FAMILIES = template_families()

COMBINATIONS = {
    "defaults": {},
    "existing-topic": {
        "ExistingTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:team-notifications",
        "ExistingTopicKmsKeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "AlarmTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:ops-alarms",
    },
    "email-and-filter": {
        "NotificationEmail": "ml-team@example.com",
        "EmailFilterPolicy": '{"outcome":["failure","partial"]}',
        "AllowedSubscriptionProtocols": "email,sqs",
        "OperationsEmail": "ops@example.com",
        "PollPeriodMinutes": "60",
    },
    # every family but the first left out of WatchedFamilies
    "families-off": {"WatchedFamilies": next(iter(FAMILIES.values()))},
    "fleet": {
        "Regions": "us-east-1,us-west-2,eu-west-1",
        "MemberRoleArns": "arn:aws:iam::222222222222:role/bedrock-jobwatch-reader,arn:aws:iam::333333333333:role/bedrock-jobwatch-reader",
        "MemberExternalId": "jobwatch-org-1",
        "PollOwnAccount": "false",
        "WorkflowWaits": "on",
        "EventSourceOrganizationId": "o-a1b2c3d4e5",
        "EventSourceAccountIds": "444444444444",
        "BatchOutputManifestS3Arn": "arn:aws:s3:::acme-batch/output/*",
        "BatchOutputKmsKeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abcd1234-12ab-34cd-56ef-1234567890ab",
    },
    # An organisation fanned out over workers (docs/deploying/organisation-fan-out.md), read through a
    # role in the management account.
    "organization": {
        "OrganizationUnits": "ou-ab12-cdefgh34,r-ab12",
        "OrganizationAccountIds": "555555555555",
        "OrganizationExclusions": "ou-ab12-zzzzzzzz",
        "OrganizationReadRoleArn": "arn:aws:iam::999999999999:role/bedrock-jobwatch-org-reader",
        "Regions": "all-bedrock",
        "MemberExternalId": "jobwatch-org-1",
        "ChatNotifications": "on",
        # Waits on the members' jobs: the register function reads them through their roles.
        "WorkflowWaits": "on",
    },
    # The organisation read with this account's own credentials (management account or
    # delegated administrator): the refresh's organizations grants.
    "organization-direct": {
        "OrganizationUnits": "all",
        "OrganizationExclusions": "ou-ab12-zzzzzzzz",
    },
    "chat-and-bus": {
        "ChatNotifications": "on",
        "SlackWorkspaceId": "T0123ABCD",
        "SlackChannelId": "C0123ABCD",
        "TeamsTenantId": "11111111-2222-3333-4444-555555555555",
        "TeamsTeamId": "66666666-7777-8888-9999-000000000000",
        "TeamsChannelId": "19%3aabc%40thread.tacv2",
        "EventBusName": "ml-platform",
    },
    "existing-chat-topic-default-bus": {
        "ExistingChatTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:chat-alerts",
        "SlackWorkspaceId": "T0123ABCD",
        "SlackChannelId": "C0123ABCD",
        "EventBusName": "default",
    },
    "x86_64-organisation": {
        "Architecture": "x86_64",
        "KeepLegacyWatchIndex": "true",
        "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/org-boundary",
        "ReservedConcurrency": "1",
        "BatchOutputManifestS3Arn": "arn:aws:s3:::acme-batch/output/*",
        "BatchOutputKmsKeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abcd1234-12ab-34cd-56ef-1234567890ab",
    },
}


def expand_foreach(template):
    """AWS::LanguageExtensions' `Fn::ForEach` as CloudFormation documents it: one copy of the
    fragment per collection value (a list, or a `Ref` to a CommaDelimitedList parameter),
    `${Identifier}` (and `&{Identifier}`, alphanumerics only)
    replaced in its keys and strings and `{"Ref": Identifier}` by the value. Nothing else is
    resolved here (SAM CLI's own expansion also resolves Fn::Sub and Fn::If, not always
    correctly: a Sub of `${JobsTable.Arn}` comes out as a plain string), so the checks below see
    the intrinsics CloudFormation will evaluate."""

    def substitute(v, ident, value):
        if isinstance(v, str):
            return v.replace("${%s}" % ident, value).replace("&{%s}" % ident, re.sub("[^0-9A-Za-z]", "", value))
        if isinstance(v, list):
            return [substitute(x, ident, value) for x in v]
        if isinstance(v, dict):
            if v == {"Ref": ident}:
                return value
            return literal_names({substitute(k, ident, value): substitute(x, ident, value) for k, x in v.items()})
        return v

    def literal_names(v):
        """A `Fn::Sub` left with no variable is its string, also as the name in a Ref or Fn::GetAtt
        (`{"Ref": {"Fn::Sub": "Name"}}` -> `{"Ref": "Name"}`: names built in a loop)."""
        sub = lambda x: x["Fn::Sub"] if isinstance(x, dict) and set(x) == {"Fn::Sub"} and isinstance(x["Fn::Sub"], str) and "${" not in x["Fn::Sub"] else x
        if sub(v) is not v:
            return sub(v)
        if set(v) == {"Ref"}:
            return {"Ref": sub(v["Ref"])}
        if set(v) == {"Fn::GetAtt"} and isinstance(v["Fn::GetAtt"], list):
            return {"Fn::GetAtt": [sub(x) for x in v["Fn::GetAtt"]]}
        return v

    def expand(section):
        out = {}
        for k, v in section.items():
            if not k.startswith("Fn::ForEach::"):
                out[k] = v
                continue
            ident, collection, fragment = v
            for value in collection_values(collection):
                out.update(expand(substitute(fragment, ident, value)))
        return out

    def collection_values(collection):
        """A literal list, or a `Ref` to a CommaDelimitedList parameter (its value)."""
        if isinstance(collection, dict) and set(collection) == {"Ref"}:
            value = template["Parameters"][collection["Ref"]].get("Default", "")
            return [x.strip() for x in (value if isinstance(value, list) else value.split(",")) if x.strip()]
        return collection

    t = copy.deepcopy(template)
    t["Transform"] = [x for x in listify(t.get("Transform", [])) if x != "AWS::LanguageExtensions"]
    for section in ("Conditions", "Resources", "Outputs"):
        if section in t:
            t[section] = expand(t[section])
    return t


class NoManagedPolicies(ManagedPolicyLoader):
    """The template names no managed policies by name: nothing to look up (and no IAM call)."""

    def __init__(self):  # noqa: D107 (no IAM client)
        pass

    def load(self):
        return {}


def render(template, params):
    t = template_with(template, params)
    values = {k: p.get("Default") for k, p in t["Parameters"].items()}
    values.update({"AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"})
    t = expand_foreach(t)
    for r in t["Resources"].values():
        if r["Type"] == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    return transform(t, values, NoManagedPolicies())


class Resolver:
    """Evaluates the template's conditions for one combination of parameter values."""

    def __init__(self, template):
        # A parameter the template lacks reads as blank (to run the checks on an older template).
        self.params = collections.defaultdict(str, {k: p.get("Default", "") for k, p in template["Parameters"].items()})
        self.conditions = template.get("Conditions", {})
        self.mappings = template.get("Mappings", {})
        self.cache = {}

    def param(self, name):
        v = self.params[name]
        return v if not isinstance(v, str) or "," not in v else v.split(",")

    def value(self, v):
        if isinstance(v, dict) and len(v) == 1:
            (k, a), = v.items()
            if k == "Ref" and a in self.params:
                return self.params[a]
            if k == "Fn::FindInMap":
                return self.resolve(v)
            if k == "Fn::Join":
                parts = self.value(a[1])
                parts = parts if isinstance(parts, list) else [parts]
                return a[0].join(str(self.value(p)) for p in parts)
        return v

    def condition(self, name):
        if name not in self.cache:
            self.cache[name] = self.evaluate(self.conditions[name])
        return self.cache[name]

    def evaluate(self, c):
        (k, a), = c.items()
        if k == "Fn::Equals":
            return str(self.value(a[0])) == str(self.value(a[1]))
        if k == "Fn::Not":
            return not self.evaluate(a[0])
        if k == "Fn::And":
            return all(self.evaluate(x) for x in a)
        if k == "Fn::Or":
            return any(self.evaluate(x) for x in a)
        if k == "Condition":
            return self.condition(a)
        raise ValueError(f"condition {c}")

    def resolve(self, v):
        """`Fn::If` resolved, `AWS::NoValue` removed, parameters replaced by their values."""
        if isinstance(v, dict):
            if set(v) == {"Ref"} and v["Ref"] in self.params:
                return self.params[v["Ref"]]
            if set(v) == {"Fn::FindInMap"}:
                name, top, second = (self.resolve(x) for x in v["Fn::FindInMap"])
                # Number parameters (PollPeriodMinutes) key mappings by their text.
                return self.resolve(self.mappings[name][str(top)][second])
            if set(v) == {"Fn::If"}:
                cond, yes, no = v["Fn::If"]
                return self.resolve(yes if self.condition(cond) else no)
            out = {}
            for k, x in v.items():
                r = self.resolve(x)
                if r != {"Ref": "AWS::NoValue"}:
                    out[k] = r
            return out
        if isinstance(v, list):
            return [r for r in (self.resolve(x) for x in v) if r != {"Ref": "AWS::NoValue"}]
        return v

    def resources(self, rendered):
        return {
            k: self.resolve(r)
            for k, r in rendered["Resources"].items()
            if "Condition" not in r or self.condition(r["Condition"])
        }


def getatt(v):
    """`Fn::GetAtt` as (logical id, attribute), whichever form the transform wrote."""
    if isinstance(v, dict) and "Fn::GetAtt" in v:
        a = v["Fn::GetAtt"]
        return tuple(a.split(".", 1)) if isinstance(a, str) else tuple(a)
    return None


def listify(v):
    return v if isinstance(v, list) else [v]


def split(v):
    """A list, or the items of a resolved `Fn::Split`."""
    if isinstance(v, dict) and "Fn::Split" in v:
        sep, text = v["Fn::Split"]
        return text.split(sep)
    return listify(v)


def substitute(v, region="us-east-1"):
    """A resolved `Fn::Sub` as text: its variables, and the stack's region, replaced."""
    if not (isinstance(v, dict) and "Fn::Sub" in v):
        return json.dumps(v)
    text, variables = (v["Fn::Sub"], {}) if isinstance(v["Fn::Sub"], str) else v["Fn::Sub"]
    variables = {"AWS::Region": region, **variables}
    for name, value in variables.items():
        value = region if value == {"Ref": "AWS::Region"} else value
        text = text.replace("${" + name + "}", value if isinstance(value, str) else json.dumps(value))
    return text


def statements(role, policies=None):
    """A role's inline statements, and those of the policies attached to it: separate policies
    (`AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`) naming it in `Roles`, and managed policies
    of the stack it names in `ManagedPolicyArns`."""
    for p in role["Properties"].get("Policies", []):
        yield from listify(p["PolicyDocument"]["Statement"])
    attached = [x["Ref"] for x in role["Properties"].get("ManagedPolicyArns", []) if isinstance(x, dict) and "Ref" in x]
    for k, p in (policies or {}).items():
        if (role.get("_id") and {"Ref": role["_id"]} in p["Properties"].get("Roles", [])) or k in attached:
            yield from listify(p["Properties"]["PolicyDocument"]["Statement"])


def check(name, params, template, rendered):
    """Returns the failed checks of one rendering."""
    # The conditions too may come from a loop (`${Family}ListsJobs`).
    res = Resolver(expand_foreach(template_with(template, params)))
    for k, v in params.items():
        res.params[k] = v
    watched = watched_keys(res)
    watched_pollers = {f"{k}Poller" for k in watched}
    rs = res.resources(rendered)
    failures = []

    def expect(ok, what):
        if not ok:
            failures.append(what)

    by_type = {}
    for k, r in rs.items():
        by_type.setdefault(r["Type"], {})[k] = r
    # The pollers; the workflow waits' register function has checks of its own (below).
    functions = {k: f for k, f in by_type.get("AWS::Lambda::Function", {}).items() if k != "WorkflowRegister"}
    roles = by_type.get("AWS::IAM::Role", {})
    for k, r in roles.items():
        r["_id"] = k
    separate_policies = by_type.get("AWS::IAM::Policy", {})
    # The fan-out's functions (docs/deploying/organisation-fan-out.md): with an organisation, or FanOut on.
    org = bool(res.params["OrganizationUnits"] or res.params["OrganizationAccountIds"])
    fans = org or res.params["FanOut"] == "on"
    fanout = {k: f for k, f in functions.items() if k in FANOUT}
    pollers = {k: f for k, f in functions.items() if k not in FANOUT}
    expect(set(pollers) == watched_pollers, f"functions {sorted(functions)}, watched {watched}")
    # the loops iterate over WatchedFamilies, by default exactly the mapping's keys
    keys = cfn_yaml.load(str(ROOT / "template.yaml"))["Parameters"]["WatchedFamilies"]["Default"].split(",")
    expect(sorted(k.strip() for k in keys) == sorted(template["Mappings"]["Families"]), f"WatchedFamilies {keys}")
    expected_fanout = ({"Worker", "Dispatcher"} if fans else set()) | ({"OrganizationRefresh"} if org else set())
    expect(set(fanout) == expected_fanout, f"fan-out functions {sorted(fanout)}")
    failures += check_fanout(res, by_type, fanout, roles)
    failures += check_sar_resources(roles, separate_policies, "organizations")

    failures += check_workflow_waits(params, by_type)
    failures += check_watched(res, by_type)

    # 1: every schedule uses SchedulerRole, which may use the dead-letter queue's key
    schedules = by_type.get("AWS::Scheduler::Schedule", {})
    expected_schedules = len(watched) + int(fans) + int(org)
    expect(len(schedules) == expected_schedules, f"{len(schedules)} schedules")
    scheduler_roles = [
        k for k, r in roles.items()
        if "scheduler.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    expect(scheduler_roles == ["SchedulerRole"], f"scheduler roles {scheduler_roles} (SAM generated one?)")
    role = roles.get("SchedulerRole")
    if role:
        trust = listify(role["Properties"]["AssumeRolePolicyDocument"]["Statement"])
        expect(all(s.get("Condition", {}).get("StringEquals", {}).get("aws:SourceAccount") for s in trust),
               "SchedulerRole trust not limited by aws:SourceAccount")
        kms = [s for s in statements(role) if "kms:GenerateDataKey" in listify(s["Action"])]
        expect(len(kms) == 1 and "kms:Decrypt" in listify(kms[0]["Action"])
               and getatt(kms[0]["Resource"]) == ("JobwatchKey", "Arn"),
               "SchedulerRole cannot use the queue's key")
        invoked = {getatt(r)[0] for s in statements(role, separate_policies) if s["Action"] == "lambda:InvokeFunction"
                   for r in listify(s["Resource"])}
        expect(invoked == watched_pollers | (expected_fanout - {"Worker"}), f"SchedulerRole invokes {invoked}")
    for k, s in schedules.items():
        # 2: no fixed names; one group per stack
        expect("Name" not in s["Properties"], f"{k} has a fixed Name")
        expect(s["Properties"].get("GroupName") == {"Ref": "PollerSchedules"}, f"{k} not in the stack's group")
        expect(getatt(s["Properties"]["Target"]["RoleArn"]) == ("SchedulerRole", "Arn"), f"{k} role")
        fam = getatt(s["Properties"]["Target"]["Arn"])[0]
        if fam in FANOUT:
            continue
        expect(fam in watched_pollers and s["Properties"]["State"] == "ENABLED", f"{k} state")

    # 7: the Bedrock event rules: one per watched family Bedrock sends events for, on the
    # default bus, and again on the forwarded events' bus when members forward
    rules = by_type.get("AWS::Events::Rule", {})
    forwards = bool(res.params["EventSourceOrganizationId"] or res.params["EventSourceAccountIds"])
    with_events = [k for k in watched if res.mappings["Families"][k]["EventTypes"]]
    expect(len(rules) == len(with_events) * (1 + forwards), f"{len(rules)} event rules")
    for k, r in rules.items():
        fam = next(f for f in sorted(watched, key=len, reverse=True) if k.startswith(f))
        expect(fam in with_events and r["Properties"].get("State") == "ENABLED", f"{k} state")

    invoke_configs = by_type.get("AWS::Lambda::EventInvokeConfig", {})
    boundary = res.params["PermissionsBoundaryArn"]
    for k, f in functions.items():
        p = f["Properties"]
        # 11: CloudFormation names the functions (64-character limit, any stack name)
        expect("FunctionName" not in p, f"{k} has a FunctionName")
        # 6: one failure record: the on-failure destination, no DeadLetterConfig as well
        expect("DeadLetterConfig" not in p, f"{k} has a DeadLetterConfig and a destination")
        mine = [c for c in invoke_configs.values() if c["Properties"]["FunctionName"] == {"Ref": k}]
        expect(len(mine) == 1 and mine[0]["Properties"]["MaximumRetryAttempts"] == 0
               and "OnFailure" in mine[0]["Properties"]["DestinationConfig"], f"{k} on-failure destination")
        # 3: reserved concurrency only when asked for
        reserved = res.params["ReservedConcurrency"]
        expect(str(p.get("ReservedConcurrentExecutions", "")) == reserved, f"{k} reserved concurrency")
        expect(p["Architectures"] == [res.params["Architecture"]], f"{k} architecture")
        role = roles[getatt(p["Role"])[0]]
        # 13: the stack's key only through the services that use it
        for s in statements(role, separate_policies):
            if any(a.startswith("kms:") for a in listify(s["Action"])):
                expect("kms:ViaService" in json.dumps(s.get("Condition", {})), f"{k}: {s.get('Sid')} without kms:ViaService")
            if "s3:GetObject" in listify(s["Action"]):
                resource = json.dumps(s["Resource"])
                expect("*/manifest.json.out" in resource, f"{k}: s3:GetObject beyond the manifests: {resource}")

    # 15: each poller serves its own family with its family's Bedrock actions only, and only the
    # batch poller reads output manifests, when asked to
    families = template.get("Mappings", {}).get("Families", {})
    readers = []
    for k, f in pollers.items():
        entry = families.get(k.removesuffix("Poller"), {})
        env = f["Properties"].get("Environment", {}).get("Variables", {})
        expect(env.get("JOB_FAMILY") == entry.get("Name"), f"{k} JOB_FAMILY {env.get('JOB_FAMILY')}")
        granted = set()
        for s in statements(roles[getatt(f["Properties"]["Role"])[0]], separate_policies):
            granted |= {a for a in listify(s["Action"]) if a.split(":")[0] in ("bedrock", "bedrock-agentcore")}
            readers += [k] if "s3:GetObject" in listify(s["Action"]) else []
        wanted = set(entry.get("ListActions", [])) | set(entry.get("ReadActions", []))
        expect(granted == wanted and wanted, f"{k} may call {sorted(granted)}, its family {sorted(wanted)}")
    manifests = ["BatchInferencePoller"] if res.params["BatchOutputManifestS3Arn"] else []
    expect(readers == manifests, f"manifest readers {readers}")

    # 19: member accounts only through the listed roles (with the external id when one is set);
    # reads of other regions of this account only when Regions asks for them
    members = [a for a in res.params["MemberRoleArns"].split(",") if a]
    for k, f in pollers.items():
        role_statements = list(statements(roles[getatt(f["Properties"]["Role"])[0]], separate_policies))
        assumes = [s for s in role_statements if "sts:AssumeRole" in listify(s["Action"])]
        expect(sorted(a for s in assumes for a in split(s["Resource"])) == sorted(members),
               f"{k} may assume {assumes}, listed {members}")
        for s in assumes:
            external = res.params["MemberExternalId"]
            expect(s.get("Condition") == ({"StringEquals": {"sts:ExternalId": external}} if external else None),
                   f"{k}: AssumeRole condition {s.get('Condition')}")
        region = "*" if res.params["Regions"] else "us-east-1"
        reads = [substitute(r) for s in role_statements if s.get("Sid") == "ReadJobs" for r in listify(s["Resource"])]
        service = families.get(k.removesuffix("Poller"), {}).get("ReadService", "bedrock")
        expect(reads and all(f":{service}:{region}:" in r for r in reads), f"{k} reads {reads}")
        # the output buckets' key through S3 of every watched region (any, once Regions is set)
        via = [next(iter(s["Condition"].items())) for s in role_statements if s.get("Sid") == "DecryptOutputManifests"]
        via = [(op, kv["kms:ViaService"] if isinstance(kv["kms:ViaService"], str) else substitute(kv["kms:ViaService"]))
               for op, kv in via]
        s3 = ("StringLike", "s3.*.amazonaws.com") if res.params["Regions"] else ("StringEquals", "s3.us-east-1.amazonaws.com")
        expect(all(v == s3 for v in via), f"{k}: output key through {via}")
        expect(bool(via) == bool(res.params["BatchOutputKmsKeyArn"]) or k != "BatchInferencePoller", f"{k}: output key grant {via}")
    bus_policies = by_type.get("AWS::Events::EventBusPolicy", {})
    expect(len(bus_policies) == bool(res.params["EventSourceOrganizationId"]) + bool(res.params["EventSourceAccountIds"]),
           f"event bus policies {sorted(bus_policies)}")
    for k, b in bus_policies.items():
        st = b["Properties"]["Statement"]
        expect(st["Action"] == "events:PutEvents" and "aws.bedrock" in json.dumps(st["Condition"]), f"{k}: {st}")

    # 14: every role the stack creates carries the permissions boundary when one is given
    for k, r in roles.items():
        expect(r["Properties"].get("PermissionsBoundary") == (boundary or None), f"{k} permissions boundary")

    # 14: stack tags (sam deploy --tags) reach every resource type that takes tags; these types
    # take none (schedules are tagged through their group). A new type must be placed here.
    taggable = {"AWS::Lambda::EventSourceMapping", "AWS::Chatbot::MicrosoftTeamsChannelConfiguration", "AWS::Chatbot::SlackChannelConfiguration", "AWS::CloudWatch::Alarm", "AWS::DynamoDB::Table", "AWS::Events::EventBus", "AWS::Events::Rule", "AWS::IAM::Role",
                "AWS::KMS::Key", "AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::SNS::Topic",
                "AWS::SQS::Queue", "AWS::Scheduler::ScheduleGroup"}
    untaggable = {"AWS::CloudWatch::Dashboard", "AWS::Events::EventBusPolicy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::KMS::Alias", "AWS::Lambda::EventInvokeConfig", "AWS::Lambda::Permission",
                  "AWS::SNS::Subscription", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy",
                  "AWS::Scheduler::Schedule"}
    unknown = set(by_type) - taggable - untaggable
    expect(not unknown, f"resource types of unknown tag support: {sorted(unknown)}")

    # 4: the key is retained with the table
    for k in ("JobsTable", "JobwatchKey"):
        r = rendered["Resources"][k]
        expect(r.get("DeletionPolicy") == "Retain" and r.get("UpdateReplacePolicy") == "Retain", f"{k} not retained")

    # 12: who may publish and subscribe
    creates_topic = res.params["ExistingTopicArn"] == ""
    creates_ops_topic = res.params["AlarmTopicArn"] == ""
    policies = by_type.get("AWS::SNS::TopicPolicy", {})
    # the notification topic's (when the stack creates it), the people topic's, the operations topic's
    creates_chat_topic = res.params["ChatNotifications"] == "on" and not res.params["ExistingChatTopicArn"]
    expect(len(policies) == int(creates_topic) + 1 + int(creates_ops_topic) + int(creates_chat_topic), f"{len(policies)} topic policies")
    ops_policy = policies.pop("OperationsTopicPolicy", None)
    expect((ops_policy is not None) == creates_ops_topic, "operations topic policy")
    if ops_policy:
        st = {s["Sid"]: s for s in ops_policy["Properties"]["PolicyDocument"]["Statement"]}
        alarms = st.get("AlarmsPublish", {})
        expect(alarms.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}, "only CloudWatch publishes alarms")
    for policy in policies.values():
        st = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
        deny = st.get("OnlyThePollersPublish", {})
        # by the pollers' role path (check_role_path), and the operators' role when given
        allowed = deny.get("Condition", {}).get("ArnNotLike", {}).get("aws:PrincipalArn", [])
        operator = [res.params["OperatorRoleArn"]] if res.params["OperatorRoleArn"] else []
        expect(deny.get("Effect") == "Deny" and len(allowed) == 1 + len(operator) and allowed[1:] == operator,
               f"publishers {allowed}")
        protocols = res.params["AllowedSubscriptionProtocols"]
        expect(("SubscribeOnlyWithAllowedProtocols" in st) == bool(protocols), "subscribe restriction")
        expect("AlarmsPublish" not in st, "alarms never go to the notification topic")
    subs = dict(by_type.get("AWS::SNS::Subscription", {}))
    ops_email = subs.pop("OperationsEmailSubscription", None)
    expect((ops_email is not None) == bool(res.params.get("OperationsEmail") and creates_ops_topic), "operations email")
    expect(len(subs) == (1 if res.params["NotificationEmail"] else 0), f"{len(subs)} subscriptions")
    for s in subs.values():
        expect(("FilterPolicy" in s["Properties"]) == bool(res.params["EmailFilterPolicy"]), "filter policy")

    attached = {**separate_policies, **by_type.get("AWS::IAM::ManagedPolicy", {})}
    publishers = {**pollers, **{k: f for k, f in fanout.items() if k == "Worker"}}
    failures += check_sinks(res, by_type, publishers, roles, attached)
    failures += check_account(res, template, rendered, by_type, roles)

    # 8: each watched family has a silence alarm, for which no data is breaching
    silent = {k: a for k, a in by_type.get("AWS::CloudWatch::Alarm", {}).items() if k.endswith("PollerSilent")}
    expect(set(silent) == {f"{k}PollerSilent" for k in watched}, f"silence alarms {sorted(silent)}")
    for k, a in silent.items():
        missing = a["Properties"]["TreatMissingData"]
        expect(missing == "breaching", f"{k} missing data {missing}")

    # 8: alarms (and their recoveries) go where asked, by default to the operations topic
    alarm_topic = res.params["AlarmTopicArn"] or {"Ref": "OperationsTopic"}
    for k, a in by_type.get("AWS::CloudWatch::Alarm", {}).items():
        actions = (a["Properties"]["AlarmActions"], a["Properties"].get("OKActions"))
        expect(actions == ([alarm_topic], [alarm_topic]), f"{k} actions {actions}")
    return failures


RULE_FUNCTIONS = {"Fn::And", "Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn", "Fn::Equals",
                  "Fn::If", "Fn::Not", "Fn::Or", "Fn::RefAll", "Fn::ValueOf", "Fn::ValueOfAll", "Ref"}
POLLER_PATH = "/bedrock-jobwatch/{stack}/"


def functions_used(v):
    """Every intrinsic function name (`Fn::*`, `Ref`, `Condition`) used anywhere in `v`."""
    if isinstance(v, dict):
        for k, x in v.items():
            if k.startswith("Fn::") or k in ("Ref", "Condition"):
                yield k
            yield from functions_used(x)
    elif isinstance(v, list):
        for x in v:
            yield from functions_used(x)


def evaluate(v, pseudo):
    """A string-valued intrinsic (Sub, Join, Select, Split, Ref of a pseudo parameter) with the
    given pseudo parameters: what CloudFormation would make of a name."""
    if isinstance(v, str):
        return v
    (fn, a), = v.items()
    if fn == "Ref":
        return pseudo[a]
    if fn == "Fn::Sub":
        text, names = (a, {}) if isinstance(a, str) else (a[0], {k: evaluate(x, pseudo) for k, x in a[1].items()})
        return re.sub(r"\$\{([^}]+)\}", lambda m: names.get(m.group(1), pseudo.get(m.group(1), m.group(0))), text)
    if fn == "Fn::Join":
        if isinstance(a[1], (dict, str)):  # a CommaDelimitedList parameter (comma-joined)
            return a[0].join(evaluate(a[1], pseudo).split(","))
        return a[0].join(evaluate(x, pseudo) for x in a[1])
    if fn == "Fn::Select":
        return evaluate_list(a[1], pseudo)[int(a[0])]
    raise ValueError(f"cannot evaluate {fn}")


def evaluate_list(v, pseudo):
    (fn, a), = v.items()
    assert fn == "Fn::Split", fn
    return evaluate(a[1], pseudo).split(a[0])


def stack(name, region):
    return {"AWS::StackName": name, "AWS::Region": region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{name}/c3b0c8a0-5d1e-11ef-8a2b-0a1b2c3d4e5f"}


def watched_keys(res):
    """The families a rendering watches: its WatchedFamilies (keys of the Families mapping)."""
    value = res.params["WatchedFamilies"]
    return [k.strip() for k in (value if isinstance(value, list) else value.split(",")) if k.strip()]


def check_watched(res, by_type):
    """The worker polls, and the register function accepts, exactly the watched families:
    WATCHED_FAMILIES (Globals) as CloudFormation joins WatchedFamilies into it."""
    failures = []
    functions = by_type.get("AWS::Lambda::Function", {})
    for k in ("Worker", "WorkflowRegister"):
        if k not in functions:
            continue
        value = functions[k]["Properties"]["Environment"]["Variables"].get("WATCHED_FAMILIES")
        if value is None:
            failures.append(f"{k}: no WATCHED_FAMILIES")
            continue
        params = {name: ",".join(v) if isinstance(v, list) else str(v) for name, v in res.params.items()}
        text = evaluate(value, params)
        if text.split(",") != watched_keys(res):
            failures.append(f"{k}: WATCHED_FAMILIES {text}, watched {watched_keys(res)}")
    return failures


def check_workflow_waits(params, by_type):
    """WorkflowWaits=on: the register function is fed by its queue with partial batch responses,
    and the queue outlasts six of its timeouts; off: none of it exists."""
    failures = []
    on = params.get("WorkflowWaits") == "on"
    function = by_type.get("AWS::Lambda::Function", {}).get("WorkflowRegister")
    mappings = {k: m for k, m in by_type.get("AWS::Lambda::EventSourceMapping", {}).items()
                if m["Properties"].get("FunctionName") == {"Ref": "WorkflowRegister"}}
    queue = by_type.get("AWS::SQS::Queue", {}).get("WorkflowRegisterQueue")
    if not on:
        if function or mappings or queue:
            failures.append("WorkflowWaits=off still creates the register function, queue or mapping")
        return failures
    if not (function and queue and len(mappings) == 1):
        return failures + ["WorkflowWaits=on: the register function, its queue and one event source mapping"]
    mapping = next(iter(mappings.values()))["Properties"]
    if mapping.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
        failures.append("the register mapping reports batch item failures")
    if queue["Properties"].get("VisibilityTimeout", 30) < 6 * function["Properties"].get("Timeout", 3):
        failures.append("the register queue's visibility timeout is at least 6x the function's timeout")
    env = function["Properties"]["Environment"]["Variables"]
    if env.get("MODE") != "workflow-register":
        failures.append("the register function runs in MODE=workflow-register")
    failures += check_register_roles(params, by_type)
    return failures


def check_register_roles(params, by_type):
    """A wait on a member account's job is read through the reader role the pollers assume:
    the register function may assume exactly the listed roles (MemberRoleArns) and, with an
    organisation, the ReaderRoleName of any account, with the external id when one is set;
    without members, no role at all."""
    role = by_type.get("AWS::IAM::Role", {}).get("WorkflowRegisterRole", {})
    statements = [s for p in role.get("Properties", {}).get("Policies", [])
                  for s in p["PolicyDocument"]["Statement"]]
    assumes = [s for s in statements if s.get("Action") == "sts:AssumeRole"]
    granted = set()
    names = {"ReaderRoleName": "bedrock-jobwatch-reader", **params, **stack("jobwatch", "us-east-1")}
    for statement in assumes:
        resource = statement["Resource"]
        if isinstance(resource, dict) and "Fn::Split" in resource:
            granted |= set(evaluate_list(resource, names))
        else:
            granted.add(evaluate(resource, names))
    expected = {r for r in params.get("MemberRoleArns", "").split(",") if r}
    if params.get("OrganizationUnits") or params.get("OrganizationAccountIds"):
        expected.add(f"arn:aws:iam::*:role/{params.get('ReaderRoleName', 'bedrock-jobwatch-reader')}")
    failures = []
    if granted != expected:
        failures.append(f"the register function assumes {sorted(granted)}, expected {sorted(expected)}")
    external = params.get("MemberExternalId")
    for statement in assumes:
        condition = statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if external and condition != external:
            failures.append("the register function assumes member roles with the external id")
    return failures


def check_account(res, template, rendered, by_type, roles):
    """What a real account enforces that the linters do not see: Rules made of rule functions
    only, account-global names that differ per region, trust and publishing by the stack's role
    path, no plain http subscriptions, forwarded events on a bus of their own, and a key policy
    granting no service what it does not use."""
    failures = []

    def expect(ok, what):
        if not ok:
            failures.append(what)

    for name, rule in {**template.get("Rules", {}), **rendered.get("Rules", {})}.items():
        bad = set(functions_used(rule)) - RULE_FUNCTIONS
        expect(not bad, f"rule {name} uses {sorted(bad)}: CloudFormation rejects the template")
    for k, c in {**by_type.get("AWS::Chatbot::SlackChannelConfiguration", {}),
                 **by_type.get("AWS::Chatbot::MicrosoftTeamsChannelConfiguration", {})}.items():
        long_name = "s" * 128
        names = {evaluate(c["Properties"]["ConfigurationName"], stack(long_name, r)) for r in ("us-east-1", "eu-west-1")}
        expect(len(names) == 2, f"{k}: the same chat configuration name in two regions {names}")
        expect(all(len(n) <= 128 and re.fullmatch("[A-Za-z0-9_-]+", n) for n in names), f"{k}: name {names}")
    failures += check_role_path(by_type, roles)
    for k, p in by_type.get("AWS::SNS::TopicPolicy", {}).items():
        denies = [s for s in listify(p["Properties"]["PolicyDocument"]["Statement"])
                  if s["Effect"] == "Deny" and listify(s["Action"]) == ["sns:Subscribe"]
                  and s.get("Condition") == {"StringEquals": {"sns:Protocol": "http"}}]
        expect(len(denies) == 1, f"{k}: plain http subscriptions are not denied")
    buses = by_type.get("AWS::Events::EventBus", {})
    for k, p in by_type.get("AWS::Events::EventBusPolicy", {}).items():
        bus = p["Properties"].get("EventBusName")
        expect(isinstance(bus, dict) and bus.get("Ref") in buses, f"{k}: opens the default bus ({bus})")
    forwarded = [r for r in by_type.get("AWS::Events::Rule", {}).values() if r["Properties"].get("EventBusName")]
    own = [r for r in by_type.get("AWS::Events::Rule", {}).values() if not r["Properties"].get("EventBusName")]
    expect(len(forwarded) == (len(own) if buses else 0), f"{len(forwarded)} rules on the forwarded bus, {len(own)} on the default")
    key = by_type["AWS::KMS::Key"]["JobwatchKey"]["Properties"]["KeyPolicy"]["Statement"]
    services = [x if isinstance(x, str) else json.dumps(x) for s in key for x in listify(s["Principal"].get("Service", []))]
    unused = [x for x in services if x not in ("cloudwatch.amazonaws.com", "events.amazonaws.com") and "logs.${AWS::Region}" not in x]
    expect(not unused, f"the key policy grants services that use their roles or nothing: {unused}")
    # Data Automation is known only from its events: watching it while none arrives turns red
    alarms = by_type.get("AWS::CloudWatch::Alarm", {})
    da = alarms.get("DataAutomationNoInvocationsKnown")
    expect((da is not None) == ("DataAutomation" in watched_keys(res)), "Data Automation silence alarm")
    if da:
        p = da["Properties"]
        expect(p["MetricName"] == "Events" and p["Dimensions"] == [{"Name": "JobKind", "Value": "data-automation"}]
               and p["TreatMissingData"] == "breaching" and "docs/operations/alarms.md" in json.dumps(p["AlarmDescription"]),
               f"Data Automation alarm {p}")
    indexes = [i["IndexName"] for i in by_type["AWS::DynamoDB::Table"]["JobsTable"]["Properties"]["GlobalSecondaryIndexes"]]
    legacy = res.params["KeepLegacyWatchIndex"] == "true"
    expect(indexes == ["family-watch-index"] + (["watch-index"] if legacy else []), f"table indexes {indexes}")
    return failures


def check_fanout(res, by_type, fanout, roles):
    """The fan-out: the worker consumes the queue through an event source mapping that reports
    batch item failures and caps its concurrency; the queue outlives 6 worker timeouts, redrives
    to a dead-letter queue and is encrypted; every role is on the pollers' path; the worker may
    assume only the member roles."""
    failures = []

    def expect(ok, what):
        if not ok:
            failures.append(what)

    path = {"Fn::Sub": "/bedrock-jobwatch/${AWS::StackName}/"}
    for k, f in fanout.items():
        role = roles[getatt(f["Properties"]["Role"])[0]]
        expect(role["Properties"].get("Path") == path, f"{k}: role path {role['Properties'].get('Path')}")
    worker = fanout.get("Worker")
    if not worker:
        return failures
    # The worker's mapping (the register function's, with WorkflowWaits=on, is checked there).
    mappings = {k: m for k, m in by_type.get("AWS::Lambda::EventSourceMapping", {}).items()
                if m["Properties"].get("FunctionName") != {"Ref": "WorkflowRegister"}}
    expect(len(mappings) == 1, f"{len(mappings)} event source mappings")
    queues = by_type.get("AWS::SQS::Queue", {})
    for m in mappings.values():
        p = m["Properties"]
        expect(p.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], f"response types {p.get('FunctionResponseTypes')}")
        concurrency = str(p.get("ScalingConfig", {}).get("MaximumConcurrency"))
        expect(concurrency == str(res.params["WorkerConcurrency"]), f"scaling {p.get('ScalingConfig')}")
        expect(getatt(p["EventSourceArn"]) == ("WorkQueue", "Arn"), "the worker's source")
    queue = queues.get("WorkQueue", {}).get("Properties", {})
    timeout = worker["Properties"]["Timeout"]
    expect(queue.get("VisibilityTimeout", 0) >= 6 * timeout, f"visibility {queue.get('VisibilityTimeout')} < 6 x {timeout}")
    expect(queue.get("RedrivePolicy", {}).get("maxReceiveCount", 0) >= 1, "work queue redrive")
    expect(all("KmsMasterKeyId" in q["Properties"] for k, q in queues.items()), "queues encrypted")
    # One alarm state per failing scope: a Metrics Insights query over the metric the worker
    # emits per failing scope (shared/src/metrics.rs), grouped by its one dimension.
    alarm = by_type.get("AWS::CloudWatch::Alarm", {}).get("FailingScopesAlarm", {}).get("Properties", {})
    queries = [substitute(m["Expression"]) for m in alarm.get("Metrics", []) if "Expression" in m]
    metrics_rs = (ROOT / "shared/src/metrics.rs").read_text()
    dimension = re.search(r'pub const SCOPE_DIMENSION: &str = "([^"]+)"', metrics_rs).group(1)
    wanted_query = ('SELECT MAX(ScopeFailing) FROM SCHEMA("BedrockJobwatch/${AWS::StackName}", %s) GROUP BY %s'
                    % (dimension, dimension))
    expect(len(queries) == 1 and queries[0].startswith(wanted_query) and '"ScopeFailing"' in metrics_rs,
           f"FailingScopesAlarm: one contributor per {dimension}: {queries}")
    role = roles[getatt(worker["Properties"]["Role"])[0]]
    sts = [s for s in statements(role) if "sts:AssumeRole" in listify(s["Action"])]
    consume = [s for s in statements(role) if "sqs:ReceiveMessage" in listify(s["Action"])]
    expect(len(consume) == 1 and sorted(listify(consume[0]["Action"])) == sorted(
        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]),
        "the worker consumes its queue with the four actions only")
    org = bool(res.params["OrganizationUnits"] or res.params["OrganizationAccountIds"])
    # Any account's role of that name (on the member trust's side, only this stack's roles).
    wanted = ["arn:${AWS::Partition}:iam::*:role/${ReaderRoleName}"] if org else sorted(a for a in res.params["MemberRoleArns"].split(",") if a)
    granted = sorted(r["Fn::Sub"] if isinstance(r, dict) and "Fn::Sub" in r else r for s in sts for r in split(s["Resource"]))
    expect(granted == wanted, f"the worker may assume {granted}, wanted {wanted}")
    return failures


def sar_service(service):
    """{action: [ARN regexes of its resource types]} of one service, from the Service
    Authorization Reference data cfn-lint ships; an action without resource types maps to []."""
    import cfnlint

    data = json.loads((Path(cfnlint.__file__).parent / "data/AdditionalSpecs/Policies.json").read_text())[service]
    formats = {t: r.get("ARNFormats", []) for t, r in data["Resources"].items()}
    actions = {}
    for action, spec in data["Actions"].items():
        patterns = [f for t in spec.get("Resources", []) for f in formats.get(t.lower(), formats.get(t, []))]
        regexes = []
        for f in patterns:
            # ${Partition} and ${Account} (a grant may leave the account open); ".*" as written
            parts = re.split(r"(\$\{[A-Za-z]+\}|\.\*)", f)
            regexes.append("".join(
                {"${Partition}": "aws", "${Account}": r"(\*|[0-9]{12})", ".*": ".*"}.get(x, re.escape(x)) for x in parts))
        actions[action.lower()] = regexes
    return actions


def check_sar_resources(roles, policies, service):
    """Every grant of `service`'s actions names the resources the Service Authorization
    Reference gives the action: `*` only for an action without resource types, and for the
    others ARNs of those types only (each resource an ARN every action of the statement takes)."""
    failures = []
    sar = sar_service(service)
    for k, role in roles.items():
        for st in statements(role, policies):
            actions = [a for a in listify(st.get("Action", [])) if a.startswith(service + ":")]
            if not actions:
                continue
            resources = [r if isinstance(r, str) else substitute(r).replace("${AWS::Partition}", "aws") for r in listify(st["Resource"])]
            for a in actions:
                name = a.split(":", 1)[1].lower()
                if name not in sar or "*" in name:
                    failures.append(f"{k}: {a} is not one action of the SAR")
                    continue
                types = sar[name]
                for r in resources:
                    ok = r == "*" if not types else any(re.fullmatch(t, r) for t in types)
                    if not ok:
                        failures.append(f"{k}: {a} on {r}: the SAR gives {types or ['*']}")
    return failures


def check_role_path(by_type, roles):
    """Every function's role is on the stack's path; the topics let only that path (and the
    operators' role) publish; the member role trusts only that path, for any stack name."""
    failures = []

    def expect(ok, what):
        if not ok:
            failures.append(what)

    name = "team-ml-platform-bedrock-jobwatch-prod-1"  # 40 characters
    path = POLLER_PATH.format(stack=name)
    for k, f in by_type.get("AWS::Lambda::Function", {}).items():
        role = roles[getatt(f["Properties"]["Role"])[0]]["Properties"]
        expect(evaluate(role.get("Path", "/"), stack(name, "us-east-1")) == path, f"{k}: role path {role.get('Path')}")
    ours = f"arn:aws:iam::{ACCOUNT}:role{path}{name}-BatchInferencePollerRole-A1B2C3D4E5F6"
    strangers = [f"arn:aws:iam::{ACCOUNT}:role/{name}-BatchInferencePollerRole-A1B2C3D4E5F6",
                 f"arn:aws:iam::{ACCOUNT}:role/bedrock-jobwatch/other-stack/{name}-PollerRole-x",
                 f"arn:aws:iam::{ACCOUNT}:role/evil{path}x"]
    for k, p in by_type.get("AWS::SNS::TopicPolicy", {}).items():
        for s in listify(p["Properties"]["PolicyDocument"]["Statement"]):
            if s.get("Sid") != "OnlyThePollersPublish":
                continue
            listed = listify(s["Condition"].get("ArnNotLike", {}).get("aws:PrincipalArn", []))
            patterns = [evaluate(x, stack(name, "us-east-1")) for x in listed if not getatt(x)]
            expect(any(fnmatch.fnmatchcase(ours, x) for x in patterns), f"{k}: the pollers may not publish ({patterns})")
            for stranger in strangers:
                expect(not any(fnmatch.fnmatchcase(stranger, x) for x in patterns), f"{k}: {stranger} may publish")
    member = resolved_member({"CentralStackName": name, "CentralAccountId": ACCOUNT})
    trust = member["Resources"]["ReaderRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    for s in trust:
        pattern = evaluate(s["Condition"]["ArnLike"]["aws:PrincipalArn"], {**stack(name, "us-east-1"), "CentralStackName": name, "CentralAccountId": ACCOUNT})
        expect(fnmatch.fnmatchcase(ours, pattern), f"member trust refuses the pollers ({pattern})")
        for stranger in strangers:
            expect(not fnmatch.fnmatchcase(stranger, pattern), f"member trust admits {stranger}")
    return failures


def check_sinks(res, by_type, functions, roles, separate_policies):
    """The chat topic and channels, and the event bus: what exists, who may do what."""
    failures = []

    def expect(ok, what):
        if not ok:
            failures.append(what)

    chat = res.params["ChatNotifications"] == "on" or bool(res.params["ExistingChatTopicArn"])
    slack = chat and bool(res.params["SlackWorkspaceId"] and res.params["SlackChannelId"])
    teams = chat and bool(res.params["TeamsTenantId"] and res.params["TeamsTeamId"] and res.params["TeamsChannelId"])
    channels = {**by_type.get("AWS::Chatbot::SlackChannelConfiguration", {}),
                **by_type.get("AWS::Chatbot::MicrosoftTeamsChannelConfiguration", {})}
    expect(len(channels) == int(slack) + int(teams), f"{len(channels)} chat channels")
    chat_topic = res.params["ExistingChatTopicArn"] or ({"Ref": "ChatTopic"} if chat else "")
    for k, c in channels.items():
        p = c["Properties"]
        expect(p["SnsTopicArns"] == [chat_topic], f"{k} watches {p['SnsTopicArns']}")
        expect(p["GuardrailPolicies"] == [{"Ref": "ChatGuardrailPolicy"}], f"{k} guardrail")
        expect(getatt(p["IamRoleArn"])[0] == "ChatChannelRole", f"{k} role")
    if channels:
        guardrail = by_type["AWS::IAM::ManagedPolicy"]["ChatGuardrailPolicy"]["Properties"]["PolicyDocument"]
        expect([s["Effect"] for s in guardrail["Statement"]] == ["Deny"], "the chat guardrail only denies")
        role = roles["ChatChannelRole"]["Properties"]
        trust = role["AssumeRolePolicyDocument"]["Statement"]
        expect([s["Principal"] for s in trust] == [{"Service": "chatbot.amazonaws.com"}], "chat role trust")
        expect(role.get("ManagedPolicyArns") == [{"Ref": "ChatGuardrailPolicy"}] and "Policies" not in role,
               "the chat role has no permissions beyond its guardrail")
    bus = res.params["EventBusName"]
    for k, f in functions.items():
        env = f["Properties"].get("Environment", {}).get("Variables", {})
        sts = list(statements(roles[getatt(f["Properties"]["Role"])[0]], separate_policies))
        puts = [s for s in sts if "events:PutEvents" in listify(s["Action"])]
        expect(len(puts) == int(bool(bus)), f"{k}: {len(puts)} PutEvents statements")
        for s in puts:
            resource = json.dumps(s["Resource"])
            expect(resource.endswith(':event-bus/${EventBusName}"}') and "*" not in resource, f"{k}: PutEvents on {resource}")
            expect(s.get("Condition", {}).get("StringEquals", {}).get("events:source") == "bedrock-jobwatch", f"{k}: PutEvents source")
        chat_publish = [s for s in sts if s.get("Sid") == "PublishToChat"]
        expect(len(chat_publish) == int(chat), f"{k}: chat publish statements {len(chat_publish)}")
        expect(env.get("CHAT_TOPIC_ARN") == (chat_topic or "") and env.get("EVENT_BUS_NAME") == bus, f"{k}: sink variables")
    return failures


def effective(template, params):
    """One rendering as what it deploys: {role: its grants (effect, action, resource, condition)
    from its own and its attached policies}, {other resource: its JSON without Condition and
    Metadata}, and the output names."""
    rendered = render(template, params)
    res = Resolver(expand_foreach(template_with(template, params)))
    for k, v in params.items():
        res.params[k] = v
    rs = res.resources(rendered)
    policies = {k: r for k, r in rs.items() if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")}
    grants = {}
    for k, r in rs.items():
        if r["Type"] != "AWS::IAM::Role":
            continue
        r["_id"] = k
        grants[k] = {
            (s["Effect"], a, json.dumps(x, sort_keys=True), json.dumps(s.get("Condition"), sort_keys=True))
            for s in statements(r, policies) for a in listify(s["Action"]) for x in listify(s.get("Resource"))
        }
    others = {k: json.dumps({a: b for a, b in r.items() if a not in ("Condition", "Metadata")}, sort_keys=True)
              for k, r in rs.items() if r["Type"] not in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")}
    return grants, others, set(rendered.get("Outputs", {}))


def compare(old_path):
    old = json.loads(json.dumps(cfn_yaml.load(str(old_path))))
    new = json.loads(json.dumps(cfn_yaml.load(str(ROOT / "template.yaml"))))
    differs = False
    for name, params in COMBINATIONS.items():
        (go, oo, outo), (gn, on, outn) = effective(old, params), effective(new, params)
        lines = []
        for k in sorted(set(go) | set(gn)):
            lost, gained = go.get(k, set()) - gn.get(k, set()), gn.get(k, set()) - go.get(k, set())
            if lost or gained:
                lines.append(f"role {k}: loses {sorted(lost)}, gains {sorted(gained)}")
        for k in sorted(set(oo) | set(on)):
            if oo.get(k) != on.get(k):
                lines.append(f"{k}: {'added' if k not in oo else 'removed' if k not in on else 'changed'}")
        if outo != outn:
            lines.append(f"outputs: removed {sorted(outo - outn)}, added {sorted(outn - outo)}")
        print(f"    {name:32} {'same' if not lines else f'{len(lines)} differences'}")
        for line in lines:
            print(f"      - {line}")
        differs |= bool(lines)
    sys.exit(1 if differs else 0)


def main():
    if "--compare" in sys.argv:
        compare(Path(sys.argv[sys.argv.index("--compare") + 1]))
    if "--expanded" in sys.argv:
        # Only the loops expanded (for tools that do not know Fn::ForEach, e.g. checkov).
        out = Path(sys.argv[sys.argv.index("--expanded") + 1])
        out.write_text(json.dumps(expand_foreach(json.loads(json.dumps(cfn_yaml.load(str(ROOT / "template.yaml"))))), indent=1))
        return
    if "--resolved-member" in sys.argv:
        out = Path(sys.argv[sys.argv.index("--resolved-member") + 1])
        out.write_text(json.dumps(resolved_member(), indent=1))
        return
    keep = Path(sys.argv[sys.argv.index("--keep") + 1]) if "--keep" in sys.argv else None
    source = sys.argv[sys.argv.index("--template") + 1] if "--template" in sys.argv else ROOT / "template.yaml"
    template = json.loads(json.dumps(cfn_yaml.load(str(source))))  # plain dicts and strings
    with tempfile.TemporaryDirectory(prefix="rendered-") as tmp:
        out = keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        files, failed = [], False
        for name, params in COMBINATIONS.items():
            rendered = render(template, params)
            failures = check(name, params, template_with(template, params), rendered)
            path = out / f"{name}.json"
            path.write_text(json.dumps(rendered, indent=1))
            files.append(str(path))
            print(f"    {name:22} {len(rendered['Resources'])} resources rendered: {'FAILED' if failures else 'ok'}")
            for f in failures:
                print(f"      - {f}")
            failed |= bool(failures)
        print(f"    cfn-lint on the {len(files)} renderings")
        lint = subprocess.run(["cfn-lint", *files])
    if failed or lint.returncode != 0:
        sys.exit(1)


def resolved_member(overrides=None):
    """member-account.yaml as the role's region's stack instance gets it, every family on and
    batch output manifests read."""
    template = json.loads(json.dumps(cfn_yaml.load(str(ROOT / "member-account.yaml"))))
    res = Resolver(template)
    res.params.update({
        "AWS::Region": "us-east-1",
        "CentralAccountId": "111111111111",
        "CentralEventBusArn": "arn:aws:events:eu-west-1:111111111111:event-bus/bedrock-jobwatch-bedrock-events",
        "BatchOutputManifestS3Arn": "arn:aws:s3:::batch-output/jobs/*",
        "BatchOutputKmsKeyArn": "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        **(overrides or {}),
    })
    template["Resources"] = res.resources(template)
    for r in template["Resources"].values():
        r.pop("Condition", None)
    return template


def template_with(template, params):
    t = copy.deepcopy(template)
    for k, v in params.items():
        if k in t["Parameters"]:
            t["Parameters"][k]["Default"] = v
    return t


if __name__ == "__main__":
    main()
