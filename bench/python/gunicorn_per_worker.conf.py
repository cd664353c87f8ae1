# Setup 1, per-worker: no preload, so each worker imports label_service and loads its own copy of the model.
from gunicorn_hooks import post_fork, post_worker_init, worker_exit  # noqa: F401  (gunicorn reads hooks from this namespace)

preload_app = False
timeout = 300  # several workers loading a 1.4 GB model at once on 2 cores take a while to boot
graceful_timeout = 10
loglevel = "warning"
