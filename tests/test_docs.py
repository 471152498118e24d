"""The docs name only commands that exist: every ``svg SUBCOMMAND`` and each ``--option`` written
after it (in the same code line or inline code span), every ``python train_svg.py`` option and
every ``make`` target in README.md and docs/*.md, checked against the real ``--help`` output and
the Makefile. Options of other tools (torchrun, pip, pytest, the benchmark scripts) are not checked.
"""
import contextlib
import io
import os
import re
import runpy
import shlex
import sys
from dataclasses import dataclass
from typing import Dict, Iterator, List, Set, Tuple

import pytest

from svg.cli import entry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
                              if f.endswith(".md"))
SHELL_BLOCKS = ("", "bash", "sh", "shell", "console")       # fenced blocks read as commands
OTHER_PROGRAMS = {"python", "python3", "torchrun", "pip", "pytest", "#", "|", "&&", ";"}
COMMAND_STARTS = {"", "#", "$", "|", "||", "&&", ";", "=", "("}   # what may precede svg / make
TARGET = re.compile(r"^[A-Za-z][\w.-]*$")
OPTION = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")
HELP_OPTION_LINE = re.compile(r"^  (-\S.*?)(?:\s{2,}|$)")   # "  --n-samples N_SAMPLES   help"


@dataclass
class Cli:
    """What exists: options per subcommand, the top-level ``svg`` options, train_svg.py's options,
    and the Makefile's targets."""
    subcommands: Dict[str, Set[str]]
    top: Set[str]
    train_script: Set[str]
    make_targets: Set[str]


