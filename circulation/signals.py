"""Signals other packages subscribe to (blinker). They are sent *inside* the transaction of the
circulation change, so a handler's writes commit or roll back with it.

Every signal is sent with the SQLAlchemy session as sender and keyword arguments:

- ``checked_out``   (session, loan=Loan, now=datetime)
- ``renewed``       (session, loan=Loan, now=datetime)
- ``returned``      (session, loan=Loan, now=datetime, on_time=bool)
- ``hold_placed``   (session, hold=Hold, now=datetime)
- ``hold_collected``(session, hold=Hold, loan=Loan, now=datetime)
- ``hold_expired``  (session, hold=Hold, now=datetime)
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

checked_out = _signals.signal("checked-out")
renewed = _signals.signal("renewed")
returned = _signals.signal("returned")
hold_placed = _signals.signal("hold-placed")
hold_collected = _signals.signal("hold-collected")
hold_expired = _signals.signal("hold-expired")
