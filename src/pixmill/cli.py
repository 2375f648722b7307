"""`pixmill …`: serve the API, process files locally, manage the database, list operations."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pixmill.config import Settings


def _readable_help_types() -> None:
    """Help shows an option's metavar or a plain type name (TEXT, INTEGER, PATH), not Python annotations.

    typer 0.29 prints annotations such as <list[Path]>, <int range> and <bool> (even on flags, which take no
    value); an argument's metavar already names it.
    """
    from typer.core import TyperArgument, TyperOption

    names = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "Path": "PATH", "path": "PATH", "bool": "BOOLEAN"}

    def label(typer_label: str, many: bool) -> str:
        inner = typer_label.strip("<>").removesuffix(" range")
        if inner.startswith("list[") and inner.endswith("]"):
            inner, many = inner[5:-1], True
        if inner not in names:
            return typer_label  # choices (<fit|fill|exact>) read well as they are
        return names[inner] + ("..." if many else "")

    def argument_type(self: TyperArgument, ctx: Any) -> str | None:
        return None if self.metavar else label(TyperArgument.display_type(self, ctx), self.nargs != 1)

    def option_type(self: TyperOption, ctx: Any) -> str | None:
        if self.metavar is not None:
            return self.metavar
        if self.is_flag or self.count:
            return None
        return label(TyperOption.display_type(self, ctx), self.nargs != 1)

    TyperArgument.display_type_rich = argument_type  # type: ignore[method-assign,assignment]
    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]


_readable_help_types()
app = typer.Typer(help="pixmill: image pipelines on one processing core.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
dlq_app = typer.Typer(help="Dead-lettered job messages (celery runner).", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
palettes_app = typer.Typer(help="Drill palettes (data, versioned).", no_args_is_help=True)
app.add_typer(palettes_app, name="palettes")
users_app = typer.Typer(help="Local accounts (the first admin, for one).", no_args_is_help=True)
app.add_typer(users_app, name="users")
api_keys_app = typer.Typer(help="API keys of an account.", no_args_is_help=True)
app.add_typer(api_keys_app, name="api-keys")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes (PIXMILL_RUNNER=celery only: embedded jobs run in one API).")
    ] = 1,
) -> None:
    """Serve the API, its docs at /docs and the upload page at /."""
    import uvicorn

    from pixmill.metrics.multiproc import enable as enable_metrics

    settings = Settings()
    # Before anything else starts: uvicorn's and the pools' processes inherit it; a previous run's files go
    enable_metrics(settings.resolved_metrics_dir)

    from pixmill.api.server import PROTOCOL
    from pixmill.app import create_app

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "timeout_graceful_shutdown": 10,
        "http": PROTOCOL,
        "timeout_keep_alive": settings.keep_alive_s,
    }
    if workers > 1:
        if settings.runner != "celery":
            typer.echo("error: --workers > 1 needs PIXMILL_RUNNER=celery (embedded jobs run inside one API)", err=True)
            raise typer.Exit(2)
        # each process builds its own app from the environment's settings
        uvicorn.run("pixmill.app:create_app", factory=True, workers=workers, **options)
        return
    uvicorn.run(create_app(settings), **options)


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Queue to serve: standard, or ml (one job at a time).")],
    concurrency: Annotated[int | None, typer.Option(help="Processes; default PIXMILL_WORKERS (ml: 1).")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve this host's metrics (PIXMILL_METRICS_DIR) in Prometheus' format on this port, for a host "
            "with no API to scrape; no authentication: bind it where only the scraper reaches it.",
        ),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface of --metrics-port.")] = "127.0.0.1",
) -> None:
    """Run a Celery worker for jobs (PIXMILL_RUNNER=celery on the API; broker at PIXMILL_BROKER_URL)."""
    from pixmill.metrics.multiproc import enable as enable_metrics
    from pixmill.metrics.multiproc import process_exited

    settings = Settings()
    # Before Celery forks its pool: every process of this worker writes to the host's metrics directory. The API
    # of this host (or --metrics-port, on a host without one) deletes the files of processes long gone.
    enable_metrics(settings.resolved_metrics_dir, sweep=metrics_port is not None)

    from celery.signals import worker_process_init, worker_process_shutdown
    from kombu import Connection

    from pixmill.db.session import make_engine, upgrade
    from pixmill.worker.celery_app import declare_topology, make_celery, warm_worker_context
    from pixmill.worker.registry import QUEUES

    names = [q.strip() for q in queues.split(",") if q.strip()]
    if not names or any(q not in QUEUES for q in names):
        typer.echo(f"error: --queues takes {' or '.join(QUEUES)}", err=True)
        raise typer.Exit(2)
    from pixmill.logs import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    upgrade(make_engine(settings.resolved_database_url))
    with Connection(settings.broker_url, connect_timeout=10) as conn:
        declare_topology(conn)
    argv = [
        "worker",
        "-Q",
        ",".join(names),
        "--loglevel",
        loglevel,
        "-n",
        f"pixmill-{'-'.join(names)}-{os.getpid()}@%h",
    ]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    # ml: one job at a time (models are big), yet in a pool process like standard work: the time limits need one,
    # and a job that crashes its process loses only that process, and gets its message redelivered.
    processes = concurrency or (1 if "ml" in names else settings.workers)
    argv += ["--pool", "prefork", "--concurrency", str(processes)]

    @worker_process_init.connect(weak=False)
    def warm(**_: Any) -> None:
        warm_worker_context(settings)

    @worker_process_shutdown.connect(weak=False)
    def gone(**_: Any) -> None:
        process_exited(os.getpid())

    if metrics_port is not None:
        from prometheus_client import CollectorRegistry, start_http_server
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        start_http_server(metrics_port, metrics_host, registry=registry)
    make_celery(settings).worker_main(argv)


@app.command("worker-health")
def worker_health(
    queues: Annotated[str, typer.Option(help="The --queues of the worker to check: standard, or ml.")] = "standard",
    pid: Annotated[int | None, typer.Option(help="Its process id; default: any such worker on this host.")] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for the answer.")] = 10.0,
) -> None:
    """Exit 0 if a `pixmill worker` on this host answers a ping through the broker (a health check for systemd,
    cron or a container; `pixmill worker` names itself pixmill-<queues>-<pid>@<host>), else 1."""
    import socket

    from pixmill.worker.celery_app import make_celery

    settings = Settings()
    names = "-".join(q.strip() for q in queues.split(",") if q.strip())
    prefix = f"pixmill-{names}-{pid}@" if pid is not None else f"pixmill-{names}-"
    host = socket.gethostname()
    celery = make_celery(settings)
    try:
        if pid is not None:  # one named worker: done at its answer
            answers = celery.control.ping(destination=[f"{prefix}{host}"], limit=1, timeout=timeout)
        else:  # any of them: every answer within the timeout
            answers = celery.control.ping(timeout=timeout)
    except Exception as exc:
        typer.echo(f"error: the broker cannot be reached: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        celery.close()
    alive = sorted(
        name
        for answer in answers
        for name, reply in answer.items()
        if name.startswith(prefix) and name.endswith(f"@{host}") and reply.get("ok") == "pong"
    )
    if not alive:
        typer.echo(f"error: no worker {prefix}*@{host} answered within {timeout:g} s", err=True)
        raise typer.Exit(1)
    for name in alive:
        typer.echo(f"{name}: pong")


@app.command()
def beat(loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO") -> None:
    """Send the periodic tasks (celery beat): expiry every PIXMILL_CLEANUP_INTERVAL_S. Run exactly one."""
    from kombu import Connection

    from pixmill.logs import configure_logging
    from pixmill.worker.celery_app import declare_topology, make_celery

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    with Connection(settings.broker_url, connect_timeout=10) as conn:
        declare_topology(conn)
    make_celery(settings).start(["beat", "--loglevel", loglevel])


@dlq_app.command("list")
def dlq_list() -> None:
    """List the dead-lettered messages with the reason RabbitMQ recorded; they stay in the queue."""
    from pixmill.worker.dlq import list_dead

    dead = list_dead(Settings().broker_url)
    for d in dead:
        typer.echo(
            f"{d.task_id or '-':<34} {d.task or '(not a task)':<16} reason={d.reason} queue={d.queue} "
            f"deaths={d.count} requeued={d.requeued} content_type={d.content_type} bytes={d.size}"
        )
    typer.echo(f"{len(dead)} dead-lettered message(s)")


@dlq_app.command("requeue")
def dlq_requeue(
    job_id: Annotated[
        str | None, typer.Option("--id", help="Requeue only the message of this job (its id); the others stay.")
    ] = None,
) -> None:
    """Put every dead-lettered message back on the queue it was dead-lettered from (a FAILED job: to PENDING)."""
    from pixmill.worker.dlq import DeadLetter, reopen_job, requeue_dead
    from pixmill.worker.registry import RUN_JOB

    ctx: Any = None
    reopened = 0

    def reopen(dead: DeadLetter) -> None:
        nonlocal ctx, reopened
        if dead.task != RUN_JOB or not dead.task_id:
            return
        if ctx is None:  # only a job message needs the database
            ctx = _context()
        reopened += reopen_job(ctx, dead.task_id)

    try:
        moved = requeue_dead(Settings().broker_url, before_publish=reopen, task_id=job_id)
    finally:
        if ctx is not None:
            ctx.close()
    for d in moved:
        typer.echo(f"requeued {d.task_id or '-'} onto {d.queue}")
    typer.echo(f"{len(moved)} message(s) requeued, {reopened} failed job(s) back to PENDING")
    if job_id is not None and not moved:
        typer.echo(f"error: no dead-lettered message of job {job_id}", err=True)
        raise typer.Exit(1)


@dlq_app.command("purge")
def dlq_purge() -> None:
    """Drop every dead-lettered message for good; their jobs stay FAILED."""
    from pixmill.worker.dlq import purge_dead

    dropped = purge_dead(Settings().broker_url)
    typer.echo(f"{dropped} dead-lettered message(s) dropped")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the database schema up to date (the server also does this at start)."""
    from pixmill.db.session import make_engine, upgrade

    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine, revision)
    typer.echo(f"database at {revision}: {engine.url.render_as_string()}")


