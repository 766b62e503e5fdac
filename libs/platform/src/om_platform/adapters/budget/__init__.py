"""``MongoBudget``: each process holds a leased share of a NetSuite account's limit, kept in MongoDB.

NetSuite's concurrency limit is per account, whoever calls (every service, every replica). Each
process holds a granted integer **share** of every account it is using and spends it through a
local :class:`~om_netsuite.FifoGate`; MongoDB is only touched to obtain, renew, grow, shrink or
return a share. In steady state a NetSuite request costs no MongoDB operation at all. This is the
design of lease-based global rate limiters such as Doorman: clients lease capacity, shares are
recomputed by a fair-share rule at every renewal, and a crashed client's lease simply expires.

Storage (queried by ``_id`` only)
---------------------------------
* ``<collection>``: one document per account, ``{_id: <account>, epoch, version, holders: {<holder
  id>: {share, demand, limit, turn, stamp, name, expires}}, restored?}``. Written only when an
  allocation changes. Every change is a compare-and-set: read, compute (:mod:`.allocation`), write
  filtered on ``{_id, epoch, version}``, retry on conflict. A holder writes its own entry (and
  drops entries that no longer count). A document is created by an upsert filtered on a fresh
  random ``epoch`` (a concurrent creation fails with a duplicate key and is retried) and deleted,
  version-guarded, when its last holder leaves. ``expires`` in an entry is for operators only.
* ``<collection>_holders``: one **heartbeat** per process, ``{_id: <holder id>, expires, drain,
  name, wanted, expire_at}``, renewed every ``renew`` with one ``findAndModify`` whatever the number
  of accounts held: liveness costs O(1) per process. ``wanted`` lists the accounts other processes
  are starved on (they add to it; the beat reads and clears it atomically). ``expire_at`` (TTL)
  removes it once nothing it held can count.

Writes use ``w: majority`` and reads a majority read concern: a fail-over cannot roll back an
acknowledged grow. Every command runs under ``pymongo.timeout(margin)``: a renewal never blocks
longer than the margin.

Time: the server's clock
------------------------
Expiry is judged in MongoDB's time: reads return ``$$NOW`` next to the documents and the heartbeat
sets ``expires = $$NOW + lease`` in an update pipeline. Client clocks may be off by any amount. A
process stops **starting** requests ``margin`` before its heartbeat ends, measured on its monotonic
clock from the moment the heartbeat was *sent*. ``margin`` covers a step of the server clock (or a
fail-over to a primary whose clock differs), event-loop stalls, and the time to the wire.

The invariant: the shares that count sum to at most the limit, and cover every request that may be at NetSuite
-------------------------------------------------------------------------------------------------------------
* Who counts: an entry counts while its holder's heartbeat is live, then for the holder's ``drain``
  (``attempt_deadline``: the client's hard per-attempt deadline), because a request it started
  before its heartbeat lapsed may still run at NetSuite until then. Only then is it dropped.
* A grant only takes capacity that no counted entry covers, computed on the exact state it
  replaces (compare-and-set), and a holder never writes less than it has in flight — where "in
  flight" includes attempts the client stopped waiting for (timeout, cancellation), whose slot the
  client keeps until their attempt deadline.
* SIGKILL / SIGSTOP / a stalled loop: the holder's shares count for ``lease + attempt_deadline``; a
  holder that comes back finds its heartbeat lapsed, starts nothing until it has re-read each
  account (``suspect``), and one whose entry was dropped claims what it still has in flight.
* MongoDB unreachable: nobody can grant; a holder that cannot beat stops starting requests
  ``margin`` before its heartbeat ends, so its waiters wait (at most ``max_wait`` ->
  :class:`~om_netsuite.BudgetTimeout`, transient).
* Limit lowered at run time: grants use the lowest limit among counted holders; a process that sees
  a lower limit in ``slot()`` clamps locally at once and writes it at once. Others shrink when they
  re-plan (they are told, or it is contended) and keep covering their requests in flight.
* Documents lost (a restore, an in-memory restart): each holder finds its heartbeat gone at its
  next beat (``before`` 0) and marks every account suspect; an account document lost alone is found
  by the audit (50 held accounts checked per renewal: within ``ceil(held / 50)`` renewals). The former
  holder that re-creates the document stamps ``restored`` (+30 s): until then former holders come
  back with at most what they held and nobody grows. While the copy of the document a holder keeps
  (``known``) records an open window, its writes read the document first and are never computed
  from the copy (they were: a re-creator grew to the whole limit from its copy while the other former
  holder, not aware of the loss yet, still had requests in flight, then claimed them: 6 in flight
  against 5). A holder that claims more in flight than it may hold starts nothing until it has
  drained below its grant. Not covered: a process that never held the
  account creating it first, within one renewal of the loss. NetSuite answers such an excess with
  429, which the client's retry policy absorbs.

Fairness and responsiveness
---------------------------
* The fair target is max-min by demand (:func:`~.allocation.water_fill`); with more hungry
  holders than units, a round robin with a proven bound (:mod:`.allocation`).
* A process whose waiting requests want more than it holds writes its demand and tells the
  holders (``wanted``, one update per starvation episode); they re-plan that account at their next
  heartbeat and every renewal while it stays contended. A holder above its target lowers its local
  limit at once and writes the lower share when its requests in flight fit ("early return").
* A starved process polls every ``poll`` (jittered); one at its fair share with requests waiting
  reads every ``renew / 4``. Bound: a starved process gets its fair share within about ``renew``
  + the longest request in flight + ``poll`` + a few MongoDB round trips.
* An idle share nobody wants is kept for ``keep_idle`` after its last request (1 h by default):
  keeping costs nothing per renewal. A newcomer wanting it tells the idle holder, which leaves at
  its next heartbeat.
* A first contact with an account creates its document without reading it (one command); when it
  exists already, that insert fails on the ``_id`` and the holder reads it and retries. A holder
  that grows computes its write from the document as it last wrote it (filtered on that version)
  unless the account is contended (its rotation must be judged at the current server time).
* Cost: one ``findAndModify`` per ``renew`` per process, plus one audit read (and a read of the
  holders' heartbeats when others hold shares) per renewal, plus reads and writes where
  allocations change; nothing per request.

Lifecycle
---------
:meth:`MongoBudget.start` starts the renewal loop (the service runtime does so in its lifespan and
supervises the task: if it dies, liveness fails); ``slot()`` starts it on first need if nobody did.
:meth:`MongoBudget.aclose` stops it and returns every share (run it after requests have drained).

Modules
-------
:mod:`.allocation` the pure fair-share rules; :mod:`.timing` the clocks; :mod:`.state` what this
process knows; :mod:`.documents` computing and adopting a write (no I/O); :mod:`.store` every
MongoDB command; :mod:`.heartbeats` liveness; :mod:`.renewal` the compare-and-set and the renewal;
:mod:`.budget` the :class:`MongoBudget` itself (hot path, background task, lifecycle).
"""

from .budget import MongoBudget
from .timing import LeaseTiming

__all__ = ["LeaseTiming", "MongoBudget"]
