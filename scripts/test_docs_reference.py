"""Tests of scripts/docs-reference.py: each check passes on this checkout, and fails, naming its
table, on a copy of the repository where one source was edited (a default, a metric, a status,
a module, a link). Run by `make test` (scripts/docs.sh check):

    python3 -m unittest discover -s scripts -p 'test_docs_reference.py' -v
"""

import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "docs-reference.py"
IGNORED = shutil.ignore_patterns("target", ".git", ".aws-sam", ".demo", "__pycache__", "node_modules")


def run(root, mode="--check"):
    return subprocess.run([sys.executable, str(SCRIPT), mode, "--root", str(root)], capture_output=True, text=True)


class Copy:
    """A throwaway copy of the repository's sources, docs and template."""

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="docs-reference-")
        self.root = Path(self.tmp.name) / "repo"
        shutil.copytree(ROOT, self.root, ignore=IGNORED)
        return self

    def __exit__(self, *exc):
        self.tmp.cleanup()

    def edit(self, path, old, new, count=1):
        file = self.root / path
        text = file.read_text()
        assert text.count(old) >= 1, f"{path} no longer contains {old!r}: update this test"
        file.write_text(text.replace(old, new, count))


class DocsReference(unittest.TestCase):
    def assert_fails_naming(self, root, *needles):
        result = run(root)
        self.assertEqual(result.returncode, 1, f"the check passed:\n{result.stdout}{result.stderr}")
        for needle in needles:
            self.assertIn(needle, result.stderr)

    def test_this_checkout_matches_its_sources(self):
        result = run(ROOT)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_a_parameter_default_edited_in_the_template_fails_the_params_table(self):
        with Copy() as c:
            c.edit("template.yaml", "    Default: 336\n", "    Default: 337\n")
            self.assert_fails_naming(c.root, "table params", "337")
            # and --write brings the table back in line, with the new default
            self.assertEqual(run(c.root, "--write").returncode, 0)
            self.assertEqual(run(c.root).returncode, 0)
            page = (c.root / "docs/configuration/parameters.md").read_text()
            self.assertRegex(page, r"\| `LookbackHours` \| `337` \|")

    def test_a_default_edited_in_the_code_fails_the_environment_table(self):
        with Copy() as c:
            c.edit("shared/src/config.rs", 'vars.number("LOOKBACK_HOURS", 336,', 'vars.number("LOOKBACK_HOURS", 48,')
            self.assert_fails_naming(c.root, "table environment", "LOOKBACK_HOURS", "`48`")

    def test_an_alert_default_edited_in_the_code_fails_the_environment_table(self):
        with Copy() as c:
            c.edit("shared/src/domain/family.rs", "stuck_after_hours: 6,", "stuck_after_hours: 8,")
            self.assert_fails_naming(c.root, "table environment", "ALERT_STUCK_AFTER", "`8h` batch-inference")

    def test_a_variable_the_code_reads_without_a_row_fails_the_environment_table(self):
        with Copy() as c:
            page = c.root / "docs/configuration/environment.md"
            page.write_text(re.sub(r"^\| `SCOPE_CONCURRENCY` .*\n", "", page.read_text(), flags=re.M))
            self.assert_fails_naming(c.root, "table environment", "SCOPE_CONCURRENCY: config.rs reads it")

    def test_a_new_metric_fails_the_metrics_table(self):
        with Copy() as c:
            c.edit("shared/src/metrics.rs", '    metric("RunDuration",',
                   '    metric("DigestsSent", Unit::Count, "digests published"),\n    metric("RunDuration",')
            self.assert_fails_naming(c.root, "table metrics", "DigestsSent")

    def test_a_status_renamed_in_family_rs_fails_the_families_table(self):
        with Copy() as c:
            c.edit("shared/src/domain/family.rs", '("Validating", Pending)', '("Validated", Pending)')
            self.assert_fails_naming(c.root, "table families", "Validated")

    def test_an_alarm_changed_in_the_template_fails_the_alarms_table(self):
        with Copy() as c:
            text = (c.root / "template.yaml").read_text()
            alarm = text.index("DeadLetterAlarm:")
            threshold = text.index("Threshold: 1", alarm)
            (c.root / "template.yaml").write_text(text[:threshold] + "Threshold: 2" + text[threshold + len("Threshold: 1"):])
            self.assert_fails_naming(c.root, "table alarms", "DeadLetterAlarm")

    def test_a_new_resource_type_fails_the_counts_and_the_deploy_permissions(self):
        with Copy() as c:
            c.edit("template.yaml", "\nResources:\n",
                   "\nResources:\n  ExtraBucket:\n    Type: AWS::S3::Bucket\n")
            self.assert_fails_naming(c.root, "table counts", "table deploy-actions", "AWS::S3::Bucket")

    def test_a_new_alarm_fails_the_cost_table(self):
        with Copy() as c:
            c.edit("template.yaml", "\nResources:\n",
                   "\nResources:\n  ExtraAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n"
                   "      MetricName: Errors\n      Namespace: AWS/Lambda\n      Statistic: Sum\n      Period: 300\n"
                   "      EvaluationPeriods: 1\n      Threshold: 1\n      ComparisonOperator: GreaterThanThreshold\n")
            self.assert_fails_naming(c.root, "table cost", "alarms", "table alarms")

    def test_a_new_module_not_named_fails_the_layout(self):
        with Copy() as c:
            (c.root / "shared/src/poller/retry_budget.rs").write_text("//! a new phase\n")
            self.assert_fails_naming(c.root, "table layout", "retry_budget.rs")

    def test_a_broken_readme_link_fails(self):
        with Copy() as c:
            c.edit("README.md", "(docs/deploying/cost.md)", "(docs/deploying/costs.md)")
            self.assert_fails_naming(c.root, "README", "docs/deploying/costs.md")

    def test_an_email_example_that_no_longer_matches_its_golden_file_fails(self):
        with Copy() as c:
            c.edit("shared/tests/golden/batch-inference-PartiallyCompleted.txt", "Records:", "Records (all):")
            self.assert_fails_naming(c.root, "example", "batch-inference-PartiallyCompleted.txt")

    def test_an_alarm_description_pointing_to_a_missing_page_fails(self):
        with Copy() as c:
            c.edit("template.yaml", "Runbook: docs/operations/alarms.md.", "Runbook: docs/operations/runbook.md.")
            self.assert_fails_naming(c.root, "table references", "docs/operations/runbook.md")

    def test_a_readme_that_grows_past_the_front_door_fails(self):
        with Copy() as c:
            readme = c.root / "README.md"
            readme.write_text(readme.read_text() + "\nmore\n" * 100)
            self.assert_fails_naming(c.root, "README", "lines")


if __name__ == "__main__":
    unittest.main()
