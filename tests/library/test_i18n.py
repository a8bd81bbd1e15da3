"""Every user-facing Chinese string has an English translation, and the compiled catalogues
are the ones the .po files describe."""

from __future__ import annotations

from io import BytesIO

import pytest
from babel.messages.mofile import write_mo

from library import i18n_tool


@pytest.mark.parametrize("package", i18n_tool.PACKAGES)
def test_every_string_has_english(package: str) -> None:
    assert i18n_tool.missing(package) == []


@pytest.mark.parametrize("package", i18n_tool.PACKAGES)
def test_compiled_catalogue_is_current(package: str) -> None:
    po = i18n_tool.po_path(package)
    if not po.exists():
        assert i18n_tool.extract(package).__len__() == 0, f"{package} has strings but no catalogue"
        return
    buf = BytesIO()
    write_mo(buf, i18n_tool.load(package), use_fuzzy=False)
    assert po.with_suffix(".mo").read_bytes() == buf.getvalue(), "run: python -m library.i18n_tool update"
