"""Valid register histories from a simulated atomic register, for the linearizability and metrics benchmarks
(and tests). Each key has ``clients`` processes doing one operation at a time; every operation takes effect
atomically at a random instant inside its [invoke, response] interval, so the history is linearizable by
construction. Some operations lose their response (``info``): a lost write took effect with probability 1/2.
"""

from __future__ import annotations

import random
from typing import Any

BASE_NS = 10**15
BASE_WALL = 1.7e9


def simulate_key(rng: random.Random, tenant: str, key: str, clients: int, ops: int, info_fraction: float = 0.01,
                 mean_latency_s: float = 0.005) -> list[dict[str, Any]]:
    """Events (invoke + completion) of ``ops`` operations on one key by ``clients`` concurrent processes."""
    clock = [rng.uniform(0, mean_latency_s) for _ in range(clients)]
    planned = []  # (point, invoke, response, process, f, arg, lost)
    written: list[str] = []
    for index in range(ops):
        client = min(range(clients), key=clock.__getitem__)  # the next client free to invoke
        invoke = clock[client]
        response = invoke + rng.expovariate(1 / mean_latency_s) + 1e-6
        point = rng.uniform(invoke, response)
        roll = rng.random()
        if roll < 0.5:
            f, arg = "get", None
        elif roll < 0.8:
            f, arg = "put", f"{key}-{index}"
            written.append(arg)
        else:
            expected = rng.choice(written) if written and rng.random() < 0.8 else None
            f, arg = "cas", [expected, f"{key}-{index}"]
        lost = rng.random() < info_fraction
        planned.append((point, invoke, response, f"{tenant}/{key}/c{client}", f, arg, lost))
        clock[client] = response + rng.uniform(0, mean_latency_s / 5)
    state = None
    events: list[dict[str, Any]] = []
    seq: dict[str, int] = {}
    for point, invoke, response, process, f, arg, lost in sorted(planned):
        del point
        seq[process] = seq.get(process, 0) + 1
        base = {"process": process, "op": seq[process], "f": f, "key": key, "tenant": tenant, "source": "sim"}
        events.append({**base, "type": "invoke", "time": BASE_NS + int(invoke * 1e9), "wall": BASE_WALL + invoke,
                       "value": arg})
        applies = not lost or rng.random() < 0.5
        if f == "get":
            kind, value = "ok", state
        elif f == "put":
            kind, value = "ok", arg
            if applies:
                state = arg
        elif state == arg[0]:
            kind, value = "ok", arg
            if applies:
                state = arg[1]
        else:
            kind, value, applies = "fail", arg, False
        completion = {**base, "type": "info" if lost else kind, "time": BASE_NS + int(response * 1e9),
                      "wall": BASE_WALL + response, "group": "g0", "node": "n0"}
        if not lost:
            completion["value"] = value
            completion["status"] = 200 if kind == "ok" else 409
        events.append(completion)
    return events


def simulate(keys: int, clients: int, ops_per_key: int, seed: int = 1, info_fraction: float = 0.01,
             tenant: str = "bench") -> list[dict[str, Any]]:
    """A whole history: ``keys`` independent registers, events in no particular order."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for index in range(keys):
        events.extend(simulate_key(rng, tenant, f"k{index}", clients, ops_per_key, info_fraction))
    return events
