"""Explore under concurrent loopback clients: request latency p50/p95, errors, cold-panel time.

    uv run python benchmarks/bench_explore_load.py --data-dir DIR [--variant ID]
        [--clients 8] [--seconds 60]

Starts `miscope serve` on a loopback port over DIR (training and analyzing the `tiny` preset
there first when DIR holds no variant with checkpoints) and runs --clients concurrent clients
for --seconds. Each client repeats what a browser does to open Explore with 4 panels at a
random epoch: the page, `/_dash-layout`, `/_dash-dependencies`, the pages callback that renders
the layout, one panel callback per panel (sent together, as the browser does), each followed
by that panel's scrub frames (`/explore-frames/...`), and the freshness poll. Scrubbing
itself needs no server request (frames are clientside). The first round, on a freshly started
server with empty caches, gives the cold-panel time: every client asks for the same cold panels
at once.

Prints a JSON report and a Markdown table; exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_scrub import ROOT, choose_views, free_port, percentile, start_server

PAGES_OUTPUT = ".._pages_content.children..._pages_store.data.."
PANEL_OUTPUT = (
    '..{"index":["MATCH"],"type":"panel-graph"}.figure...'
    '{"index":["MATCH"],"type":"panel-frames"}.data...'
    '{"index":["MATCH"],"type":"panel-error"}.children..'
)
WATCH_OUTPUT = (
    "..explore-epochs.data...explore-slider.max...explore-slider.marks..."
    "explore-token.data...explore-refresh.data.."
)
TOKEN = re.compile(r'"explore-token"[^}]*?"data":\s*"([^"]+)"')


def ensure_variant(data_dir: Path, variant_id: str | None) -> str:
    """The variant to load (the first with checkpoints), training `tiny` when there is none."""
    from miscope_core.workspace import Workspace

    workspace = Workspace.open(data_dir)
    found = [
        v
        for _, v in workspace.list_variants()
        if any((workspace.locate(v).checkpoints).glob("epoch_*.safetensors"))
    ]
    if variant_id:
        return variant_id
    if found:
        return found[0]
    command = [
        sys.executable,
        "-c",
        "import sys; from app.cli.main import main; sys.exit(main(sys.argv[1:]))",
        "train",
        "modulo_addition",
        "--preset",
        "tiny",
        "--data-dir",
        str(data_dir),
        "--analyze",
    ]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return Workspace.open(data_dir).list_variants()[0][1]


class Client:
    """One simulated browser: timed requests, with failures counted rather than raised."""

    def __init__(self, base: str, record):
        self.base, self.record = base, record

    def request(self, kind: str, path: str, payload: dict | None = None) -> bytes | None:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=("GET" if data is None else "POST"),
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                body = reply.read()
                ok = reply.status in (200, 204)
        except (urllib.error.URLError, OSError) as exc:
            body, ok = str(exc).encode(), False
        self.record(kind, time.perf_counter() - started, ok, body)
        return body if ok else None


def callback(output: str, outputs: list, inputs: list, state: list | None = None) -> dict:
    """A `_dash-update-component` body as the Dash renderer sends it."""
    changed = [f"{i['id']}.{i['property']}" for i in inputs if isinstance(i["id"], str)]
    return {
        "output": output,
        "outputs": outputs,
        "inputs": inputs,
        "changedPropIds": changed,
        "parsedChangedPropsIds": changed,
        "state": state or [],
    }


def panel_payload(index: int, view: str, variant: str, slider: int, epochs: list[int]) -> dict:
    """The panel callback of panel `index` (figure at the slider's epoch + frames)."""
    outputs = [
        {"id": {"index": index, "type": t}, "property": p}
        for t, p in (
            ("panel-graph", "figure"),
            ("panel-frames", "data"),
            ("panel-error", "children"),
        )
    ]
    inputs = [
        {
            "id": {"index": index, "type": "panel-spec"},
            "property": "data",
            "value": {"view": view, "params": {}},
        },
        {"id": "explore-refresh", "property": "data", "value": 0},
    ]
    state = [
        {"id": "explore-variant", "property": "data", "value": variant},
        {"id": "explore-slider", "property": "value", "value": slider},
        {"id": "explore-epochs", "property": "data", "value": epochs},
    ]
    return callback(PANEL_OUTPUT, outputs, inputs, state)


def open_panel(
    client: Client, index: int, view: str, variant: str, slider: int, epochs: list[int]
) -> None:
    """A panel's callback (its figure) and then its scrub frames, as the page fetches them."""
    body = client.request(
        "panel", "/_dash-update-component", panel_payload(index, view, variant, slider, epochs)
    )
    if body:
        reply = json.loads(body)["response"]
        frames = reply.get(
            json.dumps({"index": index, "type": "panel-frames"}, separators=(",", ":")), {}
        ).get("data")
        if frames and frames.get("url"):
            client.request("frames", frames["url"])


def open_explore(
    client: Client,
    variant: str,
    views: list[str],
    epochs: list[int],
    rng: random.Random,
    pool: ThreadPoolExecutor,
) -> None:
    """One Explore page load at a random epoch, as the browser issues it."""
    slider = rng.randrange(len(epochs))
    search = f"?variant={variant}&views={','.join(views)}&epoch={epochs[slider]}"
    client.request("page", "/explore" + search)
    client.request("layout", "/_dash-layout")
    client.request("dependencies", "/_dash-dependencies")
    body = client.request(
        "pages_callback",
        "/_dash-update-component",
        callback(
            PAGES_OUTPUT,
            [
                {"id": "_pages_content", "property": "children"},
                {"id": "_pages_store", "property": "data"},
            ],
            [
                {"id": "_pages_location", "property": "pathname", "value": "/explore"},
                {"id": "_pages_location", "property": "search", "value": search},
            ],
        ),
    )
    token = TOKEN.search(body.decode()) if body else None
    list(
        pool.map(
            lambda item: open_panel(client, item[0], item[1], variant, slider, epochs),
            enumerate(views),
        )
    )
    client.request(
        "watch",
        "/_dash-update-component",
        callback(
            WATCH_OUTPUT,
            [
                {"id": i, "property": p}
                for i, p in (
                    ("explore-epochs", "data"),
                    ("explore-slider", "max"),
                    ("explore-slider", "marks"),
                    ("explore-token", "data"),
                    ("explore-refresh", "data"),
                )
            ],
            [{"id": "explore-watch", "property": "n_intervals", "value": 1}],
            [
                {"id": "explore-variant", "property": "data", "value": variant},
                {
                    "id": "explore-token",
                    "property": "data",
                    "value": token.group(1) if token else "",
                },
                {"id": "explore-refresh", "property": "data", "value": 0},
            ],
        ),
    )


class Recorder:
    """Thread-safe latency and error log, by request kind and phase."""

    def __init__(self):
        self.rows: list[tuple[str, str, float]] = []
        self.errors: list[str] = []
        self.phase = "cold"
        self.lock = threading.Lock()

    def __call__(self, kind: str, seconds: float, ok: bool, body: bytes) -> None:
        failed = not ok or (
            kind == "panel"
            and b'"panel-error"' in body
            and b'"children":null' not in body.replace(b" ", b"")
        )
        with self.lock:
            self.rows.append((self.phase, kind, seconds))
            if failed:
                self.errors.append(f"{kind}: {body[:200]!r}")


def run_clients(
    base: str,
    variant: str,
    views: list[str],
    epochs: list[int],
    clients: int,
    seconds: float,
    recorder: Recorder,
) -> int:
    """The cold round (all clients at once on a fresh server), then `seconds` of load."""
    barrier = threading.Barrier(clients)
    loads = [0] * clients

    def client_loop(number: int) -> None:
        rng = random.Random(number)
        client = Client(base, recorder)
        with ThreadPoolExecutor(4) as pool:
            barrier.wait()
            open_explore(client, variant, views, epochs, rng, pool)
            barrier.wait()
            recorder.phase = "warm"
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                open_explore(client, variant, views, epochs, rng, pool)
                loads[number] += 1

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(loads)


def summarize(recorder: Recorder, loads: int, args, variant: str, views: list[str]) -> dict:
    """p50/p95 over every warm request, per kind, and the cold panels' worst time."""
    warm = [s for phase, _, s in recorder.rows if phase == "warm"]
    cold_panels = [s for phase, kind, s in recorder.rows if phase == "cold" and kind == "panel"]
    kinds = sorted({kind for _, kind, _ in recorder.rows})
    per_kind = {}
    for kind in kinds:
        values = [s for phase, k, s in recorder.rows if phase == "warm" and k == kind]
        if values:
            per_kind[kind] = {
                "p50_ms": round(1000 * statistics.median(values), 1),
                "p95_ms": round(1000 * percentile(values, 0.95), 1),
            }
    return {
        "variant": variant,
        "views": views,
        "clients": args.clients,
        "seconds": args.seconds,
        "page_loads": loads,
        "requests": len(warm),
        "errors": len(recorder.errors),
        "error_samples": recorder.errors[:3],
        "p50_ms": round(1000 * statistics.median(warm), 1) if warm else None,
        "p95_ms": round(1000 * percentile(warm, 0.95), 1) if warm else None,
        "cold_panel_s": round(max(cold_panels), 2) if cold_panels else None,
        "per_kind": per_kind,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the load and print the report; non-zero exit when a request failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--variant", help="default: the first variant with checkpoints")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0:
        parser.error(
            f"--clients must be >= 1 and --seconds > 0, got {args.clients} and {args.seconds}"
        )
    variant = ensure_variant(args.data_dir, args.variant)
    views = choose_views(args.data_dir, variant)
    from miscope_core.workspace import Workspace
    from services.registry import list_checkpoint_epochs

    epochs = list_checkpoint_epochs(Workspace.open(args.data_dir).locate(variant))
    port = free_port()
    process, _ = start_server(args.data_dir, port)
    recorder = Recorder()
    try:
        loads = run_clients(
            f"http://127.0.0.1:{port}", variant, views, epochs, args.clients, args.seconds, recorder
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    report = summarize(recorder, loads, args, variant, views)
    print(json.dumps(report, indent=2))
    print(
        "\n| clients × seconds | page loads | requests | errors | p50 ms | p95 ms | cold panel s |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.clients} × {args.seconds:g} | {loads} | {report['requests']} | "
        f"{report['errors']} | {report['p50_ms']} | {report['p95_ms']} | "
        f"{report['cold_panel_s']} |"
    )
    return 1 if recorder.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
