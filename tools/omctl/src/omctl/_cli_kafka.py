"""Commands that act on Kafka: `replay` and `dlq ...`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from omctl import _output
from omctl._common import JsonOpt, SupplierOpt, WideOpt, fail, run, settings, utc_time
from omctl._names import SERVICES
from omctl._output import Col, emit_json, table

if TYPE_CHECKING:
    from omctl import dlq as dlq_ops
    from omctl._settings import OpsSettings
    from omctl.replay import ReplayPlan

dlq_app = typer.Typer(
    rich_markup_mode=None,
    help="Dead letters: list, show, redrive to the source topic, purge.",
    no_args_is_help=True,
)


GroupOpt = Annotated[
    str | None,
    typer.Option("--group", "-g", help="Consumer group, e.g. om.order_sync.ordermentum.orders.v1."),
]
ServiceOpt = Annotated[
    str | None,
    typer.Option(
        "--service",
        help="Instead of --group: the service (order_sync, ...) whose group reading the topic is used.",
    ),
]
AtOpt = Annotated[
    str | None, typer.Option("--at", help="UTC time to go back to (RFC 3339 with offset, e.g. ...Z).")
]
OffsetOpt = Annotated[int | None, typer.Option("--offset", help="Offset to go back to, per partition.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Only show what would be re-read.")]
ViaReplayTopicOpt = Annotated[
    bool,
    typer.Option(
        "--via-replay-topic",
        help="Re-publish the window to the same topic (original keys) instead of moving the "
        "group's offsets; works while the service runs.",
    ),
]
ProbeMembersOpt = Annotated[
    bool,
    typer.Option(
        "--probe-members",
        help="When the broker still lists members that may have left (embedded tansu), join the "
        "group to check that none is alive instead of refusing.",
    ),
]


def replay(
    topic: Annotated[str, typer.Argument(help="Topic to read again, e.g. ordermentum.orders.v1.")],
    group: GroupOpt = None,
    service: ServiceOpt = None,
    at: AtOpt = None,
    offset: OffsetOpt = None,
    supplier: SupplierOpt = None,
    dry_run: DryRunOpt = False,
    via_replay_topic: ViaReplayTopicOpt = False,
    probe_members: ProbeMembersOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Make a consumer group read a topic again from a UTC time or an offset.

    The dry run shows, per partition, the committed offset, the target and how many records will
    be re-read. Resetting offsets is refused while the group has active members (stop the
    service first, or use --via-replay-topic). Safe because every handler is idempotent.
    """
    from omctl import replay as replay_ops

    ops = settings()
    when = utc_time(at, "--at")
    group = _replay_group(ops, topic, group, service)
    try:
        plan = run(
            replay_ops.plan(ops, topic=topic, group=group, at=when, offset=offset, supplier_id=supplier),
            passthrough=(replay_ops.ReplayRefused,),
        )
    except replay_ops.ReplayRefused as exc:
        fail(str(exc))
    result: dict[str, object] = {"plan": plan.as_dict(), "dry_run": dry_run}
    if not dry_run:
        try:
            if via_replay_topic:
                result["republished"] = run(
                    replay_ops.republish(ops, plan, progress=not as_json),
                    passthrough=(replay_ops.ReplayRefused,),
                )
            else:
                run(
                    replay_ops.reset(ops, plan, probe_members=probe_members),
                    passthrough=(replay_ops.ReplayRefused,),
                )
                result["reset"] = True
        except replay_ops.ReplayRefused as exc:
            fail(str(exc), code=2)
    if as_json:
        emit_json(result)
        return
    _print_replay(topic, group, plan, result, per_partition=supplier is not None and not via_replay_topic)


def _replay_group(ops: OpsSettings, topic: str, group: str | None, service: str | None) -> str:
    """`--group`, or the one group of `--service` that reads `topic`."""
    from omctl import replay as replay_ops

    if (group is None) == (service is None):
        fail("give exactly one of --group or --service")
    if group is not None:
        return group
    assert service is not None
    if service not in SERVICES:
        fail(f"--service must be one of {', '.join(SERVICES)}")
    candidates = run(replay_ops.groups_reading(ops, topic, ops.consumer_group(service)))
    if len(candidates) != 1:
        fail(
            f"{service} has {len(candidates)} group(s) reading {topic}: {', '.join(candidates) or 'none'}; use --group"
        )
    return candidates[0]


def _print_replay(
    topic: str, group: str, plan: ReplayPlan, result: dict[str, object], *, per_partition: bool
) -> None:
    table(
        f"replay {topic} for {group} ({plan.group_state}, {plan.members} member(s))",
        ["partition", "committed", "target", "log end", "re-read"],
        [(p.partition, p.committed, p.target, p.log_end, p.rereads) for p in plan.partitions],
    )
    if per_partition:
        _output.console.print(
            "Other suppliers on the same partition are re-read too (handlers are idempotent)."
        )
    verb = "would re-read" if result["dry_run"] else "will re-read"
    _output.console.print(f"{verb} {plan.total} record(s)")
    if "republished" in result:
        _output.console.print(f"re-published {result['republished']} record(s) to {topic}")
    elif result.get("reset"):
        _output.console.print(f"offsets of {group} reset; start the service to re-read")


