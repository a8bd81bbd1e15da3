"""IIIF Presentation 3.0 for published books: Manifest → Canvas → AnnotationPage → painting
Annotation with an Image body; one canvas per derivative image, labels in Chinese, metadata from
the census record, a required statement and the rights statement. Chinese books are read from
right to left and are paged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ancient_books.models import CensusRecord, PublishedImage

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
DEFAULT_RIGHTS = "http://creativecommons.org/publicdomain/mark/1.0/"


def _lang(value: str) -> dict[str, list[str]]:
    """Labels the system writes are in simplified Chinese."""
    return {"zh-Hans": [value]}


def _as_written(value: str) -> dict[str, list[str]]:
    """Census values are kept as written, in traditional or simplified script: plain "zh"."""
    return {"zh": [value]}


def _pair(label: str, value: str) -> dict[str, Any]:
    return {"label": _lang(label), "value": _as_written(value)}


def build_manifest(record: CensusRecord, images: Sequence[PublishedImage], *, base_url: str,
                   labels: dict[tuple[str, str], str], holder: str, rights: str = DEFAULT_RIGHTS) -> dict[str, Any]:
    """The manifest of a published book. ``base_url`` is the absolute URL of /iiif/<普查编号>
    (without a trailing slash); ``labels`` the controlled-list labels {(kind, code): label}."""
    base = base_url.rstrip("/")
    title = record.title + (f"{record.juan}" if record.juan else "")
    metadata = [_pair("普查编号", record.census_no)]
    pairs = [
        ("题名卷数", title),
        ("著者", record.authors_text),
        ("版本", record.edition_text),
        ("版本类型", labels.get(("edition_type", record.edition_type_code), "")),
        ("分类", "".join(x for x in (labels.get(("bu", record.bu_code), ""),
                                     labels.get(("lei", record.lei_code), "")) if x)),
        ("版式", "，".join(x for x in (record.layout_hangkuan, record.layout_bianlan, record.layout_banxin,
                                       record.layout_yuwei) if x)),
        ("装帧", labels.get(("binding", record.binding_code), "")),
        ("册数", f"{record.volumes}{record.volume_unit}"),
        ("存卷", record.extant),
        ("批校题跋", record.annotations),
        ("钤印", record.seals),
        ("定级", record.grade_text),
        ("索书号", record.call_number),
        ("收藏单位", record.holding_unit or holder),
    ]
    metadata += [_pair(k, v) for k, v in pairs if v]
    canvases: list[dict[str, Any]] = []
    for img in images:
        canvas_id = f"{base}/canvas/{img.seq}"
        canvases.append({
            "id": canvas_id,
            "type": "Canvas",
            "label": _lang(img.label),
            "width": img.width,
            "height": img.height,
            "items": [{
                "id": f"{base}/page/{img.seq}",
                "type": "AnnotationPage",
                "items": [{
                    "id": f"{base}/annotation/{img.seq}",
                    "type": "Annotation",
                    "motivation": "painting",
                    "target": canvas_id,
                    "body": {
                        "id": f"{base}/images/{img.seq}.{_ext(img.media_type)}",
                        "type": "Image",
                        "format": img.media_type,
                        "width": img.width,
                        "height": img.height,
                    },
                }],
            }],
        })
    manifest: dict[str, Any] = {
        "@context": CONTEXT,
        "id": f"{base}/manifest",
        "type": "Manifest",
        "label": _as_written(title),
        "summary": _as_written("，".join(x for x in (record.authors_text, record.edition_text) if x) or title),
        "metadata": metadata,
        "requiredStatement": _pair("收藏单位", f"{record.holding_unit or holder}藏（普查编号 {record.census_no}）"),
        "rights": rights,
        "viewingDirection": "right-to-left",
        "behavior": ["paged"],
        "items": canvases,
    }
    if canvases:
        first = canvases[0]["items"][0]["items"][0]["body"]
        manifest["thumbnail"] = [{"id": first["id"], "type": "Image", "format": first["format"],
                                  "width": first["width"], "height": first["height"]}]
    return manifest


def _ext(media_type: str) -> str:
    return {"image/png": "png", "image/jpeg": "jpg"}.get(media_type, "png")
