"""The API's account routes: logging in and out, who am I, the API tokens a user makes for programs,
and the second factor (TOTP). Making a token or turning the factor on or off asks for the password
again, so a stolen session alone cannot mint a lasting credential or remove the second factor."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from . import second_factor, tokens
from .auth import authenticate, confirm_password
from .deps import ActorDep, ConnDep, Credentials, PlatformDep, check_login_rate
from .registry.accounts import change_own_password

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["auth 登录"])


class LoginBody(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    totp: str | None = Field(
        default=None, max_length=8, description="动态验证码（已启用时）/ the one-time code, when the account has one on"
    )


@router.post("/auth/login", summary="登录，取得令牌 / log in for a bearer token")
def do_login(body: LoginBody, request: Request, platform: PlatformDep) -> dict[str, Any]:
    check_login_rate(request)
    ttl = platform.settings.token_ttl_minutes
    token, actor = authenticate(platform, body.username, body.password, ttl, body.totp)
    return {"token": token, "token_type": "bearer", "user": _me(actor)}


@router.post("/auth/logout", status_code=204, summary="退出：吊销当前令牌 / log out: revoke the token in use")
def do_logout(request: Request, actor: ActorDep, platform: PlatformDep) -> None:
    token = request.headers["authorization"].split(" ", 1)[1].strip()
    with platform.engine.begin() as conn:
        tokens.end_token(conn, token)


def _me(actor: Any) -> dict[str, Any]:
    return {
        "id": actor.user_id,
        "username": actor.username,
        "display_name": actor.display_name,
        "roles": sorted(actor.roles),
        "institution_id": actor.institution_id,
        "regulator_id": actor.regulator_id,
        "owner_id": actor.owner_id,
    }


@router.get("/me")
def me(actor: ActorDep, conn: ConnDep) -> dict[str, Any]:
    return _me(actor) | {"second_factor": second_factor.enabled(conn, actor.user_id)}


class TokenBody(BaseModel):
    label: str = Field(min_length=1, max_length=64, description="令牌用途 / what the token is for")
    scope: Literal["read", "write"] = Field(description="read：只读（GET）；write：按角色可写 / read: GET only")
    days: int = Field(default=90, ge=1, le=tokens.MAX_DAYS, description="有效天数 / days it stays valid")
    password: str = Field(max_length=256, description="再次输入密码 / the password, entered again")


class TokenListed(BaseModel):
    id: str
    label: str | None
    scope: str
    created_at: datetime | None
    expires_at: datetime


class TokenMade(TokenListed):
    token: str = Field(description="只显示这一次 / shown this once only")


@router.post("/auth/tokens", status_code=201, summary="创建 API 令牌 / make an API token for a program")
def make_token(body: TokenBody, actor: ActorDep, platform: PlatformDep, conn: ConnDep) -> TokenMade:
    confirm_password(conn, actor, body.password, platform)
    token, listed = tokens.create_api_token(platform, actor, body.label, body.scope, body.days)
    return TokenMade(token=token, **listed)


@router.get("/auth/tokens", summary="我的 API 令牌 / my API tokens")
def list_tokens(actor: ActorDep, conn: ConnDep) -> list[TokenListed]:
    return [TokenListed(**t) for t in tokens.api_token_list(conn, actor.user_id)]


@router.delete("/auth/tokens/{token_id}", status_code=204, summary="吊销 API 令牌 / revoke an API token")
def revoke_token(token_id: str, actor: ActorDep, platform: PlatformDep) -> None:
    tokens.revoke_api_token(platform, actor, token_id)


class PasswordBody(BaseModel):
    password: str = Field(max_length=256)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256, description="至少 8 位 / at least 8 characters")


@router.post("/auth/password", status_code=204, summary="修改自己的密码 / change your own password")
def change_password(body: PasswordChange, actor: ActorDep, platform: PlatformDep, credentials: Credentials) -> None:
    """Your other login sessions end; this token and your named API tokens go on."""
    change_own_password(platform.uow(), actor, body.current_password, body.new_password, credentials.credentials)


class CodeBody(BaseModel):
    code: str = Field(max_length=8, description="验证器显示的 6 位数字 / the 6 digits the authenticator shows")


class OffBody(PasswordBody, CodeBody):
    pass


@router.post("/auth/second-factor", status_code=201, summary="开始启用动态验证码 / start turning on TOTP")
def start_second_factor(body: PasswordBody, actor: ActorDep, platform: PlatformDep, conn: ConnDep) -> dict[str, str]:
    confirm_password(conn, actor, body.password, platform)
    secret, uri = second_factor.enrol(platform, actor)
    return {"secret": secret, "otpauth_uri": uri}


@router.post("/auth/second-factor/confirm", status_code=204, summary="用第一个验证码确认 / confirm with a first code")
def confirm_second_factor(body: CodeBody, actor: ActorDep, platform: PlatformDep) -> None:
    second_factor.confirm(platform, actor, body.code)


@router.post("/auth/second-factor/off", status_code=204, summary="停用动态验证码 / turn TOTP off")
def stop_second_factor(body: OffBody, actor: ActorDep, platform: PlatformDep, conn: ConnDep) -> None:
    confirm_password(conn, actor, body.password, platform)
    second_factor.disable(platform, actor, body.code)


@router.delete("/users/{user_id}/second-factor", status_code=204, summary="重置用户的动态验证码（管理员）")
def reset_second_factor(user_id: int, actor: ActorDep, platform: PlatformDep) -> None:
    second_factor.reset(platform, actor, user_id)
