"""What a page says about its forms' errors: the "Error: " title prefix and the
summary at the top of <main>. base.html uses both, so no screen repeats them.
An action refused outside a form (a button on a dashboard row, say) is passed
to the page as `page_error`, which the page shows itself; the title says it too.

Django itself marks an invalid input (aria-invalid, and aria-describedby naming
"<id>_error" and "<id>_helptext"); templates/traceability/_field.html renders
those ids."""

from django import forms, template

register = template.Library()


def invalid_forms(context) -> list[forms.BaseForm]:
    """The bound forms with errors among the page's context, each once."""
    found = {}
    for value in context.flatten().values():
        if isinstance(value, forms.BaseForm) and value.is_bound and value.errors:
            found.setdefault(id(value), value)
    return list(found.values())


def problems(form: forms.BaseForm) -> list[tuple[str, str]]:
    """(link target or "", message) per error: a visible field's errors link to it."""
    listed = [("", str(error)) for error in form.non_field_errors()]
    for field in form:
        target = "" if field.is_hidden else field.id_for_label or ""
        prefix = f"{field.label}: " if field.label else ""
        listed += [(target, f"{prefix}{error}") for error in field.errors]
    return listed


@register.simple_tag(takes_context=True)
def error_title_prefix(context) -> str:
    return "Error: " if context.get("page_error") or invalid_forms(context) else ""


@register.inclusion_tag("traceability/_error_summary.html", takes_context=True)
def error_summary(context) -> dict:
    return {"problems": [p for form in invalid_forms(context) for p in problems(form)]}
