"""`slo exclusions add|list|revoke`: one-off and recurring exclusions recorded in the warehouse's audit log.

Nothing is ever edited: `add` and `revoke` append events and `list` folds the log, so the history of
who excluded what, when and why stays intact for auditors. Errors are one line on stderr: exit 1 when
the exclusion itself is invalid (times, zone, RRULE, unknown names, unknown id), 2 when the command line
is (missing or conflicting options, a malformed --scope).
"""

import argparse
import json
import os
import uuid
from typing import Any

from slo_pipelines.catalog import Catalog, CatalogError, load_catalog
from slo_pipelines.cli.common import (
    EXIT_USAGE,
    UserError,
    add_format_option,
    render_table,
)
from slo_pipelines.engine.exclusions.runtime import (
    DEFAULT_MAX_SHARE,
    ExclusionInputError,
    ExclusionLogError,
    ReviewPolicy,
    RuntimeExclusion,
    catalog_registry,
    catalog_review_periods,
    check_segregation,
    duration_text,
    fold_events,
    parse_add_payload,
)

DEFAULT_WAREHOUSE_URL = "sqlite:///.slo/warehouse.db"
CATEGORIES = ("maintenance", "dependency_outage", "security_patch", "regulatory", "other")
OPTION_OF_FIELD = {
    "scope": "--scope",
    "start": "--start",
    "end": "--end",
    "duration": "--duration",
    "rrule": "--rrule",
    "timeZone": "--time-zone",
    "until": "--until",
    "category": "--category",
    "reason": "--reason",
    "requester": "--requester",
    "approver": "--approver",
    "ticket": "--ticket",
    "reviewer": "--reviewer",
}


def add_exclusions_parser(sub: "argparse._SubParsersAction[Any]") -> argparse.ArgumentParser:
    """Register `exclusions` (with add, list, revoke) on the top-level `slo` sub-command group."""
    p: argparse.ArgumentParser = sub.add_parser(
        "exclusions",
        help="record, list, revoke and approve exclusions (append-only log in the warehouse)",
        description="Runtime exclusions: an append-only event log in the warehouse that every evaluation "
        "honours. Proposed dependency-outage exclusions wait for `slo exclusions approve ID`.",
    )
    actions = p.add_subparsers(
        dest="exclusions_command", required=True, parser_class=type(p), metavar="ACTION"
    )

    add = actions.add_parser("add", help="record a one-off or recurring exclusion")
    add.add_argument("--scope", required=True, help="slo:NAME, service:NAME or all")
    add.add_argument(
        "--start", required=True, help="ISO 8601 with offset or a date; local time (no offset) with --rrule"
    )
    add.add_argument("--end", help="one-off end: ISO 8601 with offset, or a date (midnight UTC)")
    add.add_argument("--duration", help="length such as 2h (recurring: each occurrence's length)")
    add.add_argument("--rrule", help="recurrence such as FREQ=WEEKLY;BYDAY=SU (no DTSTART)")
    add.add_argument("--time-zone", help="IANA zone of a recurring exclusion's local times (default UTC)")
    add.add_argument(
        "--until", help="no occurrence starts at or after this instant (ISO 8601 with offset, or a date)"
    )
    add.add_argument(
        "--category",
        required=True,
        choices=CATEGORIES,
        help="why the time is excluded (reported and audited)",
    )
    add.add_argument("--reason", required=True, help="the reason people will read in reports and audits")
    add.add_argument("--requester", required=True, help="who asks for the exclusion (recorded as its author)")
    add.add_argument("--approver", required=True, help="who approved the exclusion")
    add.add_argument("--ticket", help="link to the change or incident ticket")
    add.add_argument("--id", help="exclusion id (default: a new exc-… id)")
    add.add_argument(
        "--catalog",
        help="catalog directory: checks scope names and sizes the review period "
        "(default $SLO_CATALOG_DIR, else examples/fleet when present)",
    )
    _max_share_option(add)
    _warehouse_option(add)
    add.set_defaults(func=cmd_add)

    show = actions.add_parser("list", help="every exclusion with its state and review flags")
    add_format_option(show, default="table")
    show.add_argument(
        "--state", choices=["active", "revoked", "all"], default="all", help="which exclusions (default all)"
    )
    show.add_argument(
        "--pending",
        action="store_true",
        help="only what waits for a person: flagged exclusions without a second approval, and proposals",
    )
    show.add_argument("--catalog", help="catalog directory: sizes the review period from the SLO windows")
    _max_share_option(show)
    _warehouse_option(show)
    show.set_defaults(func=cmd_list)

    revoke = actions.add_parser("revoke", help="revoke an exclusion (appends a revoke event)")
    revoke.add_argument("exclusion_id", help="the ID `slo exclusions list` shows")
    revoke.add_argument("--reason", required=True, help="why it is revoked (recorded)")
    revoke.add_argument("--by", required=True, help="who revokes it")
    _warehouse_option(revoke)
    revoke.set_defaults(func=cmd_revoke)

    approve = actions.add_parser(
        "approve", help="turn a proposed dependency-outage exclusion into an exclusion"
    )
    approve.add_argument(
        "proposal_id",
        help="the proposal ID: listed under awaiting_approval in the dependency_outage_proposals "
        "asset's metadata in the Dagster UI, and in the warehouse's outage_proposals table",
    )
    approve.add_argument("--approver", required=True, help="who approves the exclusion")
    approve.add_argument(
        "--requester",
        default="dependency-outage-detector",
        help="recorded as the requester (default dependency-outage-detector)",
    )
    approve.add_argument("--ticket", help="link to the change or incident ticket")
    _warehouse_option(approve)
    approve.set_defaults(func=cmd_approve)

    review = actions.add_parser(
        "review", help="second approval (or rejection) of an exclusion flagged for review"
    )
    review.add_argument("exclusion_id", help="the flagged exclusion (see `slo exclusions list --pending`)")
    review.add_argument("--reviewer", required=True, help="who reviews (not the requester nor the approver)")
    review.add_argument(
        "--decision",
        required=True,
        choices=["approve", "reject"],
        help="approve: it applies; reject: it never does",
    )
    review.add_argument("--reason", required=True, help="why (kept in the review and the audit log)")
    _warehouse_option(review)
    review.set_defaults(func=cmd_review)
    return p


