"""Input forms for the custody screens. They check the shape of what was typed;
the custody rules are the services' (their refusals are shown on the form)."""

import re

from django import forms

from traceability.models import Batch, Organisation, Product
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
    serials = SerialsField(required=False)
    ssccs = SerialsField(required=False)

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
        ssccs = [line.strip() for line in self.cleaned_data["cases"].splitlines() if line.strip()]
        for number, sscc in enumerate(ssccs, start=1):
            if not re.fullmatch(r"[0-9]{18}", sscc):
                raise forms.ValidationError(f"Line {number} ({sscc[:40]!r}): an SSCC is 18 digits.")
        return ssccs

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not (cleaned.get("packs") or cleaned.get("cases")):
            raise forms.ValidationError("Name at least one pack or case to pack.")
        return cleaned


LINE = re.compile(r"(?P<gtin>[0-9]{8,14})\s+(?P<serial>\S+)")


class SerialLinesForm(forms.Form):
    """Packs named one per line: the GTIN, a space, the serial."""

    lines = forms.CharField(
        label="Packs",
        widget=forms.Textarea(attrs={"rows": 8, "cols": 48, "spellcheck": "false"}),
        help_text="One pack per line: GTIN, a space, then the serial "
        "(e.g. 09506000134352 7XKQ2M9PLR4T).",
    )

    def clean_lines(self):
        return parse_serial_lines(self.cleaned_data["lines"], required=True)


def parse_serial_lines(text: str, *, required: bool) -> list[tuple[str, str]]:
    """(GTIN-14, serial) per non-empty line of "GTIN serial"."""
    sgtins = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = LINE.fullmatch(line.strip())
        if match is None or len(match["gtin"]) not in GTIN_LENGTHS:
            raise forms.ValidationError(
                f"Line {number} ({line.strip()[:40]!r}): expected a GTIN, a space and a serial."
            )
        sgtins.append((gtin_14(match["gtin"]), match["serial"]))
    if required and not sgtins:
        raise forms.ValidationError("Name at least one pack.")
    if len(sgtins) > MAX_LINES:
        raise forms.ValidationError(f"At most {MAX_LINES:,} packs at a time.")
    return sgtins
