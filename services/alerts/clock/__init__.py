"""The lapse clock: when each warning, lapse, escalation and reminder falls due (pure, in
schedule.py and hours.py), and the durable clock that finds them in the database (ticker.py)."""
