"""Property-based fuzzing of the target's HTTP contract from docs/openapi.yaml (criterion ``contract``).

``document``: the contract document, its operations and response schemas; ``cases``: Hypothesis
strategies and a fixed edge table that make requests from it; ``wire``: a raw HTTP/1.1 sender;
``check``: what an answer must satisfy; ``curl``: reproductions with the token redacted; ``fuzzer``: the
seeded, bounded run over one node per group.
"""
