"""`slo webhooks serve`: the signed webhook inbox (PagerDuty v3) in the foreground.

Secrets: `PAGERDUTY_WEBHOOK_SECRETS` (comma-separated during a rotation). Warehouse: `--warehouse URL`,
else `SLO_WAREHOUSE_URL`, else the embedded default. Verified events land in `webhook_inbox`, where
the incident sensor picks them up; refusals are logged and kept in `webhook_rejections`.
"""

import argparse
import logging
import os
from typing import Any

from slo_pipelines.cli.common import EXIT_USAGE, UserError


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    group = sub.add_parser("webhooks", help="signed webhook inbox", description="Signed webhook inbox.")
    inner = group.add_subparsers(dest="webhooks_command", required=True, metavar="COMMAND")
    p = inner.add_parser(
        "serve",
        help="receive PagerDuty v3 webhooks into the warehouse inbox",
        description=(
            "Serve POST /webhooks/pagerduty: verify X-PagerDuty-Signature against the secrets in "
            "PAGERDUTY_WEBHOOK_SECRETS, refuse forged or replayed deliveries, store the rest."
        ),
    )
    p.add_argument("--port", type=int, required=True, help="TCP port (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--warehouse", metavar="URL", help="warehouse URL (default: SLO_WAREHOUSE_URL or .slo/)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from slo_pipelines.resources.incident_store import IncidentStore
    from slo_pipelines.resources.warehouse import DEFAULT_WAREHOUSE_URL, WarehouseResource
    from slo_pipelines.resources.webhook_inbox import WebhookInboxResource, make_server

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port: must be 0..65535 (got {args.port})", EXIT_USAGE)
    secrets = WebhookInboxResource(secrets=os.environ.get("PAGERDUTY_WEBHOOK_SECRETS", "")).secret_list()
    if not secrets:
        raise UserError(
            "PAGERDUTY_WEBHOOK_SECRETS is not set: give the webhook secret(s), comma-separated", EXIT_USAGE
        )
    url = args.warehouse or os.environ.get("SLO_WAREHOUSE_URL") or DEFAULT_WAREHOUSE_URL
    store = IncidentStore(WarehouseResource(url=url))
    store.warehouse.ensure_schema()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        server = make_server(args.host, args.port, store, secrets)
    except OSError as exc:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    host, port = str(server.server_address[0]), int(server.server_address[1])
    print(f"listening on http://{host}:{port}/webhooks/pagerduty", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
