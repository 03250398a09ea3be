"""The fault proxy: TCP links with Toxiproxy's toxics, driven through (a subset of) Toxiproxy's HTTP API.

Run as its own process: ``python -m chaos.proxy --port 8474``. The same Chaos Toolkit experiments drive it
here (no netem on this kernel: latency is injected in user space) and a real Toxiproxy in docker-compose.
Parts: ``toxics`` (the model), ``pipe`` (one direction of a link, transport-agnostic), ``tcp`` (listener and
links), ``registry`` (proxies), ``api`` (HTTP), ``__main__`` (the process).
"""
