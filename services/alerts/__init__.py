"""Alerts: who hears about an alarm (routing), recording each alert exactly once, digests per
recipient, the channels (email, webhook, tracking stream), acknowledgement and snooze."""
