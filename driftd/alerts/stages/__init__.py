"""The delivery path as explicit stages, in the order a notification meets them.

Like Alertmanager's notify pipeline, each stage does one thing and is tested alone:

1. :mod:`.silence`  drop alerts an active silence matches (maintenance, known incidents);
2. :mod:`.inhibit`  drop firing alerts another firing alert explains (bad data → drift);
3. :mod:`.dedup`    per receiver, against the notification log: notify only when
                    something changed for it (or ``repeat_interval`` passed);
4. the durable outbox (alerts/outbox.py) between deciding and sending;
5. :mod:`.retry`    send through the receiver; back off and retry what may succeed
                    later, honour Retry-After; give up loudly and report it elsewhere.

Grouping and pacing (group_wait, group_interval) happen before, in the manager
(alerts/manager.py); stages 1 to 3 run when a group is flushed, stage 5 in the
delivery worker's thread (alerts/delivery.py).
"""
