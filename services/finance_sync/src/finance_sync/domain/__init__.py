"""Pure finance logic: schedule slots, cursor windows, NetSuite rows -> events, payment plans.

No I/O, no clock, no random ids: everything time- or id-dependent is passed in.
"""
