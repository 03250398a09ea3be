"""``tier7 trends [results/]``: every verify and soak run's figures over time, and regressions.

Writes ``trends.csv`` (one row per run and figure) and ``trends.html`` (plotly: failover p50/max, outage per
fault type, throughput, p99 latency, error rate, verdicts per criterion over time). A regression is the
NEWEST run's figure being worse than the median of the ``last_n`` runs before it by the rules of
``analysis/trends.toml`` (relative threshold and absolute floor), or a criterion that passed in most of
those runs failing now. Only the newest run decides the exit status (so one old regression does not fail
every later night), earlier runs' regressions are still marked in the CSV and the page.
"""

from __future__ import annotations

import csv
import fnmatch
import statistics
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tier7.errors import Tier7Error

from .trends_read import RunPoint, read_results

RULES_FILE = Path(__file__).with_name("trends.toml")


@dataclass
class Regression:
    """One flagged figure: ``run`` got ``value`` where the baseline (median of earlier runs) was ``baseline``."""

    run: str
    figure: str
    value: float | str
    baseline: float | str
    detail: str

    def line(self) -> str:
        return f"REGRESSION {self.run}: {self.figure} {self.detail}"


def load_rules(path: Path = RULES_FILE) -> dict[str, Any]:
    try:
        rules = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise Tier7Error(f"trend rules {path}: {exc}") from None
    if "trends" not in rules or "figures" not in rules:
        raise Tier7Error(f"trend rules {path}: needs [trends] and [figures.*] tables")
    return rules


def rule_for(figure: str, rules: dict[str, Any]) -> dict[str, Any] | None:
    table = rules["figures"]
    if figure in table:
        return table[figure]
    for pattern, rule in table.items():
        if "*" in pattern and fnmatch.fnmatchcase(figure, pattern):
            return rule
    return None


def figure_regression(figure: str, value: float, history: list[float], rule: dict[str, Any]) -> str:
    """Why ``value`` regresses against the median of ``history`` ("" when it does not)."""
    base = statistics.median(history)
    worse = value - base if rule.get("better", "lower") == "lower" else base - value
    limit = max(abs(base) * float(rule.get("threshold", 0.5)), float(rule.get("floor", 0.0)))
    if worse > limit:
        return (f"= {value:.4g}, median of the {len(history)} runs before = {base:.4g} "
                f"(worse by {worse:.4g} > allowed {limit:.4g}; better is {rule.get('better', 'lower')})")
    return ""


def regressions_of(index: int, points: list[RunPoint], rules: dict[str, Any]) -> list[Regression]:
    """Regressions of ``points[index]`` against the ``last_n`` runs before it."""
    settings = rules["trends"]
    last_n, min_runs = int(settings.get("last_n", 5)), int(settings.get("min_runs", 2))
    point, earlier = points[index], points[max(0, index - last_n):index]
    found = []
    for figure, value in sorted(point.figures.items()):
        rule = rule_for(figure, rules)
        history = [p.figures[figure] for p in earlier if figure in p.figures]
        if rule is None or len(history) < min_runs:
            continue
        why = figure_regression(figure, value, history, rule)
        if why:
            found.append(Regression(point.name, figure, value, statistics.median(history), why))
    if settings.get("criterion_regression", True):
        for criterion, status in sorted(point.verdicts.items()):
            before = [p.verdicts[criterion] for p in earlier if criterion in p.verdicts]
            if status == "FAIL" and len(before) >= min_runs and sum(s == "PASS" for s in before) * 2 > len(before):
                found.append(Regression(point.name, f"verdict.{criterion}", status, "PASS",
                                        f"FAIL after PASS in {sum(s == 'PASS' for s in before)}/{len(before)} "
                                        "runs before"))
    return found


def write_csv(points: list[RunPoint], flagged: dict[str, set[str]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["run", "started_utc", "kind", "result", "figure", "value", "regression"])
        for p in points:
            stamp = datetime.fromtimestamp(p.when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for figure, value in sorted(p.figures.items()):
                out.writerow([p.name, stamp, p.kind, p.result, figure, f"{value:.6g}",
                              int(figure in flagged.get(p.name, set()))])
            for criterion, status in sorted(p.verdicts.items()):
                out.writerow([p.name, stamp, p.kind, p.result, f"verdict.{criterion}", status,
                              int(f"verdict.{criterion}" in flagged.get(p.name, set()))])


def run_trends(results: Path, out_dir: Path | None = None, rules_file: Path = RULES_FILE) \
        -> tuple[list[RunPoint], list[Regression], Path, Path]:
    """Read, judge and write; returns (runs, the newest run's regressions, csv path, html path)."""
    results = Path(results)
    if not results.is_dir():
        raise Tier7Error(f"{results}: no such results folder")
    rules = load_rules(rules_file)
    points = read_results(results)
    if not points:
        raise Tier7Error(f"{results}: no verify or soak run folder in it (needs facts/verify.json or soak.json)")
    every = [r for i in range(len(points)) for r in regressions_of(i, points, rules)]
    flagged: dict[str, set[str]] = {}
    for r in every:
        flagged.setdefault(r.run, set()).add(r.figure)
    out_dir = Path(out_dir) if out_dir else results
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out_dir / "trends.csv", out_dir / "trends.html"
    write_csv(points, flagged, csv_path)
    from .trends_plot import write_html

    write_html(points, every, html_path)
    return points, [r for r in every if r.run == points[-1].name], csv_path, html_path


def trends_command(results: Path, out_dir: Path | None = None, rules_file: Path | None = None) -> int:
    """Print the summary; 1 when the newest run regressed, 0 otherwise."""
    points, newest, csv_path, html_path = run_trends(results, out_dir, rules_file or RULES_FILE)
    print(f"{len(points)} run(s) from {points[0].name} to {points[-1].name}; wrote {html_path} and {csv_path}")
    if len(points) < 2:
        print("only one run: nothing to compare yet")
    for r in newest:
        print(r.line())
    print(f"newest run {points[-1].name}: " + (f"{len(newest)} regression(s)" if newest else "no regression"))
    return 1 if newest else 0
