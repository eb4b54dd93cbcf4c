"""Cost estimates: table lookup by model-name prefix, and the arithmetic."""

from __future__ import annotations

import pytest

from pulsed.providers.base import Usage
from pulsed.providers.pricing import (
    ANTHROPIC_SOURCE,
    OPENAI_SOURCE,
    PRICES,
    UNKNOWN,
    estimate_cost,
    is_known,
    lookup,
    price_for,
)


def test_every_entry_cites_a_source_and_date() -> None:
    for name, price in PRICES.items():
        assert price.source in (ANTHROPIC_SOURCE, OPENAI_SOURCE), name
        assert len(price.as_of) == 10 and price.as_of[4] == "-", name
        assert price.input > 0 and price.output > 0, name


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("anthropic/claude-opus-4.1", "claude-opus-4-1"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("anthropic/claude-3.5-haiku", "claude-3-5-haiku"),
        ("anthropic/claude-3.7-sonnet:thinking", "claude-3-7-sonnet"),
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-4.1-mini", "gpt-4.1-mini"),
        ("openai/gpt-4.1-nano", "gpt-4.1-nano"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("o3", "o3"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("gpt-5", "gpt-5"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("gpt-5-nano", "gpt-5-nano"),
        ("gpt-5-chat-latest", "gpt-5-chat"),
        ("gpt-5.2-2025-12-11", "gpt-5.2"),
        ("GPT-4o-Mini", "gpt-4o-mini"),
    ],
)
def test_lookup_by_longest_prefix(model: str, entry: str) -> None:
    assert lookup(model) is PRICES[entry]


@pytest.mark.parametrize(
    "model",
    [
        "gpt-5.5",  # a newer model must not be priced as gpt-5
        "gpt-5-pro",
        "o3-pro",
        "claude-opus-4-8",
        "claude-sonnet-5",
        "gpt-4-1106-preview",
        "meta-llama/llama-3.1-70b-instruct",
        "mystery",
        "",
    ],
)
def test_unknown_models(model: str) -> None:
    assert lookup(model) is None
    assert not is_known("openai", model)
    assert price_for("openai", model) is UNKNOWN


def test_unknown_is_the_priciest_rate_of_each_kind() -> None:
    assert UNKNOWN.input == max(p.input for p in PRICES.values())
    assert UNKNOWN.output == max(p.output for p in PRICES.values())
    assert UNKNOWN.cache_read == max(p.cache_read for p in PRICES.values())
    assert UNKNOWN.cache_write == max(p.cache_write for p in PRICES.values())
    for price in PRICES.values():
        assert price.output <= UNKNOWN.output


def test_sonnet_arithmetic() -> None:
    usage = Usage(
        input_tokens=1_000, output_tokens=500, cache_read_tokens=10_000, cache_write_tokens=2_000
    )
    # 1000*3 + 500*15 + 10000*0.30 + 2000*3.75 = 3000 + 7500 + 3000 + 7500 = 21000 per 1e6
    assert estimate_cost("anthropic", "claude-sonnet-4-5", usage) == pytest.approx(0.021)


def test_one_million_tokens_cost_the_table_price() -> None:
    assert estimate_cost("openai", "gpt-4o-mini", Usage(input_tokens=1_000_000)) == pytest.approx(
        0.15
    )
    assert estimate_cost("openai", "gpt-4o-mini", Usage(output_tokens=1_000_000)) == pytest.approx(
        0.60
    )
    assert estimate_cost(
        "openai", "gpt-4o-mini", Usage(cache_read_tokens=1_000_000)
    ) == pytest.approx(0.075)
    assert estimate_cost(
        "anthropic", "claude-opus-4-1", Usage(cache_write_tokens=1_000_000)
    ) == pytest.approx(18.75)
    assert estimate_cost(
        "anthropic", "claude-haiku-4-5", Usage(1_000_000, 1_000_000, 0, 0)
    ) == pytest.approx(6.0)


def test_openai_cached_convention() -> None:
    # prompt_tokens=10_000 of which cached_tokens=8_000 -> input 2_000 uncached + 8_000 read
    usage = Usage(input_tokens=2_000, output_tokens=1_000, cache_read_tokens=8_000)
    # gpt-4.1: 2000*2.00 + 1000*8.00 + 8000*0.50 = 4000 + 8000 + 4000 = 16000 per 1e6
    assert estimate_cost("openai", "gpt-4.1", usage) == pytest.approx(0.016)


def test_long_context_rates_for_sonnet() -> None:
    short = Usage(input_tokens=200_000, output_tokens=1_000)
    long = Usage(input_tokens=150_000, output_tokens=1_000, cache_read_tokens=60_000)
    assert estimate_cost("anthropic", "claude-sonnet-4-5", short) == pytest.approx(0.6 + 0.015)
    # over 200K in all: 150000*6 + 1000*22.5 + 60000*0.60 = 900000 + 22500 + 36000
    assert estimate_cost("anthropic", "claude-sonnet-4-5", long) == pytest.approx(0.9585)
    # Haiku has no long-context surcharge
    assert estimate_cost("anthropic", "claude-haiku-4-5", long) == pytest.approx(
        0.15 + 0.005 + 0.006
    )


def test_ollama_and_free_variants_cost_nothing() -> None:
    usage = Usage(input_tokens=123_456, output_tokens=7_890)
    assert estimate_cost("ollama", "llama3.2", usage) == 0.0
    assert estimate_cost("ollama", "gpt-4o", usage) == 0.0
    assert is_known("ollama", "anything")
    assert estimate_cost("openrouter", "meta-llama/llama-3.3-70b-instruct:free", usage) == 0.0
    assert is_known("openrouter", "meta-llama/llama-3.3-70b-instruct:free")


def test_unknown_paid_model_errs_on_the_safe_side() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    unknown = estimate_cost("openai-compatible", "some-new-model", usage)
    assert unknown == pytest.approx(UNKNOWN.input + UNKNOWN.output)
    for name in PRICES:
        assert estimate_cost("openai", name, usage) <= unknown


def test_openrouter_prices_by_the_underlying_model() -> None:
    usage = Usage(input_tokens=100_000)
    assert estimate_cost("openrouter", "anthropic/claude-sonnet-4.5", usage) == pytest.approx(0.3)
    assert is_known("openrouter", "anthropic/claude-sonnet-4.5")
    assert not is_known("openrouter", "google/gemini-2.5-pro")


def test_zero_usage_costs_zero() -> None:
    assert estimate_cost("anthropic", "claude-sonnet-4-5", Usage()) == 0.0
    assert estimate_cost("openai", "unknown-model", Usage()) == 0.0