def _max_share_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-share",
        type=float,
        default=DEFAULT_MAX_SHARE,
        help="flag for review above this share of the SLO window (default 0.05)",
    )


def _warehouse_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--warehouse-url",
        default=None,
        help=f"SQLAlchemy URL (default $SLO_WAREHOUSE_URL, else {DEFAULT_WAREHOUSE_URL})",
    )


# ---- commands -----------------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace) -> int:
    return _guarded(_add, args)


def cmd_list(args: argparse.Namespace) -> int:
    return _guarded(_list, args)


def cmd_revoke(args: argparse.Namespace) -> int:
    return _guarded(_revoke, args)


def cmd_approve(args: argparse.Namespace) -> int:
    return _guarded(_approve, args)


def cmd_review(args: argparse.Namespace) -> int:
    return _guarded(_review, args)


def _review(args: argparse.Namespace) -> int:
    for key in ("reviewer", "reason"):
        if not getattr(args, key).strip():
            raise UserError(f"--{key}: must not be empty", EXIT_USAGE)
    warehouse = _warehouse(args.warehouse_url)
    target = _by_id(_fold(warehouse, None, DEFAULT_MAX_SHARE), args.exclusion_id)
    if target.revocation is not None:
        raise UserError(f"exclusion {args.exclusion_id!r} was revoked; nothing to review")
    if target.review_state != "pending":
        raise UserError(
            f"exclusion {args.exclusion_id!r} is not waiting for review (review: {target.review_state})"
        )
    _segregate(target.requester, target.approver, args.reviewer)
    scope = _added_scope(warehouse, args.exclusion_id)
    warehouse.append_exclusion_review(args.exclusion_id, args.decision, args.reviewer, args.reason, scope)
    warehouse.append_audit(
        args.reviewer,
        "exclusion.review",
        args.exclusion_id,
        args.reason,
        {"decision": args.decision},
        _team(scope),
    )
    effect = "now applies to budgets" if args.decision == "approve" else "will not apply"
    done = {"approve": "approved", "reject": "rejected"}[args.decision]
    print(f"{done} {args.exclusion_id}: {effect}")
    return 0


