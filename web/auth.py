"""The dashboard's sign-in, when TICKERLAKE_API_TOKEN is set: the same token as the API's, asked once.

A browser cannot send the API's bearer header with every page and callback, so the dashboard's pages
(and the alert editor, its only write) ask for the token on /login and keep a proof of it (an HMAC
of the token, not the token itself, so the cookie is no API credential) in an HTTP-only, same-site
cookie, `Secure` when served over HTTPS, for a week. A page opened without it is sent to /login; any
other request (a Dash callback) is a 401. The API keeps its bearer header, and its docs stay open.
"""

import hashlib
import hmac
import html
import secrets
import urllib.parse

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

COOKIE = "tickerlake_session"
COOKIE_SECONDS = 7 * 24 * 3600
OPEN_PATHS = ("/api/", "/docs", "/openapi.json", "/login")  # /api checks its bearer header itself
FORM = """<!doctype html><title>tickerlake: sign in</title>
<form method="post" action="/login" style="font-family: sans-serif; margin: 3em">
<p>{message}</p>
<label>token <input type="password" name="token" autofocus></label>
<input type="hidden" name="next" value="{next}">
<button type="submit">sign in</button></form>"""


def _same(offered: str | None, expected: str) -> bool:
    return secrets.compare_digest((offered or "").encode(), expected.encode())


def session_of(token: str) -> str:
    """The cookie's value: proves the token was given, and cannot be used as the API's bearer token."""
    return hmac.new(token.encode(), b"tickerlake dashboard session", hashlib.sha256).hexdigest()


def _local(path: str) -> str:
    """Where to go after signing in: a path of this server only, never another site (no `//host`, no
    backslash a browser may read as a slash, no control character)."""
    unsafe = path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path)
    return path if path.startswith("/") and not unsafe else "/"


def guard(app: FastAPI, token: str) -> None:
    """Ask for `token` before any page of the dashboard; register before the dashboard is mounted."""

    @app.middleware("http")
    async def signed_in(request: Request, call_next: object) -> Response:
        path = request.url.path
        if path.startswith(OPEN_PATHS) or _same(request.cookies.get(COOKIE), session_of(token)):
            return await call_next(request)
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            asked = f"{path}?{request.url.query}" if request.url.query else path
            return RedirectResponse(f"/login?next={urllib.parse.quote(asked)}", 303)
        return JSONResponse({"detail": "sign in at /login first"}, 401)

    @app.get("/login", include_in_schema=False)
    def login_form(next: str = "/") -> HTMLResponse:
        return HTMLResponse(FORM.format(message="The dashboard needs its token.", next=html.escape(_local(next))))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        fields = urllib.parse.parse_qs((await request.body()).decode(errors="replace"))
        target = _local(fields.get("next", ["/"])[0])
        if not _same(fields.get("token", [""])[0], token):
            page = FORM.format(message="That token is not the dashboard's.", next=html.escape(target))
            return HTMLResponse(page, 401)
        answer = RedirectResponse(target, 303)
        answer.set_cookie(
            COOKIE,
            session_of(token),
            max_age=COOKIE_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer
