"""One look for every ``tier7 ... --help`` (issue 17): examples at the end (``cli_examples.toml``, keyed by
command path), every default and choice shown, and a subcommand group given without its subcommand prints
its help instead of an argparse error. Applied once to the finished parser tree, so each subcommand's
module only declares its arguments."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

EXAMPLES_FILE = Path(__file__).with_name("cli_examples.toml")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's line breaks and appends ``(default: X)`` to an option's help unless it already
    says its default (many do, in words) or has none worth showing (None, False flags, SUPPRESS)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text.lower() or default is None or default is False or default == argparse.SUPPRESS \
                or default in ([], ""):
            return text
        if not action.option_strings and action.nargs not in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text  # a positional argument has no default
        return text + " (default: %(default)s)"


def examples(path: Path = EXAMPLES_FILE) -> dict[str, str]:
    """Command path ("" for tier7, "chaos run", ...) -> example lines."""
    return {key: value.strip("\n") for key, value in tomllib.loads(path.read_text(encoding="utf-8")).items()}


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's direct subcommands by name (aliases left out)."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                if child not in found.values():
                    found[name] = child
    return found


def style(parser: argparse.ArgumentParser, path: str = "", table: dict[str, str] | None = None) \
        -> dict[str, argparse.ArgumentParser]:
    """Apply the formatter and the examples to ``parser`` and every subcommand below it; returns every
    parser by command path, so ``main`` can print the help of a group called without its subcommand."""
    table = examples() if table is None else table
    parser.formatter_class = HelpFormatter
    if path in table:
        parser.epilog = "examples:\n" + "\n".join("  " + line for line in table[path].splitlines())
    found = {path: parser}
    for name, child in subcommands(parser).items():
        found.update(style(child, f"{path} {name}".strip(), table))
    for action in parser._actions:  # a group without its subcommand prints its help (main does that)
        if isinstance(action, argparse._SubParsersAction):
            action.required = False
    return found


def hide(parser: argparse.ArgumentParser, option: str) -> None:
    """Keep ``option`` working but out of ``--help`` (an old name kept as an alias)."""
    for action in parser._actions:
        if option in action.option_strings:
            action.help = argparse.SUPPRESS
