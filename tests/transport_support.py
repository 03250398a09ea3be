"""The god-tier preset with the adaptive transport turned on, whatever the bundled preset's default (on since the
failover fix; in-process tests need its [transport] section active)."""

from __future__ import annotations

from pathlib import Path

PRESET = Path(__file__).resolve().parents[1] / "testbed" / "presets" / "god-tier.toml"


def transport_on_preset(folder: Path) -> Path:
    """Write the preset with ``[transport] enabled = true`` into ``folder``; returns its path."""
    head, tail = PRESET.read_text().split("[transport]", 1)
    path = folder / "god-tier-transport-on.toml"
    path.write_text(head + "[transport]" + tail.replace("enabled = false", "enabled = true", 1))
    return path
