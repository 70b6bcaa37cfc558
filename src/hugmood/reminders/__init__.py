"""Reminders and mail: the scheduler service, Web Push (VAPID) and SMTP delivery."""
