"""``flask --app ivr themes rebuild``: recompute every theme, keeping managers' names and
merges and comments' themes wherever the new grouping allows (``themes.rebuild``)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from themes import store
from themes.rebuild import rebuild

cli = AppGroup("themes", help="Themes of survey comments.")


@cli.command("rebuild")
@click.option(
    "--fresh",
    is_flag=True,
    help="Group as if for the first time: keep only managers' names, not earlier themes.",
)
def rebuild_command(fresh: bool) -> None:
    """Recompute every theme from the comments' stored embeddings."""
    try:
        done = rebuild(fresh=fresh)
    except store.Busy as exc:
        raise click.ClickException(str(exc)) from exc
    timing = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in done.seconds.items())
    click.echo(
        f"{done.comments} comments in {done.themes} themes ({done.kept} kept, "
        f"{done.created} new); {done.unthemed} in no theme yet; {done.moved} moved. {timing}"
    )
