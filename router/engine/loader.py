"""Reading rule files: YAML with line numbers, and the `Problem` every check reports.

A `Problem` prints as SPEC §4 wants it:
`rules/routing.yml:14: rule "main-build-broken": unknown operator "match" (did you mean "matches"?)`.

The loader is a `yaml.SafeLoader` that
- builds mappings as `YDict` and sequences as `YList`, which remember the line they start on, the
  line of every key / item (`__line__` in spirit, kept as attributes so marshmallow never sees
  them), and the exact source text of each one-line `key: value` (explanations quote it);
- reads only `true`/`false` as booleans (YAML 1.2): `status: on` and `env: no` stay strings;
- reports duplicate keys instead of silently keeping the last one.
"""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one file, at one line (0 when the file as a whole is wrong)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class RulesError(Exception):
    """Rule files that cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean "x"?)` for the closest choice, or "" when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=1, cutoff=0.65)
    return f' (did you mean "{close[0]}"?)' if close else ""


def display_path(path: Path) -> str:
    """How a file is named in problems: relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel.startswith("..") else rel


class YDict(dict):
    line: int = 0
    key_lines: dict
    key_text: dict


class YList(list):
    line: int = 0
    item_lines: list


def line_of(node: object, key: object = None, default: int = 0) -> int:
    """The line of `node`, or of its key/item `key`, when the loader recorded one."""
    if key is not None:
        if isinstance(node, YDict) and key in node.key_lines:
            return node.key_lines[key]
        if isinstance(node, YList) and isinstance(key, int) and 0 <= key < len(node.item_lines):
            return node.item_lines[key]
    return getattr(node, "line", 0) or default


def text_of(node: YDict, key: str) -> str:
    """`key: value` as written in the file (one-line values), else a compact flow rendering."""
    text = getattr(node, "key_text", {}).get(key)
    return text if text is not None else flow(key, node[key])


def flow(key: str, value: object) -> str:
    rendered = yaml.safe_dump({key: _plain(value)}, default_flow_style=True, width=1 << 30,
                              sort_keys=False).strip()
    return rendered[1:-1] if rendered.startswith("{") else rendered


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# libyaml's parser when PyYAML was built with it (5x faster on big files), else pure Python; both
# give character-based marks, and resolution stays in Python (so the YAML 1.2 booleans hold).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineLoader(_SafeLoader):
    """SafeLoader that records lines, keeps source snippets and collects duplicate keys."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.source = stream
        self.duplicates: list[tuple[int, str]] = []

    def construct_yaml_map(self, node):  # noqa: D102 (PyYAML's hook)
        data = YDict()
        data.line = node.start_mark.line + 1
        data.key_lines, data.key_text = {}, {}
        yield data
        self.flatten_mapping(node)  # YAML merge keys (<<: *defaults)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain value", key_node.start_mark)
            if key in data.key_lines:
                self.duplicates.append((key_node.start_mark.line + 1, str(key)))
            data[key] = self.construct_object(value_node, deep=True)
            data.key_lines[key] = key_node.start_mark.line + 1
            start, end = key_node.start_mark.index, value_node.end_mark.index
            snippet = self.source[start:end]
            if isinstance(key, str) and "\n" not in snippet and snippet:
                data.key_text[key] = snippet.strip()

    def construct_yaml_seq(self, node):  # noqa: D102
        data = YList()
        data.line = node.start_mark.line + 1
        data.item_lines = [child.start_mark.line + 1 for child in node.value]
        yield data
        data.extend(self.construct_object(child, deep=True) for child in node.value)


LineLoader.add_constructor("tag:yaml.org,2002:map", LineLoader.construct_yaml_map)
LineLoader.add_constructor("tag:yaml.org,2002:seq", LineLoader.construct_yaml_seq)
# YAML 1.2 booleans only: yes/no/on/off are strings (a status `on` or an env `no` stays text).
LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
LineLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))


@dataclass
class Document:
    """One file of the rules dir: its name, display path, text and parsed YAML (or problems)."""

    name: str
    display: str
    text: str
    data: object = None
    problems: list[Problem] = field(default_factory=list)


def parse(name: str, text: str, display: str) -> Document:
    doc = Document(name=name, display=display, text=text)
    loader = LineLoader(text)
    try:
        doc.data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        doc.problems.append(Problem(display, line, f"invalid YAML: {exc.problem or exc.context}"))
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(display, 0, f"invalid YAML: {exc}"))
        return doc
    finally:
        loader.dispose()
    for line, key in loader.duplicates:
        doc.problems.append(Problem(display, line, f'duplicate key "{key}"'))
    return doc


RULE_FILE_SUFFIXES = (".yml", ".yaml")
# Folders of the rules dir whose files are read too, named `commands/lunch.yml`: what they mean is
# up to the feature that registered the folder (router/core/registry.py `add_folder`).
FOLDERS = ("commands",)


def _entries(path: Path) -> list[tuple[str, Path]]:
    """(name, path) of every rule file directly in `path` or in one of its FOLDERS."""
    out = []
    for entry in sorted(Path(path).iterdir()):
        if entry.is_dir() and entry.name in FOLDERS:
            out += [(f"{entry.name}/{inner.name}", inner) for inner in sorted(entry.iterdir())
                    if inner.is_file() and inner.suffix in RULE_FILE_SUFFIXES and not inner.name.startswith(".")]
        elif entry.is_file() and entry.suffix in RULE_FILE_SUFFIXES and not entry.name.startswith("."):
            out.append((entry.name, entry))
    return out


def read_dir(path: Path) -> dict[str, str]:
    """`{file name: text}` of every rule file in `path` and its FOLDERS (README and others ignored)."""
    return {name: entry.read_text(encoding="utf-8") for name, entry in _entries(path)}


def dir_signature(path: Path) -> tuple:
    """Cheap change detector for the mtime poll: names, sizes and mtimes of the rule files."""
    try:
        entries = _entries(Path(path))
    except OSError:
        return ()
    out = []
    for name, entry in entries:
        try:
            st = entry.stat()
        except OSError:
            continue
        out.append((name, st.st_size, st.st_mtime_ns))
    return tuple(out)
