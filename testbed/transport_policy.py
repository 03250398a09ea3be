"""Which protocol carries a region pair's inter-node traffic: HTTP/2 over TLS or HTTP/3 over QUIC (issue 13).

Pure logic, no I/O. Per region pair a ``PairPolicy`` keeps an exponentially weighted moving average of the
measured round trip (ms; each sample is the fastest of the last ``rtt_window`` probes, because a
busy machine only ever adds delay to a probe) and of the loss (a probe lost counts 1, answered 0). It moves to ``h3`` when the
RTT average exceeds ``rtt_up_ms`` or the loss average exceeds ``loss_up``, and back to ``h2`` only when both
are below their lower thresholds ``rtt_down_ms`` / ``loss_down`` (hysteresis). A protocol is kept at least
``min_dwell_s`` seconds after a switch, and no switch happens before ``min_samples`` measurements, so one
late probe never flips the link. Times are seconds on any monotonic clock the caller chooses.

With ``rtt_relative`` the RTT thresholds are margins over the pair's baseline, the lowest RTT sample it ever
measured (a path's round trip only grows under load or faults: LEDBAT's "base delay"), so one preset works
for near and far pairs and for any geography: with absolute thresholds the realistic geography (70-180 ms)
would put every pair on h3 at once, and the compressed one (7-18 ms) would need +45-55 ms, not +60 ms.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

PROTOCOLS = ("h2", "h3")


class PolicyError(ValueError):
    """A bad [transport] preset section; the message is one line for the user."""


@dataclass(frozen=True)
class PolicyConfig:
    rtt_alpha: float = 0.3      # EWMA weight of a new RTT sample
    loss_alpha: float = 0.1     # EWMA weight of a new loss sample (0 or 1)
    rtt_up_ms: float = 60.0     # switch to h3 above this RTT average (ms)
    rtt_down_ms: float = 35.0   # back to h2 only below this (ms)
    loss_up: float = 0.03       # switch to h3 above this loss average (fraction)
    loss_down: float = 0.01     # back to h2 only below this
    min_dwell_s: float = 4.0    # seconds a protocol is kept after a switch
    min_samples: int = 3        # measurements before the first decision
    rtt_window: int = 4         # the EWMA is fed the fastest of the last this-many round trips
    rtt_relative: bool = False  # the RTT thresholds are margins over the pair's lowest sample (its baseline)

    @classmethod
    def from_preset(cls, section: dict[str, Any]) -> PolicyConfig:
        """The policy from the preset's ``[transport]`` table (missing keys take the defaults above)."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in section.items() if k in known}
        for key, value in values.items():
            if key == "rtt_relative":
                if not isinstance(value, bool):
                    raise PolicyError("[transport].rtt_relative must be true or false")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise PolicyError(f"[transport].{key} must be a number >= 0")
        config = cls(**values)
        if not 0 < config.rtt_alpha <= 1 or not 0 < config.loss_alpha <= 1:
            raise PolicyError("[transport] rtt_alpha and loss_alpha must be in (0, 1]")
        if config.rtt_down_ms > config.rtt_up_ms or config.loss_down > config.loss_up:
            raise PolicyError("[transport] the down thresholds must not exceed the up thresholds (hysteresis)")
        return config


@dataclass(frozen=True)
class Switch:
    pair: str
    from_protocol: str
    to_protocol: str
    rtt_ms: float
    loss: float
    reason: str


class PairPolicy:
    """The protocol of one region pair, fed with probe outcomes."""

    def __init__(self, pair: str, config: PolicyConfig, now: float, frozen: bool = False) -> None:
        self.pair, self.config = pair, config
        self.protocol = "h2"
        self.since = now
        self.rtt_ms: float | None = None
        self.baseline_ms: float | None = None  # the lowest RTT sample so far
        self.loss = 0.0
        self.samples = 0
        self.recent: deque[float] = deque(maxlen=max(1, int(config.rtt_window)))
        self.frozen = frozen  # TEST ONLY (transport_never_switches): measure, never switch

    def observe(self, rtt_ms: float | None, now: float) -> Switch | None:
        """Feed one probe: its round trip in ms, or ``None`` when it was lost. Returns the switch it caused."""
        c = self.config
        self.samples += 1
        if rtt_ms is None:
            self.loss += c.loss_alpha * (1.0 - self.loss)
        else:
            self.loss += c.loss_alpha * (0.0 - self.loss)
            self.recent.append(rtt_ms)
            sample = min(self.recent)
            self.rtt_ms = sample if self.rtt_ms is None else self.rtt_ms + c.rtt_alpha * (sample - self.rtt_ms)
            self.baseline_ms = sample if self.baseline_ms is None else min(self.baseline_ms, sample)
        if self.frozen or self.samples < c.min_samples or now - self.since < c.min_dwell_s:
            return None
        rtt = self.rtt_ms if self.rtt_ms is not None else 0.0
        base = (self.baseline_ms or 0.0) if c.rtt_relative else 0.0
        up, down = base + c.rtt_up_ms, base + c.rtt_down_ms
        over = f" (baseline {base:.1f} ms + {c.rtt_up_ms:g})" if c.rtt_relative else ""
        under = f" (baseline {base:.1f} ms + {c.rtt_down_ms:g})" if c.rtt_relative else ""
        if self.protocol == "h2":
            reasons = []
            if rtt > up:
                reasons.append(f"rtt {rtt:.1f} ms > {up:.1f} ms{over}")
            if self.loss > c.loss_up:
                reasons.append(f"loss {self.loss:.3f} > {c.loss_up:g}")
            if reasons:
                return self._switch("h3", now, "; ".join(reasons))
        elif rtt < down and self.loss < c.loss_down:
            return self._switch("h2", now, f"rtt {rtt:.1f} ms < {down:.1f} ms{under} and loss {self.loss:.3f} "
                                           f"< {c.loss_down:g}")
        return None

    def _switch(self, to: str, now: float, reason: str) -> Switch:
        switch = Switch(self.pair, self.protocol, to, round(self.rtt_ms or 0.0, 2), round(self.loss, 4), reason)
        self.protocol, self.since = to, now
        return switch
