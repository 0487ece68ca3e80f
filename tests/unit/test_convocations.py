"""Reading a CSV file of convocations: formats accepted, and every error located in French."""

from __future__ import annotations

import datetime as dt

import pytest

from imagin.domain.convocations import (
    COLUMN_NAMES,
    DESCRIPTIONS,
    ConvocationDay,
    RowError,
    decode_csv,
    normalise_header,
    parse_convocations,
    rate_label,
)

HEADER = ";".join(COLUMN_NAMES)
VALUES = {
    "numero_mission": "621",
    "examen": "CERTIFICAT DE FORMATION GENERALE",
    "taux_examen": "heure 3",
    "session_code": "2022-12",
    "session": "Session décembre 2022",
    "type_mission": "Interrogation orale",
    "base_remuneration": "candidats+heures",
    "specialite": "CERTIFICAT DE FORMATION GENERALE",
    "epreuve_option": "1-001, ENTretien AVEC LE JURY",
    "centre_code": "06112932",
    "centre_nom": "PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX",
    "centre_commune": "ALENCON",
    "jours": "02/12/2022 09:00",
    "email": "claire.martin@example.fr",
    "prenom": "Claire",
    "nom": "Martin",
    "remuneration": "oui",
    "deplacement": "oui",
    "bureau_code": "DEC2",
    "annulation": "",
    "motif_annulation": "",
    "epreuve_facultative": "",
    "cloture_saisie": "",
}


def line(**changes: str) -> str:
    values = VALUES | changes
    return ";".join(values[name] for name in COLUMN_NAMES)


def parse(*lines: str, header: str = HEADER):
    return parse_convocations("\n".join([header, *lines]) + "\n")


def errors_of(*lines: str, header: str = HEADER) -> list[str]:
    return [str(error) for error in parse(*lines, header=header).errors]


def test_a_valid_row_is_read_and_normalised():
    preview = parse(line())
    assert preview.errors == []
    [row] = preview.rows
    assert row.line == 2
    assert row.number == 621
    assert row.rate_class == "hour:3"
    assert row.pay_basis == "candidates_hours"
    assert row.epreuve_option == "1-001, ENTretien AVEC LE JURY"
    assert row.days == (ConvocationDay(dt.date(2022, 12, 2), dt.time(9, 0), 2),)
    assert row.pay_right and row.travel_right and row.pay_applies
    assert row.bureau_code == "DEC2"


def test_every_column_is_documented():
    assert set(DESCRIPTIONS) == set(COLUMN_NAMES)


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_separator_is_detected(separator):
    values = VALUES | {"epreuve_option": '"1-001, ENTretien AVEC LE JURY"'}
    text = separator.join(COLUMN_NAMES) + "\n" + separator.join(values[n] for n in COLUMN_NAMES)
    preview = parse_convocations(text)
    assert preview.errors == []
    assert preview.rows[0].epreuve_option == "1-001, ENTretien AVEC LE JURY"


def test_bom_crlf_and_blank_lines_are_fine():
    text = "\ufeff" + HEADER + "\r\n\r\n" + line() + "\r\n;;;\r\n"
    preview = parse_convocations(text)
    assert preview.errors == [] and len(preview.rows) == 1


def test_decode_accepts_utf8_with_or_without_bom_and_explains_the_rest():
    assert decode_csv("été".encode()) == "été"
    assert decode_csv("\ufeffété".encode()) == "été"
    with pytest.raises(ValueError, match="n'est pas encodé en UTF-8"):
        decode_csv("été".encode("cp1252"))


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("N° de mission", "numero_mission"),
        ("Numéro mission", "numero_mission"),
        ("ÉPREUVE / OPTION", "epreuve_option"),
        ("Spécialité", "specialite"),
        ("Rémunération", "remuneration"),
        ("Déplacement", "deplacement"),
        ("Courriel", "email"),
        (" Code centre ", "centre_code"),
        ("Prénom", "prenom"),
    ],
)
def test_headers_are_case_and_accent_insensitive(header, name):
    assert normalise_header(header) == name


def test_columns_may_come_in_any_order():
    names = list(reversed(COLUMN_NAMES))
    text = ";".join(names) + "\n" + ";".join(VALUES[n] for n in names)
    preview = parse_convocations(text)
    assert preview.errors == [] and preview.rows[0].number == 621


def test_header_errors_stop_everything():
    header = HEADER.replace("jours", "journees").replace("nom;", "nom;nom;", 1)
    assert errors_of(line(), header=header) == [
        "Ligne 1, colonne « journees » : colonne inconnue. Les colonnes possibles sont : "
        + ", ".join(COLUMN_NAMES)
        + ".",
        "Ligne 1, colonne « nom » : cette colonne figure deux fois.",
        "Ligne 1, colonne « jours » : colonne obligatoire absente de l'en-tête.",
    ]


