"""Sign-in pages and each person's start page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from core import auth
from core.models import Role

bp = Blueprint("views", __name__)

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


@bp.post("/logout")
@login_required
def logout() -> Any:
    logout_user()
    return redirect(url_for("views.login"))
