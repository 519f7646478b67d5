"""Citizens' notifications: a short Vietnamese message with the tracking link, by Zalo ZNS with
SMS as the fallback, sent through the transactional outbox (docs/notifications.md).

- `services`: which events notify (their outbox row, written with the event), the day-before-
  the-hold-ends job, and sending one claimed message through the gateways.
- `texts`: the messages' words (translation catalogue, rendered in Vietnamese).
- `gateways`: log (default), Zalo ZNS and an HTTP SMS provider behind one `send(message)`.
The worker is the outbox's (backend/outbox/tasks.py), which also runs the hourly job that
finds holds ending on the next working day.
"""
