#!/usr/bin/env bash
# Offline checks of template.yaml: cfn-lint, sam validate --lint, the SAM transform rendered for a
# few parameter combinations (checked and linted each: scripts/render-template.py), checkov, and
# sam build of every function with cargo-lambda (arm64); then each function's bootstrap must exist.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-dummy}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-dummy}"
export SAM_CLI_TELEMETRY=0

echo "--> cfn-lint"
cfn-lint template.yaml
echo "--> sam validate --lint"
sam validate --lint
echo "--> rendered template (SAM transform offline): parameter combinations, checks, cfn-lint"
python3 scripts/render-template.py
echo "--> checkov (the template as written, and with its loops expanded: checkov does not expand Fn::ForEach)"
checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download
expanded=$(mktemp -d)/template.json
python3 scripts/render-template.py --expanded "$expanded"
checkov -f "$expanded" --framework cloudformation --quiet --compact --skip-download
if [ "${SKIP_SAM_BUILD:-0}" = 1 ]; then
  echo "--> sam build skipped (SKIP_SAM_BUILD=1)"
  exit 0
fi
# --language-extensions: SAM CLI (1.160 and later) expands Fn::ForEach locally only when asked
# (samconfig.toml asks too); without it, it would find no function to build.
echo "--> sam build --beta-features --language-extensions (cargo lambda, arm64)"
sam build --beta-features --language-extensions
functions=$(python3 - <<'PY'
import importlib.util
spec = importlib.util.spec_from_file_location("render", "scripts/render-template.py")
render = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render)
from cfnlint.decode import cfn_yaml
t = render.expand_foreach(cfn_yaml.load("template.yaml"))
print(" ".join(k for k, v in t["Resources"].items() if v["Type"] == "AWS::Serverless::Function"))
PY
)
for f in $functions; do
  boot=".aws-sam/build/$f/bootstrap"
  [ -x "$boot" ] || { echo "missing $boot" >&2; exit 1; }
  arch=$(file -b "$boot" | grep -o 'ARM aarch64\|x86-64' || true)
  echo "    $f: $(du -h "$boot" | cut -f1) $arch"
  [ "$arch" = "ARM aarch64" ] || { echo "$boot is not an arm64 binary" >&2; exit 1; }
done
