#!/usr/bin/env bash
# Builds and deploys with your own values, kept in samconfig.local.toml (git-ignored, so pulling
# an update never conflicts). The first run, or `scripts/deploy.sh --guided`, asks for them with
# `sam deploy --guided` and saves them there.
#
# sam build and sam deploy must read the same parameters (Architecture decides what sam build
# compiles). Guided mode saves parameter_overrides for deploy only, so this script moves them to
# the file's [default.global.parameters], which both commands read, and builds again before the
# first real deployment: the guided run only creates a change set (--no-execute-changeset).
# Afterwards `sam build --config-file samconfig.local.toml && sam deploy --config-file
# samconfig.local.toml` is all this script does.
set -euo pipefail
cd "$(dirname "$0")/.."
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"
config=samconfig.local.toml
guided=0
if [ "${1:-}" = "--guided" ]; then guided=1; shift; fi
if [ ! -f "$config" ]; then
  # the project's settings, with your values added below them by the guided run
  { echo "# Your deployment values (git-ignored), read by sam build and sam deploy --config-file $config."
    echo "# Stack tags (applied to every resource that takes tags): tags = \"team=ml cost-center=42\" under [default.deploy.parameters]."
    grep -v '^#' samconfig.toml; } > "$config"
  guided=1
fi

if [ "$guided" = 1 ]; then
  echo "==> sam build (current parameters), then sam deploy --guided: your answers go to $config"
  sam build --config-file "$config"
  sam deploy --guided --config-file "$config" --no-execute-changeset
  python3 - "$config" <<'PY'
import sys
import tomlkit

path = sys.argv[1]
doc = tomlkit.parse(open(path).read())
moved = 0
for env in doc.values():
    if not isinstance(env, dict):
        continue
    deploy = env.get("deploy", {}).get("parameters", {})
    if "parameter_overrides" in deploy:
        env.setdefault("global", tomlkit.table()).setdefault("parameters", tomlkit.table())
        env["global"]["parameters"]["parameter_overrides"] = deploy.pop("parameter_overrides")
        moved += 1
open(path, "w").write(tomlkit.dumps(doc))
print(f"==> {path}: parameter_overrides now in [global.parameters] ({moved} environment(s)): build and deploy read them")
PY
fi

echo "==> sam build and sam deploy with $config"
sam build --config-file "$config"
sam deploy --config-file "$config" "$@"
