"""gunicorn's settings wherever Engage's web process starts (Procfile, Dockerfile, compose):
gunicorn reads ./gunicorn.conf.py from its working directory. The command line overrides each."""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Threads let a request waiting on PostgreSQL's commit (a signup) or Redis overlap with others;
# processes use the cores. gunicorn's advice for the process count is 2 × cores + 1.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
backlog = 2048
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # "" for none
# gunicorn, too, believes X-Forwarded-Proto only from the proxies Django trusts (TRUSTED_PROXIES).
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "").replace(" ", "")
# The access log without link tokens, query strings or addresses (engage/logs.py).
logger_class = "engage.logs.AccessLogger"
# The longest request line gunicorn reads (its maximum): an API client's long query string is
# answered by Engage (400 with the field), not by gunicorn's 414.
limit_request_line = 8190
