"""Issue 17, "Make it pleasant", CLI: help without arguments, --version, examples/defaults/choices in every
--help, one --target across subcommands (old names hidden but working), variables in `chaos list`, and a
one-line error for a malformed --var. No cluster: parsing and help only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tier7 import cli, cli_style
from tier7.chaosrun import parse_vars
from tier7.errors import Tier7Error
from tier7.targetarg import classify

ROOT = Path(__file__).resolve().parents[1]


def tier7(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tier7", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_tier7_alone_prints_help_not_an_error():
    done = tier7()
    assert done.returncode == 0 and "usage: tier7" in done.stdout and "examples:" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_group_without_its_subcommand_prints_its_help(capsys):
    assert cli.main(["chaos"]) == 2
    out = capsys.readouterr().out
    assert "usage: tier7 chaos" in out and "heal" in out and "examples:" in out


def test_version():
    done = tier7("--version")
    assert done.returncode == 0 and done.stdout.startswith("tier7 0.") and "commit" in done.stdout


def every_parser() -> dict[str, object]:
    return cli_style.style(cli.build_parser())


@pytest.mark.parametrize("path", sorted(cli_style.examples()))
def test_every_example_parses(path):
    """The examples shown in --help are real command lines (a renamed option would break them)."""
    parser = cli.build_parser()
    for line in cli_style.examples()[path].splitlines():
        words = line.split("#")[0].split()
        assert words[0] == "tier7"
        if len(words) > 1:
            parser.parse_args(words[1:])


def test_every_help_has_examples_and_shows_defaults_and_choices():
    parsers = every_parser()
    missing = [path or "tier7" for path, parser in parsers.items() if "examples:" not in parser.format_help()]
    assert not missing, missing
    load = parsers["load"].format_help()
    assert "--profile {kv,tenants,mixed" in load  # choices shown
    assert "(default: 0)" in load  # a default of 0 is still shown (tenant passes, seed)
    assert "(default: 30.0)" in parsers["testbed up"].format_help()


def test_one_target_name_and_old_names_hidden_but_working(tmp_path):
    parsers = every_parser()
    for path in ("testbed up", "testbed status", "testbed down", "load", "chaos run", "chaos heal", "verify"):
        text = parsers[path].format_help()
        assert "--target TARGET" in text, path
        for old in ("--dir", "--testbed-dir", "--target-file"):
            assert old + " " not in text, (path, old)
    parser = cli.build_parser()
    folder = tmp_path / "tb"
    folder.mkdir()
    (folder / "cluster.json").write_text("{}")
    old = parser.parse_args(["chaos", "heal", "--testbed-dir", str(folder)])
    assert old.testbed_dir == folder
    new = parser.parse_args(["chaos", "heal", "--target", str(folder / "cluster.json")])
    cli.resolve_target(new)
    assert new.testbed_dir == folder
    load = parser.parse_args(["load", "--target", str(folder)])
    cli.resolve_target(load)
    assert load.target_file == str(folder / "cluster.json")
    assert parser.parse_args(["load", "--target-file", "x.toml"]).target_file == "x.toml"
    up = parser.parse_args(["testbed", "up", "--target", str(tmp_path / "new")])
    cli.resolve_target(up)
    assert up.dir == tmp_path / "new"
    assert parser.parse_args(["testbed", "down", "--dir", str(folder)]).dir == folder
    target_file = tmp_path / "mine.toml"
    target_file.write_text("")
    run = parser.parse_args(["chaos", "run", "kill-raft-leader", "--target", str(target_file)])
    cli.resolve_target(run)
    assert run.var == [f"tier7_target={target_file}"]
    verify = parser.parse_args(["verify", "--target", str(folder)])
    cli.resolve_target(verify)
    assert verify.target == str(folder / "cluster.json")


def test_bad_target_is_one_line(tmp_path, capsys):
    assert cli.main(["testbed", "status", "--target", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such folder or file" in err
    with pytest.raises(Tier7Error, match="no cluster.json"):
        classify(tmp_path)
    assert cli.main(["chaos", "heal", "--target", str(tmp_path), "--testbed-dir", str(tmp_path)]) == 2


def test_chaos_list_shows_variables_with_defaults(capsys):
    assert cli.main(["chaos", "list"]) == 0
    out = capsys.readouterr().out
    assert 'vars: group="g0", failover_s=5' in out
    assert "tier7_testbed_dir" not in out  # set through --target, not a variable to pass


@pytest.mark.parametrize("item,why", [("nope", "expected KEY"), ("=1", "expected KEY"),
                                      ("a:list=1", "unknown type 'list'")])
def test_malformed_var_is_one_line(item, why, capsys):
    with pytest.raises(Tier7Error, match=why):
        parse_vars([item])
    assert cli.main(["chaos", "run", "kill-raft-leader", "--var", item]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not enough values" not in err and item in err


def test_well_formed_vars_still_typed():
    assert parse_vars(["group=g1", "failover_s:int=7"]) == {"group": "g1", "failover_s": 7}
