"""Erased callers leave themes at once, not at the next theming run.

Called by ``dashboard.erasure`` ("delete this caller's data") once the transcripts are gone
and committed. Each erased comment's row (its embedding) is deleted, its theme's sum and size
drop it, and a machine name that may quote its words is chosen again from the comments that
remain. Quotes need nothing: they are read from the transcripts, which are gone.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from core.db import db
from themes import assign, store
from themes.models import Theme

log = logging.getLogger(__name__)

# An assignment run holds the writer lock for seconds; a rebuild may hold it for minutes.
WAIT_SECONDS = 10.0


def forget_erased() -> int:
    """Drop every erased comment from themes and rename the themes it was in; committed.

    While another writer holds the themes (``store.Busy``) the rows stay for its next run's
    ``store.drop_erased``, but their themes' machine names are hidden now.

    Returns:
        How many comments were dropped (0 when busy).
    """
    if not db.session.scalar(select(store.erased().exists())):
        return 0
    try:
        with store.exclusive(wait=WAIT_SECONDS):
            dropped = store.drop_erased()
            db.session.flush()
            assign.name_themes(store.live_themes())
            db.session.commit()
            return dropped
    except store.Busy:
        for comment in db.session.scalars(store.erased()):
            theme = db.session.get(Theme, comment.theme_id) if comment.theme_id else None
            if theme is not None:
                store.unname(theme)
        db.session.commit()
        log.warning("themes busy: erased comments leave them at the next run")
        return 0
