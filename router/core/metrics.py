"""Prometheus metrics kept in the brain, so every web and worker process, on any host, adds to one count.

prometheus-client's own multiprocess mode only spans the processes of one host and needs a
shared directory; Sparky's processes already share Redis. Counters and summaries are Redis hash
fields (HINCRBY / HINCRBYFLOAT, usually inside a pipeline the caller already sends); a custom
collector reads them at scrape time and prometheus-client renders the exposition format.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from redis import Redis
from rq import Queue

from router.core import brain

# name -> (help text, label names); the series a caller may bump.
COUNTERS = {
    "sparky_signals_received": ("Signals and refusals per source and outcome", ("source", "outcome")),
    "sparky_actions": ("Action jobs per action and outcome (run, failed, retried, duplicate)", ("action", "outcome")),
    "sparky_signals_dead_lettered": ("Signals moved to the dead letters after their evaluation or chat command "
                                     "kept failing, per source and stage", ("source", "stage")),
}
SUMMARIES = {
    "sparky_rule_evaluation_seconds": ("Time to evaluate one batch of signals against every ruleset", ()),
    # per resolved alert episode (router/oncall/response.py): rate(_sum) / rate(_count) is MTTA / MTTR
    "sparky_alert_time_to_acknowledge_seconds": ("From firing to the ack, per acked and resolved alert episode, "
                                                 "by the rule that routed it", ("route",)),
    "sparky_alert_time_to_resolve_seconds": ("From firing to resolved, per alert episode, by the rule that "
                                             "routed it", ("route",)),
}


def field(name: str, **labels: str) -> str:
    """The hash field of one series (reception's Lua script bumps counters by field name)."""
    return name + "|" + "|".join(f"{k}={labels[k]}" for k in sorted(labels))


def count(conn_or_pipe, name: str, amount: int = 1, **labels: str) -> None:
    conn_or_pipe.hincrby(brain.key_metrics(), field(name, **labels), amount)


def observe(conn_or_pipe, name: str, seconds: float, **labels: str) -> None:
    conn_or_pipe.hincrbyfloat(brain.key_metrics(), field(name + "_sum", **labels), seconds)
    conn_or_pipe.hincrby(brain.key_metrics(), field(name + "_count", **labels), 1)


def _parse(field: str) -> tuple[str, dict[str, str]]:
    name, *pairs = field.split("|")
    return name, dict(pair.split("=", 1) for pair in pairs if "=" in pair)


class BrainCollector:
    """Reads the counters, summaries and queue depths from Redis at each scrape."""

    def __init__(self, conn: Redis, queues: tuple[str, ...]):
        self.conn = conn
        self.queues = queues

    def collect(self):
        raw = {k.decode(): v.decode() for k, v in self.conn.hgetall(brain.key_metrics()).items()}
        values = [(*_parse(field), float(value)) for field, value in raw.items()]
        for name, (help_text, label_names) in COUNTERS.items():
            family = CounterMetricFamily(name, help_text, labels=label_names)
            for got, labels, value in values:
                if got == name:
                    family.add_metric([labels.get(n, "") for n in label_names], value)
            yield family
        for name, (help_text, label_names) in SUMMARIES.items():
            family = SummaryMetricFamily(name, help_text, labels=label_names)
            sums = {tuple(sorted(lb.items())): v for got, lb, v in values if got == name + "_sum"}
            for got, labels, value in values:
                if got == name + "_count":
                    key = tuple(sorted(labels.items()))
                    family.add_metric([labels.get(n, "") for n in label_names], value, sums.get(key, 0.0))
            yield family
        depth = GaugeMetricFamily("sparky_queue_depth", "Jobs waiting per RQ queue", labels=["queue"])
        pipe = self.conn.pipeline(transaction=False)
        for queue in self.queues:
            pipe.llen(Queue(queue, connection=self.conn).key)
        for queue, n in zip(self.queues, pipe.execute()):
            depth.add_metric([queue], n)
        yield depth
        yield GaugeMetricFamily("sparky_pending_signals", "Signals stored and waiting for evaluation",
                                value=self.conn.zcard(brain.key_pending()))
        shares = GaugeMetricFamily("sparky_pending_signals_by_source", "Signals waiting for evaluation, per "
                                   "source: each source's share of the backlog (SPARKY_SOURCE_SHARE)",
                                   labels=["source"])
        for source, n in sorted(brain.pending_by_source(self.conn).items()):
            shares.add_metric([source], n)
        yield shares
        yield GaugeMetricFamily("sparky_dead_letters", "Entries in the dead-letter list",
                                value=self.conn.llen(brain.key_dead_letters()))


def render(conn: Redis, queues: tuple[str, ...]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BrainCollector(conn, queues))
    return generate_latest(registry)
