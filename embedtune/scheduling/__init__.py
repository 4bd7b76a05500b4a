"""Scheduled retraining: cron expressions, a ZenML ``Schedule`` for orchestrators that schedule,
and a crontab line or a foreground loop for one machine."""
