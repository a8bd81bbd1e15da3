"""IIIF Presentation 3.0: every generated manifest validates against the presentation
validator's JSON Schema (and the schema really rejects the broken fixture); images and the
viewer are served for published books only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft7Validator

from ancient_books.images import png_size
from tests.ancient_books.factories import make_approved, make_published
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(shared_file("iiif", "iiif_3_0.json").read_text(encoding="utf-8"))
    return Draft7Validator(schema)


@pytest.mark.parametrize("name", ["full_example.json", "publicdomain.json"])
def test_valid_fixtures_pass(validator: Draft7Validator, name: str) -> None:
    doc = json.loads(shared_file("iiif", "fixtures", name).read_text(encoding="utf-8"))
    assert list(validator.iter_errors(doc)) == []


def test_broken_fixture_fails(validator: Draft7Validator) -> None:
    doc = json.loads(shared_file("iiif", "fixtures", "broken_simple_image.json").read_text(encoding="utf-8"))
    assert list(validator.iter_errors(doc))


def test_generated_manifests_validate(app: Flask, db: Any, client: FlaskClient, validator: Draft7Validator) -> None:
    with db.transaction() as session:
        one = make_published(session, app, pages=3, volumes=1, title="益陽縣志", seals="“益陽縣圖書館藏書”朱文方印")
        two = make_published(session, app, pages=1, volumes=1, title="楚辭集注", grade_code="4", grade_class=None,
                             edition_text="", annotations="")
        numbers = [one.census_no, two.census_no]
    for number, pages in zip(numbers, (3, 1), strict=True):
        response = client.get(f"/iiif/{number}/manifest")
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        doc = json.loads(response.get_data(as_text=True))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert errors == []
        assert doc["type"] == "Manifest" and doc["id"].endswith(f"/iiif/{number}/manifest")
        assert len(doc["items"]) == pages
        labels = {m["label"]["zh-Hans"][0]: m["value"]["zh"][0] for m in doc["metadata"]}
        assert labels["普查编号"] == number and "题名卷数" in labels
        assert "收藏单位" in doc["requiredStatement"]["label"]["zh-Hans"][0]
        assert doc["rights"].startswith("http://creativecommons.org/")
        for canvas in doc["items"]:
            body = canvas["items"][0]["items"][0]["body"]
            assert canvas["width"] == body["width"] and canvas["height"] == body["height"]
            path = body["id"].split("localhost", 1)[1]
            with client.get(path) as image:
                assert image.status_code == 200 and image.mimetype == "image/png"
                assert png_size(image.data) == (canvas["width"], canvas["height"])


def test_unpublished_books_have_no_manifest_images_or_viewer(app: Flask, db: Any, client: FlaskClient) -> None:
    with db.transaction() as session:
        number = make_approved(session, app).census_no
    response = client.get(f"/iiif/{number}/manifest")
    assert response.status_code == 404 and response.json["error"]["code"] == "census_not_published"
    assert client.get(f"/iiif/{number}/images/1.png").status_code == 404
    assert client.get(f"/iiif/{number}/").status_code == 404
    assert client.get("/iiif/000000-0000-0000000/manifest").status_code == 404


def test_viewer_page_pages_through_the_images(app: Flask, db: Any, client: FlaskClient) -> None:
    with db.transaction() as session:
        record = make_published(session, app, pages=3)
        number, title = record.census_no, record.title
    page = client.get(f"/iiif/{number}/").get_data(as_text=True)
    assert title in page and page.count(f"/iiif/{number}/images/") >= 3
    assert "1 / 3" in page and 'id="next"' in page
    listing = client.get("/guji/").get_data(as_text=True)
    assert number in listing
    assert client.get(f"/iiif/{number}/images/9.png").status_code == 404
