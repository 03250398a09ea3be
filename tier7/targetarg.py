"""``--target``: the one name for "which cluster" across every ``tier7`` subcommand (issue 17).

Its value is one of:

- ``testbed``: the bundled testbed in ``$TIER7_TESTBED_DIR``, else ``results/testbed`` (``tier7 verify``
  starts a fresh one there);
- a testbed folder (holding the ``cluster.json`` ``tier7 testbed up`` wrote) or that ``cluster.json``;
- a target file (TOML or JSON, tier7/targets/http.py): any cluster speaking the contract;
- ``etcd`` or ``redis-sentinel`` (issue 14): a foreign target, its real servers started by its driver
  (tier7/targets/etcd.py, redis_sentinel.py); or the folder of one left running by ``tier7 testbed up --kind``
  (it holds ``foreign.json``).

The names used before (``--dir``, ``--testbed-dir``, ``--target-file``) still work as hidden aliases.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import Tier7Error

TESTBED = "testbed"
CLUSTER_FILE = "cluster.json"
FOREIGN_KINDS = ("etcd", "redis-sentinel")  # foreign target drivers (tier7/verify/foreign.py KINDS)
FOREIGN_FILE = "foreign.json"  # what a foreign driver leaves in its folder (tier7/targets/foreign.py)
HELP = ("the cluster: 'testbed' ($TIER7_TESTBED_DIR or results/testbed), a testbed folder or its cluster.json, "
        "a target file (TOML/JSON), or a foreign target: 'etcd' or 'redis-sentinel'")


@dataclass(frozen=True)
class TargetChoice:
    """What ``--target`` named: ``kind`` is ``testbed`` (``path`` None: the default folder), ``testbed-dir``
    (``path`` the folder), ``file`` (``path`` a contract-only target file), ``etcd`` / ``redis-sentinel``
    (``path`` None) or ``foreign-dir`` (``path`` the folder of a foreign cluster left running)."""

    kind: str
    path: Path | None = None


def classify(value: str | Path | None, must_exist: bool = True) -> TargetChoice:
    """Read a ``--target`` value; a name that is none of the above is a one-line ``Tier7Error``.
    ``must_exist=False`` (``tier7 testbed up``) takes a folder that does not exist yet as a testbed folder."""
    if value is None or str(value) in ("", TESTBED):
        return TargetChoice(TESTBED)
    if str(value) in FOREIGN_KINDS:
        return TargetChoice(str(value))
    path = Path(value)
    if path.is_dir() and (path / FOREIGN_FILE).is_file():
        return TargetChoice("foreign-dir", path)
    if path.is_dir():
        if not (path / CLUSTER_FILE).is_file() and must_exist:
            raise Tier7Error(f"--target {value}: no {CLUSTER_FILE} in that folder (start a testbed there "
                             f"with `tier7 testbed up --target {value}`)")
        return TargetChoice("testbed-dir", path)
    if path.is_file():
        if path.name == CLUSTER_FILE:
            return TargetChoice("testbed-dir", path.parent)
        return TargetChoice("file", path)
    if not must_exist and not path.suffix:
        return TargetChoice("testbed-dir", path)
    raise Tier7Error(f"--target {value}: no such folder or file (expected 'testbed', a testbed folder, its "
                     f"{CLUSTER_FILE}, a target file, or {' or '.join(FOREIGN_KINDS)})")


def testbed_folder(value: str | Path | None, must_exist: bool = True) -> Path | None:
    """The testbed folder ``--target`` names (None: the default one); a target file is refused, for commands
    that drive the bundled testbed only (``tier7 testbed ...``)."""
    choice = classify(value, must_exist)
    if choice.kind == "file":
        raise Tier7Error(f"--target {value}: a target file; this command drives the bundled testbed only "
                         "(give its folder or cluster.json)")
    if choice.kind in FOREIGN_KINDS:
        raise Tier7Error(f"--target {value}: give a folder; the kind goes with --kind "
                         f"(tier7 testbed up --kind {value} --target DIR)")
    return choice.path
