"""Find secrets committed by mistake: private keys, passwords in URLs and settings, cloud and Airflow keys.

The test suite scans every git-tracked file (``tests/test_secret_scan.py``). A value that is an obvious
placeholder is not a secret: empty, a reference to the environment (``${VAR}``, ``{{ env_var(...) }}``,
``$VAR``, ``%(var)s``), angle brackets (``<password>``), a file path, or one of ``PLACEHOLDERS`` -- the words the README
and ``.env.example`` use in example URLs. ``ALLOWED`` lists the few test fixtures that need a fake password,
each with its reason. Anything else that looks like a secret fails the test: move it to the environment
or an Airflow connection.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: Values that stand for a password in documentation and examples.
PLACEHOLDERS = frozenset(
    {"password", "pass", "passwd", "secret", "changeme", "xxx", "xxxx", "example", "***"}
)
#: (path, value) pairs allowed on purpose; keep this short and say why.
ALLOWED = {
    # A URL-parsing test checks that the password never reaches display strings; the host does not exist.
    ("tests/test_database.py", "s3cret"),
    # The bad-input catalogue's settings entries check that a URL's password is never printed: a fake
    # password, formatted into URLs of hosts that do not exist.
    ("tests/bad_inputs/catalogue.py", "s3cret-pw"),
    ("tests/bad_inputs/catalogue.py", "{SECRET}"),
}

_ENV_REFERENCE = re.compile(r"^(\$\{[^}]*\}?|\$\w+|\{\{.*|%\(\w+\)s|<[^>]*>|\*+)$")
PATTERNS: dict[str, re.Pattern] = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?P<value>[^@\s'\"/]+)@"),
    "password in configuration": re.compile(
        r"(?im)^[ \t]*(?:export\s+)?[\w.-]*(?:password|passwd|secret|token|api_?key)[\w.-]*[ \t]*[:=][ \t]*"
        r"['\"]?(?P<value>[^\s'\"#]+)"
    ),
    "password in code": re.compile(
        r"(?i)\b\w*(?:password|passwd|secret|token)\w*\s*=\s*['\"](?P<value>[^'\"\s]{4,})['\"]"
    ),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"(?i)aws_secret_access_key\s*[:=]\s*['\"]?(?P<value>[A-Za-z0-9/+=]{40})"),
    "Airflow fernet key": re.compile(r"(?i)fernet_key\s*[:=]\s*['\"]?(?P<value>[A-Za-z0-9_-]{43}=)"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token or webhook": re.compile(
        r"\bxox[abprs]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/]+"
    ),
}
#: Configuration-style settings are only judged in configuration-like files (in code they are variables).
_CONFIG_ONLY = {"password in configuration"}
_CODE_ONLY = {"password in code"}
_CODE_SUFFIXES = {".py"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


def is_placeholder(value: str) -> bool:
    value = value.strip().rstrip(",;)")
    # A file path (a secrets file mounted at run time) names where a secret is, not the secret.
    is_path = value.startswith(("/", "./"))
    if value.startswith("<"):
        return True
    return not value or is_path or value.lower() in PLACEHOLDERS or bool(_ENV_REFERENCE.match(value))


def scan_text(path: str, text: str) -> list[Finding]:
    """Every likely secret in one file's text (``path`` as shown and as matched against ``ALLOWED``)."""
    is_code = Path(path).suffix in _CODE_SUFFIXES
    findings = []
    for kind, pattern in PATTERNS.items():
        if (kind in _CONFIG_ONLY and is_code) or (kind in _CODE_ONLY and not is_code):
            continue
        for match in pattern.finditer(text):
            value = match.groupdict().get("value")
            if value is not None and (is_placeholder(value) or (path, value) in ALLOWED):
                continue
            findings.append(Finding(path, text.count("\n", 0, match.start()) + 1, kind))
    return findings


def scan_files(root: Path, paths: list[str]) -> list[Finding]:
    """Scan ``paths`` (relative to ``root``); binary files are skipped."""
    findings = []
    for relative in paths:
        data = (root / relative).read_bytes() if (root / relative).is_file() else b""
        if b"\x00" in data[:8192]:
            continue
        findings += scan_text(relative, data.decode("utf-8", errors="replace"))
    return findings


def tracked_files(root: Path) -> list[str]:
    """Every file git tracks under ``root``."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True
    ).stdout.decode()
    return [p for p in listing.split("\0") if p]
