"""Passwords (密码): the policy a password must meet, and the one way passwords are hashed and checked.

Policy: at least 8 characters, not containing the 工号 (of 4 characters or more), not one of the common passwords in
`data/common_passwords.txt` (compared without case), and not all of one character class (only
digits, only lower-case letters, …). Every password that is set — one a person chooses, one an
admin, the roster import or the command line generates — passes `password_problem`.

Hashing: a password is stored with the configured method (`PASSWORD_HASH_METHOD`, scrypt by
default). A generated one-time password (random, about 58 bits, changed at the first log-in) is
stored with a fast method, so a roster import of thousands of people stays within a request. A
log-in must not tell the two apart, nor tell a known 工号 from an unknown one: `verify` always
pays the configured method's cost (a stored hash made with another method is checked, and then a
reference hash of the configured method too), and says when the stored hash should be remade with
the configured method (`rehash`), which a successful log-in does.

A pure module: no Flask, no database; the method is passed in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 8
MAX_LENGTH = 128
ONE_TIME_METHOD = "pbkdf2:sha256:1000"  # generated passwords only: random, and changed at the first log-in
COMMON_FILE = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
POLICY_HINT = "至少8位，须混用字母、数字或符号中的两类，不能含工号，不能是常见密码"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The common passwords, lower-cased (read once per process)."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _char_class(c: str) -> str:
    if c.isdigit():
        return "digit"
    if c.isalpha():
        return "lower" if c.islower() else "upper" if c.isupper() else "letter"
    return "other"


def password_problem(password: str, emp_no: str | None = None) -> str | None:
    """Say what is wrong with a password under the policy, in Chinese; None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"密码至少{MIN_LENGTH}位"
    if len(password) > MAX_LENGTH:
        return f"密码最多{MAX_LENGTH}位"
    emp_no = (emp_no or "").strip().lower()
    if len(emp_no) >= 4 and emp_no in password.lower():  # a 工号 of 2 or 3 characters is any word's part
        return "密码不能包含工号"
    if password.strip().lower() in common_passwords():
        return "这个密码太常见，很容易被猜到，请换一个"
    if len({_char_class(c) for c in password}) < 2:
        return "密码不能只用一类字符（如全是数字或全是小写字母），请混用字母、数字或符号"
    return None


_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/l/I)


def generate_password(emp_no: str | None = None, length: int = 10) -> str:
    """Return a random password that meets the policy."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if password_problem(password, emp_no) is None:
            return password


def hash_password(password: str, method: str) -> str:
    """Return a salted hash of the password made with `method` (a werkzeug method string)."""
    return generate_password_hash(password, method=method)


@lru_cache(maxsize=8)
def _reference(method: str) -> tuple[str, str]:
    """The method's full name as stored (e.g. scrypt:32768:8:1) and a hash of a random password made with it."""
    reference = generate_password_hash(secrets.token_hex(16), method=method)
    return reference.split("$", 1)[0], reference


@dataclass(frozen=True)
class Verdict:
    ok: bool  # the password matches
    rehash: bool = False  # it matches, and the stored hash was made with another method than the configured one

    def __bool__(self) -> bool:
        return self.ok


def verify(stored_hash: str | None, password: str, method: str) -> Verdict:
    """Check a password against a stored hash (None: unknown person) at the configured method's cost."""
    name, reference = _reference(method)
    if stored_hash is None:
        check_password_hash(reference, password)
        return Verdict(False)
    ok = check_password_hash(stored_hash, password)
    if stored_hash.split("$", 1)[0] == name:
        return Verdict(ok)
    check_password_hash(reference, password)  # a cheaper stored hash must not answer sooner
    return Verdict(ok, rehash=ok)
