"""Reading a CSV file of convocations: every row checked, every error located, in French.

Pure: text in, rows and errors out. What needs the database (does the exam
exist, is the bureau the gestionnaire's) is checked by ``imagin.manage.imports``.
The columns are documented in ``docs/import.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from imagin.domain.deadlines import default_closing_date, parse_closing_date

MAX_MISSION_NUMBER = 2**31 - 1

# (column, required, maximum length); the order of docs/import.md.
COLUMNS: tuple[tuple[str, bool, int], ...] = (
    ("numero_mission", True, 10),
    ("examen", True, 200),
    ("taux_examen", True, 30),
    ("session_code", True, 20),
    ("session", True, 100),
    ("type_mission", True, 100),
    ("base_remuneration", True, 30),
    ("specialite", False, 200),
    ("epreuve_option", False, 200),
    ("centre_code", True, 20),
    ("centre_nom", True, 200),
    ("centre_commune", True, 100),
    ("jours", True, 2000),
    ("email", True, 254),
    ("prenom", True, 100),
    ("nom", True, 100),
    ("remuneration", True, 10),
    ("deplacement", True, 10),
    ("bureau_code", True, 20),
    # Optional: a convocation cancelled by the DEC, and why.
    ("annulation", False, 10),
    ("motif_annulation", False, 500),
    # Optional: an optional or one-off PE test (75 % of the hourly rate), the closing date.
    ("epreuve_facultative", False, 10),
    ("cloture_saisie", False, 10),
)
# What each column holds, in the words of the upload page.
DESCRIPTIONS = {
    "numero_mission": "N° de la mission, nombre entier unique (ex. 621)",
    "examen": "Nom de l'examen (ex. CERTIFICAT DE FORMATION GENERALE)",
    "taux_examen": "copie 1 à copie 5, heure 1 à heure 4, ou NR (non rémunéré)",
    "session_code": "Code de la session (ex. 2022-12)",
    "session": "Libellé de la session (ex. Session décembre 2022)",
    "type_mission": "Type de mission (ex. Interrogation orale)",
    "base_remuneration": "Ce que l'intervenant déclare : copies, candidats+heures ou heures",
    "specialite": "Spécialité",
    "epreuve_option": "Épreuve ou option",
    "centre_code": "Code du centre d'examen (ex. 06112932)",
    "centre_nom": "Nom du centre d'examen",
    "centre_commune": "Commune du centre d'examen",
    "jours": "Date et heure de début, séparées par « | » s'il y a plusieurs jours ; "
    "« 0,5 » après l'heure pour une demi-journée (ex. 02/12/2022 09:00|03/12/2022 14:00 0,5)",
    "email": "Adresse électronique de l'intervenant",
    "prenom": "Prénom de l'intervenant",
    "nom": "Nom de l'intervenant",
    "remuneration": "Droit à rémunération : oui ou non",
    "deplacement": "Droit au remboursement des frais de déplacement : oui ou non",
    "bureau_code": "Code du bureau DEC chargé de la mission (ex. DEC2)",
    "annulation": "Facultatif : oui si la mission est annulée (vide ou non sinon)",
    "motif_annulation": "Facultatif : le motif de l'annulation, communiqué à l'intervenant",
    "epreuve_facultative": "Facultatif : oui pour une épreuve facultative ou une épreuve "
    "ponctuelle d'EPS, payée 75 % du taux horaire",
    "cloture_saisie": "Facultatif : date de clôture de la saisie des états de frais de la "
    "session (jj/mm/aaaa ; par défaut le 31 août de l'année de la session)",
}
COLUMN_NAMES = tuple(name for name, _required, _length in COLUMNS)
MAX_LENGTHS = {name: length for name, _required, length in COLUMNS}
REQUIRED = frozenset(name for name, required, _length in COLUMNS if required)

# Other spellings a gestionnaire may well type for a column (after normalisation).
ALIASES = {
    "n_mission": "numero_mission",
    "no_mission": "numero_mission",
    "numero_de_mission": "numero_mission",
    "n_de_mission": "numero_mission",
    "mission": "numero_mission",
    "taux": "taux_examen",
    "code_session": "session_code",
    "libelle_session": "session",
    "type_de_mission": "type_mission",
    "epreuve": "epreuve_option",
    "option": "epreuve_option",
    "code_centre": "centre_code",
    "centre": "centre_nom",
    "nom_centre": "centre_nom",
    "commune": "centre_commune",
    "commune_centre": "centre_commune",
    "dates": "jours",
    "e_mail": "email",
    "courriel": "email",
    "adresse_electronique": "email",
    "droit_remuneration": "remuneration",
    "droit_deplacement": "deplacement",
    "bureau": "bureau_code",
    "code_bureau": "bureau_code",
    "annulee": "annulation",
    "mission_annulee": "annulation",
    "motif": "motif_annulation",
    "facultative": "epreuve_facultative",
    "epreuve_ponctuelle": "epreuve_facultative",
    "date_cloture": "cloture_saisie",
    "cloture": "cloture_saisie",
}

PAY_BASES = {
    "copies": "copies",
    "candidats+heures": "candidates_hours",
    "candidatsetheures": "candidates_hours",
    "heures": "hours",
}
PAY_BASIS_WORDS = {"copies": "copies", "candidates_hours": "candidats+heures", "hours": "heures"}
YES = frozenset({"oui", "o", "1", "vrai"})
NO = frozenset({"non", "n", "0", "faux"})

_RATE = re.compile(r"^(copie|copies|copy|heure|heures|horaire|hour)\s*[:\s]?\s*(\d)$")
_DAY = re.compile(
    r"^(?P<date>\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})"
    r"(?:\s+(?P<time>\d{1,2}[:h]\d{2}))?"
    r"(?:\s+(?P<duration>\S+))?$"
)
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")


@dataclass(frozen=True)
class RowError:
    """Something wrong in the file, at this line (1 is the header) and column."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"Ligne {self.line}, colonne « {self.column} » : {self.message}"


