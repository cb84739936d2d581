"""Tests for how commands write files: missing folders, wrong extensions, failures that leave nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import init_review

#: Every command that writes a file the user names, with an extension it writes.
WRITERS = [
    ("export", "review", "x.json"),
    ("export", "flow", "x.csv"),
    ("export", "flow", "x.json"),
    ("export", "decisions", "x.csv"),
    ("export", "extraction", "x.csv"),
    ("export", "extraction", "x.xlsx"),
    ("export", "rob", "x.csv"),
    ("export", "analyses", "x.csv"),
    ("export", "analyses", "x.json"),
    ("export", "records", "x.ris"),
    ("export", "records", "x.csv"),
    ("dedup", "export", "x.csv"),
    ("rob", "export", "x.csv"),
    ("extract", "export", "x.csv"),
    ("extract", "export", "x.xlsx"),
]


def run(folder: Path, *args: str) -> Result:
    """Invoke the CLI on a review folder as alice (a lead, who may export everything)."""
    return CliRunner().invoke(cli, ["-C", str(folder), "--reviewer", "alice", *args])


def no_traceback(result: Result) -> bool:
    """The command ended by itself (exit status), not by an exception escaping it."""
    return result.exception is None or isinstance(result.exception, SystemExit)


def leftovers(folder: Path) -> list[str]:
    """Files a write left beside its target (temporary files start with a dot)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(("group", "command", "name"), WRITERS)
def test_missing_folders_are_created(review_dir: Path, tmp_path: Path, group: str, command: str,
                                     name: str) -> None:
    """Every export writes into folders that do not exist yet, as rob plot and backup do."""
    target = tmp_path / "missing" / "deeper" / name
    result = run(review_dir, group, command, str(target))
    assert result.exit_code == 0, result.output
    assert target.is_file() and str(target) in result.output
    assert leftovers(target.parent) == []


def test_decisions_export_to_a_missing_folder_is_one_line(review_dir: Path, tmp_path: Path) -> None:
    """`decisions export` (cli/screening.py) writes there or says why in one line: never a traceback."""
    target = tmp_path / "missing" / "x.csv"
    result = run(review_dir, "decisions", "export", str(target))
    assert no_traceback(result)
    assert result.exit_code == 0 or (result.stderr.startswith(f"error: {target}") and
                                     len(result.stderr.strip().splitlines()) == 1)


@pytest.mark.parametrize(("args", "suffix"), [
    (("export", "records"), ".bib"), (("dedup", "export"), ".xlsx"), (("export", "review"), ".csv"),
    (("export", "flow"), ".txt"), (("export", "decisions"), ".xlsx"), (("export", "extraction"), ".ods"),
    (("export", "rob"), ".json"), (("export", "analyses"), ".xlsx"), (("rob", "export"), ".xlsx"),
    (("extract", "export"), ".json"), (("dedup", "export"), ""),
])
def test_wrong_extension_refused_and_nothing_written(review_dir: Path, tmp_path: Path, args: tuple[str, str],
                                                     suffix: str) -> None:
    """A name whose extension does not match the format is refused, naming what is written; no file, no folder."""
    target = tmp_path / "new" / f"x{suffix}"
    result = run(review_dir, *args, str(target))
    assert result.exit_code == 1 and no_traceback(result)
    assert result.stderr.startswith(f"error: {target}: ") and "name a ." in result.stderr
    assert not target.exists() and not target.parent.exists()


def test_dedup_export_says_it_writes_csv(review_dir: Path, tmp_path: Path) -> None:
    """dedup export into d.xlsx would be CSV under an XLSX name: refused, saying CSV is written."""
    result = run(review_dir, "dedup", "export", str(tmp_path / "d.xlsx"))
    assert result.exit_code == 1
    assert "dedup export writes CSV, not '.xlsx' (name a .csv file)" in result.stderr
    assert list(tmp_path.iterdir()) == [review_dir]


