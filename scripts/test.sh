#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every unit, emulator and end-to-end test,
# the documentation checks (scripts/docs.sh check) and the offline checks of template.yaml. Needs moto_server and boto3 (scripts/install-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0
step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (deny warnings)"
cargo clippy --workspace --all-targets --quiet -- -D warnings
mkdir -p target
step "code shape: no import cycle, no function over 60 lines, a family's files (scripts/shape.py)"
python3 scripts/test_shape.py 2>&1 | tee target/shape-output.log
step "documentation: reference tables against their sources, mkdocs build --strict"
scripts/docs.sh check 2>&1 | tee target/docs-output.log
docs_passed=$(cat target/docs-output.log target/shape-output.log | grep -Eo "^Ran [0-9]+ tests?" | awk '{s+=$2} END {print s+0}')
step "cargo test (unit, emulator, end to end against moto + the Bedrock emulator)"
cargo test --workspace 2>&1 | tee target/test-output.log
passed=$(grep -Eo "^test result: ok\. [0-9]+ passed" target/test-output.log | awk -v d="$docs_passed" '{s+=$4} END {print s+d}')
if [ -f template.yaml ]; then
  step "template checks"
  scripts/check-template.sh
fi
printf '\n%s passed, 0 failed\n' "$passed"
