"""What every page form shares: the one sentence that says which fields were refused and why."""

from __future__ import annotations

from django import forms


def form_problem(form: forms.Form) -> str:
    """One sentence naming each refused field and why, for the form's error line."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.append(f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return " ".join(parts)
