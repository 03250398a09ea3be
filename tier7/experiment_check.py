"""Precise errors for an experiment file Chaos Toolkit refuses: which activity, which field, and the
values it allows (chaoslib says "'actionz' is not a supported activity type" without the choices)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

ACTIVITY_TYPES = ("action", "probe")
PROVIDER_TYPES = ("python", "process", "http")


def _activities(experiment: dict[str, Any]) -> list[tuple[str, Any]]:
    """(where, activity) for every activity of the method, the rollbacks and the hypothesis' probes."""
    out: list[tuple[str, Any]] = []
    for section in ("method", "rollbacks"):
        for index, activity in enumerate(experiment.get(section) or []):
            out.append((f"{section}[{index}]", activity))
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    for index, probe in enumerate(hypothesis.get("probes") or [] if isinstance(hypothesis, dict) else []):
        out.append((f"steady-state-hypothesis.probes[{index}]", probe))
    return out


def _python_problem(where: str, provider: dict[str, Any]) -> str | None:
    module_name, func = provider.get("module"), provider.get("func")
    try:
        module = importlib.import_module(str(module_name))
    except ImportError:
        return f"{where}.provider.module: no Python module {module_name!r}"
    functions = sorted({n for n, f in inspect.getmembers(module, inspect.isfunction)
                        if not n.startswith("_") and f.__module__ == module.__name__}
                       | set(getattr(module, "__all__", [])))  # activities re-exported from other modules too
    if not hasattr(module, str(func)):
        return f"{where}.provider.func: {module_name} has no function {func!r}; allowed: {', '.join(functions)}"
    parameters = inspect.signature(getattr(module, str(func))).parameters
    names = [n for n in parameters if n not in ("configuration", "secrets")]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    for argument in provider.get("arguments") or {}:
        if argument not in parameters and not takes_any:
            return (f"{where}.provider.arguments.{argument}: not an argument of {module_name}.{func}; "
                    f"allowed: {', '.join(names) or '(none)'}")
    return None


def explain(experiment: Any, path: Path) -> str | None:
    """The first problem as "<file>: <field>: <what is wrong>; allowed: <values>", or None when this
    check sees none (chaoslib's own message is then the best there is)."""
    if not isinstance(experiment, dict):
        return None
    for where, activity in _activities(experiment):
        if isinstance(activity, str):
            continue  # a reference to a named activity
        if not isinstance(activity, dict):
            return f"invalid experiment {path}: {where}: must be an object"
        if activity.get("type") not in ACTIVITY_TYPES:
            return (f"invalid experiment {path}: {where}.type: {activity.get('type')!r}; "
                    f"allowed: {', '.join(ACTIVITY_TYPES)}")
        provider = activity.get("provider")
        if not isinstance(provider, dict):
            return f"invalid experiment {path}: {where}.provider: missing (an object with a type)"
        if provider.get("type") not in PROVIDER_TYPES:
            return (f"invalid experiment {path}: {where}.provider.type: {provider.get('type')!r}; "
                    f"allowed: {', '.join(PROVIDER_TYPES)}")
        if provider["type"] == "python":
            problem = _python_problem(where, provider)
            if problem:
                return f"invalid experiment {path}: {problem}"
    return None
