#!/usr/bin/env python3
"""The flights demo's throughput with and without a siege of its dashboard.

Runs `weir-flights demo --dashboard 0` (release build) RUNS times in each mode, interleaved:
`plain` (nobody connects) and `siege`: 500 idle connections kept open (reopened as soon as the
server closes one), a slowloris client sending one header byte a second (reconnecting when cut
off), and a normal client asking `/api/series` and `/api/stores/accuracy?limit=20` every
second, whose answer times are reported. Everything is on 127.0.0.1 and bounded in time.

The demo runs --duration (default 1800) s of event time, long enough for the server to time
out and the clients to reopen their connections several times. Throughput is the streaming application's records divided by the wall time from the start
of the process to its "the run is over" line. Prints each run and the medians.

    cargo build --release -p weir-flights
    python3 processors/tests/dashboard_siege.py target/release/weir-flights [--runs 3]
"""

import argparse
import asyncio
import os
import re
import signal
import statistics
import sys
import tempfile
import time

IDLE = 500
RUN_LIMIT_S = 600


async def idle_client(port, stop, stats):
    """Keeps one connection open, reopening it whenever the server closes it."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        stats["idle_opened"] += 1
        read = asyncio.ensure_future(reader.read(1024))
        halt = asyncio.ensure_future(stop.wait())
        await asyncio.wait([read, halt], return_when=asyncio.FIRST_COMPLETED)
        read.cancel()
        halt.cancel()
        writer.close()


async def slowloris(port, stop, stats):
    """Sends a never-ending request's headers one byte a second."""
    header = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-a: " + b"a" * 10_000
    while not stop.is_set():
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            stats["slowloris_opened"] += 1
            for i in range(len(header)):
                if stop.is_set():
                    break
                writer.write(header[i : i + 1])
                await writer.drain()
                await asyncio.sleep(1)
        except OSError:
            await asyncio.sleep(0.2)


async def get(port, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    )
    raw = await reader.read()
    writer.close()
    return int(raw.split(b" ", 2)[1])


async def prober(port, stop, stats):
    """A normal client: the charts and a page of the accuracy store every second."""
    while not stop.is_set():
        for path in ("/api/series", "/api/stores/accuracy?limit=20"):
            asked = time.monotonic()
            try:
                status = await asyncio.wait_for(get(port, path), 10)
            except (OSError, asyncio.TimeoutError, IndexError, ValueError):
                status = 0
            took = (time.monotonic() - asked) * 1000
            stats["probe_ms"].append(took)
            stats["probe_status"].append(status)
            if status != 200 or took > 1000:
                stats["slow"].append(f"{path} {status} {took:.0f} ms at {asked - stats['t0']:.1f} s")
        await asyncio.sleep(1)


async def run_demo(binary, siege, duration):
    out = tempfile.mkdtemp(prefix="weir-siege-")
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        binary, "demo", "--dashboard", "0", "--out", out, "--duration", str(duration),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    stop = asyncio.Event()
    stats = {"idle_opened": 0, "slowloris_opened": 0, "probe_ms": [], "probe_status": [],
             "slow": [], "t0": started}
    tasks, text, elapsed = [], "", None
    try:
        while elapsed is None:
            chunk = await asyncio.wait_for(proc.stdout.read(4096), RUN_LIMIT_S)
            if not chunk:
                raise RuntimeError(f"the demo ended early:\n{text[-2000:]}")
            text += chunk.decode(errors="replace")
            found = re.search(r"live charts at http://127\.0\.0\.1:(\d+)/", text)
            if found and siege != "plain" and not tasks:
                port = int(found.group(1))
                tasks = [asyncio.ensure_future(prober(port, stop, stats))]
                if siege == "siege":
                    tasks += [asyncio.ensure_future(idle_client(port, stop, stats)) for _ in range(IDLE)]
                    tasks.append(asyncio.ensure_future(slowloris(port, stop, stats)))
            if "the run is over" in text:
                elapsed = time.monotonic() - started
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
    records = int(re.search(r"streaming application: (\d+) records", text).group(1))
    return records, elapsed, stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="plain,siege", help="plain, probe (only the normal client), siege")
    parser.add_argument("--duration", type=int, default=1800, help="event time, s (demo's --duration)")
    args = parser.parse_args()
    modes = args.modes.split(",")
    results = {mode: [] for mode in modes}
    for i in range(args.runs):
        for mode in modes:
            records, elapsed, stats = asyncio.run(run_demo(args.binary, mode, args.duration))
            rate = records / elapsed
            results[mode].append(rate)
            line = f"run {i + 1} {mode}: {records} records in {elapsed:.2f} s = {rate:,.0f} records/s"
            if mode != "plain":
                probes = sorted(stats["probe_ms"])
                ok = sum(1 for s in stats["probe_status"] if s == 200)
                other = sorted({s for s in stats["probe_status"] if s != 200})
                line += (
                    f"; idle connections opened {stats['idle_opened']}, slowloris "
                    f"{stats['slowloris_opened']}; probes {ok}/{len(probes)} ok (others: {other}), median "
                    f"{statistics.median(probes):.1f} ms, max {max(probes):.1f} ms"
                    if probes else "; no probe ran"
                )
            print(line, flush=True)
            for slow in stats.get("slow", []) if mode != "plain" else []:
                print(f"    slow or failed probe: {slow}", flush=True)
    for mode, rates in results.items():
        print(f"{mode}: median {statistics.median(rates):,.0f} records/s of {len(rates)} runs")


if __name__ == "__main__":
    sys.exit(main())
