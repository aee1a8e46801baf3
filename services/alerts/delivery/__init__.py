"""The delivery side of alerts: digests per recipient and slot, the deliverer, its
channels (email, webhook) and their rendering. It may use the clock side, never the reverse."""
