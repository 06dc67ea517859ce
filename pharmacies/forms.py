"""What the pharmacy counter screens accept: a scan, a pack action, a suspect report."""

from django import forms

from traceability.alerts import MAX_NOTE, MAX_PHOTO_BYTES
from traceability.scanning import MAX_SCAN_LENGTH
from traceability.web.forms import SCAN_INPUT_ATTRS, clean_separator, separator_field

PACK_ACTIONS = {
    "dispense": "Dispense",
    "undo": "Undo dispense",
    "stolen": "Report stolen",
    "destroyed": "Report destroyed",
    "sample": "Supplied as free sample",
}


class ScanForm(forms.Form):
    code = forms.CharField(
        label="Scan or type the pack's code",
        max_length=MAX_SCAN_LENGTH,
        strip=False,  # a trailing GS is data
        help_text="The 2D code on the pack (GTIN, serial, lot, expiry), a GS1 Digital Link, "
        "or the bracketed text printed beside it.",
        widget=forms.TextInput(attrs={"autofocus": True, **SCAN_INPUT_ATTRS}),
    )
    separator = separator_field()

    def clean_separator(self):
        return clean_separator(self.cleaned_data["separator"])


class PackActionForm(forms.Form):
    action = forms.ChoiceField(choices=list(PACK_ACTIONS.items()))
    code = forms.CharField(max_length=MAX_SCAN_LENGTH, strip=False)


class SuspectReportForm(forms.Form):
    code = forms.CharField(
        label="Pack code",
        required=False,
        max_length=MAX_SCAN_LENGTH,
        strip=False,
        help_text="Scan the pack if its code can be read; leave empty if it cannot.",
    )
    note = forms.CharField(
        label="What makes it suspect",
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    photo = forms.FileField(
        required=False,
        help_text=f"JPEG, PNG or WebP, at most {MAX_PHOTO_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
