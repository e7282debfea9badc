"""Default aliases for the model names clients hard-code (``gpt-4o``, ``claude-sonnet-4``, ...).

``default_aliases_create`` points each missing name at free models of the
catalog, the best fit first and two fallbacks after it, so tools that assume
OpenAI's or Anthropic's model names work out of the box. It never touches an
alias that exists (an admin's own, or one it made before and an admin edited);
the rows are ordinary aliases, listed and editable in the console. ``seed`` and
``sync_models`` run it; with no free model in the catalog it does nothing.
"""

from __future__ import annotations

from models_catalog.models import Alias, CatalogModel
from models_catalog.services import alias_set

# Fragments of model ids, best fit first: large general models, small fast ones, coding models.
LARGE = ("llama-3.3-70b", "deepseek-chat", "deepseek", "qwen3", "gpt-oss", "mistral", "gemma")
SMALL = ("mistral-small", "gemma", "llama-3.2", "llama-3.1-8b", "qwen", "llama", "mistral", "deepseek")
CODING = ("qwen3-coder", "deepseek", "llama-3.3-70b", "qwen", "mistral", "gemma")

DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "gpt-4o": LARGE,
    "gpt-4o-mini": SMALL,
    "gpt-4": LARGE,
    "gpt-4-turbo": LARGE,
    "gpt-3.5-turbo": SMALL,
    "gpt-5": LARGE,
    "gpt-5-mini": SMALL,
    "claude-sonnet-4": CODING,
    "claude-sonnet-4-5": CODING,
    "claude-opus-4": CODING,
    "claude-3-5-sonnet-latest": CODING,
    "claude-3-5-haiku-latest": SMALL,
    "claude-haiku-4-5": SMALL,
}
MODELS_PER_ALIAS = 3  # the model and two fallbacks


def _rank(model: CatalogModel, preferences: tuple[str, ...]) -> tuple:
    fits = [i for i, fragment in enumerate(preferences) if fragment in model.model_id]
    return (not model.enabled, min(fits, default=len(preferences)), not model.supports_tools,
            -(model.context_length or 0), model.model_id)


def default_aliases_create() -> list[str]:
    """Create each default alias that does not exist yet; return the names created."""
    free = list(CatalogModel.objects.filter(free=True, listed=True, provider__enabled=True))
    if not free:
        return []
    taken = set(Alias.objects.filter(alias__in=DEFAULT_ALIASES).values_list("alias", flat=True))
    taken |= {m.model_id for m in free}
    created = []
    for name, preferences in DEFAULT_ALIASES.items():
        if name in taken or CatalogModel.objects.filter(model_id=name).exists():
            continue
        chosen = [m.model_id for m in sorted(free, key=lambda m: _rank(m, preferences))][:MODELS_PER_ALIAS]
        alias_set(alias=name, model_id=chosen[0], fallbacks=chosen[1:])
        created.append(name)
    return created
