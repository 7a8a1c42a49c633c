#!/usr/bin/env bash
# The documentation site (MkDocs Material, mkdocs.yml, docs/).
#   scripts/docs.sh check   what make test runs: the reference tables against their sources
#                           (scripts/docs-reference.py --check), the tests of those checks, and
#                           mkdocs build --strict (a broken link or anchor fails) into target/site
#   scripts/docs.sh serve   make docs: the site at http://127.0.0.1:8000, rebuilt on every change
#   scripts/docs.sh write   regenerate the generated tables after a change of the template or code
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_MKDOCS_2_WARNING=1 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
case "${1:-check}" in
  check)
    echo "--> reference tables against the template, its renderings and the code (scripts/docs-reference.py)"
    python3 scripts/docs-reference.py --check
    echo "--> the checks fail on an edited source (scripts/test_docs_reference.py)"
    python3 -m unittest discover -s scripts -p 'test_docs_reference.py'
    echo "--> mkdocs build --strict"
    mkdocs build --strict --quiet
    echo "    site built in target/site"
    ;;
  serve) exec mkdocs serve --dev-addr 127.0.0.1:8000 ;;
  write) exec python3 scripts/docs-reference.py --write ;;
  *) echo "usage: scripts/docs.sh check|serve|write" >&2; exit 2 ;;
esac
