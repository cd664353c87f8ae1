# The original deployment's gunicorn settings, for comparison (gunicorn -c gunicorn.conf.py -w 8 label_service:app).
bind = "127.0.0.1:8000"
workers = 8
timeout = 30
graceful_timeout = 30
max_requests = 10000
max_requests_jitter = 1000
preload_app = False  # True shares the model until the garbage collector and reference counts copy it (README)
