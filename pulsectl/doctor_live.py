"""The live and network checks of ``pulsectl doctor`` and the list of every check.

Live checks read what a running daemon reports (System.Status, Skills.List, in
``Context.status`` and ``Context.skills``); network checks (``doctor --network``) ask the
provider's endpoint for its models and the chat platforms who the bot is (Telegram
``getMe``, Slack ``auth.test``), which spends no tokens.
"""

from __future__ import annotations

from typing import Any

from pulsectl.doctor_checks import (
    FAIL,
    KEY_VARIABLES,
    OK,
    PROVIDERS,
    WARN,
    Check,
    Context,
    Result,
    check_channel_tokens,
    check_config,
    check_data_dir,
    check_disk,
    check_lingering,
    check_provider_key,
    check_socket,
    check_systemd_unit,
    check_timezone,
    check_webhooks,
    check_workspace,
)

# -- network checks (doctor --network) -------------------------------------------------

DEFAULT_ENDPOINTS = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "openai-compatible": "",
}
"""Each provider's endpoint when neither [providers.NAME] base_url nor the SDK's variable
sets one (the daemon's defaults)."""
ENDPOINT_VARIABLES = {"anthropic": "ANTHROPIC_BASE_URL", "openai": "OPENAI_BASE_URL"}


def _key(ctx: Context, prov: str) -> str:
    table = ctx.section("providers", prov)
    found = [ctx.env.get(v, "").strip() for v in KEY_VARIABLES.get(prov, ())]
    return ctx.value(table, "api_key") or next((k for k in found if k), "")


def check_endpoint(ctx: Context) -> Result:
    """The provider's endpoint answers a model list with the key (no tokens spent);
    ``GET /v1/models`` (Anthropic: ``x-api-key``; the others: a bearer token)."""
    import urllib.error
    import urllib.request

    name, prov = "provider endpoint", ctx.provider
    if prov not in PROVIDERS:
        return Result(name, FAIL, f'unknown provider "{prov}"', "fix [agent] provider")
    base = (
        ctx.value(ctx.section("providers", prov), "base_url")
        or ctx.env.get(ENDPOINT_VARIABLES.get(prov, ""), "")
        or DEFAULT_ENDPOINTS[prov]
    ).rstrip("/")
    if not base:
        return Result(name, FAIL, f"{prov} has no base_url", f"set [providers.{prov}] base_url")
    key = _key(ctx, prov)
    if prov == "anthropic":
        url = base + "/v1/models"
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    else:
        url = base + "/models"
        headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - http(s) only
            resp.read(1 << 20)
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            return Result(name, FAIL, f"{url}: {err.code}, the key is refused", "check the key")
        return Result(name, WARN, f"{url}: HTTP {err.code}", "check base_url")
    except (urllib.error.URLError, OSError, ValueError) as err:
        why = getattr(err, "reason", err)
        return Result(name, FAIL, f"{url}: unreachable ({why})", "check base_url and the network")
    return Result(name, OK, f"{url} lists models")


