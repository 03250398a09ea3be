"""Checkers: each returns an ``analysis.verdict.Verdict`` (PASS / FAIL / UNKNOWN / ...) with its evidence."""
