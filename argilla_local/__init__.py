"""A real Argilla server (argilla-server 2.8: REST API and web UI) on this machine, without
Elasticsearch: ``python run.py argilla-up | argilla-down | argilla-status``.

``local_server`` starts Redis, the server and its rq worker; ``sqlite_search`` is the SQLite
search backend that replaces Elasticsearch; ``server_entry`` is how the server processes load it.

It is a package of its own, beside ``embedtune`` rather than inside it, because the pipeline
never needs it: the review steps only talk to an Argilla server through the SDK
(``embedtune.review``), and any Argilla server will do. It is a development and test tool.
``sqlite_search`` and ``server_entry`` run inside the argilla-server virtualenv (no ZenML, torch
or Argilla SDK there), so nothing is imported here, and nothing here imports ``embedtune``.
"""
