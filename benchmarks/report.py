"""The printed report: one table of load phases, the async queue figures, and the targets."""

from __future__ import annotations

from typing import Any


def _cell(value: object, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        first, *rest = values
        return "  ".join(
            [first.ljust(widths[0]), *(v.rjust(w) for v, w in zip(rest, widths[1:], strict=True))]
        )

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in cells)])


def phases_table(phases: list[dict[str, Any]]) -> str:
    headers = [
        "phase",
        "offered/s",
        "conns",
        "2xx",
        "other",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "srv CPU/req",
        "server",
        "client",
        "others",
    ]
    rows = []
    for phase in phases:
        other = phase["answered"] - phase["ok"] + phase["errors"] + phase["lost"]
        offered = phase["offered_rps"]
        rows.append(
            [
                phase["name"],
                "saturate" if offered is None else float(offered),
                phase["connections"],
                phase["ok"],
                other,
                phase["throughput_rps"],
                phase["latency"]["p50_ms"],
                phase["latency"]["p99_ms"],
                phase["latency"]["max_ms"],
                _ms(phase["server_cpu_ms_per_request"]),
                f"{phase['server_cpu_pct']:.0f}%",
                f"{phase['loadgen_cpu_pct']:.0f}%",
                f"{phase['other_cpu_pct']:.0f}%",
            ]
        )
    legend = (
        "latency: open loop from the instant each request was due, closed loop from its send; "
        "srv CPU/req: server CPU time per 2xx answer;\nserver/client/others: CPU used during the "
        "phase by the server, the load generator and every other process (100% = one CPU)"
    )
    return table(headers, rows) + "\n" + legend


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def queue_table(queue: dict[str, Any]) -> str:
    rows = []
    for run in queue["accept_to_succeeded"]:
        rows.append(
            [
                f"accept->succeeded at {run['offered_rps']:,.0f}/s offered",
                (
                    f"p50 {_cell(run['p50_ms'])} ms, p99 {_cell(run['p99_ms'])} ms, "
                    f"max {_cell(run['max_ms'])} ms ({run['succeeded']:,} of "
                    f"{run['accepted']:,} succeeded; completions {_cell(run['completions_rps'])}/s)"
                ),
            ]
        )
    drain = queue["drain"]
    rows.append(
        [
            "completions while draining a backlog",
            (
                f"{_cell(drain['completions_rps'])}/s ({drain['drained']:,} of "
                f"{drain['backlog_at_start']:,} queued requests completed in "
                f"{_cell(drain['seconds'], 2)} s; {drain['unfinished_at_end']:,} left at the end;"
                f" server CPU {_ms(drain['server_cpu_ms_per_completion'])} per completion, "
                f"{drain['server_cpu_pct']:.0f}%; others {drain['other_cpu_pct']:.0f}%)"
            ),
        ]
    )
    return table(["async queue", "figure"], rows)


def targets_table(targets: list[dict[str, Any]]) -> str:
    rows = [
        [
            target["target"],
            target["figure"],
            target["threshold"],
            "PASS" if target["passed"] else "FAIL",
        ]
        for target in targets
    ]
    return table(["target", "measured", "needed", "result"], rows)


def settings_table(settings: dict[str, object]) -> str:
    return table(["server setting", "value"], [[k, v] for k, v in settings.items()])
