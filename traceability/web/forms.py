"""Input forms for the custody screens. They check the shape of what was typed,
and that a scanned pack's printed lot and expiry are its batch's; the custody
rules are the services' (their refusals are shown on the form)."""

import re

from django import forms

from traceability.models import Batch, Organisation, Product
from traceability.printed_labels import PrintedLabel, label_mismatches
from traceability.scanning import MAX_SCAN_LENGTH, Scan, ScanError, check_separator, parse_scan
from traceability.web import reads

GTIN_LENGTHS = (8, 12, 13, 14)
MAX_LINES = 1_000


def gtin_14(value: str) -> str:
    """GTIN-8/12/13 left-padded with zeros to the GTIN-14 the ledger uses."""
    digits = re.sub(r"\s", "", value or "")
    if digits.isascii() and digits.isdigit() and len(digits) in GTIN_LENGTHS:
        return digits.zfill(14)
    return digits


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


class ProductRegisterForm(forms.Form):
    gtin = forms.CharField(
        label="GTIN",
        max_length=20,
        help_text="14 digits with the GS1 check digit; an 8, 12 or 13 digit GTIN gets "
        "leading zeros.",
    )
    name = forms.CharField(max_length=200, help_text="e.g. Amoxicillin 500 mg capsules, 20")

    def clean_gtin(self):
        return gtin_14(self.cleaned_data["gtin"])


class BatchCommissionForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), empty_label=None)
    lot = forms.CharField(max_length=20, help_text="Up to 20 letters, digits or GS1 symbols.")
    manufactured_on = forms.DateField(label="Manufactured on", widget=DateInput())
    expires_on = forms.DateField(label="Expires on", widget=DateInput())
    quantity = forms.IntegerField(
        min_value=1, help_text="Number of serialized packs; each gets a random serial."
    )

    def __init__(self, *args, manufacturer: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(manufacturer=manufacturer)

    def clean_lot(self):
        return self.cleaned_data["lot"].strip()


class BatchChoiceForm(forms.Form):
    """Step one of shipping: which batch (of those in stock)."""

    batch = forms.ModelChoiceField(queryset=Batch.objects.none(), label="Batch", empty_label=None)

    def __init__(self, *args, holder: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["batch"]
        field.queryset = reads.stock_by_batch(holder)
        field.label_from_instance = lambda b: (
            f"{b.product.name} · lot {b.lot} · expires {b.expires_on:%Y-%m-%d} · "
            f"{b.in_stock} in stock"
        )


class SerialsField(forms.Field):
    """Serials ticked in a checkbox list (rendered by the template)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [v.strip() for v in value or [] if v.strip()]


class ShipForm(forms.Form):
    """Step two: to whom, and what: a quantity or the ticked packs of the chosen
    batch, and/or ticked cases (which take what they hold along)."""

    batch = forms.ModelChoiceField(
        queryset=Batch.objects.none(), widget=forms.HiddenInput, required=False
    )
    receiver = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label="Ship to", empty_label="Choose the receiver"
    )
    returning = forms.BooleanField(
        required=False,
        label="This is a return to the organisation that sent these goods",
    )
    quantity = forms.IntegerField(
        min_value=1,
        required=False,
        help_text="Ships this many packs (or units of a lot-level batch), the first you hold; "
        "or tick packs below.",
    )
    serials = SerialsField(label="Packs", required=False)
    ssccs = SerialsField(label="Cases", required=False)

    def __init__(self, *args, sender: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.sender = sender
        self.fields["batch"].queryset = reads.stock_by_batch(sender)
        self.fields["receiver"].queryset = (
            Organisation.objects.exclude(role=Organisation.Role.REGULATOR)
            .exclude(pk=sender.pk)
            .order_by("name")
        )
        self.fields["receiver"].label_from_instance = lambda o: (
            f"{o.name} ({o.get_role_display().lower()}, GLN {o.gln})"
        )

    def clean_ssccs(self):
        ssccs = self.cleaned_data["ssccs"]
        held = set(
            reads.cases_in_stock(self.sender).filter(sscc__in=ssccs).values_list("sscc", flat=True)
        )
        strangers = [s for s in ssccs if s not in held]
        if strangers:
            raise forms.ValidationError(f"Case {strangers[0]} is not one of your cases in stock.")
        return ssccs

    def clean(self):
        cleaned = super().clean()
        batch, quantity, serials = (cleaned.get(k) for k in ("batch", "quantity", "serials"))
        cleaned.update(sgtins=[], lots={})
        if batch is None:
            if not cleaned.get("ssccs") and "ssccs" not in self.errors:
                raise forms.ValidationError("Tick cases to ship, or choose a batch first.")
            return cleaned
        if quantity and serials:
            raise forms.ValidationError("Give a quantity or tick packs, not both.")
        if not (quantity or serials or cleaned.get("ssccs")):
            raise forms.ValidationError("Give a quantity, tick packs or tick cases to ship.")
        if not batch.serialized:
            if serials:
                raise forms.ValidationError(f"Lot {batch.lot} is not serialized: give a quantity.")
            if quantity:
                cleaned["lots"] = {(batch.product.gtin, batch.lot): quantity}
        elif quantity:
            cleaned["sgtins"] = self._first_packs(batch, quantity)
        elif serials:
            cleaned["sgtins"] = self._ticked_packs(batch, serials)
        return cleaned

    def _first_packs(self, batch: Batch, quantity: int) -> list[tuple[str, str]]:
        loose = reads.loose_packs_in_stock(self.sender).filter(batch=batch).order_by("pk")
        packs = list(loose[:quantity])
        if len(packs) < quantity:
            raise forms.ValidationError(
                f"You hold {len(packs)} pack{'s' if len(packs) != 1 else ''} of lot "
                f"{batch.lot} ready to ship, fewer than {quantity}."
            )
        return [(p.gtin, p.serial) for p in packs]

    def _ticked_packs(self, batch: Batch, serials: list[str]) -> list[tuple[str, str]]:
        known = set(batch.packs.filter(serial__in=serials).values_list("serial", flat=True))
        strangers = [s for s in serials if s not in known]
        if strangers:
            raise forms.ValidationError(f"Pack {strangers[0]} is not in lot {batch.lot}.")
        return [(batch.product.gtin, s) for s in serials]


class CasePackForm(forms.Form):
    """Pack loose packs into a case, or cases onto a pallet."""

    sscc = forms.CharField(
        label="SSCC",
        required=False,
        max_length=18,
        help_text="Leave empty for a new case with a fresh SSCC; give an existing SSCC to add "
        "to that case.",
    )
    packs = forms.CharField(
        label="Packs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 48, "spellcheck": "false"}),
        help_text="One pack per line: GTIN, a space, then the serial.",
    )
    cases = forms.CharField(
        label="Cases (to build a pallet)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 24, "spellcheck": "false"}),
        help_text="One SSCC per line.",
    )

    def clean_sscc(self):
        return re.sub(r"\s", "", self.cleaned_data["sscc"])

    def clean_packs(self):
        return parse_serial_lines(self.cleaned_data["packs"], required=False)

    def clean_cases(self):
        return parse_sscc_lines(self.cleaned_data["cases"])

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not (cleaned.get("packs") or cleaned.get("cases")):
            raise forms.ValidationError("Name at least one pack or case to pack.")
        return cleaned


# Scan fields (templates/traceability/_scan_field.html): scan-field.js finds the box by
# data-scan-input; browsers must not "correct" a code as it is typed.
SCAN_INPUT_ATTRS = {
    "data-scan-input": "",
    "autocomplete": "off",
    "autocapitalize": "off",
    "spellcheck": "false",
}


def separator_field() -> forms.CharField:
    return forms.CharField(
        label="Separator",
        required=False,
        max_length=1,
        strip=False,
        help_text="If your scanner sends a character such as | where the code has a group "
        "separator (FNC1), enter it here. This browser remembers it.",
        widget=forms.TextInput(attrs={"data-scan-separator": "", "autocomplete": "off"}),
    )


def clean_separator(separator: str) -> str:
    try:
        check_separator(separator or None)
    except ScanError as exc:
        raise forms.ValidationError(exc.message) from None
    return separator


def scan_line(line: str, separator: str | None) -> Scan:
    """One line of a scan box: anything parse_scan reads; a ScanError otherwise."""
    return parse_scan(line, separator=separator or None)


# Typed by hand before scanners: a GTIN, a space, the serial.
LINE = re.compile(r"(?P<gtin>[0-9]{8,14})\s+(?P<serial>\S+)")


def scanned_item(
    number: int, line: str, separator: str | None, printed: dict | None = None
) -> tuple[str, str] | str:
    """Line `number` as a pack (GTIN, serial) or a case (its SSCC). A pack's printed lot
    and expiry, where its code carries them, go into `printed`."""
    typed = LINE.fullmatch(line)
    if typed and len(typed["gtin"]) in GTIN_LENGTHS:
        return gtin_14(typed["gtin"]), typed["serial"]
    try:
        scan = scan_line(line, separator)
    except ScanError as exc:
        raise forms.ValidationError(
            f"Line {number} ({line[:40]!r}): {exc.message}. Scan the pack, or type its GTIN, "
            "a space and its serial."
        ) from None
    if scan.sscc and not scan.gtin:
        return scan.sscc
    if not scan.serial:
        raise forms.ValidationError(
            f"Line {number}: the code names product {scan.gtin} but no serial number (21); "
            "scan the 2D code of the pack itself."
        )
    if printed is not None and (scan.lot or scan.expiry):
        printed[scan.gtin, scan.serial] = PrintedLabel(number, scan.lot, scan.expiry)
    return scan.gtin, scan.serial


MISMATCH_ADVICE = (
    "A code that disagrees with the ledger may be falsified: nothing was recorded. Set the "
    "pack aside and check it on the Verify screen, which alerts the regulator."
)


class SerialLinesForm(forms.Form):
    """Packs and cases, one per line: a scan of the pack's code or the case's label in
    any form a scanner or phone gives, or a pack's GTIN, a space and its serial typed."""

    lines = forms.CharField(
        label="Packs",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 48, **SCAN_INPUT_ATTRS}),
        help_text="Scan each pack, or a case's label for all it holds: the scanner starts a new "
        "line after each code. Or type one pack per line: the GTIN, a space and the serial "
        "(e.g. 09506000134352 7XKQ2M9PLR4T).",
    )
    separator = separator_field()

    def clean(self):
        cleaned = super().clean()
        if "lines" not in cleaned or self.has_error("separator"):
            return cleaned
        sgtins, ssccs, printed = [], [], {}
        try:
            for _, item in scanned_items(cleaned["lines"], cleaned.get("separator"), printed):
                (ssccs if isinstance(item, str) else sgtins).append(item)
        except forms.ValidationError as exc:
            self.add_error("lines", exc)
            return cleaned
        if not (sgtins or ssccs):
            self.add_error("lines", "Name at least one pack.")
        elif len(sgtins) + len(ssccs) > MAX_LINES:
            self.add_error("lines", f"At most {MAX_LINES:,} packs or cases at a time.")
        elif mismatches := label_mismatches(printed):
            self.add_error("lines", [*mismatches, MISMATCH_ADVICE])
        cleaned["sgtins"], cleaned["ssccs"] = sgtins, ssccs
        return cleaned

    def clean_separator(self):
        return clean_separator(self.cleaned_data["separator"])


