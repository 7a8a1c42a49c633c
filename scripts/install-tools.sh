#!/usr/bin/env bash
# Installs the Python-packaged tools the project needs, in ONE pip command (separate installs
# fight over botocore versions). Skips the install when everything is already there.
set -euo pipefail
need=()
command -v moto_server >/dev/null 2>&1 || need+=(moto)
command -v cargo-lambda >/dev/null 2>&1 || need+=(cargo-lambda)
command -v sam >/dev/null 2>&1 || need+=(sam)
command -v cfn-lint >/dev/null 2>&1 || need+=(cfn-lint)
command -v checkov >/dev/null 2>&1 || need+=(checkov)
command -v aws >/dev/null 2>&1 || need+=(aws)
python3 -c "import boto3" 2>/dev/null || need+=(boto3)
python3 -c "import ziglang" 2>/dev/null || need+=(ziglang)
if [ "${#need[@]}" -eq 0 ] && [ "${FORCE_INSTALL:-0}" != 1 ]; then
  echo "tools: all present"
  exit 0
fi
echo "tools: installing (missing: ${need[*]})"
python3 -m pip install --quiet --disable-pip-version-check -U \
  aws-sam-cli cfn-lint awscli boto3 'moto[server]' cargo-lambda ziglang checkov
python3 -m pip check >/dev/null || echo "tools: warning: pip check reports conflicts" >&2
