"""Read the project's Dockerfile and .dockerignore the way a build would, without Docker.

    python deploy/dockerfile.py run|env|healthcheck [DOCKERFILE]    # print what the image runs
    python deploy/dockerfile.py context ROOT DEST                   # copy the build context

`deploy/check_image_steps.sh` uses it to replay the image's install and start steps in a fresh
virtual environment, and `tests/test_deploy.py` to check the Dockerfile's facts. It understands the
subset of the formats this project uses (line continuations, JSON and shell forms, `ENV k=v ...`,
`.dockerignore` patterns with `*`, `**`, `?` and `!` exceptions); it is not a Dockerfile parser.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path


def instructions(dockerfile: str | Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) for each instruction, continuation lines joined, comments dropped."""
    result, pending = [], ""
    for raw in Path(dockerfile).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        result.append((keyword.upper(), args.strip()))
        pending = ""
    return result


def args_of(dockerfile: str | Path, keyword: str) -> list[str]:
    return [args for kw, args in instructions(dockerfile) if kw == keyword]


def exec_form(args: str) -> list[str]:
    """A CMD's words: JSON (exec) form as is, shell form as `sh -c`."""
    return json.loads(args) if args.startswith("[") else ["/bin/sh", "-c", args]


def env(dockerfile: str | Path) -> dict[str, str]:
    """The image's ENV settings (the `ENV k=v k=v` form)."""
    return dict(word.split("=", 1) for args in args_of(dockerfile, "ENV") for word in shlex.split(args))


def pip_runs(dockerfile: str | Path) -> list[str]:
    """The shell commands of the RUN instructions that install Python packages."""
    return [args for args in args_of(dockerfile, "RUN") if "pip install" in args]


def healthcheck(dockerfile: str | Path) -> list[str]:
    (args,) = args_of(dockerfile, "HEALTHCHECK")
    return exec_form(args.split(" CMD ", 1)[1].strip())


# --- .dockerignore ---------------------------------------------------------------------------

def _regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def ignore_rules(dockerignore: str | Path) -> list[tuple[bool, re.Pattern, str]]:
    """(is_exception, regex, pattern) per line of a .dockerignore, in order."""
    rules = []
    for raw in Path(dockerignore).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((exception, _regex(pattern), pattern))
    return rules


def ignored(path: str, rules) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parent folders wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for exception, regex, _ in rules:
        if any(regex.match(p) for p in prefixes):
            verdict = not exception
    return verdict


def context_files(root: str | Path) -> list[str]:
    """The files a `docker build` of `root` sends, relative to it, sorted."""
    root = Path(root)
    rules = ignore_rules(root / ".dockerignore") if (root / ".dockerignore").is_file() else []
    exceptions = [pattern for exception, _, pattern in rules if exception]
    files = []
    for folder, dirs, names in os.walk(root):
        rel = os.path.relpath(folder, root)
        rel = "" if rel == "." else rel + "/"
        # Do not descend into an ignored folder that no exception reaches into (runs/ is large).
        dirs[:] = [d for d in dirs if not ignored(rel + d, rules)
                   or any(p.startswith(rel + d + "/") for p in exceptions)]
        files += [rel + n for n in names if not ignored(rel + n, rules)]
    return sorted(files)


def copy_context(root: str | Path, dest: str | Path) -> int:
    for rel in context_files(root):
        target = Path(dest) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(root) / rel, target)
    return len(context_files(root))


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    if command == "context":
        print(copy_context(rest[0], rest[1]), "files")
        return 0
    dockerfile = rest[0] if rest else "Dockerfile"
    if command == "run":
        print("\n".join(pip_runs(dockerfile)))
    elif command == "env":
        print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in env(dockerfile).items()))
    elif command == "healthcheck":
        print(shlex.join(healthcheck(dockerfile)))
    elif command == "cmd":
        print(shlex.join(exec_form(args_of(dockerfile, "CMD")[-1])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
