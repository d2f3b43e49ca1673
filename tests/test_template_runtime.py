"""render.py's changes to how Jinja runs templates: faster, with the answers Jinja gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import Template

from broadsheet.render import make_environment


def test_imported_macros_are_shared_unless_the_importer_brings_new_globals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.html").write_text("{% macro hi(x) %}<b>{{ x }}{{ extra | default('') }}</b>{% endmacro %}")
    (tmp_path / "p.html").write_text('{% from "m.html" import hi %}{{ hi(name) }}')
    env = make_environment(tmp_path)
    made: list[str | None] = []
    make_module = Template.make_module

    def counted(self: Template, *args: object, **kwargs: object) -> object:
        made.append(self.name)
        return make_module(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Template, "make_module", counted)
    page = env.get_template("p.html")
    assert page.render(name="<a>") == "<b>&lt;a&gt;</b>"
    assert page.render(name="b") == "<b>b</b>"
    assert made == ["m.html"]  # made once, then every render imports the same module
    # An importer with a global the macros do not have gets a module of its own that sees it, each time.
    own = env.from_string('{% from "m.html" import hi %}{{ hi("c") }}', globals={"extra": "!"})
    assert own.render() == own.render() == "<b>c!</b>"
    assert made == ["m.html"] * 3
    assert page.render(name="d") == "<b>d</b>"  # and the shared one is still without it
