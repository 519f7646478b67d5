"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`."""

import gc

from backend import create_app

app = create_app()
# What is loaded now lives as long as the process: keep it out of the garbage collector's full
# passes, which otherwise walk every module, mapper and template on each request that
# allocates much (measured: several ms of each attempt's CPU).
gc.freeze()
