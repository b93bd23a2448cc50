"""Production server: `gunicorn -c gunicorn.conf.py app:app`.

The settings below can be changed with GUNICORN_* variables; the application's
own configuration comes from FLASK_* variables (see the README). Start-up
refuses an unsafe configuration (cgos/production.py).
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
# Threads, so that pages are served while other threads wait for bcrypt (which releases the GIL
# and hashes at the lowest CPU priority, so pages get the cores first):
# cgos/bcrypt_line.py lets only as many logins as the host has cores hash at once,
# whichever worker they reached, the others wait in line, and a login is refused with a 503
# beyond LOGIN_QUEUE_SECONDS of line.
# The threads must outnumber that line (3 s ÷ 0.25 s per hash = 12 logins) with room for pages.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 32))
# A login thread waiting for bcrypt keeps its database connection (the agent was looked up
# first): each worker's pool holds one per thread, opened only when needed.
os.environ.setdefault(
    "FLASK_SQLALCHEMY_ENGINE_OPTIONS", f'{{"pool_pre_ping": true, "pool_size": {threads}, "max_overflow": 0}}'
)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# Each worker's heartbeat touches a file at every turn of its loop: in memory rather than on
# /tmp's disk, as gunicorn advises where /tmp is a disk (as on this machine: ext4).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
graceful_timeout = 20
keepalive = 5
# The application is imported once, in the master: a worker starts (or is replaced) by a fork
# in milliseconds instead of a second of imports, during which the other workers would take
# its share of the load, and all the workers inherit the one line of bcrypt slots made with
# the application. post_fork below keeps database connections out of the fork.
preload_app = True
# Replacing a worker now and then bounds any slow leak; at opening-day rates (over a thousand
# pages a second per worker) a few thousand requests would mean a fork every few seconds.
max_requests = 100_000
max_requests_jitter = 10_000
# The application writes one structured line per request (route templates, never paths
# that may hold a token): gunicorn's own access log would repeat the raw paths.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

os.environ.setdefault("FLASK_PRODUCTION", "true")
os.environ["FLASK_WORKERS"] = str(workers)


def pre_fork(server, worker):
    """In the master, before each fork: what it made (the preloaded application, its libraries) is
    set aside from the garbage collector, as Python's gc.freeze documents for pre-fork servers.
    Otherwise a worker's collections write into each of those objects (their GC header) and copy
    the pages it shares with the master into its own memory."""
    gc.freeze()


def post_fork(server, worker):
    """A new worker opens its own database connections, never the master's."""
    app = server.app.wsgi()
    from cgos.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def child_exit(server, worker):
    """In the master, once a worker has exited: the bcrypt slots it held (if it was killed
    while hashing) are freed for the others."""
    from cgos import bcrypt_line

    bcrypt_line.line(server.app.wsgi()).release_for(worker.pid)


def worker_exit(server, worker):
    """A worker leaving lets its mail sender thread (MAIL_DELIVERY "thread") finish the mail in hand."""
    from cgos import mail

    mail.stop_sender(server.app.wsgi())