def test_optional_columns_may_be_left_out():
    optional = ("specialite", "epreuve_option", "annulation", "motif_annulation")
    names = [n for n in COLUMN_NAMES if n not in optional]
    text = ";".join(names) + "\n" + ";".join(VALUES[n] for n in names)
    preview = parse_convocations(text)
    assert preview.errors == []
    assert (preview.rows[0].specialite, preview.rows[0].epreuve_option) == ("", "")
    assert not preview.rows[0].cancelled


def test_a_cancelled_convocation_is_read_with_its_reason():
    [row] = parse(line(annulation="oui", motif_annulation="Épreuve reportée")).rows
    assert row.cancelled and row.cancel_reason == "Épreuve reportée"
    assert errors_of(line(annulation="peut-être")) == [
        "Ligne 2, colonne « annulation » : oui ou non est attendu, pas « peut-être »."
    ]


def test_empty_files():
    assert errors_of(header="") == ["Ligne 1, colonne « numero_mission » : le fichier est vide."]
    assert errors_of() == ["Ligne 2, colonne « numero_mission » : aucune convocation à importer."]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"jours": "31/02/2022 09:00"},
            "Ligne 2, colonne « jours » : date invalide « 31/02/2022 ».",
        ),
        (
            {"jours": "02/12/2022 25:00"},
            "Ligne 2, colonne « jours » : heure invalide « 25:00 ».",
        ),
        (
            {"jours": "02/12/2022"},
            "Ligne 2, colonne « jours » : heure de début manquante après « 02/12/2022 », "
            "par exemple 09:00.",
        ),
        (
            {"jours": "02/12/2022 09:00 2"},
            "Ligne 2, colonne « jours » : durée invalide « 2 » : 1 (journée) ou 0,5 "
            "(demi-journée).",
        ),
        (
            {"jours": "02/12/2022 09:00|2022-12-02 14:00"},
            "Ligne 2, colonne « jours » : le 02/12/2022 figure deux fois.",
        ),
        (
            {"jours": "vendredi"},
            "Ligne 2, colonne « jours » : jour illisible « vendredi » : date et heure "
            "attendues, par exemple « 02/12/2022 09:00 » ou « 2022-12-02 09:00 », suivies de "
            "« 0,5 » pour une demi-journée.",
        ),
        (
            {"numero_mission": "62a"},
            "Ligne 2, colonne « numero_mission » : numéro de mission invalide « 62a » : un "
            "nombre entier positif est attendu.",
        ),
        (
            {"numero_mission": "0"},
            "Ligne 2, colonne « numero_mission » : numéro de mission invalide « 0 » : un "
            "nombre entier positif est attendu.",
        ),
        (
            {"numero_mission": "3000000000"},
            "Ligne 2, colonne « numero_mission » : numéro de mission invalide « 3000000000 » "
            ": un nombre entier positif est attendu.",
        ),
        (
            {"numero_mission": "99999999999"},
            "Ligne 2, colonne « numero_mission » : 10 caractères au plus (11).",
        ),
        (
            {"email": "claire.martin@"},
            "Ligne 2, colonne « email » : adresse électronique invalide « claire.martin@ ».",
        ),
        (
            {"taux_examen": "copie 6"},
            "Ligne 2, colonne « taux_examen » : taux inconnu « copie 6 » : copie 1 à copie 5, "
            "heure 1 à heure 4, ou NR (non rémunéré).",
        ),
        (
            {"base_remuneration": "forfait"},
            "Ligne 2, colonne « base_remuneration » : copies, candidats+heures ou heures est "
            "attendu, pas « forfait ».",
        ),
        (
            {"deplacement": "peut-être"},
            "Ligne 2, colonne « deplacement » : oui ou non est attendu, pas « peut-être ».",
        ),
        (
            {"examen": ""},
            "Ligne 2, colonne « examen » : valeur obligatoire manquante.",
        ),
        (
            {"nom": "x" * 101},
            "Ligne 2, colonne « nom » : 100 caractères au plus (101).",
        ),
    ],
)
def test_each_wrong_value_is_located_and_explained(changes, expected):
    assert errors_of(line(**changes)) == [expected]


def test_every_error_of_every_row_is_reported():
    errors = parse(
        line(),
        line(numero_mission="622", jours="32/01/2023 08:00", email="x"),
        line(numero_mission="623", remuneration=""),
    ).errors
    assert [(e.line, e.column) for e in errors] == [
        (3, "jours"),
        (3, "email"),
        (4, "remuneration"),
    ]
    assert all(isinstance(error, RowError) for error in errors)