@dataclass(frozen=True)
class ConvocationDay:
    day: dt.date
    start: dt.time
    # 2 for a whole day, 1 for a half day (the model's unit: no float anywhere).
    half_days: int = 2


@dataclass(frozen=True)
class ConvocationRow:
    """One valid line of the file, normalised."""

    line: int
    number: int
    exam: str
    rate_class: str
    session_code: str
    session_label: str
    mission_type: str
    pay_basis: str
    specialite: str
    epreuve_option: str
    centre_code: str
    centre_name: str
    centre_commune: str
    days: tuple[ConvocationDay, ...]
    email: str
    first_name: str
    last_name: str
    pay_right: bool
    travel_right: bool
    bureau_code: str
    cancelled: bool = False
    cancel_reason: str = ""
    # None: the column is empty (an existing exam or session keeps what it has).
    optional_test: bool | None = None
    closes_on: dt.date | None = None

    @property
    def pay_applies(self) -> bool:
        return self.pay_right and self.rate_class != "NR"

    @property
    def session_closes_on(self) -> dt.date:
        """The closing date of the row's session: the column's, else 31 August."""
        if self.closes_on is not None:
            return self.closes_on
        return default_closing_date(self.session_code, self.session_label, self.days[0].day)


@dataclass
class ImportPreview:
    rows: list[ConvocationRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def decode_csv(data: bytes) -> str:
    """The file's text (UTF-8, with or without BOM); ValueError with a French message."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(
            "Le fichier n'est pas encodé en UTF-8. Dans votre tableur, enregistrez-le au "
            "format « CSV UTF-8 »."
        ) from None


def normalise_header(name: str) -> str:
    """ "N° de mission", "Épreuve / option" → "n_de_mission", "epreuve_option"."""
    text = fold(name).replace("°", "")
    text = re.sub(r"[^a-z0-9+]+", "_", text).strip("_")
    return ALIASES.get(text, text)


def rate_label(rate_class: str) -> str:
    """ "hour:3" → "heure 3", as the file writes it."""
    if rate_class == "NR":
        return "NR"
    kind, _, level = rate_class.partition(":")
    return f"{'copie' if kind == 'copy' else 'heure'} {level}"


def parse_convocations(text: str) -> ImportPreview:
    """Read and check every row of the CSV text; nothing is valid when one thing is not."""
    preview = ImportPreview()
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not any(line.strip() for line in lines):
        preview.errors.append(RowError(1, "numero_mission", "le fichier est vide."))
        return preview
    reader = csv.reader(lines, delimiter=_delimiter(lines[0]), strict=False)
    header = next(reader)
    columns = _columns(header, preview.errors)
    if columns is None:
        return preview
    seen: dict[str, dict] = {"number": {}, "exam": {}, "session": {}, "centre": {}, "type": {}}
    while True:
        line = reader.line_num + 1  # where the next row starts
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # A cell over the csv module's limit (128 Kio): no value here is ever that long.
            preview.errors.append(
                RowError(
                    line, "fichier", "cellule beaucoup trop longue : le fichier est illisible."
                )
            )
            return preview
        if _unclosed_quote(lines, line, reader.line_num):
            preview.errors.append(
                RowError(
                    line,
                    "fichier",
                    'un guillemet (") est ouvert et jamais refermé ; corrigez cette ligne.',
                )
            )
            return preview
        if not any(cell.strip() for cell in cells):
            continue
        row = _row(line, cells, columns, preview.errors)
        if row is not None and _consistent(row, seen, preview.errors):
            preview.rows.append(row)
    if not preview.rows and not preview.errors:
        preview.errors.append(RowError(2, "numero_mission", "aucune convocation à importer."))
    return preview


def _unclosed_quote(lines: list[str], first: int, last: int) -> bool:
    """Whether the row of lines first..last ran to the end of the file on a quote never closed
    (a cell may span lines, but then its quotes pair up)."""
    return (
        last > first and last >= len(lines) and "".join(lines[first - 1 : last]).count('"') % 2 == 1
    )


def fold(text: str) -> str:
    """Case- and accent-insensitive key: "Épreuve " → "epreuve"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _delimiter(header: str) -> str:
    # The header has no quoted commas: the separator is the commonest candidate in it.
    return max((";", ",", "\t"), key=header.count)


def _columns(header: list[str], errors: list[RowError]) -> list[str | None] | None:
    """Each cell's column name (None for a trailing empty one), or None if the header is wrong."""
    columns: list[str | None] = []
    ok = True
    for position, raw in enumerate(header, start=1):
        name = normalise_header(raw)
        if not name:
            columns.append(None)
            continue
        if name not in MAX_LENGTHS:
            errors.append(
                RowError(
                    1,
                    raw.strip() or str(position),
                    f"colonne inconnue. Les colonnes possibles sont : {', '.join(COLUMN_NAMES)}.",
                )
            )
            ok = False
        elif name in columns:
            errors.append(RowError(1, name, "cette colonne figure deux fois."))
            ok = False
        columns.append(name)
    for name in COLUMN_NAMES:
        if name in REQUIRED and name not in columns:
            errors.append(RowError(1, name, "colonne obligatoire absente de l'en-tête."))
            ok = False
    return columns if ok else None


def _row(
    line: int, cells: list[str], columns: list[str | None], errors: list[RowError]
) -> ConvocationRow | None:
    values: dict[str, str] = {}
    found: list[RowError] = []
    for position, cell in enumerate(cells):
        name = columns[position] if position < len(columns) else None
        value = " ".join(cell.split())
        if name is None:
            if value:
                found.append(
                    RowError(line, str(position + 1), "valeur en dehors des colonnes de l'en-tête.")
                )
            continue
        values[name] = value

    def get(name: str) -> str:
        value = values.get(name, "")
        if not value and name in REQUIRED:
            found.append(RowError(line, name, "valeur obligatoire manquante."))
        elif len(value) > MAX_LENGTHS[name]:
            found.append(
                RowError(line, name, f"{MAX_LENGTHS[name]} caractères au plus ({len(value)}).")
            )
            return ""
        return value

    def check(name: str, parse):
        value = get(name)
        if not value:
            return None
        try:
            return parse(value)
        except ValueError as error:
            found.append(RowError(line, name, str(error)))
            return None

    number = check("numero_mission", _number)
    exam = get("examen")
    rate_class = check("taux_examen", _rate_class)
    session_code = get("session_code")
    session_label = get("session")
    mission_type = get("type_mission")
    pay_basis = check("base_remuneration", _pay_basis)
    specialite = get("specialite")
    epreuve_option = get("epreuve_option")
    centre_code = get("centre_code").upper()
    centre_name = get("centre_nom")
    centre_commune = get("centre_commune")
    days = check("jours", _days)
    email = check("email", _email)
    first_name = get("prenom")
    last_name = get("nom")
    pay_right = check("remuneration", _yes_no)
    travel_right = check("deplacement", _yes_no)
    bureau_code = get("bureau_code").upper()
    cancelled = check("annulation", _yes_no) or False
    cancel_reason = get("motif_annulation")
    optional_test = check("epreuve_facultative", _yes_no)
    closes_on = check("cloture_saisie", parse_closing_date)
    if found:
        errors.extend(found)
        return None
    return ConvocationRow(
        line=line,
        number=number,
        exam=exam,
        rate_class=rate_class,
        session_code=session_code,
        session_label=session_label,
        mission_type=mission_type,
        pay_basis=pay_basis,
        specialite=specialite,
        epreuve_option=epreuve_option,
        centre_code=centre_code,
        centre_name=centre_name,
        centre_commune=centre_commune,
        days=days,
        email=email,
        first_name=first_name,
        last_name=last_name,
        pay_right=pay_right,
        travel_right=travel_right,
        bureau_code=bureau_code,
        cancelled=cancelled,
        cancel_reason=cancel_reason,
        optional_test=optional_test,
        closes_on=closes_on,
    )


def _consistent(row: ConvocationRow, seen: dict[str, dict], errors: list[RowError]) -> bool:
    """The same mission number once; the same exam, session, centre, type the same everywhere."""
    found: list[RowError] = []
    first = seen["number"].setdefault(row.number, row.line)
    if first != row.line:
        found.append(
            RowError(
                row.line, "numero_mission", f"le numéro {row.number} figure déjà ligne {first}."
            )
        )
    checks = (
        (
            "exam",
            fold(row.exam),
            rate_label(row.rate_class),
            "taux_examen",
            f"l'examen « {row.exam} » a le taux",
        ),
        (
            "session",
            row.session_code,
            row.session_label,
            "session",
            f"la session « {row.session_code} » a le libellé",
        ),
        (
            "centre",
            row.centre_code,
            f"{row.centre_name} — {row.centre_commune}",
            "centre_nom",
            f"le centre « {row.centre_code} » est décrit",
        ),
        (
            "type",
            fold(row.mission_type),
            PAY_BASIS_WORDS[row.pay_basis],
            "base_remuneration",
            f"le type de mission « {row.mission_type} » a la base de rémunération",
        ),
    )
    for kind, key, value, column, subject in checks:
        line, earlier = seen[kind].setdefault(key, (row.line, value))
        if earlier != value:
            found.append(RowError(row.line, column, f"{subject} « {earlier} » ligne {line}."))
    errors.extend(found)
    return not found


def _number(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) <= MAX_MISSION_NUMBER:
        raise ValueError(
            f"numéro de mission invalide « {value} » : un nombre entier positif est attendu."
        )
    return int(value)


def _rate_class(value: str) -> str:
    folded = fold(value)
    if folded in ("nr", "non remunere", "non-remunere"):
        return "NR"
    match = _RATE.match(folded)
    if match:
        kind = "copy" if match.group(1).startswith("cop") else "hour"
        level = int(match.group(2))
        if 1 <= level <= (5 if kind == "copy" else 4):
            return f"{kind}:{level}"
    raise ValueError(
        f"taux inconnu « {value} » : copie 1 à copie 5, heure 1 à heure 4, ou NR (non rémunéré)."
    )


def _pay_basis(value: str) -> str:
    folded = re.sub(r"[\s_]+", "", fold(value))
    if folded in PAY_BASES:
        return PAY_BASES[folded]
    raise ValueError(f"copies, candidats+heures ou heures est attendu, pas « {value} ».")


def _yes_no(value: str) -> bool:
    folded = fold(value)
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise ValueError(f"oui ou non est attendu, pas « {value} ».")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"adresse électronique invalide « {value} ».")
    return value


