"""The reference tables of the docs site, generated from their source or checked against it, so
that they cannot drift from the code and the template again.

Generated (between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` in a page; --write
rewrites them, --check fails when one differs from what its source gives now):

  params          docs/configuration/parameters.md   template.yaml Parameters
  outputs         docs/configuration/parameters.md   template.yaml Outputs
  families        docs/configuration/families.md     template.yaml Families mapping + the status
                                                     vocabularies of shared/src/domain/family.rs
  readme-families README.md                          the same, short: each family's List (or Get)
                                                     and the statuses its work ends in
  metrics         docs/operations/metrics.md         shared/src/metrics.rs (METRICS, STAGES)
  alarms          docs/operations/alarms.md          the rendered template (defaults)
  counts          docs/deploying/permissions.md      every rendering of scripts/render-template.py
  deploy-actions  docs/deploying/permissions.md      the resource types the renderings create, and
                                                     each type's CloudFormation handler permissions
                                                     (create, read, update, delete) from the
                                                     resource schemas cfn-lint ships

Checked (hand-written, with prose the source cannot give):

  environment     docs/configuration/environment.md  every variable shared/src/config.rs reads or
                                                     the template sets has a row, every row is read,
                                                     and each default the code states is the row's
  permissions     docs/deploying/permissions.md      every action its prose names is one the
    prose                                            generated list has
  families prose  docs/configuration/families.md     "How each family is read" has a row per family
  cost            docs/deploying/cost.md             the counts the arithmetic rests on (pollers,
                                                     alarms, custom metrics) are the stack's
  layout          docs/architecture/layout.md        every module of the crates (library, tests,
                                                     test kit, CLI, bench, emulator) and every bench
                                                     command is named, a shared file name once per
                                                     module that has it
  README          README.md                          at most 210 lines, the quick start's two
                                                     commands, relative links and anchors resolve
  examples        README.md, docs/**.md              a fenced block after `<!-- example:PATH -->`
                                                     is that file verbatim (a golden email)
  references      template.yaml, scripts, code       every docs/....md they name exists (alarm
                                                     descriptions point operators there)

Usage: python3 scripts/docs-reference.py --check [--root DIR]
       python3 scripts/docs-reference.py --write [--root DIR]
(--root: a copy of the repository, for tests; default: this checkout.) Exit 1 naming each table
that does not match.
"""

import argparse
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
SCRIPTS = Path(__file__).resolve().parent


