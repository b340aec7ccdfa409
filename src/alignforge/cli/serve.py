"""``alignforge serve``: an OpenAI-compatible endpoint over the local model (or any backend)."""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]


@click.command("serve")
@click.option(
    "--model",
    "spec",
    default="local",
    show_default=True,
    help="Backend spec: local, local:/path/to/checkpoint, openai:<model>, anthropic:<model>.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, help="0 picks a free port (printed).")
@click.option("--name", "model_name", default=None, help="Model id clients send and /v1/models lists.")
@click.option(
    "--max-batch", default=16, show_default=True, type=click.IntRange(1), help="Requests per batch."
)
@click.option(
    "--batch-wait-ms",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0),
    help="How long a request waits for others to share its batch.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Backend option, repeatable (e.g. --option dtype=float32).",
)
def serve(
    spec: str,
    host: str,
    port: int,
    model_name: str | None,
    max_batch: int,
    batch_wait_ms: float,
    options: tuple[str, ...],
) -> None:
    """Serve a model over the OpenAI chat-completions protocol (no streaming).

    \b
    Example:
      alignforge serve --model local --port 8000
      curl -s localhost:8000/v1/chat/completions -H 'content-type: application/json' \\
        -d '{"model": "SmolLM2-135M-Instruct", "messages": [{"role": "user", "content": "Hi"}]}'
    """
    from alignforge.errors import ConfigError
    from alignforge.llm import get_llm, parse_cli_options
    from alignforge.llm.serve import make_server

    llm = get_llm(spec, **parse_cli_options(options))
    load = getattr(llm, "load", None)
    if load is not None:
        load()
    try:
        server = make_server(
            llm,
            host=host,
            port=port,
            model_name=model_name,
            max_batch=max_batch,
            batch_wait_s=batch_wait_ms / 1000,
        )
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = server.server_address
    click.echo(f"alignforge serve: {spec} at http://{bound[0]!s}:{bound[1]}/v1 (Ctrl-C stops)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


COMMANDS = [serve]
