#!/usr/bin/env bash
# Installs the Python-packaged tools the project needs, in ONE pip command (separate installs
# fight over botocore versions), at the versions the project is tested with
# (scripts/tools-constraints.txt). Skips the install when every tool is there at that version.
#   scripts/install-tools.sh            install what is missing or at another version
#   scripts/install-tools.sh --freeze   rewrite the constraints from what is installed now
set -euo pipefail
cd "$(dirname "$0")/.."
constraints=scripts/tools-constraints.txt
tools=(aws-sam-cli cfn-lint awscli boto3 'moto[server]' cargo-lambda ziglang checkov mkdocs-material)

if [ "${1:-}" = "--freeze" ]; then
  python3 - "$constraints" "${tools[@]}" <<'PY'
"""Pins every installed distribution the tools need (their dependency closure), nothing else."""
import importlib.metadata as md
import re
import sys

from packaging.markers import default_environment
from packaging.requirements import Requirement

path, roots = sys.argv[1], [Requirement(r) for r in sys.argv[2:]]
canon = lambda n: re.sub(r"[-_.]+", "-", n).lower()  # noqa: E731
env, pins, seen = default_environment(), {}, set()
stack = [(r.name, frozenset(r.extras)) for r in roots]
while stack:
    name, extras = stack.pop()
    if (canon(name), extras) in seen:
        continue
    seen.add((canon(name), extras))
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        continue
    pins[canon(name)] = dist.version
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate(dict(env, extra=e)) for e in extras | {""}):
            stack.append((req.name, frozenset(req.extras)))
header = [line for line in open(path) if line.startswith("#")]
python = ".".join(map(str, sys.version_info[:3]))
header[1] = re.sub(r"Python [0-9.]+\.", f"Python {python}.", header[1])
with open(path, "w") as f:
    f.writelines(header)
    f.writelines(f"{n}=={v}\n" for n, v in sorted(pins.items()))
print(f"tools: {len(pins)} pins written to {path}")
PY
  exit 0
fi

# Present at the pinned version? (pip is slow to ask; importlib.metadata is not.)
missing=$(python3 - "$constraints" <<'PY'
import importlib.metadata as md
import sys

pins = dict(line.strip().split("==") for line in open(sys.argv[1]) if "==" in line and not line.startswith("#"))
tools = ["aws-sam-cli", "cfn-lint", "awscli", "boto3", "moto", "cargo-lambda", "ziglang", "checkov", "mkdocs-material"]
out = []
for t in tools:
    try:
        v = md.version(t)
    except md.PackageNotFoundError:
        out.append(f"{t} (missing)")
        continue
    if pins.get(t) and v != pins[t]:
        out.append(f"{t} {v} (tested: {pins[t]})")
print(", ".join(out))
PY
)
for cmd in moto_server cargo-lambda sam cfn-lint checkov aws mkdocs; do
  command -v "$cmd" >/dev/null 2>&1 || missing="${missing:+$missing, }$cmd (not on PATH)"
done
if [ -z "$missing" ] && [ "${FORCE_INSTALL:-0}" != 1 ]; then
  echo "tools: all present at the tested versions"
  exit 0
fi
echo "tools: installing the tested versions ($missing)"
python3 -m pip install --quiet --disable-pip-version-check -c "$constraints" "${tools[@]}"
python3 -m pip check >/dev/null || echo "tools: warning: pip check reports conflicts" >&2
