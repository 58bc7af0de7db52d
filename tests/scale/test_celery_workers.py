"""Scale-out for real: a Redis server, two `miscope worker` processes, jobs launched from the app.

The page's executor callback runs on Celery (Dash's CeleryManager) and sends each job to the
workers; progress and cancel go through the job records; a worker killed with SIGKILL mid-job
has its variant resumed by the other worker, ending with the weights of an unbroken run.
"""

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="needs Debian's redis-server (apt-get install redis-server; .ci/run installs it)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("celery") is None,
        reason="needs the celery extra (uv sync --all-extras)",
    ),
]
REPO = Path(__file__).resolve().parents[2]
TRAINING = {"epochs": 300, "checkpoints": "every:50"}
SEEDS = (1, 2, 3)
TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A private redis-server on a free port (no system service), stopped afterwards."""
    import redis

    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)


@pytest.fixture
def celery_env(tmp_path, redis_url, monkeypatch):
    """MISCOPE_JOBS=celery on the private Redis, for this process and the workers."""
    from services.celery_jobs import celery_app

    monkeypatch.setenv("MISCOPE_JOBS", "celery")
    monkeypatch.setenv("MISCOPE_REDIS_URL", redis_url)
    monkeypatch.setenv("MISCOPE_THREADS", "1")
    celery_app.cache_clear()
    yield {**os.environ}
    celery_app.cache_clear()


@pytest.fixture
def workers(tmp_path, celery_env):
    """Two `miscope worker` processes, each in its own session (killable as a whole)."""
    started = []
    for name in ("w1", "w2"):
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed below
        command = [sys.executable, "-m", "app.cli.main", "worker", "--name", f"{name}@%h"]
        process = subprocess.Popen(
            [*command, "--data-dir", str(tmp_path / "data")],
            cwd=REPO,
            env=celery_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, log))
    yield [p for p, _ in started]
    for process, log in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # only the sessions this fixture started
            process.wait(10)
        log.close()


def trigger_executor(data_dir: Path, job_ids: list[str]) -> None:
    """What the Train page does after writing the records: fire its background callback."""
    from app.server import create_app

    client = create_app(data_dir, supervise=False).server.test_client()
    reply = client.post(
        "/_dash-update-component",
        json={
            "output": "train-exec-ran.data",
            "outputs": {"id": "train-exec-ran", "property": "data"},
            "inputs": [{"id": "train-exec-run", "property": "data", "value": job_ids}],
            "changedPropIds": ["train-exec-run.data"],
            "state": [],
        },
    )
    assert reply.status_code in (200, 202, 204), reply.data[:500]


def test_two_workers_run_cancel_and_recover_jobs(tmp_path, workers):
    from miscope_core.training.checkpoints import load_checkpoint
    from miscope_core.training.trainer import train_variant
    from miscope_core.variants import VariantSpec
    from services.jobs import JobStore
    from services.launch import cancel_job, launch_training, validate_training_request
    from services.workspace import Workspace

    workspace = Workspace.open(tmp_path / "data")
    store = JobStore(workspace.jobs_db)
    requests = [
        validate_training_request("modulo_addition", "tiny", {"prime": 11, "seed": s}, TRAINING)
        for s in SEEDS
    ]
    jobs = [launch_training(workspace, r, start=False, device="cpu") for r in requests]
    trigger_executor(workspace.root, [j.id for j in jobs])

    def two_running_one_advanced():
        running = [j for j in map(store.get, (j.id for j in jobs)) if j.status == "running"]
        advanced = [j for j in running if 0.3 <= j.progress < 0.9]
        return len(running) == 2 and advanced and (advanced[0], running)

    victim, running = wait_for(
        two_running_one_advanced, TIMEOUT_S, "two jobs running on two workers"
    )
    other = next(j for j in running if j.id != victim.id)
    session = os.getpgid(victim.pid)
    assert session in {w.pid for w in workers}, "the job runs in one of our worker sessions"
    assert os.getpgid(other.pid) != session, "each worker runs one job"
    os.killpg(session, signal.SIGKILL)
    cancel_job(workspace, other.id)

    assert wait_for(lambda: store.get(other.id).status == "cancelled", TIMEOUT_S, "the cancel")
    done = wait_for(
        lambda: all(store.get(j.id).status == "done" for j in jobs if j.id != other.id),
        TIMEOUT_S,
        "the killed job and the queued one to finish on the surviving worker",
    )
    assert done
    resumed = store.get(victim.id)
    assert resumed.attempts == 2 and resumed.pid != victim.pid
    assert store.get(other.id).message.startswith("cancelled at epoch")

    request = next(r for r in requests if r.variant_id == victim.variant_id)
    spec = VariantSpec.from_dict({"family": "modulo_addition", **request.job_params()})
    unbroken = train_variant(spec, Workspace.open(tmp_path / "reference"), "cpu")
    kept = workspace.variant_paths("modulo_addition", victim.variant_id).checkpoints
    for key, value in load_checkpoint(unbroken.paths.checkpoints, 300).items():
        assert torch.equal(value, load_checkpoint(kept, 300)[key]), key
