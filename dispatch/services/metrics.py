"""The Prometheus exposition of the operations figures, built afresh on every scrape from the database
and Redis (a registry of its own each time: nothing is kept between scrapes or shared between
processes), and who may read it."""
from __future__ import annotations

import hmac
import ipaddress
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from dispatch.services.operations import REGISTRIES, database_figures, redis_figures

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
INF = float("inf")


class _Figures:
    """A one-scrape collector: yields the figures read at `now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self):
        yield GaugeMetricFamily("dispatch_up", "1 while the web process answers.", value=1)
        yield from _redis_families(redis_figures())
        yield from _database_families(database_figures(self.now))


def _redis_families(figures):
    yield GaugeMetricFamily("dispatch_redis_up", "1 if Redis answered this scrape; queue figures are absent while 0.",
                            value=1 if figures.up else 0)
    if not figures.up:
        return
    depth = GaugeMetricFamily("dispatch_queue_depth", "Jobs waiting in the RQ queue.", labels=["queue"])
    jobs = GaugeMetricFamily("dispatch_queue_jobs", "Jobs in each RQ registry of the queue "
                             "(started: running now; failed: kept for inspection; scheduled; deferred).",
                             labels=["queue", "registry"])
    for queue in figures.queues:
        depth.add_metric([queue.name], queue.queued)
        for registry in REGISTRIES:
            jobs.add_metric([queue.name, registry], queue.registries[registry])
    yield depth
    yield jobs
    alive = GaugeMetricFamily("dispatch_workers", "RQ workers registered in Redis (alive), by state.", labels=["state"])
    states: dict[str, int] = {"busy": 0, "idle": 0}
    for worker in figures.workers:
        states[worker.state] = states.get(worker.state, 0) + 1
    for state, count in sorted(states.items()):
        alive.add_metric([state], count)
    yield alive
    yield GaugeMetricFamily("dispatch_workers_alive", "RQ workers registered in Redis.", value=len(figures.workers))


def _database_families(figures):
    yield GaugeMetricFamily("dispatch_database_up", "1 if the database answered this scrape; its figures are absent while 0.",
                            value=1 if figures.up else 0)
    if not figures.up:
        return
    outbox = GaugeMetricFamily("dispatch_outbox_messages", "SMS and calls in the outbox by state: all those pending or "
                               "sending now; those that became sent, delivered, undelivered or failed in the last 24 hours.",
                               labels=["state"])
    for state, count in figures.outbox.items():
        outbox.add_metric([state], count)
    yield outbox
    oldest = GaugeMetricFamily("dispatch_outbox_oldest_seconds",
                               "Age of the oldest outbox row still pending or sending (0 when none).", labels=["state"])
    for state in ("pending", "sending"):
        oldest.add_metric([state], figures.outbox_oldest.get(state) or 0.0)
    yield oldest
    yield GaugeMetricFamily("dispatch_sms_failures_last_hour",
                            "Outbox messages that became failed or undelivered in the last hour.",
                            value=figures.sms_failures_last_hour)
    tickets = GaugeMetricFamily("dispatch_open_tickets", "Open tickets, by priority and status.",
                                labels=["priority", "status"])
    for (priority, status), count in sorted(figures.open_tickets.items()):
        tickets.add_metric([str(priority), status], count)
    yield tickets
    breach = GaugeMetricFamily("dispatch_tickets_in_breach", "Open tickets that have missed a service target, by target.",
                               labels=["target"])
    for target, count in figures.in_breach.items():
        breach.add_metric([target], count)
    yield breach
    yield GaugeMetricFamily("dispatch_escalations_overdue", "Escalation steps due but not yet fired.",
                            value=figures.escalations_overdue)
    yield GaugeMetricFamily("dispatch_escalation_oldest_overdue_seconds",
                            "How late the most overdue escalation step is (0 when none is due).",
                            value=figures.oldest_overdue_seconds)
    beats = GaugeMetricFamily("dispatch_heartbeat_age_seconds",
                              "Seconds since the process last did its rounds (+Inf: never).", labels=["process"])
    for process, age in figures.heartbeat_ages.items():
        beats.add_metric([process], INF if age is None else age)
    yield beats


def exposition(now: datetime) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(now))
    return generate_latest(registry)


# ---- who may scrape -------------------------------------------------------------------------------

def allowed_networks(setting: str | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """METRICS_ALLOW_FROM: addresses or networks, comma-separated; `localhost` means 127.0.0.1 and ::1."""
    networks = []
    for item in (setting or "").split(","):
        item = item.strip()
        if not item:
            continue
        if item == "localhost":
            networks += [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")]
        else:
            networks.append(ipaddress.ip_network(item, strict=False))
    return networks


def may_scrape(*, authorization: str | None, remote_addr: str | None, forwarded: bool, token: str | None,
               allow_from: str | None, proxies: int) -> tuple[bool, int]:
    """(allowed, status if not). A bearer token, when one is configured, opens it from anywhere; otherwise
    the client's address must be in METRICS_ALLOW_FROM. A request that came through a proxy the app was
    not told about (X-Forwarded-For present, TRUSTED_PROXIES 0) shows the proxy's address, not the
    client's, so the address list cannot vouch for it."""
    if authorization:
        scheme, _, given = authorization.partition(" ")
        if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True, 200
        return False, 401
    if forwarded and proxies == 0:
        return False, 403
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False, 403
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in allowed_networks(allow_from)), 403
