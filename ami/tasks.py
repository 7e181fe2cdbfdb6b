from .attachments import scan_attachment  # noqa: F401  (Celery discovers tasks in tasks.py)
