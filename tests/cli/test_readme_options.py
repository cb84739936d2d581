"""README.md names every command and long option the CLI offers, so a user reading it finds them all.

The click tree is walked as `reviewkit --help` shows it. A command counts as documented when README
shows it being run: in a ```sh block line (`reviewkit [-C DIR] [--reviewer NAME] CMD ...`) or in an
inline code span (`dedup undo GROUP`, `reviewkit restore ...`), where `a|b` stands for either word and
`[list]` for an optional one. An option counts when it is written after its command on such a line
(or in the comment lines continuing it), or anywhere in a prose paragraph that names the command in
code. Options of the top-level group may be mentioned anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from reviewkit.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"

#: Options that need no line in README, each with why. "*" stands for every command.
UNDOCUMENTED: dict[tuple[str, str], str] = {
    # click's own help option: every command has it, and README says nothing a user would miss.
    ("*", "--help"): "click's help on every command",
}

#: Options of the top-level group that come before the command name on a line.
GLOBAL_WITH_VALUE = {"-C", "--review", "--reviewer"}


@dataclass(frozen=True)
class Block:
    """A unit of README that ties options to commands: one ```sh line (with its comment lines) or
    one prose paragraph."""

    text: str
    is_command_line: bool


def readme_blocks(text: str) -> list[Block]:
    """README split into ```sh lines and prose paragraphs (other fenced blocks are data, skipped)."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if paragraph:
            blocks.append(Block(" ".join(paragraph), is_command_line=False))
            paragraph.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            fence = None if fence is not None else stripped[3:].strip()
            continue
        if fence is None:
            if stripped:
                paragraph.append(stripped)
            else:
                flush()
        elif fence == "sh" and stripped:
            # A line that is only a comment continues the command line above it.
            if stripped.startswith("#") and blocks and blocks[-1].is_command_line:
                blocks[-1] = Block(blocks[-1].text + " " + stripped, is_command_line=True)
            else:
                blocks.append(Block(stripped, is_command_line=True))
    flush()
    return blocks


def mentions(block: Block) -> Iterator[tuple[list[set[str]], int]]:
    """Each command invocation in the block: its words (each a set, for `a|b`) and where it ends."""
    spans: list[tuple[str, int]] = []
    if block.is_command_line:
        code = block.text.split(" #", 1)[0]
        spans.append((code, 0))
    spans += [(m.group(1), m.start(1)) for m in re.finditer(r"`([^`]+)`", block.text)]
    for span, offset in spans:
        tokens = list(re.finditer(r"\S+", span))
        # The command follows `reviewkit` (or `.venv/bin/reviewkit`); a span without it starts with it.
        starts = [n for n, t in enumerate(tokens) if t.group().split("/")[-1] == "reviewkit"]
        if block.is_command_line and offset == 0 and not starts:
            continue
        i = starts[0] + 1 if starts else 0
        while i < len(tokens) and tokens[i].group() in GLOBAL_WITH_VALUE:
            i += 2
        words: list[set[str]] = []
        end = offset
        for token in tokens[i:]:
            word = token.group().strip("[]")
            if not re.fullmatch(r"[a-z][\w-]*(\|[a-z][\w-]*)*", word):
                break
            words.append(set(word.split("|")))
            end = offset + token.end()
        if words:
            yield words, end


def names(path: tuple[str, ...], words: list[set[str]]) -> bool:
    """Whether an invocation's words start with the command path."""
    return len(words) >= len(path) and all(p in w for p, w in zip(path, words, strict=False))


def option_in(option: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of the tree, the top-level group first, hidden ones left out."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            if not sub.hidden:
                yield from walk(sub, (*path, name))


def long_options(command: click.Command) -> list[str]:
    """The command's long options as `--help` lists them (both halves of --x/--no-x)."""
    ctx = click.Context(command)
    return [opt for param in command.get_params(ctx)
            if isinstance(param, click.Option) and not param.hidden
            for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--")]


def missing_from_readme(text: str) -> list[str]:
    """`reviewkit CMD` or `reviewkit CMD --option` for each that README does not mention."""
    blocks = readme_blocks(text)
    missing: list[str] = []
    for path, command in walk(cli):
        where = [b for b in blocks if any(names(path, w) for w, _ in mentions(b))] if path else []
        if path and not where:
            missing.append("reviewkit " + " ".join(path))
            continue
        for option in long_options(command):
            if ("*", option) in UNDOCUMENTED or (" ".join(path), option) in UNDOCUMENTED:
                continue
            if not path:
                found = option_in(option, text)
            else:
                found = any(
                    option_in(option, b.text[end:] if b.is_command_line else b.text)
                    for b in where for w, end in mentions(b) if names(path, w))
            if not found:
                missing.append(" ".join(["reviewkit", *path, option]))
    return missing


def test_readme_documents_every_command_and_long_option() -> None:
    """A command or option added to the CLI without a word in README fails here, named."""
    missing = missing_from_readme(README.read_text(encoding="utf-8"))
    assert not missing, "README.md does not mention:\n  " + "\n  ".join(missing)


def test_the_check_notices_an_option_left_out() -> None:
    """The check itself: dropping `--keep-maybe` from a README that has it is reported."""
    text = README.read_text(encoding="utf-8")
    assert "reviewkit agreement --keep-maybe" not in missing_from_readme(text)
    assert "reviewkit agreement --keep-maybe" in missing_from_readme(text.replace("--keep-maybe", "--kept"))


def test_every_option_says_what_it_does_in_help() -> None:
    """README shows an option once; `reviewkit CMD --help` is where a user looks again, so every option (but
    click's own --help) has a line of help there, not a bare name."""
    bare = [" ".join(["reviewkit", *path, param.opts[-1]])
            for path, command in walk(cli)
            for param in command.get_params(click.Context(command))
            if isinstance(param, click.Option) and not param.hidden and not param.help
            and "--help" not in param.opts]
    assert not bare, "options without help text:\n  " + "\n  ".join(bare)
