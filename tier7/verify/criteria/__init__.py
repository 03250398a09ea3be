"""One module per success criterion of plan 45-04: ``run(ctx)`` does its part of the work (load, faults),
``judge(ctx, analysis) -> CriterionResult`` gives the verdict."""