def _context() -> Any:
    from pixmill.context import Context
    from pixmill.db.session import upgrade

    ctx = Context.from_settings(Settings())
    upgrade(ctx.engine)
    return ctx


@palettes_app.command("import")
def palettes_import(
    name: Annotated[str, typer.Argument(help="Palette name, e.g. dmc.", metavar="NAME")],
    csv_file: Annotated[Path, typer.Argument(help="CSV with header code,name,r,g,b.", metavar="FILE.csv")],
) -> None:
    """Import a palette CSV as the next version of NAME."""
    from pixmill.canvas.types import CanvasError
    from pixmill.palettes.service import import_csv

    try:
        row = import_csv(_context(), name, csv_file.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        typer.echo(f"error: {csv_file}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    except CanvasError as exc:
        lines = [f"  line {e.get('line')}: {e['message']}" for e in exc.errors]
        typer.echo("\n".join([f"error: {exc.message}", *lines]), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"imported {row.name} version {row.version}: {len(row.colors)} colours")


@palettes_app.command("list")
def palettes_list() -> None:
    """List every palette version."""
    from pixmill.palettes.service import list_palettes

    for row in list_palettes(_context()):
        typer.echo(f"{row.name:<20} v{row.version:<4} {len(row.colors)} colours")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The account's e-mail address (its sign-in name).")],
    role: Annotated[
        list[str] | None, typer.Option(help="A role: user, staff or admin; repeat for several (user is implied).")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name; default: the e-mail's local part.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No password: the account signs in through single sign-on only.")
    ] = False,
) -> None:
    """Create an account; the password is prompted for (twice) unless --password-stdin or --no-password."""
    from pixmill.accounts.service import create_account
    from pixmill.errors import PixmillError

    if password_stdin and no_password:
        typer.echo("error: --password-stdin and --no-password exclude each other", err=True)
        raise typer.Exit(2)
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_account(_context(), email, password, roles=role or ["user"], display_name=name, via="cli")
    except PixmillError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {user.email} ({', '.join(user.roles)}) id {user.id}")


@users_app.command("list")
def users_list() -> None:
    """List every account: e-mail, roles, how it signs in, whether it is disabled."""
    from pixmill.identity.repository import users

    with _context().session() as s:
        rows = users(s)
        for u in rows:
            how = "+".join(w for w, has in (("password", u.password_hash), ("sso", u.sso_subject)) if has) or "none"
            state = " disabled" if u.disabled else ""
            typer.echo(f"{u.email:<40} {','.join(u.roles):<16} {how:<12} {u.id}{state}")
    typer.echo(f"{len(rows)} account(s)")


@api_keys_app.command("create")
def api_keys_create(
    email: Annotated[str, typer.Option(help="The account the key acts as.")],
    name: Annotated[str, typer.Option(help="What the key is for (shown in lists).")],
    scopes: Annotated[str, typer.Option(help="Comma-separated scopes, e.g. jobs,assets or orders,palettes.")],
    expires_days: Annotated[
        int | None, typer.Option(min=1, max=36500, help="Days until it stops working; default never.")
    ] = None,
) -> None:
    """Create an API key for an account and print it once (only its hash is kept)."""
    from datetime import UTC, datetime, timedelta

    from pixmill.errors import PixmillError
    from pixmill.identity import audit
    from pixmill.identity.repository import user_by_email
    from pixmill.identity.service import create_api_key

    ctx = _context()
    with ctx.session() as s:
        user = user_by_email(s, email.strip())
    if user is None:
        typer.echo(f"error: no account with e-mail {email.strip().lower()}", err=True)
        raise typer.Exit(1)
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    try:
        key, token = create_api_key(ctx, user.id, name, [x.strip() for x in scopes.split(",") if x.strip()], expires)
    except PixmillError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    with ctx.session() as s:
        audit.record(s, "api_key_created", user_id=user.id, key_id=key.id, scopes=list(key.scopes), via="cli")
        s.commit()
    typer.echo(token)
    typer.echo(f"key {key.id} for {user.email}, scopes {','.join(key.scopes)}: shown this once", err=True)


@app.command("operations")
def list_operations(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the README's Markdown table.")] = False,
) -> None:
    """List the operation catalogue with each operation's parameters."""
    from pixmill.imaging.catalogue import describe
    from pixmill.imaging.catalogue import markdown as markdown_table

    if markdown:
        typer.echo(markdown_table(), nl=False)
        return
    for op in describe():
        params = ", ".join(op["params"].get("properties", {}))
        typer.echo(f"{op['name']:<10} {op['summary']}  [{params}]")


@app.command("models")
def list_models() -> None:
    """List the model files each ML operation needs, whether they are installed, and how to fix what is not."""
    from pixmill.ml.manifest import MANIFEST
    from pixmill.ml.model_files import status

    settings = Settings()
    models_dir = settings.resolved_models_dir
    typer.echo(f"models directory: {models_dir}  (PIXMILL_MODELS_DIR)")
    if not models_dir.is_dir():
        typer.echo(
            f"           fix: mkdir -p {models_dir} and put the files below in it, "
            "or set PIXMILL_MODELS_DIR to the folder that holds them"
        )
    for name in MANIFEST:
        st = status(models_dir, name)
        typer.echo(f"{st.state:<10} {name:<18} {st.model.path:<30} used by {', '.join(st.model.used_by)}")
        if st.state == "missing":
            typer.echo(f"           fix: put {st.model.source} at {st.path}  (sha256 {st.model.sha256})")
        elif st.state == "corrupt":
            typer.echo(
                f"           fix: {st.path} is not the expected file; replace it with {st.model.source} "
                f"(sha256 {st.model.sha256})"
            )
    typer.echo(f"ML packages: {ml_packages_line()}")
    typer.echo(f"ML device: {ml_device_line(settings.ml_device)}  (PIXMILL_ML_DEVICE)")


def ml_packages_line() -> str:
    """Whether the ml extra's packages are importable, and the command that installs them when not."""
    from importlib.util import find_spec

    missing = [name for name in ("torch", "onnxruntime", "cv2") if find_spec(name) is None]
    if not missing:
        return "torch, onnxruntime and OpenCV are installed"
    return f"{', '.join(missing)} missing; fix: pip install -c requirements.lock -e '.[ml]'"


def ml_device_line(setting: str) -> str:
    """Where inference runs for a device setting, and which engine denoise takes there."""
    from pixmill.ml import dncnn
    from pixmill.ml.device import resolve
    from pixmill.ml.errors import ModelUnavailable

    try:
        dncnn.require_torch()
        device = resolve(setting)
    except ModelUnavailable as exc:
        return f"{setting}: {exc.message}"
    if dncnn.engine(device) == "compiled":
        how = "compiled Winograd kernel (pixmill.ml._winograd)"
    elif device == "cpu":
        how = "torch convolutions (the C extension was not built: install with a C compiler for ~3x the speed)"
    else:
        how = "torch on the GPU"
    return f"{setting} -> {device}; denoise runs on {how}"


PROCESS_EPILOG = (
    "Examples:  pixmill process photos/ -r --op resize:width=800 --op webp:quality=80 -o out/  ·  "
    "pixmill process a.jpg --op thumbnails:sizes=160;320;640  ·  pixmill process a.jpg --pipeline web.json -o out/"
)


@app.command(epilog=PROCESS_EPILOG)
def process(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Image files and folders (a folder's images; its subfolders too with -r).", metavar="PATH"),
    ],
    op: Annotated[
        list[str] | None,
        typer.Option(
            "--op",
            metavar="NAME:KEY=VALUE,…",
            help="A step, run in the order given (repeat). List items are separated by ';' (quote the step): "
            "'thumbnails:sizes=160;320'. jpeg/png/webp/avif/gif/tiff stand for convert:format=….",
        ),
    ] = None,
    pipeline_file: Annotated[
        Path | None,
        typer.Option(
            "--pipeline",
            metavar="FILE.json",
            help="A whole pipeline (the API's pipeline JSON: a DAG with several named outputs) instead of --op.",
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("-o", "--out", metavar="FOLDER", help="Output folder; outputs mirror the input tree.")
    ] = Path("."),
    recursive: Annotated[bool, typer.Option("-r", "--recursive", help="Take images in subfolders too.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "-j",
            "--jobs",
            min=1,
            metavar="N",
            help="Processes to run files in, two files at a time each \\[default: one per CPU].",
        ),
    ] = None,
    palette: Annotated[
        list[str] | None,
        typer.Option(
            "--palette",
            metavar="[NAME=]FILE.csv",
            help="A drill palette CSV (code,name,r,g,b) for canvas_preview, named NAME or its file's stem; "
            "otherwise palettes come from the database (pixmill palettes import).",
        ),
    ] = None,
) -> None:
    """Run a pipeline over local files in parallel, with the same code the server runs.

    Outputs are named after their input: <stem>.<ext> for a chain of --op steps,
    <stem>.<output>.<ext> for --pipeline outputs (a fan-out's: <output>-<key>),
    <stem>.<output>.json for data. Inputs are never written over.
    """
    import time

    from pixmill import batch
    from pixmill.canvas.types import Palettes
    from pixmill.imaging.errors import ImagingError
    from pixmill.imaging.pipeline import Pipeline

    def fail(message: str, code: int = 2) -> typer.Exit:
        typer.echo(f"error: {message}", err=True)
        return typer.Exit(code)

    try:
        pipeline = _read_pipeline(op or [], pipeline_file)
    except ImagingError as exc:
        errors = getattr(exc, "errors", [])
        lines = [f"  {e.get('node') or ''} {e.get('field') or ''}: {e['message']}" for e in errors]
        typer.echo("\n".join([f"error: {exc.message}", *lines]), err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    assert isinstance(pipeline, Pipeline)
    try:
        palettes = _palettes_for(pipeline.names_needed(Palettes), palette or [])
        sources = batch.sources_for(inputs, recursive, out)
    except (batch.BatchRefused, ValueError) as exc:
        raise fail(exc.message if isinstance(exc, batch.BatchRefused) else str(exc)) from None
    ctx = Settings().run_context(palettes=palettes)
    writer = batch.Writer(out, sources, chain=pipeline_file is None)
    workers = jobs or batch.default_jobs()
    t0 = time.perf_counter()
    failures, written = _run_batch(sources, batch.PipelineJob(pipeline.to_json(), ctx), writer, workers, "processing")
    seconds = time.perf_counter() - t0
    used = min(workers, len(sources))
    typer.echo(
        f"{len(sources) - failures} of {len(sources)} file(s) done, {written} output(s) in {out}, "
        f"{seconds:.1f} s with {used} process{'es' if used > 1 else ''}"
    )
    if failures:
        typer.echo(f"{failures} of {len(sources)} file(s) failed", err=True)
        raise typer.Exit(1)


def _run_batch(sources: list[Any], job: Any, writer: Any, workers: int, label: str) -> tuple[int, int]:
    """Run `job` over the files in `workers` processes under one progress bar, writing what each gives;
    each failure is named on stderr. Returns (files failed, outputs written)."""
    from rich.console import Console
    from rich.text import Text

    from pixmill import batch

    failures = written = 0
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    progress = Progress(*columns, console=console, transient=not console.is_terminal)
    try:
        # the progress bar (a thread) starts once the pool's processes exist
        outcomes = batch.run_all(sources, job, workers, on_start=progress.start)
        task = progress.add_task(label, total=len(sources))
        for index, files, error in outcomes:
            source = sources[index]
            for name, extension, data in files:
                try:
                    writer.write(source, name, extension, data)
                    written += 1
                except (OSError, batch.BatchRefused) as exc:
                    error = exc.message if isinstance(exc, batch.BatchRefused) else exc.strerror or str(exc)
                    break
            if error is not None:
                failures += 1
                progress.console.print(Text(f"error: {source.path}: {error}", style="red"), soft_wrap=True)
            progress.advance(task)
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        raise typer.Exit(130) from None
    finally:
        progress.stop()
    return failures, written


def _read_pipeline(ops: list[str], pipeline_file: Path | None) -> Any:
    """The pipeline from --op steps or a --pipeline file (InvalidPipeline or ValueError say why not)."""
    from pixmill.imaging.pipeline import parse_pipeline
    from pixmill.imaging.step_syntax import parse_step

    if pipeline_file is not None and ops:
        raise ValueError("give --op steps or --pipeline, not both")
    if pipeline_file is None:
        if not ops:
            raise ValueError("give the steps to run: --op NAME:KEY=VALUE,… (repeat) or --pipeline FILE.json")
        return parse_pipeline([parse_step(o) for o in ops])
    try:
        raw = json.loads(pipeline_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{pipeline_file}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{pipeline_file} is not JSON: {exc}") from None
    return parse_pipeline(raw)


def _palettes_for(names: list[str], files: list[str]) -> dict[str, Any]:
    """The palettes a pipeline names: from --palette files first, the rest from the database."""
    from pixmill.canvas.palette_csv import parse_palette_csv
    from pixmill.canvas.types import CanvasError

    given: dict[str, Any] = {}
    for item in files:
        name, sep, file = item.partition("=")
        path = Path(file if sep else item)
        name = name if sep else path.stem
        try:
            given[name] = parse_palette_csv(path.read_text(encoding="utf-8-sig"), name=name)
        except OSError as exc:
            raise ValueError(f"--palette {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ValueError(f"--palette {path} is not a text CSV") from None
        except CanvasError as exc:
            lines = [f"  line {e.get('line')}: {e['message']}" for e in exc.errors]
            raise ValueError("\n".join([f"--palette {path}: {exc.message}", *lines])) from None
    stored = [n for n in names if n not in given]
    if not stored:
        return given
    from pixmill.palettes.service import PaletteNotFound, resolve

    ctx = _context()
    try:
        return given | resolve(ctx, stored)
    except PaletteNotFound as exc:
        url = ctx.engine.url.render_as_string()
        raise ValueError(
            f"{exc} in the database ({url}): import it with `pixmill palettes import NAME FILE.csv`, "
            "or give the CSV with --palette FILE.csv"
        ) from None
    finally:
        ctx.close()


@app.command(epilog="Example:  pixmill canvas photo.jpg --canvas width_cm=30,height_cm=40,max_colors=30 -o out/")
def canvas(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Photos and folders (a folder's images; its subfolders too with -r).", metavar="PATH"),
    ],
    palette: Annotated[
        str,
        typer.Option(
            metavar="NAME|FILE.csv",
            help="A palette stored in the database (pixmill palettes import), or a CSV file (code,name,r,g,b), "
            "as NAME=FILE.csv to name it.",
        ),
    ] = "dmc",
    settings: Annotated[
        str,
        typer.Option(
            "--canvas",
            metavar="KEY=VALUE,…",
            help="Canvas settings, canvas_preview's parameters in --op syntax: width_cm=40,height_cm=50 or "
            "cols=160,rows=200; max_colors, fit, gravity, dither, cleanup, drill_shape … (pixmill operations).",
        ),
    ] = "",
    out: Annotated[Path, typer.Option("-o", "--out", metavar="FOLDER", help="Output folder.")] = Path("."),
    recursive: Annotated[bool, typer.Option("-r", "--recursive", help="Take images in subfolders too.")] = False,
    preview_width: Annotated[
        int, typer.Option(min=100, max=8000, metavar="PIXELS", help="Width of the preview.")
    ] = 2400,
    paper: Annotated[str, typer.Option(metavar="A4|Letter|A3", help="Paper of the PDF guide.")] = "A4",
    guide: Annotated[bool, typer.Option("--guide/--no-guide", help="Write the PDF guide.")] = True,
    bw: Annotated[
        bool, typer.Option("--bw", help="Black-and-white guide: symbols only, for printers without colour.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option("-j", "--jobs", min=1, metavar="N", help="Processes to run photos in \\[default: one per CPU]."),
    ] = None,
) -> None:
    """Turn photos into paint-by-dots canvases: <stem>.plan.json, <stem>.preview.png and <stem>.guide.pdf each."""
    from pydantic import ValidationError

    from pixmill import batch
    from pixmill.canvas.grid import CanvasSettings
    from pixmill.canvas.guide import PAPERS
    from pixmill.imaging.errors import ImagingError
    from pixmill.imaging.step_syntax import parse_step

    def fail(message: str) -> typer.Exit:
        typer.echo(f"error: {message}", err=True)
        return typer.Exit(2)

    if paper not in PAPERS:
        raise fail(f"--paper takes {', '.join(PAPERS)}")
    try:
        values = parse_step(f"canvas_preview:{settings}")["params"]
        canvas_settings = CanvasSettings.model_validate(values)
    except ImagingError as exc:
        raise fail(exc.message) from None
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(x) for x in e['loc']) or 'canvas'}: {e['msg']}" for e in exc.errors()]
        raise fail("\n".join(["the canvas settings are not valid", *lines])) from None
    is_file = "=" in palette or palette.lower().endswith(".csv") or "/" in palette
    try:
        palettes = _palettes_for([] if is_file else [palette], [palette] if is_file else [])
        (drills,) = palettes.values()
        sources = batch.sources_for(inputs, recursive, out)
    except (batch.BatchRefused, ValueError) as exc:
        raise fail(exc.message if isinstance(exc, batch.BatchRefused) else str(exc)) from None
    job = batch.CanvasJob(
        drills, canvas_settings, Settings().limits, preview_width, paper if guide else None, colour=not bw
    )
    writer = batch.Writer(out, sources, chain=False)
    failures, _ = _run_batch(sources, job, writer, jobs or batch.default_jobs(), "canvases")
    typer.echo(f"{len(sources) - failures} of {len(sources)} canvas(es) written to {out}")
    if failures:
        typer.echo(f"{failures} of {len(sources)} file(s) failed", err=True)
        raise typer.Exit(1)


def main() -> None:
    """`pixmill`: a bad PIXMILL_* setting or a database that cannot be reached is one line on stderr, not a
    traceback (exit 2); everything else as typer runs it."""
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        lines = [f"  PIXMILL_{'_'.join(str(x) for x in e['loc']).upper()}: {e['msg']}" for e in exc.errors()]
        typer.echo("\n".join(["error: invalid settings", *lines]), err=True)
        sys.exit(2)
    except Exception as exc:
        if not type(exc).__module__.startswith("sqlalchemy.exc"):
            raise
        from sqlalchemy.engine import make_url

        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        url = make_url(Settings().resolved_database_url).render_as_string()  # the password hidden
        typer.echo(f"error: the database cannot be used ({url}): {reason}", err=True)
        sys.exit(2)