def _segregate(requester: str, approver: str, reviewer: str | None = None) -> None:
    try:
        check_segregation(requester, approver, reviewer)
    except ExclusionInputError as exc:
        raise UserError(f"{OPTION_OF_FIELD.get(exc.field, '--' + exc.field)}: {exc.message}") from None


def _added_scope(warehouse: Any, exclusion_id: str) -> dict[str, Any]:
    for event in _events(warehouse):
        if event["exclusion_id"] == exclusion_id and event["action"] == "add":
            return dict((event.get("payload") or {}).get("scope") or {})
    return {}


def _team(scope: dict[str, Any]) -> str | None:
    """The team an exclusion's scope belongs to (None for fleet-wide), from the default catalog."""
    from slo_pipelines.catalog.teams import service_teams, slo_teams

    directory = os.environ.get("SLO_CATALOG_DIR") or (
        "examples/fleet" if os.path.isdir("examples/fleet") else None
    )
    if directory is None or not scope:
        return None
    try:
        catalog = load_catalog(directory)
    except CatalogError:
        return None
    if "slo" in scope:
        return slo_teams(catalog).get(scope["slo"], ("", None))[1]
    return service_teams(catalog).get(scope.get("service", ""))


def _approve(args: argparse.Namespace) -> int:
    warehouse = _warehouse(args.warehouse_url)
    proposals = {p["id"]: p for p in warehouse.read_outage_proposals()}
    proposal = proposals.get(args.proposal_id)
    if proposal is None:
        raise UserError(f"proposal_id: no proposed exclusion with this id (got {args.proposal_id!r})")
    if any(e["exclusion_id"] == args.proposal_id for e in _events(warehouse)):
        raise UserError(f"proposal_id: already approved (got {args.proposal_id!r})")
    payload = {
        "scope": {"slo": proposal["scope"].removeprefix("slo:")},
        "start": proposal["start"],
        "end": proposal["end"],
        "category": "dependency_outage",
        "reason": proposal["reason"],
        "requester": args.requester,
        "approver": args.approver,
        **({"ticket": args.ticket} if args.ticket else {}),
    }
    _segregate(args.requester, args.approver)
    parse_add_payload(args.proposal_id, payload)
    warehouse.append_exclusion_event(args.proposal_id, "add", payload, recorded_by=args.approver)
    warehouse.append_audit(
        args.approver,
        "exclusion.approve",
        args.proposal_id,
        proposal["reason"],
        payload,
        _team(payload["scope"]),
    )
    print(f"approved {args.proposal_id}: {proposal['scope']} {proposal['start']} → {proposal['end']}")
    return 0


def _guarded(run: Any, args: argparse.Namespace) -> int:
    """Exclusion-log and database failures become one-line user errors (catalog and user errors are
    printed by `slo`'s main loop like every other command's)."""
    import sqlalchemy as sa

    try:
        code: int = run(args)
        return code
    except ExclusionLogError as exc:
        raise UserError(str(exc)) from None
    except sa.exc.SQLAlchemyError as exc:
        origin = getattr(exc, "orig", None)
        detail = (str(exc) if origin is None else str(origin)).splitlines()[0]
        raise UserError(f"warehouse: {detail}") from None


def _add(args: argparse.Namespace) -> int:
    payload = _payload(args)
    _segregate(args.requester, args.approver)
    catalog = load_catalog(_catalog_dir(args.catalog))
    _check_share(args.max_share)
    payload["reviewPeriodSeconds"] = catalog_review_periods(catalog)(_scope_of(payload))
    exclusion_id = args.id or f"exc-{uuid.uuid4().hex[:12]}"
    try:
        parse_add_payload(exclusion_id, payload, registry=catalog_registry(catalog))
    except ExclusionInputError as exc:
        raise UserError(f"{OPTION_OF_FIELD.get(exc.field, exc.field)}: {exc.message}") from None
    warehouse = _warehouse(args.warehouse_url)
    if any(e["exclusion_id"] == exclusion_id for e in _events(warehouse)):
        raise UserError(f"--id: an exclusion with this id already exists (got {exclusion_id!r})")
    warehouse.append_exclusion_event(exclusion_id, "add", payload, recorded_by=args.requester)
    warehouse.append_audit(
        args.requester, "exclusion.add", exclusion_id, args.reason, payload, _team(payload["scope"])
    )
    added = _by_id(_fold(warehouse, catalog, args.max_share), exclusion_id)
    review = (
        f"; needs review: {'; '.join(added.review_reasons)}; it changes no budget until a second person "
        f"approves it (slo exclusions review {exclusion_id} --reviewer NAME --decision approve --reason ...)"
        if added.needs_review
        else ""
    )
    print(f"added {exclusion_id} ({added.rule.category}, {_scope(added)}){review}")
    return 0


