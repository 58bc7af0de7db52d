"""The dashboard server: `create_app`, `serve`, `demo` and the optional Celery `worker`.

The web process never imports torch or transformer_lens: jobs run in background-callback
processes (DiskcacheManager, cache under the workspace) or spawned job processes.
"""

from __future__ import annotations

import importlib
import logging
import webbrowser
from pathlib import Path

from services.jobs import JobStore
from services.supervisor import JobSupervisor, resume_interrupted_jobs
from services.workspace import Workspace

PAGES = (  # module, path, name, order
    ("app.pages.home", "/", "Overview", 0),
    ("app.pages.families", "/families", "Families", 1),
    ("app.pages.train", "/train", "Train", 2),
    ("app.pages.analyze", "/analyze", "Analyze", 3),
    ("app.pages.explore", "/explore", "Explore", 4),
    ("app.pages.compare", "/compare", "Compare", 5),
    ("app.pages.jobs", "/jobs", "Jobs", 6),
)
ASSETS = Path(__file__).resolve().parents[1] / "assets"
log = logging.getLogger(__name__)


def background_manager(workspace: Workspace):
    """The background-callback manager: Dash's DiskcacheManager with its cache in the
    workspace, or its CeleryManager on the Redis broker with MISCOPE_JOBS=celery."""
    from dash import DiskcacheManager

    from services.celery_jobs import celery_app, job_backend

    if job_backend() == "celery":
        from dash import CeleryManager

        return CeleryManager(celery_app())

    from app.components.executor import open_diskcache

    return DiskcacheManager(open_diskcache(workspace.cache_dir))


def create_app(
    data_dir: str | Path | None = None,
    manager=None,
    supervise: bool = True,
    host: str | None = None,
):
    """The Dash app over a workspace, answering only requests for loopback or `host`.

    Jobs whose process died are resumed, and (with supervise) a supervisor thread starts
    queued jobs that no process picked up, e.g. when a browser closed right after a launch.
    """
    import dash

    from app.components.common import contained_layout
    from app.context import CONFIG_KEY
    from app.host_guard import install_host_guard, trusted_hosts
    from app.routes import register_routes
    from app.shell import shell_layout

    workspace = Workspace.open(data_dir)
    if supervise:
        resume_interrupted_jobs(workspace.root)
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,  # Bootstrap CSS is vendored in assets/ (offline)
        background_callback_manager=manager or background_manager(workspace),
        title="MIScope",
        update_title=None,
    )
    app.server.config[CONFIG_KEY] = str(workspace.root)
    install_host_guard(app.server, trusted_hosts(host))
    for module_name, path, name, order in PAGES:
        module = importlib.import_module(module_name)
        dash.register_page(
            module_name,
            path=path,
            name=name,
            order=order,
            title=f"MIScope · {name}",
            layout=contained_layout(module.layout, name),
        )
    app.layout = shell_layout()
    for module_name, *_ in PAGES:
        register = getattr(importlib.import_module(module_name), "register_callbacks", None)
        if register is not None:
            register(app, str(workspace.root))
    register_routes(app.server, workspace)
    if supervise:
        app.server.extensions["miscope_job_supervisor"] = JobSupervisor(workspace.root).start()
    return app


def serve(
    host: str = "127.0.0.1",
    port: int = 8050,
    data_dir: str | Path | None = None,
    debug: bool = False,
    open_browser: bool = False,
) -> None:
    """Serve the dashboard (127.0.0.1, debug off unless asked)."""
    app = create_app(data_dir, host=host)
    url = f"http://{host}:{port}/"
    print(f"MIScope dashboard on {url} (workspace {Workspace.open(data_dir).root})", flush=True)
    if open_browser:
        webbrowser.open(url)
    app.run(host=host, port=port, debug=debug)


def demo(
    host: str = "127.0.0.1",
    port: int = 8050,
    data_dir: str | Path | None = None,
    preset: str = "quick",
    family: str = "modulo_addition",
) -> str | None:
    """Serve at once and train + analyze a preset as a job the user watches; reuse what exists."""
    job_id = start_demo_job(data_dir, family, preset)
    workspace = Workspace.open(data_dir)
    if job_id:
        print(
            f"Demo job {job_id}: training + analysis of the '{preset}' preset; watch it on "
            f"http://{host}:{port}/jobs",
            flush=True,
        )
    serve(host, port, workspace.root)
    return job_id


def start_demo_job(data_dir, family: str = "modulo_addition", preset: str = "quick"):
    """Launch (or reuse) the demo job; returns its id, or None when all is already done."""
    from services.launch import launch_training, resume_job, validate_training_request
    from services.registry import variant_state

    workspace = Workspace.open(data_dir)
    store = JobStore(workspace.jobs_db)
    store.mark_stale_interrupted()
    request = validate_training_request(family, preset)
    active = store.active_for(request.variant_id)
    if active is not None:
        return active.id
    state = variant_state(workspace, family, request.variant_id, store)
    if state.state == "analyzed" and state.epochs_completed >= request.training["epochs"]:
        print(f"Variant {request.variant_id} is already trained and analyzed; reusing it.")
        return None
    for job in store.list(limit=20, variant_id=request.variant_id, status=("interrupted",)):
        return resume_job(workspace, job.id).id
    return launch_training(workspace, request, start=True, analyze_after=True).id


def worker(
    data_dir: str | Path | None = None, concurrency: int = 1, name: str | None = None
) -> None:
    """A Celery worker (MISCOPE_REDIS_URL's broker) for the dashboard's background callbacks
    and for jobs; it must share the data dir with the server (see docs/scaling.md)."""
    from dash import CeleryManager

    from services.celery_jobs import celery_app, run_worker

    try:
        manager = CeleryManager(celery_app())
    except RuntimeError as exc:  # the celery extra is missing
        raise SystemExit(str(exc)) from None
    # the app registers its background callbacks as tasks of this Celery app
    create_app(data_dir, manager=manager, supervise=False)
    run_worker(Workspace.open(data_dir).root, concurrency, name)
