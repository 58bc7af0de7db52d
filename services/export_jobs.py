"""Image exports from the dashboard: a bounded queue, and GIF exports with progress and cancel.

Kaleido drives one shared Chromium per process, so image exports (PNG, SVG, PDF, GIF) run one
at a time; a few more may wait, and beyond that a request is refused at once with a "busy, try
again" message instead of piling up threads. A GIF (≈ 1 s per checkpoint) runs as an export
job in a thread of the web process: the page polls its progress and may cancel it between
frames. One `ExportQueue` belongs to one server; nothing here is module-level state.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from miscope_core.views.export import ExportCancelled, FrameCallback

IMAGE_FORMATS = ("png", "svg", "pdf", "gif")  # the formats that need Kaleido's browser
KEEP_FINISHED_S = 600  # a finished job's file stays downloadable this long


class ExportBusy(RuntimeError):
    """More image exports are running and waiting than the queue allows."""


@dataclass
class ExportJob:
    """One background export: its state, progress and, when done, the file."""

    id: str
    label: str
    state: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int = 0
    message: str = ""
    payload: bytes | None = field(default=None, repr=False)
    mime: str = ""
    filename: str = ""
    finished_at: float | None = None
    cancel_requested: bool = False

    def status(self) -> dict[str, Any]:
        """Plain data for the page: state, progress fraction and a line of text."""
        fraction = self.done / self.total if self.total else 0.0
        return {
            "id": self.id,
            "label": self.label,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "fraction": round(fraction, 3),
            "message": self.message,
            "filename": self.filename,
        }


class ExportQueue:
    """At most `slots` image exports render at once; at most `max_waiting` more wait."""

    def __init__(self, slots: int = 1, max_waiting: int | None = None):
        self.slots = slots
        self.max_waiting = (
            int(os.environ.get("MISCOPE_EXPORT_QUEUE", "3")) if max_waiting is None else max_waiting
        )
        self._running = threading.Semaphore(slots)
        self._lock = threading.Lock()
        self._admitted = 0
        self._jobs: dict[str, ExportJob] = {}

    @property
    def capacity(self) -> int:
        """How many image exports may be admitted (running plus waiting)."""
        return self.slots + self.max_waiting

    def _admit(self) -> None:
        with self._lock:
            if self._admitted >= self.capacity:
                raise ExportBusy(
                    f"Busy: {self._admitted} image exports are running or waiting "
                    f"(the limit is {self.capacity}); try again in a minute"
                )
            self._admitted += 1

    def _leave(self) -> None:
        with self._lock:
            self._admitted -= 1

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Run the block as one image export: wait for a free slot, or raise ExportBusy."""
        self._admit()
        try:
            with self._running:
                yield
        finally:
            self._leave()

    def submit(
        self, label: str, work: Callable[[FrameCallback], tuple[bytes, str, str]]
    ) -> ExportJob:
        """Start `work(on_frame)` in a thread as an export job; raises ExportBusy when full."""
        self._prune()
        self._admit()
        job = ExportJob(uuid.uuid4().hex[:12], label)
        with self._lock:
            self._jobs[job.id] = job
        threading.Thread(
            target=self._run, args=(job, work), daemon=True, name=f"export-{job.id}"
        ).start()
        return job

    def get(self, job_id: str) -> ExportJob:
        """A job by id; KeyError when unknown or expired."""
        with self._lock:
            if job_id not in self._jobs:
                raise KeyError(
                    f"No export job '{job_id}' (finished exports are kept "
                    f"{KEEP_FINISHED_S // 60} minutes)"
                )
            return self._jobs[job_id]

    def cancel(self, job_id: str) -> ExportJob:
        """Ask a job to stop at its next frame."""
        job = self.get(job_id)
        job.cancel_requested = True
        if job.state == "queued":
            job.message = "cancelling…"
        return job

    def _run(self, job: ExportJob, work: Callable[[FrameCallback], tuple[bytes, str, str]]):
        def on_frame(done: int, total: int) -> None:
            job.done, job.total = done, total
            frames = total // 2
            job.message = (
                f"drawing frame {done} of {frames}"
                if done <= frames
                else f"rendering frame {done - frames} of {frames}"
            )
            if job.cancel_requested:
                raise ExportCancelled("export cancelled")

        try:
            with self._running:
                if job.cancel_requested:
                    raise ExportCancelled("export cancelled before it started")
                job.state, job.message = "running", "drawing the frames…"
                job.payload, job.mime, job.filename = work(on_frame)
            job.state, job.message = "done", f"{job.filename} ready"
        except ExportCancelled:
            job.state, job.message = "cancelled", "export cancelled"
        except Exception as exc:  # the page shows the reason; the server stays up
            job.state, job.message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished_at = time.monotonic()
            self._leave()

    def _prune(self) -> None:
        cutoff = time.monotonic() - KEEP_FINISHED_S
        with self._lock:
            for job_id in [
                j.id
                for j in self._jobs.values()
                if j.finished_at is not None and j.finished_at < cutoff
            ]:
                del self._jobs[job_id]


def start_panel_export(
    queue: ExportQueue,
    workspace: Any,
    variant_id: str,
    view: str,
    fmt: str,
    epoch: int | None,
    params: dict[str, Any],
) -> ExportJob:
    """Check the request (variant, view, format, parameters), then export it as a job."""
    from miscope_core.views import get_view, validate_params
    from miscope_core.views.export import check_format, export_source_bytes
    from miscope_core.views.source import open_source

    fmt = check_format(fmt)
    if fmt not in IMAGE_FORMATS:
        raise ValueError(
            f"Export jobs are for image formats {list(IMAGE_FORMATS)}; download {fmt} directly"
        )
    source = open_source(workspace, variant_id)
    spec = get_view(view)
    validate_params(spec, params, source.model)

    def work(on_frame: FrameCallback) -> tuple[bytes, str, str]:
        return export_source_bytes(source, spec.name, fmt, epoch, on_frame=on_frame, **params)

    return queue.submit(f"{spec.name}.{fmt}", work)
