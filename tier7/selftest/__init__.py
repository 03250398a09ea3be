"""`tier7 selftest`: run the catalogue of testbed mutants and show that each criterion can FAIL."""
