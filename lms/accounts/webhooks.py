"""Which addresses a store's group robot (群机器人 webhook) may have.

The server posts reminders to that address, so an address of the operator's own network
(http://127.0.0.1:…, http://169.254.169.254/… the cloud metadata service, an intranet admin page)
would let whoever sets it make the server send requests there. The rule: https, on the host of a
known robot service, on its standard port, without user name or password; an operator may allow
further origins in the configuration (WEBHOOK_EXTRA_ORIGINS), never from the admin pages.
It is checked where the admin saves the address (forms, service) and again where a reminder is
sent (lms/notices/reminders.py), for addresses saved before the rule.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit

# The robot services the platform speaks to: WeCom (企业微信) and DingTalk (钉钉) group robots.
ROBOT_ORIGINS = {"https://qyapi.weixin.qq.com": "企业微信", "https://oapi.dingtalk.com": "钉钉"}
DEFAULT_PORTS = {"http": 80, "https": 443}


class WebhookRefused(ValueError):
    """A webhook address the rule does not allow."""


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) address without user info, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, a malformed IPv6 address …
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return parts.scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[parts.scheme]


def extra_origins(config) -> list[str]:
    """The operator's own allowed origins from the configuration (a single string counts as one)."""
    value = config.get("WEBHOOK_EXTRA_ORIGINS") or []
    return [value] if isinstance(value, str) else [str(o) for o in value]


def allowed_origins(extra: Iterable[str] = ()) -> list[str]:
    """The known robot origins, then the operator's own."""
    return [*ROBOT_ORIGINS, *(o.rstrip("/") for o in extra)]


def webhook_problem(url: str, extra: Iterable[str] = ()) -> str | None:
    """Tell why a robot address is not allowed (None: it is)."""
    url = (url or "").strip()
    origins = allowed_origins(extra)
    if not url:
        return None
    if len(url) > 500 or any(c.isspace() or ord(c) < 32 for c in url):
        return "群机器人地址不能有空格，最长500个字符"
    origin = _origin(url)
    if origin is not None and origin in {_origin(o) for o in origins}:
        return None
    known = "或".join(f"{name}「{o}/…」" for o, name in ROBOT_ORIGINS.items())
    others = [o for o in origins if o not in ROBOT_ORIGINS]
    more = "，或运维在配置中允许的" + "、".join(f"「{o}/…」" for o in others) if others else ""
    return (f"群机器人地址只能是{known}的https地址{more}；"
            "其他地址（如内网地址）须由运维在配置「WEBHOOK_EXTRA_ORIGINS」中允许")
