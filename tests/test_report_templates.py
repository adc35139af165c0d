"""Report pages are Jinja2 templates with autoescape, and a council can brand them: a file in the folder
WAREHOUSE_REPORT_TEMPLATES names replaces the shipped file of the same name (no database needed)."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from complaints_warehouse.reports import page
from complaints_warehouse.settings import SettingsError, load_settings

PAGE = {
    "title": "BMMR pack: <script>alert(1)</script>",
    "kicker": "Complaints & compliments",
    "lede": "Figures for O'Brien's directorate",
    "public": True,
    "body": Markup("<p id='made-by-code'>x</p>"),
    "footer": [("Figures", "published <v1>")],
    "data": {"note": "</script><script>alert(2)</script>"},
}


def test_values_are_escaped_and_only_markup_the_code_made_is_not():
    html = page.render_template("report.html.j2", **PAGE)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Complaints &amp; compliments" in html and "published &lt;v1&gt;" in html
    assert "<p id='made-by-code'>x</p>" in html  # the body the code rendered, kept as markup
    assert "alert(2)</script>" not in html  # the data block cannot end its script element
    assert html.count("</script>") == 1 and "<span class='badge public'>PUBLIC</span>" in html


def test_a_council_folder_replaces_a_template_and_keeps_the_others(tmp_path, monkeypatch):
    (tmp_path / "report.css").write_text(":root { --accent: #6a1b9a; } /* Anytown Borough Council */\n")
    branded = page.render_template("report.html.j2", tmp_path, **PAGE)
    assert "Anytown Borough Council" in branded and "--accent: #0072B2" not in branded
    shipped = page.render_template("report.html.j2", **PAGE)
    assert "--accent: #0072B2" in shipped and "Anytown" not in shipped
    # The shipped page around the council's styles: header, badge, footer and data block as ever.
    assert "<span class='badge public'>PUBLIC</span>" in branded and "id='report-data'" in branded

    # A council's own page: its logo, the figures and the data block; the reports' bodies still shipped.
    (tmp_path / "report.html.j2").write_text(
        "<html><body><img alt='Anytown logo'><h1>{{ title }}</h1>{% block body %}{{ body }}{% endblock %}"
        "<script type='application/json' id='report-data'>{{ data_json }}</script></body></html>\n"
    )
    page.environment.cache_clear()  # the loader had found the shipped page for this folder
    own = page.render_template("report.html.j2", tmp_path, **PAGE)
    assert own.startswith("<html><body><img alt='Anytown logo'>") and "&lt;script&gt;" in own

    monkeypatch.setenv("WAREHOUSE_REPORT_TEMPLATES", str(tmp_path))
    assert load_settings().report_templates_dir == tmp_path.resolve()


def test_a_template_folder_that_does_not_exist_is_a_settings_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_REPORT_TEMPLATES", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="WAREHOUSE_REPORT_TEMPLATES=.*is not a folder"):
        load_settings()
    monkeypatch.delenv("WAREHOUSE_REPORT_TEMPLATES")
    assert load_settings().report_templates_dir is None
