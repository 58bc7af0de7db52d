"""Terminal front end of training and analysis: the dashboard's job runner, in the foreground.

`miscope train` and `miscope analyze` write a job record and run it through the same job
process as the Train and Analyze pages (same thread budget, slot queue and variant lock), so
the Jobs page lists CLI work too. The command follows the record and prints progress; Ctrl-C
asks the job to stop at its next epoch or checkpoint (a second Ctrl-C stops waiting); the exit
code reflects the final status.
"""

from __future__ import annotations

import signal
import sys
import time

from tqdm import tqdm

EXIT_CODES = {"done": 0, "cancelled": 130}  # failed or interrupted: 1
POLL_S = 0.3


def run_training_command(args, params: dict, overrides: dict) -> int:
    """Validate like the Train page, record a job, run it in the foreground."""
    from miscope_core.specs import check_device
    from miscope_core.workspace import Workspace
    from services.launch import launch_training, validate_training_request

    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.checkpoints is not None:
        overrides["checkpoints"] = args.checkpoints
    request = validate_training_request(args.family, args.preset, params, overrides)
    check_device(args.device)  # refused before the workspace is created
    workspace = Workspace.open(args.data_dir)
    target = workspace.variant_paths(request.family, request.variant_id).root
    print(f"Variant {request.variant_id} -> {target}")
    job = launch_training(
        workspace,
        request,
        start=False,
        analyze_after=bool(getattr(args, "analyze", False)),
        device=args.device,
    )
    return follow_job(workspace, job.id)


def run_analysis_command(args, raw_params: dict) -> int:
    """Record an analysis job for a variant and run it in the foreground."""
    from miscope_core.workspace import Workspace
    from services.launch import launch_analysis

    workspace = Workspace.open(args.data_dir)
    names = [n.strip() for n in args.analyzers.split(",")] if args.analyzers else None
    params: dict[str, dict] = {}
    for key, value in raw_params.items():
        analyzer, _, name = key.rpartition(".")
        if not analyzer:
            raise ValueError(f"--param '{key}' must be ANALYZER.NAME=VALUE")
        params.setdefault(analyzer, {})[name] = _number(value)
    job = launch_analysis(
        workspace,
        args.variant,
        names,
        start=False,
        device=args.device,
        analyzer_params=params or None,
    )
    return follow_job(workspace, job.id)


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def follow_job(workspace, job_id: str) -> int:
    """Start a queued job's process and print its progress until it ends; return an exit code."""
    from services.jobs import JobStore
    from services.launch import start_job

    store = JobStore(workspace.jobs_db)
    print(f"Job {job_id} (listed on the Jobs page; Ctrl-C cancels, keeping every checkpoint)")
    process = start_job(workspace, job_id)
    note = (
        "Cancelling at the next epoch or checkpoint (Ctrl-C again to stop waiting; "
        "the job then finishes cancelling on its own)"
    )
    cancel = CancelOnInterrupt(lambda: _cancel_if_active(store, job_id), note)
    with cancel, _JobBar() as bar:
        while True:
            job = store.get(job_id)
            bar.show(job)
            if not job.active:
                break
            if process is not None and process.poll() is not None:  # gone, record open
                store.mark_stale_interrupted()
            time.sleep(POLL_S)
    if process is not None:  # None: a Celery worker runs it (MISCOPE_JOBS=celery)
        process.wait()
    return _summarize(store.get(job_id))


def _summarize(job) -> int:
    print(f"{job.status}: {job.variant_id}: {job.message}".rstrip(": "))
    if job.error:
        print(job.error.strip(), file=sys.stderr)
    if job.status in ("cancelled", "interrupted"):
        print("Resume it from the Jobs page or run the same command again.")
    return EXIT_CODES.get(job.status, 1)


class _JobBar:
    """A percentage bar over the job record, plus its new log lines as they appear.

    Without a terminal (a log file, CI) it prints a line when the stage or percentage changes.
    """

    def __enter__(self):
        self.tty = sys.stderr.isatty()
        self.bar = tqdm(
            total=100,
            dynamic_ncols=True,
            disable=not self.tty,
            bar_format="{percentage:3.0f}%|{bar}| {elapsed} {desc}",
        )
        self.last_line, self.last_state = None, None
        return self

    def show(self, job) -> None:
        lines = job.log.splitlines()
        # the record keeps a rolling tail, so find where we stopped by content, not by count
        seen = max((i for i, line in enumerate(lines) if line == self.last_line), default=-1)
        for line in lines[seen + 1 :]:
            self.bar.write(line, file=sys.stdout)
        self.last_line = lines[-1] if lines else self.last_line
        label = job.status_text if job.status == "queued" else (job.stage or job.status)
        percent = round(100 * (job.progress or 0))
        if self.tty:
            self.bar.set_description_str(f"{label} · {job.message}", refresh=False)
            self.bar.n = percent
            self.bar.refresh()
        elif (label, percent) != self.last_state:
            print(f"{percent:3d}% {label}: {job.message}", flush=True)
        self.last_state = (label, percent)

    def __exit__(self, *exc):
        self.bar.close()


class CancelOnInterrupt:
    """First Ctrl-C: call `cancel` (a cooperative cancel) and print `note`. Second: stop
    waiting (KeyboardInterrupt; the work finishes cancelling on its own)."""

    def __init__(self, cancel, note: str):
        self.cancel, self.note, self.pressed = cancel, note, 0

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, _signum, _frame) -> None:
        self.pressed += 1
        if self.pressed > 1:
            raise KeyboardInterrupt
        self.cancel()
        print(f"\n{self.note}", file=sys.stderr)

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.previous)


def _cancel_if_active(store, job_id: str) -> None:
    job = store.get(job_id)
    if job.active and job.status != "cancelling":
        store.request_cancel(job_id)
