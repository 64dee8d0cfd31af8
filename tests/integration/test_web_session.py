"""Page sessions over real HTTP: login by form sets an HttpOnly session cookie, pages need it, forms
need the CSRF token, logout revokes the session, and the language switch changes the page's texts."""

from __future__ import annotations

import re

from tests.conftest import ADMIN_PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client, path: str = "/login") -> str:  # type: ignore[no-untyped-def]
    r = client.get(path)
    assert r.status_code == 200, r.text
    return CSRF.search(r.text).group(1)


def page_login(client, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_token(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_a_page_without_a_session_redirects_to_login_and_back(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/account?x=1", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Faccount%3Fx%3D1"
    token = form_token(client)
    r = client.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token, "next": "/account?x=1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/account?x=1"
    cookie = r.headers["set-cookie"]
    assert "jiliang_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/account")
    assert page.status_code == 200 and "admin" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_login_refuses_a_wrong_password_in_the_page_language(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/login", data={"username": "admin", "password": "nope", "csrf_token": form_token(client)})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text and "wrong username" not in r.text
    client.get("/lang/en?next=/login")
    r = client.post("/login", data={"username": "admin", "password": "nope", "csrf_token": form_token(client)})
    assert "wrong username or password" in r.text and "用户名或密码错误" not in r.text


def test_a_form_without_the_csrf_token_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    form_token(client)  # the visitor has the pre-login cookie, but the attacker's form lacks the field
    r = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 403 and "页面已过期" in r.text
    page_login(client, "admin", ADMIN_PASSWORD)
    r = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/account").status_code == 200  # still logged in


def test_logout_revokes_the_session(client) -> None:  # type: ignore[no-untyped-def]
    page_login(client, "admin", ADMIN_PASSWORD)
    stolen = client.cookies.get("jiliang_session")
    r = client.post("/logout", data={"csrf_token": form_token(client, "/account")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.set("jiliang_session", stolen)  # a copy of the cookie is useless after logout
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_site(client) -> None:  # type: ignore[no-untyped-def]
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/\\evil.example/x"):
        r = client.post(
            "/login",
            data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": form_token(client), "next": target},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/") and "evil" not in r.headers["location"]


def test_chinese_by_default_english_by_switch(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    assert '<html lang="zh-CN">' in page.text and "登录" in page.text
    r = client.get("/lang/en?next=/login", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = client.get("/login")
    assert '<html lang="en">' in page.text and "Log in" in page.text and "登录" not in page.text


def test_the_demo_login_page_lists_the_demo_accounts(platform) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from jiliang.api import create_app
    from jiliang.demo import LOGINS

    with TestClient(create_app(platform, demo=True)) as demo, TestClient(create_app(platform)) as plain:
        listed = demo.get("/login").text
        for login in LOGINS:
            assert login.username in listed
        assert "demo-owner" not in plain.get("/login").text


def test_a_page_form_that_fails_validation_gets_an_error_page_not_json(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/login", data={"username": "x" * 65, "password": "p", "csrf_token": form_token(client)})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "请更正填写内容" in r.text and "username" in r.text


def test_static_files_are_linked_by_content_digest_and_kept_by_the_browser(client) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    from pathlib import Path

    import jiliang.web

    page = client.get("/login").text
    css = (Path(jiliang.web.__file__).parent / "static" / "jiliang.css").read_bytes()
    link = f"/static/jiliang.css?v={hashlib.sha256(css).hexdigest()[:12]}"
    assert link in page
    r = client.get(link)
    assert r.status_code == 200 and r.content == css
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