def test_a_value_outside_the_header_is_an_error():
    assert errors_of(line() + ";en trop") == [
        "Ligne 2, colonne « 24 » : valeur en dehors des colonnes de l'en-tête."
    ]


def test_a_trailing_empty_cell_is_ignored():
    assert errors_of(line() + ";") == []


def test_line_numbers_count_quoted_line_breaks():
    text = HEADER + "\n" + line(specialite='"sur\ndeux lignes"') + "\n" + line(email="x")
    errors = parse_convocations(text).errors
    assert [(e.line, e.column) for e in errors] == [(4, "email")]


@pytest.mark.parametrize(
    ("value", "days"),
    [
        ("2022-12-02 09:00", [(dt.date(2022, 12, 2), dt.time(9, 0), 2)]),
        ("2/12/2022 9h30", [(dt.date(2022, 12, 2), dt.time(9, 30), 2)]),
        ("02/12/2022 14:00 0,5", [(dt.date(2022, 12, 2), dt.time(14, 0), 1)]),
        ("02/12/2022 14:00 0.5", [(dt.date(2022, 12, 2), dt.time(14, 0), 1)]),
        (
            "03/12/2022 08:30 | 02/12/2022 09:00 1",
            [(dt.date(2022, 12, 2), dt.time(9, 0), 2), (dt.date(2022, 12, 3), dt.time(8, 30), 2)],
        ),
    ],
)
def test_days_formats(value, days):
    [row] = parse(line(jours=value)).rows
    assert [(d.day, d.start, d.half_days) for d in row.days] == days


@pytest.mark.parametrize(
    ("value", "rate_class"),
    [
        ("heure 3", "hour:3"),
        ("Heure:1", "hour:1"),
        ("horaire 4", "hour:4"),
        ("copie 5", "copy:5"),
        ("COPIES 2", "copy:2"),
        ("copy:1", "copy:1"),
        ("NR", "NR"),
        ("non rémunéré", "NR"),
    ],
)
def test_rate_classes(value, rate_class):
    [row] = parse(line(taux_examen=value)).rows
    assert row.rate_class == rate_class


def test_rate_labels_are_written_as_in_the_file():
    assert [rate_label(r) for r in ("hour:3", "copy:5", "NR")] == ["heure 3", "copie 5", "NR"]


@pytest.mark.parametrize(
    ("value", "basis"),
    [
        ("copies", "copies"),
        ("Candidats + heures", "candidates_hours"),
        ("candidats et heures", "candidates_hours"),
        ("HEURES", "hours"),
    ],
)
def test_pay_bases(value, basis):
    assert parse(line(base_remuneration=value)).rows[0].pay_basis == basis


@pytest.mark.parametrize(
    ("pay", "rate", "applies"),
    [("oui", "heure 3", True), ("non", "heure 3", False), ("OUI", "NR", False)],
)
def test_pay_applies_only_with_the_right_and_a_paid_exam(pay, rate, applies):
    assert parse(line(remuneration=pay, taux_examen=rate)).rows[0].pay_applies is applies


def test_a_mission_number_appears_once():
    assert errors_of(line(), line()) == [
        "Ligne 3, colonne « numero_mission » : le numéro 621 figure déjà ligne 2."
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"taux_examen": "heure 2"},
            "Ligne 3, colonne « taux_examen » : l'examen « CERTIFICAT DE FORMATION GENERALE » "
            "a le taux « heure 3 » ligne 2.",
        ),
        (
            {"session": "Session de décembre"},
            "Ligne 3, colonne « session » : la session « 2022-12 » a le libellé "
            "« Session décembre 2022 » ligne 2.",
        ),
        (
            {"centre_commune": "ALENÇON"},
            "Ligne 3, colonne « centre_nom » : le centre « 06112932 » est décrit "
            "« PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX — ALENCON » ligne 2.",
        ),
        (
            {"base_remuneration": "heures"},
            "Ligne 3, colonne « base_remuneration » : le type de mission « Interrogation orale » "
            "a la base de rémunération « candidats+heures » ligne 2.",
        ),
    ],
)
def test_the_same_exam_session_centre_and_type_are_described_alike(changes, expected):
    assert errors_of(line(), line(numero_mission="622", **changes)) == [expected]


def test_exam_names_match_regardless_of_case_and_accents():
    preview = parse(line(), line(numero_mission="622", examen="certificat de formation générale"))
    assert preview.errors == []
