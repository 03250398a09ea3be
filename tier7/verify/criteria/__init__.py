"""The phases of a verification run, one module per piece of work (load, faults, writes): each
``run(ctx)`` talks to the target and records its findings as ``facts/<phase>.json`` in the run folder.
The verdicts are the engine's (``analysis.criteria``), judged from those facts."""
