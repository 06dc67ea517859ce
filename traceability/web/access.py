"""Who may open a screen: a logged-in member of an organisation with the right role."""

import functools
from collections.abc import Iterable

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from traceability import shipping
from traceability.commissioning import CustodyRefused
from traceability.keys import KeyRefused
from traceability.models import Organisation, Pack
from traceability.selectors import organisation_of
from traceability.statement_log import StatementRejected

# What the services raise when a rule refuses an action; the message is for the user.
# StatementRejected: what the ledger append re-checks, such as a key revoked meanwhile.
REFUSALS = (CustodyRefused, KeyRefused, StatementRejected)


def refusal_message(refusal: Exception) -> str:
    """What to tell the user: a web action signs its own statements, so the
    position a ledger refusal names ("statement[0]: ...") means nothing to them."""
    if isinstance(refusal, StatementRejected):
        return refusal.reason
    return str(refusal)


# Who may open which form: the same roles the services allow.
MANUFACTURERS = frozenset({Organisation.Role.MANUFACTURER})
HOLDERS = frozenset(shipping.HOLDING_ROLES)
DISPENSERS = frozenset(shipping.DECOMMISSION[Pack.Status.SUPPLIED][3])
DESTROYERS = frozenset(shipping.DECOMMISSION[Pack.Status.DESTROYED][3])


def forbidden(request, reason: str):
    return render(request, "traceability/forbidden.html", {"reason": reason}, status=403)


def organisation_required(roles: Iterable[str] | None = None):
    """Log in, belong to an organisation (and to one of `roles`, when given).

    The view receives the caller's organisation as its `org` argument, so it
    can scope every read and write to it.
    """
    allowed = frozenset(roles) if roles is not None else None

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            org = organisation_of(request.user)
            if org is None:
                return forbidden(request, "Your account does not belong to an organisation.")
            if allowed is not None and org.role not in allowed:
                wanted = " or ".join(sorted(f"a {role}" for role in allowed))
                return forbidden(
                    request,
                    f"Only {wanted} may use this page; {org.name} is a {org.role}.",
                )
            return view(request, *args, org=org, **kwargs)

        return login_required(wrapped)

    return decorate
