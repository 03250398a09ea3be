"""STATUS.md: one 45-04 section however often we run; other sections untouched."""

from tier7.report.status import replace_section, update_status_file

OTHER = "# Phase 45\n\n## 45-03 Tier 6\n- [x] done by hand\n"


def test_twice_gives_one_updated_section(tmp_path):
    path = tmp_path / "STATUS.md"
    path.write_text(OTHER)
    update_status_file(path, "45-04", "## 45-04 Tier 7\nfirst run")
    update_status_file(path, "45-04", "## 45-04 Tier 7\nsecond run")
    text = path.read_text()
    assert text.count("45-04 Tier 7") == 1 and "second run" in text and "first run" not in text
    assert text.startswith(OTHER.rstrip("\n"))
    assert replace_section(text, "45-04", "## 45-04 Tier 7\nsecond run") == text


def test_hand_written_section_is_replaced_not_duplicated():
    text = OTHER + "\n## 45-04 Tier 7 (hand)\n- [ ] todo\n\n## 45-05 next\nkeep me\n"
    out = replace_section(text, "45-04", "## 45-04 Tier 7\nauto")
    assert "todo" not in out and "keep me" in out and "45-03 Tier 6" in out
    assert out.count("45-04") == 3  # heading + two markers


def test_missing_file_is_created(tmp_path):
    path = tmp_path / "deep" / "STATUS.md"
    update_status_file(path, "45-04", "## 45-04\nx")
    assert "## 45-04" in path.read_text()


def test_status_section_says_what_holds():
    """Hole 9: a run where half the plan did not run is not reported as PASS."""
    from types import SimpleNamespace

    from analysis.criteria.result import result
    from analysis.plan import CRITERIA
    from analysis.verdict import Status
    from tier7.verify.outputs import status_section

    results = [result(c, Status.PASS if i < 8 else Status.NOT_RUN, "" if i < 8 else "not built")
               for i, c in enumerate(CRITERIA)]
    judgement = SimpleNamespace(meta={"plan_id": "45-04", "plan_title": "Tier 7", "report_file": "r.md"},
                                results=results, complete=True)
    text = status_section(judgement, "r.md")
    assert f"**INCOMPLETE — 8 PASS, {len(CRITERIA) - 8} NOT RUN**" in text and "**PASS" not in text