def _list(args: argparse.Namespace) -> int:
    _check_share(args.max_share)
    catalog = load_catalog(args.catalog) if args.catalog else None
    warehouse = _warehouse(args.warehouse_url)
    exclusions = _fold(warehouse, catalog, args.max_share)
    shown = [x for x in exclusions if args.state == "all" or x.state == args.state]
    proposals: list[dict[str, Any]] = []
    if args.pending:
        shown = [x for x in shown if x.state == "active" and x.review_state == "pending"]
        approved = {x.id for x in exclusions}
        proposals = [p for p in warehouse.read_outage_proposals() if p["id"] not in approved]
    if args.format == "json":
        body: dict[str, Any] = {"exclusions": [x.to_json() for x in shown]}
        if args.pending:
            body["proposals"] = proposals
        print(json.dumps(body, indent=2, default=str))
    else:
        print(_table(shown, args.format))
        if args.pending and args.format == "table":
            print(f"\nproposals awaiting approval: {len(proposals)}")
            for p in proposals:
                print(f"  {p['id']}  {p['scope']}  {p['start']} → {p['end']}  {p['reason']}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    for key in ("reason", "by"):
        if not getattr(args, key).strip():
            raise UserError(f"--{key}: must not be empty", EXIT_USAGE)
    warehouse = _warehouse(args.warehouse_url)
    target = _by_id(_fold(warehouse, None, DEFAULT_MAX_SHARE), args.exclusion_id)
    if target.revocation is not None:
        raise UserError(
            f"exclusion {args.exclusion_id!r} was already revoked by {target.revocation.recorded_by} "
            f"({target.revocation.reason})"
        )
    scope = _added_scope(warehouse, args.exclusion_id)
    warehouse.append_exclusion_event(
        args.exclusion_id, "revoke", {"reason": args.reason, "scope": scope}, recorded_by=args.by
    )
    warehouse.append_audit(args.by, "exclusion.revoke", args.exclusion_id, args.reason, None, _team(scope))
    print(f"revoked {args.exclusion_id}")
    return 0


# ---- helpers ------------------------------------------------------------------------------------


def _payload(args: argparse.Namespace) -> dict[str, Any]:
    """The add payload from the options; option combinations are usage errors, values are checked later."""
    if args.rrule is not None:
        if args.end is not None:
            raise UserError("--end: a recurring exclusion takes --duration, not --end", EXIT_USAGE)
        if args.duration is None:
            raise UserError("--duration: is required with --rrule", EXIT_USAGE)
    else:
        for option, value in (("--time-zone", args.time_zone), ("--until", args.until)):
            if value is not None:
                raise UserError(f"{option}: only applies with --rrule (got {value!r})", EXIT_USAGE)
        if (args.end is None) == (args.duration is None):
            raise UserError("--end: give either --end or --duration for a one-off exclusion", EXIT_USAGE)
    for option, value in (
        ("--reason", args.reason),
        ("--requester", args.requester),
        ("--approver", args.approver),
    ):
        if not value.strip():
            raise UserError(f"{option}: must not be empty", EXIT_USAGE)
    payload: dict[str, Any] = {
        "scope": _parse_scope(args.scope),
        "start": args.start if args.rrule is not None else _date_as_instant(args.start),
        "category": args.category,
        "reason": args.reason,
        "requester": args.requester,
        "approver": args.approver,
    }
    optional = {
        "end": _date_as_instant(args.end),
        "duration": args.duration,
        "rrule": args.rrule,
        "timeZone": args.time_zone,
        "until": _date_as_instant(args.until),
        "ticket": args.ticket,
    }
    payload.update({key: value for key, value in optional.items() if value is not None})
    return payload


def _parse_scope(text: str) -> dict[str, str]:
    if text.strip() == "all":
        return {}
    kind, _, name = text.partition(":")
    if kind not in ("slo", "service") or not name.strip():
        raise UserError(f"--scope: must be slo:NAME, service:NAME or all (got {text!r})", EXIT_USAGE)
    return {kind: name.strip()}


def _scope_of(payload: dict[str, Any]) -> Any:
    from slo_pipelines.catalog.models import Scope

    return Scope(**payload["scope"])


def _check_share(value: float) -> None:
    if not 0 < value <= 1:
        raise UserError(f"--max-share: must be in (0, 1] (got {value!r})", EXIT_USAGE)


def _warehouse(url: str | None) -> Any:
    from slo_pipelines.cli.audit_log import open_warehouse

    return open_warehouse(url)


def _events(warehouse: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = warehouse.read_exclusion_events()
    return events


def _catalog_dir(option: str | None) -> str:
    """Scopes are always checked against a catalog: the option, $SLO_CATALOG_DIR, or the example fleet."""
    chosen = option or os.environ.get("SLO_CATALOG_DIR")
    if chosen:
        return chosen
    if os.path.isdir("examples/fleet"):
        return "examples/fleet"
    raise UserError("--catalog: required to check the scope (or set SLO_CATALOG_DIR)", EXIT_USAGE)


def _fold(warehouse: Any, catalog: Catalog | None, max_share: float) -> list[RuntimeExclusion]:
    return fold_events(
        _events(warehouse),
        reviews=warehouse.read_exclusion_reviews(),
        policy=ReviewPolicy(max_share=max_share),
        period_for=None if catalog is None else catalog_review_periods(catalog),
    )


def _by_id(exclusions: list[RuntimeExclusion], exclusion_id: str) -> RuntimeExclusion:
    for x in exclusions:
        if x.id == exclusion_id:
            return x
    known = ", ".join(x.id for x in exclusions[-5:]) or "none recorded"
    raise UserError(f"no exclusion with id {exclusion_id!r} (latest: {known})")


def _scope(x: RuntimeExclusion) -> str:
    return x.to_json()["scope"]


def _when(x: RuntimeExclusion) -> str:
    rule = x.rule
    data = x.to_json()
    if rule.is_recurring:
        until = f" until {data['until']}" if data["until"] else ""
        each = duration_text(rule.duration_seconds or 0)
        return f"{rule.rrule} from {rule.start_local} {rule.time_zone}, {each} each{until}"
    return f"{data['start']} → {data['end']}"


def _table(exclusions: list[RuntimeExclusion], fmt: str) -> str:
    headers = [
        "ID",
        "STATE",
        "CATEGORY",
        "SCOPE",
        "WHEN",
        "FLAGS",
        "REVIEW",
        "REQUESTER",
        "APPROVER",
        "REASON",
    ]
    rows = []
    for x in exclusions:
        flags = ",".join(
            name for name, on in (("retroactive", x.retroactive), ("needs_review", x.needs_review)) if on
        )
        rows.append(
            [
                x.id,
                x.state,
                x.rule.category,
                _scope(x),
                _when(x),
                flags or "-",
                x.review_state,
                x.requester,
                x.approver,
                x.rule.reason,
            ]
        )
    return render_table(rows, headers, fmt)


def _date_as_instant(text: str | None) -> str | None:
    """A bare date on the command line means midnight UTC, as for every other instant of `slo`."""
    if text is None:
        return None
    from slo_pipelines.engine.common.timeutil import TimeParseError, format_instant, parse_instant_or_date

    stripped = text.strip()
    if len(stripped) == 10 and stripped[4] == "-" and stripped[7] == "-":
        try:
            return format_instant(parse_instant_or_date(stripped))
        except TimeParseError:
            return text  # the exclusion's own check names the field and value
    return text