def _post_json(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST an empty JSON body; the status and the JSON answer (``{}`` when not JSON).

    Raises:
        OSError: the endpoint cannot be reached (urllib's URLError is one).
    """
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url, data=b"{}", headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - http(s) only
            status, body = resp.status, resp.read(1 << 20)
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read(1 << 20)
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    return status, doc if isinstance(doc, dict) else {}


def check_channel_auth(ctx: Context) -> Result:
    """Each enabled channel's token is accepted: Telegram ``getMe``, Slack ``auth.test``."""
    name = "channel auth"
    seen: list[str] = []
    bad: list[str] = []
    tg = ctx.section("channels", "telegram")
    if tg.get("enabled") is True:
        token = ctx.value(tg, "token") or ctx.env.get("TELEGRAM_BOT_TOKEN", "")
        base = ctx.value(tg, "api_base_url", "https://api.telegram.org/bot")
        url = base.replace("{token}", token) if "{token}" in base else base + token
        try:
            status, doc = _post_json(url.rstrip("/") + "/getMe", {})
            who = doc.get("result", {}).get("username", "") if doc.get("ok") else ""
            (seen if who else bad).append(
                f"telegram @{who}" if who else f"telegram: {doc.get('description') or status}"
            )
        except (OSError, ValueError) as err:
            bad.append(f"telegram: unreachable ({getattr(err, 'reason', err)})")
    sl = ctx.section("channels", "slack")
    if sl.get("enabled") is True:
        token = ctx.value(sl, "bot_token") or ctx.env.get("SLACK_BOT_TOKEN", "")
        base = ctx.value(sl, "api_base_url", "https://slack.com/api/")
        try:
            status, doc = _post_json(
                base.rstrip("/") + "/auth.test", {"Authorization": f"Bearer {token}"}
            )
            ok = bool(doc.get("ok"))
            (seen if ok else bad).append(
                f"slack {doc.get('team', '')}" if ok else f"slack: {doc.get('error') or status}"
            )
        except (OSError, ValueError) as err:
            bad.append(f"slack: unreachable ({getattr(err, 'reason', err)})")
    if bad:
        return Result(name, FAIL, "; ".join(bad), "check the token and api_base_url of the channel")
    return Result(name, OK, ", ".join(seen) or "no channel enabled")


# -- live checks (what the daemon reports) ---------------------------------------------


def check_daemon(ctx: Context) -> Result:
    """A daemon answers on the socket."""
    if ctx.status is None:
        return Result(
            "daemon",
            WARN,
            f"not running ({ctx.daemon_error or 'no answer'}); live checks skipped",
            "start it: pulsed (or pulsectl service install)",
        )
    st = ctx.status
    return Result("daemon", OK, f"pulsed {st.version}, pid {st.pid}, {st.socket}")


def check_store(ctx: Context) -> Result:
    """The store's health as the daemon reports it."""
    st = ctx.status
    if st is None:
        return Result("store", WARN, "daemon not running: not checked", "start pulsed")
    if st.store_health == "ok":
        return Result("store", OK, f"{st.store_backend}, schema {st.schema_version}")
    return Result(
        "store", FAIL, f"{st.store_backend}: {st.store_health}", "run: pulsectl store status"
    )


def check_provider(ctx: Context) -> Result:
    """The daemon's provider is usable (its own provider_problem)."""
    st = ctx.status
    if st is None:
        return Result("provider", WARN, "daemon not running: not checked", "start pulsed")
    if st.provider_problem:
        return Result("provider", FAIL, st.provider_problem, "set it, then: pulsectl restart")
    return Result("provider", OK, f"{st.provider} {st.model}")


def check_channels(ctx: Context) -> Result:
    """Each enabled channel is connected."""
    st = ctx.status
    if st is None:
        return Result("channels", WARN, "daemon not running: not checked", "start pulsed")
    if not st.channels:
        return Result("channels", OK, "none enabled")
    bad = [f"{c.name} {c.state}" for c in st.channels if c.state != "connected"]
    failed = [f"{c.name}: {c.failed_deliveries} failed" for c in st.channels if c.failed_deliveries]
    if bad:
        return Result("channels", FAIL, ", ".join(bad), "run: pulsectl channels status")
    if failed:
        return Result("channels", WARN, ", ".join(failed), "run: pulsectl channels status")
    return Result("channels", OK, ", ".join(f"{c.name} connected" for c in st.channels))


def check_http_api(ctx: Context) -> Result:
    """The HTTP API listener serves when enabled."""
    st = ctx.status
    if st is None:
        return Result("http api", WARN, "daemon not running: not checked", "start pulsed")
    for x in st.listeners:
        if x.name != "http_api":
            continue
        if x.state == "serving":
            return Result("http api", OK, f"serving on {x.address}")
        if x.state in ("disabled", "stopped"):
            return Result("http api", OK, x.state)
        return Result(
            "http api", FAIL, f"{x.state}: {x.detail or x.reason}", x.detail or "see [api.http]"
        )
    return Result("http api", OK, "not configured")


def check_mcp(ctx: Context) -> Result:
    """Each enabled MCP server is ready."""
    st = ctx.status
    if st is None:
        return Result("mcp servers", WARN, "daemon not running: not checked", "start pulsed")
    if not st.mcp_servers:
        return Result("mcp servers", OK, "none enabled")
    failed = [f"{m.name}: {m.last_error or m.state}" for m in st.mcp_servers if m.state == "failed"]
    if failed:
        return Result("mcp servers", FAIL, "; ".join(failed), "run: pulsectl mcp probe NAME")
    waiting = [m.name for m in st.mcp_servers if m.state != "ready"]
    if waiting:
        return Result("mcp servers", WARN, f"still connecting: {', '.join(waiting)}", "run again")
    return Result(
        "mcp servers", OK, ", ".join(f"{m.name} ({m.tools} tools)" for m in st.mcp_servers)
    )


def check_skills(ctx: Context) -> Result:
    """No skill is invalid or missing its requirements."""
    if ctx.skills is None:
        return Result("skills", WARN, "daemon not running: not checked", "start pulsed")
    invalid = [s.name for s in ctx.skills.skills if s.state == "invalid"]
    unmet = [s.name for s in ctx.skills.skills if s.state == "unavailable"]
    if invalid or unmet:
        parts = [f"invalid: {', '.join(invalid)}"] if invalid else []
        parts += [f"requirements not met: {', '.join(unmet)}"] if unmet else []
        return Result("skills", WARN, "; ".join(parts), "run: pulsectl skills check")
    n = sum(s.state == "available" for s in ctx.skills.skills)
    return Result("skills", OK, f"{n} available")


STATIC: tuple[Check, ...] = (
    check_config,
    check_provider_key,
    check_channel_tokens,
    check_socket,
    check_data_dir,
    check_disk,
    check_workspace,
    check_systemd_unit,
    check_lingering,
    check_timezone,
)
LIVE: tuple[Check, ...] = (
    check_daemon,
    check_store,
    check_provider,
    check_channels,
    check_http_api,
    check_mcp,
    check_skills,
    check_webhooks,
)


def run_all(ctx: Context) -> list[Result]:
    """Every check, static first. With the daemon down, of the live ones only ``daemon``
    and ``webhook listener`` run; ``provider endpoint`` and ``channel auth`` only with
    ``ctx.network``. A check that raises is reported as failed."""
    results = []
    live = LIVE if ctx.status is not None else (check_daemon, check_webhooks)
    network = (check_endpoint, check_channel_auth) if ctx.network else ()
    for check in (*STATIC, *network, *live):
        try:
            results.append(check(ctx))
        except Exception as err:  # a broken check must not hide the others
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(Result(name, FAIL, f"the check failed: {err}", "report this"))
    return results