def load_render():
    spec = importlib.util.spec_from_file_location("render", SCRIPTS / "render-template.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    return render


class Drift(Exception):
    """A source could not be read the way this script expects: fail loudly, never guess."""


def md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def md_text(text):
    """Plain text from the template (descriptions) in a table cell: `<key>` is not an HTML tag."""
    return md_cell(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(v):
    return f"`{v}`"


# ---------------------------------------------------------------------------------------------
# Sources


def load_template(root):
    from cfnlint.decode import cfn_yaml

    return json.loads(json.dumps(cfn_yaml.load(str(root / "template.yaml"))))


def vocabularies(root):
    """{family name: [(status, phase)]} from the `pub static X: Family` entries of family.rs."""
    text = (root / "shared/src/domain/family.rs").read_text()
    out = {}
    for m in re.finditer(r"pub static (\w+): Family = Family \{(.*?)\n\};", text, re.S):
        body = m.group(2)
        name = re.search(r'\bname: "([a-z-]+)"', body)
        vocab = re.search(r"vocabulary: &\[(.*?)\]", body, re.S)
        if not name or not vocab:
            raise Drift(f"family.rs: {m.group(1)} has no literal name or vocabulary")
        pairs = re.findall(r'\("([^"]+)",\s*(\w+)\)', vocab.group(1))
        if not pairs:
            raise Drift(f"family.rs: {m.group(1)}: no (status, phase) pairs")
        out[name.group(1)] = pairs
    if not out:
        raise Drift("family.rs: no Family entries found")
    return out


def terminal_phases(root):
    text = (root / "shared/src/domain/status.rs").read_text()
    m = re.search(r"pub const TERMINAL: \[Phase; \d+\] = \[(.*?)\];", text, re.S)
    if not m:
        raise Drift("status.rs: Phase::TERMINAL not found")
    return set(re.findall(r"Phase::(\w+)", m.group(1)))


def metrics_source(root):
    text = (root / "shared/src/metrics.rs").read_text()
    block = re.search(r"pub const METRICS: &\[Metric\] = &\[(.*?)\n\];", text, re.S)
    stages = re.search(r"pub const STAGES: &\[\(&str, &str\)\] = &\[(.*?)\n\];", text, re.S)
    other = re.search(r'pub const OTHER_STAGE: &str = "(\w+)";', text)
    namespace = re.search(r'pub const DEFAULT_NAMESPACE: &str = "([^"]+)";', text)
    if not (block and stages and other and namespace):
        raise Drift("metrics.rs: METRICS, STAGES, OTHER_STAGE or DEFAULT_NAMESPACE not found")
    metrics = re.findall(r'metric\(\s*"(\w+)",\s*Unit::(\w+),\s*"((?:[^"\\]|\\.)*)",?\s*\)', block.group(1))
    if len(metrics) != block.group(1).count("metric("):
        raise Drift("metrics.rs: a METRICS entry is not metric(\"Name\", Unit::X, \"about\")")
    return metrics, re.findall(r'\("([^"]+)", "(\w+)"\)', stages.group(1)), other.group(1), namespace.group(1)


# ---------------------------------------------------------------------------------------------
# Generated tables


def table_params(root, template):
    rows = ["| parameter | default | allowed | what it does |", "|---|---|---|---|"]
    for name, p in template["Parameters"].items():
        default = p.get("Default", "")
        default = code(default) if str(default) != "" else "blank"
        if "AllowedValues" in p:
            allowed = ", ".join(code(v) for v in p["AllowedValues"])
        elif "AllowedPattern" in p:
            allowed = "pattern " + code(p["AllowedPattern"])
        elif "MinValue" in p or "MaxValue" in p:
            allowed = f"{p.get('MinValue', '')} to {p.get('MaxValue', '')}"
        else:
            allowed = "any " + p.get("Type", "String")
        if p.get("NoEcho"):
            allowed += " (NoEcho)"
        rows.append(f"| {code(name)} | {md_cell(default)} | {md_cell(allowed)} | {md_text(p.get('Description', ''))} |")
    return "\n".join(rows)


def table_outputs(root, template):
    rows = ["| output | when | what |", "|---|---|---|"]
    for name, o in template.get("Outputs", {}).items():
        if name.startswith("Fn::ForEach::"):
            ident, collection, fragment = o
            if isinstance(collection, dict):  # a Ref to the template's family list
                collection = [x.strip() for x in template["Parameters"][collection["Ref"]]["Default"].split(",")]
            for key, out in fragment.items():
                for value in collection:
                    rows.append(f"| {code(key.replace('${' + ident + '}', value))} | {md_cell(out.get('Condition', 'always'))} "
                                f"| {md_text(out.get('Description', '').replace('${' + ident + '}', value))} |")
            continue
        rows.append(f"| {code(name)} | {md_cell(o.get('Condition', 'always'))} | {md_text(o.get('Description', ''))} |")
    return "\n".join(rows)


def table_families(root, template):
    families = template["Mappings"]["Families"]
    vocab = vocabularies(root)
    terminal = terminal_phases(root)
    if set(vocab) != {f["Name"] for f in families.values()}:
        raise Drift(f"family.rs families {sorted(vocab)} differ from template.yaml's Families mapping")
    rows = [
        "| family (`jobKind`) | key (`WatchedFamilies`) | poller | statuses (lifecycle order; terminal in bold) | IAM actions: on `*` / on the resource | Bedrock events (detail types) |",
        "|---|---|---|---|---|---|",
    ]
    for key, f in families.items():
        statuses = ", ".join(f"**{s}**" if phase in terminal else s for s, phase in vocab[f["Name"]])
        lists = ", ".join(code(a) for a in f.get("ListActions", [])) or "none"
        reads = ", ".join(code(a) for a in f.get("ReadActions", []))
        events = ", ".join(code(e) for e in f.get("EventTypes", [])) or "none"
        rows.append(f"| {code(f['Name'])} | {code(key)} | {code(f['Poller'])} | {statuses} "
                    f"| {lists} / {reads} on {code(f['ReadResource'])} | {events} |")
    return "\n".join(rows)


def table_readme_families(root, template):
    """The README's short family table: what each family is read with and how its work ends."""
    families = template["Mappings"]["Families"]
    vocab = vocabularies(root)
    terminal = terminal_phases(root)
    rows = ["| family (`jobKind`) | read with | ends in |", "|---|---|---|"]
    for f in families.values():
        ends = ", ".join(s for s, phase in vocab[f["Name"]] if phase in terminal)
        ops = [a.split(":", 1)[1] for a in f.get("ListActions", []) + f["ReadActions"]]
        # the Lists from the parents down to the jobs; a family without one is read by Get
        read = " › ".join(code(o) for o in ops if o.startswith("List")) or code(ops[0])
        rows.append(f"| {code(f['Name'])} | {read} | {ends} |")
    return "\n".join(rows)


def table_metrics(root, template):
    metrics, stages, other, namespace = metrics_source(root)
    rows = ["| metric | unit | meaning |", "|---|---|---|"]
    rows += [f"| {code(n)} | {u} | {md_cell(a.replace(chr(92) + chr(34), chr(34)))} |" for n, u, a in metrics]
    for stage, name in stages:
        rows.append(f"| {code(name)} | Count | failed steps of stage `{stage}` (emitted only in a run where it failed) |")
    rows.append(f"| {code(other)} | Count | failed steps of a stage not named above (emitted only when one failed) |")
    return "\n".join(rows) + f"\n\nNamespace when `METRICS_NAMESPACE` is unset: {code(namespace)}."


def rendered(root, template, render, name="defaults"):
    return render.render(template, render.COMBINATIONS[name])


def table_alarms(root, template, render):
    t = render.template_with(template, {})
    res = render.Resolver(render.expand_foreach(t))
    rs = res.resources(rendered(root, template, render))
    alarms = {k: r for k, r in rs.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    families = list(template["Mappings"]["Families"])
    kinds = {}
    for k, a in alarms.items():
        fam = next((f for f in families if k.startswith(f)), None)
        generic = k if fam is None else "<Family>" + k[len(fam):]
        kinds.setdefault(generic, []).append((k, a["Properties"]))
    rows = ["| alarm | how many (defaults) | metric | statistic, period, threshold | missing data | description |",
            "|---|---|---|---|---|---|"]
    for generic, items in list(kinds.items()):
        if len(items) == 1 and generic != items[0][0]:
            # an alarm of one family only keeps its own name
            kinds[items[0][0]] = kinds.pop(generic)
    for generic, items in kinds.items():
        k, p = items[0]
        metric = p.get("MetricName") or ", ".join(m.get("MetricStat", {}).get("Metric", {}).get("MetricName", m.get("Id"))
                                                 for m in p.get("Metrics", []))
        period = p.get("Period", "")
        rule = f"{p.get('Statistic', '')} over {period} s, {p.get('ComparisonOperator', '')} {p.get('Threshold', '')}, " \
               f"{p.get('EvaluationPeriods', '')} of {p.get('DatapointsToAlarm', p.get('EvaluationPeriods', ''))}"
        description = p.get("AlarmDescription", "")
        if isinstance(description, dict):
            description = render.substitute(description)
        fam = next((f for f in families if k.startswith(f)), None) if generic.startswith("<Family>") else None
        if fam is not None:
            entry = template["Mappings"]["Families"][fam]
            description = str(description).replace(entry["Poller"], "<poller>").replace(entry["Name"], "<family>")
        rows.append(f"| {code(generic)} | {len(items)} | {code(metric)} | {md_cell(rule)} | {md_cell(p.get('TreatMissingData', ''))} "
                    f"| {md_text(description)} |")
    return "\n".join(rows)


COUNTED = [
    ("functions", "AWS::Lambda::Function"),
    ("schedules", "AWS::Scheduler::Schedule"),
    ("event rules", "AWS::Events::Rule"),
    ("event buses", "AWS::Events::EventBus"),
    ("alarms", "AWS::CloudWatch::Alarm"),
    ("IAM roles", "AWS::IAM::Role"),
    ("managed policies", "AWS::IAM::ManagedPolicy"),
    ("SNS topics", "AWS::SNS::Topic"),
    ("subscriptions", "AWS::SNS::Subscription"),
    ("chat channels", ("AWS::Chatbot::SlackChannelConfiguration", "AWS::Chatbot::MicrosoftTeamsChannelConfiguration")),
    ("log groups", "AWS::Logs::LogGroup"),
    ("KMS keys", "AWS::KMS::Key"),
    ("dashboards", "AWS::CloudWatch::Dashboard"),
]


def renderings(root, template, render):
    out = {}
    for name, params in render.COMBINATIONS.items():
        res = render.Resolver(render.expand_foreach(render.template_with(template, params)))
        out[name] = res.resources(render.render(template, params))
    return out


def table_counts(root, template, render, all_rendered):
    head = "| rendering | " + " | ".join(label for label, _ in COUNTED) + " | resources |"
    rows = [head, "|" + "---|" * (len(COUNTED) + 2)]
    for name, rs in all_rendered.items():
        types = [r["Type"] for r in rs.values()]
        cells = [str(sum(t in (kind if isinstance(kind, tuple) else (kind,)) for t in types)) for _, kind in COUNTED]
        rows.append(f"| {code(name)} | " + " | ".join(cells) + f" | {len(types)} |")
    settings = "\n".join(f"- {code(n)}: " + (", ".join(f"{code(k)}={code(v)}" for k, v in p.items()) or "every parameter at its default")
                         for n, p in render.COMBINATIONS.items())
    return "\n".join(rows) + "\n\nThe renderings (`scripts/render-template.py`, `COMBINATIONS`):\n\n" + settings


def handler_permissions(resource_type):
    import cfnlint

    base = Path(cfnlint.__file__).parent / "data/schemas"
    index = json.loads((base / "providers/us-east-1.json").read_text())
    if resource_type not in index:
        raise Drift(f"no CloudFormation resource schema for {resource_type} in cfn-lint's data")
    schema = json.loads((base / "resources" / f"{index[resource_type]}.json").read_text())
    handlers = schema.get("handlers", {})
    perms = set()
    for h in ("create", "read", "update", "delete"):
        perms |= set(handlers.get(h, {}).get("permissions", []))
    if not perms:
        raise Drift(f"{resource_type}: its schema lists no handler permissions")
    return perms


def table_deploy_actions(root, template, render, all_rendered):
    where = {}
    for name, rs in all_rendered.items():
        for r in rs.values():
            where.setdefault(r["Type"], set()).add(name)
    every = set(all_rendered)
    rows = ["| resource type | created in | actions (CloudFormation handler permissions: create, read, update, delete) |",
            "|---|---|---|"]
    union = {}
    for t in sorted(where):
        perms = sorted(handler_permissions(t))
        for p in perms:
            union.setdefault(p.split(":")[0], set()).add(p.split(":")[1])
        when = "every rendering" if where[t] == every else ", ".join(code(n) for n in sorted(where[t]))
        rows.append(f"| {code(t)} | {when} | {', '.join(code(p) for p in perms)} |")
    by_service = ["| service | every action the resource types above need |", "|---|---|"]
    by_service += [f"| `{s}` | {', '.join(code(a) for a in sorted(acts))} |" for s, acts in sorted(union.items())]
    return "\n".join(by_service) + "\n\nPer resource type:\n\n" + "\n".join(rows)


# ---------------------------------------------------------------------------------------------
# Checked tables


def markdown_table(text, first_header):
    """The rows (lists of cells) of the table whose header's first cell is `first_header`."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and cells[0] == first_header:
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))])
            return rows
    raise Drift(f"no table with header '{first_header}'")


def kebab(variant):
    return re.sub(r"(?<!^)([A-Z])", r"-\1", variant).lower()


def per_family_default(family_rs, field):
    """The `AlertDefaults` `field` of every family in family.rs, as the page states it: the
    families that differ from the most common value, then `other families`."""
    entries = re.findall(r'pub static \w+: Family = Family \{.*?name: "([a-z-]+)".*?' + field + r": (\d+),", family_rs, re.S)
    if not entries:
        raise Drift(f"family.rs: no `{field}` in the Family entries")
    values = [int(v) for _, v in entries]
    common = max(set(values), key=values.count)
    parts = [f"`{v}h` {name}" for name, v in entries if int(v) != common]
    return ", ".join(parts + [f"`{common}h` other families"])


def code_defaults(root):
    """{variable: the default as the page must start its default cell} for the variables whose
    default the code states, and the set of every variable config.rs reads."""
    config = (root / "shared/src/config.rs").read_text()
    alert = (root / "shared/src/domain/alert.rs").read_text()
    fleet = (root / "shared/src/targets.rs").read_text()
    _, _, _, namespace = metrics_source(root)
    read = set(re.findall(r'(?:get|required|flag|number|topic|duration|thresholds|Missing)\(\s*"([A-Z][A-Z0-9_]+)"', config))
    defaults = {}
    for name, default in re.findall(r'number\(\s*"([A-Z0-9_]+)",\s*(\d+),', config):
        defaults[name] = code(default)
    for name in re.findall(r'flag\(\s*"([A-Z0-9_]+)"\)', config):
        defaults[name] = code("false")
    for name in re.findall(r'(?:required\(|Missing\()\s*"([A-Z0-9_]+)"', config):
        defaults.setdefault(name, "required")
    for name in read:
        # `None | Some("full") => ...` right after the variable is read: that value is the default.
        at = config.find(f'"{name}"')
        m = re.search(r'None \| Some\("([a-z]+)"', config[at:at + 400])
        if m and name not in defaults:
            defaults[name] = code(m.group(1))
    if "METRICS_NAMESPACE" in read:
        if "DEFAULT_NAMESPACE" not in config[config.find('"METRICS_NAMESPACE"'):][:200]:
            raise Drift("config.rs: METRICS_NAMESPACE's default is no longer metrics::DEFAULT_NAMESPACE")
        defaults["METRICS_NAMESPACE"] = code(namespace)
    fields = dict(re.findall(r"(\w+): Duration::hours\((\d+)\)", alert[alert.find("impl Default for AlertSettings"):]))
    for name, field in re.findall(r'duration\("([A-Z_]+)", defaults\.(\w+)\)', config):
        if field not in fields:
            raise Drift(f"alert.rs: the default of {field} ({name}) is not Duration::hours(n)")
        defaults[name] = code(fields[field] + "h")
    factor = re.search(r"overdue_factor: ([0-9.]+)", alert[alert.find("impl Default for AlertSettings"):])
    if "ALERT_OVERDUE_FACTOR" in read:
        if not factor:
            raise Drift("alert.rs: default overdue_factor not found")
        defaults["ALERT_OVERDUE_FACTOR"] = code(factor.group(1).removesuffix(".0"))
    family = (root / "shared/src/domain/family.rs").read_text()
    defaults["ALERT_STUCK_AFTER"] = per_family_default(family, "stuck_after_hours")
    defaults["ALERT_RUNNING_AFTER"] = per_family_default(family, "running_after_hours")
    scope = re.search(r"pub const DEFAULT_SCOPE_CONCURRENCY: usize = (\d+);", fleet)
    if scope and "SCOPE_CONCURRENCY" in read:
        if defaults.get("SCOPE_CONCURRENCY") not in (None, code(scope.group(1))):
            raise Drift("SCOPE_CONCURRENCY: config.rs and targets.rs disagree on the default")
    return defaults, read


# Variables the SDK, the runtime or the logger read (not config.rs): documented, not derived.
OUTSIDE_CONFIG = {"AWS_ENDPOINT_URL", "AWS_LAMBDA_LOG_LEVEL", "RUST_LOG", "AWS_DEFAULT_REGION"}


def check_environment(root, template, render):
    page = (root / "docs/configuration/environment.md").read_text()
    rows = markdown_table(page, "variable")
    documented = {}
    for cells in rows:
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
            documented[name] = cells[1] if len(cells) > 1 else ""
    defaults, read = code_defaults(root)
    t = render.template_with(template, {})
    res = render.Resolver(render.expand_foreach(t))
    rs = res.resources(render.render(template, {}))
    set_by_template = set()
    for r in rs.values():
        if r["Type"] == "AWS::Lambda::Function":
            set_by_template |= set(r["Properties"].get("Environment", {}).get("Variables", {}))
    problems = []
    for name in sorted((read | set_by_template) - set(documented)):
        source = "config.rs reads" if name in read else "template.yaml sets"
        problems.append(f"{name}: {source} it, the table has no row for it")
    for name in sorted(set(documented) - read - set_by_template - OUTSIDE_CONFIG):
        if not name.startswith("AWS_ENDPOINT_URL_"):
            problems.append(f"{name}: documented, but neither config.rs nor the template uses it")
    for name, default in sorted(defaults.items()):
        cell = documented.get(name)
        if cell is not None and not cell.startswith(default):
            problems.append(f"{name}: the code's default is {default}, the table says {cell!r}")
    return problems


def check_permissions_prose(root, template, render, all_rendered):
    """Every `service:Action` the permissions page names in its own words is one the generated
    list has (stack-level CloudFormation and S3 actions aside): prose cannot promise an action
    the resource schemas do not ask for, or miss one that a renamed type dropped."""
    page = (root / "docs/deploying/permissions.md").read_text()
    prose = re.sub(r"<!-- generated:(\S+) .*?<!-- /generated:\1 -->", "", page, flags=re.S)
    known = set()
    for rs in all_rendered.values():
        for t in {r["Type"] for r in rs.values()}:
            known |= handler_permissions(t)
    named = set(re.findall(r"`([a-z0-9-]+:[A-Z][A-Za-z0-9*]+)`", prose))
    return [f"{a} is named on the page but no resource type the stack creates needs it"
            for a in sorted(named) if a.split(":")[0] not in ("cloudformation", "s3") and a not in known]


FANOUT_METRICS = {"FailingScopes", "ScopeFailing", "ScopesPolled", "ScopesNotStarted", "WorkItemsReturned",
                  "WorkItemsQueued", "AccountsWatched", "AccountsUnwatched"}
# Workflow waits' metrics: one series each (JobKind workflows), only with WorkflowWaits=on.
WORKFLOW_METRICS = {"WorkflowsSucceeded", "WorkflowsFailed", "WorkflowHeartbeats", "WorkflowWaitsDropped",
                    "WorkflowResumeErrors", "WorkflowWaitsRegistered"}

# Emitted only by the batch poller with output manifests, only in runs that price a job.
COST_METRICS = {"EstimatedCostUsd", "PricingCalls"}

# Per running job (dimension JobId), only with PROGRESS_METRICS=on: the page prices them apart.
PROGRESS_METRICS = {"RecordsRemaining", "RecordsPerHour", "HoursToEstimatedEnd"}


def check_cost(root, template, render, all_rendered):
    """The cost table's counts are the stack's: pollers and alarms of the default rendering,
    custom metrics per family from metrics.rs, families with Bedrock events from the template."""
    page = (root / "docs/deploying/cost.md").read_text()
    rs = all_rendered["defaults"]
    functions = sum(r["Type"] == "AWS::Lambda::Function" for r in rs.values())
    alarms = sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in rs.values())
    metrics, _, _, _ = metrics_source(root)
    # The fan-out's metrics come from the worker, dispatcher and refresh (JobKind = the function),
    # and the scope-health pair only while a scope fails: not in a one-account stack's bill.
    # The cost metrics exist only for the family that prices its jobs (batch, with manifests):
    # the page counts them apart.
    per_family = len([m for m in metrics
                      if m[0] != "Events" and m[0] not in FANOUT_METRICS | WORKFLOW_METRICS | COST_METRICS | PROGRESS_METRICS])
    evented = sum(bool(f.get("EventTypes")) for f in template["Mappings"]["Families"].values())
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
    found = {
        "pollers": re.search(r"\| (\d+) pollers x 30 x 24 x 12", page),
        "alarms": re.search(r"\| CloudWatch alarms \| (\d+) ", page),
        "metrics per family": re.search(r"\| (\d+) metrics per family", page),
        "families with events": re.search(r"`Events` too for the (\w+) with Bedrock events: (\d+),", page),
    }
    missing = [k for k, m in found.items() if not m]
    if missing:
        raise Drift(f"cost.md: cannot find the {', '.join(missing)} in the table")
    problems = []
    for what, have, want in [
        ("pollers", int(found["pollers"].group(1)), functions),
        ("alarms", int(found["alarms"].group(1)), alarms),
        ("metrics per family", int(found["metrics per family"].group(1)), per_family),
        ("families with Bedrock events", words.get(found["families with events"].group(1), -1), evented),
        ("custom metrics", int(found["families with events"].group(2)), functions * per_family + evented),
    ]:
        if have != want:
            problems.append(f"the table counts {have} {what}, the stack has {want} (and the arithmetic after it changes)")
    return problems


def check_families_prose(root, template):
    """The hand-written "How each family is read" table has one row per family, no more."""
    page = (root / "docs/configuration/families.md").read_text()
    rows = markdown_table(page, "family")
    named = [re.sub(r"[`\s]", "", cells[0]) for cells in rows]
    want = [f["Name"] for f in template["Mappings"]["Families"].values()]
    problems = [f"family {n} has no row in 'How each family is read'" for n in want if n not in named]
    problems += [f"'How each family is read' has a row for {n}, which is not a family" for n in named if n not in want]
    return problems


def check_layout(root):
    page = (root / "docs/architecture/layout.md").read_text()
    problems = []
    files = {}
    for folder in ["shared/src", "shared/src/adapters", "shared/src/adapters/families", "shared/src/poller", "shared/src/domain", "shared/src/testing", "shared/src/workflows",
                   "tools/bench/src", "tools/jobwatch-cli/src", "tools/testkit/src", "tests/tests", "shared/tests",
                   "tools/bedrock-emulator/src", "tools/bedrock-emulator/src/api", "tools/bedrock-emulator/src/families", "shared/src/notices"]:
        for f in sorted((root / folder).glob("*.rs")):
            if f.stem not in ("mod", "lib", "main"):
                files.setdefault(f.name, []).append(f"{folder}/{f.name}")
    # a name shared by several modules (fleet.rs, regions.rs) must be named once for each
    for name, paths in sorted(files.items()):
        if len(re.findall(r"\b" + re.escape(name) + r"\b", page)) < len(paths):
            problems.append(f"{', '.join(paths)}: `{name}` is named fewer times than there are such modules")
    bench = (root / "tools/bench/src/main.rs").read_text()
    enum = re.search(r"enum Command \{(.*?)\n\}", bench, re.S)
    if not enum:
        raise Drift("tools/bench/src/main.rs: enum Command not found")
    for variant in re.findall(r"^    (\w+)\b", enum.group(1), re.M):
        if not re.search(r"`bench " + kebab(variant) + r"\b|`" + kebab(variant) + r"`", page):
            problems.append(f"bench command {kebab(variant)} is not named")
    return problems


def slugs(markdown_text):
    from markdown.extensions.toc import slugify

    found = set()
    for line in markdown_text.split("\n"):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*$", line)
        if m:
            found.add(slugify(re.sub(r"[`*]", "", m.group(1)), "-"))
    found |= set(re.findall(r'\{#([\w-]+)\}', markdown_text))
    return found


def examples(root, write=False):
    """A fenced block right after `<!-- example:PATH -->` is that file of the repository, verbatim
    (golden files the tests compare with): an example in the docs cannot drift from the code's
    output. Returns the problems, or rewrites the blocks with --write."""
    problems = []
    for page in [root / "README.md", *sorted((root / "docs").rglob("*.md"))]:
        text = page.read_text()
        pattern = re.compile(r"(<!-- example:(\S+) -->\n```\w*\n)(.*?)(^```$)", re.S | re.M)
        def fix(m):
            source = root / m.group(2)
            if not source.exists():
                problems.append(f"{page.relative_to(root)}: example {m.group(2)} does not exist")
                return m.group(0)
            want = source.read_text()
            want += "" if want.endswith("\n") else "\n"
            if m.group(3) != want:
                if not write:
                    problems.append(f"{page.relative_to(root)}: the example no longer matches {m.group(2)}")
                return m.group(1) + want + m.group(4)
            return m.group(0)
        new = pattern.sub(fix, text)
        if write and new != text:
            page.write_text(new)
            print(f"docs-reference: wrote {page.relative_to(root)} (example)")
    return problems


def check_references(root):
    """Every `docs/....md` that the template, the scripts or the code point a reader to exists
    (alarm descriptions, parameter descriptions and comments name pages of this site)."""
    problems = []
    sources = [root / "template.yaml", root / "member-account.yaml", root / "samconfig.toml", root / "Makefile",
               *sorted((root / "scripts").glob("*")), *sorted((root / "shared/src").rglob("*.rs")),
               *sorted((root / "tools").rglob("*.rs")), *sorted((root / "tests/tests").glob("*.rs"))]
    for source in sources:
        if not source.is_file() or source.name.startswith("test_"):
            continue  # (the tests of this script name broken pages on purpose)
        for page in sorted(set(re.findall(r"\bdocs/[A-Za-z0-9_/-]+\.md\b", source.read_text(errors="replace")))):
            if not (root / page).exists():
                problems.append(f"{source.relative_to(root)} points to {page}, which does not exist")
    return problems


def check_readme(root):
    text = (root / "README.md").read_text()
    problems = []
    lines = text.count("\n")
    if lines > 210:
        problems.append(f"README.md has {lines} lines (at most about 200)")
    fence = re.search(r"## Quick start.*?```sh\n(.*?)```", text, re.S)
    commands = [line.split("#")[0].strip() for line in fence.group(1).strip().split("\n")] if fence else []
    if commands != ["make demo", "make test"]:
        problems.append(f"the quick start's commands are {commands}, not make demo and make test")
    declared = re.search(r'^rust-version = "([0-9.]+)"', (root / "Cargo.toml").read_text(), re.M)
    said = re.search(r"Rust ([0-9.]+) or newer", text)
    if declared and (not said or said.group(1) != declared.group(1)):
        problems.append(f"the quick start asks for Rust {said.group(1) if said else '(none)'}, "
                        f"Cargo.toml's rust-version is {declared.group(1)}")
    in_code = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", in_code):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = root / path if path else root / "README.md"
        if not file.exists():
            problems.append(f"link to {target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in slugs(file.read_text()):
            problems.append(f"link to {target}: no such heading in {path or 'README.md'}")
    return problems


# ---------------------------------------------------------------------------------------------

GENERATED = {
    "params": ("docs/configuration/parameters.md", "template.yaml Parameters", lambda c: table_params(c["root"], c["template"])),
    "outputs": ("docs/configuration/parameters.md", "template.yaml Outputs", lambda c: table_outputs(c["root"], c["template"])),
    "families": ("docs/configuration/families.md", "template.yaml Families + family.rs",
                 lambda c: table_families(c["root"], c["template"])),
    "readme-families": ("README.md", "template.yaml Families + family.rs",
                        lambda c: table_readme_families(c["root"], c["template"])),
    "metrics": ("docs/operations/metrics.md", "shared/src/metrics.rs", lambda c: table_metrics(c["root"], c["template"])),
    "alarms": ("docs/operations/alarms.md", "the rendered template", lambda c: table_alarms(c["root"], c["template"], c["render"])),
    "counts": ("docs/deploying/permissions.md", "the renderings", lambda c: table_counts(c["root"], c["template"], c["render"], c["all"]())),
    "deploy-actions": ("docs/deploying/permissions.md", "the renderings' resource types and their schemas",
                       lambda c: table_deploy_actions(c["root"], c["template"], c["render"], c["all"]())),
}


def block_re(name):
    """A generated block: its opening marker line, its content (whole lines), its closing marker."""
    return re.compile(r"(<!-- generated:" + re.escape(name) + r" [^>]*-->\n)(.*?)(^<!-- /generated:" + re.escape(name) + r" -->)",
                      re.S | re.M)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    ap.add_argument("--root", default=str(SCRIPTS.parent))
    args = ap.parse_args()
    root = Path(args.root).resolve()
    render = load_render()
    template = load_template(root)
    cache = {}

    def all_rendered():
        if "all" not in cache:
            cache["all"] = renderings(root, template, render)
        return cache["all"]

    context = {"root": root, "template": template, "render": render, "all": all_rendered}
    failures = []
    pages = {}
    for name, (page, source, make) in GENERATED.items():
        path = root / page
        if not path.exists():
            failures.append(f"{page}: missing (it holds the generated:{name} table)")
            continue
        text = pages.setdefault(path, path.read_text())
        m = block_re(name).search(text)
        if not m:
            failures.append(f"{page}: no generated:{name} block")
            continue
        try:
            want = make(context) + "\n"
        except Drift as e:
            failures.append(f"table {name} ({page}): cannot read {source}: {e}")
            continue
        if m.group(2) != want:
            if args.write:
                pages[path] = text[:m.start(2)] + want + text[m.end(2):]
            else:
                have, now = m.group(2).split("\n"), want.split("\n")
                short = lambda line: line if len(line) <= 300 else line[:300] + "..."  # noqa: E731
                gone = [short(x) for x in have if x not in now][:3]
                added = [short(x) for x in now if x not in have][:3]
                failures.append(f"table {name} ({page}) no longer matches {source} "
                                f"(python3 scripts/docs-reference.py --write regenerates it):"
                                + "".join(f"\n    - {x}" for x in gone) + "".join(f"\n    + {x}" for x in added))
    if args.write:
        for path, text in pages.items():
            if path.read_text() != text:
                path.write_text(text)
                print(f"docs-reference: wrote {path.relative_to(root)}")
    checks = [("environment", lambda: check_environment(root, template, render)),
                      ("deploy permissions prose", lambda: check_permissions_prose(root, template, render, all_rendered())),
                      ("cost", lambda: check_cost(root, template, render, all_rendered())),
                      ("families prose", lambda: check_families_prose(root, template)),
                      ("layout", lambda: check_layout(root)),
                      ("examples", lambda: examples(root, write=args.write)),
                      ("references", lambda: check_references(root)),
                      ("README", lambda: check_readme(root))]
    for name, run in checks:
        try:
            failures += [f"table {name}: {p}" if name != "README" else f"README: {p}" for p in run()]
        except Drift as e:
            failures.append(f"table {name}: cannot read its source: {e}")
    for f in failures:
        print(f"docs-reference: {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"docs-reference: {len(GENERATED)} generated tables match their sources; checks hold: {', '.join(n for n, _ in checks)}")


if __name__ == "__main__":
    main()
