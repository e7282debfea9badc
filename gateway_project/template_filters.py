"""Filters every template may use without ``{% load %}`` (registered as a builtin in settings.TEMPLATES)."""

from __future__ import annotations

from django import template

from gateway_project import money

register = template.Library()
register.filter("usd", money.usd)
