#!/usr/bin/env bash
# One-command local demo: installs what is missing, builds once, and runs scripts/demo.py, which
# starts moto and the Bedrock emulator, runs the poller binary (one process per family, JOB_FAMILY) against the Lambda runtime API
# of `cargo lambda watch --only-lambda-apis` (which compiles nothing), invokes them with
# `cargo lambda invoke`, prints the notifications as a subscriber receives them, and ends with
# `jobwatch-cli status` (what an operator sees).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
echo "==> building the emulator and the pollers (first build takes a few minutes)"
cargo build --quiet -p jobwatch-cli -p bedrock-emulator -p jobwatch-poller --bin bedrock-emulator --bin jobwatch-poller --bin jobwatch-cli
exec python3 scripts/demo.py "$@"