def _days(value: str) -> tuple[ConvocationDay, ...]:
    days: dict[dt.date, ConvocationDay] = {}
    for item in value.split("|"):
        item = item.strip()
        if not item:
            continue
        day = _day(item)
        if day.day in days:
            raise ValueError(f"le {day.day:%d/%m/%Y} figure deux fois.")
        days[day.day] = day
    if not days:
        raise ValueError("au moins un jour est attendu, par exemple « 02/12/2022 09:00 ».")
    return tuple(sorted(days.values(), key=lambda d: d.day))


def _day(item: str) -> ConvocationDay:
    match = _DAY.match(item)
    if not match:
        raise ValueError(
            f"jour illisible « {item} » : date et heure attendues, par exemple "
            "« 02/12/2022 09:00 » ou « 2022-12-02 09:00 », suivies de « 0,5 » pour une "
            "demi-journée."
        )
    raw_date, raw_time, raw_duration = match.group("date", "time", "duration")
    try:
        if "/" in raw_date:
            day_, month, year = (int(part) for part in raw_date.split("/"))
        else:
            year, month, day_ = (int(part) for part in raw_date.split("-"))
        day = dt.date(year, month, day_)
    except ValueError:
        raise ValueError(f"date invalide « {raw_date} ».") from None
    if raw_time is None:
        raise ValueError(f"heure de début manquante après « {raw_date} », par exemple 09:00.")
    hour, minute = (int(part) for part in re.split("[:h]", raw_time))
    if hour > 23 or minute > 59:
        raise ValueError(f"heure invalide « {raw_time} ».")
    half_days = 2
    if raw_duration is not None:
        duration = raw_duration.replace(".", ",")
        if duration in ("0,5", ",5"):
            half_days = 1
        elif duration not in ("1", "1,0"):
            raise ValueError(
                f"durée invalide « {raw_duration} » : 1 (journée) ou 0,5 (demi-journée)."
            )
    return ConvocationDay(day, dt.time(hour, minute), half_days)
