"""Recorded load: Locust users that call the target through the recording client (tier7/client.py).

Modules: ``options`` (Locust custom arguments), ``target`` (which cluster to load), ``runfolder`` (run
folder bookkeeping), ``session`` (per-process state behind the locustfile's event listeners), ``tenants``
(tenant setup), ``stats`` (1 s time series and CSV stats), ``webui`` (the topology and faults tabs),
``workers`` (local worker processes), ``runner`` (``tier7 load``: Locust as a library), ``summary``.

Any process that runs Locust must import ``locust`` before ``httpx``/``requests`` (gevent patching);
this package's modules that need gevent import it first.
"""