def help_options(text: str) -> Set[str]:
    """Option strings (``-h``, ``--help``, ``--n-samples``...) listed in an argparse help text."""
    found = set()
    for line in text.splitlines():
        m = HELP_OPTION_LINE.match(line)
        if m:
            found.update(re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", m.group(1)))
    return found


def svg_help(*argv: str) -> str:
    """The help ``svg ARGV --help`` prints, run in this process through the real entry point."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        entry.main([*argv, "--help"])
    return out.getvalue()


def train_script_help() -> str:
    """The help ``python train_svg.py --help`` prints: the script itself, run in this process."""
    out, argv = io.StringIO(), sys.argv
    sys.argv = ["train_svg.py", "--help"]
    try:
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            runpy.run_path(os.path.join(ROOT, "train_svg.py"), run_name="__main__")
    finally:
        sys.argv = argv
    return out.getvalue()


def command_snippets(markdown: str) -> Iterator[str]:
    """Text the docs show as commands: each line of a shell (or unlabelled) fenced block, with
    backslash-continued lines joined, and each inline code span of the prose."""
    prose: List[str] = []
    block = None                                     # language of the open fenced block, or None
    lines: List[str] = []
    for line in markdown.splitlines():
        fence = re.match(r"^\s*```(\S*)", line)
        if fence and block is None:
            block, lines = fence.group(1), []
        elif fence:
            if block in SHELL_BLOCKS:
                yield from re.sub(r"\\\n\s*", " ", "\n".join(lines)).splitlines()
            block = None
        elif block is None:
            prose.append(line)
        else:
            lines.append(line)
    yield from (span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", "\n".join(prose)))


def _make_targets(tokens: List[str]) -> List[str]:
    """The targets of ``make [VAR=value ...] TARGET ...`` (tokens after ``make``), up to the first
    word that is neither an assignment nor a target name."""
    text = " ".join(tokens).split("#", 1)[0]
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    targets = []
    for word in words:
        if "=" in word:
            continue
        if not TARGET.match(word):
            break
        targets.append(word)
    return targets


def named_commands(snippet: str) -> List[Tuple[str, str]]:
    """(command, name) pairs a command line names: ("svg", SUB) for a subcommand, ("svg SUB",
    "--opt") for each option after it, ("svg", "--opt") for options before the subcommand,
    ("train_svg.py", "--opt") and ("make", TARGET). ``python -m svg.cli`` counts as ``svg``,
    ``python -m eval_fvd`` as ``svg fvd``; another program's options are not collected."""
    tokens = snippet.split()
    found, current = [], None
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        starts = prev in COMMAND_STARTS or prev.endswith(":")   # not "from svg import"
        if tok == "make" and starts:
            found += [("make", t) for t in _make_targets(tokens[i + 1:])]
            current = None
        elif (tok == "svg" and starts) or (tok == "svg.cli" and prev == "-m"):
            current = "svg"
        elif current == "svg" and not tok.startswith("-"):
            sub = tok.rstrip(":")                             # "svg train: error: ..." messages
            current = f"svg {sub}"
            found.append(("svg", sub))
        elif tok.endswith("train_svg.py"):
            current = "train_svg.py"
        elif tok == "eval_fvd" and prev == "-m":
            current = "svg fvd"
        elif tok in OTHER_PROGRAMS and not (tok.startswith("python") and tokens[i + 1:i + 2] == ["-m"]):
            current = None
        elif current is not None:
            found += [(current, opt) for opt in OPTION.findall(tok)]
    return found


def problems(markdown: str, cli: Cli) -> List[str]:
    """Every subcommand, option or make target ``markdown`` names that does not exist."""
    common = set.intersection(*cli.subcommands.values())
    out = []
    for snippet in command_snippets(markdown):
        for command, name in named_commands(snippet):
            if command == "make":
                ok = name in cli.make_targets
            elif command == "train_svg.py":
                ok = name in cli.train_script
            elif command == "svg":
                ok = (name in cli.top if name.startswith("-") else
                      name in cli.subcommands or name.isupper())   # COMMAND: a placeholder
            else:
                sub = command.split()[1]
                if sub not in cli.subcommands and not sub.isupper():
                    continue                                      # the subcommand is reported
                ok = name in cli.subcommands.get(sub, common)
            if not ok:
                out.append(f"{command} {name}  (in `{snippet.strip()}`)")
    return out


@pytest.fixture(scope="module")
def cli() -> Cli:
    with open(os.path.join(ROOT, "Makefile")) as f:
        targets = set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", f.read(), re.M))
    return Cli(subcommands={name: help_options(svg_help(name)) for name in entry.SUBCOMMANDS},
               top=help_options(svg_help()), train_script=help_options(train_script_help()),
               make_targets=targets)


@pytest.mark.parametrize("doc", DOCS)
def test_doc_names_only_existing_commands_options_and_targets(doc, cli):
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        assert problems(f.read(), cli) == [], f"{doc} names what does not exist"


def test_the_docs_are_read_as_commands():
    """The reader finds what the docs do name (so an empty result above is not vacuous)."""
    named = set()
    for doc in DOCS:
        with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
            for snippet in command_snippets(f.read()):
                named.update(named_commands(snippet))
    for pair in [("make", "demo"), ("make", "test"), ("svg", "evaluate"), ("svg", "convert-kth"),
                 ("svg evaluate", "--fvd-real-stats"), ("svg generate", "--max-videos"),
                 ("svg check-data", "--checksums-only"), ("train_svg.py", "--config"),
                 ("svg fvd", "--save-stats"), ("svg", "--debug")]:
        assert pair in named


def test_checker_reports_names_that_do_not_exist(cli):
    doc = "\n".join([
        "Run `svg evaluate --run r --n-samples 5 --no-such-option` or `svg forecast --run r`.",
        "```bash",
        "python train_svg.py --config c.yaml \\",
        "    --not-an-option a=1   # or: svg train --config c.yaml",
        "torchrun --nproc_per_node=4 train_svg.py --demo   # torchrun's own options are not ours",
        "make TORCH_PKGS=\"torch torchvision\" test",
        "make no-such-target",
        "```",
        "```python",
        "from svg import SVG   # Python, not a command",
        "```",
        "`svg COMMAND ... --debug` and `svg COMMAND --n-samples 3`, `svg --version`, `--orphan`",
        "`svg train: error: bad --resume-from`; `from svg import x`; `# = make bench (fast)`",
    ])
    found = sorted(p.split("  (in")[0] for p in problems(doc, cli))
    assert found == ["make no-such-target", "svg COMMAND --n-samples", "svg evaluate --no-such-option",
                     "svg forecast", "train_svg.py --not-an-option"]


def heading_anchors(markdown: str) -> Set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", markdown, re.M)}


@pytest.mark.parametrize("doc", DOCS)
def test_doc_links_reach_existing_pages_and_headings(doc):
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        text = f.read()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        page = os.path.normpath(os.path.join(ROOT, os.path.dirname(doc), path)) if path else \
            os.path.join(ROOT, doc)
        assert os.path.isfile(page), f"{doc} links to {target}, which does not exist"
        if anchor:
            with open(page, encoding="utf-8") as f:
                assert anchor in heading_anchors(f.read()), f"{doc}: no heading #{anchor} in {path}"
