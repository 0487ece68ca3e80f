"""The Récapitulatif as a PDF: both parts, the amounts with their reasons, the receipts
asked for and the documents sent, the intervenant's certification and the service fait.

Text in the PDF's standard Helvetica (WinAnsi: French accents and €), laid out line by
line and written with pypdf: a real text PDF, a few kilobytes, searchable and readable
by screen readers, with no font file and no new dependency.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from imagin.claims.validation import ClaimCheck
from imagin.domain.service_fait import ServiceFait
from imagin.domain.status import PartStatus
from imagin.models import Mission
from imagin.rendering import date_fr, datetime_fr, euros, long_date_fr

A4 = (595, 842)
MARGIN = 50
# Characters per line at 10 pt Helvetica across the A4 text width (about 5 pt each).
WRAP = 95
STYLES = {"title": ("/F2", 15, 22), "h": ("/F2", 12, 20), "p": ("/F1", 10, 13.5)}


@dataclass(frozen=True)
class Line:
    style: str
    text: str


def _pdf_text(text: str) -> bytes:
    """A PDF string literal in WinAnsi; what it cannot hold becomes "?"."""
    text = text.replace("\u202f", " ").replace("\xa0", " ").replace("’", "'")
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _font(name: str) -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject(name),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )


def render_pdf(title: str, lines: list[Line]) -> bytes:
    """Lay ``lines`` out on A4 pages (wrapped, paged) and return the PDF."""
    writer = PdfWriter()
    writer.add_metadata({"/Title": title, "/Producer": "IMAG'IN"})
    pages: list[list[bytes]] = [[]]
    y = A4[1] - MARGIN
    for line in lines:
        font, size, leading = STYLES[line.style]
        width = WRAP if line.style == "p" else int(WRAP * 10 / size)
        for piece in textwrap.wrap(line.text, width) or [""]:
            if y - leading < MARGIN:
                pages.append([])
                y = A4[1] - MARGIN
            y -= leading
            pages[-1].append(
                b"BT %s %d Tf %d %.1f Td %s Tj ET"
                % (font.encode(), size, MARGIN, y, _pdf_text(piece))
            )
    for number, operations in enumerate(pages, start=1):
        page = writer.add_blank_page(*A4)
        footer = b"BT /F1 8 Tf %d %d Td %s Tj ET" % (
            MARGIN,
            MARGIN // 2,
            _pdf_text(f"{title} — page {number} sur {len(pages)}"),
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/Font"): DictionaryObject(
                    {
                        NameObject("/F1"): _font("/Helvetica"),
                        NameObject("/F2"): _font("/Helvetica-Bold"),
                    }
                )
            }
        )
        content = DecodedStreamObject()
        content.set_data(b"\n".join([*operations, footer]))
        page.replace_contents(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def recap_lines(mission: Mission, check: ClaimCheck, statuses: dict) -> list[Line]:
    """What the printed Récapitulatif says, in reading order."""
    claim = mission.claim
    pay, travel = check.pay, check.travel
    lines = [
        Line("title", f"Récapitulatif — Mission N° {mission.number}"),
        Line("p", f"Intervenant : {mission.intervenant.display_name}"),
        Line("p", f"Examen : {mission.exam.name} — {mission.session.label}"),
        Line("p", f"Type mission : {mission.mission_type.label}"),
        Line("p", f"Lieu : {mission.centre.name} ({mission.centre.code})"),
        *[
            Line("p", f"Le {long_date_fr(day.day)} à {day.start_time:%H:%M}")
            for day in mission.days
        ],
        Line("h", f"Frais de rémunération — {PartStatus(statuses['pay']).label}"),
    ]
    if pay.applies:
        done = {True: "Oui", False: "Non"}.get(pay.entry.done, "Non renseigné")
        lines.append(Line("p", f"Mission effectuée : {done}"))
        if pay.entry.done is not False:
            if pay.asks_copies:
                lines.append(Line("p", f"Copies corrigées : {pay.entry.copies or 'Non renseigné'}"))
            if pay.asks_candidates:
                lines.append(
                    Line("p", f"Candidats examinés : {pay.entry.candidates or 'Non renseigné'}")
                )
            lines += [
                Line("p", f"Horaires : {date_fr(h.day)} de {h.start:%H:%M} à {h.end:%H:%M}")
                for h in pay.entry.hours
            ]
        lines.append(Line("p", f"Rémunération : {pay.estimate.formula or pay.estimate.reason}"))
    else:
        lines.append(Line("p", pay.estimate.reason))
    lines.append(Line("h", f"Frais de déplacement — {PartStatus(statuses['travel']).label}"))
    if not travel.applies:
        lines.append(Line("p", travel.reason))
    else:
        from imagin.travel.views import leg_summary

        lines += [Line("p", f"Trajet : {leg_summary(leg)}") for leg in travel.legs] or [
            Line("p", "Aucun trajet saisi.")
        ]
        for category in travel.categories:
            lines.append(Line("p", f"{category.label} — {euros(category.subtotal)}"))
            lines += [Line("p", f"    {text}") for text in category.lines]
        lines.append(Line("p", f"Total des frais de déplacement : {euros(travel.total)}"))
        lines.append(Line("h", "Pièces justificatives demandées"))
        lines += [
            Line("p", f"{c.receipt.label} : {'fourni' if c.provided else 'manquant'}")
            for c in check.receipts.checks
        ] or [Line("p", "Aucune pièce n'est demandée.")]
    lines.append(Line("h", "Pièces justificatives envoyées"))
    lines += [
        Line("p", f"{doc.original_name} — envoyée le {date_fr(doc.uploaded_at)}")
        for doc in claim.documents
    ] or [Line("p", "Aucune pièce envoyée.")]
    lines.append(
        Line(
            "p",
            "Total estimé (rémunération et déplacement) : "
            f"{euros(pay.estimate.amount + travel.total)}",
        )
    )
    lines.append(Line("h", "Certification"))
    if claim.validated_at:
        by = claim.validated_by.display_name if claim.validated_by else "l'intervenant"
        lines.append(
            Line(
                "p",
                f"Informations certifiées exactes et validées par {by} "
                f"le {datetime_fr(claim.validated_at)}.",
            )
        )
    else:
        lines.append(Line("p", "État de frais pas encore validé par l'intervenant."))
    service_fait = ServiceFait(mission.service_fait)
    if service_fait is ServiceFait.CERTIFIED and mission.service_fait_at:
        lines.append(Line("p", f"Service fait certifié le {datetime_fr(mission.service_fait_at)}."))
    else:
        lines.append(Line("p", f"Service fait : {service_fait.label}."))
    return lines
