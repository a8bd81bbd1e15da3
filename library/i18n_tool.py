"""Keep the English catalogues in step with the Chinese source strings.

``python -m library.i18n_tool update`` extracts every translatable string of each package
(its Python code and its ``templates/<package>`` folder; ``library`` also owns the top-level
templates), merges them into ``<package>/translations/en/LC_MESSAGES/messages.po`` and
compiles the ``.mo``. ``python -m library.i18n_tool check`` lists strings without an English
translation (the test suite runs it)."""

from __future__ import annotations

import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("library", "catalog", "circulation", "reading_points", "ancient_books")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
METHODS = [("**.py", "python"), ("**.html", "jinja2")]
OPTIONS = {"**.html": {"extensions": "jinja2.ext.do"}}


def _sources(package: str) -> list[Path]:
    dirs = [ROOT / package, ROOT / "templates" / package]
    if package == "library":
        dirs.append(ROOT / "templates" / "errors")
    if package == "reading_points":  # its two sub-packages keep their own template folders
        dirs += [ROOT / "templates" / "points", ROOT / "templates" / "campaigns"]
    if package == "circulation":  # circulation.sip2 keeps its templates in templates/sip2
        dirs.append(ROOT / "templates" / "sip2")
    if package == "catalog":  # catalog.search keeps the public OPAC templates in templates/opac
        dirs.append(ROOT / "templates" / "opac")
    return [d for d in dirs if d.is_dir()]


def extract(package: str) -> Catalog:
    catalog = Catalog(locale="en", project=package, charset="utf-8")
    for src in _sources(package):
        for filename, lineno, message, comments, context in extract_from_dir(
            str(src), method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS, strip_comment_tags=True,
        ):
            if "migrations" in filename.split("/"):
                continue
            catalog.add(message, None, [(str(src / filename), lineno)], auto_comments=comments, context=context)
    if package == "library":
        for html in sorted((ROOT / "templates").glob("*.html")):
            for lineno, message, comments, context in extract_from_file("jinja2", str(html), keywords=KEYWORDS):
                catalog.add(message, None, [(str(html), lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(package: str) -> Path:
    return ROOT / package / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def load(package: str) -> Catalog:
    path = po_path(package)
    if not path.exists():
        return Catalog(locale="en", project=package, charset="utf-8")
    with path.open("rb") as f:
        return read_po(f, locale="en")


def update(package: str) -> list[str]:
    template = extract(package)
    catalog = load(package)
    catalog.update(template, no_fuzzy_matching=True)
    path = po_path(package)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False, ignore_obsolete=True)
    compile_mo(package, catalog)
    return missing(package, template, catalog)


def compile_mo(package: str, catalog: Catalog | None = None) -> None:
    catalog = catalog or load(package)
    buf = BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    po_path(package).with_suffix(".mo").write_bytes(buf.getvalue())


def missing(package: str, template: Catalog | None = None, catalog: Catalog | None = None) -> list[str]:
    template = template or extract(package)
    catalog = catalog or load(package)
    out = []
    for msg in template:
        if not msg.id:
            continue
        have = catalog.get(msg.id, context=msg.context)
        if have is None or not have.string or (isinstance(have.string, tuple) and not all(have.string)) or have.fuzzy:
            out.append(msg.id if isinstance(msg.id, str) else msg.id[0])
    return out


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "check"
    packages = argv[2:] or list(PACKAGES)
    bad = 0
    for package in packages:
        if cmd == "update":
            todo = update(package)
        elif cmd == "compile":
            compile_mo(package)
            todo = []
        else:
            todo = missing(package)
        for m in todo:
            print(f"{package}: untranslated: {m}")
        bad += len(todo)
    return 1 if (bad and cmd == "check") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))


def fill(package: str, translations: dict[str, str]) -> None:
    """Set English strings for msgids (used when adding many at once), then compile."""
    catalog = load(package)
    for msgid, text in translations.items():
        msg = catalog.get(msgid)
        if msg is None:
            catalog.add(msgid, text)
        else:
            msg.string = text
            msg.flags.discard("fuzzy")
    with po_path(package).open("wb") as f:
        write_po(f, catalog, width=0, ignore_obsolete=True)
    compile_mo(package, catalog)
