"""Admin pages: the do-not-call list and the audit trail. Thin handlers over ``dnc`` and
``audit``; every form is CSRF-protected like the rest of the dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core import contacts
from core.auth import roles_required
from core.models import Role
from core.nul import refuse_nul
from dashboard import audit, dnc

bp = Blueprint("admin", __name__, url_prefix="/dashboard")
bp.before_request(refuse_nul)

UNREADABLE = "That is not a phone number we can read, e.g. +1 415 555 0123."


def _user_id() -> int:
    return int(current_user.id)


def render_dnc(status: int = 200, report: dnc.ImportReport | None = None) -> Any:
    page = dnc.entries(request.args.get("page", type=int) or 1)
    return render_template("dashboard/dnc.html", page=page, report=report), status


@bp.get("/dnc")
@roles_required(Role.ADMIN)
def dnc_list() -> Any:
    """The do-not-call list (as hashes: when, how, by whom) with add, remove and import."""
    return render_dnc()


@bp.post("/dnc/add")
@roles_required(Role.ADMIN)
def dnc_add() -> Any:
    try:
        number, added = dnc.add_number(request.form.get("number", ""), "dashboard", _user_id())
    except contacts.InvalidNumber:
        flash(UNREADABLE, "error")
        return render_dnc(400)
    message = "is now on" if added else "was already on"
    flash(f"{number} {message} the do-not-call list.", "info")
    return redirect(url_for("admin.dnc_list"))


@bp.post("/dnc/remove")
@roles_required(Role.ADMIN)
def dnc_remove() -> Any:
    try:
        number, removed = dnc.remove_number(request.form.get("number", ""), "dashboard", _user_id())
    except contacts.InvalidNumber:
        flash(UNREADABLE, "error")
        return render_dnc(400)
    if not removed:
        flash(f"{number} is not on the do-not-call list.", "error")
        return render_dnc(404)
    flash(f"{number} was removed from the do-not-call list.", "info")
    return redirect(url_for("admin.dnc_list"))


@bp.post("/dnc/import")
@roles_required(Role.ADMIN)
def dnc_import() -> Any:
    """Add a CSV of numbers (one per row); the page lists the rows that were not numbers."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file to import.", "error")
        return render_dnc(400)
    report = dnc.import_csv(upload.read(dnc.MAX_IMPORT_BYTES + 1), _user_id())
    flash(report.summary(), "error" if report.error else "info")
    return render_dnc(400 if report.error else 200, report)


@bp.get("/audit")
@roles_required(Role.ADMIN)
def audit_page() -> Any:
    """Who listened to, downloaded or erased what, and every opt-out and do-not-call change."""
    filters = audit.AuditFilters.from_args(request.args)
    return render_template(
        "dashboard/audit.html",
        page=audit.page_of(filters),
        filters=filters,
        categories=audit.CATEGORIES,
        people=audit.people(),
        nobody=audit.NOBODY,
    )


@bp.get("/audit.csv")
@roles_required(Role.ADMIN)
def audit_csv() -> Response:
    """The filtered trail as CSV (every page)."""
    filters = audit.AuditFilters.from_args(request.args)
    return Response(
        audit.to_csv(audit.all_rows(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit.csv"},
    )