def test_failed_export_leaves_nothing_and_keeps_the_old_file(review_dir: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An export that breaks half way removes its partial file and the folders it made; an old file stays."""
    from reviewkit.services import export_records

    def half_then_fail(review: object, path: Path, stage: str) -> int:
        path.write_text("TY  - JOUR\n", encoding="utf-8")
        raise ReviewkitError("the disk went away")

    monkeypatch.setattr(export_records, "export_records", half_then_fail)
    fresh = tmp_path / "a" / "b" / "x.ris"
    result = run(review_dir, "export", "records", str(fresh))
    assert result.exit_code == 1 and "the disk went away" in result.stderr
    assert not (tmp_path / "a").exists()
    old = tmp_path / "old.ris"
    old.write_text("the previous export\n", encoding="utf-8")
    assert run(review_dir, "export", "records", str(old)).exit_code == 1
    assert old.read_text(encoding="utf-8") == "the previous export\n"
    assert leftovers(tmp_path) == []


def test_os_error_is_one_line_naming_the_path(review_dir: Path, tmp_path: Path) -> None:
    """A folder that cannot be made (a file is in the way) is `error: PATH: strerror`, not a traceback."""
    (tmp_path / "afile").write_text("", encoding="utf-8")
    target = tmp_path / "afile" / "x.csv"
    result = run(review_dir, "dedup", "export", str(target))
    assert result.exit_code == 1 and no_traceback(result)
    assert result.stderr.strip() == f"error: {target}: Not a directory"


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_a_diagram_that_cannot_be_written_names_the_users_file(review_dir: Path, tmp_path: Path, fmt: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A diagram refused by the file system (a folder the user may not write to) names the file the user
    gave, as every export does, not the hidden temporary file the diagram is drawn into; nothing is left."""
    from matplotlib.figure import Figure

    def refused(self: Figure, fname: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(fname))

    monkeypatch.setattr(Figure, "savefig", refused)
    target = tmp_path / f"flow.{fmt}"
    result = run(review_dir, "prisma", "--format", fmt, "-o", str(target))
    assert result.exit_code == 1 and no_traceback(result)
    assert result.stderr.startswith(f"error: {target}: cannot write the PRISMA diagram: Permission denied")
    assert ".part" not in result.stderr
    assert leftovers(tmp_path) == [] and not target.exists()


def test_prisma_output_extension_must_match_format(review_dir: Path, tmp_path: Path) -> None:
    """prisma -o x.png with --format json is refused; -o into a new folder works."""
    result = run(review_dir, "prisma", "--format", "json", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == 1 and "writes JSON, not '.png'" in result.stderr
    target = tmp_path / "new" / "flow.json"
    result = run(review_dir, "prisma", "--format", "json", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(target.read_text(encoding="utf-8")), dict)


def test_damaged_database_is_one_line(tmp_path: Path) -> None:
    """A database file SQLite cannot read is named, with the way out; no traceback."""
    folder = tmp_path / "r"
    init_review(folder).engine.dispose()
    (folder / "reviewkit.db").write_text("garbage\n", encoding="utf-8")
    for wal in ("reviewkit.db-wal", "reviewkit.db-shm"):
        (folder / wal).unlink(missing_ok=True)
    result = CliRunner().invoke(cli, ["-C", str(folder), "status"])
    assert result.exit_code == 1 and no_traceback(result)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: not a reviewkit database or damaged: {(folder / 'reviewkit.db').resolve()}")
    assert line.endswith("restore it from a backup (reviewkit backup)")


def test_a_path_through_a_missing_folder_and_back_is_written_where_it_points(review_dir: Path, tmp_path: Path) -> None:
    """new/../out.csv is out.csv beside new/ (which is not made): it failed with "File exists"."""
    target = tmp_path / "new" / ".." / "flow.csv"
    result = run(review_dir, "export", "flow", str(target))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "flow.csv").is_file() and not (tmp_path / "new").exists()


def test_overwriting_through_a_link_writes_the_linked_file_and_keeps_the_link(review_dir: Path,
                                                                              tmp_path: Path) -> None:
    """An export to a symlink updates the file it points at; the rename used to replace the link itself."""
    shared = tmp_path / "shared"
    shared.mkdir()
    real = shared / "flow.csv"
    real.write_text("old\n")
    link = tmp_path / "flow.csv"
    link.symlink_to(real)
    result = run(review_dir, "export", "flow", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.read_text() != "old\n" and real.read_text().startswith("data,node,box,")
    assert leftovers(tmp_path) == [] and leftovers(shared) == []


def test_overwriting_keeps_the_files_permissions(review_dir: Path, tmp_path: Path) -> None:
    """A group-writable export stays group-writable after it is written again (a new file got 0644)."""
    target = tmp_path / "flow.csv"
    target.write_text("old\n")
    target.chmod(0o664)
    result = run(review_dir, "export", "flow", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_text() != "old\n"
    assert target.stat().st_mode & 0o777 == 0o664


def test_a_link_gets_the_format_its_own_name_says(review_dir: Path, tmp_path: Path) -> None:
    """mism.csv -> data.xlsx is written as CSV (the name the user gave); it got XLSX from the target."""
    real = tmp_path / "data.xlsx"
    real.write_text("old\n")
    link = tmp_path / "mism.csv"
    link.symlink_to(real)
    result = run(review_dir, "export", "extraction", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and not real.read_bytes().startswith(b"PK")  # XLSX is a zip file
    assert real.read_text(encoding="utf-8").startswith("study")
    assert leftovers(tmp_path) == []


def test_a_link_to_a_name_without_extension_is_written(review_dir: Path, tmp_path: Path) -> None:
    """out2.csv -> noext is a CSV export; it was refused, naming the internal temporary file."""
    real = tmp_path / "noext"
    real.write_text("old\n")
    link = tmp_path / "out2.csv"
    link.symlink_to(real)
    result = run(review_dir, "export", "extraction", str(link))
    assert result.exit_code == 0, result.output
    assert ".part" not in result.output
    assert link.is_symlink() and real.read_text(encoding="utf-8").startswith("study")
    assert leftovers(tmp_path) == []


def test_prisma_counts_printed_are_the_file_written(review_dir: Path, tmp_path: Path) -> None:
    """`prisma --format csv -o -` piped into a file gives what `-o FILE` writes: no blank line after the CSV's
    last row (a reader of the counts would take it for an empty row); the JSON printed is the file's."""
    for fmt in ("csv", "json"):
        target = tmp_path / f"counts.{fmt}"
        assert run(review_dir, "prisma", "--format", fmt, "-o", str(target)).exit_code == 0
        printed = run(review_dir, "prisma", "--format", fmt, "-o", "-")
        assert printed.exit_code == 0, printed.output
        written = target.read_text(encoding="utf-8")
        assert printed.stdout == written and written.endswith("\n") and not written.endswith("\n\n")
        if fmt == "json":
            json.loads(written)


@pytest.mark.parametrize("args", [
    *[(group, command) for group, command, name in WRITERS if name.endswith(".csv")],
    ("decisions", "export"), ("prisma", "--format", "csv", "-o"),
], ids=" ".join)
def test_every_csv_ends_its_lines_alike_and_has_no_mark(review_dir: Path, tmp_path: Path,
                                                         args: tuple[str, ...]) -> None:
    """Every CSV reviewkit writes ends each line with CRLF (RFC 4180, the csv module's default): the PRISMA flow
    counts ended theirs with LF alone. None starts with a byte-order mark (the PRISMA2020 R package finds the
    flow CSV's first column by its name)."""
    target = tmp_path / "x.csv"
    result = run(review_dir, *args, str(target))
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n") and data.count(b"\n") == data.count(b"\r\n"), data[:200]