class ScanForm(forms.Form):
    """One scanned pack or case."""

    code = forms.CharField(
        label="Scan a pack or case",
        max_length=MAX_SCAN_LENGTH,
        strip=False,  # a trailing group separator is data
        widget=forms.TextInput(attrs=SCAN_INPUT_ATTRS),
        help_text="The 2D code of a pack, the barcode of a case (SSCC), a GS1 Digital Link "
        "or the bracketed text printed beside a code.",
    )
    separator = separator_field()

    def clean_separator(self):
        return clean_separator(self.cleaned_data["separator"])

    def clean(self):
        cleaned = super().clean()
        if "code" not in cleaned or self.has_error("separator"):
            return cleaned
        try:
            cleaned["scan"] = scan_line(cleaned["code"], cleaned.get("separator"))
        except ScanError as exc:
            self.add_error("code", exc.message)
        return cleaned


def parse_serial_lines(text: str, *, required: bool) -> list[tuple[str, str]]:
    """(GTIN-14, serial) per non-empty line: a scanned pack or "GTIN serial" typed."""
    sgtins = []
    for number, item in scanned_items(text):
        if isinstance(item, str):
            raise forms.ValidationError(f"Line {number} is a case (SSCC {item}), not a pack.")
        sgtins.append(item)
    if required and not sgtins:
        raise forms.ValidationError("Name at least one pack.")
    if len(sgtins) > MAX_LINES:
        raise forms.ValidationError(f"At most {MAX_LINES:,} packs at a time.")
    return sgtins


def parse_sscc_lines(text: str) -> list[str]:
    """The SSCC per non-empty line: a scanned case label or the 18 digits typed."""
    ssccs = []
    for number, item in scanned_items(text):
        if not isinstance(item, str):
            raise forms.ValidationError(f"Line {number} is a pack ({item[1]}), not a case.")
        ssccs.append(item)
    return ssccs


def scanned_items(text: str, separator: str | None = None, printed: dict | None = None):
    """(line number, pack or case) per non-empty line, as scanned_item reads it."""
    # Not splitlines(): it also splits at ASCII 29, the separator inside a scan.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, scanned_item(number, line.strip(), separator, printed)
