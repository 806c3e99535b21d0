"""One write protocol (``curate.atomic``), one refusal of a folder that holds another plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchlm.curate.atomic import AtomicPath
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.writer import claim_folder, write_atomic


def test_a_file_appears_whole_under_its_name_only_when_the_block_ends(tmp_path):
    path = tmp_path / "sub" / "data.bin"
    with AtomicPath(path) as tmp:
        tmp.write_bytes(b"new")
        assert tmp == tmp_path / "sub" / ".data.bin.tmp"
        assert not path.exists()
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.bin"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "data.txt"
    write_atomic(path, "old")
    with pytest.raises(RuntimeError), AtomicPath(path) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("interrupted")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]


def test_a_folder_replaces_the_old_folder_and_a_leftover_temporary_is_cleared(tmp_path):
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / "stale").write_text("x", encoding="utf-8")
    leftover = tmp_path / ".index.tmp"
    leftover.mkdir()
    (leftover / "torn").write_text("x", encoding="utf-8")
    with AtomicPath(folder) as tmp:
        assert not tmp.exists()
        tmp.mkdir()
        (tmp / "fresh").write_text("y", encoding="utf-8")
    assert [p.name for p in folder.iterdir()] == ["fresh"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]


def test_begin_and_commit_spread_over_a_writer_and_text_or_bytes_write_alike(tmp_path):
    target = AtomicPath(tmp_path / "out.part", ".part")
    with open(target.begin(), "wb") as f:
        f.write(b"abc")
    assert target.tmp.name == ".out.part.part"
    target.commit()
    assert (tmp_path / "out.part").read_bytes() == b"abc"
    write_atomic(tmp_path / "t", "é")
    write_atomic(tmp_path / "b", "é".encode())
    assert (tmp_path / "t").read_bytes() == (tmp_path / "b").read_bytes() == b"\xc3\xa9"


class OtherPlan(ConfigError):
    pass


def test_a_folder_is_claimed_by_one_plan_and_refuses_another(tmp_path):
    record = tmp_path / "out" / "plan.json"
    claim_folder(record, "A", "work of another plan")
    claim_folder(record, "A", "work of another plan")  # the same plan resumes
    refusal = r"^.*out holds work of another plan; choose another --output$"
    with pytest.raises(ConfigError, match=refusal):
        claim_folder(record, "B", "work of another plan")
    with pytest.raises(OtherPlan, match=r"^elsewhere holds x; choose another --output$"):
        claim_folder(record, "B", "x", where=Path("elsewhere"), error=OtherPlan)
    assert record.read_text(encoding="utf-8") == "A"
