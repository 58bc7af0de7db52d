"""Scrub latency on the Explore page, and time to first HTTP 200 of `miscope serve`.

    uv run python benchmarks/bench_scrub.py --data-dir DIR [--variant ID] [--steps 60]

Starts `miscope serve` on an analyzed variant, opens /explore with 4 panels (2 per-epoch,
2 across-epochs) in headless Chromium, waits for every panel's frames, then moves the global
epoch slider --steps times and measures, in the browser, the time from the slider change until
the frame holding every panel's redraw (new epoch's data or cursor) is painted. Prints p50/p95,
where the time went (Dash dispatching the slider change; applying the frames to the plots) and
serve_ready_s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--window-size=1500,1200",
)
PER_EPOCH = (
    "weights.frequency_spectrum.W_E",
    "neurons.frequency_specialization",
    "embedding.basis_norms",
    "weights.basis_spectrum.W_E",
)
ACROSS = ("training.loss_curves", "parameters.pca.pc2_pc3", "training.accuracy_curves")

STEP_SCRIPT = """
const [target, epoch, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const state = window.miscopeExplore;
const t0 = performance.now();
window.dash_clientside.set_props('explore-slider', {value: target});
const label = document.getElementById('explore-epoch-label');
function check() {
  if (label.textContent === 'epoch ' + epoch && state.appliedAt > t0) {
    // the first task after this frame runs once the frame holding the redraw is painted
    setTimeout(function () {
      done([performance.now() - t0, state.changedAt - t0, state.appliedAt - state.changedAt,
            state.panelMs || {}]);
    }, 0);
  } else if (performance.now() - t0 > 5000) { done([-1, -1, -1, {}]); }
  else { requestAnimationFrame(check); }
}
requestAnimationFrame(check);
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, port: int) -> tuple[subprocess.Popen, float]:
    """Run `miscope serve` and return (process, seconds to the first HTTP 200)."""
    started = time.perf_counter()
    command = [
        sys.executable,
        "-c",
        "import sys; from app.cli.main import main; "
        f"sys.exit(main(['serve', '--port', '{port}', '--data-dir', '{data_dir}']))",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while time.perf_counter() - started < 60:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as reply:
                if reply.status == 200:
                    return process, time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("server did not answer within 60 s")


def choose_views(data_dir: Path, variant_id: str) -> list[str]:
    """Two per-epoch and two across-epochs views that this variant can show."""
    from miscope_core.workspace import Workspace
    from services.figures import view_catalog

    available = {
        v["name"] for v in view_catalog(Workspace.open(data_dir), variant_id) if v["available"]
    }
    per_epoch = [v for v in PER_EPOCH if v in available][:2]
    across = [v for v in ACROSS if v in available][: 4 - len(per_epoch)]
    return per_epoch + across


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.binary_location = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
    return webdriver.Chrome(options=options)


def wait_until(driver, script: str, timeout: float, what: str) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if driver.execute_script(script):
            return time.perf_counter() - started
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def measure(port: int, variant_id: str, views: list[str], steps: int) -> dict:
    driver = browser()
    driver.set_script_timeout(30)
    try:
        driver.get(
            f"http://127.0.0.1:{port}/explore?variant={variant_id}&views={','.join(views)}&epoch=0"
        )
        load_s = wait_until(
            driver,
            f"return window.miscopeExplore && window.miscopeExplore.loaded >= {len(views)}",
            300,
            "frames",
        )
        epochs = driver.execute_script("return window.miscopeExplore.epochs")
        latencies = []
        for step in range(steps):
            index = (step + 1) % len(epochs)
            latencies.append(driver.execute_async_script(STEP_SCRIPT, index, epochs[index]))
        return {"latencies": latencies, "frames_load_s": load_s, "epochs": len(epochs)}
    finally:
        driver.quit()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--variant", help="default: the first variant in the workspace")
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    from miscope_core.workspace import Workspace

    variant_id = args.variant or Workspace.open(args.data_dir).list_variants()[0][1]
    views = choose_views(args.data_dir, variant_id)
    port = free_port()
    process, ready_s = start_server(args.data_dir, port)
    try:
        result = measure(port, variant_id, views, args.steps)
    finally:
        process.terminate()
    ok = [x for x in result["latencies"] if x[0] >= 0]
    total, dispatch, apply = ([x[i] for x in ok] for i in range(3))
    report = {
        "variant": variant_id,
        "views": views,
        "checkpoints": result["epochs"],
        "steps": len(result["latencies"]),
        "timeouts": len(result["latencies"]) - len(ok),
        "p50_ms": round(statistics.median(total), 1),
        "p95_ms": round(percentile(total, 0.95), 1),
        "max_ms": round(max(total), 1),
        "dispatch_p50_ms": round(statistics.median(dispatch), 1),
        "apply_p50_ms": round(statistics.median(apply), 1),
        "apply_p95_ms": round(percentile(apply, 0.95), 1),
        "apply_p50_ms_by_panel": {
            view: round(statistics.median(x[3][view] for x in ok if view in x[3]), 1)
            for view in views
            if any(view in x[3] for x in ok)
        },
        "frames_load_s": round(result["frames_load_s"], 2),
        "serve_ready_s": round(ready_s, 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
