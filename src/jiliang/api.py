"""The FastAPI application: every route authenticated except /public/* (`public.py`, the ledger's public
proofs, the public pages of `web/`) and the static assets; pages authenticate by session cookie;
OpenAPI at /docs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, public
from .account_api import router as account_router
from .certificates.routes import router as certificate_router
from .deps import SlidingWindow, refused_token
from .errors import InvalidInput, JiliangError, Unauthenticated
from .ledger.routes import public_router as ledger_public_router
from .ledger.routes import router as ledger_router
from .measurement.routes import public_router as measurement_public_router
from .measurement.routes import router as measurement_router
from .openapi_errors import describe_errors
from .page_cache import KeptPages, PageCache
from .platform import Platform
from .registry.account_routes import router as accounts_router
from .registry.dcc_routes import router as dcc_router
from .registry.institution_routes import router as institution_router
from .registry.routes import router as registry_router
from .reminders.routes import router as reminders_router
from .request_guard import RequestGuard
from .security_headers import SecurityHeaders
from .verification.routes import router as verification_router
from .web import install as install_pages
from .web import page_response
from .web import public_router as web_public_router

__all__ = ["create_app"]

_GONE = "unavailable"


# PostgreSQL errors after which the same request may simply be sent again: the connection failed or
# was refused (class 08, too many clients, shutting down or starting up), a lock or serialisation
# conflict. Nothing of the transaction was committed.
_RETRYABLE_STATES = ("08", "53300", "57P01", "57P02", "57P03", "40001", "40P01", "55P03")


def _retryable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    if state:
        return str(state).startswith(_RETRYABLE_STATES)
    if not isinstance(exc, OperationalError):
        return False
    if hasattr(exc.orig, "sqlstate"):  # psycopg without a server's answer: it could not connect at all
        return True
    return "database is locked" in str(exc.orig)  # SQLite: another writer held the lock past its timeout


def create_app(platform: Platform, demo: bool = False) -> FastAPI:
    """The app; `demo` makes the login page list the demo accounts (`jiliang serve --demo`)."""
    app = FastAPI(
        title="jiliang 计量",
        version=__version__,
        description="上海市计量技术机构与市场监管部门的法制计量平台 / legal-metrology platform for Shanghai. "
        "Log in at POST /api/auth/login and send `Authorization: Bearer <token>`.",
    )
    app.state.platform = platform
    app.add_middleware(RequestGuard, max_body_bytes=platform.settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: refusals by the guard carry the headers too
    app.state.public_window = SlidingWindow()
    app.state.login_window = SlidingWindow()
    app.state.demo = demo

    @app.exception_handler(JiliangError)
    async def _domain_error(request: Request, exc: JiliangError) -> Response:
        page = page_response(request, exc)
        if page is not None:
            return page
        return JSONResponse({"detail": exc.message, "rule": exc.rule}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        if await run_in_threadpool(refused_token, request):  # nothing about the parameters before the login
            return JSONResponse({"detail": Unauthenticated.LOG_IN, "rule": "unauthenticated"}, status_code=401)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        page = page_response(request, InvalidInput(f"填写内容有误：{problems} / invalid input: {problems}"))
        if page is not None:
            return page
        return JSONResponse(
            {
                "detail": f"请求内容有误 / invalid request: {problems}",
                "rule": "invalid_input",
                "errors": jsonable_encoder(exc.errors()),
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _malformed(request: Request, exc: StarletteHTTPException) -> Response:
        """Starlette's own refusals (a body it cannot parse as the multipart form it claims to be) in the
        shape every refusal has; the other statuses (an unknown path, a wrong method) as Starlette says."""
        if exc.status_code != 400:
            return await http_exception_handler(request, exc)
        detail = f"请求格式有误 / malformed request: {exc.detail}"
        return JSONResponse({"detail": detail, "rule": "malformed"}, status_code=400, headers=exc.headers)

    @app.exception_handler(DBAPIError)
    async def _database_gone(request: Request, exc: DBAPIError) -> Response:
        """The database could not serve the request: a connection it dropped (a restart), refused (too
        many clients, starting up) or a lock it timed out on. Nothing was committed, so the client may
        simply try again; any other database error stays a server error."""
        if not _retryable(exc):
            raise exc
        return JSONResponse(
            {
                "detail": "数据库连接中断，请重试 / the database connection was interrupted: try again",
                "rule": "unavailable",
            },
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # public first: the QR checks are the busiest routes, and routes are matched in order
    for router in (
        public.router,
        ledger_public_router,
        web_public_router,
        measurement_public_router,
        account_router,
        registry_router,
        accounts_router,
        dcc_router,
        institution_router,
        verification_router,
        certificate_router,
        ledger_router,
        measurement_router,
        reminders_router,
    ):
        app.include_router(router)
    install_pages(app)  # the pages of each role, their static files and error pages
    if platform.settings.page_cache_bytes > 0:  # outermost: a kept list page is answered before the rest
        app.state.page_cache = PageCache(platform.settings.page_cache_bytes)
        app.add_middleware(KeptPages, platform=platform, cache=app.state.page_cache)
    describe_errors(app)
    return app
