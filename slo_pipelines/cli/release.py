"""Release management commands (DESIGN.md §11): `slo gate` (and `--flags`), `slo releases plan`,
`slo canary`, `slo rollback-check` and `slo cab assess`.

These commands answer a pipeline, so their exit statuses are decisions: `slo gate` exits 0 allow,
1 deny, 2 error; `slo releases plan` 0 when every release proceeds, 1 when one is paused;
`slo canary` 0 pass, 1 fail, 3 inconclusive; `slo rollback-check` 0 keep, 1 rollback, 3 inconclusive.
Every error here (bad arguments, unknown service, unreadable or invalid files, catalog problems, an
unreachable warehouse) is one `slo: error:` line and exit status 2, never 1, so a broken input can
never read as a decision.
"""

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from slo_pipelines.catalog import CatalogError, load_catalog
from slo_pipelines.catalog.models import Catalog
from slo_pipelines.cli.common import (
    EXIT_USAGE,
    INSTANT_HELP,
    UserError,
    add_format_option,
    instant_argument,
    read_checked_samples,
    render_table,
)
from slo_pipelines.engine.release.releases import CHANGE_TYPES
from slo_pipelines.engine.release.state import ObjectiveState

EXIT_INCONCLUSIVE = 3
SAMPLES_HELP = "CSV, JSONL or Parquet file: slo,timestamp,good,total (optional bucket_seconds, value)"


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser(
        "gate",
        help="allow or deny a deploy from the error budget (exit 0 allow, 1 deny, 2 error)",
        description=(
            "Allow or deny a change to a service from its SLOs' budgets, the BudgetPolicy in force, "
            "firing page alerts and releases already scheduled. Exit 0 allow, 1 deny, 2 error. "
            "With --flags: the feature-flag rollout cap per service (exit 0)."
        ),
    )
    _catalog_and_budget_source(p)
    p.add_argument("--service", metavar="S", help="the service the change deploys (required without --flags)")
    p.add_argument(
        "--change-type",
        choices=CHANGE_TYPES,
        default="feature",
        help="feature (default), reliability or security; a freeze rule's exceptFor exempts the latter two",
    )
    p.add_argument("--releases", metavar="FILE", help="Release documents (YAML or JSON) already scheduled")
    p.add_argument(
        "--expected-cost",
        type=float,
        metavar="FRACTION",
        help="this change's own expected cost, as a fraction of each objective's error budget",
    )
    p.add_argument(
        "--flags",
        action="store_true",
        help="print the rollout cap per service for a feature-flag system instead of a decision",
    )
    add_format_option(p)
    p.set_defaults(func=_exit_2_on_error(cmd_gate))

    releases = sub.add_parser("releases", help="plan concurrent releases against the remaining budget")
    rsub = releases.add_subparsers(dest="releases_command", required=True, metavar="COMMAND")
    plan = rsub.add_parser(
        "plan",
        help="pause later releases whose summed expected cost passes the remaining budget",
        description="Exit 0 when every release proceeds, 1 when one is paused, 2 on error.",
    )
    _catalog_and_budget_source(plan)
    plan.add_argument("--releases", required=True, metavar="FILE", help="Release documents (YAML or JSON)")
    add_format_option(plan)
    plan.set_defaults(func=_exit_2_on_error(cmd_releases_plan))

    canary = sub.add_parser(
        "canary",
        help="compare a canary with its baseline on an SLO (exit 0 pass, 1 fail, 3 inconclusive)",
        description=(
            "Error ratios by a two-proportion chi-square or Fisher's exact test, latencies by Mann-Whitney U "
            "with Hodges-Lehmann bounds; the effect in burn-rate terms. Exit 0 pass, 1 fail, 2 error, "
            "3 inconclusive (too few samples). Files: JSON {good, total, latency: [...]} or CSV/JSONL rows "
            "with columns good, total and/or latency (see docs/release-gating.md)."
        ),
    )
    canary.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    canary.add_argument("--slo", required=True, metavar="NAME", help="the SLO whose indicator is compared")
    canary.add_argument("--baseline", required=True, metavar="FILE", help="the baseline's requests")
    canary.add_argument("--canary", required=True, metavar="FILE", help="the canary's requests")
    canary.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    _actor_option(canary)
    canary.add_argument(
        "--min-requests",
        type=int,
        metavar="N",
        help="requests per arm below which the error check is inconclusive "
        "(default: enough for 10 errors at the strictest objective's allowed rate)",
    )
    canary.add_argument(
        "--min-latency", type=int, default=50, metavar="N", help="latencies per arm needed (default 50)"
    )
    add_format_option(canary)
    canary.set_defaults(func=_exit_2_on_error(cmd_canary))

    rb = sub.add_parser(
        "rollback-check",
        help="after a blue-green switch: rollback or keep the new colour (exit 0 keep, 1 rollback, 3 wait)",
        description=(
            "Judge the new colour's buckets since the switch against the burn-rate threshold of the "
            "service's BudgetPolicy. Exit 0 keep, 1 rollback, 2 error, 3 inconclusive (poll again)."
        ),
    )
    rb.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    rb.add_argument("--service", required=True, metavar="S", help="the service that switched colour")
    rb.add_argument(
        "--samples", required=True, metavar="FILE", help="the new colour's buckets: " + SAMPLES_HELP
    )
    rb.add_argument(
        "--switch-at", required=True, type=instant_argument("--switch-at"), help=f"the switch: {INSTANT_HELP}"
    )
    rb.add_argument("--at", type=instant_argument("--at"), help="end of the judged interval (default: now)")
    rb.add_argument("--window", default="30m", help="judge at most this long after the switch (default 30m)")
    rb.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    _actor_option(rb)
    add_format_option(rb)
    rb.set_defaults(func=_exit_2_on_error(cmd_rollback_check))

    cab = sub.add_parser("cab", help="change-advisory-board impact assessments")
    csub = cab.add_subparsers(dest="cab_command", required=True, metavar="COMMAND")
    assess = csub.add_parser(
        "assess",
        help="SLO impact of a planned change: affected SLOs, budgets, freezes, maintenance, history",
        description=(
            "Assess a Change document (services touched, planned window) for the change board: the SLOs "
            "it can affect through Dependency documents, their budgets and burn, freezes and maintenance "
            "windows in force, past change-caused incidents, and a recommendation "
            "(approve, approve_with_conditions, defer). Exit 0, or 2 on error."
        ),
    )
    _catalog_and_budget_source(assess)
    assess.add_argument("--change", required=True, metavar="FILE", help="one Change document (YAML or JSON)")
    assess.add_argument(
        "--releases",
        metavar="FILE",
        help="Release documents: past ones with causedIncidents give the history",
    )
    add_format_option(assess, choices=("json", "markdown"))
    assess.set_defaults(func=_exit_2_on_error(cmd_cab_assess))


