"""No secrets in the repository: every git-tracked file is scanned, and the scanner is shown to catch them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.secret_scan import scan_files, tracked_files

PROJECT_DIR = Path(__file__).resolve().parents[1]

# Fakes are assembled at run time, so this file itself holds none of them.
FAKES = {
    "private key": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
    "password in a URL": "WAREHOUSE_URL=postgresql://warehouse:" + "Tr0ub4dor3@db.council.local/wh\n",
    "password in configuration": "  password: " + "hunter2hunter2\n",
    "AWS access key": "key = AKIA" + "ABCDEFGHIJKLMNOP\n",
    "Airflow fernet key": "AIRFLOW__CORE__FERNET_KEY=" + "x" * 43 + "=\n",
    "GitHub token": "token ghp_" + "a" * 36 + "\n",
}


def test_no_tracked_file_holds_a_secret():
    findings = scan_files(PROJECT_DIR, tracked_files(PROJECT_DIR))
    assert findings == [], "secrets in the repository:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize("kind", list(FAKES))
def test_the_scanner_finds_a_fake_secret_in_a_file(tmp_path, kind):
    suffix = ".yml" if kind == "password in configuration" else ".txt"
    (tmp_path / f"leak{suffix}").write_text("# harmless line\n" + FAKES[kind])
    findings = scan_files(tmp_path, [f"leak{suffix}"])
    assert [(f.kind, f.line) for f in findings] == [(kind, 2)]


def test_the_scanner_finds_a_password_literal_in_code(tmp_path):
    (tmp_path / "settings.py").write_text('password = "' + 'Sup3rS3cretValue"\nuser = "warehouse"\n')
    assert [f.kind for f in scan_files(tmp_path, ["settings.py"])] == ["password in code"]


def test_placeholders_and_environment_references_are_not_secrets(tmp_path):
    (tmp_path / "example.yml").write_text(
        "url: postgresql://user:password@host:5432/warehouse\n"
        "password: ${WAREHOUSE_PASSWORD}\n"
        "password: \"{{ env_var('WAREHOUSE_PASSWORD', '') }}\"\n"
        "POSTGRES_PASSWORD=\n"
        "secret: <set me>\n"
        "passwords_file: /run/secrets/passwords.json\n"
        "url2: postgresql://warehouse:${WAREHOUSE_DB_PASSWORD:?set it}@postgres:5432/warehouse\n"
    )
    assert scan_files(tmp_path, ["example.yml"]) == []
