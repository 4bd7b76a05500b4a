"""Human review of generated queries in Argilla, through the Argilla SDK only: push and pull.

Any Argilla server will do. The local server used in development and tests (argilla-server with
a SQLite search backend, ``run.py argilla-up``) is a top-level package of its own, outside the
core package: the pipeline never imports it.
"""
