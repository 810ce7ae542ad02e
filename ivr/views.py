"""Sign-in pages and each person's start page."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError

from core import auth
from core.models import Role

log = logging.getLogger(__name__)
bp = Blueprint("views", __name__)

INSECURE_COOKIE = (
    "Sign-in needs HTTPS here: the session cookie is marked Secure, so your browser does not "
    "send it back over plain http. Open this site over https, or set "
    "SESSION_COOKIE_SECURE=false if it really is served over plain http."
)
EXPIRED_FORM = "The sign-in form expired. Please sign in again."

# Where each role starts; the first endpoint that exists wins.
START_PAGES = {
    Role.AGENT: ("callbacks.queue", "views.home"),
    Role.MANAGER: ("dashboard.index", "callbacks.queue", "views.home"),
    Role.ADMIN: ("dashboard.index", "callbacks.queue", "views.home"),
}


def start_page(role: Role) -> str:
    endpoint = next(e for e in START_PAGES[role] if e in current_app.view_functions)
    return url_for(endpoint)


@bp.get("/")
@login_required
def index() -> Any:
    return redirect(start_page(current_user.role))


@bp.get("/home")
@login_required
def home() -> Any:
    return render_template("home.html")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        email = request.form.get("email", "")
        if auth.login_rate_limited(f"{email.lower()}:{request.remote_addr}"):
            flash("Too many sign-in attempts. Wait a few minutes and try again.", "error")
            return render_template("login.html", email=email), 429
        user = auth.authenticate(email, request.form.get("password", ""))
        if user is None:
            flash("Wrong email or password.", "error")
            return render_template("login.html", email=email), 401
        login_user(user)
        return redirect(auth.safe_next(request.args.get("next")) or start_page(user.role))
    return render_template("login.html", email="")


@bp.errorhandler(CSRFError)
def form_not_trusted(exc: CSRFError) -> Any:
    """A sign-in whose session cookie did not come back: say why instead of a bare 400."""
    if current_app.config["SESSION_COOKIE_SECURE"] and not request.is_secure:
        log.warning("sign-in over plain http with Secure session cookies: %s", exc.description)
        flash(INSECURE_COOKIE, "error")
    else:
        flash(EXPIRED_FORM, "error")
    return render_template("login.html", email=request.form.get("email", "")), 400


@bp.post("/logout")
@login_required
def logout() -> Any:
    logout_user()
    return redirect(url_for("views.login"))
