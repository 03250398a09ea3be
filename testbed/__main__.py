"""Testbed command line: ``python -m testbed init|node``. Errors are one line and exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import ConfigError, build_cluster, load_cluster, load_preset
from .faults import FaultSwitchError
from .faults import validate as validate_faults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed", description="The bundled reference cluster")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="write a cluster file for a preset, with free loopback ports")
    init.add_argument("--preset", default="god-tier", help="preset name or path to a preset TOML file")
    init.add_argument("--dir", required=True, help="folder for the cluster file and the nodes' data")
    init.add_argument("--admin-token", default=None, help="admin token (default: $TESTBED_ADMIN_TOKEN or random)")
    init.add_argument("--geo", default=None,
                      help="simulated-regions profile from the preset's [geo] tables, or 'none' (default: preset's)")
    init.add_argument("--test-faults", default="{}",
                      help="TEST ONLY: JSON object of fault switches that make the testbed misbehave")
    node = sub.add_parser("node", help="run one node of a cluster")
    node.add_argument("--config", required=True, help="cluster file written by init")
    node.add_argument("--name", required=True, help="node name in the cluster file")
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            # Switches first: a refused --test-faults must leave nothing behind.
            try:
                faults = validate_faults(json.loads(args.test_faults))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"--test-faults is not JSON: {exc}") from None
            except FaultSwitchError as exc:
                raise ConfigError(str(exc)) from None
            preset = load_preset(args.preset)
            directory = Path(args.dir)
            directory.mkdir(parents=True, exist_ok=True)
            cluster = build_cluster(preset, directory, args.admin_token, args.geo)
            cluster["test_faults"] = faults
            path = directory / "cluster.json"
            path.write_text(json.dumps(cluster, indent=2))
            print(path)
            return 0
        from .node import run

        cluster = load_cluster(args.config)
        run(cluster, args.name)
        return 0
    except ConfigError as exc:
        print(f"testbed: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"testbed: error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
