#!/usr/bin/env python3
"""The code's shape, checked (issue 29): no import cycle between the modules of a crate, no
function over 60 lines outside tests, and how many files a job family touches.

    scripts/shape.py            # all checks; exit 1 naming what fails
    scripts/shape.py --report   # also print every family's files

A module is a file; `use crate::a::b`, `crate::a::b::` paths in code and `super::` count as
edges to the file of the longest module path they name. A name a `mod.rs` re-exports
(`pub use x::Name`) resolves to the file defining it, and the re-export itself is no edge:
`domain::JobKind` depends on `domain/family.rs`, not on `domain/mod.rs`. Test modules
(`#[cfg(test)]` to the end of the file) are left out.
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["shared/src", "tools/bedrock-emulator/src", "tools/jobwatch-cli/src", "tools/bench/src"]
LONG_FUNCTIONS = CRATES
MAX_LINES = 60
MAX_FAMILY_FILES = 8
# Where a family's name may appear without being a place to edit for a new family.
NOT_EDIT_SITES = ("tests/", "docs/", "shared/tests/", "tools/bedrock-emulator/tests/",
                  "tools/jobwatch-cli/tests/", "events/", "examples/", "design/", "schemas/",
                  "CHANGELOG.md", "README.md", "target/", ".git/", "site/", "scripts/test_",
                  # generated from template.yaml's Families mapping and checked for drift
                  # (tests/tests/template.rs; UPDATE_MEMBER_TEMPLATE=1 rewrites it)
                  "member-account.yaml")


def code(text, keep_strings=False):
    """The file without its test module and comments, string contents blanked (unless
    `keep_strings`): a small lexer, so that `"https://"` is no comment and `'{'` no brace."""
    cut = re.search(r"^\s*#\[cfg\(test\)\]", text, re.M)
    text = text[:cut.start()] if cut else text
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif (m := re.match(r'r(#*)"', text[i:i + 10])) and (i == 0 or not text[i - 1].isalnum()):
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append(text[i:end] if keep_strings else '""')
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1] if keep_strings else '""')
            i = j + 1
        elif m := re.match(r"'(\\.[^']*|[^'\\])'", text[i:i + 12]):
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def modules(src):
    """{module path tuple: file} of one crate (`lib.rs`/`main.rs` is the root, `()`)."""
    found = {}
    for f in src.rglob("*.rs"):
        parts = list(f.relative_to(src).with_suffix("").parts)
        if parts in (["lib"], ["main"]) and () in found and parts == ["main"]:
            continue
        if parts[-1] == "mod":
            parts = parts[:-1]
        elif parts in (["lib"], ["main"]):
            parts = []
        found[tuple(parts)] = f
    return found


def reexports(text):
    """{name: submodule} from `pub use sub::{A, B};` lines of a module file."""
    out = {}
    for sub, names in re.findall(r"^pub use (\w+)::\{?([^;}]*)\}?;", text, re.M):
        for name in re.split(r"[,\s]+", names):
            if name:
                out[name.split(" as ")[-1]] = sub
    return out


def resolve(path, mods, exported):
    """The module a path (tuple of segments from the crate root) depends on."""
    for n in range(len(path), -1, -1):
        if path[:n] in mods:
            module = path[:n]
            rest = path[n:]
            while rest and rest[0] in exported.get(module, {}):
                module = module + (exported[module][rest[0]],)
                rest = rest[1:]
                if module not in mods:
                    return None
            return module
    return None


def graph(src):
    mods = modules(src)
    texts = {m: f.read_text() for m, f in mods.items()}
    exported = {m: reexports(t) for m, t in texts.items()}
    edges = {m: set() for m in mods}
    for module, text in texts.items():
        body = code(text)
        body = re.sub(r"^\s*pub(\([^)]*\))? use \w+::[^;]*;", "", body, flags=re.M)
        body = re.sub(r"^\s*(pub(\([^)]*\))? )?mod \w+;", "", body, flags=re.M)
        # the module's parent: super:: of a mod.rs is its own parent too
        is_dir = mods[module].name == "mod.rs"
        parent = module[:-1] if module else ()
        paths = []
        for stmt in re.findall(r"\buse\s+(crate|super)::([^;]+);", body):
            paths += expand(stmt[0], stmt[1])
        for head, rest in re.findall(r"\b(crate|super)::((?:\w+::)*\w+)", body):
            paths.append((head, rest.split("::")))
        for head, segments in paths:
            base = () if head == "crate" else parent
            target = resolve(base + tuple(s for s in segments if s != "self"), mods, exported)
            if target is not None and target != module and target != ():
                edges[module].add(target)
        del is_dir
    return mods, edges


def expand(head, tree):
    """`a::{b, c::{d}}` into [(head, [a, b]), (head, [a, c, d])]."""
    tree = " ".join(tree.split())
    out = []

    def walk(prefix, text):
        text = text.strip()
        m = re.match(r"^([\w:]*?)::\{(.*)\}$", text)
        if m:
            for part in split_top(m.group(2)):
                walk(prefix + [s for s in m.group(1).split("::") if s], part)
        elif text.startswith("{") and text.endswith("}"):
            for part in split_top(text[1:-1]):
                walk(prefix, part)
        elif text:
            out.append((head, prefix + [s for s in text.split(" as ")[0].split("::") if s and s != "*"]))
    walk([], tree)
    return out


def split_top(text):
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return parts + [current]


def cycles(src):
    """Every strongly connected set of more than one module (Tarjan)."""
    mods, edges = graph(src)
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted("::".join(m) for m in group))
    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            strong(v)
    return found


def long_functions(src):
    out = []
    for f in sorted(src.rglob("*.rs")):
        if "testing" in f.parts:
            continue
        lines = code(f.read_text()).split("\n")
        i = 0
        while i < len(lines):
            m = re.match(r"\s*(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?fn\s+(\w+)", lines[i])
            if not m:
                i += 1
                continue
            depth, started, j = 0, False, i
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                started = started or "{" in lines[j]
                if (started and depth <= 0) or (not started and lines[j].rstrip().endswith(";")):
                    break
                j += 1
            if j - i + 1 > MAX_LINES:
                where = f.relative_to(ROOT) if ROOT in f.parents else f.relative_to(src.parent)
                out.append(f"{where}:{i + 1} fn {m.group(5)}: {j - i + 1} lines")
            i = j + 1 if started else i + 1
    return out


def families():
    """{family name: its spellings} from the `JobKind` enum and the `Family` entries."""
    text = (ROOT / "shared/src/domain/family.rs").read_text()
    found = {}
    for variant, name in re.findall(r"kind: JobKind::(\w+),\s*name: \"([a-z-]+)\"", text):
        snake = name.replace("-", "_")
        statics = re.findall(r"pub static (\w+): Family = Family \{\s*kind: JobKind::" + variant + r",", text)
        found[name] = {variant, name, snake, *statics}
    return found


def repository_files():
    """The repository's files (tracked, and new ones not ignored): never `target/`."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return sorted(set(out.split()))


