"""The simulator's default models list: a realistic mix of free and paid models, twins included."""

from __future__ import annotations

import copy

_CREATED = 1_740_000_000


def _model(
    model_id: str,
    name: str,
    *,
    prompt: str = "0",
    completion: str = "0",
    context: int = 131072,
    tools: bool = True,
    inputs: tuple[str, ...] = ("text",),
    slug: str | None = None,
) -> dict:
    params = ["max_tokens", "temperature", "top_p", "stop", "seed", "response_format"]
    if tools:
        params += ["tools", "tool_choice"]
    return {
        "id": model_id,
        "canonical_slug": slug or model_id.removesuffix(":free"),
        "name": name,
        "created": _CREATED,
        "description": f"{name}, served by the OpenRouter simulator.",
        "context_length": context,
        "architecture": {
            "modality": "+".join(inputs) + "->text",
            "input_modalities": list(inputs),
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {
            "prompt": prompt,
            "completion": completion,
            "request": "0",
            "image": "0",
            "web_search": "0",
            "internal_reasoning": "0",
        },
        "top_provider": {"context_length": context, "max_completion_tokens": 8192, "is_moderated": False},
        "per_request_limits": None,
        "supported_parameters": params,
    }


DEFAULT_MODELS: list[dict] = [
    _model("meta-llama/llama-3.3-70b-instruct:free", "Meta: Llama 3.3 70B Instruct (free)"),
    _model("meta-llama/llama-3.3-70b-instruct", "Meta: Llama 3.3 70B Instruct", prompt="0.00000013", completion="0.0000004"),
    _model("google/gemma-3-27b-it:free", "Google: Gemma 3 27B (free)", inputs=("text", "image"), tools=False),
    # A base id priced at zero beside its :free twin: the catalog keeps one.
    _model("google/gemma-3-27b-it", "Google: Gemma 3 27B", inputs=("text", "image"), tools=False),
    _model("mistralai/mistral-small-3.2-24b-instruct:free", "Mistral: Mistral Small 3.2 24B (free)"),
    _model("deepseek/deepseek-chat-v3-0324:free", "DeepSeek: DeepSeek V3 0324 (free)", context=163840),
    _model("qwen/qwen3-coder:free", "Qwen: Qwen3 Coder 480B A35B (free)", context=262144),
    _model("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", prompt="0.00000015", completion="0.0000006", inputs=("text", "image")),
    _model("anthropic/claude-3.5-haiku", "Anthropic: Claude 3.5 Haiku", prompt="0.0000008", completion="0.000004"),
    _model("openrouter/auto", "Auto Router", prompt="-1", completion="-1", context=2000000),
]


def default_models() -> list[dict]:
    return copy.deepcopy(DEFAULT_MODELS)
