#!/usr/bin/env bash
# Offline checks of template.yaml: cfn-lint, sam validate --lint, the SAM transform rendered for a
# few parameter combinations (checked and linted each: scripts/render-template.py), checkov, and
# sam build of every function with cargo-lambda (arm64); then each function's bootstrap must exist.
# member-account.yaml (plain CloudFormation, a StackSet in member accounts): cfn-lint and checkov.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-dummy}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-dummy}"
export SAM_CLI_TELEMETRY=0

echo "--> cfn-lint"
cfn-lint template.yaml
echo "--> sam validate --lint"
sam validate --lint
echo "--> sam validate --lint, with Regions and MemberRoleArns set (as the render's fleet combination)"
fleet=$(mktemp -d)/template.json
python3 - "$fleet" <<'PY'
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("render", "scripts/render-template.py")
render = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render)
from cfnlint.decode import cfn_yaml
template = cfn_yaml.load("template.yaml")
for name, value in render.COMBINATIONS["fleet"].items():
    template["Parameters"][name]["Default"] = value
json.dump(template, open(sys.argv[1], "w"), indent=1)
PY
sam validate --lint --template-file "$fleet"
echo "--> rendered template (SAM transform offline): parameter combinations, checks, cfn-lint"
python3 scripts/render-template.py
echo "--> checkov (the template as written, and with its loops expanded: checkov does not expand Fn::ForEach)"
checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download
expanded=$(mktemp -d)/template.json
python3 scripts/render-template.py --expanded "$expanded"
checkov -f "$expanded" --framework cloudformation --quiet --compact --skip-download
# checkov drops resources whose condition is false with the defaults: the workflow waits'
# resources (WorkflowWaits=on) are checked in a copy where the switch defaults to on.
waits_on=$(mktemp -d)/template.json
python3 - "$expanded" "$waits_on" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["Parameters"]["WorkflowWaits"]["Default"] = "on"
json.dump(t, open(sys.argv[2], "w"))
PY
checkov -f "$waits_on" --framework cloudformation --quiet --compact --skip-download
echo "--> examples/workflows/template.yaml (workflow waits example): cfn-lint"
cfn-lint examples/workflows/template.yaml
echo "--> member-account.yaml: cfn-lint, checkov"
cfn-lint member-account.yaml
checkov -f member-account.yaml --framework cloudformation --quiet --compact --skip-download
# Its role's statements are each under a family switch (Fn::If), which checkov does not open:
# check them again with the conditions resolved.
member=$(mktemp -d)/member-account.json
python3 scripts/render-template.py --resolved-member "$member"
checkov -f "$member" --framework cloudformation --quiet --compact --skip-download
if [ "${SKIP_SAM_BUILD:-0}" = 1 ]; then
  echo "--> sam build skipped (SKIP_SAM_BUILD=1)"
  exit 0
fi
# --language-extensions: SAM CLI (1.160 and later) expands Fn::ForEach locally only when asked
# (samconfig.toml asks too); without it, it would find no function to build.
echo "--> sam build --beta-features --language-extensions (cargo lambda, arm64)"
sam build --beta-features --language-extensions
# Every function must point at an arm64 bootstrap. Functions with one build definition share one
# build ("<first function>-Shared"): read each function's CodeUri from the built template.
boots=$(python3 - <<'PY'
import importlib.util, os
spec = importlib.util.spec_from_file_location("render", "scripts/render-template.py")
render = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render)
from cfnlint.decode import cfn_yaml
built = render.expand_foreach(cfn_yaml.load(".aws-sam/build/template.yaml"))
for name, res in built["Resources"].items():
    if res["Type"] != "AWS::Serverless::Function":
        continue
    uri = res.get("Properties", {}).get("CodeUri", name)
    print(f"{name}={os.path.join('.aws-sam/build', str(uri), 'bootstrap')}")
PY
)
[ -n "$boots" ] || { echo "the built template has no function" >&2; exit 1; }
for entry in $boots; do
  f=${entry%%=*}; boot=${entry#*=}
  [ -x "$boot" ] || { echo "missing $boot (function $f)" >&2; exit 1; }
  arch=$(file -b "$boot" | grep -o 'ARM aarch64\|x86-64' || true)
  echo "    $f: $boot $(du -h "$boot" | cut -f1) $arch"
  [ "$arch" = "ARM aarch64" ] || { echo "$boot is not an arm64 binary" >&2; exit 1; }
done
