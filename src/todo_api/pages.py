"""The two pages the emailed links open (`{PUBLIC_URL}/reset-password?token=...` and
`/verify-email?token=...`), so the links work with no front end, e.g. under `todo dev`.

Static HTML: the token is read from the address by the page's own script and posted to the
API; nothing from the request is written into the page. The token is only spent on a click
(mail scanners that fetch links must not use it up). A front end can serve its own pages at
these paths instead and post to the same two API routes.
"""

from __future__ import annotations

import base64
import hashlib

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

_SCRIPT = """
const token = new URLSearchParams(location.search).get("token") || "";
const form = document.querySelector("form"), out = document.querySelector("output");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {token};
  const password = form.querySelector("input[type=password]");
  if (password) body.new_password = password.value;
  const answer = await fetch(form.dataset.api, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  if (answer.ok) { out.textContent = form.dataset.done; form.hidden = true; return; }
  const problem = await answer.json().catch(() => ({}));
  out.textContent = (problem.errors || []).map((e) => e.field + ": " + e.message).join("; ")
    || problem.detail || "Something went wrong; try again.";
});
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; connect-src 'self'; "
        "style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
}


def _page(title: str, form: str) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input,button{{font:inherit;padding:.4rem;margin:.3rem 0;width:100%}}</style></head>
<body><h1>{title}</h1>{form}<p><output></output></p><script>{_SCRIPT}</script></body></html>"""
    return HTMLResponse(html, headers=_HEADERS)


def pages_router(api_prefix: str) -> APIRouter:
    """The two pages, posting to the API under `api_prefix`."""
    router = APIRouter(include_in_schema=False)

    @router.get("/reset-password")
    async def reset_password_page() -> HTMLResponse:
        return _page(
            "Choose a new password",
            f'<form data-api="{api_prefix}/auth/password-reset/confirm" '
            'data-done="Your password is changed: log in with it.">'
            '<label>New password <input type="password" autocomplete="new-password" '
            'minlength="8" required></label><button>Set the password</button></form>',
        )

    @router.get("/verify-email")
    async def verify_email_page() -> HTMLResponse:
        return _page(
            "Confirm your email address",
            f'<form data-api="{api_prefix}/auth/verify-email/confirm" '
            'data-done="Thank you: your email address is confirmed.">'
            "<button>Confirm my email address</button></form>",
        )

    return router
