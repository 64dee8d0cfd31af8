"""HTTP routes of accounts after they are made (registry/accounts.py): the list an administrator (every
account) or a lab manager (their institution's staff) manages, one account, its roles, deactivating and
reactivating it, and a password reset whose new password is answered once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from ..auth import ROLES
from ..deps import ActorDep, ConnDep, PlatformDep
from ..listing import PAGE_ROWS, Cursor, Keyset
from . import accounts
from .account_list import AccountDetail, AccountRow, account_detail, list_accounts

__all__ = ["router"]

router = APIRouter(prefix="/api/users", tags=["staff 人员"])


class Account(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    active: bool
    organisation_zh: str | None = Field(
        description="所属机构、监管部门或使用单位 / its institution, regulator or owner"
    )
    organisation_en: str | None


def _account(row: AccountRow) -> Account:
    zh, en = row.organisation or (None, None)
    return Account(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=list(row.roles),
        active=row.active,
        organisation_zh=zh,
        organisation_en=en,
    )


class AccountDetails(Account):
    institution_id: int | None
    regulator_id: int | None
    owner_id: int | None
    second_factor: bool


def _details(d: AccountDetail) -> AccountDetails:
    return AccountDetails(
        **_account(d.account).model_dump(),
        institution_id=d.institution_id,
        regulator_id=d.regulator_id,
        owner_id=d.owner_id,
        second_factor=d.second_factor,
    )


@router.get("", summary="可管理的账号（管理员：全部；实验室主任：本机构人员）/ the accounts you manage")
def get_accounts(
    request: Request,
    response: Response,
    actor: ActorDep,
    conn: ConnDep,
    search: Annotated[str, Query(max_length=64, description="用户名或姓名包含 / in the username or name")] = "",
    role: Annotated[str, Query(max_length=16, description="持有该角色 / holding this role")] = "",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_ROWS,
) -> list[Account]:
    page = list_accounts(conn, actor, Keyset(after=cursor, size=limit), search, role if role in ROLES else "")
    if page.following is not None:
        following = request.url.remove_query_params("cursor").include_query_params(cursor=page.following)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return [_account(r) for r in page.rows]


@router.get("/{user_id}", summary="一个账号 / one account")
def get_account(user_id: int, actor: ActorDep, conn: ConnDep) -> AccountDetails:
    return _details(account_detail(conn, actor, user_id))


class RolesBody(BaseModel):
    roles: list[str] = Field(max_length=len(ROLES), description=f"角色 / roles: {', '.join(ROLES)}")


@router.put("/{user_id}/roles", summary="设定账号的角色 / set the account's roles")
def put_roles(user_id: int, body: RolesBody, actor: ActorDep, platform: PlatformDep) -> dict[str, Any]:
    changed = accounts.change_roles(platform.uow(), actor, user_id, body.roles)
    return {"id": user_id, "roles": sorted(set(body.roles)), "changed": changed}


class ActiveBody(BaseModel):
    active: bool = Field(description="false 停用（其登录与令牌即失效）/ false deactivates: its sessions and tokens end")


@router.put("/{user_id}/active", summary="停用或启用账号 / deactivate or reactivate the account")
def put_active(user_id: int, body: ActiveBody, actor: ActorDep, platform: PlatformDep) -> dict[str, Any]:
    changed = accounts.set_active(platform.uow(), actor, user_id, body.active)
    return {"id": user_id, "active": body.active, "changed": changed}


class NewPassword(BaseModel):
    password: str = Field(description="只显示这一次，请交给账号本人 / shown this once: hand it to the account's user")


@router.post("/{user_id}/password-reset", summary="重置密码（其登录与令牌即失效）/ reset the password")
def reset_password(user_id: int, actor: ActorDep, platform: PlatformDep) -> NewPassword:
    return NewPassword(password=accounts.reset_password(platform.uow(), actor, user_id))
