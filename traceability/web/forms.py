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
    """Step two: to whom, and a quantity or the ticked packs of the batch."""

    batch = forms.ModelChoiceField(queryset=Batch.objects.none(), widget=forms.HiddenInput)
    receiver = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label="Ship to", empty_label="Choose the receiver"
    )
    quantity = forms.IntegerField(
        min_value=1,
        required=False,
        help_text="Ships this many packs, the first you hold; or tick packs below.",
    )
    serials = SerialsField(required=False)

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

    def clean(self):
        cleaned = super().clean()
        batch, quantity, serials = (cleaned.get(k) for k in ("batch", "quantity", "serials"))
        if batch is None:
            return cleaned
        if bool(quantity) == bool(serials):
            raise forms.ValidationError("Give a quantity or tick packs, not both and not neither.")
        if quantity:
            packs = list(
                reads.packs_in_stock(self.sender).filter(batch=batch).order_by("pk")[:quantity]
            )
            if len(packs) < quantity:
                raise forms.ValidationError(
                    f"You hold {len(packs)} pack{'s' if len(packs) != 1 else ''} of lot "
                    f"{batch.lot} ready to ship, fewer than {quantity}."
                )
            cleaned["sgtins"] = [(p.gtin, p.serial) for p in packs]
        else:
            known = set(batch.packs.filter(serial__in=serials).values_list("serial", flat=True))
            strangers = [s for s in serials if s not in known]
            if strangers:
                raise forms.ValidationError(f"Pack {strangers[0]} is not in lot {batch.lot}.")
            cleaned["sgtins"] = [(batch.product.gtin, s) for s in serials]
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
        sgtins = []
        for number, line in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            if not line.strip():
                continue
            match = LINE.fullmatch(line.strip())
            if match is None or len(match["gtin"]) not in GTIN_LENGTHS:
                raise forms.ValidationError(
                    f"Line {number} ({line.strip()[:40]!r}): expected a GTIN, a space and a serial."
                )
            sgtins.append((gtin_14(match["gtin"]), match["serial"]))
        if not sgtins:
            raise forms.ValidationError("Name at least one pack.")
        if len(sgtins) > MAX_LINES:
            raise forms.ValidationError(f"At most {MAX_LINES:,} packs at a time.")
        return sgtins
