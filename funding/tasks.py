"""Celery tasks of the funding app: letters (WeasyPrint) and the daily deadline sweep."""
