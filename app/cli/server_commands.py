"""`miscope serve`, `miscope demo` and `miscope worker` subcommands."""

from __future__ import annotations


def add_parser(sub, data_dir_parent) -> None:
    """Register the server subcommands."""
    for name, help_text in (
        ("serve", "serve the dashboard"),
        ("demo", "serve the dashboard and train + analyze the quick calibration variant as a job"),
    ):
        p = sub.add_parser(name, parents=[data_dir_parent], help=help_text)
        p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8050)
        if name == "serve":
            p.add_argument("--debug", action="store_true", help="Dash debug mode (dev only)")
        p.set_defaults(func=_run_serve if name == "serve" else _run_demo)
    p = sub.add_parser(
        "worker",
        parents=[data_dir_parent],
        help="run a Celery worker for jobs on MISCOPE_REDIS_URL (needs the celery extra)",
    )
    p.add_argument("--concurrency", type=int, default=1, help="jobs run at once (default 1)")
    p.add_argument("--name", help="worker name, e.g. gpu1@%%h (default: celery@<host>)")
    p.set_defaults(func=_run_worker)


def _run_serve(args) -> int:
    from app.server import serve

    serve(host=args.host, port=args.port, data_dir=args.data_dir, debug=args.debug)
    return 0


def _run_demo(args) -> int:
    from app.server import demo

    demo(host=args.host, port=args.port, data_dir=args.data_dir)
    return 0


def _run_worker(args) -> int:
    from app.server import worker

    worker(data_dir=args.data_dir, concurrency=args.concurrency, name=args.name)
    return 0
