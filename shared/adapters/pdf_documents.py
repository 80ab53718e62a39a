"""Court documents as PDF with fpdf2: pure Python, so it runs on Azure Functions Linux
without system packages. DejaVu Sans (shared/fonts, embedded as a subset) prints any
name a report can hold; fpdf2's built-in fonts are Latin-1 only and would lose "Łukasz"."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos

from shared.domain.court import PAGE_COUNT, Blank, CourtDocument, Fields, Heading, Para, Table

FONTS = Path(__file__).resolve().parents[1] / "fonts"
FAMILY = "DejaVu"
MARGIN = 18  # mm
FOOTER_HEIGHT = 22  # mm kept clear at the foot of each page for the signature line


class _Page(FPDF):
    def __init__(self, doc: CourtDocument):
        super().__init__(format="A4", unit="mm")
        self.doc = doc

    def header(self) -> None:
        self.set_font(FAMILY, size=7)
        self.set_text_color(90)
        self.cell(0, 4, self.doc.marking, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)
        self.ln(2)

    def footer(self) -> None:
        # The MG11 repeats the signature line on every page, so no page stands apart from it.
        self.set_y(-FOOTER_HEIGHT + 4)
        self.set_font(FAMILY, size=7)
        self.multi_cell(0, 3.2, self.doc.footer, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, size=8)
        self.cell(0, 4, f"Page {self.page_no()} of {PAGE_COUNT}", align="C")


class FpdfDocuments:
    """Renders `CourtDocument`s to PDF bytes (A4, page numbers "Page X of N")."""

    def __init__(self, fonts: Path = FONTS):
        self.regular = fonts / "DejaVuSans.ttf"
        self.bold = fonts / "DejaVuSans-Bold.ttf"

    def render(self, doc: CourtDocument, *, created_at: datetime | None = None) -> bytes:
        """The document as PDF; `created_at` dates it (the same moment gives the same bytes)."""
        pdf = _Page(doc)
        pdf.add_font(FAMILY, "", str(self.regular))
        pdf.add_font(FAMILY, "B", str(self.bold))
        pdf.set_margins(MARGIN, 14, MARGIN)
        pdf.set_auto_page_break(True, margin=FOOTER_HEIGHT)
        pdf.alias_nb_pages(PAGE_COUNT)
        pdf.set_title(doc.title)
        pdf.set_creator("Vigil")
        pdf.set_keywords(" ".join(doc.keywords))
        if created_at is not None:
            pdf.set_creation_date(created_at)
        pdf.add_page()
        pdf.set_font(FAMILY, "B", 15)
        pdf.multi_cell(0, 7, doc.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, size=8)
        for line in doc.subtitle:
            pdf.multi_cell(0, 4, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)
        for block in doc.blocks:
            if isinstance(block, Heading):
                pdf.ln(2)
                pdf.set_font(FAMILY, "B", 11)
                pdf.multi_cell(0, 6, block.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            elif isinstance(block, Para):
                pdf.set_font(FAMILY, "B" if block.bold else "", 7.5 if block.small else 9.5)
                pdf.multi_cell(0, 3.6 if block.small else 4.6, block.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.ln(1)
            elif isinstance(block, Fields):
                self._fields(pdf, block)
            elif isinstance(block, Table):
                self._table(pdf, block)
            elif isinstance(block, Blank):
                self._blank(pdf, block)
        return bytes(pdf.output())

    @staticmethod
    def _fields(pdf: FPDF, block: Fields) -> None:
        pdf.set_font(FAMILY, size=9)
        with pdf.table(
            col_widths=(2, 5),
            borders_layout=TableBordersLayout.NONE,
            first_row_as_headings=False,
            line_height=4.6,
            padding=0.6,
            text_align="LEFT",
        ) as table:
            for label, value in block.rows:
                row = table.row()
                row.cell(label)
                row.cell(value)
        pdf.ln(1)

    @staticmethod
    def _table(pdf: FPDF, block: Table) -> None:
        pdf.set_font(FAMILY, size=7.5)
        with pdf.table(col_widths=block.widths, line_height=3.6, padding=0.8, repeat_headings=1, text_align="LEFT") as table:
            table.row(block.headers)
            for values in block.rows:
                table.row(values)
        pdf.ln(1)

    @staticmethod
    def _blank(pdf: FPDF, block: Blank) -> None:
        pdf.set_font(FAMILY, size=8)
        pdf.multi_cell(0, 4, block.label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for _ in range(block.lines):
            pdf.ln(6)
            y = pdf.get_y()
            pdf.line(MARGIN, y, pdf.w - MARGIN, y)
        pdf.ln(2)