def _catalog_and_budget_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    p.add_argument("--samples", metavar="FILE", help=SAMPLES_HELP + "; needs --at")
    p.add_argument(
        "--at",
        type=instant_argument("--at"),
        help=f"decision instant: {INSTANT_HELP}. With --warehouse: the latest snapshots at or before it",
    )
    p.add_argument(
        "--warehouse",
        metavar="URL",
        help="read the latest budget snapshots from this warehouse (SQLAlchemy URL) instead of samples",
    )
    _actor_option(p)


def _actor_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--actor",
        metavar="NAME",
        help="who asks (recorded in the warehouse's audit log when --warehouse or SLO_WAREHOUSE_URL "
        "names one; default $SLO_ACTOR, else the login name)",
    )


def _record(args: argparse.Namespace, action: str, subject: str, reason: str, details: Any) -> None:
    """Append the decision to the audit log of the warehouse in use, if any: release managers and
    auditors see every gate, cap, plan, canary verdict, rollback decision and CAB assessment."""
    import getpass

    from slo_pipelines.cli.audit_log import open_warehouse

    url = getattr(args, "warehouse", None) or os.environ.get("SLO_WAREHOUSE_URL")
    if not url:
        return
    actor = args.actor or os.environ.get("SLO_ACTOR") or getpass.getuser()
    open_warehouse(url).append_audit(actor, action, subject, reason, details)


@contextmanager
def _errors_are_usage() -> Iterator[None]:
    """Every failure becomes one line with exit status 2: 1 is a decision for these commands."""
    import sqlalchemy as sa

    from slo_pipelines.engine.common.timeutil import TimeParseError
    from slo_pipelines.engine.release.canary import CanaryInputError
    from slo_pipelines.engine.release.releases import ReleaseInputError
    from slo_pipelines.engine.sli.samples import SamplesError

    try:
        yield
    except UserError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
    except CatalogError as exc:
        first = exc.issues[0] if exc.issues else exc
        more = f" (and {len(exc.issues) - 1} more; see slo validate)" if len(exc.issues) > 1 else ""
        raise UserError(f"{first}{more}", EXIT_USAGE) from None
    except (SamplesError, TimeParseError, ReleaseInputError, CanaryInputError) as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
    except sa.exc.SQLAlchemyError as exc:
        origin = getattr(exc, "orig", None)
        detail = (str(exc) if origin is None else str(origin)).splitlines()[0]
        raise UserError(f"--warehouse: {detail}", EXIT_USAGE) from None
    except BrokenPipeError:
        raise  # the reader went away (`| head`): `slo`'s main loop ends quietly
    except OSError as exc:
        raise UserError(f"{exc.filename or ''}: {exc.strerror or exc}", EXIT_USAGE) from None


