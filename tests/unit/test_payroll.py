"""The payroll file: each travel category in its column, amounts as numbers, text cells that a
spreadsheet cannot run (imagin.domain.payroll)."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from imagin.domain.payroll import HEADER, PayrollLine, amount_cell, payroll_csv, text_cell
from imagin.domain.status import Part
from imagin.domain.travel import Category

COLUMNS = {
    Category.TRANSPORT: "Transport",
    Category.MILEAGE: "Indemnités kilométriques",
    Category.MEALS: "Repas",
    Category.NIGHTS: "Nuitées",
    Category.OTHER: "Autres frais",
}


def line(part=Part.TRAVEL, total="0", categories=None, **texts) -> PayrollLine:
    values = {
        "batch_id": 7,
        "exported_on": dt.date(2026, 11, 30),
        "bureau_code": "DEC2",
        "mission_number": 621,
        "exam": "CERTIFICAT DE FORMATION GENERALE",
        "session": "Session décembre 2022",
        "last_name": "Martin",
        "first_name": "Claire",
        "email": "claire.martin@example.fr",
    }
    values.update(texts)
    return PayrollLine(part=part, total=Decimal(total), categories=categories or {}, **values)


def read(*lines: PayrollLine) -> list[dict[str, str]]:
    text = payroll_csv(list(lines))
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))


@pytest.mark.parametrize("category", list(Category))
def test_each_category_goes_in_its_own_column(category):
    amount = Decimal("101.76")
    [row] = read(line(total="101.76", categories={category: amount}))
    assert row[COLUMNS[category]] == "101,76"
    assert row["Total"] == "101,76"
    others = [COLUMNS[c] for c in Category if c is not category]
    assert all(row[column] == "0,00" for column in others)


def test_mission_621_whole_line_read_back():
    categories = {
        Category.MILEAGE: Decimal("101.76"),
        Category.MEALS: Decimal("26.25"),
        Category.OTHER: Decimal("12.40"),
    }
    pay, travel = read(
        line(Part.PAY, "33.60"), line(total="140.41", categories=categories, legs="ST LO → ALENCON")
    )
    assert list(pay) == list(HEADER)
    assert (pay["Partie"], pay["Rémunération"], pay["Transport"], pay["Total"]) == (
        "Rémunération",
        "33,60",
        "",
        "33,60",
    )
    assert (travel["Partie"], travel["Rémunération"]) == ("Déplacement", "")
    assert [travel[COLUMNS[c]] for c in Category] == ["0,00", "101,76", "26,25", "0,00", "12,40"]
    assert travel["Total"] == "140,41" and travel["Trajets"] == "ST LO → ALENCON"
    assert (travel["Lot"], travel["Date d'export"], travel["N° de mission"]) == (
        "7",
        "30/11/2026",
        "621",
    )


def test_what_the_frozen_categories_do_not_explain_still_reaches_payroll_as_other():
    [row] = read(line(total="50.00", categories={Category.MEALS: Decimal("20.00")}))
    assert (row["Repas"], row["Autres frais"], row["Total"]) == ("20,00", "30,00", "50,00")


@pytest.mark.parametrize(
    "typed",
    ["=1+1", "+1", "-2+3", "@SUM(1)", "\t=1", "\r=1", '=HYPERLINK("http://evil")'],
)
def test_a_text_that_starts_like_a_formula_stays_text(typed):
    assert text_cell(typed) == "'" + typed
    [row] = read(line(last_name=typed, precisions=typed, legs=typed))
    assert row["Nom"] == row["Précisions"] == row["Trajets"] == "'" + typed


@pytest.mark.parametrize("text", ["Martin", "ST LO → ALENCON", "A84 = péage", "", "2+3"])
def test_ordinary_text_is_left_alone(text):
    assert text_cell(text) == text


def test_amounts_are_plain_french_decimals():
    assert amount_cell(Decimal("1234.5")) == "1234,50"
    assert amount_cell(None) == ""
