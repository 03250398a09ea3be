"""The selftest catalogue (``catalogue.toml``): testbed mutants, the switches each turns on, and the
criteria each must make FAIL. Loading validates it; every error is one line (Tier7Error)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Tier7Error
from ..plan import CRITERIA_BY_ID

CATALOGUE_FILE = Path(__file__).with_name("catalogue.toml")
FIELDS = {"id": str, "story": str, "switches": dict, "only": list, "must_fail": list, "must_not_fail": list}


@dataclass(frozen=True)
class Mutant:
    id: str
    story: str
    switches: dict[str, Any] = field(default_factory=dict)  # the testbed's --test-faults object
    only: tuple[str, ...] = ()           # criteria `tier7 verify --only` runs
    must_fail: tuple[str, ...] = ()      # each must end FAIL, or the mutant is missed
    must_not_fail: tuple[str, ...] = ()  # none may end FAIL

    @property
    def healthy(self) -> bool:
        """A baseline entry: it claims no FAIL, so it is judged only on what must not FAIL."""
        return not self.must_fail


def load_catalogue(path: Path = CATALOGUE_FILE) -> list[Mutant]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Tier7Error(f"selftest catalogue not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise Tier7Error(f"malformed selftest catalogue {path}: {exc}") from None
    entries = data.get("mutant")
    if not isinstance(entries, list) or not entries:
        raise Tier7Error(f"selftest catalogue {path} has no [[mutant]] entries")
    mutants = [_mutant(entry, index, path) for index, entry in enumerate(entries, 1)]
    seen: set[str] = set()
    for m in mutants:
        if m.id in seen:
            raise Tier7Error(f"selftest catalogue {path}: mutant id {m.id!r} appears twice")
        seen.add(m.id)
    return mutants


def _mutant(entry: Any, index: int, path: Path) -> Mutant:
    where = f"selftest catalogue {path}, mutant #{index}"
    if not isinstance(entry, dict):
        raise Tier7Error(f"{where}: not a table")
    for name, kind in FIELDS.items():
        if not isinstance(entry.get(name), kind):
            raise Tier7Error(f"{where}: {name!r} must be a {kind.__name__}")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise Tier7Error(f"{where} ({entry['id']}): unknown field {unknown[0]!r}")
    where = f"{where} ({entry['id']})"
    for name in ("only", "must_fail", "must_not_fail"):
        for cid in entry[name]:
            criterion = CRITERIA_BY_ID.get(cid) if isinstance(cid, str) else None
            if criterion is None:
                raise Tier7Error(f"{where}: {name} names unknown criterion {cid!r}; "
                                 f"choose from: {', '.join(CRITERIA_BY_ID)}")
            if not criterion.built:
                raise Tier7Error(f"{where}: criterion {cid!r} is not built yet, it cannot FAIL or PASS")
    if not entry["only"]:
        raise Tier7Error(f"{where}: 'only' must name at least one criterion")
    outside = [c for c in entry["must_fail"] + entry["must_not_fail"] if c not in entry["only"]]
    if outside:
        raise Tier7Error(f"{where}: {outside[0]!r} is judged but not in 'only' (it would be NOT RUN)")
    both = sorted(set(entry["must_fail"]) & set(entry["must_not_fail"]))
    if both:
        raise Tier7Error(f"{where}: {both[0]!r} is both in must_fail and must_not_fail")
    if not entry["must_fail"] and not entry["must_not_fail"]:
        raise Tier7Error(f"{where}: claims nothing (empty must_fail and must_not_fail)")
    return Mutant(entry["id"], entry["story"], dict(entry["switches"]), tuple(entry["only"]),
                  tuple(entry["must_fail"]), tuple(entry["must_not_fail"]))


def select(mutants: list[Mutant], only: list[str] | None) -> list[Mutant]:
    """The mutants named by ``--only`` (catalogue order), all of them without it."""
    if not only:
        return mutants
    known = {m.id for m in mutants}
    unknown = [o for o in only if o not in known]
    if unknown:
        raise Tier7Error(f"unknown mutant {unknown[0]!r}; choose from: {', '.join(m.id for m in mutants)}")
    return [m for m in mutants if m.id in only]
