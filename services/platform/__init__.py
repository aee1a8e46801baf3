"""What every service shares: settings, the runtime (the one bootstrap), the clock,
logs, mail, the tracking outbox, the audit trail writer and the Redis plumbing."""
