"""Human review of generated queries in Argilla: push, pull, and a local Argilla server.

Nothing is imported here on purpose: ``sqlite_search`` and ``server_entry`` run inside the
argilla-server virtualenv (which has no ZenML, torch or the Argilla SDK), the rest beside ZenML.
"""
