"""Writers of the plan's outputs: the verification report, the evidence zip, the STATUS.md section."""
