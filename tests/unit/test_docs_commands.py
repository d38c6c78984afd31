"""Every command the README and docs/ show is one the code accepts.

The fenced shell blocks and the inline code spans of README.md, docs/*.md and bench/README.md
are read, and every `clv ...`, `make ...` and `dbt ...` command in them is checked against the
code: a `clv` command is parsed by the real argument parser (subcommand, options, their values
and choices), its dbt arguments after `--` and every `dbt` command by dbt's own command-line
definition, a `make` target must be one the Makefile defines, and the `--vars` a command passes
must be vars the project reads. Renaming a command, an option or a var without the docs fails
here. tests/integration/test_docs_walkthrough.py runs the README's commands for real.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from clv_warehouse.cli import parser as clv_parser

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    ROOT / "README.md",
    ROOT / "bench" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
CLV = {"clv", ".venv/bin/clv", "$(BIN)/clv"}
DBT = {"dbt", ".venv/bin/dbt"}
MAKE = {"make"}
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class Command:
    document: str
    line: int
    text: str
    inline: bool  # an inline code span: options may be shown without their values

    def __str__(self) -> str:
        return f"{self.document}:{self.line}: {self.text}"


def _fenced_commands(path: Path) -> list[Command]:
    commands: list[Command] = []
    language = None
    pending = ""
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            language = None if language is not None else (stripped[3:].strip() or "text")
            continue
        if language not in SHELL_LANGUAGES:
            continue
        line = stripped
        if line.startswith("$ "):
            line = line[2:]
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        if _open_quote(text):
            pending = text + " "  # a quoted value spans lines (a --vars mapping)
            continue
        pending = ""
        if text and not text.startswith("#"):
            commands.append(Command(_name(path), start, text, inline=False))
    return commands


def _open_quote(text: str) -> bool:
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return True
    return False


def _inline_commands(path: Path) -> list[Command]:
    commands = []
    in_fence = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if raw.strip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for span in re.findall(r"`([^`]+)`", raw):
            first = span.split()[0] if span.split() else ""
            words = span.split()
            # `clv sql: refused: ...` quotes a message, not a command
            if first in CLV | MAKE | DBT and len(words) > 1 and not words[1].endswith(":"):
                commands.append(Command(_name(path), number, span, inline=True))
    return commands


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _words(command: Command) -> list[str]:
    """The command's words up to a comment, a pipe or a second command; environment
    assignments in front are dropped."""
    try:
        lexer = shlex.shlex(command.text, posix=True, punctuation_chars="|;&")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
    except ValueError as error:
        pytest.fail(f"{command}: not a shell command ({error})")
    for index, word in enumerate(words):
        if word and set(word) <= set("|;&"):
            words = words[:index]
            break
    while words and ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    return words


def _documented_commands() -> list[tuple[Command, list[str]]]:
    found = []
    for path in DOCUMENTS:
        for command in _fenced_commands(path) + _inline_commands(path):
            words = _words(command)
            if words and words[0] in CLV | MAKE | DBT:
                found.append((command, words))
    return found


DOCUMENTED = _documented_commands()


def _ids(items):
    return [str(command) for command, _ in items]


def _by(kind: set[str]):
    return [(command, words) for command, words in DOCUMENTED if words[0] in kind]


def _placeholder(word: str) -> bool:
    """`<path>`, `...`, `N`, `ID`, `PATH` and the like stand for a value the reader chooses."""
    return bool(re.fullmatch(r"<[^>]+>|\.\.\.|…|[A-Z][A-Z_]*", word))


def _concrete(words: list[str]) -> list[str]:
    """Placeholder values replaced by a value the parser accepts for any option."""
    return ["x" if _placeholder(word) else word for word in words]


def _parse_clv(words: list[str]) -> str:
    """The parser's complaint about words (the arguments after `clv`), or ''."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            clv_parser().parse_args(words)
    except SystemExit as stop:
        if stop.code not in (0, None):
            return stderr.getvalue().strip().splitlines()[-1]
    return ""


def _clv_options(words: list[str]) -> set[str]:
    """The option strings of the clv subcommand named first in words."""
    root = clv_parser()
    subcommands = next(
        action for action in root._actions if action.__class__.__name__ == "_SubParsersAction"
    )
    sub = subcommands.choices.get(words[0])
    if sub is None:
        return set()
    return {option for action in sub._actions for option in action.option_strings}


