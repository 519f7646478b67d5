"""The README documents every setting a user can give: the app's and `make run`'s."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
TEST_ONLY = {"TEST_DATABASE_URL"}


def test_every_setting_of_make_run_is_in_the_readme_with_its_default():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*?(?=^\S)", makefile, re.S | re.M).group(0)
    used = set(re.findall(r"\$\((HOST|PORT|[A-Z_]+)\)", recipe))
    defaults = dict(re.findall(r"^([A-Z_]+) \?= (\S+)$", makefile, re.M))
    settable = {name: defaults[name] for name in used if name in defaults and name != "PYTHON"}
    assert {"HOST", "PORT"} <= settable.keys()
    for name, default in settable.items():
        assert f"`{name}` `{default}`" in README, name
        assert f"make run {name}=" in README, name


def test_every_environment_setting_is_in_the_readme():
    config = (ROOT / "backend" / "config.py").read_text()
    names = set(
        re.findall(r'(?:_env(?:_int|_bool)?|_key_from_env|environ\.get)\("([A-Z_]+)"', config)
    )
    assert "TRAO_SESSION_HOURS" in names and "TRAO_TRUSTED_PROXIES" in names
    missing = sorted(n for n in names - TEST_ONLY if f"| `{n}` |" not in README)
    assert not missing, f"settings missing from the README's table: {missing}"