TopicsOpt = Annotated[
    list[str] | None,
    typer.Option("--topic", "-t", help="Dead-letter topic(s); default: every <inbound topic>.dlq."),
]
CodeOpt = Annotated[str | None, typer.Option("--code", help="Only this x-error-code, e.g. UNMAPPED_PRODUCT.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Failed at or after this UTC time.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Failed before this UTC time.")]
AllOpt = Annotated[bool, typer.Option("--all", help="Include letters already redriven or purged.")]


def _selection(
    supplier: str | None, code: str | None, since: str | None, until: str | None, include: bool
) -> dlq_ops.Selection:
    from omctl import dlq as dlq_ops

    return dlq_ops.Selection(
        supplier_id=supplier,
        code=code,
        since=utc_time(since, "--since"),
        until=utc_time(until, "--until"),
        include_resolved=include,
    )


def _scan(topics: list[str] | None, selection: dlq_ops.Selection) -> list[dlq_ops.DeadLetter]:
    from omctl import dlq as dlq_ops

    ops = settings()
    return run(dlq_ops.scan(ops, topics or dlq_ops.default_dlq_topics(), selection, named=bool(topics)))


def _print_letters(title: str, letters: list[dlq_ops.DeadLetter], wide: bool = False) -> None:
    rows = []
    for letter in letters:
        s = letter.summary()
        rows.append((s["ref"], s["supplier_id"], s["code"], s["message"], s["event_type"], s["failed_at"]))
    columns = [
        Col("ref"),
        Col("supplier"),
        Col("code"),
        Col("reason"),
        Col("event", optional=True),
        Col("failed at", optional=True),
    ]
    table(title, columns, rows, wide=wide)


@dlq_app.command("list")
def dlq_list(
    topic: TopicsOpt = None,
    supplier: SupplierOpt = None,
    code: CodeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    include_all: AllOpt = False,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """List dead letters (ref, supplier, error code, reason, event, time)."""
    letters = _scan(topic, _selection(supplier, code, since, until, include_all))
    if as_json:
        emit_json({"count": len(letters), "dead_letters": [x.summary() for x in letters]})
    else:
        _print_letters(f"{len(letters)} dead letter(s)", letters, wide)


@dlq_app.command("show")
def dlq_show(
    ref: Annotated[str, typer.Argument(help="<dlq topic>/<partition>/<offset>, as printed by list.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one dead letter: payload, headers and the reason it failed."""
    from omctl import dlq as dlq_ops

    letter = run(dlq_ops.fetch(settings(), ref))  # a bad ref is one line (LookupError, see _common)
    detail = letter.detail()
    if as_json:
        emit_json(detail)
        return
    for name in ("ref", "supplier_id", "event_type", "event_id", "code", "message", "failed_at", "attempts"):
        _output.console.print(f"[bold]{name}[/bold]: {detail[name]}")
    _output.console.print("[bold]headers[/bold]:", detail["headers"])
    _output.console.print_json(json.dumps(detail["payload"], default=str))


@dlq_app.command("redrive")
def dlq_redrive(
    topic: TopicsOpt = None,
    supplier: SupplierOpt = None,
    code: CodeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be redriven.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send the selected dead letters back to their source topic with their original key."""
    from omctl import dlq as dlq_ops

    letters = _scan(topic, _selection(supplier, code, since, until, False))
    sent = 0 if dry_run else run(dlq_ops.redrive(settings(), letters, progress=not as_json))
    if as_json:
        emit_json(
            {
                "dry_run": dry_run,
                "selected": len(letters),
                "redriven": sent,
                "dead_letters": [x.summary() for x in letters],
            }
        )
    else:
        _print_letters(f"{len(letters)} dead letter(s) selected", letters)
        _output.console.print("dry run: nothing sent" if dry_run else f"redriven {sent} dead letter(s)")
    if not dry_run and sent < len(letters):
        fail(
            f"{len(letters) - sent} of {len(letters)} dead letter(s) not redriven (named above); they stay listed"
        )


@dlq_app.command("purge")
def dlq_purge(
    topic: TopicsOpt = None,
    supplier: SupplierOpt = None,
    code: CodeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Mark the selected dead letters as purged (they stop showing in list and redrive)."""
    from omctl import dlq as dlq_ops

    letters = _scan(topic, _selection(supplier, code, since, until, False))
    if not letters:
        purged = 0
    elif not yes and not typer.confirm(f"Purge {len(letters)} dead letter(s)? They will not be redriven."):
        fail("purge cancelled", code=1)
    else:
        purged = run(dlq_ops.purge(settings(), letters))
    if as_json:
        emit_json({"purged": purged})
    else:
        _output.console.print(f"purged {purged} dead letter(s)")
