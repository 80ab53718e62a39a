"""Court documents as a court reads them: each PDF's text read back page by page (pypdf)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pypdf

from shared.adapters.pdf_documents import FpdfDocuments
from shared.domain.court import CaseFacts, Exhibit, impact_statement, mg11, mg11_statements, zone_of
from shared.domain.statements import sign_statements

DECLARATION = (
    "is true to the best of my knowledge and belief and I make it knowing that, if it is tendered in evidence, I shall be "
    "liable to prosecution if I have wilfully stated in it anything which I know to be false, or do not believe to be true."
)


def pages(pdf: bytes) -> list[str]:
    """Each page's text with runs of white space made single spaces."""
    return [" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _witness(**extra):
    w = {
        "name": "Łukasz Zoë Brown",
        "kind": "security",
        "statement": "I watched the man fill a red rucksack with whisky at aisle 4. " * 60,
        "is_reporter": True,
        "occupation": "Security officer",
        "age_if_under_18": None,
        "declaration_accepted": True,
        **extra,
    }
    sign_statements([w], datetime(2026, 7, 1, 12, 0, tzinfo=UTC))  # 13:00 in London (BST)
    return w


def _facts(witnesses, exhibits=()):
    incident = {
        "reference": "NW-2026-000123",
        "category": "shop_theft",
        "occurred_at": "2026-11-20T14:32:00+00:00",
        "reported_at": "2026-11-20T15:10:00+00:00",
        "narrative": "Took six bottles of whisky.",
        "goods": [{"description": "Whisky 70cl", "quantity": 6, "unit_value": {"amount_minor": 2899, "currency": "GBP"}}],
        "witnesses": witnesses,
        "reporter": {"name": "Sam Taylor"},
    }
    return CaseFacts(
        incident=incident,
        retailer_name="Northwind Retail",
        store={"name": "Plymouth Drake Circus", "address": "1 Charles St", "postcode": "PL1 1EA"},
        force_name="Devon and Cornwall Police",
        zone=zone_of("uk"),
        exhibits=tuple(exhibits),
    )


def test_mg11_carries_the_declaration_the_witness_and_the_signature_on_every_page():
    w = _witness()
    exhibit = Exhibit("ŁB/1", "cctv", "till 2.mp4", 10, "ab" * 32, "2026-07-01T12:00:00+00:00", "evidence/ŁB-1 till 2.mp4")
    text = pages(FpdfDocuments().render(mg11(w, _facts([w], [exhibit]))))
    n = len(text)
    assert n >= 2  # a long statement runs over; every page is numbered and carries the signature line
    whole = " ".join(text)
    assert f"This statement (consisting of {n} page(s) each signed by me) {DECLARATION}" in whole
    assert "Statement of Łukasz Zoë Brown" in whole and "Occupation Security officer" in whole
    assert "Age if under 18 over 18" in whole
    assert "Wednesday 1 July 2026 at 13:00 BST" in whole  # local time, not UTC
    assert w["signature_sha256"] in whole.replace(" ", "") and "ŁB/1" in whole
    for number, page in enumerate(text, start=1):
        assert f"Page {number} of {n}" in page
        assert "Signature: Łukasz Zoë Brown (signed electronically" in page and "Signature witnessed by" in page
    young = _witness(name="Zoë Ng", age_if_under_18=16, occupation=None, statement="Short.")
    text = " ".join(pages(FpdfDocuments().render(mg11(young, _facts([young])))))
    assert "Age if under 18 16" in text and "Occupation not given" in text and "Page 1 of 1" in text


def test_every_mg11_page_renders_with_its_signature_line_and_number():
    """PDFium (the engine in Chrome) draws each page as an image and reads its text: the
    names print in the embedded font, and ink sits in the footer band of every page."""
    import pypdfium2

    w = _witness()
    pdf = pypdfium2.PdfDocument(FpdfDocuments().render(mg11(w, _facts([w]))))
    n = len(pdf)
    assert n >= 2
    for i in range(n):
        page = pdf[i]
        text = " ".join(page.get_textpage().get_text_range().split())
        assert f"Page {i + 1} of {n}" in text and "Signature: Łukasz Zoë Brown" in text
        image = page.render(scale=1).to_pil().convert("L")
        width, height = image.size
        footer = image.crop((0, int(height * 0.9), width, height))
        assert footer.getextrema()[0] < 100  # the signature line and page number are drawn, not just listed


def test_impact_statement_is_prefilled_from_the_incident_for_the_business_to_complete():
    text = " ".join(pages(FpdfDocuments().render(impact_statement(_facts([])))))
    assert "Impact Statement for Business" in text and "Business name Northwind Retail" in text
    assert "Plymouth Drake Circus, 1 Charles St, PL1 1EA" in text and "Friday 20 November 2026 at 14:32 GMT" in text
    assert "Whisky 70cl" in text and "£173.94" in text  # 6 x £28.99
    assert "Financial impact" in text and "Impact on staff" in text and "Signature:" in text


def test_no_mg11_is_printed_without_the_witness_name_or_once_the_words_changed():
    w = _witness()
    assert mg11_statements({"witnesses": [w]}) == [w]
    assert mg11_statements({"witnesses": [dict(w, name=None)]}) == []  # a partner's copy below full sharing
    assert mg11_statements({"witnesses": [dict(w, statement="Something else.")]}) == []
