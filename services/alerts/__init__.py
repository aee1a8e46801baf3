"""Alerts, in two sides. The clock side (`clock/`): when each warning, lapse, escalation and
reminder falls due (pure: schedule.py, hours.py), the durable ticker that finds them, raising
alarms routed through the org chart (raise_alarms.py, routing.py, directory.py) and recording
one alert per recipient (record_alerts.py). The delivery side (`delivery/`): digests per
recipient and slot, the deliverer and its channels. Delivery may use the clock side, never the
reverse. Beside them: acknowledge and snooze (actions.py), the alert list (queries.py), and the
service that runs both sides (service.py)."""
