# Setup 2, preload: the master imports label_service (loading the model) before forking the workers, which
# share its pages copy-on-write until something writes to them.
from gunicorn_hooks import post_fork, post_worker_init, worker_exit  # noqa: F401  (gunicorn reads hooks from this namespace)

preload_app = True
timeout = 300
graceful_timeout = 10
loglevel = "warning"
