"""May we text this number? Permission (``core.consents``) and the one gate (``core.reachability``).

A number may be texted when it gave permission that still stands and the gate lets it
through: the dialling policy, and no do-not-call entry or opt-out. An opt-out gives way
only to permission given after it, which is how START after STOP re-subscribes texts while
voice surveys and callbacks stay off (``core.reachability.suppression_refusal``). Calling
hours are a question of *when*, asked by ``texts.outbound.send_text``, not of *whether*.
"""

from __future__ import annotations

from core import consents, contacts, reachability
from core.consents import TextConsent
from core.models import Contact
from core.reachability import Refusal

NO_CONSENT = "no_text_consent"


def standing(number: str) -> TextConsent | None:
    """The number's current permission to text, if any."""
    return consents.current(contacts.find(number))


def refusal(number: str) -> Refusal | None:
    """Why ``number`` (E.164) must not be texted at all, or None.

    Refusals of the number itself come first (do-not-call, opt-out, dialling policy), so a
    number that opted out is told so rather than "no permission".
    """
    consent = standing(number)
    found = reachability.dialling_refusal(number) or reachability.suppression_refusal(
        number, consent_at=consent.granted_at if consent else None
    )
    if found is not None:
        return found
    if consent is None:
        return Refusal(NO_CONSENT, f"{number} has not given permission to be texted.")
    return None


def may_text(number: str) -> bool:
    """True when ``number`` gave permission to be texted and nothing forbids it now."""
    try:
        number = contacts.to_e164(number)
    except contacts.InvalidNumber:
        return False
    return refusal(number) is None


def grant(contact: Contact, source: str) -> TextConsent:
    """Permission to text, recorded now with its source (idempotent while it stands)."""
    return consents.grant(contact, source)