def _split_dbt_arguments(words: list[str]) -> tuple[list[str], list[str]]:
    if "--" in words:
        index = words.index("--")
        return words[:index], words[index + 1 :]
    return words, []


def test_the_documents_show_commands_of_every_kind():
    """The extraction finds what the pages hold (an empty list would pass everything)."""
    kinds = {words[0] for _, words in DOCUMENTED}
    assert {"make", ".venv/bin/clv"} <= kinds, kinds
    assert len(_by(CLV)) >= 20, len(_by(CLV))
    readme = [command for command, _ in DOCUMENTED if command.document == "README.md"]
    assert any("make run" in command.text for command in readme)


@pytest.mark.parametrize(("command", "words"), _by(CLV), ids=_ids(_by(CLV)))
def test_a_documented_clv_command_parses(command: Command, words: list[str]):
    clv_words, dbt_words = _split_dbt_arguments(words[1:])
    if command.inline:
        # `clv build --as-of`, `clv score --release ID`: the subcommand and its options exist.
        options = _clv_options(clv_words)
        assert options, f"{command}: no clv subcommand {clv_words[0]!r}"
        for word in clv_words[1:]:
            if word.startswith("--"):
                assert word.split("=", 1)[0] in options, (
                    f"{command}: clv {clv_words[0]} has no {word}"
                )
        return
    complaint = _parse_clv(_concrete(clv_words))
    assert not complaint, f"{command}: {complaint}"
    _check_dbt_arguments(command, ["build", *dbt_words])


def _dbt_command_options(name: str) -> set[str] | None:
    from dbt.cli.main import cli

    sub = cli.commands.get(name)
    if sub is None:
        return None
    options = {option for param in sub.params for option in param.opts + param.secondary_opts}
    options |= {option for param in cli.params for option in param.opts + param.secondary_opts}
    return options


def _project_vars() -> set[str]:
    """Every var the project reads: dbt_project.yml's vars and every var('...') call."""
    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    names = set(project.get("vars", {}))
    for folder in ("models", "macros", "tests", "analyses", "python_models"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".sql", ".yml", ".py"}:
                names |= set(
                    re.findall(r"var\(\s*['\"]([a-z_0-9]+)['\"]", path.read_text(encoding="utf-8"))
                )
    return names


def _check_dbt_arguments(command: Command, words: list[str]) -> None:
    if len(words) <= 1 and words[0] == "build":
        return
    options = _dbt_command_options(words[0])
    assert options is not None, f"{command}: dbt has no command {words[0]!r}"
    known_vars = _project_vars()
    for index, word in enumerate(words[1:], 1):
        if not word.startswith("--"):
            continue
        option = word.split("=", 1)[0]
        assert option in options, f"{command}: dbt {words[0]} has no option {option}"
        if option == "--vars" and index + 1 < len(words) and not command.inline:
            given = yaml.safe_load(words[index + 1])
            assert isinstance(given, dict), f"{command}: --vars takes a YAML mapping"
            unknown = set(given) - known_vars
            assert not unknown, f"{command}: the project reads no var {sorted(unknown)}"


@pytest.mark.parametrize(("command", "words"), _by(DBT), ids=_ids(_by(DBT)))
def test_a_documented_dbt_command_exists(command: Command, words: list[str]):
    assert len(words) > 1, f"{command}: dbt without a command"
    _check_dbt_arguments(command, words[1:])


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("$(VENV)", ".venv")
    targets = set(re.findall(r"^([A-Za-z0-9_./-]+(?: [A-Za-z0-9_./-]+)*):(?!=)", text, re.M))
    return {name for group in targets for name in group.split()}


@pytest.mark.parametrize(("command", "words"), _by(MAKE), ids=_ids(_by(MAKE)))
def test_a_documented_make_target_exists(command: Command, words: list[str]):
    targets = _make_targets()
    goals = [word for word in words[1:] if "=" not in word and not word.startswith("-")]
    assert goals, f"{command}: make without a target"
    for goal in goals:
        assert goal in targets, f"{command}: the Makefile has no target {goal!r}"


def test_the_check_fails_on_a_renamed_option():
    """The checks above are not vacuous: an option the parser lacks is caught."""
    assert _parse_clv(["build", "--inptu", "x.csv"])
    assert not _parse_clv(["build", "--input", "x.csv"])
    assert "nosuchtarget" not in _make_targets()
    assert "--full-refresh" in (_dbt_command_options("build") or set())
    assert "horizon_days" in _project_vars()
