"""The per-supplier job runner (om_platform.core.supplier_jobs) against the shared fakes: pure unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from fakes import FakeIntegrations, FakeLeases
from om_contracts import IntegrationSettings, KeyRing
from om_platform.core.connections import AlwaysConnected, ConnectionDown
from om_platform.core.ports import LeaseCheck, LeaseLost
from om_platform.core.supplier_jobs import EverySupplier, JobOutcome, SupplierJob, SupplierJobs

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
RING = KeyRing([KeyRing.generate_key()])
SEALED = {k: RING.seal("x").token for k in ("client_id", "client_secret", "token_id", "token_secret")}


def integration() -> IntegrationSettings:
    return IntegrationSettings.model_validate(
        {"account_id": "1234567", "credentials": SEALED, "sync_type": "orders"}
    )


def suppliers(*ids: str) -> FakeIntegrations:
    return FakeIntegrations({supplier_id: integration() for supplier_id in ids})


@dataclass
class Breaker(AlwaysConnected):
    open: set[str] = field(default_factory=set)

    def is_open(self, supplier_id: str, _credentials: str | None = None) -> bool:
        return supplier_id in self.open


@dataclass
class Recorder:
    """The job (records what ran under which lease) and the run log (every outcome)."""

    ran: list[str] = field(default_factory=list)
    outcomes: list[JobOutcome[str]] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    fail: dict[str, BaseException] = field(default_factory=dict)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    in_flight: int = 0
    peak: int = 0
    leases: FakeLeases | None = None
    began: asyncio.Event = field(default_factory=asyncio.Event)
    logged: asyncio.Queue[JobOutcome[str]] = field(default_factory=asyncio.Queue)

    async def run(self, job: SupplierJob, lease: LeaseCheck) -> str:
        lease.check()
        if self.leases is not None:
            assert self.leases.held  # the job runs while its lease is held
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.began.set()
        try:
            if job.key in self.gates:
                await self.gates[job.key].wait()
            if job.key in self.fail:
                raise self.fail[job.key]
            self.ran.append(job.key)
            return f"done {job.key}"
        finally:
            self.in_flight -= 1

    async def finished(self, outcome: JobOutcome[str]) -> None:
        self.outcomes.append(outcome)
        self.logged.put_nowait(outcome)

    async def on_held(self, job: SupplierJob) -> None:
        self.held.append(job.key)

    def states(self) -> dict[str, str]:
        return {o.job.key: o.state for o in self.outcomes}


@dataclass
class Features:
    """A due rule with several jobs per supplier (like finance's features); `done` ones are not due."""

    parts: tuple[str, ...] = ("a", "b")
    done: set[str] = field(default_factory=set)
    ran_elsewhere: set[str] = field(default_factory=set)

    async def due(
        self, listed: Sequence[tuple[str, IntegrationSettings]], now: datetime
    ) -> list[SupplierJob]:
        jobs = [SupplierJob(s, i, part=p, at=now) for s, i in listed for p in self.parts]
        return [job for job in jobs if job.key not in self.done]

    async def still_due(self, job: SupplierJob, now: datetime) -> bool:
        return job.key not in self.ran_elsewhere


def runner(recorder: Recorder, **options: Any) -> SupplierJobs[str]:
    defaults: dict[str, Any] = {
        "integrations": suppliers("s1", "s2", "s3"),
        "leases": recorder.leases or FakeLeases(),
        "due": EverySupplier(),
        "run": recorder.run,
        "clock": lambda: NOW,
        "on_finished": recorder.finished,
        "on_held": recorder.on_held,
    }
    return SupplierJobs("catalog", **{**defaults, **options})


async def test_a_round_runs_every_due_job_once_under_its_own_lease_and_logs_each_outcome() -> None:
    leases = FakeLeases()
    recorder = Recorder(leases=leases)
    jobs = runner(recorder, leases=leases, due=Features())
    outcomes = await jobs.round()
    keys = [f"{p}:{s}" for s in ("s1", "s2", "s3") for p in ("a", "b")]
    assert [o.job.key for o in outcomes] == keys
    assert all(o.state == "ran" and o.result == f"done {o.job.key}" for o in outcomes)
    assert all(o.job.at == NOW for o in outcomes)
    assert sorted(leases.taken) == sorted(f"catalog:{key}" for key in keys)
    assert sorted(recorder.ran) == sorted(keys)
    assert recorder.outcomes == outcomes
    assert leases.held == {}  # every lease is given back


async def test_a_job_held_by_another_replica_or_run_meanwhile_is_skipped() -> None:
    recorder = Recorder()
    rule = Features(parts=("a",), ran_elsewhere={"a:s2"})
    jobs = runner(recorder, due=rule, leases=FakeLeases(busy={"catalog:a:s1"}))
    await jobs.round()
    assert recorder.ran == ["a:s3"]
    assert recorder.states() == {"a:s1": "busy", "a:s2": "not_due", "a:s3": "ran"}


async def test_the_due_rule_decides_what_runs_and_every_supplier_filters_on_its_settings() -> None:
    recorder = Recorder()
    await runner(recorder, due=Features(parts=("a",), done={"a:s1", "a:s3"})).round()
    assert recorder.ran == ["a:s2"]
    recorder = Recorder()
    await runner(recorder, due=EverySupplier(lambda settings: False)).round()
    assert recorder.ran == []
    assert await runner(recorder, integrations=FakeIntegrations()).tick() == []


async def test_a_supplier_whose_connection_is_down_is_held_said_once_and_runs_once_it_is_back() -> None:
    recorder = Recorder()
    breaker = Breaker({"s2"})
    jobs = runner(recorder, connections=breaker)
    await jobs.round()
    await jobs.round()
    assert sorted(recorder.ran) == ["s1", "s1", "s3", "s3"]
    assert recorder.held == ["s2"]  # once per stretch, not once per tick
    breaker.open.clear()
    await jobs.round()
    assert recorder.ran.count("s2") == 1
    breaker.open.add("s2")
    await jobs.round()
    assert recorder.held == ["s2", "s2"]  # a new stretch is said again


async def test_one_failing_job_never_stops_the_others_and_each_failure_has_its_state() -> None:
    recorder = Recorder(
        fail={
            "s1": RuntimeError("boom"),
            "s2": ConnectionDown("s2", "unreachable", None),
            "s3": LeaseLost("catalog:s3"),
        }
    )
    jobs = runner(recorder, integrations=suppliers("s1", "s2", "s3", "s4"))
    outcomes = await jobs.round()
    assert recorder.states() == {"s1": "failed", "s2": "held", "s3": "lost", "s4": "ran"}
    assert isinstance(outcomes[0].error, RuntimeError)
    assert recorder.ran == ["s4"]


async def test_at_most_concurrency_jobs_run_at_once_and_a_running_job_is_not_started_twice() -> None:
    ids = [f"s{i}" for i in range(6)]
    recorder = Recorder(gates={supplier_id: asyncio.Event() for supplier_id in ids})
    jobs = runner(recorder, integrations=suppliers(*ids), concurrency=2)
    started = await jobs.tick()
    assert [job.key for job in started] == ids
    assert await jobs.tick() == []  # all still running (or queued) here
    for gate in recorder.gates.values():
        gate.set()
    await asyncio.wait_for(jobs.wait_idle(), 30)
    assert sorted(recorder.ran) == ids
    assert recorder.peak <= 2
    assert [job.key for job in await jobs.tick()] == ids  # finished: due again by this rule


async def test_run_now_ignores_the_due_rule_but_not_the_lease_and_raises_a_failure() -> None:
    recorder = Recorder(fail={"a:s2": RuntimeError("boom")})
    leases = FakeLeases(busy={"catalog:a:s3"})
    jobs = runner(recorder, due=Features(parts=("a",), ran_elsewhere={"a:s1"}), leases=leases)
    ran = await jobs.run_now(SupplierJob("s1", integration(), part="a"))
    assert (ran.state, ran.result) == ("ran", "done a:s1")
    with pytest.raises(RuntimeError, match="boom"):
        await jobs.run_now(SupplierJob("s2", integration(), part="a"))
    busy = await jobs.run_now(SupplierJob("s3", integration(), part="a"))
    assert busy.state == "busy"
    assert recorder.states() == {"a:s1": "ran", "a:s2": "failed", "a:s3": "busy"}


async def test_the_loop_ticks_survives_a_failing_tick_wakes_on_demand_and_cancels_its_jobs() -> None:
    ticks = asyncio.Queue[None]()

    class Flaky:
        calls = 0

        async def due(
            self, listed: Sequence[tuple[str, IntegrationSettings]], now: datetime
        ) -> list[SupplierJob]:
            self.calls += 1
            ticks.put_nowait(None)
            if self.calls == 1:
                raise ConnectionError("mongodb blip")
            return [SupplierJob(s, i) for s, i in listed if s == "s1"]

        async def still_due(self, job: SupplierJob, now: datetime) -> bool:
            return True

    recorder = Recorder(gates={"s1": asyncio.Event()})
    jobs = runner(recorder, due=Flaky(), tick_s=3600.0)  # only a wake-up makes a second tick
    loop = asyncio.create_task(jobs.loop())
    await asyncio.wait_for(ticks.get(), 30)
    jobs.wake()
    await asyncio.wait_for(ticks.get(), 30)  # the failed tick did not end the loop
    await asyncio.wait_for(recorder.began.wait(), 30)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    await asyncio.wait_for(jobs.wait_idle(), 30)  # the running job was cancelled with the loop
    assert recorder.ran == []


class Counting:
    """Every supplier, every tick; each look at the schedule is counted and signalled."""

    def __init__(self) -> None:
        self.looks = 0
        self.looked = asyncio.Queue[int]()

    async def due(
        self, listed: Sequence[tuple[str, IntegrationSettings]], now: datetime
    ) -> list[SupplierJob]:
        self.looks += 1
        self.looked.put_nowait(self.looks)
        return list(await EverySupplier().due(listed, now))

    async def still_due(self, job: SupplierJob, now: datetime) -> bool:
        return True


@pytest.mark.parametrize("rounds", [True, False])
async def test_rounds_wait_for_their_jobs_before_the_next_tick(rounds: bool) -> None:
    recorder = Recorder(gates={"s1": asyncio.Event()})
    rule = Counting()
    jobs = runner(recorder, integrations=suppliers("s1"), due=rule, rounds=rounds, tick_s=0.01)
    loop = asyncio.create_task(jobs.loop())
    await asyncio.wait_for(recorder.began.wait(), 30)
    if rounds:
        await asyncio.sleep(0.2)  # twenty tick periods while the job runs
        assert rule.looks == 1  # the round still runs: no other tick
    else:
        while await asyncio.wait_for(rule.looked.get(), 30) < 3:
            pass  # ticks go on meanwhile ...
        assert recorder.in_flight == 1  # ... and do not start the running job twice
    recorder.gates["s1"].set()
    for _ in range(2):  # the blocked run, then the next one
        await asyncio.wait_for(recorder.logged.get(), 30)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert all(o.state == "ran" for o in recorder.outcomes)


async def test_each_round_is_reported_and_hold_is_the_jobs_lease_for_other_on_demand_work() -> None:
    recorder = Recorder()
    rounds = asyncio.Queue[tuple[list[str], float]]()

    async def on_round(outcomes: Sequence[JobOutcome[str]], seconds: float) -> None:
        rounds.put_nowait(([o.job.key for o in outcomes], seconds))

    leases = FakeLeases()
    jobs = runner(recorder, leases=leases, rounds=True, on_round=on_round, tick_s=3600.0)
    loop = asyncio.create_task(jobs.loop())
    keys, seconds = await asyncio.wait_for(rounds.get(), 30)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert keys == ["s1", "s2", "s3"]
    assert seconds >= 0
    job = SupplierJob("s1", integration(), part="now")
    async with jobs.hold(job) as lease:
        assert lease is not None
        assert leases.taken[-1] == "catalog:now:s1"
        async with jobs.hold(job) as again:
            assert again is None


@pytest.mark.integration
async def test_two_replicas_on_real_leases_run_each_suppliers_job_once(mongo_db: Any) -> None:
    from om_platform.adapters.mongo.leases import LeaseStore

    ids = [f"s{i}" for i in range(8)]
    recorder = Recorder()

    def replica(owner: str) -> SupplierJobs[str]:
        return runner(
            recorder,
            integrations=suppliers(*ids),
            leases=LeaseStore(mongo_db["leases"], owner=owner),
            due=Features(parts=("a",), ran_elsewhere=set()),
            concurrency=len(ids),  # every job tries its lease at once in both replicas
        )

    one, two = replica("r1"), replica("r2")
    gate = asyncio.Event()
    recorder.gates = {f"a:{s}": gate for s in ids}  # every job runs until both replicas looked
    first = asyncio.create_task(one.round())
    second = asyncio.create_task(two.round())
    while len(recorder.outcomes) < len(ids):  # the busy ones are logged while the others run
        await asyncio.wait_for(recorder.logged.get(), 30)
    gate.set()
    await asyncio.gather(first, second)
    assert sorted(recorder.ran) == sorted(f"a:{s}" for s in ids)
    states = [o.state for o in recorder.outcomes]
    assert states.count("ran") == len(ids)
    assert states.count("busy") == len(ids)
