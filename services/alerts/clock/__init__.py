"""The clock side of alerts: when each warning, lapse, escalation and reminder falls due (pure,
in schedule.py and hours.py), the durable clock that finds them in the database (ticker.py,
store.py), the alarms it raises (raise_alarms.py, routed by routing.py over directory.py) and
the alerts recorded from them (record_alerts.py)."""