def _exit_2_on_error(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with _errors_are_usage():
            return command(args)

    run.__name__ = command.__name__
    return run


# ---- budget state ------------------------------------------------------------------------------


def _period_seconds(catalog: Catalog, slo: str) -> int:
    return catalog.slos[slo].time_window.duration.nominal_seconds()


def _states_from_samples(catalog: Catalog, path: str, at: int) -> list[ObjectiveState]:
    from slo_pipelines.engine.alerting.policies import warning_thresholds
    from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
    from slo_pipelines.engine.release.state import from_result

    clean = read_checked_samples(catalog, path)
    results = CatalogEvaluator(catalog, clean, warning_thresholds(catalog)).evaluate(at)
    return [from_result(r, _period_seconds(catalog, r.name)) for r in results]


def _states_from_warehouse(catalog: Catalog, url: str, at: int | None) -> list[ObjectiveState]:
    import sqlalchemy as sa

    from slo_pipelines.engine.release.state import from_snapshot
    from slo_pipelines.resources.warehouse import WarehouseResource

    parsed = sa.engine.make_url(url)
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if on_disk and not Path(str(parsed.database)).is_file():  # reading must not create an empty warehouse
        raise UserError(f"--warehouse: no such SQLite database (got {parsed.database!r})")
    snapshots = WarehouseResource(url=url).read_budget_snapshots(
        slos=sorted(catalog.slos), end=None if at is None else at + 1
    )
    if snapshots.empty:
        when = "" if at is None else " at or before --at"
        raise UserError(f"--warehouse: no budget snapshots{when} for the catalog's SLOs in {_masked(url)}")
    latest = snapshots.sort_values("at", kind="stable").groupby(["slo", "objective"]).tail(1)
    states = []
    for record in latest.to_dict(orient="records"):
        row = {str(k): v for k, v in record.items()}
        slo = catalog.slos[str(row["slo"])]
        objective = next((o for o in slo.objectives if o.name == str(row["objective"])), None)
        if objective is not None:  # a snapshot of an objective the catalog no longer has
            states.append(
                from_snapshot(row, slo.service, objective.target, _period_seconds(catalog, slo.name))
            )
    return sorted(states, key=lambda s: (s.slo, s.objective))


def _masked(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:  # unparsable: shown as given; connecting reports the problem
        return url


def budget_states(args: argparse.Namespace, catalog: Catalog) -> tuple[int, list[ObjectiveState]]:
    """(decision instant, every objective's state) from --samples/--at or --warehouse [--at]."""
    url = args.warehouse or None
    if args.samples and url:
        raise UserError("give --samples FILE --at T or --warehouse URL, not both")
    if args.samples:
        if args.at is None:
            raise UserError("--at is required with --samples")
        return args.at, _states_from_samples(catalog, args.samples, args.at)
    if url is None:
        url = os.environ.get("SLO_WAREHOUSE_URL")
    if not url:
        raise UserError("give --samples FILE --at T, or --warehouse URL (or set SLO_WAREHOUSE_URL)")
    states = _states_from_warehouse(catalog, url, args.at)
    return max(s.at for s in states), states


def known_services(catalog: Catalog) -> set[str]:
    return set(catalog.services) | {s.service for s in catalog.slos.values()}


def _check_service(catalog: Catalog, service: str) -> None:
    if service not in known_services(catalog):
        raise UserError(
            f"--service: unknown service (got {service!r}); the catalog has no Service or SLO for it"
        )


# ---- slo gate ----------------------------------------------------------------------------------


def _releases(path: str | None, catalog: Catalog) -> list[Any]:
    if not path:
        return []
    from slo_pipelines.engine.release.releases import check_known, parse_releases
    from slo_pipelines.resources.release_files import read_document_file

    releases = parse_releases(read_document_file(path))
    check_known(releases, {n: s.service for n, s in catalog.slos.items()}, known_services(catalog))
    return releases


def cmd_gate(args: argparse.Namespace) -> int:
    from slo_pipelines.catalog.budget_policy import catalog_budget_policies
    from slo_pipelines.engine.common.timeutil import format_instant
    from slo_pipelines.engine.release.gate import DENY, flag_caps, gate
    from slo_pipelines.engine.release.releases import scheduled

    if not args.flags and not args.service:
        raise UserError("--service is required (or --flags for every service's rollout cap)")
    if args.expected_cost is not None and not args.expected_cost >= 0:
        raise UserError(f"--expected-cost: must be a fraction >= 0 (got {args.expected_cost!r})")
    catalog = load_catalog(args.catalog)
    if args.service:
        _check_service(catalog, args.service)
    releases = _releases(args.releases, catalog)
    at, states = budget_states(args, catalog)
    policies = catalog_budget_policies(catalog.documents)
    if args.flags:
        services = [args.service] if args.service else sorted(known_services(catalog))
        caps = flag_caps(services, states, policies)
        payload = {"at": format_instant(at), "services": [c.to_json() for c in caps]}
        rows = [
            [
                c.service,
                _cap(c.rollout_cap_percent),
                "yes" if c.frozen else "no",
                f"{c.max_rollout_percent:g}",
            ]
            for c in caps
        ]
        _emit(args.format, payload, rows, ["SERVICE", "ROLLOUT CAP %", "FROZEN", "MAX ROLLOUT %"])
        _record(args, "release.flags", args.service or "*", "rollout caps read", payload)
        return 0
    mine = [s for s in states if s.service == args.service]
    decision = gate(
        args.service,
        at,
        mine,
        policies,
        args.change_type,
        scheduled(releases, at, args.service),
        args.expected_cost,
    )
    payload = decision.to_json()
    rows = [[r.slo, r.objective, r.rule, r.detail] for r in decision.reasons]
    rows += [[r.slo, r.objective, f"{r.rule} (waived)", r.detail] for r in decision.waived]
    if args.format == "table":
        print(
            f"{decision.decision} {args.change_type} change to {args.service} at {payload['at']}; "
            f"rollout cap: {_cap(decision.rollout_cap_percent)}"
        )
    if args.format == "csv":
        head = [decision.decision, args.service, str(payload["at"])]
        csv_rows = [[*head, *row] for row in rows] or [[*head, "", "", "", ""]]
        print(
            render_table(csv_rows, ["DECISION", "SERVICE", "AT", "SLO", "OBJECTIVE", "RULE", "DETAIL"], "csv")
        )
    else:
        _emit(args.format, payload, rows, ["SLO", "OBJECTIVE", "RULE", "DETAIL"])
    _record(args, "release.gate", args.service, f"{decision.decision} {args.change_type} change", payload)
    return 1 if decision.decision == DENY else 0


def _cap(cap: float | None) -> str:
    return "none" if cap is None else f"{cap:g}%"


def _emit(fmt: str, payload: dict[str, Any], rows: list[list[str]], headers: list[str]) -> None:
    if fmt == "json":
        print(json.dumps(payload, indent=2, allow_nan=False))
    elif rows or fmt == "csv":
        print(render_table(rows, headers, fmt))
    sys.stdout.flush()


# ---- slo releases plan -------------------------------------------------------------------------


def cmd_releases_plan(args: argparse.Namespace) -> int:
    from slo_pipelines.catalog.budget_policy import catalog_budget_policies
    from slo_pipelines.engine.common.timeutil import format_instant
    from slo_pipelines.engine.release.gate import plan_releases
    from slo_pipelines.engine.release.releases import scheduled

    catalog = load_catalog(args.catalog)
    releases = _releases(args.releases, catalog)
    at, states = budget_states(args, catalog)
    plan = plan_releases(scheduled(releases, at), states, catalog_budget_policies(catalog.documents))
    payload = {"at": format_instant(at), "releases": [p.to_json() for p in plan]}
    rows = [
        [
            p.scheduled.release.name,
            p.scheduled.release.service,
            format_instant(p.scheduled.release.start),
            p.decision,
            line["slo"],
            line["objective"],
            line["detail"],
        ]
        for p in plan
        for line in p.arithmetic
    ]
    _emit(
        args.format,
        payload,
        rows,
        ["RELEASE", "SERVICE", "START", "DECISION", "SLO", "OBJECTIVE", "ARITHMETIC"],
    )
    paused = sum(p.decision == "paused" for p in plan)
    _record(args, "release.plan", args.releases, f"{len(plan)} release(s), {paused} paused", payload)
    return 1 if paused else 0


# ---- slo canary --------------------------------------------------------------------------------


def _slo(catalog: Catalog, name: str) -> Any:
    if name not in catalog.slos:
        raise UserError(f"--slo: no SLO with this name in the catalog (got {name!r})")
    return catalog.slos[name]


def cmd_canary(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.release.canary import FAIL, PASS, analyse
    from slo_pipelines.resources.release_files import read_canary_file

    if args.min_requests is not None and args.min_requests < 1:
        raise UserError(f"--min-requests: must be >= 1 (got {args.min_requests})")
    if args.min_latency < 3:
        raise UserError(f"--min-latency: must be >= 3 (got {args.min_latency})")
    catalog = load_catalog(args.catalog)
    slo = _slo(catalog, args.slo)
    baseline = read_canary_file(args.baseline)
    canary = read_canary_file(args.canary)
    report = analyse(slo, baseline, canary, args.alpha, args.min_requests, args.min_latency)
    payload = report.to_json()
    if args.format == "table":
        print(f"canary {report.verdict} for {slo.name} (alpha {report.alpha:g})")
    rows = [
        [
            c.check,
            c.verdict,
            c.test or "-",
            "-" if c.p_value is None else f"{c.p_value:.3g}",
            ", ".join(
                f"{b.objective}: {_burn(b.canary_burn_rate)} vs {_burn(b.baseline_burn_rate)}"
                for b in c.budget
            )
            or "-",
            c.detail,
        ]
        for c in report.checks
    ]
    _emit(args.format, payload, rows, ["CHECK", "VERDICT", "TEST", "P", "BURN CANARY VS BASELINE", "DETAIL"])
    _record(args, "release.canary", args.slo, f"canary {report.verdict}", payload)
    return {PASS: 0, FAIL: 1}.get(report.verdict, EXIT_INCONCLUSIVE)


def _burn(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}x"


# ---- slo rollback-check ------------------------------------------------------------------------


def cmd_rollback_check(args: argparse.Namespace) -> int:
    import time

    from slo_pipelines.catalog.budget_policy import catalog_budget_policies
    from slo_pipelines.catalog.durations import DurationError, parse_fixed_seconds
    from slo_pipelines.engine.release.rollback import KEEP, ROLLBACK, rollback_check

    try:
        window = parse_fixed_seconds(args.window)
    except DurationError as exc:
        raise UserError(f"--window: {exc}") from None
    if not 0 < args.alpha < 1:
        raise UserError(f"--alpha: must be between 0 and 1 (got {args.alpha!r})")
    at = args.at if args.at is not None else int(time.time())
    if at <= args.switch_at:
        raise UserError("--at: must be after --switch-at")
    catalog = load_catalog(args.catalog)
    _check_service(catalog, args.service)
    clean = read_checked_samples(catalog, args.samples)
    slos = [s for s in catalog.slos.values() if s.service == args.service]
    policies = catalog_budget_policies(catalog.documents)
    decision = rollback_check(args.service, slos, clean, args.switch_at, at, window, policies, args.alpha)
    payload = decision.to_json()
    if args.format == "table":
        print(f"{decision.decision} {args.service}: {payload['interval']['start']} to {payload['at']}")
    rows = [[e.slo, e.objective, e.decision, e.detail, e.threshold_source] for e in decision.evidence]
    _emit(args.format, payload, rows, ["SLO", "OBJECTIVE", "DECISION", "EVIDENCE", "THRESHOLD"])
    _record(args, "release.rollback_check", args.service, decision.decision, payload)
    return {KEEP: 0, ROLLBACK: 1}.get(decision.decision, EXIT_INCONCLUSIVE)


# ---- slo cab assess ----------------------------------------------------------------------------


def cmd_cab_assess(args: argparse.Namespace) -> int:
    from slo_pipelines.catalog.budget_policy import catalog_budget_policies
    from slo_pipelines.engine.release.cab import assess, parse_change, unknown_services
    from slo_pipelines.reports.release import render_cab_markdown
    from slo_pipelines.resources.release_files import read_document_file

    catalog = load_catalog(args.catalog)
    documents = read_document_file(args.change)
    if len(documents) != 1:
        raise UserError(f"{args.change}: must hold exactly one Change document (got {len(documents)})")
    change = parse_change(documents[0][1], documents[0][0])
    unknown_services(change, known_services(catalog))
    history = _releases(args.releases, catalog)
    at, states = budget_states(args, catalog)
    assessment = assess(change, catalog, at, states, catalog_budget_policies(catalog.documents), history)
    payload = assessment.to_json()
    if args.format == "json":
        print(json.dumps(payload, indent=2, allow_nan=False))
    else:
        sys.stdout.write(render_cab_markdown(payload))
    sys.stdout.flush()
    _record(args, "release.cab_assess", change.name, str(payload.get("recommendation", "")), payload)
    return 0
