"""Typed references mapped to pages and anchors in one web-side place (imagin.anchors)."""

import datetime as dt

import pytest

from imagin import create_app
from imagin.anchors import anchor, href
from imagin.domain.refs import FieldRef, ReceiptRef, Section

DAY = dt.date(2022, 12, 2)


@pytest.fixture
def app():
    return create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})


@pytest.mark.parametrize(
    ("ref", "url"),
    [
        (FieldRef(Section.PAY, field="done"), "/missions/621/remuneration#done"),
        (FieldRef(Section.HOURS), "/missions/621/remuneration#hours"),
        (FieldRef(Section.HOURS, "0", "end"), "/missions/621/remuneration#hours-0-end"),
        (FieldRef(Section.LEG, "12"), "/missions/621/deplacement#leg-12"),
        (FieldRef(Section.LEG, "new", "departure"), "/missions/621/deplacement#trajets"),
        (
            FieldRef.of_receipt(ReceiptRef.meal(DAY, "dejeuner")),
            "/missions/621/deplacement#meal-2022-12-02-dejeuner",
        ),
        (FieldRef(Section.NIGHT, "2022-12-02"), "/missions/621/deplacement#night-2022-12-02"),
        (FieldRef(Section.EXPENSE, "7"), "/missions/621/deplacement#expense-7"),
        (FieldRef(Section.PROFILE, field="vehicle_cv"), "/profil?number=621#vehicle_cv"),
        (FieldRef(Section.DOCUMENTS), "/missions/621/deplacement#pieces"),
        (ReceiptRef.leg(12), "/missions/621/deplacement#receipt-leg-12"),
        (ReceiptRef.meal(DAY, "diner"), "/missions/621/deplacement#receipt-meal-2022-12-02-diner"),
    ],
)
def test_each_reference_links_to_where_it_is_shown(app, ref, url):
    with app.test_request_context():
        assert href(621, ref) == url


def test_a_receipt_reference_reads_back_from_its_form_value():
    ref = ReceiptRef.meal(DAY, "dejeuner")
    assert str(ref) == "meal:2022-12-02:dejeuner"
    assert ReceiptRef.parse(str(ref)) == ref
    assert ReceiptRef.parse("leg:12") == ReceiptRef.leg(12)
    for wrong in ("", "leg", "leg:", "car:1", "autre", "leg-12"):
        assert ReceiptRef.parse(wrong) is None
    assert anchor(ref) == "receipt-meal-2022-12-02-dejeuner"
