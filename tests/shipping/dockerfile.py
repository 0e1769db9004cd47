"""Read a Dockerfile and a .dockerignore the way `docker build` does, closely enough to
replay an image recipe on the host (no Docker engine runs on these machines).

Only what our recipes use is understood: FROM/AS, ARG defaults, ENV, COPY (with
--from), RUN, USER, CMD and HEALTHCHECK in exec form. Anything else is reported, so a
recipe that grows a new instruction makes the replay fail loudly rather than lie.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

KNOWN = {
    "FROM",
    "ARG",
    "ENV",
    "COPY",
    "RUN",
    "USER",
    "WORKDIR",
    "EXPOSE",
    "CMD",
    "HEALTHCHECK",
    "LABEL",
}


@dataclass
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Recipe:
    stages: list[Stage]
    args: dict[str, str]

    @property
    def runtime(self) -> Stage:
        return self.stages[-1]

    def env(self) -> dict[str, str]:
        """The runtime stage's ENV, in order (``$PATH`` references left as written)."""
        env: dict[str, str] = {}
        for instruction in self.runtime.all("ENV"):
            for token in shlex.split(instruction.arguments):
                key, _, value = token.partition("=")
                env[key] = value
        return env

    def cmd(self) -> list[str]:
        instruction = self.runtime.last("CMD")
        assert instruction is not None, "the runtime stage has no CMD"
        return list(json.loads(instruction.arguments))

    def healthcheck(self) -> list[str]:
        instruction = self.runtime.last("HEALTHCHECK")
        assert instruction is not None, "the runtime stage has no HEALTHCHECK"
        exec_form = instruction.arguments[instruction.arguments.index("CMD") + 3 :].strip()
        return list(json.loads(exec_form))

    def copies_from_context(self) -> list[tuple[str, str]]:
        """(source, destination) of every COPY of the runtime stage that reads the context."""
        pairs = []
        for instruction in self.runtime.all("COPY"):
            tokens = shlex.split(instruction.arguments)
            if any(t.startswith("--from") for t in tokens):
                continue
            paths = [t for t in tokens if not t.startswith("--")]
            pairs.extend((source, paths[-1]) for source in paths[:-1])
        return pairs


def parse_dockerfile(path: Path) -> Recipe:
    """Split a Dockerfile into stages of instructions (comments and continuations handled)."""
    logical: list[str] = []
    buffer = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    stages: list[Stage] = []
    args: dict[str, str] = {}
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword not in KNOWN:
            raise ValueError(f"{path}: instruction {keyword} is not understood by the replay")
        if keyword == "ARG" and not stages:
            name, _, default = arguments.partition("=")
            args[name.strip()] = default.strip()
            continue
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", arguments.strip(), flags=re.I)
            assert match, f"unreadable FROM {arguments}"
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], match[1])
            stages.append(Stage(base=base, name=match[2]))
            continue
        stages[-1].instructions.append(Instruction(keyword, arguments.strip()))
    return Recipe(stages=stages, args=args)


def _matches(pattern: str, relative: str) -> bool:
    """Whether a .dockerignore pattern matches a path or one of its parent folders."""
    pattern = pattern.strip("/")
    parts = relative.split("/")
    for depth in range(1, len(parts) + 1):
        candidate = "/".join(parts[:depth])
        if pattern.startswith("**/"):
            tail = pattern[3:]
            if any(fnmatch.fnmatchcase("/".join(parts[i:depth]), tail) for i in range(depth)):
                return True
        elif fnmatch.fnmatchcase(candidate, pattern) and candidate.count("/") == pattern.count("/"):
            return True
    return False


def _excluded(rules: list[tuple[bool, str]], relative: str) -> bool:
    excluded = False
    for negated, pattern in rules:
        if _matches(pattern, relative):
            excluded = not negated
    return excluded


def context_files(root: Path, dockerignore: Path) -> list[str]:
    """Every file of the build context that .dockerignore lets through (last match wins).

    Folders that are excluded and that no ``!`` pattern reaches into are not walked (the
    venv alone holds tens of thousands of files).
    """
    rules = []
    for raw in dockerignore.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), line.lstrip("!").strip("/")))
    reincluded = [pattern for negated, pattern in rules if negated]
    kept = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        for name in list(dirs):
            relative = prefix + name
            if _excluded(rules, relative) and not any(
                p.startswith(relative + "/") or _matches(p, relative) for p in reincluded
            ):
                dirs.remove(name)
        kept.extend(prefix + name for name in files if not _excluded(rules, prefix + name))
    return sorted(kept)