def family_files(name, spellings):
    """The files outside tests, golden files and docs that spell the family's name."""
    pattern = re.compile(r"(?<![A-Za-z0-9_-])(" + "|".join(map(re.escape, spellings)) + r")(?![A-Za-z0-9_-])")
    files = []
    for rel in repository_files():
        f = ROOT / rel
        if not f.is_file() or rel.startswith(NOT_EDIT_SITES) or f.suffix not in (".rs", ".yaml", ".py", ".sh", ".toml", ".json"):
            continue
        if "golden" in rel or rel.startswith(("tools/testkit/", "shared/src/testing/", ".aws-sam/")):
            continue
        text = f.read_text(errors="ignore")
        if f.suffix == ".rs":
            text = code(text, keep_strings=True)
        if pattern.search(text):
            files.append(rel)
    return files


def main():
    report = "--report" in sys.argv
    failures = []
    for crate in CRATES:
        for group in cycles(ROOT / crate):
            failures.append(f"import cycle in {crate}: {' -> '.join(group)}")
        failures += [f"function over {MAX_LINES} lines: {x}" for x in long_functions(ROOT / crate)]
    spelled = {name: family_files(name, spellings) for name, spellings in families().items()}
    # Files every family is spelled in: the places a new family edits. A family's own count
    # also holds other features' uses of it (customization makes custom models, the bench
    # defaults to batch inference, a family with its own regions names them), not edit sites
    # of a new family; the least-referenced family is what a new one costs.
    shared = set.intersection(*(set(files) for files in spelled.values()))
    cheapest = min(spelled, key=lambda name: len(spelled[name]))
    if report:
        for name, files in spelled.items():
            print(f"{name}: {len(files)} files: {', '.join(files)}")
        print(f"every family: {len(shared)} files: {', '.join(sorted(shared))}")
    for what, files in (("every family's", sorted(shared)), (f"{cheapest}'s", spelled[cheapest])):
        if len(files) > MAX_FAMILY_FILES:
            failures.append(f"{what} files to edit: {len(files)} (at most {MAX_FAMILY_FILES}): {', '.join(files)}")
    for failure in failures:
        print(f"shape: {failure}")
    if not failures:
        print(f"shape: no import cycle in {', '.join(CRATES)}; no function over {MAX_LINES} lines; "
              f"a family's files to edit: {len(spelled[cheapest])} ({cheapest}, named nowhere else; "
              f"{len(shared)} of them every family shares), at most {MAX_FAMILY_FILES}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
