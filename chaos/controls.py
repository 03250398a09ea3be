"""A Chaos Toolkit control that writes every action's start and end into the run's history as
``nemesis`` events (tier7/history.py), on the same clock as the load, so analysis can shade fault
windows and measure from the exact injection time.

Declare it in an experiment::

    "controls": [{"name": "tier7-history", "provider": {"type": "python", "module": "chaos.controls"}}]

The run folder is ``tier7_run_dir`` from the configuration, else ``$TIER7_RUN_DIR``, else a new
``results/<UTC>-chaos/``; the events go to ``<run>/history/nemesis-<pid>.jsonl``. For each activity:
``invoke`` when it starts (``value``: activity kind, phase, name, arguments) and ``ok`` / ``fail`` when it
ends (``value``: what the action returned, e.g. the node killed and ``injected_ns``, and ``applied``:
true / false; ``error`` on failure, e.g. a kill that did not take effect), or ``info`` (outcome unknown) when
it was interrupted. ``f`` is the action's function with dashes
(``kill-leader``); ``node``/``group``/``region`` are copied from its result. Probes are recorded only
with the control argument ``"probes": true`` (analysis treats every nemesis event as a fault or heal).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from tier7.history import HistoryWriter, history_path

from . import state as fault_state

log = logging.getLogger("chaostoolkit")
RUN_DIR_KEY = "tier7_run_dir"
PROCESS = "nemesis"

_lock = threading.Lock()
_writer: HistoryWriter | None = None
_run_dir: Path | None = None
_phase = "setup"
_open: dict[int, tuple[int, str]] = {}  # id(activity) -> (op, f)
_record_probes = False


def run_dir_for(configuration: dict[str, Any] | None) -> Path:
    """The run folder named by the configuration or environment, else a new ``results/<UTC>-chaos``."""
    named = (configuration or {}).get(RUN_DIR_KEY) or os.environ.get("TIER7_RUN_DIR")
    if named:
        return Path(str(named))
    from tier7 import runfolder

    return runfolder.new_run_dir("chaos")


def configure_control(configuration: dict[str, Any] | None = None, probes: bool = False, **_: Any) -> None:
    global _writer, _run_dir, _record_probes
    with _lock:
        _run_dir = run_dir_for(configuration)
        if _writer is None:
            _writer = HistoryWriter(history_path(_run_dir, PROCESS))
        _record_probes = bool(probes)
    fault_state.forget()  # faults recorded by an earlier experiment in this process are not this one's
    log.info("nemesis events -> %s", _writer.path)


def cleanup_control() -> None:
    global _writer
    with _lock:
        if _writer is not None:
            _writer.close()
        _writer = None
        _open.clear()


def current_run_dir() -> Path | None:
    return _run_dir


def _set_phase(name: str) -> None:
    global _phase
    _phase = name


def before_hypothesis_control(context: Any, **_: Any) -> None:
    _set_phase("steady-state")


def before_method_control(context: Any, **_: Any) -> None:
    _set_phase("method")


def after_method_control(context: Any, **_: Any) -> None:
    _set_phase("steady-state")


def before_rollback_control(context: Any, **_: Any) -> None:
    _set_phase("rollbacks")


def _fault_name(activity: dict[str, Any]) -> str:
    provider = activity.get("provider") or {}
    return str(provider.get("func") or activity.get("name") or "activity").replace("_", "-")


def _wanted(activity: dict[str, Any]) -> bool:
    return _writer is not None and (activity.get("type") == "action" or _record_probes)


def before_activity_control(context: dict[str, Any], configuration: dict[str, Any] | None = None,
                            secrets: dict[str, Any] | None = None, **_: Any) -> None:
    if not _wanted(context):
        return
    from chaoslib import substitute

    f = _fault_name(context)
    arguments = (context.get("provider") or {}).get("arguments") or {}
    value = {"activity": context.get("type"), "phase": _phase, "name": context.get("name"),
             "arguments": substitute(arguments, configuration or {}, secrets or {})}
    with _lock:
        op = _writer.invoke(PROCESS, f, value=value)
        _open[id(context)] = (op, f)


def after_activity_control(context: dict[str, Any], state: dict[str, Any] | None = None, **_: Any) -> None:
    if not _wanted(context):
        return
    with _lock:
        op, f = _open.pop(id(context), (None, _fault_name(context)))
    if op is None:
        return
    output = (state or {}).get("output")
    value: dict[str, Any] = {"phase": _phase, **(output if isinstance(output, dict) else {"output": output})}
    fields = {k: value[k] for k in ("node", "group", "region") if isinstance(value.get(k), str)}
    status = (state or {}).get("status")
    if status == "succeeded":
        _writer.complete("ok", PROCESS, op, f, value={**value, "applied": True}, **fields)
    elif status == "failed":  # e.g. a kill that did not take effect: never counted as an applied fault
        lines = (state or {}).get("exception") or ["failed"]
        _writer.complete("fail", PROCESS, op, f, value={**value, "applied": False}, error=str(lines[-1]).strip(),
                         **fields)
    else:  # interrupted (Ctrl-C, SIGTERM): the fault may or may not be in force
        _writer.complete("info", PROCESS, op, f, value=value, error="interrupted", **fields)
