"""The sign-in pages' words: Simplified Chinese by default, English on request.

The language is ``lang`` in the query or the form (``zh`` or ``en``), else the best match
of the browser's Accept-Language, else Chinese. Templates call ``t(key, **values)``; a
missing key is a programming error (KeyError in the tests), never a blank page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Request
from flask import render_template

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
HTML_LANG = {"zh": "zh-CN", "en": "en"}

CATALOGUE: dict[str, tuple[str, str]] = {
    "product": ("统一用户体系", "Unified identity"),
    "sign_in": ("登录", "Sign in"),
    "login_label": ("用户名或手机号", "Username or mobile number"),
    "password_label": ("密码", "Password"),
    "submit_sign_in": ("登录", "Sign in"),
    "idp.login.refused": ("用户名或密码错误，或账号暂时无法登录。请稍后再试。",
                "Wrong username or password, or the account cannot sign in now. "
                "Try again later."),
    "totp_title": ("动态验证码", "One-time code"),
    "totp_help": ("请输入身份验证器应用中显示的 6 位验证码。",
                  "Enter the 6-digit code shown by your authenticator app."),
    "totp_label": ("验证码", "Code"),
    "idp.totp.refused": ("验证码错误或已使用，请等待下一个验证码。",
                     "Wrong or already used code: wait for the next one."),
    "submit_verify": ("验证", "Verify"),
    "enrol_title": ("绑定身份验证器", "Set up your authenticator"),
    "enrol_help": ("管理员账号必须使用动态验证码。请用身份验证器应用扫描二维码，"
                   "或手动输入下面的密钥，然后输入应用显示的验证码。",
                   "Administrator accounts need one-time codes. Scan the QR code with an "
                   "authenticator app, or type the key below, then enter the code it shows."),
    "enrol_secret": ("密钥", "Key"),
    "qr_alt": ("身份验证器二维码", "Authenticator QR code"),
    "password_title": ("设置新密码", "Choose a new password"),
    "password_help": ("首次登录、管理员重置或密码过期后，必须先设置新密码。"
                      "新密码至少 {min} 个字符，不能与用户名相同，也不能是常见密码。",
                      "After a first sign-in, an administrator's reset or an expired "
                      "password you must choose a new one: at least {min} characters, not "
                      "your username, not a common password."),
    "new_password": ("新密码", "New password"),
    "confirm_password": ("确认新密码", "Confirm the new password"),
    "submit_password": ("保存并继续", "Save and continue"),
    "idp.password.too_short": ("新密码太短或太长。", "The new password is too short or too long."),
    "idp.password.username": ("新密码不能与用户名相同。",
                              "The new password must not be your username."),
    "idp.password.common": ("这是常见密码，请换一个。",
                            "This is a common password: choose another."),
    "idp.password.mismatch": ("两次输入的新密码不一致。", "The two new passwords differ."),
    "idp.password.reused": ("新密码不能与当前密码相同。",
                            "The new password must differ from the current one."),
    "idp.login.step_expired": ("登录步骤已超时，请重新登录。", "This sign-in step timed out: sign in again."),
    "account_title": ("我的账号", "My account"),
    "signed_in_as": ("当前登录账号：{username}", "Signed in as {username}"),
    "account_type": ("账号类型", "Account type"),
    "type.system_admin": ("系统管理员", "System administrator"),
    "type.graded_admin": ("分级管理员", "Graded administrator"),
    "type.user": ("普通用户", "User"),
    "type.temporary": ("临时账号", "Temporary account"),
    "type.service": ("服务账号", "Service account"),
    "amr": ("认证方式", "Authentication"),
    "amr.pwd": ("密码", "password"),
    "amr.otp": ("动态验证码", "one-time code"),
    "sessions_link": ("登录设备与会话", "Devices and sessions"),
    "sign_out": ("退出登录", "Sign out"),
    "freeze_title": ("冻结账号", "Freeze my account"),
    "freeze_help": ("设备丢失或账号可能被盗用时，可立即冻结账号：所有设备和应用上的登录随即失效，"
                    "之后需由管理员解冻。",
                    "If a device is lost or the account may be misused, freeze it now: every "
                    "device and app is signed out at once, and only an administrator can "
                    "unfreeze it."),
    "freeze_confirm": ("我确认冻结本账号", "I confirm: freeze this account"),
    "freeze_submit": ("冻结账号", "Freeze account"),
    "sessions_title": ("登录设备与会话", "Devices and sessions"),
    "device": ("设备", "Device"),
    "ip": ("IP 地址", "IP address"),
    "created": ("登录时间", "Signed in"),
    "last_seen": ("最近活动", "Last seen"),
    "this_device": ("当前设备", "This device"),
    "end": ("结束", "End"),
    "end_others": ("结束其他所有会话", "End every other session"),
    "back": ("返回", "Back"),
    "unknown_device": ("未知设备", "Unknown device"),
    "error_title": ("无法处理请求", "Request refused"),
    "error_csrf": ("页面已过期或请求无效，请返回重试。",
                   "The page expired or the request is invalid: go back and try again."),
    "error_not_found": ("没有找到该页面或会话。", "No such page or session."),
    "other_language": ("English", "中文"),
}


def choose(request: Request) -> str:
    """``lang`` from the query or form, else Accept-Language, else Chinese."""
    asked = request.values.get("lang", "")
    if asked in LANGUAGES:
        return asked
    best = request.accept_languages.best_match(LANGUAGES, default=DEFAULT)
    return best if best in LANGUAGES else DEFAULT


def explicit(request: Request) -> str | None:
    """The language the reader asked for in the URL or form (kept across the steps)."""
    asked = request.values.get("lang", "")
    return asked if asked in LANGUAGES else None


def translate(lang: str, key: str, **values: Any) -> str:
    text = CATALOGUE[key][LANGUAGES.index(lang)]
    return text.format(**values) if values else text


def render(request: Request, template: str, **context: Any) -> str:
    """A sign-in page in the reader's language; ``t`` and ``lang`` in the template."""
    lang = choose(request)
    other = "en" if lang == "zh" else "zh"

    def t(key: str, **values: Any) -> str:
        return translate(lang, key, **values)

    switch = None
    if request.method == "GET":  # a POST's page cannot be fetched again in another language
        switch = f"{request.path}?{urlencode({**request.args.to_dict(), 'lang': other})}"
    return render_template(template, t=t, lang=lang, html_lang=HTML_LANG[lang],
                           lang_param=explicit(request), switch_url=switch, **context)
