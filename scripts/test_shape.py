#!/usr/bin/env python3
"""scripts/shape.py finds what it claims to: a cycle, a long function, a family's files."""
import importlib.util
import tempfile
import unittest
from pathlib import Path

spec = importlib.util.spec_from_file_location("shape", Path(__file__).with_name("shape.py"))
shape = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shape)


def crate(files):
    root = Path(tempfile.mkdtemp()) / "src"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


class Shape(unittest.TestCase):
    def test_a_cycle_between_two_modules_is_found(self):
        src = crate({"lib.rs": "pub mod a;\npub mod b;\n", "a.rs": "use crate::b::B;\npub struct A;\n",
                     "b.rs": "pub struct B;\nfn f() -> crate::a::A { crate::a::A }\n"})
        self.assertEqual(shape.cycles(src), [["a", "b"]])

    def test_a_cycle_through_super_in_a_folder_is_found(self):
        src = crate({"lib.rs": "pub mod p;\n", "p/mod.rs": "mod x;\nmod y;\n",
                     "p/x.rs": "use super::y::Y;\npub struct X;\n", "p/y.rs": "use super::x::X;\npub struct Y;\n"})
        self.assertEqual(shape.cycles(src), [["p::x", "p::y"]])

    def test_re_exports_and_test_modules_are_no_edges(self):
        src = crate({"lib.rs": "pub mod d;\n", "d/mod.rs": "mod k;\nmod r;\npub use k::K;\npub use r::R;\n",
                     "d/k.rs": "pub struct K;\n#[cfg(test)]\nmod tests {\n    use crate::d::R;\n}\n",
                     "d/r.rs": "use super::K;\npub struct R(K);\n"})
        self.assertEqual(shape.cycles(src), [])

    def test_a_long_function_is_found_and_braces_in_strings_do_not_count(self):
        body = "\n".join(f'    let x{i} = "{{ https://x }}";' for i in range(61))
        src = crate({"lib.rs": f"fn long() {{\n{body}\n}}\nfn short() {{ let c = '{{'; }}\n"})
        found = shape.long_functions(src)
        self.assertEqual(len(found), 1)
        self.assertIn("fn long: 63 lines", found[0])

    def test_the_repository_passes(self):
        self.assertEqual(shape.main(), 0)


if __name__ == "__main__":
    unittest.main()
