# Setup 3, preload + gc.freeze(): as setup 2, and right before each fork the master moves every object it
# tracks into the collector's permanent generation, which later collections in the workers never traverse
# (so they never write the collector's link words in the shared pages). Reference counts are still written.
import gc

from gunicorn_hooks import post_fork, post_worker_init, worker_exit  # noqa: F401  (gunicorn reads hooks from this namespace)

preload_app = True
timeout = 300
graceful_timeout = 10
loglevel = "warning"


def pre_fork(server, worker):
    gc.freeze()
