"""Offline analysis of a run folder (docs/run-folder.md): histories -> metrics, checkers, plots, report.

Entry point: ``tier7 analyze results/<run>`` (``analysis.cli``), or ``analysis.run.analyze(run_dir)``.
Nothing here talks to the target or imports ``testbed``: every verdict is re-checkable from the folder.
"""
